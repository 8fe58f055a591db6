//! [`Mp4Encoder`]: RGB frames re-encoded to an H.264 MP4 file (evidence exports, issue 8). The only encoder in
//! Vigie: recording remuxes and never re-encodes; an export re-encodes because it blurs people and plates.

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
    width: u32,
    height: u32,
    time_base: Rational,
    stream_time_base: Rational,
    next_pts: i64,
    shown: String,
}

fn ff(kind: ErrorKind, what: String) -> impl FnOnce(ffmpeg::Error) -> Error {
    move |e| Error::wrap(kind, what, e)
}

impl Mp4Encoder {
    /// Creates `path` (which must not exist) for frames of `width` × `height` (even numbers) at `fps`.
    pub fn create(path: &Path, width: u32, height: u32, fps: u32) -> Result<Mp4Encoder> {
        crate::init();
        let shown = path.display().to_string();
        let Some(p) = path.to_str().filter(|s| !s.contains('\0')) else {
            bail!(InvalidArgument, "{shown}: not valid UTF-8, which FFmpeg needs");
        };
        if path.exists() {
            bail!(InvalidArgument, "{shown} already exists: not overwriting it");
        }
        if width < 16
            || height < 16
            || !width.is_multiple_of(2)
            || !height.is_multiple_of(2)
            || !(1..=120).contains(&fps)
        {
            bail!(
                InvalidArgument,
                "{shown}: {width}x{height} at {fps} fps: sizes must be even and at least 16, 1 to 120 fps"
            );
        }
        let codec = encoder::find_by_name("libx264")
            .or_else(|| encoder::find(codec::Id::MPEG4))
            .ok_or_else(|| Error::new(ErrorKind::Unsupported, "no H.264 or MPEG-4 encoder in this FFmpeg"))?;
        let mut output = ffmpeg::format::output_as(p, "mp4").map_err(ff(ErrorKind::Io, format!("creating {shown}")))?;
        let global_header = output.format().flags().contains(ffmpeg::format::Flags::GLOBAL_HEADER);
        let time_base = Rational::new(1, fps as i32);
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
            width,
            height,
            time_base,
            stream_time_base,
            next_pts: 0,
            shown,
        })
    }

    /// Adds the next frame (same size as created).
    pub fn write(&mut self, f: &RgbFrame) -> Result<()> {
        if f.width != self.width || f.height != self.height || f.data.len() != (f.width * f.height * 3) as usize {
            bail!(
                InvalidArgument,
                "{}: a {}x{} frame in a {}x{} video",
                self.shown,
                f.width,
                f.height,
                self.width,
                self.height
            );
        }
        let mut rgb = frame::Video::new(Pixel::RGB24, self.width, self.height);
        let stride = rgb.stride(0);
        let row = (self.width * 3) as usize;
        {
            let dst = rgb.data_mut(0);
            for y in 0..self.height as usize {
                dst[y * stride..y * stride + row].copy_from_slice(&f.data[y * row..(y + 1) * row]);
            }
        }
        let mut yuv = frame::Video::empty();
        self.scaler
            .run(&rgb, &mut yuv)
            .map_err(ff(ErrorKind::Internal, format!("{}: RGB to YUV", self.shown)))?;
        yuv.set_pts(Some(self.next_pts));
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
