//! Plates during `vigie analyze` (`[plates]`, `[[parking]]`): crops of vehicle tracks are read off the analysis
//! threads, voted per track, shown on the track, kept in the track plate database, and, for a vehicle parked in a
//! parking zone, checked against the paid sessions by the parking pre-check. This module holds the configuration
//! and opens the databases; the stage itself (feeder, reader thread, vote, pre-check) is `vigie_plates::stage`,
//! shared with the live service.
//!
//! ```text
//! sink thread (Feeder, per analysed frame)          "plates" thread (one PlateReader)
//!   vehicle tracks (car, bus, truck, motorcycle),     crop → PP-OCRv6 text detection → recognition → grammar
//!   matched boxes at least min_crop_width wide:       per track: reads; at the track's end: vote →
//!   best crop (width × sharpness) of each               parked in a zone: ParkingStore::observe (paid: nothing
//!   crop_interval_s window, at most                       kept; unpaid: queued with two evidence crops)
//!   max_crops_per_track per track                       otherwise, read: TrackPlateStore (run, track, plate)
//!   ── unbounded channel, but at most QUEUE_CROPS crops in flight ──▶
//! ```
//!
//! The analysis never waits for the reader: a crop that finds the queue full stays the track's pending candidate
//! (a better one of a later frame replaces it) and is tried again at the next frame; a track that ends while the
//! queue is full loses that last crop (counted in `crops_dropped`). The end-of-track messages, a few bytes each, go
//! through the same channel, after the track's crops, so the worker votes once it has read all of them.
//!
//! What leaves the run (legal.md, LAPI): the plate of a track that went through the parking pre-check is in the
//! parking database only, under its rules (a paid vehicle's plate is never written; an unpaid one's waits for a
//! sworn agent), never in `tracks.jsonl`, the report or the track plate database. Other vehicle tracks show their
//! voted plate, or "plate unread": a plate is never guessed (the reader's grammar and confidence floor decide).

use crate::config::{Bases, Config};
use crate::report::TrackRecord;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use vigie_core::{Error, ErrorKind, Result, Time90k, bail, err};
use vigie_plates::parking::{self, DstRule, NewZone, PaidHours, ParkingStore, PlateKey, Zone, ZoneRules};
use vigie_plates::read::{DEFAULT_DET_MODEL, DEFAULT_REC_MODEL, VEHICLE_CLASSES};
use vigie_plates::stage;
pub use vigie_plates::stage::{Feeder, ParkingSummary, PlateOnTrack, PlateWorker, PlatesOutput, PlatesSummary};
use vigie_plates::{PlateReader, ReaderConfig, TrackPlateStore};

// ------------------------------------------------------------------------------------------------------------------
// Configuration

/// `[plates]`: plate reading on vehicle tracks during `vigie analyze`, and the settings of the parking pre-check.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatesSection {
    /// Read the plates of vehicle tracks. Default false.
    pub enabled: bool,
    /// PP-OCRv6 text detection model. Default `.cache/vigie/models/PP-OCRv6_det_small.onnx` (`make assets`).
    pub det_model: PathBuf,
    /// PP-OCRv6 text recognition model. Default `.cache/vigie/models/PP-OCRv6_rec_small.onnx` (`make assets`).
    pub rec_model: PathBuf,
    /// Crops read per track at most. Default 6.
    pub max_crops_per_track: u32,
    /// Vehicle boxes narrower than this (pixels) are not read: their plate is too small. Default 96.
    pub min_crop_width: u32,
    /// One crop per this many seconds of a track at most: the sharpest, largest of the window. Default 1.0.
    pub crop_interval_s: f64,
    /// Track plate database. Default: `plates.db` beside `storage.database`.
    pub database: Option<PathBuf>,
    /// Rows of the track plate database older than this many days are deleted at the start of each run. Default
    /// 30 (recordings are kept at most a month).
    pub retention_days: u32,
    /// Parking database (pre-check), used when `[[parking]]` zones are configured. Default: `parking.db` beside
    /// `storage.database`.
    pub parking_database: Option<PathBuf>,
    /// The secret key of paid-session plate digests (64 hex digits; created when missing, mode 0600). Keep it away
    /// from the parking database in production. Default: `parking.key` beside the parking database.
    pub key_file: Option<PathBuf>,
    /// Paid sessions to import at the start of the run (CSV `plate,zone,start,end[,reference]`).
    pub payments_csv: Option<PathBuf>,
    /// A vote below this confidence is unreadable for the pre-check: never matched, never queued. Default 0.9.
    pub parking_min_confidence: f32,
    /// Wall-clock time of the video's first frame (RFC 3339, with its offset). Default: the start of the run minus
    /// the video's duration (a recording that just ended).
    pub video_start: Option<String>,
}

