//! `vigie authorisation`: the authorisations that give the live analytics their legal scope (issue 7), in the main
//! database. A rule runs on a camera only while an authorisation covering that camera and its event type is valid
//! (`vigie_server::authz`); a running `vigie serve` sees a change within a few seconds. Each change is appended to
//! the audit log (`config_change`).
//!
//! `vigie authorisation add --authority A --reference R --cameras a,b --types intrusion,weapon --from T --to T`
//! (times in RFC 3339 with an offset), `vigie authorisation list`, `vigie authorisation revoke ID`.

use std::path::PathBuf;

use clap::Subcommand;
use vigie_core::{Result, err};
use vigie_store::{AuthorisationId, NewAuthorisation, Store};

#[derive(Subcommand)]
pub enum AuthorisationCmd {
    /// Records an authorisation (a prefect's order): authority, reference, cameras, event types, dates.
    Add {
        /// Who granted it, e.g. "Préfecture du Rhône".
        #[arg(long)]
        authority: String,
        /// The order's reference, e.g. "arrêté 2026-0142" (shown on the public register).
        #[arg(long)]
        reference: String,
        /// Cameras covered, comma-separated (configured names).
        #[arg(long, value_delimiter = ',', required = true)]
        cameras: Vec<String>,
        /// Event types covered, comma-separated, among the décret's eight: abandoned_object, weapon, wrong_way,
        /// intrusion (also allows loitering), person_on_ground, crowd_movement, excessive_density (also allows
        /// gathering), fire_start.
        #[arg(long, value_delimiter = ',', required = true)]
        types: Vec<String>,
        /// Start of validity, RFC 3339 with an offset (e.g. 2026-03-01T00:00:00+01:00).
        #[arg(long)]
        from: String,
        /// End of validity (excluded), RFC 3339 with an offset.
        #[arg(long)]
        to: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Lists the authorisations (valid, expired, revoked).
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Revokes an authorisation now: the rules it allowed stop.
    Revoke {
        id: i64,
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

fn who() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn time(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

pub fn run(cmd: AuthorisationCmd) -> Result<()> {
    match cmd {
        AuthorisationCmd::Add {
            authority,
            reference,
            cameras,
            types,
            from,
            to,
            config,
        } => {
            let new = NewAuthorisation {
                authority,
                reference,
                cameras,
                event_types: types,
                start_unix_ms: crate::audit_cmd::rfc3339_ms("from", &from)?,
                end_unix_ms: crate::audit_cmd::rfc3339_ms("to", &to)?,
            };
            new.validate()?;
            let mut store = open(config.as_deref())?;
            // Logged first: an authorisation that cannot be logged is not recorded.
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::ConfigChange,
                &new.reference,
                serde_json::json!({
                    "authorisation": "added",
                    "authority": new.authority,
                    "reference": new.reference,
                    "cameras": new.cameras,
                    "event_types": new.event_types,
                    "start_unix_ms": new.start_unix_ms,
                    "end_unix_ms": new.end_unix_ms,
                }),
            )?;
            let id = store.add_authorisation(&new, &who(), vigie_server::unix_ms())?;
            println!("authorisation {} recorded", id.0);
        }
        AuthorisationCmd::List { config } => {
            let store = open(config.as_deref())?;
            let now = vigie_server::unix_ms();
            for a in store.authorisations()? {
                let state = match (a.revoked_unix_ms, a.valid_at(now)) {
                    (Some(t), _) => format!("revoked {} by {}", time(t), a.revoked_by.unwrap_or_default()),
                    (None, true) => "valid".into(),
                    (None, false) if now < a.start_unix_ms => "not yet in force".into(),
                    (None, false) => "expired".into(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{} → {}\t{state}",
                    a.id,
                    a.authority,
                    a.reference,
                    a.cameras.join(","),
                    a.event_types.join(","),
                    time(a.start_unix_ms),
                    time(a.end_unix_ms)
                );
            }
        }
        AuthorisationCmd::Revoke { id, config } => {
            let mut store = open(config.as_deref())?;
            if !store.revoke_authorisation(AuthorisationId(id), &who(), vigie_server::unix_ms())? {
                println!("authorisation {id} was already revoked");
                return Ok(());
            }
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::ConfigChange,
                &id.to_string(),
                serde_json::json!({"authorisation": "revoked", "id": id}),
            )?;
            println!("authorisation {id} revoked");
        }
    }
    Ok(())
}
