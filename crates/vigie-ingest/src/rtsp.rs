//! RTSP cameras through retina: DESCRIBE, SETUP of the (first H.264/H.265) video stream, PLAY, then frames.
//!
//! - Frames leave as [`EncodedFrame`]s in AVCC/HVCC form (retina's `FrameFormat::MP4`: 4-byte lengths, no
//!   parameter sets in band; they are in `params.extradata`, the `avcC`/`hvcC` record).
//! - `params` is one `Arc` per set of parameters: a new `Arc` only when retina reports new parameters that differ
//!   from the current ones (a camera reconfigured mid-stream).
//! - `pts` is retina's timestamp relative to the start of the stream (the first packet: retina's default policy
//!   for a single stream), rescaled from the RTP clock to 90 kHz; `dts` = `pts` (RTP carries no decode time; camera
//!   streams have no B-frames). `wall_ms` is the injected clock at receipt; `loss_before` is retina's count of RTP
//!   packets lost before the frame.
//! - Errors name the camera by its redacted URL ([`crate::redact_url`]) and carry retina's message (its first line;
//!   the rest is packet context) scrubbed of the credentials. Kinds: 401/403 [`ErrorKind::Config`] (credentials),
//!   404 [`ErrorKind::NotFound`], 405/461/501 and non-H.26x video [`ErrorKind::Unsupported`], a connection that
//!   cannot be made, breaks, times out or is closed, and any other status, [`ErrorKind::Io`] (retina's errors say
//!   nothing more to a program than their status code).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use retina::client::{
    Demuxed, PlayOptions, Session, SessionOptions, SetupOptions, TcpTransportOptions, UdpTransportOptions,
};
use retina::codec::{CodecItem, FrameFormat, ParametersRef, VideoFrame, VideoParameters, VideoParametersCodec};
use url::Url;
use vigie_core::{EncodedFrame, Error, ErrorKind, Result, StreamParams, Time90k, VideoCodec, bail, err};

use crate::clock::Clock;
use crate::redact::{Credentials, Scrubber, percent_decode, redact_url};

/// How RTP packets travel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Interleaved on the RTSP TCP connection: works through NAT and firewalls, no loss on the way.
    #[default]
    Tcp,
    /// RTP/RTCP over UDP (retina: no reorder buffer, so for a LAN).
    Udp,
}

/// How to reach one RTSP camera. `Debug` shows the URL redacted and no credentials.
#[derive(Clone)]
pub struct RtspOptions {
    /// The camera URL, `rtsp://host[:port]/path[?query]`, without user information (see [`RtspOptions::parse`]).
    pub url: Url,
    pub credentials: Option<Credentials>,
    pub transport: Transport,
    /// Limit on connecting and DESCRIBE, SETUP and PLAY together. Default 10 s.
    pub connect_timeout: Duration,
}

impl fmt::Debug for RtspOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtspOptions")
            .field("url", &redact_url(&self.url))
            .field("credentials", &self.credentials)
            .field("transport", &self.transport)
            .field("connect_timeout", &self.connect_timeout)
            .finish()
    }
}

impl RtspOptions {
    /// Parses a camera URL. Credentials written in it (`rtsp://user:pass@host/...`, percent-encoded as URLs
    /// require) move to [`RtspOptions::credentials`]. Errors never repeat the URL as given (it may hold a
    /// password). TCP transport.
    pub fn parse(url: &str) -> Result<Self> {
        let url = Url::parse(url.trim()).map_err(|e| err!(Config, "invalid camera URL: {e}"))?;
        Self::from_url(url)
    }

