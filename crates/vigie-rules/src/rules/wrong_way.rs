//! Wrong way (`wrong_way`): a person or vehicle moving against the allowed direction of travel of a zone.
//!
//! # What it detects
//! A track of a watched class whose ground anchor (bottom-centre of its box) is inside one of the rule's zones
//! now, and which, over its recent path:
//! - moves against the zone's `direction` (an image vector, see [`ZoneConfig`](crate::config::ZoneConfig)) at
//!   `min_speed` or faster over the last 1.5 s of its anchor path (at least 1 s and 4 observations): its
//!   displacement against the direction, summed step by step between observations and divided by the time
//!   spanned, where a step against the direction more than 3 times longer than the window's median step is left
//!   out: a box that jumps once (the tracker moving an id from one person to another, which happens where people
//!   cross) is not movement, while someone walking takes many similar steps;
//! - and has travelled at least `min_distance` against it: the anchor is that far behind the furthest point along
//!   the direction that the track reached in the last 10 s (so a turn-about counts from where it turned).
//!
//! Speeds and distances are in frame widths (per second), measured along the direction in pixels and divided by
//! the frame width, so the settings survive a change of resolution; or, where the zones have a ground scale
//! (`metres_per_pixel`), in metres (per second) with `min_speed_mps` and `min_distance_m`, measured along the
//! direction in pixels and multiplied by the zone's scale. One condition per track and zone (key
//! `zone:ID:track:N`); the lifecycle's `min_duration_s` (default 1 s) is how long the movement must last, so with
//! the 1.5 s velocity window an alert starts about 2.5 s after someone turns against the flow.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | required | zones, each with a `direction` (a config error otherwise) |
//! | `classes` | person, bicycle, motorcycle, car, bus, truck | what is watched |
//! | `min_speed` | 0.03 | frame widths per second against the direction (a walker crossing a 10 m wide view in 8 s does ~0.12) |
//! | `min_distance` | 0.05 | frame widths travelled against the direction |
//! | `min_speed_mps` | none | instead of `min_speed`: m/s against the direction (walking is 1-1.5); needs every zone's `metres_per_pixel` |
//! | `min_distance_m` | none | instead of `min_distance`: metres travelled against the direction; needs every zone's `metres_per_pixel` |
//! | `min_duration_s` | 1.0 | the movement lasts this long before the alert |
//!
//! Confidence: the track's best detection score over the velocity window.
//!
//! Limits: the direction is in the image plane; a lane seen in strong perspective may need several zones with
//! their own directions. Jitter of a standing person's box (a few pixels) stays far below `min_speed`.

use super::support::{Paths, Sample, median, recent};
use crate::config::Zone;
use crate::engine::{FrameInput, Rule, RuleCtx};
use crate::lifecycle::Condition;
use vigie_core::{Point, Result, Time90k, err};

/// Velocity window.
const WINDOW_S: f64 = 1.5;
/// A velocity needs at least this span of path.
const MIN_SPAN_S: f64 = 1.0;
const MIN_SAMPLES: usize = 4;
/// A step this many times longer than the median step of the window is a jump of the box, not walking.
const JUMP_RATIO: f32 = 3.0;
/// How far back the distance travelled against the direction is measured.
const KEEP_S: f64 = 10.0;

/// The unit of a threshold.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    FrameWidths,
    Metres,
}

impl Unit {
    fn name(self, per_second: bool) -> &'static str {
        match (self, per_second) {
            (Unit::FrameWidths, false) => "frame widths",
            (Unit::FrameWidths, true) => "frame widths/s",
            (Unit::Metres, false) => "m",
            (Unit::Metres, true) => "m/s",
        }
    }
}

pub struct WrongWay {
    zones: Vec<Zone>,
    classes: Vec<String>,
    width: f32,
    min_speed: f32,
    speed_unit: Unit,
    min_distance: f32,
    distance_unit: Unit,
    paths: Paths,
}

