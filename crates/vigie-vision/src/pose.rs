//! Body pose of tracked people with MoveNet MultiPose Lightning, for the "person on the ground" rule.
//!
//! [`PoseEstimator`] runs the model on one crop per person (the tracker's box expanded by 20 %, letterboxed and
//! centred into a square input, 256x256 by default) and measures the **body axis**: the angle between the vertical
//! and the vector from the hips' centre to the shoulders' centre (keypoints scoring above 0.2), in degrees,
//! 0 upright, 90 lying, 180 upside down. When the torso is not seen, the axis runs from the ankles (or knees) to
//! the head (nose, eyes, ears), with a lower confidence.
//!
//! # Why crops, and why rotated crops
//! MoveNet was trained on COCO, where people are mostly upright. Measured on real images
//! (`docs/accuracy.md`): a whole-frame run finds nobody in frames turned by 90° (person.jpg,
//! zidane.jpg, vtest.avi, one-by-one-person-detection), and one run on a person's crop turned by 90° finds a
//! lying torso for 5 of 7 people, at a mean confidence of 0.21. So a crop is first run as it is; unless that gives
//! a confident upright torso (the usual case, one run), it is also run turned by +90° and -90°: a lying person
//! looks upright in one of them (7 of 7, mean confidence 0.59), and
//! the most confident torso of the three runs is kept, its keypoints mapped back to the frame. A standing person
//! rotated by 90° comes out with a low confidence, so the rotation cannot turn a standing person into a lying one
//! unless the upright run is even less sure.
//!
//! # Cost
//! One run of 256x256 takes about 50 ms on one core of the reference machine (192x192: about 22 ms); a person who
//! is not clearly upright costs three runs. Run it only on tracks that [`worth_checking`] selects, at a low
//! cadence (the caller decides).

use crate::runtime::open_session;
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use vigie_core::{BBox, Error, ErrorKind, Point, Result, RgbFrame, TrackId, bail};

/// MoveNet's 17 keypoints, in output order.
pub const KEYPOINTS: [&str; 17] = [
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
    "left_knee",
    "right_knee",
    "left_ankle",
    "right_ankle",
];

const HEAD: [usize; 5] = [0, 1, 2, 3, 4];
const SHOULDERS: [usize; 2] = [5, 6];
const HIPS: [usize; 2] = [11, 12];
const KNEES: [usize; 2] = [13, 14];
const ANKLES: [usize; 2] = [15, 16];

/// Values per person in the model output: 17 × (y, x, score) then (ymin, xmin, ymax, xmax, score).
const STRIDE: usize = 56;

/// One keypoint in frame pixels.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Keypoint {
    pub x: f32,
    pub y: f32,
    pub score: f32,
}

/// Which keypoints the axis was measured between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AxisSource {
    /// Hips' centre → shoulders' centre.
    Torso,
    /// Ankles (or knees, or hips) → head (or shoulders): used when the torso is not fully seen.
    Body,
}

/// The pose of one person (not a rule observation: the pipeline turns it into `vigie_rules::PoseObs`).
#[derive(Clone, Debug, PartialEq)]
pub struct BodyPose {
    pub track_id: TrackId,
    /// Angle of the body axis from the vertical, degrees: 0 upright, 90 lying, 180 upside down.
    pub axis_from_vertical_deg: f32,
    /// 0..1: the mean keypoint score of the axis' weaker end (× 0.8 for [`AxisSource::Body`]).
    pub confidence: f32,
    pub source: AxisSource,
    /// Rotation of the crop that gave this pose, degrees clockwise (0, 90 or 270).
    pub crop_rotation_deg: u16,
    /// The 17 keypoints in frame pixels, [`KEYPOINTS`] order.
    pub keypoints: [Keypoint; 17],
}

/// Settings of a [`PoseEstimator`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PoseConfig {
    /// Side of the square model input (a multiple of 32). Default 256.
    pub input_size: u32,
    /// The person's box is grown by this fraction of its width and height before cropping. Default 0.2.
    pub expand: f32,
    /// Keypoints scoring below this are not used. Default 0.2.
    pub keypoint_threshold: f32,
    /// Also try the crop rotated by ±90° when the upright run is not a confident upright torso. Default true.
    pub rotations: bool,
    /// An upright run whose axis is within this many degrees of vertical with at least
    /// [`confident`](Self::confident) confidence is taken without trying rotations. Default 30.
    pub upright_deg: f32,
    /// Default 0.5.
    pub confident: f32,
}