impl Default for PlatesSection {
    fn default() -> Self {
        PlatesSection {
            enabled: false,
            det_model: PathBuf::from(DEFAULT_DET_MODEL),
            rec_model: PathBuf::from(DEFAULT_REC_MODEL),
            max_crops_per_track: 6,
            min_crop_width: 96,
            crop_interval_s: 1.0,
            database: None,
            retention_days: 30,
            parking_database: None,
            key_file: None,
            payments_csv: None,
            parking_min_confidence: 0.9,
            video_start: None,
        }
    }
}

/// `[[parking]]`: a parking zone of the analysed camera.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParkingZoneSection {
    /// The zone's code, as payment providers know it (the `zone` column of their CSV).
    pub name: String,
    /// The camera the polygon is drawn on. Default: `events.camera`, else the video file's name.
    #[serde(default)]
    pub camera: Option<String>,
    /// At least 3 vertices `[x, y]`, normalised (0..1). A vehicle is in the zone when the bottom centre of its box is.
    pub polygon: Vec<[f64; 2]>,
    /// When parking is paid, local time: `"mon-sat 09:00-19:00"`, one string per range. Empty: free.
    pub paid_hours: Vec<String>,
    /// Seconds a vehicle may stay before payment is checked. Default 900.
    #[serde(default = "default_grace_s")]
    pub grace_s: u32,
    /// Local time: offset from UTC in minutes (Paris: 60). Default 60.
    #[serde(default = "default_utc_offset_min")]
    pub utc_offset_min: i32,
    /// Summer time: `"eu"` (default) or `"none"`.
    #[serde(default = "default_dst")]
    pub dst: DstRule,
}

fn default_grace_s() -> u32 {
    900
}
fn default_utc_offset_min() -> i32 {
    60
}
fn default_dst() -> DstRule {
    DstRule::Eu
}

impl ParkingZoneSection {
    fn rules(&self) -> std::result::Result<ZoneRules, String> {
        let mut paid_hours = Vec::new();
        for spec in &self.paid_hours {
            for h in PaidHours::parse(spec)? {
                if paid_hours
                    .iter()
                    .any(|p: &PaidHours| p.weekday == h.weekday && p.start_min == h.start_min)
                {
                    return Err(format!(
                        "two ranges of paid hours start on the same day at the same time ({spec:?})"
                    ));
                }
                paid_hours.push(h);
            }
        }
        let rules = ZoneRules {
            utc_offset_min: self.utc_offset_min,
            dst: self.dst,
            grace_s: self.grace_s,
            paid_hours,
        };
        rules.validate()?;
        Ok(rules)
    }
}

