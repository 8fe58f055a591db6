//! [`Store::check`]: the database and the recording directory verified against each other, for `vigie check`.

use std::collections::HashSet;
use std::fmt;

use vigie_core::Result;

use crate::Store;
use crate::recording::RecordingDir;

/// Overlaps between consecutive segments of a camera up to this are not problems. A segment's start is the
/// reception time of its first frame and its length is media time, so network jitter and the drift between the
/// camera's clock and the host's make consecutive segments overlap by a few milliseconds; more means two
/// recorders on one camera or a jump of the wall clock.
pub const OVERLAP_TOLERANCE_MS: i64 = 500;

/// One problem found by [`Store::check`]. Paths are relative to the recording directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// A finding of `pragma integrity_check` or `pragma foreign_key_check`.
    Database { detail: String },
    /// A segment row without its file; `flagged` when [`Store::reconcile`] has already flagged it.
    MissingFile { path: String, flagged: bool },
    /// A segment file whose size is not the one recorded at commit (truncated or overwritten).
    SizeMismatch { path: String, recorded: u64, on_disk: u64 },
    /// A segment file without a row ([`Store::reconcile`] deletes these).
    OrphanFile { path: String, bytes: u64 },
    /// Something in the recording directory that is neither a segment file nor a camera's directory.
    UnknownEntry { path: String },
    /// A segment starting more than [`OVERLAP_TOLERANCE_MS`] before the end of an earlier one of its camera.
    Overlap {
        path: String,
        previous: String,
        overlap_ms: i64,
    },
}

impl Problem {
    /// The file the problem is about; `None` for a database finding.
    pub fn path(&self) -> Option<&str> {
        match self {
            Problem::Database { .. } => None,
            Problem::MissingFile { path, .. }
            | Problem::SizeMismatch { path, .. }
            | Problem::OrphanFile { path, .. }
            | Problem::UnknownEntry { path }
            | Problem::Overlap { path, .. } => Some(path),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Database { detail } => write!(f, "database: {detail}"),
            Problem::MissingFile { path, flagged } => {
                write!(f, "{path}: recorded, but the file is missing")?;
                if *flagged {
                    f.write_str(" (flagged)")?;
                }
                Ok(())
            }
            Problem::SizeMismatch {
                path,
                recorded,
                on_disk,
            } => write!(f, "{path}: {on_disk} bytes on disk, {recorded} recorded"),
            Problem::OrphanFile { path, bytes } => {
                write!(
                    f,
                    "{path}: a segment file of {bytes} bytes that is not recorded (orphan)"
                )
            }
            Problem::UnknownEntry { path } => write!(f, "{path}: not a segment file nor a camera's directory"),
            Problem::Overlap {
                path,
                previous,
                overlap_ms,
            } => write!(f, "{path}: starts {overlap_ms} ms before the end of {previous}"),
        }
    }
}

/// What [`Store::check`] looked at and found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Segment rows checked.
    pub segments: u64,
    /// Segment files found.
    pub files: u64,
    /// Every problem, database findings first, then camera by camera.
    pub problems: Vec<Problem>,
}

impl CheckReport {
    /// No problem found.
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl Store {
    /// Verifies the database and the recording directory, changing neither: SQLite's `integrity_check` and
    /// `foreign_key_check`; every segment row has its file, of the recorded size; no segment file lacks its row;
    /// nothing else in the directory; no two segments of a camera overlap (beyond [`OVERLAP_TOLERANCE_MS`]).
    ///
    /// Problems are in the report; an error means the check itself could not run (the database or a directory
    /// could not be read). Holding a [`RecordingDir`] means no recorder writes there meanwhile, so a segment being
    /// written is never taken for an orphan.
    pub fn check(&self, dir: &RecordingDir) -> Result<CheckReport> {
        let mut report = CheckReport::default();
        let (integrity, foreign_keys) = self.integrity_findings()?;
        report.problems.extend(
            integrity
                .into_iter()
                .chain(foreign_keys)
                .map(|detail| Problem::Database { detail }),
        );

        let cameras = self.cameras()?;
        let known: HashSet<&str> = cameras.iter().map(|c| c.name.as_str()).collect();
        for (name, is_dir) in dir.root_entries()? {
            if !is_dir || !known.contains(name.as_str()) {
                report.problems.push(Problem::UnknownEntry { path: name });
            }
        }
        for camera in &cameras {
            let rows = self.all_segments(camera.id)?;
            let mut files = dir.scan_camera(&camera.name)?;
            report.segments += rows.len() as u64;
            report.files += files.segments.len() as u64;
            // The latest end so far, and whose it is.
            let mut latest: Option<(i64, &str)> = None;
            for row in &rows {
                match files.segments.remove(&row.relative_path) {
                    None => report.problems.push(Problem::MissingFile {
                        path: row.relative_path.clone(),
                        flagged: row.missing_file,
                    }),
                    Some(on_disk) if on_disk != row.bytes => report.problems.push(Problem::SizeMismatch {
                        path: row.relative_path.clone(),
                        recorded: row.bytes,
                        on_disk,
                    }),
                    Some(_) => {}
                }
                if let Some((end, previous)) = latest
                    && end - row.start_unix_ms > OVERLAP_TOLERANCE_MS
                {
                    report.problems.push(Problem::Overlap {
                        path: row.relative_path.clone(),
                        previous: previous.to_owned(),
                        overlap_ms: end - row.start_unix_ms,
                    });
                }
                if latest.is_none_or(|(end, _)| row.end_unix_ms() > end) {
                    latest = Some((row.end_unix_ms(), &row.relative_path));
                }
            }
            let mut orphans: Vec<(String, u64)> = files.segments.into_iter().collect();
            orphans.sort();
            report.problems.extend(
                orphans
                    .into_iter()
                    .map(|(path, bytes)| Problem::OrphanFile { path, bytes }),
            );
            report
                .problems
                .extend(files.unknown.into_iter().map(|path| Problem::UnknownEntry { path }));
        }
        Ok(report)
    }
}
