//! The tracker: track life cycle and the three association stages.

use std::num::NonZeroU64;

use vigie_core::{BBox, ClassId, Detections, Time90k, TrackId, TrackedObject};

use crate::assoc::{Gates, assign, pair_cost};
use crate::kalman::{Kalman, MotionConfig, measure};

/// Tracker settings. Scores are detector confidences in `0..1`; distances are in predicted box heights.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrackerConfig {
    /// Detections scoring at least this take part in the first association (and in the third). Default 0.45.
    pub high_score: f32,
    /// Detections scoring in `[low_score, high_score)` only extend existing tracks, in the second association.
    /// Lower scores are ignored. Default 0.1.
    pub low_score: f32,
    /// An unmatched high detection starts a (tentative) track only if it scores at least this. Default 0.5.
    pub new_track_score: f32,
    /// Matched frames (including the first) before a tentative track is confirmed and gets an id; 0 acts as 1.
    /// Default 2.
    pub confirm_hits: u32,
    /// A confirmed track without a match for longer than this (media seconds) ends. Default 2.0.
    pub max_lost_s: f64,
    /// Smallest IoU between a track's predicted box and a detection in the first association. Default 0.15.
    pub match_iou_high: f32,
    /// Smallest IoU in the second association (low-score detections). Default 0.3.
    pub match_iou_low: f32,
    /// Smallest IoU in the third association (tentative tracks). Default 0.3.
    pub match_iou_tentative: f32,
    /// Centre-distance fallback of the first and third associations: a pair whose IoU is too low is still accepted
    /// when the distance between the predicted and the detected centres, over the predicted height, is below this.
    /// At 5 fps a walker moves about 0.4 heights per frame. Default 0.6.
    pub dist_gate: f64,
    /// Centre-distance fallback of the second association (low-score detections are less trusted). Default 0.4.
    pub dist_gate_low: f64,
    /// Growth of the distance gate of a lost track, per second since its last match, as a fraction of the gate:
    /// its prediction gets less certain. Default 0.5.
    pub dist_gate_growth_per_s: f64,
    /// Cap of that growth, as a multiple of the gate. Default 2.0.
    pub dist_gate_max_factor: f64,
    /// The distance fallback also needs `min(h) / max(h)` of the predicted and detected boxes at least this.
    /// Default 0.5.
    pub dist_min_height_ratio: f64,
    /// Extra cost (costs are in `0..1`) when a detection's class differs from the track's voted class within
    /// the same [`ClassGroup`](crate::ClassGroup). Detections of another group never match. Default 0.05.
    pub class_mismatch_cost: f64,
    /// Noise of the Kalman motion model. Default: [`MotionConfig::default`].
    pub motion: MotionConfig,
}

impl Default for TrackerConfig {
    fn default() -> Self {
        TrackerConfig {
            high_score: 0.45,
            low_score: 0.1,
            new_track_score: 0.5,
            confirm_hits: 2,
            max_lost_s: 2.0,
            match_iou_high: 0.15,
            match_iou_low: 0.3,
            match_iou_tentative: 0.3,
            dist_gate: 0.6,
            dist_gate_low: 0.4,
            dist_gate_growth_per_s: 0.5,
            dist_gate_max_factor: 2.0,
            dist_min_height_ratio: 0.5,
            class_mismatch_cost: 0.05,
            motion: MotionConfig::default(),
        }
    }
}

/// Detections whose coordinates exceed this (pixels) are treated as garbage, like NaN.
const MAX_COORD: f32 = 1.0e6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Not yet confirmed: no id, removed at its first miss.
    Tentative,
    /// Confirmed and matched in the previous frame.
    Tracked,
    /// Confirmed, missed at least the last frame; kept for re-association until `max_lost_s`.
    Lost,
}

#[derive(Clone, Debug)]
struct Track {
    /// Set when confirmed.
    id: Option<TrackId>,
    state: State,
    kf: Kalman,
    hits: u32,
    last_matched: Time90k,
    /// Sum of matched detection scores per class, in order of first appearance.
    votes: Vec<(ClassId, f64)>,
    voted: ClassId,
    /// This frame's predicted box and height (set after prediction).
    pred: BBox,
    pred_h: f64,
    /// Index of the detection matched in the current frame.
    matched: Option<usize>,
}

impl Track {
    fn new(b: &BBox, score: f32, class: ClassId, t: Time90k, m: &MotionConfig) -> Self {
        let kf = Kalman::new(measure(b), m);
        let mut tr = Track {
            id: None,
            state: State::Tentative,
            pred: *b,
            pred_h: kf.height(),
            kf,
            hits: 1,
            last_matched: t,
            votes: Vec::new(),
            voted: class,
            matched: None,
        };
        tr.vote(class, score);
        tr
    }

