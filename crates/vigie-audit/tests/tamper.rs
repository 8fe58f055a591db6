//! The audit log's safeguards, each removed or defeated as an attacker with write access to the file would: through a
//! raw SQLite connection, after dropping the append-only triggers. Each test fails if its safeguard goes (the hash
//! chain, the seq in the hash, the checkpoint signatures, the due-checkpoint check, the triggers, the retention floor).

use std::path::PathBuf;
use std::sync::Arc;

use rusqlite::{Connection, params};
use vigie_audit::{
    Action, AuditLog, AuditReader, Entry, InstanceKey, ProblemKind, VerifyReport, checkpoint_message, entry_hash,
};
use vigie_core::ErrorKind;

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn entry(i: i64, at_unix_ms: i64) -> Entry {
    let action = Action::ALL[(i as usize) % Action::ALL.len()];
    Entry::new(
        at_unix_ms,
        if i % 7 == 0 { "system" } else { "alice" },
        action,
        format!("cam-{}", i % 5),
        serde_json::json!({ "i": i, "note": "réf. PV-2026-123" }),
    )
}

struct Fixture {
    _dir: tempfile::TempDir,
    log_path: PathBuf,
    key: Arc<InstanceKey>,
}

/// A log of `n` entries with a checkpoint every `every`, closed.
fn fixture(n: i64, every: i64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(InstanceKey::load_or_create(&dir.path().join("instance.key")).unwrap());
    let log_path = dir.path().join("audit.db");
    let mut log = AuditLog::open(&log_path, key.clone())
        .unwrap()
        .with_checkpoint_every(every);
    let t0 = 1_780_000_000_000;
    for i in 1..=n {
        assert_eq!(log.append(&entry(i, t0 + i * 1000)).unwrap(), i);
    }
    Fixture {
        _dir: dir,
        log_path,
        key,
    }
}

impl Fixture {
    /// The attacker's connection: the triggers dropped.
    fn attacker(&self) -> Connection {
        let c = Connection::open(&self.log_path).unwrap();
        c.execute_batch(
            "drop trigger audit_entry_no_update; drop trigger audit_entry_no_delete; \
             drop trigger audit_checkpoint_no_update; drop trigger audit_checkpoint_no_delete; \
             drop trigger audit_anchor_forward; drop trigger audit_anchor_no_delete;",
        )
        .unwrap();
        c
    }

    fn verify(&self, every: i64) -> VerifyReport {
        let r = AuditReader::open(&self.log_path)
            .unwrap()
            .with_checkpoint_every(every)
            .verify(&self.key.public_key_hex())
            .unwrap();
        // The writer's own verify agrees with the read-only one.
        let w = AuditLog::open(&self.log_path, self.key.clone())
            .unwrap()
            .with_checkpoint_every(every)
            .verify()
            .unwrap();
        assert_eq!(r, w);
        r
    }

    /// Asserts the first problem is `kind` at `seq`.
    fn assert_problem(&self, every: i64, kind: ProblemKind, seq: i64) -> VerifyReport {
        let r = self.verify(every);
        let p = r
            .problem
            .clone()
            .unwrap_or_else(|| panic!("tampering not detected: {r:?}"));
        assert_eq!((p.kind, p.seq), (kind, seq), "{p}");
        assert!(p.to_string().contains(&seq.to_string()), "{p}");
        r
    }
}

