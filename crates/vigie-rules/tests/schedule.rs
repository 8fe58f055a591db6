//! Rules with an active schedule: outside it a rule reports nothing and its events end through the lifecycle;
//! when it opens again the rule starts afresh; frames without a wall-clock time are outside every schedule.

use std::num::NonZeroU64;
use vigie_core::{BBox, COCO80, Time90k, TrackId};
use vigie_rules::{Engine, Event, FrameInput, Phase, RulesConfig, TrackObs, WallClock};

/// 2026-03-06, a Friday, 18:58:00 UTC.
const FRI_18_58: i64 = 1_772_823_480;

const ZONE: &str = r#"
[[zone]]
id = "yard"
polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]

[[line]]
id = "gate"
from = [0.5, 0.0]
to = [0.5, 1.0]
"#;

/// Intrusion in the yard from 19:00 to 07:00 (UTC) on weekdays, 5 s of presence.
const NIGHT: &str = r#"
[[rule]]
id = "night"
type = "intrusion"
zones = ["yard"]
classes = ["person"]
min_duration_s = 5.0
end_after_s = 2.0
schedule = { timezone = "UTC", windows = [{ days = ["mon", "tue", "wed", "thu", "fri"], start = "19:00", end = "07:00" }] }
"#;

fn person(x: f32) -> TrackObs {
    TrackObs {
        track_id: TrackId(NonZeroU64::new(1).expect("1 is not 0")),
        bbox: BBox::new(x - 20.0, 300.0, x + 20.0, 400.0),
        class: "person".into(),
        score: 0.9,
    }
}

/// Frame `i` (5 per second from Friday 18:58:00 UTC), with `objects`; `wall` false leaves the wall clock out.
fn frame(i: i64, objects: Vec<TrackObs>, wall: bool) -> FrameInput {
    FrameInput {
        t: Time90k(i * 18_000),
        wall: wall.then_some(WallClock {
            unix_ms: FRI_18_58 * 1000 + i * 200,
            local_offset_s: 0,
        }),
        objects,
        ..Default::default()
    }
}

fn engine(rules: &str) -> Engine {
    let cfg = RulesConfig::parse(&format!("{ZONE}{rules}"), "test").expect("parses");
    let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
    Engine::new(&cfg, "cam", 1000, 1000, &labels).expect("builds")
}

fn run(rules: &str, frames: impl IntoIterator<Item = FrameInput>) -> (Vec<Event>, Engine) {
    let mut e = engine(rules);
    let mut out = Vec::new();
    for f in frames {
        e.push(&f);
        out.extend(std::iter::from_fn(|| e.pull()));
    }
    e.finish();
    out.extend(std::iter::from_fn(|| e.pull()));
    (out, e)
}

/// Media seconds of the frame at Friday `h`:`m`:`s` UTC.
fn media_s(h: i64, m: i64, s: i64) -> f64 {
    ((h * 3600 + m * 60 + s) - (18 * 3600 + 58 * 60)) as f64
}

#[test]
fn presence_before_the_window_counts_from_its_opening() {
    // Someone in the yard from 18:58:00 to 19:01:00: the rule opens at 19:00:00 and sees them from then, so the
    // 5 s of presence are due at 19:00:05 (not at once because they were there since 18:58).
    let (ev, _) = run(NIGHT, (0..900).map(|i| frame(i, vec![person(300.0)], true)));
    let starts: Vec<&Event> = ev.iter().filter(|e| e.phase == Phase::Start).collect();
    assert_eq!(starts.len(), 1, "{ev:#?}");
    assert_eq!(starts[0].start.as_secs_f64(), media_s(19, 0, 0));
    assert_eq!(starts[0].at.as_secs_f64(), media_s(19, 0, 5));
    // Without a schedule it would have started at once.
    let always = NIGHT.split("schedule").next().unwrap_or_default();
    let (ev, _) = run(always, (0..900).map(|i| frame(i, vec![person(300.0)], true)));
    assert_eq!(ev[0].start, Time90k(0));
}

