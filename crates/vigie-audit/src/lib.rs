//! Vigie's audit log: who did what with the system, append-only, hash-chained and signed (issue 7; AI Act art. 12,
//! décret 2023-828: logs of what users do, kept at least 6 months).
//!
//! # Layout
//! - [`key`]: [`InstanceKey`], the installation's Ed25519 key (loaded or created once, mode 0600), [`verify`].
//! - this file: [`AuditLog`] (the writer: append, checkpoints, retention), [`AuditReader`] (read-only: verify and
//!   export for auditors, without the secret key), the chain's canonical encoding ([`entry_hash`],
//!   [`checkpoint_message`], [`anchor_message`]) and the verification ([`VerifyReport`], [`Problem`]).
//! - `schema.sql`: the commented schema of the log's own SQLite file (`vigie-data/audit.db` by default).
//!
//! # Design
//!
//! Each user action (and each action of the service itself, actor `"system"`) is an [`Entry`]: time, actor, an
//! [`Action`] from a closed list (the database's CHECK refuses any other), a target and a JSON detail. Appending
//! gives it the next `seq` (1, 2, 3, ... without gaps) and stores, with it, `prev_hash` (the previous entry's hash)
//! and `hash` = SHA-256 over a canonical, length-prefixed encoding of (seq, at, actor, action, target, detail,
//! prev_hash) ([`entry_hash`]). Every [`DEFAULT_CHECKPOINT_EVERY`] entries, and on demand
//! ([`AuditLog::checkpoint`]), a checkpoint records the hash at that seq signed by the instance key.
//!
//! Why both. The chain alone makes every entry depend on all the ones before it, so a change anywhere shows at the
//! changed entry (its content no longer matches its hash) or where the chain breaks, and [`AuditLog::verify`] can
//! name the place. But the chain is keyless: someone who can write the file can rewrite an entry and recompute every
//! hash after it. Signed checkpoints close that: a rewritten chain no longer matches the hash the instance key
//! signed, and forging a checkpoint needs the secret key, which lives in another file (mode 0600) and can be kept
//! on other storage. Signing every entry instead would cost a signature per action for no gain against someone
//! holding the key, and a chain without signatures (or signatures without a chain) would not name the entry.
//! At the SQL level the log is append-only too: triggers refuse UPDATE, and DELETE of anything the signed retention
//! anchor does not cover, so a mistake or a careless tool cannot change it; an attacker can drop the triggers, and
//! is then caught by the verification.
//!
//! # What `verify` detects, and what it cannot
//!
//! [`AuditLog::verify`] (`vigie audit verify`) walks the chain from the start (or the retention anchor), checks
//! every checkpoint's signature against the instance's public key (never against the key stored beside it), and
//! reports the FIRST problem with its seq:
//! - an **edited** entry: its content no longer matches its hash (or, edited and re-hashed, the next entry no longer
//!   chains to it);
//! - a **deleted** entry: a gap in seq, or the entries after it renumbered (an entry then hashes only under a later
//!   seq), or a checkpoint covering entries that no longer exist (truncation up to a checkpoint);
//! - an **inserted** entry: the entries after it renumbered (they hash under an earlier seq), or an entry below the
//!   anchor;
//! - **reordered** entries: an entry at seq k hashes under seq s, and the entry appended as k is found later;
//! - a **rewritten** stretch: the chain is consistent but a checkpoint's signed hash differs: something between the
//!   previous checkpoint and this one was changed and every later hash recomputed (the exact entry cannot be known,
//!   so the range is named);
//! - a forged, re-signed or missing checkpoint, and a forged retention anchor.
//!
//! What it cannot detect on its own:
//! - **Truncation of the tail after the last checkpoint**, and forged entries appended there: the file alone cannot
//!   say how long it was. It is detected only if checkpoints are frequent (every [`DEFAULT_CHECKPOINT_EVERY`]
//!   entries, and [`AuditLog::checkpoint`] on demand, e.g. at shutdown or hourly) and the head is published outside
//!   the machine: `vigie audit verify` prints the head (seq and hash) and the latest signed checkpoint; recording
//!   them elsewhere (the transparency register, a remote syslog, a printed register) and comparing later detects a
//!   shorter or different log. Deleting the tail together with the checkpoints covering it is the same case.
//! - Someone holding the instance key can rewrite everything and re-sign: keep the key off the database's storage
//!   where possible, and publish checkpoints, which the key's holder cannot take back.
//! - The truth of what the caller writes: the log proves the record was not changed, not that it was complete.
//!
//! # Retention
//!
//! Entries are kept at least 6 months: [`AuditLog::purge_older_than`] refuses any age under [`MIN_RETENTION_DAYS`]
//! (183 days), and the delete trigger refuses, by SQLite's own clock, any entry younger than that. Purging removes a
//! prefix of the chain only after verifying it, and first stores the hash of the last purged entry as the new
//! anchor, signed, so the first remaining entry's `prev_hash` is still checked. The purge is itself logged.

pub mod key;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigie_core::{ErrorKind, Result, ResultExt, bail, err};

pub use key::{InstanceKey, Signature, verify};
use key::{hex, verify_bytes};

/// The fresh schema of the log's file.
const SCHEMA_SQL: &str = include_str!("schema.sql");
/// `meta.schema_version` of this code.
pub const SCHEMA_VERSION: i64 = 1;
/// `pragma application_id` of an audit log: 'VAUD'. Any other SQLite file is refused.
pub const APPLICATION_ID: i32 = 0x5641_5544;
/// A checkpoint is signed every this many entries (at each seq that is a multiple of it).
pub const DEFAULT_CHECKPOINT_EVERY: i64 = 100;
/// Entries are kept at least this long (AI Act art. 12: at least 6 months).
pub const MIN_RETENTION_DAYS: i64 = 183;
const DAY_MS: i64 = 86_400_000;
/// How far from its seq `verify` looks for the seq an out-of-place entry was appended with.
const MOVE_WINDOW: i64 = 4096;

