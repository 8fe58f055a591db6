//! `vigie analyze`: a video file in, tracked and classified objects out.
//!
//! The pipeline is a list of stages with bounded queues between them (Frigate's habit):
//!
//! ```text
//! 1 decode (thread)        FFmpeg demux/decode; FrameSampler keeps the analysis rate; RGB for sampled frames only
//!     │ queue: 2 frames per worker, numbered in decode order
//! 2 detect (N threads)     one ONNX Runtime session each (1 intra-op thread), all taking from the one queue
//!     │ queue: 2 results per worker
//! 3 track (this thread)    reorder buffer → ByteTrack, strictly in frame order
//!     │ queue: 16 tracked frames
//! 4 sink (thread)          per-track accumulation and class vote, SQLite (batched), snapshots
//!     ┆ [plates] only: at most 8 vehicle crops in flight, never waited for (crate::plates_stage)
//! 5 plates (thread)        plate reading, vote per track; parked vehicles → parking pre-check (own databases)
//! ```
//!
//! With one worker per core, inference on one frame overlaps inference on the next and decoding fills the gaps.
//! Detector and tracker are deterministic functions of the frames and the tracker sees frames in order, so the
//! same file gives the same tracks whatever the number of workers.

use crate::config::{Bases, Config};
use crate::report::{self, TrackRecord};
use indicatif::{ProgressBar, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigie_core::{BBox, Detections, Error, ErrorKind, Result, RgbFrame, Time90k, TrackId, TrackedObject, err};
use vigie_rules::{Engine, Event, Phase};
use vigie_server::analysers::{Analysers, EventRows, WallClockSource, label, rules_input};
use vigie_store::{EventRow, NewRun, RunFinish, SourceKind, Store};
use vigie_video::{DecodeOptions, FrameSampler, VideoFile, VideoInfo};
use vigie_vision::Detector;

/// Options of one `vigie analyze` run (command line over configuration).
#[derive(Clone, Debug)]
pub struct AnalyzeOptions {
    pub video: PathBuf,
    pub out_dir: PathBuf,
    pub config: Config,
    pub bases: Bases,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// What a run measured, written to `summary.json`.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Summary {
    pub video: String,
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames_decoded: u64,
    pub frames_analysed: u64,
    pub corrupt_packets: u64,
    pub duration_s: f64,
    pub analysis_fps: f64,
    pub wall_s: f64,
    /// Tracks per class, after the vote over each track.
    pub tracks: BTreeMap<String, u64>,
    /// Events raised, per type.
    pub events: BTreeMap<String, u64>,
    /// Line crossing counts (statistics), per line, class and direction.
    pub line_counts: Vec<vigie_rules::LineCount>,
    pub model: String,
    pub database: String,
    pub run_id: i64,
    pub timing: Timing,
    /// Plate reading and the parking pre-check, when `[plates]` is enabled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plates: Option<crate::plates_stage::PlatesSummary>,
}

/// Where the time went, in seconds.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Timing {
    /// Decode → detect → track → store loop, from opening the video to the last track stored (no report).
    pub pipeline_s: f64,
    /// Time in `Detector::detect` (pre-processing, inference, decoding of outputs, NMS).
    pub detect_s: f64,
    /// Of which `session.run` alone.
    pub inference_s: f64,
    pub track_s: f64,
    /// Time in the rule engine.
    pub rules_s: f64,
    /// Time the track stage waited for detections (the detectors are the bottleneck when this is close to
    /// `pipeline_s`).
    pub wait_detect_s: f64,
    /// Detector workers (ONNX Runtime sessions) that ran in parallel; `detect_s` and `inference_s` add up all of
    /// them, so they exceed `pipeline_s` when more than one ran.
    pub detect_workers: usize,
    /// Writing report.html, snapshots and pictures.
    pub report_s: f64,
    /// Time in the second (weapon) detector, on the track stage; 0 without one.
    pub weapon_detect_s: f64,
}

/// One analysed frame, handed to the sink.
struct TrackedFrame {
    frame: Arc<RgbFrame>,
    objects: Vec<TrackedObject>,
    ended: Vec<TrackId>,
    events: Vec<Event>,
}

