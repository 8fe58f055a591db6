//! Abandoned object, person on the ground and fire start through `vigie analyze`, on clips derived with ffmpeg
//! from real footage (`../shared/data/video/`, vtest.avi). Figures and limits: docs/accuracy.md.

mod common;
use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn events_of(out: &Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event line is JSON"))
        .collect()
}

fn starts<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| e["phase"] == "start" && e["kind"] == kind)
        .collect()
}

fn f(v: &Value) -> f64 {
    v.as_f64().expect("number")
}

fn run(video: &Path, dir: &Path, tag: &str, config: &str) -> Vec<Value> {
    let cfg = dir.join(format!("{tag}.toml"));
    std::fs::write(&cfg, config).unwrap();
    let out = dir.join(tag);
    analyze(video, &out, &["--config", cfg.to_str().unwrap()]);
    events_of(&out)
}

/// vtest.avi: a van and a small car stay parked at the top right for the whole 80 s while pedestrians pass.
/// No registry image of a bag is detected by the shipped NanoDet at its default threshold (darknet, OpenCV and
/// Ultralytics sample photos, drawn suitcases: best 0.27), so the end-to-end check of the rule uses these real
/// still objects, with the rule's classes set to vehicles; the bag classes (the default) raise nothing on the
/// same footage.
#[test]
fn abandoned_object_parked_vehicles_and_no_bag_on_vtest() {
    let d = temp_dir("abandoned");
    let events = run(
        &vtest(),
        &d,
        "vtest",
        "[[rule]]\nid = \"parked\"\ntype = \"abandoned_object\"\nclasses = [\"car\", \"truck\"]\n\n\
         [[rule]]\nid = \"bags\"\ntype = \"abandoned_object\"\n",
    );
    let s = starts(&events, "abandoned_object");
    assert!(s.iter().all(|e| e["rule"] == "parked"), "a bag event on vtest: {s:?}");
    assert_eq!(s.len(), 2, "the van and the car, once each: {s:?}");
    for e in &s {
        // Raised when both clocks are due, and then only: still for 30 s (parked from the first frame) and nobody
        // attending them for 10 s (a pedestrian lingered near them until about 20 s).
        assert!(f(&e["at"]) >= 30.0, "{e}");
        assert_eq!(f(&e["at"]), f(&e["start"]), "{e}");
        // "... unattended for U s, still for S s ...": both due, and one of them just now (within a frame).
        let detail = e["detail"].as_str().unwrap();
        let secs_after = |word: &str| -> f64 {
            let rest = &detail[detail.find(word).expect(word) + word.len()..];
            rest.split(' ').next().unwrap().parse().expect("a number of seconds")
        };
        let (unattended, still) = (secs_after("unattended for "), secs_after("still for "));
        assert!(unattended >= 10.0 && still >= 30.0, "{e}");
        assert!(unattended == 10.0 || still == 30.0, "{e}");
        let b = e["bbox"].as_array().unwrap();
        assert!(f(&b[0]) > 600.0 && f(&b[3]) < 130.0, "at the top right: {e}");
        let id = e["id"].as_str().unwrap();
        assert_eq!(
            events.iter().filter(|x| x["id"] == id && x["phase"] == "end").count(),
            1
        );
    }
}

#[test]
fn no_abandoned_bag_on_the_plain_shared_footage() {
    let d = temp_dir("abandoned-plain");
    for name in ["one-by-one-person-detection.mp4", "car-detection.mp4"] {
        let events = run(
            &shared_video(name),
            &d,
            name,
            "[[rule]]\nid = \"bags\"\ntype = \"abandoned_object\"\n",
        );
        assert!(starts(&events, "abandoned_object").is_empty(), "{name}: {events:?}");
    }
}