/// What a user (or the system) did: a closed list, mirrored by the schema's CHECK.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Login,
    LoginFailed,
    Logout,
    LiveView,
    Search,
    Export,
    PlateLookup,
    AlertDecision,
    ConfigChange,
    ModelChange,
    RetentionDeletion,
    UserChange,
    HoldChange,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::Login,
        Action::LoginFailed,
        Action::Logout,
        Action::LiveView,
        Action::Search,
        Action::Export,
        Action::PlateLookup,
        Action::AlertDecision,
        Action::ConfigChange,
        Action::ModelChange,
        Action::RetentionDeletion,
        Action::UserChange,
        Action::HoldChange,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::Logout => "logout",
            Action::LiveView => "live_view",
            Action::Search => "search",
            Action::Export => "export",
            Action::PlateLookup => "plate_lookup",
            Action::AlertDecision => "alert_decision",
            Action::ConfigChange => "config_change",
            Action::ModelChange => "model_change",
            Action::RetentionDeletion => "retention_deletion",
            Action::UserChange => "user_change",
            Action::HoldChange => "hold_change",
        }
    }
}

impl std::str::FromStr for Action {
    type Err = vigie_core::Error;
    fn from_str(s: &str) -> Result<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| err!(InvalidArgument, "unknown audit action {s:?}"))
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One action to append. The log adds seq and the hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// When it happened, milliseconds since 1970-01-01 UTC (the caller's clock: the log reads none).
    pub at_unix_ms: i64,
    /// The console username, or `"system"`.
    pub actor: String,
    pub action: Action,
    /// What it was done to (camera, event id, case reference, username); `""` when nothing.
    pub target: String,
    /// Details; stored as compact JSON text and hashed byte for byte as stored.
    pub detail: serde_json::Value,
}

impl Entry {
    pub fn new(
        at_unix_ms: i64,
        actor: impl Into<String>,
        action: Action,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> Entry {
        Entry {
            at_unix_ms,
            actor: actor.into(),
            action,
            target: target.into(),
            detail,
        }
    }
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredEntry {
    pub seq: i64,
    pub at_unix_ms: i64,
    pub actor: String,
    /// The stored action text (checked against [`Action`] by the schema).
    pub action: String,
    pub target: String,
    /// The JSON text exactly as hashed.
    pub detail: String,
    #[serde(serialize_with = "ser_hex")]
    pub prev_hash: Vec<u8>,
    #[serde(serialize_with = "ser_hex")]
    pub hash: Vec<u8>,
}

impl StoredEntry {
    /// The hash this entry's content has under `seq` (its own seq or, when looking for where it came from, another).
    fn hash_as(&self, seq: i64) -> [u8; 32] {
        entry_hash(
            seq,
            self.at_unix_ms,
            &self.actor,
            &self.action,
            &self.target,
            &self.detail,
            &self.prev_hash,
        )
    }
}

fn ser_hex<S: serde::Serializer>(b: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

/// A signed checkpoint (or the retention anchor, which has the same fields).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Checkpoint {
    pub up_to_seq: i64,
    #[serde(serialize_with = "ser_hex")]
    pub hash: Vec<u8>,
    #[serde(serialize_with = "ser_hex")]
    pub signature: Vec<u8>,
    #[serde(serialize_with = "ser_hex")]
    pub public_key: Vec<u8>,
    pub at_unix_ms: i64,
}

fn put_str(h: &mut Sha256, s: &[u8]) {
    // Length-prefixed, so no two different field lists encode the same.
    h.update((s.len() as u64).to_be_bytes());
    h.update(s);
}

/// SHA-256 of the canonical encoding of an entry: the tag `vigie-audit-entry-v1\0`, seq and at_unix_ms as 8-byte
/// big-endian signed integers, actor, action, target and detail each as an 8-byte big-endian length and its UTF-8
/// bytes, then the 32-byte prev_hash (length-prefixed as well, whatever its stored length).
pub fn entry_hash(
    seq: i64,
    at_unix_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
    prev_hash: &[u8],
) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"vigie-audit-entry-v1\0");
    h.update(seq.to_be_bytes());
    h.update(at_unix_ms.to_be_bytes());
    put_str(&mut h, actor.as_bytes());
    put_str(&mut h, action.as_bytes());
    put_str(&mut h, target.as_bytes());
    put_str(&mut h, detail.as_bytes());
    put_str(&mut h, prev_hash);
    h.finalize().into()
}

/// What a checkpoint's signature covers: `vigie-audit-checkpoint-v1\0`, up_to_seq (8 bytes BE), the 32-byte hash,
/// at_unix_ms (8 bytes BE).
pub fn checkpoint_message(up_to_seq: i64, hash: &[u8], at_unix_ms: i64) -> Vec<u8> {
    signed_message(b"vigie-audit-checkpoint-v1\0", up_to_seq, hash, at_unix_ms)
}

/// What the retention anchor's signature covers: as [`checkpoint_message`] with the tag `vigie-audit-anchor-v1\0`
/// (a checkpoint can never be replayed as an anchor, nor the reverse).
pub fn anchor_message(seq: i64, hash: &[u8], at_unix_ms: i64) -> Vec<u8> {
    signed_message(b"vigie-audit-anchor-v1\0", seq, hash, at_unix_ms)
}

