//! Crowd movement (`crowd_movement`): many people suddenly running (a rush) or scattering (a dispersal) at once.
//!
//! # What it detects
//! In each region (each of the rule's zones, or the whole frame when it names none), among the people (watched
//! classes) whose ground anchor (bottom-centre of the box) is inside it. Speeds and distances are in person
//! heights (a person's box height), so the rule needs no calibration and works at any distance and resolution;
//! walking is about 0.5-0.9 person heights per second, running 1.5-3.
//!
//! - **Rush**: each person's speed is the least-squares velocity of their anchor over the last 1 s (at least
//!   0.6 s and 4 observations) divided by their mean box height over it. The *median* speed of the people is
//!   compared with its baseline, the median of the per-frame medians from 10 s to 1 s ago (at least 2 s of them).
//!   The condition holds when the median speed is at least `speed_factor` × max(baseline, 0.5 person heights/s)
//!   and at least `min_people` people are each that fast. The floor (0.5) keeps a still scene whose people start
//!   walking (0.05 → 0.8) from counting as a rush: with the default factor the trigger is never below 1.25
//!   person heights/s, a run.
//! - **Dispersal**: for the people seen both now and about 2 s ago (1.5-2.5 s), the spread is their mean distance
//!   to their centroid, in median person heights. The condition holds when at least `min_people` of them are there
//!   and the spread grew by `speed_factor` (spread now ≥ factor × max(spread then, 0.5)) and grew at least
//!   `speed_factor` × 0.5 person heights per second (people running apart, not a group that parts walking).
//!
//! - **In metres** (`min_speed_mps`, for zones with a ground scale `metres_per_pixel`): the people moving must also
//!   be that fast on the ground: in a rush, each of the fast people (anchor speed in pixels per second × the
//!   zone's scale); in a dispersal, the median of the people's speeds over the 2 s. A relative rise alone can be
//!   a crowd going from strolling to walking briskly; an absolute speed (running is above about 2.5 m/s) says
//!   they run.
//!
//! One condition per region (key `zone:ID` or `frame`) for either movement, with the people involved; the
//! lifecycle raises the alert once it has held for `min_duration_s` (default 1 s). It ends by itself when the
//! movement stops, or when it has lasted long enough (~10 s) to become the new baseline.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | none (whole frame) | regions watched separately |
//! | `classes` | person | who counts |
//! | `min_people` | 6 | people moving at once, at least 2 |
//! | `speed_factor` | 2.5 | rise of the median speed (or of the spread) over its baseline, > 1 |
//! | `min_speed_mps` | none | the people moving are also at least this fast in m/s; needs every zone's `metres_per_pixel` |
//! | `min_duration_s` | 1 | how long the movement must last |
//!
//! Confidence: the mean detection score of the people involved.
//!
//! Limits: a person's box height shrinks when they are cut by the frame's edge or hidden, which inflates their
//! speed; the median over at least `min_people` people absorbs a few such. The tracker must keep up with running
//! people (at 5 analysed frames per second a runner moves about half a body height per frame).

use super::anchor;
use super::support::{Paths, Region, mean_score, median, recent, velocity, watched};
use crate::engine::{FrameInput, Rule, RuleCtx, TrackObs};
use crate::lifecycle::Condition;
use std::collections::VecDeque;
use vigie_core::{Point, Result, Time90k, err};

/// Person speed window.
const SPEED_WINDOW_S: f64 = 1.0;
const SPEED_MIN_SPAN_S: f64 = 0.6;
const SPEED_MIN_SAMPLES: usize = 4;
/// Baseline: per-frame medians from `BASELINE_S` to `BASELINE_LAG_S` ago, spanning at least `BASELINE_MIN_S`.
const BASELINE_S: f64 = 10.0;
const BASELINE_LAG_S: f64 = 1.0;
const BASELINE_MIN_S: f64 = 2.0;
/// Speed floor of the baseline, person heights per second.
const SPEED_FLOOR: f32 = 0.5;
/// Dispersal: compare with positions this long ago (within ±0.5 s).
const SPREAD_LAG_S: f64 = 2.0;
/// Spread floor, person heights.
const SPREAD_FLOOR: f32 = 0.5;

