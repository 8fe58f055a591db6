//! Excessive density (`excessive_density`): more people in a zone than it should hold.
//!
//! # What it detects
//! The people (watched classes) whose ground anchor (bottom-centre of the box) is inside a region (each of the
//! rule's zones, or the whole frame when it names none) are counted every analysed frame. The condition holds
//! while the count is above `max_people`, or above `max_per_m2` × the zone's `area_m2` (either threshold that is
//! set; at least one must be). One condition per region (key `zone:ID` or `frame`) with all the people counted;
//! the lifecycle raises the alert once it has held for `min_duration_s` (default 5 s), so a momentary peak (a
//! group crossing) does not count, and ends it `end_after_s` after the count is back under the threshold.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | none (whole frame); required with `max_per_m2` | regions counted separately |
//! | `classes` | person | who counts |
//! | `max_people` | none | alert above this many people |
//! | `max_per_m2` | none | alert above this many people per m² of the zone (needs the zone's `area_m2`) |
//! | `min_duration_s` | 5 | how long the count must stay above the threshold |
//!
//! Confidence: the mean detection score of the people counted.
//!
//! Limits: only people the tracker has confirmed are counted; in a dense crowd people hide one another and the
//! detector misses many, so the count is a lower bound and thresholds should be set from counts seen on the
//! camera, not from a head count.

use super::anchor;
use super::support::{Region, mean_score, watched};
use crate::engine::{FrameInput, Rule, RuleCtx, TrackObs};
use crate::lifecycle::Condition;
use vigie_core::{Result, err};

pub struct Density {
    regions: Vec<Region>,
    classes: Vec<String>,
    max_people: Option<u32>,
    max_per_m2: Option<f32>,
}

impl Density {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        if let Some(m) = ctx.cfg.max_per_m2
            && !(m > 0.0 && m.is_finite())
        {
            return Err(err!(Config, "rule {:?}: max_per_m2 must be > 0", ctx.cfg.id));
        }
        if ctx.cfg.max_people.is_none() && ctx.cfg.max_per_m2.is_none() {
            return Err(err!(
                Config,
                "rule {:?}: excessive_density needs max_people or max_per_m2",
                ctx.cfg.id
            ));
        }
        Ok(Density {
            regions: Region::of(&ctx.zones),
            classes: ctx.classes.clone(),
            max_people: ctx.cfg.max_people,
            max_per_m2: ctx.cfg.max_per_m2,
        })
    }

    /// The largest count allowed in `region` (the lower of the two thresholds that apply).
    fn limit(&self, region: &Region) -> f32 {
        let by_area = match (self.max_per_m2, region.zone.as_ref().and_then(|z| z.area_m2)) {
            (Some(d), Some(a)) => d * a,
            _ => f32::INFINITY,
        };
        self.max_people.map_or(f32::INFINITY, |m| m as f32).min(by_area)
    }
}

impl Rule for Density {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        let all = watched(f, &self.classes);
        for region in &self.regions {
            let people: Vec<&TrackObs> = all.iter().copied().filter(|o| region.contains(anchor(o))).collect();
            let limit = self.limit(region);
            if people.len() as f32 <= limit {
                continue;
            }
            let density = match region.zone.as_ref().and_then(|z| z.area_m2) {
                Some(a) => format!(" ({:.2} per m²)", people.len() as f32 / a),
                None => String::new(),
            };
            out.push(Condition {
                key: region.key.clone(),
                zone: region.zone_id(),
                line: None,
                track_ids: people.iter().map(|o| o.track_id).collect(),
                confidence: mean_score(people.iter().copied()),
                bbox: super::union(people.iter().map(|o| o.bbox)),
                detail: format!(
                    "{} people in {}{density}, above {}",
                    people.len(),
                    region.name(),
                    limit.floor()
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::event::Phase;

    const CFG: &str = r#"
        [[zone]]
        id = "square"
        polygon = [[0.0, 0.5], [0.5, 0.5], [0.5, 1.0], [0.0, 1.0]]
        area_m2 = 10.0
        [[rule]]
        id = "dense"
        type = "excessive_density"
        zones = ["square"]
        max_people = 5
    "#;

    /// `n` people in the zone, `outside` more outside it.
    fn crowd(i: i64, n: u64, outside: u64) -> crate::FrameInput {
        let mut o: Vec<_> = (0..n)
            .map(|k| person(k + 1, 50.0 + 40.0 * k as f32, 800.0, 100.0))
            .collect();
        o.extend((0..outside).map(|k| person(100 + k, 600.0 + 30.0 * k as f32, 800.0, 100.0)));
        frame(i, o)
    }

    #[test]
    fn above_max_people_for_five_seconds() {
        // 6 people for 8 s: raised at 5 s. 5 people (not above 5) and 9 outside for a minute: nothing.
        let ev = run(CFG, (0..40).map(|i| crowd(i, 6, 0)));
        assert_eq!(
            ev.iter().map(|e| e.phase).collect::<Vec<_>>(),
            vec![Phase::Start, Phase::End],
            "{ev:#?}"
        );
        assert_eq!(secs(ev[0].at), 5.0);
        assert_eq!(ev[0].zone.as_deref(), Some("square"));
        assert_eq!(ev[0].track_ids.len(), 6);
        assert!(run(CFG, (0..300).map(|i| crowd(i, 5, 9))).is_empty());
    }

    #[test]
    fn a_momentary_peak_is_not_density() {
        // 6 people for 3 s out of every 8 s: the gaps (5 s) are longer than end_after, no 5 s stretch.
        let ev = run(CFG, (0..400).map(|i| crowd(i, if i % 40 < 15 { 6 } else { 4 }, 0)));
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn a_count_flickering_around_the_threshold_is_one_event() {
        // 5 and 6 people on alternate frames (a person on the zone's border) for 30 s.
        let ev = run(CFG, (0..150).map(|i| crowd(i, 5 + (i % 2) as u64, 0)));
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
    }

    #[test]
    fn per_square_metre_and_whole_frame() {
        // 0.3 per m² on a 10 m² zone: above 3 people. 4 people: raised.
        let cfg = CFG.replace("max_people = 5", "max_per_m2 = 0.3");
        let ev = run(&cfg, (0..40).map(|i| crowd(i, 4, 0)));
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
        assert!(
            starts(&ev)[0].detail.contains("0.40 per m²"),
            "{}",
            starts(&ev)[0].detail
        );
        // Whole frame, more than 10: the 6 + 9 people count together.
        let cfg = "[[rule]]\nid = \"d\"\ntype = \"excessive_density\"\nmax_people = 10\n";
        let ev = run(cfg, (0..40).map(|i| crowd(i, 6, 9)));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].zone, None);
        assert_eq!(s[0].track_ids.len(), 15);
    }
}
