//! [`Mp4Encoder`]: RGB frames re-encoded to an H.264 MP4 file (evidence exports, issue 8; privacy-masked clips and
//! recordings, issue 7). The only encoder in Vigie: recording remuxes, except for a camera masked before recording;
//! an export re-encodes because it blurs people and plates.

use std::path::Path;

use ffmpeg::format::Pixel;
use ffmpeg::software::scaling;
use ffmpeg::{Dictionary, Packet, Rational, codec, encoder, frame};
use ffmpeg_next as ffmpeg;
use vigie_core::{Error, ErrorKind, Result, RgbFrame, bail};

/// Writes RGB frames of one size as an H.264 (libx264, else MPEG-4 part 2) MP4 at a constant frame rate.
pub struct Mp4Encoder {
    output: ffmpeg::format::context::Output,
    encoder: encoder::Video,
    scaler: scaling::Context,
    /// The size of the frames given.
    src_width: u32,
    src_height: u32,
    /// The size of the video: the frames' rounded down to even.
    width: u32,
    height: u32,
    time_base: Rational,
    stream_time_base: Rational,
    next_pts: i64,
    /// Frames carry their own times (90 kHz, [`Mp4Encoder::create_timed`]) instead of a constant rate.
    timed: bool,
    last_pts: Option<i64>,
    shown: String,
}

fn ff(kind: ErrorKind, what: String) -> impl FnOnce(ffmpeg::Error) -> Error {
    move |e| Error::wrap(kind, what, e)
}

impl Mp4Encoder {
    /// Creates `path` (which must not exist) for frames of `width` × `height` at `fps`. H.264 in 4:2:0 needs even
    /// sizes: an odd width or height loses its last column or row in the video (frames are still given whole).
    pub fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<Mp4Encoder> {
        Self::open(path, width, height, fps, false)
    }

    /// Like [`Mp4Encoder::create`], but each frame keeps its own `pts` (90 kHz, from 0, increasing; a frame not
    /// after the previous one is moved 1 tick after it): a camera's variable frame timing is preserved. `fps` is
    /// the nominal rate (key frame interval, rate control).
    pub fn create_timed(path: &Path, width: u32, height: u32, fps: u32) -> Result<Mp4Encoder> {
        Self::open(path, width, height, fps, true)
    }

