//! Plate reading: image → vehicle boxes (NanoDet) → text boxes in each vehicle crop (PP-OCRv6 DB) → text
//! recognition (PP-OCRv6 CTC, decoded over plate symbols) → plate grammar ([`crate::grammar::decide`]).
//!
//! - [`PlateReader`] owns the three ONNX Runtime sessions (one thread each by default, like the detector: see
//!   `ARCHITECTURE.md`). Not `Sync`: build one per worker thread.
//! - [`db`], [`ctc`]: the pure post-processing of the two OCR models; [`image`]: resize and perspective crop into
//!   model inputs; [`ocr`]: the two sessions.
//!
//! One plate per vehicle crop: the reading with the best grammar score among the crop's text boxes. When no vehicle
//! is found (or no vehicle model is configured), the whole image is one crop and every plate found in it is kept.
//!
//! Cost, per vehicle crop: text detection at 256 pixels (longest side of the vehicle box), then recognition of its
//! text boxes, largest first, until one reads as a plate with a grammar score of 0.93 or more; failing that, text
//! detection again at 480 pixels and recognition of its boxes. (RapidOCR's own default, shortest side at least 736
//! pixels, would cost about four times the 480 pass; it was not tried.)

pub mod ctc;
pub mod db;
pub mod image;
pub mod ocr;

use crate::grammar::{self, Decision, PlateFormat};
use db::{DbParams, TextBox};
use image::Rgb;
use ocr::{TextDetector, TextRecognizer};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame, Time90k, bail, err};
use vigie_vision::{Detector, DetectorConfig};

/// Default text detection model, relative to the repository (put there by `make assets`).
pub const DEFAULT_DET_MODEL: &str = ".cache/vigie/models/PP-OCRv6_det_small.onnx";
/// Default text recognition model, relative to the repository (put there by `make assets`).
pub const DEFAULT_REC_MODEL: &str = ".cache/vigie/models/PP-OCRv6_rec_small.onnx";
/// Default vehicle detector (committed).
pub const DEFAULT_VEHICLE_MODEL: &str = "models/nanodet.onnx";
/// COCO classes whose boxes are searched for plates.
pub const VEHICLE_CLASSES: [&str; 4] = ["car", "truck", "bus", "motorcycle"];

/// How to build a [`PlateReader`].
#[derive(Clone, Debug)]
pub struct ReaderConfig {
    /// PP-OCR DB text detection model.
    pub det_model: PathBuf,
    /// PP-OCR CTC text recognition model, with its character list in the ONNX metadata (`character`).
    pub rec_model: PathBuf,
    /// NanoDet vehicle detector; `None`: no vehicle detection, whole images are searched.
    pub vehicle_model: Option<PathBuf>,
    /// ONNX Runtime intra-op threads per session. Default 1.
    pub threads: usize,
    /// Longest side of the text detection input for a crop, in pixels (rounded to a multiple of 32). Default 480.
    pub det_side: u32,
    /// Longest side of a first, cheaper text detection pass in vehicle crops (0: none); the full pass at
    /// `det_side` only runs when the first one found no reading scoring `stop_score`. Recognition always reads the
    /// crop at full resolution, so a smaller detection input mostly costs boxes, not characters. Default 256 (on the
    /// EU photos: the same accuracy as 480 alone, half the time per crop).
    pub fast_det_side: u32,
    /// Largest upscaling of a crop for text detection. Default 2.
    pub max_upscale: f32,
    /// Share of a vehicle box's height, from its top, where no plate is searched (windscreen, roof). The crop's
    /// scale for text detection is still set by the whole box. Default 0.
    pub skip_top: f32,
    /// DB post-processing. Default: RapidOCR's (0.3, 0.5, 1.6).
    pub db: DbParams,
    /// Text boxes recognised per crop at most (the largest ones that look like a line). Default 6.
    pub max_lines: usize,
    /// In a vehicle crop, recognition stops at the first reading whose grammar score reaches this (the crop's
    /// plate is found; the other text boxes are badges and stickers). Above 1 disables it. Default 0.93.
    pub stop_score: f32,
    /// Recognition inputs narrower than this are padded. Default 0 (none).
    pub rec_min_width: u32,
    /// Text boxes are widened by this share of their height on each side before recognition: DB boxes often clip
    /// a thin last character (`I`, `J`). Default 0.15.
    pub rec_side_pad: f32,
    /// Minimum vehicle detection score. Default 0.35.
    pub vehicle_score: f32,
    /// Vehicles searched per image at most (the largest). Default 8.
    pub max_vehicles: usize,
    /// Vehicles whose box is narrower than this (pixels) are not searched: their plate cannot be read. Default 48.
    pub min_vehicle_width: f32,
    /// Readings below this confidence are dropped. Default 0.5.
    pub min_confidence: f32,
}

