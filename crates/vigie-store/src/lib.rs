//! Vigie storage: the SQLite schema, numbered migrations, batched writes of tracks and their boxes, and the
//! recording directory (MP4 segments, their index, retention, legal holds).
//!
//! This crate alone talks to SQLite and owns the recording files; the rest of Vigie sees [`Store`],
//! [`RecordingDir`] and plain Rust rows. The schema is `src/schema.sql`, commented column by column; `README.md`
//! explains its choices.
//!
//! # Use
//! ```no_run
//! # use vigie_store::*;
//! # fn f(summary: TrackSummary, boxes: Vec<(vigie_core::Time90k, vigie_core::BBox, f32)>) -> vigie_core::Result<()> {
//! let mut store = Store::open(std::path::Path::new("vigie.db"))?;
//! let run = store.begin_run(&NewRun {
//!     source: "entrance.mp4".into(),
//!     source_kind: SourceKind::File,
//!     started_unix_ms: 1_700_000_000_000,
//!     analysis_fps: 10.0,
//!     width: 1920,
//!     height: 1080,
//!     model: "nanodet.onnx sha256:...".into(),
//! })?;
//! let mut w = store.writer(run);
//! for (t, b, score) in boxes {
//!     w.push_box(summary.track_id, t, b, score)?; // as the tracker reports it, frame by frame
//! }
//! w.end_track(&summary)?; // when the tracker drops the track
//! w.finish()?; // writes what is still buffered
//! store.finish_run(run, &RunFinish { finished_unix_ms: 1_700_000_060_000, frames_decoded: 1500, frames_analysed: 600, wall_ms: 60_000 })?;
//! # Ok(()) }
//! ```
//!
//! # Recording
//! ```no_run
//! # use vigie_store::*;
//! # fn f(store: &mut Store) -> vigie_core::Result<()> {
//! let dir = RecordingDir::open(std::path::Path::new("/var/lib/vigie/recordings"))?; // locked for this process
//! let report = store.reconcile(&dir)?; // at start-up, before recording: orphans deleted, lost files flagged
//! let camera = store.ensure_camera("entrance")?;
//! let (_relative, path) = dir.segment_path("entrance", 1_700_000_000_000)?;
//! // ... the muxer writes and fsyncs `path` ...
//! let seg = store.commit_segment(&dir, &NewSegment {
//!     camera,
//!     start_unix_ms: 1_700_000_000_000,
//!     duration_90k: 60 * 90_000,
//!     frames: 1500,
//!     codec: vigie_core::VideoCodec::H264,
//!     width: 1280,
//!     height: 720,
//!     sha256: None,
//! })?;
//! store.apply_retention(&dir, 1_700_000_060_000, &RetentionPolicy::default())?; // every few minutes
//! # Ok(()) }
//! ```
//! See `recording.rs` for the durability argument, `retention.rs` for retention and legal holds, `check.rs` for
//! `vigie check`.
//!
//! # Errors
//! Every SQLite error becomes an [`ErrorKind::Database`] error whose message names the operation, except a full
//! disk (`SQLITE_FULL`), which is [`ErrorKind::Io`] saying so. Invalid values (non-finite floats, a score outside
//! 0..1, a track ending before it starts) are [`ErrorKind::InvalidArgument`] errors raised before anything reaches
//! SQLite; the schema's CHECK constraints refuse them again should anything get past.
//!
//! # Atomicity
//! Each call that writes is one transaction, and so is each batch of a [`TrackWriter`]: after a failure (a
//! constraint, a full disk, a crash) the database holds every batch committed before and nothing of the failed one.

use std::fmt;
use std::num::NonZeroU64;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};
use vigie_core::{BBox, Error, ErrorKind, Result, Time90k, TrackId, bail, err};

mod authorisation;
mod case_track;
mod check;
mod console;
mod events;
mod recording;
mod retention;
mod review;
mod synthetic;
mod upgrade;
mod writer;

#[cfg(test)]
mod recording_tests;
#[cfg(test)]
mod tests;