pub fn run(opts: &AnalyzeOptions) -> Result<Summary> {
    let wall = Instant::now();
    let cfg = &opts.config;
    let decode_opts = DecodeOptions {
        threads: cfg.analysis.decode_threads,
    };
    // Open once here so that a bad file fails before anything is created on disk.
    let mut video = VideoFile::open(&opts.video, &decode_opts)?;
    let info = video.info().clone();

    let ort = opts
        .bases
        .resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
    vigie_vision::init_runtime(&ort)?;
    let det_cfg = cfg.detector_config(&opts.bases)?;
    let model_name = model_label(&det_cfg.model)?;
    let workers = cfg.detector_workers();
    let detectors = (0..workers)
        .map(|_| Detector::new(&det_cfg))
        .collect::<Result<Vec<_>>>()?;
    let mut class_names: Vec<String> = detectors[0].class_set().labels().to_vec();
    let mut tracker = vigie_track::Tracker::new(cfg.tracker_config());
    let camera = cfg.events.camera.clone().unwrap_or_else(|| {
        opts.video
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "video".into())
    });
    // Analysers before the engine: a second (weapon) detector appends its labels to `class_names`.
    let mut analysers = Analysers::new(&cfg.analyser_spec(&opts.bases, &cfg.rules)?, &mut class_names)?;
    let mut engine = Engine::new(&cfg.rules_config(), &camera, info.width, info.height, &class_names)?;
    let media_zero_unix_ms = cfg.start_time_unix_ms()?.unwrap_or_else(unix_ms);
    let clock = WallClockSource::new(media_zero_unix_ms);

    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", opts.out_dir.display()), e))?;
    let db_path = cfg.storage.database.clone(); // outputs are relative to the current folder
    if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", dir.display()), e))?;
    }
    let mut store = Store::open(&db_path)?;
    let run_id = store.begin_run(&NewRun {
        source: opts.video.display().to_string(),
        source_kind: SourceKind::File,
        started_unix_ms: unix_ms(),
        analysis_fps: cfg.analysis.fps,
        width: info.width,
        height: info.height,
        model: model_name.clone(),
    })?;
    // Camera and wall-clock time of media time 0: what the case-gated search (issue 8) finds tracks by.
    store.set_run_camera(
        run_id,
        &camera,
        media_zero_unix_ms,
        Some(
            &std::fs::canonicalize(&opts.out_dir)
                .unwrap_or_else(|_| opts.out_dir.clone())
                .display()
                .to_string(),
        ),
    )?;
    // Plates (`[plates]`): a reader thread fed by the sink, which never waits for it (crate::plates_stage).
    let (plate_feeder, plate_worker) =
        match crate::plates_stage::start(cfg, &opts.bases, &camera, run_id.0, &class_names, info.duration_s)? {
            Some((f, w)) => (Some(f), Some(w)),
            None => (None, None),
        };

    let pb = progress_bar(opts.progress, &info, cfg.analysis.fps);
    let pipeline_start = Instant::now();

    // Stage 1: decode. Frames are numbered in decode order; the detect stage may finish them out of order.
    let (frame_tx, frame_rx) = sync_channel::<(u64, RgbFrame)>(2 * workers);
    let fps = cfg.analysis.fps;
    // The privacy masks of the `[[camera]]` named like this run's camera (issue 7): filled in every frame before
    // anything sees it (detector, snapshots, pictures of the report).
    let mask_configs = cfg
        .cameras
        .iter()
        .find(|c| c.name == camera)
        .map_or(&[][..], |c| &c.privacy_masks[..]);
    for m in mask_configs {
        m.validate(&camera)?;
    }
    let masks = vigie_core::PrivacyMasks::new(mask_configs);
    let decoder = std::thread::Builder::new()
        .name("decode".into())
        .spawn(move || decode_stage(&mut video, fps, masks, &frame_tx))
        .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning the decode thread", e))?;

    // Stage 2: detect, one ONNX Runtime session per worker, all taking from one queue.
    let frame_rx = Arc::new(Mutex::new(frame_rx));
    let (det_tx, det_rx) = sync_channel::<Result<Detected>>(2 * workers);
    let mut worker_handles = Vec::with_capacity(workers);
    for (i, det) in detectors.into_iter().enumerate() {
        let rx = frame_rx.clone();
        let tx = det_tx.clone();
        let h = std::thread::Builder::new()
            .name(format!("detect-{i}"))
            .spawn(move || detect_stage(det, &rx, &tx))
            .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning a detect thread", e))?;
        worker_handles.push(h);
    }
    drop(frame_rx);
    drop(det_tx);

    // Stage 4: sink (storage, snapshots), spawned before stage 3 runs on this thread.
    let (sink_tx, sink_rx) = sync_channel::<TrackedFrame>(16);
    let sink_cfg = SinkConfig {
        run_id,
        labels: class_names.clone(),
        out_dir: opts.out_dir.clone(),
        clip_pre: Time90k::from_secs_f64(cfg.events.clip_pre_s),
        clip_post: Time90k::from_secs_f64(cfg.events.clip_post_s),
        plates: plate_feeder,
    };
    let sink = std::thread::Builder::new()
        .name("sink".into())
        .spawn(move || sink_stage(store, sink_rx, sink_cfg))
        .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning the sink thread", e))?;

    // Stage 3: track, on this thread, strictly in frame order (a reorder buffer undoes the workers' interleaving),
    // so the tracks do not depend on how many workers ran or which finished first.
    let mut timing = Timing::default();
    let mut frames_analysed = 0u64;
    let mut stage_err: Option<Error> = None;
    let mut last_pts = Time90k(0);
    let mut pending: BTreeMap<u64, Detected> = BTreeMap::new();
    let mut next_seq = 0u64;
    'recv: loop {
        let t_wait = Instant::now();
        let Ok(msg) = det_rx.recv() else { break }; // every worker is done
        timing.wait_detect_s += t_wait.elapsed().as_secs_f64();
        let d = match msg {
            Ok(d) => d,
            Err(e) => {
                stage_err = Some(e);
                break;
            }
        };
        pending.insert(d.seq, d);
        while let Some(d) = pending.remove(&next_seq) {
            next_seq += 1;
            timing.detect_s += d.detect_s;
            timing.inference_s += d.inference_s;
            let mut dets = d.dets;
            let t0 = Instant::now();
            match analysers.detect_weapons(&d.frame, &mut dets) {
                Ok(true) => timing.weapon_detect_s += t0.elapsed().as_secs_f64(),
                Ok(false) => {}
                Err(e) => {
                    stage_err = Some(e.context(format!("detecting weapons in frame {}", d.frame.index)));
                    break 'recv;
                }
            }
            let t1 = Instant::now();
            let objects = tracker.update(&dets, d.frame.pts);
            let ended = tracker.take_ended();
            timing.track_s += t1.elapsed().as_secs_f64();
            let t2 = Instant::now();
            let mut input = rules_input(d.frame.pts, &objects, &class_names);
            input.wall = Some(clock.at(d.frame.pts));
            if let Err(e) = analysers.observe(&d.frame, &mut input) {
                stage_err = Some(e.context(format!("analysing frame {}", d.frame.index)));
                break 'recv;
            }
            engine.push(&input);
            let events: Vec<Event> = std::iter::from_fn(|| engine.pull()).collect();
            timing.rules_s += t2.elapsed().as_secs_f64();
            frames_analysed += 1;
            last_pts = d.frame.pts;
            pb.set_position(d.frame.pts.as_secs_f64().round() as u64);
            let tf = TrackedFrame {
                frame: Arc::new(d.frame),
                objects,
                ended,
                events,
            };
            if sink_tx.send(tf).is_err() {
                break 'recv; // the sink failed; its join result says why
            }
        }
    }
    drop(det_rx); // unblocks the workers, and through them the decoder, if we stopped early
    let ended = tracker.finish();
    engine.finish();
    let events: Vec<Event> = std::iter::from_fn(|| engine.pull()).collect();
    if stage_err.is_none() && !(ended.is_empty() && events.is_empty()) {
        let _ = sink_tx.send(TrackedFrame {
            frame: Arc::new(RgbFrame {
                width: 0,
                height: 0,
                data: Vec::new(),
                pts: last_pts,
                index: u64::MAX,
            }),
            objects: Vec::new(),
            ended,
            events,
        });
    }
    drop(sink_tx);
    let decode_result = decoder
        .join()
        .map_err(|_| err!(Internal, "the decode thread panicked"))?;
    for h in worker_handles {
        h.join().map_err(|_| err!(Internal, "a detect thread panicked"))?;
    }
    let sink_result = sink.join().map_err(|_| err!(Internal, "the sink thread panicked"))?;
    pb.finish_and_clear();
    if let Some(e) = stage_err {
        return Err(e);
    }
    let (frames_decoded, corrupt_packets) = decode_result?;
    let SinkOutput {
        mut store,
        mut records,
        timeline,
        background,
        events,
    } = sink_result?;
    let plates = plate_worker.map(|w| w.finish()).transpose()?;
    if let Some(p) = &plates {
        crate::plates_stage::attach(&mut records, p);
    }
    timing.pipeline_s = pipeline_start.elapsed().as_secs_f64();
    timing.detect_workers = workers;

    store.finish_run(
        run_id,
        &RunFinish {
            finished_unix_ms: unix_ms(),
            frames_decoded,
            frames_analysed,
            wall_ms: (wall.elapsed().as_secs_f64() * 1000.0) as i64,
        },
    )?;

    let mut tracks: BTreeMap<String, u64> = BTreeMap::new();
    for r in &records {
        *tracks.entry(r.summary.class.clone()).or_default() += 1;
    }
    let duration_s = info.duration_s.unwrap_or_else(|| last_pts.as_secs_f64());
    let mut event_counts: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events {
        *event_counts.entry(e.kind.clone()).or_default() += 1;
    }
    let mut summary = Summary {
        video: opts.video.display().to_string(),
        codec: info.codec.clone(),
        width: info.width,
        height: info.height,
        frames_decoded,
        frames_analysed,
        corrupt_packets,
        duration_s,
        analysis_fps: cfg.analysis.fps,
        wall_s: 0.0,
        tracks,
        events: event_counts,
        line_counts: engine.line_counts(),
        model: model_name,
        database: db_path.display().to_string(),
        run_id: run_id.0,
        timing,
        plates: plates.map(|p| p.summary),
    };
    let t_report = Instant::now();
    // The page shows the wall time up to the report; summary.json gets the final one below.
    summary.wall_s = wall.elapsed().as_secs_f64();
    report::write_outputs(
        &opts.out_dir,
        &summary,
        &records,
        &events,
        &timeline,
        background.as_deref(),
    )?;
    summary.timing.report_s = t_report.elapsed().as_secs_f64();
    summary.wall_s = wall.elapsed().as_secs_f64();
    report::write_summary(&opts.out_dir, &summary)?;
    Ok(summary)
}

