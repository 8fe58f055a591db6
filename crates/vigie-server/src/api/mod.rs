//! The console's API (issue 6, design/0003-console-api.md): accounts and sessions, the route table with each
//! route's permission, the handlers, and the OpenAPI document generated from the table.
//!
//! Deny by default: a route exists only as a row of [`routes`], which names the permission it needs; the router
//! is built from the table and every row goes through [`guard`] (session, CSRF, role, camera), so a handler cannot
//! be reached without its check. The test `role_route_matrix` (tests/api.rs) walks the table against the
//! contract's matrix.
//!
//! Storage: the API keeps its own connection to the main database (users, sessions, decisions; reads of events),
//! beside the store thread's; SQLite's WAL and busy timeout let both write.

mod audit;
pub mod auth;
mod case_media;
mod cases;
mod clip;
mod handlers;
pub mod openapi;
mod parking;
mod scope;
mod stream;
pub mod zones;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post, put};
use serde::de::DeserializeOwned;
use vigie_core::{Error, Result};
use vigie_store::{Role, Store, UserRow};

use crate::http::AppState;

/// Request bodies larger than this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Sessions last this long, renewed on use after half of it.
pub const SESSION_TTL_MS: i64 = 12 * 3600 * 1000;
/// The session cookie's name.
pub const COOKIE: &str = "vigie_session";
/// The anti-CSRF header.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// What the API needs beyond [`AppState`]: its database connection, where files are, the login limiter.
pub struct Api {
    store: Mutex<Store>,
    /// Folder of event snapshots (`[server] snapshots`).
    pub snapshots: PathBuf,
    /// The recording directory (`[server] recordings`), for clips; `None`: no clips.
    pub recordings: Option<PathBuf>,
    /// Folder of zone files saved from the console (`<database dir>/zones`).
    pub zones_dir: PathBuf,
    pub limiter: auth::RateLimiter,
    /// Session lifetime; [`SESSION_TTL_MS`] unless a test shortens it.
    pub session_ttl_ms: i64,
    /// Poll period of `/api/stream`, milliseconds.
    pub stream_poll_ms: u64,
    /// The parking pre-check's own database (vigie-plates), when `[[parking]]` zones are configured.
    pub parking: Option<Arc<Mutex<vigie_plates::parking::ParkingStore>>>,
    /// The track plate database (vigie-plates, `plates.db`), searched by plate inside a case that allows it
    /// (`GET /api/cases/{reference}/search?plate=`); opened per search, never created. `None`: nothing to find.
    pub plates_db: Option<PathBuf>,
    /// The tamper-evident log of user actions (issue 7); `None` only in tests that do not look at it.
    pub audit: Option<Arc<Mutex<vigie_audit::AuditLog>>>,
    /// When each (user, camera) live view was last logged: a live view is logged once per 10 minutes, not per
    /// frame.
    live_logged: Mutex<std::collections::HashMap<(String, String), i64>>,
    /// The authorisations in force (shared with the analysis threads); refreshed after each change.
    pub authz: crate::authz::Authorisations,
    /// What the public transparency register shows beside the stored data (operator, places, purposes).
    pub register: crate::register::RegisterInfo,
    /// Privacy masks per camera name (`[[camera.privacy_mask]]`): event clips of these cameras are re-encoded with
    /// them filled.
    pub privacy_masks: std::collections::HashMap<String, Vec<vigie_core::MaskConfig>>,
}

impl Api {
    /// Opens the API's connection to the database at `database`.
    pub fn open(database: &Path, snapshots: PathBuf) -> Result<Api> {
        Ok(Api {
            store: Mutex::new(Store::open(database)?),
            snapshots,
            recordings: None,
            zones_dir: zones::zones_dir(database),
            limiter: auth::RateLimiter::default(),
            session_ttl_ms: SESSION_TTL_MS,
            stream_poll_ms: 500,
            audit: None,
            parking: None,
            plates_db: None,
            live_logged: Mutex::new(Default::default()),
            authz: Default::default(),
            register: Default::default(),
            privacy_masks: Default::default(),
        })
    }

