//! Review cases for investigators (issue 8, permission `investigate`): the cases a user is on, and the case-gated
//! search of stored tracks, or of plates in a case whose order allows it (403 otherwise). A case the user is not
//! on answers 404, like a camera they may not see; a closed or expired case answers 410. Every search is in the
//! audit log (`search`, `plate_lookup`) before its results are sent. A hit's
//! thumbnail and the recording at a moment ([`thumb`], [`recording`]) are gated the same way (the case's cameras
//! and window) and logged.

use axum::Json;
use axum::extract::{Extension, Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_audit::Action;
use vigie_store::{Case, TrackQuery};

use super::{Api, Auth, Fail, Query, db};
use crate::http::AppState;

type R<T> = std::result::Result<T, Fail>;

fn api_of(s: &AppState) -> R<std::sync::Arc<Api>> {
    s.api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))
}

/// The open case `reference` the user is an investigator on: 404 for a case they are not on (or none), 410 once
/// closed or expired.
async fn open_case(api: &std::sync::Arc<Api>, a: &Auth, reference: &str, now: i64) -> R<Case> {
    let me = a.user.username.clone();
    let r = reference.to_owned();
    let case = db(api, move |st| st.case(&r))
        .await?
        .filter(|c| c.investigators.contains(&me))
        .ok_or_else(|| Fail::not_found(format!("no case {reference}")))?;
    if !case.is_open(now) {
        return Err(Fail::new(
            StatusCode::GONE,
            format!("case {reference} is closed or expired"),
        ));
    }
    Ok(case)
}

/// `GET /api/cases`: the cases the user is an investigator on, newest first, with `open`.
pub async fn list(State(s): State<AppState>, Extension(a): Extension<Auth>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let me = a.user.username.clone();
    let cases = db(&api, |st| st.cases()).await?;
    let v: Vec<Value> = cases
        .into_iter()
        .filter(|c| c.investigators.contains(&me))
        .map(|c| {
            let mut v = json!(c);
            v["open"] = json!(c.is_open(now));
            v
        })
        .collect();
    Ok(Json(Value::Array(v)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    class: Option<String>,
    colour: Option<String>,
    camera: Option<String>,
    from_unix_ms: Option<i64>,
    to_unix_ms: Option<i64>,
    zone: Option<String>,
    line: Option<String>,
    min_dwell_s: Option<f64>,
    /// A plate, exact or with `*` (any characters) and `?` (one): only in a case that allows plate searches.
    plate: Option<String>,
    limit: Option<u32>,
}

/// `GET /api/cases/{reference}/search`: stored tracks inside the case, its cameras (those the user may see) and
/// window. `colour` with `class=person` is refused (400): no appearance search of people. With `plate`, the plate
/// hits of the track plate database instead ([`plate_search`]).
pub async fn search(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(reference): Path<String>,
    Query(q): Query<SearchQuery>,
) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let case = open_case(&api, &a, &reference, now).await?;
    if let Some(pattern) = q.plate.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        return plate_search(&api, &a, &case, pattern.to_owned(), &q, now).await;
    }
    let classes: Vec<String> = match q.class.as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some("two-wheeler") => vec!["bicycle".into(), "motorcycle".into()],
        Some("van") => vec!["truck".into()],
        Some(c) => vec![c.to_owned()],
    };
    if q.colour.is_some() && classes.iter().any(|c| c == "person") {
        return Err(Fail::bad_request(
            "colour with class person: people are found by class, place, time and direction only",
        ));
    }
    let visible: Vec<String> = case.cameras.iter().filter(|c| a.user.may_see(c)).cloned().collect();
    let cameras = match q.camera.filter(|c| !c.is_empty()) {
        Some(c) if visible.contains(&c) => vec![c],
        Some(c) => return Err(Fail::not_found(format!("no camera {c} in case {reference}"))),
        None if visible.is_empty() => return Ok(Json(Value::Array(Vec::new()))),
        None => visible,
    };
    let min_dwell_ms = match q.min_dwell_s {
        Some(d) if d.is_finite() && d >= 0.0 => Some((d * 1000.0) as i64),
        Some(_) => return Err(Fail::bad_request("min_dwell_s: a number of seconds, 0 or more")),
        None => None,
    };
    let query = TrackQuery {
        classes,
        colour: q.colour.map(|c| c.trim().to_ascii_lowercase()),
        cameras,
        from_unix_ms: q.from_unix_ms,
        to_unix_ms: q.to_unix_ms,
        zone: q.zone,
        line: q.line,
        min_dwell_ms,
        limit: Some(q.limit.unwrap_or(200).clamp(1, 1000)),
    };
    let detail = json!({"class": q.class, "colour": query.colour, "cameras": query.cameras,
                        "from_unix_ms": q.from_unix_ms, "to_unix_ms": q.to_unix_ms, "zone": query.zone,
                        "line": query.line, "min_dwell_s": q.min_dwell_s});
    let c = case.clone();
    let hits = db(&api, move |st| st.search_tracks(&c, &query, now)).await?;
    let mut detail = detail;
    detail["results"] = json!(hits.len());
    api.audit(
        now,
        &a.user.username,
        Action::Search,
        &format!("case:{}", case.reference),
        detail,
    )
    .map_err(Fail::from)?;
    Ok(Json(json!(hits)))
}

