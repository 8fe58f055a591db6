//! Letterboxing: fitting a source frame into a detector input of fixed size while keeping its aspect ratio.
//!
//! The frame is resized by one factor so that it fits `dst_w x dst_h`, then placed at the top-left corner
//! ([`Pad::TopLeft`]: NanoDet, YOLOX) or centred ([`Pad::Center`]: YOLOv8); the rest of the input is padding.
//! [`Letterbox`] maps boxes between the two coordinate systems.

use vigie_core::BBox;

/// Where the resized frame sits inside the detector input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pad {
    /// Image at the top-left corner, padding to the right and at the bottom (NanoDet, YOLOX).
    TopLeft,
    /// Image centred, padding split between both sides (YOLOv8 / Ultralytics `LetterBox(center=True)`).
    Center,
}

/// The geometry of one letterbox: source size, resized size and offset inside the model input.
///
/// Coordinates map as `model = source * scale_{x,y} + pad_{x,y}`. `scale_x` and `scale_y` are the exact ratios
/// `new_w / src_w` and `new_h / src_h` that the resampler uses; they differ from the nominal `scale` only by the
/// rounding of `new_w` and `new_h` to whole pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Letterbox {
    /// Nominal resize factor: `min(dst_w / src_w, dst_h / src_h)`.
    pub scale: f32,
    /// Width of the resized frame inside the input, `round(src_w * scale)`, at least 1.
    pub new_w: u32,
    /// Height of the resized frame inside the input, `round(src_h * scale)`, at least 1.
    pub new_h: u32,
    /// Left offset of the resized frame inside the input, in model pixels.
    pub pad_x: u32,
    /// Top offset of the resized frame inside the input, in model pixels.
    pub pad_y: u32,
    pub src_w: u32,
    pub src_h: u32,
    pub dst_w: u32,
    pub dst_h: u32,
    pub pad: Pad,
}

impl Letterbox {
    /// Computes the letterbox of a `src_w x src_h` frame into a `dst_w x dst_h` input. Zero sizes are treated
    /// as 1 so that the mapping stays finite.
    pub fn new(src_w: u32, src_h: u32, dst_w: u32, dst_h: u32, pad: Pad) -> Self {
        let (src_w, src_h, dst_w, dst_h) = (src_w.max(1), src_h.max(1), dst_w.max(1), dst_h.max(1));
        let scale = (dst_w as f64 / src_w as f64).min(dst_h as f64 / src_h as f64);
        let new_w = ((src_w as f64 * scale).round() as u32).clamp(1, dst_w);
        let new_h = ((src_h as f64 * scale).round() as u32).clamp(1, dst_h);
        let (pad_x, pad_y) = match pad {
            Pad::TopLeft => (0, 0),
            Pad::Center => ((dst_w - new_w) / 2, (dst_h - new_h) / 2),
        };
        Letterbox {
            scale: scale as f32,
            new_w,
            new_h,
            pad_x,
            pad_y,
            src_w,
            src_h,
            dst_w,
            dst_h,
            pad,
        }
    }

    /// Exact horizontal factor, model pixels per source pixel.
    pub fn scale_x(&self) -> f64 {
        self.new_w as f64 / self.src_w as f64
    }

    /// Exact vertical factor, model pixels per source pixel.
    pub fn scale_y(&self) -> f64 {
        self.new_h as f64 / self.src_h as f64
    }

    /// Maps a box from model-input coordinates to source-pixel coordinates (not clamped).
    pub fn to_source(&self, b: BBox) -> BBox {
        let (sx, sy) = (self.scale_x(), self.scale_y());
        let (px, py) = (self.pad_x as f64, self.pad_y as f64);
        BBox::new(
            ((b.x1 as f64 - px) / sx) as f32,
            ((b.y1 as f64 - py) / sy) as f32,
            ((b.x2 as f64 - px) / sx) as f32,
            ((b.y2 as f64 - py) / sy) as f32,
        )
    }

