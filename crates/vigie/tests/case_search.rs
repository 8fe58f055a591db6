//! Case-gated search (issue 8) on real footage: `vigie analyze` stores tracks with their camera, wall-clock time
//! and vehicle colour; `vigie case open` and `vigie search` find them inside the case only; every search is in the
//! audit log; appearance search of people is refused.
//!
//! Footage: `../shared/data/video/car-detection.mp4`, a car park seen from high above: a white car (6-8 s), a light
//! silver one and the red one (16-18 s), a second white one (26-28 s). The shipped NanoDet labels cars seen from
//! straight above "cell phone" (`../shared/docs/models.md`), so the camera's configuration corrects that confusion
//! by size (`[[detector.relabel]]`: a "cell phone" covering 1 % of the frame is a car). Then "car, red" finds the
//! red car in its window, "car, white" the two white cars (the light silver one reads white too in this dull
//! light: printed), and a case whose window ends before the red car finds no red car.
//! The synopsis poster of the cars found is regenerated into `docs/synopsis-car-detection.png`.

mod common;

use std::path::Path;

use common::*;

const START: &str = "2026-03-06T19:30:00+01:00";

fn config(dir: &Path) -> std::path::PathBuf {
    let cfg = dir.join("vigie.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndatabase = \"{}\"\n\n[analysis]\nstart_time = \"{START}\"\n\n\
             [[detector.relabel]]\nfrom = \"cell phone\"\nto = \"car\"\nmin_area_fraction = 0.01\n",
            dir.join("vigie.db").display()
        ),
    )
    .expect("config");
    cfg
}

