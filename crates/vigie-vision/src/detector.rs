//! [`Detector`]: one ONNX Runtime session of an object detector, from RGB frame to [`Detections`].

use crate::decode::{self, DecodeParams};
use crate::letterbox::Letterbox;
use crate::nms::{nms_by, nms_classwise};
use crate::preprocess::{InputFormat, Preprocessor};
use crate::runtime::environment;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::value::{Outlet, Tensor, TensorElementType};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use vigie_core::class::DEFAULT_KEPT;
use vigie_core::{COCO80, ClassId, ClassSet, Detections, Error, ErrorKind, RgbFrame, bail, err, error::Result};

/// Candidates kept for NMS at most (the best-scoring ones), so that a very low threshold cannot make NMS quadratic
/// over thousands of boxes.
pub const MAX_CANDIDATES: usize = 1000;

/// NanoDet's GFL head as exported in the TF.js build: `reg_max` 10, 11 bins per side.
const NANODET_STRIDES: [u32; 3] = [8, 16, 32];

/// The detector families Vigie can decode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DetectorKind {
    /// NanoDet (GFL head) with six outputs: class scores for strides 8, 16, 32 (`[1, g*g, C]`, already sigmoid) and
    /// box distributions (`[1, g*g, 4 * (reg_max + 1)]`). Input BGR normalised, letterboxed at the top-left.
    NanoDet,
    /// YOLOX: one output `[1, N, 5 + C]`, raw grid offsets or decoded boxes (told apart on the first frame, see
    /// [`decode::yolox_looks_decoded`]). Input BGR 0..255, letterboxed at the top-left with 114.
    Yolox,
    /// YOLOv8 / YOLO11 (Ultralytics): one output `[1, 4 + C, N]`. Input RGB / 255, letterboxed centred with 114.
    Yolov8,
}

impl DetectorKind {
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::NanoDet => "NanoDet",
            DetectorKind::Yolox => "YOLOX",
            DetectorKind::Yolov8 => "YOLOv8",
        }
    }

    /// The input format the family was trained with.
    pub fn input_format(self) -> InputFormat {
        match self {
            DetectorKind::NanoDet => InputFormat::nanodet(),
            DetectorKind::Yolox => InputFormat::yolox(),
            DetectorKind::Yolov8 => InputFormat::yolov8(),
        }
    }
}

/// How to build a [`Detector`].
#[derive(Clone, Debug)]
pub struct DetectorConfig {
    pub kind: DetectorKind,
    /// Path of the `.onnx` file.
    pub model: PathBuf,
    /// Model input width in pixels. 0: take it from the model (which must then have a fixed input size).
    pub input_width: u32,
    /// Model input height in pixels. 0: take it from the model.
    pub input_height: u32,
    /// Minimum score of a kept detection, 0..1. Default 0.35.
    pub score_threshold: f32,
    /// IoU above which a box is suppressed by a better one of the same class. Default 0.6.
    pub nms_iou: f32,
    /// IoU above which a box is suppressed by a better one of another class of the same group (a van seen both as
    /// `car` and `truck`: one object, one box). 1 disables it. Default 0.7.
    pub group_nms_iou: f32,
    /// The model's class names, in output order. Default COCO-80.
    pub labels: Vec<String>,
    /// The classes to keep, by name (each must be in `labels`). Default [`DEFAULT_KEPT`].
    pub classes: Vec<String>,
    /// ONNX Runtime intra-op threads; 0 lets ONNX Runtime pick (one per core). Default 1.
    pub intra_threads: usize,
    /// Known confusions of the model for this view, corrected after decoding (see [`Relabel`]). Default none.
    pub relabel: Vec<Relabel>,
}

/// A known confusion of a model on a kind of view, corrected by size: a detection of `from` whose box covers at
/// least `min_area_fraction` of the frame is taken as `to`.
///
/// The case it is made for: COCO detectors trained on street-level photos label cars seen from straight above
/// "cell phone" (and sometimes "kite"); on an overhead car-park camera nothing the size of a car can be a phone, so
/// a phone-labelled box covering a few percent of the frame is a car (measured on `car-detection.mp4`:
/// `docs/accuracy.md`). `from` classes are decoded even when not kept; whatever `from` box stays below the size
/// is dropped unless its class is kept. It changes labels only: boxes and scores are the model's.
#[derive(Clone, Debug, PartialEq)]
pub struct Relabel {
    /// The label the model gives (must be in the labels).
    pub from: String,
    /// The label it stands for (must be a kept class).
    pub to: String,
    /// Minimum box area as a fraction of the frame's area, 0..1.
    pub min_area_fraction: f32,
}

