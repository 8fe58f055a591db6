//! The public transparency register (issue 7), no login: `GET /register` (a page in French and English, static
//! files from `console/register/`, which fetch the JSON), `GET /api/register` (JSON, schema in
//! `docs/register-schema.json`) and `GET /register/signage/{camera}` (printable signage text for the camera's site).
//!
//! For each camera: its place, purpose, operator, the analytics actually running now (enabled rules whose event
//! type a valid authorisation covers), the authorisations (authority, reference, dates), the retention; how to
//! exercise one's rights; monthly statistics computed from the stored data (alerts raised, confirmed, dismissed
//! per type; recording deletions; searches and exports from the audit log) and the measured accuracy per type.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api::{Api, Fail, db};
use crate::config::{CameraConfig, ServerSection};
use crate::http::AppState;

/// What the configuration says for the register.
#[derive(Clone, Debug)]
pub struct RegisterInfo {
    pub operator: Option<String>,
    pub rights_contact: Option<String>,
    /// `[server] retention_days`.
    pub retention_days: u32,
    pub cameras: Vec<RegisterCamera>,
}

impl Default for RegisterInfo {
    fn default() -> Self {
        RegisterInfo {
            operator: None,
            rights_contact: None,
            retention_days: ServerSection::default().retention_days,
            cameras: vec![],
        }
    }
}

/// One camera's public description.
#[derive(Clone, Debug, Default)]
pub struct RegisterCamera {
    pub name: String,
    pub place: Option<String>,
    pub purpose: Option<String>,
    pub retention_days: Option<u32>,
}

impl RegisterInfo {
    pub fn from_config(server: &ServerSection, cameras: &[CameraConfig]) -> RegisterInfo {
        RegisterInfo {
            operator: server.operator.clone(),
            rights_contact: server.rights_contact.clone(),
            retention_days: server.retention_days,
            cameras: cameras
                .iter()
                .map(|c| RegisterCamera {
                    name: c.name.clone(),
                    place: c.place.clone(),
                    purpose: c.purpose.clone(),
                    retention_days: c.retention_days,
                })
                .collect(),
        }
    }
}

/// How to exercise one's rights, in both languages (the contact is added by the page).
const RIGHTS_FR: &str = "Vous pouvez demander l'accès aux images vous concernant et leur effacement auprès de \
    l'exploitant (contact ci-dessous), dans la limite de la durée de conservation. Vous pouvez aussi saisir la CNIL \
    (www.cnil.fr). Aucune reconnaissance faciale ni identification biométrique n'est faite ; chaque alerte est \
    vérifiée par un opérateur humain.";
const RIGHTS_EN: &str = "You may ask the operator (contact below) for access to images of you and for their \
    deletion, within the retention period. You may also complain to the CNIL (www.cnil.fr). No facial recognition \
    or biometric identification is done; every alert is checked by a human operator.";

/// The register as JSON (`GET /api/register`), built from the configuration, the cameras' rules in force, the
/// authorisations and the stored data.
pub async fn register_json(State(s): State<AppState>) -> Result<axum::Json<Value>, Fail> {
    let api = s
        .api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the register has no database"))?;
    Ok(axum::Json(build(&s, &api).await?))
}

