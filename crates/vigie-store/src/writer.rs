//! [`TrackWriter`]: batched writes of a run's boxes and track summaries.

use std::collections::{BTreeMap, HashMap, HashSet};

use rusqlite::{Connection, params};
use vigie_core::{BBox, Result, Time90k, TrackId, bail};

use crate::{RunId, SqlResultExt, Store, TrackSummary, to_i64, write_transaction};

/// Rows (boxes plus summaries) a [`TrackWriter`] buffers before it writes them, by default. At 10 analysed frames
/// a second and 20 tracked objects, a batch every 10 s of media: few enough commits to cost nothing, few enough
/// rows to lose at a crash.
pub const DEFAULT_BATCH_ROWS: usize = 2000;

/// Batched writer of one run's tracks: buffers rows and writes them in one transaction every `batch` rows (default
/// [`DEFAULT_BATCH_ROWS`]) and on [`flush`](TrackWriter::flush) / [`finish`](TrackWriter::finish).
///
/// Feed it as the tracker goes: [`push_box`](TrackWriter::push_box) for each tracked object in each frame (times
/// strictly increasing per track), then [`end_track`](TrackWriter::end_track) once when the track ends; no box of
/// that track may follow.
///
/// # Foreign keys
/// A box refers to its track row (`track_box` → `track`), but a track's summary is only known when it ends, and its
/// boxes routinely span several batches before that. Deferring the foreign key (`DEFERRABLE INITIALLY DEFERRED` or
/// `pragma defer_foreign_keys`) would not help: a deferred key is still checked at the commit of each batch. So
/// each batch writes track rows first, then boxes:
/// 1. the summaries of the tracks that ended (replacing any open row of theirs);
/// 2. for the other tracks with boxes in the batch, an *open* row (class NULL), created or widened to cover the
///    batch's boxes: first/last time, frame count, best box so far;
/// 3. the boxes.
///
/// An open row becomes final when its summary arrives; open rows left after a crash show which tracks were cut
/// short, and keep their boxes reachable.
///
/// # Failures
/// A batch is one transaction: when it fails (a constraint, a full disk) none of its rows is stored, the batches
/// before it stay, and its rows are dropped from the buffer: the writer carries on with an empty one. Values are
/// checked when pushed, so a failed batch means a conflict with what is already stored (a box at a time the track
/// already has one) or an I/O failure.
///
/// Dropping the writer writes what is buffered, ignoring errors, like `std::io::BufWriter`; call
/// [`finish`](TrackWriter::finish) to see them.
pub struct TrackWriter<'a> {
    conn: &'a mut Connection,
    run: RunId,
    batch_rows: usize,
    summaries: Vec<TrackSummary>,
    boxes: Vec<PendingBox>,
    /// Tracks with boxes pushed and no summary yet, with the time of their last box.
    open: HashMap<TrackId, Time90k>,
    /// Tracks whose summary was pushed.
    ended: HashSet<TrackId>,
}

#[derive(Clone, Copy, Debug)]
struct PendingBox {
    track: TrackId,
    t: Time90k,
    bbox: BBox,
    score: f32,
}

impl<'a> TrackWriter<'a> {
    /// Saves an event of this writer's run now (see [`Store::save_event`]); buffered boxes are not flushed.
    pub fn save_event(&mut self, e: &crate::EventRow) -> Result<()> {
        crate::events::save_event(self.conn, self.run, e)
    }

    pub(crate) fn new(store: &'a mut Store, run: RunId) -> Self {
        TrackWriter {
            conn: &mut store.conn,
            run,
            batch_rows: DEFAULT_BATCH_ROWS,
            summaries: Vec::new(),
            boxes: Vec::new(),
            open: HashMap::new(),
            ended: HashSet::new(),
        }
    }

    /// Writes a batch every `rows` buffered rows instead of [`DEFAULT_BATCH_ROWS`] (at least 1).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// The run this writer writes to.
    pub fn run(&self) -> RunId {
        self.run
    }

    /// Rows buffered and not yet written.
    pub fn pending_rows(&self) -> usize {
        self.summaries.len() + self.boxes.len()
    }

