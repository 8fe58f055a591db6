//! Fire start: a baseline on pixels ([`FireBaseline`]) and a pluggable ONNX image classifier ([`FireClassifier`]).
//!
//! No registry ships a usable fire or smoke detector (`../shared/docs/models.md`), so the baseline is the classic
//! rule-based one, and its false-alarm rate on real footage is measured and published
//! (`docs/accuracy.md`). It looks for what distinguishes a flame from an orange coat or a brick wall:
//!
//! 1. **flame colour**, the RGB/HSI rule of Chen, Wu and Chiou, *An early fire-detection method based on image
//!    processing*, ICIP 2004: `R > R_T`, `R >= G > B`, `S >= (255 - R) * S_T / R_T`, where `S` is the HSI
//!    saturation `1 - 3 min(R, G, B) / (R + G + B)` scaled to 0..255; they give `R_T` 115..135 and `S_T` 55..65,
//!    we use 135 and 60 (the strict end);
//! 2. **a light source**: the pixel is bright (`R >= core_red_min`, 170) and brighter than its own background
//!    (the median of its luma over the last 15 s, sampled every second) by more than `foreground_min` (10). A flame lights up
//!    the place it burns in; a yellow cone, a brick wall or a wooden floor is its own background, so walkers
//!    hiding and uncovering it do not make it flicker (this cue took vtest.avi from 3 false fire events to 0);
//! 3. **motion**: the pixel's luma changed since the previous analysed frame;
//! 4. **flicker**: a flame's outline changes from frame to frame while it stays in place, so its pixels switch in
//!    and out of the flame mask (1 and 2) many times within a short window; an orange coat walking past
//!    switches a pixel on once and off once, a wall never.
//!
//! A pixel is *flickering* when, over the last `window` analysed frames, its flame mask switched at least
//! `min_flips` times and its luma moved at least `min_flips` times. Regions are the 8-connected components of
//! the pixels that are in the flame mask now or flickering; a region's score is the fraction of its pixels that
//! flicker, divided by `full_flicker` (0.3) and capped at 1; regions smaller than `min_area` are dropped.
//!
//! Everything runs on the frame reduced by `downscale` (block averages, default 4: 192x144 for 768x576), about
//! 1 ms per frame. The window is in analysed frames: tuned at 5 analysed frames per second (the pipeline's rate),
//! 10 frames = 2 s. A global change (more than `max_moving` of the pixels moved, e.g. the camera's exposure
//! jumped) is skipped: its flips are not counted. The defaults were chosen on the project's real footage (no
//! other was at hand), with the figures and the sweep in `docs/accuracy.md`.
//!
//! Known limits (why it is a baseline): flames seen at night with a saturated white core are only detected at
//! their orange edges; flickering orange lights (a blinking sign, emergency lights, a flag in the wind, the sun
//! through moving leaves) have the same three cues; smoke is not looked for at all.

use crate::preprocess::{InputFormat, Preprocessor};
use crate::runtime::open_session;
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame, bail};

/// The background of a pixel is the median of its luma sampled every `BG_EVERY` analysed frames (1 s at 5 frames
/// per second) over the last `BG_SAMPLES` samples (15 s): whatever is there more than half of the time.
const BG_EVERY: u64 = 5;
const BG_SAMPLES: usize = 15;

/// A fire candidate: a region of the frame (frame pixels) and a score in 0..1.
#[derive(Clone, Debug, PartialEq)]
pub struct FireRegion {
    pub bbox: BBox,
    pub score: f32,
}

