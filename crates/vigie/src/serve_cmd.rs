//! `vigie serve` (the live service) and `vigie check` (database and recordings verified).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use vigie_core::{Result, err};
use vigie_server::{Service, ServiceOptions};
use vigie_vision::Detector;

use crate::config::{Bases, Config};

/// Starts the service described by `config_file` and runs until SIGINT or SIGTERM.
pub fn serve(config_file: &Path, listen: Option<String>) -> Result<()> {
    let cfg = Config::load(config_file)?;
    let bases = Bases::new(Some(config_file));
    let opts = service_options(&cfg, &bases, listen)?;
    let n_cameras = opts.cameras.len();
    let svc = Service::start(opts)?;
    println!(
        "vigie serve: {} camera(s); console and API on http://{} (metrics: /metrics, health: /api/health)",
        n_cameras, svc.addr
    );
    svc.wait_for_signal()?;
    eprintln!("vigie serve: stopping (committing the last recording segments)");
    svc.shutdown();
    Ok(())
}

/// The service's options from a configuration: cameras validated and their files resolved, detectors loaded.
pub fn service_options(cfg: &Config, bases: &Bases, listen: Option<String>) -> Result<ServiceOptions> {
    let mut server = cfg.server.clone();
    if let Some(l) = listen {
        server.listen = l;
    }
    server.validate()?;
    let listen: SocketAddr = server
        .listen
        .parse()
        .map_err(|e| err!(Config, "listen address {:?}: {e}", server.listen))?;
    if cfg.cameras.is_empty() {
        return Err(err!(
            Config,
            "no [[camera]] configured: add at least one (config/demo.toml has an example)"
        ));
    }
    let labels = cfg.labels();
    let mut cameras = Vec::with_capacity(cfg.cameras.len());
    let mut analysers = Vec::with_capacity(cfg.cameras.len());
    for c in &cfg.cameras {
        let mut c = c.clone();
        c.validate(&server)?;
        c.rules_config()
            .validate(&labels)
            .map_err(|e| e.context(format!("camera {}", c.name)))?;
        if let Some(f) = &c.file {
            c.file = Some(bases.resolve_existing(f, &format!("camera {} file", c.name))?);
        }
        analysers.push(
            cfg.analyser_spec(bases, &c.rules)
                .map_err(|e| e.context(format!("camera {}", c.name)))?,
        );
        cameras.push(c);
    }
    let ort = bases.resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
    vigie_vision::init_runtime(&ort)?;
    let det_cfg = cfg.detector_config(bases)?;
    let model = crate::analyze::model_label(&det_cfg.model)?;
    let detectors = (0..cfg.detector_workers())
        .map(|_| Detector::new(&det_cfg))
        .collect::<Result<Vec<_>>>()?;
    // The parking pre-check (`[[parking]]`): its store for the agents' API and, when `[plates] enabled`, plate
    // reading on the cameras that have zones.
    let (parking, plates) = if cfg.parking.is_empty() {
        (None, None)
    } else {
        let (store, zones) = crate::plates_stage::open_parking(cfg, None, vigie_server::unix_ms())?;
        (Some(store), crate::plates_stage::live_options(cfg, bases, zones)?)
    };
    Ok(ServiceOptions {
        server,
        cameras,
        database: cfg.storage.database.clone(),
        listen,
        detectors,
        model,
        tracker: cfg.tracker_config(),
        analysers,
        analysis_fps: cfg.analysis.fps,
        clip_pre_s: cfg.events.clip_pre_s,
        clip_post_s: cfg.events.clip_post_s,
        parking,
        plates,
        plates_database: crate::plates_stage::paths(cfg).0,
    })
}