    /// Buffers the box of `track` in the frame at `t`; writes a batch when the buffer is full.
    ///
    /// [`ErrorKind::InvalidArgument`](vigie_core::ErrorKind::InvalidArgument) errors, with nothing buffered: a
    /// non-finite coordinate or score, a score outside 0..1, a box with x1 > x2 or y1 > y2, a time not after the
    /// track's previous box, a track already ended.
    pub fn push_box(&mut self, track: TrackId, t: Time90k, bbox: BBox, score: f32) -> Result<()> {
        to_i64(track.get(), "track id")?;
        check_box(&bbox).map_err(|e| e.context(format!("box of track {track} at {}", t.0)))?;
        if !(score.is_finite() && (0.0..=1.0).contains(&score)) {
            bail!(
                InvalidArgument,
                "box of track {track} at {}: score {score} is not in 0..1",
                t.0
            );
        }
        if self.ended.contains(&track) {
            bail!(
                InvalidArgument,
                "box of track {track} at {}: the track has already ended",
                t.0
            );
        }
        if let Some(&prev) = self.open.get(&track).filter(|&&prev| t <= prev) {
            bail!(
                InvalidArgument,
                "box of track {track} at {}: not after the track's previous box at {}",
                t.0,
                prev.0
            );
        }
        self.open.insert(track, t);
        self.boxes.push(PendingBox { track, t, bbox, score });
        self.flush_if_full()
    }

