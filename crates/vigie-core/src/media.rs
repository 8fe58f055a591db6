//! Encoded video as it travels from a camera (or a file played as a camera) to the recorder and the decoder.
//!
//! One vocabulary for every source: RTSP (`vigie-ingest`, retina), files looped as cameras (`vigie-video`
//! demux). Frames carry their samples in AVCC/HVCC form (each NAL unit prefixed by its 4-byte big-endian
//! length), which is what both MP4 muxing and libavcodec (with the `avcC`/`hvcC` record as extradata) take
//! without conversion. No I/O here.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Time90k;

/// A camera's health state: what ingest reports (`vigie-ingest`'s health machine) and what the store keeps
/// (`camera_state.state`). One type for both.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CameraState {
    /// Opening the stream, or reconnecting with backoff.
    Connecting,
    /// Frames arriving.
    Streaming,
    /// Connected, but no frame for the stall timeout.
    Stalled,
    /// Given up until the configuration changes.
    Failed,
}

impl CameraState {
    /// The name shown and stored (`camera_state.state`).
    pub fn as_str(self) -> &'static str {
        match self {
            CameraState::Connecting => "connecting",
            CameraState::Streaming => "streaming",
            CameraState::Stalled => "stalled",
            CameraState::Failed => "failed",
        }
    }

    /// The state named `s` ([`as_str`](Self::as_str)'s names).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "connecting" => CameraState::Connecting,
            "streaming" => CameraState::Streaming,
            "stalled" => CameraState::Stalled,
            "failed" => CameraState::Failed,
            _ => return None,
        })
    }
}

impl std::fmt::Display for CameraState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The video codecs Vigie records and analyses (what city cameras send).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoCodec {
    H264,
    H265,
}

impl VideoCodec {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoCodec::H264 => "h264",
            VideoCodec::H265 => "h265",
        }
    }
}

/// What a decoder or a muxer must know before the first frame of a stream. A change of parameters mid-stream
/// (a camera reconfigured) starts a new recording segment.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamParams {
    pub codec: VideoCodec,
    /// Coded picture size in pixels, from the SPS.
    pub width: u32,
    pub height: u32,
    /// The `AVCDecoderConfigurationRecord` (H.264) or `HEVCDecoderConfigurationRecord` (H.265): SPS/PPS(/VPS).
    pub extradata: Vec<u8>,
    /// Nominal frame rate when the source states one (files); RTSP cameras usually do not.
    pub nominal_fps: Option<f64>,
}

/// One encoded picture (an access unit).
#[derive(Clone, Debug)]
pub struct EncodedFrame {
    /// Parameters in force for this frame; shared (`Arc`) so each frame is self-describing at no cost.
    pub params: Arc<StreamParams>,
    /// Presentation time on the source's 90 kHz clock, monotonic within one connection. Sources make it start
    /// near 0 at each (re)connection; wall-clock time is carried separately.
    pub pts: Time90k,
    /// Decode time; equal to `pts` for streams without B-frames (almost all cameras).
    pub dts: Time90k,
    /// Wall-clock time of reception (or of playback for files), in Unix milliseconds.
    pub wall_ms: i64,
    /// An IDR (H.264) / IRAP (H.265) picture: decoding and recording segments may start here.
    pub is_key: bool,
    /// AVCC/HVCC sample: NAL units each prefixed by a 4-byte big-endian length.
    pub data: Vec<u8>,
    /// The source reported lost data just before this frame (RTP sequence gap): decoders should expect damage.
    pub loss_before: bool,
}

/// Splits an AVCC/HVCC sample into its NAL units. Returns `None` if a length prefix runs past the end (a
/// malformed sample: callers drop it and count it).
pub fn avcc_nal_units(data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        if rest.len() < 4 {
            return None;
        }
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        rest = &rest[4..];
        if len > rest.len() {
            return None;
        }
        out.push(&rest[..len]);
        rest = &rest[len..];
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_avcc() {
        let data = [0, 0, 0, 2, 0x65, 1, 0, 0, 0, 1, 0x41];
        let nals = avcc_nal_units(&data).expect("well-formed");
        assert_eq!(nals, vec![&[0x65u8, 1][..], &[0x41u8][..]]);
        assert!(avcc_nal_units(&[0, 0, 0, 5, 1]).is_none());
        assert!(avcc_nal_units(&[0, 0]).is_none());
        assert_eq!(avcc_nal_units(&[]).map(|v| v.len()), Some(0));
    }
}
