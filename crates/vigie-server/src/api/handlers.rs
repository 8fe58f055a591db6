//! The handlers of the route table. Each runs after [`super::guard`] has checked the session, the CSRF token, the
//! role and (for `/api/cameras/{name}/...`) the camera.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Extension;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vigie_audit::Action;
use vigie_store::{Decision, DecisionRow, EventFilter, EventView, NewUser, Role, SessionRow};

use super::{Api, Auth, Body, Fail, Query, auth, db};
use crate::http::AppState;
use crate::live::CameraHandle;

type R<T> = std::result::Result<T, Fail>;

fn api_of(s: &AppState) -> R<Arc<Api>> {
    s.api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))
}

fn camera<'a>(s: &'a AppState, name: &str) -> R<&'a CameraHandle> {
    s.cameras
        .iter()
        .find(|c| c.name == name)
        .ok_or_else(|| Fail::not_found(format!("no camera {name}")))
}

fn cameras_json(cameras: &Option<Vec<String>>) -> Value {
    match cameras {
        Some(c) => json!(c),
        None => json!("all"),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
}

/// The client's address, when the server was started with connection info (tests go without).
fn client_addr(req_ci: Option<Extension<ConnectInfo<std::net::SocketAddr>>>) -> String {
    req_ci.map_or_else(|| "unknown".to_owned(), |Extension(ConnectInfo(a))| a.ip().to_string())
}

pub async fn login(
    State(s): State<AppState>,
    ci: Option<Extension<ConnectInfo<std::net::SocketAddr>>>,
    Body(b): Body<Login>,
) -> R<Response> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let user_key = format!("user:{}", b.username);
    let addr = client_addr(ci);
    let keys = vec![user_key.clone(), format!("addr:{addr}")];
    if let Some(wait) = api.limiter.blocked(&keys, now) {
        let mut r = Fail::new(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many failed logins: try again in {wait} s"),
        )
        .into_response();
        if let Ok(v) = wait.to_string().parse() {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(r);
    }
    let name = b.username.clone();
    let user = db(&api, move |st| st.user_by_name(&name)).await?;
    let password = b.password;
    let (ok, user) = tokio::task::spawn_blocking(move || {
        let hash = user.as_ref().map_or(auth::dummy_hash(), |u| u.password_hash.as_str());
        let ok = auth::verify_password(&password, hash);
        (ok && user.as_ref().is_some_and(|u| !u.disabled), user)
    })
    .await
    .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let Some(user) = user.filter(|_| ok) else {
        api.limiter.failed(&keys, now);
        api.audit(now, &b.username, Action::LoginFailed, "", json!({"addr": addr}))?;
        return Err(Fail::new(StatusCode::UNAUTHORIZED, "wrong user name or password"));
    };
    api.limiter.succeeded(&user_key);
    api.audit(now, &user.username, Action::Login, "", json!({"addr": addr}))?;
    let token = auth::random_token(32)?;
    let csrf = auth::random_token(32)?;
    let hash = auth::token_hash(&token);
    let row = SessionRow {
        user_id: user.id,
        created_unix_ms: now,
        expires_unix_ms: now + api.session_ttl_ms,
        csrf_token: csrf.clone(),
    };
    db(&api, move |st| {
        st.delete_expired_sessions(now)?;
        st.create_session(&hash, &row)
    })
    .await?;
    let body = json!({
        "username": user.username,
        "role": user.role.as_str(),
        "cameras": cameras_json(&user.cameras),
        "csrf_token": csrf,
    });
    Ok((
        [(header::SET_COOKIE, auth::session_cookie(&token, api.session_ttl_ms))],
        Json(body),
    )
        .into_response())
}

pub async fn logout(State(s): State<AppState>, Extension(a): Extension<Auth>) -> R<Response> {
    let api = api_of(&s)?;
    let h = a.token_sha256;
    db(&api, move |st| st.delete_session(&h)).await?;
    api.audit((s.now_unix_ms)(), &a.user.username, Action::Logout, "", json!({}))?;
    Ok((
        [(header::SET_COOKIE, auth::cleared_cookie())],
        Json(json!({"ok": true})),
    )
        .into_response())
}

pub async fn me(Extension(a): Extension<Auth>) -> Json<Value> {
    Json(json!({
        "username": a.user.username,
        "role": a.user.role.as_str(),
        "cameras": cameras_json(&a.user.cameras),
        "csrf_token": a.csrf_token,
    }))
}

/// A camera in `/api/cameras`: its name and state only (never its URL).
#[derive(Serialize)]
struct CameraOut {
    name: String,
    state: &'static str,
    since_unix_ms: i64,
    detail: String,
    width: Option<u32>,
    height: Option<u32>,
    frames_received: u64,
    frames_analysed: u64,
    recording_bytes: u64,
}

pub async fn cameras(State(s): State<AppState>, Extension(a): Extension<Auth>) -> Json<Value> {
    let out: Vec<CameraOut> = s
        .cameras
        .iter()
        .filter(|c| a.user.may_see(&c.name))
        .map(|c| {
            let st = c.metrics.state();
            let latest = c.latest();
            CameraOut {
                name: c.name.clone(),
                state: st.state,
                since_unix_ms: st.since_unix_ms,
                detail: st.detail,
                width: latest.as_ref().map(|f| f.frame.width),
                height: latest.as_ref().map(|f| f.frame.height),
                frames_received: c.metrics.frames_in.load(Ordering::Relaxed),
                frames_analysed: c.metrics.frames_analysed.load(Ordering::Relaxed),
                recording_bytes: c.metrics.recording_bytes.load(Ordering::Relaxed),
            }
        })
        .collect();
    Json(json!(out))
}

pub async fn live(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(name): Path<String>,
) -> R<Json<Value>> {
    let c = camera(&s, &name)?;
    api_of(&s)?.audit_live_view((s.now_unix_ms)(), &a.user.username, &name)?;
    let rules = c.rules();
    let zones: Vec<Value> = rules
        .zones
        .iter()
        .map(|z| json!({"id": z.id, "polygon": z.polygon}))
        .collect();
    let lines: Vec<Value> = rules
        .lines
        .iter()
        .map(|l| json!({"id": l.id, "from": l.from, "to": l.to}))
        .collect();
    let latest = c.latest();
    Ok(Json(json!({
        "t_unix_ms": latest.as_ref().map(|f| f.t_unix_ms),
        "width": latest.as_ref().map(|f| f.frame.width),
        "height": latest.as_ref().map(|f| f.frame.height),
        "objects": latest.as_ref().map(|f| f.objects.clone()).unwrap_or_default(),
        "zones": zones,
        "lines": lines,
    })))
}

pub async fn frame_jpg(State(s): State<AppState>, Path(name): Path<String>) -> R<Response> {
    let c = camera(&s, &name)?;
    let Some(f) = c.latest() else {
        return Err(Fail::not_found(format!("camera {name} has no analysed frame yet")));
    };
    let bytes = tokio::task::spawn_blocking(move || crate::snapshot::jpeg(&f.frame))
        .await
        .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    Ok(jpeg_response(bytes))
}

fn jpeg_response(bytes: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        bytes,
    )
        .into_response()
}