/// Checks `[plates]` and `[[parking]]` (called by `Config::validate`).
pub fn validate(p: &PlatesSection, zones: &[ParkingZoneSection]) -> Result<()> {
    if !(1..=100).contains(&p.max_crops_per_track) {
        bail!(
            Config,
            "plates.max_crops_per_track must be 1 to 100, got {}",
            p.max_crops_per_track
        );
    }
    if !(16..=4096).contains(&p.min_crop_width) {
        bail!(
            Config,
            "plates.min_crop_width must be 16 to 4096 pixels, got {}",
            p.min_crop_width
        );
    }
    if !(p.crop_interval_s >= 0.0 && p.crop_interval_s <= 3600.0) {
        bail!(
            Config,
            "plates.crop_interval_s must be 0 to 3600 seconds, got {}",
            p.crop_interval_s
        );
    }
    if p.retention_days == 0 {
        bail!(Config, "plates.retention_days must be at least 1");
    }
    if !(0.0..=1.0).contains(&p.parking_min_confidence) {
        bail!(
            Config,
            "plates.parking_min_confidence must be in 0..1, got {}",
            p.parking_min_confidence
        );
    }
    if let Some(s) = &p.video_start {
        parking::parse_time(s).map_err(|m| err!(Config, "plates.video_start {s:?}: {m}"))?;
    }
    if zones.is_empty() {
        return Ok(());
    }
    if !p.enabled {
        bail!(
            Config,
            "[[parking]] zones need plate reading: set plates.enabled = true"
        );
    }
    for (i, z) in zones.iter().enumerate() {
        let name = &z.name;
        if name.trim().is_empty() {
            bail!(Config, "parking zone {i}: name is empty");
        }
        if zones[..i].iter().any(|o| &o.name == name) {
            bail!(Config, "parking zone {name:?} is configured twice");
        }
        if z.camera.as_deref().is_some_and(|c| c.trim().is_empty()) {
            bail!(Config, "parking zone {name:?}: camera is empty");
        }
        if z.polygon.len() < 3 || z.polygon.iter().flatten().any(|c| !(0.0..=1.0).contains(c)) {
            bail!(
                Config,
                "parking zone {name:?}: polygon needs at least 3 vertices [x, y] in 0..1"
            );
        }
        z.rules().map_err(|m| err!(Config, "parking zone {name:?}: {m}"))?;
    }
    Ok(())
}

/// Where the plate files are: (track plate database, parking database, plate key).
pub fn paths(cfg: &Config) -> (PathBuf, PathBuf, PathBuf) {
    let beside = |name: &str| cfg.storage.database.with_file_name(name);
    let tracks = cfg.plates.database.clone().unwrap_or_else(|| beside("plates.db"));
    let parking = cfg
        .plates
        .parking_database
        .clone()
        .unwrap_or_else(|| beside("parking.db"));
    let key = cfg
        .plates
        .key_file
        .clone()
        .unwrap_or_else(|| parking.with_file_name("parking.key"));
    (tracks, parking, key)
}

/// Opens the parking database of `cfg` and makes sure its `[[parking]]` zones are there: created when missing,
/// refused when a zone of that name exists with other settings (zones are never changed in place: their counters
/// and decisions would change meaning). `camera` is the zones' default camera; `None` when there is none (then a
/// zone that is not in the database yet and has no `camera` is an error).
pub fn open_parking(cfg: &Config, camera: Option<&str>, now_unix_ms: i64) -> Result<(ParkingStore, Vec<Zone>)> {
    let (_, db, key_path) = paths(cfg);
    create_parent(&db)?;
    create_parent(&key_path)?;
    let key = PlateKey::load_or_create(&key_path)?;
    let pcfg = parking::Config {
        min_confidence: cfg.plates.parking_min_confidence,
        ..Default::default()
    };
    let mut store = ParkingStore::open(&db, key, pcfg, now_unix_ms)?;
    let mut zones = Vec::new();
    for z in &cfg.parking {
        let rules = z.rules().map_err(|m| err!(Config, "parking zone {:?}: {m}", z.name))?;
        let wanted_camera = z.camera.as_deref().or(camera);
        match store.zone_by_name(&z.name)? {
            Some(existing) => {
                let same = existing.polygon == z.polygon
                    && existing.rules.utc_offset_min == rules.utc_offset_min
                    && existing.rules.dst == rules.dst
                    && existing.rules.grace_s == rules.grace_s
                    && sorted(&existing.rules.paid_hours) == sorted(&rules.paid_hours)
                    && wanted_camera.is_none_or(|c| c == existing.camera);
                if !same {
                    bail!(
                        Config,
                        "parking zone {:?} exists in {} with other settings (camera {:?}): zones are never changed; \
                         give it a new name",
                        z.name,
                        db.display(),
                        existing.camera
                    );
                }
                zones.push(existing);
            }
            None => {
                let Some(cam) = wanted_camera else {
                    bail!(
                        Config,
                        "parking zone {:?} is not in {} yet and has no camera: set its camera",
                        z.name,
                        db.display()
                    );
                };
                let new = NewZone {
                    name: z.name.clone(),
                    camera: cam.to_string(),
                    polygon: z.polygon.clone(),
                    rules,
                };
                let id = store.add_zone(&new, now_unix_ms)?;
                zones.push(store.zone(id)?);
            }
        }
    }
    Ok((store, zones))
}

