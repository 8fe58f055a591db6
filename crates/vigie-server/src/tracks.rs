//! Tracks of a live camera for the store (issue 8): each tracked object's box per analysed frame, and each track's
//! summary when it ends (class by score-weighted vote, best box), batched for the store thread, so that the
//! case-gated search finds live tracks as it finds those of analysed files. Vehicle tracks get their named colour
//! (`vigie_vision::vehicle_colour`, on the largest view of the track clear of the frame's edges, as `vigie analyze`
//! does); no appearance attribute of anyone.

use std::collections::BTreeMap;
use std::sync::Arc;

use vigie_core::{BBox, RgbFrame, Time90k, TrackId, TrackSummary, TrackedObject};

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
    /// The largest view clear of the frame's edges while the track was voted a vehicle (for its colour).
    colour_view: Option<(Arc<RgbFrame>, BBox)>,
}

/// A vehicle track's colour: track, colour name, share of the votes.
pub type ColourRow = (TrackId, String, f32);

/// Whether `b` keeps at least 2 pixels from every edge of `f`.
fn clear_of_edges(b: &BBox, f: &RgbFrame) -> bool {
    b.x1 >= 2.0 && b.y1 >= 2.0 && b.x2 <= f.width as f32 - 2.0 && b.y2 <= f.height as f32 - 2.0
}

/// Accumulates tracks between batches.
#[derive(Default)]
pub struct TrackBatcher {
    live: BTreeMap<TrackId, Acc>,
    boxes: Vec<BoxRow>,
    ended: Vec<TrackSummary>,
    colours: Vec<ColourRow>,
}

impl TrackBatcher {
    /// The tracked objects of `frame` (for vehicle colours; `None` when not kept), at `t`.
    pub fn observe(&mut self, t: Time90k, objects: &[TrackedObject], labels: &[String], frame: Option<&Arc<RgbFrame>>) {
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
                colour_view: None,
            });
            a.last = t;
            a.frames += 1;
            if score > a.max_score {
                a.max_score = score;
                a.best_box = o.bbox;
                a.best = t;
            }
            let class = crate::analysers::label(labels, o.voted_class);
            if let Some(f) = frame
                && vigie_vision::VEHICLE_CLASSES.contains(&class.as_str())
                && clear_of_edges(&o.bbox, f)
                && a.colour_view.as_ref().is_none_or(|(_, b)| o.bbox.area() > b.area())
            {
                a.colour_view = Some((f.clone(), o.bbox));
            }
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
            // Vehicles only: no appearance attribute is ever computed for a person.
            if vigie_vision::VEHICLE_CLASSES.contains(&class.as_str())
                && let Some((f, b)) = &a.colour_view
                && let Some((c, share)) = vigie_vision::vehicle_colour(f, *b)
            {
                self.colours.push((*id, c.as_str().to_owned(), share));
            }
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

    /// The batch: boxes, ended summaries, then the colours of the ended vehicle tracks.
    pub fn take(&mut self) -> (Vec<BoxRow>, Vec<TrackSummary>, Vec<ColourRow>) {
        (
            std::mem::take(&mut self.boxes),
            std::mem::take(&mut self.ended),
            std::mem::take(&mut self.colours),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_core::ClassId;

    fn tid(id: u64) -> TrackId {
        TrackId(std::num::NonZeroU64::new(id).expect("non-zero"))
    }

    fn obj(id: u64, class: u16, b: BBox) -> TrackedObject {
        TrackedObject {
            track_id: tid(id),
            bbox: b,
            score: 0.8,
            class_id: ClassId(class),
            voted_class: ClassId(class),
            matched: true,
            det_index: None,
        }
    }

    #[test]
    fn vehicles_get_a_colour_and_people_none() {
        let labels: Vec<String> = vigie_core::COCO80.iter().map(|s| s.to_string()).collect();
        // Grey asphalt, a red car (track 1, class 2 = car) and a person in red (track 2, class 0).
        let f = Arc::new(RgbFrame::from_fn(200, 100, |x, y| {
            if (20..80).contains(&x) && (20..80).contains(&y) || (120..140).contains(&x) && (20..80).contains(&y) {
                [200, 20, 30]
            } else {
                [90, 90, 90]
            }
        }));
        let car = BBox::new(20.0, 20.0, 80.0, 80.0);
        let person = BBox::new(120.0, 20.0, 140.0, 80.0);
        let mut b = TrackBatcher::default();
        b.observe(Time90k(0), &[obj(1, 2, car), obj(2, 0, person)], &labels, Some(&f));
        b.end(&[tid(1), tid(2)]);
        let (_, ended, colours) = b.take();
        assert_eq!(ended.len(), 2);
        assert_eq!(colours.len(), 1, "{colours:?}");
        assert_eq!((colours[0].0, colours[0].1.as_str()), (tid(1), "red"));
    }
}
