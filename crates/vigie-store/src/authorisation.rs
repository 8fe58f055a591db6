//! Authorisations (schema version 6, issue 7) and the public figures computed from stored data: the monthly
//! statistics of the transparency register and the accuracy measured from operators' decisions.
//!
//! An authorisation names an authority, its reference, cameras, event types (only the eight of décret 2023-828
//! art. 3, [`AUTHORISABLE_TYPES`]) and a validity period; it can be revoked before its end. Rows are never deleted.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{OptionalExtension, params};
use vigie_core::{Result, err};

use crate::{SqlResultExt, Store, is_valid_camera_name, write_transaction};

/// The event types an authorisation can cover: décret 2023-828 art. 3, nothing else (the schema's CHECK agrees).
pub const AUTHORISABLE_TYPES: [&str; 8] = [
    "abandoned_object",
    "weapon",
    "wrong_way",
    "intrusion",
    "person_on_ground",
    "crowd_movement",
    "excessive_density",
    "fire_start",
];

/// An authorisation's row id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AuthorisationId(pub i64);

/// What is given to record an authorisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuthorisation {
    pub authority: String,
    pub reference: String,
    pub cameras: Vec<String>,
    pub event_types: Vec<String>,
    pub start_unix_ms: i64,
    pub end_unix_ms: i64,
}

/// A stored authorisation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Authorisation {
    pub id: i64,
    pub authority: String,
    pub reference: String,
    pub cameras: Vec<String>,
    pub event_types: Vec<String>,
    pub start_unix_ms: i64,
    pub end_unix_ms: i64,
    pub created_by: String,
    pub created_unix_ms: i64,
    pub revoked_unix_ms: Option<i64>,
    pub revoked_by: Option<String>,
}

impl Authorisation {
    /// In force at `now`: started, not ended, not revoked.
    pub fn valid_at(&self, now_unix_ms: i64) -> bool {
        self.revoked_unix_ms.is_none() && self.start_unix_ms <= now_unix_ms && now_unix_ms < self.end_unix_ms
    }

    /// In force at `now` for `event_type` on `camera`.
    pub fn covers(&self, camera: &str, event_type: &str, now_unix_ms: i64) -> bool {
        self.valid_at(now_unix_ms)
            && self.cameras.iter().any(|c| c == camera)
            && self.event_types.iter().any(|t| t == event_type)
    }
}

impl NewAuthorisation {
    /// Refuses what the schema would, with a message naming the problem.
    pub fn validate(&self) -> Result<()> {
        if self.authority.trim().is_empty() || self.authority.len() > 200 {
            return Err(err!(InvalidArgument, "authority: 1 to 200 characters"));
        }
        if self.reference.trim().is_empty() || self.reference.len() > 200 {
            return Err(err!(InvalidArgument, "reference: 1 to 200 characters"));
        }
        if self.cameras.is_empty() {
            return Err(err!(InvalidArgument, "an authorisation names at least one camera"));
        }
        if let Some(c) = self.cameras.iter().find(|c| !is_valid_camera_name(c)) {
            return Err(err!(InvalidArgument, "camera name {c:?} is not valid"));
        }
        if self.event_types.is_empty() {
            return Err(err!(InvalidArgument, "an authorisation names at least one event type"));
        }
        if let Some(t) = self
            .event_types
            .iter()
            .find(|t| !AUTHORISABLE_TYPES.contains(&t.as_str()))
        {
            return Err(err!(
                InvalidArgument,
                "event type {t:?} cannot be authorised: only {} (décret 2023-828 art. 3)",
                AUTHORISABLE_TYPES.join(", ")
            ));
        }
        if self.end_unix_ms <= self.start_unix_ms {
            return Err(err!(InvalidArgument, "the end must be after the start"));
        }
        Ok(())
    }
}

/// Alerts of one event type in one month (UTC), for the register.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MonthKind {
    pub month: String,
    pub event_type: String,
    pub raised: i64,
    pub confirmed: i64,
    pub dismissed: i64,
}

/// Recording deletions of one month (UTC).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MonthDeletions {
    pub month: String,
    pub segments: i64,
    pub bytes: i64,
}

/// The register's monthly statistics, computed from `event`, `event_decision` and `retention_deletion`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct MonthlyStats {
    pub alerts: Vec<MonthKind>,
    pub deletions: Vec<MonthDeletions>,
}

