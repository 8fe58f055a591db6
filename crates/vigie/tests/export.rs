//! Evidence export (issue 8): a recording made of `vtest.mp4` (a real pedestrian walkway, Debian's opencv-doc),
//! written as a segment with `vigie_video::SegmentMuxer` and committed to the store as the live service does; then
//! `vigie export` inside a case, `vigie verify-export` on it, one byte flipped in the clip and the verifier naming
//! exactly that file, and the blur measured on pixels: inside the people the detector finds in the original frame,
//! the exported frame's variance is far lower.

mod common;

use std::path::Path;

use common::*;
use vigie_core::{BBox, RgbFrame};
use vigie_video::{DecodeOptions, FrameSampler, VideoFile};
use vigie_vision::{Detector, DetectorConfig};

/// 2026-03-06T18:30:00Z, the segment's start.
const T0: i64 = 1_772_821_800_000;

fn frame_at(video: &Path, index: usize) -> RgbFrame {
    let mut f = VideoFile::open(video, &DecodeOptions { threads: 1 }).expect("open");
    let mut s = FrameSampler::new(0.0);
    let mut i = 0;
    while let Some(fr) = f.next_sampled(&mut s).expect("decode") {
        if i == index {
            return fr;
        }
        i += 1;
    }
    panic!("{}: no frame {index}", video.display());
}

fn variance(f: &RgbFrame, b: BBox) -> f64 {
    let mut v = Vec::new();
    for y in (b.y1.max(0.0) as u32)..(b.y2.min(f.height as f32) as u32) {
        for x in (b.x1.max(0.0) as u32)..(b.x2.min(f.width as f32) as u32) {
            let i = ((y * f.width + x) * 3) as usize;
            v.push(f64::from(f.data[i]) * 0.3 + f64::from(f.data[i + 1]) * 0.59 + f64::from(f.data[i + 2]) * 0.11);
        }
    }
    let m = v.iter().sum::<f64>() / v.len().max(1) as f64;
    v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len().max(1) as f64
}

