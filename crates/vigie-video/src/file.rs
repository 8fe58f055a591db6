//! [`VideoFile`]: demux and decode of one video file with libavformat/libavcodec, RGB conversion with libswscale.

use std::path::{Path, PathBuf};

use ffmpeg::{Rational, codec, decoder, frame, media};
use ffmpeg_next as ffmpeg;
use vigie_core::{Error, ErrorKind, Result, RgbFrame, Time90k, bail, err};

use crate::FrameSampler;
use crate::rgb::RgbConverter;

/// What [`VideoFile::open`] learnt about the file's video stream, before decoding anything.
#[derive(Clone, Debug)]
pub struct VideoInfo {
    pub path: PathBuf,
    /// FFmpeg's codec name: `h264`, `hevc`, `mpeg4`, `msmpeg4v3`, `gif`, ...
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Average frame rate, 0 if unknown.
    pub fps: f64,
    /// Duration of the video stream (or of the file, if the stream does not declare one).
    pub duration_s: Option<f64>,
    /// The frame count the container declares, or else duration x fps.
    pub frames_estimate: Option<u64>,
}

/// How to decode.
#[derive(Clone, Debug)]
pub struct DecodeOptions {
    /// Decoder threads; 0 lets FFmpeg pick (one per core). Frame threading is used above one thread.
    pub threads: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions { threads: 1 }
    }
}

/// Opens `path` and returns what [`VideoFile::open`] learns about it, with the same errors.
pub fn probe(path: &Path) -> Result<VideoInfo> {
    Ok(VideoFile::open(path, &DecodeOptions::default())?.info)
}

/// After this many demuxer errors in a row without a good packet in between, reading stops (see
/// [`VideoFile::read_packet`]).
const MAX_CONSECUTIVE_DEMUX_ERRORS: u32 = 32;

/// If this many packets in a row fail to decode before any frame came out, the stream is not decodable.
const MAX_FAILURES_BEFORE_FIRST_FRAME: u64 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading packets and feeding the decoder.
    Reading,
    /// The demuxer is done (or gave up); the decoder is being drained.
    Draining,
    /// Everything was returned, or an error was.
    Done,
}

/// One video file being decoded: the best video stream of the container, in presentation order.
pub struct VideoFile {
    info: VideoInfo,
    input: ffmpeg::format::context::Input,
    stream_index: usize,
    time_base: Rational,
    /// Frame count the container declares (MP4 sample tables, AVI headers), 0 if none.
    declared_frames: u64,
    /// Duration of the video stream (or file) the container declares, in `time_base` units, 0 if none.
    declared_duration: i64,
    stream_start: Option<i64>,
    decoder: decoder::Video,
    /// The last decoded frame.
    frame: frame::Video,
    /// Reused RGB conversion.
    rgb: RgbConverter,
    state: State,
    /// Nominal frame duration, to synthesise missing timestamps.
    nominal: Time90k,
    first_ts: Option<i64>,
    last_pts: Option<Time90k>,
    cur_pts: Time90k,
    frames_decoded: u64,
    packets_read: u64,
    /// End of the last video packet read, in `time_base` units.
    packets_end: Option<i64>,
    corrupt_packets: u64,
    consecutive_demux_errors: u32,
    demux_errors: u64,
    /// Whether the last packet read (of any stream) was flagged corrupt by the demuxer: cut off by the end of file.
    last_packet_corrupt: bool,
    last_demux_error: Option<ffmpeg::Error>,
    /// An error found while reading (truncation), returned once the frames still in the decoder are out.
    pending: Option<Error>,
}

pub(crate) fn is_eagain(e: &ffmpeg::Error) -> bool {
    matches!(e, ffmpeg::Error::Other { errno } if *errno == ffmpeg::error::EAGAIN)
}

pub(crate) fn rational_f64(r: Rational) -> f64 {
    if r.denominator() == 0 || r.numerator() <= 0 {
        0.0
    } else {
        r.numerator() as f64 / r.denominator() as f64
    }
}

