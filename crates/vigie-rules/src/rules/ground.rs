//! Person on the ground (`person_on_ground`): someone lying down, held for a while (a fall, a faint).
//!
//! # What it detects
//! A person track whose **body axis** (from the pose model, [`PoseObs`](crate::PoseObs): hips' centre → shoulders'
//! centre) is more than 60° from the vertical. Poses are costly, so the pipeline estimates them only now and then,
//! for tracks that look possibly down; a pose verdict stands for [`POSE_VALID_S`] (3 s) or until the next one for
//! that track. When no recent confident pose is known, the **box shape** stands in: the box is more than
//! [`WIDE`] (1.3) times wider than tall, *and* the same track was seen clearly upright earlier (at least
//! [`UPRIGHT`] (1.5) times taller than wide), so that a person who entered the view bending, sitting or cut by
//! the frame's edge is not taken for one who fell. A recent confident pose always wins over the box: an upright
//! pose clears a wide box (someone with their arms spread, pushing a pram), a lying pose holds even when the box
//! is not wide (someone lying towards the camera). The condition is per track (key `frame:track:N` or
//! `zone:ID:track:N`); the lifecycle makes the alert once it has held for `min_duration_s` (default 5 s).
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | the whole frame | where the person's ground anchor (bottom-centre of the box) must be |
//! | `classes` | person | what is watched |
//! | `min_duration_s` | 5 | how long the person must stay down before the alert |
//!
//! Confidence: the pose's confidence when the pose decided, otherwise the latest detection score capped at 0.5
//! (the box shape alone is weak evidence).
//!
//! # Limits
//! - The box fallback fires on someone sitting on the ground with legs stretched, lying on a bench or a lawn on
//!   purpose, crawling, or a person box that merged with a bag or a bicycle beside them. It misses a person who
//!   fell towards or away from the camera (the box stays taller than wide) unless a pose is estimated.
//! - A person who was never seen upright (already down when they came into view, or a track that restarted
//!   while they lay) is only caught by the pose.
//! - The pose is MoveNet Lightning on a crop; a curled-up or half-hidden body often gives no usable torso, and
//!   then the box decides.
//! - Someone bending over for longer than `min_duration_s` (tying a shoe, picking something up slowly) can
//!   pass for down, from the box or from the pose.

use super::anchor;
use super::support::{Region, watched};
use crate::engine::{FrameInput, Rule, RuleCtx};
use crate::lifecycle::Condition;
use std::collections::BTreeMap;
use vigie_core::{Time90k, TrackId};

/// A body axis more than this from the vertical is down (lying, or head down).
pub const LYING_DEG: f32 = 60.0;
/// Poses less confident than this are ignored.
pub const MIN_POSE_CONFIDENCE: f32 = 0.25;
/// A pose verdict stands this long, unless a newer one replaces it.
pub const POSE_VALID_S: f64 = 3.0;
/// Box width / height above which a person who was upright before counts as down (no recent pose).
pub const WIDE: f32 = 1.3;
/// Box height / width at or above which a person counts as seen upright.
pub const UPRIGHT: f32 = 1.5;
/// Track state is forgotten after this long unseen.
const FORGET_S: f64 = 30.0;

#[derive(Clone, Debug, Default)]
struct PersonState {
    last_seen: Time90k,
    /// Latest detection score (a box the tracker only predicted has 0).
    score: f32,
    upright_seen: bool,
    /// Latest confident pose: (time, degrees from vertical, confidence).
    pose: Option<(Time90k, f32, f32)>,
}

pub struct PersonOnGround {
    regions: Vec<Region>,
    classes: Vec<String>,
    tracks: BTreeMap<TrackId, PersonState>,
}

impl PersonOnGround {
    pub(crate) fn new(ctx: &RuleCtx) -> Self {
        PersonOnGround {
            regions: Region::of(&ctx.zones),
            classes: ctx.classes.clone(),
            tracks: BTreeMap::new(),
        }
    }
}

