//! Passwords (argon2id), session and CSRF tokens, the session cookie, and the login rate limit.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::http::HeaderMap;
use sha2::{Digest, Sha256};
use vigie_core::{Result, err};

/// Failed logins allowed per user name and per client address within [`WINDOW_MS`]; one more is refused (429).
pub const MAX_FAILURES: usize = 5;
pub const WINDOW_MS: i64 = 5 * 60 * 1000;

/// An argon2id hash of `password` in PHC string form, with a random salt and the crate's default cost
/// (19 MiB, 2 passes: OWASP's minimum).
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| err!(Internal, "drawing a salt: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| err!(Internal, "encoding a salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| err!(Internal, "hashing a password: {e}"))
}

/// Whether `password` matches the PHC `hash` (false for a hash that does not parse).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the user does not exist, so that the answer takes as long either way.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("not a password").unwrap_or_default())
}

/// `n` random bytes as lower-case hex.
pub fn random_token(n: usize) -> Result<String> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).map_err(|e| err!(Internal, "drawing a random token: {e}"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// What the database keeps of a session token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The session token of the request's `vigie_session` cookie.
pub fn cookie_token(h: &HeaderMap) -> Option<String> {
    h.get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == super::COOKIE)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// `Set-Cookie` value of a session.
pub fn session_cookie(token: &str, ttl_ms: i64) -> String {
    format!(
        "{}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        super::COOKIE,
        ttl_ms / 1000
    )
}

/// `Set-Cookie` value that removes the session cookie.
pub fn cleared_cookie() -> String {
    format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", super::COOKIE)
}

/// Failed logins by key (`user:NAME`, `addr:IP`), kept for [`WINDOW_MS`].
#[derive(Default)]
pub struct RateLimiter {
    failures: Mutex<HashMap<String, Vec<i64>>>,
}

impl RateLimiter {
    /// Whether any of `keys` had [`MAX_FAILURES`] failures within the window ending at `now`; the seconds to wait
    /// if so.
    pub fn blocked(&self, keys: &[String], now: i64) -> Option<i64> {
        let mut m = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for k in keys {
            if let Some(v) = m.get_mut(k) {
                v.retain(|&t| now - t < WINDOW_MS);
                if v.len() >= MAX_FAILURES {
                    let until = v[v.len() - MAX_FAILURES] + WINDOW_MS;
                    wait = Some(wait.unwrap_or(0).max((until - now + 999) / 1000));
                }
            }
        }
        m.retain(|_, v| !v.is_empty());
        wait
    }

    pub fn failed(&self, keys: &[String], now: i64) {
        let mut m = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in keys {
            m.entry(k.clone()).or_default().push(now);
        }
    }

    /// A successful login clears its user's count (not the address's).
    pub fn succeeded(&self, user_key: &str) {
        self.failures.lock().unwrap_or_else(|p| p.into_inner()).remove(user_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_tokens_differ() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
        assert_ne!(random_token(32).unwrap(), random_token(32).unwrap());
    }

    #[test]
    fn limiter_blocks_after_five_failures_for_five_minutes() {
        let l = RateLimiter::default();
        let k = vec!["user:a".to_owned()];
        for i in 0..5 {
            assert!(l.blocked(&k, i).is_none());
            l.failed(&k, i);
        }
        assert!(l.blocked(&k, 10).is_some());
        assert!(l.blocked(&k, WINDOW_MS + 5).is_none());
    }
}
