//! `vigie plates`: licence-plate reading on image files.
//!
//! - `vigie plates read IMAGE...` prints one JSON line per image, in the order given:
//!   `{"image": PATH, "plates": [{"text": "PP587AO", "confidence": 0.97, "box": [x1, y1, x2, y2], "format": "eu"}]}`
//!   (text upper-case without separators, box in image pixels, an empty list when no plate is found). An image that
//!   cannot be read or decoded prints `{"image": PATH, "error": "..."}` on its line and the others are still read;
//!   the command then exits with the status of an invalid-data error (65) once every image has been tried, so a
//!   script sees the failure without losing the other lines. Model or runtime failures stop the command at once.
//! - `vigie plates bench DIR` reads every photo of a folder with ground truth (`<file> x y w h TEXT` in a `.txt`
//!   beside each, see `vigie_plates::eval`) and prints one JSON line `{"images", "found", "found_pct", "exact",
//!   "exact_pct", "exact_errata", "exact_errata_pct", "errata", "exact_o0", "crops", "ms_per_crop_median",
//!   "cpu_ms_per_crop_median", "ms_per_image_median", "threads"}`: `exact` is strict, against the ground truth as
//!   shipped; `exact_errata` against it with the errata applied (`--errata FILE`, by default the corrections of
//!   `../shared/data/plates-eu/` kept in `crates/vigie-plates/tests/plates-eu-errata.tsv`; a line applies only to its
//!   file with its given text); `--errata-picture PNG` writes the photos' plates the errata correct side by side
//!   with the given and corrected texts and the read. A crop's time is
//!   text detection + recognition + grammar for one vehicle crop (wall time, and CPU time of the thread, which
//!   ONNX Runtime uses alone with one thread: the fairer number on a shared machine); an image's time adds the
//!   vehicle detection (decoding is not counted). The first photo is read once before timing, to warm up.

use crate::config::{Bases, Config};
use clap::Subcommand;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Instant;
use vigie_core::{ErrorKind, Result, bail, err};
use vigie_plates::eval::{Errata, judge_with_errata, parse_truth};
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
        /// Ground-truth errata (tab-separated: file, given, corrected, reason); default: the plates-eu errata.
        #[arg(long)]
        errata: Option<PathBuf>,
        /// Write a picture of the plates the errata correct (PNG).
        #[arg(long)]
        errata_picture: Option<PathBuf>,
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
            errata,
            errata_picture,
        } => {
            let errata = match errata {
                Some(p) => Errata::load(&p)?,
                None => Errata::plates_eu(),
            };
            bench(
                &dir,
                config.as_deref(),
                threads,
                misses,
                &errata,
                errata_picture.as_deref(),
            )
        }
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

/// Percentage with one decimal.
fn pct(n: usize, of: usize) -> f64 {
    (n as f64 * 1000.0 / of.max(1) as f64).round() / 10.0
}

/// One tile of the errata picture: the plate (its true box, widened) scaled to 64 pixels high, and the texts.
fn errata_tile(
    frame: &vigie_core::RgbFrame,
    truth: &vigie_plates::eval::Truth,
    corrected: &str,
    read: Option<&str>,
) -> Option<crate::draw::CaptionedTile> {
    let img = image::RgbImage::from_raw(frame.width, frame.height, frame.data.clone())?;
    let b = truth.bbox;
    let (pw, ph) = (b.width() * 0.3, b.height() * 0.6);
    let x1 = (b.x1 - pw).max(0.0) as u32;
    let y1 = (b.y1 - ph).max(0.0) as u32;
    let x2 = ((b.x2 + pw).ceil() as u32).min(frame.width);
    let y2 = ((b.y2 + ph).ceil() as u32).min(frame.height);
    if x2 <= x1 + 1 || y2 <= y1 + 1 {
        return None;
    }
    let crop = image::imageops::crop_imm(&img, x1, y1, x2 - x1, y2 - y1).to_image();
    let h = 64u32;
    let w = ((crop.width() as f32 * h as f32 / crop.height() as f32).round() as u32).max(1);
    let tile = image::imageops::resize(&crop, w, h, image::imageops::FilterType::Triangle);
    let lines = vec![
        (truth.file.clone(), [60, 60, 60]),
        (format!("given     {}", truth.text), [200, 30, 30]),
        (format!("corrected {corrected}"), [20, 140, 40]),
        (format!("read      {}", read.unwrap_or("-")), [30, 60, 200]),
    ];
    Some((tile, lines))
}

fn bench(
    dir: &Path,
    config: Option<&Path>,
    threads: usize,
    misses: bool,
    errata: &Errata,
    errata_picture: Option<&Path>,
) -> Result<()> {
    let mut reader = open_reader(config, threads, true)?;
    let mut truths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| vigie_core::Error::from(e).context(format!("reading folder {}", dir.display())))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    truths.sort();
    let (mut images, mut found, mut exact, mut exact_o0, mut exact_errata) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let (mut applied, mut tiles) = (0usize, Vec::new());
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
        let o = judge_with_errata(&truth, errata, &rep.plates);
        images += 1;
        found += o.found as usize;
        exact += o.exact as usize;
        exact_o0 += o.exact_o0 as usize;
        exact_errata += o.exact_errata as usize;
        if let Some(e) = errata.find(&truth) {
            applied += 1;
            if errata_picture.is_some() {
                tiles.extend(errata_tile(&frame, &truth, &e.corrected, o.read.as_deref()));
            }
        }
        if misses && !o.exact {
            eprintln!(
                "{}: truth {} read {} ({})",
                truth.file,
                truth.text,
                o.read.as_deref().unwrap_or("-"),
                if !o.found {
                    "not found"
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
    if images == 0 {
        return Err(err!(
            NotFound,
            "{}: no ground-truth file (<file> x y w h TEXT in a .txt)",
            dir.display()
        ));
    }
    if let Some(p) = errata_picture {
        if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| vigie_core::Error::from(e).context(format!("creating {}", parent.display())))?;
        }
        crate::draw::Drawer::new().captioned_tiles(&tiles, p)?;
    }
    println!(
        "{}",
        json!({
            "images": images,
            "found": found,
            "found_pct": pct(found, images),
            "exact": exact,
            "exact_pct": pct(exact, images),
            "exact_errata": exact_errata,
            "exact_errata_pct": pct(exact_errata, images),
            "errata": applied,
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