pub use authorisation::{
    AUTHORISABLE_TYPES, Accuracy, AccuracyRow, Authorisation, AuthorisationId, CameraAccuracy, MonthDeletions,
    MonthKind, MonthlyStats, NewAuthorisation, WeekTrend,
};
pub use case_track::CaseTrack;
pub use check::{CheckReport, OVERLAP_TOLERANCE_MS, Problem};
pub use console::{Decision, DecisionRow, EventFilter, EventView, NewUser, Role, SessionRow, UserRow};
pub use events::EventRow;
pub use recording::{
    Camera, CameraId, CameraState, CameraStateRow, Gap, LOCK_FILE_NAME, MAX_CAMERA_NAME_LEN, MAX_SEGMENT_DURATION_90K,
    NewGap, NewSegment, ReconcileReport, RecordingDir, Segment, SegmentId, is_valid_camera_name,
};
pub use retention::{
    CameraRetention, Deletion, DeletionReason, LegalHold, LegalHoldId, MAX_RETENTION_DAYS, NewLegalHold,
    RetentionPolicy, RetentionReport,
};
pub use review::{COLOUR_NAMES, Case, CaseExport, MAX_CASE_MS, NewCase, TrackHit, TrackQuery};
pub use synthetic::{SYNTHETIC_LINES, SYNTHETIC_ZONES, SyntheticSpec, synthetic_camera, synthetic_typical_queries};
pub use writer::{DEFAULT_BATCH_ROWS, TrackWriter};

/// The schema version this code writes: the version of `schema.sql`, and the one every older database is upgraded
/// to when opened.
pub const SCHEMA_VERSION: i64 = 9;

/// The full current schema, run on an empty database.
const SCHEMA_SQL: &str = include_str!("schema.sql");

/// How long a statement waits for another connection's lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The id of an analysis run, `analysis_run.id`. Never reused within a database.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(pub i64);

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a run analyses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// A video file, from its start to its end.
    File,
    /// One session of a live camera.
    Camera,
}

impl SourceKind {
    /// The value stored in `analysis_run.source_kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::File => "file",
            SourceKind::Camera => "camera",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "file" => Some(SourceKind::File),
            "camera" => Some(SourceKind::Camera),
            _ => None,
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run as it starts; see the `analysis_run` columns in `schema.sql`.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    /// The file path as given, or the camera's name (never a URL with credentials). Not empty.
    pub source: String,
    pub source_kind: SourceKind,
    pub started_unix_ms: i64,
    /// Frames per second sampled for analysis; 0 when every decoded frame is analysed. Finite, >= 0.
    pub analysis_fps: f64,
    /// Size of the decoded frames, the space boxes are in. Both > 0.
    pub width: u32,
    pub height: u32,
    /// The detector model: file name and SHA-256 of its content.
    pub model: String,
}

/// What a run's end records; see [`Store::finish_run`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunFinish {
    /// Not before the run's `started_unix_ms`.
    pub finished_unix_ms: i64,
    pub frames_decoded: u64,
    /// At most `frames_decoded`.
    pub frames_analysed: u64,
    /// Wall-clock duration of the analysis, >= 0.
    pub wall_ms: i64,
}

/// A run as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRow {
    pub id: RunId,
    pub source: String,
    pub source_kind: SourceKind,
    pub started_unix_ms: i64,
    pub analysis_fps: f64,
    pub width: u32,
    pub height: u32,
    pub model: String,
    /// `None` while the run is going on, or when it was interrupted before [`Store::finish_run`].
    pub finish: Option<RunFinish>,
}

/// The summary of an ended track, given to [`TrackWriter::end_track`] (defined in `vigie-core`).
pub use vigie_core::TrackSummary;

/// A track as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackRow {
    pub run: RunId,
    pub track_id: TrackId,
    /// `None` for an open track: boxes were written but the summary never came (the run was interrupted, or is
    /// still going on). The other fields of an open track are computed from its stored boxes.
    pub class: Option<String>,
    /// `None` for an open track and for tracks stored before schema version 2.
    pub class_confidence: Option<f32>,
    pub first: Time90k,
    pub last: Time90k,
    pub frames: u32,
    pub max_score: f32,
    pub best_box: BBox,
    pub best: Time90k,
}

impl TrackRow {
    /// True when the track's summary was never written (see [`TrackRow::class`]).
    pub fn is_open(&self) -> bool {
        self.class.is_none()
    }
}

/// One box of a track's trajectory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxRow {
    pub t: Time90k,
    pub bbox: BBox,
    pub score: f32,
}