impl Rule for PersonOnGround {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        // Poses first: one per track, the most confident if several (order-independent).
        let mut poses: BTreeMap<TrackId, (f32, f32)> = BTreeMap::new();
        for p in &f.poses {
            if !(p.confidence >= MIN_POSE_CONFIDENCE && p.axis_from_vertical_deg.is_finite()) {
                continue;
            }
            let e = poses
                .entry(p.track_id)
                .or_insert((p.axis_from_vertical_deg, p.confidence));
            if p.confidence > e.1 || (p.confidence == e.1 && p.axis_from_vertical_deg > e.0) {
                *e = (p.axis_from_vertical_deg, p.confidence);
            }
        }
        let valid = Time90k::from_secs_f64(POSE_VALID_S);
        for o in watched(f, &self.classes) {
            let (w, h) = (o.bbox.width(), o.bbox.height());
            let st = self.tracks.entry(o.track_id).or_default();
            st.last_seen = f.t;
            if o.score > 0.0 {
                st.score = o.score;
            }
            if let Some(&(deg, conf)) = poses.get(&o.track_id) {
                st.pose = Some((f.t, deg, conf));
            }
            // The verdict: a recent pose, else the box shape after having been upright.
            let recent = st.pose.filter(|(t, _, _)| f.t.0 - t.0 <= valid.0);
            let verdict = match recent {
                Some((_, deg, conf)) => (deg > LYING_DEG).then(|| {
                    (
                        conf.clamp(0.0, 1.0),
                        format!("body axis {deg:.0}° from vertical (pose)"),
                    )
                }),
                None => (w > 0.0 && h > 0.0 && st.upright_seen && w > WIDE * h).then(|| {
                    (
                        st.score.clamp(0.0, 0.5),
                        format!(
                            "box {:.1} times wider than tall after being upright (box shape, no recent pose)",
                            w / h
                        ),
                    )
                }),
            };
            // Upright is recorded after the verdict: this frame's box cannot vouch for itself.
            if w > 0.0 && h >= UPRIGHT * w {
                st.upright_seen = true;
            }
            let Some((confidence, why)) = verdict else { continue };
            let p = anchor(o);
            for r in self.regions.iter().filter(|r| r.contains(p)) {
                out.push(Condition {
                    key: format!("{}:track:{}", r.key, o.track_id),
                    zone: r.zone_id(),
                    line: None,
                    track_ids: vec![o.track_id],
                    confidence,
                    bbox: Some(o.bbox),
                    detail: format!("{} {} on the ground in {}: {why}", o.class, o.track_id, r.name()),
                });
            }
        }
        let forget = Time90k::from_secs_f64(FORGET_S);
        self.tracks.retain(|_, s| f.t.0 - s.last_seen.0 <= forget.0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::engine::{FrameInput, PoseObs, TrackObs};
    use vigie_core::BBox;

    const RULE: &str = "[[rule]]\nid = \"down\"\ntype = \"person_on_ground\"\n";

    /// A person box `w` × `h` with feet at (500, 800).
    fn body(id: u64, w: f32, h: f32) -> TrackObs {
        TrackObs {
            track_id: tid(id),
            bbox: BBox::new(500.0 - w / 2.0, 800.0 - h, 500.0 + w / 2.0, 800.0),
            class: "person".into(),
            score: 0.8,
        }
    }

    fn pose(id: u64, deg: f32, conf: f32) -> PoseObs {
        PoseObs {
            track_id: tid(id),
            axis_from_vertical_deg: deg,
            confidence: conf,
        }
    }

    /// `standing` frames upright (40 x 100), then `down` frames of a 100 x 40 box, optionally with poses.
    fn fall(standing: i64, down: i64, pose_deg: Option<f32>) -> Vec<FrameInput> {
        (0..standing + down)
            .map(|i| {
                let mut f = if i < standing {
                    frame(i, vec![body(1, 40.0, 100.0)])
                } else {
                    frame(i, vec![body(1, 100.0, 40.0)])
                };
                if let Some(d) = pose_deg {
                    // A pose every 5 frames (1 s), as a pipeline checking now and then would.
                    if i % 5 == 0 {
                        f.poses.push(pose(1, if i < standing { 5.0 } else { d }, 0.7));
                    }
                }
                f
            })
            .collect()
    }

    #[test]
    fn a_fall_seen_by_the_box_alerts_after_min_duration() {
        // 4 s standing, then 8 s down: the alert starts when the box turned, raised 5 s later.
        let ev = run(RULE, fall(20, 40, None));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:?}");
        assert_eq!(s[0].track_ids, vec![tid(1)]);
        assert!(
            (secs(s[0].start) - 4.0).abs() < 1e-6 && (secs(s[0].at) - 9.0).abs() < 1e-6,
            "{:?}",
            s[0]
        );
        assert!(s[0].detail.contains("box"), "{}", s[0].detail);
        assert!(s[0].confidence <= 0.5);
        // Down for 4 s only: nothing.
        assert!(starts(&run(RULE, fall(20, 20, None))).is_empty());
    }