/// Settings of the [`FireBaseline`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FireBaselineConfig {
    /// The frame is reduced by this factor (block averages) first. Default 4.
    pub downscale: u32,
    /// `R_T` of the colour rule. Default 135.
    pub red_min: u8,
    /// `S_T` of the colour rule (saturation at `R = R_T`, 0..255). Default 60.
    pub saturation_min: u8,
    /// A pixel moved when its luma changed by more than this (0..255) since the previous analysed frame. Default 12.
    pub motion_min: u8,
    /// Analysed frames over which flips are counted, 2..=32. Default 10 (2 s at 5 frames per second).
    pub window: u32,
    /// Mask switches (and moves) within the window for a pixel to flicker. Default 3.
    pub min_flips: u32,
    /// Smallest region, in reduced pixels. Default 12 (about 190 frame pixels at `downscale` 4, e.g. 14x14).
    pub min_area: u32,
    /// Analysed frames during which nothing is reported while the background is learnt. Default 40 (8 s: the
    /// median of 15 one-second samples is then out of the first frame's hands).
    pub warm_up: u32,
    /// Minimum `Cr - Cb` of a flame pixel ([`cr_minus_cb`]; Celik and Demirel's τ). Default 40; 0 disables it.
    pub chroma_min: u8,
    /// A flame pixel is brighter than its background (the running median of its luma) by more than this.
    /// Default 10; `None` leaves this cue out (for measurements).
    pub foreground_min: Option<u8>,
    /// Flame-coloured pixels join a region only with at least this red (flickering pixels always do), and a
    /// region needs at least one: a flame is a light source, brighter than what it lights. Default 170.
    pub core_red_min: u8,
    /// The flickering fraction of a region that scores 1. Default 0.3.
    pub full_flicker: f32,
    /// Frames where more than this fraction of the pixels moved are not counted (global change). Default 0.3.
    pub max_moving: f32,
}

impl Default for FireBaselineConfig {
    fn default() -> Self {
        FireBaselineConfig {
            downscale: 4,
            red_min: 135,
            saturation_min: 60,
            motion_min: 12,
            window: 10,
            min_flips: 3,
            min_area: 12,
            core_red_min: 170,
            foreground_min: Some(10),
            chroma_min: 40,
            warm_up: 40,
            full_flicker: 0.3,
            max_moving: 0.3,
        }
    }
}

/// The rule-based fire analyser; keeps a short per-pixel history, so feed it the frames of one camera in order.
#[derive(Clone, Debug)]
pub struct FireBaseline {
    cfg: FireBaselineConfig,
    /// Reduced size, and the frame size it was made for.
    w: usize,
    h: usize,
    src: (u32, u32),
    /// Per reduced pixel: luma of the previous frame.
    luma: Vec<u8>,
    /// Per reduced pixel: the background's luma, the median of the last [`BG_SAMPLES`] samples of `ring`.
    bg: Vec<u8>,
    /// Per reduced pixel, [`BG_SAMPLES`] luma samples taken every [`BG_EVERY`] frames; `ring_pos` is the next slot.
    ring: Vec<u8>,
    ring_pos: usize,
    /// Per reduced pixel: flame-colour mask of the last `window` frames (bit 0 = this frame).
    colour: Vec<u32>,
    /// Per reduced pixel: moved in the last `window` frames.
    moved: Vec<u32>,
    frames: u64,
    /// Scratch: component labels and the flood-fill stack.
    label: Vec<u32>,
    stack: Vec<usize>,
    small: Vec<[u8; 3]>,
}

/// Chen et al.'s flame-colour rule on one pixel.
#[inline]
pub fn flame_colour(p: [u8; 3], red_min: u8, saturation_min: u8) -> bool {
    let [r, g, b] = p;
    if r <= red_min || r < g || g <= b {
        return false;
    }
    // S = 1 - 3 min / (R + G + B); here min = B. Compare S * 255 >= (255 - R) * S_T / R_T without division.
    let sum = r as u32 + g as u32 + b as u32;
    let s255 = 255 * (sum - 3 * b as u32); // S * 255 * sum
    s255 * red_min as u32 >= (255 - r as u32) * saturation_min as u32 * sum
}

/// `Cr - Cb` of a pixel (BT.601 full range), the chroma cue of Celik and Demirel, *Fire detection in video
/// sequences using a generic color model*, Fire Safety Journal 2009 (`|Cr - Cb| >= 40`): it leaves out the
/// near-white and beige pixels that Chen's rule accepts at high red.
#[inline]
pub fn cr_minus_cb(p: [u8; 3]) -> i32 {
    (171 * p[0] as i32 - 22 * p[1] as i32 - 149 * p[2] as i32) >> 8
}

