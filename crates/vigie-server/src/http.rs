//! The HTTP side of `vigie serve`: the console's files and its API (issue 6, `crate::api`: every route in one
//! table with its permission, `/metrics` and `/api/health` among them).
//!
//! [`status_of`] is the one place an [`ErrorKind`] becomes an HTTP status.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vigie_core::{Error, ErrorKind, Result};

use crate::metrics::Metrics;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    pub metrics: Arc<Metrics>,
    /// Each camera's live view and rules.
    pub cameras: Arc<Vec<crate::live::CameraHandle>>,
    /// The detector's class labels (zones and rules are checked against them).
    pub labels: Arc<Vec<String>>,
    /// A camera whose last frame is older than this (seconds) is reported as not receiving.
    pub stale_after_s: f64,
    pub now_unix_ms: fn() -> i64,
    /// The console's API (accounts, sessions, events); `None`: every API route but the public ones answers 503.
    pub api: Option<Arc<crate::api::Api>>,
}

/// The one mapping from error kinds to HTTP statuses.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::InvalidArgument | ErrorKind::Config | ErrorKind::InvalidData => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Unsupported => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error as an HTTP response: the status of its kind and `{"error": message}`.
pub struct ApiError(pub Error);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(self.0.kind());
        (status, Json(serde_json::json!({ "error": self.0.to_string() }))).into_response()
    }
}

/// Every route of [`crate::api::routes`] (`/metrics` and `/api/health` among them), each behind its permission.
/// The console's static files ([`crate::console`], public) are mounted beside it.
pub fn router(state: AppState) -> Router {
    crate::api::router(state).merge(crate::console::router())
}

pub(crate) async fn metrics_handler(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        s.metrics.render(),
    )
}

/// `/api/health`: the service and each camera.
#[derive(Debug, Serialize)]
pub struct Health {
    /// "ok" when every camera is streaming, "degraded" otherwise.
    pub status: &'static str,
    pub uptime_s: f64,
    pub cameras: Vec<CameraHealth>,
    /// Mean detector latency since start, seconds.
    pub inference_mean_s: f64,
    pub inference_queue: u64,
}

#[derive(Debug, Serialize)]
pub struct CameraHealth {
    pub name: String,
    /// connecting | streaming | stalled | failed
    pub state: &'static str,
    pub since_unix_ms: i64,
    pub detail: String,
    /// Seconds since the last frame arrived; null if none ever did.
    pub last_frame_age_s: Option<f64>,
    pub frames_received: u64,
    pub frames_analysed: u64,
    pub frames_dropped: u64,
    pub recording_bytes: u64,
    pub recording_errors: u64,
    pub reconnects: u64,
}

pub fn health_of(s: &AppState) -> Health {
    let now = (s.now_unix_ms)();
    let cameras: Vec<CameraHealth> = s
        .metrics
        .cameras
        .iter()
        .map(|c| {
            let st = c.state();
            let last = c.last_frame_unix_ms.load(Ordering::Relaxed);
            CameraHealth {
                name: c.name.clone(),
                state: st.state,
                since_unix_ms: st.since_unix_ms,
                detail: st.detail,
                last_frame_age_s: (last > 0).then(|| (now - last).max(0) as f64 / 1000.0),
                frames_received: c.frames_in.load(Ordering::Relaxed),
                frames_analysed: c.frames_analysed.load(Ordering::Relaxed),
                frames_dropped: c.frames_dropped.load(Ordering::Relaxed),
                recording_bytes: c.recording_bytes.load(Ordering::Relaxed),
                recording_errors: c.recording_errors.load(Ordering::Relaxed),
                reconnects: c.reconnects.load(Ordering::Relaxed),
            }
        })
        .collect();
    let ok = cameras
        .iter()
        .all(|c| c.state == "streaming" && c.last_frame_age_s.is_some_and(|a| a <= s.stale_after_s));
    Health {
        status: if ok { "ok" } else { "degraded" },
        uptime_s: (now - s.metrics.started_unix_ms).max(0) as f64 / 1000.0,
        cameras,
        inference_mean_s: s.metrics.inference.mean(),
        inference_queue: s.metrics.inference_queue.load(Ordering::Relaxed),
    }
}

pub(crate) async fn health_handler(State(s): State<AppState>) -> Json<Health> {
    Json(health_of(&s))
}

/// Binds `addr` now (so a taken port fails before anything starts) and returns the listener and its real address.
pub async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr)> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::wrap(ErrorKind::Config, format!("listening on {addr}"), e))?;
    let local = listener
        .local_addr()
        .map_err(|e| Error::wrap(ErrorKind::Io, format!("reading the address bound for {addr}"), e))?;
    Ok((listener, local))
}

/// Serves on an already bound listener until `shutdown` fires.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .map_err(|e| Error::wrap(ErrorKind::Io, "serving HTTP", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_statuses() {
        assert_eq!(status_of(ErrorKind::InvalidData), StatusCode::BAD_REQUEST);
        assert_eq!(status_of(ErrorKind::NotFound), StatusCode::NOT_FOUND);
        assert_eq!(status_of(ErrorKind::Io), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn health_is_degraded_until_every_camera_streams() {
        fn now() -> i64 {
            10_000
        }
        let m = Arc::new(Metrics::new(&["a".into(), "b".into()], 0));
        let s = AppState {
            metrics: m.clone(),
            cameras: Arc::new(Vec::new()),
            labels: Arc::new(Vec::new()),
            stale_after_s: 5.0,
            now_unix_ms: now,
            api: None,
        };
        assert_eq!(health_of(&s).status, "degraded");
        for c in &m.cameras {
            c.set_state("streaming", 9_000, "");
            c.last_frame_unix_ms.store(9_500, Ordering::Relaxed);
        }
        let h = health_of(&s);
        assert_eq!(h.status, "ok");
        assert_eq!(h.cameras[0].last_frame_age_s, Some(0.5));
        m.cameras[1].last_frame_unix_ms.store(1_000, Ordering::Relaxed);
        assert_eq!(health_of(&s).status, "degraded");
    }
}
