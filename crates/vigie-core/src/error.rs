//! One error type for all of Vigie, carrying a kind (Moonfire's `base::Error` habit).
//!
//! Libraries build errors with [`Error::new`] or the [`err!`](crate::err) macro and add context on the way up with
//! [`ResultExt::context`]. The kind decides the process exit code ([`ErrorKind::exit_code`]) and, in the server, the
//! HTTP status: nowhere else inspects error text.

use std::fmt;

/// What went wrong, coarse enough to decide what the caller does about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A command-line argument or API parameter is invalid.
    InvalidArgument,
    /// The configuration is invalid: unknown key, bad value, unknown class.
    Config,
    /// A file, camera or row that was asked for does not exist.
    NotFound,
    /// Input data is corrupt or not what it claims to be (truncated video, not a video, bad image).
    InvalidData,
    /// The input is valid but uses something Vigie does not support (codec, model layout).
    Unsupported,
    /// A model or the inference runtime failed to load or run.
    Model,
    /// The database failed or holds data that violates its invariants.
    Database,
    /// An operating-system I/O error (permissions, disk full, ...).
    Io,
    /// The operation was cancelled (shutdown, Ctrl-C).
    Cancelled,
    /// A bug: an invariant of Vigie itself does not hold.
    Internal,
}

impl ErrorKind {
    /// Process exit code for a command that fails with this kind. 0 and 1 are left to success and to clap's usage
    /// errors (2); the rest follow BSD `sysexits.h` where one fits.
    pub fn exit_code(self) -> i32 {
        match self {
            ErrorKind::InvalidArgument => 64, // EX_USAGE
            ErrorKind::InvalidData => 65,     // EX_DATAERR
            ErrorKind::NotFound => 66,        // EX_NOINPUT
            ErrorKind::Unsupported => 69,     // EX_UNAVAILABLE
            ErrorKind::Internal => 70,        // EX_SOFTWARE
            ErrorKind::Model => 71,
            ErrorKind::Io => 74,       // EX_IOERR
            ErrorKind::Database => 76, // EX_PROTOCOL (storage invariants broken)
            ErrorKind::Config => 78,   // EX_CONFIG
            ErrorKind::Cancelled => 130,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Config => "config error",
            ErrorKind::NotFound => "not found",
            ErrorKind::InvalidData => "invalid data",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Model => "model error",
            ErrorKind::Database => "database error",
            ErrorKind::Io => "I/O error",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The Vigie error: a kind, a message, and optionally the error that caused it.
///
/// `Display` prints the message followed by each cause (`msg: cause: cause`) on one line, so a CLI can print it as
/// is and a user reads the whole chain.
pub struct Error {
    kind: ErrorKind,
    msg: String,
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    pub fn new(kind: ErrorKind, msg: impl Into<String>) -> Self {
        Error {
            kind,
            msg: msg.into(),
            source: None,
        }
    }

    /// Wraps `source` with a message; the kind is given explicitly.
    pub fn wrap(
        kind: ErrorKind,
        msg: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error {
            kind,
            msg: msg.into(),
            source: Some(Box::new(source)),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.msg
    }

    /// Adds an outer message, keeping the kind.
    pub fn context(self, msg: impl Into<String>) -> Self {
        Error {
            kind: self.kind,
            msg: msg.into(),
            source: Some(Box::new(self)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)?;
        let mut cur: Option<&(dyn std::error::Error + 'static)> = self.source.as_deref().map(|e| e as _);
        while let Some(e) = cur {
            write!(f, ": {e}")?;
            // Our own Error prints its whole chain in Display; stop there to avoid repeating it.
            if e.is::<Error>() {
                break;
            }
            cur = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self, self.kind)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        let kind = match e.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => ErrorKind::InvalidData,
            _ => ErrorKind::Io,
        };
        Error::wrap(kind, "I/O", e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Adds context to any error on its way up.
pub trait ResultExt<T> {
    /// Keeps the kind of a Vigie error; other errors become `kind`.
    fn context_kind(self, kind: ErrorKind, msg: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: std::error::Error + Send + Sync + 'static> ResultExt<T> for std::result::Result<T, E> {
    fn context_kind(self, kind: ErrorKind, msg: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| {
            let src: Box<dyn std::error::Error + Send + Sync> = Box::new(e);
            match src.downcast::<Error>() {
                Ok(inner) => inner.context(msg()),
                Err(other) => Error {
                    kind,
                    msg: msg(),
                    source: Some(other),
                },
            }
        })
    }
}

/// Builds an [`Error`]: `err!(Config, "unknown class {name:?}")`.
#[macro_export]
macro_rules! err {
    ($kind:ident, $($arg:tt)+) => {
        $crate::error::Error::new($crate::error::ErrorKind::$kind, format!($($arg)+))
    };
}

/// Returns early with an [`Error`]: `bail!(InvalidData, "truncated file")`.
#[macro_export]
macro_rules! bail {
    ($kind:ident, $($arg:tt)+) => {
        return Err($crate::err!($kind, $($arg)+))
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_prints_the_chain_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let e = Error::wrap(ErrorKind::NotFound, "opening video \"x.mp4\"", io).context("analyze");
        assert_eq!(e.to_string(), "analyze: opening video \"x.mp4\": no such file");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn context_kind_keeps_inner_kind() {
        let r: Result<()> = Err(err!(InvalidData, "truncated"));
        let e = r.context_kind(ErrorKind::Io, || "decoding".into()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(e.to_string(), "decoding: truncated");
    }
}
