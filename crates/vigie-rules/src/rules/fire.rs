//! Fire start (`fire_start`): flame-like regions that persist in one place.
//!
//! # What it detects
//! The fire analysers of the pipeline (the flame-colour-and-flicker baseline, or a user's ONNX classifier) report
//! candidate regions with a score ([`FireObs`](crate::FireObs)). Regions scoring at least `min_score` (default
//! 0.5) are grouped into **clusters** by place: a region belongs to the cluster whose last box, grown by half its
//! size on each side, contains the region's centre; otherwise it starts a new cluster, named by the cell of an
//! 8 × 8 grid over the frame where it first appeared (key `frame:fire:X,Y` or `zone:ID:fire:X,Y`; two clusters
//! born in the same cell are one). A flame's outline changes every frame, so its regions move about a little:
//! following the cluster's last box keeps one flame one situation, where a fixed grid would split it at cell
//! borders. The lifecycle raises the alert when a cluster has been seen for `min_duration_s` (default 3 s), with
//! gaps under `end_after_s` bridged. Clusters unseen for 30 s are forgotten.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | the whole frame | where the region's centre must be |
//! | `min_score` | 0.5 | regions scoring less are ignored |
//! | `min_duration_s` | 3 | how long a cluster must persist before the alert |
//!
//! `classes` does not apply (the regions are not tracked objects). Confidence: the best region score of the
//! frame. Accuracy, measured: `docs/accuracy.md` (the baseline was never tested on real fire).

use super::support::Region;
use crate::engine::{FrameInput, Rule, RuleCtx};
use crate::lifecycle::Condition;
use vigie_core::{BBox, Result, Time90k, err};

/// Grid cells per side that name the clusters.
const GRID: u32 = 8;
/// A cluster unseen this long is forgotten.
const FORGET_S: f64 = 30.0;

#[derive(Clone, Debug)]
struct Cluster {
    name: String,
    bbox: BBox,
    last: Time90k,
}

pub struct FireStart {
    regions: Vec<Region>,
    min_score: f32,
    width: u32,
    height: u32,
    clusters: Vec<Cluster>,
}

impl FireStart {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        let min_score = ctx.cfg.min_score.unwrap_or(0.5);
        if !(0.0..=1.0).contains(&min_score) {
            return Err(err!(Config, "min_score must be within 0..1"));
        }
        Ok(FireStart {
            regions: Region::of(&ctx.zones),
            min_score,
            width: ctx.width.max(1),
            height: ctx.height.max(1),
            clusters: Vec::new(),
        })
    }

    fn cell(&self, b: &BBox) -> String {
        let c = b.center();
        let gx = ((c.x / self.width as f32 * GRID as f32).floor() as i64).clamp(0, GRID as i64 - 1);
        let gy = ((c.y / self.height as f32 * GRID as f32).floor() as i64).clamp(0, GRID as i64 - 1);
        format!("fire:{gx},{gy}")
    }
}

fn grown_contains(b: &BBox, p: vigie_core::Point) -> bool {
    let (gw, gh) = (b.width() * 0.5, b.height() * 0.5);
    p.x >= b.x1 - gw && p.x <= b.x2 + gw && p.y >= b.y1 - gh && p.y <= b.y2 + gh
}

