//! Recording: cameras, the recording directory and its MP4 segments, their rows, gaps and camera states; the
//! durable commit of a segment and the start-up reconcile of rows and files.
//!
//! # Layout on disk
//! ```text
//! <root>/.lock                         held (flock) by the one process that records into <root>
//! <root>/<camera name>/<start_unix_ms>.mp4
//! ```
//! The relative path `<camera name>/<start_unix_ms>.mp4` is stored in `recording.relative_path`.
//!
//! # Durability
//! In Moonfire NVR's order: the muxer writes the file at [`RecordingDir::segment_path`] and fsyncs it;
//! [`Store::commit_segment`] fsyncs the file (again; cheap when clean) and its directory, and only then inserts the
//! row. A row therefore always has its file, whatever the crash; a file may lack its row (the process died while
//! the muxer wrote it, or between the fsyncs and the insert), and [`Store::reconcile`] deletes such orphans at
//! start-up. With `synchronous = NORMAL` a power loss may also take the last committed rows (never a file whose row
//! stays): their files become orphans, so a power loss loses the last segments, never the index's consistency.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, params};
use vigie_core::{Error, ErrorKind, Result, VideoCodec, bail, err};

use crate::{SqlResultExt, Store, get_u64, to_i64, unix_ms_now, write_transaction};

/// Longest camera name: the name is also a directory name.
pub const MAX_CAMERA_NAME_LEN: usize = 64;

/// Longest segment: one hour of media time (`recording.duration_90k`'s CHECK). Segments are about 60 s.
pub const MAX_SEGMENT_DURATION_90K: i64 = 90_000 * 3600;

/// The lock file in the recording directory's root.
pub const LOCK_FILE_NAME: &str = ".lock";

/// `recording.flags` bit: the row's file was not found by [`Store::reconcile`].
pub(crate) const FLAG_MISSING_FILE: i64 = 1;

/// True for a valid camera name: 1 to [`MAX_CAMERA_NAME_LEN`] ASCII letters, digits, `_` or `-`, not starting with
/// `-`. The name is the camera's directory name, so it can hold no `/` and no `.`. The same rule as the CHECK on
/// `camera.name`; a configuration check can call this.
pub fn is_valid_camera_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_CAMERA_NAME_LEN
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The id of a camera, `camera.id`. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CameraId(pub i64);

impl fmt::Display for CameraId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A camera as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Camera {
    pub id: CameraId,
    /// See [`is_valid_camera_name`].
    pub name: String,
    pub created_unix_ms: i64,
}

/// The id of a recorded segment, `recording.id`. Never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SegmentId(pub i64);

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A segment the muxer has written (and fsynced) at [`RecordingDir::segment_path`]`(camera, start_unix_ms)`, given
/// to [`Store::commit_segment`]. Its size is measured from the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewSegment {
    pub camera: CameraId,
    /// Wall-clock time of the first frame, >= 0; also the file's name.
    pub start_unix_ms: i64,
    /// Sum of the frames' durations, 90 (1 ms) ..= [`MAX_SEGMENT_DURATION_90K`].
    pub duration_90k: i64,
    /// > 0.
    pub frames: u32,
    pub codec: VideoCodec,
    /// Coded picture size, both > 0.
    pub width: u32,
    pub height: u32,
    /// SHA-256 of the file, when the muxer computed it.
    pub sha256: Option<[u8; 32]>,
}

/// A recorded segment as stored; see the `recording` columns in `schema.sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    pub id: SegmentId,
    pub camera: CameraId,
    pub start_unix_ms: i64,
    pub duration_90k: i64,
    pub frames: u32,
    /// Size of the file when it was committed.
    pub bytes: u64,
    pub codec: VideoCodec,
    pub width: u32,
    pub height: u32,
    /// `<camera name>/<start_unix_ms>.mp4`, relative to the recording directory.
    pub relative_path: String,
    pub sha256: Option<[u8; 32]>,
    /// [`Store::reconcile`] found no file for this row (flag `missing_file`).
    pub missing_file: bool,
}

impl Segment {
    /// Wall-clock end: `start_unix_ms + duration_90k / 90`, as the schema defines it.
    pub fn end_unix_ms(&self) -> i64 {
        self.start_unix_ms + self.duration_90k / 90
    }
}

