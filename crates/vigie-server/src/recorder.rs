//! Recording: the main stream remuxed (no re-encode) into MP4 segments of about `segment_s` seconds.
//!
//! [`SegmentPlan`] is the sans-IO part: given each frame it says whether to start, continue or cut a segment, so
//! the cutting rules are tested without files. [`run`] is the thread around it: it writes with
//! `vigie_video::SegmentMuxer` (which fsyncs the file when it finishes), then asks the store thread to commit the
//! segment (fsync the folder, then insert the row: Moonfire NVR's order). A write error (disk full) loses the
//! segment being written, deletes its partial file, is counted, and recording starts again at the next key frame:
//! the service keeps running and resumes by itself when space is freed.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Receiver;

use vigie_core::{EncodedFrame, Result, StreamParams, Time90k};
use vigie_store::RecordingDir;
use vigie_video::SegmentMuxer;

use crate::metrics::CameraMetrics;
use crate::store_actor::{StoreCmd, StoreHandle};

/// What reaches the recorder, in order.
pub enum RecMsg {
    Frame(Arc<EncodedFrame>),
    /// The source was interrupted: close the segment; the gap row follows (stored after the segment, so the
    /// segment's end and the gap's start agree).
    Gap {
        from_unix_ms: i64,
        to_unix_ms: i64,
        reason: String,
    },
}

/// What to do with a frame.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Not recordable yet: waiting for a key frame (start of stream, or after an error).
    Skip,
    /// Start a new segment with this frame.
    Start,
    /// Append to the current segment.
    Append,
    /// Finish the current segment, then start a new one with this frame.
    Cut,
}

/// The segment cutting rules, without I/O.
#[derive(Debug)]
pub struct SegmentPlan {
    target: Time90k,
    /// (dts of the first frame, params) of the open segment.
    open: Option<(Time90k, Arc<StreamParams>)>,
}

impl SegmentPlan {
    pub fn new(segment_s: f64) -> Self {
        SegmentPlan {
            target: Time90k::from_secs_f64(segment_s),
            open: None,
        }
    }

    pub fn step(&mut self, f: &EncodedFrame) -> Step {
        match &self.open {
            None if !f.is_key => Step::Skip,
            None => {
                self.open = Some((f.dts, f.params.clone()));
                Step::Start
            }
            Some((start, params)) => {
                let changed = !Arc::ptr_eq(params, &f.params) && **params != *f.params;
                let long = f.dts.0 - start.0 >= self.target.0;
                // Timestamps going backwards mean a new connection that did not say so: cut there too.
                let backwards = f.dts.0 < start.0;
                if f.is_key && (changed || long || backwards) {
                    self.open = Some((f.dts, f.params.clone()));
                    Step::Cut
                } else if changed {
                    // New parameters without a key frame cannot be decoded: drop until the next key frame.
                    self.open = None;
                    Step::Skip
                } else {
                    Step::Append
                }
            }
        }
    }

    /// The segment was closed from outside (a gap, an error): the next segment starts at a key frame.
    pub fn close(&mut self) {
        self.open = None;
    }
}

struct Open {
    muxer: SegmentMuxer,
    abs: PathBuf,
    start_unix_ms: i64,
    params: Arc<StreamParams>,
}

/// The recorder thread of one camera. Returns when the channel closes (after committing the last segment).
pub fn run(
    camera: String,
    segment_s: f64,
    dir: Arc<RecordingDir>,
    store: StoreHandle,
    metrics: Arc<CameraMetrics>,
    rx: Receiver<RecMsg>,
) {
    let mut plan = SegmentPlan::new(segment_s);
    let mut open: Option<Open> = None;
    for msg in rx {
        metrics.record_queue.fetch_sub(1, Ordering::Relaxed);
        match msg {
            RecMsg::Frame(f) => {
                let step = plan.step(&f);
                if matches!(step, Step::Cut | Step::Skip)
                    && let Some(o) = open.take()
                {
                    finish(&camera, o, &store, &metrics);
                }
                if matches!(step, Step::Start | Step::Cut) {
                    match start(&camera, &dir, &f) {
                        Ok(o) => open = Some(o),
                        Err(e) => {
                            fail(&camera, &metrics, &e, None);
                            plan.close();
                            continue;
                        }
                    }
                }
                if matches!(step, Step::Skip) {
                    continue;
                }
                if let Some(o) = &mut open
                    && let Err(e) = o.muxer.write(&f)
                {
                    let o = open.take();
                    fail(&camera, &metrics, &e, o.map(|o| o.abs));
                    plan.close();
                }
            }
            RecMsg::Gap {
                from_unix_ms,
                to_unix_ms,
                reason,
            } => {
                if let Some(o) = open.take() {
                    finish(&camera, o, &store, &metrics);
                }
                plan.close();
                let _ = store.send(StoreCmd::Gap {
                    camera: camera.clone(),
                    from_unix_ms,
                    to_unix_ms,
                    reason,
                });
            }
        }
    }
    if let Some(o) = open.take() {
        finish(&camera, o, &store, &metrics);
    }
}

