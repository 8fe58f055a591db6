//! [`FrameDecoder`]: decode [`EncodedFrame`]s (from a camera or a [`crate::PacketReader`]) for analysis.

use std::collections::VecDeque;
use std::sync::Arc;

use ffmpeg::{codec, decoder, frame};
use ffmpeg_next as ffmpeg;
use vigie_core::{EncodedFrame, Error, ErrorKind, Result, RgbFrame, StreamParams, Time90k, VideoCodec, bail, err};

use crate::file::is_eagain;
use crate::rgb::RgbConverter;

/// Frames whose "convert to RGB?" answer is remembered until they come out of the decoder (reorder delay plus
/// frame-threading delay are far below this).
const MAX_IN_FLIGHT: usize = 64;

struct Open {
    params: Arc<StreamParams>,
    decoder: decoder::Video,
}

/// Decodes encoded frames with libavcodec and converts the ones asked for to RGB.
///
/// - The codec is opened on the first frame and reopened whenever a frame's `params` differ (by value) from the
///   ones in use; the `avcC`/`hvcC` record is the decoder's extradata and samples go in as they are (AVCC/HVCC).
/// - After a reopen, a decode error, or a frame with `loss_before`, frames are skipped (not decoded, counted in
///   [`FrameDecoder::skipped`]) until the next key frame, so analysis never sees pictures smeared by missing
///   references.
/// - Corrupt input (a malformed sample, or one the decoder rejects) is an [`ErrorKind::InvalidData`] error; the
///   decoder stays usable and resumes at the next key frame.
/// - `want_rgb` is remembered per frame (by pts): a frame is converted when *it* comes out of the decoder, which
///   with B-frames or frame threading is a later call. Streams without B-frames decoded with one thread (cameras)
///   come out in the same call.
pub struct FrameDecoder {
    threads: usize,
    open: Option<Open>,
    frame: frame::Video,
    rgb: RgbConverter,
    /// (pts, want_rgb) of frames sent and not yet out.
    in_flight: VecDeque<(i64, bool)>,
    awaiting_key: bool,
    frames_decoded: u64,
    errors: u64,
    skipped: u64,
}

impl FrameDecoder {
    /// `threads`: 1 decodes on the caller's thread (no added latency); more uses frame threading (one frame of
    /// latency per extra thread); 0 lets FFmpeg pick.
    pub fn new(threads: usize) -> FrameDecoder {
        crate::init();
        FrameDecoder {
            threads,
            open: None,
            frame: frame::Video::empty(),
            rgb: RgbConverter::new(),
            in_flight: VecDeque::new(),
            awaiting_key: true,
            frames_decoded: 0,
            errors: 0,
            skipped: 0,
        }
    }

    /// Frames that came out of the decoder, converted or not.
    pub fn frames_decoded(&self) -> u64 {
        self.frames_decoded
    }

    /// Errors returned by [`FrameDecoder::decode`]: corrupt frames, and parameters the codec would not open with.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Frames not decoded while waiting for a key frame.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Decodes `frame` and returns the RGB picture of a frame that was sent with `want_rgb` if one came out of
    /// the decoder in this call (see the type's documentation), else `None`.
    pub fn decode(&mut self, frame: &EncodedFrame, want_rgb: bool) -> Result<Option<RgbFrame>> {
        let reopen = match &self.open {
            Some(o) => !Arc::ptr_eq(&o.params, &frame.params) && *o.params != *frame.params,
            None => true,
        };
        if reopen {
            self.open = None;
            self.in_flight.clear();
            self.awaiting_key = true;
            let decoder = open_decoder(&frame.params, self.threads).inspect_err(|_| self.errors += 1)?;
            self.open = Some(Open {
                params: Arc::clone(&frame.params),
                decoder,
            });
        } else if let Some(o) = &mut self.open
            && !Arc::ptr_eq(&o.params, &frame.params)
        {
            // Equal by value: keep the newer Arc so the next comparison is a pointer comparison.
            o.params = Arc::clone(&frame.params);
        }
        if frame.loss_before {
            self.awaiting_key = true;
        }
        if self.awaiting_key {
            if !frame.is_key {
                self.skipped += 1;
                return Ok(None);
            }
            self.awaiting_key = false;
        }
        if let Err(what) = check_sample(frame.params.codec, &frame.data) {
            return Err(self.corrupt(frame.pts, what));
        }

        let mut packet = ffmpeg::Packet::copy(&frame.data);
        packet.set_pts(Some(frame.pts.0));
        packet.set_dts(Some(frame.dts.0));
        if frame.is_key {
            packet.set_flags(ffmpeg::packet::Flags::KEY);
        }
        let Some(open) = self.open.as_mut() else {
            bail!(Internal, "decoder not open");
        };
        match open.decoder.send_packet(&packet) {
            Ok(()) => {}
            Err(e) if is_eagain(&e) => {
                // Output is always drained after each input, so this does not happen.
                bail!(Internal, "the decoder refused input while drained");
            }
            Err(e) => return Err(self.corrupt(frame.pts, e.to_string())),
        }
        self.in_flight.push_back((frame.pts.0, want_rgb));
        while self.in_flight.len() > MAX_IN_FLIGHT {
            self.in_flight.pop_front();
        }
        self.drain(want_rgb)
    }

