//! One camera in the live service: a list of stages with bounded queues between them.
//!
//! ```text
//! ingest (tokio task, vigie-ingest: RTSP or file, reconnects with backoff)
//!   │ bounded channel, back-pressure
//!   ▼
//! hub (thread): counts, camera state → metrics and database
//!   ├──▶ recorder (thread): channel with back-pressure — recording never drops a frame
//!   └──▶ analysis (thread): bounded channel; when full, frames are dropped until the next key frame (counted), so
//!        the decoder never sees a broken reference chain
//!          decode (every frame; RGB only for sampled ones) → sampler (analysis fps) → motion gate
//!          → shared inference pool → tracker → rules → events → database
//! ```

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;

use vigie_core::{EncodedFrame, Error, ErrorKind, Result, RgbFrame, Time90k};
use vigie_rules::{Engine, Event};

use crate::analysers::{AnalyserSpec, Analysers, EventRows, WallClockSource, rules_input};
use crate::live::{CameraHandle, LiveFrame, LiveObject};
use vigie_store::{RunFinish, RunId};
use vigie_video::{FrameDecoder, FrameSampler, MotionGate};

use crate::metrics::CameraMetrics;
use crate::pool::InferencePool;
use crate::recorder::RecMsg;
use crate::store_actor::{StoreCmd, StoreHandle};

/// What the hub passes to the analysis thread.
pub enum AnaMsg {
    Frame(Arc<EncodedFrame>),
    /// The source was interrupted: tracks cannot continue across it.
    Reset,
}

/// Frames buffered for analysis per camera (about 2 s at 25 fps).
pub const ANALYSIS_QUEUE: usize = 50;
/// Frames buffered for the recorder per camera (about 20 s at 25 fps) before the source is slowed.
pub const RECORD_QUEUE: usize = 500;

/// Forwards to the analysis queue, dropping from a full queue until the next key frame.
pub struct AnalysisFeed {
    tx: SyncSender<AnaMsg>,
    skipping: bool,
    metrics: Arc<CameraMetrics>,
}

impl AnalysisFeed {
    pub fn new(tx: SyncSender<AnaMsg>, metrics: Arc<CameraMetrics>) -> Self {
        AnalysisFeed {
            tx,
            skipping: false,
            metrics,
        }
    }

