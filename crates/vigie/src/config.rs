//! The configuration file (TOML). Strict: an unknown key is an error naming it (`deny_unknown_fields`).
//!
//! Every field has a default, documented here and in `config/vigie.toml`, which is the same configuration written
//! out with comments (a test checks that the two agree). Relative paths of inputs (models, the ONNX Runtime
//! library) are resolved by [`Bases`]: against the configuration file's folder when one was given, then the current
//! folder, then the repository the binary was built from (so `target/release/vigie` finds `models/` and
//! `.cache/vigie/` with no environment variable). Outputs (the database) are relative to the current folder.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use vigie_core::{Error, ErrorKind, Result, err};

#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub runtime: RuntimeConfig,
    pub detector: DetectorSection,
    pub tracker: TrackerSection,
    pub analysis: AnalysisSection,
    pub storage: StorageSection,
    pub events: EventsSection,
    pub pose: PoseSection,
    pub fire: FireSection,
    /// `[weapon]`: a second detector for weapon classes, for the `weapon` rule.
    pub weapon: WeaponSection,
    /// `[plates]`: plate reading on vehicle tracks (see `crate::plates_stage`).
    pub plates: crate::plates_stage::PlatesSection,
    /// `[[zone]]`: polygons in normalised coordinates, for the rules (see `vigie_rules::config`).
    #[serde(rename = "zone")]
    pub zones: Vec<vigie_rules::config::ZoneConfig>,
    /// `[[line]]`: counting lines.
    #[serde(rename = "line")]
    pub lines: Vec<vigie_rules::config::LineConfig>,
    /// `[[rule]]`: the situation-analysis rules; none by default.
    #[serde(rename = "rule")]
    pub rules: Vec<vigie_rules::RuleConfig>,
    /// `[server]`: the live service (`vigie serve`): listening address, recordings, retention, stall detection.
    pub server: vigie_server::ServerSection,
    /// `[[camera]]`: the cameras of `vigie serve`, each with its own `[[camera.zone]]`, `[[camera.line]]` and
    /// `[[camera.rule]]`; none by default.
    #[serde(rename = "camera")]
    pub cameras: Vec<vigie_server::CameraConfig>,
    /// `[[parking]]`: parking zones for the parking pre-check; none by default.
    pub parking: Vec<crate::plates_stage::ParkingZoneSection>,
}

/// `[pose]`: body pose, for the `person_on_ground` rule (run only when such a rule is enabled, and only on person
/// tracks whose box is not clearly upright).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PoseSection {
    /// MoveNet MultiPose model. Default `models/movenet-multipose.onnx` (committed, see `models/PROVENANCE.md`).
    pub model: PathBuf,
}

impl Default for PoseSection {
    fn default() -> Self {
        PoseSection {
            model: PathBuf::from("models/movenet-multipose.onnx"),
        }
    }
}

/// `[fire]`: fire candidates for the `fire_start` rule (run only when such a rule is enabled). Without a
/// classifier, a baseline runs: flame-coloured pixels that move and flicker (its false-alarm rate is in
/// `docs/accuracy.md`). No fire model ships: none is available in a usable form and licence.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FireSection {
    /// A fire image classifier (ONNX, NCHW float32 input, one score per class), replacing the baseline.
    pub classifier: Option<PathBuf>,
    /// The classifier's input width and height in pixels. Default 224 x 224.
    pub classifier_input: Option<[u32; 2]>,
    /// Index of the fire class in the classifier's output. Default 0.
    pub classifier_class: usize,
}

/// `[weapon]`: a second ONNX detector for weapon classes (a user's model: none ships), run only when a `weapon` rule
/// is enabled and `model` is set. Its detections join the shipped detector's before tracking, under its own labels
/// (so they become tracks like any other, stored and drawn, with the tracker's usual thresholds), and the `weapon`
/// rule lists those labels in its `classes`. It runs on every analysed frame, on the tracking thread: its cost adds
/// to each frame's (`weapon_detect_s` in summary.json).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WeaponSection {
    /// The ONNX model. Default: none (no second detector).
    pub model: Option<PathBuf>,
    /// Output layout: `yolov8` (default), `yolox` or `nanodet`, as for `[detector] kind`.
    pub kind: DetectorKindName,
    /// The model's class names, in output order; required with `model`. A label also kept by `[detector]`
    /// (`knife`...) must be left out of `classes`: one object, one detector.
    pub labels: Vec<String>,
    /// The classes kept, by label. Default: all of `labels`.
    pub classes: Option<Vec<String>>,
    /// Minimum class score for a detection. Default 0.35.
    pub score_threshold: f32,
    /// Model input width and height in pixels. Default: the model's own (it must then have a fixed input size).
    pub input_size: Option<[u32; 2]>,
}