/// The Vigie database: one SQLite connection. `Send`, so it can move to a writer thread.
pub struct Store {
    conn: Connection,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store").field("path", &self.conn.path()).finish()
    }
}

impl Store {
    /// Opens the database at `path`, creating it (from `schema.sql`) when the file is missing or empty, and
    /// upgrading it step by step, in one transaction, when an older Vigie wrote it.
    ///
    /// Errors name `path`: a file that is not a SQLite database or not a Vigie one, or a database of a newer schema
    /// version than [`SCHEMA_VERSION`], is an [`ErrorKind::Database`] error.
    pub fn open(path: &Path) -> Result<Store> {
        let what = || format!("opening database {path:?}");
        let conn = Connection::open(path).map_err(|e| sql_error(what(), e))?;
        Store::init(conn).map_err(|e| e.context(what()))
    }

    /// A fresh database in memory, for tests and dry runs.
    pub fn open_in_memory() -> Result<Store> {
        let what = || "opening an in-memory database".to_owned();
        let conn = Connection::open_in_memory().map_err(|e| sql_error(what(), e))?;
        Store::init(conn).map_err(|e| e.context(what()))
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .sql(|| "setting the busy timeout".into())?;
        // The first statement reads the file header: this is where "file is not a database" comes out.
        // WAL: readers (a report, the web UI) do not block the writer, and a commit is one append to the log.
        // An in-memory database answers "memory"; a file system without shared memory keeps the old mode: both
        // are fine, WAL is an optimisation here, not a correctness requirement.
        let _mode: String = conn
            .query_row("pragma journal_mode = wal", [], |r| r.get(0))
            .sql(|| "setting journal_mode = WAL".into())?;
        // With WAL, NORMAL syncs at checkpoints only: a power loss can lose the last commits, never corrupt.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .sql(|| "setting synchronous = NORMAL".into())?;
        upgrade::prepare(&mut conn)?;
        // SQLite leaves foreign keys off unless asked, per connection. Turned on only now: upgrades run with them
        // off and check them by hand (`pragma foreign_key_check`) before committing.
        conn.pragma_update(None, "foreign_keys", true)
            .sql(|| "setting foreign_keys = ON".into())?;
        Ok(Store { conn })
    }

