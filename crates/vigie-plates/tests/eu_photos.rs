//! Accuracy regression on the 78 real EU plate photos of `../shared/data/plates-eu/` (never copied into the
//! repository): each photo is read by the full pipeline (NanoDet vehicles, PP-OCRv6 detection and recognition,
//! grammar) and judged against the ground truth beside it (`vigie_plates::eval`).
//!
//! Two figures: **strict**, against the ground truth as shipped, and **with errata**, against it with the
//! corrections of `plates-eu-errata.tsv` beside this file applied (five Slovak plates whose ground truth writes a
//! letter O where the plate shows a zero: `RKO99AN`, `RKO26AJ`, `RKO82AL`, `RK6O5AB`, `RK3OOAG`; checked on the
//! photos). The reader is not bent to reproduce those lines: it reads `RK099AN` etc.
//!
//! Measured (vehicle crops, default settings, 2026-11-30): found 78/78, strict exact 73/78 (the five errata lines),
//! exact with errata 78/78 (`KMBORAK`, test_049, a personalised Slovak plate, is read as such), exact with O = 0
//! 78/78. The floors below are those counts minus one (with errata: at least 95 % in any case).
//!
//! Needs the OCR models and ONNX Runtime (`make assets`); run in release for speed (about 20 s in dev builds,
//! since the crate and its dependencies are optimised there too).

use std::path::{Path, PathBuf};
use vigie_plates::eval::{Errata, judge_with_errata, parse_truth};
use vigie_plates::{PlateReader, ReaderConfig, load_image};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn need(p: &Path, what: &str) {
    assert!(p.exists(), "missing {what} {}", p.display());
}

#[test]
fn eu_photos_accuracy_floor() {
    let root = root();
    let dir = root.join("../shared/data/plates-eu");
    need(&dir, "real plate photos (the shared data folder)");
    let ort = root.join(".cache/vigie/lib/libonnxruntime.so.1.32.0");
    need(&ort, "ONNX Runtime (run scripts/assets.sh)");
    vigie_vision::init_runtime(&ort).expect("ONNX Runtime loads");
    let cfg = ReaderConfig::with_root(&root);
    need(&cfg.det_model, "OCR model (run scripts/assets.sh)");
    need(&cfg.rec_model, "OCR model (run scripts/assets.sh)");
    let mut reader = PlateReader::new(&cfg).expect("plate reader");

    let mut truths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("plates-eu folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    truths.sort();
    let errata = Errata::plates_eu();
    let (mut n, mut found, mut exact, mut exact_o0, mut exact_errata) = (0, 0, 0, 0, 0);
    for t in &truths {
        let text = std::fs::read_to_string(t).unwrap();
        let Some(truth) = text.lines().find_map(parse_truth) else {
            continue;
        };
        let frame = load_image(&dir.join(&truth.file)).expect("photo decodes");
        let plates = reader.read(&frame, None).expect("reading works");
        let o = judge_with_errata(&truth, &errata, &plates);
        n += 1;
        found += o.found as usize;
        exact += o.exact as usize;
        exact_o0 += o.exact_o0 as usize;
        exact_errata += o.exact_errata as usize;
        if !o.exact {
            println!(
                "miss {}: truth {} read {} ({})",
                truth.file,
                truth.text,
                o.read.as_deref().unwrap_or("-"),
                if !o.found {
                    "no read over the plate"
                } else if o.exact_errata {
                    "right with errata"
                } else if o.exact_o0 {
                    "equal with O = 0"
                } else {
                    "wrong"
                }
            );
        }
    }
    println!("images {n} found {found} exact {exact} exact_errata {exact_errata} exact_o0 {exact_o0}");
    assert_eq!(n, 78, "the folder holds 78 photos with ground truth");
    assert_eq!(errata.0.len(), 5, "five errata lines");
    assert!(found >= 77, "plate found on {found}/78 photos, floor 77");
    assert!(exact >= 72, "strict exact {exact}/78, floor 72");
    assert!(exact_errata >= 77, "exact with errata {exact_errata}/78, floor 77");
    assert!(
        exact_errata * 100 >= 95 * n,
        "exact with errata {exact_errata}/{n} below 95 %"
    );
    assert!(exact_o0 >= 77, "exact (O = 0) {exact_o0}/78, floor 77");
}