    #[test]
    fn a_wide_box_never_seen_upright_needs_a_pose() {
        let frames: Vec<FrameInput> = (0..50).map(|i| frame(i, vec![body(1, 100.0, 40.0)])).collect();
        assert!(starts(&run(RULE, frames.clone())).is_empty());
        // With lying poses: alert.
        let with_pose: Vec<FrameInput> = frames
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                if i % 5 == 0 {
                    f.poses.push(pose(1, 85.0, 0.6));
                }
                f
            })
            .collect();
        let ev = run(RULE, with_pose);
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:?}");
        assert!(
            s[0].detail.contains("pose") && (s[0].confidence - 0.6).abs() < 1e-6,
            "{:?}",
            s[0]
        );
    }

    #[test]
    fn an_upright_pose_overrides_a_wide_box_and_a_lying_pose_a_tall_box() {
        // Standing, then a wide box (arms spread) while the pose says upright: nothing.
        assert!(starts(&run(RULE, fall(20, 40, Some(10.0)))).is_empty());
        // Lying towards the camera: the box stays tall, the pose says 80°.
        let frames: Vec<FrameInput> = (0..50)
            .map(|i| {
                let mut f = frame(i, vec![body(1, 50.0, 70.0)]);
                if i % 5 == 0 {
                    f.poses.push(pose(1, 80.0, 0.5));
                }
                f
            })
            .collect();
        assert_eq!(starts(&run(RULE, frames)).len(), 1);
        // A pose below the confidence floor is ignored: the tall box decides, nothing.
        let frames: Vec<FrameInput> = (0..50)
            .map(|i| {
                let mut f = frame(i, vec![body(1, 50.0, 70.0)]);
                f.poses.push(pose(1, 80.0, 0.1));
                f
            })
            .collect();
        assert!(starts(&run(RULE, frames)).is_empty());
    }

    #[test]
    fn a_stale_pose_falls_back_to_the_box() {
        // One lying pose at the start, then none: 3 s of pose, then the box (tall): the condition stops before 5 s.
        let frames: Vec<FrameInput> = (0..50)
            .map(|i| {
                let mut f = frame(i, vec![body(1, 50.0, 70.0)]);
                if i == 0 {
                    f.poses.push(pose(1, 85.0, 0.8));
                }
                f
            })
            .collect();
        assert!(starts(&run(RULE, frames)).is_empty());
    }

    #[test]
    fn bending_briefly_and_zones() {
        // Standing, bending 3 s (wide box), standing again: under min_duration, nothing.
        let frames: Vec<FrameInput> = (0..60)
            .map(|i| {
                let b = if (20..35).contains(&i) {
                    body(1, 90.0, 60.0)
                } else {
                    body(1, 40.0, 100.0)
                };
                frame(i, vec![b])
            })
            .collect();
        assert!(starts(&run(RULE, frames)).is_empty());
        // Zones: the person's feet (500, 800) are in "low", not in "high".
        let zones = "[[zone]]\nid = \"high\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.5], [0.0, 0.5]]\n\
                     [[zone]]\nid = \"low\"\npolygon = [[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]]\n";
        let ev = run(
            &format!("{zones}{RULE}zones = [\"high\", \"low\"]\n"),
            fall(20, 40, None),
        );
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:?}");
        assert_eq!(s[0].zone.as_deref(), Some("low"));
    }

    #[test]
    fn several_people_are_independent_and_ordered() {
        let frames: Vec<FrameInput> = (0..60)
            .map(|i| {
                let mut a = body(2, 40.0, 100.0);
                let mut b = body(1, 40.0, 100.0);
                if i >= 10 {
                    a = body(2, 100.0, 40.0);
                }
                if i >= 20 {
                    b = body(1, 100.0, 40.0);
                }
                // Input order is not by id: the rule must not care.
                frame(i, vec![a, b])
            })
            .collect();
        let ev = run(RULE, frames);
        let s = starts(&ev);
        assert_eq!(s.len(), 2, "{ev:?}");
        assert_eq!((s[0].track_ids[0], s[1].track_ids[0]), (tid(2), tid(1)));
    }
}
