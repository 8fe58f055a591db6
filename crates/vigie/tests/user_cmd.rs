//! `vigie user add` / `vigie user list`: accounts of the console, password on standard input.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

fn vigie(args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn vigie");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

#[test]
fn user_add_reads_the_password_from_stdin_and_list_shows_no_hash() {
    let dir = common::temp_dir("user-add");
    let db = dir.join("data/vigie.db");
    let cfg = dir.join("vigie.toml");
    std::fs::write(&cfg, format!("[storage]\ndatabase = {:?}\n", db.display().to_string())).expect("config");
    let cfg = cfg.to_str().expect("utf-8 path");

    let out = vigie(
        &[
            "user",
            "add",
            "ana",
            "--role",
            "operator",
            "--cameras",
            "gate,hall",
            "--config",
            cfg,
        ],
        "a long password\n",
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(db.exists());

    let out = vigie(
        &["user", "add", "ana", "--role", "admin", "--config", cfg],
        "another password\n",
    );
    assert_eq!(out.status.code(), Some(64), "a name is used once");
    let out = vigie(
        &["user", "add", "bob", "--role", "boss", "--config", cfg],
        "another password\n",
    );
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown role"));
    let out = vigie(&["user", "add", "bob", "--role", "admin", "--config", cfg], "short\n");
    assert_eq!(out.status.code(), Some(64));

    let out = vigie(&["user", "list", "--config", cfg], "");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.trim(), "ana\toperator\tgate,hall\tactive");
    assert!(!text.contains("argon2"));
}