pub struct CrowdMovement {
    regions: Vec<Region>,
    classes: Vec<String>,
    min_people: usize,
    factor: f32,
    /// With a ground scale: the people moving are at least this fast, m/s.
    min_speed_mps: Option<f32>,
    paths: Paths,
    /// Per region: (time, median speed) of the recent frames with enough people.
    medians: Vec<VecDeque<(Time90k, f32)>>,
}

impl CrowdMovement {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        let min_people = ctx.cfg.min_people.unwrap_or(6);
        let factor = ctx.cfg.speed_factor.unwrap_or(2.5);
        if min_people < 2 {
            return Err(err!(Config, "rule {:?}: min_people must be at least 2", ctx.cfg.id));
        }
        if !(factor > 1.0 && factor.is_finite()) {
            return Err(err!(Config, "rule {:?}: speed_factor must be > 1", ctx.cfg.id));
        }
        let min_speed_mps = ctx.cfg.min_speed_mps;
        if min_speed_mps.is_some() && (ctx.zones.is_empty() || ctx.zones.iter().any(|z| z.metres_per_pixel.is_none())) {
            return Err(err!(
                Config,
                "rule {:?}: min_speed_mps needs zones with `metres_per_pixel`",
                ctx.cfg.id
            ));
        }
        let regions = Region::of(&ctx.zones);
        Ok(CrowdMovement {
            medians: vec![VecDeque::new(); regions.len()],
            regions,
            classes: ctx.classes.clone(),
            min_people: min_people as usize,
            factor,
            min_speed_mps,
            paths: Paths::new(SPREAD_LAG_S + 0.6),
        })
    }

    /// Speed of `o` in person heights per second and in pixels per second, if its path is long enough.
    fn speed(&self, o: &TrackObs, t: Time90k) -> Option<(f32, f32)> {
        let path = self.paths.get(o.track_id)?;
        let w = Time90k::from_secs_f64(SPEED_WINDOW_S);
        let v = velocity(
            recent(path, t, w),
            SPEED_MIN_SAMPLES,
            Time90k::from_secs_f64(SPEED_MIN_SPAN_S),
        )?;
        let (sum, n) = recent(path, t, w).fold((0.0f32, 0u32), |(s, n), x| (s + x.height, n + 1));
        let h = sum / n.max(1) as f32;
        if h <= 1.0 {
            return None;
        }
        let px = (v.x * v.x + v.y * v.y).sqrt();
        Some((px / h, px))
    }

    /// The region's ground scale, metres per pixel, when the rule takes metres.
    fn metres_per_pixel(&self, ri: usize) -> Option<f32> {
        self.min_speed_mps?;
        self.regions[ri].zone.as_ref()?.metres_per_pixel
    }

    /// Whether a speed of `px_per_s` in region `ri` passes `min_speed_mps` (always, without one).
    fn fast_on_the_ground(&self, ri: usize, px_per_s: f32) -> bool {
        match (self.min_speed_mps, self.metres_per_pixel(ri)) {
            (Some(min), Some(mpp)) => px_per_s * mpp >= min,
            _ => true,
        }
    }

    fn rush(&mut self, ri: usize, t: Time90k, people: &[&TrackObs]) -> Option<Condition> {
        let speeds: Vec<(&TrackObs, f32, f32)> = people
            .iter()
            .filter_map(|o| self.speed(o, t).map(|(v, px)| (*o, v, px)))
            .collect();
        if speeds.len() < self.min_people {
            return None;
        }
        let mut vs: Vec<f32> = speeds.iter().map(|s| s.1).collect();
        let m = median(&mut vs)?;
        // Baseline from the frames before this one, then remember this frame's median.
        let hist = &mut self.medians[ri];
        let (from, to) = (
            t.0 - Time90k::from_secs_f64(BASELINE_S).0,
            t.0 - Time90k::from_secs_f64(BASELINE_LAG_S).0,
        );
        while hist.front().is_some_and(|(ht, _)| ht.0 < from) {
            hist.pop_front();
        }
        let mut base: Vec<f32> = hist.iter().filter(|(ht, _)| ht.0 <= to).map(|x| x.1).collect();
        let span = hist
            .iter()
            .filter(|(ht, _)| ht.0 <= to)
            .map(|x| x.0.0)
            .fold(None, |a: Option<(i64, i64)>, ht| {
                Some(a.map_or((ht, ht), |(lo, hi)| (lo.min(ht), hi.max(ht))))
            });
        hist.push_back((t, m));
        let (lo, hi) = span?;
        if hi - lo < Time90k::from_secs_f64(BASELINE_MIN_S).0 {
            return None;
        }
        let baseline = median(&mut base)?;
        let trigger = self.factor * baseline.max(SPEED_FLOOR);
        let fast: Vec<(&TrackObs, f32)> = speeds
            .iter()
            .filter(|s| s.1 >= trigger && self.fast_on_the_ground(ri, s.2))
            .map(|s| (s.0, s.2))
            .collect();
        if m < trigger || fast.len() < self.min_people {
            return None;
        }
        let on_ground = match self.metres_per_pixel(ri) {
            Some(mpp) => {
                let mut v: Vec<f32> = fast.iter().map(|f| f.1 * mpp).collect();
                format!(" ({:.1} m/s)", median(&mut v).unwrap_or(0.0))
            }
            None => String::new(),
        };
        let fast: Vec<&TrackObs> = fast.into_iter().map(|f| f.0).collect();
        let region = &self.regions[ri];
        Some(Condition {
            key: region.key.clone(),
            zone: region.zone_id(),
            line: None,
            track_ids: fast.iter().map(|o| o.track_id).collect(),
            confidence: mean_score(fast.iter().copied()),
            bbox: super::union(fast.iter().map(|o| o.bbox)),
            detail: format!(
                "rush in {}: {} people moving fast, median speed {m:.2} person heights/s{on_ground} against {baseline:.2} before",
                region.name(),
                fast.len()
            ),
        })
    }

    fn dispersal(&self, ri: usize, t: Time90k, people: &[&TrackObs]) -> Option<Condition> {
        let lag = Time90k::from_secs_f64(SPREAD_LAG_S);
        let half = Time90k::from_secs_f64(0.5);
        // (person, position then, position now, seconds between)
        let mut pairs: Vec<(&TrackObs, Point, Point, f64)> = Vec::new();
        for o in people {
            let Some(path) = self.paths.get(o.track_id) else {
                continue;
            };
            let Some(then) = path
                .iter()
                .filter(|s| (t.0 - s.t.0 - lag.0).abs() <= half.0)
                .min_by_key(|s| ((t.0 - s.t.0 - lag.0).abs(), s.t.0))
            else {
                continue; // not seen long enough
            };
            pairs.push((o, then.anchor, anchor(o), (t.0 - then.t.0) as f64 / Time90k::HZ as f64));
        }
        if pairs.len() < self.min_people {
            return None;
        }
        let mut heights: Vec<f32> = pairs.iter().map(|p| p.0.bbox.height()).collect();
        let h = median(&mut heights)?.max(1.0);
        let spread = |pts: &[Point]| {
            let n = pts.len() as f32;
            let c = Point::new(
                pts.iter().map(|p| p.x).sum::<f32>() / n,
                pts.iter().map(|p| p.y).sum::<f32>() / n,
            );
            pts.iter().map(|p| p.distance(c)).sum::<f32>() / n / h
        };
        let before = spread(&pairs.iter().map(|p| p.1).collect::<Vec<_>>());
        let now = spread(&pairs.iter().map(|p| p.2).collect::<Vec<_>>());
        let dt = pairs.iter().map(|p| p.3).sum::<f64>() as f32 / pairs.len() as f32;
        let rate = (now - before) / dt.max(0.1);
        if now < self.factor * before.max(SPREAD_FLOOR) || rate < self.factor * SPEED_FLOOR {
            return None;
        }
        let on_ground = match self.metres_per_pixel(ri) {
            Some(mpp) => {
                let mut v: Vec<f32> = pairs
                    .iter()
                    .map(|p| p.1.distance(p.2) / p.3.max(0.1) as f32 * mpp)
                    .collect();
                let m = median(&mut v).unwrap_or(0.0);
                if !self.fast_on_the_ground(ri, m / mpp) {
                    return None;
                }
                format!(" at {m:.1} m/s")
            }
            None => String::new(),
        };
        let region = &self.regions[ri];
        Some(Condition {
            key: region.key.clone(),
            zone: region.zone_id(),
            line: None,
            track_ids: pairs.iter().map(|p| p.0.track_id).collect(),
            confidence: mean_score(pairs.iter().map(|p| p.0)),
            bbox: super::union(pairs.iter().map(|p| p.0.bbox)),
            detail: format!(
                "dispersal in {}: {} people spreading from {before:.1} to {now:.1} person heights in {dt:.1} s{on_ground}",
                region.name(),
                pairs.len()
            ),
        })
    }
}

