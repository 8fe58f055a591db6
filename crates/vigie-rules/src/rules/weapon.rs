//! Weapon (`weapon`): a weapon seen by a detector, held long enough not to be a single-frame mistake.
//!
//! # What it detects
//! A track of a weapon class with a detection score of at least `min_score` in the analysed frame; when the rule
//! names zones, the centre of the weapon's box (not its bottom: a weapon is held, not standing) must be inside one
//! of them. One condition per track (key `track:N`); frames where the track is only predicted by the tracker (score
//! 0) or scored lower do not hold, and gaps shorter than `end_after_s` are bridged, so the lifecycle's
//! `min_duration_s` (default 0.6 s) means the weapon was seen in about 3 or more analysed frames (at 5 per second)
//! before the alert.
//!
//! # Classes and a user's own weapon detector
//! Classes are detector labels, nothing more. The shipped COCO detector has `knife` (and `baseball bat`,
//! `scissors`, which are not in the default list: too common to be alerts). A user who has an ONNX detector
//! trained with weapon classes (for example `pistol`, `rifle`) makes its labels reach this rule in one of two ways:
//! - as *the* detector of `vigie analyze` (`[detector]` `kind`, `model`, `labels`; the YOLOX and YOLOv8 heads take
//!   a user's model), keeping the weapon labels in `[detector] classes`;
//! - as a second detector beside the shipped one (`vigie analyze`'s `[weapon]` section: `model`, `kind`, `labels`,
//!   `classes`, `score_threshold`), run only when a `weapon` rule is enabled: its detections join the shipped
//!   detector's before tracking, its labels are appended to the labels the rule engine is built with
//!   (`Engine::new`'s `labels`, which is what validates every rule's `classes`), and its tracks reach the rules
//!   under those labels.
//!
//! Either way the rule just lists the labels:
//!
//! ```toml
//! [[rule]]
//! id = "weapons"
//! type = "weapon"
//! classes = ["knife", "pistol", "rifle"]
//! min_score = 0.6
//! ```
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | none (whole frame) | where weapons are watched |
//! | `classes` | knife | weapon labels (of the shipped detector or a second one) |
//! | `min_score` | 0.5 | minimum detection score in a frame, 0..1 |
//! | `min_duration_s` | 0.6 | how long the weapon is seen before the alert |
//!
//! Confidence: the detection score (at the start; the highest while it lasts, at the end).
//!
//! Limits: the COCO `knife` class was learnt mostly from kitchen and table scenes; a knife in a hand seen from a
//! ceiling camera is small and often missed, and cutlery on a table is a knife too. The alert goes to an operator
//! who judges it; see docs/accuracy.md for the measured false alarms.

use crate::config::Zone;
use crate::engine::{FrameInput, Rule, RuleCtx};
use crate::lifecycle::Condition;
use vigie_core::{Result, err};

pub struct Weapon {
    zones: Vec<Zone>,
    classes: Vec<String>,
    min_score: f32,
}

impl Weapon {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        let min_score = ctx.cfg.min_score.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&min_score) {
            return Err(err!(Config, "rule {:?}: min_score must be within 0..1", ctx.cfg.id));
        }
        Ok(Weapon {
            zones: ctx.zones.clone(),
            classes: ctx.classes.clone(),
            min_score,
        })
    }
}

impl Rule for Weapon {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        for o in super::support::watched(f, &self.classes) {
            if o.score < self.min_score {
                continue;
            }
            let c = o.bbox.center();
            let zone = if self.zones.is_empty() {
                None
            } else {
                match self.zones.iter().find(|z| z.polygon.contains(c)) {
                    Some(z) => Some(z.id.clone()),
                    None => continue,
                }
            };
            let place = zone.as_ref().map(|z| format!(" in zone {z}")).unwrap_or_default();
            out.push(Condition {
                key: format!("track:{}", o.track_id),
                zone,
                line: None,
                track_ids: vec![o.track_id],
                confidence: o.score.min(1.0),
                bbox: Some(o.bbox),
                detail: format!("{} {} seen{place} (score {:.2})", o.class, o.track_id, o.score),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::event::Phase;

    const CFG: &str = r#"
        [[rule]]
        id = "weapon"
        type = "weapon"
    "#;

    fn knife(id: u64, score: f32) -> crate::TrackObs {
        obj(id, "knife", 500.0, 500.0, 40.0, score)
    }

    #[test]
    fn seen_in_four_frames_is_an_alert_in_one_or_two_is_not() {
        // Frames 0-3 (0.6 s): raised at frame 3.
        let ev = run(
            CFG,
            (0..10).map(|i| frame(i, if i < 4 { vec![knife(1, 0.7)] } else { vec![] })),
        );
        assert_eq!(
            ev.iter().map(|e| e.phase).collect::<Vec<_>>(),
            vec![Phase::Start, Phase::End],
            "{ev:#?}"
        );
        assert_eq!(secs(ev[0].at), 0.6);
        assert!((ev[0].confidence - 0.7).abs() < 1e-6);
        // Two frames, then nothing for 3 s, twice: nothing.
        let ev = run(
            CFG,
            (0..40).map(|i| frame(i, if i % 20 < 2 { vec![knife(1, 0.9)] } else { vec![] })),
        );
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn low_scores_and_predicted_frames_do_not_count() {
        // Score 0.4 < 0.5 for 2 s; then a track matched every other frame (0 when predicted): the gaps are
        // bridged, it is seen from 0 to 0.8 s: raised.
        let ev = run(CFG, (0..10).map(|i| frame(i, vec![knife(1, 0.4)])));
        assert!(ev.is_empty(), "{ev:#?}");
        let ev = run(
            CFG,
            (0..10).map(|i| frame(i, vec![knife(2, if i % 2 == 0 { 0.8 } else { 0.0 })])),
        );
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
        assert_eq!(secs(starts(&ev)[0].at), 0.8);
    }

    #[test]
    fn other_classes_zones_and_extra_labels() {
        // A fork does nothing; a knife outside the zone does nothing; a second detector's "pistol" label is
        // configured like any class.
        let cfg = r#"
            [[zone]]
            id = "hall"
            polygon = [[0.0, 0.0], [0.4, 0.0], [0.4, 1.0], [0.0, 1.0]]
            [[rule]]
            id = "weapon"
            type = "weapon"
            zones = ["hall"]
            classes = ["knife", "pistol"]
        "#;
        let cfg_parsed = crate::RulesConfig::parse(cfg, "test").unwrap();
        let mut labels = labels();
        assert!(
            crate::Engine::new(&cfg_parsed, "cam", W, H, &labels).is_err(),
            "pistol is not a COCO label"
        );
        labels.push("pistol".into());
        let mut e = crate::Engine::new(&cfg_parsed, "cam", W, H, &labels).unwrap();
        for i in 0..10 {
            e.push(&frame(
                i,
                vec![
                    obj(1, "fork", 100.0, 500.0, 40.0, 0.9),
                    obj(2, "knife", 800.0, 500.0, 40.0, 0.9),
                    obj(3, "pistol", 200.0, 300.0, 40.0, 0.9),
                ],
            ));
        }
        let ev: Vec<_> = std::iter::from_fn(|| e.pull()).collect();
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].track_ids, vec![tid(3)]);
        assert_eq!(s[0].zone.as_deref(), Some("hall"));
    }
}
