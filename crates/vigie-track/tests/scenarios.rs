//! Scenario and property tests of the tracker through its public API.

use std::collections::BTreeSet;

use proptest::prelude::*;
use vigie_core::{BBox, ClassId, Detections, Time90k, TrackId, TrackedObject};
use vigie_track::{Tracker, TrackerConfig};

const PERSON: ClassId = ClassId(0);
const CAR: ClassId = ClassId(2);
const TRUCK: ClassId = ClassId(7);

/// Media time of frame `i` at `fps`.
fn at(i: usize, fps: f64) -> Time90k {
    Time90k::from_secs_f64(i as f64 / fps)
}

/// One synthetic object in one frame: a label (ground truth), box, score, class.
#[derive(Clone, Copy)]
struct Obj {
    label: u32,
    b: BBox,
    score: f32,
    class: ClassId,
}

fn person(label: u32, x: f32, y: f32, w: f32, h: f32) -> Obj {
    Obj {
        label,
        b: BBox::new(x, y, x + w, y + h),
        score: 0.9,
        class: PERSON,
    }
}

fn dets(objs: &[Obj]) -> Detections {
    let mut d = Detections::default();
    for o in objs {
        d.push(o.b, o.score, o.class);
    }
    d
}

/// Runs the frames and returns, per frame, the (label, id) of every output.
fn run(tracker: &mut Tracker, frames: &[Vec<Obj>], fps: f64) -> Vec<Vec<(u32, TrackId)>> {
    frames
        .iter()
        .enumerate()
        .map(|(i, objs)| {
            let out = tracker.update(&dets(objs), at(i, fps));
            check_frame(&out, objs.len());
            out.iter()
                .map(|o| (objs[o.det_index.unwrap()].label, o.track_id))
                .collect()
        })
        .collect()
}

/// Per-frame output invariants.
fn check_frame(out: &[TrackedObject], n_dets: usize) {
    for w in out.windows(2) {
        assert!(w[0].track_id < w[1].track_id, "sorted, unique ids");
    }
    let mut seen = BTreeSet::new();
    for o in out {
        assert!(o.matched);
        let i = o.det_index.expect("matched outputs have a detection");
        assert!(i < n_dets);
        assert!(seen.insert(i), "a detection feeds one track at most");
    }
}

/// Every label is always seen with the same single id, and each id with a single label.
fn assert_no_switch(per_frame: &[Vec<(u32, TrackId)>]) {
    let mut pairs = BTreeSet::new();
    for f in per_frame {
        pairs.extend(f.iter().copied());
    }
    let labels: BTreeSet<u32> = pairs.iter().map(|p| p.0).collect();
    let ids: BTreeSet<TrackId> = pairs.iter().map(|p| p.1).collect();
    assert_eq!(pairs.len(), labels.len(), "a label got several ids: {pairs:?}");
    assert_eq!(pairs.len(), ids.len(), "an id covered several labels: {pairs:?}");
}

fn id(n: u64) -> TrackId {
    TrackId(std::num::NonZeroU64::new(n).unwrap())
}

/// Two people walking towards each other along the same line at 5 fps, crossing at frame 12, 40 px per frame.
fn crossing(missing_a: &[usize]) -> Vec<Vec<Obj>> {
    (0..25)
        .map(|i| {
            let xa = 100.0 + 40.0 * i as f32;
            let xb = 100.0 + 40.0 * (24 - i) as f32 + 6.0;
            let mut f = Vec::new();
            if !missing_a.contains(&i) {
                f.push(person(1, xa, 200.0, 40.0, 100.0));
            }
            f.push(person(2, xb, 208.0, 42.0, 104.0));
            f
        })
        .collect()
}

#[test]
fn crossing_people_keep_their_ids() {
    let mut t = Tracker::new(TrackerConfig::default());
    let out = run(&mut t, &crossing(&[]), 5.0);
    assert_no_switch(&out);
    // Both visible in every frame from confirmation on.
    for f in &out[1..] {
        assert_eq!(f.len(), 2);
    }
    assert_eq!(out[1], vec![(1, id(1)), (2, id(2))]);
    assert_eq!(t.finish(), vec![id(1), id(2)]);
}