fn signed_message(tag: &[u8], seq: i64, hash: &[u8], at_unix_ms: i64) -> Vec<u8> {
    let mut m = Vec::with_capacity(tag.len() + 8 + hash.len() + 8);
    m.extend_from_slice(tag);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash);
    m.extend_from_slice(&at_unix_ms.to_be_bytes());
    m
}

/// What is wrong with the log, at the first place it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An entry's content was changed.
    Edited,
    /// One or more entries were removed.
    Deleted,
    /// One or more entries were added that were never appended.
    Inserted,
    /// Entries were moved to other places.
    Reordered,
    /// The chain was re-hashed after a change: a checkpoint's signed hash no longer matches.
    Rewritten,
    /// A checkpoint's signature is invalid, made by another key, or a due checkpoint is missing.
    BadCheckpoint,
    /// The retention anchor's signature is invalid or made by another key, or the first entry does not follow it.
    BadAnchor,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Edited => "edited",
            ProblemKind::Deleted => "deleted",
            ProblemKind::Inserted => "inserted",
            ProblemKind::Reordered => "reordered",
            ProblemKind::Rewritten => "rewritten",
            ProblemKind::BadCheckpoint => "bad checkpoint",
            ProblemKind::BadAnchor => "bad anchor",
        }
    }
}

/// The first problem found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The first bad entry (for a rewritten stretch, the first entry it may start at).
    pub seq: i64,
    /// For a rewritten stretch: the last entry it may end at (the checkpoint's seq).
    pub to_seq: Option<i64>,
    pub kind: ProblemKind,
    /// What is wrong, in words.
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_seq {
            Some(to) => write!(f, "entries {}..={} {}: {}", self.seq, to, self.kind.as_str(), self.what),
            None => write!(f, "entry {} {}: {}", self.seq, self.kind.as_str(), self.what),
        }
    }
}

/// The outcome of [`AuditLog::verify`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Entries walked before the first problem (all of them when intact).
    pub entries: u64,
    /// Checkpoints whose signature was checked.
    pub checkpoints: u64,
    /// The retention anchor's seq (entries up to it were purged), if any.
    pub anchor_seq: Option<i64>,
    /// The last entry's seq and hash (hex): publish them to detect a truncated tail later.
    pub head_seq: Option<i64>,
    pub head_hash: Option<String>,
    /// The last checkpoint's seq.
    pub last_checkpoint_seq: Option<i64>,
    /// The first problem; `None` when the log is intact.
    pub problem: Option<Problem>,
}

impl VerifyReport {
    pub fn is_intact(&self) -> bool {
        self.problem.is_none()
    }
}

fn sql<T>(r: rusqlite::Result<T>, what: impl FnOnce() -> String) -> Result<T> {
    r.context_kind(ErrorKind::Database, what)
}

/// Checks the file is an audit log of a version this code knows; creates the schema when `create` and it is empty.
fn prepare(conn: &mut Connection, create: bool, now_unix_ms: i64, path: &Path) -> Result<()> {
    let tx = sql(
        conn.transaction_with_behavior(if create {
            rusqlite::TransactionBehavior::Immediate
        } else {
            rusqlite::TransactionBehavior::Deferred
        }),
        || "starting a transaction".into(),
    )?;
    let objects: i64 = sql(
        tx.query_row("select count(*) from sqlite_master", [], |r| r.get(0)),
        || "reading the schema".into(),
    )?;
    if objects == 0 {
        if !create {
            bail!(NotFound, "{}: an empty file, not an audit log", path.display());
        }
        sql(tx.pragma_update(None, "application_id", APPLICATION_ID), || {
            "setting the application id".into()
        })?;
        sql(tx.execute_batch(SCHEMA_SQL), || "creating the schema".into())?;
        sql(
            tx.execute(
                "insert into meta (id, schema_version, created_unix_ms) values (1, ?, ?)",
                params![SCHEMA_VERSION, now_unix_ms],
            ),
            || "writing the meta row".into(),
        )?;
        return sql(tx.commit(), || "committing the new schema".into());
    }
    let app_id: i32 = sql(tx.query_row("pragma application_id", [], |r| r.get(0)), || {
        "reading the application id".into()
    })?;
    if app_id != APPLICATION_ID {
        bail!(
            Database,
            "{}: not a Vigie audit log (application id {app_id:#x}, expected {APPLICATION_ID:#x}): the audit log lives \
             in its own file",
            path.display()
        );
    }
    let version: Option<i64> = sql(
        tx.query_row("select schema_version from meta where id = 1", [], |r| r.get(0))
            .optional(),
        || "reading the meta row".into(),
    )?;
    match version {
        Some(SCHEMA_VERSION) => Ok(()),
        Some(v) => Err(err!(
            Database,
            "{}: audit log schema version {v}, this Vigie knows {SCHEMA_VERSION}",
            path.display()
        )),
        None => Err(err!(
            Database,
            "{}: a damaged audit log: its meta table has no row",
            path.display()
        )),
    }
}

fn read_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredEntry> {
    Ok(StoredEntry {
        seq: r.get(0)?,
        at_unix_ms: r.get(1)?,
        actor: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        detail: r.get(5)?,
        prev_hash: r.get(6)?,
        hash: r.get(7)?,
    })
}

const ENTRY_COLUMNS: &str = "seq, at_unix_ms, actor, action, target, detail, prev_hash, hash";

fn read_checkpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    Ok(Checkpoint {
        up_to_seq: r.get(0)?,
        hash: r.get(1)?,
        signature: r.get(2)?,
        public_key: r.get(3)?,
        at_unix_ms: r.get(4)?,
    })
}