/// `GET`/`PUT /api/cameras/{name}/zones`: the configuration's shape, with plural keys.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Zones {
    #[serde(default)]
    zones: Vec<vigie_rules::config::ZoneConfig>,
    #[serde(default)]
    lines: Vec<vigie_rules::config::LineConfig>,
    #[serde(default)]
    rules: Vec<vigie_rules::RuleConfig>,
}

impl From<vigie_rules::RulesConfig> for Zones {
    fn from(r: vigie_rules::RulesConfig) -> Zones {
        Zones {
            zones: r.zones,
            lines: r.lines,
            rules: r.rules,
        }
    }
}

pub async fn get_zones(State(s): State<AppState>, Path(name): Path<String>) -> R<Json<Zones>> {
    Ok(Json(camera(&s, &name)?.rules().into()))
}

pub async fn put_zones(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(name): Path<String>,
    Body(z): Body<Zones>,
) -> R<Json<Zones>> {
    let api = api_of(&s)?;
    let c = camera(&s, &name)?.clone();
    let rules = vigie_rules::RulesConfig {
        zones: z.zones,
        lines: z.lines,
        rules: z.rules,
    };
    rules
        .validate(&s.labels)
        .map_err(|e| Fail::bad_request(e.to_string()))?;
    // Legal scope (issue 7): an enabled rule needs a valid authorisation covering its event type on this camera.
    crate::authz::check_rules(&rules, &name, &api.authz, (s.now_unix_ms)())
        .map_err(|m| Fail::new(StatusCode::FORBIDDEN, m))?;
    let dir = api.zones_dir.clone();
    let labels = s.labels.clone();
    let saved = rules.clone();
    tokio::task::spawn_blocking(move || {
        c.set_rules(saved.clone(), &labels)?;
        super::zones::save(&dir, &c.name, &saved)
    })
    .await
    .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let detail = json!({
        "zones": rules.zones.iter().map(|z| z.id.clone()).collect::<Vec<_>>(),
        "lines": rules.lines.iter().map(|l| l.id.clone()).collect::<Vec<_>>(),
        "rules": rules.rules.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
    });
    api.audit((s.now_unix_ms)(), &a.user.username, Action::ConfigChange, &name, detail)?;
    Ok(Json(rules.into()))
}