impl WrongWay {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        let (min_speed, speed_unit) = match ctx.cfg.min_speed_mps {
            Some(v) => (v, Unit::Metres),
            None => (ctx.cfg.min_speed.unwrap_or(0.03), Unit::FrameWidths),
        };
        let (min_distance, distance_unit) = match ctx.cfg.min_distance_m {
            Some(v) => (v, Unit::Metres),
            None => (ctx.cfg.min_distance.unwrap_or(0.05), Unit::FrameWidths),
        };
        if (speed_unit == Unit::Metres || distance_unit == Unit::Metres)
            && ctx.zones.iter().any(|z| z.metres_per_pixel.is_none())
        {
            return Err(err!(
                Config,
                "rule {:?}: min_speed_mps and min_distance_m need zones with `metres_per_pixel`",
                ctx.cfg.id
            ));
        }
        if !(min_speed > 0.0 && min_speed.is_finite()) {
            return Err(err!(Config, "rule {:?}: min_speed must be > 0", ctx.cfg.id));
        }
        if !(min_distance >= 0.0 && min_distance.is_finite()) {
            return Err(err!(Config, "rule {:?}: min_distance must be >= 0", ctx.cfg.id));
        }
        if ctx.zones.iter().any(|z| z.direction.is_none()) || ctx.zones.is_empty() {
            return Err(err!(
                Config,
                "rule {:?}: wrong_way needs zones with a `direction`",
                ctx.cfg.id
            ));
        }
        Ok(WrongWay {
            zones: ctx.zones.clone(),
            classes: ctx.classes.clone(),
            width: ctx.width.max(1) as f32,
            min_speed,
            speed_unit,
            min_distance,
            distance_unit,
            paths: Paths::new(KEEP_S),
        })
    }
}

impl WrongWay {
    /// Pixels to the unit `u` in zone `z`.
    fn scale(&self, u: Unit, z: &Zone) -> f32 {
        match u {
            Unit::FrameWidths => 1.0 / self.width,
            Unit::Metres => z.metres_per_pixel.unwrap_or(0.0),
        }
    }

    /// Speed against the direction `d` over `samples`, pixels per second: the anchor's displacement against `d`,
    /// step by step, summed without a jump, over the time spanned. `None` with too short a path.
    fn against_speed<'a>(&self, samples: impl Iterator<Item = &'a Sample>, d: Point) -> Option<f32> {
        let s: Vec<&Sample> = samples.collect();
        if s.len() < MIN_SAMPLES || s[s.len() - 1].t.0 - s[0].t.0 < Time90k::from_secs_f64(MIN_SPAN_S).0 {
            return None;
        }
        let steps: Vec<f32> = s
            .windows(2)
            .map(|w| -((w[1].anchor.x - w[0].anchor.x) * d.x + (w[1].anchor.y - w[0].anchor.y) * d.y))
            .collect();
        // A jump: the largest step against the direction, over JUMP_RATIO times the median step length.
        let largest = steps.iter().copied().fold(0.0f32, f32::max);
        let mut lengths: Vec<f32> = steps.iter().map(|a| a.abs()).collect();
        let typical = median(&mut lengths).unwrap_or(0.0).max(1.0);
        let jump = if largest > JUMP_RATIO * typical { largest } else { 0.0 };
        let span = (s[s.len() - 1].t.0 - s[0].t.0) as f32 / Time90k::HZ as f32;
        Some((steps.iter().sum::<f32>() - jump) / span)
    }
}