fn entry_at(conn: &Connection, seq: i64) -> Result<Option<StoredEntry>> {
    sql(
        conn.query_row(
            &format!("select {ENTRY_COLUMNS} from audit_entry where seq = ?"),
            [seq],
            read_entry,
        )
        .optional(),
        || format!("reading audit entry {seq}"),
    )
}

fn anchor(conn: &Connection) -> Result<Option<Checkpoint>> {
    sql(
        conn.query_row(
            "select seq, hash, signature, public_key, at_unix_ms from audit_anchor where id = 1",
            [],
            read_checkpoint,
        )
        .optional(),
        || "reading the retention anchor".into(),
    )
}

/// The last entry's (seq, hash), or the anchor's when every entry was purged, or (0, zeros) for an empty log.
fn head(conn: &Connection) -> Result<(i64, Vec<u8>)> {
    let last: Option<(i64, Vec<u8>)> = sql(
        conn.query_row("select seq, hash from audit_entry order by seq desc limit 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional(),
        || "reading the last audit entry".into(),
    )?;
    if let Some(h) = last {
        return Ok(h);
    }
    Ok(match anchor(conn)? {
        Some(a) => (a.up_to_seq, a.hash),
        None => (0, vec![0; 32]),
    })
}

/// The seq under which `e` hashes to its stored hash, looked for near its own seq.
fn original_seq(e: &StoredEntry) -> Option<i64> {
    let lo = e.seq.saturating_sub(MOVE_WINDOW).max(1);
    let hi = e.seq.saturating_add(MOVE_WINDOW);
    (lo..=hi).find(|&s| e.hash_as(s).as_slice() == e.hash.as_slice())
}

fn classify_hash_mismatch(conn: &Connection, e: &StoredEntry) -> Result<Problem> {
    let k = e.seq;
    let next_orig = |seq: i64| -> Result<Option<i64>> { Ok(entry_at(conn, seq)?.as_ref().and_then(original_seq)) };
    Ok(match original_seq(e) {
        None => {
            if next_orig(k.saturating_add(1))? == Some(k) {
                Problem {
                    seq: k,
                    to_seq: None,
                    kind: ProblemKind::Inserted,
                    what: format!(
                        "entry {k} was never appended: the entry now at {} was appended as {k} (a forged entry \
                         inserted and the later ones renumbered)",
                        k + 1
                    ),
                }
            } else {
                Problem {
                    seq: k,
                    to_seq: None,
                    kind: ProblemKind::Edited,
                    what: format!("entry {k}'s content does not match its hash"),
                }
            }
        }
        Some(s) if s > k => {
            // Is the entry appended as k still somewhere after it? Then it was moved: reordered.
            let mut found = None;
            let candidates = std::iter::once(s).chain(k.saturating_add(1)..=k.saturating_add(64));
            for c in candidates {
                if next_orig(c)? == Some(k) {
                    found = Some(c);
                    break;
                }
            }
            match found {
                Some(c) => Problem {
                    seq: k,
                    to_seq: None,
                    kind: ProblemKind::Reordered,
                    what: format!(
                        "entry {k} holds the entry appended as {s}, and entry {c} holds the one appended as {k}: \
                         entries were reordered"
                    ),
                },
                None => Problem {
                    seq: k,
                    to_seq: None,
                    kind: ProblemKind::Deleted,
                    what: format!(
                        "entry {k} holds the entry appended as {s}: {} entr{} from {k} deleted and the later ones \
                         renumbered",
                        s - k,
                        if s - k == 1 { "y" } else { "ies" }
                    ),
                },
            }
        }
        Some(s) => Problem {
            seq: s,
            to_seq: None,
            kind: ProblemKind::Inserted,
            what: format!(
                "entry {k} holds the entry appended as {s}: {} entr{} from {s} never appended (forged and inserted, \
                 the later ones renumbered)",
                k - s,
                if k - s == 1 { "y" } else { "ies" }
            ),
        },
    })
}

/// Walks the chain and the checkpoints; see the crate documentation.
fn verify_conn(conn: &Connection, public_key: &[u8; 32], checkpoint_every: i64) -> Result<VerifyReport> {
    let mut report = VerifyReport {
        entries: 0,
        checkpoints: 0,
        anchor_seq: None,
        head_seq: None,
        head_hash: None,
        last_checkpoint_seq: None,
        problem: None,
    };
    let mut problems: Vec<Problem> = Vec::new();
    // A bad anchor comes first: where the chain starts depends on it.
    let mut anchor_problem = None;

    // The retention anchor, if any: where the chain starts.
    let anchor = anchor(conn)?;
    let (mut expected_seq, mut prev) = match &anchor {
        Some(a) => {
            report.anchor_seq = Some(a.up_to_seq);
            if let Some(p) = signature_problem(
                a,
                public_key,
                &anchor_message(a.up_to_seq, &a.hash, a.at_unix_ms),
                "the retention anchor",
                ProblemKind::BadAnchor,
            )? {
                anchor_problem = Some(p);
            }
            (a.up_to_seq.saturating_add(1), a.hash.clone())
        }
        None => (1, vec![0u8; 32]),
    };

    // The chain.
    {
        let mut stmt = sql(
            conn.prepare(&format!("select {ENTRY_COLUMNS} from audit_entry order by seq")),
            || "reading the audit entries".into(),
        )?;
        let mut rows = sql(stmt.query([]), || "reading the audit entries".into())?;
        let mut prev_seq: Option<i64> = None;
        while let Some(row) = sql(rows.next(), || "reading the audit entries".into())? {
            let e = sql(read_entry(row), || "reading an audit entry".into())?;
            let k = e.seq;
            let problem = if k < expected_seq {
                Some(Problem {
                    seq: k,
                    to_seq: None,
                    kind: ProblemKind::Inserted,
                    what: format!(
                        "entry {k} is at or below the retention anchor {}: entries up to it were purged",
                        expected_seq - 1
                    ),
                })
            } else if k > expected_seq {
                Some(Problem {
                    seq: expected_seq,
                    to_seq: None,
                    kind: ProblemKind::Deleted,
                    what: if k - expected_seq == 1 {
                        format!("entry {expected_seq} is missing (the next one is {k})")
                    } else {
                        format!("entries {expected_seq}..={} are missing", k - 1)
                    },
                })
            } else if e.hash_as(k).as_slice() != e.hash.as_slice() {
                Some(classify_hash_mismatch(conn, &e)?)
            } else if e.prev_hash != prev {
                Some(match prev_seq {
                    Some(p) => Problem {
                        seq: p,
                        to_seq: None,
                        kind: ProblemKind::Edited,
                        what: format!(
                            "entry {k} does not chain to entry {p}: entry {p} was changed and re-hashed (or replaced)"
                        ),
                    },
                    None if anchor.is_some() => Problem {
                        seq: k,
                        to_seq: None,
                        kind: ProblemKind::BadAnchor,
                        what: format!("entry {k} does not chain to the retention anchor"),
                    },
                    None => Problem {
                        seq: k,
                        to_seq: None,
                        kind: ProblemKind::Edited,
                        what: format!("entry {k} is the first but does not start the chain"),
                    },
                })
            } else {
                None
            };
            if let Some(p) = problem {
                problems.push(p);
                break;
            }
            report.entries += 1;
            report.head_seq = Some(k);
            report.head_hash = Some(hex(&e.hash));
            prev = e.hash;
            prev_seq = Some(k);
            expected_seq = k.saturating_add(1);
        }
    }

    // The checkpoints: signature, key, and the hash they signed.
    let (head_seq, _) = head(conn)?;
    let checkpoints: Vec<Checkpoint> = {
        let mut stmt = sql(
            conn.prepare(
                "select up_to_seq, hash, signature, public_key, at_unix_ms from audit_checkpoint order by up_to_seq",
            ),
            || "reading the checkpoints".into(),
        )?;
        sql(
            stmt.query_map([], read_checkpoint)
                .and_then(|m| m.collect::<rusqlite::Result<Vec<_>>>()),
            || "reading the checkpoints".into(),
        )?
    };
    let base = anchor.as_ref().map_or(0, |a| a.up_to_seq);
    let mut prev_cp = base;
    for cp in &checkpoints {
        let c = cp.up_to_seq;
        if let Some(p) = signature_problem(
            cp,
            public_key,
            &checkpoint_message(c, &cp.hash, cp.at_unix_ms),
            &format!("the checkpoint at {c}"),
            ProblemKind::BadCheckpoint,
        )? {
            problems.push(p);
            break;
        }
        report.checkpoints += 1;
        report.last_checkpoint_seq = Some(c);
        if c <= base {
            continue; // covers purged entries only: its signature is all that can be checked
        }
        match entry_at(conn, c)? {
            None if c > head_seq => {
                problems.push(Problem {
                    seq: head_seq.saturating_add(1),
                    to_seq: None,
                    kind: ProblemKind::Deleted,
                    what: format!(
                        "the log ends at {head_seq} but a signed checkpoint covers entry {c}: entries {}..={c} (at \
                         least) were deleted from the tail",
                        head_seq.saturating_add(1)
                    ),
                });
                break;
            }
            None => {} // a gap, reported by the chain walk
            Some(e) if e.hash != cp.hash => {
                problems.push(Problem {
                    seq: prev_cp.saturating_add(1),
                    to_seq: Some(c),
                    kind: ProblemKind::Rewritten,
                    what: format!(
                        "entry {c}'s hash is not the one signed in the checkpoint at {c}: an entry between {} and {c} \
                         was changed and the chain re-hashed",
                        prev_cp.saturating_add(1)
                    ),
                });
                break;
            }
            Some(_) => {}
        }
        prev_cp = c;
    }

    // Every due checkpoint exists (removing one to hide a rewrite shows).
    // Only up to the last entry the walk verified: the loop stays as long as the chain, whatever seqs a forger wrote.
    if checkpoint_every > 0 {
        let have: std::collections::BTreeSet<i64> = checkpoints.iter().map(|c| c.up_to_seq).collect();
        let verified_to = report.head_seq.unwrap_or(base);
        let mut m = (base / checkpoint_every)
            .saturating_add(1)
            .saturating_mul(checkpoint_every);
        while m <= verified_to {
            if !have.contains(&m) {
                problems.push(Problem {
                    seq: m,
                    to_seq: None,
                    kind: ProblemKind::BadCheckpoint,
                    what: format!("the checkpoint due at entry {m} (every {checkpoint_every}) is missing"),
                });
                break;
            }
            m = match m.checked_add(checkpoint_every) {
                Some(m) => m,
                None => break,
            };
        }
    }

    // The first problem by seq; the chain's own problems first at equal seq (they are the more precise).
    report.problem = anchor_problem.or_else(|| problems.into_iter().min_by_key(|p| p.seq));
    Ok(report)
}

fn signature_problem(
    cp: &Checkpoint,
    public_key: &[u8; 32],
    msg: &[u8],
    name: &str,
    kind: ProblemKind,
) -> Result<Option<Problem>> {
    let what = if cp.public_key.as_slice() != public_key.as_slice() {
        Some(format!(
            "{name} is signed by key {}, not the instance key {}",
            hex(&cp.public_key),
            hex(public_key)
        ))
    } else {
        match Signature::from_slice(&cp.signature) {
            Some(sig) if verify_bytes(public_key, msg, &sig)? => None,
            _ => Some(format!("{name}'s signature does not verify")),
        }
    };
    Ok(what.map(|what| Problem {
        seq: cp.up_to_seq,
        to_seq: None,
        kind,
        what,
    }))
}

fn export_conn(
    conn: &Connection,
    from_unix_ms: Option<i64>,
    to_unix_ms: Option<i64>,
    w: &mut dyn Write,
) -> Result<u64> {
    let line = |w: &mut dyn Write, v: serde_json::Value| -> Result<()> {
        let mut s = v.to_string();
        s.push('\n');
        w.write_all(s.as_bytes())
            .context_kind(ErrorKind::Io, || "writing the export".into())
    };
    if let Some(a) = anchor(conn)? {
        let mut v = serde_json::to_value(&a).map_err(|e| err!(Internal, "{e}"))?;
        v["type"] = "anchor".into();
        line(w, v)?;
    }
    let mut stmt = sql(
        conn.prepare(&format!(
            "select {ENTRY_COLUMNS}, (select up_to_seq from audit_checkpoint c where c.up_to_seq = e.seq) \
             from audit_entry e where at_unix_ms >= ? and at_unix_ms < ? order by seq"
        )),
        || "reading the audit entries".into(),
    )?;
    let mut rows = sql(
        stmt.query(params![
            from_unix_ms.unwrap_or(i64::MIN),
            to_unix_ms.unwrap_or(i64::MAX)
        ]),
        || "reading the audit entries".into(),
    )?;
    let mut n = 0;
    while let Some(row) = sql(rows.next(), || "reading the audit entries".into())? {
        let e = sql(read_entry(row), || "reading an audit entry".into())?;
        let has_cp: Option<i64> = sql(row.get(8), || "reading an audit entry".into())?;
        let mut v = serde_json::to_value(&e).map_err(|e| err!(Internal, "{e}"))?;
        v["type"] = "entry".into();
        line(w, v)?;
        n += 1;
        if has_cp.is_some() {
            let cp = sql(
                conn.query_row(
                    "select up_to_seq, hash, signature, public_key, at_unix_ms from audit_checkpoint where up_to_seq = ?",
                    [e.seq],
                    read_checkpoint,
                ),
                || format!("reading the checkpoint at {}", e.seq),
            )?;
            let mut v = serde_json::to_value(&cp).map_err(|e| err!(Internal, "{e}"))?;
            v["type"] = "checkpoint".into();
            line(w, v)?;
        }
    }
    Ok(n)
}

/// What [`AuditLog::browse`] returns: entries matching every field that is set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BrowseFilter {
    /// Entries with `at_unix_ms >= from_unix_ms`.
    pub from_unix_ms: Option<i64>,
    /// Entries with `at_unix_ms < to_unix_ms`.
    pub to_unix_ms: Option<i64>,
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Exactly this action.
    pub action: Option<Action>,
    /// Entries with `seq < before_seq` (the next page: the last seq of the previous one).
    pub before_seq: Option<i64>,
}