/// Decodes and samples; returns (frames decoded, corrupt packets skipped) or the error that stopped decoding.
fn decode_stage(
    video: &mut VideoFile,
    fps: f64,
    mut masks: vigie_core::PrivacyMasks,
    tx: &SyncSender<(u64, RgbFrame)>,
) -> Result<(u64, u64)> {
    let mut sampler = FrameSampler::new(fps);
    let mut seq = 0u64;
    while let Some(mut f) = video.next_sampled(&mut sampler)? {
        masks.apply(&mut f);
        if tx.send((seq, f)).is_err() {
            break; // a later stage stopped; it reports why
        }
        seq += 1;
    }
    Ok((video.frames_decoded(), video.corrupt_packets()))
}

/// One frame with its detections, from a detect worker.
struct Detected {
    seq: u64,
    frame: RgbFrame,
    dets: Detections,
    detect_s: f64,
    inference_s: f64,
}

fn detect_stage(mut det: Detector, rx: &Mutex<Receiver<(u64, RgbFrame)>>, tx: &SyncSender<Result<Detected>>) {
    loop {
        // Hold the lock only to take a frame, never while detecting.
        let next = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return, // another worker panicked holding the lock; its join reports it
        };
        let Ok((seq, frame)) = next else { return }; // decoding is over
        let t0 = Instant::now();
        let msg = det
            .detect(&frame)
            .map(|dets| Detected {
                seq,
                dets,
                detect_s: t0.elapsed().as_secs_f64(),
                inference_s: det.last_inference().as_secs_f64(),
                frame,
            })
            .map_err(|e| e.context(format!("detecting objects in analysed frame {seq}")));
        let failed = msg.is_err();
        if tx.send(msg).is_err() || failed {
            return;
        }
    }
}