impl Rule for CrowdMovement {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        let classes = &self.classes;
        self.paths.update(f, |o| classes.contains(&o.class));
        let all = watched(f, &self.classes);
        for ri in 0..self.regions.len() {
            let people: Vec<&TrackObs> = all
                .iter()
                .copied()
                .filter(|o| self.regions[ri].contains(anchor(o)))
                .collect();
            // The rush is computed every frame (it keeps the baseline); a dispersal is reported when there is none.
            let rush = self.rush(ri, f.t, &people);
            if let Some(c) = rush.or_else(|| self.dispersal(ri, f.t, &people)) {
                out.push(c);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;

    const CFG: &str = r#"
        [[rule]]
        id = "crowd"
        type = "crowd_movement"
    "#;

    /// `n` people 100 px high on a grid, walking right at `v(i)` person heights per second (`v` gives the
    /// speed at each frame), rows 150 px apart.
    fn walkers(n: u64, frames: i64, v: impl Fn(i64) -> f32) -> Vec<crate::FrameInput> {
        let mut xs: Vec<f32> = (0..n).map(|k| 50.0 + 60.0 * (k % 4) as f32).collect();
        (0..frames)
            .map(|i| {
                for x in xs.iter_mut() {
                    *x += v(i) * 100.0 * 0.2;
                }
                let o = (0..n)
                    .map(|k| person(k + 1, xs[k as usize], 200.0 + 150.0 * (k / 4) as f32, 100.0))
                    .collect();
                frame(i, o)
            })
            .collect()
    }

    #[test]
    fn a_sudden_run_is_a_rush() {
        // 8 people walk at 0.7 heights/s for 12 s, then run at 2.5 for 3 s, then walk again.
        let ev = run(CFG, walkers(8, 100, |i| if (60..75).contains(&i) { 2.5 } else { 0.7 }));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert!(s[0].detail.starts_with("rush"), "{}", s[0].detail);
        assert!((12.0..13.5).contains(&secs(s[0].start)), "{:?}", s[0]);
        assert_eq!(s[0].track_ids.len(), 8);
    }

    #[test]
    fn steady_walking_and_starting_to_walk_are_not_a_rush() {
        // Walking at 0.8 for 40 s; standing for 10 s, then walking at 0.9: the floor keeps it quiet.
        assert!(run(CFG, walkers(8, 200, |_| 0.8)).is_empty());
        let ev = run(CFG, walkers(8, 200, |i| if i < 50 { 0.0 } else { 0.9 }));
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn too_few_runners_are_not_a_crowd() {
        // 5 people (< 6) running suddenly.
        let ev = run(CFG, walkers(5, 100, |i| if i >= 60 { 3.0 } else { 0.5 }));
        assert!(ev.is_empty(), "{ev:#?}");
    }

    /// 8 people in a tight ring (radius 60 px, 100 px high) for 10 s (50 frames), then moving outwards at `speed`
    /// person heights per second; `n` frames at 5 fps.
    fn ring(n: i64, speed: f32) -> Vec<crate::engine::FrameInput> {
        (0..n)
            .map(|i| {
                let r = 60.0
                    + if i >= 50 {
                        speed * 100.0 * 0.2 * (i - 50) as f32
                    } else {
                        0.0
                    };
                let o = (0..8)
                    .map(|k| {
                        let a = k as f32 * std::f32::consts::TAU / 8.0;
                        person(k + 1, 500.0 + r * a.cos(), 500.0 + r * a.sin(), 100.0)
                    })
                    .collect();
                frame(i, o)
            })
            .collect()
    }

    #[test]
    fn a_crowd_scattering_is_a_dispersal() {
        // 8 people stand in a tight ring (radius 60 px, 100 px high) for 10 s, then run outwards at 2 heights/s.
        let fr = ring(80, 2.0);
        let ev = run(CFG, fr.clone());
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        // Running outwards is also a rush (from standing, 2 > 2.5 × 0.5): either description is right, but it is
        // one event.
        assert!((10.0..12.0).contains(&secs(s[0].start)), "{:?}", s[0]);
    }

    #[test]
    fn a_group_parting_at_walking_pace_is_not_a_dispersal() {
        // 8 people in a tight ring, then walking outwards at 0.6 heights/s.
        let fr = ring(100, 0.6);
        let ev = run(CFG, fr);
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn a_ground_scale_adds_a_speed_in_metres() {
        // The same sudden run (0.2 → 2.5 person heights/s = 20 → 250 px/s, for 2 s, staying in the frame) on a
        // zone at 1 cm per pixel (2.5 m/s) and one at 0.5 cm per pixel (the people are small children or far
        // away: 1.25 m/s): with min_speed_mps = 2, a rush on the first only.
        let cfg = |mpp: f32| {
            format!(
                r#"
                [[zone]]
                id = "all"
                polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
                metres_per_pixel = {mpp}
                [[rule]]
                id = "crowd"
                type = "crowd_movement"
                zones = ["all"]
                min_speed_mps = 2.0
            "#
            )
        };
        let run_at = |i: i64| if (60..70).contains(&i) { 2.5 } else { 0.2 };
        let ev = run(&cfg(0.01), walkers(8, 100, run_at));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert!(s[0].detail.contains("(2.5 m/s)"), "{}", s[0].detail);
        assert!(run(&cfg(0.005), walkers(8, 100, run_at)).is_empty());
        // Scattering at 2 heights/s (200 px/s) is 2 m/s at 1 cm per pixel, 1 m/s at 0.5 cm.
        assert_eq!(starts(&run(&cfg(0.01), ring(80, 2.0))).len(), 1);
        assert!(run(&cfg(0.005), ring(80, 2.0)).is_empty());
    }

    #[test]
    fn zones_are_separate() {
        // The rush happens in the left half only; the rule watches the right half.
        let cfg = r#"
            [[zone]]
            id = "right"
            polygon = [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0], [0.5, 1.0]]
            [[rule]]
            id = "crowd"
            type = "crowd_movement"
            zones = ["right"]
            min_people = 4
        "#;
        // The walkers start at x 50-230 and run 1 s at 2.5 (50 px): they stay in the left half.
        let ev = run(cfg, walkers(8, 100, |i| if (60..65).contains(&i) { 2.5 } else { 0.0 }));
        assert!(ev.is_empty(), "{ev:#?}");
    }
}
