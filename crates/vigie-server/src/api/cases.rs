//! Review cases for investigators (issue 8, permission `investigate`): the cases a user is on, and the case-gated
//! search of stored tracks. A case the user is not on answers 404, like a camera they may not see; a closed or
//! expired case answers 410. Every search is in the audit log (`search`) before its results are sent.

use axum::Json;
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_audit::Action;
use vigie_store::TrackQuery;

use super::{Api, Auth, Fail, db};
use crate::http::AppState;

type R<T> = std::result::Result<T, Fail>;

fn api_of(s: &AppState) -> R<std::sync::Arc<Api>> {
    s.api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))
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
    limit: Option<u32>,
}

/// `GET /api/cases/{reference}/search`: stored tracks inside the case, its cameras (those the user may see) and
/// window. `colour` with `class=person` is refused (400): no appearance search of people.
pub async fn search(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(reference): Path<String>,
    Query(q): Query<SearchQuery>,
) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let me = a.user.username.clone();
    let r = reference.clone();
    let case = db(&api, move |st| st.case(&r))
        .await?
        .filter(|c| c.investigators.contains(&me))
        .ok_or_else(|| Fail::not_found(format!("no case {reference}")))?;
    if !case.is_open(now) {
        return Err(Fail::new(
            StatusCode::GONE,
            format!("case {reference} is closed or expired"),
        ));
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