async fn build(s: &AppState, api: &Arc<Api>) -> Result<Value, Fail> {
    let now = (s.now_unix_ms)();
    let auths = api.authz.snapshot();
    let info = &api.register;
    let mut cameras = Vec::new();
    for h in s.cameras.iter() {
        let desc = info
            .cameras
            .iter()
            .find(|c| c.name == h.name)
            .cloned()
            .unwrap_or_default();
        let mut analytics = Vec::new();
        for r in h.rules().rules.iter().filter(|r| r.enabled) {
            let event_type = r.kind.event_kind().map_or("line_count", |k| k.as_str());
            let auth = match crate::authz::authorising_type(r.kind) {
                None => Some(None), // counting: no authorisation needed
                Some(t) => api.authz.covering(&h.name, t, now).map(Some),
            };
            let Some(auth) = auth else { continue }; // not authorised now: not running
            if analytics.iter().any(|a: &Value| a["event_type"] == event_type) {
                continue;
            }
            analytics.push(json!({
                "event_type": event_type,
                "authorised_as": crate::authz::authorising_type(r.kind),
                "authorisation": auth.map(|a| json!({
                    "authority": a.authority,
                    "reference": a.reference,
                    "end_unix_ms": a.end_unix_ms,
                })),
            }));
        }
        let authorisations: Vec<Value> = auths
            .iter()
            .filter(|a| a.valid_at(now) && a.cameras.contains(&h.name))
            .map(|a| {
                json!({
                    "authority": a.authority,
                    "reference": a.reference,
                    "event_types": a.event_types,
                    "start_unix_ms": a.start_unix_ms,
                    "end_unix_ms": a.end_unix_ms,
                })
            })
            .collect();
        cameras.push(json!({
            "name": h.name,
            "place": desc.place,
            "purpose": desc.purpose,
            "operator": info.operator,
            "retention_days": desc.retention_days.unwrap_or(info.retention_days),
            "analytics": analytics,
            "authorisations": authorisations,
            "signage_url": format!("/register/signage/{}", h.name),
        }));
    }
    let (stats, accuracy) = db(api, move |st| Ok((st.monthly_stats()?, st.accuracy(now)?))).await?;
    // Searches and exports from the audit log (case-gated search arrives with issue 8: 0 until then).
    let (mut searches, mut exports) = (vec![], vec![]);
    if let Some(log) = &api.audit {
        let log = log.lock().unwrap_or_else(|p| p.into_inner());
        searches = log.monthly_counts(vigie_audit::Action::Search)?;
        exports = log.monthly_counts(vigie_audit::Action::Export)?;
    }
    let mut months: std::collections::BTreeSet<String> = stats.alerts.iter().map(|a| a.month.clone()).collect();
    months.extend(stats.deletions.iter().map(|d| d.month.clone()));
    months.extend(searches.iter().chain(&exports).map(|(m, _)| m.clone()));
    let count = |v: &[(String, i64)], m: &str| v.iter().find(|(x, _)| x == m).map_or(0, |(_, n)| *n);
    let months: Vec<Value> = months
        .iter()
        .map(|m| {
            json!({
                "month": m,
                "alerts": stats.alerts.iter().filter(|a| &a.month == m).map(|a| json!({
                    "event_type": a.event_type,
                    "raised": a.raised,
                    "confirmed": a.confirmed,
                    "dismissed": a.dismissed,
                })).collect::<Vec<_>>(),
                "recording_deletions": stats.deletions.iter().find(|d| &d.month == m).map_or(0, |d| d.segments),
                "searches": count(&searches, m),
                "exports": count(&exports, m),
            })
        })
        .collect();
    let accuracy: Vec<Value> = accuracy
        .by_type
        .iter()
        .map(|r| {
            json!({
                "event_type": r.key,
                "raised": r.raised,
                "decided": r.decided,
                "confirmed": r.confirmed,
                "precision": r.precision,
            })
        })
        .collect();
    Ok(json!({
        "generated_unix_ms": now,
        "operator": info.operator,
        "rights": {
            "contact": info.rights_contact,
            "text_fr": RIGHTS_FR,
            "text_en": RIGHTS_EN,
        },
        "cameras": cameras,
        "statistics": { "months": months },
        "accuracy": accuracy,
    }))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn date(unix_ms: i64) -> String {
    jiff::Timestamp::from_millisecond(unix_ms)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// `GET /register/signage/{camera}`: the printable notice for the camera's site, French and English.
pub async fn signage(State(s): State<AppState>, Path(name): Path<String>) -> Result<Response, Fail> {
    let api = s
        .api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the register has no database"))?;
    let reg = build(&s, &api).await?;
    let Some(cam) = reg["cameras"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name.as_str()))
    else {
        return Err(Fail::not_found(format!("no camera {name}")));
    };
    let text = |v: &Value| v.as_str().map(esc);
    let place = text(&cam["place"]).unwrap_or_else(|| esc(&name));
    let purpose = text(&cam["purpose"]).unwrap_or_else(|| "—".into());
    let operator = text(&reg["operator"]).unwrap_or_else(|| "—".into());
    let contact = text(&reg["rights"]["contact"]).unwrap_or_else(|| "—".into());
    let retention = cam["retention_days"].as_u64().unwrap_or(30);
    let types: Vec<String> = cam["analytics"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x["event_type"].as_str().map(esc)).collect())
        .unwrap_or_default();
    let types = if types.is_empty() {
        "—".to_owned()
    } else {
        types.join(", ")
    };
    let auths: Vec<String> = cam["authorisations"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{} ({}) → {}",
                        text(&x["reference"]).unwrap_or_default(),
                        text(&x["authority"]).unwrap_or_default(),
                        date(x["end_unix_ms"].as_i64().unwrap_or(0))
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let auths = if auths.is_empty() {
        "—".to_owned()
    } else {
        auths.join("; ")
    };
    let html = format!(
        r#"<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Vidéoprotection — {place}</title>
<link rel="stylesheet" href="/register/register.css"></head>
<body class="signage">
<section lang="fr"><h1>Zone placée sous vidéoprotection</h1>
<p class="big">Lieu : {place}</p>
<p>Finalité : {purpose}</p>
<p>Exploitant : {operator}</p>
<p>Analyse automatisée des images en temps réel (loi 2023-380, art. 10) : {types}. Sans reconnaissance faciale.
Chaque alerte est vérifiée par un opérateur.</p>
<p>Autorisation : {auths}</p>
<p>Images conservées {retention} jours au plus.</p>
<p>Droits d'accès et d'effacement : {contact} — registre public : /register</p></section>
<hr>
<section lang="en"><h1>CCTV in operation</h1>
<p class="big">Place: {place}</p>
<p>Purpose: {purpose}</p>
<p>Operator: {operator}</p>
<p>Real-time automated video analysis (law 2023-380, art. 10): {types}. No facial recognition. Every alert is
checked by an operator.</p>
<p>Authorisation: {auths}</p>
<p>Images kept {retention} days at most.</p>
<p>Access and deletion rights: {contact} — public register: /register</p></section>
</body></html>
"#
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; style-src 'self'; frame-ancestors 'none'",
            ),
        ],
        html,
    )
        .into_response())
}

/// The register page's static files (public), served like the console's.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    ("/register", HTML, include_bytes!("../console/register/index.html")),
    (
        "/register/register.js",
        JS,
        include_bytes!("../console/register/register.js"),
    ),
    (
        "/register/register.css",
        CSS,
        include_bytes!("../console/register/register.css"),
    ),
];

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