impl FireBaseline {
    pub fn new(cfg: FireBaselineConfig) -> Result<Self> {
        if !(1..=16).contains(&cfg.downscale) || !(2..=32).contains(&cfg.window) {
            bail!(
                Config,
                "fire baseline: downscale {} (1..16) or window {} (2..32) out of range",
                cfg.downscale,
                cfg.window
            );
        }
        if cfg.min_flips == 0 || cfg.min_flips >= cfg.window || !(cfg.full_flicker > 0.0 && cfg.full_flicker <= 1.0) {
            bail!(
                Config,
                "fire baseline: min_flips must be within 1..window and full_flicker within 0..1"
            );
        }
        Ok(FireBaseline {
            cfg,
            w: 0,
            h: 0,
            src: (0, 0),
            luma: Vec::new(),
            bg: Vec::new(),
            ring: Vec::new(),
            ring_pos: 0,
            colour: Vec::new(),
            moved: Vec::new(),
            frames: 0,
            label: Vec::new(),
            stack: Vec::new(),
            small: Vec::new(),
        })
    }

    pub fn config(&self) -> &FireBaselineConfig {
        &self.cfg
    }

    /// Forgets the history (after a cut in the stream).
    pub fn reset(&mut self) {
        self.src = (0, 0);
    }

    /// Analyses the next frame; regions sorted by descending score, then position. The first `warm_up` frames of
    /// a stream (and of a new frame size) give nothing: the background is being learnt.
    pub fn analyse(&mut self, frame: &RgbFrame) -> Vec<FireRegion> {
        let (fw, fh) = (frame.width, frame.height);
        let d = self.cfg.downscale;
        if fw < d || fh < d || frame.data.len() < (fw * fh * 3) as usize {
            return Vec::new();
        }
        if self.src != (fw, fh) {
            self.src = (fw, fh);
            self.w = (fw / d) as usize;
            self.h = (fh / d) as usize;
            let n = self.w * self.h;
            self.luma = vec![0; n];
            self.bg = vec![0; n];
            self.ring = vec![0; n * BG_SAMPLES];
            self.ring_pos = 0;
            self.colour = vec![0; n];
            self.moved = vec![0; n];
            self.label = vec![0; n];
            self.small = vec![[0; 3]; n];
            self.frames = 0;
        }
        self.reduce(frame);
        let first = self.frames == 0;
        self.frames += 1;
        let warming = self.frames <= self.cfg.warm_up as u64;
        // Every BG_EVERY frames the luma is sampled into the background ring.
        let sample = !first && self.frames.is_multiple_of(BG_EVERY);
        let keep: u32 = if self.cfg.window >= 32 {
            u32::MAX
        } else {
            (1u32 << self.cfg.window) - 1
        };
        let n = self.w * self.h;
        // Global change: count the moving pixels first.
        let mut moving = 0usize;
        for i in 0..n {
            let [r, g, b] = self.small[i];
            let y = ((r as u32 * 77 + g as u32 * 150 + b as u32 * 29) >> 8) as u8;
            if !first && y.abs_diff(self.luma[i]) > self.cfg.motion_min {
                moving += 1;
            }
        }
        let global = moving as f32 > self.cfg.max_moving * n as f32;
        for i in 0..n {
            let [r, g, b] = self.small[i];
            let y = ((r as u32 * 77 + g as u32 * 150 + b as u32 * 29) >> 8) as u8;
            if first {
                self.bg[i] = y;
            }
            // Flame: bright flame colour, brighter than what is usually there (a flame lights up its place; a
            // yellow cone that walkers hide from time to time is its own background).
            let c = (flame_colour(self.small[i], self.cfg.red_min, self.cfg.saturation_min)
                && r >= self.cfg.core_red_min
                && cr_minus_cb(self.small[i]) >= self.cfg.chroma_min as i32
                && self
                    .cfg
                    .foreground_min
                    .is_none_or(|m| y as i32 > self.bg[i] as i32 + m as i32)) as u32;
            let m = (!first && !global && y.abs_diff(self.luma[i]) > self.cfg.motion_min) as u32;
            self.luma[i] = y;
            if first {
                self.ring[i * BG_SAMPLES..(i + 1) * BG_SAMPLES].fill(y);
            } else if sample {
                self.ring[i * BG_SAMPLES + self.ring_pos] = y;
            }
            if global {
                // Restart this pixel's history: a global change is not flicker.
                self.colour[i] = if c == 1 { keep } else { 0 };
                self.moved[i] = 0;
            } else {
                self.colour[i] = ((self.colour[i] << 1) | c) & keep;
                self.moved[i] = ((self.moved[i] << 1) | m) & keep;
            }
        }
        if sample {
            self.ring_pos = (self.ring_pos + 1) % BG_SAMPLES;
            let mut v = [0u8; BG_SAMPLES];
            for (i, bg) in self.bg.iter_mut().enumerate() {
                v.copy_from_slice(&self.ring[i * BG_SAMPLES..(i + 1) * BG_SAMPLES]);
                *bg = *v.select_nth_unstable(BG_SAMPLES / 2).1;
            }
        }
        if warming || self.frames < self.cfg.window as u64 || global {
            return Vec::new();
        }
        self.regions()
    }

