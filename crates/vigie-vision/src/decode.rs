//! Detector output decoders: pure functions over the raw output slices (sans-IO, testable without a model).
//!
//! Every decoder appends candidate detections to `out` in **model-input coordinates** (letterboxed pixels), one per
//! anchor point at most (its best kept class), keeping only those whose score is `>= score_threshold`. Scores of
//! classes not listed in `kept` are never looked at. Mapping back to the source frame ([`Letterbox::to_source`]),
//! clamping and NMS are the caller's job.
//!
//! [`Letterbox::to_source`]: crate::Letterbox::to_source

use vigie_core::{BBox, ClassId, Detections};

/// Which classes to look at, and the minimum score.
#[derive(Clone, Copy, Debug)]
pub struct DecodeParams<'a> {
    /// Class indices to consider (into the model's class axis); others are ignored.
    pub kept: &'a [usize],
    pub score_threshold: f32,
}

impl DecodeParams<'_> {
    /// Best kept class of one row of class scores, if its score reaches the threshold.
    #[inline]
    fn best(&self, scores: &[f32], factor: f32) -> Option<(usize, f32)> {
        let mut best: Option<(usize, f32)> = None;
        for &c in self.kept {
            let s = scores.get(c).copied().unwrap_or(0.0) * factor;
            if s >= self.score_threshold && best.is_none_or(|(_, b)| s > b) {
                best = Some((c, s));
            }
        }
        best
    }
}

/// One output level of a GFL head (NanoDet): `grid_w * grid_h` anchor points, row-major.
///
/// Point `i` has its class scores (already sigmoid) at `scores[i * score_pitch ..][..num_classes]` and its box
/// distribution at `regs[i * reg_pitch ..][..4 * (reg_max + 1)]`: for each side left, top, right, bottom, `reg_max + 1`
/// logits over the distances `0..=reg_max` (in units of `stride`). A single concatenated output (`[N, C + 4(R+1)]`)
/// is described by giving the same slice twice with the regression part offset by `C`.
#[derive(Clone, Copy, Debug)]
pub struct GflLevel<'a> {
    pub stride: f32,
    pub grid_w: usize,
    pub grid_h: usize,
    pub scores: &'a [f32],
    pub score_pitch: usize,
    pub regs: &'a [f32],
    pub reg_pitch: usize,
}