/// Recomputes `seq`'s hash from its stored fields (the attacker knows the public encoding).
fn rehash(c: &Connection, seq: i64) {
    let (at, actor, action, target, detail, prev): (i64, String, String, String, String, Vec<u8>) = c
        .query_row(
            "select at_unix_ms, actor, action, target, detail, prev_hash from audit_entry where seq = ?",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    let h = entry_hash(seq, at, &actor, &action, &target, &detail, &prev);
    c.execute(
        "update audit_entry set hash = ? where seq = ?",
        params![h.as_slice(), seq],
    )
    .unwrap();
}

fn hash_of(c: &Connection, seq: i64) -> Vec<u8> {
    c.query_row("select hash from audit_entry where seq = ?", [seq], |r| r.get(0))
        .unwrap()
}

/// Moves entries `from..` by `delta` seqs (through seqs far above, so the primary key never collides).
fn renumber(c: &Connection, from: i64, delta: i64) {
    c.execute("update audit_entry set seq = seq + 1000000 where seq >= ?", [from])
        .unwrap();
    c.execute(
        "update audit_entry set seq = seq - 1000000 + ? where seq >= 1000000",
        [delta],
    )
    .unwrap();
}

#[test]
fn happy_path_1000_entries_with_checkpoints() {
    let f = fixture(1000, 100);
    let r = f.verify(100);
    assert!(r.is_intact(), "{r:?}");
    assert_eq!(r.entries, 1000);
    assert_eq!(r.checkpoints, 10);
    assert_eq!((r.head_seq, r.last_checkpoint_seq), (Some(1000), Some(1000)));

    // More entries, a checkpoint on demand, still intact.
    let mut log = AuditLog::open(&f.log_path, f.key.clone()).unwrap();
    for i in 1001..=1003 {
        log.append(&entry(i, 1_790_000_000_000)).unwrap();
    }
    assert_eq!(log.checkpoint(1_790_000_000_001).unwrap(), Some(1003));
    assert_eq!(
        log.checkpoint(1_790_000_000_002).unwrap(),
        None,
        "the head already has one"
    );
    let r = log.verify().unwrap();
    assert!(r.is_intact(), "{r:?}");
    assert_eq!((r.checkpoints, r.last_checkpoint_seq), (11, Some(1003)));

    // The export holds every entry and checkpoint; each exported entry re-hashes to its hash and chains.
    let mut out = Vec::new();
    assert_eq!(log.export_jsonl(None, None, &mut out).unwrap(), 1003);
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1003 + 11);
    let mut prev = "00".repeat(32);
    for v in lines.iter().filter(|v| v["type"] == "entry") {
        assert_eq!(v["prev_hash"], prev.as_str());
        let h = entry_hash(
            v["seq"].as_i64().unwrap(),
            v["at_unix_ms"].as_i64().unwrap(),
            v["actor"].as_str().unwrap(),
            v["action"].as_str().unwrap(),
            v["target"].as_str().unwrap(),
            v["detail"].as_str().unwrap(),
            &unhex(&prev),
        );
        assert_eq!(v["hash"], hex(&h).as_str());
        prev = hex(&h);
    }
    // A time window.
    let mut out = Vec::new();
    let t0 = 1_780_000_000_000;
    assert_eq!(
        log.export_jsonl(Some(t0 + 10_000), Some(t0 + 20_000), &mut out)
            .unwrap(),
        10
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Append-only at the SQL level: without dropping the triggers, nothing can be changed or removed.
#[test]
fn triggers_refuse_update_and_delete() {
    let f = fixture(25, 10);
    let c = Connection::open(&f.log_path).unwrap();
    for stmt in [
        "update audit_entry set detail = '{}' where seq = 3",
        "update audit_entry set seq = 100 where seq = 25",
        "delete from audit_entry where seq = 3",
        "delete from audit_entry where seq = 25",
        "delete from audit_entry",
        "update audit_checkpoint set hash = zeroblob(32) where up_to_seq = 10",
        "delete from audit_checkpoint where up_to_seq = 20",
    ] {
        let e = c.execute(stmt, []).expect_err(stmt);
        assert!(e.to_string().contains("append-only"), "{stmt}: {e}");
    }
    let n: i64 = c
        .query_row("select count(*) from audit_entry", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 25);
    // Nor can an action outside the closed list be stored.
    let e = c
        .execute(
            "insert into audit_entry values (26, 0, 'x', 'face_search', '', '{}', zeroblob(32), zeroblob(32))",
            [],
        )
        .unwrap_err();
    assert!(e.to_string().contains("CHECK"), "{e}");
    assert!(f.verify(10).is_intact());
}

#[test]
fn edited_entry_is_named() {
    let f = fixture(25, 10);
    f.attacker()
        .execute(
            "update audit_entry set detail = '{\"i\":7,\"note\":\"nothing to see\"}' where seq = 7",
            [],
        )
        .unwrap();
    f.assert_problem(10, ProblemKind::Edited, 7);
}

#[test]
fn edited_and_rehashed_entry_is_named() {
    let f = fixture(25, 10);
    let c = f.attacker();
    c.execute("update audit_entry set actor = 'bob' where seq = 7", [])
        .unwrap();
    rehash(&c, 7);
    f.assert_problem(10, ProblemKind::Edited, 7);
}

/// Edited, then every later hash recomputed: the chain is whole again, but the signed checkpoint at 10 is not.
#[test]
fn rewritten_chain_is_caught_by_the_signed_checkpoint() {
    let f = fixture(25, 10);
    let c = f.attacker();
    c.execute("update audit_entry set target = 'cam-9' where seq = 7", [])
        .unwrap();
    for s in 7..=25 {
        if s > 7 {
            let p = hash_of(&c, s - 1);
            c.execute("update audit_entry set prev_hash = ? where seq = ?", params![p, s])
                .unwrap();
        }
        rehash(&c, s);
    }
    let r = f.assert_problem(10, ProblemKind::Rewritten, 1);
    assert_eq!(r.problem.unwrap().to_seq, Some(10));
}

#[test]
fn deleted_entry_is_named() {
    let f = fixture(25, 10);
    f.attacker()
        .execute("delete from audit_entry where seq = 12", [])
        .unwrap();
    f.assert_problem(10, ProblemKind::Deleted, 12);
}

#[test]
fn deleted_entry_with_later_ones_renumbered_is_named() {
    let f = fixture(25, 100);
    let c = f.attacker();
    c.execute("delete from audit_entry where seq = 12", []).unwrap();
    renumber(&c, 13, -1);
    f.assert_problem(100, ProblemKind::Deleted, 12);
}

#[test]
fn deleted_tail_up_to_a_checkpoint_is_named() {
    let f = fixture(25, 10);
    f.attacker()
        .execute("delete from audit_entry where seq >= 19", [])
        .unwrap();
    f.assert_problem(10, ProblemKind::Deleted, 19);
}

#[test]
fn inserted_forged_entry_is_named() {
    let f = fixture(25, 100);
    let c = f.attacker();
    renumber(&c, 9, 1);
    // A well-formed forged entry: right seq, chained to entry 8, correct hash.
    let prev = hash_of(&c, 8);
    let h = entry_hash(9, 1_780_000_008_500, "alice", "search", "cam-1", "{}", &prev);
    c.execute(
        "insert into audit_entry values (9, 1780000008500, 'alice', 'search', 'cam-1', '{}', ?, ?)",
        params![prev, h.as_slice()],
    )
    .unwrap();
    f.assert_problem(100, ProblemKind::Inserted, 9);
}

#[test]
fn inserted_entry_with_a_bad_hash_is_named() {
    let f = fixture(25, 100);
    let c = f.attacker();
    renumber(&c, 9, 1);
    c.execute(
        "insert into audit_entry values (9, 1780000008500, 'alice', 'search', 'cam-1', '{}', zeroblob(32), zeroblob(32))",
        [],
    )
    .unwrap();
    f.assert_problem(100, ProblemKind::Inserted, 9);
}

#[test]
fn swapped_entries_are_named() {
    let f = fixture(25, 10);
    let c = f.attacker();
    c.execute_batch(
        "update audit_entry set seq = 1000005 where seq = 5; update audit_entry set seq = 5 where seq = 6; \
         update audit_entry set seq = 6 where seq = 1000005;",
    )
    .unwrap();
    f.assert_problem(10, ProblemKind::Reordered, 5);
}

#[test]
fn forged_checkpoint_signature_is_named() {
    let f = fixture(25, 10);
    let c = f.attacker();
    let mut sig: Vec<u8> = c
        .query_row("select signature from audit_checkpoint where up_to_seq = 20", [], |r| {
            r.get(0)
        })
        .unwrap();
    sig[10] ^= 0x40;
    c.execute("update audit_checkpoint set signature = ? where up_to_seq = 20", [sig])
        .unwrap();
    f.assert_problem(10, ProblemKind::BadCheckpoint, 20);
}

/// A checkpoint re-signed with the attacker's own key (its public key stored beside it) is not the instance's.
#[test]
fn checkpoint_signed_by_another_key_is_named() {
    let f = fixture(25, 10);
    let c = f.attacker();
    let other_dir = tempfile::tempdir().unwrap();
    let other = InstanceKey::load_or_create(&other_dir.path().join("k")).unwrap();
    let (hash, at): (Vec<u8>, i64) = c
        .query_row(
            "select hash, at_unix_ms from audit_checkpoint where up_to_seq = 10",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let sig = other.sign(&checkpoint_message(10, &hash, at));
    c.execute(
        "update audit_checkpoint set signature = ?, public_key = ? where up_to_seq = 10",
        params![sig.0.as_slice(), other.public_key().as_slice()],
    )
    .unwrap();
    let r = f.assert_problem(10, ProblemKind::BadCheckpoint, 10);
    assert!(r.problem.unwrap().what.contains("not the instance key"));
}

#[test]
fn removed_checkpoint_is_named() {
    let f = fixture(25, 10);
    f.attacker()
        .execute("delete from audit_checkpoint where up_to_seq = 20", [])
        .unwrap();
    f.assert_problem(10, ProblemKind::BadCheckpoint, 20);
}

fn purge_fixture() -> (tempfile::TempDir, PathBuf, Arc<InstanceKey>, i64) {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(InstanceKey::load_or_create(&dir.path().join("instance.key")).unwrap());
    let path = dir.path().join("audit.db");
    let now = now_ms();
    let mut log = AuditLog::open(&path, key.clone()).unwrap().with_checkpoint_every(10);
    for i in 1..=40 {
        // 1..=25 are 200 days old, the rest one day old.
        let at = if i <= 25 {
            now - 200 * DAY_MS + i
        } else {
            now - DAY_MS + i
        };
        log.append(&entry(i, at)).unwrap();
    }
    (dir, path, key, now)
}

/// Entries are kept at least 183 days; purging older ones keeps the chain verifiable through the signed anchor.
#[test]
fn retention_keeps_six_months_and_the_chain_verifiable() {
    let (_dir, path, key, now) = purge_fixture();
    let mut log = AuditLog::open(&path, key.clone()).unwrap().with_checkpoint_every(10);
    for days in [0, 30, 182] {
        let e = log.purge_older_than(days, now).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert_eq!(log.purge_older_than(183, now).unwrap(), 25);
    let r = log.verify().unwrap();
    assert!(r.is_intact(), "{r:?}");
    assert_eq!((r.anchor_seq, r.entries, r.head_seq), (Some(25), 16, Some(41)));
    // The purge itself is logged.
    let mut out = Vec::new();
    log.export_jsonl(None, None, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.lines().next().unwrap().contains("\"type\":\"anchor\""));
    assert!(text.lines().last().unwrap().contains("retention_deletion"), "{text}");
    // Nothing younger than 183 days can be deleted, even below a (forward-moved) anchor: the trigger refuses it.
    let c = Connection::open(&path).unwrap();
    c.execute("update audit_anchor set seq = 40 where id = 1", []).unwrap();
    let e = c.execute("delete from audit_entry where seq = 26", []).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    let e = c
        .execute("update audit_anchor set seq = 20 where id = 1", [])
        .unwrap_err();
    assert!(e.to_string().contains("forward"), "{e}");
    // The moved anchor's signature no longer verifies.
    let r = log.verify().unwrap();
    assert_eq!(r.problem.unwrap().kind, ProblemKind::BadAnchor);
}

#[test]
fn entries_deleted_after_a_purge_are_named() {
    let (_dir, path, key, now) = purge_fixture();
    let mut log = AuditLog::open(&path, key.clone()).unwrap().with_checkpoint_every(10);
    log.purge_older_than(183, now).unwrap();
    drop(log);
    let c = Connection::open(&path).unwrap();
    c.execute_batch("drop trigger audit_entry_no_delete").unwrap();
    c.execute("delete from audit_entry where seq = 26", []).unwrap();
    let r = AuditReader::open(&path)
        .unwrap()
        .with_checkpoint_every(10)
        .verify(&key.public_key_hex())
        .unwrap();
    let p = r.problem.unwrap();
    assert_eq!((p.kind, p.seq), (ProblemKind::Deleted, 26), "{p}");
}

/// Purging a tampered log would launder the evidence: refused.
#[test]
fn purge_refuses_a_log_that_does_not_verify() {
    let (_dir, path, key, now) = purge_fixture();
    let c = Connection::open(&path).unwrap();
    c.execute_batch("drop trigger audit_entry_no_update").unwrap();
    c.execute("update audit_entry set actor = 'bob' where seq = 3", [])
        .unwrap();
    let mut log = AuditLog::open(&path, key).unwrap().with_checkpoint_every(10);
    let e = log.purge_older_than(183, now).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("entry 3 edited"), "{e}");
}

#[test]
fn reader_needs_an_existing_log() {
    let dir = tempfile::tempdir().unwrap();
    let e = AuditReader::open(&dir.path().join("none.db")).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
}
