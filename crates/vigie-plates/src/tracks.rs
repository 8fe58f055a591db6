//! [`TrackPlateStore`]: the plates read on vehicle tracks during `vigie analyze`, in a database file of their own.
//!
//! # What it is for, and what it is not
//! A later, case-gated search of recordings (issue 8: a judicial request, named cameras, a time window, every search
//! logged) must find "the vehicle with plate X" without reading every recording again. So each vehicle track of an
//! analysis run that got a plate keeps one row: the run and track ids, the camera, when the vehicle was in view,
//! the voted plate and the vote's confidence. No photo, no read other than the voted one.
//!
//! * **Apart from events.** Its own SQLite file (`pragma application_id` 'VPLR'), never the main database
//!   (`vigie-store`) nor the parking database ([`crate::parking`]), and no code joins it to either. The run and
//!   track ids are the only link to the main database's tracks; nothing refers to events.
//! * **Parking reads are not here.** A vehicle parked in a parking zone goes through the parking pre-check alone,
//!   whose rules delete the plate of a vehicle that paid at once (legal.md); writing it here as well would keep
//!   what the pre-check deletes. The caller leaves those tracks out.
//! * **No search here.** This module writes, lists one run (the run's own report), and deletes; the search by
//!   plate belongs to the case-gated search of issue 8.
//! * **Retention.** [`TrackPlateStore::purge_before`] deletes rows stored before a time (`vigie analyze` applies
//!   `plates.retention_days`, 30 by default: plate reads do not outlive the recordings they came from, which are
//!   kept at most a month). Deletion is real: `secure_delete`, write-ahead log truncated after each purge.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use vigie_core::{Result, bail, err};

use crate::parking::{SqlResultExt, sql_error, write_transaction};

/// `pragma application_id` of a track plate database: 'VPLR'. Any other SQLite file is refused.
pub const APPLICATION_ID: i32 = 0x5650_4C52;

/// The schema version this code writes.
pub const SCHEMA_VERSION: i64 = 1;

const SCHEMA_SQL: &str = "
-- Vigie's track plate database, version 1. Its own file: nothing here refers to another database but the run and
-- track ids of an analysis run, and nothing elsewhere refers to this one.
create table meta (
  id integer primary key check (id = 1),
  schema_version integer not null check (schema_version >= 1),
  created_unix_ms integer not null
) strict;

-- One vehicle track of one analysis run whose plate was read: the vote over the track's reads.
create table track_plate (
  -- The run and track ids of the main database (`vigie-store`): the key, and the only link.
  run_id integer not null,
  track_id integer not null check (track_id > 0),
  -- The camera (its configured name, or the video file's name).
  camera text not null check (camera <> ''),
  -- The voted track class (car, bus, truck, motorcycle).
  class text not null check (class <> ''),
  -- When the vehicle was in view: wall-clock time of its first and last box.
  first_seen_unix_ms integer not null,
  last_seen_unix_ms integer not null,
  -- The voted plate: upper-case letters and digits, no separators.
  plate text not null check (length(plate) between 2 and 10 and plate not glob '*[^A-Z0-9]*'),
  -- 'french_siv', 'french_fni' or 'eu'.
  format text not null check (format in ('french_siv', 'french_fni', 'eu')),
  -- The vote's confidence (`vigie_plates::vote`), 0..1, and how many reads and crops it came from.
  confidence real not null check (confidence between 0 and 1),
  reads integer not null check (reads >= 1),
  crops integer not null check (crops >= reads),
  -- When the row was written; the retention counts from it.
  stored_unix_ms integer not null,
  primary key (run_id, track_id),
  check (last_seen_unix_ms >= first_seen_unix_ms)
) strict;

create index track_plate_by_stored on track_plate (stored_unix_ms);
";

/// Indexes added to schema version 1 without changing its tables: created by [`TrackPlateStore::open`] on a new
/// database and on one made before them (`if not exists`), so no upgrade step is needed.
const INDEXES_SQL: &str = "
-- The case-gated plate search: one range per camera of the case over the window's start (a vehicle seen for
-- more than a day is not a parked car's plate read); the plate glob is then checked on those rows only.
create index if not exists track_plate_by_camera_time on track_plate (camera, first_seen_unix_ms);
";

/// The longest a vehicle is taken to stay in view for the plate search's time range (a day).
const MAX_IN_VIEW_MS: i64 = 24 * 3600 * 1000;

/// The `format` column of a plate: schema version 1 knows the French formats and `eu`; a Slovak plate (standard or
/// personalised) is an EU plate there (the text says which; no schema change for a label).
fn stored_format(f: crate::PlateFormat) -> &'static str {
    match f {
        crate::PlateFormat::FrenchSiv | crate::PlateFormat::FrenchFni | crate::PlateFormat::Eu => f.as_str(),
        crate::PlateFormat::SlovakStandard | crate::PlateFormat::SlovakPersonal => crate::PlateFormat::Eu.as_str(),
    }
}