/// one-by-one-person-detection.mp4 from 44 s: a woman stands at a table (seen from behind) for about 20 s. Turned
/// by 90° (`transpose`), she lies across the frame. The shipped NanoDet hardly detects people lying (0 of the
/// 30 s at its defaults: see the accuracy draft), so this camera's configuration lowers the detector and
/// new-track thresholds; the pose model then sees a body axis near 90°.
#[test]
fn person_on_ground_on_a_turned_clip_and_not_when_upright() {
    let d = temp_dir("ground");
    let src = shared_video("one-by-one-person-detection.mp4");
    let cfg = "[detector]\nscore_threshold = 0.2\n\n[tracker]\nhigh_score = 0.3\nnew_track_score = 0.35\n\n\
               [[rule]]\nid = \"down\"\ntype = \"person_on_ground\"\n";
    let clip = |name: &str, vf: Option<&str>| -> PathBuf {
        let p = d.join(name);
        let mut args = vec!["-ss", "44", "-t", "30", "-i", src.to_str().unwrap()];
        if let Some(vf) = vf {
            args.extend(["-vf", vf]);
        }
        args.extend([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-crf",
            "20",
            p.to_str().unwrap(),
        ]);
        ffmpeg(&args);
        p
    };
    let lying = clip("lying.mp4", Some("transpose=2"));
    let events = run(&lying, &d, "lying", cfg);
    let s = starts(&events, "person_on_ground");
    assert_eq!(s.len(), 1, "{events:?}");
    assert!(s[0]["detail"].as_str().unwrap().contains("(pose)"), "{}", s[0]);
    assert!(f(&s[0]["at"]) - f(&s[0]["start"]) >= 4.9, "held 5 s: {}", s[0]);

    let standing = clip("standing.mp4", None);
    let events = run(&standing, &d, "standing", cfg);
    assert!(starts(&events, "person_on_ground").is_empty(), "{events:?}");
}

/// The lavfi source and ffmpeg filter of a synthetic flame `w` × `h` (a flickering orange-yellow tongue: outline from sines of time
/// and height plus per-pixel noise each frame, yellow core, red tips), overlaid at (`x`, `y`) from `from` s on.
/// A stand-in for a fire, not a fire: real flames (white cores, smoke, reflections) may score differently.
fn flame(x: u32, y: u32, w: u32, h: u32, from: f64) -> (String, String) {
    let hh = "(1-Y/H)";
    let u = format!("((X-W/2)/(W/2)-0.3*{hh}*sin(2*PI*(0.9*T+0.7*{hh}))-0.15*{hh}*sin(2*PI*(2.3*T)))");
    let nz = "mod(abs(sin(X*12.9898+Y*78.233+N*37.719))*43758.5453,1)";
    let r = format!(
        "(0.92*pow(max(0,1-{hh}/(0.7+0.25*sin(2*PI*1.7*T)+0.1*sin(2*PI*3.1*T+1))),0.6)*(0.8+0.2*sin(2*PI*(3*{hh}-1.3*T))))"
    );
    let inside = format!("lt(abs({u}),{r}+0.25*({nz}-0.5))");
    let k = format!("max(0,1-abs({u})/max({r},0.01))");
    let source = format!("color=black:s={w}x{h}:r=10:d=3600,format=rgba");
    let filter = format!(
        "[1:v]geq=r='255*{inside}':g='(70+185*pow({k},1.5)*(1-0.6*{hh}))*{inside}':b='(120*pow({k},4)*(1-{hh}))*{inside}'\
         :a='235*{inside}',gblur=sigma=0.7[f];[0:v][f]overlay=x={x}:y={y}:enable='gte(t,{from})':shortest=1"
    );
    (source, filter)
}

/// vtest.avi's first 40 s with a synthetic flame 48 × 72 on the walkway from 15 s (people walk past it) → one
/// fire_start there; the same 40 s without it → none.
#[test]
fn fire_start_on_a_synthetic_flame_and_not_on_the_plain_clip() {
    let d = temp_dir("fire");
    let plain = d.join("plain.mp4");
    let v = vtest();
    ffmpeg(&[
        "-t",
        "40",
        "-i",
        v.to_str().unwrap(),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        plain.to_str().unwrap(),
    ]);
    let fire = d.join("fire.mp4");
    let (source, filter) = flame(300, 300, 48, 72, 15.0);
    ffmpeg(&[
        "-i",
        plain.to_str().unwrap(),
        "-f",
        "lavfi",
        "-i",
        &source,
        "-filter_complex",
        &filter,
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-crf",
        "18",
        fire.to_str().unwrap(),
    ]);
    let cfg = "[[rule]]\nid = \"fire\"\ntype = \"fire_start\"\n";
    let events = run(&fire, &d, "fire", cfg);
    let s = starts(&events, "fire_start");
    assert_eq!(s.len(), 1, "{events:?}");
    let b = s[0]["bbox"].as_array().unwrap();
    let (x1, y1, x2, y2) = (f(&b[0]), f(&b[1]), f(&b[2]), f(&b[3]));
    assert!(
        x1 < 348.0 && x2 > 300.0 && y1 < 372.0 && y2 > 300.0,
        "on the flame: {}",
        s[0]
    );
    assert!((15.0..18.0).contains(&f(&s[0]["start"])), "{}", s[0]);
    assert!(f(&s[0]["at"]) - f(&s[0]["start"]) >= 2.9);

    let events = run(&plain, &d, "plain", cfg);
    assert!(starts(&events, "fire_start").is_empty(), "{events:?}");
}
