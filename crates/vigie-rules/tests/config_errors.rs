//! The configuration is strict: what does not make sense is an error that names it, before any frame is seen.

use vigie_core::{COCO80, ErrorKind};
use vigie_rules::{Engine, RulesConfig};

const ZONES: &str = r#"
[[zone]]
id = "walk"
polygon = [[0.0, 0.3], [1.0, 0.3], [1.0, 0.7], [0.0, 0.7]]
direction = [1.0, 0.0]

[[zone]]
id = "hall"
polygon = [[0.0, 0.0], [0.5, 0.0], [0.5, 0.5], [0.0, 0.5]]
"#;

/// Builds an engine from `ZONES` + `rule`; returns the error message, if any.
fn build(rule: &str) -> Result<(), String> {
    let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
    let text = format!("{ZONES}[[rule]]\n{rule}");
    let cfg = RulesConfig::parse(&text, "cameras/north.toml").map_err(|e| {
        assert_eq!(e.kind(), ErrorKind::Config);
        e.to_string()
    })?;
    Engine::new(&cfg, "north", 768, 576, &labels).map(|_| ()).map_err(|e| {
        assert_eq!(e.kind(), ErrorKind::Config, "{e}");
        e.to_string()
    })
}

fn rejects(rule: &str, needle: &str) {
    match build(rule) {
        Ok(()) => panic!("accepted:\n{rule}"),
        Err(e) => assert!(e.contains(needle), "error {e:?} does not mention {needle:?}"),
    }
}

