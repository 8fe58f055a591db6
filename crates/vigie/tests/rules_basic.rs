//! Intrusion and line counting on real footage (vtest.avi: pedestrians crossing a campus walkway left and right,
//! a van and a car parked at the top right the whole time).

mod common;
use common::*;
use serde_json::Value;

const ZONES: &str = r#"
[[zone]]
id = "walkway-right"
polygon = [[0.6, 0.3], [1.0, 0.3], [1.0, 0.8], [0.6, 0.8]]

[[line]]
id = "middle"
from = [0.5, 0.0]
to = [0.5, 1.0]
"#;

fn events_of(out: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(out.join("events.jsonl"))
        .expect("events.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("event line is JSON"))
        .collect()
}

#[test]
fn intrusion_of_people_but_not_of_parked_vehicles() {
    let d = temp_dir("intrusion");
    let cfg = d.join("rules.toml");
    std::fs::write(
        &cfg,
        format!(
            "{ZONES}
[[rule]]
id = \"people-right\"
type = \"intrusion\"
zones = [\"walkway-right\"]
classes = [\"person\"]
min_duration_s = 2.0

[[rule]]
id = \"vehicles-right\"
type = \"intrusion\"
zones = [\"walkway-right\"]
classes = [\"car\", \"truck\", \"bus\"]
"
        ),
    )
    .unwrap();
    let out = d.join("out");
    let (summary, _) = analyze(&vtest(), &out, &["--config", cfg.to_str().unwrap()]);
    let events = events_of(&out);
    let starts: Vec<&Value> = events.iter().filter(|e| e["phase"] == "start").collect();
    assert!(!starts.is_empty(), "people walk through the right part of the walkway");
    assert!(
        starts.iter().all(|e| e["rule"] == "people-right"),
        "the parked vehicles are outside the zone: {starts:?}"
    );
    for e in &starts {
        assert_eq!(e["kind"], "intrusion");
        assert_eq!(e["camera"], "vtest");
        assert!(!e["track_ids"].as_array().unwrap().is_empty());
        let id = e["id"].as_str().unwrap();
        let ends = events.iter().filter(|x| x["id"] == id && x["phase"] == "end").count();
        assert_eq!(ends, 1, "every event ends once: {id}");
    }
    assert_eq!(summary["events"]["intrusion"].as_u64(), Some(starts.len() as u64));
    // A snapshot per event, and the events in the database.
    let snaps = std::fs::read_dir(out.join("events")).unwrap().count();
    assert_eq!(snaps, starts.len());
    let store = vigie_store::Store::open(&out.join("vigie.db")).unwrap();
    let stored = store
        .events(vigie_store::RunId(summary["run_id"].as_i64().unwrap()))
        .unwrap();
    assert_eq!(stored.len(), starts.len());
    assert!(stored.iter().all(|e| e.end.is_some() && e.clip_start <= e.start));
    // The same clip gives the same events (stable ids).
    let out2 = d.join("out2");
    analyze(&vtest(), &out2, &["--config", cfg.to_str().unwrap(), "--workers", "1"]);
    assert_eq!(events_of(&out2), events);
}

#[test]
fn line_counts_swap_when_the_clip_is_reversed() {
    let d = temp_dir("lines");
    let fwd = d.join("fwd.mp4");
    let rev = d.join("rev.mp4");
    let src = vtest();
    ffmpeg(&[
        "-ss",
        "20",
        "-t",
        "20",
        "-i",
        src.to_str().unwrap(),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        fwd.to_str().unwrap(),
    ]);
    ffmpeg(&[
        "-i",
        fwd.to_str().unwrap(),
        "-vf",
        "reverse",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        rev.to_str().unwrap(),
    ]);
    let cfg = d.join("rules.toml");
    std::fs::write(
        &cfg,
        format!(
            "{ZONES}\n[[rule]]\nid = \"count\"\ntype = \"line_count\"\nlines = [\"middle\"]\nclasses = [\"person\"]\n"
        ),
    )
    .unwrap();
    let count = |clip: &std::path::Path, tag: &str| -> (i64, i64) {
        let (s, _) = analyze(clip, &d.join(tag), &["--config", cfg.to_str().unwrap()]);
        let c = &s["line_counts"][0];
        assert_eq!(c["line"], "middle");
        (c["in"].as_i64().unwrap(), c["out"].as_i64().unwrap())
    };
    let (fi, fo) = count(&fwd, "out-fwd");
    let (ri, ro) = count(&rev, "out-rev");
    assert!(
        fi + fo >= 4,
        "people cross the middle of the walkway in 20 s: in {fi}, out {fo}"
    );
    // Reversed time: left-to-right crossings become right-to-left. Tracking is not perfectly symmetric in time,
    // so allow a difference of 2 on each side.
    assert!(
        (fi - ro).abs() <= 2 && (fo - ri).abs() <= 2,
        "forward in/out {fi}/{fo}, reversed {ri}/{ro}"
    );
}

/// Schedules on real footage: the intrusion of `intrusion_of_people_but_not_of_parked_vehicles`, with the clip's
/// wall-clock time set by `[analysis] start_time` (Friday 2026-03-06, 11:59:30 UTC): a rule scheduled 08:00-20:00
/// raises exactly the events of the same rule without a schedule, one scheduled at night raises none, and one
/// opening at noon (30 s into the clip) only events that start from then.
#[test]
fn a_schedule_that_excludes_the_clip_raises_nothing() {
    let d = temp_dir("schedule");
    let cfg = d.join("rules.toml");
    let rule = |id: &str, schedule: &str| {
        format!(
            "[[rule]]\nid = \"{id}\"\ntype = \"intrusion\"\nzones = [\"walkway-right\"]\nclasses = [\"person\"]\n\
             min_duration_s = 2.0\n{schedule}\n"
        )
    };
    std::fs::write(
        &cfg,
        format!(
            "[analysis]\nstart_time = \"2026-03-06T12:59:30+01:00\"\n{ZONES}{}{}{}{}",
            rule("always", ""),
            rule(
                "day",
                "schedule = { timezone = \"UTC\", windows = [{ days = [\"fri\"], start = \"08:00\", end = \"20:00\" }] }"
            ),
            rule(
                "night",
                "schedule = { timezone = \"+01:00\", windows = [{ start = \"22:00\", end = \"06:00\" }] }"
            ),
            rule(
                "from-noon",
                "schedule = { timezone = \"UTC\", windows = [{ start = \"12:00\", end = \"13:00\" }] }"
            ),
        ),
    )
    .unwrap();
    let out = d.join("out");
    analyze(&vtest(), &out, &["--config", cfg.to_str().unwrap()]);
    let events = events_of(&out);
    let starts = |rule: &str| -> Vec<(f64, Value)> {
        events
            .iter()
            .filter(|e| e["phase"] == "start" && e["rule"] == rule)
            .map(|e| (e["start"].as_f64().unwrap(), e["track_ids"].clone()))
            .collect()
    };
    let always = starts("always");
    assert!(!always.is_empty(), "people walk through the zone");
    assert_eq!(starts("day"), always, "inside its schedule all along: the same events");
    assert!(
        starts("night").is_empty(),
        "outside its schedule: {:?}",
        starts("night")
    );
    let noon = starts("from-noon");
    assert!(!noon.is_empty(), "people are in the zone after 30 s: {always:?}");
    assert!(noon.iter().all(|(s, _)| *s >= 30.0), "{noon:?}");
}