impl Rule for FireStart {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        let t = f.t;
        // The regions over the threshold, in an order that does not depend on the input's.
        let mut regs: Vec<(BBox, f32)> = f
            .fire
            .iter()
            .filter(|r| r.score >= self.min_score && r.score.is_finite() && r.bbox.is_finite())
            .map(|r| (r.bbox, r.score))
            .collect();
        regs.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then(a.0.y1.total_cmp(&b.0.y1))
                .then(a.0.x1.total_cmp(&b.0.x1))
                .then(a.0.y2.total_cmp(&b.0.y2))
                .then(a.0.x2.total_cmp(&b.0.x2))
        });
        // This frame's regions per cluster index: (union box, best score, count).
        let mut hits: Vec<(usize, BBox, f32, u32)> = Vec::new();
        for (b, score) in regs {
            let c = b.center();
            let found = self
                .clusters
                .iter()
                .position(|k| grown_contains(&k.bbox, c))
                .or_else(|| {
                    let name = self.cell(&b);
                    self.clusters.iter().position(|k| k.name == name)
                });
            let idx = match found {
                Some(i) => i,
                None => {
                    self.clusters.push(Cluster {
                        name: self.cell(&b),
                        bbox: b,
                        last: t,
                    });
                    self.clusters.len() - 1
                }
            };
            match hits.iter_mut().find(|h| h.0 == idx) {
                Some(h) => {
                    h.1 = BBox::new(h.1.x1.min(b.x1), h.1.y1.min(b.y1), h.1.x2.max(b.x2), h.1.y2.max(b.y2));
                    h.2 = h.2.max(score);
                    h.3 += 1;
                }
                None => hits.push((idx, b, score, 1)),
            }
        }
        for (idx, b, score, n) in &hits {
            let k = &mut self.clusters[*idx];
            k.bbox = *b;
            k.last = t;
            let c = b.center();
            for r in self.regions.iter().filter(|r| r.contains(c)) {
                out.push(Condition {
                    key: format!("{}:{}", r.key, k.name),
                    zone: r.zone_id(),
                    line: None,
                    track_ids: Vec::new(),
                    confidence: score.clamp(0.0, 1.0),
                    bbox: Some(*b),
                    detail: format!(
                        "flame-like region{} (score {score:.2}) in {}",
                        if *n > 1 { format!("s ({n})") } else { String::new() },
                        r.name()
                    ),
                });
            }
        }
        let forget = Time90k::from_secs_f64(FORGET_S);
        self.clusters.retain(|k| t.0 - k.last.0 <= forget.0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::engine::{FireObs, FrameInput};
    use vigie_core::BBox;

    const RULE: &str = "[[rule]]\nid = \"fire\"\ntype = \"fire_start\"\n";

    fn region(x: f32, y: f32, s: f32, score: f32) -> FireObs {
        FireObs {
            bbox: BBox::new(x, y, x + s, y + s * 1.5),
            score,
        }
    }

    fn frames(n: i64, at: impl Fn(i64) -> Vec<FireObs>) -> Vec<FrameInput> {
        (0..n)
            .map(|i| FrameInput {
                fire: at(i),
                ..frame(i, vec![])
            })
            .collect()
    }

    #[test]
    fn a_persistent_flickering_region_alerts_once() {
        // A flame at (490, 490) whose box wobbles by up to 12 px across a cell border (500), missing one frame in
        // four, for 10 s.
        let ev = run(
            RULE,
            frames(50, |i| {
                if i % 4 == 3 {
                    return vec![];
                }
                let d = ((i * 7) % 5) as f32 * 6.0 - 12.0;
                vec![region(490.0 + d, 490.0 - d, 30.0, 0.8)]
            }),
        );
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:?}");
        // Held 3 s from 0 s; the frame at 3.0 s has no region, so it is raised at 3.2 s.
        assert!(
            (secs(s[0].at) - 3.2).abs() < 1e-6 && secs(s[0].start) == 0.0,
            "{:?}",
            s[0]
        );
        assert!(s[0].track_ids.is_empty() && s[0].detail.contains("0.80"), "{:?}", s[0]);
    }

    #[test]
    fn short_weak_or_scattered_regions_do_not() {
        // 2 s only.
        assert!(starts(&run(RULE, frames(10, |_| vec![region(100.0, 100.0, 20.0, 0.9)]))).is_empty());
        // Weak for 10 s.
        assert!(starts(&run(RULE, frames(50, |_| vec![region(100.0, 100.0, 20.0, 0.4)]))).is_empty());
        // A different place every frame (a walker's orange coat crossing): each place is seen once.
        let ev = run(
            RULE,
            frames(50, |i| {
                vec![region((i * 19 % 900) as f32, (i * 37 % 900) as f32, 20.0, 0.9)]
            }),
        );
        assert!(starts(&ev).is_empty(), "{ev:?}");
        // min_score lowered: the weak one alerts.
        let ev = run(
            &format!("{RULE}min_score = 0.3\n"),
            frames(50, |_| vec![region(100.0, 100.0, 20.0, 0.4)]),
        );
        assert_eq!(starts(&ev).len(), 1);
    }

    #[test]
    fn two_fires_two_events_in_zones() {
        let zones = "[[zone]]\nid = \"left\"\npolygon = [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]\n";
        let both = |_| vec![region(800.0, 200.0, 30.0, 0.7), region(100.0, 600.0, 30.0, 0.9)];
        let ev = run(RULE, frames(30, both));
        let s = starts(&ev);
        assert_eq!(s.len(), 2, "{ev:?}");
        // Only the left one in zone "left".
        let ev = run(&format!("{zones}{RULE}zones = [\"left\"]\n"), frames(30, both));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:?}");
        assert_eq!(s[0].zone.as_deref(), Some("left"));
        // Input order does not matter.
        let a = run(RULE, frames(30, both));
        let b = run(RULE, frames(30, |i| both(i).into_iter().rev().collect()));
        assert_eq!(a, b);
    }

    #[test]
    fn bad_min_score_is_a_config_error() {
        let cfg = crate::config::RulesConfig::parse(&format!("{RULE}min_score = 1.5\n"), "t").unwrap();
        let e = crate::engine::Engine::new(&cfg, "cam", W, H, &labels()).err().unwrap();
        assert_eq!(e.kind(), vigie_core::ErrorKind::Config);
    }
}