    fn vote(&mut self, class: ClassId, score: f32) {
        let w = f64::from(score.max(0.0));
        match self.votes.iter_mut().find(|(c, _)| *c == class) {
            Some((_, s)) => *s += w,
            None => self.votes.push((class, w)),
        }
        // Highest total wins; a tie keeps the class seen first.
        let mut best = self.votes[0];
        for &v in &self.votes[1..] {
            if v.1 > best.1 {
                best = v;
            }
        }
        self.voted = best.0;
    }

    fn apply_match(&mut self, di: usize, b: &BBox, score: f32, class: ClassId, t: Time90k, m: &MotionConfig) {
        let z = measure(b);
        if !self.kf.update(z, m) {
            // The filter went numerically bad: restart it at the detection rather than keep garbage.
            self.kf = Kalman::new(z, m);
        }
        self.hits = self.hits.saturating_add(1);
        self.last_matched = t;
        self.matched = Some(di);
        self.vote(class, score);
    }
}

/// A deterministic ByteTrack-class multi-object tracker; see the [crate documentation](crate).
#[derive(Clone, Debug)]
pub struct Tracker {
    cfg: TrackerConfig,
    /// In creation order.
    tracks: Vec<Track>,
    next_id: NonZeroU64,
    last_t: Option<Time90k>,
    ended: Vec<TrackId>,
}

fn secs(d: i64) -> f64 {
    Time90k(d.max(0)).as_secs_f64()
}

impl Tracker {
    pub fn new(cfg: TrackerConfig) -> Self {
        Tracker {
            cfg,
            tracks: Vec::new(),
            next_id: NonZeroU64::MIN,
            last_t: None,
            ended: Vec::new(),
        }
    }

    pub fn config(&self) -> &TrackerConfig {
        &self.cfg
    }

    /// Feeds one analysed frame's detections at media time `t` (monotonic; a time earlier than the previous one is
    /// treated as no time elapsed). Returns the confirmed tracks matched in this frame, sorted by track id.
    ///
    /// Detections with a non-finite, empty or absurd (beyond ±10⁶ px) box or a non-finite score are ignored.
    pub fn update(&mut self, dets: &Detections, t: Time90k) -> Vec<TrackedObject> {
        let cfg = self.cfg;
        let m = &cfg.motion;
        let dt = match self.last_t {
            Some(prev) => secs(t.0.saturating_sub(prev.0)),
            None => 0.0,
        };
        self.last_t = Some(self.last_t.map_or(t, |p| p.max(t)));
        let max_lost = Time90k::from_secs_f64(cfg.max_lost_s.max(0.0));

        // 0. Tracks not matched for longer than max_lost end before they can be re-associated.
        let mut ended_now = Vec::new();
        self.tracks.retain(|tr| {
            let expired = t.0.saturating_sub(tr.last_matched.0) > max_lost.0;
            if expired {
                ended_now.extend(tr.id);
            }
            !expired
        });
        ended_now.sort_unstable();
        self.ended.extend(ended_now);

        // 1. Predict every track to t.
        for tr in &mut self.tracks {
            if tr.state != State::Tracked {
                // As ByteTrack: an unobserved box keeps its size.
                tr.kf.mean[7] = 0.0;
            }
            tr.kf.predict(dt, m);
            tr.pred = tr.kf.bbox();
            tr.pred_h = tr.kf.height();
            tr.matched = None;
        }

        // 2. Split usable detections by score, in index order.
        let n = dets.boxes.len().min(dets.scores.len()).min(dets.class_ids.len());
        let mut high = Vec::new();
        let mut low = Vec::new();
        for i in 0..n {
            let (b, s) = (&dets.boxes[i], dets.scores[i]);
            let usable = b.is_finite()
                && s.is_finite()
                && b.width() > 0.0
                && b.height() > 0.0
                && [b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.abs() <= MAX_COORD);
            if !usable {
                continue;
            }
            if s >= cfg.high_score {
                high.push(i);
            } else if s >= cfg.low_score {
                low.push(i);
            }
        }

        let gates = |iou_min: f32, dist_gate: f64| Gates {
            iou_min,
            dist_gate,
            min_height_ratio: cfg.dist_min_height_ratio,
            class_mismatch_cost: cfg.class_mismatch_cost,
        };
        let gate_factor = |tr: &Track| {
            if tr.state == State::Lost {
                let lost_s = secs(t.0.saturating_sub(tr.last_matched.0));
                (1.0 + cfg.dist_gate_growth_per_s * lost_s).min(cfg.dist_gate_max_factor.max(1.0))
            } else {
                1.0
            }
        };

        // 3. First association: high detections vs confirmed (tracked and lost) tracks.
        let confirmed: Vec<usize> = (0..self.tracks.len())
            .filter(|&k| self.tracks[k].state != State::Tentative)
            .collect();
        let mut high_used = vec![false; high.len()];
        let pairs = self.associate(&confirmed, &high, dets, |tr| {
            gates(cfg.match_iou_high, cfg.dist_gate * gate_factor(tr))
        });
        for (r, c) in pairs {
            high_used[c] = true;
            self.match_track(confirmed[r], high[c], dets, t);
        }

        // 4. Second association: low detections vs tracks tracked in the previous frame and still unmatched.
        let remaining: Vec<usize> = confirmed
            .iter()
            .copied()
            .filter(|&k| self.tracks[k].matched.is_none() && self.tracks[k].state == State::Tracked)
            .collect();
        let pairs = self.associate(&remaining, &low, dets, |_| gates(cfg.match_iou_low, cfg.dist_gate_low));
        for (r, c) in pairs {
            self.match_track(remaining[r], low[c], dets, t);
        }
        for &k in &confirmed {
            let tr = &mut self.tracks[k];
            tr.state = if tr.matched.is_some() {
                State::Tracked
            } else {
                State::Lost
            };
        }

        // 5. Third association: the remaining high detections vs tentative tracks.
        let tentative: Vec<usize> = (0..self.tracks.len())
            .filter(|&k| self.tracks[k].state == State::Tentative)
            .collect();
        let rest: Vec<usize> = (0..high.len()).filter(|&c| !high_used[c]).collect();
        let rest_dets: Vec<usize> = rest.iter().map(|&c| high[c]).collect();
        let pairs = self.associate(&tentative, &rest_dets, dets, |_| {
            gates(cfg.match_iou_tentative, cfg.dist_gate)
        });
        for (r, c) in pairs {
            high_used[rest[c]] = true;
            self.match_track(tentative[r], rest_dets[c], dets, t);
        }
        // A tentative track that missed is dropped (it never had an id).
        self.tracks
            .retain(|tr| tr.state != State::Tentative || tr.matched.is_some());

        // 6. New tentative tracks from unmatched confident detections, in index order.
        for (c, &i) in high.iter().enumerate() {
            if !high_used[c] && dets.scores[i] >= cfg.new_track_score {
                let mut tr = Track::new(&dets.boxes[i], dets.scores[i], dets.class_ids[i], t, m);
                tr.matched = Some(i);
                self.tracks.push(tr);
            }
        }

        // 7. Confirmation, in creation order, so ids are dense and increase with first confirmation.
        let confirm_hits = cfg.confirm_hits.max(1);
        for tr in &mut self.tracks {
            if tr.state == State::Tentative && tr.hits >= confirm_hits {
                tr.state = State::Tracked;
                tr.id = Some(TrackId(self.next_id));
                self.next_id = self.next_id.saturating_add(1);
            }
        }

        // 8. Output: confirmed tracks matched in this frame.
        let mut out: Vec<TrackedObject> = self
            .tracks
            .iter()
            .filter_map(|tr| {
                let (id, i) = (tr.id?, tr.matched?);
                Some(TrackedObject {
                    track_id: id,
                    bbox: dets.boxes[i],
                    score: dets.scores[i],
                    class_id: dets.class_ids[i],
                    voted_class: tr.voted,
                    matched: true,
                    det_index: Some(i),
                })
            })
            .collect();
        out.sort_unstable_by_key(|o| o.track_id);
        out
    }