/// A [`Relabel`] resolved against the labels.
#[derive(Clone, Copy, Debug)]
struct RelabelRule {
    from: ClassId,
    to: ClassId,
    min_area_fraction: f32,
}

/// Applies `rules` to `dets` of a `w` x `h` frame, then keeps only the classes `classes` keeps and runs class-wise
/// NMS again (a relabelled box may duplicate a box the model gave the target class).
fn relabel(dets: Detections, rules: &[RelabelRule], classes: &ClassSet, w: u32, h: u32, iou: f32) -> Detections {
    let frame_area = (w as f32 * h as f32).max(1.0);
    let mut d = dets;
    for i in 0..d.len() {
        if let Some(r) = rules
            .iter()
            .find(|r| r.from == d.class_ids[i] && d.boxes[i].area() >= r.min_area_fraction * frame_area)
        {
            d.class_ids[i] = r.to;
        }
    }
    let kept = d.retain_by(|i| classes.keeps(d.class_ids[i]));
    let keep = nms_by(&kept, iou, |i| kept.class_ids[i]);
    kept.retain_by(|i| keep.contains(&i))
}

impl DetectorConfig {
    fn with_kind(kind: DetectorKind, model: PathBuf, size: u32) -> Self {
        DetectorConfig {
            kind,
            model,
            input_width: size,
            input_height: size,
            score_threshold: 0.35,
            nms_iou: 0.6,
            group_nms_iou: 0.7,
            labels: COCO80.iter().map(|s| s.to_string()).collect(),
            classes: DEFAULT_KEPT.iter().map(|s| s.to_string()).collect(),
            intra_threads: 1,
            relabel: Vec::new(),
        }
    }

    /// NanoDet 416x416, COCO-80 labels, [`DEFAULT_KEPT`] classes, score 0.35, NMS IoU 0.6, one thread.
    pub fn nanodet_default(model: PathBuf) -> Self {
        Self::with_kind(DetectorKind::NanoDet, model, 416)
    }

    /// YOLOX 416x416 (nano / tiny; use 640 for s, m, l, x), otherwise as [`nanodet_default`](Self::nanodet_default).
    pub fn yolox_default(model: PathBuf) -> Self {
        Self::with_kind(DetectorKind::Yolox, model, 416)
    }

    /// YOLOv8 / YOLO11 640x640, otherwise as [`nanodet_default`](Self::nanodet_default).
    pub fn yolov8_default(model: PathBuf) -> Self {
        Self::with_kind(DetectorKind::Yolov8, model, 640)
    }
}

/// Where each part of the output lives, by output index.
#[derive(Clone, Debug)]
enum Layout {
    NanoDet {
        scores: [usize; 3],
        regs: [usize; 3],
        reg_max: usize,
    },
    Yolox {
        out: usize,
        /// Raw or decoded boxes; decided on the first frame.
        decoded: Option<bool>,
    },
    Yolov8 {
        out: usize,
    },
}

/// An object detector: preprocessing, one ONNX Runtime session, decoding, class filter and class-wise NMS.
///
/// Not `Sync`: a session runs one frame at a time. Build one detector per worker thread.
pub struct Detector {
    session: Session,
    kind: DetectorKind,
    model: PathBuf,
    classes: ClassSet,
    /// Classes decoded: the kept ones and the `from` of each relabel rule.
    kept: Vec<usize>,
    relabel: Vec<RelabelRule>,
    num_classes: usize,
    in_w: u32,
    in_h: u32,
    /// The input tensor, allocated once; [`Preprocessor`] writes every frame into its buffer.
    input: Tensor<f32>,
    has_input: bool,
    pre: Preprocessor,
    layout: Layout,
    score_threshold: f32,
    nms_iou: f32,
    group_nms_iou: f32,
    /// Candidates of the current frame, model coordinates then source coordinates; reused.
    cand: Detections,
    last_inference: Duration,
}

fn shape_of(o: &Outlet) -> Vec<i64> {
    o.dtype().tensor_shape().map(|s| s.to_vec()).unwrap_or_default()
}

fn is_f32(o: &Outlet) -> bool {
    o.dtype().tensor_type() == Some(TensorElementType::Float32)
}