    /// As [`RtspOptions::parse`], from a parsed URL.
    pub fn from_url(mut url: Url) -> Result<Self> {
        if url.scheme() != "rtsp" {
            bail!(
                Config,
                "camera URL {}: scheme {:?} is not supported (rtsp:// only)",
                redact_url(&url),
                url.scheme()
            );
        }
        if url.host_str().is_none_or(str::is_empty) {
            bail!(Config, "camera URL {}: no host", redact_url(&url));
        }
        let credentials = if !url.username().is_empty() || url.password().is_some() {
            let shown = redact_url(&url);
            let user = percent_decode(url.username()).ok_or_else(|| {
                err!(
                    Config,
                    "camera URL {shown}: the user name is not valid percent-encoded UTF-8"
                )
            })?;
            let password = percent_decode(url.password().unwrap_or("")).ok_or_else(|| {
                err!(
                    Config,
                    "camera URL {shown}: the password is not valid percent-encoded UTF-8"
                )
            })?;
            let cleared = url.set_username("").is_ok() && url.set_password(None).is_ok();
            if !cleared {
                bail!(Config, "camera URL {shown}: cannot take the credentials out of it");
            }
            Some(Credentials::new(user, password))
        } else {
            None
        };
        Ok(RtspOptions {
            url,
            credentials,
            transport: Transport::Tcp,
            connect_timeout: Duration::from_secs(10),
        })
    }

    pub fn with_credentials(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::new(user, password));
        self
    }

    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The URL as it may be shown (see [`crate::redact_url`]).
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// Retina's message for one error: its first line, credentials scrubbed.
#[derive(Debug)]
struct RtspError(String);

impl fmt::Display for RtspError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RtspError {}

fn retina_error(e: &retina::Error, what: String, scrub: &Scrubber) -> Error {
    let kind = match e.status_code() {
        Some(401 | 403) => ErrorKind::Config,
        Some(404) => ErrorKind::NotFound,
        Some(405 | 461 | 501) => ErrorKind::Unsupported,
        _ => ErrorKind::Io,
    };
    let text = e.to_string();
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("unknown RTSP error");
    let hint = match e.status_code() {
        Some(401 | 403) => " (check the camera's user and password)",
        Some(404) => " (check the camera's stream path)",
        _ => "",
    };
    Error::wrap(kind, what, RtspError(format!("{}{hint}", scrub.scrub(first))))
}

/// An RTSP camera session, playing. Dropping it closes the connection (retina sends a TEARDOWN in the background).
pub struct RtspSource {
    demuxed: Demuxed,
    stream_i: usize,
    params: Option<Arc<StreamParams>>,
    clock: Arc<dyn Clock>,
    shown: String,
    scrub: Scrubber,
    frames: u64,
    skipped: u64,
}

impl fmt::Debug for RtspSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtspSource")
            .field("url", &self.shown)
            .field("stream", &self.stream_i)
            .field("params", &self.params)
            .field("frames", &self.frames)
            .finish()
    }
}

impl RtspSource {
    /// Connects: DESCRIBE, SETUP of the first H.264/H.265 video stream, PLAY, all within `connect_timeout`.
    pub async fn connect(opts: &RtspOptions, clock: Arc<dyn Clock>) -> Result<Self> {
        let shown = opts.redacted_url();
        let scrub = Scrubber::new(&opts.url, opts.credentials.as_ref());
        match tokio::time::timeout(opts.connect_timeout, Self::connect_inner(opts, clock, &shown, &scrub)).await {
            Ok(r) => r,
            Err(_) => Err(err!(
                Io,
                "camera {shown}: no answer within {:.1} s (connect, DESCRIBE, SETUP, PLAY)",
                opts.connect_timeout.as_secs_f64()
            )),
        }
    }