    /// Appends a user action to the audit log. An action that cannot be logged fails (accountability first): the
    /// caller returns the error instead of acting unlogged.
    pub fn audit(
        &self,
        at_unix_ms: i64,
        actor: &str,
        action: vigie_audit::Action,
        target: &str,
        detail: serde_json::Value,
    ) -> Result<()> {
        let Some(log) = &self.audit else { return Ok(()) };
        let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
        log.append(&vigie_audit::Entry::new(at_unix_ms, actor, action, target, detail))
            .map(|_| ())
            .map_err(|e| e.context("writing the audit log"))
    }

    /// Logs a live view of `camera` by `user`, at most once per 10 minutes per pair.
    pub fn audit_live_view(&self, at_unix_ms: i64, user: &str, camera: &str) -> Result<()> {
        {
            let mut seen = self.live_logged.lock().unwrap_or_else(|p| p.into_inner());
            let key = (user.to_owned(), camera.to_owned());
            if seen.get(&key).is_some_and(|t| at_unix_ms - t < 600_000) {
                return Ok(());
            }
            seen.insert(key, at_unix_ms);
        }
        self.audit(
            at_unix_ms,
            user,
            vigie_audit::Action::LiveView,
            camera,
            serde_json::json!({}),
        )
    }

    /// Runs `f` on the database connection (call from a blocking context; see [`db`]).
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut s = self.store.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }

    /// When there is no account at all, creates `admin` with a random password and returns the password (to be
    /// shown once); otherwise `None`.
    pub fn bootstrap_admin(&self, now_unix_ms: i64) -> Result<Option<String>> {
        self.with_store(|s| {
            if s.user_count()? > 0 {
                return Ok(None);
            }
            let password = auth::random_token(12)?;
            s.create_user(
                &vigie_store::NewUser {
                    username: "admin".into(),
                    password_hash: auth::hash_password(&password)?,
                    role: Role::Admin,
                    cameras: None,
                },
                now_unix_ms,
            )?;
            Ok(Some(password))
        })
    }
}

/// Runs `f` on the API's database connection in a blocking thread.
pub(crate) async fn db<T: Send + 'static>(
    api: &Arc<Api>,
    f: impl FnOnce(&mut Store) -> Result<T> + Send + 'static,
) -> std::result::Result<T, Fail> {
    let api = api.clone();
    tokio::task::spawn_blocking(move || api.with_store(f))
        .await
        .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, format!("database task failed: {e}")))?
        .map_err(Fail::from)
}

/// An API error: a status and `{"error": message}`.
#[derive(Debug)]
pub struct Fail {
    pub status: StatusCode,
    pub message: String,
}

impl Fail {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Fail {
        Fail {
            status,
            message: message.into(),
        }
    }
    pub fn not_found(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::NOT_FOUND, message)
    }
    pub fn bad_request(message: impl Into<String>) -> Fail {
        Fail::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::new(crate::http::status_of(e.kind()), e.to_string())
    }
}

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

/// A JSON request body: refused with 400 (malformed, wrong type, unknown field), 413 (over [`BODY_LIMIT`]) or
/// 415 (not `application/json`), always as `{"error": ...}`.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = Fail;

    async fn from_request(req: Request, state: &S) -> std::result::Result<Self, Fail> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Body(v)),
            Err(r) => Err(json_rejection(r)),
        }
    }
}

fn json_rejection(r: JsonRejection) -> Fail {
    let status = match r.status() {
        StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::BAD_REQUEST,
    };
    let msg = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!("request body larger than {BODY_LIMIT} bytes"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "expected Content-Type: application/json".to_owned(),
        _ => r.body_text(),
    };
    Fail::new(status, msg)
}

/// Query parameters, refused with 400 `{"error": ...}`.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Fail;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> std::result::Result<Self, Fail> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Query(q.0))
            .map_err(|r: QueryRejection| Fail::bad_request(r.body_text()))
    }
}

/// What a route needs. See the matrix in design/0003-console-api.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Perm {
    /// No login.
    Public,
    /// Any logged-in user.
    LoggedIn,
    ViewLive,
    ViewAlerts,
    /// `view_live` or `view_alerts` (the live stream).
    ViewLiveOrAlerts,
    DecideAlerts,
    EditZones,
    Parking,
    Payments,
    ManageUsers,
    /// Record and revoke authorisations (issue 7): admin.
    ManageAuthorisations,
    /// The measured accuracy (issue 7): supervisor, admin.
    ViewAccuracy,
    /// Review cases and the case-gated search (issue 8): investigators.
    Investigate,
    /// Browse, export and verify the audit log (issue 7): auditors only (separation of duties: the admins whose
    /// actions it records do not hold it; `vigie audit` on the host remains).
    ViewAudit,
}

