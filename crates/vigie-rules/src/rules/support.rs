//! Helpers shared by the rules that look at several people or at motion: the regions a rule watches (its zones, or
//! the whole frame), recent anchor paths per track, a least-squares velocity, medians. All deterministic: ordered
//! maps keyed by track id, no hashing, arithmetic on the input values only.

use super::anchor;
use crate::config::Zone;
use crate::engine::{FrameInput, TrackObs};
use std::collections::{BTreeMap, VecDeque};
use vigie_core::{Point, Time90k, TrackId};

/// Where a rule looks: one of its zones, or the whole frame when it names none.
#[derive(Clone, Debug)]
pub(crate) struct Region {
    /// The condition key of the region: `zone:ID` or `frame`.
    pub key: String,
    pub zone: Option<Zone>,
}

impl Region {
    /// The rule's zones, or one whole-frame region when it has none.
    pub fn of(zones: &[Zone]) -> Vec<Region> {
        if zones.is_empty() {
            return vec![Region {
                key: "frame".into(),
                zone: None,
            }];
        }
        zones
            .iter()
            .map(|z| Region {
                key: format!("zone:{}", z.id),
                zone: Some(z.clone()),
            })
            .collect()
    }

    pub fn contains(&self, p: Point) -> bool {
        self.zone.as_ref().is_none_or(|z| z.polygon.contains(p))
    }

    pub fn zone_id(&self) -> Option<String> {
        self.zone.as_ref().map(|z| z.id.clone())
    }

    /// "zone forecourt" or "the frame", for details an operator reads.
    pub fn name(&self) -> String {
        match &self.zone {
            Some(z) => format!("zone {}", z.id),
            None => "the frame".into(),
        }
    }
}

/// One observation of a track.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Sample {
    pub t: Time90k,
    /// Ground anchor (bottom-centre of the box), pixels.
    pub anchor: Point,
    /// Box height, pixels (a person's height: the scale of speeds in person heights).
    pub height: f32,
    pub score: f32,
}

/// The recent anchor path of every track of the watched classes, `keep` long.
#[derive(Clone, Debug)]
pub(crate) struct Paths {
    keep: Time90k,
    paths: BTreeMap<TrackId, VecDeque<Sample>>,
}

impl Paths {
    pub fn new(keep_s: f64) -> Self {
        Paths {
            keep: Time90k::from_secs_f64(keep_s),
            paths: BTreeMap::new(),
        }
    }

    /// Appends this frame's observations of the objects `watch` accepts; forgets samples older than `keep` and
    /// tracks not seen for that long.
    pub fn update(&mut self, f: &FrameInput, watch: impl Fn(&TrackObs) -> bool) {
        for o in f.objects.iter().filter(|o| watch(o)) {
            let path = self.paths.entry(o.track_id).or_default();
            // A track observed twice in one frame keeps its first observation.
            if path.back().is_some_and(|s| s.t >= f.t) {
                continue;
            }
            path.push_back(Sample {
                t: f.t,
                anchor: anchor(o),
                height: o.bbox.height(),
                score: o.score,
            });
        }
        let oldest = Time90k(f.t.0 - self.keep.0);
        self.paths.retain(|_, p| {
            while p.front().is_some_and(|s| s.t < oldest) {
                p.pop_front();
            }
            !p.is_empty()
        });
    }

    pub fn get(&self, id: TrackId) -> Option<&VecDeque<Sample>> {
        self.paths.get(&id)
    }
}

/// The samples of `path` from `now - window` to `now` (inclusive), oldest first.
pub(crate) fn recent(path: &VecDeque<Sample>, now: Time90k, window: Time90k) -> impl Iterator<Item = &Sample> {
    let from = now.0 - window.0;
    path.iter().filter(move |s| s.t.0 >= from && s.t.0 <= now.0)
}