impl ReaderConfig {
    pub fn new(det_model: PathBuf, rec_model: PathBuf, vehicle_model: Option<PathBuf>) -> Self {
        ReaderConfig {
            det_model,
            rec_model,
            vehicle_model,
            threads: 1,
            det_side: 480,
            fast_det_side: 256,
            max_upscale: 2.0,
            skip_top: 0.0,
            db: DbParams::default(),
            max_lines: 6,
            stop_score: 0.93,
            rec_min_width: 0,
            rec_side_pad: 0.15,
            vehicle_score: 0.35,
            max_vehicles: 8,
            min_vehicle_width: 48.0,
            min_confidence: 0.5,
        }
    }

    /// The default model paths resolved against `root` (a repository checkout).
    pub fn with_root(root: &Path) -> Self {
        ReaderConfig::new(
            root.join(DEFAULT_DET_MODEL),
            root.join(DEFAULT_REC_MODEL),
            Some(root.join(DEFAULT_VEHICLE_MODEL)),
        )
    }
}

/// One plate read in an image.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlateRead {
    /// Upper-case letters and digits, no separators.
    pub text: String,
    /// 0..1: mean probability of the characters (see [`grammar::decide`]).
    pub confidence: f32,
    /// The plate's text box in image pixels.
    #[serde(rename = "box")]
    pub bbox: BBox,
    pub format: PlateFormat,
    /// The vehicle box the plate was found in; `None` when the whole image was searched.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vehicle: Option<BBox>,
}

/// What was seen in one crop, for diagnostics and benchmarks.
#[derive(Clone, Debug)]
pub struct CropReport {
    /// The crop, in image pixels.
    pub region: BBox,
    /// Text detection, recognition and grammar for this crop: wall time.
    pub ocr_time: Duration,
    /// The same, as CPU time of the calling thread (where ONNX Runtime runs with one thread): unlike the wall time,
    /// it does not grow when other processes share the cores. `None` where the OS does not tell (not Linux).
    pub ocr_cpu: Option<Duration>,
    pub lines: Vec<LineReport>,
}

/// One recognised text box.
#[derive(Clone, Debug)]
pub struct LineReport {
    pub bbox: BBox,
    pub det_score: f32,
    /// Most probable symbols, before the grammar.
    pub raw: String,
    /// Probability of each of them.
    pub raw_conf: Vec<f32>,
    pub decision: Option<Decision>,
}

/// Everything [`PlateReader::read_detailed`] saw.
#[derive(Clone, Debug, Default)]
pub struct ReadReport {
    pub plates: Vec<PlateRead>,
    pub crops: Vec<CropReport>,
    pub vehicle_time: Duration,
}

/// Reads licence plates: vehicle detection, text detection, recognition, grammar.
pub struct PlateReader {
    cfg: ReaderConfig,
    vehicles: Option<Detector>,
    det: TextDetector,
    rec: TextRecognizer,
}

impl PlateReader {
    /// Loads the models. ONNX Runtime must be loaded first ([`vigie_vision::init_runtime`]).
    ///
    /// Errors: [`ErrorKind::NotFound`] for a missing model file, [`ErrorKind::Model`] for a model that does not load
    /// or does not fit, [`ErrorKind::Config`] for out-of-range settings.
    pub fn new(cfg: &ReaderConfig) -> Result<Self> {
        if cfg.det_side < 32 || cfg.det_side > 4096 {
            bail!(
                Config,
                "plate text detection side {} is not within 32..4096",
                cfg.det_side
            );
        }
        if !(cfg.max_upscale >= 1.0 && cfg.max_upscale <= 8.0) {
            bail!(Config, "plate max_upscale {} is not within 1..8", cfg.max_upscale);
        }
        let vehicles = match &cfg.vehicle_model {
            Some(m) => {
                let mut d = DetectorConfig::nanodet_default(m.clone());
                d.classes = VEHICLE_CLASSES.iter().map(|s| s.to_string()).collect();
                d.score_threshold = cfg.vehicle_score;
                d.intra_threads = cfg.threads;
                Some(Detector::new(&d)?)
            }
            None => None,
        };
        let det = TextDetector::new(&cfg.det_model, cfg.threads, cfg.db)?;
        let mut rec = TextRecognizer::new(&cfg.rec_model, cfg.threads)?;
        rec.min_width = cfg.rec_min_width;
        rec.side_pad = cfg.rec_side_pad;
        Ok(PlateReader {
            cfg: cfg.clone(),
            vehicles,
            det,
            rec,
        })
    }