    /// Whether reduced pixel `i` flickers: enough mask switches and moves within the window.
    #[inline]
    fn flickers(&self, i: usize) -> bool {
        let h = self.colour[i];
        let pairs = (1u32 << (self.cfg.window - 1)) - 1; // adjacent pairs within the window
        let flips = ((h ^ (h >> 1)) & pairs).count_ones();
        flips >= self.cfg.min_flips && self.moved[i].count_ones() >= self.cfg.min_flips
    }

    /// Block-average reduction of the frame into `small`.
    fn reduce(&mut self, frame: &RgbFrame) {
        let d = self.cfg.downscale as usize;
        let row = frame.width as usize * 3;
        let area = (d * d) as u32;
        for sy in 0..self.h {
            for sx in 0..self.w {
                let mut acc = [0u32; 3];
                for dy in 0..d {
                    let o = (sy * d + dy) * row + sx * d * 3;
                    for px in frame.data[o..o + d * 3].chunks_exact(3) {
                        acc[0] += px[0] as u32;
                        acc[1] += px[1] as u32;
                        acc[2] += px[2] as u32;
                    }
                }
                self.small[sy * self.w + sx] = [(acc[0] / area) as u8, (acc[1] / area) as u8, (acc[2] / area) as u8];
            }
        }
    }

    /// Connected components of (flame-coloured now or flickering), scored by their flickering fraction.
    fn regions(&mut self) -> Vec<FireRegion> {
        let (w, h) = (self.w, self.h);
        // Bright flame colour now, or flickering: a flame on an orange background (a wooden floor, bricks) stays
        // apart from the background, which is not bright enough to join.
        let core = self.cfg.core_red_min;
        let bright = |s: &Self, i: usize| (s.colour[i] & 1) == 1 && s.small[i][0] >= core;
        let active = |s: &Self, i: usize| bright(s, i) || s.flickers(i);
        self.label.fill(0);
        let mut out = Vec::new();
        let mut next = 0u32;
        let d = self.cfg.downscale as f32;
        for start in 0..w * h {
            if self.label[start] != 0 || !active(self, start) {
                continue;
            }
            next += 1;
            self.label[start] = next;
            self.stack.clear();
            self.stack.push(start);
            let (mut area, mut flick, mut lit) = (0u32, 0u32, 0u32);
            let (mut x1, mut y1, mut x2, mut y2) = (usize::MAX, usize::MAX, 0, 0);
            while let Some(i) = self.stack.pop() {
                let (x, y) = (i % w, i / w);
                area += 1;
                flick += self.flickers(i) as u32;
                lit += bright(self, i) as u32;
                x1 = x1.min(x);
                y1 = y1.min(y);
                x2 = x2.max(x);
                y2 = y2.max(y);
                for dy in -1i32..=1 {
                    for dx in -1i32..=1 {
                        let (nx, ny) = (x as i32 + dx, y as i32 + dy);
                        if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                            continue;
                        }
                        let j = ny as usize * w + nx as usize;
                        if self.label[j] == 0 && active(self, j) {
                            self.label[j] = next;
                            self.stack.push(j);
                        }
                    }
                }
            }
            if area < self.cfg.min_area || flick == 0 || lit == 0 {
                continue;
            }
            let score = ((flick as f32 / area as f32) / self.cfg.full_flicker).min(1.0);
            out.push(FireRegion {
                bbox: BBox::new(x1 as f32 * d, y1 as f32 * d, (x2 + 1) as f32 * d, (y2 + 1) as f32 * d),
                score,
            });
        }
        out.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(a.bbox.y1.total_cmp(&b.bbox.y1))
                .then(a.bbox.x1.total_cmp(&b.bbox.x1))
        });
        out
    }
}

