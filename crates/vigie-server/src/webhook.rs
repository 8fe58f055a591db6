//! Webhooks: the event bus other systems subscribe to. Every event message (start, update, end) and every camera
//! state change is POSTed as one JSON object to each configured URL (`[server] webhooks`).
//!
//! Delivery is best effort and never slows analysis: messages go through a bounded queue (full: the message is
//! dropped and counted), each POST has a 5 s limit and is retried twice (after 0.5 s and 2 s). Plain `http://` only:
//! a receiver elsewhere is reached through a local relay that adds TLS (no TLS stack is linked for this).
//! Camera credentials never appear: messages name cameras, not URLs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vigie_core::{Result, err};

/// A parsed `http://host[:port]/path` URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            err!(
                Config,
                "webhook {url:?}: only http:// URLs (use a local relay for https)"
            )
        })?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(err!(
                Config,
                "webhook URL with credentials: put them in the receiver, not the URL"
            ));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| err!(Config, "webhook {url:?}: bad port {p:?}"))?,
            ),
            None => (authority, 80),
        };
        if host.is_empty() {
            return Err(err!(Config, "webhook {url:?}: no host"));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// The sending side; cheap to share.
pub struct Webhooks {
    tx: tokio::sync::mpsc::Sender<serde_json::Value>,
    /// Messages dropped because the queue was full.
    pub dropped: AtomicU64,
    /// Deliveries that failed after their retries.
    pub failed: Arc<AtomicU64>,
}

impl Webhooks {
    /// Starts delivery on `rt` to `urls`; `None` when there is none.
    pub fn start(urls: &[String], rt: &tokio::runtime::Handle) -> Result<Option<Arc<Webhooks>>> {
        if urls.is_empty() {
            return Ok(None);
        }
        let targets = urls.iter().map(|u| Target::parse(u)).collect::<Result<Vec<_>>>()?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<serde_json::Value>(1024);
        let failed = Arc::new(AtomicU64::new(0));
        let f2 = failed.clone();
        rt.spawn(async move {
            while let Some(msg) = rx.recv().await {
                let body = msg.to_string();
                for t in &targets {
                    let mut ok = false;
                    for delay_ms in [0u64, 500, 2000] {
                        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                        if tokio::time::timeout(Duration::from_secs(5), post(t, &body))
                            .await
                            .is_ok_and(|r| r.is_ok())
                        {
                            ok = true;
                            break;
                        }
                    }
                    if !ok {
                        f2.fetch_add(1, Ordering::Relaxed);
                        eprintln!(
                            "vigie serve: webhook http://{}:{}{}: delivery failed",
                            t.host, t.port, t.path
                        );
                    }
                }
            }
        });
        Ok(Some(Arc::new(Webhooks {
            tx,
            dropped: AtomicU64::new(0),
            failed,
        })))
    }

    /// Queues `msg` for every URL; never blocks.
    pub fn publish(&self, msg: serde_json::Value) {
        if self.tx.try_send(msg).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One POST; Ok when the receiver answered 2xx.
async fn post(t: &Target, body: &str) -> Result<()> {
    let mut s = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| err!(Io, "webhook {}:{}: {e}", t.host, t.port))?;
    let req = format!(
        "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nUser-Agent: vigie\r\nConnection: close\r\n\r\n{body}",
        t.path,
        t.host,
        t.port,
        body.len()
    );
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| err!(Io, "webhook {}:{}: {e}", t.host, t.port))?;
    let mut head = [0u8; 64];
    let n = s
        .read(&mut head)
        .await
        .map_err(|e| err!(Io, "webhook {}:{}: {e}", t.host, t.port))?;
    let line = String::from_utf8_lossy(&head[..n]);
    match line.split_whitespace().nth(1).and_then(|c| c.parse::<u16>().ok()) {
        Some(c) if (200..300).contains(&c) => Ok(()),
        other => Err(err!(Io, "webhook {}:{} answered {other:?}", t.host, t.port)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_http_urls_only() {
        assert_eq!(
            Target::parse("http://127.0.0.1:9000/hook").ok(),
            Some(Target {
                host: "127.0.0.1".into(),
                port: 9000,
                path: "/hook".into()
            })
        );
        assert_eq!(
            Target::parse("http://bus.local").map(|t| (t.port, t.path)).ok(),
            Some((80, "/".into()))
        );
        assert!(Target::parse("https://x/y").is_err());
        assert!(Target::parse("http://u:p@x/y").is_err());
        assert!(Target::parse("http://x:99999/").is_err());
    }

    #[test]
    fn delivers_json_and_counts_failures() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let got = std::thread::spawn(move || {
            let (mut c, _) = listener.accept().expect("accept");
            let mut buf = vec![0u8; 4096];
            let mut text = String::new();
            while !text.contains("\"kind\"") {
                let n = std::io::Read::read(&mut c, &mut buf).expect("read");
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
            let _ = std::io::Write::write_all(&mut c, b"HTTP/1.1 204 No Content\r\n\r\n");
            text
        });
        let hooks = Webhooks::start(&[format!("http://127.0.0.1:{port}/events")], rt.handle())
            .expect("start")
            .expect("some");
        hooks.publish(serde_json::json!({"type": "event", "kind": "intrusion"}));
        let text = got.join().expect("receiver");
        assert!(text.starts_with("POST /events HTTP/1.1"), "{text}");
        assert!(text.contains("{\"kind\":\"intrusion\",\"type\":\"event\"}") || text.contains("\"intrusion\""));
        assert_eq!(hooks.failed.load(Ordering::Relaxed), 0);
    }
}