    /// Returns false once the analysis thread has gone.
    pub fn push(&mut self, f: &Arc<EncodedFrame>) -> bool {
        if self.skipping && !f.is_key {
            self.metrics.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        match self.tx.try_send(AnaMsg::Frame(f.clone())) {
            Ok(()) => {
                self.skipping = false;
                self.metrics.analysis_queue.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_)) => {
                self.skipping = true;
                self.metrics.frames_dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    pub fn reset(&mut self) {
        self.skipping = true; // the next frame worth decoding is a key frame
        let _ = self.tx.try_send(AnaMsg::Reset);
    }
}

/// The fixed parts of a camera's analysis.
pub struct AnalysisSetup {
    pub camera: String,
    pub fps: f64,
    pub motion_gate: bool,
    pub rules: vigie_rules::RulesConfig,
    pub tracker: vigie_track::TrackerConfig,
    /// Pose, fire, weapon analysers this camera's rules need.
    pub analysers: AnalyserSpec,
    pub model: String,
    pub clip_pre: Time90k,
    pub clip_post: Time90k,
    /// Folder of event snapshots (`<camera>/<event id>.jpg` below it).
    pub snapshots: std::path::PathBuf,
    /// The authorisations: a rule runs only while one covers this camera and its event type ([`crate::authz`]).
    pub authz: crate::authz::Authorisations,
    /// Where rules stopped or resumed by an authorisation are logged; `None` in tests.
    pub audit: Option<Arc<std::sync::Mutex<vigie_audit::AuditLog>>>,
    /// Where event messages are also POSTed (`[server] webhooks`).
    pub webhooks: Option<Arc<crate::webhook::Webhooks>>,
    /// Privacy masks, filled in every decoded frame before anything else sees it (motion gate, detector, live
    /// view, event snapshots).
    pub masks: Vec<vigie_core::MaskConfig>,
    /// Plate reading for the parking pre-check (cameras with parking zones): started with the session, its
    /// plates go to the parking database only (`vigie_plates::stage`), never to the event database.
    pub plates: Option<vigie_plates::stage::StageSetup>,
}

/// Seconds between two detector runs on a still scene with no track alive (catches slow, small movers the gate
/// misses).
const STILL_KEEPALIVE: Time90k = Time90k(2 * 90_000);

/// Media time of the camera, continuous across reconnections (each connection's timestamps restart).
#[derive(Debug, Default)]
struct CameraClock {
    /// (pts of the connection's first frame, camera time it maps to).
    base: Option<(Time90k, Time90k)>,
    /// The latest camera time given out; `None` before the first frame.
    last: Option<Time90k>,
    /// The last source timestamp seen, to notice a new connection that did not say so (timestamps jumping back).
    last_pts: Option<Time90k>,
    session_start_ms: Option<i64>,
}

impl CameraClock {
    fn reset(&mut self) {
        self.base = None;
        self.last_pts = None;
    }

    fn time_of(&mut self, f: &EncodedFrame) -> Time90k {
        let start_ms = *self.session_start_ms.get_or_insert(f.wall_ms);
        // Going back by more than a second is a new timeline (B-frames go back by a few frames only).
        let jumped_back = self.last_pts.is_some_and(|l| f.pts.0 < l.0 - 90_000);
        self.last_pts = Some(f.pts);
        let (p0, t0) = match self.base {
            Some((p0, t0)) if f.pts.0 >= p0.0 && !jumped_back => (p0, t0),
            _ => {
                // A new connection: continue from wall time, and never go back.
                let wall = Time90k((f.wall_ms - start_ms).max(0) * 90);
                let t0 = Time90k(wall.0.max(self.last.map_or(0, |l| l.0 + 1)));
                self.base = Some((f.pts, t0));
                (f.pts, t0)
            }
        };
        let t = Time90k(t0.0 + (f.pts.0 - p0.0));
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        t
    }

    /// Camera time of a source timestamp of the current connection (a decoded picture may come out a few calls
    /// after its frame went in: B-frames, frame threads).
    fn map(&self, pts: Time90k) -> Time90k {
        match self.base {
            Some((p0, t0)) => Time90k(t0.0 + (pts.0 - p0.0)),
            None => pts,
        }
    }
}

/// Sends the batched tracks of `run` to the store thread (dropped when there is no run yet).
fn send_tracks(store: &StoreHandle, run: Option<RunId>, tracks: &mut crate::tracks::TrackBatcher) {
    let (boxes, ended, colours) = tracks.take();
    if let Some(run) = run
        && !(boxes.is_empty() && ended.is_empty())
    {
        let _ = store.send(StoreCmd::Tracks {
            run,
            boxes,
            ended,
            colours,
        });
    }
}

/// The analysis thread of one camera.
pub fn run_analysis(
    mut setup: AnalysisSetup,
    pool: Arc<InferencePool>,
    store: StoreHandle,
    handle: CameraHandle,
    rules_rx: Option<Receiver<vigie_rules::RulesConfig>>,
    rx: Receiver<AnaMsg>,
) -> Result<()> {
    let metrics = handle.metrics.clone();
    let mut rules = setup.rules.clone();
    let mut labels: Vec<String> = pool.labels().to_vec();
    let mut analysers = Analysers::new(&setup.analysers, &mut labels)?;
    let mut decoder = FrameDecoder::new(1);
    let mut sampler = FrameSampler::new(setup.fps);
    let mut gate = setup
        .motion_gate
        .then(|| MotionGate::new(vigie_video::MotionConfig::default()));
    let mut tracker = vigie_track::Tracker::new(setup.tracker);
    let mut masks = vigie_core::PrivacyMasks::new(&setup.masks);
    let mut tracks = crate::tracks::TrackBatcher::default();
    let mut clock = CameraClock::default();
    let mut wall: Option<WallClockSource> = None;
    let mut engine: Option<Engine> = None;
    let mut run: Option<RunId> = None;
    let mut alive_tracks = 0usize;
    let mut last_detect: Option<Time90k> = None;
    let (mut analysed, mut decoded) = (0u64, 0u64);
    let started = std::time::Instant::now();
    let mut rows = EventRows::default();
    // The rules as configured or edited (`rules`), and as they run: those no valid authorisation covers switched
    // off (`effective`), re-checked every `authz::RECHECK_S` seconds.
    let (mut effective, mut blocked) =
        crate::authz::authorised_rules(&rules, &setup.camera, &setup.authz, crate::unix_ms());
    log_scope_change(&setup, &[], &blocked);
    let mut last_check = std::time::Instant::now();
    let mut plates_setup = setup.plates.take();
    let mut plates: Option<(vigie_plates::stage::Feeder, vigie_plates::stage::PlateWorker)> = None;

    for msg in rx {
        let f = match msg {
            AnaMsg::Reset => {
                clock.reset();
                // Tracks cannot bridge an outage: end them, and let the rules end what depended on them.
                let ended = tracker.finish();
                plates_ended(&mut plates, &ended);
                tracks.end(&ended);
                send_tracks(&store, run, &mut tracks);
                alive_tracks = 0;
                continue;
            }
            AnaMsg::Frame(f) => f,
        };
        metrics.analysis_queue.fetch_sub(1, Ordering::Relaxed);
        let t = clock.time_of(&f);
        let want = sampler.take(t);
        let frame = match decoder.decode(&f, want) {
            Ok(Some(fr)) => fr,
            Ok(None) => continue,
            Err(_) => {
                metrics.decode_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        decoded += 1;
        if !want {
            continue;
        }
        let t = clock.map(frame.pts);
        let mut frame = RgbFrame { pts: t, ..frame };
        // Privacy masks first: nothing downstream (live view, snapshots, analysis) sees the masked pixels.
        masks.apply(&mut frame);
        if let Some(g) = &mut gate {
            let m = g.push(&frame);
            let keepalive = last_detect.is_none_or(|l| t.0 - l.0 >= STILL_KEEPALIVE.0);
            if !m.moving && alive_tracks == 0 && !keepalive {
                metrics.frames_still.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        }
        // Zones and rules edited in the console, or an authorisation that expired, was revoked or was granted:
        // the old engine ends its open events, the new one starts afresh with the rules now allowed.
        let edited = rules_rx.as_ref().and_then(|r| r.try_iter().last());
        let recheck = last_check.elapsed().as_secs_f64() >= crate::authz::RECHECK_S;
        if edited.is_some() || recheck {
            last_check = std::time::Instant::now();
            if let Some(new_rules) = edited.clone() {
                rules = new_rules;
            }
            let (eff, now_blocked) =
                crate::authz::authorised_rules(&rules, &setup.camera, &setup.authz, crate::unix_ms());
            let scope_changed = now_blocked != blocked;
            if scope_changed && edited.is_none() {
                // (An edit changes the rules themselves; the API refused any it could not authorise.)
                log_scope_change(&setup, &blocked, &now_blocked);
            }
            if edited.is_some() || scope_changed {
                if let (Some(eng), Some(run_id)) = (engine.as_mut(), run) {
                    eng.finish();
                    while let Some(ev) = eng.pull() {
                        save(&setup, &store, run_id, &mut rows, &ev, &metrics, None);
                    }
                    engine = Some(Engine::new(&eff, &setup.camera, frame.width, frame.height, &labels)?);
                }
                effective = eff;
            }
            blocked = now_blocked;
        }
        if engine.is_none() {
            engine = Some(Engine::new(
                &effective,
                &setup.camera,
                frame.width,
                frame.height,
                &labels,
            )?);
            // Camera time 0 is the session's first frame: events' media times + this = wall-clock times.
            let started = clock.session_start_ms.unwrap_or_else(crate::unix_ms);
            run = Some(store.begin_camera_run(
                &setup.camera,
                started,
                frame.width,
                frame.height,
                setup.fps,
                &setup.model,
            )?);
            if let (Some(mut ps), Some(run_id)) = (plates_setup.take(), run) {
                ps.labels = labels.clone();
                ps.run_id = run_id.0;
                ps.video_start = started;
                match vigie_plates::stage::start_stage(ps) {
                    Ok(p) => plates = Some(p),
                    Err(e) => eprintln!("vigie serve: camera {}: plate reader: {e}", setup.camera),
                }
            }
        }
        let (Some(eng), Some(run_id)) = (engine.as_mut(), run) else {
            continue;
        };
        let frame = Arc::new(frame);
        let mut dets = match pool.detect(frame.clone()) {
            Ok(d) => d,
            Err(e) => {
                eprintln!("vigie serve: camera {}: detector: {e}", setup.camera);
                continue;
            }
        };
        if let Err(e) = analysers.detect_weapons(&frame, &mut dets) {
            eprintln!("vigie serve: camera {}: weapon detector: {e}", setup.camera);
        }
        last_detect = Some(t);
        let objects = tracker.update(&dets, t);
        tracks.observe(t, &objects, &labels, Some(&frame));
        if let Some((feeder, _)) = plates.as_mut() {
            feeder.observe(&frame, &objects);
        }
        let ended = tracker.take_ended();
        plates_ended(&mut plates, &ended);
        tracks.end(&ended);
        if tracks.ready(500) {
            send_tracks(&store, run, &mut tracks);
        }
        alive_tracks = objects.len();
        let mut input = rules_input(t, &objects, &labels);
        input.wall = clock
            .session_start_ms
            .map(|s| wall.get_or_insert_with(|| WallClockSource::new(s)).at(t));
        if let Err(e) = analysers.observe(&frame, &mut input) {
            eprintln!("vigie serve: camera {}: pose/fire analysers: {e}", setup.camera);
        }
        eng.push(&input);
        while let Some(ev) = eng.pull() {
            save(
                &setup,
                &store,
                run_id,
                &mut rows,
                &ev,
                &metrics,
                Some((&frame, &objects)),
            );
        }
        handle.publish(LiveFrame {
            t_unix_ms: input.wall.map_or_else(crate::unix_ms, |w| w.unix_ms),
            frame: frame.clone(),
            objects: objects
                .iter()
                // An object entirely inside a privacy mask is not drawn on the live view either.
                .filter(|o| !masks.hides_box(frame.width, frame.height, [o.bbox.x1, o.bbox.y1, o.bbox.x2, o.bbox.y2]))
                .map(|o| {
                    LiveObject::new(
                        o.track_id.get(),
                        crate::analysers::label(&labels, o.voted_class),
                        o.score,
                        o.bbox,
                    )
                })
                .collect(),
        });
        analysed += 1;
        metrics.frames_analysed.fetch_add(1, Ordering::Relaxed);
    }
    let ended = tracker.finish();
    plates_ended(&mut plates, &ended);
    tracks.end(&ended);
    send_tracks(&store, run, &mut tracks);
    if let Some((feeder, worker)) = plates.take() {
        drop(feeder); // the reader finishes the crops in flight, then stops
        if let Err(e) = worker.finish() {
            eprintln!("vigie serve: camera {}: plate reader: {e}", setup.camera);
        }
    }
    if let (Some(eng), Some(run_id)) = (engine.as_mut(), run) {
        eng.finish();
        while let Some(ev) = eng.pull() {
            save(&setup, &store, run_id, &mut rows, &ev, &metrics, None);
        }
        let _ = store.send(StoreCmd::FinishRun {
            run: run_id,
            fin: RunFinish {
                finished_unix_ms: crate::unix_ms(),
                frames_decoded: decoded,
                frames_analysed: analysed,
                wall_ms: started.elapsed().as_millis() as i64,
            },
        });
    }
    Ok(())
}

/// Tells the plate stage, if any, which tracks ended (it votes and pre-checks them).
fn plates_ended(
    plates: &mut Option<(vigie_plates::stage::Feeder, vigie_plates::stage::PlateWorker)>,
    ended: &[vigie_core::TrackId],
) {
    if let Some((feeder, _)) = plates.as_mut() {
        for id in ended {
            feeder.ended(*id);
        }
    }
}

/// Logs to the audit log (actor "system", `config_change`) the rules an authorisation stopped or let resume.
fn log_scope_change(setup: &AnalysisSetup, before: &[String], after: &[String]) {
    let stopped: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
    let resumed: Vec<&String> = before.iter().filter(|r| !after.contains(r)).collect();
    if stopped.is_empty() && resumed.is_empty() {
        return;
    }
    eprintln!(
        "vigie serve: camera {}: rules stopped (no valid authorisation): {stopped:?}; resumed: {resumed:?}",
        setup.camera
    );
    let Some(log) = &setup.audit else { return };
    let entry = vigie_audit::Entry::new(
        crate::unix_ms(),
        "system",
        vigie_audit::Action::ConfigChange,
        &setup.camera,
        serde_json::json!({
            "rules_stopped": stopped,
            "rules_resumed": resumed,
            "why": "authorisation scope: a rule runs only while a valid authorisation covers its event type",
        }),
    );
    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
    if let Err(e) = log.append(&entry) {
        eprintln!("vigie serve: camera {}: audit log: {e}", setup.camera);
    }
}

fn save(
    setup: &AnalysisSetup,
    store: &StoreHandle,
    run: RunId,
    rows: &mut EventRows,
    ev: &Event,
    metrics: &CameraMetrics,
    frame: Option<(&RgbFrame, &[vigie_core::TrackedObject])>,
) {
    let snapshot = || {
        metrics.events.fetch_add(1, Ordering::Relaxed);
        // The frame at which the event was raised, for the operator who confirms or dismisses it.
        let Some((f, objects)) = frame else { return Ok(None) };
        let rel = format!("{}/{}.jpg", setup.camera, ev.id);
        let boxes: Vec<vigie_core::BBox> = objects
            .iter()
            .filter(|o| ev.track_ids.contains(&o.track_id))
            .map(|o| o.bbox)
            .collect();
        match crate::snapshot::event_snapshot(f, &boxes, ev.bbox, &setup.masks, &setup.snapshots.join(&rel)) {
            Ok(()) => Ok(Some(rel)),
            Err(e) => {
                eprintln!("vigie serve: camera {}: event {} snapshot: {e}", setup.camera, ev.id);
                Ok(None)
            }
        }
    };
    match rows.fold(ev, setup.clip_pre, setup.clip_post, snapshot) {
        Ok(row) => {
            if let Some(w) = &setup.webhooks {
                w.publish(serde_json::json!({
                    "type": "event",
                    "phase": ev.phase,
                    "id": ev.id,
                    "kind": ev.kind.as_str(),
                    "camera": ev.camera,
                    "rule": ev.rule,
                    "zone": ev.zone,
                    "line": ev.line,
                    "start_s": ev.start.as_secs_f64(),
                    "end_s": ev.end.map(|e| e.as_secs_f64()),
                    "confidence": row.confidence,
                    "detail": row.detail,
                    "track_ids": row.track_ids.iter().map(|t| t.get()).collect::<Vec<_>>(),
                    "sent_unix_ms": crate::unix_ms(),
                }));
            }
            let _ = store.send(StoreCmd::SaveEvent {
                run,
                row: Box::new(row.clone()),
            });
        }
        Err(e) => eprintln!("vigie serve: camera {}: event {}: {e}", setup.camera, ev.id),
    }
    if ev.end.is_some() {
        rows.forget(&ev.id);
    }
}

/// Spawns a named thread, mapping the OS error.
pub fn spawn<T: Send + 'static>(name: String, f: impl FnOnce() -> T + Send + 'static) -> Result<JoinHandle<T>> {
    std::thread::Builder::new()
        .name(name.clone())
        .spawn(f)
        .map_err(|e| Error::wrap(ErrorKind::Internal, format!("spawning thread {name}"), e))
}

/// The two ends of a bounded channel.
pub type Channel<T> = (SyncSender<T>, Receiver<T>);

/// A recorder channel and an analysis channel for a camera.
pub fn channels() -> (Channel<RecMsg>, Channel<AnaMsg>) {
    (sync_channel(RECORD_QUEUE), sync_channel(ANALYSIS_QUEUE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_core::{StreamParams, VideoCodec};

    fn f(pts_s: f64, wall_ms: i64) -> EncodedFrame {
        EncodedFrame {
            params: Arc::new(StreamParams {
                codec: VideoCodec::H264,
                width: 2,
                height: 2,
                extradata: vec![],
                nominal_fps: None,
            }),
            pts: Time90k::from_secs_f64(pts_s),
            dts: Time90k::from_secs_f64(pts_s),
            wall_ms,
            is_key: true,
            data: vec![],
            loss_before: false,
        }
    }

    #[test]
    fn camera_time_continues_across_reconnections() {
        let mut c = CameraClock::default();
        assert_eq!(c.time_of(&f(100.0, 1_000_000)), Time90k(0));
        assert_eq!(c.time_of(&f(101.0, 1_001_000)), Time90k(90_000));
        // Reconnected 10 s later; the new connection's timestamps restart near 0.
        c.reset();
        let t = c.time_of(&f(0.0, 1_011_000));
        assert_eq!(t, Time90k(11 * 90_000));
        assert_eq!(c.time_of(&f(0.5, 1_011_500)), Time90k(11 * 90_000 + 45_000));
        assert_eq!(c.time_of(&f(3.0, 1_014_000)), Time90k(14 * 90_000));
        // Timestamps jumping back without a reset also start a new base, continuing from wall time.
        let t2 = c.time_of(&f(0.0, 1_014_100));
        assert_eq!(t2, Time90k(14 * 90_000 + 9_000));
        // A jump back with the wall clock behind never goes back in camera time either.
        let t3 = c.time_of(&f(2.0, 1_016_100));
        assert_eq!(t3, Time90k(t2.0 + 2 * 90_000));
        let t4 = c.time_of(&f(0.0, 1_000_000));
        assert_eq!(t4, Time90k(t3.0 + 1), "{t4:?} after {t3:?}");
    }
}
