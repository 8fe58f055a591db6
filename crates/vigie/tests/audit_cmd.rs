//! `vigie audit verify` / `vigie audit export`: exit 0 and a summary when the log is intact, exit 65 naming the
//! first bad entry when not; the default log beside `[storage] database`.

mod common;

use std::sync::Arc;

use vigie_audit::{Action, AuditLog, Entry, InstanceKey};

#[test]
fn verify_and_export_beside_the_configured_database() {
    let dir = common::temp_dir("audit-cmd");
    let data = dir.join("data");
    let cfg = dir.join("vigie.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndatabase = {:?}\n",
            data.join("vigie.db").display().to_string()
        ),
    )
    .expect("config");
    let cfg = cfg.to_str().expect("utf-8 path");
    let key = Arc::new(InstanceKey::load_or_create(&data.join("instance.key")).expect("key"));
    let mut log = AuditLog::open(&data.join("audit.db"), key.clone()).expect("log");
    for i in 0..150 {
        log.append(&Entry::new(
            1_780_000_000_000 + i * 60_000,
            "ana",
            Action::LiveView,
            "gate",
            serde_json::json!({ "i": i }),
        ))
        .expect("append");
    }
    drop(log);

    let out = common::vigie(&["audit", "verify", "--config", cfg], &dir);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("intact: 150 entries"), "{stdout}");

    // With the published public key only (an auditor without the key file).
    let log_path = data.join("audit.db");
    let log_arg = log_path.to_str().expect("utf-8 path");
    let pk = key.public_key_hex();
    let out = common::vigie(&["audit", "verify", "--log", log_arg, "--public-key", &pk], &dir);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let out = common::vigie(
        &["audit", "export", "--config", cfg, "--from", "2026-05-28T20:30:00Z"],
        &dir,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    for l in text.lines() {
        let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
        assert!(v["type"] == "entry" || v["type"] == "checkpoint", "{l}");
    }

    // Tampered: exit 65 naming the entry.
    let c = rusqlite::Connection::open(&log_path).expect("open");
    c.execute_batch("drop trigger audit_entry_no_update")
        .expect("drop trigger");
    c.execute("update audit_entry set target = 'hall' where seq = 42", [])
        .expect("edit");
    drop(c);
    let out = common::vigie(&["audit", "verify", "--config", cfg], &dir);
    assert_eq!(out.status.code(), Some(65));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("entry 42 edited"), "{stderr}");

    // Another key: every checkpoint is refused.
    let other = "00".repeat(31) + "01";
    let out = common::vigie(&["audit", "verify", "--log", log_arg, "--public-key", &other], &dir);
    assert_ne!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&dir);
}