impl Default for PoseConfig {
    fn default() -> Self {
        PoseConfig {
            input_size: 256,
            expand: 0.2,
            keypoint_threshold: 0.2,
            rotations: true,
            upright_deg: 30.0,
            confident: 0.5,
        }
    }
}

/// MoveNet MultiPose over person crops. Not `Sync`: one estimator per worker thread.
pub struct PoseEstimator {
    session: Session,
    model: PathBuf,
    cfg: PoseConfig,
    input: Tensor<i32>,
    runs: u64,
}

fn ort_err(kind: ErrorKind, msg: impl FnOnce() -> String) -> impl FnOnce(ort::Error) -> Error {
    move |e| Error::wrap(kind, msg(), e)
}

/// Where a crop (rotated by `rot` quarter turns clockwise) sits inside the square model input.
#[derive(Clone, Copy, Debug)]
struct CropMap {
    /// Crop rectangle in frame pixels.
    x0: f32,
    y0: f32,
    cw: f32,
    ch: f32,
    /// Quarter turns clockwise: 0, 1 or 3.
    rot: u8,
    /// Input pixels per crop pixel, and the offset of the (rotated) crop inside the input.
    scale: f32,
    ox: f32,
    oy: f32,
}

impl CropMap {
    fn new(crop: BBox, rot: u8, size: u32) -> Self {
        let (cw, ch) = (crop.width().max(1.0), crop.height().max(1.0));
        let (rw, rh) = if rot % 2 == 1 { (ch, cw) } else { (cw, ch) };
        let s = size as f32;
        let scale = s / rw.max(rh);
        CropMap {
            x0: crop.x1,
            y0: crop.y1,
            cw,
            ch,
            rot,
            scale,
            ox: (s - rw * scale) / 2.0,
            oy: (s - rh * scale) / 2.0,
        }
    }

    fn rotated_size(self) -> (f32, f32) {
        if self.rot % 2 == 1 {
            (self.ch, self.cw)
        } else {
            (self.cw, self.ch)
        }
    }

    /// Input coordinates (continuous) → frame coordinates; `None` outside the crop.
    fn to_frame(self, u: f32, v: f32) -> Option<Point> {
        let a = (u - self.ox) / self.scale;
        let b = (v - self.oy) / self.scale;
        let (rw, rh) = self.rotated_size();
        if !(0.0..rw).contains(&a) || !(0.0..rh).contains(&b) {
            return None;
        }
        Some(self.unrotate(a, b))
    }

    /// Rotated-crop coordinates → frame coordinates (not bounded).
    fn unrotate(self, a: f32, b: f32) -> Point {
        let (x, y) = match self.rot {
            // Clockwise: crop (x, y) went to (ch - y, x).
            1 => (b, self.ch - a),
            // Counter-clockwise: crop (x, y) went to (y, cw - x).
            3 => (self.cw - b, a),
            _ => (a, b),
        };
        Point::new(self.x0 + x, self.y0 + y)
    }

    /// Frame box → input box (the axis-aligned box of its mapped corners).
    fn box_to_input(self, b: BBox) -> BBox {
        let f = |x: f32, y: f32| -> (f32, f32) {
            let (cx, cy) = (x - self.x0, y - self.y0);
            let (a, bb) = match self.rot {
                1 => (self.ch - cy, cx),
                3 => (cy, self.cw - cx),
                _ => (cx, cy),
            };
            (a * self.scale + self.ox, bb * self.scale + self.oy)
        };
        let (ax, ay) = f(b.x1, b.y1);
        let (bx, by) = f(b.x2, b.y2);
        BBox::new(ax, ay, bx, by)
    }
}