fn sorted(v: &[PaidHours]) -> Vec<PaidHours> {
    let mut v = v.to_vec();
    v.sort();
    v
}

fn create_parent(p: &Path) -> Result<()> {
    if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", dir.display()), e))?;
    }
    Ok(())
}

/// Starts the stage when `plates.enabled`: loads the reader, opens the track plate database (and the parking
/// database with its zones and the paid sessions of `plates.payments_csv`), and spawns the reader thread. Every
/// configuration, model and database error comes out here, before the pipeline starts.
pub fn start(
    cfg: &Config,
    bases: &Bases,
    camera: &str,
    run_id: i64,
    labels: &[String],
    duration_s: Option<f64>,
) -> Result<Option<(Feeder, PlateWorker)>> {
    let p = &cfg.plates;
    if !p.enabled {
        return Ok(None);
    }
    let now = vigie_server::unix_ms();
    let det = bases.resolve_existing(&p.det_model, "plates.det_model")?;
    let rec = bases.resolve_existing(&p.rec_model, "plates.rec_model")?;
    let reader = PlateReader::new(&ReaderConfig::new(det, rec, None))?;
    let (tracks_db, parking_db, _) = paths(cfg);
    create_parent(&tracks_db)?;
    let mut track_store = TrackPlateStore::open(&tracks_db, now)?;
    track_store.purge_before(now - i64::from(p.retention_days) * 86_400_000)?;
    let video_start = match &p.video_start {
        Some(s) => parking::parse_time(s).map_err(|m| err!(Config, "plates.video_start {s:?}: {m}"))?,
        None => now - (duration_s.unwrap_or(0.0).max(0.0) * 1000.0) as i64,
    };
    let mut summary = PlatesSummary {
        database: tracks_db.display().to_string(),
        ..Default::default()
    };
    let (parking, zones) = if cfg.parking.is_empty() {
        (None, Vec::new())
    } else {
        let (mut store, mut zones) = open_parking(cfg, Some(camera), now)?;
        zones.retain(|z| z.camera == camera); // zones of other cameras do not apply to this video
        store.purge_expired(now)?;
        let mut ps = ParkingSummary {
            database: parking_db.display().to_string(),
            video_start_unix_ms: video_start,
            ..Default::default()
        };
        if let Some(csv) = &p.payments_csv {
            let text = std::fs::read_to_string(csv)
                .map_err(|e| Error::from(e).context(format!("reading plates.payments_csv {}", csv.display())))?;
            let r = store.import_sessions_csv(&text, now)?;
            ps.sessions_imported = r.imported as u64;
            ps.session_errors = r
                .errors
                .iter()
                .map(|e| format!("line {}: {}", e.line, e.message))
                .collect();
        }
        summary.parking = Some(ps);
        (Some(store), zones)
    };
    let (feeder, worker) = stage::start_stage(stage::StageSetup {
        reader,
        track_store: Some(track_store),
        parking: parking.map(|s| Arc::new(Mutex::new(s))),
        zones,
        camera: camera.to_string(),
        run_id,
        video_start,
        labels: labels.to_vec(),
        max_crops: p.max_crops_per_track,
        min_width: p.min_crop_width as f32,
        interval: Time90k::from_secs_f64(p.crop_interval_s),
        keep_tracks: true,
        summary,
    })?;
    Ok(Some((feeder, worker)))
}