#[test]
fn crossing_with_one_missed_around_the_crossing_keeps_ids() {
    for missing in [&[11, 12][..], &[12, 13], &[10, 11]] {
        let mut t = Tracker::new(TrackerConfig::default());
        let out = run(&mut t, &crossing(missing), 5.0);
        assert_no_switch(&out);
        let last = out.last().unwrap();
        assert_eq!(last, &vec![(1, id(1)), (2, id(2))], "missing {missing:?}");
        for &i in missing {
            assert_eq!(out[i], vec![(2, id(2))]);
        }
    }
}

#[test]
fn missing_three_frames_then_reappearing_keeps_id() {
    for speed in [0.0f32, 20.0, 40.0] {
        let frames: Vec<Vec<Obj>> = (0..15)
            .map(|i| {
                if (6..9).contains(&i) {
                    vec![]
                } else {
                    vec![person(1, 50.0 + speed * i as f32, 100.0, 40.0, 100.0)]
                }
            })
            .collect();
        let mut t = Tracker::new(TrackerConfig::default());
        let out = run(&mut t, &frames, 5.0);
        for (i, f) in out.iter().enumerate() {
            let want = if i == 0 || (6..9).contains(&i) {
                vec![]
            } else {
                vec![(1, id(1))]
            };
            assert_eq!(f, &want, "speed {speed}, frame {i}");
        }
        assert!(t.take_ended().is_empty());
    }
}

#[test]
fn single_walker_keeps_one_id_at_5_and_25_fps() {
    // ~1.5 m/s: 40 px per frame at 5 fps, 8 px per frame at 25 fps, for a 40x100 box; with a little jitter.
    for (fps, step, n) in [(5.0, 40.0f32, 50usize), (25.0, 8.0, 250)] {
        let frames: Vec<Vec<Obj>> = (0..n)
            .map(|i| {
                let jitter = [0.0, 2.0, -1.0, 3.0, -2.0][i % 5];
                vec![person(
                    1,
                    20.0 + step * i as f32 + jitter,
                    300.0 - jitter,
                    40.0,
                    100.0 + jitter,
                )]
            })
            .collect();
        let mut t = Tracker::new(TrackerConfig::default());
        let out = run(&mut t, &frames, fps);
        assert!(out[0].is_empty());
        for f in &out[1..] {
            assert_eq!(f, &vec![(1, id(1))], "fps {fps}");
        }
        assert!(t.take_ended().is_empty());
        assert_eq!(t.finish(), vec![id(1)]);
    }
}

#[test]
fn no_track_before_confirm_hits() {
    let p = |x| vec![person(1, x, 100.0, 40.0, 100.0)];
    // A single detection never makes a track.
    let mut t = Tracker::new(TrackerConfig::default());
    assert!(t.update(&dets(&p(10.0)), at(0, 5.0)).is_empty());
    assert!(t.update(&Detections::default(), at(1, 5.0)).is_empty());
    assert!(t.finish().is_empty());

    // Every other frame: the tentative track dies at each miss, so none is confirmed.
    let mut t = Tracker::new(TrackerConfig::default());
    for i in 0..10 {
        let d = if i % 2 == 0 {
            dets(&p(10.0))
        } else {
            Detections::default()
        };
        assert!(t.update(&d, at(i, 5.0)).is_empty());
    }

    // confirm_hits = 3: the third matched frame is the first output, with id 1.
    let cfg = TrackerConfig {
        confirm_hits: 3,
        ..Default::default()
    };
    let mut t = Tracker::new(cfg);
    assert!(t.update(&dets(&p(10.0)), at(0, 5.0)).is_empty());
    assert!(t.update(&dets(&p(12.0)), at(1, 5.0)).is_empty());
    let out = t.update(&dets(&p(14.0)), at(2, 5.0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].track_id, id(1));

    // confirm_hits = 1: immediate.
    let cfg = TrackerConfig {
        confirm_hits: 1,
        ..Default::default()
    };
    let mut t = Tracker::new(cfg);
    assert_eq!(t.update(&dets(&p(10.0)), at(0, 5.0))[0].track_id, id(1));
}

