//! Shared helpers of the model tests: the ONNX Runtime library, the NanoDet model and the test photos, all located
//! relative to this crate. A missing asset fails the test with the command that fetches it; nothing is skipped.

#![allow(dead_code)]

pub mod onnx;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use vigie_core::{Detections, RgbFrame, Time90k};
use vigie_vision::{Detector, DetectorConfig};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn require(p: PathBuf, what: &str) -> PathBuf {
    assert!(
        p.is_file(),
        "{what} is missing at {}: run scripts/test-data.sh (or the asset fetch script) from the repository root",
        p.display()
    );
    p
}

pub fn ort_lib() -> PathBuf {
    require(
        root().join(".cache/vigie/lib/libonnxruntime.so.1.32.0"),
        "ONNX Runtime (libonnxruntime.so.1.32.0)",
    )
}

pub fn nanodet_model() -> PathBuf {
    require(root().join("models/nanodet.onnx"), "the NanoDet model")
}

pub fn testdata(name: &str) -> PathBuf {
    require(root().join(".cache/vigie/testdata").join(name), name)
}

pub fn init() {
    vigie_vision::init_runtime(&ort_lib()).expect("loading ONNX Runtime");
}

pub fn photo(name: &str) -> RgbFrame {
    let img = image::open(testdata(name))
        .unwrap_or_else(|e| panic!("decoding {name}: {e}"))
        .to_rgb8();
    RgbFrame {
        width: img.width(),
        height: img.height(),
        data: img.into_raw(),
        pts: Time90k(0),
        index: 0,
    }
}

/// Frame `n` of vtest.avi (768x576), extracted with the ffmpeg CLI into a temporary directory.
pub fn vtest_frame(n: u32) -> RgbFrame {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let video = testdata("vtest.avi");
    let dir = std::env::temp_dir().join(format!(
        "vigie-vision-test-{}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let png = dir.join("frame.png");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-loglevel", "error", "-y", "-i"])
        .arg(&video)
        .args(["-vf", &format!("select=eq(n\\,{n})"), "-frames:v", "1"])
        .arg(&png)
        .status()
        .unwrap_or_else(|e| {
            panic!("running the ffmpeg CLI to extract a vtest.avi frame (apt-get install ffmpeg): {e}")
        });
    assert!(
        status.success(),
        "ffmpeg failed to extract frame {n} of {}",
        video.display()
    );
    let img = image::open(&png).expect("decoding the extracted frame").to_rgb8();
    let _ = std::fs::remove_dir_all(&dir);
    RgbFrame {
        width: img.width(),
        height: img.height(),
        data: img.into_raw(),
        pts: Time90k(0),
        index: n as u64,
    }
}

pub fn detector(classes: Option<&[&str]>) -> Detector {
    init();
    let mut cfg = DetectorConfig::nanodet_default(nanodet_model());
    if let Some(c) = classes {
        cfg.classes = c.iter().map(|s| s.to_string()).collect();
    }
    Detector::new(&cfg).expect("building the NanoDet detector")
}

pub fn summary(det: &Detector, d: &Detections) -> String {
    (0..d.len())
        .map(|i| {
            let b = d.boxes[i];
            format!(
                "{} {:.2} [{:.0},{:.0},{:.0},{:.0}]",
                det.class_set().name(d.class_ids[i]),
                d.scores[i],
                b.x1,
                b.y1,
                b.x2,
                b.y2
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn best(det: &Detector, d: &Detections, class: &str) -> Option<usize> {
    let id = det.class_set().id(class)?;
    // Detections are sorted by score: the first of the class is its best.
    (0..d.len()).find(|&i| d.class_ids[i] == id)
}

pub fn count(det: &Detector, d: &Detections, class: &str) -> usize {
    let id = det.class_set().id(class).unwrap();
    d.class_ids.iter().filter(|&&c| c == id).count()
}