fn start(camera: &str, dir: &RecordingDir, f: &EncodedFrame) -> Result<Open> {
    let (_rel, abs) = dir.segment_path(camera, f.wall_ms)?;
    let muxer = SegmentMuxer::create(&abs, &f.params)?;
    Ok(Open {
        muxer,
        abs,
        start_unix_ms: f.wall_ms,
        params: f.params.clone(),
    })
}

fn finish(camera: &str, o: Open, store: &StoreHandle, metrics: &CameraMetrics) {
    let abs = o.abs.clone();
    let info = match o.muxer.finish() {
        Ok(i) => i,
        Err(e) => return fail(camera, metrics, &e, Some(abs)),
    };
    let seg = vigie_store::NewSegment {
        camera: vigie_store::CameraId(0), // set by the store thread from the name
        start_unix_ms: o.start_unix_ms,
        duration_90k: info.duration_90k.0,
        frames: u32::try_from(info.frames).unwrap_or(u32::MAX),
        codec: o.params.codec,
        width: o.params.width,
        height: o.params.height,
        sha256: None,
    };
    let camera_name = camera.to_owned();
    match store.ask(|reply| StoreCmd::CommitSegment {
        camera: camera_name,
        seg,
        reply,
    }) {
        Ok(s) => {
            metrics.recording_segments.fetch_add(1, Ordering::Relaxed);
            metrics
                .recording_frames
                .fetch_add(u64::from(s.frames), Ordering::Relaxed);
            metrics.recording_bytes.fetch_add(s.bytes, Ordering::Relaxed);
        }
        Err(e) => fail(camera, metrics, &e, Some(abs)),
    }
}

/// A lost segment: counted, logged, its partial file removed (a file without a row would be collected as an
/// orphan at the next start anyway).
fn fail(camera: &str, metrics: &CameraMetrics, e: &vigie_core::Error, partial: Option<PathBuf>) {
    metrics.recording_errors.fetch_add(1, Ordering::Relaxed);
    eprintln!("vigie serve: camera {camera}: recording: {e}; resuming at the next key frame");
    if let Some(p) = partial {
        let _ = std::fs::remove_file(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_core::VideoCodec;

    fn params(w: u32) -> Arc<StreamParams> {
        Arc::new(StreamParams {
            codec: VideoCodec::H264,
            width: w,
            height: 720,
            extradata: vec![1, 2, 3],
            nominal_fps: None,
        })
    }

    fn frame(p: &Arc<StreamParams>, t_s: f64, key: bool) -> EncodedFrame {
        let t = Time90k::from_secs_f64(t_s);
        EncodedFrame {
            params: p.clone(),
            pts: t,
            dts: t,
            wall_ms: (t_s * 1000.0) as i64,
            is_key: key,
            data: vec![0, 0, 0, 1, 0x65],
            loss_before: false,
        }
    }

    #[test]
    fn waits_for_a_key_frame_then_cuts_at_the_first_key_after_the_target() {
        let p = params(1280);
        let mut plan = SegmentPlan::new(2.0);
        assert_eq!(plan.step(&frame(&p, 0.0, false)), Step::Skip);
        assert_eq!(plan.step(&frame(&p, 0.5, true)), Step::Start);
        assert_eq!(plan.step(&frame(&p, 1.5, true)), Step::Append); // key, but too early
        assert_eq!(plan.step(&frame(&p, 2.6, false)), Step::Append); // late enough, but not a key frame
        assert_eq!(plan.step(&frame(&p, 3.0, true)), Step::Cut);
        assert_eq!(plan.step(&frame(&p, 3.1, false)), Step::Append);
    }

    #[test]
    fn new_parameters_cut_at_a_key_frame_or_skip_until_one() {
        let (a, b) = (params(1280), params(640));
        let mut plan = SegmentPlan::new(60.0);
        assert_eq!(plan.step(&frame(&a, 0.0, true)), Step::Start);
        assert_eq!(plan.step(&frame(&b, 0.1, true)), Step::Cut);
        assert_eq!(plan.step(&frame(&a, 0.2, false)), Step::Skip);
        assert_eq!(plan.step(&frame(&a, 0.3, false)), Step::Skip);
        assert_eq!(plan.step(&frame(&a, 0.4, true)), Step::Start);
        // Equal parameters in a different Arc are the same stream.
        assert_eq!(plan.step(&frame(&params(1280), 0.5, false)), Step::Append);
    }

    #[test]
    fn a_gap_closes_the_segment() {
        let p = params(1280);
        let mut plan = SegmentPlan::new(60.0);
        assert_eq!(plan.step(&frame(&p, 0.0, true)), Step::Start);
        plan.close();
        assert_eq!(plan.step(&frame(&p, 10.0, false)), Step::Skip);
        assert_eq!(plan.step(&frame(&p, 10.5, true)), Step::Start);
    }
}
