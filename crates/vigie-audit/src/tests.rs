//! Unit tests of the encoding and the schema's closed list; the tamper tests are in `tests/tamper.rs`.

use super::*;

#[test]
fn schema_check_lists_exactly_the_actions() {
    for a in Action::ALL {
        assert!(
            SCHEMA_SQL.contains(&format!("'{}'", a.as_str())),
            "{a} missing from the CHECK"
        );
        assert_eq!(a.as_str().parse::<Action>().unwrap(), a);
        assert_eq!(serde_json::to_value(a).unwrap(), a.as_str());
    }
    assert!("face_search".parse::<Action>().is_err());
}

#[test]
fn encoding_is_length_prefixed() {
    // Moving bytes from one field to the next changes the hash.
    let z = [0u8; 32];
    assert_ne!(
        entry_hash(1, 0, "ab", "login", "c", "{}", &z),
        entry_hash(1, 0, "a", "login", "bc", "{}", &z)
    );
    assert_ne!(
        entry_hash(1, 0, "a", "login", "", "{}", &z),
        entry_hash(2, 0, "a", "login", "", "{}", &z)
    );
    assert_ne!(
        checkpoint_message(5, &z, 7),
        anchor_message(5, &z, 7),
        "a checkpoint cannot be replayed as an anchor"
    );
}

#[test]
fn other_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("other.db");
    Connection::open(&p)
        .unwrap()
        .execute_batch("create table t (x)")
        .unwrap();
    let key = Arc::new(InstanceKey::load_or_create(&dir.path().join("k")).unwrap());
    let e = AuditLog::open(&p, key).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("not a Vigie audit log"), "{e}");
}

#[test]
fn browse_filters_newest_first_and_pages_by_seq() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(InstanceKey::load_or_create(&dir.path().join("k")).unwrap());
    let mut log = AuditLog::open(&dir.path().join("audit.db"), key).unwrap();
    for i in 0..10i64 {
        let (actor, action) = if i % 2 == 0 {
            ("ann", Action::Search)
        } else {
            ("bob", Action::Login)
        };
        log.append(&Entry::new(1000 + i, actor, action, "", serde_json::json!({ "i": i })))
            .unwrap();
    }
    let seqs = |v: Vec<StoredEntry>| v.into_iter().map(|e| e.seq).collect::<Vec<_>>();
    assert_eq!(seqs(log.browse(&BrowseFilter::default(), 3).unwrap()), [10, 9, 8]);
    let f = BrowseFilter {
        before_seq: Some(8),
        ..Default::default()
    };
    assert_eq!(seqs(log.browse(&f, 3).unwrap()), [7, 6, 5]);
    let f = BrowseFilter {
        actor: Some("ann".into()),
        action: Some(Action::Search),
        from_unix_ms: Some(1002),
        to_unix_ms: Some(1008),
        ..Default::default()
    };
    assert_eq!(seqs(log.browse(&f, 100).unwrap()), [7, 5, 3]);
    let f = BrowseFilter {
        action: Some(Action::Export),
        ..Default::default()
    };
    assert!(log.browse(&f, 100).unwrap().is_empty());
    assert_eq!(log.browse(&BrowseFilter::default(), 0).unwrap().len(), 0);
}

/// The register's public count of exports is of images and clips: an auditor's export of this log is not one.
#[test]
fn monthly_export_counts_leave_out_exports_of_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let key = Arc::new(InstanceKey::load_or_create(&dir.path().join("k")).unwrap());
    let mut log = AuditLog::open(&dir.path().join("audit.db"), key).unwrap();
    let t = 1_790_000_000_000; // 2026-09
    log.append(&Entry::new(
        t,
        "ines",
        Action::Export,
        "case:PV-1",
        serde_json::json!({}),
    ))
    .unwrap();
    log.append(&Entry::new(
        t + 1,
        "aude",
        Action::Export,
        "audit",
        serde_json::json!({}),
    ))
    .unwrap();
    assert_eq!(
        log.monthly_counts(Action::Export).unwrap(),
        [("2026-09".to_string(), 1)]
    );
}
