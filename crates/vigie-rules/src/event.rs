//! Events: what rules raise and operators confirm or dismiss.

use serde::Serialize;
use vigie_core::{BBox, Time90k, TrackId};

/// The event types. The first eight are the only real-time alerts the law allows (décret 2023-828, art. 3);
/// `Gathering` and `Loitering` are the city's "regroupement" and presence signals, raised the same way, and still go
/// to an operator. Line crossings are counts (statistics), never events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    AbandonedObject,
    Weapon,
    WrongWay,
    Intrusion,
    PersonOnGround,
    CrowdMovement,
    ExcessiveDensity,
    FireStart,
    Gathering,
    Loitering,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::AbandonedObject => "abandoned_object",
            EventKind::Weapon => "weapon",
            EventKind::WrongWay => "wrong_way",
            EventKind::Intrusion => "intrusion",
            EventKind::PersonOnGround => "person_on_ground",
            EventKind::CrowdMovement => "crowd_movement",
            EventKind::ExcessiveDensity => "excessive_density",
            EventKind::FireStart => "fire_start",
            EventKind::Gathering => "gathering",
            EventKind::Loitering => "loitering",
        }
    }
}

/// Where an event is in its life: every event starts once, may be updated, and ends once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Start,
    Update,
    End,
}

/// One message about an event. The `id` is stable: the same clip gives the same ids, live or in replay.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    pub id: String,
    pub kind: EventKind,
    pub phase: Phase,
    pub camera: String,
    /// The rule that raised it (its configured id).
    pub rule: String,
    pub zone: Option<String>,
    pub line: Option<String>,
    /// When the condition began (not when it had lasted long enough to be raised).
    #[serde(serialize_with = "secs")]
    pub start: Time90k,
    /// When the condition was last true; `None` until the event ends.
    #[serde(serialize_with = "opt_secs")]
    pub end: Option<Time90k>,
    /// Media time of this message.
    #[serde(serialize_with = "secs")]
    pub at: Time90k,
    pub track_ids: Vec<TrackId>,
    /// 0..1.
    pub confidence: f32,
    /// The region the operator should look at (union of the boxes involved), source pixels.
    pub bbox: Option<BBox>,
    /// What a person reads: "2 persons in zone forecourt for 4.2 s".
    pub detail: String,
}

impl Event {
    /// The clip an operator needs to judge it: `pre` before the start to `post` after the end (or `at`).
    pub fn clip(&self, pre: Time90k, post: Time90k) -> (Time90k, Time90k) {
        let from = Time90k((self.start.0 - pre.0).max(0));
        let to = Time90k(self.end.unwrap_or(self.at).0 + post.0);
        (from, to)
    }
}

fn secs<S: serde::Serializer>(t: &Time90k, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((t.as_secs_f64() * 1000.0).round() / 1000.0)
}

fn opt_secs<S: serde::Serializer>(t: &Option<Time90k>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => secs(t, s),
        None => s.serialize_none(),
    }
}

/// A stable event id: FNV-1a over what identifies the event (camera, rule, condition key, start time).
pub fn event_id(camera: &str, rule: &str, key: &str, start: Time90k) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in [
        camera.as_bytes(),
        b"\0",
        rule.as_bytes(),
        b"\0",
        key.as_bytes(),
        b"\0",
        &start.0.to_le_bytes(),
    ] {
        for b in part {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("ev-{h:016x}")
}