/// Writes the crop, rotated and letterboxed (black padding), into `out` (`[size, size, 3]`, RGB 0..255), with
/// bilinear sampling.
fn fill_input(frame: &RgbFrame, m: &CropMap, size: u32, out: &mut [i32]) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let row = w * 3;
    let px = |x: usize, y: usize, c: usize| frame.data[y * row + x * 3 + c] as f32;
    let n = size as usize;
    for v in 0..n {
        for u in 0..n {
            let o = (v * n + u) * 3;
            let Some(p) = m.to_frame(u as f32 + 0.5, v as f32 + 0.5) else {
                out[o..o + 3].fill(0);
                continue;
            };
            let fx = (p.x - 0.5).clamp(0.0, (w - 1) as f32);
            let fy = (p.y - 0.5).clamp(0.0, (h - 1) as f32);
            let (x0, y0) = (fx as usize, fy as usize);
            let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
            let (ax, ay) = (fx - x0 as f32, fy - y0 as f32);
            for c in 0..3 {
                let top = px(x0, y0, c) * (1.0 - ax) + px(x1, y0, c) * ax;
                let bot = px(x0, y1, c) * (1.0 - ax) + px(x1, y1, c) * ax;
                out[o + c] = (top * (1.0 - ay) + bot * ay).round() as i32;
            }
        }
    }
}

/// The centre and mean score of the keypoints of `idx` scoring at least `thr`.
fn centre(kp: &[Keypoint; 17], idx: &[usize], thr: f32) -> Option<(Point, f32)> {
    let mut n = 0.0;
    let (mut x, mut y, mut s) = (0.0, 0.0, 0.0);
    for &i in idx {
        if kp[i].score >= thr {
            n += 1.0;
            x += kp[i].x;
            y += kp[i].y;
            s += kp[i].score;
        }
    }
    (n > 0.0).then(|| (Point::new(x / n, y / n), s / n))
}

/// The body axis of `kp` (frame pixels): (degrees from the vertical, confidence, source).
pub fn body_axis(kp: &[Keypoint; 17], thr: f32) -> Option<(f32, f32, AxisSource)> {
    let shoulders = centre(kp, &SHOULDERS, thr);
    let hips = centre(kp, &HIPS, thr);
    let (top, bottom, source) = match (shoulders, hips) {
        (Some(s), Some(h)) => (s, h, AxisSource::Torso),
        _ => {
            let top = centre(kp, &HEAD, thr).or(shoulders)?;
            let bottom = centre(kp, &ANKLES, thr).or_else(|| centre(kp, &KNEES, thr)).or(hips)?;
            (top, bottom, AxisSource::Body)
        }
    };
    let (dx, dy) = (top.0.x - bottom.0.x, top.0.y - bottom.0.y);
    let len = (dx * dx + dy * dy).sqrt();
    // Shorter than 2 pixels: the two ends are the same point, no direction.
    if len < 2.0 || !len.is_finite() {
        return None;
    }
    // Up is -y in image coordinates.
    let deg = dx.abs().atan2(-dy).to_degrees();
    let mut conf = top.1.min(bottom.1);
    if source == AxisSource::Body {
        conf *= 0.8;
    }
    Some((deg, conf.clamp(0.0, 1.0), source))
}

/// Whether a person track is worth a pose check, from its recent boxes (oldest first): its latest box is not
/// clearly upright (width at least 0.75 of height), or its height fell below 70 % of its tallest recent box while
/// its width did not shrink as much (a person going down, not walking away from the camera). Cheap; a standing
/// or walking person seen whole returns false.
pub fn worth_checking(history: &[BBox]) -> bool {
    let Some(last) = history.last() else { return false };
    let (w, h) = (last.width(), last.height());
    if h <= 0.0 || w <= 0.0 {
        return false;
    }
    if w >= 0.75 * h {
        return true;
    }
    let tallest = history
        .iter()
        .max_by(|a, b| a.height().total_cmp(&b.height()))
        .unwrap_or(last);
    h < 0.7 * tallest.height() && w > 0.7 * tallest.width()
}

impl PoseEstimator {
    /// Loads MoveNet MultiPose (`models/movenet-multipose.onnx`) with `threads` intra-op threads and the default
    /// [`PoseConfig`].
    pub fn new(model: &Path, threads: usize) -> Result<Self> {
        Self::with_config(model, threads, PoseConfig::default())
    }

