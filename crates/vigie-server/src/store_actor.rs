//! The one thread that writes the database: segments, gaps, camera states, runs and events from every camera.
//!
//! SQLite has one writer at a time; funnelling all writes through one thread that owns the [`Store`] keeps each
//! write a short transaction and makes their order plain. Callers that must know a write is durable (the recorder,
//! before it forgets a segment) wait on a reply; others fire and forget (a failed write is logged and counted).

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use std::sync::Arc;
use vigie_core::{Error, ErrorKind, Result};

use vigie_store::{EventRow, NewGap, NewRun, RecordingDir, RetentionPolicy, RunFinish, RunId, SourceKind, Store};

pub enum StoreCmd {
    BeginRun {
        run: NewRun,
        reply: SyncSender<Result<RunId>>,
    },
    FinishRun {
        run: RunId,
        fin: RunFinish,
    },
    SaveEvent {
        run: RunId,
        row: Box<EventRow>,
    },
    /// A batch of a live run's tracks (issue 8): boxes, the summaries of tracks that ended, and the colours of
    /// the vehicles among them.
    Tracks {
        run: RunId,
        boxes: Vec<crate::tracks::BoxRow>,
        ended: Vec<vigie_store::TrackSummary>,
        colours: Vec<crate::tracks::ColourRow>,
    },
    CommitSegment {
        camera: String,
        seg: vigie_store::NewSegment,
        reply: SyncSender<Result<vigie_store::Segment>>,
    },
    Gap {
        camera: String,
        from_unix_ms: i64,
        to_unix_ms: i64,
        reason: String,
    },
    State {
        camera: String,
        state: vigie_store::CameraState,
        at_unix_ms: i64,
        detail: String,
    },
    Retention {
        now_unix_ms: i64,
        policy: Box<RetentionPolicy>,
        reply: SyncSender<Result<vigie_store::RetentionReport>>,
    },
}

/// A handle to send commands to the store thread; cloneable.
#[derive(Clone)]
pub struct StoreHandle {
    tx: SyncSender<StoreCmd>,
}

impl StoreHandle {
    pub fn send(&self, cmd: StoreCmd) -> Result<()> {
        self.tx
            .send(cmd)
            .map_err(|_| Error::new(ErrorKind::Internal, "the database thread has stopped"))
    }

    /// Sends a command built around a reply channel and waits for the answer.
    pub fn ask<T>(&self, make: impl FnOnce(SyncSender<Result<T>>) -> StoreCmd) -> Result<T> {
        let (reply, answer) = sync_channel(1);
        self.send(make(reply))?;
        answer
            .recv()
            .map_err(|_| Error::new(ErrorKind::Internal, "the database thread stopped before answering"))?
    }

    pub fn begin_camera_run(
        &self,
        camera: &str,
        started_unix_ms: i64,
        width: u32,
        height: u32,
        fps: f64,
        model: &str,
    ) -> Result<RunId> {
        let run = NewRun {
            source: camera.to_owned(),
            source_kind: SourceKind::Camera,
            started_unix_ms,
            analysis_fps: fps,
            width,
            height,
            model: model.to_owned(),
        };
        self.ask(|reply| StoreCmd::BeginRun { run, reply })
    }
}

/// Starts the store thread. It ends when every [`StoreHandle`] is dropped.
pub fn start(mut store: Store, dir: Arc<RecordingDir>) -> Result<(StoreHandle, JoinHandle<()>)> {
    let (tx, rx) = sync_channel::<StoreCmd>(1024);
    let h = std::thread::Builder::new()
        .name("store".into())
        .spawn(move || run(&mut store, &dir, rx))
        .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning the database thread", e))?;
    Ok((StoreHandle { tx }, h))
}

fn run(store: &mut Store, dir: &RecordingDir, rx: Receiver<StoreCmd>) {
    for cmd in rx {
        match cmd {
            StoreCmd::BeginRun { run, reply } => {
                // A camera run's media time 0 is its session's start: what the case-gated search needs.
                let r = store.begin_run(&run).and_then(|id| {
                    if run.source_kind == SourceKind::Camera {
                        store.set_run_camera(id, &run.source, run.started_unix_ms, None)?;
                    }
                    Ok(id)
                });
                let _ = reply.send(r);
            }
            StoreCmd::Tracks {
                run,
                boxes,
                ended,
                colours,
            } => {
                let mut w = store.writer(run);
                let r = boxes
                    .iter()
                    .try_for_each(|(id, t, b, score)| w.push_box(*id, *t, *b, *score))
                    .and_then(|()| ended.iter().try_for_each(|s| w.end_track(s)))
                    .and_then(|()| w.finish())
                    .and_then(|()| store.save_track_colours(run, &colours));
                if let Err(e) = r {
                    eprintln!("vigie serve: saving tracks of run {}: {e}", run.0);
                }
            }
            StoreCmd::FinishRun { run, fin } => {
                if let Err(e) = store.finish_run(run, &fin) {
                    eprintln!("vigie serve: finishing run {}: {e}", run.0);
                }
            }
            StoreCmd::SaveEvent { run, row } => {
                if let Err(e) = store.save_event(run, &row) {
                    eprintln!("vigie serve: saving event {}: {e}", row.id);
                }
            }
            StoreCmd::CommitSegment { camera, mut seg, reply } => {
                let r = store.ensure_camera(&camera).and_then(|id| {
                    seg.camera = id;
                    store.commit_segment(dir, &seg)
                });
                let _ = reply.send(r);
            }
            StoreCmd::Gap {
                camera,
                from_unix_ms,
                to_unix_ms,
                reason,
            } => {
                let r = store.ensure_camera(&camera).and_then(|id| {
                    store.add_gap(&NewGap {
                        camera: id,
                        from_unix_ms,
                        to_unix_ms: to_unix_ms.max(from_unix_ms + 1),
                        reason,
                    })
                });
                if let Err(e) = r {
                    eprintln!("vigie serve: camera {camera}: storing a recording gap: {e}");
                }
            }
            StoreCmd::State {
                camera,
                state,
                at_unix_ms,
                detail,
            } => {
                let r = store.ensure_camera(&camera).and_then(|id| {
                    store.add_camera_state(id, state, at_unix_ms, Some(detail.as_str()).filter(|d| !d.is_empty()))
                });
                if let Err(e) = r {
                    eprintln!("vigie serve: camera {camera}: storing its state: {e}");
                }
            }
            StoreCmd::Retention {
                now_unix_ms,
                policy,
                reply,
            } => {
                let _ = reply.send(store.apply_retention(dir, now_unix_ms, &policy));
            }
        }
    }
}