/// A recording gap to store; see `recording_gap` in `schema.sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewGap {
    pub camera: CameraId,
    pub from_unix_ms: i64,
    /// After `from_unix_ms`.
    pub to_unix_ms: i64,
    /// Not empty, e.g. "stream stalled".
    pub reason: String,
}

/// A recording gap as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gap {
    pub id: i64,
    pub camera: CameraId,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    pub reason: String,
}

/// A camera's health state (`camera_state.state`), the type ingest reports.
pub use vigie_core::CameraState;

/// A change of a camera's state as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CameraStateRow {
    pub camera: CameraId,
    pub state: CameraState,
    pub at_unix_ms: i64,
    pub detail: Option<String>,
}

/// What [`Store::reconcile`] found and did. Paths are relative to the recording directory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Segment rows looked at.
    pub segments: u64,
    /// Files without a row, deleted (and logged as 'orphan' deletions), with their sizes.
    pub orphans_deleted: Vec<(String, u64)>,
    /// Rows whose file is missing: flagged `missing_file`, not deleted (those flagged before included).
    pub missing_files: Vec<String>,
    /// Rows flagged `missing_file` whose file is there again: the flag was cleared.
    pub files_back: Vec<String>,
    /// Entries left alone: names that are not a segment's, directories of no known camera.
    pub unknown: Vec<String>,
    /// Orphans that could not be deleted, with the error.
    pub failures: Vec<String>,
}

/// The recording directory: one subdirectory per camera, one MP4 file per segment. Held by one process at a time
/// (an advisory `flock` on `<root>/.lock`, released by the kernel when the process ends, however it ends).
#[derive(Debug)]
pub struct RecordingDir {
    root: PathBuf,
    /// Holds the lock while open.
    _lock: File,
}