    pub fn with_config(model: &Path, threads: usize, cfg: PoseConfig) -> Result<Self> {
        if cfg.input_size < 32 || !cfg.input_size.is_multiple_of(32) || cfg.input_size > 1024 {
            bail!(
                Config,
                "pose input size {} is not a multiple of 32 within 32..1024",
                cfg.input_size
            );
        }
        if !(0.0..=2.0).contains(&cfg.expand) || !(0.0..1.0).contains(&cfg.keypoint_threshold) {
            bail!(
                Config,
                "pose expand {} (0..2) or keypoint threshold {} (0..1) out of range",
                cfg.expand,
                cfg.keypoint_threshold
            );
        }
        let session = open_session(model, threads, "pose model")?;
        let in_ok = session.inputs().len() == 1
            && session.inputs()[0].dtype().tensor_type() == Some(ort::value::TensorElementType::Int32);
        let out_ok = session.outputs().len() == 1
            && session.outputs()[0]
                .dtype()
                .tensor_shape()
                .is_some_and(|s| s.len() == 3 && (s[2] < 0 || s[2] as usize == STRIDE));
        if !in_ok || !out_ok {
            bail!(
                Model,
                "{} is not MoveNet MultiPose: expected one int32 input [1, H, W, 3] and one output [1, 6, 56]",
                model.display()
            );
        }
        let n = cfg.input_size as usize;
        let input = Tensor::from_array(([1usize, n, n, 3], vec![0i32; n * n * 3]))
            .map_err(ort_err(ErrorKind::Internal, || "allocating the pose input".into()))?;
        Ok(PoseEstimator {
            session,
            model: model.to_path_buf(),
            cfg,
            input,
            runs: 0,
        })
    }

    pub fn config(&self) -> &PoseConfig {
        &self.cfg
    }

    /// Model runs so far (for cost accounting: one per crop and rotation tried).
    pub fn runs(&self) -> u64 {
        self.runs
    }

    /// The pose of each person of `frame` (boxes in frame pixels), in the order given; a person without a usable
    /// torso or body axis in any run is left out.
    pub fn estimate(&mut self, frame: &RgbFrame, persons: &[(TrackId, BBox)]) -> Result<Vec<BodyPose>> {
        if frame.width == 0 || frame.height == 0 || frame.data.len() < (frame.width * frame.height * 3) as usize {
            bail!(
                InvalidArgument,
                "frame {}x{} with {} bytes is not RGB24",
                frame.width,
                frame.height,
                frame.data.len()
            );
        }
        let mut out = Vec::with_capacity(persons.len());
        for &(track_id, b) in persons {
            if !b.is_finite() || b.width() < 2.0 || b.height() < 2.0 {
                continue;
            }
            if let Some(p) = self.estimate_one(frame, track_id, b)? {
                out.push(p);
            }
        }
        Ok(out)
    }

    fn estimate_one(&mut self, frame: &RgbFrame, track_id: TrackId, b: BBox) -> Result<Option<BodyPose>> {
        let (gx, gy) = (b.width() * self.cfg.expand / 2.0, b.height() * self.cfg.expand / 2.0);
        let crop = BBox::new(b.x1 - gx, b.y1 - gy, b.x2 + gx, b.y2 + gy).clamp(frame.width as f32, frame.height as f32);
        if crop.width() < 2.0 || crop.height() < 2.0 {
            return Ok(None);
        }
        let mut best: Option<BodyPose> = None;
        let rotations: &[u8] = if self.cfg.rotations { &[0, 1, 3] } else { &[0] };
        for &rot in rotations {
            let m = CropMap::new(crop, rot, self.cfg.input_size);
            let person = m.box_to_input(b);
            let Some(kp) = self.run(frame, &m, person)? else {
                continue;
            };
            let Some((deg, conf, source)) = body_axis(&kp, self.cfg.keypoint_threshold) else {
                continue;
            };
            let pose = BodyPose {
                track_id,
                axis_from_vertical_deg: deg,
                confidence: conf,
                source,
                crop_rotation_deg: rot as u16 * 90,
                keypoints: kp,
            };
            if rot == 0 && deg <= self.cfg.upright_deg && conf >= self.cfg.confident && source == AxisSource::Torso {
                return Ok(Some(pose));
            }
            if best.as_ref().is_none_or(|p| conf > p.confidence) {
                best = Some(pose);
            }
        }
        Ok(best)
    }

