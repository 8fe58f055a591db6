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