/// Decisions on a group of alerts (an event type, a camera, a week).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct AccuracyRow {
    /// The event type, camera name, or week (`YYYY-Www`, weeks starting on Monday, UTC).
    pub key: String,
    pub raised: i64,
    pub decided: i64,
    pub confirmed: i64,
    pub dismissed: i64,
    /// confirmed / decided; `None` with no decision.
    pub precision: Option<f64>,
}

/// A camera's row with the false alarms per camera-day.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CameraAccuracy {
    #[serde(flatten)]
    pub row: AccuracyRow,
    /// UTC days on which the camera was analysed (its live sessions).
    pub camera_days: i64,
    /// dismissed / camera_days; `None` with no day.
    pub false_alarms_per_camera_day: Option<f64>,
}

/// Weekly trend of the precision, all types together.
pub type WeekTrend = AccuracyRow;

/// Accuracy measured from the operators' decisions on live cameras' alerts.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Accuracy {
    pub by_type: Vec<AccuracyRow>,
    pub by_camera: Vec<CameraAccuracy>,
    pub by_week: Vec<WeekTrend>,
}

const DAY_MS: i64 = 86_400_000;

/// Events of live cameras with their wall-clock start and decision.
const LIVE_EVENTS: &str = "select e.kind, e.camera, r.started_unix_ms + e.start_90k / 90 as t, d.decision
    from event e join analysis_run r on r.id = e.run_id left join event_decision d on d.event_id = e.id
    where r.source_kind = 'camera'";

/// The rows `(id, text)` of `sql` grouped by id, in the query's order.
fn grouped(
    conn: &rusqlite::Connection,
    sql: &str,
    what: impl Fn() -> String + Copy,
) -> Result<BTreeMap<i64, Vec<String>>> {
    let mut out: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    let mut st = conn.prepare(sql).sql(what)?;
    for r in st
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .sql(what)?
    {
        let (id, v) = r.sql(what)?;
        out.entry(id).or_default().push(v);
    }
    Ok(out)
}

fn precision(confirmed: i64, decided: i64) -> Option<f64> {
    (decided > 0).then(|| confirmed as f64 / decided as f64)
}

fn add(row: &mut AccuracyRow, decision: Option<&str>) {
    row.raised += 1;
    match decision {
        Some("confirm") => {
            row.decided += 1;
            row.confirmed += 1;
        }
        Some("dismiss") => {
            row.decided += 1;
            row.dismissed += 1;
        }
        _ => {}
    }
    row.precision = precision(row.confirmed, row.decided);
}

impl Store {
    /// Records an authorisation; returns its id.
    pub fn add_authorisation(&mut self, a: &NewAuthorisation, by: &str, now_unix_ms: i64) -> Result<AuthorisationId> {
        a.validate()?;
        if by.is_empty() {
            return Err(err!(InvalidArgument, "who records the authorisation must be named"));
        }
        let what = || "recording an authorisation".to_owned();
        let tx = write_transaction(&mut self.conn, "recording an authorisation")?;
        tx.execute(
            "insert into authorisation (authority, reference, start_unix_ms, end_unix_ms, created_by, created_unix_ms)
             values (?, ?, ?, ?, ?, ?)",
            params![
                a.authority.trim(),
                a.reference.trim(),
                a.start_unix_ms,
                a.end_unix_ms,
                by,
                now_unix_ms
            ],
        )
        .sql(what)?;
        let id = tx.last_insert_rowid();
        for c in a.cameras.iter().collect::<BTreeSet<_>>() {
            tx.execute(
                "insert into authorisation_camera (authorisation_id, camera) values (?, ?)",
                params![id, c],
            )
            .sql(what)?;
        }
        for t in a.event_types.iter().collect::<BTreeSet<_>>() {
            tx.execute(
                "insert into authorisation_event_type (authorisation_id, event_type) values (?, ?)",
                params![id, t],
            )
            .sql(what)?;
        }
        tx.commit().sql(what)?;
        Ok(AuthorisationId(id))
    }

