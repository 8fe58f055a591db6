//! MotionGate on real footage: the empty room versus visitors, static frames, a global brightness change, cost.

mod common;

use std::time::Instant;

use common::{footage, make_clip, tempdir};
use vigie_core::RgbFrame;
use vigie_video::{DecodeOptions, FrameSampler, Motion, MotionConfig, MotionGate, VideoFile};

/// Frames of `path` at `fps` (0: all), with their motion verdicts.
fn run_gate(path: &std::path::Path, fps: f64, cfg: MotionConfig) -> Vec<(f64, Motion)> {
    let mut v = VideoFile::open(path, &DecodeOptions::default()).unwrap();
    let mut s = FrameSampler::new(fps);
    let mut g = MotionGate::new(cfg);
    let mut out = Vec::new();
    while let Some(f) = v.next_sampled(&mut s).unwrap() {
        out.push((f.pts.as_secs_f64(), g.push(&f)));
    }
    out
}

fn frames_at(path: &std::path::Path, times: &[f64]) -> Vec<RgbFrame> {
    let mut v = VideoFile::open(path, &DecodeOptions::default()).unwrap();
    let mut s = FrameSampler::new(0.0);
    let mut out = Vec::new();
    while let Some(f) = v.next_sampled(&mut s).unwrap() {
        if times.iter().any(|t| (f.pts.as_secs_f64() - t).abs() < 0.01) {
            out.push(f);
        }
    }
    assert_eq!(out.len(), times.len());
    out
}

/// one-by-one-person-detection.mp4 (10 fps, 139 s): people walk in one at a time, stand at a table and leave.
/// Stretches labelled by eye from the footage, a second or so away from each entry and exit.
const EMPTY: [(f64, f64); 6] = [
    (0.0, 5.5),
    (46.0, 48.0),
    (71.0, 74.0),
    (88.0, 91.5),
    (121.5, 123.0),
    (137.5, 139.4),
];
const VISITORS: [(f64, f64); 6] = [
    (7.0, 20.0),
    (24.0, 44.0),
    (51.0, 70.0),
    (75.0, 87.0),
    (93.0, 120.0),
    (125.0, 136.0),
];

fn within(t: f64, spans: &[(f64, f64)]) -> bool {
    spans.iter().any(|&(a, b)| t >= a && t <= b)
}

#[test]
fn visitors_move_the_empty_room_does_not() {
    let p = footage("one-by-one-person-detection.mp4");
    let res = run_gate(&p, 5.0, MotionConfig::default());
    assert!(res.len() > 690, "{} frames", res.len());
    let (mut empty, mut empty_moving, mut busy, mut busy_moving) = (0, 0, 0, 0);
    let mut worst_empty: f32 = 0.0;
    for (t, m) in &res {
        if within(*t, &EMPTY) {
            empty += 1;
            empty_moving += usize::from(m.moving);
            worst_empty = worst_empty.max(m.changed_fraction);
        } else if within(*t, &VISITORS) {
            busy += 1;
            busy_moving += usize::from(m.moving);
            let b = m.bbox.expect("a box when moving");
            assert!(b.x2 > b.x1 && b.y2 > b.y1 && b.x2 <= 768.0 && b.y2 <= 432.0, "{b:?}");
        }
    }
    println!(
        "empty: {empty_moving}/{empty} moving (worst changed fraction {worst_empty:.4}); visitors: {busy_moving}/{busy} moving"
    );
    assert!(empty > 70 && busy > 450);
    assert_eq!(empty_moving, 0, "motion in the empty room");
    assert!(
        busy_moving * 100 >= busy * 97,
        "{busy_moving}/{busy} visitor frames moving"
    );

    // Deterministic.
    let again = run_gate(&p, 5.0, MotionConfig::default());
    assert_eq!(res, again);
}

#[test]
fn static_frames_are_still_after_warm_up() {
    let p = footage("car-detection.mp4");
    let [f] = <[RgbFrame; 1]>::try_from(frames_at(&p, &[2.0])).unwrap();
    let mut g = MotionGate::new(MotionConfig::default());
    for i in 0..20 {
        let m = g.push(&f);
        assert!(
            !m.moving && m.changed_fraction == 0.0 && m.bbox.is_none(),
            "frame {i}: {m:?}"
        );
    }
}

#[test]
fn global_brightness_change_is_not_motion() {
    let p = footage("one-by-one-person-detection.mp4");
    // The empty room, and a visitor standing at the table.
    let frames = frames_at(&p, &[3.0, 30.0]);
    let scale = |f: &RgbFrame, k: f32| RgbFrame {
        data: f
            .data
            .iter()
            .map(|&v| (v as f32 * k).round().min(255.0) as u8)
            .collect(),
        ..f.clone()
    };
    for f in &frames {
        for k in [1.2f32, 1.0 / 1.2] {
            let mut g = MotionGate::new(MotionConfig::default());
            for _ in 0..5 {
                g.push(f);
            }
            let m = g.push(&scale(f, k));
            println!(
                "t={:.0} s x{k:.3}: changed {:.4}",
                f.pts.as_secs_f64(),
                m.changed_fraction
            );
            assert!(!m.moving, "x{k}: {m:?}");

            // Without normalisation the same change is motion.
            let mut raw = MotionGate::new(MotionConfig {
                normalise_brightness: false,
                ..MotionConfig::default()
            });
            raw.push(f);
            assert!(raw.push(&scale(f, k)).moving);
        }
    }
    // A visitor entering under the brighter light still counts.
    let mut g = MotionGate::new(MotionConfig::default());
    g.push(&frames[0]);
    let m = g.push(&scale(&frames[1], 1.2));
    assert!(m.moving && m.changed_fraction > 0.02, "{m:?}");
}

#[test]
fn cost_at_720p() {
    let dir = tempdir();
    let clip = make_clip(
        dir.path(),
        "720p.mp4",
        &[
            "-ss",
            "20",
            "-t",
            "2",
            "-i",
            footage("one-by-one-person-detection.mp4").to_str().unwrap(),
            "-vf",
            "scale=1280:720",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    let mut v = VideoFile::open(&clip, &DecodeOptions::default()).unwrap();
    let mut frames = Vec::new();
    while let Some(f) = v.next_sampled(&mut FrameSampler::new(0.0)).unwrap() {
        frames.push(f);
    }
    assert!(frames.len() >= 10 && frames[0].width == 1280 && frames[0].height == 720);
    let mut g = MotionGate::new(MotionConfig::default());
    let n = 500;
    let t0 = Instant::now();
    let mut moving = 0;
    for i in 0..n {
        moving += usize::from(g.push(&frames[i % frames.len()]).moving);
    }
    let us = t0.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("MotionGate: {us:.0} us per 1280x720 frame ({moving}/{n} moving)");
    // A few hundred microseconds on the reference machine; generous for a busy shared CPU.
    assert!(us < 3000.0, "{us:.0} us per frame");
}