/// One vehicle track's plate, as stored.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackPlate {
    pub run_id: i64,
    pub track_id: u64,
    pub camera: String,
    pub class: String,
    pub first_seen_unix_ms: i64,
    pub last_seen_unix_ms: i64,
    /// Normalised: upper-case letters and digits.
    pub plate: String,
    pub format: crate::PlateFormat,
    pub confidence: f32,
    pub reads: u32,
    pub crops: u32,
}

/// The track plate database: one connection.
pub struct TrackPlateStore {
    conn: Connection,
}

impl std::fmt::Debug for TrackPlateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackPlateStore")
            .field("path", &self.conn.path())
            .finish_non_exhaustive()
    }
}

impl TrackPlateStore {
    /// Opens the database at `path`, creating it when missing or empty. Refuses (naming `path`) a file that is not
    /// a SQLite database, a SQLite database that is not a track plate database (the main database and the parking
    /// database included), and a newer schema.
    pub fn open(path: &Path, now_unix_ms: i64) -> Result<TrackPlateStore> {
        let what = || format!("opening track plate database {path:?}");
        let conn = Connection::open(path).map_err(|e| sql_error(what(), e))?;
        Self::init(conn, now_unix_ms).map_err(|e| e.context(what()))
    }

    /// A fresh database in memory, for tests.
    pub fn open_in_memory(now_unix_ms: i64) -> Result<TrackPlateStore> {
        let conn = Connection::open_in_memory().map_err(|e| sql_error("opening an in-memory database".into(), e))?;
        Self::init(conn, now_unix_ms)
    }