    /// Every authorisation, oldest first, revoked and expired ones included.
    pub fn authorisations(&self) -> Result<Vec<Authorisation>> {
        let what = || "reading the authorisations".to_owned();
        let mut cams = grouped(
            &self.conn,
            "select authorisation_id, camera from authorisation_camera order by 1, 2",
            what,
        )?;
        let mut types = grouped(
            &self.conn,
            "select authorisation_id, event_type from authorisation_event_type order by 1, 2",
            what,
        )?;
        let mut st = self
            .conn
            .prepare(
                "select id, authority, reference, start_unix_ms, end_unix_ms, created_by, created_unix_ms,
                        revoked_unix_ms, revoked_by from authorisation order by id",
            )
            .sql(what)?;
        let rows = st
            .query_map([], |r| {
                Ok(Authorisation {
                    id: r.get(0)?,
                    authority: r.get(1)?,
                    reference: r.get(2)?,
                    cameras: vec![],
                    event_types: vec![],
                    start_unix_ms: r.get(3)?,
                    end_unix_ms: r.get(4)?,
                    created_by: r.get(5)?,
                    created_unix_ms: r.get(6)?,
                    revoked_unix_ms: r.get(7)?,
                    revoked_by: r.get(8)?,
                })
            })
            .sql(what)?;
        let mut out = Vec::new();
        for r in rows {
            let mut a = r.sql(what)?;
            a.cameras = cams.remove(&a.id).unwrap_or_default();
            a.event_types = types.remove(&a.id).unwrap_or_default();
            out.push(a);
        }
        Ok(out)
    }

    /// Revokes an authorisation. `Ok(false)` when it was already revoked; NotFound when there is none.
    pub fn revoke_authorisation(&mut self, id: AuthorisationId, by: &str, now_unix_ms: i64) -> Result<bool> {
        let what = || format!("revoking authorisation {}", id.0);
        let tx = write_transaction(&mut self.conn, "revoking an authorisation")?;
        let revoked: Option<Option<i64>> = tx
            .query_row("select revoked_unix_ms from authorisation where id = ?", [id.0], |r| {
                r.get(0)
            })
            .optional()
            .sql(what)?;
        match revoked {
            None => Err(err!(NotFound, "no authorisation {}", id.0)),
            Some(Some(_)) => Ok(false),
            Some(None) => {
                tx.execute(
                    "update authorisation set revoked_unix_ms = ?, revoked_by = ? where id = ?",
                    params![now_unix_ms, by, id.0],
                )
                .sql(what)?;
                tx.commit().sql(what)?;
                Ok(true)
            }
        }
    }

    /// The register's monthly statistics (UTC months): alerts raised, confirmed and dismissed per type (live
    /// cameras), recording segments deleted.
    pub fn monthly_stats(&self) -> Result<MonthlyStats> {
        let what = || "computing the monthly statistics".to_owned();
        let mut st = self
            .conn
            .prepare(&format!(
                "select strftime('%Y-%m', t / 1000, 'unixepoch') as month, kind,
                        count(*), sum(decision = 'confirm'), sum(decision = 'dismiss')
                 from ({LIVE_EVENTS}) group by month, kind order by month, kind"
            ))
            .sql(what)?;
        let alerts = st
            .query_map([], |r| {
                Ok(MonthKind {
                    month: r.get(0)?,
                    event_type: r.get(1)?,
                    raised: r.get(2)?,
                    confirmed: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
                    dismissed: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
                })
            })
            .sql(what)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql(what)?;
        let mut st = self
            .conn
            .prepare(
                "select strftime('%Y-%m', at_unix_ms / 1000, 'unixepoch') as month, count(*), sum(bytes)
                 from retention_deletion group by month order by month",
            )
            .sql(what)?;
        let deletions = st
            .query_map([], |r| {
                Ok(MonthDeletions {
                    month: r.get(0)?,
                    segments: r.get(1)?,
                    bytes: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                })
            })
            .sql(what)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql(what)?;
        Ok(MonthlyStats { alerts, deletions })
    }