impl RecordingDir {
    /// Opens the recording directory at `root`, creating it if needed, and takes its lock: a second `open` of the
    /// same directory, by this process or another, fails with an [`ErrorKind::Io`] error until this one is dropped.
    pub fn open(root: &Path) -> Result<RecordingDir> {
        fs::create_dir_all(root).map_err(|e| io_error("creating the recording directory", root, e))?;
        let lock_path = root.join(LOCK_FILE_NAME);
        let mut lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| io_error("opening the lock file", &lock_path, e))?;
        if !try_lock(&lock).map_err(|e| io_error("locking", &lock_path, e))? {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_owned()
            } else {
                format!("process {holder}")
            };
            bail!(
                Io,
                "the recording directory {root:?} is in use by {who} (it holds the lock on {lock_path:?})"
            );
        }
        // For the message above, in the next process that finds the directory locked.
        let _ = lock
            .set_len(0)
            .and_then(|()| lock.rewind())
            .and_then(|()| writeln!(lock, "{}", std::process::id()));
        // Camera directories created before a crash may not have been made durable then (see `segment_path`).
        sync_dir(root)?;
        Ok(RecordingDir {
            root: root.to_owned(),
            _lock: lock,
        })
    }

    /// The directory's root, as given to [`RecordingDir::open`].
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the segment of `camera` starting at `start_unix_ms` goes: `(relative, absolute)`, the relative path
    /// being `<camera>/<start_unix_ms>.mp4`. Creates the camera's directory when missing (and fsyncs the root, so
    /// that the directory outlives a power loss). The muxer writes the file there, then
    /// [`Store::commit_segment`] records it.
    ///
    /// An invalid camera name (see [`is_valid_camera_name`]) or a negative start is an
    /// [`ErrorKind::InvalidArgument`] error.
    pub fn segment_path(&self, camera: &str, start_unix_ms: i64) -> Result<(String, PathBuf)> {
        let relative = relative_path(camera, start_unix_ms)?;
        let dir = self.root.join(camera);
        match fs::create_dir(&dir) {
            Ok(()) => sync_dir(&self.root)?,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_error("creating the camera directory", &dir, e)),
        }
        let absolute = self.root.join(&relative);
        Ok((relative, absolute))
    }

    pub(crate) fn absolute(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// The entries of the root that are not the lock file: `(name, is a directory)`, sorted by name.
    pub(crate) fn root_entries(&self) -> Result<Vec<(String, bool)>> {
        let mut out = Vec::new();
        let rd = fs::read_dir(&self.root).map_err(|e| io_error("listing", &self.root, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| io_error("listing", &self.root, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == LOCK_FILE_NAME {
                continue;
            }
            let ft = entry
                .file_type()
                .map_err(|e| io_error("reading the type of", &entry.path(), e))?;
            out.push((name, ft.is_dir()));
        }
        out.sort();
        Ok(out)
    }

    /// The entries of a camera's directory: segment files (relative path → size) and the other entries (relative
    /// paths). A missing directory has none.
    pub(crate) fn scan_camera(&self, camera: &str) -> Result<CameraFiles> {
        let dir = self.root.join(camera);
        let mut files = CameraFiles::default();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(files),
            Err(e) => return Err(io_error("listing", &dir, e)),
        };
        for entry in rd {
            let entry = entry.map_err(|e| io_error("listing", &dir, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let relative = format!("{camera}/{name}");
            let ft = entry
                .file_type()
                .map_err(|e| io_error("reading the type of", &entry.path(), e))?;
            if ft.is_file() && parse_file_name(&name).is_some() {
                let len = entry
                    .metadata()
                    .map_err(|e| io_error("reading the size of", &entry.path(), e))?
                    .len();
                files.segments.insert(relative, len);
            } else {
                files.unknown.push(relative);
            }
        }
        files.unknown.sort();
        Ok(files)
    }
}

/// What a camera's directory holds; see [`RecordingDir::scan_camera`].
#[derive(Debug, Default)]
pub(crate) struct CameraFiles {
    pub segments: HashMap<String, u64>,
    pub unknown: Vec<String>,
}

/// [`is_valid_camera_name`] as an [`ErrorKind::InvalidArgument`] error saying what a name may hold.
pub(crate) fn check_camera_name(camera: &str) -> Result<()> {
    if !is_valid_camera_name(camera) {
        bail!(
            InvalidArgument,
            "{camera:?} is not a valid camera name: 1 to {MAX_CAMERA_NAME_LEN} ASCII letters, digits, '_' or '-', \
             not starting with '-'"
        );
    }
    Ok(())
}

/// `<camera>/<start_unix_ms>.mp4`, after checking both.
pub(crate) fn relative_path(camera: &str, start_unix_ms: i64) -> Result<String> {
    check_camera_name(camera)?;
    if start_unix_ms < 0 {
        bail!(
            InvalidArgument,
            "camera {camera}: segment start {start_unix_ms} unix ms is before 1970"
        );
    }
    Ok(format!("{camera}/{start_unix_ms}.mp4"))
}

/// The start of a segment file's name, `<start_unix_ms>.mp4` written as [`relative_path`] writes it (no sign, no
/// leading zero); `None` for any other name.
pub(crate) fn parse_file_name(name: &str) -> Option<i64> {
    let digits = name.strip_suffix(".mp4")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0'))
    {
        return None;
    }
    digits.parse().ok()
}

/// `(camera, start_unix_ms)` of a relative segment path, `None` unless it is exactly what [`relative_path`] gives:
/// the guard against deleting anything outside the recording directory on the word of a database row.
pub(crate) fn parse_relative_path(relative: &str) -> Option<(&str, i64)> {
    let (camera, file) = relative.split_once('/')?;
    if !is_valid_camera_name(camera) {
        return None;
    }
    Some((camera, parse_file_name(file)?))
}

/// An I/O error on `path`: [`ErrorKind::NotFound`] for a missing file, [`ErrorKind::Io`] otherwise, saying so when
/// the disk is full. The message is `"{op} {path:?}"`.
pub(crate) fn io_error(op: &str, path: &Path, e: io::Error) -> Error {
    let kind = match e.kind() {
        io::ErrorKind::NotFound => ErrorKind::NotFound,
        _ => ErrorKind::Io,
    };
    if e.kind() == io::ErrorKind::StorageFull {
        Error::wrap(kind, format!("{op} {path:?}: the disk is full"), e)
    } else {
        Error::wrap(kind, format!("{op} {path:?}"), e)
    }
}

/// fsyncs a directory: makes the entries created or removed in it durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("fsyncing the directory", dir, e))
}

/// Takes an exclusive `flock` on `file` without waiting: `Ok(false)` when another open file holds it.
#[cfg(unix)]
fn try_lock(file: &File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock takes a descriptor and flags and touches no memory; the descriptor is open for the call.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.kind() == io::ErrorKind::WouldBlock {
        Ok(false)
    } else {
        Err(e)
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &File) -> io::Result<bool> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "locking the recording directory needs flock (Unix)",
    ))
}