    pub fn config(&self) -> &ReaderConfig {
        &self.cfg
    }

    /// Plates in `frame`. With `vehicle`, only that vehicle box is searched (one plate at most); without, vehicles
    /// are detected first (see the module documentation).
    pub fn read(&mut self, frame: &RgbFrame, vehicle: Option<BBox>) -> Result<Vec<PlateRead>> {
        Ok(self.read_detailed(frame, vehicle)?.plates)
    }

    /// Decodes an image file (JPEG or PNG) and reads its plates. A file that cannot be read or decoded is an
    /// [`ErrorKind::InvalidData`] (or [`ErrorKind::NotFound`]) error naming it.
    pub fn read_image_file(&mut self, path: &Path) -> Result<Vec<PlateRead>> {
        let frame = load_image(path)?;
        self.read(&frame, None)
    }

    /// As [`read`](Self::read), with what each crop gave and the time it took.
    pub fn read_detailed(&mut self, frame: &RgbFrame, vehicle: Option<BBox>) -> Result<ReadReport> {
        let view = Rgb::of_frame(frame).ok_or_else(|| {
            err!(
                InvalidArgument,
                "frame {}x{} with {} bytes: not packed RGB24",
                frame.width,
                frame.height,
                frame.data.len()
            )
        })?;
        let (fw, fh) = (frame.width as f32, frame.height as f32);
        let whole = BBox::new(0.0, 0.0, fw, fh);
        let mut report = ReadReport::default();
        let mut regions: Vec<Option<BBox>> = Vec::new();
        if let Some(b) = vehicle {
            regions.push(Some(b));
        } else if let Some(det) = self.vehicles.as_mut() {
            let t = Instant::now();
            let d = det.detect(frame)?;
            report.vehicle_time = t.elapsed();
            let mut boxes: Vec<BBox> = d
                .boxes
                .iter()
                .copied()
                .filter(|b| b.width() >= self.cfg.min_vehicle_width)
                .collect();
            boxes.sort_by(|a, b| b.area().total_cmp(&a.area()));
            boxes.truncate(self.cfg.max_vehicles);
            regions.extend(boxes.into_iter().map(Some));
        }
        let whole_image = regions.is_empty();
        if whole_image {
            regions.push(None);
        }
        for v in regions {
            let (region, scale_side) = match v {
                Some(b) => {
                    let e = expand(&b, fw, fh);
                    let side = e.width().max(e.height());
                    let top = e.y1 + self.cfg.skip_top.clamp(0.0, 0.9) * e.height();
                    (BBox::new(e.x1, top, e.x2, e.y2), side)
                }
                None => (whole, fw.max(fh)),
            };
            let stop = if whole_image {
                f32::INFINITY
            } else {
                self.cfg.stop_score
            };
            let t = Instant::now();
            let c = thread_cpu_time();
            let lines = self.read_crop(view, &region, scale_side, stop)?;
            let ocr_time = t.elapsed();
            let ocr_cpu = c.zip(thread_cpu_time()).map(|(a, b)| b.saturating_sub(a));
            let mut found: Vec<(&LineReport, &Decision)> = lines
                .iter()
                .filter_map(|l| l.decision.as_ref().map(|d| (l, d)))
                .filter(|(_, d)| d.confidence >= self.cfg.min_confidence)
                .collect();
            found.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));
            if !whole_image {
                found.truncate(1);
            }
            for (l, d) in found {
                report.plates.push(PlateRead {
                    text: d.text.clone(),
                    confidence: d.confidence,
                    bbox: l.bbox,
                    format: d.format,
                    vehicle: v,
                });
            }
            report.crops.push(CropReport {
                region,
                ocr_time,
                ocr_cpu,
                lines,
            });
        }
        report.plates = dedupe(std::mem::take(&mut report.plates));
        Ok(report)
    }

    /// Text boxes of one crop, largest first, recognised and decided until one scores `stop` or more.
    /// `scale_side` is the side that [`ReaderConfig::det_side`] applies to. With
    /// [`ReaderConfig::fast_det_side`], a first pass detects text at that smaller size and the full pass only runs
    /// when the first found no reading scoring `stop`.
    fn read_crop(&mut self, view: Rgb<'_>, region: &BBox, scale_side: f32, stop: f32) -> Result<Vec<LineReport>> {
        let Some((crop, x0, y0)) = view.sub(region) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let fast = self.cfg.fast_det_side;
        if fast > 0
            && fast < self.cfg.det_side
            && stop.is_finite()
            && self.read_lines(crop, (x0, y0), fast, scale_side, stop, &mut out)?
        {
            return Ok(out);
        }
        self.read_lines(crop, (x0, y0), self.cfg.det_side, scale_side, stop, &mut out)?;
        Ok(out)
    }

    /// One pass of text detection at `side` (for `scale_side`) and recognition of its lines, largest first, added to
    /// `out`; true when a reading scored `stop`.
    fn read_lines(
        &mut self,
        crop: Rgb<'_>,
        (x0, y0): (u32, u32),
        side: u32,
        scale_side: f32,
        stop: f32,
        out: &mut Vec<LineReport>,
    ) -> Result<bool> {
        let (w, h) = (crop.width as f32, crop.height as f32);
        let scale = (side as f32 / scale_side.max(1.0)).min(self.cfg.max_upscale);
        let boxes = self.det.detect(crop, round32(w * scale), round32(h * scale))?;
        let mut lines: Vec<TextBox> = boxes.into_iter().filter(looks_like_a_line).collect();
        lines.sort_by(|a, b| (b.width() * b.height()).total_cmp(&(a.width() * a.height())));
        lines.truncate(self.cfg.max_lines);
        for b in lines {
            let bbox = b.translated(x0 as f32, y0 as f32).bbox();
            let line = self.rec.recognize(crop, &b.quad)?;
            let decision = grammar::decide(&line.chars);
            let done = decision
                .as_ref()
                .is_some_and(|d| d.score >= stop && d.confidence >= self.cfg.min_confidence);
            out.push(LineReport {
                bbox,
                det_score: b.score,
                raw_conf: line
                    .chars
                    .iter()
                    .map(|p| p.iter().copied().fold(0.0, f32::max))
                    .collect(),
                raw: line.text,
                decision,
            });
            if done {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// CPU time of the calling thread so far (Linux: `/proc/thread-self/schedstat`, nanoseconds on a CPU).
pub fn thread_cpu_time() -> Option<Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// A text box that may hold a plate line: wider than high, not a sliver.
fn looks_like_a_line(b: &TextBox) -> bool {
    let (w, h) = (b.width(), b.height());
    h >= 6.0 && w >= 1.5 * h && w <= 20.0 * h
}

fn round32(v: f32) -> u32 {
    (((v / 32.0).round() as u32) * 32).max(32)
}

/// A vehicle box grown a little (plates sit at the edge of the box): 5 % on the sides and the top, 10 % at the
/// bottom, clamped to the image.
fn expand(b: &BBox, w: f32, h: f32) -> BBox {
    let (dx, dy) = (b.width() * 0.05, b.height() * 0.05);
    BBox::new(b.x1 - dx, b.y1 - dy, b.x2 + dx, b.y2 + 2.0 * dy).clamp(w, h)
}

/// Drops reads whose box overlaps a more confident one (a plate seen from two overlapping vehicle boxes).
fn dedupe(mut v: Vec<PlateRead>) -> Vec<PlateRead> {
    v.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut out: Vec<PlateRead> = Vec::with_capacity(v.len());
    for r in v {
        if out.iter().all(|o| o.bbox.iou(&r.bbox) < 0.3) {
            out.push(r);
        }
    }
    out
}

/// Decodes a JPEG or PNG file into a frame. Errors name the file: [`ErrorKind::NotFound`] when it does not exist,
/// [`ErrorKind::InvalidData`] when it is not a complete image of a supported format (a JPEG cut short is refused
/// even though the decoder would fill the missing part with grey: see [`jpeg_is_complete`]).
pub fn load_image(path: &Path) -> Result<RgbFrame> {
    let what = || format!("reading image {}", path.display());
    let bytes = std::fs::read(path).map_err(|e| Error::from(e).context(what()))?;
    let format = ::image::guess_format(&bytes).map_err(|e| Error::wrap(ErrorKind::InvalidData, what(), e))?;
    if format == ::image::ImageFormat::Jpeg && !jpeg_is_complete(&bytes) {
        bail!(
            InvalidData,
            "{}: truncated JPEG (no end-of-image marker after the image data)",
            what()
        );
    }
    let img = ::image::load_from_memory_with_format(&bytes, format)
        .map_err(|e| Error::wrap(ErrorKind::InvalidData, what(), e))?
        .into_rgb8();
    let (width, height) = img.dimensions();
    if width == 0 || height == 0 {
        bail!(InvalidData, "{}: empty image", what());
    }
    Ok(RgbFrame {
        width,
        height,
        data: img.into_raw(),
        pts: Time90k(0),
        index: 0,
    })
}

/// Whether a JPEG holds its whole image: the marker segments are walked from the start to the first
/// start-of-scan, and an end-of-image marker (`FF D9`) must follow the scan data (where byte stuffing keeps it from
/// appearing by chance). An end-of-image inside an EXIF thumbnail does not count, since segments are skipped whole.
pub fn jpeg_is_complete(b: &[u8]) -> bool {
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return false;
    }
    let mut i = 2;
    loop {
        // Fill bytes (FF FF ...) may precede a marker.
        while i < b.len() && b[i] == 0xFF && b.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        if i + 4 > b.len() || b[i] != 0xFF {
            return false;
        }
        let marker = b[i + 1];
        match marker {
            0xD9 => return false, // end of image before any scan
            0x01 | 0xD0..=0xD7 => {
                i += 2;
                continue;
            }
            _ => {}
        }
        let len = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
        if len < 2 {
            return false;
        }
        i += 2 + len;
        if marker == 0xDA {
            break;
        }
    }
    b.get(i..)
        .is_some_and(|rest| rest.windows(2).any(|w| w == [0xFF, 0xD9]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expand_and_round() {
        let b = expand(&BBox::new(100.0, 100.0, 200.0, 300.0), 210.0, 1000.0);
        assert_eq!(b, BBox::new(95.0, 90.0, 205.0, 320.0));
        assert_eq!(
            expand(&BBox::new(0.0, 0.0, 100.0, 100.0), 100.0, 100.0),
            BBox::new(0.0, 0.0, 100.0, 100.0)
        );
        assert_eq!((round32(10.0), round32(47.0), round32(49.0)), (32, 32, 64));
    }

    #[test]
    fn dedupe_keeps_the_most_confident_of_overlapping_reads() {
        let r = |t: &str, c: f32, x: f32| PlateRead {
            text: t.into(),
            confidence: c,
            bbox: BBox::new(x, 0.0, x + 100.0, 20.0),
            format: PlateFormat::Eu,
            vehicle: None,
        };
        let v = dedupe(vec![
            r("AB123CD", 0.8, 0.0),
            r("AB123CO", 0.9, 5.0),
            r("XY123ZZ", 0.7, 300.0),
        ]);
        let texts: Vec<&str> = v.iter().map(|r| r.text.as_str()).collect();
        assert_eq!(texts, ["AB123CO", "XY123ZZ"]);
    }

    #[test]
    fn missing_and_corrupt_images_are_errors() {
        let dir = std::env::temp_dir().join(format!("vigie-plates-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = load_image(&dir.join("none.jpg")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let txt = dir.join("notes.jpg");
        std::fs::write(&txt, "not an image\n").unwrap();
        let e = load_image(&txt).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
        assert!(e.to_string().contains("notes.jpg"), "{e}");
        // A JPEG cut after its header.
        let mut png = Vec::new();
        ::image::RgbImage::from_pixel(64, 48, ::image::Rgb([200, 10, 10]))
            .write_to(&mut std::io::Cursor::new(&mut png), ::image::ImageFormat::Jpeg)
            .unwrap();
        let cut = dir.join("cut.jpg");
        std::fs::write(&cut, &png[..png.len() / 3]).unwrap();
        assert_eq!(load_image(&cut).unwrap_err().kind(), ErrorKind::InvalidData);
        // Cut after the scan header: the decoder would fill the rest with grey.
        assert!(jpeg_is_complete(&png));
        let sos = png.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        assert!(!jpeg_is_complete(&png[..sos + 40]));
        assert!(!jpeg_is_complete(&png[..png.len() - 2]));
        assert!(!jpeg_is_complete(b"\xFF\xD8"));
        let ok = dir.join("ok.jpg");
        std::fs::write(&ok, &png).unwrap();
        let f = load_image(&ok).unwrap();
        assert_eq!((f.width, f.height, f.data.len()), (64, 48, 64 * 48 * 3));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