/// At most this many entries a page of [`AuditLog::browse`].
pub const MAX_BROWSE: u32 = 500;

fn browse_conn(conn: &Connection, f: &BrowseFilter, limit: u32) -> Result<Vec<StoredEntry>> {
    // Walks the primary key (seq) downwards from `before_seq`: each page costs its own rows plus those the filters
    // skip, whatever the log's length; no other index is needed (the schema has none to add).
    let what = || "browsing the audit entries".to_string();
    let mut st = sql(
        conn.prepare(&format!(
            "select {ENTRY_COLUMNS} from audit_entry where seq < ?1 and at_unix_ms >= ?2 and at_unix_ms < ?3 \
             and (?4 is null or actor = ?4) and (?5 is null or action = ?5) order by seq desc limit ?6"
        )),
        what,
    )?;
    let rows = sql(
        st.query_map(
            params![
                f.before_seq.unwrap_or(i64::MAX),
                f.from_unix_ms.unwrap_or(i64::MIN),
                f.to_unix_ms.unwrap_or(i64::MAX),
                f.actor,
                f.action.map(Action::as_str),
                limit.min(MAX_BROWSE),
            ],
            read_entry,
        ),
        what,
    )?;
    sql(rows.collect::<rusqlite::Result<Vec<_>>>(), what)
}

