//! `vigie audit`: the audit log (crate `vigie-audit`) verified and exported, read-only, for auditors.
//!
//! The log is `audit.db` and the instance key `instance.key`, both beside the main database (`[storage] database`
//! of `--config`, default `vigie-data/`). Verification needs only the instance's public key: `--public-key HEX`
//! (as published), or else the one derived from the key file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use vigie_audit::{AuditReader, InstanceKey};
use vigie_core::{Result, err};

#[derive(Subcommand)]
pub enum AuditCmd {
    /// Verifies the hash chain and every signed checkpoint: exit 0 and a one-line summary when intact, exit 65
    /// naming the first edited, deleted, inserted or reordered entry when not.
    Verify {
        /// The audit log. Default: audit.db beside [storage] database.
        #[arg(long)]
        log: Option<PathBuf>,
        /// The instance's public key, 64 hex digits. Default: derived from the instance key file.
        #[arg(long)]
        public_key: Option<String>,
        /// The instance key file. Default: instance.key beside [storage] database.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Configuration file (for [storage] database); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Writes the entries (with the retention anchor and the checkpoints) as JSON lines on standard output.
    Export {
        /// First time included, RFC 3339 with an offset. Default: the beginning.
        #[arg(long)]
        from: Option<String>,
        /// Time excluded, RFC 3339 with an offset. Default: the end.
        #[arg(long)]
        to: Option<String>,
        /// The audit log. Default: audit.db beside [storage] database.
        #[arg(long)]
        log: Option<PathBuf>,
        /// Configuration file (for [storage] database); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The folder of `[storage] database` (from `config`, or the default `vigie-data/vigie.db`).
pub(crate) fn data_dir(config: Option<&Path>) -> Result<PathBuf> {
    let cfg = super::load_config(config)?;
    Ok(match cfg.storage.database.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    })
}

pub(crate) fn rfc3339_ms(what: &str, s: &str) -> Result<i64> {
    let ts: jiff::Timestamp = s.parse().map_err(|e| {
        err!(
            InvalidArgument,
            "--{what} {s:?}: not an RFC 3339 time with an offset ({e})"
        )
    })?;
    Ok(ts.as_millisecond())
}

/// Appends an action done from the command line (by the local operator, actor "cli:<login>") to the audit log
/// beside the database, creating the log and the instance key if needed.
pub(crate) fn record(
    config: Option<&Path>,
    action: vigie_audit::Action,
    target: &str,
    detail: serde_json::Value,
) -> Result<()> {
    let dir = data_dir(config)?;
    std::fs::create_dir_all(&dir).map_err(|e| err!(Io, "creating {}: {e}", dir.display()))?;
    let key = std::sync::Arc::new(vigie_audit::InstanceKey::load_or_create(&dir.join("instance.key"))?);
    let mut log = vigie_audit::AuditLog::open(&dir.join("audit.db"), key)?;
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    log.append(&vigie_audit::Entry::new(
        vigie_server::unix_ms(),
        format!("cli:{who}"),
        action,
        target,
        detail,
    ))?;
    Ok(())
}

pub fn run(cmd: AuditCmd) -> Result<()> {
    match cmd {
        AuditCmd::Verify {
            log,
            public_key,
            key,
            config,
        } => {
            let dir = data_dir(config.as_deref())?;
            let log = log.unwrap_or_else(|| dir.join("audit.db"));
            let public_key = match public_key {
                Some(pk) => pk,
                None => {
                    let key = key.unwrap_or_else(|| dir.join("instance.key"));
                    InstanceKey::load(&key)
                        .map_err(|e| e.context("the instance key (or pass --public-key)"))?
                        .public_key_hex()
                }
            };
            let report = AuditReader::open(&log)?.verify(&public_key)?;
            match &report.problem {
                None => {
                    println!(
                        "{}: intact: {} entr{}{}, {} signed checkpoint(s) (last at {}), head {} {}",
                        log.display(),
                        report.entries,
                        if report.entries == 1 { "y" } else { "ies" },
                        report
                            .anchor_seq
                            .map(|a| format!(" after the retention anchor at {a}"))
                            .unwrap_or_default(),
                        report.checkpoints,
                        report
                            .last_checkpoint_seq
                            .map_or_else(|| "none".into(), |s| s.to_string()),
                        report.head_seq.unwrap_or(0),
                        report.head_hash.as_deref().unwrap_or("-"),
                    );
                    Ok(())
                }
                Some(p) => Err(err!(
                    InvalidData,
                    "{}: NOT intact: {p} ({} entries verified before it)",
                    log.display(),
                    report.entries
                )),
            }
        }
        AuditCmd::Export { from, to, log, config } => {
            let log = match log {
                Some(l) => l,
                None => data_dir(config.as_deref())?.join("audit.db"),
            };
            let from = from.as_deref().map(|s| rfc3339_ms("from", s)).transpose()?;
            let to = to.as_deref().map(|s| rfc3339_ms("to", s)).transpose()?;
            let reader = AuditReader::open(&log)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            let n = reader.export_jsonl(from, to, &mut out)?;
            out.flush().map_err(|e| err!(Io, "writing the export: {e}"))?;
            eprintln!("{}: {n} entries exported", log.display());
            Ok(())
        }
    }
}