/// An event as listed (design/0003).
pub fn event_json(e: &EventView) -> Value {
    let d = e.decision.as_ref();
    json!({
        "id": e.id,
        "kind": e.kind,
        "camera": e.camera,
        "rule": e.rule,
        "zone": e.zone,
        "line": e.line,
        "start_unix_ms": e.start_unix_ms,
        "end_unix_ms": e.end_unix_ms,
        "confidence": e.confidence,
        "detail": e.detail,
        "status": match d.map(|d| d.decision) {
            None => "pending",
            Some(Decision::Confirm) => "confirmed",
            Some(Decision::Dismiss) => "dismissed",
        },
        "decided_by": d.map(|d| d.username.clone()),
        "decided_unix_ms": d.map(|d| d.at_unix_ms),
        "reason": d.map(|d| d.reason.clone()),
    })
}

/// Other query parameters (a cache-buster) are ignored.
#[derive(Deserialize)]
pub struct EventsQuery {
    status: Option<String>,
    camera: Option<String>,
    limit: Option<u32>,
}

pub async fn events(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Query(q): Query<EventsQuery>,
) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let decided = match q.status.as_deref().unwrap_or("all") {
        "all" => None,
        "pending" => Some(None),
        "confirmed" => Some(Some(Decision::Confirm)),
        "dismissed" => Some(Some(Decision::Dismiss)),
        other => {
            return Err(Fail::bad_request(format!(
                "status {other:?}: one of pending, confirmed, dismissed, all"
            )));
        }
    };
    let cameras = match q.camera.filter(|c| !c.is_empty()) {
        Some(c) if a.user.may_see(&c) => Some(vec![c]),
        Some(c) => return Err(Fail::not_found(format!("no camera {c}"))),
        None => a.user.cameras.clone(),
    };
    let f = EventFilter {
        cameras,
        decided,
        limit: q.limit.unwrap_or(100).clamp(1, 1000),
    };
    let rows = db(&api, move |st| st.event_views(&f)).await?;
    Ok(Json(Value::Array(rows.iter().map(event_json).collect())))
}

/// The event `id` if the user may see its camera; 404 otherwise (as if it did not exist).
async fn visible_event(api: &Arc<Api>, a: &Auth, id: String) -> R<EventView> {
    let what = id.clone();
    match db(api, move |st| st.event_view(&id)).await? {
        Some(e) if a.user.may_see(&e.camera) => Ok(e),
        _ => Err(Fail::not_found(format!("no event {what}"))),
    }
}

pub async fn event(State(s): State<AppState>, Extension(a): Extension<Auth>, Path(id): Path<String>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let e = visible_event(&api, &a, id).await?;
    let eid = e.id.clone();
    let tracks = db(&api, move |st| st.event_track_ids(&eid)).await?;
    let mut v = event_json(&e);
    if let Value::Object(m) = &mut v {
        m.insert(
            "snapshot_url".into(),
            json!(
                e.snapshot
                    .as_ref()
                    .map(|_| format!("/api/events/{}/snapshot.jpg", e.id))
            ),
        );
        m.insert("clip_url".into(), json!(format!("/api/events/{}/clip.mp4", e.id)));
        m.insert("track_ids".into(), json!(tracks));
        m.insert("box".into(), json!(e.bbox.map(|b| [b.x1, b.y1, b.x2, b.y2])));
    }
    Ok(Json(v))
}

pub async fn snapshot(State(s): State<AppState>, Extension(a): Extension<Auth>, Path(id): Path<String>) -> R<Response> {
    let api = api_of(&s)?;
    let e = visible_event(&api, &a, id).await?;
    let Some(rel) = e.snapshot.filter(|r| {
        std::path::Path::new(r)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
    }) else {
        return Err(Fail::not_found(format!("event {} has no snapshot", e.id)));
    };
    let path = api.snapshots.join(rel);
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?
        .map_err(|_| Fail::not_found(format!("the snapshot of event {} is missing", e.id)))?;
    Ok(jpeg_response(bytes))
}