/// Plate reading of `vigie serve` (`[plates] enabled` and `[[parking]]` zones): the OCR models and crop settings
/// of `[plates]`, and the zones; `None` when plates are not enabled.
pub fn live_options(cfg: &Config, bases: &Bases, zones: Vec<Zone>) -> Result<Option<stage::LiveOptions>> {
    let p = &cfg.plates;
    if !p.enabled {
        return Ok(None);
    }
    let det = bases.resolve_existing(&p.det_model, "plates.det_model")?;
    let rec = bases.resolve_existing(&p.rec_model, "plates.rec_model")?;
    Ok(Some(stage::LiveOptions {
        reader: ReaderConfig::new(det, rec, None),
        zones,
        max_crops: p.max_crops_per_track,
        min_width: p.min_crop_width as f32,
        interval: Time90k::from_secs_f64(p.crop_interval_s),
    }))
}

/// Puts each vehicle track's plate on its record: the stage's result, or "unread" for a vehicle track the stage
/// never saw (no matched box).
pub fn attach(records: &mut [TrackRecord], out: &PlatesOutput) {
    for r in records {
        match out.tracks.get(&r.summary.track_id) {
            Some(p) => r.plate = Some(p.clone()),
            None if VEHICLE_CLASSES.contains(&r.summary.class.as_str()) => r.plate = Some(PlateOnTrack::unread()),
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_is_checked() {
        let ok = ParkingZoneSection {
            name: "centre".into(),
            camera: None,
            polygon: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]],
            paid_hours: vec!["mon-sat 09:00-19:00".into()],
            grace_s: 600,
            utc_offset_min: 60,
            dst: DstRule::Eu,
        };
        let on = PlatesSection {
            enabled: true,
            ..Default::default()
        };
        assert!(validate(&on, std::slice::from_ref(&ok)).is_ok());
        assert!(
            validate(&PlatesSection::default(), std::slice::from_ref(&ok)).is_err(),
            "needs enabled"
        );
        let bad_zone = |f: fn(&mut ParkingZoneSection)| {
            let mut z = ok.clone();
            f(&mut z);
            validate(&on, &[z]).is_err()
        };
        assert!(bad_zone(|z| z.polygon.truncate(2)));
        assert!(bad_zone(|z| z.polygon[0] = [1.5, 0.0]));
        assert!(bad_zone(|z| z.paid_hours.push("mon 10:00-11:00 x".into())));
        assert!(bad_zone(|z| z.paid_hours.push("sat 09:00-10:00".into())));
        assert!(bad_zone(|z| z.grace_s = 100_000));
        assert!(bad_zone(|z| z.name = " ".into()));
        assert!(validate(&on, &[ok.clone(), ok.clone()]).is_err(), "twice");
        let bad = |f: fn(&mut PlatesSection)| {
            let mut p = on.clone();
            f(&mut p);
            validate(&p, &[]).is_err()
        };
        assert!(bad(|p| p.max_crops_per_track = 0));
        assert!(bad(|p| p.min_crop_width = 2));
        assert!(bad(|p| p.crop_interval_s = -1.0));
        assert!(bad(|p| p.crop_interval_s = f64::NAN));
        assert!(bad(|p| p.parking_min_confidence = 1.5));
        assert!(bad(|p| p.retention_days = 0));
        assert!(bad(|p| p.video_start = Some("yesterday".into())));
        assert!(!bad(|p| p.video_start = Some("2026-05-04T10:00:00+02:00".into())));
    }
}