/// Per-class counts of tracks visible in one analysed frame.
pub struct TimelinePoint {
    pub t: Time90k,
    pub counts: BTreeMap<String, u32>,
}

/// What the sink hands back when the stream ends.
struct SinkOutput {
    store: Store,
    records: Vec<TrackRecord>,
    timeline: Vec<TimelinePoint>,
    background: Option<Arc<RgbFrame>>,
    /// Every event, as last saved.
    events: Vec<EventRow>,
}

struct SinkConfig {
    run_id: vigie_store::RunId,
    labels: Vec<String>,
    out_dir: PathBuf,
    clip_pre: Time90k,
    clip_post: Time90k,
    /// Crops and parked vehicles for the plate reader, when `[plates]` is enabled.
    plates: Option<crate::plates_stage::Feeder>,
}

/// A track being accumulated in the sink.
struct Acc {
    rec: TrackRecord,
    votes: BTreeMap<String, f32>,
    best_frame: Option<Arc<RgbFrame>>,
    /// For the vehicle colour: the frame and box of the largest view clear of the frame's edges (a car half out
    /// of the picture shows mostly its windscreen), when there is one.
    colour_view: Option<(Arc<RgbFrame>, BBox)>,
}

/// Whether `b` keeps at least 2 pixels from every edge of a `w` x `h` frame.
fn clear_of_edges(b: &BBox, w: u32, h: u32) -> bool {
    b.x1 >= 2.0 && b.y1 >= 2.0 && b.x2 <= w as f32 - 2.0 && b.y2 <= h as f32 - 2.0
}

