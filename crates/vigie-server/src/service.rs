//! Starting and stopping the whole service.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use vigie_core::{Error, ErrorKind, Result, Time90k};
use vigie_store::{RecordingDir, RetentionPolicy, Store};
use vigie_vision::Detector;

use crate::camera::{self, AnaMsg, AnalysisFeed, AnalysisSetup};
use crate::config::{CameraConfig, ServerSection};
use crate::http::{self, AppState};
use crate::live::CameraHandle;
use crate::metrics::{CameraMetrics, Metrics};
use crate::pool::InferencePool;
use crate::recorder::{self, RecMsg};
use crate::store_actor::{self, StoreCmd, StoreHandle};

/// Everything the service needs, already resolved by the command line (paths, models, defaults).
pub struct ServiceOptions {
    pub server: ServerSection,
    /// Cameras, validated, with `file` paths resolved.
    pub cameras: Vec<CameraConfig>,
    /// The SQLite database.
    pub database: PathBuf,
    /// Address to listen on (the configuration's, or `--listen`'s).
    pub listen: SocketAddr,
    /// One detector per inference worker, shared by every camera.
    pub detectors: Vec<Detector>,
    /// The detector model's label for the database (file name and SHA-256).
    pub model: String,
    pub tracker: vigie_track::TrackerConfig,
    /// The analysers each camera's rules need, in the order of `cameras`.
    pub analysers: Vec<crate::analysers::AnalyserSpec>,
    /// Default analysis rate.
    pub analysis_fps: f64,
    pub clip_pre_s: f64,
    pub clip_post_s: f64,
    /// The parking pre-check's store, when `[[parking]]` zones are configured (agents' queue, payments API).
    pub parking: Option<vigie_plates::parking::ParkingStore>,
    /// Plate reading for the parking pre-check on the cameras with parking zones (needs `parking`).
    pub plates: Option<vigie_plates::stage::LiveOptions>,
    /// The track plate database (`[plates] database`, or `plates.db` beside the database): the plate search inside
    /// a case that allows it. Opened per search, never created by the server.
    pub plates_database: PathBuf,
}

/// A running service. [`Service::shutdown`] stops it in order: sources, then analysis and recording (the last
/// segments are committed), then the database thread.
pub struct Service {
    pub addr: SocketAddr,
    pub metrics: Arc<Metrics>,
    /// Each camera's live view and rules, in configuration order.
    pub cameras: Arc<Vec<CameraHandle>>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Arc<tokio::sync::Notify>,
    stop_flag: Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    store_thread: Option<JoinHandle<()>>,
    store: Option<StoreHandle>,
    audit: Arc<std::sync::Mutex<vigie_audit::AuditLog>>,
}

