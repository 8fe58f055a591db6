//! Case-gated search (issue 8) on real footage: `vigie analyze` stores tracks with their camera, wall-clock time
//! and vehicle colour; `vigie case open` and `vigie search` find them inside the case only; every search is in the
//! audit log; appearance search of people is refused.
//!
//! Footage: `../shared/data/video/car-detection.mp4`, a car park seen from high above. The shipped NanoDet finds
//! only two of its cars as "car" (a white one at 8 s, a light grey one at 18 s); it misses the red car (in view at
//! 15-22 s) and the second white car (26 s) (`../shared/docs/models.md`: weak on cars seen from above). So "car,
//! red" cannot find the red car with this detector: the test prints what it finds and asserts the white car.
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
            "[storage]\ndatabase = \"{}\"\n\n[analysis]\nstart_time = \"{START}\"\n",
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

    // The case covers the clip's first 20 s (19:30:00 to 19:30:20, +01:00), and a second one only 12-20 s.
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
            "2026-03-06T19:30:20+01:00",
            "--investigators",
            "ines,marc",
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
            "2026-03-06T19:30:12+01:00",
            "--to",
            "2026-03-06T19:30:20+01:00",
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

    let search = |case: &str, extra: &[&str]| {
        let mut args = vec!["search", "--case", case, "--config", cfg];
        args.extend_from_slice(extra);
        lines(&run_ok(&args, &dir))
    };
    let white = search("PV-2026-0042", &["--class", "car", "--colour", "white"]);
    eprintln!("car, white: {white:?}");
    assert_eq!(white.len(), 1, "the white car at 8 s: {white:?}");
    assert_eq!(white[0]["camera"], "car-detection");
    assert_eq!(white[0]["colour"], "white");
    let first = white[0]["first"].as_str().expect("first");
    assert!(
        first.starts_with("2026-03-06T18:30:08"),
        "wall-clock time of the 8 s track: {first}"
    );
    let snapshot = white[0]["snapshot"].as_str().expect("snapshot");
    assert!(Path::new(snapshot).exists(), "{snapshot}");
    // Outside the second case's window: not found.
    assert!(search("PV-2026-0043", &["--class", "car", "--colour", "white"]).is_empty());
    // The red car: blocked by the detector (see the module's documentation); printed, not asserted.
    eprintln!(
        "car, red (the detector misses the red car): {:?}",
        search("PV-2026-0042", &["--class", "car", "--colour", "red"])
    );

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
    std::fs::copy(
        syn.join("poster.png"),
        repo_root().join("docs/synopsis-car-detection.png"),
    )
    .expect("docs/");

    // Every search that ran is in the audit log, which verifies.
    run_ok(&["audit", "verify", "--config", cfg], &dir);
    let log = lines(&run_ok(&["audit", "export", "--config", cfg], &dir));
    let actions: Vec<&str> = log.iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions.iter().filter(|a| **a == "search").count(), 4, "{actions:?}");
    assert_eq!(
        actions.iter().filter(|a| **a == "plate_lookup").count(),
        1,
        "{actions:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
