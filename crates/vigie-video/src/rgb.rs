//! Conversion of decoded frames to packed RGB24 with libswscale, shared by [`crate::VideoFile`] and
//! [`crate::FrameDecoder`] so both give the same pixels.

use std::fmt::Display;

use ffmpeg::format::Pixel;
use ffmpeg::frame;
use ffmpeg::software::scaling;
use ffmpeg_next as ffmpeg;
use vigie_core::{Error, ErrorKind, Result, RgbFrame, Time90k};

/// libswscale's context, which ffmpeg-next leaves `!Send` (it holds a raw pointer), unlike its decoder and
/// demuxer contexts. Decoding runs on the caller's own thread, so its owners must be `Send`.
struct Scaler(scaling::Context);

// SAFETY: an `SwsContext` has no thread affinity (no thread-local state; FFmpeg only requires that one context is
// not used from two threads at once). This one is owned by one `RgbConverter` and only used through `&mut self`.
unsafe impl Send for Scaler {}

/// One reusable scaler (rebuilt when the source format or size changes) and its output frame.
pub(crate) struct RgbConverter {
    scaler: Option<(Scaler, Pixel, u32, u32)>,
    rgb: frame::Video,
}

impl RgbConverter {
    pub(crate) fn new() -> Self {
        RgbConverter {
            scaler: None,
            rgb: frame::Video::empty(),
        }
    }

    /// Converts `src` to packed RGB24 (rows of exactly `width * 3` bytes), bilinear, without scaling. `what`
    /// names the source in errors.
    pub(crate) fn convert(
        &mut self,
        src: &frame::Video,
        pts: Time90k,
        index: u64,
        what: &dyn Display,
    ) -> Result<RgbFrame> {
        let (fmt, w, h) = (src.format(), src.width(), src.height());
        let scaler = match &mut self.scaler {
            Some((s, f, sw, sh)) if *f == fmt && *sw == w && *sh == h => s,
            slot => {
                let ctx =
                    scaling::Context::get(fmt, w, h, Pixel::RGB24, w, h, scaling::Flags::BILINEAR).map_err(|e| {
                        Error::wrap(
                            ErrorKind::Unsupported,
                            format!("{what}: cannot convert {fmt:?} {w}x{h} frames to RGB"),
                            e,
                        )
                    })?;
                self.rgb = frame::Video::empty();
                &mut slot.insert((Scaler(ctx), fmt, w, h)).0
            }
        };
        scaler
            .0
            .run(src, &mut self.rgb)
            .map_err(|e| Error::wrap(ErrorKind::InvalidData, format!("{what}: RGB conversion failed"), e))?;
        // swscale pads rows to its alignment: copy row by row into the packed `width * 3` layout.
        let row = w as usize * 3;
        let stride = self.rgb.stride(0);
        let data_in = self.rgb.data(0);
        let mut data = Vec::with_capacity(row * h as usize);
        for y in 0..h as usize {
            data.extend_from_slice(&data_in[y * stride..y * stride + row]);
        }
        Ok(RgbFrame {
            width: w,
            height: h,
            data,
            pts,
            index,
        })
    }
}
