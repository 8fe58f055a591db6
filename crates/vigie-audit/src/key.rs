//! The instance key: the Ed25519 key that signs the audit log's checkpoints (and, issue 8, exports).
//!
//! One key per installation, in a file of its own (default `<database folder>/instance.key`): one line, the 32-byte
//! secret seed as 64 lowercase hex digits. The file is created once, atomically and with mode 0600 (written to a
//! temporary file in the same folder, synced, then hard-linked to its name, which fails rather than replaces when
//! another process created it first). A file that exists but does not hold a key is an error naming it: a key is
//! never silently replaced, since every signature made with the old one would stop verifying. A key file readable
//! by group or others is refused too.
//!
//! Verifying needs only the public key ([`InstanceKey::public_key_hex`]), which can be published (transparency
//! register) and handed to auditors.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use vigie_core::{Error, ErrorKind, Result, bail, err};

/// An Ed25519 signature, 64 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(pub [u8; 64]);

impl Signature {
    /// A signature from stored bytes; `None` unless exactly 64 of them.
    pub fn from_slice(b: &[u8]) -> Option<Signature> {
        <[u8; 64]>::try_from(b).ok().map(Signature)
    }

    pub fn to_hex(&self) -> String {
        hex(&self.0)
    }
}

impl std::fmt::Debug for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Signature({})", self.to_hex())
    }
}

/// The instance's signing key. The secret never leaves this type (it is zeroed on drop by `ed25519-dalek`).
pub struct InstanceKey {
    key: SigningKey,
    path: PathBuf,
}

impl std::fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstanceKey")
            .field("path", &self.path)
            .field("public_key", &self.public_key_hex())
            .finish()
    }
}

impl InstanceKey {
    /// Loads the key at `path`, or creates it there (and its folder) when no file exists.
    pub fn load_or_create(path: &Path) -> Result<InstanceKey> {
        match InstanceKey::load(path) {
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            other => return other,
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating the folder {}", dir.display()), e))?;
        }
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| err!(Internal, "no random bytes for the instance key: {e}"))?;
        let key = SigningKey::from_bytes(&seed);
        seed.fill(0);
        let mut text = hex(key.as_bytes());
        text.push('\n');
        match write_new_file(path, text.as_bytes()) {
            Ok(()) => Ok(InstanceKey {
                key,
                path: path.to_path_buf(),
            }),
            // Another process created it between our load and our link: use theirs.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => InstanceKey::load(path),
            Err(e) => Err(Error::wrap(
                ErrorKind::Io,
                format!("creating the instance key {}", path.display()),
                e,
            )),
        }
    }

    /// Loads the key at `path`: `NotFound` when there is no file, `InvalidData` naming the file when it does not hold
    /// a key or when group or others may read it.
    pub fn load(path: &Path) -> Result<InstanceKey> {
        let meta = fs::metadata(path).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Io
            };
            Error::wrap(kind, format!("instance key {}", path.display()), e)
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            bail!(
                InvalidData,
                "instance key {}: readable by group or others (mode {:o}); run chmod 600 on it",
                path.display(),
                meta.permissions().mode() & 0o777
            );
        }
        let text = fs::read(path)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("reading the instance key {}", path.display()), e))?;
        let seed = std::str::from_utf8(&text)
            .ok()
            .map(str::trim)
            .and_then(unhex)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| {
                err!(
                    InvalidData,
                    "instance key {}: corrupt (expected one line of 64 hex digits); it is not replaced, since \
                     signatures made with the old key would no longer verify: restore it from a backup",
                    path.display()
                )
            })?;
        Ok(InstanceKey {
            key: SigningKey::from_bytes(&seed),
            path: path.to_path_buf(),
        })
    }

    /// Where the key was loaded from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The public key, 32 bytes.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    /// The public key as 64 lowercase hex digits.
    pub fn public_key_hex(&self) -> String {
        hex(&self.public_key())
    }

    pub fn sign(&self, msg: &[u8]) -> Signature {
        Signature(self.key.sign(msg).to_bytes())
    }
}

/// Whether `sig` is `public_key_hex`'s signature of `msg` (strict Ed25519 verification). An error only when the
/// public key itself is malformed.
pub fn verify(public_key_hex: &str, msg: &[u8], sig: &Signature) -> Result<bool> {
    let pk = unhex(public_key_hex)
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| err!(InvalidArgument, "public key {public_key_hex:?}: not 64 hex digits"))?;
    verify_bytes(&pk, msg, sig)
}

pub(crate) fn verify_bytes(public_key: &[u8; 32], msg: &[u8], sig: &Signature) -> Result<bool> {
    let vk = VerifyingKey::from_bytes(public_key)
        .map_err(|_| err!(InvalidArgument, "public key {}: not an Ed25519 key", hex(public_key)))?;
    Ok(vk
        .verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.0))
        .is_ok())
}

/// Writes `bytes` to a new file at `path` with mode 0600, atomically: a temporary file in the same folder, synced,
/// hard-linked to `path` (fails with `AlreadyExists` rather than replacing), then the folder synced.
fn write_new_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "instance.key".into());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        fs::hard_link(&tmp, path)?;
        fs::File::open(&dir)?.sync_all()
    })();
    let _ = fs::remove_file(&tmp);
    result
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// Parses hex digits (either case); `None` for an odd length or a non-hex character.
pub fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|p| u8::from_str_radix(p, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/instance.key");
        let k = InstanceKey::load_or_create(&p).unwrap();
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let k2 = InstanceKey::load_or_create(&p).unwrap();
        assert_eq!(k.public_key_hex(), k2.public_key_hex());
        // No temporary file left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn sign_and_verify() {
        let dir = tempfile::tempdir().unwrap();
        let k = InstanceKey::load_or_create(&dir.path().join("k")).unwrap();
        let sig = k.sign(b"hello");
        assert!(verify(&k.public_key_hex(), b"hello", &sig).unwrap());
        assert!(!verify(&k.public_key_hex(), b"hellO", &sig).unwrap());
        let mut bad = sig;
        bad.0[3] ^= 1;
        assert!(!verify(&k.public_key_hex(), b"hello", &bad).unwrap());
        assert_eq!(
            verify("zz", b"hello", &sig).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    /// A corrupt key file is an error naming it, and is left as it was (never replaced by a fresh key).
    #[test]
    fn corrupt_key_is_an_error_and_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("instance.key");
        fs::write(&p, "not a key\n").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o600)).unwrap();
        let e = InstanceKey::load_or_create(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert!(e.to_string().contains(&p.display().to_string()), "{e}");
        assert_eq!(fs::read_to_string(&p).unwrap(), "not a key\n");
    }

    #[test]
    fn world_readable_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("instance.key");
        InstanceKey::load_or_create(&p).unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o644)).unwrap();
        let e = InstanceKey::load(&p).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert!(e.to_string().contains("chmod 600"), "{e}");
    }

    #[test]
    fn missing_key_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let e = InstanceKey::load(&dir.path().join("none")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }
}
