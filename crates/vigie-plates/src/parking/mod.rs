//! The lawful parking pre-check: plate reads checked against paid parking sessions, with a sworn agent deciding.
//!
//! # What the law allows, and how this module keeps to it
//! `shared/docs/legal.md` (LAPI for parking) and the CNIL's position on plate reading:
//!
//! * **Reading only pre-checks payment.** [`ParkingStore::observe`] answers one question, "did this vehicle pay
//!   for this zone at this time?", and nothing else: no history of where a plate was seen, no search by plate.
//! * **A sworn agent confirms before any fine.** An unpaid read becomes a *pre-check record* in the agent's queue
//!   ([`ParkingStore::queue`]); only [`ParkingStore::confirm`], called with the agent's identity and the
//!   reference of the fine (FPS) the agent started, marks it confirmed. **There is no function that creates a fine,
//!   or a confirmed record, without an agent's confirm: fully automatic ticketing is impossible by design.** The
//!   database enforces it too: triggers refuse a record created in any state but pending, and any change to a
//!   decided record (pending → confirmed | dismissed only).
//! * **Plates of vehicles that paid are deleted as soon as matched.** Better: they are never written. A paid
//!   session is stored under a keyed digest of its plate (HMAC-SHA256 with a [`PlateKey`] kept outside the
//!   database), the read is compared in memory, and a match leaves only a counter. Reads outside paid hours, within
//!   the grace period, or unreadable, leave only a counter too.
//! * **Other plates are deleted once the fine is started or dismissed.** The decision erases the record's plate
//!   text in the same transaction. A free-text reason or fine reference that repeats the plate is refused.
//! * **Evidence photos are kept only for the appeal period.** The two crops of a confirmed record are deleted
//!   [`Retention::appeal_period_ms`] after the decision (90 days by default); those of a dismissed record at once
//!   ([`Retention::dismissed_evidence_ms`], 0 by default): there is nothing to appeal.
//! * **Plate data lives apart from event data.** Its own SQLite file, schema and key; no column refers to the main
//!   database (`vigie-store`) and this module has no code path to it. Opening any other SQLite file (the main
//!   database included) is refused: the file carries its own `application_id`.
//! * **A low-confidence or missing read never queues a fine** ([`Outcome::Unreadable`], counted): a plate is
//!   never guessed.
//! * **Deletion is real.** The connection runs with `pragma secure_delete = ON` (deleted rows, index entries and
//!   freed pages are overwritten with zeros), keeps temporary data in memory, and truncates the write-ahead log
//!   (`pragma wal_checkpoint(TRUNCATE)`) after each operation that erases plate data, so an erased plate or photo
//!   is in none of the files (`.db`, `-wal`, `-shm`); the tests search the raw bytes. (Encryption at rest, which
//!   legal.md also asks for, is the disk's: an encrypted file system.)
//! * **What agents do is logged** (`agent_log`: listing the queue, viewing evidence, deciding; who and when, no
//!   plate).
//!
//! # Data kept, and for how long (defaults of [`Retention`])
//! | data | kept until |
//! |---|---|
//! | plate of a vehicle that paid, or observed when parking is free, within grace, unreadable | never stored |
//! | paid session (plate digest, zone, times, provider reference) | its end + 4 h (`session_margin_ms`) |
//! | pending record: plate text, place, times, two photos | the agent's decision, or 4 h undecided (`pending_max_ms`: the agent confirms in real time), then deleted |
//! | decided record: plate text | erased by the decision |
//! | decided record: photos | confirmed: decision + 90 days (`appeal_period_ms`); dismissed: the decision (`dismissed_evidence_ms` = 0) |
//! | decided record without plate or photos (zone, times, agent, fine reference or reason); agent log | 365 days (`decision_log_ms`) |
//! | daily counters per zone (checked, free, within grace, unreadable, paid, queued, confirmed, dismissed, expired) | kept: no personal data |
//!
//! [`ParkingStore::purge_expired`] applies the periods; call it regularly (every few minutes).
//!
//! # Flow
//! 1. Zones ([`ParkingStore::add_zone`]): a polygon on a camera (normalised coordinates), paid hours per weekday in
//!    local time (fixed UTC offset plus an optional EU summer-time rule, see [`ZoneRules`]), a grace period.
//! 2. Paid sessions arrive from payment providers: [`ParkingStore::add_session`] (their API) or
//!    [`ParkingStore::import_sessions_csv`] (`plate,zone,start,end[,reference]`, RFC 3339 times). A CSV import
//!    stores every valid line and reports each bad one with its line number ([`ImportReport`]): one malformed line
//!    must not leave the drivers of every other line unrecognised. The whole import is one transaction, so it is
//!    stored entirely or (on a database failure) not at all.
//! 3. The vision pipeline calls [`ParkingStore::observe`] for a vehicle parked in a zone, with its plate read, the
//!    time it arrived and the time of the read, and two evidence crops. The store applies the zone's rules: free
//!    period, grace period (counted from the later of arrival and the start of the paid period), confidence, then
//!    the paid sessions. Only an unpaid, readable, chargeable vehicle is queued ([`Outcome::Queued`]); a vehicle
//!    already queued in the zone adds no second record.
//! 4. A sworn agent lists the queue, views the photos, checks the vehicle, and confirms or dismisses.
//!
//! # Sans-IO
//! The rules ([`ZoneRules`]), time parsing, CSV parsing and plate normalisation are pure functions. The store never
//! reads the clock: every call that records or compares a time takes it (`now_unix_ms`, `seen_unix_ms`), so tests
//! and replays are deterministic.
//!
//! # Errors
//! SQLite errors become [`ErrorKind::Database`] errors naming the operation (a full disk: [`ErrorKind::Io`]);
//! invalid arguments are [`ErrorKind::InvalidArgument`] errors raised before anything reaches SQLite, whose CHECK
//! constraints and triggers are the backstop; an unknown zone or record is [`ErrorKind::NotFound`]; another plate
//! key than the database's is [`ErrorKind::Config`]. No error message contains a plate.
//!
//! # Use
//! ```no_run
//! # use vigie_plates::parking::*;
//! # fn f(key: PlateKey, crops: [EvidenceCrop; 2], now: i64) -> vigie_core::Result<()> {
//! let mut store = ParkingStore::open(std::path::Path::new("plates.db"), key, Config::default(), now)?;
//! let zone = store.add_zone(
//!     &NewZone {
//!         name: "centre-1".into(),
//!         camera: "rue-de-la-paix".into(),
//!         polygon: vec![[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]],
//!         rules: ZoneRules {
//!             utc_offset_min: 60,
//!             dst: DstRule::Eu,
//!             grace_s: 15 * 60,
//!             paid_hours: PaidHours::days(0..=5, 9 * 60, 19 * 60), // Monday to Saturday, 09:00-19:00
//!         },
//!     },
//!     now,
//! )?;
//! store.add_session(&NewSession::new("AB-123-CD", "centre-1", now - 60_000, now + 3_600_000), now)?;
//! let outcome = store.observe(&Observation {
//!     plate: Some("AB123CD".into()),
//!     confidence: 0.98,
//!     zone,
//!     camera: "rue-de-la-paix".into(),
//!     first_seen_unix_ms: now - 20 * 60_000,
//!     seen_unix_ms: now,
//!     evidence: crops,
//! })?;
//! assert_eq!(outcome, Outcome::Paid); // nothing of the read was stored
//! # Ok(()) }
//! ```