/// The audit log, for writing: one per process (SQLite serialises writers across processes).
pub struct AuditLog {
    conn: Connection,
    key: Arc<InstanceKey>,
    path: PathBuf,
    checkpoint_every: i64,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("path", &self.path).finish()
    }
}

impl AuditLog {
    /// Opens the log at `path`, creating it (and its folder) when missing; refuses any other SQLite file. `key` signs
    /// checkpoints and is the key [`AuditLog::verify`] expects.
    pub fn open(path: &Path, key: Arc<InstanceKey>) -> Result<AuditLog> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .context_kind(ErrorKind::Io, || format!("creating the folder {}", dir.display()))?;
        }
        let mut conn = sql(Connection::open(path), || {
            format!("opening the audit log {}", path.display())
        })?;
        sql(
            conn.execute_batch(
                "pragma journal_mode = wal; pragma synchronous = full; pragma busy_timeout = 5000; \
                 pragma foreign_keys = on;",
            ),
            || format!("configuring the audit log {}", path.display()),
        )?;
        let now_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        prepare(&mut conn, true, now_unix_ms, path).map_err(|e| e.context(format!("audit log {}", path.display())))?;
        Ok(AuditLog {
            conn,
            key,
            path: path.to_path_buf(),
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        })
    }

    /// Signs a checkpoint every `n` entries instead of [`DEFAULT_CHECKPOINT_EVERY`] (`verify` then expects them
    /// there). Must stay the same for the life of a log.
    pub fn with_checkpoint_every(mut self, n: i64) -> AuditLog {
        self.checkpoint_every = n.max(1);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The checkpoint interval (for an [`AuditReader`] of the same log).
    pub fn checkpoint_every(&self) -> i64 {
        self.checkpoint_every
    }

    pub fn key(&self) -> &Arc<InstanceKey> {
        &self.key
    }

    /// Appends `e` in one transaction and returns its seq; signs a checkpoint when the seq is due one.
    pub fn append(&mut self, e: &Entry) -> Result<i64> {
        let detail = e.detail.to_string();
        let tx = sql(
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
            || "starting an audit transaction".into(),
        )?;
        let (last, prev) = head(&tx)?;
        let seq = last
            .checked_add(1)
            .ok_or_else(|| err!(Database, "{}: the last seq is {last}, no next one", self.path.display()))?;
        let hash = entry_hash(
            seq,
            e.at_unix_ms,
            &e.actor,
            e.action.as_str(),
            &e.target,
            &detail,
            &prev,
        );
        sql(
            tx.execute(
                &format!("insert into audit_entry ({ENTRY_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?)"),
                params![
                    seq,
                    e.at_unix_ms,
                    e.actor,
                    e.action.as_str(),
                    e.target,
                    detail,
                    prev,
                    hash.as_slice()
                ],
            ),
            || format!("appending audit entry {seq} ({})", e.action),
        )?;
        if seq % self.checkpoint_every == 0 {
            insert_checkpoint(&tx, &self.key, seq, &hash, e.at_unix_ms)?;
        }
        sql(tx.commit(), || format!("committing audit entry {seq}"))?;
        Ok(seq)
    }

    /// Signs a checkpoint at the current head now (e.g. at shutdown, hourly, before publishing the head). Returns
    /// its seq; `None` when the log is empty or the head already has one.
    pub fn checkpoint(&mut self, now_unix_ms: i64) -> Result<Option<i64>> {
        let tx = sql(
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
            || "starting an audit transaction".into(),
        )?;
        let (seq, hash) = head(&tx)?;
        let has: bool = sql(
            tx.query_row(
                "select exists (select 1 from audit_checkpoint where up_to_seq = ?) \
                 or exists (select 1 from audit_anchor where seq = ?)",
                [seq, seq],
                |r| r.get(0),
            ),
            || "reading the checkpoints".into(),
        )?;
        if seq == 0 || has {
            return Ok(None);
        }
        insert_checkpoint(&tx, &self.key, seq, &hash, now_unix_ms)?;
        sql(tx.commit(), || format!("committing the checkpoint at {seq}"))?;
        Ok(Some(seq))
    }

    /// Verifies the whole log against this instance's key.
    pub fn verify(&self) -> Result<VerifyReport> {
        verify_conn(&self.conn, &self.key.public_key(), self.checkpoint_every)
    }

    /// Writes the entries with `from_unix_ms <= at < to_unix_ms` as JSON lines (see [`AuditReader::export_jsonl`]).
    pub fn export_jsonl(&self, from_unix_ms: Option<i64>, to_unix_ms: Option<i64>, w: &mut dyn Write) -> Result<u64> {
        export_conn(&self.conn, from_unix_ms, to_unix_ms, w)
    }

    /// Entries matching `filter`, newest (highest seq) first, at most `limit` (capped at [`MAX_BROWSE`]): the
    /// auditors' view. Page with `before_seq` = the last seq of the previous page.
    pub fn browse(&self, filter: &BrowseFilter, limit: u32) -> Result<Vec<StoredEntry>> {
        browse_conn(&self.conn, filter, limit)
    }

    /// How many entries of `action` each month (UTC, `YYYY-MM`) holds, oldest month first: the public statistics
    /// of the transparency register (searches, exports). Auditors' exports of this log (target `audit`) are not
    /// exports of images and are left out.
    pub fn monthly_counts(&self, action: Action) -> Result<Vec<(String, i64)>> {
        let what = || format!("counting {} entries per month", action.as_str());
        let mut st = sql(
            self.conn.prepare(
                "select strftime('%Y-%m', at_unix_ms / 1000, 'unixepoch') as month, count(*) from audit_entry
                 where action = ? and target <> 'audit' group by month order by month",
            ),
            what,
        )?;
        let rows = sql(
            st.query_map([action.as_str()], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))),
            what,
        )?;
        sql(rows.collect::<rusqlite::Result<Vec<_>>>(), what)
    }

    /// Retention: removes the oldest entries, those appended before every entry younger than `min_age_days` (only a
    /// prefix of the chain goes), after verifying the log and storing the last removed entry's hash as the
    /// signed anchor, in one transaction; logs the purge as a `retention_deletion` by `"system"`. Refuses an age
    /// under [`MIN_RETENTION_DAYS`] and a log that does not verify. Returns how many entries were removed.
    pub fn purge_older_than(&mut self, min_age_days: i64, now_unix_ms: i64) -> Result<u64> {
        if min_age_days < MIN_RETENTION_DAYS {
            bail!(
                InvalidArgument,
                "audit entries are kept at least {MIN_RETENTION_DAYS} days (6 months); refusing to purge entries \
                 {min_age_days} days old"
            );
        }
        let report = self.verify()?;
        if let Some(p) = report.problem {
            bail!(
                InvalidData,
                "{}: the audit log does not verify, refusing to purge it: {p}",
                self.path.display()
            );
        }
        let cutoff = now_unix_ms.saturating_sub(min_age_days.saturating_mul(DAY_MS));
        let tx = sql(
            self.conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate),
            || "starting an audit transaction".into(),
        )?;
        // The last entry before the first young one (entries' times need not be monotonic: only a prefix goes).
        let first_young: Option<i64> = sql(
            tx.query_row(
                "select min(seq) from audit_entry where at_unix_ms >= ?",
                [cutoff],
                |r| r.get(0),
            ),
            || "finding the entries to purge".into(),
        )?;
        let last: Option<(i64, Vec<u8>)> = sql(
            tx.query_row(
                "select seq, hash from audit_entry where seq < ? order by seq desc limit 1",
                [first_young.unwrap_or(i64::MAX)],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional(),
            || "finding the entries to purge".into(),
        )?;
        let Some((last_seq, last_hash)) = last else {
            return Ok(0);
        };
        let sig = self.key.sign(&anchor_message(last_seq, &last_hash, now_unix_ms));
        sql(
            tx.execute(
                "insert into audit_anchor (id, seq, hash, signature, public_key, at_unix_ms) values (1, ?, ?, ?, ?, ?) \
                 on conflict (id) do update set seq = excluded.seq, hash = excluded.hash, \
                 signature = excluded.signature, public_key = excluded.public_key, at_unix_ms = excluded.at_unix_ms",
                params![
                    last_seq,
                    last_hash,
                    sig.0.as_slice(),
                    self.key.public_key().as_slice(),
                    now_unix_ms
                ],
            ),
            || format!("storing the retention anchor at {last_seq}"),
        )?;
        sql(
            tx.execute("delete from audit_checkpoint where up_to_seq <= ?", [last_seq]),
            || "removing purged checkpoints".into(),
        )?;
        let n = sql(tx.execute("delete from audit_entry where seq <= ?", [last_seq]), || {
            "purging audit entries".into()
        })?;
        sql(tx.commit(), || "committing the purge".into())?;
        self.append(&Entry::new(
            now_unix_ms,
            "system",
            Action::RetentionDeletion,
            "audit_log",
            serde_json::json!({ "purged_up_to_seq": last_seq, "entries": n, "min_age_days": min_age_days }),
        ))?;
        Ok(n as u64)
    }
}