    /// Buffers the summary of a track that ended; writes a batch when the buffer is full. Each track ends once.
    ///
    /// [`ErrorKind::InvalidArgument`](vigie_core::ErrorKind::InvalidArgument) errors, with nothing buffered: an
    /// empty class, a class confidence or max score not in 0..1 (or not finite), `last < first`, `best` outside
    /// `first..=last`, no frames, a bad best box, a track already ended.
    pub fn end_track(&mut self, s: &TrackSummary) -> Result<()> {
        check_summary(s).map_err(|e| e.context(format!("summary of track {}", s.track_id)))?;
        if !self.ended.insert(s.track_id) {
            bail!(
                InvalidArgument,
                "summary of track {}: the track has already ended",
                s.track_id
            );
        }
        self.open.remove(&s.track_id);
        self.summaries.push(s.clone());
        self.flush_if_full()
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.pending_rows() >= self.batch_rows {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Writes the buffered rows in one transaction. On error none of them is stored and they are dropped.
    pub fn flush(&mut self) -> Result<()> {
        if self.pending_rows() == 0 {
            return Ok(());
        }
        let summaries = std::mem::take(&mut self.summaries);
        let boxes = std::mem::take(&mut self.boxes);
        write_batch(self.conn, self.run, &summaries, &boxes).map_err(|e| {
            e.context(format!(
                "writing a batch of {} track summaries and {} boxes to run {}",
                summaries.len(),
                boxes.len(),
                self.run
            ))
        })
    }

    /// Writes what is still buffered. Tracks that got boxes but no summary stay open in the database (see the
    /// type's documentation).
    pub fn finish(mut self) -> Result<()> {
        self.flush()
    }
}

impl Drop for TrackWriter<'_> {
    fn drop(&mut self) {
        // Best effort, like BufWriter; not while unwinding, where a second panic would abort.
        if !std::thread::panicking() {
            let _ = self.flush();
        }
    }
}

fn check_box(b: &BBox) -> Result<()> {
    if !b.is_finite() {
        bail!(
            InvalidArgument,
            "box [{}, {}, {}, {}] has a non-finite coordinate",
            b.x1,
            b.y1,
            b.x2,
            b.y2
        );
    }
    if b.x1 > b.x2 || b.y1 > b.y2 {
        bail!(
            InvalidArgument,
            "box [{}, {}, {}, {}] has its corners swapped",
            b.x1,
            b.y1,
            b.x2,
            b.y2
        );
    }
    Ok(())
}

fn check_summary(s: &TrackSummary) -> Result<()> {
    to_i64(s.track_id.get(), "track id")?;
    if s.class.is_empty() {
        bail!(InvalidArgument, "empty class name");
    }
    if !(s.class_confidence.is_finite() && (0.0..=1.0).contains(&s.class_confidence)) {
        bail!(
            InvalidArgument,
            "class confidence {} is not in 0..1",
            s.class_confidence
        );
    }
    if !(s.max_score.is_finite() && (0.0..=1.0).contains(&s.max_score)) {
        bail!(InvalidArgument, "max score {} is not in 0..1", s.max_score);
    }
    if s.last < s.first {
        bail!(
            InvalidArgument,
            "last time {} is before first time {}",
            s.last.0,
            s.first.0
        );
    }
    if s.best < s.first || s.best > s.last {
        bail!(
            InvalidArgument,
            "best time {} is outside {}..={}",
            s.best.0,
            s.first.0,
            s.last.0
        );
    }
    if s.frames == 0 {
        bail!(InvalidArgument, "no frames");
    }
    check_box(&s.best_box).map_err(|e| e.context("best box"))
}

/// What a batch's boxes say about an open track.
struct OpenStats {
    first: Time90k,
    last: Time90k,
    frames: i64,
    max_score: f32,
    best_box: BBox,
    best: Time90k,
}

const UPSERT_SUMMARY: &str = "\
    insert into track (run_id, track_id, class, class_confidence, first_90k, last_90k, frames, max_score, \
                       best_x1, best_y1, best_x2, best_y2, best_90k) \
    values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) \
    on conflict (run_id, track_id) do update set \
      class = excluded.class, class_confidence = excluded.class_confidence, \
      first_90k = excluded.first_90k, last_90k = excluded.last_90k, frames = excluded.frames, \
      max_score = excluded.max_score, best_x1 = excluded.best_x1, best_y1 = excluded.best_y1, \
      best_x2 = excluded.best_x2, best_y2 = excluded.best_y2, best_90k = excluded.best_90k \
    where track.class is null";

// In an UPDATE, every expression sees the row as it was before, so the order of the assignments does not matter.
const UPSERT_OPEN: &str = "\
    insert into track (run_id, track_id, class, class_confidence, first_90k, last_90k, frames, max_score, \
                       best_x1, best_y1, best_x2, best_y2, best_90k) \
    values (?1, ?2, null, null, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
    on conflict (run_id, track_id) do update set \
      first_90k = min(track.first_90k, excluded.first_90k), \
      last_90k = max(track.last_90k, excluded.last_90k), \
      frames = track.frames + excluded.frames, \
      max_score = max(track.max_score, excluded.max_score), \
      best_x1 = iif(excluded.max_score > track.max_score, excluded.best_x1, track.best_x1), \
      best_y1 = iif(excluded.max_score > track.max_score, excluded.best_y1, track.best_y1), \
      best_x2 = iif(excluded.max_score > track.max_score, excluded.best_x2, track.best_x2), \
      best_y2 = iif(excluded.max_score > track.max_score, excluded.best_y2, track.best_y2), \
      best_90k = iif(excluded.max_score > track.max_score, excluded.best_90k, track.best_90k) \
    where track.class is null";

const INSERT_BOX: &str = "\
    insert into track_box (run_id, track_id, t_90k, x1, y1, x2, y2, score) values (?, ?, ?, ?, ?, ?, ?, ?)";

/// Writes one batch in one transaction; see [`TrackWriter`] for the order.
fn write_batch(conn: &mut Connection, run: RunId, summaries: &[TrackSummary], boxes: &[PendingBox]) -> Result<()> {
    let tx = write_transaction(conn, "writing a batch")?;
    {
        let mut stmt = tx
            .prepare_cached(UPSERT_SUMMARY)
            .sql(|| "preparing the track upsert".into())?;
        for s in summaries {
            let b = &s.best_box;
            let changed = stmt
                .execute(params![
                    run.0,
                    to_i64(s.track_id.get(), "track id")?,
                    s.class,
                    s.class_confidence,
                    s.first.0,
                    s.last.0,
                    s.frames,
                    s.max_score,
                    b.x1,
                    b.y1,
                    b.x2,
                    b.y2,
                    s.best.0
                ])
                .sql(|| format!("writing the summary of track {}", s.track_id))?;
            if changed == 0 {
                bail!(Database, "track {} of run {run} already has a summary", s.track_id);
            }
        }
    }

    let summarised: HashSet<TrackId> = summaries.iter().map(|s| s.track_id).collect();
    let mut open: BTreeMap<TrackId, OpenStats> = BTreeMap::new();
    for b in boxes.iter().filter(|b| !summarised.contains(&b.track)) {
        open.entry(b.track)
            .and_modify(|o| {
                o.first = o.first.min(b.t);
                o.last = o.last.max(b.t);
                o.frames += 1;
                if b.score > o.max_score {
                    o.max_score = b.score;
                    o.best_box = b.bbox;
                    o.best = b.t;
                }
            })
            .or_insert(OpenStats {
                first: b.t,
                last: b.t,
                frames: 1,
                max_score: b.score,
                best_box: b.bbox,
                best: b.t,
            });
    }
    {
        let mut stmt = tx
            .prepare_cached(UPSERT_OPEN)
            .sql(|| "preparing the open track upsert".into())?;
        for (id, o) in &open {
            let b = &o.best_box;
            stmt.execute(params![
                run.0,
                to_i64(id.get(), "track id")?,
                o.first.0,
                o.last.0,
                o.frames,
                o.max_score,
                b.x1,
                b.y1,
                b.x2,
                b.y2,
                o.best.0
            ])
            .sql(|| format!("writing the open row of track {id}"))?;
        }
    }
    {
        let mut stmt = tx
            .prepare_cached(INSERT_BOX)
            .sql(|| "preparing the box insert".into())?;
        for b in boxes {
            stmt.execute(params![
                run.0,
                to_i64(b.track.get(), "track id")?,
                b.t.0,
                b.bbox.x1,
                b.bbox.y1,
                b.bbox.x2,
                b.bbox.y2,
                b.score
            ])
            .sql(|| format!("writing the box of track {} at {}", b.track, b.t.0))?;
        }
    }
    tx.commit().sql(|| "committing".into())
}