#[test]
fn detections_below_new_track_score_never_start_tracks() {
    let mut t = Tracker::new(TrackerConfig::default());
    for i in 0..10 {
        let mut o = person(1, 10.0, 100.0, 40.0, 100.0);
        o.score = if i % 2 == 0 { 0.3 } else { 0.47 };
        assert!(t.update(&dets(&[o]), at(i, 5.0)).is_empty());
    }
}

#[test]
fn low_score_detection_keeps_track_alive() {
    let mut t = Tracker::new(TrackerConfig::default());
    for i in 0..20 {
        let mut o = person(1, 10.0 + 10.0 * i as f32, 100.0, 40.0, 100.0);
        if i >= 4 {
            o.score = 0.2; // only the second association can take it
        }
        let out = t.update(&dets(&[o]), at(i, 5.0));
        if i == 0 {
            assert!(out.is_empty());
        } else {
            assert_eq!(out.len(), 1, "frame {i}");
            assert_eq!(out[0].track_id, id(1));
            assert_eq!(out[0].score, o.score);
        }
    }
    // 20 frames at 0.2 s = 4 s of low scores: the track never got lost.
    assert!(t.take_ended().is_empty());
    assert_eq!(t.finish(), vec![id(1)]);
}

#[test]
fn low_score_detection_does_not_revive_a_lost_track() {
    let mut t = Tracker::new(TrackerConfig::default());
    let o = person(1, 10.0, 100.0, 40.0, 100.0);
    t.update(&dets(&[o]), at(0, 5.0));
    assert_eq!(t.update(&dets(&[o]), at(1, 5.0)).len(), 1);
    assert!(t.update(&Detections::default(), at(2, 5.0)).is_empty()); // lost
    let low = Obj { score: 0.2, ..o };
    assert!(t.update(&dets(&[low]), at(3, 5.0)).is_empty());
    // A high detection does revive it.
    assert_eq!(t.update(&dets(&[o]), at(4, 5.0))[0].track_id, id(1));
}

#[test]
fn class_vote_is_majority_by_score() {
    let mut t = Tracker::new(TrackerConfig::default());
    // Car 0.9 + 0.8 = 1.7 against truck 0.5 x 3 = 1.5: car wins although truck has more frames.
    let seq = [(CAR, 0.9), (TRUCK, 0.5), (TRUCK, 0.5), (CAR, 0.8), (TRUCK, 0.5)];
    let mut voted = Vec::new();
    for (i, &(class, score)) in seq.iter().enumerate() {
        let o = Obj {
            label: 1,
            b: BBox::new(100.0 + 5.0 * i as f32, 100.0, 300.0 + 5.0 * i as f32, 200.0),
            score,
            class,
        };
        let out = t.update(&dets(&[o]), at(i, 5.0));
        if i > 0 {
            assert_eq!(out.len(), 1, "car and truck are one group");
            assert_eq!(out[0].track_id, id(1));
            assert_eq!(out[0].class_id, class);
            voted.push(out[0].voted_class);
        }
    }
    // After frame 1: car 0.9 vs truck 0.5; frame 2: 0.9 vs 1.0; frame 3: 1.7 vs 1.0; frame 4: 1.7 vs 1.5.
    assert_eq!(voted, vec![CAR, TRUCK, CAR, CAR]);
}