    async fn connect_inner(opts: &RtspOptions, clock: Arc<dyn Clock>, shown: &str, scrub: &Scrubber) -> Result<Self> {
        let creds = opts.credentials.as_ref().map(|c| retina::client::Credentials {
            username: c.user.clone(),
            password: c.password.expose().to_string(),
        });
        let session_opts = SessionOptions::default()
            .creds(creds)
            .user_agent(format!("vigie/{}", env!("CARGO_PKG_VERSION")));
        let mut session = Session::describe(opts.url.clone(), session_opts)
            .await
            .map_err(|e| retina_error(&e, format!("camera {shown}: DESCRIBE"), scrub))?;
        let mut other_video = None;
        let mut chosen = None;
        for (i, s) in session.streams().iter().enumerate() {
            if s.media() != "video" {
                continue;
            }
            let enc = s.encoding_name().to_ascii_lowercase();
            if enc == "h264" || enc == "h265" {
                chosen = Some(i);
                break;
            }
            other_video.get_or_insert(enc);
        }
        let Some(stream_i) = chosen else {
            return Err(match other_video {
                Some(enc) => err!(
                    Unsupported,
                    "camera {shown}: its video is {enc}; Vigie takes H.264 and H.265"
                ),
                None => err!(InvalidData, "camera {shown}: DESCRIBE offers no video stream"),
            });
        };
        let transport = match opts.transport {
            Transport::Tcp => retina::client::Transport::Tcp(TcpTransportOptions::default()),
            Transport::Udp => retina::client::Transport::Udp(UdpTransportOptions::default()),
        };
        session
            .setup(
                stream_i,
                SetupOptions::default()
                    .transport(transport)
                    .frame_format(FrameFormat::MP4),
            )
            .await
            .map_err(|e| retina_error(&e, format!("camera {shown}: SETUP"), scrub))?;
        let playing = session
            .play(PlayOptions::default())
            .await
            .map_err(|e| retina_error(&e, format!("camera {shown}: PLAY"), scrub))?;
        let demuxed = playing
            .demuxed()
            .map_err(|e| retina_error(&e, format!("camera {shown}: PLAY"), scrub))?;
        let params = match demuxed.streams().get(stream_i).and_then(|s| s.parameters()) {
            Some(ParametersRef::Video(vp)) => stream_params(vp).ok().map(Arc::new),
            _ => None,
        };
        Ok(RtspSource {
            demuxed,
            stream_i,
            params,
            clock,
            shown: shown.to_string(),
            scrub: scrub.clone(),
            frames: 0,
            skipped: 0,
        })
    }

    /// The parameters in force: from the SDP once connected if it had them, else from the first frame.
    pub fn params(&self) -> Option<&Arc<StreamParams>> {
        self.params.as_ref()
    }

    /// Frames delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames dropped because no parameters were known yet (a camera starting mid-GOP without SDP parameters).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// The next video frame. `Ok(None)` when the camera ended the session.
    pub async fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
        loop {
            let item = match self.demuxed.next().await {
                None => return Ok(None),
                Some(Err(e)) => return Err(retina_error(&e, format!("camera {}", self.shown), &self.scrub)),
                Some(Ok(item)) => item,
            };
            let CodecItem::VideoFrame(f) = item else {
                continue;
            };
            if f.stream_id() != self.stream_i {
                continue;
            }
            let wall_ms = self.clock.unix_ms();
            if (f.has_new_parameters() || self.params.is_none()) && !self.refresh_params()? {
                self.skipped += 1;
                continue;
            }
            let Some(params) = self.params.clone() else {
                self.skipped += 1;
                continue;
            };
            self.frames += 1;
            return Ok(Some(encoded_frame(f, params, wall_ms)));
        }
    }

    /// Takes the stream's current parameters; `false` if retina has none yet.
    fn refresh_params(&mut self) -> Result<bool> {
        let vp = match self.demuxed.streams().get(self.stream_i).and_then(|s| s.parameters()) {
            Some(ParametersRef::Video(vp)) => vp,
            _ => return Ok(false),
        };
        let new = stream_params(vp).map_err(|e| e.context(format!("camera {}", self.shown)))?;
        if self.params.as_deref() != Some(&new) {
            self.params = Some(Arc::new(new));
        }
        Ok(true)
    }
}

fn encoded_frame(f: VideoFrame, params: Arc<StreamParams>, wall_ms: i64) -> EncodedFrame {
    let ts = f.timestamp();
    let pts = rtp_to_90k(ts.elapsed(), ts.clock_rate().get());
    let loss_before = f.loss() > 0;
    let is_key = f.is_random_access_point() || (params.codec == VideoCodec::H265 && has_h265_irap(f.data()));
    EncodedFrame {
        params,
        pts,
        dts: pts,
        wall_ms,
        is_key,
        data: f.into_data(),
        loss_before,
    }
}

