//! Counters and gauges of the live service, rendered in the Prometheus text format at `/metrics`.
//!
//! Hand-written rather than a metrics crate: a handful of atomics per camera, one latency histogram, and a
//! renderer; every name is documented by its `# HELP` line. Updating a counter is one relaxed atomic add, cheap
//! enough for every frame of every camera.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One camera's counters. Shared (`Arc`) between its ingest, recorder and analysis stages and the HTTP handlers.
#[derive(Debug, Default)]
pub struct CameraMetrics {
    pub name: String,
    /// Encoded frames received from the source.
    pub frames_in: AtomicU64,
    /// Frames that went through the detector, tracker and rules.
    pub frames_analysed: AtomicU64,
    /// Frames the analysis queue dropped because analysis was behind (recording is never dropped).
    pub frames_dropped: AtomicU64,
    /// Sampled frames where the motion gate saw nothing move and no track was alive: the detector was skipped.
    pub frames_still: AtomicU64,
    /// Frames and bytes written to committed recording segments.
    pub recording_frames: AtomicU64,
    pub recording_bytes: AtomicU64,
    pub recording_segments: AtomicU64,
    /// Recording errors (a segment that could not be written or committed: disk full, I/O error).
    pub recording_errors: AtomicU64,
    /// Frames of the source the decoder could not decode.
    pub decode_errors: AtomicU64,
    /// Connection attempts after the first.
    pub reconnects: AtomicU64,
    /// Events started by the rules.
    pub events: AtomicU64,
    /// Current queue depths.
    pub analysis_queue: AtomicU64,
    pub record_queue: AtomicU64,
    /// Wall time of the last frame received, Unix ms (0: never).
    pub last_frame_unix_ms: AtomicI64,
    /// The camera's state and when it was entered.
    pub state: Mutex<StateInfo>,
}

#[derive(Clone, Debug)]
pub struct StateInfo {
    pub state: &'static str,
    pub since_unix_ms: i64,
    pub detail: String,
}

impl Default for StateInfo {
    fn default() -> Self {
        StateInfo {
            state: "connecting",
            since_unix_ms: 0,
            detail: String::new(),
        }
    }
}

/// The states a camera can be in, in the order they are exported.
pub const STATES: [&str; 4] = ["connecting", "streaming", "stalled", "failed"];

impl CameraMetrics {
    pub fn new(name: &str) -> Self {
        CameraMetrics {
            name: name.to_owned(),
            ..Default::default()
        }
    }