#[test]
fn a_person_never_takes_over_a_car_track() {
    let mut t = Tracker::new(TrackerConfig::default());
    let b = BBox::new(100.0, 100.0, 200.0, 200.0);
    let car = Obj {
        label: 1,
        b,
        score: 0.9,
        class: CAR,
    };
    let pers = Obj { class: PERSON, ..car };
    t.update(&dets(&[car]), at(0, 5.0));
    assert_eq!(t.update(&dets(&[car]), at(1, 5.0))[0].track_id, id(1));
    // The same box now detected as a person: the car track is lost, a new person track starts.
    assert!(t.update(&dets(&[pers]), at(2, 5.0)).is_empty());
    let out = t.update(&dets(&[pers]), at(3, 5.0));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].track_id, id(2));
    assert_eq!(out[0].voted_class, PERSON);
}

#[test]
fn lost_tracks_end_after_max_lost_and_finish_ends_the_rest() {
    let mut t = Tracker::new(TrackerConfig::default());
    let a = person(1, 10.0, 100.0, 40.0, 100.0);
    let b = person(2, 300.0, 100.0, 40.0, 100.0);
    t.update(&dets(&[a, b]), at(0, 5.0));
    assert_eq!(t.update(&dets(&[a, b]), at(1, 5.0)).len(), 2);
    // b leaves at frame 2 (last matched at 0.2 s); it ends once more than 2 s have passed, at 2.4 s.
    for i in 2..=11 {
        assert_eq!(t.update(&dets(&[a]), at(i, 5.0)).len(), 1);
        assert!(t.take_ended().is_empty(), "frame {i}");
    }
    t.update(&dets(&[a]), at(12, 5.0));
    assert_eq!(t.take_ended(), vec![id(2)]);
    t.update(&dets(&[a]), at(13, 5.0));
    assert!(t.take_ended().is_empty());
    // b coming back now is a new track.
    t.update(&dets(&[a, b]), at(14, 5.0));
    assert_eq!(
        t.update(&dets(&[a, b]), at(15, 5.0))
            .iter()
            .map(|o| o.track_id)
            .collect::<Vec<_>>(),
        [id(1), id(3)]
    );
    assert_eq!(t.finish(), vec![id(1), id(3)]);
    assert!(t.finish().is_empty());
}

#[test]
fn skips_non_finite_and_degenerate_boxes_and_empty_frames() {
    let mut t = Tracker::new(TrackerConfig::default());
    let good = person(1, 10.0, 100.0, 40.0, 100.0);
    let bad = [
        BBox { x1: f32::NAN, ..good.b },
        BBox {
            x2: f32::INFINITY,
            ..good.b
        },
        BBox::new(5.0, 5.0, 5.0, 50.0),
        BBox::new(0.0, 0.0, 1e30, 1e30),
    ];
    // Frames 0 and 1 confirm the track, then every other frame is empty (lost, then re-associated).
    for i in 0..6 {
        let frame = if i == 0 { 0 } else { 2 * i - 1 };
        let mut d = Detections::default();
        for b in bad {
            d.push(b, 0.9, PERSON);
        }
        d.push(good.b, 0.9, PERSON);
        d.push(good.b, f32::NAN, PERSON);
        let out = t.update(&d, at(frame, 5.0));
        if i > 0 {
            assert_eq!(out.len(), 1, "frame {frame}");
            assert_eq!(out[0].track_id, id(1));
            assert_eq!(out[0].det_index, Some(bad.len()));
            assert_eq!(out[0].bbox, good.b);
            assert!(t.update(&Detections::default(), at(frame + 1, 5.0)).is_empty());
        }
    }
    // Mismatched vector lengths are tolerated.
    let mut d = dets(&[good]);
    d.scores.clear();
    assert!(t.update(&d, at(20, 5.0)).is_empty());
}