    /// The database's schema version; [`SCHEMA_VERSION`] once opened.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("select schema_version from meta where id = 1", [], |r| r.get(0))
            .sql(|| "reading the schema version".into())
    }

    /// The random id drawn when the database was created (`meta.instance_uuid`).
    pub fn instance_uuid(&self) -> Result<String> {
        self.conn
            .query_row("select instance_uuid from meta where id = 1", [], |r| r.get(0))
            .sql(|| "reading the instance uuid".into())
    }

    /// Records the start of a run and returns its id.
    pub fn begin_run(&mut self, run: &NewRun) -> Result<RunId> {
        if run.source.is_empty() {
            bail!(InvalidArgument, "a run's source must not be empty");
        }
        if !(run.analysis_fps.is_finite() && run.analysis_fps >= 0.0) {
            bail!(
                InvalidArgument,
                "analysis fps {} of {:?} is not a finite number >= 0",
                run.analysis_fps,
                run.source
            );
        }
        if run.width == 0 || run.height == 0 {
            bail!(
                InvalidArgument,
                "frame size {}x{} of {:?} is empty",
                run.width,
                run.height,
                run.source
            );
        }
        self.conn
            .execute(
                "insert into analysis_run (source, source_kind, started_unix_ms, analysis_fps, width, height, model) \
                 values (?, ?, ?, ?, ?, ?, ?)",
                params![
                    run.source,
                    run.source_kind.as_str(),
                    run.started_unix_ms,
                    run.analysis_fps,
                    run.width,
                    run.height,
                    run.model
                ],
            )
            .sql(|| format!("recording the start of the run on {:?}", run.source))?;
        Ok(RunId(self.conn.last_insert_rowid()))
    }

    /// Records the end of a run and its totals. A run is finished once: finishing it again is an
    /// [`ErrorKind::InvalidArgument`] error, finishing an unknown run [`ErrorKind::NotFound`].
    pub fn finish_run(&mut self, run: RunId, fin: &RunFinish) -> Result<()> {
        let frames_decoded = to_i64(fin.frames_decoded, "frames_decoded")?;
        let frames_analysed = to_i64(fin.frames_analysed, "frames_analysed")?;
        if frames_analysed > frames_decoded {
            bail!(
                InvalidArgument,
                "run {run}: {frames_analysed} frames analysed is more than the {frames_decoded} decoded"
            );
        }
        if fin.wall_ms < 0 {
            bail!(InvalidArgument, "run {run}: negative wall time {} ms", fin.wall_ms);
        }
        let what = || format!("recording the end of run {run}");
        let tx = write_transaction(&mut self.conn, &what())?;
        let started: Option<(i64, Option<i64>)> = tx
            .query_row(
                "select started_unix_ms, finished_unix_ms from analysis_run where id = ?",
                [run.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .sql(what)?;
        match started {
            None => bail!(NotFound, "no run {run} in the database"),
            Some((_, Some(f))) => bail!(InvalidArgument, "run {run} is already finished (at {f} unix ms)"),
            Some((s, None)) if fin.finished_unix_ms < s => bail!(
                InvalidArgument,
                "run {run}: finished at {} unix ms, before it started ({s})",
                fin.finished_unix_ms
            ),
            Some(_) => {}
        }
        tx.execute(
            "update analysis_run set finished_unix_ms = ?, frames_decoded = ?, frames_analysed = ?, wall_ms = ? \
             where id = ?",
            params![
                fin.finished_unix_ms,
                frames_decoded,
                frames_analysed,
                fin.wall_ms,
                run.0
            ],
        )
        .sql(what)?;
        tx.commit().sql(what)
    }

    /// A batched writer of the tracks and boxes of `run`; see [`TrackWriter`].
    pub fn writer(&mut self, run: RunId) -> TrackWriter<'_> {
        TrackWriter::new(self, run)
    }

    /// All runs, oldest first.
    pub fn runs(&self) -> Result<Vec<RunRow>> {
        let what = || "listing the runs".to_owned();
        let mut stmt = self
            .conn
            .prepare_cached(
                "select id, source, source_kind, started_unix_ms, analysis_fps, width, height, model, \
                 finished_unix_ms, frames_decoded, frames_analysed, wall_ms from analysis_run order by id",
            )
            .sql(what)?;
        let rows = stmt
            .query_map([], |r| {
                let finished: Option<i64> = r.get(8)?;
                let finish = match finished {
                    None => None,
                    Some(finished_unix_ms) => Some(RunFinish {
                        finished_unix_ms,
                        frames_decoded: get_u64(r, 9)?,
                        frames_analysed: get_u64(r, 10)?,
                        wall_ms: r.get(11)?,
                    }),
                };
                Ok((
                    r.get::<_, String>(2)?,
                    RunRow {
                        id: RunId(r.get(0)?),
                        source: r.get(1)?,
                        source_kind: SourceKind::File, // set below
                        started_unix_ms: r.get(3)?,
                        analysis_fps: r.get(4)?,
                        width: r.get(5)?,
                        height: r.get(6)?,
                        model: r.get(7)?,
                        finish,
                    },
                ))
            })
            .sql(what)?;
        let mut out = Vec::new();
        for row in rows {
            let (kind, mut row) = row.sql(what)?;
            row.source_kind = SourceKind::parse(&kind)
                .ok_or_else(|| err!(Database, "run {} has an unknown source kind {kind:?}", row.id))?;
            out.push(row);
        }
        Ok(out)
    }

    /// The tracks of `run` in track id order, open ones included (see [`TrackRow::class`]). Empty for an unknown
    /// run.
    pub fn tracks(&self, run: RunId) -> Result<Vec<TrackRow>> {
        let what = || format!("listing the tracks of run {run}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "select track_id, class, class_confidence, first_90k, last_90k, frames, max_score, \
                 best_x1, best_y1, best_x2, best_y2, best_90k from track where run_id = ? order by track_id",
            )
            .sql(what)?;
        let rows = stmt
            .query_map([run.0], |r| {
                Ok(TrackRow {
                    run,
                    track_id: get_track_id(r, 0)?,
                    class: r.get(1)?,
                    class_confidence: r.get(2)?,
                    first: Time90k(r.get(3)?),
                    last: Time90k(r.get(4)?),
                    frames: r.get(5)?,
                    max_score: r.get(6)?,
                    best_box: BBox {
                        x1: r.get(7)?,
                        y1: r.get(8)?,
                        x2: r.get(9)?,
                        y2: r.get(10)?,
                    },
                    best: Time90k(r.get(11)?),
                })
            })
            .sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// The boxes of one track in time order. Empty for an unknown track.
    pub fn track_boxes(&self, run: RunId, track: TrackId) -> Result<Vec<BoxRow>> {
        let what = || format!("reading the boxes of track {track} of run {run}");
        let track_id = to_i64(track.get(), "track id")?;
        let mut stmt = self
            .conn
            .prepare_cached(
                "select t_90k, x1, y1, x2, y2, score from track_box where run_id = ? and track_id = ? order by t_90k",
            )
            .sql(what)?;
        let rows = stmt
            .query_map([run.0, track_id], |r| {
                Ok(BoxRow {
                    t: Time90k(r.get(0)?),
                    bbox: BBox {
                        x1: r.get(1)?,
                        y1: r.get(2)?,
                        x2: r.get(3)?,
                        y2: r.get(4)?,
                    },
                    score: r.get(5)?,
                })
            })
            .sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// Checks the whole database: `pragma integrity_check` (b-trees, indexes, CHECK and NOT NULL constraints) and
    /// `pragma foreign_key_check`. Any finding is an [`ErrorKind::Database`] error listing the first ones.
    pub fn integrity_check(&self) -> Result<()> {
        let (integrity, foreign_keys) = self.integrity_findings()?;
        if !integrity.is_empty() {
            bail!(Database, "integrity check failed: {}", integrity.join("; "));
        }
        if !foreign_keys.is_empty() {
            let n = foreign_keys.len();
            let shown: Vec<&str> = foreign_keys.iter().take(5).map(String::as_str).collect();
            bail!(Database, "foreign key check failed, {n} rows: {}", shown.join("; "));
        }
        Ok(())
    }

    /// The findings of `pragma integrity_check` (none when it answers "ok") and of `pragma foreign_key_check`.
    pub(crate) fn integrity_findings(&self) -> Result<(Vec<String>, Vec<String>)> {
        let what = || "checking the database's integrity".to_owned();
        let mut stmt = self.conn.prepare("pragma integrity_check").sql(what)?;
        let mut integrity = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .sql(what)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql(what)?;
        if integrity == ["ok"] {
            integrity.clear();
        }
        let what = || "checking the database's foreign keys".to_owned();
        let mut stmt = self.conn.prepare("pragma foreign_key_check").sql(what)?;
        let foreign_keys = stmt
            .query_map([], |r| {
                let table: String = r.get(0)?;
                let rowid: Option<i64> = r.get(1)?;
                let parent: String = r.get(2)?;
                Ok(match rowid {
                    Some(id) => format!("{table} row {id} refers to a missing {parent} row"),
                    None => format!("a {table} row refers to a missing {parent} row"),
                })
            })
            .sql(what)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql(what)?;
        Ok((integrity, foreign_keys))
    }
}

/// Maps a SQLite error to a Vigie error: [`ErrorKind::Io`] for a full disk or an OS-level I/O failure,
/// [`ErrorKind::Database`] for everything else. `op` says what was being done.
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

/// SQLite integers are i64: a larger u64 is an [`ErrorKind::InvalidArgument`] error naming `what`.
pub(crate) fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| err!(InvalidArgument, "{what} {v} does not fit in a SQLite integer"))
}

/// A non-negative integer column; a negative value is a conversion error, as for any out-of-range integer.
pub(crate) fn get_u64(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<u64> {
    let v: i64 = r.get(i)?;
    u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(i, v))
}

fn get_track_id(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<TrackId> {
    let v: i64 = r.get(i)?;
    u64::try_from(v)
        .ok()
        .and_then(NonZeroU64::new)
        .map(TrackId)
        .ok_or(rusqlite::Error::IntegralValueOutOfRange(i, v))
}

pub(crate) fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Begins an IMMEDIATE transaction: takes the write lock now (waiting up to the busy timeout) rather than at the
/// first write, where a lock upgrade can fail with "database is locked" without waiting.
pub(crate) fn write_transaction<'c>(conn: &'c mut Connection, op: &str) -> Result<rusqlite::Transaction<'c>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .sql(|| format!("{op}: beginning a transaction"))
}