impl Perm {
    pub fn name(self) -> &'static str {
        match self {
            Perm::Public => "public",
            Perm::LoggedIn => "logged_in",
            Perm::ViewLive => "view_live",
            Perm::ViewAlerts => "view_alerts",
            Perm::ViewLiveOrAlerts => "view_live or view_alerts",
            Perm::DecideAlerts => "decide_alerts",
            Perm::EditZones => "edit_zones",
            Perm::Parking => "parking",
            Perm::Payments => "payments",
            Perm::ManageUsers => "manage_users",
            Perm::ManageAuthorisations => "manage_authorisations",
            Perm::ViewAccuracy => "view_accuracy",
            Perm::Investigate => "investigate",
            Perm::ViewAudit => "view_audit",
        }
    }
}

/// The permission matrix: whether `role` holds `perm`. `Public` and `LoggedIn` are held by every role.
pub fn allows(role: Role, perm: Perm) -> bool {
    use Role::*;
    match perm {
        Perm::Public | Perm::LoggedIn => true,
        Perm::ViewLive => matches!(role, Operator | Supervisor | Admin),
        Perm::ViewAlerts => matches!(role, Operator | Supervisor | Investigator | Admin),
        Perm::ViewLiveOrAlerts => allows(role, Perm::ViewLive) || allows(role, Perm::ViewAlerts),
        Perm::DecideAlerts => matches!(role, Operator | Supervisor),
        Perm::EditZones => matches!(role, Supervisor | Admin),
        Perm::Parking => matches!(role, ParkingAgent),
        Perm::Payments => matches!(role, Admin),
        Perm::ManageUsers => matches!(role, Admin),
        Perm::ManageAuthorisations => matches!(role, Admin),
        Perm::ViewAccuracy => matches!(role, Supervisor | Admin),
        Perm::Investigate => matches!(role, Investigator),
        Perm::ViewAudit => matches!(role, Auditor),
    }
}

/// One row of the route table.
pub struct Route {
    pub method: Method,
    /// axum syntax: `/api/cameras/{name}/live`.
    pub path: &'static str,
    pub perm: Perm,
    /// The route's `{name}` is a camera the user must be allowed to see (404 otherwise).
    pub camera: bool,
    pub summary: &'static str,
    /// Schema names for the OpenAPI document.
    pub request: Option<&'static str>,
    pub response: &'static str,
    pub handler: fn() -> MethodRouter<AppState>,
}

macro_rules! route {
    ($m:ident, $path:expr, $perm:ident, $cam:expr, $summary:expr, $req:expr, $resp:expr, $h:expr) => {
        Route {
            method: Method::$m,
            path: $path,
            perm: Perm::$perm,
            camera: $cam,
            summary: $summary,
            request: $req,
            response: $resp,
            handler: $h,
        }
    };
}