#[test]
fn valid_rules_of_every_type_of_this_issue_build() {
    for rule in [
        "id = \"a\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_speed = 0.05\nmin_distance = 0.1",
        "id = \"b\"\ntype = \"loitering\"\nzones = [\"hall\"]\nmin_duration_s = 120.0",
        "id = \"c\"\ntype = \"gathering\"\nmin_people = 5\nradius = 2.0",
        "id = \"d\"\ntype = \"excessive_density\"\nzones = [\"walk\"]\nmax_people = 30",
        "id = \"e\"\ntype = \"crowd_movement\"\nzones = [\"walk\", \"hall\"]\nmin_people = 8\nspeed_factor = 3.0",
        "id = \"f\"\ntype = \"weapon\"\nclasses = [\"knife\", \"scissors\"]\nmin_score = 0.6",
    ] {
        build(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    }
}

#[test]
fn unknown_zone() {
    rejects(
        "id = \"l\"\ntype = \"loitering\"\nzones = [\"platform\"]",
        "unknown zone \"platform\"",
    );
}

#[test]
fn unknown_class() {
    rejects(
        "id = \"w\"\ntype = \"weapon\"\nclasses = [\"pistol\"]",
        "unknown class \"pistol\"",
    );
    rejects(
        "id = \"g\"\ntype = \"gathering\"\nclasses = [\"people\"]",
        "unknown class \"people\"",
    );
}

#[test]
fn parameter_that_does_not_apply() {
    rejects(
        "id = \"i\"\ntype = \"intrusion\"\nzones = [\"hall\"]\nradius = 2.0",
        "radius does not apply",
    );
    rejects(
        "id = \"l\"\ntype = \"loitering\"\nzones = [\"hall\"]\nmin_people = 2",
        "min_people does not apply",
    );
    rejects(
        "id = \"w\"\ntype = \"weapon\"\nspeed_factor = 2.0",
        "speed_factor does not apply",
    );
    rejects(
        "id = \"d\"\ntype = \"excessive_density\"\nmax_people = 3\nmin_speed = 0.1",
        "min_speed does not apply",
    );
}

#[test]
fn wrong_way_needs_a_direction() {
    rejects(
        "id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"hall\"]",
        "zone \"hall\" has no `direction`",
    );
    rejects("id = \"ww\"\ntype = \"wrong_way\"", "wrong_way needs `zones`");
}

#[test]
fn out_of_range_values() {
    rejects(
        "id = \"g\"\ntype = \"gathering\"\nmin_people = 1",
        "min_people must be at least 2",
    );
    rejects("id = \"g\"\ntype = \"gathering\"\nradius = 0.0", "radius must be > 0");
    rejects(
        "id = \"c\"\ntype = \"crowd_movement\"\nspeed_factor = 1.0",
        "speed_factor must be > 1",
    );
    rejects(
        "id = \"w\"\ntype = \"weapon\"\nmin_score = 1.5",
        "min_score must be within 0..1",
    );
    rejects(
        "id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_speed = 0.0",
        "min_speed must be > 0",
    );
    rejects(
        "id = \"d\"\ntype = \"excessive_density\"",
        "needs `max_people` or `max_per_m2`",
    );
    rejects(
        "id = \"d\"\ntype = \"excessive_density\"\nzones = [\"hall\"]\nmax_per_m2 = 2.0",
        "area_m2",
    );
}

#[test]
fn unknown_key_and_type() {
    rejects("id = \"g\"\ntype = \"gathering\"\nradius_m = 2.0", "radius_m");
    rejects("id = \"g\"\ntype = \"riot\"", "riot");
}

#[test]
fn metres_need_a_ground_scale() {
    rejects(
        "id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_speed_mps = 1.0",
        "min_speed_mps needs zone \"walk\" to have `metres_per_pixel`",
    );
    rejects(
        "id = \"c\"\ntype = \"crowd_movement\"\nmin_speed_mps = 2.0",
        "min_speed_mps needs `zones`",
    );
    rejects(
        "id = \"c\"\ntype = \"crowd_movement\"\nzones = [\"hall\"]\nmin_distance_m = 2.0",
        "min_distance_m does not apply",
    );
    // With a scale: accepted, but not together with the same threshold in image units, and not <= 0.
    let scaled = |rule: &str| -> Result<(), String> {
        let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
        let text = format!(
            "{}[[rule]]\n{rule}",
            ZONES.replace("direction", "metres_per_pixel = 0.02\ndirection")
        );
        let cfg = RulesConfig::parse(&text, "t").map_err(|e| e.to_string())?;
        Engine::new(&cfg, "north", 768, 576, &labels)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    scaled("id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_speed_mps = 1.0\nmin_distance_m = 2.0")
        .expect("a scaled zone takes metres");
    scaled("id = \"c\"\ntype = \"crowd_movement\"\nzones = [\"walk\"]\nmin_speed_mps = 2.5").expect("crowd in m/s");
    for (rule, needle) in [
        (
            "id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_speed_mps = 1.0\nmin_speed = 0.03",
            "not both",
        ),
        (
            "id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_speed_mps = 0.0",
            "min_speed_mps must be > 0",
        ),
        (
            "id = \"ww\"\ntype = \"wrong_way\"\nzones = [\"walk\"]\nmin_distance_m = -1.0",
            "min_distance_m must be >= 0",
        ),
    ] {
        let e = scaled(rule).expect_err(rule);
        assert!(e.contains(needle), "{needle} in {e}");
    }
    let bad_zone = "[[zone]]\nid = \"z\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]]\nmetres_per_pixel = 0.0\n";
    let e = RulesConfig::parse(bad_zone, "t")
        .unwrap()
        .validate(&[])
        .expect_err("scale 0");
    assert!(e.to_string().contains("metres_per_pixel must be > 0"), "{e}");
}

#[test]
fn classes_the_detector_does_not_keep() {
    let kept: Vec<String> = ["person", "car", "knife"].iter().map(|s| s.to_string()).collect();
    let cfg = |rules: &str| RulesConfig::parse(&format!("{ZONES}{rules}"), "t").expect("parses");
    // Intrusion watches people and vehicles by default: bicycle, motorcycle, bus and truck are not kept (4
    // warnings naming the rule); the gathering's people are.
    let w = cfg("[[rule]]\nid = \"in\"\ntype = \"intrusion\"\nzones = [\"hall\"]\n\
                 [[rule]]\nid = \"g\"\ntype = \"gathering\"\n")
    .classes_not_kept(&kept)
    .expect("some classes are kept");
    assert_eq!(w.len(), 4, "{w:?}");
    assert!(w.iter().all(|l| l.contains("rule \"in\"")), "{w:?}");
    assert!(w.iter().any(|l| l.contains("\"bus\"")), "{w:?}");
    // None of a rule's classes kept: an error naming it. A disabled rule and fire_start (no classes) are fine.
    let e = cfg("[[rule]]\nid = \"bags\"\ntype = \"abandoned_object\"\n")
        .classes_not_kept(&kept)
        .expect_err("no bag class is kept");
    assert_eq!(e.kind(), ErrorKind::Config);
    assert!(
        e.to_string().contains("\"bags\"") && e.to_string().contains("suitcase"),
        "{e}"
    );
    let w = cfg(
        "[[rule]]\nid = \"bags\"\ntype = \"abandoned_object\"\nenabled = false\n\
                 [[rule]]\nid = \"fire\"\ntype = \"fire_start\"\n",
    )
    .classes_not_kept(&kept)
    .expect("nothing to check");
    assert!(w.is_empty(), "{w:?}");
}