    fn init(mut conn: Connection, now_unix_ms: i64) -> Result<TrackPlateStore> {
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .sql(|| "setting the busy timeout".into())?;
        let secure: i64 = conn
            .query_row("pragma secure_delete = on", [], |r| r.get(0))
            .sql(|| "setting secure_delete = ON".into())?;
        if secure != 1 {
            bail!(
                Database,
                "SQLite refused secure_delete = ON: deletions would not be real"
            );
        }
        conn.pragma_update(None, "temp_store", "MEMORY")
            .sql(|| "setting temp_store = MEMORY".into())?;
        let _mode: String = conn
            .query_row("pragma journal_mode = wal", [], |r| r.get(0))
            .sql(|| "setting journal_mode = WAL".into())?;
        let tx = write_transaction(&mut conn, "preparing the schema")?;
        let objects: i64 = tx
            .query_row("select count(*) from sqlite_master", [], |r| r.get(0))
            .sql(|| "reading the schema".into())?;
        if objects == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)
                .sql(|| "setting the application id".into())?;
            tx.execute_batch(SCHEMA_SQL).sql(|| "creating the schema".into())?;
            tx.execute(
                "insert into meta (id, schema_version, created_unix_ms) values (1, ?, ?)",
                params![SCHEMA_VERSION, now_unix_ms],
            )
            .sql(|| "writing the meta row".into())?;
            tx.commit().sql(|| "committing the new schema".into())?;
        } else {
            let app_id: i64 = tx
                .query_row("pragma application_id", [], |r| r.get(0))
                .sql(|| "reading the application id".into())?;
            if app_id != i64::from(APPLICATION_ID) {
                bail!(
                    Database,
                    "not a Vigie track plate database (application id {app_id:#x}, expected {APPLICATION_ID:#x})"
                );
            }
            let version: i64 = tx
                .query_row("select schema_version from meta where id = 1", [], |r| r.get(0))
                .optional()
                .sql(|| "reading the meta row".into())?
                .ok_or_else(|| err!(Database, "a damaged track plate database: its meta table has no row"))?;
            if version != SCHEMA_VERSION {
                bail!(
                    Database,
                    "the track plate database is at schema version {version}; this Vigie knows version \
                     {SCHEMA_VERSION} only"
                );
            }
            drop(tx); // rolls back an empty transaction
        }
        conn.execute_batch(INDEXES_SQL).sql(|| "creating the indexes".into())?;
        Ok(TrackPlateStore { conn })
    }

    /// Stores (or replaces) a track's plate.
    ///
    /// Errors: `InvalidArgument` for a plate that is not 2 to 10 upper-case letters and digits, a confidence outside
    /// 0..1, no read, or a last-seen time before the first-seen one; nothing is stored.
    pub fn save(&mut self, p: &TrackPlate, now_unix_ms: i64) -> Result<()> {
        if !(2..=10).contains(&p.plate.len()) || !p.plate.bytes().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        {
            bail!(
                InvalidArgument,
                "track {}: a plate is 2 to 10 upper-case letters and digits",
                p.track_id
            );
        }
        if !(p.confidence.is_finite() && (0.0..=1.0).contains(&p.confidence)) {
            bail!(
                InvalidArgument,
                "track {}: confidence {} is not between 0 and 1",
                p.track_id,
                p.confidence
            );
        }
        if p.reads == 0 || p.crops < p.reads || p.last_seen_unix_ms < p.first_seen_unix_ms || p.track_id == 0 {
            bail!(
                InvalidArgument,
                "track {}: needs a read, at least as many crops as reads, and first seen <= last seen",
                p.track_id
            );
        }
        let track_id = i64::try_from(p.track_id).map_err(|_| err!(InvalidArgument, "track id out of range"))?;
        self.conn
            .prepare_cached(
                "insert or replace into track_plate (run_id, track_id, camera, class, first_seen_unix_ms, \
                 last_seen_unix_ms, plate, format, confidence, reads, crops, stored_unix_ms) \
                 values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .and_then(|mut s| {
                s.execute(params![
                    p.run_id,
                    track_id,
                    p.camera,
                    p.class,
                    p.first_seen_unix_ms,
                    p.last_seen_unix_ms,
                    p.plate,
                    stored_format(p.format),
                    p.confidence,
                    p.reads,
                    p.crops,
                    now_unix_ms
                ])
            })
            .sql(|| format!("storing the plate of track {} of run {}", p.track_id, p.run_id))?;
        Ok(())
    }

    /// The plates of one run, by track id (the run's own report).
    pub fn run(&self, run_id: i64) -> Result<Vec<TrackPlate>> {
        self.conn
            .prepare_cached(
                "select track_id, camera, class, first_seen_unix_ms, last_seen_unix_ms, plate, format, confidence, \
                 reads, crops from track_plate where run_id = ? order by track_id",
            )
            .and_then(|mut s| s.query_map([run_id], |r| row_of(run_id, r, 0))?.collect())
            .sql(|| format!("listing the plates of run {run_id}"))
    }

    /// The plates matching `pattern` (letters and digits, `*` for any run of characters, `?` for one; case and
    /// separators ignored) seen on one of `cameras` between `from_unix_ms` and `to_unix_ms`: the case-gated plate
    /// search of issue 8. The caller checks the case and the role; this only searches. At most 1000, in time order.
    /// A vehicle first seen more than a day before `from_unix_ms` is not found (the time index's bound).
    pub fn find(
        &self,
        pattern: &str,
        cameras: &[String],
        from_unix_ms: i64,
        to_unix_ms: i64,
    ) -> Result<Vec<TrackPlate>> {
        let glob = plate_glob(pattern)?;
        let cams = serde_json::to_string(cameras).map_err(|e| err!(Internal, "serialising cameras: {e}"))?;
        // `first_seen > from - MAX_IN_VIEW_MS` bounds the index range; `last_seen >= from` is the exact overlap.
        self.conn
            .prepare_cached(
                "select run_id, track_id, camera, class, first_seen_unix_ms, last_seen_unix_ms, plate, format, \
                 confidence, reads, crops from track_plate where camera in (select value from json_each(?2)) \
                 and first_seen_unix_ms < ?3 and first_seen_unix_ms > ?5 and last_seen_unix_ms >= ?4 \
                 and plate glob ?1 order by first_seen_unix_ms, run_id, track_id limit 1000",
            )
            .and_then(|mut s| {
                s.query_map(
                    rusqlite::params![
                        glob,
                        cams,
                        to_unix_ms,
                        from_unix_ms,
                        from_unix_ms.saturating_sub(MAX_IN_VIEW_MS)
                    ],
                    |r| row_of(r.get(0)?, r, 1),
                )?
                .collect()
            })
            .sql(|| format!("searching plates {pattern:?}"))
    }

    /// Deletes every row stored before `cutoff_unix_ms`, then truncates the write-ahead log; returns how many.
    pub fn purge_before(&mut self, cutoff_unix_ms: i64) -> Result<u64> {
        let n = self
            .conn
            .execute("delete from track_plate where stored_unix_ms < ?", [cutoff_unix_ms])
            .sql(|| "purging old track plates".into())?;
        if n > 0 {
            self.conn
                .query_row("pragma wal_checkpoint(truncate)", [], |r| r.get::<_, i64>(0))
                .sql(|| "truncating the write-ahead log".into())?;
        }
        Ok(n as u64)
    }
}