fn parse_codec(s: &str) -> Option<VideoCodec> {
    match s {
        "h264" => Some(VideoCodec::H264),
        "h265" => Some(VideoCodec::H265),
        _ => None,
    }
}

pub(crate) const SEGMENT_COLUMNS: &str = "id, camera_id, start_unix_ms, duration_90k, frames, bytes, codec, width, height, \
                               relative_path, sha256, flags";

pub(crate) fn segment_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Segment> {
    let codec: String = r.get(6)?;
    let codec = parse_codec(&codec).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(6, rusqlite::types::Type::Text, format!("codec {codec:?}").into())
    })?;
    let sha256: Option<Vec<u8>> = r.get(10)?;
    let sha256 = match sha256 {
        None => None,
        Some(v) => Some(<[u8; 32]>::try_from(v.as_slice()).map_err(|_| {
            rusqlite::Error::FromSqlConversionFailure(
                10,
                rusqlite::types::Type::Blob,
                format!("sha256 of {} bytes", v.len()).into(),
            )
        })?),
    };
    let flags: i64 = r.get(11)?;
    Ok(Segment {
        id: SegmentId(r.get(0)?),
        camera: CameraId(r.get(1)?),
        start_unix_ms: r.get(2)?,
        duration_90k: r.get(3)?,
        frames: r.get(4)?,
        bytes: get_u64(r, 5)?,
        codec,
        width: r.get(7)?,
        height: r.get(8)?,
        relative_path: r.get(9)?,
        sha256,
        missing_file: flags & FLAG_MISSING_FILE != 0,
    })
}

impl Store {
    /// The id of the camera named `name`, creating its row on first use. An invalid name (see
    /// [`is_valid_camera_name`]) is an [`ErrorKind::InvalidArgument`] error.
    pub fn ensure_camera(&mut self, name: &str) -> Result<CameraId> {
        check_camera_name(name)?;
        let what = || format!("recording camera {name:?}");
        let tx = write_transaction(&mut self.conn, &what())?;
        tx.execute(
            "insert into camera (name, created_unix_ms) values (?, ?) on conflict (name) do nothing",
            params![name, unix_ms_now()],
        )
        .sql(what)?;
        let id: i64 = tx
            .query_row("select id from camera where name = ?", [name], |r| r.get(0))
            .sql(what)?;
        tx.commit().sql(what)?;
        Ok(CameraId(id))
    }

    /// The id of the camera named `name`, `None` when it has no row.
    pub fn camera_id(&self, name: &str) -> Result<Option<CameraId>> {
        self.conn
            .query_row("select id from camera where name = ?", [name], |r| r.get(0))
            .optional()
            .map(|id| id.map(CameraId))
            .sql(|| format!("looking up camera {name:?}"))
    }