    /// Receives every frame the decoder has ready; returns the last one that was wanted, converted.
    fn drain(&mut self, default_want: bool) -> Result<Option<RgbFrame>> {
        let mut out = None;
        loop {
            let Some(open) = self.open.as_mut() else {
                return Ok(out);
            };
            match open.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    if let Some(rgb) = self.on_frame(default_want)? {
                        out = Some(rgb);
                    }
                }
                Err(ffmpeg::Error::Eof) => return Ok(out),
                Err(e) if is_eagain(&e) => return Ok(out),
                Err(e) => {
                    // Frame threading reports decode errors here.
                    let pts = self.frame.pts().map_or(Time90k(0), Time90k);
                    return Err(self.corrupt(pts, e.to_string()));
                }
            }
        }
    }

    fn on_frame(&mut self, default_want: bool) -> Result<Option<RgbFrame>> {
        self.frames_decoded += 1;
        let pts = self.frame.pts().or_else(|| self.frame.timestamp());
        let want = match pts.and_then(|p| self.in_flight.iter().position(|&(q, _)| q == p)) {
            Some(i) => self.in_flight.remove(i).is_some_and(|(_, w)| w),
            None => default_want,
        };
        if !want {
            return Ok(None);
        }
        let pts = Time90k(pts.unwrap_or(0));
        let what = format!(
            "decoded {} frame",
            self.open.as_ref().map_or("video", |o| o.params.codec.as_str())
        );
        self.rgb
            .convert(&self.frame, pts, self.frames_decoded - 1, &what)
            .map(Some)
    }

    /// Counts a corrupt frame, resets the decoder to wait for the next key frame, and builds the error.
    fn corrupt(&mut self, pts: Time90k, what: String) -> Error {
        self.errors += 1;
        self.awaiting_key = true;
        self.in_flight.clear();
        if let Some(o) = self.open.as_mut() {
            o.decoder.flush();
        }
        err!(
            InvalidData,
            "corrupt video frame at {:.3} s: {what}; skipping to the next key frame",
            pts.as_secs_f64()
        )
    }

    /// Drains the frames still inside the decoder (B-frame reorder and frame-threading delay) and returns the
    /// wanted ones; then the decoder waits for a key frame, as after a reopen. For the end of a file; a live
    /// stream never needs it.
    pub fn flush(&mut self) -> Result<Vec<RgbFrame>> {
        let mut out = Vec::new();
        let Some(open) = self.open.as_mut() else {
            return Ok(out);
        };
        let _ = open.decoder.send_eof();
        while let Some(open) = self.open.as_mut() {
            match open.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    if let Some(f) = self.on_frame(false)? {
                        out.push(f);
                    }
                }
                Err(ffmpeg::Error::Eof) => break,
                Err(e) if is_eagain(&e) => break,
                Err(_) => self.errors += 1,
            }
        }
        if let Some(o) = self.open.as_mut() {
            o.decoder.flush();
        }
        self.in_flight.clear();
        self.awaiting_key = true;
        Ok(out)
    }
}

