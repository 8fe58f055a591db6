//! Retention: deleting the oldest segments beyond an age or a size budget, legal holds that exempt a time range,
//! and the log of what was deleted.
//!
//! The law keeps recordings at most one month (CSI L252-5), except what a judicial request puts on hold; so the age
//! limit is 1 to [`MAX_RETENTION_DAYS`] days, a camera's policy may only lower the default, and a segment
//! overlapping an active legal hold is kept whatever its age or its camera's size.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;

use rusqlite::{OptionalExtension, params};
use vigie_core::{Result, bail, err};

use crate::recording::{
    CameraId, FLAG_MISSING_FILE, RecordingDir, SEGMENT_COLUMNS, Segment, SegmentId, io_error, parse_relative_path,
    segment_from_row,
};
use crate::{SqlResultExt, Store, to_i64, write_transaction};

/// The legal maximum age of a recording, in days (CSI L252-5: one month), and the default.
pub const MAX_RETENTION_DAYS: u32 = 30;

const DAY_MS: i64 = 86_400_000;

/// A segment (table `recording`) overlapping an active legal hold of its camera.
const HELD: &str = "exists (select 1 from legal_hold h \
                    where h.camera_id = recording.camera_id and h.released_unix_ms is null \
                      and h.from_unix_ms < recording.start_unix_ms + recording.duration_90k / 90 \
                      and h.to_unix_ms > recording.start_unix_ms)";

/// How long and how much to keep; see [`Store::apply_retention`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Keep segments this many days, 1 ..= [`MAX_RETENTION_DAYS`]. A segment goes once its start is older: no
    /// footage older than this is kept (beyond the time between two retention passes), at the cost of up to one
    /// segment's length of younger footage.
    pub max_age_days: u32,
    /// Keep at most this many bytes per camera (> 0), deleting the oldest segments first; `None`: no limit. Held
    /// segments (see [`Store::add_legal_hold`]) are outside the budget: a hold must never push the camera's
    /// current recording out.
    pub max_bytes_per_camera: Option<u64>,
    /// Per camera name, a lower limit than the defaults above (a higher one is refused).
    pub per_camera: BTreeMap<String, CameraRetention>,
}

impl Default for RetentionPolicy {
    /// The legal maximum, no size limit.
    fn default() -> Self {
        RetentionPolicy {
            max_age_days: MAX_RETENTION_DAYS,
            max_bytes_per_camera: None,
            per_camera: BTreeMap::new(),
        }
    }
}

/// One camera's override of the [`RetentionPolicy`] defaults: `None` keeps the default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CameraRetention {
    /// At most the policy's `max_age_days`.
    pub max_age_days: Option<u32>,
    /// At most the policy's `max_bytes_per_camera`, when that is set.
    pub max_bytes: Option<u64>,
}

impl RetentionPolicy {
    /// An `InvalidArgument` error for an age outside 1 ..= [`MAX_RETENTION_DAYS`] (above is the legal maximum), a
    /// size budget of 0, or a camera's override above the default.
    pub fn validate(&self) -> Result<()> {
        check_days(self.max_age_days).map_err(|e| e.context("retention max_age_days"))?;
        if self.max_bytes_per_camera == Some(0) {
            bail!(
                InvalidArgument,
                "retention max_bytes_per_camera is 0: nothing could be recorded"
            );
        }
        for (camera, o) in &self.per_camera {
            if let Some(days) = o.max_age_days {
                check_days(days).map_err(|e| e.context(format!("camera {camera}: retention max_age_days")))?;
                if days > self.max_age_days {
                    bail!(
                        InvalidArgument,
                        "camera {camera}: retention max_age_days {days} is above the default {}: a camera's \
                         policy can only lower it",
                        self.max_age_days
                    );
                }
            }
            match (o.max_bytes, self.max_bytes_per_camera) {
                (Some(0), _) => bail!(
                    InvalidArgument,
                    "camera {camera}: retention max_bytes is 0: nothing could be recorded"
                ),
                (Some(b), Some(default)) if b > default => bail!(
                    InvalidArgument,
                    "camera {camera}: retention max_bytes {b} is above the default {default}: a camera's policy can \
                     only lower it"
                ),
                _ => {}
            }
        }
        Ok(())
    }

    /// The limits for the camera named `camera`: `(max_age_days, max_bytes)`.
    pub fn for_camera(&self, camera: &str) -> (u32, Option<u64>) {
        let o = self.per_camera.get(camera).copied().unwrap_or_default();
        (
            o.max_age_days.unwrap_or(self.max_age_days),
            o.max_bytes.or(self.max_bytes_per_camera),
        )
    }
}