    /// Tracks that ended (not matched for longer than `max_lost_s`) since the last call, by id; ended in an
    /// earlier frame first, by id within a frame. A track is only noticed as ended at the next `update`.
    pub fn take_ended(&mut self) -> Vec<TrackId> {
        std::mem::take(&mut self.ended)
    }

    /// Ends all tracks (end of video). Returns the ids of every confirmed track not yet returned by
    /// [`take_ended`](Self::take_ended), including those it would have returned, sorted. The tracker is then
    /// empty; it may be fed again, and new ids continue after the old ones.
    pub fn finish(&mut self) -> Vec<TrackId> {
        let mut ids = std::mem::take(&mut self.ended);
        ids.extend(self.tracks.drain(..).filter_map(|tr| tr.id));
        ids.sort_unstable();
        self.last_t = None;
        ids
    }

    /// Hungarian association of `rows` (track indices) with `cols` (detection indices).
    fn associate(
        &self,
        rows: &[usize],
        cols: &[usize],
        dets: &Detections,
        gates: impl Fn(&Track) -> Gates,
    ) -> Vec<(usize, usize)> {
        let row_gates: Vec<Gates> = rows.iter().map(|&k| gates(&self.tracks[k])).collect();
        assign(rows.len(), cols.len(), |r, c| {
            let tr = &self.tracks[rows[r]];
            let i = cols[c];
            pair_cost(
                &row_gates[r],
                &tr.pred,
                tr.pred_h,
                tr.voted,
                &dets.boxes[i],
                dets.class_ids[i],
            )
        })
    }

    fn match_track(&mut self, k: usize, i: usize, dets: &Detections, t: Time90k) {
        let m = self.cfg.motion;
        self.tracks[k].apply_match(i, &dets.boxes[i], dets.scores[i], dets.class_ids[i], t, &m);
    }
}