#[test]
fn an_event_ends_normally_when_the_window_closes() {
    // Saturday 06:59:00 to 07:01:00 UTC, someone present all along: the event that started the night before ends
    // end_after_s (2 s) after the window closed at 07:00 (Friday's window runs to Saturday 07:00).
    const SAT_06_59: i64 = FRI_18_58 + 12 * 3600 + 60;
    let frames = (0..600).map(|i| FrameInput {
        t: Time90k(i * 18_000),
        wall: Some(WallClock {
            unix_ms: SAT_06_59 * 1000 + i * 200,
            local_offset_s: 0,
        }),
        objects: vec![person(300.0)],
        ..Default::default()
    });
    let mut e = engine(NIGHT);
    let mut ev = Vec::new();
    for f in frames {
        e.push(&f);
        ev.extend(std::iter::from_fn(|| e.pull()));
    }
    let phases: Vec<Phase> = ev.iter().map(|e| e.phase).collect();
    assert_eq!(phases, vec![Phase::Start, Phase::End], "{ev:#?}");
    assert_eq!(ev[0].at.as_secs_f64(), 5.0);
    // Last true at 06:59:59.8 (media 59.8 s), ended 2 s later.
    assert_eq!(ev[1].end.map(|t| t.as_secs_f64()), Some(59.8));
    assert_eq!(ev[1].at.as_secs_f64(), 61.8);
}

#[test]
fn frames_without_a_wall_clock_are_outside_every_schedule() {
    let (ev, _) = run(NIGHT, (0..900).map(|i| frame(i, vec![person(300.0)], false)));
    assert!(ev.is_empty(), "{ev:#?}");
}

#[test]
fn line_counts_only_inside_the_schedule() {
    // A person crosses the gate (x 500) left to right at 18:58:55 (outside the 19:00-20:00 window), back at
    // 19:00:30 and again left to right at 19:01:00 (inside): two crossings counted, one each way; a count with no
    // schedule sees all three.
    let x = |i: i64| -> f32 {
        let s = i as f64 / 5.0;
        match s {
            s if s < 55.0 => 300.0,
            s if s < 150.0 => 700.0,
            s if s < 180.0 => 300.0,
            _ => 700.0,
        }
    };
    let counting = r#"
[[rule]]
id = "count"
type = "line_count"
lines = ["gate"]
classes = ["person"]
schedule = { timezone = "+00:00", windows = [{ start = "19:00", end = "20:00" }] }
"#;
    let (_, e) = run(counting, (0..1000).map(|i| frame(i, vec![person(x(i))], true)));
    let c = e.line_counts();
    assert_eq!((c[0].r#in, c[0].out), (1, 1), "{c:?}");
    let always = counting.split("schedule").next().unwrap_or_default();
    let (_, e) = run(always, (0..1000).map(|i| frame(i, vec![person(x(i))], true)));
    let c = e.line_counts();
    assert_eq!(c[0].r#in + c[0].out, 3, "{c:?}");
}

#[test]
fn bad_schedules_are_config_errors_naming_the_rule() {
    let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
    for (bad, needle) in [
        (
            r#"days = ["fri", "caturday"], start = "19:00", end = "07:00""#,
            "caturday",
        ),
        (r#"start = "19:00", end = "7h""#, "7h"),
        (r#"start = "25:00", end = "07:00""#, "25:00"),
        (r#"start = "19:00", end = "19:00""#, "empty window"),
        (r#"start = "19:00", end = "07:00", hours = 3"#, "hours"),
    ] {
        let text = format!(
            "{ZONE}[[rule]]\nid = \"night\"\ntype = \"intrusion\"\nzones = [\"yard\"]\n\
             schedule = {{ windows = [{{ {bad} }}] }}\n"
        );
        let e = match RulesConfig::parse(&text, "cam.toml") {
            Err(e) => e,
            Ok(cfg) => Engine::new(&cfg, "cam", 1000, 1000, &labels).err().expect(needle),
        };
        assert_eq!(e.kind(), vigie_core::ErrorKind::Config);
        let msg = e.to_string();
        assert!(msg.contains(needle), "{needle} in {msg}");
        if needle != "hours" {
            // Unknown keys are named by the TOML parser with their line; value errors by the rule.
            assert!(msg.contains("rule \"night\""), "{msg}");
        }
    }
    let text = format!(
        "{ZONE}[[rule]]\nid = \"night\"\ntype = \"intrusion\"\nzones = [\"yard\"]\n\
         schedule = {{ timezone = \"Europe/Paris\", windows = [{{ start = \"19:00\", end = \"07:00\" }}] }}\n"
    );
    let cfg = RulesConfig::parse(&text, "cam.toml").expect("parses");
    let e = Engine::new(&cfg, "cam", 1000, 1000, &labels)
        .err()
        .expect("named zones are not offsets");
    assert!(e.to_string().contains("Europe/Paris"), "{e}");
}
