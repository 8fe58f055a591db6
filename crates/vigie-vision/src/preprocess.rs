//! Frame to input tensor in one pass: letterbox resize (bilinear, fixed point), channel order, normalisation, planar
//! NCHW layout.
//!
//! The hot loop reads the packed RGB24 frame through per-column and per-row lookup tables (computed once per frame
//! size) and writes the three output planes directly into the caller's buffer: no intermediate image, no
//! per-pixel index arithmetic beyond the tables, no allocation once the tables exist. The padding area is only
//! written when the letterbox geometry changes, since nothing else writes there.

use crate::letterbox::{Letterbox, Pad};
use vigie_core::{RgbFrame, bail, error::Result};

/// Fixed-point precision of the bilinear weights: weights are in `0..=ONE`.
const BITS: u32 = 11;
const ONE: u32 = 1 << BITS;

/// Channel order of the model input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChannelOrder {
    Rgb,
    Bgr,
}

/// How a detector wants its input: channel order, normalisation, letterbox placement and padding.
///
/// The tensor value written for a pixel value `p` (0..255) of output channel `k` is `(p - mean[k]) / std[k]`;
/// `mean` and `std` are given in the *output* channel order. Padding pixels hold `pad_value[k]` (already
/// normalised).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputFormat {
    pub order: ChannelOrder,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub pad: Pad,
    pub pad_value: [f32; 3],
}

impl InputFormat {
    /// NanoDet: BGR, `(p - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]`, image at the top-left, padding
    /// with black pixels (value 0 before normalisation, as RangiLyu/nanodet's `warp_affine` border does).
    pub fn nanodet() -> Self {
        Self::with_pad_pixel(
            ChannelOrder::Bgr,
            [103.53, 116.28, 123.675],
            [57.375, 57.12, 58.395],
            Pad::TopLeft,
            0,
        )
    }

    /// YOLOX (0.2 and later): BGR 0..255, no normalisation, image at the top-left, padding 114.
    pub fn yolox() -> Self {
        Self::with_pad_pixel(ChannelOrder::Bgr, [0.0; 3], [1.0; 3], Pad::TopLeft, 114)
    }

    /// YOLOv8 / YOLO11 (Ultralytics): RGB / 255, image centred, padding 114.
    pub fn yolov8() -> Self {
        Self::with_pad_pixel(ChannelOrder::Rgb, [0.0; 3], [255.0; 3], Pad::Center, 114)
    }