pub async fn clip(State(s): State<AppState>, Extension(a): Extension<Auth>, Path(id): Path<String>) -> R<Response> {
    let api = api_of(&s)?;
    let e = visible_event(&api, &a, id).await?;
    api.audit(
        (s.now_unix_ms)(),
        &a.user.username,
        Action::Export,
        &e.id,
        json!({"what": "event clip", "camera": e.camera}),
    )?;
    let Some(root) = api.recordings.clone() else {
        return Err(Fail::not_found("this server keeps no recordings"));
    };
    let run_start = e.start_unix_ms - e.start.0 / 90;
    let (from, to) = (run_start + e.clip_start.0 / 90, run_start + e.clip_end.0 / 90);
    let camera = e.camera.clone();
    let segments = db(&api, move |st| match st.camera_id(&camera)? {
        Some(c) => st.segments(c, from, to + 1),
        None => Ok(Vec::new()),
    })
    .await?;
    let out = std::env::temp_dir().join(format!("vigie-clip-{}.mp4", auth::random_token(8)?));
    // A camera with privacy masks: re-encoded with the masks filled (issue 7); the others remuxed.
    let masks = api.privacy_masks.get(&e.camera).cloned().unwrap_or_default();
    let bytes =
        tokio::task::spawn_blocking(move || super::clip::clip_bytes(&root, &segments, (from, to), &masks, false, &out))
            .await
            .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let Some(bytes) = bytes else {
        return Err(Fail::not_found(format!("no recording covers event {}", e.id)));
    };
    Ok((
        [(header::CONTENT_TYPE, "video/mp4"), (header::CACHE_CONTROL, "no-store")],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    decision: String,
    #[serde(default)]
    reason: String,
}

pub async fn decide(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(id): Path<String>,
    Body(b): Body<DecisionBody>,
) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let decision = match b.decision.as_str() {
        "confirm" => Decision::Confirm,
        "dismiss" => Decision::Dismiss,
        other => return Err(Fail::bad_request(format!("decision {other:?}: confirm or dismiss"))),
    };
    if b.reason.len() > 500 {
        return Err(Fail::bad_request("reason: at most 500 bytes"));
    }
    let e = visible_event(&api, &a, id).await?;
    let row = DecisionRow {
        event_id: e.id.clone(),
        decision,
        reason: b.reason.trim().to_owned(),
        username: a.user.username.clone(),
        at_unix_ms: (s.now_unix_ms)(),
    };
    let eid = e.id.clone();
    let detail = json!({"decision": b.decision, "reason": row.reason, "kind": e.kind, "camera": e.camera});
    let (username, at) = (row.username.clone(), row.at_unix_ms);
    let (stored, view) = db(&api, move |st| {
        let stored = st.decide_event(&row)?;
        Ok((stored, st.event_view(&eid)?))
    })
    .await?;
    if !stored {
        return Err(Fail::new(
            StatusCode::CONFLICT,
            format!("event {} was already decided", e.id),
        ));
    }
    api.audit(at, &username, Action::AlertDecision, &e.id, detail)?;
    let view = view.ok_or_else(|| Fail::not_found(format!("no event {}", e.id)))?;
    Ok(Json(event_json(&view)))
}

fn user_json(u: &vigie_store::UserRow) -> Value {
    json!({
        "username": u.username,
        "role": u.role.as_str(),
        "cameras": cameras_json(&u.cameras),
        "disabled": u.disabled,
        "created_unix_ms": u.created_unix_ms,
    })
}

pub async fn users(State(s): State<AppState>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let us = db(&api, |st| st.users()).await?;
    Ok(Json(Value::Array(us.iter().map(user_json).collect())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUserBody {
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    cameras: Option<Vec<String>>,
}

pub async fn create_user(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Body(b): Body<NewUserBody>,
) -> R<Response> {
    let api = api_of(&s)?;
    let role = Role::parse(&b.role)?;
    if b.password.chars().count() < 8 {
        return Err(Fail::bad_request("password: at least 8 characters"));
    }
    let password = b.password;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))??;
    let now = (s.now_unix_ms)();
    let nu = NewUser {
        username: b.username.clone(),
        password_hash: hash,
        role,
        cameras: b.cameras,
    };
    let name = b.username;
    let u = db(&api, move |st| {
        st.create_user(&nu, now)?;
        st.user_by_name(&name)
    })
    .await?
    .ok_or_else(|| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, "the new user is missing"))?;
    api.audit(
        now,
        &a.user.username,
        Action::UserChange,
        &u.username,
        json!({"created": true, "role": u.role.as_str(), "cameras": cameras_json(&u.cameras)}),
    )?;
    Ok((StatusCode::CREATED, Json(user_json(&u))).into_response())
}

pub async fn disable_user(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(name): Path<String>,
) -> R<Json<Value>> {
    let api = api_of(&s)?;
    if name == a.user.username {
        return Err(Fail::bad_request("you cannot disable your own account"));
    }
    let n = name.clone();
    if !db(&api, move |st| st.set_user_disabled(&n, true)).await? {
        return Err(Fail::not_found(format!("no user {name}")));
    }
    api.audit(
        (s.now_unix_ms)(),
        &a.user.username,
        Action::UserChange,
        &name,
        json!({"disabled": true}),
    )?;
    Ok(Json(json!({"ok": true})))
}