use std::fmt;
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use serde::Serialize;
use vigie_core::{Error, ErrorKind, Result, bail};

mod csv;
mod plate;
mod rules;
mod store;
mod time;
mod upgrade;

#[cfg(test)]
mod tests;

pub use csv::RowError;
pub use plate::{PLATE_LEN, PlateKey, normalise_plate};
pub use rules::{DstRule, MINUTES_PER_DAY, PaidHours, RuleCheck, ZoneRules};
pub use store::ParkingStore;

/// The schema version this code writes (the version of `schema.sql`).
pub const SCHEMA_VERSION: i64 = 1;

/// The full current schema, run on an empty database.
const SCHEMA_SQL: &str = include_str!("schema.sql");

/// `pragma application_id` of a plate database: 'VPLT'. Any other SQLite file is refused.
pub const APPLICATION_ID: i32 = 0x5650_4C54;

/// How long a statement waits for another connection's lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest evidence photo accepted, in bytes (also a CHECK in the schema).
pub const MAX_EVIDENCE_BYTES: usize = 4 << 20;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// How long each kind of data is kept; see the table in the module documentation. All durations in milliseconds,
/// >= 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// Photos of a confirmed record are kept this long after the decision: the period in which the fine can be
    /// contested. Default 90 days.
    pub appeal_period_ms: i64,
    /// Photos of a dismissed record are kept this long after the decision. Default 0: deleted by the decision.
    pub dismissed_evidence_ms: i64,
    /// A record still pending this long after it was queued is deleted with its plate and photos (counted as
    /// expired): the agent confirms in real time, never from a stale read. Default 4 hours.
    pub pending_max_ms: i64,
    /// A paid session is deleted this long after its end. It covers late observations and lets an agent see that a
    /// session arrived after a record was queued; keep it at least `pending_max_ms`. Default 4 hours.
    pub session_margin_ms: i64,
    /// Decided records, stripped of plate and photos, and the agent log are deleted this long after the decision or
    /// action (legal.md: logs kept at least 6 months). Default 365 days.
    pub decision_log_ms: i64,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            appeal_period_ms: 90 * DAY_MS,
            dismissed_evidence_ms: 0,
            pending_max_ms: 4 * HOUR_MS,
            session_margin_ms: 4 * HOUR_MS,
            decision_log_ms: 365 * DAY_MS,
        }
    }
}