    /// All cameras, by id.
    pub fn cameras(&self) -> Result<Vec<Camera>> {
        let what = || "listing the cameras".to_owned();
        let mut stmt = self
            .conn
            .prepare_cached("select id, name, created_unix_ms from camera order by id")
            .sql(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Camera {
                    id: CameraId(r.get(0)?),
                    name: r.get(1)?,
                    created_unix_ms: r.get(2)?,
                })
            })
            .sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// The name of camera `id`; [`ErrorKind::NotFound`] when unknown.
    pub(crate) fn camera_name(&self, id: CameraId) -> Result<String> {
        self.conn
            .query_row("select name from camera where id = ?", [id.0], |r| r.get(0))
            .optional()
            .sql(|| format!("looking up camera {id}"))?
            .ok_or_else(|| err!(NotFound, "no camera {id} in the database"))
    }

    /// Records a segment the muxer has written at [`RecordingDir::segment_path`]: fsyncs the file and its
    /// directory, then inserts its row, in one transaction. Only then is the segment part of the recording.
    ///
    /// Errors name the file: [`ErrorKind::NotFound`] when it does not exist, [`ErrorKind::Io`] for an I/O failure
    /// or a full disk (the database's or the recording directory's), [`ErrorKind::InvalidData`] for an empty file,
    /// [`ErrorKind::InvalidArgument`] for invalid values or an unknown camera, [`ErrorKind::Database`] for a
    /// segment already recorded at that start. After an error no row exists; the file stays, and the next
    /// [`Store::reconcile`] deletes it unless a retry commits it.
    pub fn commit_segment(&mut self, dir: &RecordingDir, seg: &NewSegment) -> Result<Segment> {
        let camera = self.camera_name(seg.camera).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                err!(InvalidArgument, "committing a segment: {e}")
            } else {
                e
            }
        })?;
        let relative = relative_path(&camera, seg.start_unix_ms)?;
        let path = dir.absolute(&relative);
        check_new_segment(seg).map_err(|e| e.context(format!("committing segment {path:?}")))?;

        let file = File::open(&path).map_err(|e| io_error("opening the segment", &path, e))?;
        file.sync_all()
            .map_err(|e| io_error("fsyncing the segment", &path, e))?;
        let bytes = file
            .metadata()
            .map_err(|e| io_error("reading the size of the segment", &path, e))?
            .len();
        drop(file);
        if bytes == 0 {
            bail!(InvalidData, "committing segment {path:?}: the file is empty");
        }
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }

        let what = || format!("recording segment {path:?}");
        let bytes_i64 = to_i64(bytes, "segment size")?;
        let tx = write_transaction(&mut self.conn, &what())?;
        tx.execute(
            "insert into recording (camera_id, start_unix_ms, duration_90k, frames, bytes, codec, width, height, \
                                    relative_path, sha256) \
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                seg.camera.0,
                seg.start_unix_ms,
                seg.duration_90k,
                seg.frames,
                bytes_i64,
                seg.codec.as_str(),
                seg.width,
                seg.height,
                relative,
                seg.sha256.as_ref().map(|h| h.as_slice()),
            ],
        )
        .sql(what)?;
        let id = SegmentId(tx.last_insert_rowid());
        tx.commit().sql(what)?;
        Ok(Segment {
            id,
            camera: seg.camera,
            start_unix_ms: seg.start_unix_ms,
            duration_90k: seg.duration_90k,
            frames: seg.frames,
            bytes,
            codec: seg.codec,
            width: seg.width,
            height: seg.height,
            relative_path: relative,
            sha256: seg.sha256,
            missing_file: false,
        })
    }

    /// The segments of `camera` overlapping `[from_unix_ms, to_unix_ms)`, in time order.
    pub fn segments(&self, camera: CameraId, from_unix_ms: i64, to_unix_ms: i64) -> Result<Vec<Segment>> {
        let what = || format!("listing the segments of camera {camera}");
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "select {SEGMENT_COLUMNS} from recording \
                 where camera_id = ?1 and start_unix_ms < ?3 and start_unix_ms > ?2 - {max_ms} \
                   and start_unix_ms + duration_90k / 90 > ?2 \
                 order by start_unix_ms",
                max_ms = MAX_SEGMENT_DURATION_90K / 90
            ))
            .sql(what)?;
        let rows = stmt
            .query_map(params![camera.0, from_unix_ms, to_unix_ms], segment_from_row)
            .sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// All segments of `camera`, in time order.
    pub(crate) fn all_segments(&self, camera: CameraId) -> Result<Vec<Segment>> {
        let what = || format!("listing the segments of camera {camera}");
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "select {SEGMENT_COLUMNS} from recording where camera_id = ? order by start_unix_ms"
            ))
            .sql(what)?;
        let rows = stmt.query_map([camera.0], segment_from_row).sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// Bytes of `camera`'s recordings on disk: the sum of its segments' sizes, those flagged `missing_file`
    /// excepted.
    pub fn recording_bytes(&self, camera: CameraId) -> Result<u64> {
        let total: i64 = self
            .conn
            .query_row(
                "select coalesce(sum(bytes), 0) from recording where camera_id = ? and (flags & ?) = 0",
                params![camera.0, FLAG_MISSING_FILE],
                |r| r.get(0),
            )
            .sql(|| format!("summing the recording bytes of camera {camera}"))?;
        u64::try_from(total).map_err(|_| err!(Database, "camera {camera}: negative recording size {total}"))
    }

    /// Stores a recording gap and returns its id. [`ErrorKind::InvalidArgument`] for an empty reason, a gap that
    /// does not end after it starts, or an unknown camera.
    pub fn add_gap(&mut self, gap: &NewGap) -> Result<i64> {
        if gap.reason.is_empty() {
            bail!(InvalidArgument, "camera {}: a recording gap needs a reason", gap.camera);
        }
        if gap.to_unix_ms <= gap.from_unix_ms {
            bail!(
                InvalidArgument,
                "camera {}: recording gap from {} to {} unix ms does not end after it starts",
                gap.camera,
                gap.from_unix_ms,
                gap.to_unix_ms
            );
        }
        self.known_camera(gap.camera)?;
        self.conn
            .execute(
                "insert into recording_gap (camera_id, from_unix_ms, to_unix_ms, reason) values (?, ?, ?, ?)",
                params![gap.camera.0, gap.from_unix_ms, gap.to_unix_ms, gap.reason],
            )
            .sql(|| format!("recording a gap of camera {}", gap.camera))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The gaps of `camera` overlapping `[from_unix_ms, to_unix_ms)`, in time order.
    pub fn gaps(&self, camera: CameraId, from_unix_ms: i64, to_unix_ms: i64) -> Result<Vec<Gap>> {
        let what = || format!("listing the recording gaps of camera {camera}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "select id, from_unix_ms, to_unix_ms, reason from recording_gap \
                 where camera_id = ?1 and from_unix_ms < ?3 and to_unix_ms > ?2 order by from_unix_ms, id",
            )
            .sql(what)?;
        let rows = stmt
            .query_map(params![camera.0, from_unix_ms, to_unix_ms], |r| {
                Ok(Gap {
                    id: r.get(0)?,
                    camera,
                    from_unix_ms: r.get(1)?,
                    to_unix_ms: r.get(2)?,
                    reason: r.get(3)?,
                })
            })
            .sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// Records that `camera` entered `state` at `at_unix_ms`. An empty `detail` is stored as none.
    /// [`ErrorKind::InvalidArgument`] for an unknown camera.
    pub fn add_camera_state(
        &mut self,
        camera: CameraId,
        state: CameraState,
        at_unix_ms: i64,
        detail: Option<&str>,
    ) -> Result<()> {
        self.known_camera(camera)?;
        self.conn
            .execute(
                "insert into camera_state (camera_id, state, at_unix_ms, detail) values (?, ?, ?, ?)",
                params![camera.0, state.as_str(), at_unix_ms, detail.filter(|d| !d.is_empty())],
            )
            .sql(|| format!("recording state {state} of camera {camera}"))?;
        Ok(())
    }

    /// The last `limit` state changes of `camera`, newest first.
    pub fn camera_states(&self, camera: CameraId, limit: usize) -> Result<Vec<CameraStateRow>> {
        let what = || format!("listing the states of camera {camera}");
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached(
                "select state, at_unix_ms, detail from camera_state where camera_id = ? \
                 order by at_unix_ms desc, id desc limit ?",
            )
            .sql(what)?;
        let rows = stmt
            .query_map(params![camera.0, limit], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
            })
            .sql(what)?;
        let mut out = Vec::new();
        for row in rows {
            let (state, at_unix_ms, detail) = row.sql(what)?;
            let state =
                CameraState::parse(&state).ok_or_else(|| err!(Database, "camera {camera}: unknown state {state:?}"))?;
            out.push(CameraStateRow {
                camera,
                state,
                at_unix_ms,
                detail,
            });
        }
        Ok(out)
    }

    /// [`ErrorKind::InvalidArgument`] unless camera `id` exists.
    pub(crate) fn known_camera(&self, id: CameraId) -> Result<()> {
        match self.camera_name(id) {
            Err(e) if e.kind() == ErrorKind::NotFound => Err(err!(InvalidArgument, "{e}")),
            r => r.map(drop),
        }
    }

    /// Start-up reconcile of rows and files, before anything records into `dir`:
    /// - a segment file without a row (a segment cut short by a crash, or whose row a power loss took) is deleted
    ///   and the deletion logged in `retention_deletion` (reason 'orphan');
    /// - a row without its file is flagged `missing_file`, not deleted, and listed; a flagged row whose file is
    ///   back is unflagged;
    /// - anything else (other names, directories of no known camera) is listed and left alone.
    ///
    /// Database errors end it with an error; a file that cannot be deleted is listed in
    /// [`ReconcileReport::failures`] and the rest goes on.
    pub fn reconcile(&mut self, dir: &RecordingDir) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let cameras = self.cameras()?;
        let known: HashSet<&str> = cameras.iter().map(|c| c.name.as_str()).collect();
        for (name, is_dir) in dir.root_entries()? {
            if !is_dir || !known.contains(name.as_str()) {
                report.unknown.push(name);
            }
        }
        for camera in &cameras {
            self.reconcile_camera(dir, camera, &mut report)
                .map_err(|e| e.context(format!("reconciling the recordings of camera {}", camera.name)))?;
        }
        Ok(report)
    }

    fn reconcile_camera(&mut self, dir: &RecordingDir, camera: &Camera, report: &mut ReconcileReport) -> Result<()> {
        let rows = self.all_segments(camera.id)?;
        let mut files = dir.scan_camera(&camera.name)?;
        report.segments += rows.len() as u64;
        report.unknown.append(&mut files.unknown);
        let mut to_flag = Vec::new();
        let mut to_unflag = Vec::new();
        for row in &rows {
            let present = files.segments.remove(&row.relative_path).is_some();
            if !present {
                report.missing_files.push(row.relative_path.clone());
            }
            match (present, row.missing_file) {
                (true, true) => to_unflag.push(row),
                (false, false) => to_flag.push(row),
                _ => {}
            }
        }
        // What is left in `files` has no row: orphans.
        let mut orphans: Vec<(String, u64)> = files.segments.into_iter().collect();
        orphans.sort();
        let now = unix_ms_now();
        let mut deleted = Vec::new();
        for (relative, bytes) in orphans {
            let path = dir.absolute(&relative);
            match fs::remove_file(&path) {
                Ok(()) => deleted.push((relative, bytes)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => report.failures.push(io_error("deleting orphan", &path, e).to_string()),
            }
        }
        if to_flag.is_empty() && to_unflag.is_empty() && deleted.is_empty() {
            return Ok(());
        }
        let what = || "recording what was reconciled".to_owned();
        let tx = write_transaction(&mut self.conn, &what())?;
        for row in &to_flag {
            tx.execute(
                "update recording set flags = flags | ?1 where id = ?2",
                params![FLAG_MISSING_FILE, row.id.0],
            )
            .sql(what)?;
        }
        for row in &to_unflag {
            tx.execute(
                "update recording set flags = flags & ~?1 where id = ?2",
                params![FLAG_MISSING_FILE, row.id.0],
            )
            .sql(what)?;
        }
        for (relative, bytes) in &deleted {
            let start = parse_relative_path(relative).map_or(0, |(_, start)| start);
            tx.execute(
                "insert into retention_deletion (camera_id, recording_id, relative_path, start_unix_ms, end_unix_ms, \
                                                 bytes, reason, at_unix_ms) \
                 values (?, null, ?, ?, null, ?, 'orphan', ?)",
                params![camera.id.0, relative, start, to_i64(*bytes, "orphan size")?, now],
            )
            .sql(what)?;
        }
        tx.commit().sql(what)?;
        report
            .files_back
            .extend(to_unflag.iter().map(|r| r.relative_path.clone()));
        report.orphans_deleted.extend(deleted);
        Ok(())
    }
}

/// The checks of [`Store::commit_segment`] on its argument, as [`ErrorKind::InvalidArgument`] errors.
fn check_new_segment(seg: &NewSegment) -> Result<()> {
    if !(90..=MAX_SEGMENT_DURATION_90K).contains(&seg.duration_90k) {
        bail!(
            InvalidArgument,
            "duration {} (90 kHz) is not within 1 ms ..= 1 hour",
            seg.duration_90k
        );
    }
    if seg.frames == 0 {
        bail!(InvalidArgument, "a segment has at least one frame");
    }
    if seg.width == 0 || seg.height == 0 {
        bail!(InvalidArgument, "picture size {}x{} is empty", seg.width, seg.height);
    }
    Ok(())
}