fn check_days(days: u32) -> Result<()> {
    if days == 0 {
        bail!(InvalidArgument, "0 days would delete every recording at once");
    }
    if days > MAX_RETENTION_DAYS {
        bail!(
            InvalidArgument,
            "{days} days is above the legal maximum of {MAX_RETENTION_DAYS} days (CSI L252-5): longer keeping takes \
             a legal hold"
        );
    }
    Ok(())
}

/// Why a segment file was deleted (`retention_deletion.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeletionReason {
    /// Older than the retention period.
    Age,
    /// Beyond the camera's size budget.
    Size,
    /// A file without a row, found by [`Store::reconcile`].
    Orphan,
}

impl DeletionReason {
    /// The value stored in `retention_deletion.reason`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeletionReason::Age => "age",
            DeletionReason::Size => "size",
            DeletionReason::Orphan => "orphan",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "age" => DeletionReason::Age,
            "size" => DeletionReason::Size,
            "orphan" => DeletionReason::Orphan,
            _ => return None,
        })
    }
}

impl fmt::Display for DeletionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A deleted segment file, as logged in `retention_deletion`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deletion {
    pub camera: CameraId,
    /// The deleted row; `None` for an orphan, which had none.
    pub segment: Option<SegmentId>,
    pub relative_path: String,
    pub start_unix_ms: i64,
    /// `None` for an orphan.
    pub end_unix_ms: Option<i64>,
    pub bytes: u64,
    pub reason: DeletionReason,
    pub at_unix_ms: i64,
}

/// What [`Store::apply_retention`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// The segments deleted, each logged in `retention_deletion`.
    pub deleted: Vec<Deletion>,
    /// Segments older than their camera's age limit and kept because an active legal hold overlaps them.
    pub held: u64,
    /// Segments that could not be deleted (the file could not be removed; a row whose path is not a segment
    /// path): kept, row and file, for the next pass.
    pub failures: Vec<String>,
    /// Evidence exports deleted because their case expired (see [`Store::expire_case_exports`]).
    pub expired_exports: Vec<crate::CaseExport>,
}

impl RetentionReport {
    /// Bytes freed (as recorded in the deleted rows).
    pub fn bytes_deleted(&self) -> u64 {
        self.deleted.iter().map(|d| d.bytes).sum()
    }
}

/// The id of a legal hold, `legal_hold.id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LegalHoldId(pub i64);

impl fmt::Display for LegalHoldId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A legal hold to place; see `legal_hold` in `schema.sql`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLegalHold {
    pub camera: CameraId,
    pub from_unix_ms: i64,
    /// After `from_unix_ms`.
    pub to_unix_ms: i64,
    /// The judicial request's reference; not blank.
    pub reference: String,
}

/// A legal hold as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegalHold {
    pub id: LegalHoldId,
    pub camera: CameraId,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    pub reference: String,
    pub created_unix_ms: i64,
    /// `None` while the hold is active.
    pub released_unix_ms: Option<i64>,
}

impl LegalHold {
    /// True until released: only active holds exempt segments from retention.
    pub fn is_active(&self) -> bool {
        self.released_unix_ms.is_none()
    }
}