impl Rule for WrongWay {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        let classes = &self.classes;
        self.paths.update(f, |o| classes.contains(&o.class));
        let window = Time90k::from_secs_f64(WINDOW_S);
        for o in super::support::watched(f, &self.classes) {
            let Some(path) = self.paths.get(o.track_id) else {
                continue;
            };
            let p = super::anchor(o);
            for z in self.zones.iter().filter(|z| z.polygon.contains(p)) {
                let Some(d) = z.direction else { continue };
                let Some(against_speed_px) = self.against_speed(recent(path, f.t, window), d) else {
                    continue;
                };
                let against_speed = against_speed_px * self.scale(self.speed_unit, z);
                if against_speed < self.min_speed {
                    continue;
                }
                let along = |q: vigie_core::Point| q.x * d.x + q.y * d.y;
                let furthest = path.iter().map(|s| along(s.anchor)).fold(f32::NEG_INFINITY, f32::max);
                let against_dist = (furthest - along(p)) * self.scale(self.distance_unit, z);
                if against_dist < self.min_distance {
                    continue;
                }
                let confidence = recent(path, f.t, window)
                    .map(|s| s.score)
                    .fold(0.0f32, f32::max)
                    .min(1.0);
                out.push(Condition {
                    key: format!("zone:{}:track:{}", z.id, o.track_id),
                    zone: Some(z.id.clone()),
                    line: None,
                    track_ids: vec![o.track_id],
                    confidence,
                    bbox: Some(o.bbox),
                    detail: format!(
                        "{} {} moving against the direction of zone {} at {:.2} {} ({:.2} {} so far)",
                        o.class,
                        o.track_id,
                        z.id,
                        against_speed,
                        self.speed_unit.name(true),
                        against_dist,
                        self.distance_unit.name(false)
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::event::Phase;

    /// A walkway over the middle band, traffic allowed left to right.
    const CFG: &str = r#"
        [[zone]]
        id = "walk"
        polygon = [[0.0, 0.3], [1.0, 0.3], [1.0, 0.7], [0.0, 0.7]]
        direction = [1.0, 0.0]
        [[rule]]
        id = "ww"
        type = "wrong_way"
        zones = ["walk"]
    "#;

    /// A person walking at `vx` pixels per analysed frame (0.2 s) from `x0`, for `n` frames.
    fn walker(x0: f32, vx: f32, n: i64) -> Vec<(i64, vigie_core::Point)> {
        (0..n)
            .map(|i| (i, vigie_core::Point::new(x0 + vx * i as f32, 500.0)))
            .collect()
    }

    fn frames(tracks: &[(u64, Vec<(i64, vigie_core::Point)>)], n: i64) -> Vec<crate::FrameInput> {
        (0..n)
            .map(|i| {
                let objs = tracks
                    .iter()
                    .filter_map(|(id, path)| {
                        path.iter()
                            .find(|(j, _)| *j == i)
                            .map(|(_, p)| person(*id, p.x, p.y, 150.0))
                    })
                    .collect();
                frame(i, objs)
            })
            .collect()
    }

    #[test]
    fn against_the_flow_is_flagged_with_the_flow_is_not() {
        // 0.1 frame widths per second = 20 px per frame on a 1000 px frame.
        let with = walker(50.0, 20.0, 40);
        let against = walker(950.0, -20.0, 40);
        let ev = run(CFG, frames(&[(1, with), (2, against)], 40));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].track_ids, vec![tid(2)]);
        assert_eq!(s[0].zone.as_deref(), Some("walk"));
        // Velocity needs 1 s of path (frame 5), then 1 s of condition: started at 1.0 s, raised at 2.0 s.
        assert_eq!(secs(s[0].start), 1.0);
        assert_eq!(secs(s[0].at), 2.0);
        assert_eq!(ev.iter().filter(|e| e.phase == Phase::End).count(), 1);
    }

    #[test]
    fn slow_drift_and_standing_jitter_are_not_wrong_way() {
        // 0.02 fw/s against (below min_speed 0.03) for 20 s, and a standing person jittering ±8 px.
        let slow = walker(900.0, -4.0, 100);
        let jitter: Vec<_> = (0..100)
            .map(|i| {
                (
                    i,
                    vigie_core::Point::new(500.0 + if i % 2 == 0 { 8.0 } else { -8.0 }, 500.0),
                )
            })
            .collect();
        let ev = run(CFG, frames(&[(1, slow), (2, jitter)], 100));
        assert!(ev.is_empty(), "{ev:#?}");
    }

    /// Stands for 2 s, steps back at 0.04 frame widths/s (8 px per frame) for `steps` frames, stands again.
    fn step_back(steps: i64) -> Vec<crate::FrameInput> {
        let mut x = 500.0;
        (0..60)
            .map(|i| {
                if (10..10 + steps).contains(&i) {
                    x -= 8.0;
                }
                frame(i, vec![person(1, x, 500.0, 150.0)])
            })
            .collect()
    }

    #[test]
    fn min_distance_separates_a_step_back_from_walking_back() {
        // 5 steps: 40 px = 0.04 frame widths < min_distance 0.05, though fast enough.
        let ev = run(CFG, step_back(5));
        assert!(ev.is_empty(), "{ev:#?}");
        // 15 steps: 0.12 frame widths.
        let ev = run(CFG, step_back(15));
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
    }

    #[test]
    fn an_id_switch_between_standing_people_is_not_wrong_way() {
        // The tracker moves track 1 from a person standing at x 600 to another standing at x 480 (0.12 frame
        // widths to the "wrong" side in one frame), then back a few seconds later: no one walked.
        let fr: Vec<_> = (0..60)
            .map(|i| {
                let x = if (15..35).contains(&i) { 480.0 } else { 600.0 };
                let jitter = if i % 2 == 0 { 3.0 } else { -3.0 };
                frame(i, vec![person(1, x + jitter, 500.0, 150.0)])
            })
            .collect();
        let ev = run(CFG, fr);
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn turning_back_is_flagged_once() {
        // Right for 4 s, then left for 6 s: one event for the leftward part.
        let mut p: Vec<(i64, vigie_core::Point)> = Vec::new();
        for i in 0..50 {
            let x = if i < 20 {
                200.0 + 20.0 * i as f32
            } else {
                600.0 - 20.0 * (i - 20) as f32
            };
            p.push((i, vigie_core::Point::new(x, 500.0)));
        }
        let ev = run(CFG, frames(&[(7, p)], 50));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert!(secs(s[0].start) > 4.0, "{:?}", s[0]);
    }

    #[test]
    fn outside_the_zone_or_class_nothing() {
        // Walking against the direction but above the zone (y = 100), and a dog inside it.
        let above: Vec<_> = (0..40)
            .map(|i| (i, vigie_core::Point::new(900.0 - 20.0 * i as f32, 100.0)))
            .collect();
        let mut fr = frames(&[(1, above)], 40);
        for (i, f) in fr.iter_mut().enumerate() {
            f.objects.push(obj(2, "dog", 900.0 - 20.0 * i as f32, 500.0, 60.0, 0.9));
        }
        let ev = run(CFG, fr);
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn flicker_at_the_zone_border_gives_one_event() {
        // Walking left along the zone's lower border (y 700): the anchor is in and out every other frame.
        let mut fr = Vec::new();
        for i in 0..50 {
            let y = if i % 2 == 0 { 695.0 } else { 705.0 };
            fr.push(frame(i, vec![person(3, 950.0 - 15.0 * i as f32, y, 150.0)]));
        }
        let ev = run(CFG, fr);
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
    }

    #[test]
    fn speeds_in_metres_with_a_ground_scale() {
        // 2 cm per pixel: a walker at 20 px per frame (100 px/s) goes 2 m/s; one at 6 px per frame 0.6 m/s.
        let cfg = r#"
            [[zone]]
            id = "walk"
            polygon = [[0.0, 0.3], [1.0, 0.3], [1.0, 0.7], [0.0, 0.7]]
            direction = [1.0, 0.0]
            metres_per_pixel = 0.02
            [[rule]]
            id = "ww"
            type = "wrong_way"
            zones = ["walk"]
            min_speed_mps = 1.0
            min_distance_m = 3.0
        "#;
        let fast = walker(950.0, -20.0, 40);
        let slow = walker(700.0, -6.0, 40);
        let ev = run(cfg, frames(&[(1, fast), (2, slow)], 40));
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].track_ids, vec![tid(1)], "2 m/s against, not 0.6 m/s");
        assert!(s[0].detail.contains("2.00 m/s"), "{}", s[0].detail);
        // 3 m = 150 px, passed at frame 8 (1.6 s), after the speed is known (1 s of path): the distance decides
        // when the condition starts.
        assert_eq!(secs(s[0].start), 1.6);
        // The slow walker passes in image units with a low min_speed (0.6 m/s = 0.03 frame widths/s): same
        // footage, other units.
        let image = cfg
            .replace("min_speed_mps = 1.0", "min_speed = 0.025")
            .replace("min_distance_m = 3.0", "");
        assert_eq!(
            starts(&run(&image, frames(&[(2, walker(700.0, -6.0, 40))], 40))).len(),
            1
        );
        // A zone without a scale cannot take metres.
        let no_scale = cfg.replace("metres_per_pixel = 0.02", "");
        let parsed = crate::RulesConfig::parse(&no_scale, "t").unwrap();
        let e = crate::Engine::new(&parsed, "cam", W, H, &labels())
            .err()
            .expect("no scale");
        assert!(e.to_string().contains("metres_per_pixel"), "{e}");
    }

    #[test]
    fn diagonal_direction_and_vehicles() {
        // Allowed direction down the image; a car driving up it is flagged, one driving down is not.
        let cfg = r#"
            [[zone]]
            id = "lane"
            polygon = [[0.2, 0.0], [0.8, 0.0], [0.8, 1.0], [0.2, 1.0]]
            direction = [0.0, 1.0]
            [[rule]]
            id = "ww"
            type = "wrong_way"
            zones = ["lane"]
            min_duration_s = 0.4
        "#;
        let fr: Vec<_> = (0..30)
            .map(|i| {
                frame(
                    i,
                    vec![
                        obj(1, "car", 300.0, 900.0 - 25.0 * i as f32, 100.0, 0.7),
                        obj(2, "car", 700.0, 100.0 + 25.0 * i as f32, 100.0, 0.7),
                    ],
                )
            })
            .collect();
        let ev = run(cfg, fr);
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].track_ids, vec![tid(1)]);
        assert!((s[0].confidence - 0.7).abs() < 1e-6);
    }
}
