//! Legal scope of the live analysis (issue 7): a rule runs on a camera only while an authorisation covering that
//! camera and the rule's event type is valid.
//!
//! [`Authorisations`] is a shared snapshot of the stored authorisations (`vigie_store::Authorisation`), refreshed
//! by the service every few seconds from the database (so `vigie authorisation add|revoke` takes effect while the
//! service runs) and at once by the API after a change. Validity is checked against the clock by the reader, so an
//! authorisation that reaches its end stops its rules without any refresh.
//!
//! Which authorisation type a rule needs ([`authorising_type`]):
//! - the eight décret types (`abandoned_object`, `weapon`, `wrong_way`, `intrusion`, `person_on_ground`,
//!   `crowd_movement`, `excessive_density`, `fire_start`): the same type;
//! - `gathering` (a group standing together, the seed's "regroupement"): `excessive_density` — a gathering is a
//!   local excess of people, the décret's closest type;
//! - `loitering` (staying in a zone): `intrusion` — presence of a person in a forbidden or sensitive zone;
//! - `line_count`: none; counting is statistical and raises no alert.
//!
//! `vigie analyze` (files, after the fact) is not gated: it is not live surveillance; its lawful use is the
//! review of recordings within a judicial request (issue 8).

use std::sync::{Arc, RwLock};

use vigie_rules::{RuleType, RulesConfig};
use vigie_store::Authorisation;

/// Seconds between two checks of the analysis thread.
pub const RECHECK_S: f64 = 2.0;

/// The authorisations, shared by the analysis threads and the API. Cheap to clone.
#[derive(Clone, Default)]
pub struct Authorisations {
    inner: Arc<RwLock<Arc<Vec<Authorisation>>>>,
}

impl std::fmt::Debug for Authorisations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorisations")
            .field("count", &self.snapshot().len())
            .finish()
    }
}

impl Authorisations {
    pub fn new(list: Vec<Authorisation>) -> Self {
        let a = Authorisations::default();
        a.set(list);
        a
    }

    /// Replaces the snapshot (after reading the database).
    pub fn set(&self, list: Vec<Authorisation>) {
        *self.inner.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(list);
    }

    pub fn snapshot(&self) -> Arc<Vec<Authorisation>> {
        self.inner.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The valid authorisation covering `event_type` on `camera` at `now` that ends last, if any.
    pub fn covering(&self, camera: &str, event_type: &str, now_unix_ms: i64) -> Option<Authorisation> {
        self.snapshot()
            .iter()
            .filter(|a| a.covers(camera, event_type, now_unix_ms))
            .max_by_key(|a| a.end_unix_ms)
            .cloned()
    }
}

/// The authorisation type a rule type needs; `None`: none needed (counting).
pub fn authorising_type(kind: RuleType) -> Option<&'static str> {
    use vigie_rules::EventKind as K;
    Some(match kind.event_kind()? {
        K::AbandonedObject => "abandoned_object",
        K::Weapon => "weapon",
        K::WrongWay => "wrong_way",
        K::Intrusion | K::Loitering => "intrusion",
        K::PersonOnGround => "person_on_ground",
        K::CrowdMovement => "crowd_movement",
        K::ExcessiveDensity | K::Gathering => "excessive_density",
        K::FireStart => "fire_start",
    })
}

/// Whether rule `kind` may run on `camera` now.
pub fn rule_allowed(kind: RuleType, camera: &str, auths: &Authorisations, now_unix_ms: i64) -> bool {
    authorising_type(kind).is_none_or(|t| auths.covering(camera, t, now_unix_ms).is_some())
}

/// `rules` with every enabled rule that no valid authorisation covers switched off, and the ids of those rules.
pub fn authorised_rules(
    rules: &RulesConfig,
    camera: &str,
    auths: &Authorisations,
    now_unix_ms: i64,
) -> (RulesConfig, Vec<String>) {
    let mut out = rules.clone();
    let mut blocked = Vec::new();
    for r in out.rules.iter_mut().filter(|r| r.enabled) {
        if !rule_allowed(r.kind, camera, auths, now_unix_ms) {
            r.enabled = false;
            blocked.push(r.id.clone());
        }
    }
    (out, blocked)
}

/// For an edit of the rules: an error message naming the first enabled rule no valid authorisation covers.
pub fn check_rules(rules: &RulesConfig, camera: &str, auths: &Authorisations, now_unix_ms: i64) -> Result<(), String> {
    for r in rules.rules.iter().filter(|r| r.enabled) {
        if let Some(t) = authorising_type(r.kind)
            && auths.covering(camera, t, now_unix_ms).is_none()
        {
            return Err(format!(
                "rule {}: no valid authorisation covers event type {t} on camera {camera}: record one (vigie \
                 authorisation add, or an admin in the console) or disable the rule",
                r.id
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(types: &[&str], end: i64) -> Authorisation {
        Authorisation {
            id: 1,
            authority: "P".into(),
            reference: "R".into(),
            cameras: vec!["gate".into()],
            event_types: types.iter().map(|s| s.to_string()).collect(),
            start_unix_ms: 0,
            end_unix_ms: end,
            created_by: "t".into(),
            created_unix_ms: 0,
            revoked_unix_ms: None,
            revoked_by: None,
        }
    }

    fn rules() -> RulesConfig {
        toml::from_str(
            "[[zone]]\nid = \"z\"\npolygon = [[0,0],[1,0],[1,1]]\n[[line]]\nid = \"l\"\nfrom = [0,0]\nto = [1,1]\n\
             [[rule]]\nid = \"in\"\ntype = \"intrusion\"\nzones = [\"z\"]\n\
             [[rule]]\nid = \"loit\"\ntype = \"loitering\"\nzones = [\"z\"]\n\
             [[rule]]\nid = \"group\"\ntype = \"gathering\"\nzones = [\"z\"]\n\
             [[rule]]\nid = \"count\"\ntype = \"line_count\"\nlines = [\"l\"]\n",
        )
        .expect("rules")
    }

    #[test]
    fn rules_run_only_within_a_valid_authorisation() {
        let a = Authorisations::new(vec![auth(&["intrusion"], 1000)]);
        let (eff, blocked) = authorised_rules(&rules(), "gate", &a, 500);
        assert_eq!(
            blocked,
            vec!["group"],
            "loitering runs under intrusion, counting needs nothing"
        );
        assert!(eff.rules.iter().find(|r| r.id == "in").is_some_and(|r| r.enabled));
        let (_, blocked) = authorised_rules(&rules(), "gate", &a, 1000);
        assert_eq!(blocked, vec!["in", "loit", "group"], "expired");
        let (_, blocked) = authorised_rules(&rules(), "hall", &a, 500);
        assert_eq!(blocked.len(), 3, "another camera");
        let msg = check_rules(&rules(), "gate", &a, 500).expect_err("gathering");
        assert!(msg.contains("excessive_density"), "{msg}");
        let mut revoked = auth(&["intrusion", "excessive_density"], 1000);
        assert!(check_rules(&rules(), "gate", &Authorisations::new(vec![revoked.clone()]), 500).is_ok());
        revoked.revoked_unix_ms = Some(100);
        revoked.revoked_by = Some("admin".into());
        assert!(check_rules(&rules(), "gate", &Authorisations::new(vec![revoked]), 500).is_err());
    }
}