    /// A format whose padding is the pixel value `pad_pixel` on every channel, normalised like the image.
    pub fn with_pad_pixel(order: ChannelOrder, mean: [f32; 3], std: [f32; 3], pad: Pad, pad_pixel: u8) -> Self {
        let p = pad_pixel as f32;
        InputFormat {
            order,
            mean,
            std,
            pad,
            pad_value: [0, 1, 2].map(|k| (p - mean[k]) / std[k]),
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct Tap {
    /// Byte offset of the first sample (a column: `x * 3`; a row: `y * width * 3`).
    i0: usize,
    /// Byte offset of the second sample.
    i1: usize,
    /// Weight of the second sample, `0..=ONE`.
    w1: u32,
}

/// Converts frames into a reused NCHW `f32` buffer for one input size and [`InputFormat`].
#[derive(Clone, Debug)]
pub struct Preprocessor {
    fmt: InputFormat,
    dst_w: u32,
    dst_h: u32,
    /// Letterbox of the last frame; the tables and the padding in the buffer belong to it.
    last: Option<Letterbox>,
    xtab: Vec<Tap>,
    ytab: Vec<Tap>,
}

/// Bilinear taps for resizing `src` samples to `dst` (OpenCV `INTER_LINEAR` convention: pixel centres aligned,
/// `src = (dst + 0.5) * src_len / dst_len - 0.5`, clamped to the edges). `unit` is the byte size of one sample.
fn taps(src: u32, dst: u32, unit: usize) -> Vec<Tap> {
    let ratio = src as f64 / dst as f64;
    let last = (src - 1) as usize;
    (0..dst)
        .map(|d| {
            let s = ((d as f64 + 0.5) * ratio - 0.5).max(0.0);
            let i0 = (s.floor() as usize).min(last);
            let frac = if i0 >= last { 0.0 } else { s - i0 as f64 };
            let w1 = ((frac * ONE as f64).round() as u32).min(ONE);
            Tap {
                i0: i0 * unit,
                i1: (i0 + 1).min(last) * unit,
                w1,
            }
        })
        .collect()
}

impl Preprocessor {
    pub fn new(fmt: InputFormat, dst_w: u32, dst_h: u32) -> Self {
        Preprocessor {
            fmt,
            dst_w: dst_w.max(1),
            dst_h: dst_h.max(1),
            last: None,
            xtab: Vec::new(),
            ytab: Vec::new(),
        }
    }

    pub fn format(&self) -> &InputFormat {
        &self.fmt
    }

    /// Number of `f32` values of the input tensor: `3 * dst_h * dst_w`.
    pub fn len(&self) -> usize {
        3 * self.dst_w as usize * self.dst_h as usize
    }

    /// Always false: the input has at least one pixel.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Forgets the cached geometry, so that the next [`run`](Self::run) rewrites the padding (use it when the
    /// buffer was written by someone else).
    pub fn invalidate(&mut self) {
        self.last = None;
    }

    /// Letterboxes `frame` into `out` (`[3, dst_h, dst_w]`, planar) and returns the geometry used.
    ///
    /// `out` must be the same buffer on every call, or [`invalidate`](Self::invalidate) must be called first:
    /// the padding is written only when the geometry changes.
    pub fn run(&mut self, frame: &RgbFrame, out: &mut [f32]) -> Result<Letterbox> {
        let (w, h) = (frame.width, frame.height);
        if w == 0 || h == 0 {
            bail!(InvalidArgument, "empty frame ({w}x{h})");
        }
        let need = w as usize * h as usize * 3;
        if frame.data.len() < need {
            bail!(
                InvalidArgument,
                "frame {w}x{h} has {} bytes of RGB24 data, expected {need}",
                frame.data.len()
            );
        }
        if out.len() != self.len() {
            bail!(
                Internal,
                "input buffer holds {} values, expected {} (3x{}x{})",
                out.len(),
                self.len(),
                self.dst_h,
                self.dst_w
            );
        }
        let lb = Letterbox::new(w, h, self.dst_w, self.dst_h, self.fmt.pad);
        if self.last != Some(lb) {
            self.xtab = taps(w, lb.new_w, 3);
            self.ytab = taps(h, lb.new_h, w as usize * 3);
            let plane = self.dst_w as usize * self.dst_h as usize;
            for (k, p) in out.chunks_exact_mut(plane).enumerate() {
                p.fill(self.fmt.pad_value[k]);
            }
            self.last = Some(lb);
        }
        match self.fmt.order {
            ChannelOrder::Rgb => self.resize::<false>(frame, &lb, out),
            ChannelOrder::Bgr => self.resize::<true>(frame, &lb, out),
        }
        Ok(lb)
    }

    fn resize<const BGR: bool>(&self, frame: &RgbFrame, lb: &Letterbox, out: &mut [f32]) {
        let dst_w = self.dst_w as usize;
        let plane = dst_w * self.dst_h as usize;
        let row_bytes = frame.width as usize * 3;
        let (p0, rest) = out.split_at_mut(plane);
        let (p1, p2) = rest.split_at_mut(plane);
        // Output channel k takes source channel src[k]; the bilinear sum carries a factor ONE^2.
        let src: [usize; 3] = if BGR { [2, 1, 0] } else { [0, 1, 2] };
        let norm = (ONE * ONE) as f32;
        let mul = [0, 1, 2].map(|k| 1.0 / (self.fmt.std[k] * norm));
        let add = [0, 1, 2].map(|k| -self.fmt.mean[k] / self.fmt.std[k]);
        let new_w = lb.new_w as usize;
        for (oy, ty) in self.ytab.iter().enumerate() {
            let r0 = &frame.data[ty.i0..ty.i0 + row_bytes];
            let r1 = &frame.data[ty.i1..ty.i1 + row_bytes];
            let (wy1, wy0) = (ty.w1, ONE - ty.w1);
            let start = (lb.pad_y as usize + oy) * dst_w + lb.pad_x as usize;
            let o0 = &mut p0[start..start + new_w];
            let o1 = &mut p1[start..start + new_w];
            let o2 = &mut p2[start..start + new_w];
            for (((tx, d0), d1), d2) in self.xtab.iter().zip(o0).zip(o1).zip(o2) {
                let a: &[u8; 3] = r0[tx.i0..tx.i0 + 3].try_into().unwrap_or(&[0; 3]);
                let b: &[u8; 3] = r0[tx.i1..tx.i1 + 3].try_into().unwrap_or(&[0; 3]);
                let c: &[u8; 3] = r1[tx.i0..tx.i0 + 3].try_into().unwrap_or(&[0; 3]);
                let d: &[u8; 3] = r1[tx.i1..tx.i1 + 3].try_into().unwrap_or(&[0; 3]);
                let (wx1, wx0) = (tx.w1, ONE - tx.w1);
                let v = |ch: usize| -> f32 {
                    let top = a[ch] as u32 * wx0 + b[ch] as u32 * wx1;
                    let bot = c[ch] as u32 * wx0 + d[ch] as u32 * wx1;
                    (top * wy0 + bot * wy1) as f32
                };
                *d0 = v(src[0]) * mul[0] + add[0];
                *d1 = v(src[1]) * mul[1] + add[1];
                *d2 = v(src[2]) * mul[2] + add[2];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbFrame {
        RgbFrame::from_fn(w, h, f)
    }

    #[test]
    fn identity_size_copies_pixels_with_channel_swap_and_normalisation() {
        let f = frame(4, 2, |x, y| [x as u8 * 10, y as u8 * 20, 200]);
        let fmt = InputFormat::with_pad_pixel(ChannelOrder::Bgr, [1.0, 2.0, 3.0], [2.0, 4.0, 8.0], Pad::TopLeft, 0);
        let mut p = Preprocessor::new(fmt, 4, 4);
        let mut out = vec![f32::NAN; p.len()];
        let lb = p.run(&f, &mut out).unwrap();
        assert_eq!((lb.new_w, lb.new_h), (4, 2));
        let at = |k: usize, x: usize, y: usize| out[k * 16 + y * 4 + x];
        for y in 0..2 {
            for x in 0..4 {
                assert!((at(0, x, y) - (200.0 - 1.0) / 2.0).abs() < 1e-4); // B
                assert!((at(1, x, y) - (y as f32 * 20.0 - 2.0) / 4.0).abs() < 1e-4); // G
                assert!((at(2, x, y) - (x as f32 * 10.0 - 3.0) / 8.0).abs() < 1e-4); // R
            }
        }
        // Padding rows 2..4 hold the normalised pad pixel 0.
        for x in 0..4 {
            assert_eq!(at(0, x, 3), -0.5);
            assert_eq!(at(1, x, 2), -0.5);
            assert_eq!(at(2, x, 3), -3.0 / 8.0);
        }
    }

    #[test]
    fn downscale_by_two_averages_and_centre_pad() {
        // 4x2 -> 2x1 inside a 2x3 input, centred: bilinear at exact half-pixel averages 2x2 blocks.
        let f = frame(4, 2, |x, y| [(x * 40 + y * 20) as u8, 0, 255]);
        let mut p = Preprocessor::new(InputFormat::yolov8(), 2, 3);
        let mut out = vec![f32::NAN; p.len()];
        let lb = p.run(&f, &mut out).unwrap();
        assert_eq!((lb.new_w, lb.new_h, lb.pad_x, lb.pad_y), (2, 1, 0, 1));
        // Row 1 holds the image; rows 0 and 2 are 114/255.
        let r = &out[0..6];
        assert!((r[0] - 114.0 / 255.0).abs() < 1e-6);
        assert!((r[2] - (20.0 + 10.0) / 255.0).abs() < 1e-3, "{}", r[2]);
        assert!((r[3] - (100.0 + 10.0) / 255.0).abs() < 1e-3, "{}", r[3]);
        assert!((out[12 + 2] - 1.0).abs() < 1e-6);
        // A second frame of another size rewrites the padding.
        let g = frame(2, 6, |_, _| [255, 255, 255]);
        let lb = p.run(&g, &mut out).unwrap();
        assert_eq!((lb.new_w, lb.new_h, lb.pad_x, lb.pad_y), (1, 3, 0, 0));
        assert!((out[0] - 1.0).abs() < 1e-6 && (out[1] - 114.0 / 255.0).abs() < 1e-6);
    }

    #[test]
    fn short_frame_is_an_error() {
        let mut f = frame(4, 4, |_, _| [0, 0, 0]);
        f.data.truncate(10);
        let mut p = Preprocessor::new(InputFormat::nanodet(), 8, 8);
        let mut out = vec![0.0; p.len()];
        assert_eq!(
            p.run(&f, &mut out).unwrap_err().kind(),
            vigie_core::ErrorKind::InvalidArgument
        );
    }
}