fn insert_checkpoint(conn: &Connection, key: &InstanceKey, seq: i64, hash: &[u8], at_unix_ms: i64) -> Result<()> {
    let sig = key.sign(&checkpoint_message(seq, hash, at_unix_ms));
    sql(
        conn.execute(
            "insert into audit_checkpoint (up_to_seq, hash, signature, public_key, at_unix_ms) values (?, ?, ?, ?, ?)",
            params![seq, hash, sig.0.as_slice(), key.public_key().as_slice(), at_unix_ms],
        ),
        || format!("signing the checkpoint at {seq}"),
    )?;
    Ok(())
}

/// The audit log, read-only: what an auditor (or `vigie audit`) needs, without the secret key.
pub struct AuditReader {
    conn: Connection,
    checkpoint_every: i64,
}

impl AuditReader {
    /// Opens an existing log read-only; `NotFound` when there is none, an error for any other SQLite file.
    pub fn open(path: &Path) -> Result<AuditReader> {
        if !path.exists() {
            bail!(NotFound, "audit log {} does not exist", path.display());
        }
        let mut conn = sql(
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX),
            || format!("opening the audit log {}", path.display()),
        )?;
        sql(conn.busy_timeout(std::time::Duration::from_secs(5)), || {
            "setting the busy timeout".into()
        })?;
        prepare(&mut conn, false, 0, path)?;
        Ok(AuditReader {
            conn,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
        })
    }

    /// The checkpoint interval the log was written with (default [`DEFAULT_CHECKPOINT_EVERY`]).
    pub fn with_checkpoint_every(mut self, n: i64) -> AuditReader {
        self.checkpoint_every = n.max(1);
        self
    }

    /// Verifies the log against the instance's public key (64 hex digits).
    pub fn verify(&self, public_key_hex: &str) -> Result<VerifyReport> {
        let pk = key::unhex(public_key_hex)
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| err!(InvalidArgument, "public key {public_key_hex:?}: not 64 hex digits"))?;
        verify_conn(&self.conn, &pk, self.checkpoint_every)
    }

    /// As [`AuditLog::browse`].
    pub fn browse(&self, filter: &BrowseFilter, limit: u32) -> Result<Vec<StoredEntry>> {
        browse_conn(&self.conn, filter, limit)
    }

    /// Writes, for auditors, one JSON object a line: the retention anchor first when there is one
    /// (`"type":"anchor"`), then each entry with `from_unix_ms <= at_unix_ms < to_unix_ms` in seq order
    /// (`"type":"entry"`, its fields as stored, `detail` as the exact JSON text that was hashed, hashes in hex), each
    /// followed by its checkpoint when it has one (`"type":"checkpoint"`). With [`entry_hash`] and
    /// [`checkpoint_message`] an auditor can check the export without Vigie. Returns the number of entries.
    pub fn export_jsonl(&self, from_unix_ms: Option<i64>, to_unix_ms: Option<i64>, w: &mut dyn Write) -> Result<u64> {
        export_conn(&self.conn, from_unix_ms, to_unix_ms, w)
    }
}

#[cfg(test)]
mod tests;