/// `d` is `v`, or dynamic.
fn dim_is(d: i64, v: usize) -> bool {
    d < 0 || d as usize == v
}

fn describe(list: &[Outlet]) -> String {
    let mut s = String::new();
    for (i, o) in list.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        let ty = o
            .dtype()
            .tensor_type()
            .map_or_else(|| "non-tensor".to_string(), |t| format!("{t:?}"));
        let _ = write!(s, "{} {} {:?}", o.name(), ty, shape_of(o));
    }
    s
}

/// Maps an `ort` error to a Vigie error of `kind`; the message is only built on error.
fn ort_err(kind: ErrorKind, msg: impl FnOnce() -> String) -> impl FnOnce(ort::Error) -> Error {
    move |e| Error::wrap(kind, msg(), e)
}

impl Detector {
    /// Loads the model and checks that its inputs and outputs fit `cfg.kind` and `cfg.labels`.
    ///
    /// Errors: [`ErrorKind::Config`] for an unknown class name, an empty label or class list, or an out-of-range
    /// threshold; [`ErrorKind::NotFound`] when the model file does not exist; [`ErrorKind::Model`] when ONNX Runtime
    /// is not loaded ([`init_runtime`](crate::init_runtime)), the file is not a model ONNX Runtime can load, or its
    /// inputs/outputs do not fit the kind (the message lists what was expected and what the model has).
    pub fn new(cfg: &DetectorConfig) -> Result<Self> {
        if cfg.labels.is_empty() {
            bail!(Config, "detector labels are empty");
        }
        if cfg.classes.is_empty() {
            bail!(
                Config,
                "no detector class is kept: list at least one of {}",
                cfg.labels.join(", ")
            );
        }
        if !(0.0..=1.0).contains(&cfg.score_threshold) {
            bail!(Config, "score threshold {} is not within 0..1", cfg.score_threshold);
        }
        if !(cfg.nms_iou > 0.0 && cfg.nms_iou <= 1.0) {
            bail!(Config, "NMS IoU {} is not within 0..1 (0 excluded)", cfg.nms_iou);
        }
        if !(cfg.group_nms_iou > 0.0 && cfg.group_nms_iou <= 1.0) {
            bail!(
                Config,
                "group NMS IoU {} is not within 0..1 (0 excluded)",
                cfg.group_nms_iou
            );
        }
        let classes = ClassSet::new(&cfg.labels, &cfg.classes)?;
        let mut kept: Vec<usize> = classes.kept().map(|c| c.0 as usize).collect();
        let mut relabel = Vec::with_capacity(cfg.relabel.len());
        for r in &cfg.relabel {
            let id = |name: &str| {
                classes.id(name).ok_or_else(|| {
                    err!(
                        Config,
                        "relabel: unknown label {name:?} (labels: {})",
                        cfg.labels.join(", ")
                    )
                })
            };
            let (from, to) = (id(&r.from)?, id(&r.to)?);
            if !classes.keeps(to) {
                bail!(
                    Config,
                    "relabel {:?} -> {:?}: {:?} is not a kept class",
                    r.from,
                    r.to,
                    r.to
                );
            }
            if from == to {
                bail!(Config, "relabel {:?} -> {:?}: the same label", r.from, r.to);
            }
            if !(0.0..=1.0).contains(&r.min_area_fraction) {
                bail!(
                    Config,
                    "relabel {:?} -> {:?}: min_area_fraction {} is not within 0..1",
                    r.from,
                    r.to,
                    r.min_area_fraction
                );
            }
            relabel.push(RelabelRule {
                from,
                to,
                min_area_fraction: r.min_area_fraction,
            });
            kept.push(from.0 as usize);
        }
        kept.sort_unstable();
        kept.dedup();
        let num_classes = cfg.labels.len();
        if num_classes > u16::MAX as usize {
            bail!(Config, "{num_classes} labels: at most {} are supported", u16::MAX);
        }

        let env = environment()?;
        let path = &cfg.model;
        if !path.is_file() {
            bail!(NotFound, "detector model {} does not exist", path.display());
        }
        let opening = || format!("opening {} model {}", cfg.kind.name(), path.display());
        let built = |e: ort::Error<SessionBuilder>| Error::wrap(ErrorKind::Model, opening(), ort::Error::<()>::from(e));
        let session = Session::builder(env)
            .map_err(ort_err(ErrorKind::Model, opening))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(built)?
            .with_intra_threads(cfg.intra_threads)
            .map_err(built)?
            .with_intra_op_spinning(false)
            .map_err(built)?
            .with_inter_op_spinning(false)
            .map_err(built)?
            .commit_from_file(path)
            .map_err(ort_err(ErrorKind::Model, opening))?;

        let (in_w, in_h) = check_input(&session, cfg)?;
        let layout = check_outputs(&session, cfg.kind, in_w, in_h, num_classes).map_err(|msg| {
            err!(
                Model,
                "{} does not fit {}: {msg}; model inputs: {}; outputs: {}",
                path.display(),
                cfg.kind.name(),
                describe(session.inputs()),
                describe(session.outputs())
            )
        })?;

        let pre = Preprocessor::new(cfg.kind.input_format(), in_w, in_h);
        let input = Tensor::from_array(([1usize, 3, in_h as usize, in_w as usize], vec![0f32; pre.len()]))
            .map_err(ort_err(ErrorKind::Model, || "allocating the input tensor".into()))?;
        Ok(Detector {
            session,
            kind: cfg.kind,
            model: path.clone(),
            classes,
            kept,
            relabel,
            num_classes,
            in_w,
            in_h,
            input,
            has_input: false,
            pre,
            layout,
            score_threshold: cfg.score_threshold,
            nms_iou: cfg.nms_iou,
            group_nms_iou: cfg.group_nms_iou,
            cand: Detections::with_capacity(256),
            last_inference: Duration::ZERO,
        })
    }