/// How a [`FireClassifier`] reads its model.
#[derive(Clone, Debug)]
pub struct FireClassifierConfig {
    pub model: PathBuf,
    /// Model input size (NCHW float32).
    pub input_width: u32,
    pub input_height: u32,
    /// Index of the fire class in the model's output vector.
    pub class_index: usize,
    /// Channel order, normalisation and letterbox of the input. Default: RGB, ImageNet mean and std, centred.
    pub format: InputFormat,
    /// Apply a softmax to the output (for a model that outputs logits). Default true.
    pub softmax: bool,
    /// Also classify a `tiles` × `tiles` grid of the frame (each tile letterboxed on its own), to localise and to
    /// see small fires; 1: the whole frame only. Default 1.
    pub tiles: u32,
    /// ONNX Runtime intra-op threads. Default 1.
    pub intra_threads: usize,
}

impl FireClassifierConfig {
    pub fn new(model: PathBuf, input_width: u32, input_height: u32, class_index: usize) -> Self {
        FireClassifierConfig {
            model,
            input_width,
            input_height,
            class_index,
            format: InputFormat::with_pad_pixel(
                crate::ChannelOrder::Rgb,
                [123.675, 116.28, 103.53],
                [58.395, 57.12, 57.375],
                crate::Pad::Center,
                0,
            ),
            softmax: true,
            tiles: 1,
            intra_threads: 1,
        }
    }
}

/// A user-supplied ONNX image classifier with a fire class (none ships with Vigie: see `../shared/docs/models.md`).
/// One float32 input `[1, 3, H, W]`, one output `[1, C]` (or `[C]`); the fire probability of each image it
/// classifies becomes a [`FireRegion`] over that image's area.
pub struct FireClassifier {
    session: Session,
    cfg: FireClassifierConfig,
    pre: Preprocessor,
    input: Tensor<f32>,
}

fn ort_err(kind: ErrorKind, msg: impl FnOnce() -> String) -> impl FnOnce(ort::Error) -> Error {
    move |e| Error::wrap(kind, msg(), e)
}

impl FireClassifier {
    /// Loads the classifier with the default settings of [`FireClassifierConfig::new`].
    pub fn new(model: &Path, input_width: u32, input_height: u32, class_index: usize) -> Result<Self> {
        Self::with_config(FireClassifierConfig::new(
            model.to_path_buf(),
            input_width,
            input_height,
            class_index,
        ))
    }

    pub fn with_config(cfg: FireClassifierConfig) -> Result<Self> {
        if !(8..=4096).contains(&cfg.input_width)
            || !(8..=4096).contains(&cfg.input_height)
            || !(1..=8).contains(&cfg.tiles)
        {
            bail!(
                Config,
                "fire classifier input {}x{} (8..4096) or tiles {} (1..8) out of range",
                cfg.input_width,
                cfg.input_height,
                cfg.tiles
            );
        }
        let session = open_session(&cfg.model, cfg.intra_threads, "fire classifier")?;
        let shape_ok = session.inputs().len() == 1
            && session.outputs().len() == 1
            && session.inputs()[0].dtype().tensor_shape().is_some_and(|s| {
                s.len() == 4
                    && (s[1] < 0 || s[1] == 3)
                    && (s[2] < 0 || s[2] == cfg.input_height as i64)
                    && (s[3] < 0 || s[3] == cfg.input_width as i64)
            });
        if !shape_ok {
            bail!(
                Model,
                "{} does not fit a fire classifier of input {}x{}: expected one float32 input [1, 3, {}, {}] and one output [1, C]",
                cfg.model.display(),
                cfg.input_width,
                cfg.input_height,
                cfg.input_height,
                cfg.input_width
            );
        }
        let pre = Preprocessor::new(cfg.format, cfg.input_width, cfg.input_height);
        let input = Tensor::from_array((
            [1usize, 3, cfg.input_height as usize, cfg.input_width as usize],
            vec![0f32; pre.len()],
        ))
        .map_err(ort_err(ErrorKind::Internal, || {
            "allocating the fire classifier input".into()
        }))?;
        Ok(FireClassifier {
            session,
            cfg,
            pre,
            input,
        })
    }

