//! Issue 7 (legal scope): no biometric identification. The shipped detectors' class lists hold no face (or head,
//! iris, fingerprint) class, and the repository's Rust sources hold no face-recognition, face-embedding or person
//! re-identification code. Adding such a class or such code makes this test fail.

use std::path::{Path, PathBuf};

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Case-insensitive: does `label` name a biometric class (/face|head|iris|fingerprint/i)?
fn biometric(label: &str) -> bool {
    let l = label.to_lowercase();
    ["face", "head", "iris", "fingerprint"].iter().any(|w| l.contains(w))
}

/// The labels the pipeline gives the shipped detector (models/nanodet.onnx) and the weapon detector: the shipped
/// configuration's `[detector] labels`, or the 80 COCO labels when it sets none (as `Config::labels` does), and
/// `[weapon] labels`.
fn shipped_labels() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("config/vigie.toml")).expect("config/vigie.toml");
    let cfg: toml::Table = text.parse().expect("config/vigie.toml is TOML");
    let detector = cfg.get("detector").and_then(|d| d.as_table()).expect("[detector]");
    assert_eq!(
        detector.get("model").and_then(|m| m.as_str()),
        Some("models/nanodet.onnx"),
        "the shipped detector"
    );
    assert!(repo_root().join("models/nanodet.onnx").exists());
    let as_strings = |v: &toml::Value| -> Vec<String> {
        v.as_array()
            .expect("a list of labels")
            .iter()
            .map(|s| s.as_str().expect("a label").to_string())
            .collect()
    };
    let mut labels = match detector.get("labels") {
        Some(l) => as_strings(l),
        None => vigie_core::COCO80.iter().map(|s| s.to_string()).collect(),
    };
    if let Some(w) = cfg.get("weapon").and_then(|w| w.get("labels")) {
        labels.extend(as_strings(w));
    }
    labels
}

#[test]
fn shipped_detector_classes_hold_no_face_class() {
    let labels = shipped_labels();
    assert!(labels.len() >= 80, "{labels:?}");
    let bad: Vec<&String> = labels.iter().filter(|l| biometric(l)).collect();
    assert!(bad.is_empty(), "biometric classes in the shipped detectors: {bad:?}");
    let default = vigie_core::ClassSet::coco_default();
    assert!(default.labels().iter().all(|l| !biometric(l)));
}

/// The pose model (models/movenet-multipose.onnx) outputs 17 body keypoints, used only for the body axis (fall
/// detection): no face landmarks beyond the five COCO head points, no face class.
#[test]
fn pose_model_outputs_hold_no_face_class() {
    assert!(repo_root().join("models/movenet-multipose.onnx").exists());
    let kp = vigie_vision::pose::KEYPOINTS;
    assert_eq!(kp.len(), 17);
    let bad: Vec<&&str> = kp.iter().filter(|l| biometric(l)).collect();
    assert!(bad.is_empty(), "biometric outputs of the pose model: {bad:?}");
}

fn rust_sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name();
        if p.is_dir() {
            if name != "target" && name != "node_modules" && !name.to_string_lossy().starts_with('.') {
                rust_sources(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") || name == "Cargo.toml" {
            out.push(p);
        }
    }
}

/// No face recognition, face embedding or re-identification code (nor a dependency named so) anywhere in crates/.
#[test]
fn no_face_recognition_or_reidentification_code() {
    const FORBIDDEN: [&str; 7] = [
        "face_recogn",
        "face_embed",
        "reid",
        "re_identif",
        "arcface",
        "facenet",
        "insightface",
    ];
    let this = Path::new(file!()).file_name().expect("this file's name");
    let mut files = Vec::new();
    rust_sources(&repo_root().join("crates"), &mut files);
    assert!(files.len() > 50, "crates/ not found: {} files", files.len());
    let mut hits = Vec::new();
    for f in files.iter().filter(|f| f.file_name() != Some(this)) {
        let Ok(text) = std::fs::read_to_string(f) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            let l = line.to_lowercase();
            for w in FORBIDDEN {
                if l.contains(w) {
                    hits.push(format!("{}:{}: {}", f.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(hits.is_empty(), "forbidden biometric code:\n{}", hits.join("\n"));
}

/// The check itself works: it would catch such a label.
#[test]
fn the_check_catches_a_face_class() {
    assert!(biometric("Face"));
    assert!(biometric("head"));
    assert!(!biometric("person"));
}
