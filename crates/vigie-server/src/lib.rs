//! The live service behind `vigie serve`: many cameras, continuously.
//!
//! Per camera (see [`camera`]): ingest → hub → recorder (never drops) and analysis (drops under load, counted) →
//! one shared [`pool::InferencePool`] → tracker → rules → events. One [`store_actor`] thread writes the database;
//! one retention thread deletes what the law and the budget say must go; the HTTP server ([`http`]) shows
//! `/metrics` and `/api/health`.
//!
//! Threads for the per-frame work (decode, inference, muxing are blocking, CPU-bound calls), tokio for the network
//! (RTSP sessions, HTTP).

pub mod analysers;
pub mod api;
pub mod authz;
pub mod camera;
pub mod config;
pub mod console;
pub mod http;
pub mod live;
pub mod metrics;
pub mod pool;
pub mod recorder;
pub mod register;
pub mod service;
pub mod snapshot;
pub mod store_actor;
pub mod tracks;
pub mod webhook;

pub use config::{CameraConfig, ServerSection};
pub use service::{Service, ServiceOptions};

/// Wall-clock time in Unix milliseconds.
pub fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
