//! `vigie parking`: the sworn agent's and the payment provider's side of the parking pre-check, until the console
//! exists. Every command prints JSON lines on stdout; what an agent does is logged in the parking database
//! (`agent_log`: who, what, when; no plate).
//!
//! - `import CSV`: paid sessions from a provider's export (`plate,zone,start,end[,reference]`); prints
//!   `{"imported": N, "errors": [{"line", "message"}]}`. With `--config`, the configuration's `[[parking]]` zones are
//!   created first when missing.
//! - `queue --agent A`: the pending pre-check records, oldest first, one line each (with the plate: the agent
//!   compares it with the vehicle).
//! - `evidence ID --agent A --out DIR`: writes the record's two photos (`record-ID-plate.jpg`,
//!   `record-ID-vehicle.jpg`) into DIR. Those copies are the agent's to delete.
//! - `confirm ID --agent A --fine REF`: the agent checked the vehicle and started the fine REF. The plate is erased.
//! - `dismiss ID --agent A --reason TEXT`: the plate is erased, and the photos with it.
//! - `record ID`: a record in any state (no plate once decided). `counts`: the daily counters. `purge`: applies the
//!   retention periods (run it every few minutes).
//!
//! The database and key come from the configuration (`plates.parking_database`, `plates.key_file`, see
//! `config/vigie.toml`) or `--db` / `--key`. Only `import` with `--config` may create a database; every other
//! command refuses a missing database or key file.

use crate::config::Config;
use crate::plates_stage;
use clap::{Args, Subcommand};
use serde_json::json;
use std::path::PathBuf;
use vigie_core::{Error, ErrorKind, Result, bail};
use vigie_plates::parking::{self, ParkingStore, PlateKey, PrecheckId};

#[derive(Args)]
pub struct DbArgs {
    /// Configuration file (TOML): the parking database, key file and `[[parking]]` zones.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Parking database. Overrides plates.parking_database.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Plate key file. Overrides plates.key_file.
    #[arg(long)]
    key: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ParkingCmd {
    /// Imports paid sessions from a CSV export (plate,zone,start,end[,reference]; RFC 3339 times).
    Import {
        csv: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Lists the pending pre-check records (logged as the agent's).
    Queue {
        #[arg(long)]
        agent: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Writes a record's two evidence photos into a folder (logged).
    Evidence {
        id: i64,
        #[arg(long)]
        agent: String,
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Confirms a record: the agent checked the vehicle and started a fine (its reference).
    Confirm {
        id: i64,
        #[arg(long)]
        agent: String,
        /// The reference of the fine (FPS) the agent started.
        #[arg(long)]
        fine: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Dismisses a record, with the reason.
    Dismiss {
        id: i64,
        #[arg(long)]
        agent: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Prints a record in any state.
    Record {
        id: i64,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Prints the daily counters of every zone.
    Counts {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Deletes what reached the end of its retention period.
    Purge {
        #[command(flatten)]
        db: DbArgs,
    },
}

pub fn run(cmd: ParkingCmd) -> Result<()> {
    let now = now_ms();
    match cmd {
        ParkingCmd::Import { csv, db } => {
            let text = std::fs::read_to_string(&csv)
                .map_err(|e| Error::from(e).context(format!("reading {}", csv.display())))?;
            let mut store = open(&db, true, now)?;
            let r = store.import_sessions_csv(&text, now)?;
            print_json(&json!({"imported": r.imported, "errors": r.errors}))
        }
        ParkingCmd::Queue { agent, db } => {
            let mut store = open(&db, false, now)?;
            for item in store.queue(&agent, now)? {
                print_json(&item)?;
            }
            Ok(())
        }
        ParkingCmd::Evidence { id, agent, out, db } => {
            let mut store = open(&db, false, now)?;
            let crops = store.evidence(PrecheckId(id), &agent, now)?;
            std::fs::create_dir_all(&out)
                .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", out.display()), e))?;
            let mut files = Vec::new();
            for (c, what) in crops.iter().zip(["plate", "vehicle"]) {
                let path = out.join(format!("record-{id}-{what}.jpg"));
                std::fs::write(&path, &c.jpeg)
                    .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", path.display()), e))?;
                files.push(json!({"file": path.display().to_string(), "taken_unix_ms": c.taken_unix_ms}));
            }
            print_json(&json!({"record": id, "photos": files}))
        }
        ParkingCmd::Confirm { id, agent, fine, db } => {
            let mut store = open(&db, false, now)?;
            store.confirm(PrecheckId(id), &agent, &fine, now)?;
            print_json(&json!({"record": id, "state": "confirmed"}))
        }
        ParkingCmd::Dismiss { id, agent, reason, db } => {
            let mut store = open(&db, false, now)?;
            store.dismiss(PrecheckId(id), &agent, &reason, now)?;
            print_json(&json!({"record": id, "state": "dismissed"}))
        }
        ParkingCmd::Record { id, db } => print_json(&open(&db, false, now)?.record(PrecheckId(id))?),
        ParkingCmd::Counts { db } => {
            for c in open(&db, false, now)?.daily_counts(None)? {
                print_json(&c)?;
            }
            Ok(())
        }
        ParkingCmd::Purge { db } => print_json(&open(&db, false, now)?.purge_expired(now)?),
    }
}

/// Opens the parking database. `create`: with `--config`, a missing database, key or zone of the configuration is
/// created; otherwise both files must exist.
fn open(args: &DbArgs, create: bool, now: i64) -> Result<ParkingStore> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(d) = &args.db {
        cfg.plates.parking_database = Some(d.clone());
    }
    if let Some(k) = &args.key {
        cfg.plates.key_file = Some(k.clone());
    }
    let (_, db, key) = plates_stage::paths(&cfg);
    if create && args.config.is_some() && !cfg.parking.is_empty() {
        return Ok(plates_stage::open_parking(&cfg, cfg.events.camera.as_deref(), now)?.0);
    }
    for (p, what) in [(&db, "parking database"), (&key, "plate key file")] {
        if !p.exists() {
            bail!(
                NotFound,
                "{what} {} does not exist (`vigie analyze` with [[parking]] zones creates it; see --config, --db, --key)",
                p.display()
            );
        }
    }
    let pcfg = parking::Config {
        min_confidence: cfg.plates.parking_min_confidence,
        ..Default::default()
    };
    ParkingStore::open(&db, PlateKey::load_or_create(&key)?, pcfg, now)
}

fn print_json(v: &impl serde::Serialize) -> Result<()> {
    let line = serde_json::to_string(v).map_err(|e| Error::wrap(ErrorKind::Internal, "serialising", e))?;
    println!("{line}");
    Ok(())
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
