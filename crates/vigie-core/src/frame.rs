//! Decoded frames.

use crate::time::Time90k;

/// A decoded frame, packed RGB24, row-major, `stride == width * 3`.
#[derive(Clone, Debug)]
pub struct RgbFrame {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// Presentation time from the start of the stream.
    pub pts: Time90k,
    /// Index of this frame among all decoded frames of the stream (0-based), before sampling.
    pub index: u64,
}

impl RgbFrame {
    /// A frame whose pixel at `(x, y)` is `f(x, y)`, at time 0 (tests and synthetic inputs).
    pub fn from_fn(width: u32, height: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbFrame {
        let mut data = Vec::with_capacity((width * height * 3) as usize);
        for y in 0..height {
            for x in 0..width {
                data.extend_from_slice(&f(x, y));
            }
        }
        RgbFrame {
            width,
            height,
            data,
            pts: Time90k(0),
            index: 0,
        }
    }

    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let o = ((y * self.width + x) * 3) as usize;
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }
}