impl Default for WeaponSection {
    fn default() -> Self {
        WeaponSection {
            model: None,
            kind: DetectorKindName::Yolov8,
            labels: Vec::new(),
            classes: None,
            score_threshold: 0.35,
            input_size: None,
        }
    }
}

impl WeaponSection {
    /// The classes kept (`classes`, or all `labels`); empty without a model.
    pub fn kept(&self) -> Vec<String> {
        if self.model.is_none() {
            return Vec::new();
        }
        self.classes.clone().unwrap_or_else(|| self.labels.clone())
    }
}

/// `[events]`: how events are reported.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EventsSection {
    /// Camera name on the events of `vigie analyze`. Default: the video file's name without its extension.
    pub camera: Option<String>,
    /// Seconds of video before an event's start in its clip. Default 5.
    pub clip_pre_s: f64,
    /// Seconds of video after an event's end in its clip. Default 5.
    pub clip_post_s: f64,
}

impl Default for EventsSection {
    fn default() -> Self {
        EventsSection {
            camera: None,
            clip_pre_s: 5.0,
            clip_post_s: 5.0,
        }
    }
}

/// `[runtime]`: the inference runtime.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeConfig {
    /// ONNX Runtime shared library, loaded at start-up. Default `.cache/vigie/lib/libonnxruntime.so.1.32.0`, put
    /// there by `make assets` from the PyPI wheel `onnxruntime==1.32.0`.
    pub onnxruntime: PathBuf,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            onnxruntime: PathBuf::from(".cache/vigie/lib/libonnxruntime.so.1.32.0"),
        }
    }
}

/// Output layout of the detector model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKindName {
    /// NanoDet GFL head (the shipped model): BGR, mean/std normalised, top-left letterbox.
    Nanodet,
    /// YOLOX `[1, N, 85]`: BGR 0..255, top-left letterbox padded with 114.
    Yolox,
    /// YOLOv8/YOLO11 `[1, 4 + C, N]`: RGB /255, centred letterbox padded with 114.
    Yolov8,
}

/// `[detector]`: the object detector.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorSection {
    /// Output layout: `nanodet` (default), `yolox` or `yolov8`.
    pub kind: DetectorKindName,
    /// ONNX model file. Default `models/nanodet.onnx` (committed, see `models/PROVENANCE.md`).
    pub model: PathBuf,
    /// Model input width and height in pixels. Default 416 x 416.
    pub input_width: u32,
    pub input_height: u32,
    /// Minimum class score for a detection. Default 0.35.
    pub score_threshold: f32,
    /// IoU above which the lower-scoring of two boxes of one class is suppressed. Default 0.6.
    pub nms_iou: f32,
    /// IoU above which the weaker of two boxes of different classes of one group (car, bus, truck; bicycle,
    /// motorcycle; backpack, handbag, suitcase) is dropped: one object, one box. 1 disables it. Default 0.7.
    pub group_nms_iou: f32,
    /// Classes kept, by label. Default: person, bicycle, car, motorcycle, bus, truck, backpack, handbag, suitcase,
    /// knife. An unknown label is a configuration error.
    pub classes: Vec<String>,
    /// Label list of the model, in output order. Default: the 80 COCO labels.
    pub labels: Option<Vec<String>>,
    /// ONNX Runtime intra-op threads per detector. Default 1 (best throughput on a shared 2-core machine).
    pub threads: usize,
    /// Detector workers (sessions) running in parallel on successive frames; 0 = one per CPU core. Default 0.
    pub workers: usize,
    /// `[[detector.relabel]]`: known confusions of the model on this view, corrected by size; none by default.
    /// For an overhead car-park camera, where COCO detectors label cars seen from above "cell phone":
    /// `from = "cell phone"`, `to = "car"`, `min_area_fraction = 0.01` (see `docs/accuracy.md`). Applies to every
    /// camera this detector serves.
    pub relabel: Vec<RelabelSection>,
}