/// Opens `path` with libavformat (initialising FFmpeg first), with the errors [`VideoFile::open`] documents.
pub(crate) fn open_input(path: &Path) -> Result<ffmpeg::format::context::Input> {
    crate::init();
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            _ => ErrorKind::Io,
        };
        Error::wrap(kind, format!("opening video {shown}"), e)
    })?;
    if meta.is_dir() {
        bail!(InvalidArgument, "{shown} is a directory, not a video file");
    }
    let Some(p) = path.to_str().filter(|s| !s.contains('\0')) else {
        bail!(
            InvalidArgument,
            "video path {shown} is not valid UTF-8, which FFmpeg needs"
        );
    };
    ffmpeg::format::input(p).map_err(|e| {
        Error::wrap(
            ErrorKind::InvalidData,
            format!("{shown} is not a video file (or is damaged)"),
            e,
        )
    })
}

/// The best video stream that is a real video, not a cover picture.
pub(crate) fn best_video_stream<'a>(
    input: &'a ffmpeg::format::context::Input,
    path: &Path,
) -> Result<ffmpeg::Stream<'a>> {
    let is_video = |s: &ffmpeg::Stream| {
        s.parameters().medium() == media::Type::Video
            && !s
                .disposition()
                .contains(ffmpeg::format::stream::Disposition::ATTACHED_PIC)
    };
    input
        .streams()
        .best(media::Type::Video)
        .filter(is_video)
        .or_else(|| input.streams().find(is_video))
        .ok_or_else(|| {
            err!(
                InvalidData,
                "{} is not a video file: it has no video stream",
                path.display()
            )
        })
}

impl VideoFile {
    /// Opens the file and its decoder.
    ///
    /// Errors, each naming the path: [`ErrorKind::NotFound`] if it does not exist; [`ErrorKind::InvalidArgument`]
    /// if it is a directory or its name is not UTF-8; [`ErrorKind::InvalidData`] "not a video file" if FFmpeg
    /// cannot read it as media (including an MP4 whose `moov` was cut off) or it has no video stream;
    /// [`ErrorKind::Unsupported`] if FFmpeg has no decoder for the codec.
    pub fn open(path: &Path, opts: &DecodeOptions) -> Result<Self> {
        let shown = path.display();
        let input = open_input(path)?;
        let stream = best_video_stream(&input, path)?;
        let stream_index = stream.index();
        let time_base = stream.time_base();
        let codec_id = stream.parameters().id();
        let codec_name = codec_id.name().to_string();

        let mut ctx = codec::Context::from_parameters(stream.parameters())
            .map_err(|e| Error::wrap(ErrorKind::InvalidData, format!("{shown}: bad codec parameters"), e))?;
        ctx.set_threading(if opts.threads == 1 {
            ffmpeg::threading::Config {
                kind: ffmpeg::threading::Type::None,
                count: 1,
                ..Default::default()
            }
        } else {
            ffmpeg::threading::Config {
                kind: ffmpeg::threading::Type::Frame,
                count: opts.threads,
                ..Default::default()
            }
        });
        let mut dec = ctx.decoder();
        dec.set_packet_time_base(time_base);
        let decoder = dec.video().map_err(|e| match e {
            ffmpeg::Error::DecoderNotFound => {
                err!(
                    Unsupported,
                    "{shown}: no decoder for video codec {codec_name} in this FFmpeg build"
                )
            }
            e => Error::wrap(
                ErrorKind::InvalidData,
                format!("{shown}: cannot open the {codec_name} decoder"),
                e,
            ),
        })?;
        if decoder.width() == 0 || decoder.height() == 0 {
            bail!(
                InvalidData,
                "{shown} is not a video file: its video stream has no frame size"
            );
        }

        let fps = match rational_f64(stream.avg_frame_rate()) {
            f if f > 0.0 => f,
            _ => rational_f64(stream.rate()),
        };
        let tb = rational_f64(time_base);
        let stream_duration = stream.duration().max(0);
        let duration_s = if stream_duration > 0 && tb > 0.0 {
            Some(stream_duration as f64 * tb)
        } else if input.duration() > 0 {
            Some(input.duration() as f64 / f64::from(ffmpeg::ffi::AV_TIME_BASE))
        } else {
            None
        };
        // The duration the truncation check holds the file to: the stream's own, or else the file's when its header
        // declares it (Matroska's segment duration), but not when libavformat estimated it from the bit rate or
        // from the timestamps at the end of the file (MPEG-TS), which a truncated file has too.
        // SAFETY: `input` is an open format context; the accessor reads one field.
        let method = unsafe { ffmpeg::ffi::av_fmt_ctx_get_duration_estimation_method(input.as_ptr()) };
        let declared_duration = if stream_duration > 0 {
            stream_duration
        } else if method == ffmpeg::ffi::AVDurationEstimationMethod::AVFMT_DURATION_FROM_STREAM
            && input.duration() > 0
            && time_base.numerator() > 0
        {
            let d = i128::from(input.duration()) * i128::from(time_base.denominator())
                / (i128::from(time_base.numerator()) * i128::from(ffmpeg::ffi::AV_TIME_BASE));
            d as i64
        } else {
            0
        };
        let declared_frames = stream.frames().max(0) as u64;
        let frames_estimate = if declared_frames > 0 {
            Some(declared_frames)
        } else {
            duration_s.filter(|_| fps > 0.0).map(|d| (d * fps).round() as u64)
        };
        let stream_start = Some(stream.start_time()).filter(|&s| s != ffmpeg::ffi::AV_NOPTS_VALUE);
        let info = VideoInfo {
            path: path.to_path_buf(),
            codec: codec_name,
            width: decoder.width(),
            height: decoder.height(),
            fps,
            duration_s,
            frames_estimate,
        };
        Ok(VideoFile {
            info,
            input,
            stream_index,
            time_base,
            declared_frames,
            declared_duration,
            stream_start,
            decoder,
            frame: frame::Video::empty(),
            rgb: RgbConverter::new(),
            state: State::Reading,
            nominal: Time90k::from_secs_f64(1.0 / if fps > 0.0 { fps } else { 25.0 }),
            first_ts: None,
            last_pts: None,
            cur_pts: Time90k(0),
            frames_decoded: 0,
            packets_read: 0,
            packets_end: None,
            corrupt_packets: 0,
            consecutive_demux_errors: 0,
            demux_errors: 0,
            last_packet_corrupt: false,
            last_demux_error: None,
            pending: None,
        })
    }