    pub fn kind(&self) -> DetectorKind {
        self.kind
    }

    pub fn model_path(&self) -> &Path {
        &self.model
    }

    /// Model input size `(width, height)`.
    pub fn input_size(&self) -> (u32, u32) {
        (self.in_w, self.in_h)
    }

    pub fn class_set(&self) -> &ClassSet {
        &self.classes
    }

    /// For benchmarks: the time of the last `session.run` alone.
    pub fn last_inference(&self) -> Duration {
        self.last_inference
    }

    /// Detects objects in `frame`: boxes in source pixels (clamped to the frame), kept classes only, after
    /// class-wise NMS, sorted by descending score.
    pub fn detect(&mut self, frame: &RgbFrame) -> Result<Detections> {
        let lb = {
            let (_, buf) = self
                .input
                .try_extract_tensor_mut::<f32>()
                .map_err(ort_err(ErrorKind::Internal, || "writing the input tensor".into()))?;
            self.pre.run(frame, buf)?
        };
        self.has_input = true;
        self.cand.boxes.clear();
        self.cand.scores.clear();
        self.cand.class_ids.clear();

        let t = Instant::now();
        let outputs = self
            .session
            .run(ort::inputs![&self.input])
            .map_err(ort_err(ErrorKind::Model, || {
                format!("running {}", self.model.display())
            }))?;
        self.last_inference = t.elapsed();

        let p = DecodeParams {
            kept: &self.kept,
            score_threshold: self.score_threshold,
        };
        let get = |i: usize, expect: usize| -> Result<&[f32]> {
            let (shape, data) = outputs[i]
                .try_extract_tensor::<f32>()
                .map_err(ort_err(ErrorKind::Model, || {
                    format!("reading output {i} of {}", self.model.display())
                }))?;
            if expect != 0 && data.len() != expect {
                bail!(
                    Model,
                    "output {i} of {} has shape {shape:?} ({} values), expected {expect} values",
                    self.model.display(),
                    data.len()
                );
            }
            Ok(data)
        };
        let c = self.num_classes;
        match &mut self.layout {
            Layout::NanoDet { scores, regs, reg_max } => {
                let mut o: [&[f32]; 6] = [&[]; 6];
                for (k, &s) in NANODET_STRIDES.iter().enumerate() {
                    let n = decode::gfl_grid(self.in_w, s) * decode::gfl_grid(self.in_h, s);
                    o[k] = get(scores[k], n * c)?;
                    o[k + 3] = get(regs[k], n * 4 * (*reg_max + 1))?;
                }
                decode::decode_nanodet(&o, self.in_w, self.in_h, c, *reg_max, &p, &mut self.cand);
            }
            Layout::Yolox { out, decoded } => {
                let data = get(*out, 0)?;
                if data.len() % (5 + c) != 0 {
                    bail!(
                        Model,
                        "YOLOX output of {} values is not a multiple of 5 + {c}",
                        data.len()
                    );
                }
                let dec = *decoded.get_or_insert_with(|| decode::yolox_looks_decoded(data, c, self.in_w, self.in_h));
                decode::decode_yolox(data, c, self.in_w, self.in_h, dec, &p, &mut self.cand);
            }
            Layout::Yolov8 { out } => {
                let data = get(*out, 0)?;
                if data.len() % (4 + c) != 0 {
                    bail!(
                        Model,
                        "YOLOv8 output of {} values is not a multiple of 4 + {c}",
                        data.len()
                    );
                }
                decode::decode_yolov8(data, c, &p, &mut self.cand);
            }
        }
        drop(outputs);
        let mut out = finish(&mut self.cand, &lb, frame.width, frame.height, self.nms_iou);
        if !self.relabel.is_empty() {
            out = relabel(
                out,
                &self.relabel,
                &self.classes,
                frame.width,
                frame.height,
                self.nms_iou,
            );
        }
        if self.group_nms_iou >= 1.0 || out.len() < 2 {
            return Ok(out);
        }
        let keep = nms_by(&out, self.group_nms_iou, |i| self.classes.group(out.class_ids[i]));
        Ok(out.retain_by(|i| keep.contains(&i)))
    }