    pub fn set_state(&self, state: &'static str, since_unix_ms: i64, detail: &str) {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *g = StateInfo {
            state,
            since_unix_ms,
            detail: detail.to_owned(),
        };
    }

    pub fn state(&self) -> StateInfo {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// A latency histogram with fixed buckets (seconds).
#[derive(Debug)]
pub struct Histogram {
    bounds: Vec<f64>,
    counts: Vec<AtomicU64>,
    sum_us: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Self {
        Histogram {
            bounds: bounds.to_vec(),
            counts: bounds.iter().map(|_| AtomicU64::new(0)).collect(),
            sum_us: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn observe(&self, seconds: f64) {
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            if seconds <= *b {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_us
            .fetch_add((seconds * 1e6).max(0.0) as u64, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Mean of the observations in seconds (0 when there is none).
    pub fn mean(&self) -> f64 {
        let n = self.count();
        if n == 0 {
            0.0
        } else {
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6 / n as f64
        }
    }

    fn render(&self, out: &mut String, name: &str) {
        for (b, c) in self.bounds.iter().zip(&self.counts) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {}", c.load(Ordering::Relaxed));
        }
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", self.count());
        let _ = writeln!(out, "{name}_sum {}", self.sum_us.load(Ordering::Relaxed) as f64 / 1e6);
        let _ = writeln!(out, "{name}_count {}", self.count());
    }
}

/// Everything `/metrics` shows.
#[derive(Debug)]
pub struct Metrics {
    pub cameras: Vec<Arc<CameraMetrics>>,
    /// Detector inference (one `session.run` with pre- and post-processing), all cameras.
    pub inference: Histogram,
    /// Frames waiting for a detector worker, all cameras.
    pub inference_queue: AtomicU64,
    /// Retention deletions (segments) since start.
    pub retention_deletions: AtomicU64,
    pub started_unix_ms: i64,
}

impl Metrics {
    pub fn new(camera_names: &[String], started_unix_ms: i64) -> Self {
        Metrics {
            cameras: camera_names.iter().map(|n| Arc::new(CameraMetrics::new(n))).collect(),
            inference: Histogram::new(&[0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28]),
            inference_queue: AtomicU64::new(0),
            retention_deletions: AtomicU64::new(0),
            started_unix_ms,
        }
    }

    pub fn camera(&self, name: &str) -> Option<&Arc<CameraMetrics>> {
        self.cameras.iter().find(|c| c.name == name)
    }

    /// The Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        type Get = fn(&CameraMetrics) -> u64;
        let counters: [(&str, &str, Get); 12] = [
            (
                "vigie_frames_received_total",
                "Encoded frames received from the camera.",
                |c| c.frames_in.load(Ordering::Relaxed),
            ),
            (
                "vigie_frames_analysed_total",
                "Frames analysed (detector, tracker, rules).",
                |c| c.frames_analysed.load(Ordering::Relaxed),
            ),
            (
                "vigie_frames_dropped_total",
                "Frames dropped by the analysis queue under load.",
                |c| c.frames_dropped.load(Ordering::Relaxed),
            ),
            (
                "vigie_frames_still_total",
                "Sampled frames skipped by the motion gate.",
                |c| c.frames_still.load(Ordering::Relaxed),
            ),
            (
                "vigie_recording_frames_total",
                "Frames in committed recording segments.",
                |c| c.recording_frames.load(Ordering::Relaxed),
            ),
            (
                "vigie_recording_bytes_total",
                "Bytes of committed recording segments.",
                |c| c.recording_bytes.load(Ordering::Relaxed),
            ),
            ("vigie_recording_segments_total", "Recording segments committed.", |c| {
                c.recording_segments.load(Ordering::Relaxed)
            }),
            (
                "vigie_recording_errors_total",
                "Recording segments lost to a write error.",
                |c| c.recording_errors.load(Ordering::Relaxed),
            ),
            (
                "vigie_decode_errors_total",
                "Frames the decoder could not decode.",
                |c| c.decode_errors.load(Ordering::Relaxed),
            ),
            ("vigie_reconnects_total", "Reconnections to the camera.", |c| {
                c.reconnects.load(Ordering::Relaxed)
            }),
            ("vigie_events_total", "Events started by the rules.", |c| {
                c.events.load(Ordering::Relaxed)
            }),
            (
                "vigie_frames_queued",
                "Frames waiting in the camera's analysis queue.",
                |c| c.analysis_queue.load(Ordering::Relaxed),
            ),
        ];
        for (name, help, get) in counters {
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for c in &self.cameras {
                let _ = writeln!(out, "{name}{{camera=\"{}\"}} {}", escape(&c.name), get(c));
            }
        }
        let _ = writeln!(
            out,
            "# HELP vigie_record_queue_frames Frames waiting for the recorder.\n# TYPE vigie_record_queue_frames gauge"
        );
        for c in &self.cameras {
            let _ = writeln!(
                out,
                "vigie_record_queue_frames{{camera=\"{}\"}} {}",
                escape(&c.name),
                c.record_queue.load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP vigie_camera_state 1 for the state the camera is in.\n# TYPE vigie_camera_state gauge"
        );
        for c in &self.cameras {
            let s = c.state();
            for st in STATES {
                let v = u8::from(s.state == st);
                let _ = writeln!(
                    out,
                    "vigie_camera_state{{camera=\"{}\",state=\"{st}\"}} {v}",
                    escape(&c.name)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP vigie_inference_seconds Detector latency per frame.\n# TYPE vigie_inference_seconds histogram"
        );
        self.inference.render(&mut out, "vigie_inference_seconds");
        let _ = writeln!(
            out,
            "# HELP vigie_inference_queue_frames Frames waiting for a detector worker.\n# TYPE vigie_inference_queue_frames gauge\nvigie_inference_queue_frames {}",
            self.inference_queue.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP vigie_retention_deletions_total Recording segments deleted by retention.\n# TYPE vigie_retention_deletions_total counter\nvigie_retention_deletions_total {}",
            self.retention_deletions.load(Ordering::Relaxed)
        );
        out
    }
}

/// Escapes a label value (backslash, quote, newline), as the text format requires.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_states_and_histogram() {
        let m = Metrics::new(&["gate \"A\"".to_string()], 0);
        m.cameras[0].frames_in.fetch_add(3, Ordering::Relaxed);
        m.cameras[0].set_state("streaming", 5, "");
        m.inference.observe(0.015);
        let text = m.render();
        assert!(
            text.contains("vigie_frames_received_total{camera=\"gate \\\"A\\\"\"} 3"),
            "{text}"
        );
        assert!(text.contains("vigie_camera_state{camera=\"gate \\\"A\\\"\",state=\"streaming\"} 1"));
        assert!(text.contains("vigie_camera_state{camera=\"gate \\\"A\\\"\",state=\"stalled\"} 0"));
        assert!(text.contains("vigie_inference_seconds_bucket{le=\"0.01\"} 0"));
        assert!(text.contains("vigie_inference_seconds_bucket{le=\"0.02\"} 1"));
        assert!(text.contains("vigie_inference_seconds_count 1"));
        // Every sample line belongs to a declared metric.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let name = line.split(['{', ' ']).next().unwrap_or_default();
            let base = name
                .trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count");
            assert!(
                text.contains(&format!("# TYPE {base} ")) || text.contains(&format!("# TYPE {name} ")),
                "{line}"
            );
        }
    }
}