/// Decodes GFL (NanoDet) levels: box = (cx - l, cy - t, cx + r, cy + b), with cell centre
/// `((col + 0.5) * stride, (row + 0.5) * stride)` and each distance the expectation of a softmax over `reg_max + 1`
/// bins times the stride. The softmaxes are only computed for points whose best kept score reaches the threshold.
pub fn decode_gfl(levels: &[GflLevel<'_>], reg_max: usize, p: &DecodeParams<'_>, out: &mut Detections) {
    let bins = reg_max + 1;
    for lv in levels {
        let n = lv.grid_w * lv.grid_h;
        if lv.score_pitch == 0 || lv.reg_pitch == 0 || lv.grid_w == 0 {
            continue;
        }
        for i in 0..n {
            let Some(srow) = lv.scores.get(i * lv.score_pitch..) else {
                break;
            };
            let Some((class, score)) = p.best(srow, 1.0) else {
                continue;
            };
            let Some(reg) = lv.regs.get(i * lv.reg_pitch..i * lv.reg_pitch + 4 * bins) else {
                break;
            };
            let mut d = [0f32; 4];
            for (side, logits) in d.iter_mut().zip(reg.chunks_exact(bins)) {
                *side = softmax_expectation(logits) * lv.stride;
            }
            let cx = ((i % lv.grid_w) as f32 + 0.5) * lv.stride;
            let cy = ((i / lv.grid_w) as f32 + 0.5) * lv.stride;
            out.push(
                BBox::new(cx - d[0], cy - d[1], cx + d[2], cy + d[3]),
                score,
                ClassId(class as u16),
            );
        }
    }
}

/// `sum_i softmax(logits)_i * i`.
#[inline]
fn softmax_expectation(logits: &[f32]) -> f32 {
    let m = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let (mut sum, mut acc) = (0f32, 0f32);
    for (i, &l) in logits.iter().enumerate() {
        let e = (l - m).exp();
        sum += e;
        acc += e * i as f32;
    }
    if sum > 0.0 { acc / sum } else { 0.0 }
}

/// Grid size of a level of stride `s` over an input side of `len` pixels (NanoDet: `ceil(len / s)`).
pub fn gfl_grid(len: u32, stride: u32) -> usize {
    len.div_ceil(stride) as usize
}

/// Decodes the six outputs of the TF.js NanoDet build (`Identity:0..5`): class scores for strides 8, 16, 32
/// (`[g*g, num_classes]`), then box distributions for strides 8, 16, 32 (`[g*g, 4 * (reg_max + 1)]`), over an input
/// of `input_w x input_h`.
pub fn decode_nanodet(
    outputs: &[&[f32]; 6],
    input_w: u32,
    input_h: u32,
    num_classes: usize,
    reg_max: usize,
    p: &DecodeParams<'_>,
    out: &mut Detections,
) {
    let levels: Vec<GflLevel<'_>> = [8u32, 16, 32]
        .iter()
        .enumerate()
        .map(|(k, &s)| GflLevel {
            stride: s as f32,
            grid_w: gfl_grid(input_w, s),
            grid_h: gfl_grid(input_h, s),
            scores: outputs[k],
            score_pitch: num_classes,
            regs: outputs[k + 3],
            reg_pitch: 4 * (reg_max + 1),
        })
        .collect();
    decode_gfl(&levels, reg_max, p, out);
}

/// Strides of YOLOX's three output levels.
pub const YOLOX_STRIDES: [u32; 3] = [8, 16, 32];

/// Number of anchor points of a raw YOLOX output over `input_w x input_h` (`floor(len / s)` per side, as YOLOX does).
pub fn yolox_points(input_w: u32, input_h: u32) -> usize {
    YOLOX_STRIDES
        .iter()
        .map(|&s| (input_w / s) as usize * (input_h / s) as usize)
        .sum()
}

/// Iterates `(grid_x, grid_y, stride)` over YOLOX's anchor points, level by level, row-major.
fn yolox_grid(input_w: u32, input_h: u32) -> impl Iterator<Item = (f32, f32, f32)> {
    YOLOX_STRIDES.into_iter().flat_map(move |s| {
        let (gw, gh) = (input_w / s, input_h / s);
        (0..gh).flat_map(move |y| (0..gw).map(move |x| (x as f32, y as f32, s as f32)))
    })
}

/// Decodes a YOLOX output `[N, 5 + num_classes]`: `cx, cy, w, h, objectness, class scores...` (objectness and class
/// scores already sigmoid), score = objectness * class score.
///
/// With `decoded == true` the box is taken as is (an export with `decode_in_inference`, in letterboxed pixels).
/// Otherwise it is the raw head output (YOLOX's default `export_onnx.py`) and is decoded over the stride 8, 16, 32
/// grids of `input_w x input_h`: `cx = (x + gx) * s`, `w = exp(w) * s`; rows past the grid are ignored. See
/// [`yolox_looks_decoded`] to tell the two apart.
pub fn decode_yolox(
    output: &[f32],
    num_classes: usize,
    input_w: u32,
    input_h: u32,
    decoded: bool,
    p: &DecodeParams<'_>,
    out: &mut Detections,
) {
    let rows = output.chunks_exact(5 + num_classes);
    let mut push = |row: &[f32], cx: f32, cy: f32, w: f32, h: f32| {
        let obj = row[4];
        // Class scores are <= 1, so a low objectness rules the row out before looking at classes.
        if obj.is_nan() || obj < p.score_threshold {
            return;
        }
        if let Some((c, s)) = p.best(&row[5..], obj) {
            out.push(BBox::from_cxcywh(cx, cy, w, h), s, ClassId(c as u16));
        }
    };
    if decoded {
        for row in rows {
            push(row, row[0], row[1], row[2], row[3]);
        }
    } else {
        for (row, (gx, gy, s)) in rows.zip(yolox_grid(input_w, input_h)) {
            if row[4].is_nan() || row[4] < p.score_threshold {
                continue;
            }
            push(
                row,
                (row[0] + gx) * s,
                (row[1] + gy) * s,
                row[2].exp() * s,
                row[3].exp() * s,
            );
        }
    }
}

/// Whether a YOLOX output `[N, 5 + num_classes]` holds decoded boxes (pixels) rather than raw grid offsets.
///
/// Both readings are tried against the anchor grid: a decoded centre lies near its cell, `(gx + 0.5) * s`; so does a
/// raw one once decoded, `(x + gx) * s`. The reading whose centres sit closer to their cells on average wins. When
/// `N` does not match the stride 8/16/32 grid of the input, raw decoding is impossible and the output is taken as
/// decoded.
pub fn yolox_looks_decoded(output: &[f32], num_classes: usize, input_w: u32, input_h: u32) -> bool {
    let pitch = 5 + num_classes;
    if output.len() / pitch != yolox_points(input_w, input_h) || output.is_empty() {
        return true;
    }
    let (mut err_decoded, mut err_raw) = (0f64, 0f64);
    for (row, (gx, gy, s)) in output.chunks_exact(pitch).zip(yolox_grid(input_w, input_h)) {
        let (ccx, ccy) = ((gx + 0.5) * s, (gy + 0.5) * s);
        err_decoded += ((row[0] - ccx).abs() + (row[1] - ccy).abs()) as f64;
        err_raw += (((row[0] + gx) * s - ccx).abs() + ((row[1] + gy) * s - ccy).abs()) as f64;
    }
    // NaN in either sum compares false: fall back to "decoded", the safer reading (no exp of garbage).
    err_raw.is_nan() || err_decoded.is_nan() || err_raw >= err_decoded
}

/// Decodes a YOLOv8 / YOLO11 output `[4 + num_classes, N]` (channel-major, as Ultralytics exports it): rows `cx, cy,
/// w, h` in letterboxed pixels, then one row of class scores (already sigmoid, no objectness) per class.
///
/// Scans one class row at a time (contiguous memory), keeping the best kept class of each anchor.
pub fn decode_yolov8(output: &[f32], num_classes: usize, p: &DecodeParams<'_>, out: &mut Detections) {
    let rows = 4 + num_classes;
    let n = output.len() / rows;
    if n == 0 {
        return;
    }
    let mut best_score = vec![f32::NEG_INFINITY; n];
    let mut best_class = vec![u16::MAX; n];
    for &c in p.kept {
        let Some(row) = output.get((4 + c) * n..(5 + c) * n) else {
            continue;
        };
        for ((s, bs), bc) in row.iter().zip(best_score.iter_mut()).zip(best_class.iter_mut()) {
            if *s > *bs {
                *bs = *s;
                *bc = c as u16;
            }
        }
    }
    for (i, (&s, &c)) in best_score.iter().zip(best_class.iter()).enumerate() {
        if s >= p.score_threshold {
            let (cx, cy, w, h) = (output[i], output[n + i], output[2 * n + i], output[3 * n + i]);
            out.push(BBox::from_cxcywh(cx, cy, w, h), s, ClassId(c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL3: [usize; 3] = [0, 1, 2];

    fn params(kept: &[usize], t: f32) -> DecodeParams<'_> {
        DecodeParams {
            kept,
            score_threshold: t,
        }
    }

    fn assert_box(b: BBox, e: [f32; 4]) {
        let a: [f32; 4] = b.into();
        for (x, y) in a.iter().zip(e.iter()) {
            assert!((x - y).abs() < 1e-3, "{a:?} != {e:?}");
        }
    }

    #[test]
    fn softmax_expectation_known_values() {
        assert!((softmax_expectation(&[0.0, 0.0]) - 0.5).abs() < 1e-6);
        assert!((softmax_expectation(&[-100.0, 100.0, -100.0]) - 1.0).abs() < 1e-5);
        // Large logits do not overflow.
        assert!((softmax_expectation(&[1000.0, 1000.0, 1000.0]) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn gfl_decodes_one_cell_and_skips_low_and_unkept() {
        // 2x2 grid of stride 8, 3 classes, reg_max 2 (3 bins per side).
        let mut scores = vec![0.0f32; 4 * 3];
        scores[3 + 1] = 0.9; // cell (col 1, row 0), class 1
        scores[6 + 2] = 0.8; // cell (col 0, row 1), class 2 -- not kept below
        scores[9] = 0.2; // cell (1, 1), class 0 -- under threshold
        let mut regs = vec![0.0f32; 4 * 12];
        // Cell 1: left -> bin 2, top -> bin 1, right -> bin 0, bottom -> uniform (1.0).
        let big = 50.0;
        regs[12..24].copy_from_slice(&[0., 0., big, 0., big, 0., big, 0., 0., 0., 0., 0.]);
        let lv = GflLevel {
            stride: 8.0,
            grid_w: 2,
            grid_h: 2,
            scores: &scores,
            score_pitch: 3,
            regs: &regs,
            reg_pitch: 12,
        };
        let mut out = Detections::default();
        decode_gfl(&[lv], 2, &params(&[0, 1], 0.35), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out.class_ids[0], ClassId(1));
        assert_eq!(out.scores[0], 0.9);
        // Centre (12, 4); l = 16, t = 8, r = 0, b = 8.
        assert_box(out.boxes[0], [-4.0, -4.0, 12.0, 12.0]);

        let mut out = Detections::default();
        decode_gfl(&[lv], 2, &params(&ALL3, 0.1), &mut out);
        assert_eq!(out.class_ids, vec![ClassId(1), ClassId(2), ClassId(0)]);
    }

    #[test]
    fn nanodet_six_outputs_map_to_levels() {
        // 16x16 input: grids 2x2, 1x1, 1x1. One hit on the stride-32 level, class 0 of 2.
        let s8 = vec![0.0f32; 4 * 2];
        let s16 = vec![0.0f32; 2];
        let s32 = vec![0.7f32, 0.1];
        let r8 = vec![0.0f32; 4 * 8];
        let r16 = vec![0.0f32; 8];
        let r32 = vec![0.0f32; 8]; // reg_max 1: uniform -> 0.5 bins -> 16 px per side
        let mut out = Detections::default();
        decode_nanodet(
            &[&s8, &s16, &s32, &r8, &r16, &r32],
            16,
            16,
            2,
            1,
            &params(&[0, 1], 0.5),
            &mut out,
        );
        assert_eq!(out.len(), 1);
        assert_box(out.boxes[0], [0.0, 0.0, 32.0, 32.0]);
    }

    #[test]
    fn yolox_raw_and_decoded() {
        // 64x32 input: grids 8x4 (32), 4x2 (8), 2x1 (2) = 42 points, 3 classes.
        assert_eq!(yolox_points(64, 32), 42);
        let pitch = 8;
        let mut raw = vec![0.0f32; 42 * pitch];
        for r in raw.chunks_exact_mut(pitch) {
            r[0] = 0.5;
            r[1] = 0.5;
        }
        // Point 9 = stride 8, gx 1, gy 1.
        raw[9 * pitch..10 * pitch].copy_from_slice(&[0.25, 0.75, 0.0, 2f32.ln(), 0.9, 0.1, 0.5, 0.8]);
        // Point 41 = stride 32, gx 1, gy 0: objectness too low.
        raw[41 * pitch..42 * pitch].copy_from_slice(&[0.5, 0.5, 0.0, 0.0, 0.3, 1.0, 1.0, 1.0]);
        let mut out = Detections::default();
        decode_yolox(&raw, 3, 64, 32, false, &params(&ALL3, 0.35), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out.class_ids[0], ClassId(2));
        assert!((out.scores[0] - 0.72).abs() < 1e-6);
        // cx = (0.25 + 1) * 8 = 10, cy = (0.75 + 1) * 8 = 14, w = 8, h = 16.
        assert_box(out.boxes[0], [6.0, 6.0, 14.0, 22.0]);
        assert!(!yolox_looks_decoded(&raw, 3, 64, 32));

        // Class 2 not kept: class 1 wins with 0.45.
        let mut out = Detections::default();
        decode_yolox(&raw, 3, 64, 32, false, &params(&[0, 1], 0.35), &mut out);
        assert_eq!(out.class_ids, vec![ClassId(1)]);
        assert!((out.scores[0] - 0.45).abs() < 1e-6);

        // The same data decoded by hand is recognised as decoded and passes through.
        let mut dec = raw.clone();
        for (row, (gx, gy, s)) in dec.chunks_exact_mut(pitch).zip(yolox_grid(64, 32)) {
            row[0] = (row[0] + gx) * s;
            row[1] = (row[1] + gy) * s;
            row[2] = row[2].exp() * s;
            row[3] = row[3].exp() * s;
        }
        assert!(yolox_looks_decoded(&dec, 3, 64, 32));
        let mut out2 = Detections::default();
        decode_yolox(&dec, 3, 64, 32, true, &params(&ALL3, 0.35), &mut out2);
        assert_eq!(out2.len(), 1);
        assert_box(out2.boxes[0], [6.0, 6.0, 14.0, 22.0]);
        // A row count that is not the grid's cannot be raw.
        assert!(yolox_looks_decoded(&dec[..10 * pitch], 3, 64, 32));
    }

    #[test]
    fn yolov8_channel_major() {
        // 3 anchors, 2 classes: rows cx, cy, w, h, c0, c1.
        #[rustfmt::skip]
        let o = [
            10.0, 50.0, 90.0,   // cx
            20.0, 60.0, 100.0,  // cy
            4.0, 10.0, 2.0,     // w
            8.0, 10.0, 2.0,     // h
            0.9, 0.2, 0.3,      // class 0
            0.1, 0.6, 0.34,     // class 1
        ];
        let mut out = Detections::default();
        decode_yolov8(&o, 2, &params(&[0, 1], 0.35), &mut out);
        assert_eq!(out.class_ids, vec![ClassId(0), ClassId(1)]);
        assert_eq!(out.scores, vec![0.9, 0.6]);
        assert_box(out.boxes[0], [8.0, 16.0, 12.0, 24.0]);
        assert_box(out.boxes[1], [45.0, 55.0, 55.0, 65.0]);
        // Only class 1 kept: anchor 0 drops (0.1), anchor 1 stays.
        let mut out = Detections::default();
        decode_yolov8(&o, 2, &params(&[1], 0.35), &mut out);
        assert_eq!(out.class_ids, vec![ClassId(1)]);
        assert_box(out.boxes[0], [45.0, 55.0, 55.0, 65.0]);
    }
}