    /// For benchmarks: runs `session.run` `n` times on the last preprocessed input (an all-padding input before
    /// the first [`detect`](Self::detect)) and returns the duration of each run.
    pub fn bench_inference(&mut self, n: usize) -> Result<Vec<Duration>> {
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let t = Instant::now();
            let out = self
                .session
                .run(ort::inputs![&self.input])
                .map_err(ort_err(ErrorKind::Model, || {
                    format!("running {}", self.model.display())
                }))?;
            let d = t.elapsed();
            drop(out);
            times.push(d);
        }
        if let Some(&d) = times.last() {
            self.last_inference = d;
        }
        Ok(times)
    }

    /// Replaces the input format of the kind (channel order, normalisation, padding), for a model trained with
    /// another preprocessing than its family's default.
    pub fn set_input_format(&mut self, fmt: InputFormat) {
        self.pre = Preprocessor::new(fmt, self.in_w, self.in_h);
    }

    pub fn input_format(&self) -> &InputFormat {
        self.pre.format()
    }

    /// Whether [`detect`](Self::detect) has filled the input tensor at least once.
    pub fn has_input(&self) -> bool {
        self.has_input
    }
}

/// Candidates in model coordinates -> final detections: source coordinates clamped to the frame, degenerate boxes
/// dropped, at most [`MAX_CANDIDATES`] best, class-wise NMS, by descending score.
fn finish(cand: &mut Detections, lb: &Letterbox, w: u32, h: u32, iou: f32) -> Detections {
    if cand.is_empty() {
        return Detections::default();
    }
    let (fw, fh) = (w as f32, h as f32);
    for b in cand.boxes.iter_mut() {
        *b = lb.to_source(*b).clamp(fw, fh);
    }
    let mut valid = cand.retain_by(|i| {
        let b = &cand.boxes[i];
        b.is_finite() && b.width() > 0.0 && b.height() > 0.0 && cand.scores[i].is_finite()
    });
    if valid.len() > MAX_CANDIDATES {
        let mut top = valid.order_by_score();
        top.truncate(MAX_CANDIDATES);
        top.sort_unstable();
        valid = valid.retain_by(|i| top.binary_search(&i).is_ok());
    }
    let keep = nms_classwise(&valid, iou);
    let mut out = Detections::with_capacity(keep.len());
    for i in keep {
        out.push(valid.boxes[i], valid.scores[i], valid.class_ids[i]);
    }
    out
}

