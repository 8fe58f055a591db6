//! [`ParkingStore`]: the plate database and the pre-check workflow on it.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use vigie_core::{Result, bail, err};

use super::plate::{PlateKey, normalise_plate, refuse_plate_in_text};
use super::rules::{DstRule, PaidHours, RuleCheck, ZoneRules};
use super::time::{MAX_UNIX_MS, MIN_UNIX_MS};
use super::{
    BUSY_TIMEOUT, Config, DailyCount, Decision, EvidenceCrop, ImportReport, MAX_EVIDENCE_BYTES, NewSession, NewZone,
    Observation, Outcome, PrecheckId, PrecheckRow, PurgeReport, QueueItem, RowError, SessionId, SqlResultExt, Zone,
    ZoneId, csv, sql_error, upgrade, validate_reference, validate_session_times, write_transaction,
};

/// The plate database: one SQLite connection, the plate key and the settings. `Send`, so it can move to the thread
/// that owns it.
pub struct ParkingStore {
    pub(super) conn: Connection,
    key: PlateKey,
    config: Config,
}

impl fmt::Debug for ParkingStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParkingStore")
            .field("path", &self.conn.path())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A counter column of `daily_count`.
#[derive(Clone, Copy, Debug)]
enum Counter {
    Checked,
    Free,
    WithinGrace,
    Unreadable,
    Paid,
    Queued,
    Confirmed,
    Dismissed,
    Expired,
}

impl Counter {
    fn column(self) -> &'static str {
        match self {
            Counter::Checked => "checked",
            Counter::Free => "free",
            Counter::WithinGrace => "within_grace",
            Counter::Unreadable => "unreadable",
            Counter::Paid => "paid",
            Counter::Queued => "queued",
            Counter::Confirmed => "confirmed",
            Counter::Dismissed => "dismissed",
            Counter::Expired => "expired",
        }
    }
}