/// A [`TrackPlate`] of run `run_id` from row `r`, whose columns from `at` are track_id, camera, class,
/// first_seen_unix_ms, last_seen_unix_ms, plate, format, confidence, reads, crops.
fn row_of(run_id: i64, r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<TrackPlate> {
    let format: String = r.get(at + 6)?;
    let track_id: i64 = r.get(at)?;
    Ok(TrackPlate {
        run_id,
        track_id: u64::try_from(track_id).unwrap_or(0),
        camera: r.get(at + 1)?,
        class: r.get(at + 2)?,
        first_seen_unix_ms: r.get(at + 3)?,
        last_seen_unix_ms: r.get(at + 4)?,
        plate: r.get(at + 5)?,
        format: crate::PlateFormat::from_name(&format),
        confidence: r.get(at + 7)?,
        reads: r.get(at + 8)?,
        crops: r.get(at + 9)?,
    })
}

/// A user's plate pattern as a SQLite GLOB: upper-cased, separators (space, '-', '.') dropped, `*` and `?` kept;
/// anything else (GLOB's `[`, `]`) refused, as is a pattern with no letter or digit.
pub fn plate_glob(pattern: &str) -> Result<String> {
    let mut g = String::new();
    for c in pattern.chars() {
        match c {
            ' ' | '-' | '.' => {}
            '*' | '?' => g.push(c),
            c if c.is_ascii_alphanumeric() => g.push(c.to_ascii_uppercase()),
            _ => bail!(
                InvalidArgument,
                "plate pattern {pattern:?}: only letters, digits, * and ?"
            ),
        }
    }
    if !g.chars().any(|c| c.is_ascii_alphanumeric()) || g.len() > 20 {
        bail!(
            InvalidArgument,
            "plate pattern {pattern:?}: at least one letter or digit, at most 20 characters"
        );
    }
    Ok(g)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plate(track_id: u64, text: &str) -> TrackPlate {
        TrackPlate {
            run_id: 7,
            track_id,
            camera: "cam".into(),
            class: "car".into(),
            first_seen_unix_ms: 1_800_000_000_000,
            last_seen_unix_ms: 1_800_000_004_000,
            plate: text.into(),
            format: crate::PlateFormat::Eu,
            confidence: 0.9,
            reads: 3,
            crops: 4,
        }
    }

    #[test]
    fn find_with_wildcards_inside_cameras_and_window() {
        let mut s = TrackPlateStore::open_in_memory(1).unwrap();
        s.save(&plate(1, "PP587AO"), 100).unwrap();
        s.save(&plate(2, "RK755AJ"), 100).unwrap();
        let cams = vec!["cam".to_string()];
        let (from, to) = (1_800_000_000_000, 1_800_000_010_000);
        let ids = |p: &str| {
            s.find(p, &cams, from, to)
                .unwrap()
                .iter()
                .map(|p| p.track_id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids("PP587AO"), [1]);
        assert_eq!(ids("pp-587 ao"), [1]);
        assert_eq!(ids("RK*"), [2]);
        assert_eq!(ids("??5*"), [1]);
        assert_eq!(ids("*7*"), [1, 2]);
        assert!(ids("XX*").is_empty());
        assert!(
            s.find("PP*", &["other".into()], from, to).unwrap().is_empty(),
            "camera outside"
        );
        assert!(s.find("PP*", &cams, to, to + 1).unwrap().is_empty(), "window outside");
        assert!(s.find("[A-Z]*", &cams, from, to).is_err());
        assert!(s.find("**", &cams, from, to).is_err());
        // The search walks the camera and time index, never the whole table.
        let plan: Vec<String> = s
            .conn
            .prepare(
                "explain query plan select run_id from track_plate where camera in (select value from \
                 json_each('[\"cam\"]')) and first_seen_unix_ms < 2 and first_seen_unix_ms > 1 \
                 and last_seen_unix_ms >= 1 and plate glob 'A*'",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(
            plan.iter().any(|l| l.contains("track_plate_by_camera_time")),
            "{plan:?}"
        );
    }

    #[test]
    fn save_list_replace_purge() {
        let mut s = TrackPlateStore::open_in_memory(1).unwrap();
        s.save(&plate(2, "RK755AJ"), 100).unwrap();
        s.save(&plate(1, "PP587AO"), 200).unwrap();
        let mut again = plate(2, "RK755AJ");
        again.confidence = 0.95;
        s.save(&again, 100).unwrap();
        let v = s.run(7).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].track_id, v[0].plate.as_str()), (1, "PP587AO"));
        assert_eq!(v[1], again);
        assert!(s.run(8).unwrap().is_empty());
        assert_eq!(s.purge_before(150).unwrap(), 1);
        assert_eq!(s.run(7).unwrap().len(), 1);
    }

    #[test]
    fn slovak_plates_are_stored_as_eu() {
        let mut s = TrackPlateStore::open_in_memory(1).unwrap();
        let mut p = plate(1, "KMBORAK");
        p.format = crate::PlateFormat::SlovakPersonal;
        s.save(&p, 100).unwrap();
        let mut q = plate(2, "RK340AO");
        q.format = crate::PlateFormat::SlovakStandard;
        s.save(&q, 100).unwrap();
        let v = s.run(7).unwrap();
        assert_eq!((v[0].plate.as_str(), v[0].format), ("KMBORAK", crate::PlateFormat::Eu));
        assert_eq!((v[1].plate.as_str(), v[1].format), ("RK340AO", crate::PlateFormat::Eu));
    }

    #[test]
    fn bad_rows_are_refused() {
        let mut s = TrackPlateStore::open_in_memory(1).unwrap();
        for f in [
            (|p: &mut TrackPlate| p.plate = "rk755aj".into()) as fn(&mut TrackPlate),
            |p| p.plate = "R".into(),
            |p| p.plate = "RK-755".into(),
            |p| p.confidence = 1.5,
            |p| p.confidence = f32::NAN,
            |p| p.reads = 0,
            |p| p.crops = 1,
            |p| p.last_seen_unix_ms = 0,
            |p| p.track_id = 0,
        ] {
            let mut p = plate(3, "RK755AJ");
            f(&mut p);
            let e = s.save(&p, 1).unwrap_err();
            assert_eq!(e.kind(), vigie_core::ErrorKind::InvalidArgument, "{e}");
        }
        assert!(s.run(7).unwrap().is_empty());
    }

    #[test]
    fn other_sqlite_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("vigie-track-plates-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let other = dir.join("other.db");
        let c = Connection::open(&other).unwrap();
        c.execute_batch("create table t (x integer)").unwrap();
        drop(c);
        let e = TrackPlateStore::open(&other, 1).unwrap_err();
        assert_eq!(e.kind(), vigie_core::ErrorKind::Database, "{e}");
        // A parking database is not a track plate database either, and the other way round.
        let parking = dir.join("parking.db");
        let key = crate::parking::PlateKey::from_bytes([7; 32]);
        drop(crate::parking::ParkingStore::open(&parking, key.clone(), Default::default(), 1).unwrap());
        assert!(TrackPlateStore::open(&parking, 1).is_err());
        let tracks = dir.join("plates.db");
        drop(TrackPlateStore::open(&tracks, 1).unwrap());
        assert!(TrackPlateStore::open(&tracks, 2).is_ok(), "reopens");
        assert!(crate::parking::ParkingStore::open(&tracks, key, Default::default(), 1).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