/// One `[[detector.relabel]]` entry: a detection labelled `from` whose box covers at least `min_area_fraction` of
/// the frame is taken as `to` (boxes and scores unchanged).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelSection {
    /// The label the model gives (one of the model's labels).
    pub from: String,
    /// The label it stands for (a kept class).
    pub to: String,
    /// Minimum box area as a fraction of the frame area, 0..1.
    pub min_area_fraction: f32,
}

impl Default for DetectorSection {
    fn default() -> Self {
        DetectorSection {
            kind: DetectorKindName::Nanodet,
            model: PathBuf::from("models/nanodet.onnx"),
            input_width: 416,
            input_height: 416,
            score_threshold: 0.35,
            nms_iou: 0.6,
            group_nms_iou: 0.7,
            classes: vigie_core::class::DEFAULT_KEPT.iter().map(|s| s.to_string()).collect(),
            labels: None,
            threads: 1,
            workers: 0,
            relabel: Vec::new(),
        }
    }
}

/// `[tracker]`: the ByteTrack-class tracker.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackerSection {
    /// Detections scoring at least this take part in the first association. Default 0.45.
    pub high_score: f32,
    /// Detections scoring in `[low_score, high_score)` only extend existing tracks. Default 0.1.
    pub low_score: f32,
    /// An unmatched detection starts a new track only if it scores at least this. Default 0.5.
    pub new_track_score: f32,
    /// Matched frames before a track is confirmed and gets an id. Default 2.
    pub confirm_hits: u32,
    /// Seconds a lost track is kept for re-association before it ends. Default 2.0.
    pub max_lost_s: f64,
}

impl Default for TrackerSection {
    fn default() -> Self {
        let d = vigie_track::TrackerConfig::default();
        TrackerSection {
            high_score: d.high_score,
            low_score: d.low_score,
            new_track_score: d.new_track_score,
            confirm_hits: d.confirm_hits,
            max_lost_s: d.max_lost_s,
        }
    }
}

/// `[analysis]`: sampling and decoding.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisSection {
    /// Frames analysed per second of video; 0 analyses every frame. Default 5.
    pub fps: f64,
    /// FFmpeg decoder threads; 0 lets FFmpeg choose. Default 1.
    pub decode_threads: usize,
    /// Wall-clock time of the video's first frame, RFC 3339 with its offset (`"2026-03-06T19:30:00+01:00"`), for
    /// the rules' schedules: a frame's wall-clock time is this plus its media time. Default: the start of the run.
    pub start_time: Option<String>,
}

impl Default for AnalysisSection {
    fn default() -> Self {
        AnalysisSection {
            fps: 5.0,
            decode_threads: 1,
            start_time: None,
        }
    }
}

/// `[storage]`: where tracks are kept.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageSection {
    /// SQLite database of analysis runs, tracks and their sampled boxes. Default `vigie-data/vigie.db`.
    pub database: PathBuf,
}

impl Default for StorageSection {
    fn default() -> Self {
        StorageSection {
            database: PathBuf::from("vigie-data/vigie.db"),
        }
    }
}