    /// The fire probability of the whole frame, then of each tile (row by row) when `tiles` > 1.
    pub fn classify(&mut self, frame: &RgbFrame) -> Result<Vec<FireRegion>> {
        let (w, h) = (frame.width, frame.height);
        let mut out = Vec::new();
        out.push(FireRegion {
            bbox: BBox::new(0.0, 0.0, w as f32, h as f32),
            score: self.score(frame)?,
        });
        let t = self.cfg.tiles;
        if t > 1 {
            for ty in 0..t {
                for tx in 0..t {
                    let (x1, x2) = (w * tx / t, w * (tx + 1) / t);
                    let (y1, y2) = (h * ty / t, h * (ty + 1) / t);
                    if x2 <= x1 || y2 <= y1 {
                        continue;
                    }
                    let tile = crop(frame, x1, y1, x2, y2);
                    out.push(FireRegion {
                        bbox: BBox::new(x1 as f32, y1 as f32, x2 as f32, y2 as f32),
                        score: self.score(&tile)?,
                    });
                }
            }
        }
        Ok(out)
    }

    fn score(&mut self, img: &RgbFrame) -> Result<f32> {
        {
            let (_, buf) = self
                .input
                .try_extract_tensor_mut::<f32>()
                .map_err(ort_err(ErrorKind::Internal, || {
                    "writing the fire classifier input".into()
                }))?;
            self.pre.run(img, buf)?;
        }
        let model = &self.cfg.model;
        let outputs = self
            .session
            .run(ort::inputs![&self.input])
            .map_err(ort_err(ErrorKind::Model, || format!("running {}", model.display())))?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(ort_err(ErrorKind::Model, || {
                format!("reading the output of {}", model.display())
            }))?;
        let k = self.cfg.class_index;
        if k >= data.len() {
            bail!(Model, "{}: output of shape {shape:?} has no class {k}", model.display());
        }
        let p = if self.cfg.softmax {
            let max = data.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = data.iter().map(|v| (v - max).exp()).sum();
            (data[k] - max).exp() / sum
        } else {
            data[k]
        };
        if !p.is_finite() {
            bail!(Model, "{}: non-finite fire score", model.display());
        }
        Ok(p.clamp(0.0, 1.0))
    }
}