    /// Maps a box from source-pixel coordinates to model-input coordinates.
    pub fn to_model(&self, b: BBox) -> BBox {
        let (sx, sy) = (self.scale_x(), self.scale_y());
        let (px, py) = (self.pad_x as f64, self.pad_y as f64);
        BBox::new(
            (b.x1 as f64 * sx + px) as f32,
            (b.y1 as f64 * sy + py) as f32,
            (b.x2 as f64 * sx + px) as f32,
            (b.y2 as f64 * sy + py) as f32,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vtest_into_416_top_left() {
        let l = Letterbox::new(768, 576, 416, 416, Pad::TopLeft);
        assert_eq!((l.new_w, l.new_h, l.pad_x, l.pad_y), (416, 312, 0, 0));
        let b = l.to_source(BBox::new(0.0, 0.0, 416.0, 312.0));
        assert!((b.x2 - 768.0).abs() < 1e-3 && (b.y2 - 576.0).abs() < 1e-3);
    }

    #[test]
    fn center_pad_splits_the_border() {
        let l = Letterbox::new(768, 576, 640, 640, Pad::Center);
        assert_eq!((l.new_w, l.new_h, l.pad_x, l.pad_y), (640, 480, 0, 80));
        let b = l.to_model(BBox::new(0.0, 0.0, 768.0, 576.0));
        assert_eq!(b, BBox::new(0.0, 80.0, 640.0, 560.0));
    }

    fn pad_mode() -> impl Strategy<Value = Pad> {
        prop_oneof![Just(Pad::TopLeft), Just(Pad::Center)]
    }

    proptest! {
        /// Sizes: model inputs 128..1280, frames up to 4096 and at most 8 times the input per side (a 4K frame into
        /// 640 is 6x). Beyond that, the f32 model coordinates alone cannot hold 1e-3 source pixels.
        #[test]
        fn round_trip_is_identity(
            dst_w in 128u32..=1280, dst_h in 128u32..=1280, fx in 0.01f32..8.0, fy in 0.01f32..8.0,
            pad in pad_mode(),
            x in 0f32..1.0, y in 0f32..1.0, w in 0f32..1.0, h in 0f32..1.0,
        ) {
            let src_w = ((dst_w as f32 * fx) as u32).clamp(1, 4096);
            let src_h = ((dst_h as f32 * fy) as u32).clamp(1, 4096);
            let l = Letterbox::new(src_w, src_h, dst_w, dst_h, pad);
            prop_assert!(l.new_w <= dst_w && l.new_h <= dst_h);
            prop_assert!(l.pad_x + l.new_w <= dst_w && l.pad_y + l.new_h <= dst_h);
            // One side fills the input (up to rounding).
            prop_assert!(l.new_w + 1 >= dst_w || l.new_h + 1 >= dst_h);
            let (sw, sh) = (src_w as f32, src_h as f32);
            let b = BBox::new(x * sw, y * sh, (x + w * (1.0 - x)) * sw, (y + h * (1.0 - y)) * sh);
            let back = l.to_source(l.to_model(b));
            for (a, c) in <[f32; 4]>::from(b).iter().zip(<[f32; 4]>::from(back).iter()) {
                prop_assert!((a - c).abs() <= 1e-3, "{b:?} -> {back:?} via {l:?}");
            }
            // The frame's corners land on the resized area's corners.
            let full = l.to_model(BBox::new(0.0, 0.0, sw, sh));
            prop_assert!((full.x1 - l.pad_x as f32).abs() < 1e-3 && (full.y1 - l.pad_y as f32).abs() < 1e-3);
            prop_assert!((full.x2 - (l.pad_x + l.new_w) as f32).abs() < 1e-2);
            prop_assert!((full.y2 - (l.pad_y + l.new_h) as f32).abs() < 1e-2);
        }
    }
}
