//! `vigie user`: console accounts (design/0003-console-api.md) in the main database.
//!
//! `vigie user add NAME --role ROLE [--cameras a,b] [--config FILE]` reads the password from standard input (its
//! first line), so that it appears neither in the shell history nor in the process list.

use std::io::BufRead;
use std::path::PathBuf;

use clap::Subcommand;
use vigie_core::{Result, bail, err};
use vigie_store::{NewUser, Role, Store};

#[derive(Subcommand)]
pub enum UserCmd {
    /// Creates an account; the password (at least 8 characters) is read from standard input.
    Add {
        /// Login name: 1 to 64 ASCII letters, digits, '_', '-', '.' or '@'.
        username: String,
        /// operator, supervisor, investigator, parking_agent, auditor or admin.
        #[arg(long)]
        role: String,
        /// The cameras the user may see, comma-separated; default: all.
        #[arg(long, value_delimiter = ',')]
        cameras: Option<Vec<String>>,
        /// Configuration file (for [storage] database); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Lists the accounts (name, role, cameras, disabled).
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn open(config: Option<&std::path::Path>) -> Result<Store> {
    let cfg = super::load_config(config)?;
    let db = cfg.storage.database;
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err!(Io, "creating {}: {e}", dir.display()))?;
    }
    Store::open(&db)
}

pub fn run(cmd: UserCmd) -> Result<()> {
    match cmd {
        UserCmd::Add {
            username,
            role,
            cameras,
            config,
        } => {
            let role = Role::parse(&role)?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| err!(Io, "reading the password from standard input: {e}"))?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 8 {
                bail!(
                    InvalidArgument,
                    "the password (read from standard input) must have at least 8 characters"
                );
            }
            let hash = vigie_server::api::auth::hash_password(password)?;
            let cameras = cameras.map(|c| {
                c.into_iter()
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect()
            });
            let mut store = open(config.as_deref())?;
            store.create_user(
                &NewUser {
                    username: username.clone(),
                    password_hash: hash,
                    role,
                    cameras,
                },
                vigie_server::unix_ms(),
            )?;
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::UserChange,
                &username,
                serde_json::json!({"created": true, "role": role.as_str()}),
            )?;
            eprintln!("vigie: user {username} created ({})", role.as_str());
            Ok(())
        }
        UserCmd::List { config } => {
            let store = open(config.as_deref())?;
            for u in store.users()? {
                let cams = u.cameras.map_or_else(|| "all".to_owned(), |c| c.join(","));
                println!(
                    "{}\t{}\t{}\t{}",
                    u.username,
                    u.role.as_str(),
                    cams,
                    if u.disabled { "disabled" } else { "active" }
                );
            }
            Ok(())
        }
    }
}