    /// One model run on the crop `m`; the keypoints (frame pixels) of the pose that best matches `person`
    /// (input coordinates).
    fn run(&mut self, frame: &RgbFrame, m: &CropMap, person: BBox) -> Result<Option<[Keypoint; 17]>> {
        let size = self.cfg.input_size;
        {
            let (_, buf) = self
                .input
                .try_extract_tensor_mut::<i32>()
                .map_err(ort_err(ErrorKind::Internal, || "writing the pose input".into()))?;
            fill_input(frame, m, size, buf);
        }
        self.runs += 1;
        let outputs = self
            .session
            .run(ort::inputs![&self.input])
            .map_err(ort_err(ErrorKind::Model, || {
                format!("running {}", self.model.display())
            }))?;
        let (shape, data) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(ort_err(ErrorKind::Model, || {
                format!("reading the output of {}", self.model.display())
            }))?;
        if data.is_empty() || data.len() % STRIDE != 0 {
            bail!(
                Model,
                "{}: output of shape {shape:?}, expected [1, N, 56]",
                self.model.display()
            );
        }
        let s = size as f32;
        // The pose whose box best covers the person: score × (0.25 + IoU); the 0.25 keeps a well-scored pose whose
        // box the model drew tighter or looser than the tracker.
        let mut best: Option<(f32, usize)> = None;
        for (i, p) in data.chunks_exact(STRIDE).enumerate() {
            let pb = BBox::new(p[52] * s, p[51] * s, p[54] * s, p[53] * s);
            let score = p[55];
            if !(score.is_finite() && pb.is_finite()) || score < 0.05 {
                continue;
            }
            let v = score * (0.25 + pb.iou(&person));
            if best.is_none_or(|(bv, _)| v > bv) {
                best = Some((v, i));
            }
        }
        let Some((_, i)) = best else { return Ok(None) };
        let p = &data[i * STRIDE..(i + 1) * STRIDE];
        let mut kp = [Keypoint::default(); 17];
        for (k, slot) in kp.iter_mut().enumerate() {
            let (y, x, sc) = (p[k * 3], p[k * 3 + 1], p[k * 3 + 2]);
            // A keypoint in the padding is not a point of this person.
            let inside = m.to_frame(x * s, y * s).is_some();
            let q = m.unrotate((x * s - m.ox) / m.scale, (y * s - m.oy) / m.scale);
            *slot = Keypoint {
                x: q.x,
                y: q.y,
                score: if inside { sc } else { 0.0 },
            };
        }
        Ok(Some(kp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kp(points: &[(usize, f32, f32)]) -> [Keypoint; 17] {
        let mut k = [Keypoint::default(); 17];
        for &(i, x, y) in points {
            k[i] = Keypoint { x, y, score: 0.9 };
        }
        k
    }

    #[test]
    fn axis_angles() {
        // Shoulders above hips: upright.
        let up = kp(&[(5, 10.0, 10.0), (6, 20.0, 10.0), (11, 11.0, 50.0), (12, 19.0, 50.0)]);
        let (d, c, s) = body_axis(&up, 0.2).unwrap();
        assert!(d < 1.0 && (c - 0.9).abs() < 1e-6 && s == AxisSource::Torso);
        // Lying, head to the left or right: 90.
        let lying = kp(&[(5, 10.0, 10.0), (6, 10.0, 20.0), (11, 50.0, 11.0), (12, 50.0, 19.0)]);
        assert!((body_axis(&lying, 0.2).unwrap().0 - 90.0).abs() < 1.0);
        let mirrored = kp(&[(5, 50.0, 10.0), (6, 50.0, 20.0), (11, 10.0, 11.0), (12, 10.0, 19.0)]);
        assert!((body_axis(&mirrored, 0.2).unwrap().0 - 90.0).abs() < 1.0);
        // Upside down: 180.
        let inv = kp(&[(5, 10.0, 50.0), (6, 20.0, 50.0), (11, 10.0, 10.0), (12, 20.0, 10.0)]);
        assert!((body_axis(&inv, 0.2).unwrap().0 - 180.0).abs() < 1.0);
        // 45 degrees.
        let lean = kp(&[(5, 40.0, 10.0), (11, 10.0, 40.0)]);
        let (d, _, s) = body_axis(&lean, 0.2).unwrap();
        assert!((d - 45.0).abs() < 0.1 && s == AxisSource::Torso);
        // No hips: head to ankles, lower confidence.
        let body = kp(&[(0, 10.0, 10.0), (15, 60.0, 12.0), (16, 60.0, 8.0)]);
        let (d, c, s) = body_axis(&body, 0.2).unwrap();
        assert!((d - 90.0).abs() < 1.0 && (c - 0.72).abs() < 1e-6 && s == AxisSource::Body);
        // Nothing above the threshold.
        assert!(body_axis(&[Keypoint::default(); 17], 0.2).is_none());
    }

    #[test]
    fn crop_map_round_trips_through_rotations() {
        let crop = BBox::new(100.0, 50.0, 140.0, 150.0); // 40 x 100
        for rot in [0u8, 1, 3] {
            let m = CropMap::new(crop, rot, 256);
            let b = BBox::new(110.0, 60.0, 130.0, 140.0);
            let ib = m.box_to_input(b);
            // Corners of the input box map back onto the frame box.
            let p = m.to_frame(ib.x1 + 1e-3, ib.y1 + 1e-3).unwrap();
            let q = m.to_frame(ib.x2 - 1e-3, ib.y2 - 1e-3).unwrap();
            let back = BBox::new(p.x, p.y, q.x, q.y);
            assert!(back.iou(&b) > 0.99, "rot {rot}: {back:?}");
            // The long side fills the input; a rotated crop is wide.
            if rot == 0 {
                assert!((ib.height() - 80.0 * 2.56).abs() < 1e-3);
            } else {
                assert!((ib.width() - 80.0 * 2.56).abs() < 1e-3);
            }
        }
        // Padding maps to nothing.
        assert!(CropMap::new(crop, 0, 256).to_frame(1.0, 128.0).is_none());
    }

    #[test]
    fn fill_input_rotates_clockwise_and_counter_clockwise() {
        // A 2x4 (w x h) frame whose top-left pixel is red, the rest black.
        let mut data = vec![0u8; 2 * 4 * 3];
        data[0] = 255;
        let f = RgbFrame {
            width: 2,
            height: 4,
            data,
            pts: vigie_core::Time90k(0),
            index: 0,
        };
        let crop = BBox::new(0.0, 0.0, 2.0, 4.0);
        let at = |buf: &[i32], u: usize, v: usize| buf[(v * 32 + u) * 3];
        let mut buf = vec![0i32; 32 * 32 * 3];
        // Upright: 16 x 32 centred, red at the top-left of the image area (u 8..16, v 0..8).
        fill_input(&f, &CropMap::new(crop, 0, 32), 32, &mut buf);
        assert_eq!(at(&buf, 9, 1), 255);
        assert_eq!(at(&buf, 1, 1), 0); // padding
        // Clockwise: the top-left goes to the top-right.
        fill_input(&f, &CropMap::new(crop, 1, 32), 32, &mut buf);
        assert_eq!(at(&buf, 30, 9), 255);
        assert_eq!(at(&buf, 1, 9), 0);
        // Counter-clockwise: to the bottom-left.
        fill_input(&f, &CropMap::new(crop, 3, 32), 32, &mut buf);
        assert_eq!(at(&buf, 1, 22), 255);
        assert_eq!(at(&buf, 30, 9), 0);
    }

    #[test]
    fn worth_checking_selects_wide_or_shrinking_people() {
        let standing = BBox::new(0.0, 0.0, 40.0, 100.0);
        assert!(!worth_checking(&[standing; 5]));
        assert!(!worth_checking(&[]));
        assert!(worth_checking(&[standing, BBox::new(0.0, 60.0, 100.0, 100.0)]));
        // Height 100 → 60 with the same width: going down.
        assert!(worth_checking(&[standing, BBox::new(0.0, 40.0, 40.0, 100.0)]));
        // Height and width shrinking together: walking away from the camera.
        assert!(!worth_checking(&[standing, BBox::new(0.0, 0.0, 20.0, 50.0)]));
    }
}
