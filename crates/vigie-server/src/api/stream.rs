//! `/api/stream`: Server-Sent Events. One task per connection polls the database (every
//! [`super::Api::stream_poll_ms`]) for new or changed events and new decisions, and the metrics for camera state
//! changes, filtered by the user's cameras and permissions; it ends when the client goes or the session ends.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::response::sse::{Event, KeepAlive, Sse};
use serde_json::json;
use vigie_store::EventFilter;

use super::handlers::event_json;
use super::{Auth, Fail, Perm, allows, db};
use crate::http::AppState;

pub async fn handler(State(s): State<AppState>, Extension(a): Extension<Auth>) -> Result<impl IntoResponse, Fail> {
    let api = s
        .api
        .clone()
        .ok_or_else(|| Fail::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))?;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(64);
    let alerts = allows(a.user.role, Perm::ViewAlerts);
    let live = allows(a.user.role, Perm::ViewLive);
    tokio::spawn(async move {
        // What the client has been sent: per event (end, confidence, decided), per camera (state, since).
        let mut seen: HashMap<String, (Option<i64>, u32, bool)> = HashMap::new();
        let mut states: HashMap<String, (&'static str, i64)> = HashMap::new();
        let mut first = true;
        let every = Duration::from_millis(api.stream_poll_ms.max(10));
        loop {
            let now = (s.now_unix_ms)();
            let h = a.token_sha256;
            match db(&api, move |st| st.session(&h, now)).await {
                Ok(Some(_)) => {}
                _ => return, // logged out or expired
            }
            if live {
                for c in s.cameras.iter().filter(|c| a.user.may_see(&c.name)) {
                    let st = c.metrics.state();
                    let cur = (st.state, st.since_unix_ms);
                    if states.get(&c.name) != Some(&cur) {
                        states.insert(c.name.clone(), cur);
                        let data = json!({
                            "name": c.name,
                            "state": st.state,
                            "since_unix_ms": st.since_unix_ms,
                            "detail": st.detail,
                        });
                        if tx
                            .send(Event::default().event("camera").data(data.to_string()))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                }
            }
            if alerts {
                let f = EventFilter {
                    cameras: a.user.cameras.clone(),
                    decided: None,
                    limit: 200,
                };
                let rows = db(&api, move |st| st.event_views(&f)).await.unwrap_or_default();
                for e in rows.iter().rev() {
                    let key = (e.end_unix_ms, e.confidence.to_bits(), e.decision.is_some());
                    let before = seen.insert(e.id.clone(), key);
                    if first {
                        continue; // the console loads the current list with GET /api/events
                    }
                    let mut out = Vec::new();
                    match before {
                        None => out.push(("alert", event_json(e))),
                        Some(b) if b == key => {}
                        Some(b) => {
                            if (b.0, b.1) != (key.0, key.1) {
                                out.push(("alert", event_json(e)));
                            }
                            if !b.2 && key.2 {
                                let ej = event_json(e);
                                out.push((
                                    "decision",
                                    json!({
                                        "event_id": e.id,
                                        "status": ej["status"],
                                        "decided_by": ej["decided_by"],
                                        "decided_unix_ms": ej["decided_unix_ms"],
                                        "reason": ej["reason"],
                                    }),
                                ));
                            }
                        }
                    }
                    for (name, v) in out {
                        if tx.send(Event::default().event(name).data(v.to_string())).await.is_err() {
                            return;
                        }
                    }
                }
                if seen.len() > 1000 {
                    let keep: std::collections::HashSet<&String> = rows.iter().map(|e| &e.id).collect();
                    seen.retain(|k, _| keep.contains(k));
                }
            }
            first = false;
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|e| (Ok::<_, Infallible>(e), rx))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}