    pub fn info(&self) -> &VideoInfo {
        &self.info
    }

    /// Frames decoded so far, sampled or not.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// Video packets read from the container so far.
    pub fn packets_read(&self) -> u64 {
        self.packets_read
    }

    /// Corrupt packets skipped so far: rejected by the decoder, or failed on by the demuxer in the middle of the
    /// file.
    pub fn corrupt_packets(&self) -> u64 {
        self.corrupt_packets
    }

    /// Decodes on and returns the next frame `sampler` takes, converted to RGB (frames it does not take are never
    /// converted). `None` at the end of the stream. A truncated file is an [`ErrorKind::InvalidData`] error after
    /// the last frame that could be decoded.
    pub fn next_sampled(&mut self, sampler: &mut FrameSampler) -> Result<Option<RgbFrame>> {
        while self.decode_next()? {
            if sampler.take(self.cur_pts) {
                return self.convert_rgb().map(Some);
            }
        }
        Ok(None)
    }

    /// Decodes to the end without converting anything (the decode benchmark); returns the number of frames this
    /// call decoded. Fails like [`VideoFile::next_sampled`] on a truncated file.
    pub fn decode_all(&mut self) -> Result<u64> {
        let before = self.frames_decoded;
        while self.decode_next()? {}
        Ok(self.frames_decoded - before)
    }