impl Config {
    /// Parses a configuration text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            // toml's message spans several lines (a caret under the key); keep it on one line.
            let msg = e.message().to_string();
            let at = e
                .span()
                .map(|s| {
                    let line = text[..s.start.min(text.len())].matches('\n').count() + 1;
                    format!(" (line {line})")
                })
                .unwrap_or_default();
            err!(Config, "{origin}{at}: {msg}")
        })?;
        cfg.validate().map_err(|e| e.context(origin.to_string()))?;
        Ok(cfg)
    }

    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::NotFound
            } else {
                ErrorKind::Config
            };
            Error::wrap(kind, format!("reading config {}", path.display()), e)
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Checks value ranges that the types alone do not.
    pub fn validate(&self) -> Result<()> {
        let d = &self.detector;
        if !(0.0..=1.0).contains(&d.score_threshold) {
            return Err(err!(
                Config,
                "detector.score_threshold must be in 0..1, got {}",
                d.score_threshold
            ));
        }
        for (name, v) in [("nms_iou", d.nms_iou), ("group_nms_iou", d.group_nms_iou)] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(err!(Config, "detector.{name} must be in (0, 1], got {v}"));
            }
        }
        if d.input_width == 0
            || d.input_height == 0
            || !d.input_width.is_multiple_of(32)
            || !d.input_height.is_multiple_of(32)
        {
            return Err(err!(
                Config,
                "detector.input_width and input_height must be positive multiples of 32, got {}x{}",
                d.input_width,
                d.input_height
            ));
        }
        let labels = self.labels();
        for (i, r) in d.relabel.iter().enumerate() {
            let at = format!("detector.relabel[{i}] ({:?} -> {:?})", r.from, r.to);
            if !labels.contains(&r.from) {
                return Err(err!(Config, "{at}: {:?} is not one of the model's labels", r.from));
            }
            if !d.classes.contains(&r.to) {
                return Err(err!(Config, "{at}: {:?} is not a kept class (detector.classes)", r.to));
            }
            if r.from == r.to || !(0.0..=1.0).contains(&r.min_area_fraction) {
                return Err(err!(
                    Config,
                    "{at}: from and to must differ and min_area_fraction be within 0..1, got {}",
                    r.min_area_fraction
                ));
            }
        }
        if d.threads == 0 {
            return Err(err!(Config, "detector.threads must be at least 1"));
        }
        if d.classes.is_empty() {
            return Err(err!(Config, "detector.classes is empty: nothing would be detected"));
        }
        let labels = self.labels();
        vigie_core::ClassSet::new(&labels, &d.classes).map_err(|e| e.context("detector.classes"))?;
        let t = &self.tracker;
        if !(0.0..=1.0).contains(&t.low_score) || !(t.low_score..=1.0).contains(&t.high_score) {
            return Err(err!(Config, "tracker: need 0 <= low_score <= high_score <= 1"));
        }
        if !(t.max_lost_s >= 0.0 && t.max_lost_s.is_finite()) {
            return Err(err!(Config, "tracker.max_lost_s must be a finite number >= 0"));
        }
        if t.confirm_hits == 0 {
            return Err(err!(Config, "tracker.confirm_hits must be at least 1"));
        }
        let a = &self.analysis;
        if !(a.fps >= 0.0 && a.fps.is_finite()) {
            return Err(err!(
                Config,
                "analysis.fps must be a finite number >= 0 (0 = every frame)"
            ));
        }
        let ev = &self.events;
        for (name, v) in [("clip_pre_s", ev.clip_pre_s), ("clip_post_s", ev.clip_post_s)] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(err!(Config, "events.{name} must be a finite number >= 0"));
            }
        }
        crate::plates_stage::validate(&self.plates, &self.parking)?;
        if let Some(s) = &a.start_time {
            parse_start_time(s)?;
        }
        self.validate_weapon()?;
        let rules = self.rules_config();
        rules.validate(&self.rule_labels())?;
        rules.classes_not_kept(&self.kept_classes()).map(|_| ())
    }

    fn validate_weapon(&self) -> Result<()> {
        let w = &self.weapon;
        if w.model.is_none() {
            return Ok(());
        }
        if w.labels.is_empty() {
            return Err(err!(
                Config,
                "weapon.labels is empty: the second detector's class names are needed"
            ));
        }
        if !(0.0..=1.0).contains(&w.score_threshold) {
            return Err(err!(
                Config,
                "weapon.score_threshold must be in 0..1, got {}",
                w.score_threshold
            ));
        }
        if let Some([iw, ih]) = w.input_size
            && (iw == 0 || ih == 0 || !iw.is_multiple_of(32) || !ih.is_multiple_of(32))
        {
            return Err(err!(
                Config,
                "weapon.input_size must be positive multiples of 32, got {iw}x{ih}"
            ));
        }
        let kept = w.kept();
        if kept.is_empty() {
            return Err(err!(Config, "weapon.classes is empty: nothing would be detected"));
        }
        vigie_core::ClassSet::new(&w.labels, &kept).map_err(|e| e.context("weapon.classes"))?;
        for c in &kept {
            if self.detector.classes.contains(c) {
                return Err(err!(
                    Config,
                    "weapon.classes: {c:?} is kept by [detector] classes too; keep it in one of them (one object, \
                     one detector)"
                ));
            }
        }
        Ok(())
    }

    /// The labels the rules may name: the detector's, and the second (weapon) detector's kept classes.
    pub fn rule_labels(&self) -> Vec<String> {
        let mut l = self.labels();
        for c in self.weapon.kept() {
            if !l.contains(&c) {
                l.push(c);
            }
        }
        l
    }

    /// The classes that reach the tracker: `[detector] classes`, and the weapon detector's.
    pub fn kept_classes(&self) -> Vec<String> {
        let mut k = self.detector.classes.clone();
        k.extend(self.weapon.kept());
        k
    }

    /// Warnings about the configuration, for stderr: rules watching classes no detector keeps.
    pub fn warnings(&self) -> Vec<String> {
        self.rules_config()
            .classes_not_kept(&self.kept_classes())
            .unwrap_or_default()
    }

    /// `analysis.start_time` as ms since 1970, if set.
    pub fn start_time_unix_ms(&self) -> Result<Option<i64>> {
        self.analysis.start_time.as_deref().map(parse_start_time).transpose()
    }

    /// The second detector, when `[weapon] model` is set and an enabled `weapon` rule needs it.
    /// `rules`: a file's (`[[rule]]`) or a camera's (`[[camera.rule]]`).
    pub fn weapon_detector_config_for(
        &self,
        base: &Bases,
        rules: &[vigie_rules::RuleConfig],
    ) -> Result<Option<vigie_vision::DetectorConfig>> {
        let w = &self.weapon;
        let wanted = rules
            .iter()
            .any(|r| r.enabled && r.kind == vigie_rules::RuleType::Weapon);
        let Some(model) = w.model.as_ref().filter(|_| wanted) else {
            return Ok(None);
        };
        let [input_width, input_height] = w.input_size.unwrap_or([0, 0]);
        Ok(Some(vigie_vision::DetectorConfig {
            kind: detector_kind(w.kind),
            model: base.resolve_existing(model, "weapon.model")?,
            input_width,
            input_height,
            score_threshold: w.score_threshold,
            nms_iou: self.detector.nms_iou,
            group_nms_iou: 1.0,
            labels: w.labels.clone(),
            classes: w.kept(),
            intra_threads: self.detector.threads,
            relabel: Vec::new(),
        }))
    }

    /// The analysers `rules` need (a file's rules, or a camera's), with their model paths resolved.
    pub fn analyser_spec(
        &self,
        bases: &Bases,
        rules: &[vigie_rules::RuleConfig],
    ) -> Result<vigie_server::analysers::AnalyserSpec> {
        use vigie_rules::RuleType;
        use vigie_server::analysers::{AnalyserSpec, FireSpec};
        let wants = |k: RuleType| rules.iter().any(|r| r.enabled && r.kind == k);
        let pose_model = if wants(RuleType::PersonOnGround) {
            Some(bases.resolve_existing(&self.pose.model, "pose.model")?)
        } else {
            None
        };
        let fire = if wants(RuleType::FireStart) {
            Some(match &self.fire.classifier {
                Some(m) => FireSpec::Classifier {
                    model: bases.resolve_existing(m, "fire.classifier")?,
                    input: self.fire.classifier_input.unwrap_or([224, 224]),
                    class: self.fire.classifier_class,
                },
                None => FireSpec::Baseline,
            })
        } else {
            None
        };
        Ok(AnalyserSpec {
            weapon: self.weapon_detector_config_for(bases, rules)?,
            pose_model,
            pose_threads: self.detector.threads,
            fire,
        })
    }

    /// Zones, lines and rules, as the rule engine takes them.
    pub fn rules_config(&self) -> vigie_rules::RulesConfig {
        vigie_rules::RulesConfig {
            zones: self.zones.clone(),
            lines: self.lines.clone(),
            rules: self.rules.clone(),
        }
    }

    /// The detector's label list.
    pub fn labels(&self) -> Vec<String> {
        match &self.detector.labels {
            Some(l) => l.clone(),
            None => vigie_core::COCO80.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Detector workers to run: `detector.workers`, or one per CPU core when 0 (at most 16).
    pub fn detector_workers(&self) -> usize {
        match self.detector.workers {
            0 => std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(16),
            n => n,
        }
    }

    pub fn tracker_config(&self) -> vigie_track::TrackerConfig {
        let t = &self.tracker;
        vigie_track::TrackerConfig {
            high_score: t.high_score,
            low_score: t.low_score,
            new_track_score: t.new_track_score,
            confirm_hits: t.confirm_hits,
            max_lost_s: t.max_lost_s,
            ..Default::default()
        }
    }

    pub fn detector_config(&self, base: &Bases) -> Result<vigie_vision::DetectorConfig> {
        let d = &self.detector;
        Ok(vigie_vision::DetectorConfig {
            kind: detector_kind(d.kind),
            model: base.resolve_existing(&d.model, "detector.model")?,
            input_width: d.input_width,
            input_height: d.input_height,
            score_threshold: d.score_threshold,
            nms_iou: d.nms_iou,
            group_nms_iou: d.group_nms_iou,
            labels: self.labels(),
            classes: d.classes.clone(),
            intra_threads: d.threads,
            relabel: d
                .relabel
                .iter()
                .map(|r| vigie_vision::Relabel {
                    from: r.from.clone(),
                    to: r.to.clone(),
                    min_area_fraction: r.min_area_fraction,
                })
                .collect(),
        })
    }
}

fn detector_kind(k: DetectorKindName) -> vigie_vision::DetectorKind {
    match k {
        DetectorKindName::Nanodet => vigie_vision::DetectorKind::NanoDet,
        DetectorKindName::Yolox => vigie_vision::DetectorKind::Yolox,
        DetectorKindName::Yolov8 => vigie_vision::DetectorKind::Yolov8,
    }
}

/// An RFC 3339 time with its offset → ms since 1970.
fn parse_start_time(s: &str) -> Result<i64> {
    let ts: jiff::Timestamp = s.parse().map_err(|e| {
        err!(
            Config,
            "analysis.start_time {s:?}: not an RFC 3339 time with an offset, like \"2026-03-06T19:30:00+01:00\" ({e})"
        )
    })?;
    Ok(ts.as_millisecond())
}

/// Folders against which relative paths of the configuration are resolved, in order.
#[derive(Clone, Debug)]
pub struct Bases(Vec<PathBuf>);

impl Bases {
    /// `config_dir` (when a file was given), then the current folder, then the repository the binary was built in.
    pub fn new(config_file: Option<&Path>) -> Bases {
        let mut v = Vec::new();
        if let Some(dir) = config_file.and_then(Path::parent) {
            v.push(if dir.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                dir.to_path_buf()
            });
        }
        if let Ok(cwd) = std::env::current_dir() {
            v.push(cwd);
        }
        // target/{debug,release}/vigie → the repository root.
        if let Some(root) = std::env::current_exe().ok().and_then(|exe| {
            exe.parent()
                .and_then(Path::parent)
                .and_then(Path::parent)
                .map(Path::to_path_buf)
        }) {
            v.push(root);
        }
        v.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
        Bases(v)
    }

    /// The first existing candidate for `p`; a `NotFound` error naming the setting and every place looked at.
    pub fn resolve_existing(&self, p: &Path, setting: &str) -> Result<PathBuf> {
        if p.is_absolute() {
            return if p.exists() {
                Ok(p.to_path_buf())
            } else {
                Err(err!(NotFound, "{setting}: {} does not exist", p.display()))
            };
        }
        for b in &self.0 {
            let c = b.join(p);
            if c.exists() {
                return Ok(c);
            }
        }
        Err(err!(
            NotFound,
            "{setting}: {} not found (looked in {}); run `make assets`",
            p.display(),
            self.0
                .iter()
                .map(|b| b.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_file_equals_defaults() {
        let text = include_str!("../../../config/vigie.toml");
        let cfg = Config::parse(text, "config/vigie.toml").expect("config/vigie.toml parses");
        assert_eq!(cfg, Config::default());
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::parse("[detector]\nscore_treshold = 0.3\n", "x.toml").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        let s = e.to_string();
        assert!(s.contains("score_treshold"), "{s}");
        assert!(s.contains("line 2"), "{s}");
        assert!(!s.contains('\n'), "one line: {s:?}");
    }

    #[test]
    fn unknown_class_is_named() {
        let e = Config::parse("[detector]\nclasses = [\"person\", \"van\"]\n", "x.toml").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Config);
        assert!(e.to_string().contains("\"van\""), "{e}");
    }

    #[test]
    fn relabel_is_checked() {
        let r = |from: &str, to: &str, a: f32| {
            format!("[[detector.relabel]]\nfrom = \"{from}\"\nto = \"{to}\"\nmin_area_fraction = {a}\n")
        };
        let cfg = Config::parse(&r("cell phone", "car", 0.01), "x.toml").expect("valid relabel");
        assert_eq!(cfg.detector.relabel.len(), 1);
        for (bad, needle) in [
            (r("phone", "car", 0.01), "\"phone\" is not one of the model's labels"),
            (r("cell phone", "kite", 0.01), "\"kite\" is not a kept class"),
            (r("cell phone", "car", 2.0), "min_area_fraction"),
        ] {
            let e = Config::parse(&bad, "x.toml").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(needle), "{e}");
        }
    }

    #[test]
    fn rules_are_checked_against_zones_and_classes() {
        let zone = "[[zone]]\nid = \"z\"\npolygon = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]\n";
        let ok = format!("{zone}[[rule]]\nid = \"r\"\ntype = \"intrusion\"\nzones = [\"z\"]\n");
        let cfg = Config::parse(&ok, "x.toml").expect("valid rule");
        assert_eq!(cfg.rules.len(), 1);
        for (bad, needle) in [
            (
                "[[rule]]\nid = \"r\"\ntype = \"intrusion\"\nzones = [\"nowhere\"]\n",
                "nowhere",
            ),
            (
                "[[rule]]\nid = \"r\"\ntype = \"intrusion\"\nzones = [\"z\"]\nclasses = [\"van\"]\n",
                "van",
            ),
            ("[[rule]]\nid = \"r\"\ntype = \"face_match\"\n", "face_match"),
            (
                "[[rule]]\nid = \"r\"\ntype = \"intrusion\"\nzones = [\"z\"]\nradius = 2.0\n",
                "radius",
            ),
        ] {
            let e = Config::parse(&format!("{zone}{bad}"), "x.toml").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{bad}");
            assert!(e.to_string().contains(needle), "{needle} in {e}");
        }
    }

    #[test]
    fn bad_ranges_are_rejected() {
        for t in [
            "[detector]\nscore_threshold = 1.5",
            "[detector]\ninput_width = 400",
            "[analysis]\nfps = -1",
            "[tracker]\nlow_score = 0.9\nhigh_score = 0.5",
            "[detector]\nkind = \"ssd\"",
        ] {
            let e = Config::parse(t, "x.toml").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config, "{t}");
        }
    }

    #[test]
    fn schedules_scales_and_start_time_parse() {
        // The form documented in config/vigie.toml: a schedule whose windows span lines.
        let text = r#"
[analysis]
start_time = "2026-03-06T19:30:00+01:00"

[[zone]]
id = "walkway"
polygon = [[0.0, 0.35], [1.0, 0.35], [1.0, 0.75], [0.0, 0.75]]
metres_per_pixel = 0.02
direction = [1.0, 0.0]

[[rule]]
id = "ww"
type = "wrong_way"
zones = ["walkway"]
min_speed_mps = 1.0
schedule = { timezone = "local", windows = [
  { days = ["mon", "tue", "wed", "thu", "fri"], start = "19:00", end = "07:00" },
  { days = ["sat", "sun"], start = "00:00", end = "24:00" },
] }
"#;
        let cfg = Config::parse(text, "x.toml").expect("parses");
        assert_eq!(cfg.start_time_unix_ms().unwrap(), Some(1_772_821_800_000), "18:30 UTC");
        assert_eq!(cfg.rules[0].schedule.as_ref().map(|s| s.windows.len()), Some(2));
        for (bad, needle) in [
            ("[analysis]\nstart_time = \"yesterday\"\n", "yesterday"),
            ("[analysis]\nstart_time = \"2026-03-06T19:30:00\"\n", "offset"),
            (
                "[[rule]]\nid = \"g\"\ntype = \"gathering\"\nschedule = { windows = [{ days = [\"mo\"], start = \"19:00\", end = \"07:00\" }] }\n",
                "\"mo\"",
            ),
        ] {
            let e = Config::parse(bad, "x.toml").expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(needle), "{needle} in {e}");
        }
    }

    #[test]
    fn classes_no_detector_keeps_warn_or_are_refused() {
        let people_only = "[detector]\nclasses = [\"person\"]\n";
        // Intrusion watches people and 5 vehicle classes by default: 5 warnings, naming the rule.
        let cfg = Config::parse(
            &format!(
                "{people_only}[[zone]]\nid = \"z\"\npolygon = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9]]\n\
                      [[rule]]\nid = \"in\"\ntype = \"intrusion\"\nzones = [\"z\"]\n"
            ),
            "x.toml",
        )
        .expect("people are kept");
        let w = cfg.warnings();
        assert_eq!(w.len(), 5, "{w:?}");
        assert!(w.iter().all(|l| l.contains("\"in\"")), "{w:?}");
        // Abandoned objects watch bags: none kept, refused.
        let e = Config::parse(
            &format!("{people_only}[[rule]]\nid = \"bags\"\ntype = \"abandoned_object\"\n"),
            "x.toml",
        )
        .expect_err("no bag kept");
        assert!(e.to_string().contains("\"bags\""), "{e}");
        // The defaults keep what every default rule watches.
        assert!(Config::default().warnings().is_empty());
    }

    #[test]
    fn the_weapon_detector_is_checked_and_adds_its_labels() {
        let rule = "[[rule]]\nid = \"w\"\ntype = \"weapon\"\nclasses = [\"pistol\"]\n";
        // Without [weapon], "pistol" is no label.
        let e = Config::parse(rule, "x.toml").expect_err("pistol");
        assert!(e.to_string().contains("unknown class \"pistol\""), "{e}");
        let weapon = "[weapon]\nmodel = \"w.onnx\"\nlabels = [\"pistol\", \"rifle\", \"knife\"]\n";
        let cfg = Config::parse(&format!("{weapon}classes = [\"pistol\", \"rifle\"]\n{rule}"), "x.toml")
            .expect("pistol is the weapon detector's");
        assert_eq!(cfg.kept_classes().iter().filter(|c| *c == "pistol").count(), 1);
        assert!(cfg.rule_labels().contains(&"rifle".to_string()));
        assert!(cfg.warnings().is_empty(), "{:?}", cfg.warnings());
        for (bad, needle) in [
            // knife is kept by [detector] too.
            (format!("{weapon}{rule}"), "\"knife\" is kept by [detector]"),
            ("[weapon]\nmodel = \"w.onnx\"\n".to_string(), "weapon.labels is empty"),
            (format!("{weapon}classes = [\"sword\"]\n"), "sword"),
            (
                format!("{weapon}classes = [\"pistol\"]\nscore_threshold = 2.0\n"),
                "score_threshold",
            ),
            (
                format!("{weapon}classes = [\"pistol\"]\ninput_size = [600, 600]\n"),
                "input_size",
            ),
            (format!("{weapon}classes = [\"pistol\"]\nkind = \"ssd\"\n"), "ssd"),
        ] {
            let e = Config::parse(&bad, "x.toml").expect_err(&bad);
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(needle), "{needle} in {e}");
        }
        // No weapon rule: no second detector, whatever [weapon] says.
        let cfg = Config::parse(&format!("{weapon}classes = [\"pistol\"]\n"), "x.toml").unwrap();
        assert!(
            cfg.weapon_detector_config_for(&Bases::new(None), &cfg.rules)
                .unwrap()
                .is_none()
        );
    }
}