/// Settings of a [`ParkingStore`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Config {
    /// A read below this confidence (0..1) is [`Outcome::Unreadable`]: never matched, never queued. Default 0.9.
    pub min_confidence: f32,
    pub retention: Retention,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            min_confidence: 0.9,
            retention: Retention::default(),
        }
    }
}

impl Config {
    fn validate(&self) -> Result<()> {
        if !(self.min_confidence.is_finite() && (0.0..=1.0).contains(&self.min_confidence)) {
            bail!(
                Config,
                "min_confidence {} is not a number between 0 and 1",
                self.min_confidence
            );
        }
        let r = &self.retention;
        for (name, v) in [
            ("appeal_period_ms", r.appeal_period_ms),
            ("dismissed_evidence_ms", r.dismissed_evidence_ms),
            ("pending_max_ms", r.pending_max_ms),
            ("session_margin_ms", r.session_margin_ms),
            ("decision_log_ms", r.decision_log_ms),
        ] {
            if v < 0 {
                bail!(Config, "retention {name} {v} is negative");
            }
        }
        Ok(())
    }
}

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

id_type!(
    /// `zone.id`. Never reused.
    ZoneId
);
id_type!(
    /// `precheck.id`: a pre-check record. Never reused.
    PrecheckId
);
id_type!(
    /// `paid_session.id`.
    SessionId
);

/// A zone to create; see the `zone` columns in `schema.sql`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NewZone {
    /// The zone's code, as payment providers know it. Unique, not empty.
    pub name: String,
    /// The camera whose view the polygon is on. Not empty.
    pub camera: String,
    /// At least 3 vertices `[x, y]`, in order, normalised (0..1 of the image's width and height).
    pub polygon: Vec<[f64; 2]>,
    pub rules: ZoneRules,
}

/// A zone as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Zone {
    pub id: ZoneId,
    pub name: String,
    pub camera: String,
    pub polygon: Vec<[f64; 2]>,
    pub rules: ZoneRules,
}

impl Zone {
    /// Whether the normalised point `(x, y)` (e.g. the bottom centre of a vehicle's box divided by the image size)
    /// is inside the zone's polygon (even-odd rule; a point on an edge may fall either side).
    pub fn contains(&self, x: f64, y: f64) -> bool {
        let p = &self.polygon;
        let mut inside = false;
        let mut j = p.len().wrapping_sub(1);
        for i in 0..p.len() {
            let ([xi, yi], [xj, yj]) = (p[i], p[j]);
            if (yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi {
                inside = !inside;
            }
            j = i;
        }
        inside
    }
}

/// A paid session as a payment provider sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSession {
    /// The plate as the driver typed it; normalised before use, never stored (only its keyed digest).
    pub plate: String,
    /// The zone's name (`NewZone::name`).
    pub zone: String,
    /// The paid time, `start <= t < end`; at most 366 days; years 2000 to 2099.
    pub start_unix_ms: i64,
    pub end_unix_ms: i64,
    /// The provider's id of the payment. A session sent again with the same reference (a retry, an extension)
    /// replaces the earlier one. Not empty, at most 200 bytes.
    pub reference: Option<String>,
}

