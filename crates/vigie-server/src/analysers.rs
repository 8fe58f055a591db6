//! The per-frame analysis step shared by `vigie analyze` (files) and `vigie serve` (cameras), so that the same
//! frames give the same events live and in replay: the analysers some rules need (a second detector for weapons,
//! body pose, fire candidates), the rule engine's view of a frame, and frame wall-clock times for schedules.

use std::collections::BTreeMap;
use std::path::PathBuf;

use vigie_core::{BBox, ClassId, Detections, Result, RgbFrame, Time90k, TrackId, TrackedObject, err};
use vigie_rules::{FrameInput, TrackObs};
use vigie_vision::Detector;

/// What to build, resolved from the configuration (paths checked) for one camera's or one file's rules.
#[derive(Clone, Debug, Default)]
pub struct AnalyserSpec {
    /// `[weapon]`: a second detector whose detections join the first's before tracking. Only when a weapon rule
    /// is enabled and a model configured.
    pub weapon: Option<vigie_vision::DetectorConfig>,
    /// MoveNet model, when a `person_on_ground` rule is enabled.
    pub pose_model: Option<PathBuf>,
    /// ONNX Runtime intra-op threads of the pose model.
    pub pose_threads: usize,
    /// Fire candidates, when a `fire_start` rule is enabled.
    pub fire: Option<FireSpec>,
}

/// Where fire candidates come from.
#[derive(Clone, Debug, PartialEq)]
pub enum FireSpec {
    /// Flame colour + motion + flicker (its false-alarm rate is in `docs/accuracy.md`).
    Baseline,
    /// A user's ONNX image classifier.
    Classifier {
        model: PathBuf,
        input: [u32; 2],
        class: usize,
    },
}

/// Minimum media time between two pose estimates of one track.
const POSE_EVERY: Time90k = Time90k(90_000);

/// Per-frame analysers that only some rules need. Each is built only when an enabled rule needs it, and runs in
/// frame order (their state, like the tracker's, depends on the order of frames).
pub struct Analysers {
    /// The second detector, and the class id of its first label among the pipeline's labels.
    weapon: Option<(Detector, u16)>,
    pose: Option<vigie_vision::PoseEstimator>,
    /// Recent boxes of each person track, to decide cheaply whether a pose check is worth it.
    history: BTreeMap<TrackId, Vec<BBox>>,
    /// When each track's pose was last estimated: at most one pose per track per [`POSE_EVERY`] (a verdict holds
    /// for 3 s in the rule), which keeps the cost bounded when many people look horizontal.
    last_pose: BTreeMap<TrackId, Time90k>,
    fire_baseline: Option<vigie_vision::FireBaseline>,
    fire_classifier: Option<vigie_vision::FireClassifier>,
}

impl Analysers {
    /// Builds what `spec` asks for; a weapon detector appends its labels to `labels` (the pipeline's, from the
    /// first detector), after the 80 COCO indices at least so that its classes never share the tracker's class
    /// groups (which go by COCO index) with the first detector's.
    pub fn new(spec: &AnalyserSpec, labels: &mut Vec<String>) -> Result<Self> {
        let weapon = match &spec.weapon {
            Some(wcfg) => {
                let det = Detector::new(wcfg).map_err(|e| e.context("weapon detector"))?;
                let base = labels.len().max(vigie_core::COCO80.len());
                let offset = u16::try_from(base)
                    .ok()
                    .filter(|o| (*o as usize) + wcfg.labels.len() <= u16::MAX as usize)
                    .ok_or_else(|| err!(Config, "too many labels with the weapon detector's"))?;
                while labels.len() < base {
                    labels.push(format!("(unused {})", labels.len()));
                }
                labels.extend(wcfg.labels.iter().cloned());
                Some((det, offset))
            }
            None => None,
        };
        let pose = match &spec.pose_model {
            Some(m) => Some(vigie_vision::PoseEstimator::new(m, spec.pose_threads.max(1))?),
            None => None,
        };
        let (mut fire_baseline, mut fire_classifier) = (None, None);
        match &spec.fire {
            Some(FireSpec::Classifier { model, input, class }) => {
                fire_classifier = Some(vigie_vision::FireClassifier::new(model, input[0], input[1], *class)?);
            }
            Some(FireSpec::Baseline) => {
                fire_baseline = Some(vigie_vision::FireBaseline::new(
                    vigie_vision::FireBaselineConfig::default(),
                )?)
            }
            None => {}
        }
        Ok(Analysers {
            weapon,
            pose,
            history: BTreeMap::new(),
            last_pose: BTreeMap::new(),
            fire_baseline,
            fire_classifier,
        })
    }

    /// Adds the weapon detector's detections of `frame` to `dets` (the first detector's), under its labels.
    /// Whether it ran (there is a weapon detector).
    pub fn detect_weapons(&mut self, frame: &RgbFrame, dets: &mut Detections) -> Result<bool> {
        let Some((det, offset)) = &mut self.weapon else {
            return Ok(false);
        };
        let found = det.detect(frame)?;
        for ((b, score), c) in found.boxes.iter().zip(&found.scores).zip(&found.class_ids) {
            dets.push(*b, *score, ClassId(c.0 + *offset));
        }
        Ok(true)
    }