/// Checks the single float input `[1, 3, H, W]` and returns the input size to use.
fn check_input(session: &Session, cfg: &DetectorConfig) -> Result<(u32, u32)> {
    let inputs = session.inputs();
    let bad = |why: String| {
        err!(
            Model,
            "{} does not fit {}: {why}; model inputs: {}",
            cfg.model.display(),
            cfg.kind.name(),
            describe(inputs)
        )
    };
    if inputs.len() != 1 {
        return Err(bad(format!("expected one input, found {}", inputs.len())));
    }
    let s = shape_of(&inputs[0]);
    if !is_f32(&inputs[0]) || s.len() != 4 || !dim_is(s[0], 1) || !dim_is(s[1], 3) {
        return Err(bad("expected a float32 input [1, 3, H, W] (NCHW)".into()));
    }
    let pick = |model: i64, want: u32, what: &str| -> Result<u32> {
        match (model, want) {
            (m, 0) if m > 0 => Ok(m as u32),
            (m, 0) if m <= 0 => Err(err!(
                Config,
                "{} has a dynamic input {what}: set the detector input {what}",
                cfg.model.display()
            )),
            (m, w) if m > 0 && m as u32 != w => Err(err!(
                Model,
                "{} has a fixed input {what} of {m} but the configuration asks for {w}",
                cfg.model.display()
            )),
            (_, w) => Ok(w),
        }
    };
    let h = pick(s[2], cfg.input_height, "height")?;
    let w = pick(s[3], cfg.input_width, "width")?;
    if w < 32 || h < 32 || w > 8192 || h > 8192 {
        bail!(Config, "detector input {w}x{h} is out of range (32..8192 per side)");
    }
    Ok((w, h))
}

/// Finds where each part of the output lives for `kind`; the error says what was expected.
fn check_outputs(session: &Session, kind: DetectorKind, w: u32, h: u32, c: usize) -> Result<Layout, String> {
    let outs = session.outputs();
    let shapes: Vec<Vec<i64>> = outs.iter().map(shape_of).collect();
    let f32_rank3 = |i: usize| is_f32(&outs[i]) && shapes[i].len() == 3 && dim_is(shapes[i][0], 1);
    match kind {
        DetectorKind::NanoDet => {
            let mut used = vec![false; outs.len()];
            let mut find = |n: usize, pred: &dyn Fn(i64) -> bool| -> Option<usize> {
                let i = (0..outs.len())
                    .find(|&i| !used[i] && f32_rank3(i) && dim_is(shapes[i][1], n) && pred(shapes[i][2]))?;
                used[i] = true;
                Some(i)
            };
            let grids: Vec<usize> = NANODET_STRIDES
                .iter()
                .map(|&s| decode::gfl_grid(w, s) * decode::gfl_grid(h, s))
                .collect();
            let mut scores = [0usize; 3];
            for (k, &n) in grids.iter().enumerate() {
                scores[k] = find(n, &|d| dim_is(d, c)).ok_or_else(|| nanodet_expect(&grids, c))?;
            }
            let mut regs = [0usize; 3];
            let mut reg_dim = None;
            for (k, &n) in grids.iter().enumerate() {
                regs[k] = find(n, &|d| d >= 8 && d % 4 == 0 && reg_dim.is_none_or(|r| r == d))
                    .ok_or_else(|| nanodet_expect(&grids, c))?;
                reg_dim = Some(shapes[regs[k]][2]);
            }
            let reg_max = match reg_dim {
                Some(d) if d >= 8 => d as usize / 4 - 1,
                // All dynamic: the TF.js build's value.
                _ => 10,
            };
            Ok(Layout::NanoDet { scores, regs, reg_max })
        }
        DetectorKind::Yolox => {
            if outs.len() != 1 || !f32_rank3(0) || !dim_is(shapes[0][2], 5 + c) {
                return Err(format!(
                    "expected one float32 output [1, N, {}] (cx, cy, w, h, objectness, then one score per label: {c} \
                     labels configured)",
                    5 + c
                ));
            }
            if shapes[0][1] > 0 && shapes[0][1] as usize != decode::yolox_points(w, h) {
                // Not the raw grid of this input: must be decoded already.
                return Ok(Layout::Yolox {
                    out: 0,
                    decoded: Some(true),
                });
            }
            Ok(Layout::Yolox { out: 0, decoded: None })
        }
        DetectorKind::Yolov8 => {
            if outs.len() != 1 || !f32_rank3(0) || !dim_is(shapes[0][1], 4 + c) {
                return Err(format!(
                    "expected one float32 output [1, {}, N] (cx, cy, w, h, then one score per label: {c} labels \
                     configured)",
                    4 + c
                ));
            }
            Ok(Layout::Yolov8 { out: 0 })
        }
    }
}

