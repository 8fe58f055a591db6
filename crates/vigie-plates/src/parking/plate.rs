//! Plate text normalisation and the keyed digest that paid sessions are stored under.

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};
use vigie_core::{Error, ErrorKind, Result, bail};

/// Shortest and longest normalised plate accepted. French plates have 7 characters (SIV `AA123AA`) or 6 to 8 (FNI);
/// other European plates 2 to 10.
pub const PLATE_LEN: std::ops::RangeInclusive<usize> = 2..=10;

/// Normalises a plate as read or as sent by a payment provider: ASCII letters upper-cased, separators (spaces,
/// `-`, `.`, `_`, `/`, `·`) removed. `None` when anything else is left (a lower-case accented letter, a symbol, a
/// control character) or when the result is not [`PLATE_LEN`] characters long: such a text is not a plate.
///
/// `normalise_plate("aa-123 aa") == Some("AA123AA")`.
pub fn normalise_plate(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => out.push(c.to_ascii_uppercase()),
            '-' | '.' | '_' | '/' | '·' => {}
            c if c.is_whitespace() => {}
            _ => return None,
        }
    }
    PLATE_LEN.contains(&out.len()).then_some(out)
}

/// The secret key paid-session plates are digested with (HMAC-SHA256), so that the plate database never holds the
/// plate text of a vehicle that paid (see the module documentation).
///
/// Keep it outside the database, readable only by the Vigie service: whoever has both can test a guessed plate
/// against the stored digests; whoever has the database alone cannot (a plain hash could be reversed by trying the
/// few hundred million possible plates). The database stores a check value, so opening it with another key is
/// refused instead of silently matching nothing (which would queue every paying driver).
#[derive(Clone, PartialEq, Eq)]
pub struct PlateKey([u8; 32]);

impl fmt::Debug for PlateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlateKey(..)") // never print the secret
    }
}

impl PlateKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        PlateKey(bytes)
    }

    /// Reads the key from `path` (64 hex digits, surrounding white space ignored), or, when the file does not exist,
    /// draws a new one from the operating system (`/dev/urandom`) and writes it there, readable by its owner only
    /// (mode 0600).
    pub fn load_or_create(path: &Path) -> Result<PlateKey> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse_hex(text.trim()).ok_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("plate key file {path:?}: expected 64 hex digits"),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                std::fs::File::open("/dev/urandom")
                    .and_then(|mut f| f.read_exact(&mut bytes))
                    .map_err(|e| Error::wrap(ErrorKind::Io, "drawing a plate key from /dev/urandom", e))?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                options
                    .open(path)
                    .and_then(|mut f| f.write_all(format!("{hex}\n").as_bytes()).and_then(|()| f.sync_all()))
                    .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing plate key file {path:?}"), e))?;
                Ok(PlateKey(bytes))
            }
            Err(e) => Err(Error::wrap(
                ErrorKind::Io,
                format!("reading plate key file {path:?}"),
                e,
            )),
        }
    }

    fn parse_hex(s: &str) -> Option<PlateKey> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(PlateKey(out))
    }

    /// The digest a paid session's plate is stored under: HMAC-SHA256 of the normalised plate, with a prefix that
    /// keeps it apart from the key check.
    pub(crate) fn plate_digest(&self, normalised: &str) -> [u8; 32] {
        hmac_sha256(&self.0, &[b"vigie-plates plate\0", normalised.as_bytes()])
    }

    /// The value stored in `meta.key_check`: tells whether a database was created with this key.
    pub(crate) fn check_value(&self) -> [u8; 32] {
        hmac_sha256(&self.0, &[b"vigie-plates key check"])
    }
}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts`, for a key of at most 64 bytes.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    assert!(
        key.len() <= 64,
        "HMAC keys longer than the block are hashed first; not needed here"
    );
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let mut inner = Sha256::new();
    inner.update(ipad);
    for p in parts {
        inner.update(p);
    }
    let mut outer = Sha256::new();
    outer.update(opad);
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Refuses a free text (a dismissal reason, a fine reference) that repeats the plate: it would outlive the plate,
/// which is erased at the decision.
pub(crate) fn refuse_plate_in_text(text: &str, plate: &str, what: &str) -> Result<()> {
    let squeezed: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if squeezed.contains(plate) {
        bail!(
            InvalidArgument,
            "the {what} must not repeat the plate: the plate is erased at the decision and the {what} is kept"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_plates() {
        assert_eq!(normalise_plate("aa-123 aa").as_deref(), Some("AA123AA"));
        assert_eq!(normalise_plate(" 1234 ab 56 ").as_deref(), Some("1234AB56"));
        assert_eq!(normalise_plate("AB·123·CD").as_deref(), Some("AB123CD"));
        assert_eq!(normalise_plate(""), None);
        assert_eq!(normalise_plate("A"), None);
        assert_eq!(normalise_plate("AB123CDEFGH"), None); // 11 characters
        assert_eq!(normalise_plate("AB-123-ÇD"), None);
        assert_eq!(normalise_plate("AB;123"), None);
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]);
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn key_file_is_created_then_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plates.key");
        let a = PlateKey::load_or_create(&path).unwrap();
        let b = PlateKey::load_or_create(&path).unwrap();
        assert_eq!(a, b);
        assert_eq!(format!("{a:?}"), "PlateKey(..)");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "not hex").unwrap();
        assert_eq!(PlateKey::load_or_create(&path).unwrap_err().kind(), ErrorKind::Config);
    }

    #[test]
    fn free_text_must_not_repeat_the_plate() {
        assert!(refuse_plate_in_text("resident permit on the dashboard", "AB123CD", "reason").is_ok());
        assert!(refuse_plate_in_text("car ab-123-cd has a permit", "AB123CD", "reason").is_err());
    }
}
