//! Camera credentials, and keeping them out of errors, logs and `Debug` output.
//!
//! Credentials live in [`Credentials`] (whose `Debug` prints nothing of them), never in a URL that is shown:
//! [`redact_url`] drops the user information and masks the values of query parameters that commonly carry secrets
//! (`?user=admin&password=...`, as some cameras take them). Text from other libraries (retina's errors) goes
//! through a [`Scrubber`] that masks every secret it was given, whatever the text's shape.

use std::fmt;

use url::Url;

/// Replaces a secret in anything shown.
pub const MASK: &str = "***";

/// A password or token. `Debug` prints [`MASK`]; there is no `Display`.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }

    /// The secret itself, to hand to the RTSP client and nowhere else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

/// User name and password of a camera. `Debug` prints neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            user: user.into(),
            password: Secret::new(password),
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// Query parameters whose values are masked when a URL is shown (matched case-insensitively as substrings).
const SECRET_QUERY_KEYS: &[&str] = &["user", "pass", "pwd", "token", "auth", "key", "secret", "sig"];

fn is_secret_key(k: &str) -> bool {
    let k = k.to_ascii_lowercase();
    SECRET_QUERY_KEYS.iter().any(|s| k.contains(s))
}

/// The values of a URL's query parameters that [`redact_url`] masks.
pub(crate) fn secret_query_values(url: &Url) -> Vec<String> {
    url.query_pairs()
        .filter(|(k, v)| is_secret_key(k) && !v.is_empty())
        .map(|(_, v)| v.into_owned())
        .collect()
}

/// `url` as it may be shown: no user information, secret-looking query values masked.
pub fn redact_url(url: &Url) -> String {
    let mut out = format!("{}://", url.scheme());
    if let Some(host) = url.host_str() {
        out.push_str(host);
    }
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    out.push_str(url.path());
    if url.query().is_some() {
        let pairs: Vec<String> = url
            .query_pairs()
            .map(|(k, v)| {
                if is_secret_key(&k) && !v.is_empty() {
                    format!("{k}={MASK}")
                } else if v.is_empty() {
                    k.into_owned()
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// Masks known secrets in text that came from elsewhere (another library's error message).
#[derive(Clone, Default)]
pub(crate) struct Scrubber {
    secrets: Vec<String>,
}

impl fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Scrubber({} secrets)", self.secrets.len())
    }
}

impl Scrubber {
    /// Scrubs the password (as is, percent-encoded, and as the Basic `user:password` token), the user name (3
    /// characters or more) and the secret query values of `url`.
    pub(crate) fn new(url: &Url, creds: Option<&Credentials>) -> Self {
        let mut secrets = secret_query_values(url);
        for (k, v) in url.query_pairs() {
            if is_secret_key(&k) && !v.is_empty() {
                secrets.push(percent_encode(&v));
            }
        }
        if let Some(c) = creds {
            let p = c.password.expose();
            if !p.is_empty() {
                secrets.push(p.to_string());
                secrets.push(percent_encode(p));
                secrets.push(base64(format!("{}:{}", c.user, p).as_bytes()));
            }
            // User names are masked too, unless too short to mask without garbling the text.
            if c.user.len() >= 3 {
                secrets.push(c.user.clone());
                secrets.push(percent_encode(&c.user));
            }
        }
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Scrubber { secrets }
    }

    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), MASK);
            }
        }
        out
    }
}

/// Decodes `%XX` escapes (the user information of a URL). `None` if the result is not UTF-8 or an escape is
/// malformed.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            let hi = (hex[0] as char).to_digit(16)?;
            let lo = (hex[1] as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk.len();
        let v = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= n {
                out.push(T[((v >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_urls_carry_no_secrets() {
        let u = Url::parse("rtsp://admin:s3cr%40t@cam.example:8554/live/main?channel=1&password=hunter22&user=bob")
            .expect("url");
        let shown = redact_url(&u);
        assert_eq!(
            shown,
            "rtsp://cam.example:8554/live/main?channel=1&password=***&user=***"
        );
        let u = Url::parse("rtsp://10.0.0.2/stream").expect("url");
        assert_eq!(redact_url(&u), "rtsp://10.0.0.2/stream");
    }

    #[test]
    fn scrubber_masks_every_form_of_the_password() {
        let u = Url::parse("rtsp://cam/x?token=abcdef").expect("url");
        let c = Credentials::new("admin", "p@ss w0rd");
        let s = Scrubber::new(&u, Some(&c));
        let text = "bad p@ss w0rd, p%40ss%20w0rd, Basic YWRtaW46cEBzcyB3MHJk, token abcdef";
        assert_eq!(s.scrub(text), "bad ***, ***, Basic ***, token ***");
        assert_eq!(s.scrub("user admin"), "user ***");
    }

    #[test]
    fn debug_prints_no_credentials() {
        let c = Credentials::new("admin", "hunter22");
        let d = format!("{c:?} {:?}", c.password);
        assert!(!d.contains("hunter22") && !d.contains("admin"), "{d}");
    }

    #[test]
    fn percent_and_base64() {
        assert_eq!(percent_decode("s3cr%40t%3a").as_deref(), Some("s3cr@t:"));
        assert_eq!(percent_decode("bad%4"), None);
        assert_eq!(percent_decode("%ff"), None);
        assert_eq!(base64(b"admin:hunter2"), "YWRtaW46aHVudGVyMg==");
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"abc"), "YWJj");
    }
}