/// THE route table: every route of the API, once, with its permission. The router and `/api/openapi.json` are
/// built from it. (The console's static assets are public and served by `crate::console`.)
#[rustfmt::skip]
pub fn routes() -> Vec<Route> {
    use handlers as h;
    vec![
        // method, path, permission, camera-scoped, summary, request schema, response schema, handler
        route!(GET, "/metrics", Public, false, "Prometheus metrics", None, "text", || get(crate::http::metrics_handler)),
        route!(GET, "/api/health", Public, false, "Service and camera health", None, "Health", || get(crate::http::health_handler)),
        route!(GET, "/api/openapi.json", Public, false, "This API's description (OpenAPI 3.1)", None, "OpenAPI", || get(openapi::handler)),
        route!(POST, "/api/login", Public, false, "Log in: sets the session cookie", Some("Login"), "Me", || post(h::login)),
        route!(POST, "/api/logout", LoggedIn, false, "Log out: ends the session", None, "Ok", || post(h::logout)),
        route!(GET, "/api/me", LoggedIn, false, "The logged-in user and the CSRF token", None, "Me", || get(h::me)),
        route!(GET, "/api/cameras", ViewLive, false, "The user's cameras and their states", None, "Camera[]", || get(h::cameras)),
        route!(GET, "/api/cameras/{name}/live", ViewLive, true, "Latest analysed frame: objects, zones, lines", None, "Live", || get(h::live)),
        route!(GET, "/api/cameras/{name}/frame.jpg", ViewLive, true, "Latest decoded frame, JPEG", None, "image/jpeg", || get(h::frame_jpg)),
        route!(GET, "/api/cameras/{name}/zones", ViewLive, true, "Zones, lines and rules in force", None, "Zones", || get(h::get_zones)),
        route!(PUT, "/api/cameras/{name}/zones", EditZones, true, "Replace zones, lines and rules (validated, saved, applied)", Some("Zones"), "Zones", || put(h::put_zones)),
        route!(GET, "/api/events", ViewAlerts, false, "Events, newest first (status, camera, limit)", None, "Event[]", || get(h::events)),
        route!(GET, "/api/events/{id}", ViewAlerts, false, "One event with its snapshot and clip URLs", None, "EventDetail", || get(h::event)),
        route!(GET, "/api/events/{id}/snapshot.jpg", ViewAlerts, false, "The event's annotated snapshot", None, "image/jpeg", || get(h::snapshot)),
        route!(GET, "/api/events/{id}/clip.mp4", ViewAlerts, false, "The recording around the event, MP4 (remuxed; re-encoded with the privacy masks of a masked camera)", None, "video/mp4", || get(h::clip)),
        route!(POST, "/api/events/{id}/decision", DecideAlerts, false, "Confirm or dismiss an event (once)", Some("Decision"), "Event", || post(h::decide)),
        route!(GET, "/api/stream", ViewLiveOrAlerts, false, "Server-Sent Events: alert, decision, camera", None, "text/event-stream", || get(stream::handler)),
        route!(GET, "/api/users", ManageUsers, false, "Users (no hashes)", None, "User[]", || get(h::users)),
        route!(POST, "/api/users", ManageUsers, false, "Create a user", Some("NewUser"), "User", || post(h::create_user)),
        route!(DELETE, "/api/users/{username}", ManageUsers, false, "Disable a user", None, "Ok", || delete(h::disable_user)),
        route!(GET, "/api/parking/queue", Parking, false, "Parking pre-check records waiting for a sworn agent", None, "ParkingRecord[]", || get(parking::queue)),
        route!(GET, "/api/parking/{id}/evidence/{file}", Parking, false, "An evidence photo of a record (0.jpg, 1.jpg)", None, "image/jpeg", || get(parking::evidence)),
        route!(POST, "/api/parking/{id}/confirm", Parking, false, "The agent confirms the non-payment (fine reference)", Some("ParkingConfirm"), "Ok", || post(parking::confirm)),
        route!(POST, "/api/parking/{id}/dismiss", Parking, false, "The agent dismisses the record (reason)", Some("ParkingDismiss"), "Ok", || post(parking::dismiss)),
        route!(POST, "/api/payments", Payments, false, "A paid parking session from the payment provider", Some("Payment"), "Session", || post(parking::payment)),
        route!(GET, "/api/authorisations", ManageAuthorisations, false, "Authorisations (legal scope of the analytics)", None, "Authorisation[]", || get(scope::list)),
        route!(POST, "/api/authorisations", ManageAuthorisations, false, "Record an authorisation", Some("NewAuthorisation"), "Authorisation", || post(scope::add)),
        route!(POST, "/api/authorisations/{id}/revoke", ManageAuthorisations, false, "Revoke an authorisation now", None, "Authorisation", || post(scope::revoke)),
        route!(GET, "/api/accuracy", ViewAccuracy, false, "Precision per type, camera and week, from decisions", None, "Accuracy", || get(scope::accuracy)),
        route!(GET, "/api/cases", Investigate, false, "The review cases the user is an investigator on", None, "Case[]", || get(cases::list)),
        route!(GET, "/api/cases/{reference}/search", Investigate, false, "Stored tracks inside an open case (class, colour, camera, time, zone, line, dwell), or with plate (* and ?) the plate hits of a case that allows plate searches (403 otherwise); logged", None, "TrackHit[] or PlateHit[]", || get(cases::search)),
        route!(GET, "/api/cases/{reference}/tracks/{run}/{track}/thumb.jpg", Investigate, false, "A search hit's thumbnail (best box; people blurred), inside the case; logged", None, "image/jpeg", || get(cases::thumb)),
        route!(GET, "/api/cases/{reference}/recording.mp4", Investigate, false, "The recording of a case's camera around a moment (camera, at_unix_ms), inside the case; logged", None, "video/mp4", || get(cases::recording)),
        route!(GET, "/api/audit", ViewAudit, false, "Audit log entries, newest first (from_unix_ms, to_unix_ms, actor, action, before_seq, limit)", None, "AuditPage", || get(audit::browse)),
        route!(GET, "/api/audit/export", ViewAudit, false, "The audit log as JSON lines (from_unix_ms, to_unix_ms), as `vigie audit export`; logged", None, "application/x-ndjson", || get(audit::export)),
        route!(GET, "/api/audit/verify", ViewAudit, false, "Verify the audit log's chain and signed checkpoints: intact, or the first problem", None, "AuditVerify", || get(audit::verify)),
        route!(GET, "/api/register", Public, false, "The public transparency register (docs/register-schema.json)", None, "Register", || get(crate::register::register_json)),
        route!(GET, "/register/signage/{camera}", Public, false, "Printable signage for a camera's site (HTML)", None, "text/html", || get(crate::register::signage)),
    ]
}

