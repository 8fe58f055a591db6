//! The parking pre-check for sworn agents and the payment provider (issue 4): the queue of unpaid-looking
//! vehicles with their evidence, the agent's decision, and paid sessions arriving by API. The parking data lives in
//! its own database file (vigie-plates), never joined with events; every look at a plate and every decision goes to
//! the audit log.

use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_audit::Action;
use vigie_plates::parking::{NewSession, ParkingStore, PrecheckId};

use super::{Api, Auth, Body, Fail};
use crate::http::AppState;

type R<T> = std::result::Result<T, Fail>;

fn parking_of(s: &AppState) -> R<(Arc<Api>, Arc<Mutex<ParkingStore>>)> {
    let api = s
        .api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))?;
    let p = api
        .parking
        .clone()
        .ok_or_else(|| Fail::not_found("no parking zones are configured on this server"))?;
    Ok((api, p))
}

/// Runs `f` on the parking store in a blocking thread.
async fn with_parking<T: Send + 'static>(
    p: Arc<Mutex<ParkingStore>>,
    f: impl FnOnce(&mut ParkingStore) -> vigie_core::Result<T> + Send + 'static,
) -> R<T> {
    tokio::task::spawn_blocking(move || {
        let mut g = p.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut g)
    })
    .await
    .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, format!("parking task failed: {e}")))?
    .map_err(Fail::from)
}

/// `GET /api/parking/queue`: the records waiting for an agent.
pub async fn queue(State(s): State<AppState>, Extension(a): Extension<Auth>) -> R<Json<Value>> {
    let (api, p) = parking_of(&s)?;
    let now = (s.now_unix_ms)();
    let agent = a.user.username.clone();
    let items = with_parking(p, move |st| st.queue(&agent, now)).await?;
    api.audit(
        now,
        &a.user.username,
        Action::PlateLookup,
        "parking queue",
        json!({"records": items.len()}),
    )?;
    Ok(Json(Value::Array(
        items
            .iter()
            .map(|q| {
                json!({
                    "id": q.id.0,
                    "zone": q.zone_name,
                    "camera": q.camera,
                    "plate": q.plate,
                    "confidence": q.confidence,
                    "observed_unix_ms": q.first_seen_unix_ms,
                    "queued_unix_ms": q.queued_unix_ms,
                    "last_seen_unix_ms": q.last_seen_unix_ms,
                    "paid_session_found": q.paid_session_found,
                    "evidence": [
                        format!("/api/parking/{}/evidence/0.jpg", q.id.0),
                        format!("/api/parking/{}/evidence/1.jpg", q.id.0),
                    ],
                })
            })
            .collect(),
    )))
}

/// `GET /api/parking/{id}/evidence/{n}.jpg` (the path's last part is `0.jpg` or `1.jpg`).
pub async fn evidence(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path((id, file)): Path<(i64, String)>,
) -> R<Response> {
    let (api, p) = parking_of(&s)?;
    let n: usize = file
        .strip_suffix(".jpg")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| Fail::not_found(format!("no evidence {file}")))?;
    let now = (s.now_unix_ms)();
    let agent = a.user.username.clone();
    let crops = with_parking(p, move |st| st.evidence(PrecheckId(id), &agent, now)).await?;
    let crop = crops
        .into_iter()
        .nth(n)
        .ok_or_else(|| Fail::not_found(format!("record {id} has no evidence {n}")))?;
    api.audit(
        now,
        &a.user.username,
        Action::PlateLookup,
        &format!("parking:{id}"),
        json!({"evidence": n}),
    )?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        crop.jpeg,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmBody {
    /// The fine's (FPS) reference, as the agent's system gives it.
    reference: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DismissBody {
    reason: String,
}

/// `POST /api/parking/{id}/confirm`: the sworn agent confirms the non-payment; the fine is started elsewhere
/// with this reference. Final.
pub async fn confirm(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(id): Path<i64>,
    Body(b): Body<ConfirmBody>,
) -> R<Json<Value>> {
    let (api, p) = parking_of(&s)?;
    let now = (s.now_unix_ms)();
    let agent = a.user.username.clone();
    let reference = b.reference.clone();
    with_parking(p, move |st| st.confirm(PrecheckId(id), &agent, &reference, now)).await?;
    api.audit(
        now,
        &a.user.username,
        Action::AlertDecision,
        &format!("parking:{id}"),
        json!({"decision": "confirm", "reference": b.reference}),
    )?;
    Ok(Json(json!({"ok": true})))
}

/// `POST /api/parking/{id}/dismiss`: the agent dismisses with a reason; the plate is deleted. Final.
pub async fn dismiss(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Path(id): Path<i64>,
    Body(b): Body<DismissBody>,
) -> R<Json<Value>> {
    let (api, p) = parking_of(&s)?;
    let now = (s.now_unix_ms)();
    let agent = a.user.username.clone();
    let reason = b.reason.clone();
    with_parking(p, move |st| st.dismiss(PrecheckId(id), &agent, &reason, now)).await?;
    api.audit(
        now,
        &a.user.username,
        Action::AlertDecision,
        &format!("parking:{id}"),
        json!({"decision": "dismiss", "reason": b.reason}),
    )?;
    Ok(Json(json!({"ok": true})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentBody {
    plate: String,
    zone: String,
    start_unix_ms: i64,
    end_unix_ms: i64,
    /// The provider's id of the payment (a retry with the same reference replaces the earlier session).
    #[serde(default)]
    reference: Option<String>,
}

/// `POST /api/payments`: a paid session from the payment provider. Stored as a keyed digest of the plate only.
pub async fn payment(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Body(b): Body<PaymentBody>,
) -> R<Response> {
    let (api, p) = parking_of(&s)?;
    let now = (s.now_unix_ms)();
    let zone = b.zone.clone();
    let session = NewSession {
        plate: b.plate,
        zone: b.zone,
        start_unix_ms: b.start_unix_ms,
        end_unix_ms: b.end_unix_ms,
        reference: b.reference,
    };
    let id = with_parking(p, move |st| st.add_session(&session, now)).await?;
    api.audit(
        now,
        &a.user.username,
        Action::ConfigChange,
        "payments",
        json!({"session": id.0, "zone": zone}),
    )?;
    Ok((StatusCode::CREATED, Json(json!({"session": id.0}))).into_response())
}
