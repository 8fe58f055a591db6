//! Camera ingest: RTSP cameras and files played as cameras, delivered as [`vigie_core::EncodedFrame`]s, with
//! camera health and reconnection.
//!
//! # Layout (retina's habit: sans-IO cores, I/O at the edges)
//!
//! - [`health`]: the camera state machine (connecting, streaming, stalled, failed), stall detection and reconnect
//!   backoff. Sans-IO: every method takes the time.
//! - [`rtsp`]: [`RtspSource`], one RTSP session through retina (H.264/H.265, TCP or UDP) yielding frames;
//!   [`RtspOptions`] (credentials kept apart from the URL).
//! - [`file`]: [`FileCamera`], a file played as a camera in real time (or faster), looping; its pacing
//!   ([`Pacer`]) is sans-IO.
//! - [`supervisor`]: [`run_camera`], the task that connects, forwards [`CameraMsg`]s with back-pressure, watches
//!   health and reconnects.
//! - [`clock`]: the injected [`Clock`] (system, or virtual for tests under tokio's paused time).
//! - [`redact`]: [`Credentials`] and [`redact_url`]: camera credentials never appear in errors, messages or
//!   `Debug` output.
//!
//! Errors are [`vigie_core::Error`]s naming the camera by its redacted URL (or the file by its path).

pub mod clock;
pub mod file;
pub mod health;
pub mod redact;
pub mod rtsp;
pub mod supervisor;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use file::{FileCamera, FileOptions, Pacer, PacketSource};
pub use health::{CameraState, FailureClass, Health, HealthConfig, Transition};
pub use redact::{Credentials, Secret, redact_url};
pub use rtsp::{RtspOptions, RtspSource, Transport};
pub use supervisor::{CameraMsg, CameraSourceConfig, Shutdown, SourceConfig, run_camera, run_camera_with_clock};