/// `vigie check`: SQLite integrity, every segment row has its file with its size, no orphan files, no overlaps.
/// Returns an error of kind InvalidData (exit 65) listing the problems when there are any.
pub fn check(config_file: Option<&Path>) -> Result<()> {
    let cfg = match config_file {
        Some(f) => Config::load(f)?,
        None => Config::default(),
    };
    let db: PathBuf = cfg.storage.database.clone();
    if !db.exists() {
        return Err(err!(NotFound, "database {} does not exist", db.display()));
    }
    let store = vigie_store::Store::open(&db)?;
    let dir = vigie_store::RecordingDir::open(&cfg.server.recordings)?;
    let report = store.check(&dir)?;
    for p in &report.problems {
        println!("problem: {p}");
    }
    println!(
        "{}: {} segment row(s), {} file(s), {} problem(s)",
        db.display(),
        report.segments,
        report.files,
        report.problems.len()
    );
    if report.is_ok() {
        Ok(())
    } else {
        Err(err!(
            InvalidData,
            "{} problem(s) found in {} and {}",
            report.problems.len(),
            db.display(),
            cfg.server.recordings.display()
        ))
    }
}

/// `vigie hold`: legal holds, which exempt a camera's recordings over a time range from retention (a judicial
/// request). Works on the database directly; the service picks holds up at its next retention pass.
#[derive(clap::Subcommand)]
pub enum HoldCmd {
    /// Place a hold: `vigie hold add --camera gate-1 --from 2026-11-29T14:00:00+01:00 --to ... --reference PV-2026-123`.
    Add {
        #[arg(long)]
        camera: String,
        /// Start, RFC 3339 with an offset.
        #[arg(long)]
        from: String,
        /// End, RFC 3339 with an offset.
        #[arg(long)]
        to: String,
        /// The judicial request's reference.
        #[arg(long)]
        reference: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// List holds (active and released), one JSON line each.
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Release a hold by id: its recordings fall under retention again.
    Release {
        id: i64,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn hold(cmd: HoldCmd) -> Result<()> {
    let open = |config: &Option<PathBuf>| -> Result<vigie_store::Store> {
        let cfg = match config {
            Some(f) => Config::load(f)?,
            None => Config::default(),
        };
        vigie_store::Store::open(&cfg.storage.database)
    };
    match cmd {
        HoldCmd::Add {
            camera,
            from,
            to,
            reference,
            config,
        } => {
            let mut store = open(&config)?;
            let cam = store
                .camera_id(&camera)?
                .ok_or_else(|| err!(NotFound, "camera {camera} has never recorded here"))?;
            let hold = vigie_store::NewLegalHold {
                camera: cam,
                from_unix_ms: crate::audit_cmd::rfc3339_ms("from", &from)?,
                to_unix_ms: crate::audit_cmd::rfc3339_ms("to", &to)?,
                reference,
            };
            let id = store.add_legal_hold(&hold, vigie_server::unix_ms())?;
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::HoldChange,
                &camera,
                serde_json::json!({"placed": id.0, "reference": hold.reference, "from_unix_ms": hold.from_unix_ms, "to_unix_ms": hold.to_unix_ms}),
            )?;
            println!("hold {} placed on camera {camera}", id.0);
        }
        HoldCmd::List { config } => {
            let store = open(&config)?;
            let names: std::collections::BTreeMap<i64, String> =
                store.cameras()?.into_iter().map(|c| (c.id.0, c.name)).collect();
            for h in store.legal_holds()? {
                println!(
                    "{}",
                    serde_json::json!({
                        "id": h.id.0,
                        "camera": names.get(&h.camera.0),
                        "from_unix_ms": h.from_unix_ms,
                        "to_unix_ms": h.to_unix_ms,
                        "reference": h.reference,
                        "created_unix_ms": h.created_unix_ms,
                        "released_unix_ms": h.released_unix_ms,
                    })
                );
            }
        }
        HoldCmd::Release { id, config } => {
            let mut store = open(&config)?;
            store.release_legal_hold(vigie_store::LegalHoldId(id), vigie_server::unix_ms())?;
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::HoldChange,
                "",
                serde_json::json!({"released": id}),
            )?;
            println!("hold {id} released");
        }
    }
    Ok(())
}