fn nanodet_expect(grids: &[usize], c: usize) -> String {
    format!(
        "expected six float32 outputs: class scores [1, {g0}, {c}], [1, {g1}, {c}], [1, {g2}, {c}] ({c} labels \
         configured) and box distributions [1, {g0}, 4*(reg_max+1)], [1, {g1}, ..], [1, {g2}, ..] for strides 8, 16, 32",
        g0 = grids[0],
        g1 = grids[1],
        g2 = grids[2]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_core::BBox;

    #[test]
    fn relabel_by_size_keeps_classes_and_dedups() {
        let labels: Vec<String> = COCO80.iter().map(|s| s.to_string()).collect();
        let classes = ClassSet::new(&labels, &["car".to_string(), "person".to_string()]).expect("classes");
        let phone = classes.id("cell phone").expect("phone");
        let car = classes.id("car").expect("car");
        let rules = [RelabelRule {
            from: phone,
            to: car,
            min_area_fraction: 0.01,
        }];
        let mut d = Detections::default();
        d.push(BBox::new(0.0, 0.0, 100.0, 100.0), 0.6, phone); // 10000 px of 1000x1000: 1 %: a car
        d.push(BBox::new(500.0, 500.0, 520.0, 520.0), 0.9, phone); // 400 px: a phone, not kept: dropped
        d.push(BBox::new(2.0, 0.0, 102.0, 100.0), 0.5, car); // the same car, seen as a car too: NMS
        d.push(BBox::new(700.0, 0.0, 720.0, 60.0), 0.7, ClassId(0)); // a person: untouched
        let out = relabel(d, &rules, &classes, 1000, 1000, 0.6);
        assert_eq!(out.len(), 2, "{out:?}");
        assert!(out.class_ids.contains(&car) && out.class_ids.contains(&ClassId(0)));
        let i = out.class_ids.iter().position(|&c| c == car).expect("car");
        assert_eq!(out.scores[i], 0.6, "the relabelled box wins on its own score");
    }

    #[test]
    fn finish_maps_clamps_drops_and_sorts() {
        // 800x600 frame into 400x400, top-left: scale 0.5.
        let lb = Letterbox::new(800, 600, 400, 400, crate::Pad::TopLeft);
        let mut c = Detections::default();
        c.push(BBox::new(10.0, 10.0, 50.0, 50.0), 0.5, ClassId(0));
        c.push(BBox::new(11.0, 10.0, 51.0, 50.0), 0.9, ClassId(0)); // suppresses the first
        c.push(BBox::new(380.0, 280.0, 420.0, 320.0), 0.7, ClassId(2)); // clamped to the frame
        c.push(BBox::new(0.0, 350.0, 10.0, 390.0), 0.8, ClassId(0)); // all in the padding: dropped
        let d = finish(&mut c, &lb, 800, 600, 0.6);
        assert_eq!(d.scores, vec![0.9, 0.7]);
        assert_eq!(d.boxes[0], BBox::new(22.0, 20.0, 102.0, 100.0));
        assert_eq!(d.boxes[1], BBox::new(760.0, 560.0, 800.0, 600.0));
        assert_eq!(d.class_ids, vec![ClassId(0), ClassId(2)]);
    }

    #[test]
    fn finish_caps_candidates() {
        let lb = Letterbox::new(100, 100, 100, 100, crate::Pad::TopLeft);
        let mut c = Detections::default();
        for i in 0..(MAX_CANDIDATES + 500) {
            let x = (i % 50) as f32 * 2.0;
            let y = (i / 50) as f32 * 2.0;
            c.push(BBox::new(x, y, x + 1.0, y + 1.0), i as f32 / 10_000.0, ClassId(0));
        }
        let d = finish(&mut c, &lb, 100, 100, 0.5);
        assert_eq!(d.len(), MAX_CANDIDATES);
        assert_eq!(d.scores[0], (MAX_CANDIDATES + 499) as f32 / 10_000.0);
    }

    #[test]
    fn defaults() {
        let c = DetectorConfig::nanodet_default("m.onnx".into());
        assert_eq!((c.input_width, c.input_height, c.intra_threads), (416, 416, 1));
        assert_eq!((c.score_threshold, c.nms_iou), (0.35, 0.6));
        assert_eq!(c.labels.len(), 80);
        assert_eq!(c.classes.len(), DEFAULT_KEPT.len());
        assert_eq!(DetectorConfig::yolov8_default("m.onnx".into()).input_width, 640);
    }

    #[test]
    fn detector_is_send() {
        fn send<T: Send>() {}
        send::<Detector>();
    }
}
