//! Authorisations (admins: `manage_authorisations`) and the measured accuracy (supervisors, admins:
//! `view_accuracy`). Issue 7; see [`crate::authz`] for how authorisations gate the rules.

use axum::extract::{Extension, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, http};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_audit::Action;
use vigie_store::{AuthorisationId, NewAuthorisation};

use super::{Api, Auth, Body, Fail, db};
use crate::http::AppState;

type R<T> = std::result::Result<T, Fail>;

fn api_of(s: &AppState) -> R<std::sync::Arc<Api>> {
    s.api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))
}

/// Reads the authorisations again into the shared snapshot the analysis threads check.
async fn refresh(api: &std::sync::Arc<Api>) -> R<Vec<vigie_store::Authorisation>> {
    let list = db(api, |st| st.authorisations()).await?;
    api.authz.set(list.clone());
    Ok(list)
}

fn auth_json(a: &vigie_store::Authorisation, now: i64) -> Value {
    let mut v = json!(a);
    v["valid_now"] = json!(a.valid_at(now));
    v
}

/// `GET /api/authorisations`: every authorisation, with `valid_now`.
pub async fn list(State(s): State<AppState>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let list = refresh(&api).await?;
    Ok(Json(json!(list.iter().map(|a| auth_json(a, now)).collect::<Vec<_>>())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAuthorisationBody {
    authority: String,
    reference: String,
    cameras: Vec<String>,
    event_types: Vec<String>,
    start_unix_ms: i64,
    end_unix_ms: i64,
}

/// `POST /api/authorisations`: records one (201), logged as `config_change`.
pub async fn add(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Body(b): Body<NewAuthorisationBody>,
) -> R<Response> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let new = NewAuthorisation {
        authority: b.authority,
        reference: b.reference,
        cameras: b.cameras,
        event_types: b.event_types,
        start_unix_ms: b.start_unix_ms,
        end_unix_ms: b.end_unix_ms,
    };
    new.validate()?;
    let detail = json!({
        "authorisation": "added",
        "authority": new.authority,
        "reference": new.reference,
        "cameras": new.cameras,
        "event_types": new.event_types,
        "start_unix_ms": new.start_unix_ms,
        "end_unix_ms": new.end_unix_ms,
    });
    // Logged first: an authorisation that cannot be logged is not recorded.
    api.audit(now, &a.user.username, Action::ConfigChange, &new.reference, detail)?;
    let by = a.user.username.clone();
    let id = db(&api, move |st| st.add_authorisation(&new, &by, now)).await?;
    let list = refresh(&api).await?;
    let row = list
        .iter()
        .find(|x| x.id == id.0)
        .ok_or_else(|| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, "the new authorisation is missing"))?;
    Ok((StatusCode::CREATED, Json(auth_json(row, now))).into_response())
}

/// `POST /api/authorisations/{id}/revoke`: ends it now (the rules it allowed stop within seconds); 409 when
/// already revoked.
pub async fn revoke(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(id): Path<String>,
) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let id: i64 = id
        .parse()
        .map_err(|_| Fail::not_found(format!("no authorisation {id}")))?;
    let by = a.user.username.clone();
    let changed = db(&api, move |st| st.revoke_authorisation(AuthorisationId(id), &by, now)).await?;
    if !changed {
        return Err(Fail::new(
            http::StatusCode::CONFLICT,
            format!("authorisation {id} is already revoked"),
        ));
    }
    api.audit(
        now,
        &a.user.username,
        Action::ConfigChange,
        &id.to_string(),
        json!({"authorisation": "revoked", "id": id}),
    )?;
    let list = refresh(&api).await?;
    let row = list
        .iter()
        .find(|x| x.id == id)
        .ok_or_else(|| Fail::not_found(format!("no authorisation {id}")))?;
    Ok(Json(auth_json(row, now)))
}

/// `GET /api/accuracy`: precision per event type, per camera (the user's cameras) with false alarms per
/// camera-day, and per week, from the operators' decisions.
pub async fn accuracy(State(s): State<AppState>, Extension(a): Extension<Auth>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let mut acc = db(&api, move |st| st.accuracy(now)).await?;
    acc.by_camera.retain(|c| a.user.may_see(&c.row.key));
    Ok(Json(json!(acc)))
}
