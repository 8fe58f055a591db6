//! Tracks of a live camera for the store (issue 8): each tracked object's box per analysed frame, and each track's
//! summary when it ends (class by score-weighted vote, best box), batched for the store thread, so that the
//! case-gated search finds live tracks as it finds those of analysed files. No appearance attribute of anyone.

use std::collections::BTreeMap;

use vigie_core::{BBox, Time90k, TrackId, TrackSummary, TrackedObject};

/// A box to store: track, time, box, score.
pub type BoxRow = (TrackId, Time90k, BBox, f32);

struct Acc {
    first: Time90k,
    last: Time90k,
    frames: u32,
    max_score: f32,
    best_box: BBox,
    best: Time90k,
    votes: BTreeMap<String, f32>,
}

/// Accumulates tracks between batches.
#[derive(Default)]
pub struct TrackBatcher {
    live: BTreeMap<TrackId, Acc>,
    boxes: Vec<BoxRow>,
    ended: Vec<TrackSummary>,
}

impl TrackBatcher {
    /// The tracked objects of the frame at `t`.
    pub fn observe(&mut self, t: Time90k, objects: &[TrackedObject], labels: &[String]) {
        for o in objects {
            let score = if o.score.is_finite() {
                o.score.clamp(0.0, 1.0)
            } else {
                0.0
            };
            if !o.bbox.is_finite() || self.live.get(&o.track_id).is_some_and(|a| t <= a.last) {
                continue;
            }
            let a = self.live.entry(o.track_id).or_insert_with(|| Acc {
                first: t,
                last: t,
                frames: 0,
                max_score: -1.0,
                best_box: o.bbox,
                best: t,
                votes: BTreeMap::new(),
            });
            a.last = t;
            a.frames += 1;
            if score > a.max_score {
                a.max_score = score;
                a.best_box = o.bbox;
                a.best = t;
            }
            let class = crate::analysers::label(labels, o.voted_class);
            *a.votes.entry(class).or_default() += score.max(1e-3);
            self.boxes.push((o.track_id, t, o.bbox, score));
        }
    }

    /// Tracks the tracker ended: their summaries join the batch.
    pub fn end(&mut self, ids: &[TrackId]) {
        for id in ids {
            let Some(a) = self.live.remove(id) else { continue };
            let total: f32 = a.votes.values().sum();
            let Some((class, v)) = a.votes.into_iter().max_by(|x, y| x.1.total_cmp(&y.1)) else {
                continue;
            };
            self.ended.push(TrackSummary {
                track_id: *id,
                class,
                class_confidence: if total > 0.0 { (v / total).clamp(0.0, 1.0) } else { 0.0 },
                first: a.first,
                last: a.last,
                frames: a.frames.max(1),
                max_score: a.max_score.clamp(0.0, 1.0),
                best_box: a.best_box,
                best: a.best,
            });
        }
    }

    /// Whether a batch is worth sending: tracks ended, or `max_boxes` boxes waiting.
    pub fn ready(&self, max_boxes: usize) -> bool {
        !self.ended.is_empty() || self.boxes.len() >= max_boxes
    }

    /// The batch: boxes, then ended summaries.
    pub fn take(&mut self) -> (Vec<BoxRow>, Vec<TrackSummary>) {
        (std::mem::take(&mut self.boxes), std::mem::take(&mut self.ended))
    }
}