/// Checks a sample's AVCC/HVCC framing before the decoder sees it: lengths within the sample, at least one NAL
/// unit, each with a valid header (forbidden_zero_bit clear, and for H.265 a nonzero temporal id).
fn check_sample(codec: VideoCodec, data: &[u8]) -> std::result::Result<(), String> {
    let Some(units) = vigie_core::media::avcc_nal_units(data) else {
        return Err("malformed sample: a NAL unit length runs past its end".into());
    };
    if units.is_empty() {
        return Err("empty sample".into());
    }
    for u in units {
        let ok = match codec {
            VideoCodec::H264 => u.first().is_some_and(|&b| b & 0x80 == 0),
            VideoCodec::H265 => u.len() >= 2 && u[0] & 0x80 == 0 && u[1] & 0x07 != 0,
        };
        if !ok {
            return Err("malformed sample: invalid NAL unit header".into());
        }
    }
    Ok(())
}

fn open_decoder(params: &StreamParams, threads: usize) -> Result<decoder::Video> {
    let (id, name) = match params.codec {
        VideoCodec::H264 => (codec::Id::H264, "H.264"),
        VideoCodec::H265 => (codec::Id::HEVC, "H.265"),
    };
    let Some(codec) = decoder::find(id) else {
        bail!(Unsupported, "no {name} decoder in this FFmpeg build");
    };
    let mut par = codec::Parameters::new();
    // SAFETY: `par` owns a fresh AVCodecParameters; the fields are plain data and the extradata is allocated as
    // FFmpeg requires (see set_extradata), freed with the parameters.
    unsafe {
        let p = par.as_mut_ptr();
        (*p).codec_type = ffmpeg::ffi::AVMediaType::AVMEDIA_TYPE_VIDEO;
        (*p).codec_id = id.into();
        (*p).width = i32::try_from(params.width).unwrap_or(0);
        (*p).height = i32::try_from(params.height).unwrap_or(0);
        crate::mux::set_extradata(&mut (*p).extradata, &mut (*p).extradata_size, &params.extradata)
            .map_err(|()| err!(Internal, "cannot allocate extradata"))?;
    }
    let mut ctx = codec::Context::from_parameters(par)
        .map_err(|e| Error::wrap(ErrorKind::InvalidData, format!("bad {name} stream parameters"), e))?;
    ctx.set_threading(if threads == 1 {
        ffmpeg::threading::Config {
            kind: ffmpeg::threading::Type::None,
            count: 1,
            ..Default::default()
        }
    } else {
        ffmpeg::threading::Config {
            kind: ffmpeg::threading::Type::Frame,
            count: threads,
            ..Default::default()
        }
    });
    let mut dec = ctx.decoder();
    dec.set_packet_time_base(ffmpeg::Rational(1, 90_000));
    dec.open_as(codec).and_then(|o| o.video()).map_err(|e| {
        Error::wrap(
            ErrorKind::InvalidData,
            format!(
                "cannot open the {name} decoder for {}x{} ({}-byte configuration record)",
                params.width,
                params.height,
                params.extradata.len()
            ),
            e,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_decoder_is_send() {
        fn send<T: Send>() {}
        send::<FrameDecoder>();
    }

    #[test]
    fn sample_checks() {
        assert!(check_sample(VideoCodec::H264, &[0, 0, 0, 2, 0x65, 0x88]).is_ok());
        assert!(check_sample(VideoCodec::H264, &[0, 0, 0, 9, 0x65]).is_err());
        assert!(check_sample(VideoCodec::H264, &[0, 0, 0, 1, 0xe5]).is_err());
        assert!(check_sample(VideoCodec::H264, &[]).is_err());
        assert!(check_sample(VideoCodec::H265, &[0, 0, 0, 2, 0x26, 0x01]).is_ok());
        assert!(check_sample(VideoCodec::H265, &[0, 0, 0, 2, 0x26, 0x00]).is_err());
    }
}