    /// Accuracy from the operators' decisions on live cameras' alerts: precision (confirmed / decided) per event
    /// type, per camera (with false alarms per camera-day: dismissed alerts over the UTC days the camera was
    /// analysed, up to `now`) and per week.
    pub fn accuracy(&self, now_unix_ms: i64) -> Result<Accuracy> {
        let what = || "computing the accuracy".to_owned();
        let mut by_type: BTreeMap<String, AccuracyRow> = BTreeMap::new();
        let mut by_camera: BTreeMap<String, AccuracyRow> = BTreeMap::new();
        let mut by_week: BTreeMap<String, AccuracyRow> = BTreeMap::new();
        let mut st = self
            .conn
            .prepare(&format!(
                "select kind, camera, strftime('%Y-W%W', t / 1000, 'unixepoch'), decision from ({LIVE_EVENTS})"
            ))
            .sql(what)?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .sql(what)?;
        for r in rows {
            let (kind, camera, week, decision) = r.sql(what)?;
            add(by_type.entry(kind).or_default(), decision.as_deref());
            add(by_camera.entry(camera).or_default(), decision.as_deref());
            add(by_week.entry(week).or_default(), decision.as_deref());
        }
        // Camera-days: the UTC days each camera's live sessions covered.
        let mut days: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        let mut st = self
            .conn
            .prepare(
                "select source, started_unix_ms, coalesce(finished_unix_ms, ?) from analysis_run
                 where source_kind = 'camera'",
            )
            .sql(what)?;
        let runs = st
            .query_map([now_unix_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })
            .sql(what)?;
        for r in runs {
            let (cam, start, end) = r.sql(what)?;
            let (d0, d1) = (start.div_euclid(DAY_MS), end.max(start).div_euclid(DAY_MS));
            // At most ten years of days per session: a bad clock cannot make this loop for long.
            days.entry(cam).or_default().extend(d0..=d1.min(d0 + 3660));
        }
        let keyed = |m: BTreeMap<String, AccuracyRow>| -> Vec<AccuracyRow> {
            m.into_iter().map(|(k, r)| AccuracyRow { key: k, ..r }).collect()
        };
        let by_camera = keyed(by_camera)
            .into_iter()
            .map(|row| {
                let camera_days = days.get(&row.key).map_or(0, |d| d.len() as i64);
                CameraAccuracy {
                    false_alarms_per_camera_day: (camera_days > 0).then(|| row.dismissed as f64 / camera_days as f64),
                    camera_days,
                    row,
                }
            })
            .collect();
        Ok(Accuracy {
            by_type: keyed(by_type),
            by_camera,
            by_week: keyed(by_week),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decision, DecisionRow, EventRow, NewRun, SourceKind};
    use vigie_core::Time90k;

    fn new_auth() -> NewAuthorisation {
        NewAuthorisation {
            authority: "Préfecture de police".into(),
            reference: "arrêté 2026-0142".into(),
            cameras: vec!["gate".into(), "hall".into()],
            event_types: vec!["intrusion".into()],
            start_unix_ms: 1000,
            end_unix_ms: 5000,
        }
    }

    #[test]
    fn authorisations_are_stored_checked_and_revoked() {
        let mut s = Store::open_in_memory().expect("store");
        let id = s.add_authorisation(&new_auth(), "admin", 10).expect("add");
        let all = s.authorisations().expect("list");
        assert_eq!(all.len(), 1);
        let a = &all[0];
        assert_eq!(a.cameras, vec!["gate", "hall"]);
        assert!(a.covers("gate", "intrusion", 1000));
        assert!(!a.covers("gate", "intrusion", 5000), "the end is excluded");
        assert!(!a.covers("gate", "weapon", 2000));
        assert!(!a.covers("street", "intrusion", 2000));
        for bad in [
            NewAuthorisation {
                event_types: vec!["gathering".into()],
                ..new_auth()
            },
            NewAuthorisation {
                event_types: vec!["emotion_recognition".into()],
                ..new_auth()
            },
            NewAuthorisation {
                cameras: vec![],
                ..new_auth()
            },
            NewAuthorisation {
                end_unix_ms: 1000,
                ..new_auth()
            },
            NewAuthorisation {
                reference: " ".into(),
                ..new_auth()
            },
        ] {
            assert!(s.add_authorisation(&bad, "admin", 10).is_err(), "{bad:?}");
        }
        // The schema refuses an unlawful type even behind the store's back.
        assert!(
            s.conn
                .execute(
                    "insert into authorisation_event_type (authorisation_id, event_type) values (?, 'face')",
                    [id.0]
                )
                .is_err()
        );
        assert!(s.revoke_authorisation(id, "admin", 2000).expect("revoke"));
        assert!(!s.revoke_authorisation(id, "admin", 2100).expect("again"));
        assert!(s.revoke_authorisation(AuthorisationId(99), "admin", 2100).is_err());
        let a = &s.authorisations().expect("list")[0];
        assert_eq!(a.revoked_by.as_deref(), Some("admin"));
        assert!(!a.valid_at(3000));
    }

    fn event(id: &str, kind: &str, camera: &str, start_s: i64) -> EventRow {
        EventRow {
            id: id.into(),
            kind: kind.into(),
            camera: camera.into(),
            rule: "r".into(),
            zone: None,
            line: None,
            start: Time90k(start_s * 90_000),
            end: Some(Time90k(start_s * 90_000 + 90_000)),
            confidence: 0.9,
            bbox: None,
            detail: "d".into(),
            snapshot: None,
            clip_start: Time90k(start_s * 90_000),
            clip_end: Time90k(start_s * 90_000 + 90_000),
            track_ids: vec![],
        }
    }

    #[test]
    fn accuracy_and_monthly_stats_from_decisions() {
        let mut s = Store::open_in_memory().expect("store");
        // 2026-03-02 00:00 UTC (a Monday), two days of a live session on camera gate.
        let t0 = 1_772_409_600_000;
        let mut runs = vec![];
        for (cam, kind) in [
            ("gate", SourceKind::Camera),
            ("hall", SourceKind::Camera),
            ("x.mp4", SourceKind::File),
        ] {
            let run = s
                .begin_run(&NewRun {
                    source: cam.into(),
                    source_kind: kind,
                    started_unix_ms: t0,
                    analysis_fps: 5.0,
                    width: 64,
                    height: 48,
                    model: "m".into(),
                })
                .expect("run");
            runs.push(run);
        }
        let day = 86_400;
        let evs = [
            (
                "ev-0000000000000001",
                "intrusion",
                "gate",
                0,
                runs[0],
                Some(Decision::Confirm),
            ),
            (
                "ev-0000000000000002",
                "intrusion",
                "gate",
                60,
                runs[0],
                Some(Decision::Dismiss),
            ),
            (
                "ev-0000000000000003",
                "intrusion",
                "gate",
                day + 60,
                runs[0],
                Some(Decision::Confirm),
            ),
            (
                "ev-0000000000000004",
                "fire_start",
                "gate",
                day + 120,
                runs[0],
                Some(Decision::Dismiss),
            ),
            ("ev-0000000000000005", "intrusion", "hall", 8 * day, runs[1], None),
            (
                "ev-0000000000000006",
                "intrusion",
                "x.mp4",
                0,
                runs[2],
                Some(Decision::Dismiss),
            ),
        ];
        for (id, kind, cam, t, run, dec) in evs {
            s.save_event(run, &event(id, kind, cam, t)).expect("event");
            if let Some(d) = dec {
                s.decide_event(&DecisionRow {
                    event_id: id.into(),
                    decision: d,
                    reason: "r".into(),
                    username: "olga".into(),
                    at_unix_ms: t0,
                })
                .expect("decide");
            }
        }
        let now = t0 + 2 * DAY_MS - 1;
        let acc = s.accuracy(now).expect("accuracy");
        let intrusion = acc.by_type.iter().find(|r| r.key == "intrusion").expect("intrusion");
        assert_eq!(
            (intrusion.raised, intrusion.decided, intrusion.confirmed),
            (4, 3, 2),
            "file runs excluded"
        );
        assert!((intrusion.precision.unwrap_or(0.0) - 2.0 / 3.0).abs() < 1e-9);
        let fire = acc.by_type.iter().find(|r| r.key == "fire_start").expect("fire");
        assert_eq!(fire.precision, Some(0.0));
        let gate = acc.by_camera.iter().find(|r| r.row.key == "gate").expect("gate");
        assert_eq!(gate.camera_days, 2);
        assert_eq!(gate.row.dismissed, 2);
        assert_eq!(gate.false_alarms_per_camera_day, Some(1.0));
        let hall = acc.by_camera.iter().find(|r| r.row.key == "hall").expect("hall");
        assert_eq!(hall.row.precision, None, "nothing decided");
        assert_eq!(acc.by_week.len(), 2);
        assert_eq!(acc.by_week[0].key, "2026-W09");
        assert_eq!(acc.by_week[0].decided, 4);
        let m = s.monthly_stats().expect("stats");
        let march: Vec<_> = m.alerts.iter().filter(|a| a.month == "2026-03").collect();
        assert_eq!(march.len(), 2);
        let i = march.iter().find(|a| a.event_type == "intrusion").expect("intrusion");
        assert_eq!((i.raised, i.confirmed, i.dismissed), (4, 2, 1));
    }
}
