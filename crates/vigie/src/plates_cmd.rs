//! `vigie plates`: licence-plate reading on image files.
//!
//! - `vigie plates read IMAGE...` prints one JSON line per image, in the order given:
//!   `{"image": PATH, "plates": [{"text": "PP587AO", "confidence": 0.97, "box": [x1, y1, x2, y2], "format": "eu"}]}`
//!   (text upper-case without separators, box in image pixels, an empty list when no plate is found). An image that
//!   cannot be read or decoded prints `{"image": PATH, "error": "..."}` on its line and the others are still read;
//!   the command then exits with the status of an invalid-data error (65) once every image has been tried, so a
//!   script sees the failure without losing the other lines. Model or runtime failures stop the command at once.
//! - `vigie plates bench DIR` reads every photo of a folder with ground truth (`<file> x y w h TEXT` in a `.txt`
//!   beside each, see `vigie_plates::eval`) and prints one JSON line `{"images", "found", "exact", "exact_o0",
//!   "crops", "ms_per_crop_median", "cpu_ms_per_crop_median", "ms_per_image_median", "threads"}`: a crop's time is
//!   text detection + recognition + grammar for one vehicle crop (wall time, and CPU time of the thread, which
//!   ONNX Runtime uses alone with one thread: the fairer number on a shared machine); an image's time adds the
//!   vehicle detection (decoding is not counted). The first photo is read once before timing, to warm up.

use crate::config::{Bases, Config};
use clap::Subcommand;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vigie_core::{ErrorKind, Result, bail, err};
use vigie_plates::eval::{judge, parse_truth};
use vigie_plates::read::{DEFAULT_DET_MODEL, DEFAULT_REC_MODEL, DEFAULT_VEHICLE_MODEL};
use vigie_plates::{PlateRead, PlateReader, ReaderConfig, load_image};

#[derive(Subcommand)]
pub enum PlatesCmd {
    /// Reads the plates of images (JPEG, PNG): one JSON line per image.
    Read {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Configuration file (TOML), for the ONNX Runtime library path.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Search the whole image instead of detected vehicles.
        #[arg(long)]
        no_vehicles: bool,
    },
    /// Accuracy and time per vehicle crop on a folder of photos with ground truth: one JSON line.
    Bench {
        dir: PathBuf,
        #[arg(long)]
        config: Option<PathBuf>,
        /// ONNX Runtime threads per session.
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// Print each photo that is not read exactly on stderr.
        #[arg(long)]
        misses: bool,
    },
}

pub fn run(cmd: PlatesCmd) -> Result<()> {
    match cmd {
        PlatesCmd::Read {
            images,
            config,
            no_vehicles,
        } => {
            let mut reader = open_reader(config.as_deref(), 1, !no_vehicles)?;
            let mut failed = 0usize;
            for path in &images {
                let line = match reader.read_image_file(path) {
                    Ok(plates) => json!({
                        "image": path.display().to_string(),
                        "plates": plates.iter().map(plate_json).collect::<Vec<_>>(),
                    }),
                    Err(e) if matches!(e.kind(), ErrorKind::InvalidData | ErrorKind::NotFound | ErrorKind::Io) => {
                        failed += 1;
                        json!({"image": path.display().to_string(), "error": e.to_string()})
                    }
                    Err(e) => return Err(e),
                };
                println!("{line}");
            }
            if failed > 0 {
                bail!(
                    InvalidData,
                    "{failed} of {} images could not be read (see their \"error\" lines)",
                    images.len()
                );
            }
            Ok(())
        }
        PlatesCmd::Bench {
            dir,
            config,
            threads,
            misses,
        } => bench(&dir, config.as_deref(), threads, misses),
    }
}

fn open_reader(config: Option<&Path>, threads: usize, vehicles: bool) -> Result<PlateReader> {
    let cfg = match config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    let bases = Bases::new(config);
    let ort = bases.resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
    vigie_vision::init_runtime(&ort)?;
    let det = bases.resolve_existing(Path::new(DEFAULT_DET_MODEL), "plate text detection model")?;
    let rec = bases.resolve_existing(Path::new(DEFAULT_REC_MODEL), "plate text recognition model")?;
    let vehicle = if vehicles {
        Some(bases.resolve_existing(Path::new(DEFAULT_VEHICLE_MODEL), "vehicle detector model")?)
    } else {
        None
    };
    let mut rc = ReaderConfig::new(det, rec, vehicle);
    rc.threads = threads;
    PlateReader::new(&rc)
}

fn round(v: f32, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (v as f64 * m).round() / m
}

fn plate_json(p: &PlateRead) -> serde_json::Value {
    json!({
        "text": p.text,
        "confidence": round(p.confidence, 3),
        "box": [round(p.bbox.x1, 0), round(p.bbox.y1, 0), round(p.bbox.x2, 0), round(p.bbox.y2, 0)],
        "format": p.format.as_str(),
    })
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn bench(dir: &Path, config: Option<&Path>, threads: usize, misses: bool) -> Result<()> {
    let mut reader = open_reader(config, threads, true)?;
    let mut truths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| vigie_core::Error::from(e).context(format!("reading folder {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    truths.sort();
    let (mut images, mut found, mut exact, mut exact_o0) = (0usize, 0usize, 0usize, 0usize);
    let (mut crop_ms, mut crop_cpu_ms, mut image_ms) = (Vec::new(), Vec::new(), Vec::new());
    let mut warm = false;
    for t in &truths {
        let text = std::fs::read_to_string(t)?;
        let Some(truth) = text.lines().find_map(parse_truth) else {
            continue;
        };
        let frame = load_image(&dir.join(&truth.file))?;
        if !warm {
            reader.read(&frame, None)?;
            warm = true;
        }
        let start = Instant::now();
        let rep = reader.read_detailed(&frame, None)?;
        image_ms.push(start.elapsed().as_secs_f64() * 1000.0);
        crop_ms.extend(rep.crops.iter().map(|c| c.ocr_time.as_secs_f64() * 1000.0));
        crop_cpu_ms.extend(
            rep.crops
                .iter()
                .filter_map(|c| c.ocr_cpu)
                .map(|d| d.as_secs_f64() * 1000.0),
        );
        let o = judge(&truth, &rep.plates);
        images += 1;
        found += o.found as usize;
        exact += o.exact as usize;
        exact_o0 += o.exact_o0 as usize;
        if misses && !o.exact {
            eprintln!(
                "{}: truth {} read {} ({})",
                truth.file,
                truth.text,
                o.read.as_deref().unwrap_or("-"),
                if !o.found {
                    "not found"
                } else if o.exact_o0 {
                    "equal with O = 0"
                } else {
                    "wrong"
                }
            );
        }
    }
    if images == 0 {
        return Err(err!(
            NotFound,
            "{}: no ground-truth file (<file> x y w h TEXT in a .txt)",
            dir.display()
        ));
    }
    println!(
        "{}",
        json!({
            "images": images,
            "found": found,
            "exact": exact,
            "exact_o0": exact_o0,
            "crops": crop_ms.len(),
            "ms_per_crop_median": median(&mut crop_ms),
            "cpu_ms_per_crop_median": median(&mut crop_cpu_ms),
            "ms_per_image_median": median(&mut image_ms),
            "threads": threads,
        })
    );
    Ok(())
}