impl Store {
    /// Applies `policy` at `now_unix_ms` to every camera, oldest segments first:
    /// 1. by age: every segment whose start is more than the camera's `max_age_days` before `now_unix_ms`;
    /// 2. by size: then, while the camera's segments outside any hold (and not flagged `missing_file`, which take
    ///    no space) total more than its `max_bytes`, the oldest of them.
    ///
    /// Segments overlapping an active legal hold of their camera are kept. Each deletion removes the file first,
    /// then, in one transaction, the row and a `retention_deletion` entry; a crash in between leaves a row without
    /// its file, which [`Store::reconcile`] flags and the next pass deletes. A file that cannot be removed is
    /// reported in [`RetentionReport::failures`] and the pass goes on; a database error ends it.
    ///
    /// An invalid policy (see [`RetentionPolicy::validate`], notably more than [`MAX_RETENTION_DAYS`]) is an
    /// `InvalidArgument` error, with nothing deleted.
    ///
    /// Then the evidence exports of expired cases go ([`Store::expire_case_exports`]): exports expire with their
    /// case (at most 3 years), in [`RetentionReport::expired_exports`].
    pub fn apply_retention(
        &mut self,
        dir: &RecordingDir,
        now_unix_ms: i64,
        policy: &RetentionPolicy,
    ) -> Result<RetentionReport> {
        policy.validate()?;
        let mut report = RetentionReport::default();
        for camera in self.cameras()? {
            let (days, max_bytes) = policy.for_camera(&camera.name);
            let cutoff = now_unix_ms.saturating_sub(i64::from(days) * DAY_MS);
            let what = || format!("applying retention to camera {}", camera.name);

            let old = self.query_segments(
                &format!("camera_id = ?1 and start_unix_ms < ?2 and not {HELD}"),
                params![camera.id.0, cutoff],
            )?;
            for seg in &old {
                self.delete_segment(dir, &camera.name, seg, DeletionReason::Age, now_unix_ms, &mut report)?;
            }
            let held: i64 = self
                .conn
                .query_row(
                    &format!("select count(*) from recording where camera_id = ?1 and start_unix_ms < ?2 and {HELD}"),
                    params![camera.id.0, cutoff],
                    |r| r.get(0),
                )
                .sql(what)?;
            report.held += held.max(0) as u64;

            let Some(max_bytes) = max_bytes else { continue };
            let candidates = self.query_segments(
                &format!("camera_id = ?1 and (flags & ?2) = 0 and not {HELD}"),
                params![camera.id.0, FLAG_MISSING_FILE],
            )?;
            let mut total: u64 = candidates.iter().map(|s| s.bytes).sum();
            for seg in &candidates {
                if total <= max_bytes {
                    break;
                }
                if self.delete_segment(dir, &camera.name, seg, DeletionReason::Size, now_unix_ms, &mut report)? {
                    total -= seg.bytes;
                }
            }
        }
        report.expired_exports = self.expire_case_exports(now_unix_ms, &mut report.failures)?;
        Ok(report)
    }