impl Service {
    pub fn start(opts: ServiceOptions) -> Result<Service> {
        opts.server.validate()?;
        let mut names = std::collections::BTreeSet::new();
        for c in &opts.cameras {
            c.validate(&opts.server)?;
            if !names.insert(c.name.clone()) {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!("camera name {} is used twice", c.name),
                ));
            }
        }
        if let Some(dir) = opts.database.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", dir.display()), e))?;
        }
        let mut store = Store::open(&opts.database)?;
        let dir = Arc::new(RecordingDir::open(&opts.server.recordings)?);
        let rec = store.reconcile(&dir)?;
        if !rec.orphans_deleted.is_empty() || !rec.missing_files.is_empty() || !rec.failures.is_empty() {
            eprintln!(
                "vigie serve: recordings reconciled: {} unfinished segment file(s) removed, {} row(s) without a file flagged, {} failure(s)",
                rec.orphans_deleted.len(),
                rec.missing_files.len(),
                rec.failures.len()
            );
        }
        let camera_names: Vec<String> = opts.cameras.iter().map(|c| c.name.clone()).collect();
        let metrics = Arc::new(Metrics::new(&camera_names, crate::unix_ms()));
        let (store_h, store_thread) = store_actor::start(store, dir.clone())?;
        let pool = Arc::new(InferencePool::start(
            opts.detectors,
            opts.cameras.len().max(1),
            metrics.clone(),
        )?);
        let labels: Vec<String> = pool.labels().to_vec();
        // The console's API: its own connection to the database; an `admin` account when there is none.
        let mut api = crate::api::Api::open(&opts.database, opts.server.snapshots.clone())?;
        api.recordings = Some(opts.server.recordings.clone());
        // The audit log and the instance key beside the database (what `vigie audit verify` reads by default).
        let data_dir = opts
            .database
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let key = Arc::new(vigie_audit::InstanceKey::load_or_create(
            &data_dir.join("instance.key"),
        )?);
        let audit = Arc::new(std::sync::Mutex::new(vigie_audit::AuditLog::open(
            &data_dir.join("audit.db"),
            key,
        )?));
        api.audit = Some(audit.clone());
        let parking = opts.parking.map(|p| Arc::new(std::sync::Mutex::new(p)));
        api.parking = parking.clone();
        api.plates_db = Some(opts.plates_database.clone());
        if let Some(password) = api.bootstrap_admin(crate::unix_ms())? {
            eprintln!("vigie serve: created user admin with password {password} (shown once: change it or note it)");
        }
        // The authorisations: loaded now, refreshed from the database every few seconds (see below) and by the
        // API after each change; every analysis thread checks its rules against them.
        api.authz.set(api.with_store(|s| s.authorisations())?);
        api.register = crate::register::RegisterInfo::from_config(&opts.server, &opts.cameras);
        api.privacy_masks = opts
            .cameras
            .iter()
            .filter(|c| !c.privacy_masks.is_empty())
            .map(|c| (c.name.clone(), c.privacy_masks.clone()))
            .collect();
        let authz = api.authz.clone();
        let api = Arc::new(api);
        let zones_dir = api.zones_dir.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("vigie-io")
            .enable_all()
            .build()
            .map_err(|e| Error::wrap(ErrorKind::Internal, "starting the async runtime", e))?;
        let (listener, addr) = runtime.block_on(http::bind(opts.listen))?;
        let hooks = crate::webhook::Webhooks::start(&opts.server.webhooks, runtime.handle())?;
        let stop = Arc::new(tokio::sync::Notify::new());
        let stop_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut threads = Vec::new();
        let mut handles = Vec::with_capacity(opts.cameras.len());

        for (ci, cam) in opts.cameras.iter().enumerate() {
            let m = metrics
                .camera(&cam.name)
                .cloned()
                .ok_or_else(|| Error::new(ErrorKind::Internal, "camera metrics missing"))?;
            let ((rec_tx, rec_rx), (ana_tx, ana_rx)) = camera::channels();
            // Zones saved from the console (api::zones) replace the configuration's.
            let cam_rules = crate::api::zones::load(&zones_dir, &cam.name)?.unwrap_or_else(|| cam.rules_config());
            let (handle, rules_rx) = CameraHandle::new(&cam.name, m.clone(), cam_rules.clone(), cam.analyse);
            handles.push(handle.clone());
            if cam.record {
                let (c, d, s, mm) = (cam.name.clone(), dir.clone(), store_h.clone(), m.clone());
                let seg = opts.server.segment_s;
                // `mask_before_recording`: the recorder re-encodes with the masks (issue 7); otherwise it remuxes.
                let masks = if cam.mask_before_recording {
                    cam.privacy_masks.clone()
                } else {
                    Vec::new()
                };
                threads.push(camera::spawn(format!("rec-{}", cam.name), move || {
                    recorder::run(c, seg, d, s, mm, masks, rec_rx)
                })?);
            }
            if cam.analyse {
                let setup = AnalysisSetup {
                    camera: cam.name.clone(),
                    fps: cam.analysis_fps.unwrap_or(opts.analysis_fps),
                    motion_gate: cam.motion_gate,
                    rules: cam_rules.clone(),
                    tracker: opts.tracker,
                    analysers: opts.analysers.get(ci).cloned().unwrap_or_default(),
                    model: opts.model.clone(),
                    clip_pre: Time90k::from_secs_f64(opts.clip_pre_s),
                    clip_post: Time90k::from_secs_f64(opts.clip_post_s),
                    snapshots: opts.server.snapshots.clone(),
                    authz: authz.clone(),
                    audit: Some(audit.clone()),
                    webhooks: hooks.clone(),
                    masks: cam.privacy_masks.clone(),
                    plates: match (&opts.plates, &parking) {
                        (Some(lp), Some(pk)) => lp.camera_stage(&cam.name, pk)?,
                        _ => None,
                    },
                };
                let (p, s, name) = (pool.clone(), store_h.clone(), cam.name.clone());
                threads.push(camera::spawn(format!("ana-{}", cam.name), move || {
                    if let Err(e) = camera::run_analysis(setup, p, s, handle, rules_rx, ana_rx) {
                        eprintln!("vigie serve: camera {name}: analysis stopped: {e}");
                    }
                })?);
            }
            let rec_tx = cam.record.then_some(rec_tx);
            let ana_tx = cam.analyse.then_some(ana_tx);
            let (main_ana, sub_ana) = match (&cam.analysis_url, ana_tx) {
                (Some(_), Some(tx)) => (None, Some(tx)),
                (_, tx) => (tx, None),
            };
            let src = ingest_config(cam, &opts.server, false)?;
            let (tx, rx) = tokio::sync::mpsc::channel(64);
            runtime.spawn(vigie_ingest::run_camera(src, tx, stop_flag.clone()));
            let (c, s, mm, wh) = (cam.name.clone(), store_h.clone(), m.clone(), hooks.clone());
            threads.push(camera::spawn(format!("hub-{}", cam.name), move || {
                hub(
                    c,
                    rx,
                    Outlets {
                        rec: rec_tx,
                        ana: main_ana,
                    },
                    s,
                    mm,
                    wh,
                    true,
                )
            })?);
            if let Some(tx_ana) = sub_ana {
                let src = ingest_config(cam, &opts.server, true)?;
                let (tx, rx) = tokio::sync::mpsc::channel(64);
                runtime.spawn(vigie_ingest::run_camera(src, tx, stop_flag.clone()));
                let (c, s, mm) = (cam.name.clone(), store_h.clone(), m.clone());
                threads.push(camera::spawn(format!("sub-{}", cam.name), move || {
                    hub(
                        c,
                        rx,
                        Outlets {
                            rec: None,
                            ana: Some(tx_ana),
                        },
                        s,
                        mm,
                        None,
                        false,
                    )
                })?);
            }
        }
        drop(pool); // the analysis threads hold it; the workers stop when the last one ends

        // Retention, in its own thread: every `retention_every_s`, and once at start.
        let policy = RetentionPolicy {
            max_age_days: opts.server.retention_days,
            max_bytes_per_camera: opts.server.max_bytes_per_camera,
            per_camera: opts
                .cameras
                .iter()
                .map(|c| {
                    (
                        c.name.clone(),
                        vigie_store::CameraRetention {
                            max_age_days: c.retention_days,
                            max_bytes: c.max_bytes,
                        },
                    )
                })
                .collect(),
        };
        policy.validate().map_err(|e| e.context("retention"))?;
        {
            let (s, m, flag, log) = (store_h.clone(), metrics.clone(), stop_flag.clone(), audit.clone());
            let every = Duration::from_secs_f64(opts.server.retention_every_s);
            let snaps = (opts.server.snapshots.clone(), opts.server.retention_days);
            threads.push(camera::spawn("retention".into(), move || {
                retention_loop(&s, &m, &log, &policy, &snaps, every, &flag)
            })?);
        }

        {
            let (a, flag) = (api.clone(), stop_flag.clone());
            threads.push(camera::spawn("authorisations".into(), move || {
                while !flag.load(Ordering::SeqCst) {
                    match a.with_store(|s| s.authorisations()) {
                        Ok(list) => a.authz.set(list),
                        Err(e) => eprintln!("vigie serve: reading the authorisations: {e}"),
                    }
                    for _ in 0..10 {
                        if flag.load(Ordering::SeqCst) {
                            return;
                        }
                        std::thread::sleep(Duration::from_millis(200));
                    }
                }
            })?);
        }

        let cameras = Arc::new(handles);
        let state = AppState {
            metrics: metrics.clone(),
            cameras: cameras.clone(),
            labels: Arc::new(labels),
            stale_after_s: opts.server.stall_s,
            now_unix_ms: crate::unix_ms,
            api: Some(api),
        };
        let stop2 = stop.clone();
        runtime.spawn(async move {
            if let Err(e) = http::serve_on(listener, state, async move { stop2.notified().await }).await {
                eprintln!("vigie serve: HTTP server stopped: {e}");
            }
        });
        Ok(Service {
            addr,
            metrics,
            cameras,
            runtime: Some(runtime),
            stop,
            stop_flag,
            threads,
            store_thread: Some(store_thread),
            store: Some(store_h),
            audit,
        })
    }

    /// Blocks until SIGINT or SIGTERM.
    pub fn wait_for_signal(&self) -> Result<()> {
        let Some(rt) = &self.runtime else { return Ok(()) };
        rt.block_on(async {
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .map_err(|e| Error::wrap(ErrorKind::Internal, "installing the SIGTERM handler", e))?;
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            Ok(())
        })
    }

    /// Stops everything in order and commits the last recording segments.
    pub fn shutdown(mut self) {
        self.stop_all();
    }

    fn stop_all(&mut self) {
        self.stop_flag.store(true, Ordering::SeqCst);
        self.stop.notify_waiters();
        if let Some(rt) = self.runtime.take() {
            // Ingest tasks see the flag and end, dropping their channels; the hubs then end, and so on.
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        for h in self.threads.drain(..) {
            let _ = h.join();
        }
        self.store = None;
        if let Some(h) = self.store_thread.take() {
            let _ = h.join();
        }
        // A signed checkpoint over the last entries, so that a cut tail is detectable.
        let mut log = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        if let Err(e) = log.checkpoint(crate::unix_ms()) {
            eprintln!("vigie serve: audit log checkpoint: {e}");
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn retention_loop(
    store: &StoreHandle,
    metrics: &Metrics,
    audit: &std::sync::Mutex<vigie_audit::AuditLog>,
    policy: &RetentionPolicy,
    snapshots: &(PathBuf, u32),
    every: Duration,
    stop: &std::sync::atomic::AtomicBool,
) {
    loop {
        let max_age = Duration::from_secs(u64::from(snapshots.1) * 86_400);
        match prune_snapshots(&snapshots.0, max_age) {
            Ok(n) if n > 0 => eprintln!(
                "vigie serve: retention: {n} event snapshot(s) older than {} days deleted",
                snapshots.1
            ),
            Ok(_) => {}
            Err(e) => eprintln!("vigie serve: retention of snapshots: {e}"),
        }
        let policy = Box::new(policy.clone());
        match store.ask(|reply| StoreCmd::Retention {
            now_unix_ms: crate::unix_ms(),
            policy,
            reply,
        }) {
            Ok(rep) => {
                metrics
                    .retention_deletions
                    .fetch_add(rep.deleted.len() as u64, Ordering::Relaxed);
                if !rep.deleted.is_empty() {
                    let detail = serde_json::json!({
                        "segments": rep.deleted.len(),
                        "bytes": rep.bytes_deleted(),
                        "held": rep.held,
                    });
                    let entry = vigie_audit::Entry::new(
                        crate::unix_ms(),
                        "system",
                        vigie_audit::Action::RetentionDeletion,
                        "recordings",
                        detail,
                    );
                    let mut log = audit.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = log.append(&entry) {
                        eprintln!("vigie serve: audit log: {e}");
                    }
                }
                // Exports of expired cases (issue 8: they expire with the case), one entry each.
                for x in &rep.expired_exports {
                    let entry = vigie_audit::Entry::new(
                        crate::unix_ms(),
                        "system",
                        vigie_audit::Action::RetentionDeletion,
                        format!("case:{}", x.case_reference),
                        serde_json::json!({"export": x.path, "files": x.files, "reason": "case_expired"}),
                    );
                    let mut log = audit.lock().unwrap_or_else(|p| p.into_inner());
                    if let Err(e) = log.append(&entry) {
                        eprintln!("vigie serve: audit log: {e}");
                    }
                }
                for f in &rep.failures {
                    eprintln!("vigie serve: retention: {f}");
                }
            }
            Err(e) => eprintln!("vigie serve: retention: {e}"),
        }
        let t = std::time::Instant::now();
        while t.elapsed() < every {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100).min(every));
        }
    }
}

fn ingest_config(cam: &CameraConfig, server: &ServerSection, sub: bool) -> Result<vigie_ingest::CameraSourceConfig> {
    let health = vigie_ingest::HealthConfig {
        stall_after: Duration::from_secs_f64(server.stall_s),
        ..Default::default()
    };
    let transport = match cam.transport {
        crate::config::Transport::Tcp => vigie_ingest::Transport::Tcp,
        crate::config::Transport::Udp => vigie_ingest::Transport::Udp,
    };
    let url = if sub {
        cam.analysis_url.as_ref()
    } else {
        cam.url.as_ref()
    };
    let src = match (url, &cam.file) {
        (Some(u), _) => vigie_ingest::CameraSourceConfig::rtsp(
            vigie_ingest::RtspOptions::parse(u)
                .map_err(|e| e.context(format!("camera {}", cam.name)))?
                .with_transport(transport),
        ),
        (None, Some(f)) => {
            vigie_ingest::CameraSourceConfig::file(vigie_ingest::FileOptions::new(f.clone()).with_speed(cam.speed))
        }
        (None, None) => {
            return Err(Error::new(
                ErrorKind::Config,
                format!("camera {}: no url and no file", cam.name),
            ));
        }
    };
    Ok(src.with_health(health))
}

/// The hub of one camera source: fans frames out to the recorder (blocking: back-pressure, never a drop) and to
/// analysis (dropping until the next key frame when behind), and keeps the camera's state. `main` is false for an
/// analysis sub-stream, whose state and gaps do not describe the recording.
/// Where a hub sends frames: the recorder and the analysis, either of which may be absent.
struct Outlets {
    rec: Option<std::sync::mpsc::SyncSender<RecMsg>>,
    ana: Option<std::sync::mpsc::SyncSender<AnaMsg>>,
}

fn hub(
    camera: String,
    mut rx: tokio::sync::mpsc::Receiver<vigie_ingest::CameraMsg>,
    out: Outlets,
    store: StoreHandle,
    metrics: Arc<CameraMetrics>,
    webhooks: Option<Arc<crate::webhook::Webhooks>>,
    main: bool,
) {
    let mut feed = out.ana.map(|tx| AnalysisFeed::new(tx, metrics.clone()));
    let mut rec = out.rec;
    let mut was_streaming = false;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            vigie_ingest::CameraMsg::Frame(f) => {
                let f = Arc::new(f);
                if main {
                    metrics.frames_in.fetch_add(1, Ordering::Relaxed);
                    metrics.last_frame_unix_ms.store(f.wall_ms, Ordering::Relaxed);
                }
                if let Some(tx) = &rec {
                    metrics.record_queue.fetch_add(1, Ordering::Relaxed);
                    if tx.send(RecMsg::Frame(f.clone())).is_err() {
                        metrics.record_queue.fetch_sub(1, Ordering::Relaxed);
                        eprintln!("vigie serve: camera {camera}: the recorder stopped; recording is off");
                        rec = None;
                    }
                }
                if let Some(fd) = &mut feed
                    && !fd.push(&f)
                {
                    feed = None;
                }
            }
            vigie_ingest::CameraMsg::State {
                state,
                at_unix_ms,
                detail,
            } => {
                if !main {
                    if state != vigie_ingest::CameraState::Streaming
                        && let Some(fd) = &mut feed
                    {
                        fd.reset();
                    }
                    continue;
                }
                let name = state.as_str();
                if name == "streaming" {
                    if metrics.frames_in.load(Ordering::Relaxed) > 0 && !was_streaming {
                        metrics.reconnects.fetch_add(1, Ordering::Relaxed);
                    }
                    was_streaming = true;
                } else {
                    was_streaming = false;
                    if let Some(fd) = &mut feed {
                        fd.reset();
                    }
                }
                metrics.set_state(name, at_unix_ms, &detail);
                if let Some(w) = &webhooks {
                    w.publish(serde_json::json!({
                        "type": "camera",
                        "camera": camera,
                        "state": name,
                        "at_unix_ms": at_unix_ms,
                        "detail": detail,
                    }));
                }
                let _ = store.send(StoreCmd::State {
                    camera: camera.clone(),
                    state,
                    at_unix_ms,
                    detail,
                });
            }
            vigie_ingest::CameraMsg::Gap {
                from_unix_ms,
                to_unix_ms,
                reason,
            } => {
                if !main {
                    continue;
                }
                match &rec {
                    Some(tx) => {
                        metrics.record_queue.fetch_add(1, Ordering::Relaxed);
                        let _ = tx.send(RecMsg::Gap {
                            from_unix_ms,
                            to_unix_ms,
                            reason,
                        });
                    }
                    None => {
                        let _ = store.send(StoreCmd::Gap {
                            camera: camera.clone(),
                            from_unix_ms,
                            to_unix_ms,
                            reason,
                        });
                    }
                }
            }
        }
    }
}

