//! What the console shows of a camera now: the latest analysed frame and its tracked objects, and the camera's
//! zones, lines and rules (which an editor may replace while the camera runs).

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use vigie_core::{BBox, Result, RgbFrame, err};

/// One tracked object as the console draws it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LiveObject {
    pub track_id: u64,
    pub class: String,
    pub score: f32,
    /// `[x1, y1, x2, y2]` in source pixels.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
}

impl LiveObject {
    pub fn new(track_id: u64, class: String, score: f32, b: BBox) -> Self {
        LiveObject {
            track_id,
            class,
            score,
            bbox: [b.x1, b.y1, b.x2, b.y2],
        }
    }
}

/// The latest analysed frame of a camera.
#[derive(Clone, Debug)]
pub struct LiveFrame {
    /// Wall-clock time of the frame.
    pub t_unix_ms: i64,
    pub frame: Arc<RgbFrame>,
    pub objects: Vec<LiveObject>,
}

/// A camera's shared state for the API. Cheap to clone (`Arc` inside).
#[derive(Clone)]
pub struct CameraHandle {
    pub name: String,
    pub metrics: Arc<crate::metrics::CameraMetrics>,
    latest: Arc<Mutex<Option<LiveFrame>>>,
    rules: Arc<Mutex<vigie_rules::RulesConfig>>,
    /// To the analysis thread: new rules to apply from the next frame. `None` when the camera is not analysed.
    rules_tx: Option<SyncSender<vigie_rules::RulesConfig>>,
}

impl CameraHandle {
    /// A handle and, when `analysed`, the receiving end of rule updates for the analysis thread.
    pub fn new(
        name: &str,
        metrics: Arc<crate::metrics::CameraMetrics>,
        rules: vigie_rules::RulesConfig,
        analysed: bool,
    ) -> (CameraHandle, Option<Receiver<vigie_rules::RulesConfig>>) {
        let (tx, rx) = if analysed {
            let (tx, rx) = sync_channel(4);
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        (
            CameraHandle {
                name: name.to_owned(),
                metrics,
                latest: Arc::new(Mutex::new(None)),
                rules: Arc::new(Mutex::new(rules)),
                rules_tx: tx,
            },
            rx,
        )
    }

    /// Called by the analysis thread after each analysed frame.
    pub fn publish(&self, f: LiveFrame) {
        *self.latest.lock().unwrap_or_else(|p| p.into_inner()) = Some(f);
    }

    /// The latest analysed frame, if any yet.
    pub fn latest(&self) -> Option<LiveFrame> {
        self.latest.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The zones, lines and rules in force.
    pub fn rules(&self) -> vigie_rules::RulesConfig {
        self.rules.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Replaces the camera's zones, lines and rules, after checking them against the detector's `labels`; the
    /// analysis applies them from its next frame (open events end, as when a rule is switched off). Saving them to
    /// the configuration is the caller's business.
    pub fn set_rules(&self, rules: vigie_rules::RulesConfig, labels: &[String]) -> Result<()> {
        rules.validate(labels)?;
        if let Some(tx) = &self.rules_tx {
            match tx.try_send(rules.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    return Err(err!(
                        Internal,
                        "camera {}: too many rule updates at once, retry",
                        self.name
                    ));
                }
                Err(TrySendError::Disconnected(_)) => {
                    return Err(err!(Internal, "camera {}: its analysis has stopped", self.name));
                }
            }
        }
        *self.rules.lock().unwrap_or_else(|p| p.into_inner()) = rules;
        Ok(())
    }
}