impl NewSession {
    /// A session without a provider reference.
    pub fn new(plate: &str, zone: &str, start_unix_ms: i64, end_unix_ms: i64) -> Self {
        NewSession {
            plate: plate.into(),
            zone: zone.into(),
            start_unix_ms,
            end_unix_ms,
            reference: None,
        }
    }
}

/// What a CSV import did: the number of lines stored, and each line not stored with the reason.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    pub imported: usize,
    /// In line order.
    pub errors: Vec<RowError>,
}

/// One evidence photo: a JPEG crop of the frame and when the frame was taken.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct EvidenceCrop {
    pub taken_unix_ms: i64,
    /// A JPEG file (starts with FF D8 FF), at most [`MAX_EVIDENCE_BYTES`].
    pub jpeg: Vec<u8>,
}

impl fmt::Debug for EvidenceCrop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EvidenceCrop")
            .field("taken_unix_ms", &self.taken_unix_ms)
            .field("jpeg_bytes", &self.jpeg.len())
            .finish()
    }
}

/// A vehicle parked in a zone, as the vision pipeline sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The plate as read (normalised here), or `None` when no plate could be read. Never a guess.
    pub plate: Option<String>,
    /// The reader's confidence in `plate`, 0..1 (ignored when `plate` is `None`).
    pub confidence: f32,
    pub zone: ZoneId,
    /// The camera that saw the vehicle: must be the zone's.
    pub camera: String,
    /// When the vehicle was first seen parked in the zone (the caller's tracking), `<= seen_unix_ms`.
    pub first_seen_unix_ms: i64,
    /// When the plate was read.
    pub seen_unix_ms: i64,
    /// Two crops (typically the plate, and the vehicle in its place). Checked and stored only when a record is
    /// queued; a caller with no plate read may pass empty ones.
    pub evidence: [EvidenceCrop; 2],
}

/// What [`ParkingStore::observe`] made of an observation. Only `Queued` stores anything beyond counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Outcome {
    /// Parking is free at that time (no paid hours apply). The read is dropped.
    Free,
    /// Paid hours apply but the grace period is not over. The read is dropped.
    WithinGrace,
    /// No plate, or one read below `Config::min_confidence`: never matched, never queued. Dropped.
    Unreadable,
    /// A paid session of the same zone covers the time. The read is dropped.
    Paid,
    /// No paid session: a pre-check record waits for an agent (the existing one, when the vehicle was already
    /// queued in this zone).
    Queued(PrecheckId),
}

/// A pending record as an agent's queue lists it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueItem {
    pub id: PrecheckId,
    pub zone: ZoneId,
    pub zone_name: String,
    pub camera: String,
    /// Normalised.
    pub plate: String,
    pub confidence: f32,
    pub first_seen_unix_ms: i64,
    pub queued_unix_ms: i64,
    pub last_seen_unix_ms: i64,
    /// A paid session covering the queued observation has arrived since (a provider's delay): the agent should
    /// dismiss.
    pub paid_session_found: bool,
}

/// An agent's decision on a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Decision {
    Pending,
    /// A fine was started: its reference.
    Confirmed {
        agent: String,
        at_unix_ms: i64,
        fine_reference: String,
    },
    Dismissed {
        agent: String,
        at_unix_ms: i64,
        reason: String,
    },
}

/// A pre-check record as stored, in any state.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PrecheckRow {
    pub id: PrecheckId,
    pub zone: ZoneId,
    pub camera: String,
    /// `None` once decided: the decision erases it.
    pub plate: Option<String>,
    pub confidence: f32,
    pub first_seen_unix_ms: i64,
    pub queued_unix_ms: i64,
    pub last_seen_unix_ms: i64,
    pub decision: Decision,
    /// When the photos are (or were) to be deleted; `None` while pending.
    pub evidence_expires_unix_ms: Option<i64>,
    /// When they were deleted.
    pub evidence_purged_unix_ms: Option<i64>,
    /// Photos still stored: 2, or 0 once purged.
    pub evidence_photos: u32,
}