    /// Segments matching `condition` (on table `recording`), oldest first.
    fn query_segments(&self, condition: &str, args: impl rusqlite::Params) -> Result<Vec<Segment>> {
        let what = || "selecting segments for retention".to_owned();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "select {SEGMENT_COLUMNS} from recording where {condition} order by start_unix_ms"
            ))
            .sql(what)?;
        let rows = stmt.query_map(args, segment_from_row).sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }

    /// Deletes one segment, file then row, logging it; `Ok(false)` (with the reason in `report.failures`) when the
    /// file could not be removed or the row's path is not a segment path of `camera`.
    fn delete_segment(
        &mut self,
        dir: &RecordingDir,
        camera: &str,
        seg: &Segment,
        reason: DeletionReason,
        now_unix_ms: i64,
        report: &mut RetentionReport,
    ) -> Result<bool> {
        if !matches!(parse_relative_path(&seg.relative_path), Some((c, _)) if c == camera) {
            report.failures.push(format!(
                "segment {} of camera {camera}: {:?} is not one of the camera's segment paths; not deleted",
                seg.id, seg.relative_path
            ));
            return Ok(false);
        }
        let path = dir.absolute(&seg.relative_path);
        match fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {} // flagged missing, or a crash after the removal
            Err(e) => {
                report.failures.push(io_error("deleting segment", &path, e).to_string());
                return Ok(false);
            }
        }
        let what = || format!("recording the deletion of segment {path:?}");
        let tx = write_transaction(&mut self.conn, &what())?;
        tx.execute("delete from recording where id = ?", [seg.id.0]).sql(what)?;
        tx.execute(
            "insert into retention_deletion (camera_id, recording_id, relative_path, start_unix_ms, end_unix_ms, \
                                             bytes, reason, at_unix_ms) \
             values (?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                seg.camera.0,
                seg.id.0,
                seg.relative_path,
                seg.start_unix_ms,
                seg.end_unix_ms(),
                to_i64(seg.bytes, "segment size")?,
                reason.as_str(),
                now_unix_ms
            ],
        )
        .sql(what)?;
        tx.commit().sql(what)?;
        report.deleted.push(Deletion {
            camera: seg.camera,
            segment: Some(seg.id),
            relative_path: seg.relative_path.clone(),
            start_unix_ms: seg.start_unix_ms,
            end_unix_ms: Some(seg.end_unix_ms()),
            bytes: seg.bytes,
            reason,
            at_unix_ms: now_unix_ms,
        });
        Ok(true)
    }

    /// The deletion log of `camera` (`retention_deletion`), in the order the deletions happened.
    pub fn deletions(&self, camera: CameraId) -> Result<Vec<Deletion>> {
        let what = || format!("listing the deletions of camera {camera}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "select recording_id, relative_path, start_unix_ms, end_unix_ms, bytes, reason, at_unix_ms \
                 from retention_deletion where camera_id = ? order by id",
            )
            .sql(what)?;
        let rows = stmt
            .query_map([camera.0], |r| {
                Ok((
                    r.get::<_, Option<i64>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    crate::get_u64(r, 4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                ))
            })
            .sql(what)?;
        let mut out = Vec::new();
        for row in rows {
            let (segment, relative_path, start_unix_ms, end_unix_ms, bytes, reason, at_unix_ms) = row.sql(what)?;
            let reason = DeletionReason::parse(&reason)
                .ok_or_else(|| err!(Database, "camera {camera}: unknown deletion reason {reason:?}"))?;
            out.push(Deletion {
                camera,
                segment: segment.map(SegmentId),
                relative_path,
                start_unix_ms,
                end_unix_ms,
                bytes,
                reason,
                at_unix_ms,
            });
        }
        Ok(out)
    }

    /// Places a legal hold at `now_unix_ms` and returns its id. An `InvalidArgument` error for a blank reference,
    /// a range that does not end after it starts, or an unknown camera.
    pub fn add_legal_hold(&mut self, hold: &NewLegalHold, now_unix_ms: i64) -> Result<LegalHoldId> {
        if hold.reference.trim().is_empty() {
            bail!(
                InvalidArgument,
                "camera {}: a legal hold needs the request's reference",
                hold.camera
            );
        }
        if hold.to_unix_ms <= hold.from_unix_ms {
            bail!(
                InvalidArgument,
                "camera {}: legal hold from {} to {} unix ms does not end after it starts",
                hold.camera,
                hold.from_unix_ms,
                hold.to_unix_ms
            );
        }
        self.known_camera(hold.camera)?;
        self.conn
            .execute(
                "insert into legal_hold (camera_id, from_unix_ms, to_unix_ms, reference, created_unix_ms) \
                 values (?, ?, ?, ?, ?)",
                params![
                    hold.camera.0,
                    hold.from_unix_ms,
                    hold.to_unix_ms,
                    hold.reference,
                    now_unix_ms
                ],
            )
            .sql(|| format!("placing legal hold {:?} on camera {}", hold.reference, hold.camera))?;
        Ok(LegalHoldId(self.conn.last_insert_rowid()))
    }

    /// Releases a legal hold at `now_unix_ms`: its segments fall under retention again. A `NotFound` error for an
    /// unknown hold, `InvalidArgument` for one already released or a time before it was placed.
    pub fn release_legal_hold(&mut self, id: LegalHoldId, now_unix_ms: i64) -> Result<()> {
        let what = || format!("releasing legal hold {id}");
        let tx = write_transaction(&mut self.conn, &what())?;
        let row: Option<(i64, Option<i64>)> = tx
            .query_row(
                "select created_unix_ms, released_unix_ms from legal_hold where id = ?",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .sql(what)?;
        match row {
            None => bail!(NotFound, "no legal hold {id} in the database"),
            Some((_, Some(at))) => bail!(
                InvalidArgument,
                "legal hold {id} was already released (at {at} unix ms)"
            ),
            Some((created, None)) if now_unix_ms < created => bail!(
                InvalidArgument,
                "legal hold {id}: released at {now_unix_ms} unix ms, before it was placed ({created})"
            ),
            Some(_) => {}
        }
        tx.execute(
            "update legal_hold set released_unix_ms = ? where id = ?",
            params![now_unix_ms, id.0],
        )
        .sql(what)?;
        tx.commit().sql(what)
    }

    /// All legal holds, released ones included, by id.
    pub fn legal_holds(&self) -> Result<Vec<LegalHold>> {
        let what = || "listing the legal holds".to_owned();
        let mut stmt = self
            .conn
            .prepare_cached(
                "select id, camera_id, from_unix_ms, to_unix_ms, reference, created_unix_ms, released_unix_ms \
                 from legal_hold order by id",
            )
            .sql(what)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(LegalHold {
                    id: LegalHoldId(r.get(0)?),
                    camera: CameraId(r.get(1)?),
                    from_unix_ms: r.get(2)?,
                    to_unix_ms: r.get(3)?,
                    reference: r.get(4)?,
                    created_unix_ms: r.get(5)?,
                    released_unix_ms: r.get(6)?,
                })
            })
            .sql(what)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().sql(what)
    }
}