    fn open(path: &Path, width: u32, height: u32, fps: u32, timed: bool) -> Result<Mp4Encoder> {
        crate::init();
        let shown = path.display().to_string();
        let Some(p) = path.to_str().filter(|s| !s.contains('\0')) else {
            bail!(InvalidArgument, "{shown}: not valid UTF-8, which FFmpeg needs");
        };
        if path.exists() {
            bail!(InvalidArgument, "{shown} already exists: not overwriting it");
        }
        if width < 16 || height < 16 || !(1..=120).contains(&fps) {
            bail!(
                InvalidArgument,
                "{shown}: {width}x{height} at {fps} fps: sizes must be at least 16, 1 to 120 fps"
            );
        }
        // The frames' size, and the video's (even).
        let (src_width, src_height) = (width, height);
        let (width, height) = (width & !1, height & !1);
        let codec = encoder::find_by_name("libx264")
            .or_else(|| encoder::find(codec::Id::MPEG4))
            .ok_or_else(|| Error::new(ErrorKind::Unsupported, "no H.264 or MPEG-4 encoder in this FFmpeg"))?;
        let mut output = ffmpeg::format::output_as(p, "mp4").map_err(ff(ErrorKind::Io, format!("creating {shown}")))?;
        let global_header = output.format().flags().contains(ffmpeg::format::Flags::GLOBAL_HEADER);
        let time_base = if timed {
            Rational::new(1, 90_000)
        } else {
            Rational::new(1, fps as i32)
        };
        let mut enc = codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(ff(ErrorKind::Internal, format!("{shown}: video encoder")))?;
        enc.set_width(width);
        enc.set_height(height);
        enc.set_format(Pixel::YUV420P);
        enc.set_time_base(time_base);
        enc.set_frame_rate(Some(Rational::new(fps as i32, 1)));
        enc.set_gop(fps * 2);
        if global_header {
            enc.set_flags(codec::Flags::GLOBAL_HEADER);
        }
        let mut opts = Dictionary::new();
        opts.set("preset", "veryfast");
        opts.set("crf", "20");
        let encoder = enc
            .open_as_with(codec, opts)
            .map_err(ff(ErrorKind::Unsupported, format!("{shown}: opening the encoder")))?;
        {
            let mut st = output
                .add_stream(codec)
                .map_err(ff(ErrorKind::Internal, format!("{shown}: adding the stream")))?;
            st.set_parameters(&encoder);
            st.set_time_base(time_base);
        }
        output
            .write_header()
            .map_err(ff(ErrorKind::InvalidData, format!("{shown}: writing the MP4 header")))?;
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);
        let scaler = scaling::Context::get(
            Pixel::RGB24,
            width,
            height,
            Pixel::YUV420P,
            width,
            height,
            scaling::Flags::BILINEAR,
        )
        .map_err(ff(ErrorKind::Internal, format!("{shown}: RGB to YUV converter")))?;
        Ok(Mp4Encoder {
            output,
            encoder,
            scaler,
            src_width,
            src_height,
            width,
            height,
            time_base,
            stream_time_base,
            next_pts: 0,
            timed,
            last_pts: None,
            shown,
        })
    }

    /// Adds the next frame (same size as created).
    pub fn write(&mut self, f: &RgbFrame) -> Result<()> {
        if f.width != self.src_width || f.height != self.src_height || f.data.len() != (f.width * f.height * 3) as usize
        {
            bail!(
                InvalidArgument,
                "{}: a {}x{} frame in a {}x{} video",
                self.shown,
                f.width,
                f.height,
                self.src_width,
                self.src_height
            );
        }
        let mut rgb = frame::Video::new(Pixel::RGB24, self.width, self.height);
        let stride = rgb.stride(0);
        let row = (self.width * 3) as usize;
        let src_row = (self.src_width * 3) as usize;
        {
            let dst = rgb.data_mut(0);
            for y in 0..self.height as usize {
                dst[y * stride..y * stride + row].copy_from_slice(&f.data[y * src_row..y * src_row + row]);
            }
        }
        let mut yuv = frame::Video::empty();
        self.scaler
            .run(&rgb, &mut yuv)
            .map_err(ff(ErrorKind::Internal, format!("{}: RGB to YUV", self.shown)))?;
        let pts = if self.timed {
            let p = f.pts.0.max(0);
            self.last_pts.map_or(p, |l| p.max(l + 1))
        } else {
            self.next_pts
        };
        self.last_pts = Some(pts);
        yuv.set_pts(Some(pts));
        self.next_pts += 1;
        self.encoder
            .send_frame(&yuv)
            .map_err(ff(ErrorKind::Internal, format!("{}: encoding a frame", self.shown)))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<()> {
        let mut pkt = Packet::empty();
        while self.encoder.receive_packet(&mut pkt).is_ok() {
            pkt.set_stream(0);
            pkt.rescale_ts(self.time_base, self.stream_time_base);
            pkt.write_interleaved(&mut self.output)
                .map_err(ff(ErrorKind::Io, format!("{}: writing a packet", self.shown)))?;
        }
        Ok(())
    }

    /// Flushes the encoder and writes the MP4 trailer; returns the frames written.
    pub fn finish(mut self) -> Result<u64> {
        self.encoder
            .send_eof()
            .map_err(ff(ErrorKind::Internal, format!("{}: flushing the encoder", self.shown)))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(ff(ErrorKind::Io, format!("{}: writing the MP4 trailer", self.shown)))?;
        Ok(self.next_pts as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An odd-sized camera (some analogue encoders give 721 x 577) still gets its clip: the video drops the last
    /// column and row, and keeps the picture.
    #[test]
    fn odd_sizes_are_encoded_one_pixel_smaller() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("odd.mp4");
        let mut enc = Mp4Encoder::create(&path, 33, 21, 10).expect("odd size accepted");
        let f = RgbFrame::from_fn(33, 21, |x, _| if x < 16 { [250, 250, 250] } else { [10, 10, 10] });
        for _ in 0..5 {
            enc.write(&f).expect("frame");
        }
        assert!(
            enc.write(&RgbFrame::from_fn(32, 20, |_, _| [0; 3])).is_err(),
            "frames keep the given size"
        );
        assert_eq!(enc.finish().expect("finish"), 5);
        let out = std::process::Command::new("ffprobe")
            .args(["-v", "error", "-show_entries", "stream=width,height", "-of", "csv=p=0"])
            .arg(&path)
            .output();
        if let Ok(o) = out {
            assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "32,20");
        }
    }
}
