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
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 3] {
        let o = ((y * self.width + x) * 3) as usize;
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }
}