/// The per-route check, from the route's table row.
#[derive(Clone)]
struct Guard {
    state: AppState,
    perm: Perm,
    camera: bool,
}

/// The logged-in user of a request, put there by [`guard`].
#[derive(Clone, Debug)]
pub struct Auth {
    pub user: UserRow,
    pub token_sha256: [u8; 32],
    pub csrf_token: String,
}

impl Auth {
    /// The camera names this user may see among `all`.
    pub fn cameras<'a>(&self, all: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        all.into_iter()
            .filter(|c| self.user.may_see(c))
            .map(str::to_owned)
            .collect()
    }
}

/// Session (401), CSRF on state-changing methods (403), role (403), camera (404), then the handler.
async fn guard(State(g): State<Guard>, mut req: Request, next: Next) -> Response {
    if g.perm == Perm::Public {
        return next.run(req).await;
    }
    let Some(api) = g.state.api.clone() else {
        return Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database").into_response();
    };
    let Some(token) = auth::cookie_token(req.headers()) else {
        return Fail::new(StatusCode::UNAUTHORIZED, "not logged in").into_response();
    };
    let hash = auth::token_hash(&token);
    let now = (g.state.now_unix_ms)();
    let found = match db(&api, move |s| s.session(&hash, now)).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let Some((session, user)) = found else {
        return Fail::new(StatusCode::UNAUTHORIZED, "session expired or unknown: log in again").into_response();
    };
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        let sent = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !auth::constant_time_eq(sent.as_bytes(), session.csrf_token.as_bytes()) {
            return Fail::new(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token header").into_response();
        }
    }
    if !allows(user.role, g.perm) {
        return Fail::new(
            StatusCode::FORBIDDEN,
            format!("role {} may not do this (needs {})", user.role.as_str(), g.perm.name()),
        )
        .into_response();
    }
    if g.camera {
        let name = camera_param(req.uri().path());
        let known = g.state.cameras.iter().any(|c| c.name == name);
        if !known || !user.may_see(&name) {
            return Fail::not_found(format!("no camera {name}")).into_response();
        }
    }
    // Renewal after half-life: a new expiry, and the cookie again.
    let renew = session.expires_unix_ms - now < api.session_ttl_ms / 2;
    let ttl = api.session_ttl_ms;
    req.extensions_mut().insert(Auth {
        user,
        token_sha256: hash,
        csrf_token: session.csrf_token,
    });
    let mut resp = next.run(req).await;
    if renew
        && db(&api, move |s| s.renew_session(&hash, now + ttl)).await.is_ok()
        && let Ok(v) = auth::session_cookie(&token, ttl).parse()
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// The `{name}` of `/api/cameras/{name}/...`.
fn camera_param(path: &str) -> String {
    path.strip_prefix("/api/cameras/")
        .and_then(|r| r.split('/').next())
        .unwrap_or("")
        .to_owned()
}

/// The router of every route in [`routes`], each behind its [`guard`], bodies limited to [`BODY_LIMIT`].
pub fn router(state: AppState) -> Router {
    let mut r: Router<AppState> = Router::new();
    for route in routes() {
        let g = Guard {
            state: state.clone(),
            perm: route.perm,
            camera: route.camera,
        };
        r = r.route(
            route.path,
            (route.handler)().route_layer(middleware::from_fn_with_state(g, guard)),
        );
    }
    r.fallback(|| async { Fail::not_found("no such route") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}