/// A deterministic pseudo-random crowd: returns every frame's outputs and ended ids.
fn crowd_run() -> Vec<(Vec<TrackedObject>, Vec<TrackId>)> {
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f32 / (1u64 << 53) as f32
    };
    let mut objs: Vec<(f32, f32, f32, f32)> = (0..12)
        .map(|_| (rnd() * 800.0, rnd() * 400.0, rnd() * 60.0 - 30.0, 60.0 + rnd() * 80.0))
        .collect();
    let mut t = Tracker::new(TrackerConfig::default());
    let mut res = Vec::new();
    for i in 0..120 {
        let mut d = Detections::default();
        for o in &mut objs {
            o.0 += o.2 + rnd() * 4.0 - 2.0;
            if rnd() < 0.85 {
                let class = if rnd() < 0.8 { PERSON } else { ClassId(26) };
                d.push(
                    BBox::new(o.0, o.1, o.0 + o.3 * 0.4, o.1 + o.3),
                    0.05 + rnd() * 0.95,
                    class,
                );
            }
        }
        let out = t.update(&d, at(i, 5.0));
        res.push((out, t.take_ended()));
    }
    res.push((Vec::new(), t.finish()));
    res
}

#[test]
fn deterministic() {
    let a = crowd_run();
    let b = crowd_run();
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    for ((oa, ea), (ob, eb)) in a.iter().zip(&b) {
        assert_eq!(ea, eb);
        assert_eq!(oa.len(), ob.len());
        for (x, y) in oa.iter().zip(ob) {
            assert_eq!(x.track_id, y.track_id);
            assert_eq!(x.det_index, y.det_index);
            assert_eq!(x.bbox.x1.to_bits(), y.bbox.x1.to_bits());
            assert_eq!(x.voted_class, y.voted_class);
        }
    }
    assert!(a.iter().any(|(o, _)| !o.is_empty()), "the crowd makes tracks");
}

/// One random detection: box corners in a small field so that boxes overlap, sometimes NaN.
fn arb_det() -> impl Strategy<Value = (BBox, f32, ClassId)> {
    (
        (0f32..300.0, 0f32..300.0, 0f32..120.0, 0f32..200.0),
        prop_oneof![8 => 0f32..1.0, 1 => Just(f32::NAN)],
        prop::sample::select(vec![0u16, 0, 0, 1, 2, 3, 7, 24, 43]),
        0u8..20,
    )
        .prop_map(|((x, y, w, h), s, c, garbage)| {
            let b = match garbage {
                0 => BBox {
                    x1: f32::NAN,
                    ..BBox::new(x, y, x + w, y + h)
                },
                1 => BBox {
                    y2: f32::INFINITY,
                    ..BBox::new(x, y, x + w, y + h)
                },
                _ => BBox::new(x, y, x + w, y + h),
            };
            (b, s, ClassId(c))
        })
}

proptest! {
    #[test]
    fn random_sequences_keep_invariants(
        frames in prop::collection::vec((0i64..60_000, prop::collection::vec(arb_det(), 0..10)), 1..40),
        confirm_hits in 0u32..4,
    ) {
        let cfg = TrackerConfig { confirm_hits, max_lost_s: 0.5, ..Default::default() };
        let mut t = Tracker::new(cfg);
        let mut now = 0i64;
        let mut max_id = 0u64;
        let mut ended = BTreeSet::new();
        for (dt, ds) in &frames {
            now += dt;
            let mut d = Detections::default();
            for &(b, s, c) in ds {
                d.push(b, s, c);
            }
            let out = t.update(&d, Time90k(now));
            check_frame(&out, d.len());
            // New ids are dense and increase in order of first confirmation.
            let mut new_ids: Vec<u64> = out.iter().map(|o| o.track_id.get()).filter(|&i| i > max_id).collect();
            new_ids.sort_unstable();
            for (k, i) in new_ids.iter().enumerate() {
                prop_assert_eq!(*i, max_id + 1 + k as u64);
            }
            max_id += new_ids.len() as u64;
            for o in &out {
                prop_assert!(!ended.contains(&o.track_id), "an ended track came back");
                prop_assert!(o.bbox.is_finite());
                prop_assert!(o.score >= cfg.low_score);
            }
            for e in t.take_ended() {
                prop_assert!(e.get() <= max_id);
                prop_assert!(ended.insert(e), "ended twice");
            }
        }
        for e in t.finish() {
            prop_assert!(ended.insert(e), "ended twice");
        }
        // Every confirmed track ends exactly once.
        prop_assert_eq!(ended.len() as u64, max_id);
    }
}