fn crop(f: &RgbFrame, x1: u32, y1: u32, x2: u32, y2: u32) -> RgbFrame {
    let row = f.width as usize * 3;
    let mut data = Vec::with_capacity(((x2 - x1) * (y2 - y1) * 3) as usize);
    for y in y1..y2 {
        let o = y as usize * row;
        data.extend_from_slice(&f.data[o + x1 as usize * 3..o + x2 as usize * 3]);
    }
    RgbFrame {
        width: x2 - x1,
        height: y2 - y1,
        data,
        pts: f.pts,
        index: f.index,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbFrame {
        RgbFrame::from_fn(w, h, f)
    }

    #[test]
    fn colour_rule() {
        assert!(flame_colour([255, 160, 40], 135, 60)); // orange
        assert!(flame_colour([250, 230, 90], 135, 60)); // yellow
        assert!(!flame_colour([120, 60, 20], 135, 60)); // dark brown: R too low
        assert!(!flame_colour([200, 200, 200], 135, 60)); // white
        assert!(!flame_colour([60, 160, 60], 135, 60)); // green
        assert!(!flame_colour([200, 100, 150], 135, 60)); // pink: B > G
        assert!(!flame_colour([150, 130, 115], 135, 60)); // pale beige: too little saturation at that red
    }

    /// A 64x48 grey frame with a flame-coloured blob at (32, 24) whose radius alternates pseudo-randomly, and
    /// optionally a steady orange square.
    fn scene(i: u32, flicker: bool, steady: bool) -> RgbFrame {
        let r = if flicker { 4 + (i * 7 + i * i * 3) % 6 } else { 7 };
        frame(64, 48, |x, y| {
            let (dx, dy) = (x as i32 - 32, y as i32 - 24);
            if (dx * dx + dy * dy) as u32 <= r * r {
                [255, 150 + ((x * 13 + y * 7 + i * 5) % 60) as u8, 30]
            } else if steady && x < 12 && y < 12 {
                [230, 120, 30]
            } else {
                [90, 90, 90]
            }
        })
    }

    #[test]
    fn flicker_in_place_is_found_steady_colour_is_not() {
        let cfg = FireBaselineConfig {
            downscale: 2,
            ..Default::default()
        };
        let mut fb = FireBaseline::new(cfg).unwrap();
        let mut last = Vec::new();
        for i in 0..80 {
            last = fb.analyse(&scene(i, true, true));
            if i < 40 {
                assert!(last.is_empty(), "nothing while warming up");
            }
        }
        assert_eq!(last.len(), 1, "{last:?}");
        let c = last[0].bbox.center();
        assert!((c.x - 32.0).abs() < 4.0 && (c.y - 24.0).abs() < 4.0, "{last:?}");
        assert!(last[0].score >= 0.5, "{last:?}");
        // The same blob, steady: no flicker, nothing.
        let mut fb = FireBaseline::new(cfg).unwrap();
        for i in 0..80 {
            last = fb.analyse(&scene(i, false, true));
        }
        assert!(last.is_empty(), "{last:?}");
    }

    #[test]
    fn an_orange_object_crossing_does_not_flicker() {
        // An orange 8x8 square moving 3 pixels per frame across a grey frame.
        let mut fb = FireBaseline::new(FireBaselineConfig {
            downscale: 2,
            ..Default::default()
        })
        .unwrap();
        for i in 0..80u32 {
            let f = frame(64, 48, |x, y| {
                let x0 = (i * 3) % 64;
                if x >= x0 && x < x0 + 8 && (20..28).contains(&y) {
                    [240, 130, 40]
                } else {
                    [90, 90, 90]
                }
            });
            for r in fb.analyse(&f) {
                assert!(r.score < 0.5, "frame {i}: {r:?}");
            }
        }
    }

    #[test]
    fn a_steady_orange_object_hidden_by_passers_by_does_not_flicker() {
        // An orange square that dark "walkers" hide every other frame or two: its pixels switch on and off, but
        // the square is its own background, never brighter than it.
        let mut fb = FireBaseline::new(FireBaselineConfig {
            downscale: 2,
            ..Default::default()
        })
        .unwrap();
        for i in 0..150u32 {
            let hidden = (i * 7 + i * i) % 3 == 2; // one frame in three
            let f = frame(64, 48, |x, y| {
                if (24..40).contains(&x) && (16..32).contains(&y) {
                    if hidden { [30, 30, 35] } else { [250, 170, 30] }
                } else {
                    [90, 90, 90]
                }
            });
            for r in fb.analyse(&f) {
                assert!(r.score < 0.5, "frame {i}: {r:?}");
            }
        }
    }

    #[test]
    fn global_change_is_skipped() {
        let mut fb = FireBaseline::new(FireBaselineConfig {
            downscale: 2,
            ..Default::default()
        })
        .unwrap();
        for i in 0..80u32 {
            // The whole frame toggles between orange and grey: a lighting change, not a fire.
            let f = frame(64, 48, |_, _| if i % 2 == 0 { [240, 140, 40] } else { [90, 90, 90] });
            assert!(fb.analyse(&f).is_empty(), "frame {i}");
        }
    }

    #[test]
    fn crop_copies_rows() {
        let f = frame(4, 3, |x, y| [x as u8, y as u8, 0]);
        let c = crop(&f, 1, 1, 3, 3);
        assert_eq!((c.width, c.height), (2, 2));
        assert_eq!(c.pixel(0, 0), [1, 1, 0]);
        assert_eq!(c.pixel(1, 1), [2, 2, 0]);
    }
}