/// The plate search of [`search`] (legal.md: plate data is kept apart, with separate access): only in a case whose
/// order allows it (403 otherwise), alone (with `camera`, `from_unix_ms`, `to_unix_ms`; 400 with another filter),
/// over the case's cameras the user may see and its window, in the track plate database (never the main one).
/// Logged (`plate_lookup`) before the hits are sent: `{run, track_id, camera, class, first_unix_ms, last_unix_ms,
/// plate, confidence}` in time order, so that thumbnails and recordings work as for tracks.
async fn plate_search(
    api: &std::sync::Arc<Api>,
    a: &Auth,
    case: &Case,
    pattern: String,
    q: &SearchQuery,
    now: i64,
) -> R<Json<Value>> {
    if !case.plates_allowed {
        return Err(Fail::new(
            StatusCode::FORBIDDEN,
            format!(
                "case {} does not allow plate searches: its order must allow them (vigie case open --plates)",
                case.reference
            ),
        ));
    }
    if q.class.is_some() || q.colour.is_some() || q.zone.is_some() || q.line.is_some() || q.min_dwell_s.is_some() {
        return Err(Fail::bad_request(
            "plate is searched alone (with camera, from_unix_ms, to_unix_ms)",
        ));
    }
    vigie_plates::plate_glob(&pattern)?; // 400 for a bad pattern, before anything is looked up
    let visible: Vec<String> = case.cameras.iter().filter(|c| a.user.may_see(c)).cloned().collect();
    let cameras = match q.camera.clone().filter(|c| !c.is_empty()) {
        Some(c) if visible.contains(&c) => vec![c],
        Some(c) => return Err(Fail::not_found(format!("no camera {c} in case {}", case.reference))),
        None => visible,
    };
    let from = q.from_unix_ms.map_or(case.from_unix_ms, |f| f.max(case.from_unix_ms));
    let to = q.to_unix_ms.map_or(case.to_unix_ms, |t| t.min(case.to_unix_ms));
    let limit = q.limit.unwrap_or(200).clamp(1, 1000) as usize;
    let found = match (&api.plates_db, cameras.is_empty() || to <= from) {
        (Some(path), false) if path.exists() => {
            let (path, pattern, cams) = (path.clone(), pattern.clone(), cameras.clone());
            tokio::task::spawn_blocking(move || {
                vigie_plates::TrackPlateStore::open(&path, now)?.find(&pattern, &cams, from, to)
            })
            .await
            .map_err(internal)??
        }
        _ => Vec::new(),
    };
    let hits: Vec<Value> = found
        .iter()
        .take(limit)
        .map(|p| {
            json!({"run": p.run_id, "track_id": p.track_id, "camera": p.camera, "class": p.class,
                   "first_unix_ms": p.first_seen_unix_ms, "last_unix_ms": p.last_seen_unix_ms,
                   "plate": p.plate, "confidence": p.confidence})
        })
        .collect();
    api.audit(
        now,
        &a.user.username,
        Action::PlateLookup,
        &format!("case:{}", case.reference),
        json!({"plate": pattern, "cameras": cameras, "from_unix_ms": from, "to_unix_ms": to,
               "results": hits.len()}),
    )?;
    Ok(Json(Value::Array(hits)))
}

/// Thumbnail views are logged once per user and case every 10 minutes (a search shows up to hundreds of them;
/// the search itself is logged each time). Keyed by the server's [`Api`] too (tests run several in a process).
type Logged = Vec<(usize, String, String, i64)>;
static THUMBS_LOGGED: std::sync::Mutex<Logged> = std::sync::Mutex::new(Vec::new());

fn thumbs_to_log(api: &std::sync::Arc<Api>, user: &str, case: &str, now: i64) -> bool {
    let server = std::sync::Arc::as_ptr(api) as usize;
    let mut seen = THUMBS_LOGGED.lock().unwrap_or_else(|p| p.into_inner());
    seen.retain(|(_, _, _, t)| now - t < 600_000);
    if seen.iter().any(|(s, u, c, _)| *s == server && u == user && c == case) {
        return false;
    }
    seen.push((server, user.to_owned(), case.to_owned(), now));
    true
}

