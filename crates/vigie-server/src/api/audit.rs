//! The audit log for auditors (issue 7, permission `view_audit`): browse it, export it as JSON lines (the same
//! format as `vigie audit export`), verify it. Reads go through a read-only connection of their own
//! ([`vigie_audit::AuditReader`]), so a long export or verification never holds the writer every audited action
//! waits on. Each export is itself logged (`export`, target `audit`) before a byte is sent; browsing and verifying
//! are not (no action of the log's closed list fits them, and the schema is not changed for it).

use std::io::Write;
use std::sync::Arc;

use axum::Json;
use axum::body::{Body as HttpBody, Bytes};
use axum::extract::{Extension, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use vigie_audit::{Action, AuditReader, BrowseFilter, MAX_BROWSE};

use super::{Api, Auth, Fail, Query};
use crate::http::AppState;

type R<T> = std::result::Result<T, Fail>;

/// Entries a page of `GET /api/audit` when `limit` is not given.
const DEFAULT_LIMIT: u32 = 100;

fn api_of(s: &AppState) -> R<Arc<Api>> {
    s.api
        .clone()
        .ok_or_else(|| Fail::new(StatusCode::SERVICE_UNAVAILABLE, "the API has no database"))
}

/// Opens a read-only view of the server's audit log (with its public key and checkpoint interval), in a blocking
/// thread. 404 when this server keeps no log (only in tests).
async fn reader(api: &Arc<Api>) -> R<(AuditReader, String)> {
    let Some(log) = api.audit.clone() else {
        return Err(Fail::not_found("this server keeps no audit log"));
    };
    let (path, public_key, every) = {
        let log = log.lock().unwrap_or_else(|p| p.into_inner());
        (
            log.path().to_path_buf(),
            log.key().public_key_hex(),
            log.checkpoint_every(),
        )
    };
    blocking(move || Ok((AuditReader::open(&path)?.with_checkpoint_every(every), public_key))).await
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> vigie_core::Result<T> + Send + 'static) -> R<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Fail::new(StatusCode::INTERNAL_SERVER_ERROR, format!("audit task failed: {e}")))?
        .map_err(Fail::from)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowseQuery {
    from_unix_ms: Option<i64>,
    to_unix_ms: Option<i64>,
    actor: Option<String>,
    action: Option<String>,
    before_seq: Option<i64>,
    limit: Option<u32>,
}

/// `GET /api/audit`: `{entries: [{seq, at_unix_ms, actor, action, target, detail, prev_hash, hash}], next_before_seq}`
/// newest first; `next_before_seq` (the last seq of a full page, else `null`) asks for the next page. `limit`
/// defaults to 100, at most 500 (400 beyond); an unknown `action` is 400; blank filters are ignored.
pub async fn browse(State(s): State<AppState>, Query(q): Query<BrowseQuery>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_BROWSE {
        return Err(Fail::bad_request(format!("limit {limit}: from 1 to {MAX_BROWSE}")));
    }
    let blank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let action = blank(q.action)
        .map(|a| a.parse::<Action>())
        .transpose()
        .map_err(Fail::from)?;
    let filter = BrowseFilter {
        from_unix_ms: q.from_unix_ms,
        to_unix_ms: q.to_unix_ms,
        actor: blank(q.actor),
        action,
        before_seq: q.before_seq,
    };
    let (r, _) = reader(&api).await?;
    let entries = blocking(move || r.browse(&filter, limit)).await?;
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.seq))
        .flatten();
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|e| {
            let detail = serde_json::from_str::<Value>(&e.detail).unwrap_or_else(|_| Value::String(e.detail.clone()));
            let mut v = json!(e);
            v["detail"] = detail;
            v
        })
        .collect();
    Ok(Json(json!({ "entries": entries, "next_before_seq": next })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    from_unix_ms: Option<i64>,
    to_unix_ms: Option<i64>,
}

/// Sends what it is given as chunks of the response body; fails once the client is gone.
struct ChannelWriter(tokio::sync::mpsc::Sender<std::io::Result<Bytes>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `GET /api/audit/export`: the entries with `from_unix_ms <= at < to_unix_ms` as JSON lines
/// (`application/x-ndjson`, an attachment), exactly as `vigie audit export`; streamed. Logged first (`export`,
/// target `audit`): an export that cannot be logged is not made.
pub async fn export(
    State(s): State<AppState>,
    Extension(a): Extension<Auth>,
    Query(q): Query<ExportQuery>,
) -> R<Response> {
    let api = api_of(&s)?;
    let now = (s.now_unix_ms)();
    let (r, _) = reader(&api).await?;
    let detail = json!({ "what": "audit log export", "from_unix_ms": q.from_unix_ms, "to_unix_ms": q.to_unix_ms });
    {
        let api = api.clone();
        let user = a.user.username.clone();
        blocking(move || api.audit(now, &user, Action::Export, "audit", detail)).await?;
    }
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    let (from, to) = (q.from_unix_ms, q.to_unix_ms);
    tokio::task::spawn_blocking(move || {
        let mut w = std::io::BufWriter::with_capacity(64 * 1024, ChannelWriter(tx.clone()));
        let done = r
            .export_jsonl(from, to, &mut w)
            .and_then(|_| w.flush().map_err(|e| vigie_core::err!(Io, "writing the export: {e}")));
        if let Err(e) = done {
            // The status is already sent: end the body with an error, so the client sees a broken download.
            let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    let name = format!("vigie-audit-{now}.jsonl");
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-ndjson".to_owned()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        HttpBody::from_stream(stream),
    )
        .into_response())
}

/// `GET /api/audit/verify`: the verification report (`entries`, `checkpoints`, `anchor_seq`, `head_seq`,
/// `head_hash`, `last_checkpoint_seq`, `problem`: `null` when intact, else `{seq, to_seq, kind, what}`), plus
/// `intact` and the instance's `public_key`.
pub async fn verify(State(s): State<AppState>) -> R<Json<Value>> {
    let api = api_of(&s)?;
    let (r, public_key) = reader(&api).await?;
    let pk = public_key.clone();
    let report = blocking(move || r.verify(&pk)).await?;
    let mut v = json!(report);
    v["intact"] = json!(report.is_intact());
    v["public_key"] = json!(public_key);
    Ok(Json(v))
}