    /// Decodes the next frame into `self.frame`, setting `self.cur_pts`; false at the end.
    fn decode_next(&mut self) -> Result<bool> {
        let mut errors_in_a_row = 0u32;
        loop {
            if self.state == State::Done {
                return Ok(false);
            }
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    self.on_frame();
                    return Ok(true);
                }
                Err(ffmpeg::Error::Eof) => return self.finish(),
                Err(e) if is_eagain(&e) => {
                    if self.state == State::Draining {
                        // Cannot happen after send_eof; do not spin if it does.
                        return self.finish();
                    }
                    self.feed()?;
                }
                Err(e) => {
                    // A decode error surfaced on output (frame threading reports them here): that packet is lost.
                    // Each error consumes a packet, so this ends; the bound is against a decoder that does not.
                    self.corrupt_packets += 1;
                    self.check_decodable()?;
                    errors_in_a_row += 1;
                    if errors_in_a_row > 10_000 {
                        self.state = State::Done;
                        return Err(Error::wrap(
                            ErrorKind::InvalidData,
                            format!("{}: the decoder keeps failing", self.info.path.display()),
                            e,
                        ));
                    }
                }
            }
        }
    }

    /// Sends the next video packet to the decoder, or end of stream.
    fn feed(&mut self) -> Result<()> {
        loop {
            let Some(packet) = self.read_packet() else {
                self.state = State::Draining;
                // Errors on EOF only say the decoder already had it.
                let _ = self.decoder.send_eof();
                return Ok(());
            };
            match self.decoder.send_packet(&packet) {
                Ok(()) => return Ok(()),
                Err(e) if is_eagain(&e) => {
                    // decode_next drains the decoder before feeding it, so it always accepts input.
                    bail!(
                        Internal,
                        "{}: the decoder refused input while drained",
                        self.info.path.display()
                    );
                }
                Err(_) => {
                    // A corrupt packet: count it, skip it, go on with the next one.
                    self.corrupt_packets += 1;
                    self.check_decodable()?;
                }
            }
        }
    }

    /// The next packet of the video stream, or `None` at the end of the input (normal or not).
    ///
    /// # Truncated files
    ///
    /// ffmpeg-next's `Input::packets()` iterator silently skips demuxer errors, so this reads with `av_read_frame`
    /// directly. But a file cut short mostly does not produce errors at all: libavformat logs "partial file"
    /// (MP4), "Packet corrupt" (AVI) or "File ended prematurely" (Matroska), hands over what it has and returns a
    /// clean EOF, which looks like a short success. So, at EOF, this compares what was read with what the
    /// container declared, and the first of these that fails makes the end of the stream an `InvalidData`
    /// "truncated or damaged" error:
    ///
    /// 1. Demuxer errors up to EOF (an I/O error, a demuxer that does fail on missing data);
    ///    [`MAX_CONSECUTIVE_DEMUX_ERRORS`] in a row stop reading at once. Errors followed by good packets are
    ///    damage in the middle: skipped, as the `ffmpeg` CLI does, and counted in [`VideoFile::corrupt_packets`].
    /// 2. The declared frame count. MP4 (`stsz`, in the `moov` at the start of a faststart file) and AVI (header)
    ///    declare how many packets the stream holds; a faststart MP4 or an AVI cut in half reads cleanly to EOF
    ///    with half of them. Fewer packets than declared, beyond a slack of one frame or 0.5 % for muxers that
    ///    miscount, is an error. That includes packets an AVI demuxer lost in the middle by resyncing past damaged
    ///    chunk headers: with AVI's packet-number timestamps they look just like truncation. Edit lists do not
    ///    lower the packet count (they drop decoded frames, not packets), which is why packets are compared, not
    ///    frames. (An MP4 whose `moov` is at the end and was cut off does not open at all.)
    /// 3. Without a declared frame count, the declared duration (of the stream, or of the file from its header,
    ///    as in Matroska): the packets read must reach it within 2 % (at least one second).
    /// 4. The last packet read, which the demuxer flags corrupt when the file ends inside it.
    ///
    /// A file without any such declaration (MPEG-TS, whose duration libavformat takes from the last timestamps in
    /// the file) cut at a packet boundary cannot be told from a shorter file.
    ///
    /// The frames still in the decoder are returned first; then `decode_next` returns the error.
    fn read_packet(&mut self) -> Option<ffmpeg::Packet> {
        if self.pending.is_some() {
            return None;
        }
        loop {
            let mut packet = ffmpeg::Packet::empty();
            match packet.read(&mut self.input) {
                Ok(()) => {
                    if self.consecutive_demux_errors > 0 {
                        // The demuxer recovered: what it failed on was damage in the middle, now skipped.
                        self.corrupt_packets += u64::from(self.consecutive_demux_errors);
                        self.consecutive_demux_errors = 0;
                    }
                    self.last_packet_corrupt = packet.is_corrupt();
                    if packet.stream() != self.stream_index {
                        continue;
                    }
                    self.packets_read += 1;
                    if let Some(pts) = packet.pts().or(packet.dts()) {
                        let end = pts + packet.duration().max(0);
                        self.packets_end = Some(self.packets_end.map_or(end, |e| e.max(end)));
                    }
                    return Some(packet);
                }
                Err(ffmpeg::Error::Eof) => {
                    self.pending = self.check_complete();
                    return None;
                }
                Err(e) if is_eagain(&e) => continue,
                Err(e) => {
                    self.consecutive_demux_errors += 1;
                    self.demux_errors += 1;
                    self.last_demux_error = Some(e);
                    if self.consecutive_demux_errors >= MAX_CONSECUTIVE_DEMUX_ERRORS {
                        self.pending = Some(self.truncated(format!(
                            "the demuxer failed {} times in a row",
                            self.consecutive_demux_errors
                        )));
                        return None;
                    }
                }
            }
        }
    }

    /// At EOF: whether the container held everything it declared (see [`VideoFile::read_packet`]).
    fn check_complete(&self) -> Option<Error> {
        if self.consecutive_demux_errors > 0 {
            return Some(self.truncated(format!(
                "the demuxer failed on the last {} reads before the end of the file",
                self.consecutive_demux_errors
            )));
        }
        let tb = rational_f64(self.time_base);
        if tb <= 0.0 {
            return None;
        }
        let read_end = self.packets_end.map_or(0, |e| e - self.stream_start.unwrap_or(0));
        let short_by = self.declared_duration - read_end; // in time-base units; only meaningful if declared
        let declared = self.declared_frames;
        if declared > 0 {
            let missing = declared.saturating_sub(self.packets_read);
            if missing > (declared / 200).max(1) {
                return Some(self.truncated(format!(
                    "it declares {declared} video frames but holds only {}",
                    self.packets_read
                )));
            }
        } else if self.declared_duration > 0 {
            let slack = (self.declared_duration as f64 * 0.02).max(1.0 / tb);
            if short_by as f64 > slack {
                return Some(self.truncated(format!(
                    "it declares {:.2} s but its video packets reach only {:.2} s",
                    self.declared_duration as f64 * tb,
                    read_end as f64 * tb
                )));
            }
        }
        if self.last_packet_corrupt {
            return Some(self.truncated("its last packet is cut off".to_string()));
        }
        None
    }

    fn truncated(&self, what: String) -> Error {
        let last = self
            .last_demux_error
            .map(|e| format!(" ({} demuxer errors, the last: {e})", self.demux_errors))
            .unwrap_or_default();
        err!(
            InvalidData,
            "{} is truncated or damaged: {what}; {} frames decoded from {} packets{last}",
            self.info.path.display(),
            self.frames_decoded,
            self.packets_read,
        )
    }

    /// Fails when nothing decodes at all: a few corrupt packets are skipped, a stream of them is not.
    fn check_decodable(&mut self) -> Result<()> {
        if self.frames_decoded == 0 && self.corrupt_packets >= MAX_FAILURES_BEFORE_FIRST_FRAME {
            self.state = State::Done;
            bail!(
                InvalidData,
                "{}: the first {} video packets all failed to decode",
                self.info.path.display(),
                self.corrupt_packets
            );
        }
        Ok(())
    }

    /// The decoder is drained: the end of the stream, or the error found on the way.
    fn finish(&mut self) -> Result<bool> {
        self.state = State::Done;
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if self.frames_decoded == 0 {
            bail!(
                InvalidData,
                "{}: no video frame could be decoded ({} packets, {} corrupt)",
                self.info.path.display(),
                self.packets_read,
                self.corrupt_packets
            );
        }
        Ok(false)
    }

    /// Timestamps the frame just decoded: the first one is at 0 and they strictly increase.
    fn on_frame(&mut self) {
        let mut pts = match self.frame.timestamp().or_else(|| self.frame.pts()) {
            Some(ts) => {
                let first = *self.first_ts.get_or_insert(ts);
                Time90k::from_rational(ts - first, self.time_base.numerator(), self.time_base.denominator())
            }
            // No timestamp: synthesise one from the frame index and the frame rate (or follow the last one).
            None => match self.last_pts {
                Some(last) => Time90k(last.0 + self.nominal.0),
                None => Time90k(self.frames_decoded as i64 * self.nominal.0),
            },
        };
        match self.last_pts {
            // Broken or duplicated timestamps: keep the timeline monotonic, one nominal frame on.
            Some(last) if pts <= last => pts = Time90k(last.0 + self.nominal.0.max(1)),
            _ => {}
        }
        self.last_pts = Some(pts);
        self.cur_pts = pts;
        self.frames_decoded += 1;
    }

    /// Converts `self.frame` to packed RGB24, reusing the scaler.
    fn convert_rgb(&mut self) -> Result<RgbFrame> {
        self.rgb.convert(
            &self.frame,
            self.cur_pts,
            self.frames_decoded - 1,
            &self.info.path.display(),
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn video_file_is_send() {
        fn send<T: Send>() {}
        send::<super::VideoFile>();
    }
}