fn run_ok(args: &[&str], dir: &Path) -> String {
    let o = vigie(args, dir);
    assert!(
        o.status.success(),
        "vigie {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn search_inside_a_case_on_real_footage() {
    let dir = temp_dir("case-search");
    let cfg = config(&dir);
    let cfg = cfg.to_str().expect("utf-8");
    let video = shared_video("car-detection.mp4");
    let out = dir.join("out");
    run_ok(
        &[
            "analyze",
            video.to_str().expect("utf-8"),
            "--config",
            cfg,
            "--out",
            out.to_str().expect("utf-8"),
        ],
        &repo_root(),
    );
    let tracks = std::fs::read_to_string(out.join("tracks.jsonl")).expect("tracks.jsonl");
    for t in lines(&tracks) {
        eprintln!(
            "track {} {} {:?} at {} s",
            t["track_id"], t["class"], t["colour"], t["first_s"]
        );
        if t["class"] == "person" {
            assert!(t.get("colour").is_none(), "no colour for a person: {t}");
        }
    }

    // The case covers the whole clip (19:30:00 to 19:30:31, +01:00), a second one only its first 12 s.
    run_ok(
        &[
            "case",
            "open",
            "PV-2026-0042",
            "--authority",
            "Parquet de Lyon",
            "--cameras",
            "car-detection",
            "--from",
            "2026-03-06T19:30:00+01:00",
            "--to",
            "2026-03-06T19:30:31+01:00",
            "--investigators",
            "ines,marc",
            "--plates",
            "--config",
            cfg,
        ],
        &dir,
    );
    run_ok(
        &[
            "case",
            "open",
            "PV-2026-0043",
            "--authority",
            "Parquet de Lyon",
            "--cameras",
            "car-detection",
            "--from",
            "2026-03-06T19:30:00+01:00",
            "--to",
            "2026-03-06T19:30:12+01:00",
            "--investigators",
            "ines",
            "--config",
            cfg,
        ],
        &dir,
    );
    let cases = lines(&run_ok(&["case", "list", "--config", cfg], &dir));
    assert_eq!(cases.len(), 2);
    assert_eq!(cases[0]["open"], true);
    assert_eq!(
        (&cases[0]["plates_allowed"], &cases[1]["plates_allowed"]),
        (&serde_json::json!(false), &serde_json::json!(true)),
        "newest first: PV-2026-0043 without plates, PV-2026-0042 with"
    );

    let search = |case: &str, extra: &[&str]| {
        let mut args = vec!["search", "--case", case, "--config", cfg];
        args.extend_from_slice(extra);
        lines(&run_ok(&args, &dir))
    };
    let starts = |hits: &[serde_json::Value]| -> Vec<String> {
        hits.iter()
            .map(|h| h["first"].as_str().expect("first").chars().take(19).collect())
            .collect()
    };
    // The red car, in view 16-18 s.
    let red = search("PV-2026-0042", &["--class", "car", "--colour", "red"]);
    eprintln!("car, red: {:?}", starts(&red));
    assert_eq!(red.len(), 1, "the one red car: {red:?}");
    assert_eq!(red[0]["camera"], "car-detection");
    assert_eq!(red[0]["colour"], "red");
    let first = red[0]["first"].as_str().expect("first");
    assert!(
        first.starts_with("2026-03-06T18:30:16") || first.starts_with("2026-03-06T18:30:17"),
        "wall-clock time of the red car: {first}"
    );
    let snapshot = red[0]["snapshot"].as_str().expect("snapshot");
    assert!(Path::new(snapshot).exists(), "{snapshot}");
    // The two white cars (6 s and 26 s).
    let white = starts(&search("PV-2026-0042", &["--class", "car", "--colour", "white"]));
    eprintln!("car, white: {white:?}");
    for at in ["2026-03-06T18:30:06", "2026-03-06T18:30:26"] {
        assert!(
            white.iter().any(|w| w.starts_with(at)),
            "a white car at {at}: {white:?}"
        );
    }
    // A case whose window ends at 12 s: the first white car, and no red car.
    assert!(search("PV-2026-0043", &["--class", "car", "--colour", "red"]).is_empty());
    let early = starts(&search("PV-2026-0043", &["--class", "car", "--colour", "white"]));
    assert_eq!(early.len(), 1, "{early:?}");
    assert!(early[0].starts_with("2026-03-06T18:30:06"), "{early:?}");

    // People: never by appearance.
    let o = vigie(
        &[
            "search",
            "--case",
            "PV-2026-0042",
            "--class",
            "person",
            "--colour",
            "red",
            "--config",
            cfg,
        ],
        &dir,
    );
    assert_eq!(o.status.code(), Some(64), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("people"));
    // No case, no search; a camera outside the case is refused.
    assert!(
        !vigie(&["search", "--case", "nope", "--config", cfg], &dir)
            .status
            .success()
    );
    assert!(
        !vigie(
            &[
                "search",
                "--case",
                "PV-2026-0042",
                "--camera",
                "elsewhere",
                "--config",
                cfg
            ],
            &dir
        )
        .status
        .success()
    );
    // Plate search inside the case (no plate is readable from this height: nothing found, but logged).
    assert!(search("PV-2026-0042", &["--plate", "AB*"]).is_empty());
    // ... and refused in a case whose order does not allow plate searches (invalid use, not logged).
    let o = vigie(
        &["search", "--case", "PV-2026-0043", "--plate", "AB*", "--config", cfg],
        &dir,
    );
    assert_eq!(o.status.code(), Some(64), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("does not allow plate searches"));

    // Closed: refused.
    run_ok(&["case", "close", "PV-2026-0043", "--config", cfg], &dir);
    assert!(
        !vigie(&["search", "--case", "PV-2026-0043", "--config", cfg], &dir)
            .status
            .success()
    );

    // The synopsis of the cars found in the case, over the empty car park: its poster is kept in docs/.
    let syn = dir.join("synopsis");
    run_ok(
        &[
            "synopsis",
            "--case",
            "PV-2026-0042",
            "--camera",
            "car-detection",
            "--class",
            "car",
            "--out",
            syn.to_str().expect("utf-8"),
            "--config",
            cfg,
        ],
        &dir,
    );
    let poster = image::open(syn.join("poster.png")).expect("poster.png").to_rgb8();
    assert_eq!(poster.dimensions(), (768, 432));
    assert!(syn.join("synopsis.mp4").exists());
    // A case's result, registered with it: retention deletes it when the case expires.
    let exports = vigie_store::Store::open(&dir.join("vigie.db"))
        .expect("database")
        .case_exports("PV-2026-0042")
        .expect("case exports");
    assert_eq!(exports.len(), 1);
    assert_eq!(
        std::path::PathBuf::from(&exports[0].path),
        std::fs::canonicalize(&syn).expect("canonical")
    );
    assert_eq!(exports[0].files, ["poster.png", "synopsis.mp4"]);
    std::fs::copy(
        syn.join("poster.png"),
        repo_root().join("docs/synopsis-car-detection.png"),
    )
    .expect("docs/");

    // Every search that ran is in the audit log, which verifies.
    run_ok(&["audit", "verify", "--config", cfg], &dir);
    let log = lines(&run_ok(&["audit", "export", "--config", cfg], &dir));
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "search").count(), 5, "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "plate_lookup").count(),
        1,
        "{actions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn opening_and_closing_a_case_are_audited_and_a_closed_case_is_refused() {
    let dir = temp_dir("case-audit");
    let cfg = config(&dir);
    let cfg = cfg.to_str().expect("utf-8");
    run_ok(
        &[
            "case",
            "open",
            "PV-AUDIT-1",
            "--authority",
            "TJ Lyon",
            "--cameras",
            "street",
            "--from",
            "2026-03-06T19:00:00+01:00",
            "--to",
            "2026-03-06T20:00:00+01:00",
            "--investigators",
            "ines",
            "--config",
            cfg,
        ],
        &dir,
    );
    run_ok(&["case", "close", "PV-AUDIT-1", "--config", cfg], &dir);
    // A closed case: no search, no export (refused before anything is decoded or written).
    for args in [
        vec!["search", "--case", "PV-AUDIT-1", "--class", "car", "--config", cfg],
        vec![
            "export",
            "--case",
            "PV-AUDIT-1",
            "--camera",
            "street",
            "--from",
            "2026-03-06T19:10:00+01:00",
            "--to",
            "2026-03-06T19:11:00+01:00",
            "--out",
            "export",
            "--config",
            cfg,
        ],
    ] {
        let o = vigie(&args, &dir);
        assert!(!o.status.success(), "{args:?} ran in a closed case");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("is closed"),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
    assert!(!dir.join("export").exists());

    run_ok(&["audit", "verify", "--config", cfg], &dir);
    let log = lines(&run_ok(&["audit", "export", "--config", cfg], &dir));
    // (action, detail), the detail being the JSON text as hashed.
    let case_entries: Vec<(&str, serde_json::Value)> = log
        .iter()
        .filter(|e| e["target"] == "case:PV-AUDIT-1")
        .map(|e| {
            let detail = serde_json::from_str(e["detail"].as_str().expect("detail text")).expect("JSON detail");
            (e["action"].as_str().unwrap_or(""), detail)
        })
        .collect();
    let what: Vec<(&str, &str)> = case_entries
        .iter()
        .map(|(a, d)| (*a, d["case"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        what,
        [("config_change", "opened"), ("config_change", "closed")],
        "{log:?}"
    );
    assert_eq!(case_entries[0].1["authority"], "TJ Lyon");
    assert_eq!(case_entries[0].1["cameras"][0], "street");
    let _ = std::fs::remove_dir_all(&dir);
}