fn internal(e: impl std::fmt::Display) -> Fail {
    Fail::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// `GET /api/cases/{reference}/tracks/{run}/{track}/thumb.jpg`: the track's best box, cropped (people blurred);
/// 404 for a track outside the case's cameras (those the user may see) and window.
pub async fn thumb(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path((reference, run, track)): Path<(String, String, String)>,
) -> R<Response> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let case = open_case(&api, &a, &reference, now).await?;
    let missing = || Fail::not_found(format!("no track {run}/{track} in case {reference}"));
    let (Ok(run_id), Ok(track_id)) = (run.parse::<i64>(), track.parse::<u64>()) else {
        return Err(missing());
    };
    let c = case.clone();
    let t = db(&api, move |st| st.case_track(&c, run_id, track_id, now))
        .await?
        .filter(|t| a.user.may_see(&t.camera))
        .ok_or_else(missing)?;
    // The picture is of the best box's moment: none when that moment is outside the case's window.
    if t.best_unix_ms < case.from_unix_ms || t.best_unix_ms >= case.to_unix_ms {
        return Err(Fail::not_found(format!(
            "the best picture of track {run}/{track} is outside the window of case {reference}"
        )));
    }
    if thumbs_to_log(&api, &a.user.username, &case.reference, now) {
        api.audit(
            now,
            &a.user.username,
            Action::Search,
            &format!("case:{}", case.reference),
            json!({"what": "result thumbnails", "first": {"run": run_id, "track": track_id}}),
        )?;
    }
    let (camera, at) = (t.camera.clone(), t.best_unix_ms);
    let segments = match (&t.output_dir, &api.recordings) {
        (None, Some(_)) => {
            db(&api, move |st| match st.camera_id(&camera)? {
                Some(c) => st.segments(c, at - 1, at + 1),
                None => Ok(Vec::new()),
            })
            .await?
        }
        _ => Vec::new(),
    };
    let root = api.recordings.clone();
    let masks = api.privacy_masks.get(&t.camera).cloned().unwrap_or_default();
    let bytes =
        tokio::task::spawn_blocking(move || super::case_media::thumbnail(&t, root.as_deref(), &segments, &masks))
            .await
            .map_err(internal)??
            .ok_or_else(|| Fail::not_found(format!("no picture of track {run}/{track}")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "private, max-age=300"),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordingQuery {
    camera: String,
    at_unix_ms: i64,
    /// Seconds before `at` (default 10, at most 300).
    before_s: Option<u32>,
    /// Seconds after `at` (default 20, at most 300).
    after_s: Option<u32>,
}

/// `GET /api/cases/{reference}/recording.mp4?camera=&at_unix_ms=`: the camera's recording around that moment,
/// remuxed, clamped to the case's window; 404 for a camera outside the case (or the user's cameras) or a moment
/// outside its window. Logged (`export`, like an event's clip). `X-Vigie-Start-Unix-Ms`: the wall-clock time of
/// the clip's time 0.
pub async fn recording(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(reference): Path<String>,
    Query(q): Query<RecordingQuery>,
) -> R<Response> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let case = open_case(&api, &a, &reference, now).await?;
    if !case.cameras.contains(&q.camera) || !a.user.may_see(&q.camera) {
        return Err(Fail::not_found(format!("no camera {} in case {reference}", q.camera)));
    }
    if q.at_unix_ms < case.from_unix_ms || q.at_unix_ms >= case.to_unix_ms {
        return Err(Fail::not_found(format!(
            "that moment is outside the window of case {reference}"
        )));
    }
    let from = (q.at_unix_ms - i64::from(q.before_s.unwrap_or(10).min(300)) * 1000).max(case.from_unix_ms);
    let to = (q.at_unix_ms + i64::from(q.after_s.unwrap_or(20).min(300)) * 1000).min(case.to_unix_ms);
    api.audit(
        now,
        &a.user.username,
        Action::Export,
        &format!("case:{}", case.reference),
        json!({"what": "case recording view", "camera": q.camera, "from_unix_ms": from, "to_unix_ms": to}),
    )?;
    let Some(root) = api.recordings.clone() else {
        return Err(Fail::not_found("this server keeps no recordings"));
    };
    let camera = q.camera.clone();
    let segments = db(&api, move |st| match st.camera_id(&camera)? {
        Some(c) => st.segments(c, from, to + 1),
        None => Ok(Vec::new()),
    })
    .await?;
    let out = std::env::temp_dir().join(format!("vigie-case-{}.mp4", super::auth::random_token(8)?));
    // A camera with privacy masks: re-encoded with the masks filled, like an event's clip (issue 7). Re-encoded
    // too when the clip starts at the case's window: a remux would start at the key frame before it.
    let masks = api.privacy_masks.get(&q.camera).cloned().unwrap_or_default();
    let strict_start = from == case.from_unix_ms;
    let bytes = tokio::task::spawn_blocking(move || {
        super::clip::clip_bytes(&root, &segments, (from, to), &masks, strict_start, &out)
    })
    .await
    .map_err(internal)??
    .ok_or_else(|| Fail::not_found(format!("no recording of {} covers that moment", q.camera)))?;
    Ok((
        [
            (header::CONTENT_TYPE, "video/mp4".to_owned()),
            (header::CACHE_CONTROL, "no-store".to_owned()),
            (
                header::HeaderName::from_static("x-vigie-start-unix-ms"),
                from.to_string(),
            ),
        ],
        bytes,
    )
        .into_response())
}