#[test]
fn export_verify_tamper_and_blur() {
    let dir = temp_dir("export");
    let db = dir.join("vigie.db");
    let rec = dir.join("recordings");
    let cfg = dir.join("vigie.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndatabase = \"{}\"\n\n[server]\nrecordings = \"{}\"\n",
            db.display(),
            rec.display()
        ),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf-8");
    record_walkway(&rec, &db, T0, 60); // 6 s at 10 fps

    let ok = |args: &[&str]| {
        let o = vigie(args, &repo_root());
        assert!(
            o.status.success(),
            "vigie {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o
    };
    ok(&[
        "case",
        "open",
        "PV-EXPORT-1",
        "--authority",
        "Parquet",
        "--cameras",
        "walkway",
        "--from",
        "2026-03-06T18:00:00Z",
        "--to",
        "2026-03-06T19:00:00Z",
        "--investigators",
        "ines",
        "--config",
        cfg,
    ]);
    let out = dir.join("export");
    let out_s = out.to_str().expect("utf-8");
    let export = |extra: &[&str]| {
        let mut a = vec![
            "export",
            "--case",
            "PV-EXPORT-1",
            "--camera",
            "walkway",
            "--from",
            "2026-03-06T18:30:01Z",
            "--to",
            "2026-03-06T18:30:03Z",
            "--config",
            cfg,
        ];
        a.extend_from_slice(extra);
        vigie(&a, &repo_root())
    };
    // Unblurred without a supervisor's approval: refused, nothing written.
    let o = export(&["--out", dir.join("raw").to_str().expect("utf-8"), "--unblurred"]);
    assert_eq!(o.status.code(), Some(64), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.join("raw").join("clip.mp4").exists());
    let o = export(&[
        "--out",
        dir.join("raw").to_str().expect("utf-8"),
        "--unblurred",
        "--approved-by",
        "nobody",
    ]);
    assert!(!o.status.success());

    let o = export(&["--out", out_s]);
    assert!(o.status.success(), "export: {}", String::from_utf8_lossy(&o.stderr));
    for f in ["clip.mp4", "manifest.json", "manifest.sig"] {
        assert!(out.join(f).exists(), "{f}");
    }
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("json");
    assert_eq!(manifest["case"], "PV-EXPORT-1");
    assert_eq!(manifest["blurred"], true);
    assert_eq!(manifest["cameras"][0], "walkway");
    assert_eq!(manifest["files"][0]["frames"], 20, "2 s at 10 fps");
    ok(&["verify-export", out_s]);

    // Blur on pixels: clip frame 0 is the original's frame 10 (1 s).
    let original = frame_at(&vtest_mp4(), 10);
    let exported = frame_at(&out.join("clip.mp4"), 0);
    assert_eq!((exported.width, exported.height), (original.width, original.height));
    let root = repo_root();
    vigie_vision::init_runtime(&root.join(".cache/vigie/lib/libonnxruntime.so.1.32.0")).expect("ORT");
    let mut det = Detector::new(&DetectorConfig::nanodet_default(root.join("models/nanodet.onnx"))).expect("det");
    let person = det.class_set().id("person").expect("person");
    let d = det.detect(&original).expect("detect");
    let people: Vec<BBox> = d
        .boxes
        .iter()
        .zip(&d.class_ids)
        .zip(&d.scores)
        .filter(|((b, c), s)| **c == person && **s >= 0.5 && b.x2 - b.x1 >= 20.0 && b.y2 - b.y1 >= 40.0)
        .map(|((b, _), _)| *b)
        .collect();
    assert!(people.len() >= 3, "people on the walkway at 1 s: {}", people.len());
    for b in &people {
        let (vo, ve) = (variance(&original, *b), variance(&exported, *b));
        eprintln!("person {b:?}: variance {vo:.0} in the original, {ve:.0} exported");
        assert!(ve < vo * 0.25, "person {b:?} not blurred: {ve:.0} vs {vo:.0}");
    }
    // A strip of background with no person (the top rows) is not blurred away.
    let top = BBox::from([0.0, 0.0, 768.0, 40.0]);
    if !people.iter().any(|b| b.y1 < 48.0) {
        assert!(
            variance(&exported, top) > variance(&original, top) * 0.5,
            "the background is kept"
        );
    }

    // One byte of the clip flipped: the verifier fails naming exactly clip.mp4.
    let clip = out.join("clip.mp4");
    let mut bytes = std::fs::read(&clip).expect("clip");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).expect("tamper");
    let o = vigie(&["verify-export", out_s], &repo_root());
    assert_eq!(o.status.code(), Some(65));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("clip.mp4: altered"), "{err}");
    assert!(!err.contains("manifest.json:"), "only the clip is named: {err}");
    bytes[mid] ^= 0x01;
    std::fs::write(&clip, &bytes).expect("restore");
    ok(&["verify-export", out_s]);
    // The manifest edited: its signature fails.
    let m = std::fs::read_to_string(out.join("manifest.json")).expect("manifest");
    std::fs::write(out.join("manifest.json"), m.replace("PV-EXPORT-1", "PV-EXPORT-2")).expect("edit");
    let o = vigie(&["verify-export", out_s], &repo_root());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("manifest.json") && !err.contains("clip.mp4"),
        "{err}"
    );

    // Two-person rule: an investigator's account cannot approve; a supervisor's can, and the manifest says who.
    for (name, role) in [("ines", "investigator"), ("sam", "supervisor")] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["user", "add", name, "--role", role, "--config", cfg])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("vigie user add");
        use std::io::Write as _;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"a long enough password 1234\n")
            .expect("password");
        assert!(child.wait().expect("wait").success(), "user add {name}");
    }
    let raw = dir.join("raw");
    let raw_s = raw.to_str().expect("utf-8");
    let o = export(&["--out", raw_s, "--unblurred", "--approved-by", "ines"]);
    assert_eq!(o.status.code(), Some(64), "{}", String::from_utf8_lossy(&o.stderr));
    let o = export(&["--out", raw_s, "--unblurred", "--approved-by", "sam"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(raw.join("manifest.json")).expect("manifest")).expect("json");
    assert_eq!(
        (m["blurred"].as_bool(), m["approved_by"].as_str()),
        (Some(false), Some("sam"))
    );
    ok(&["verify-export", raw_s]);
    let unblurred = frame_at(&raw.join("clip.mp4"), 0);
    for b in &people {
        assert!(
            variance(&unblurred, *b) > variance(&original, *b) * 0.5,
            "unblurred keeps the pixels"
        );
    }

    // The export is in the audit log.
    let o = ok(&["audit", "export", "--config", cfg]);
    let log = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(log.matches("\"action\":\"export\"").count(), 2, "{log}");
    let approvals: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["action"] == "export")
        .filter_map(|e| serde_json::from_str::<serde_json::Value>(e["detail"].as_str()?).ok())
        .map(|d| d["approved_by"].clone())
        .collect();
    assert_eq!(approvals, [serde_json::Value::Null, serde_json::json!("sam")], "{log}");
    // Both exports are registered with their case (absolute folders), for retention to delete when it expires.
    let exports = vigie_store::Store::open(&db)
        .expect("database")
        .case_exports("PV-EXPORT-1")
        .expect("case exports");
    let paths: Vec<std::path::PathBuf> = exports.iter().map(|x| std::path::PathBuf::from(&x.path)).collect();
    let canon = |p: &Path| std::fs::canonicalize(p).expect("canonical");
    assert_eq!(paths, [canon(&out), canon(&raw)]);
    assert!(
        exports
            .iter()
            .all(|x| x.deleted_unix_ms.is_none() && x.files.len() == 3)
    );
    let _ = std::fs::remove_dir_all(&dir);
}