/// Whether an HVCC sample holds an IRAP picture (BLA, IDR or CRA: NAL unit types 16 to 21). Retina marks only IDR
/// pictures as random access points; a CRA (open-GOP encoders) starts decoding and recording segments just as well.
pub(crate) fn has_h265_irap(data: &[u8]) -> bool {
    vigie_core::media::avcc_nal_units(data).is_some_and(|nals| {
        nals.iter()
            .any(|n| n.first().is_some_and(|b| (16..=21).contains(&((b >> 1) & 0x3f))))
    })
}

/// Rescales a time in units of `1/clock_rate` s to 90 kHz (exact for 90 kHz, the video clock of RFC 6184/7798).
pub(crate) fn rtp_to_90k(t: i64, clock_rate: u32) -> Time90k {
    if clock_rate == 90_000 || clock_rate == 0 {
        return Time90k(t);
    }
    let v = i128::from(t) * i128::from(Time90k::HZ) / i128::from(clock_rate);
    Time90k(i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX }))
}

/// Retina's video parameters as Vigie's: codec, (cropped) picture size, `avcC`/`hvcC` record.
pub(crate) fn stream_params(vp: &VideoParameters) -> Result<StreamParams> {
    let codec = match vp.codec_params() {
        VideoParametersCodec::H264 { .. } => VideoCodec::H264,
        VideoParametersCodec::H265 { .. } => VideoCodec::H265,
        _ => bail!(
            Unsupported,
            "video codec {} is not supported (H.264 and H.265 only)",
            vp.rfc6381_codec()
        ),
    };
    let (width, height) = vp.pixel_dimensions();
    if width == 0 || height == 0 || vp.extra_data().is_empty() {
        bail!(
            InvalidData,
            "the camera's video parameters are incomplete ({width}x{height})"
        );
    }
    Ok(StreamParams {
        codec,
        width,
        height,
        extradata: vp.extra_data().to_vec(),
        nominal_fps: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_move_out_of_the_url() {
        let o = RtspOptions::parse("rtsp://admin:p%40ss@192.0.2.1:8554/live?ch=1").expect("parse");
        assert_eq!(o.url.as_str(), "rtsp://192.0.2.1:8554/live?ch=1");
        let c = o.credentials.as_ref().expect("creds");
        assert_eq!((c.user.as_str(), c.password.expose()), ("admin", "p@ss"));
        let d = format!("{o:?}");
        assert!(
            !d.contains("p@ss") && !d.contains("p%40ss") && !d.contains("admin"),
            "{d}"
        );
        assert_eq!(o.redacted_url(), "rtsp://192.0.2.1:8554/live?ch=1");
    }

    #[test]
    fn bad_urls_are_config_errors_that_do_not_echo_the_password() {
        for u in [
            "http://admin:hunter22@cam/x",
            "rtsp://admin:hunter22@/x",
            "not a url hunter22",
            "rtsp://admin:hunter22%ff@cam/x",
        ] {
            let e = RtspOptions::parse(u).expect_err(u);
            assert_eq!(e.kind(), ErrorKind::Config, "{u}: {e}");
            assert!(!e.to_string().contains("hunter22"), "{e}");
        }
    }

    #[test]
    fn h265_cra_is_a_key_frame() {
        let cra = [0, 0, 0, 3, 21 << 1, 1, 0xaf];
        let trail = [0, 0, 0, 3, 1 << 1, 1, 0xaf];
        let sei_then_idr = [0, 0, 0, 2, 39 << 1, 1, 0, 0, 0, 2, 19 << 1, 1];
        assert!(has_h265_irap(&cra));
        assert!(!has_h265_irap(&trail));
        assert!(has_h265_irap(&sei_then_idr));
        assert!(!has_h265_irap(&[0, 0, 0, 9, 1]), "malformed");
    }

    #[test]
    fn rtp_time_rescales() {
        assert_eq!(rtp_to_90k(3600, 90_000), Time90k(3600));
        assert_eq!(rtp_to_90k(48_000, 48_000), Time90k(90_000));
        assert_eq!(rtp_to_90k(-900, 90_000), Time90k(-900));
    }
}
