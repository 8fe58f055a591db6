//! Development tool for tuning the reader: reads every photo of a ground-truth folder and prints, for each photo not
//! read exactly against the ground truth with errata applied (every photo with a third argument), each crop's text boxes, raw readings, character probabilities
//! and grammar decision, then the totals and the median CPU time per crop.
//!
//! `cargo run --release -p vigie-plates --example plates_eval -- DIR [det_side] [verbose]`
//! Environment overrides of `ReaderConfig`: NOVEH (no vehicle detection), FAST, STOP, SKIP, UPS, PAD, MINCONF,
//! RECMINW, BOXT, UNCLIP (see the field each sets below).

use std::path::{Path, PathBuf};
use vigie_plates::eval::{Errata, judge_with_errata, parse_truth};
use vigie_plates::{PlateReader, ReaderConfig, load_image};

fn main() -> vigie_core::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map(String::as_str).unwrap_or("../shared/data/plates-eu"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    vigie_vision::init_runtime(&root.join(".cache/vigie/lib/libonnxruntime.so.1.32.0"))?;
    let mut cfg = ReaderConfig::with_root(&root);
    if let Some(s) = args.get(2) {
        cfg.det_side = s.parse().unwrap();
    }
    if std::env::var("NOVEH").is_ok() {
        cfg.vehicle_model = None;
    }
    if let Ok(v) = std::env::var("RECMINW") {
        cfg.rec_min_width = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("STOP") {
        cfg.stop_score = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("FAST") {
        cfg.fast_det_side = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("SKIP") {
        cfg.skip_top = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("UPS") {
        cfg.max_upscale = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("PAD") {
        cfg.rec_side_pad = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("MINCONF") {
        cfg.min_confidence = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("BOXT") {
        cfg.db.box_thresh = v.parse().unwrap();
    }
    if let Ok(v) = std::env::var("UNCLIP") {
        cfg.db.unclip_ratio = v.parse().unwrap();
    }
    let verbose = args.get(3).is_some();
    let mut reader = PlateReader::new(&cfg)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let errata = Errata::plates_eu();
    let (mut n, mut found, mut exact, mut exact_o0, mut exact_errata) = (0, 0, 0, 0, 0);
    let mut crop_ms = Vec::new();
    for f in files {
        let Some(t) = parse_truth(&std::fs::read_to_string(&f)?) else {
            continue;
        };
        let frame = load_image(&dir.join(&t.file))?;
        let rep = reader.read_detailed(&frame, None)?;
        let o = judge_with_errata(&t, &errata, &rep.plates);
        n += 1;
        found += o.found as usize;
        exact += o.exact as usize;
        exact_o0 += o.exact_o0 as usize;
        exact_errata += o.exact_errata as usize;
        for c in &rep.crops {
            crop_ms.push(c.ocr_cpu.unwrap_or(c.ocr_time).as_secs_f64() * 1000.0);
        }
        if !o.exact_errata || verbose {
            println!(
                "{} truth {} (errata: {}) read {:?} found {}",
                t.file,
                t.text,
                errata.apply(&t).text,
                o.read,
                o.found
            );
            for c in &rep.crops {
                println!("  crop {:?} {:.0} ms", c.region, c.ocr_time.as_secs_f64() * 1000.0);
                for l in &c.lines {
                    let cc: Vec<String> = l.raw_conf.iter().map(|c| format!("{c:.2}")).collect();
                    println!(
                        "    {:?} det {:.2} raw {:?} [{}] -> {:?}",
                        l.bbox,
                        l.det_score,
                        l.raw,
                        cc.join(" "),
                        l.decision
                            .as_ref()
                            .map(|d| (d.text.as_str(), d.format, d.confidence, d.score))
                    );
                }
            }
        }
    }
    crop_ms.sort_by(f64::total_cmp);
    println!(
        "images {n} found {found} exact {exact} exact_errata {exact_errata} exact_o0 {exact_o0} crops {} median cpu ms/crop {:.1} mean {:.1}",
        crop_ms.len(),
        crop_ms.get(crop_ms.len() / 2).copied().unwrap_or(0.0),
        crop_ms.iter().sum::<f64>() / crop_ms.len().max(1) as f64
    );
    Ok(())
}