/// The counters of one zone on one local day; see `daily_count` in `schema.sql`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DailyCount {
    pub zone: ZoneId,
    /// Local date, `YYYY-MM-DD`.
    pub day: String,
    pub checked: u64,
    pub free: u64,
    pub within_grace: u64,
    pub unreadable: u64,
    pub paid: u64,
    pub queued: u64,
    pub confirmed: u64,
    pub dismissed: u64,
    pub expired: u64,
}

/// What [`ParkingStore::purge_expired`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PurgeReport {
    /// Pending records no agent decided in time, deleted with plate and photos.
    pub expired_pending: u64,
    /// Decided records whose photos were deleted.
    pub evidence_purged: u64,
    /// Decided records deleted at the end of `decision_log_ms`.
    pub records_deleted: u64,
    /// Paid sessions deleted after their end plus the margin.
    pub sessions_deleted: u64,
    /// Agent log entries deleted.
    pub log_entries_deleted: u64,
    /// Whether the write-ahead log was truncated. `false` when another connection was reading and the checkpoint
    /// could not complete: the data is deleted from the database but old copies stay in the `-wal` file until a
    /// later purge truncates it.
    pub wal_truncated: bool,
}

/// Parses an RFC 3339 time with its offset (`2024-05-01T09:30:00+02:00`) into milliseconds since 1970-01-01 UTC;
/// years 2000 to 2099. The error says what is wrong without repeating the input.
pub fn parse_time(s: &str) -> std::result::Result<i64, String> {
    time::parse_rfc3339(s)
}

/// Session times from outside: within years 2000-2099, end after start, at most 366 days.
pub(crate) fn validate_session_times(start_unix_ms: i64, end_unix_ms: i64) -> std::result::Result<(), String> {
    use time::{MAX_UNIX_MS, MIN_UNIX_MS};
    if !(MIN_UNIX_MS..MAX_UNIX_MS).contains(&start_unix_ms) || !(MIN_UNIX_MS..=MAX_UNIX_MS).contains(&end_unix_ms) {
        return Err("the session is not between the years 2000 and 2099".into());
    }
    if end_unix_ms <= start_unix_ms {
        return Err("the session ends before it starts".into());
    }
    if end_unix_ms - start_unix_ms > 366 * DAY_MS {
        return Err("the session is longer than 366 days".into());
    }
    Ok(())
}

/// A provider reference: not empty, at most 200 bytes, no control characters.
pub(crate) fn validate_reference(r: &str) -> std::result::Result<(), String> {
    if r.is_empty() || r.len() > 200 || r.chars().any(char::is_control) {
        return Err("the reference is empty, longer than 200 bytes or has control characters".into());
    }
    Ok(())
}

/// Maps a SQLite error: [`ErrorKind::Io`] for a full disk or an OS-level I/O failure, [`ErrorKind::Database`] for
/// everything else. `op` says what was being done.
pub(crate) fn sql_error(op: String, e: rusqlite::Error) -> Error {
    match e.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => Error::wrap(ErrorKind::Io, format!("{op}: the disk is full"), e),
        Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) => Error::wrap(ErrorKind::Io, op, e),
        _ => Error::wrap(ErrorKind::Database, op, e),
    }
}

/// `.sql(|| "what was being done")` on a rusqlite result.
pub(crate) trait SqlResultExt<T> {
    fn sql(self, op: impl FnOnce() -> String) -> Result<T>;
}

impl<T> SqlResultExt<T> for rusqlite::Result<T> {
    fn sql(self, op: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| sql_error(op(), e))
    }
}

/// Begins an IMMEDIATE transaction: takes the write lock now (waiting up to the busy timeout) rather than at the
/// first write, where a lock upgrade can fail with "database is locked" without waiting.
pub(crate) fn write_transaction<'c>(conn: &'c mut Connection, op: &str) -> Result<rusqlite::Transaction<'c>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .sql(|| format!("{op}: beginning a transaction"))
}
