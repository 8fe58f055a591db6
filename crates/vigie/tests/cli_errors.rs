//! Bad input gets one line naming the problem and a non-zero exit code; never a panic.

mod common;
use common::*;

fn assert_clean_failure(o: &std::process::Output, code: i32, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(code), "exit code; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got: {err}");
    assert!(lines[0].starts_with("vigie: error: "), "{err}");
    assert!(lines[0].contains(needle), "expected {needle:?} in {err}");
}

#[test]
fn missing_file() {
    let d = temp_dir("missing");
    let o = vigie(
        &["analyze", "/nonexistent/clip.mp4", "--out", d.to_str().unwrap()],
        &repo_root(),
    );
    assert_clean_failure(&o, 66, "/nonexistent/clip.mp4");
}

#[test]
fn not_a_video() {
    let d = temp_dir("notvideo");
    let f = d.join("notes.mp4");
    std::fs::write(&f, "this is a text file, not a video\n".repeat(50)).unwrap();
    let o = vigie(
        &["analyze", f.to_str().unwrap(), "--out", d.join("o").to_str().unwrap()],
        &repo_root(),
    );
    assert_clean_failure(&o, 65, "notes.mp4");
}

#[test]
fn truncated_video() {
    let d = temp_dir("trunc");
    let full = d.join("full.mp4");
    // Real footage, moov atom at the end (FFmpeg's default): cutting the file loses the index.
    ffmpeg(&[
        "-i",
        shared_video("car-detection.mp4").to_str().unwrap(),
        "-t",
        "4",
        "-c",
        "copy",
        full.to_str().unwrap(),
    ]);
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("cut.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let o = vigie(
        &["analyze", cut.to_str().unwrap(), "--out", d.join("o").to_str().unwrap()],
        &repo_root(),
    );
    assert_clean_failure(&o, 65, "cut.mp4");
}

#[test]
fn unknown_config_key() {
    let d = temp_dir("badcfg");
    let cfg = d.join("bad.toml");
    std::fs::write(&cfg, "[detector]\nscore_treshold = 0.3\n").unwrap();
    let o = vigie(
        &[
            "analyze",
            vtest().to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
            "--out",
            d.join("o").to_str().unwrap(),
        ],
        &repo_root(),
    );
    assert_clean_failure(&o, 78, "score_treshold");
}

#[test]
fn config_check_accepts_the_documented_file() {
    let o = vigie(&["config", "check", "config/vigie.toml"], &repo_root());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn config_check_warns_about_classes_no_detector_keeps() {
    let d = temp_dir("kept");
    let cfg = d.join("kept.toml");
    let text = |classes: &str| {
        format!(
            "[detector]\nclasses = [\"person\", \"car\"]\n\n[[zone]]\nid = \"z\"\n\
             polygon = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]\n\n[[rule]]\nid = \"vehicles\"\n\
             type = \"intrusion\"\nzones = [\"z\"]\nclasses = [{classes}]\n"
        )
    };
    // `bus` is a label but not kept: a warning on stderr naming the rule and the class; the check passes.
    std::fs::write(&cfg, text("\"car\", \"bus\"")).unwrap();
    let o = vigie(&["config", "check", cfg.to_str().unwrap()], &repo_root());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].starts_with("vigie: warning: ") && lines[0].contains("\"vehicles\"") && lines[0].contains("\"bus\""),
        "{err}"
    );
    // None of the rule's classes kept: refused, naming the rule.
    std::fs::write(&cfg, text("\"bus\", \"truck\"")).unwrap();
    let o = vigie(&["config", "check", cfg.to_str().unwrap()], &repo_root());
    assert_clean_failure(&o, 78, "\"vehicles\"");
    // The documented defaults give no warning.
    let o = vigie(&["config", "check", "config/vigie.toml"], &repo_root());
    assert!(o.stderr.is_empty(), "{}", String::from_utf8_lossy(&o.stderr));
}
