//! Vigie video input: FFmpeg demux and decode of files, frame sampling at the analysis rate.
//!
//! # Design
//!
//! - [`VideoFile`] wraps one libavformat input and the libavcodec decoder of its best video stream (cover pictures
//!   are not videos). It is a pull decoder: [`VideoFile::next_sampled`] reads and decodes packets until a frame
//!   comes out that the [`FrameSampler`] takes, and only that frame is converted to packed RGB24 by libswscale
//!   (one scaler, reused while the frame format and size stay the same). Frames are never scaled here: the
//!   detector does its own letterboxing. [`VideoFile::decode_all`] decodes without converting, for benchmarks.
//! - Timestamps: each frame's `best_effort_timestamp`, rescaled from the stream time base to 90 kHz, minus the
//!   first frame's, so the first frame is at 0. A frame without one gets the previous one plus the nominal frame
//!   duration (or index / fps); timestamps that do not increase are pushed one nominal frame on, so downstream
//!   always sees a strictly increasing timeline. [`RgbFrame::index`](vigie_core::RgbFrame) counts all decoded
//!   frames, sampled or not.
//! - [`FrameSampler`] is sans-IO: it decides from timestamps alone, with an accumulated due time, so the analysis
//!   rate does not drift when it does not divide the source rate.
//! - Errors ([`vigie_core::Error`]) name the file. A missing file is `NotFound`; a directory `InvalidArgument`;
//!   anything FFmpeg cannot open as media, or media without video, `InvalidData` "not a video file"; a codec
//!   without decoder `Unsupported`. A packet the decoder rejects is counted ([`VideoFile::corrupt_packets`]) and
//!   skipped, unless nothing decodes at all. A truncated file is never a short success: demuxer errors, fewer
//!   packets than the container declares, or less duration than it declares make the end of the stream an
//!   `InvalidData` "truncated" error, after the frames that could be decoded (see `VideoFile::read_packet`).
//! - FFmpeg is initialised once per process, with its own logging lowered to errors only.
//!
//! # Live service (encoded frames, `vigie_core::media`)
//!
//! - [`PacketReader`] demuxes a file into [`vigie_core::EncodedFrame`]s without decoding (a file played as a
//!   camera): H.264/H.265 only, AVCC/HVCC samples with 4-byte lengths (MP4 samples unchanged; Annex-B from MPEG-TS
//!   or raw streams converted, with the `avcC`/`hvcC` record built in `nal.rs`), 90 kHz timestamps from 0, and
//!   rewinds that continue the timeline.
//! - [`SegmentMuxer`] records by remux: plain MP4 (`moov` at the end, so a segment cut by a crash does not open and
//!   is discarded; see its documentation for why not fragmented MP4), samples byte for byte, fsynced on finish.
//! - [`FrameDecoder`] decodes encoded frames for analysis, reopening the codec when the parameters change, waiting
//!   for a key frame after corrupt data or loss, converting to RGB (the same swscale path as [`VideoFile`]) only
//!   the frames asked for.
//! - [`MotionGate`] (sans-IO, no FFmpeg) says whether a frame differs from the learnt background, so the detector
//!   runs only when something is there.

mod decoder;
mod encode;
mod file;
pub mod motion;
mod mux;
mod nal;
mod packet;
mod rgb;
mod sampler;

pub use decoder::FrameDecoder;
pub use encode::Mp4Encoder;
pub use file::{DecodeOptions, VideoFile, VideoInfo, probe};
pub use motion::{Motion, MotionConfig, MotionGate};
pub use mux::{SegmentInfo, SegmentMuxer};
pub use packet::PacketReader;
pub use sampler::FrameSampler;

use std::sync::OnceLock;

use ffmpeg_next as ffmpeg;

/// Initialises FFmpeg once per process and silences its own log: every problem FFmpeg reports reaches the caller
/// as a [`vigie_core::Error`] naming the file (or is counted, for corrupt packets), so a command prints one line,
/// not FFmpeg's. Called by [`VideoFile::open`]; callers need not call it.
pub fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        // Only fails on FFmpeg builds without network support; file decoding does not depend on it.
        let _ = ffmpeg::init();
        ffmpeg::util::log::set_level(ffmpeg::util::log::Level::Quiet);
    });
}
