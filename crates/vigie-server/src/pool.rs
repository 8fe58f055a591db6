//! One pool of detector workers shared by every camera.
//!
//! Each worker owns an ONNX Runtime session (one intra-op thread, see `../shared/docs/stack.md`) and takes jobs
//! from one FIFO queue. A camera has at most one frame in the pool at a time (it waits for the answer before it
//! tracks the frame and submits the next), so the queue never holds more than one frame per camera and every
//! camera is served in turn: a busy camera cannot starve the others. Frames that arrive while their camera waits
//! are dropped by that camera's own queue (counted), never here.
//!
//! Batching: the shipped NanoDet graph has a fixed batch of 1, and on CPU a batch of N costs N single runs
//! (measured for YOLOX-nano in issue 2's benchmark), so frames are not batched; a GPU execution provider would be
//! where batching pays.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use vigie_core::{Detections, Error, ErrorKind, Result, RgbFrame};
use vigie_vision::Detector;

use crate::metrics::Metrics;

struct Job {
    frame: Arc<RgbFrame>,
    reply: SyncSender<Result<Detections>>,
}

/// The shared detector pool. Dropping it stops the workers once the queue is empty.
pub struct InferencePool {
    tx: Option<SyncSender<Job>>,
    workers: Vec<JoinHandle<()>>,
    labels: Vec<String>,
    metrics: Arc<Metrics>,
}

impl InferencePool {
    /// Starts one worker per detector. `queue` bounds the frames waiting (at least the number of cameras).
    pub fn start(detectors: Vec<Detector>, queue: usize, metrics: Arc<Metrics>) -> Result<InferencePool> {
        let Some(first) = detectors.first() else {
            return Err(Error::new(
                ErrorKind::Config,
                "the inference pool needs at least one detector",
            ));
        };
        let labels = first.class_set().labels().to_vec();
        let (tx, rx) = sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let mut workers = Vec::with_capacity(detectors.len());
        for (i, det) in detectors.into_iter().enumerate() {
            let rx = rx.clone();
            let m = metrics.clone();
            let h = std::thread::Builder::new()
                .name(format!("infer-{i}"))
                .spawn(move || worker(det, &rx, &m))
                .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning an inference worker", e))?;
            workers.push(h);
        }
        Ok(InferencePool {
            tx: Some(tx),
            workers,
            labels,
            metrics,
        })
    }

    /// The detector's class labels, in class-id order.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Detects objects in `frame`, waiting for a worker. Blocking: call it from a camera's analysis thread.
    pub fn detect(&self, frame: Arc<RgbFrame>) -> Result<Detections> {
        let Some(tx) = &self.tx else {
            return Err(Error::new(ErrorKind::Internal, "the inference pool is stopped"));
        };
        let (reply, answer) = sync_channel(1);
        self.metrics
            .inference_queue
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let sent = tx.send(Job { frame, reply });
        if sent.is_err() {
            self.metrics
                .inference_queue
                .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            return Err(Error::new(ErrorKind::Internal, "every inference worker has stopped"));
        }
        answer
            .recv()
            .map_err(|_| Error::new(ErrorKind::Internal, "an inference worker stopped during a job"))?
    }
}

impl Drop for InferencePool {
    fn drop(&mut self) {
        self.tx = None;
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}

fn worker(mut det: Detector, rx: &Mutex<Receiver<Job>>, metrics: &Metrics) {
    loop {
        let job = {
            let g = rx.lock().unwrap_or_else(|p| p.into_inner());
            match g.recv() {
                Ok(j) => j,
                Err(_) => return, // the pool was dropped
            }
        };
        metrics
            .inference_queue
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let t = Instant::now();
        let res = det.detect(&job.frame);
        metrics.inference.observe(t.elapsed().as_secs_f64());
        let _ = job.reply.send(res); // the camera may have shut down meanwhile
    }
}