/// Adds one to each of `counters` of `zone` on local day `day`.
fn bump(tx: &Transaction, zone: ZoneId, day: &str, counters: &[Counter]) -> Result<()> {
    let cols: Vec<&str> = counters.iter().map(|c| c.column()).collect();
    let sql = format!(
        "insert into daily_count (zone_id, day, {}) values (?1, ?2{}) on conflict (zone_id, day) do update set {}",
        cols.join(", "),
        ", 1".repeat(cols.len()),
        cols.iter()
            .map(|c| format!("{c} = {c} + 1"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    tx.prepare_cached(&sql)
        .and_then(|mut s| s.execute(params![zone.0, day]))
        .sql(|| format!("counting {} in zone {zone} on {day}", cols.join(", ")))?;
    Ok(())
}

fn log_action(tx: &Transaction, now_unix_ms: i64, agent: &str, action: &str, id: Option<PrecheckId>) -> Result<()> {
    tx.prepare_cached("insert into agent_log (at_unix_ms, agent, action, precheck_id) values (?, ?, ?, ?)")
        .and_then(|mut s| s.execute(params![now_unix_ms, agent, action, id.map(|i| i.0)]))
        .sql(|| format!("logging {action} by agent {agent:?}"))?;
    Ok(())
}

fn check_agent(agent: &str) -> Result<()> {
    if agent.trim().is_empty() || agent.len() > 200 || agent.chars().any(char::is_control) {
        bail!(
            InvalidArgument,
            "an agent identifier must be 1 to 200 bytes without control characters"
        );
    }
    Ok(())
}

fn check_time(t: i64, what: &str) -> Result<()> {
    if !(MIN_UNIX_MS..MAX_UNIX_MS).contains(&t) {
        bail!(
            InvalidArgument,
            "{what} {t} ms is not a time between the years 2000 and 2099"
        );
    }
    Ok(())
}

fn check_evidence(evidence: &[EvidenceCrop; 2]) -> Result<()> {
    for (i, c) in evidence.iter().enumerate() {
        if !c.jpeg.starts_with(&[0xff, 0xd8, 0xff]) {
            bail!(InvalidArgument, "evidence photo {i} is not a JPEG file");
        }
        if c.jpeg.len() > MAX_EVIDENCE_BYTES {
            bail!(
                InvalidArgument,
                "evidence photo {i} has {} bytes, more than {MAX_EVIDENCE_BYTES}",
                c.jpeg.len()
            );
        }
        check_time(c.taken_unix_ms, "the time of evidence photo")?;
    }
    Ok(())
}

/// What an agent decides: [`ParkingStore::confirm`] or [`ParkingStore::dismiss`].
enum Deciding<'a> {
    Confirm { fine_reference: &'a str },
    Dismiss { reason: &'a str },
}

impl ParkingStore {
    /// Opens the plate database at `path`, creating it when the file is missing or empty. `key` must be the one the
    /// database was created with; `now_unix_ms` is recorded as its creation time when it is new.
    ///
    /// Refuses (naming `path`) a file that is not a SQLite database, a SQLite database that is not a plate database
    /// (the main Vigie database included), a newer schema version, and another key ([`ErrorKind::Config`]).
    ///
    /// [`ErrorKind::Config`]: vigie_core::ErrorKind::Config
    pub fn open(path: &Path, key: PlateKey, config: Config, now_unix_ms: i64) -> Result<ParkingStore> {
        let what = || format!("opening plate database {path:?}");
        let conn = Connection::open(path).map_err(|e| sql_error(what(), e))?;
        Self::init(conn, key, config, now_unix_ms).map_err(|e| e.context(what()))
    }

    /// A fresh plate database in memory, for tests and dry runs.
    pub fn open_in_memory(key: PlateKey, config: Config, now_unix_ms: i64) -> Result<ParkingStore> {
        let what = || "opening an in-memory plate database".to_owned();
        let conn = Connection::open_in_memory().map_err(|e| sql_error(what(), e))?;
        Self::init(conn, key, config, now_unix_ms).map_err(|e| e.context(what()))
    }

    fn init(mut conn: Connection, key: PlateKey, config: Config, now_unix_ms: i64) -> Result<ParkingStore> {
        config.validate()?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .sql(|| "setting the busy timeout".into())?;
        // Deleted content is overwritten with zeros: rows, index entries, freed and overflow pages. Per connection;
        // checked, since a SQLite built with SQLITE_SECURE_DELETE=0 and no support would answer 0.
        let secure: i64 = conn
            .query_row("pragma secure_delete = on", [], |r| r.get(0))
            .sql(|| "setting secure_delete = ON".into())?;
        if secure != 1 {
            bail!(
                Database,
                "SQLite refused secure_delete = ON: deletions would not be real"
            );
        }
        // Sorts and temporary tables in memory, never in a temporary file that would outlive a deletion.
        conn.pragma_update(None, "temp_store", "MEMORY")
            .sql(|| "setting temp_store = MEMORY".into())?;
        // The first statement that reads the file header: where "file is not a database" comes out.
        let _mode: String = conn
            .query_row("pragma journal_mode = wal", [], |r| r.get(0))
            .sql(|| "setting journal_mode = WAL".into())?;
        // FULL: few writes, each an agent's decision or a deletion the law requires; none is lost at a power cut.
        conn.pragma_update(None, "synchronous", "FULL")
            .sql(|| "setting synchronous = FULL".into())?;
        upgrade::prepare(&mut conn, &key, now_unix_ms)?;
        conn.pragma_update(None, "foreign_keys", true)
            .sql(|| "setting foreign_keys = ON".into())?;
        Ok(ParkingStore { conn, key, config })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The database's schema version; [`super::SCHEMA_VERSION`] once opened.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("select schema_version from meta where id = 1", [], |r| r.get(0))
            .sql(|| "reading the schema version".into())
    }

    /// Checkpoints the write-ahead log into the database file and truncates it to zero bytes, so that the
    /// `-wal` file holds no copy of erased data. `false` when another connection's read kept it from completing
    /// (an in-memory database, with no log, answers `true`).
    fn truncate_wal(&self) -> Result<bool> {
        let busy: i64 = self
            .conn
            .query_row("pragma wal_checkpoint(truncate)", [], |r| r.get(0))
            .sql(|| "checkpointing and truncating the write-ahead log".into())?;
        Ok(busy == 0)
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Zones

    /// Creates a zone and returns its id.
    pub fn add_zone(&mut self, zone: &NewZone, now_unix_ms: i64) -> Result<ZoneId> {
        if zone.name.trim().is_empty() || zone.camera.trim().is_empty() {
            bail!(InvalidArgument, "a zone needs a name and a camera");
        }
        if zone.polygon.len() < 3 {
            bail!(
                InvalidArgument,
                "zone {:?}: a polygon needs at least 3 vertices",
                zone.name
            );
        }
        if let Some(v) = zone.polygon.iter().find(|v| !v.iter().all(|c| (0.0..=1.0).contains(c))) {
            bail!(
                InvalidArgument,
                "zone {:?}: vertex {v:?} is not in normalised coordinates (0..1)",
                zone.name
            );
        }
        zone.rules
            .validate()
            .map_err(|m| err!(InvalidArgument, "zone {:?}: {m}", zone.name))?;
        let what = || format!("creating zone {:?}", zone.name);
        let tx = write_transaction(&mut self.conn, &what())?;
        let exists: bool = tx
            .query_row("select exists (select 1 from zone where name = ?)", [&zone.name], |r| {
                r.get(0)
            })
            .sql(what)?;
        if exists {
            bail!(InvalidArgument, "zone {:?} exists already", zone.name);
        }
        tx.execute(
            "insert into zone (name, camera, utc_offset_min, dst_rule, grace_s, created_unix_ms) \
             values (?, ?, ?, ?, ?, ?)",
            params![
                zone.name,
                zone.camera,
                zone.rules.utc_offset_min,
                zone.rules.dst.as_str(),
                zone.rules.grace_s,
                now_unix_ms
            ],
        )
        .sql(what)?;
        let id = ZoneId(tx.last_insert_rowid());
        for (i, [x, y]) in zone.polygon.iter().enumerate() {
            tx.execute(
                "insert into zone_vertex (zone_id, idx, x, y) values (?, ?, ?, ?)",
                params![id.0, i as i64, x, y],
            )
            .sql(what)?;
        }
        for h in &zone.rules.paid_hours {
            tx.execute(
                "insert into zone_paid_hours (zone_id, weekday, start_min, end_min) values (?, ?, ?, ?)",
                params![id.0, h.weekday, h.start_min, h.end_min],
            )
            .sql(what)?;
        }
        tx.commit().sql(what)?;
        Ok(id)
    }

    /// Every zone, in id order.
    pub fn zones(&self) -> Result<Vec<Zone>> {
        let ids: Vec<i64> = self
            .conn
            .prepare_cached("select id from zone order by id")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .sql(|| "listing zones".into())?;
        ids.into_iter().map(|id| self.zone(ZoneId(id))).collect()
    }

    /// The zone with the given name; `None` when there is none.
    pub fn zone_by_name(&self, name: &str) -> Result<Option<Zone>> {
        let id: Option<i64> = self
            .conn
            .query_row("select id from zone where name = ?", [name], |r| r.get(0))
            .optional()
            .sql(|| format!("looking up zone {name:?}"))?;
        id.map(|id| self.zone(ZoneId(id))).transpose()
    }

    /// A zone; [`ErrorKind::NotFound`](vigie_core::ErrorKind::NotFound) when there is none.
    pub fn zone(&self, id: ZoneId) -> Result<Zone> {
        let what = || format!("reading zone {id}");
        let row: Option<(String, String, i32, String, u32)> = self
            .conn
            .prepare_cached("select name, camera, utc_offset_min, dst_rule, grace_s from zone where id = ?")
            .and_then(|mut s| {
                s.query_row([id.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                    .optional()
            })
            .sql(what)?;
        let Some((name, camera, utc_offset_min, dst, grace_s)) = row else {
            bail!(NotFound, "no parking zone {id}");
        };
        let dst = DstRule::parse(&dst).ok_or_else(|| err!(Database, "zone {id} has an unknown dst rule {dst:?}"))?;
        let polygon = self
            .conn
            .prepare_cached("select x, y from zone_vertex where zone_id = ? order by idx")
            .and_then(|mut s| s.query_map([id.0], |r| Ok([r.get(0)?, r.get(1)?]))?.collect())
            .sql(what)?;
        let paid_hours = self
            .conn
            .prepare_cached(
                "select weekday, start_min, end_min from zone_paid_hours where zone_id = ? order by weekday, start_min",
            )
            .and_then(|mut s| {
                s.query_map([id.0], |r| {
                    Ok(PaidHours {
                        weekday: r.get(0)?,
                        start_min: r.get(1)?,
                        end_min: r.get(2)?,
                    })
                })?
                .collect()
            })
            .sql(what)?;
        Ok(Zone {
            id,
            name,
            camera,
            polygon,
            rules: ZoneRules {
                utc_offset_min,
                dst,
                grace_s,
                paid_hours,
            },
        })
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Paid sessions

    /// Stores a paid session as a payment provider sends it (its API). The plate is normalised and only its keyed
    /// digest stored. A session with the `reference` of a stored one replaces it.
    ///
    /// Errors: a plate that is not one, times that are not a session (end before start, longer than 366 days,
    /// outside 2000-2099) or a bad reference are `InvalidArgument`; an unknown zone is `NotFound`.
    pub fn add_session(&mut self, session: &NewSession, now_unix_ms: i64) -> Result<SessionId> {
        let plate = normalise_plate(&session.plate).ok_or_else(|| {
            err!(
                InvalidArgument,
                "a paid session's plate is not 2 to 10 letters and digits"
            )
        })?;
        validate_session_times(session.start_unix_ms, session.end_unix_ms)
            .map_err(|m| err!(InvalidArgument, "paid session: {m}"))?;
        if let Some(r) = &session.reference {
            validate_reference(r).map_err(|m| err!(InvalidArgument, "paid session: {m}"))?;
        }
        let zone = self
            .zone_by_name(&session.zone)?
            .ok_or_else(|| err!(NotFound, "paid session for an unknown zone {:?}", session.zone))?;
        let digest = self.key.plate_digest(&plate);
        let tx = write_transaction(&mut self.conn, "storing a paid session")?;
        let id = insert_session(
            &tx,
            &digest,
            zone.id,
            session.start_unix_ms,
            session.end_unix_ms,
            session.reference.as_deref(),
            "api",
            now_unix_ms,
        )?;
        tx.commit().sql(|| "committing a paid session".into())?;
        Ok(id)
    }

    /// Imports a payment provider's CSV export: `plate,zone,start,end[,reference]` per line, times in RFC 3339 with
    /// an offset, an optional header line `plate,...`, blank lines ignored.
    ///
    /// Every valid line is stored; every other one (malformed, invalid, unknown zone) is reported with its line
    /// number and the reason, and skipped: a bad line must not leave the drivers of the other lines unrecognised
    /// (which would queue them). The valid lines are stored in one transaction: all of them, or on a database
    /// failure none (an `Err`). Messages never repeat a plate.
    pub fn import_sessions_csv(&mut self, text: &str, now_unix_ms: i64) -> Result<ImportReport> {
        let (rows, mut errors) = csv::parse(text);
        let mut zones: HashMap<String, Option<ZoneId>> = HashMap::new();
        let mut valid = Vec::with_capacity(rows.len());
        for row in rows {
            let zone = match zones.get(&row.zone) {
                Some(z) => *z,
                None => {
                    let z = self.zone_by_name(&row.zone)?.map(|z| z.id);
                    zones.insert(row.zone.clone(), z);
                    z
                }
            };
            match zone {
                Some(zone) => valid.push((zone, row)),
                None => errors.push(RowError {
                    line: row.line,
                    message: format!("unknown zone {:?}", row.zone),
                }),
            }
        }
        errors.sort_by_key(|e| e.line);
        let tx = write_transaction(&mut self.conn, "importing paid sessions")?;
        for (zone, row) in &valid {
            insert_session(
                &tx,
                &self.key.plate_digest(&row.plate),
                *zone,
                row.start_unix_ms,
                row.end_unix_ms,
                row.reference.as_deref(),
                "csv",
                now_unix_ms,
            )
            .map_err(|e| e.context(format!("line {}", row.line)))?;
        }
        tx.commit().sql(|| "committing imported paid sessions".into())?;
        Ok(ImportReport {
            imported: valid.len(),
            errors,
        })
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Observations

    /// Checks a vehicle parked in a zone; see [`Outcome`]. Called for each read of a parked vehicle (the caller may
    /// call it again at each pass; a vehicle already queued in the zone is not queued twice).
    ///
    /// In order: parking free at `seen_unix_ms` → `Free`; within the grace period (from the later of
    /// `first_seen_unix_ms` and the start of the paid period) → `WithinGrace`; no plate, or confidence below
    /// `Config::min_confidence` → `Unreadable`; a paid session of this zone with `start <= seen < end` → `Paid`;
    /// otherwise a pending record with the two photos → `Queued`. Every outcome but `Queued` stores nothing but
    /// counters. All in one transaction.
    ///
    /// Errors (`InvalidArgument`, nothing stored): a camera other than the zone's, `first_seen` after `seen`, times
    /// outside 2000-2099, a confidence outside 0..1 with a plate, and, when queuing, photos that are not JPEG files.
    /// An unknown zone is `NotFound`.
    pub fn observe(&mut self, obs: &Observation) -> Result<Outcome> {
        check_time(obs.seen_unix_ms, "the observation time")?;
        check_time(obs.first_seen_unix_ms, "the first-seen time")?;
        if obs.first_seen_unix_ms > obs.seen_unix_ms {
            bail!(InvalidArgument, "a vehicle first seen after it was observed");
        }
        if obs.plate.is_some() && !(obs.confidence.is_finite() && (0.0..=1.0).contains(&obs.confidence)) {
            bail!(
                InvalidArgument,
                "plate confidence {} is not between 0 and 1",
                obs.confidence
            );
        }
        let zone = self.zone(obs.zone)?;
        if obs.camera != zone.camera {
            bail!(
                InvalidArgument,
                "camera {:?} observed zone {} ({:?}), which is on camera {:?}",
                obs.camera,
                zone.id,
                zone.name,
                zone.camera
            );
        }
        let day = zone.rules.local_date(obs.seen_unix_ms);
        let readable = obs
            .plate
            .as_deref()
            .filter(|_| obs.confidence >= self.config.min_confidence)
            .and_then(normalise_plate);
        let what = || format!("checking a vehicle in zone {}", zone.id);
        let tx = write_transaction(&mut self.conn, &what())?;
        let (outcome, counter) = match (zone.rules.check(obs.first_seen_unix_ms, obs.seen_unix_ms), readable) {
            (RuleCheck::Free, _) => (Outcome::Free, Some(Counter::Free)),
            (RuleCheck::WithinGrace, _) => (Outcome::WithinGrace, Some(Counter::WithinGrace)),
            (RuleCheck::Chargeable { .. }, None) => (Outcome::Unreadable, Some(Counter::Unreadable)),
            (RuleCheck::Chargeable { .. }, Some(plate)) => {
                let digest = self.key.plate_digest(&plate);
                let paid: bool = tx
                    .prepare_cached(
                        "select exists (select 1 from paid_session where plate_digest = ?1 and zone_id = ?2 \
                         and start_unix_ms <= ?3 and end_unix_ms > ?3)",
                    )
                    .and_then(|mut s| {
                        s.query_row(params![digest.as_slice(), zone.id.0, obs.seen_unix_ms], |r| r.get(0))
                    })
                    .sql(what)?;
                if paid {
                    (Outcome::Paid, Some(Counter::Paid))
                } else {
                    let pending: Option<i64> = tx
                        .prepare_cached("select id from precheck where zone_id = ? and plate = ? and state = 'pending'")
                        .and_then(|mut s| s.query_row(params![zone.id.0, plate], |r| r.get(0)).optional())
                        .sql(what)?;
                    match pending {
                        Some(id) => {
                            tx.execute(
                                "update precheck set last_seen_unix_ms = max(last_seen_unix_ms, ?) where id = ?",
                                params![obs.seen_unix_ms, id],
                            )
                            .sql(what)?;
                            (Outcome::Queued(PrecheckId(id)), None)
                        }
                        None => {
                            check_evidence(&obs.evidence)?;
                            let id = insert_precheck(&tx, obs, zone.id, &plate)?;
                            (Outcome::Queued(id), Some(Counter::Queued))
                        }
                    }
                }
            }
        };
        let mut counters = vec![Counter::Checked];
        counters.extend(counter);
        bump(&tx, zone.id, &day, &counters)?;
        tx.commit().sql(what)?;
        Ok(outcome)
    }

    // ---------------------------------------------------------------------------------------------------------------
    // The agent's workflow

    /// The pending records, oldest first, for `agent` (logged). Each says whether a paid session covering it has
    /// arrived since it was queued.
    pub fn queue(&mut self, agent: &str, now_unix_ms: i64) -> Result<Vec<QueueItem>> {
        check_agent(agent)?;
        let what = || "listing the pre-check queue".to_owned();
        let tx = write_transaction(&mut self.conn, &what())?;
        let mut items: Vec<QueueItem> = tx
            .prepare_cached(
                "select p.id, p.zone_id, z.name, p.camera, p.plate, p.confidence, p.first_seen_unix_ms, \
                 p.queued_unix_ms, p.last_seen_unix_ms from precheck p join zone z on z.id = p.zone_id \
                 where p.state = 'pending' order by p.queued_unix_ms, p.id",
            )
            .and_then(|mut s| {
                s.query_map([], |r| {
                    Ok(QueueItem {
                        id: PrecheckId(r.get(0)?),
                        zone: ZoneId(r.get(1)?),
                        zone_name: r.get(2)?,
                        camera: r.get(3)?,
                        plate: r.get(4)?,
                        confidence: r.get(5)?,
                        first_seen_unix_ms: r.get(6)?,
                        queued_unix_ms: r.get(7)?,
                        last_seen_unix_ms: r.get(8)?,
                        paid_session_found: false,
                    })
                })?
                .collect()
            })
            .sql(what)?;
        for item in &mut items {
            let digest = self.key.plate_digest(&item.plate);
            item.paid_session_found = tx
                .prepare_cached(
                    "select exists (select 1 from paid_session where plate_digest = ?1 and zone_id = ?2 \
                     and start_unix_ms <= ?3 and end_unix_ms > ?3)",
                )
                .and_then(|mut s| {
                    s.query_row(params![digest.as_slice(), item.zone.0, item.queued_unix_ms], |r| {
                        r.get(0)
                    })
                })
                .sql(what)?;
        }
        log_action(&tx, now_unix_ms, agent, "list_queue", None)?;
        tx.commit().sql(what)?;
        Ok(items)
    }

    /// The photos of a record (logged as viewed by `agent`): two, or none once purged. `NotFound` for an unknown
    /// record.
    pub fn evidence(&mut self, id: PrecheckId, agent: &str, now_unix_ms: i64) -> Result<Vec<EvidenceCrop>> {
        check_agent(agent)?;
        let what = || format!("reading the evidence of pre-check record {id}");
        let tx = write_transaction(&mut self.conn, &what())?;
        let exists: bool = tx
            .query_row("select exists (select 1 from precheck where id = ?)", [id.0], |r| {
                r.get(0)
            })
            .sql(what)?;
        if !exists {
            bail!(NotFound, "no pre-check record {id}");
        }
        let crops = tx
            .prepare_cached("select taken_unix_ms, jpeg from evidence where precheck_id = ? order by idx")
            .and_then(|mut s| {
                s.query_map([id.0], |r| {
                    Ok(EvidenceCrop {
                        taken_unix_ms: r.get(0)?,
                        jpeg: r.get(1)?,
                    })
                })?
                .collect()
            })
            .sql(what)?;
        log_action(&tx, now_unix_ms, agent, "view_evidence", Some(id))?;
        tx.commit().sql(what)?;
        Ok(crops)
    }

    /// A sworn agent confirms a pending record: they checked the vehicle and started a fine, whose reference is
    /// stored. The plate text is erased; the photos are kept for the appeal period. The only way a record becomes
    /// confirmed.
    ///
    /// Errors: `NotFound` for an unknown (or expired) record; `InvalidArgument` for a record already decided (a
    /// decision is final), an empty agent or reference, a reference that repeats the plate, or a decision time
    /// before the record was queued.
    pub fn confirm(&mut self, id: PrecheckId, agent: &str, fine_reference: &str, now_unix_ms: i64) -> Result<()> {
        self.decide(id, agent, Deciding::Confirm { fine_reference }, now_unix_ms)
    }

    /// A sworn agent dismisses a pending record, with the reason (a permit on display, a misread, payment found).
    /// The plate text is erased, and the photos with it unless `Retention::dismissed_evidence_ms` keeps them. Errors
    /// as for [`confirm`](Self::confirm).
    pub fn dismiss(&mut self, id: PrecheckId, agent: &str, reason: &str, now_unix_ms: i64) -> Result<()> {
        self.decide(id, agent, Deciding::Dismiss { reason }, now_unix_ms)
    }

    fn decide(&mut self, id: PrecheckId, agent: &str, deciding: Deciding<'_>, now_unix_ms: i64) -> Result<()> {
        check_agent(agent)?;
        check_time(now_unix_ms, "the decision time")?;
        let (action, text, limit, keep_ms, counter) = match deciding {
            Deciding::Confirm { fine_reference } => (
                "confirm",
                fine_reference,
                200,
                self.config.retention.appeal_period_ms,
                Counter::Confirmed,
            ),
            Deciding::Dismiss { reason } => (
                "dismiss",
                reason,
                1000,
                self.config.retention.dismissed_evidence_ms,
                Counter::Dismissed,
            ),
        };
        let noun = if action == "confirm" {
            "fine reference"
        } else {
            "dismissal reason"
        };
        if text.trim().is_empty() || text.len() > limit {
            bail!(InvalidArgument, "a {noun} must be 1 to {limit} bytes");
        }
        let what = || format!("recording agent {agent:?}'s decision to {action} pre-check record {id}");
        let tx = write_transaction(&mut self.conn, &what())?;
        let row: Option<(String, Option<String>, i64, i64)> = tx
            .query_row(
                "select state, plate, zone_id, queued_unix_ms from precheck where id = ?",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .sql(what)?;
        let Some((state, plate, zone_id, queued)) = row else {
            bail!(
                NotFound,
                "no pre-check record {id} (never queued, or deleted undecided)"
            );
        };
        if state != "pending" {
            bail!(
                InvalidArgument,
                "pre-check record {id} is already {state}: a decision is final (pending → confirmed | dismissed only)"
            );
        }
        let plate = plate.ok_or_else(|| err!(Database, "pending pre-check record {id} has no plate"))?;
        refuse_plate_in_text(text, &plate, noun)?;
        if now_unix_ms < queued {
            bail!(
                InvalidArgument,
                "a decision at {now_unix_ms} ms precedes the record's queuing at {queued} ms"
            );
        }
        let expires = now_unix_ms.saturating_add(keep_ms);
        let (fine_reference, reason) = match deciding {
            Deciding::Confirm { fine_reference } => (Some(fine_reference), None),
            Deciding::Dismiss { reason } => (None, Some(reason)),
        };
        tx.execute(
            "update precheck set state = ?, plate = null, decided_by = ?, decided_unix_ms = ?, fine_reference = ?, \
             dismiss_reason = ?, evidence_expires_unix_ms = ? where id = ? and state = 'pending'",
            params![
                if action == "confirm" { "confirmed" } else { "dismissed" },
                agent,
                now_unix_ms,
                fine_reference,
                reason,
                expires,
                id.0
            ],
        )
        .sql(what)?;
        if expires <= now_unix_ms {
            purge_evidence(&tx, id, now_unix_ms)?;
        }
        log_action(&tx, now_unix_ms, agent, action, Some(id))?;
        let zone = ZoneId(zone_id);
        let day = zone_rules(&tx, zone)?.local_date(now_unix_ms);
        bump(&tx, zone, &day, &[counter])?;
        tx.commit().sql(what)?;
        self.truncate_wal()?;
        Ok(())
    }

    /// A pre-check record in any state; `NotFound` when there is none.
    pub fn record(&self, id: PrecheckId) -> Result<PrecheckRow> {
        let what = || format!("reading pre-check record {id}");
        let row = self
            .conn
            .query_row(
                "select zone_id, camera, plate, confidence, first_seen_unix_ms, queued_unix_ms, last_seen_unix_ms, \
                 state, decided_by, decided_unix_ms, fine_reference, dismiss_reason, evidence_expires_unix_ms, \
                 evidence_purged_unix_ms, (select count(*) from evidence where precheck_id = p.id) \
                 from precheck p where id = ?",
                [id.0],
                |r| {
                    let state: String = r.get(7)?;
                    let decision = match state.as_str() {
                        "pending" => Decision::Pending,
                        "confirmed" => Decision::Confirmed {
                            agent: r.get(8)?,
                            at_unix_ms: r.get(9)?,
                            fine_reference: r.get(10)?,
                        },
                        _ => Decision::Dismissed {
                            agent: r.get(8)?,
                            at_unix_ms: r.get(9)?,
                            reason: r.get(11)?,
                        },
                    };
                    Ok(PrecheckRow {
                        id,
                        zone: ZoneId(r.get(0)?),
                        camera: r.get(1)?,
                        plate: r.get(2)?,
                        confidence: r.get(3)?,
                        first_seen_unix_ms: r.get(4)?,
                        queued_unix_ms: r.get(5)?,
                        last_seen_unix_ms: r.get(6)?,
                        decision,
                        evidence_expires_unix_ms: r.get(12)?,
                        evidence_purged_unix_ms: r.get(13)?,
                        evidence_photos: r.get(14)?,
                    })
                },
            )
            .optional()
            .sql(what)?;
        row.ok_or_else(|| err!(NotFound, "no pre-check record {id}"))
    }

    /// The daily counters of one zone, or of all, by zone then day.
    pub fn daily_counts(&self, zone: Option<ZoneId>) -> Result<Vec<DailyCount>> {
        self.conn
            .prepare_cached(
                "select zone_id, day, checked, free, within_grace, unreadable, paid, queued, confirmed, dismissed, \
                 expired from daily_count where ?1 is null or zone_id = ?1 order by zone_id, day",
            )
            .and_then(|mut s| {
                s.query_map([zone.map(|z| z.0)], |r| {
                    Ok(DailyCount {
                        zone: ZoneId(r.get(0)?),
                        day: r.get(1)?,
                        checked: get_u64(r, 2)?,
                        free: get_u64(r, 3)?,
                        within_grace: get_u64(r, 4)?,
                        unreadable: get_u64(r, 5)?,
                        paid: get_u64(r, 6)?,
                        queued: get_u64(r, 7)?,
                        confirmed: get_u64(r, 8)?,
                        dismissed: get_u64(r, 9)?,
                        expired: get_u64(r, 10)?,
                    })
                })?
                .collect()
            })
            .sql(|| "reading the daily counters".into())
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Retention

    /// Deletes what has reached the end of its retention at `now_unix_ms` (see [`super::Retention`]), in one
    /// transaction, then truncates the write-ahead log:
    /// pending records undecided for `pending_max_ms` (with plate and photos; counted as expired); photos of decided
    /// records past `evidence_expires_unix_ms`; decided records and agent log entries older than `decision_log_ms`;
    /// paid sessions ended more than `session_margin_ms` ago.
    pub fn purge_expired(&mut self, now_unix_ms: i64) -> Result<PurgeReport> {
        let r = self.config.retention;
        let what = || "purging expired plate data".to_owned();
        let tx = write_transaction(&mut self.conn, &what())?;
        let mut report = PurgeReport::default();

        let expired: Vec<(i64, i64)> = tx
            .prepare_cached("select id, zone_id from precheck where state = 'pending' and queued_unix_ms <= ?")
            .and_then(|mut s| {
                s.query_map([now_unix_ms.saturating_sub(r.pending_max_ms)], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })?
                .collect()
            })
            .sql(what)?;
        let mut days: HashMap<i64, String> = HashMap::new();
        for (id, zone) in expired {
            tx.execute("delete from precheck where id = ?", [id]).sql(what)?;
            let day = match days.get(&zone) {
                Some(d) => d.clone(),
                None => {
                    let rules = zone_rules(&tx, ZoneId(zone))?;
                    let d = rules.local_date(now_unix_ms);
                    days.insert(zone, d.clone());
                    d
                }
            };
            bump(&tx, ZoneId(zone), &day, &[Counter::Expired])?;
            report.expired_pending += 1;
        }

        let due: Vec<i64> = tx
            .prepare_cached(
                "select id from precheck where state <> 'pending' and evidence_purged_unix_ms is null \
                 and evidence_expires_unix_ms <= ?",
            )
            .and_then(|mut s| s.query_map([now_unix_ms], |r| r.get(0))?.collect())
            .sql(what)?;
        for id in due {
            purge_evidence(&tx, PrecheckId(id), now_unix_ms)?;
            report.evidence_purged += 1;
        }

        let log_cutoff = now_unix_ms.saturating_sub(r.decision_log_ms);
        report.records_deleted = tx
            .execute(
                "delete from precheck where state <> 'pending' and decided_unix_ms <= ?1 \
                 and evidence_expires_unix_ms <= ?2",
                params![log_cutoff, now_unix_ms],
            )
            .sql(what)? as u64;
        report.log_entries_deleted = tx
            .execute("delete from agent_log where at_unix_ms <= ?", [log_cutoff])
            .sql(what)? as u64;
        report.sessions_deleted = tx
            .execute(
                "delete from paid_session where end_unix_ms <= ?",
                [now_unix_ms.saturating_sub(r.session_margin_ms)],
            )
            .sql(what)? as u64;
        tx.commit().sql(what)?;
        report.wal_truncated = self.truncate_wal()?;
        Ok(report)
    }

    /// Checks the whole database: `pragma integrity_check` (b-trees, indexes, CHECK and NOT NULL constraints) and
    /// `pragma foreign_key_check`. Any finding is a `Database` error.
    pub fn integrity_check(&self) -> Result<()> {
        let what = || "checking the plate database's integrity".to_owned();
        let found: Vec<String> = self
            .conn
            .prepare("pragma integrity_check")
            .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
            .sql(what)?;
        if found != ["ok"] {
            bail!(Database, "integrity check failed: {}", found.join("; "));
        }
        let dangling: i64 = self
            .conn
            .query_row("select count(*) from pragma_foreign_key_check", [], |r| r.get(0))
            .sql(what)?;
        if dangling > 0 {
            bail!(
                Database,
                "foreign key check failed: {dangling} rows refer to missing rows"
            );
        }
        Ok(())
    }
}

/// A non-negative integer column; a negative value is a conversion error, as for any out-of-range integer.
fn get_u64(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(i)?;
    u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v))
}

/// The rules of a zone, read inside a transaction.
fn zone_rules(tx: &Transaction, zone: ZoneId) -> Result<ZoneRules> {
    let what = || format!("reading the rules of zone {zone}");
    let (utc_offset_min, dst, grace_s): (i32, String, u32) = tx
        .query_row(
            "select utc_offset_min, dst_rule, grace_s from zone where id = ?",
            [zone.0],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .sql(what)?;
    let dst = DstRule::parse(&dst).ok_or_else(|| err!(Database, "zone {zone} has an unknown dst rule {dst:?}"))?;
    let paid_hours = tx
        .prepare_cached("select weekday, start_min, end_min from zone_paid_hours where zone_id = ?")
        .and_then(|mut s| {
            s.query_map([zone.0], |r| {
                Ok(PaidHours {
                    weekday: r.get(0)?,
                    start_min: r.get(1)?,
                    end_min: r.get(2)?,
                })
            })?
            .collect()
        })
        .sql(what)?;
    Ok(ZoneRules {
        utc_offset_min,
        dst,
        grace_s,
        paid_hours,
    })
}

#[allow(clippy::too_many_arguments)]
fn insert_session(
    tx: &Transaction,
    digest: &[u8; 32],
    zone: ZoneId,
    start_unix_ms: i64,
    end_unix_ms: i64,
    reference: Option<&str>,
    source: &str,
    now_unix_ms: i64,
) -> Result<SessionId> {
    tx.prepare_cached(
        "insert into paid_session (plate_digest, zone_id, start_unix_ms, end_unix_ms, reference, source, \
         received_unix_ms) values (?, ?, ?, ?, ?, ?, ?) \
         on conflict (reference) do update set plate_digest = excluded.plate_digest, zone_id = excluded.zone_id, \
         start_unix_ms = excluded.start_unix_ms, end_unix_ms = excluded.end_unix_ms, source = excluded.source, \
         received_unix_ms = excluded.received_unix_ms \
         returning id",
    )
    .and_then(|mut s| {
        s.query_row(
            params![
                digest.as_slice(),
                zone.0,
                start_unix_ms,
                end_unix_ms,
                reference,
                source,
                now_unix_ms
            ],
            |r| r.get(0),
        )
    })
    .map(SessionId)
    .sql(|| format!("storing a paid session in zone {zone}"))
}

fn insert_precheck(tx: &Transaction, obs: &Observation, zone: ZoneId, plate: &str) -> Result<PrecheckId> {
    let what = || format!("queuing a pre-check record in zone {zone}");
    tx.prepare_cached(
        "insert into precheck (zone_id, camera, plate, confidence, first_seen_unix_ms, queued_unix_ms, \
         last_seen_unix_ms, state) values (?1, ?2, ?3, ?4, ?5, ?6, ?6, 'pending')",
    )
    .and_then(|mut s| {
        s.execute(params![
            zone.0,
            obs.camera,
            plate,
            obs.confidence,
            obs.first_seen_unix_ms,
            obs.seen_unix_ms
        ])
    })
    .sql(what)?;
    let id = PrecheckId(tx.last_insert_rowid());
    for (i, c) in obs.evidence.iter().enumerate() {
        tx.prepare_cached("insert into evidence (precheck_id, idx, taken_unix_ms, jpeg) values (?, ?, ?, ?)")
            .and_then(|mut s| s.execute(params![id.0, i as i64, c.taken_unix_ms, c.jpeg]))
            .sql(what)?;
    }
    Ok(id)
}

/// Deletes a decided record's photos and records when.
fn purge_evidence(tx: &Transaction, id: PrecheckId, now_unix_ms: i64) -> Result<()> {
    let what = || format!("deleting the evidence of pre-check record {id}");
    tx.execute("delete from evidence where precheck_id = ?", [id.0])
        .sql(what)?;
    tx.execute(
        "update precheck set evidence_purged_unix_ms = ? where id = ?",
        params![now_unix_ms, id.0],
    )
    .sql(what)?;
    Ok(())
}