fn sink_stage(mut store: Store, rx: Receiver<TrackedFrame>, cfg: SinkConfig) -> Result<SinkOutput> {
    let snap_dir = cfg.out_dir.join("snapshots");
    let event_dir = cfg.out_dir.join("events");
    for d in [&snap_dir, &event_dir] {
        std::fs::create_dir_all(d).map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", d.display()), e))?;
    }
    let jsonl_path = cfg.out_dir.join("events.jsonl");
    let mut jsonl = std::io::BufWriter::new(
        std::fs::File::create(&jsonl_path)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", jsonl_path.display()), e))?,
    );
    let drawer = crate::draw::Drawer::new();
    let labels = &cfg.labels;
    let mut plates = cfg.plates;
    let mut live: BTreeMap<TrackId, Acc> = BTreeMap::new();
    let mut colours: Vec<(TrackId, String, f32)> = Vec::new();
    let mut done: Vec<TrackRecord> = Vec::new();
    let mut timeline = Vec::new();
    let mut background: Option<Arc<RgbFrame>> = None;
    let mut events = EventRows::default();
    {
        let mut writer = store.writer(cfg.run_id);
        for tf in rx {
            if tf.frame.width > 0 && background.is_none() {
                background = Some(tf.frame.clone());
            }
            let mut counts: BTreeMap<String, u32> = BTreeMap::new();
            for o in &tf.objects {
                let class = label(labels, o.class_id);
                let acc = live.entry(o.track_id).or_insert_with(|| Acc {
                    rec: TrackRecord::new(o.track_id, tf.frame.pts, o.bbox),
                    votes: BTreeMap::new(),
                    best_frame: None,
                    colour_view: None,
                });
                *acc.votes.entry(class.clone()).or_default() += o.score;
                acc.rec.voted_class = label(labels, o.voted_class);
                if acc.rec.observe(tf.frame.pts, o.bbox, o.score) {
                    acc.best_frame = Some(tf.frame.clone());
                }
                if tf.frame.width > 0
                    && clear_of_edges(&o.bbox, tf.frame.width, tf.frame.height)
                    && acc.colour_view.as_ref().is_none_or(|(_, b)| o.bbox.area() > b.area())
                {
                    acc.colour_view = Some((tf.frame.clone(), o.bbox));
                }
                *counts.entry(acc.rec.voted_class.clone()).or_default() += 1;
                writer.push_box(o.track_id, tf.frame.pts, o.bbox, o.score)?;
            }
            if let Some(p) = plates.as_mut() {
                p.observe(&tf.frame, &tf.objects);
            }
            if tf.frame.width > 0 {
                timeline.push(TimelinePoint {
                    t: tf.frame.pts,
                    counts,
                });
            }
            for ev in &tf.events {
                let line = serde_json::to_string(ev)
                    .map_err(|e| Error::wrap(ErrorKind::Internal, "serialising an event", e))?;
                writeln!(jsonl, "{line}")
                    .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", jsonl_path.display()), e))?;
                let row = events.fold(ev, cfg.clip_pre, cfg.clip_post, || {
                    if ev.phase == Phase::Start && tf.frame.width > 0 {
                        let name = format!("events/{}-{}.jpg", ev.kind.as_str(), ev.id);
                        drawer.event_snapshot(&tf.frame, ev, &tf.objects, &cfg.out_dir.join(&name))?;
                        Ok(Some(name))
                    } else {
                        Ok(None)
                    }
                })?;
                writer.save_event(row)?;
            }
            for id in tf.ended {
                if let Some(p) = plates.as_mut() {
                    p.ended(id);
                }
                let Some(mut acc) = live.remove(&id) else { continue };
                acc.rec.finish(&acc.votes);
                writer.end_track(&acc.rec.summary)?;
                // Vehicles only: no appearance attribute is ever computed for a person.
                let view = match &acc.colour_view {
                    Some((f, b)) => Some((f, *b)),
                    None => acc.best_frame.as_ref().map(|f| (f, acc.rec.summary.best_box)),
                };
                if let Some((f, b)) = view
                    && vigie_vision::VEHICLE_CLASSES.contains(&acc.rec.summary.class.as_str())
                    && let Some((c, share)) = vigie_vision::vehicle_colour(f, b)
                {
                    acc.rec.colour = Some(c);
                    colours.push((id, c.as_str().to_owned(), share));
                }
                if let Some(f) = acc.best_frame.take() {
                    let path = snap_dir.join(acc.rec.snapshot_name());
                    // The plate is blurred (its band: the reader's box comes later, off this thread).
                    drawer.snapshot(&f, &acc.rec, None, &path)?;
                }
                done.push(acc.rec);
            }
        }
        writer.finish()?;
    }
    store.save_track_colours(cfg.run_id, &colours)?;
    jsonl
        .flush()
        .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", jsonl_path.display()), e))?;
    // Tracks the tracker never ended (should not happen: finish() ends all) are dropped, not stored half-done.
    done.sort_by_key(|r| r.summary.track_id);
    let events = events.into_rows();
    Ok(SinkOutput {
        store,
        records: done,
        timeline,
        background,
        events,
    })
}

fn progress_bar(enabled: bool, info: &VideoInfo, fps: f64) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let len = info.duration_s.map(|d| d.ceil() as u64).unwrap_or(0);
    let pb = ProgressBar::new(len);
    let template = "{spinner} analysing {msg} [{bar:40}] {pos}/{len} s of video, {elapsed} elapsed, ETA {eta}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        pb.set_style(style.progress_chars("=> "));
    }
    let name = info
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    pb.set_message(format!(
        "{name} at {}",
        if fps > 0.0 {
            format!("{fps} fps")
        } else {
            "every frame".into()
        }
    ));
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// `nanodet.onnx (sha256 f73878ad…)`: names the model exactly in the database.
pub(crate) fn model_label(path: &Path) -> Result<String> {
    use sha2::Digest;
    let bytes =
        std::fs::read(path).map_err(|e| Error::wrap(ErrorKind::Model, format!("reading {}", path.display()), e))?;
    let digest = sha2::Sha256::digest(&bytes);
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(format!("{name} (sha256 {hex}…)"))
}

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