/// Deletes event snapshots (`<dir>/<camera>/<event>.jpg`) older than `max_age`: they are images of the scene and
/// fall under the same retention as the recordings. Returns how many were deleted.
fn prune_snapshots(dir: &std::path::Path, max_age: Duration) -> Result<u64> {
    let Ok(cams) = std::fs::read_dir(dir) else {
        return Ok(0); // none written yet
    };
    let now = std::time::SystemTime::now();
    let mut n = 0;
    for cam in cams.flatten() {
        let Ok(files) = std::fs::read_dir(cam.path()) else {
            continue;
        };
        for f in files.flatten() {
            let old = f
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > max_age);
            if old {
                std::fs::remove_file(f.path())
                    .map_err(|e| Error::wrap(ErrorKind::Io, format!("deleting {}", f.path().display()), e))?;
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_snapshots_are_pruned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cam = dir.path().join("gate");
        std::fs::create_dir_all(&cam).expect("mkdir");
        std::fs::write(cam.join("ev-old.jpg"), b"x").expect("write");
        std::fs::write(cam.join("ev-new.jpg"), b"x").expect("write");
        let old = std::time::SystemTime::now() - Duration::from_secs(31 * 86_400);
        let f = std::fs::File::options()
            .write(true)
            .open(cam.join("ev-old.jpg"))
            .expect("open");
        f.set_modified(old).expect("set mtime");
        assert_eq!(
            prune_snapshots(dir.path(), Duration::from_secs(30 * 86_400)).expect("prune"),
            1
        );
        assert!(!cam.join("ev-old.jpg").exists());
        assert!(cam.join("ev-new.jpg").exists());
        assert_eq!(
            prune_snapshots(&dir.path().join("missing"), Duration::ZERO).expect("prune"),
            0
        );
    }
}