/// Least-squares velocity of the anchor over `samples`, pixels per second; `None` with fewer than `min_samples`
/// samples or a time span shorter than `min_span`. A straight fit is far less sensitive to box jitter than the
/// difference of two positions.
pub(crate) fn velocity<'a>(
    samples: impl Iterator<Item = &'a Sample>,
    min_samples: usize,
    min_span: Time90k,
) -> Option<Point> {
    let s: Vec<&Sample> = samples.collect();
    if s.len() < min_samples.max(2) || s[s.len() - 1].t.0 - s[0].t.0 < min_span.0 {
        return None;
    }
    let t0 = s[0].t.0;
    let n = s.len() as f64;
    let ts: Vec<f64> = s.iter().map(|x| (x.t.0 - t0) as f64 / Time90k::HZ as f64).collect();
    let mt = ts.iter().sum::<f64>() / n;
    let mx = s.iter().map(|x| x.anchor.x as f64).sum::<f64>() / n;
    let my = s.iter().map(|x| x.anchor.y as f64).sum::<f64>() / n;
    let (mut stt, mut stx, mut sty) = (0.0, 0.0, 0.0);
    for (x, t) in s.iter().zip(&ts) {
        let dt = t - mt;
        stt += dt * dt;
        stx += dt * (x.anchor.x as f64 - mx);
        sty += dt * (x.anchor.y as f64 - my);
    }
    if stt <= 0.0 {
        return None;
    }
    Some(Point::new((stx / stt) as f32, (sty / stt) as f32))
}

/// Median (mean of the two middle values for an even count); `None` when empty.
pub(crate) fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// Mean detection score of `objects` (0 when empty): the confidence of the rules about groups.
pub(crate) fn mean_score<'a>(objects: impl IntoIterator<Item = &'a TrackObs>) -> f32 {
    let (mut sum, mut n) = (0.0f32, 0u32);
    for o in objects {
        sum += o.score;
        n += 1;
    }
    if n == 0 { 0.0 } else { (sum / n as f32).clamp(0.0, 1.0) }
}

/// The objects of `f` whose class is in `classes`, ordered by track id (the input order is not trusted).
pub(crate) fn watched<'a>(f: &'a FrameInput, classes: &[String]) -> Vec<&'a TrackObs> {
    let mut v: Vec<&TrackObs> = f.objects.iter().filter(|o| classes.contains(&o.class)).collect();
    v.sort_by_key(|o| o.track_id);
    v.dedup_by_key(|o| o.track_id);
    v
}

#[cfg(test)]
pub(crate) mod test_util {
    //! Synthetic frames for the rules' unit tests: 5 analysed frames per second, like the pipeline.

    use crate::config::RulesConfig;
    use crate::engine::{Engine, FrameInput, TrackObs};
    use crate::event::{Event, Phase};
    use std::num::NonZeroU64;
    use vigie_core::{BBox, COCO80, Time90k, TrackId};

    pub const W: u32 = 1000;
    pub const H: u32 = 1000;
    /// One analysed frame every 0.2 s.
    pub const DT: i64 = 18_000;

    pub fn tid(n: u64) -> TrackId {
        TrackId(NonZeroU64::new(n).expect("track ids start at 1"))
    }

    /// A person of `h` pixels standing with feet at (`x`, `y`) pixels.
    pub fn person(id: u64, x: f32, y: f32, h: f32) -> TrackObs {
        obj(id, "person", x, y, h, 0.8)
    }

    /// An object of class `class`, `h` high and `h`/2.5 wide, bottom-centre at (`x`, `y`).
    pub fn obj(id: u64, class: &str, x: f32, y: f32, h: f32, score: f32) -> TrackObs {
        let w = h / 2.5;
        TrackObs {
            track_id: tid(id),
            bbox: BBox::new(x - w / 2.0, y - h, x + w / 2.0, y),
            class: class.into(),
            score,
        }
    }

    pub fn frame(i: i64, objects: Vec<TrackObs>) -> FrameInput {
        FrameInput {
            t: Time90k(i * DT),
            objects,
            ..Default::default()
        }
    }

    pub fn labels() -> Vec<String> {
        COCO80.iter().map(|s| s.to_string()).collect()
    }

    /// Runs `frames` through an engine built from `toml` (a `W` × `H` camera) and returns every event, ended at
    /// the end of the stream.
    pub fn run(toml: &str, frames: impl IntoIterator<Item = FrameInput>) -> Vec<Event> {
        let cfg = RulesConfig::parse(toml, "test").expect("config parses");
        let mut e = Engine::new(&cfg, "cam", W, H, &labels()).expect("engine builds");
        let mut out = Vec::new();
        for f in frames {
            e.push(&f);
            while let Some(ev) = e.pull() {
                out.push(ev);
            }
        }
        e.finish();
        while let Some(ev) = e.pull() {
            out.push(ev);
        }
        out
    }

    pub fn starts(ev: &[Event]) -> Vec<&Event> {
        ev.iter().filter(|e| e.phase == Phase::Start).collect()
    }

    pub fn secs(t: Time90k) -> f64 {
        t.as_secs_f64()
    }
}