    /// Adds poses and fire candidates of `frame` to the rules' input.
    pub fn observe(&mut self, frame: &RgbFrame, input: &mut FrameInput) -> Result<()> {
        if let Some(pose) = &mut self.pose {
            let mut check: Vec<(TrackId, BBox)> = Vec::new();
            for o in input.objects.iter().filter(|o| o.class == "person") {
                let h = self.history.entry(o.track_id).or_default();
                h.push(o.bbox);
                if h.len() > 25 {
                    h.remove(0);
                }
                let due = self
                    .last_pose
                    .get(&o.track_id)
                    .is_none_or(|t| input.t.0 - t.0 >= POSE_EVERY.0);
                if due && vigie_vision::worth_checking(h) {
                    check.push((o.track_id, o.bbox));
                    self.last_pose.insert(o.track_id, input.t);
                }
            }
            let seen: Vec<TrackId> = input.objects.iter().map(|o| o.track_id).collect();
            self.history.retain(|id, _| seen.contains(id));
            self.last_pose.retain(|_, t| input.t.0 - t.0 < 10 * POSE_EVERY.0);
            if !check.is_empty() {
                for p in pose.estimate(frame, &check)? {
                    input.poses.push(vigie_rules::PoseObs {
                        track_id: p.track_id,
                        axis_from_vertical_deg: p.axis_from_vertical_deg,
                        confidence: p.confidence,
                    });
                }
            }
        }
        let regions = match (&mut self.fire_baseline, &mut self.fire_classifier) {
            (_, Some(c)) => c.classify(frame)?,
            (Some(b), None) => b.analyse(frame),
            (None, None) => Vec::new(),
        };
        input.fire.extend(regions.into_iter().map(|r| vigie_rules::FireObs {
            bbox: r.bbox,
            score: r.score,
        }));
        Ok(())
    }
}

/// The rule engine's view of a frame: confirmed tracks with their voted class.
pub fn rules_input(t: Time90k, objects: &[TrackedObject], labels: &[String]) -> FrameInput {
    FrameInput {
        t,
        objects: objects
            .iter()
            .map(|o| TrackObs {
                track_id: o.track_id,
                bbox: o.bbox,
                class: label(labels, o.voted_class),
                score: o.score,
            })
            .collect(),
        poses: Vec::new(),
        fire: Vec::new(),
        wall: None,
    }
}

/// The label of class `c`, or `class<N>` for an id beyond the labels.
pub fn label(labels: &[String], c: ClassId) -> String {
    labels
        .get(c.0 as usize)
        .cloned()
        .unwrap_or_else(|| format!("class{}", c.0))
}

/// The wall-clock time of media time `t` for the rules' schedules: a start (the run's, a configured one, or a
/// camera session's first frame) plus `t`, with the host's local offset at that instant (daylight saving included)
/// for schedules in local time.
pub struct WallClockSource {
    pub start_unix_ms: i64,
    tz: jiff::tz::TimeZone,
}

impl WallClockSource {
    pub fn new(start_unix_ms: i64) -> Self {
        WallClockSource {
            start_unix_ms,
            tz: jiff::tz::TimeZone::system(),
        }
    }

    pub fn at(&self, t: Time90k) -> vigie_rules::WallClock {
        let unix_ms = self.start_unix_ms + t.0 / 90;
        let local_offset_s = jiff::Timestamp::from_millisecond(unix_ms)
            .map(|ts| self.tz.to_offset(ts).seconds())
            .unwrap_or(0);
        vigie_rules::WallClock {
            unix_ms,
            local_offset_s,
        }
    }
}

/// The stored rows of a run's events, folded from the engine's start, update and end messages: one place that
/// turns events into rows for `vigie analyze` and `vigie serve`. A row keeps the first `detail`, box and snapshot
/// (they describe the moment the event started), the highest confidence, the latest end and clip end, and every
/// track involved.
#[derive(Debug, Default)]
pub struct EventRows {
    rows: BTreeMap<String, vigie_store::EventRow>,
    /// Event ids in the order they started.
    order: Vec<String>,
}

impl EventRows {
    /// Folds `ev` into its row and returns it (to be saved). `snapshot` is called once, when the event is new.
    pub fn fold(
        &mut self,
        ev: &vigie_rules::Event,
        clip_pre: Time90k,
        clip_post: Time90k,
        snapshot: impl FnOnce() -> Result<Option<String>>,
    ) -> Result<&vigie_store::EventRow> {
        let (clip_start, clip_end) = ev.clip(clip_pre, clip_post);
        if !self.rows.contains_key(&ev.id) {
            let row = vigie_store::EventRow {
                id: ev.id.clone(),
                kind: ev.kind.as_str().to_string(),
                camera: ev.camera.clone(),
                rule: ev.rule.clone(),
                zone: ev.zone.clone(),
                line: ev.line.clone(),
                start: ev.start,
                end: ev.end,
                confidence: ev.confidence,
                bbox: ev.bbox,
                detail: ev.detail.clone(),
                snapshot: snapshot()?,
                clip_start,
                clip_end,
                track_ids: ev.track_ids.clone(),
            };
            self.order.push(ev.id.clone());
            self.rows.insert(ev.id.clone(), row);
        }
        let row = self
            .rows
            .get_mut(&ev.id)
            .ok_or_else(|| err!(Internal, "event {} vanished", ev.id))?;
        row.end = ev.end;
        row.confidence = row.confidence.max(ev.confidence);
        row.clip_end = Time90k(row.clip_end.0.max(clip_end.0));
        for t in &ev.track_ids {
            if !row.track_ids.contains(t) {
                row.track_ids.push(*t);
            }
        }
        Ok(row)
    }

    /// Forgets an ended event (a live camera keeps only open ones).
    pub fn forget(&mut self, id: &str) {
        self.rows.remove(id);
        self.order.retain(|x| x != id);
    }

    /// The rows in the order their events started.
    pub fn into_rows(mut self) -> Vec<vigie_store::EventRow> {
        self.order.iter().filter_map(|id| self.rows.remove(id)).collect()
    }
}
