//! Plates during `vigie analyze` (`[plates]`, `[[parking]]`): crops of vehicle tracks are read off the analysis
//! threads, voted per track, shown on the track, kept in the track plate database, and, for a vehicle parked in a
//! parking zone, checked against the paid sessions by the parking pre-check.
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
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use std::time::Instant;
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame, Time90k, TrackId, TrackedObject, bail, err};
use vigie_plates::parking::{
    self, DstRule, EvidenceCrop, NewZone, Observation, Outcome, PaidHours, ParkingStore, PlateKey, Zone, ZoneRules,
};
use vigie_plates::read::{DEFAULT_DET_MODEL, DEFAULT_REC_MODEL, VEHICLE_CLASSES};
use vigie_plates::{PlateRead, PlateReader, ReaderConfig, TrackPlate, TrackPlateStore};

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

// ------------------------------------------------------------------------------------------------------------------
// What a run reports

/// The plate of one vehicle track, in `tracks.jsonl` and the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PlateOnTrack {
    /// `read`: `text` is the voted plate. `unread`: no crop was big enough, or no read reached the reader's
    /// confidence floor: nothing is guessed. `parking`: the vehicle was parked in a parking zone and went through
    /// the pre-check, which alone keeps (or deletes) its plate: see `parking`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<&'static str>,
    /// Crops read, and reads that gave a plate.
    pub crops: u32,
    pub reads: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parking: Option<ParkingOnTrack>,
}

/// What the parking pre-check made of a parked vehicle.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ParkingOnTrack {
    pub zone: String,
    /// Seconds of video the vehicle stood still in the zone: from, to.
    pub parked_s: [f64; 2],
    /// `paid` (the read was deleted at once), `queued` (a pre-check record waits for an agent), `unreadable` (no
    /// plate, or one below `plates.parking_min_confidence`), `free` (parking free then) or `within_grace`.
    pub outcome: &'static str,
    /// The pre-check record, when queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<i64>,
}

impl PlateOnTrack {
    fn unread() -> Self {
        PlateOnTrack {
            status: "unread",
            text: None,
            confidence: None,
            format: None,
            crops: 0,
            reads: 0,
            parking: None,
        }
    }

    /// One line for the report.
    pub fn describe(&self) -> String {
        match (&self.parking, &self.text) {
            (Some(p), _) => match p.record {
                Some(r) => format!("parking {}: {} (record {r})", p.zone, p.outcome),
                None => format!("parking {}: {}", p.zone, p.outcome.replace('_', " ")),
            },
            (None, Some(t)) => format!("{t} ({:.0} %)", self.confidence.unwrap_or(0.0) * 100.0),
            (None, None) => "plate unread".into(),
        }
    }
}

/// Plate reading and parking counts of a run, in `summary.json`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct PlatesSummary {
    /// Vehicle tracks seen, and of them: with a voted plate, unread, checked by the parking pre-check.
    pub vehicle_tracks: u64,
    pub tracks_read: u64,
    pub tracks_unread: u64,
    pub tracks_parking: u64,
    /// Crops handed to the reader; crops lost because the reader's queue was full when their track ended.
    pub crops_read: u64,
    pub crops_dropped: u64,
    /// Time the reader spent, seconds (its own thread).
    pub read_s: f64,
    /// The track plate database.
    pub database: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parking: Option<ParkingSummary>,
}

/// The parking pre-check in one run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ParkingSummary {
    pub database: String,
    /// Wall-clock time of the video's first frame, ms since 1970 (`plates.video_start`).
    pub video_start_unix_ms: i64,
    /// Paid sessions imported from `plates.payments_csv`, and its lines that were not (line number and reason).
    pub sessions_imported: u64,
    pub session_errors: Vec<String>,
    /// Parked vehicles checked, by outcome.
    pub checked: u64,
    pub free: u64,
    pub within_grace: u64,
    pub unreadable: u64,
    pub paid: u64,
    pub queued: u64,
}

// ------------------------------------------------------------------------------------------------------------------
// The stage

/// Crops in the reader's queue at most.
const QUEUE_CROPS: usize = 8;
/// A vehicle that stands still in a zone at least this long is parked (and checked).
const PARKED_MIN: Time90k = Time90k(90_000);
/// A vehicle stands still while the bottom centre of its box stays within this share of the box's width (at
/// least 3 pixels) of where it stopped.
const STILL_SHARE: f32 = 0.15;

enum Msg {
    Crop {
        track: TrackId,
        crop: RgbFrame,
        /// The vehicle box in the crop's pixels.
        vehicle: BBox,
    },
    End {
        track: TrackId,
        class: String,
        first: Time90k,
        last: Time90k,
        crops: u32,
        parked: Option<Parked>,
    },
}

#[derive(Clone, Copy, Debug)]
struct Parked {
    zone: usize,
    since: Time90k,
    until: Time90k,
}

/// Counters shared by the feeder and the worker.
#[derive(Default)]
struct Shared {
    in_flight: AtomicUsize,
    dropped: AtomicU64,
}

/// The part of the stage that runs in the sink: picks crops and parked vehicles, sends them to the reader.
pub struct Feeder {
    tx: Sender<Msg>,
    shared: Arc<Shared>,
    labels: Vec<String>,
    zones: Vec<Zone>,
    max_crops: u32,
    min_width: f32,
    interval: Time90k,
    tracks: BTreeMap<TrackId, TrackState>,
}

struct Candidate {
    score: f32,
    crop: RgbFrame,
    vehicle: BBox,
}

struct TrackState {
    class: String,
    first: Time90k,
    last: Time90k,
    sent: u32,
    window_start: Option<Time90k>,
    best: Option<Candidate>,
    /// Where and when the vehicle stopped: bottom centre in pixels, time, zone index.
    still: Option<(f32, f32, Time90k, usize)>,
    parked: Option<Parked>,
}

impl Feeder {
    /// One analysed frame's confirmed tracks.
    pub fn observe(&mut self, frame: &RgbFrame, objects: &[TrackedObject]) {
        if frame.width == 0 || frame.height == 0 {
            return;
        }
        let t = frame.pts;
        for o in objects {
            let class = self
                .labels
                .get(o.voted_class.0 as usize)
                .map(String::as_str)
                .unwrap_or("");
            if !VEHICLE_CLASSES.contains(&class) || !o.matched || !o.bbox.is_finite() {
                continue;
            }
            let st = self.tracks.entry(o.track_id).or_insert_with(|| TrackState {
                class: String::new(),
                first: t,
                last: t,
                sent: 0,
                window_start: None,
                best: None,
                still: None,
                parked: None,
            });
            st.class = class.to_string();
            st.last = t;
            if !self.zones.is_empty() {
                update_parked(st, &self.zones, o.bbox, frame.width as f32, frame.height as f32, t);
            }
            if o.bbox.width() >= self.min_width && st.sent < self.max_crops {
                let score = sharpness(frame, &o.bbox) * o.bbox.width();
                if st.best.as_ref().is_none_or(|b| score > b.score)
                    && let Some((crop, vehicle)) = cut(frame, &o.bbox)
                {
                    st.best = Some(Candidate { score, crop, vehicle });
                }
                let start = *st.window_start.get_or_insert(t);
                if t.0 - start.0 >= self.interval.0 {
                    try_send(&self.tx, &self.shared, o.track_id, st, t);
                }
            }
        }
    }

    /// A track ended: its last candidate crop, then its end.
    pub fn ended(&mut self, id: TrackId) {
        let Some(mut st) = self.tracks.remove(&id) else {
            return;
        };
        let last = st.last;
        if st.best.is_some() && st.sent < self.max_crops && !try_send(&self.tx, &self.shared, id, &mut st, last) {
            st.best = None;
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        let _ = self.tx.send(Msg::End {
            track: id,
            class: st.class,
            first: st.first,
            last: st.last,
            crops: st.sent,
            parked: st.parked.filter(|p| p.until.0 - p.since.0 >= PARKED_MIN.0),
        });
    }
}

/// Sends the track's best crop when the reader's queue has room; true when sent.
fn try_send(tx: &Sender<Msg>, shared: &Shared, id: TrackId, st: &mut TrackState, t: Time90k) -> bool {
    if shared.in_flight.load(Ordering::Acquire) >= QUEUE_CROPS {
        return false;
    }
    let Some(c) = st.best.take() else { return false };
    shared.in_flight.fetch_add(1, Ordering::AcqRel);
    if tx
        .send(Msg::Crop {
            track: id,
            crop: c.crop,
            vehicle: c.vehicle,
        })
        .is_err()
    {
        return false; // the worker stopped; its join says why
    }
    st.sent += 1;
    st.window_start = Some(t);
    true
}

/// Follows whether the vehicle stands still in a zone; keeps the longest such stay.
fn update_parked(st: &mut TrackState, zones: &[Zone], b: BBox, w: f32, h: f32, t: Time90k) {
    let p = b.bottom_center();
    let zone = zones
        .iter()
        .position(|z| z.contains(f64::from(p.x / w), f64::from(p.y / h)));
    let Some(zone) = zone else {
        st.still = None;
        return;
    };
    let tol = (STILL_SHARE * b.width()).max(3.0);
    match st.still {
        Some((x, y, since, z)) if z == zone && (p.x - x).hypot(p.y - y) <= tol => {
            if st.parked.is_none_or(|q| t.0 - since.0 > q.until.0 - q.since.0) {
                st.parked = Some(Parked { zone, since, until: t });
            }
        }
        _ => st.still = Some((p.x, p.y, t, zone)),
    }
}

/// Sharpness of the lower half of a box (where the plate is): the standard deviation of a Laplacian over at most
/// about 96 × 48 sampled grey pixels. Sharper and more contrasted crops score higher.
fn sharpness(f: &RgbFrame, b: &BBox) -> f32 {
    let c = b.clamp(f.width as f32, f.height as f32);
    let (x0, x1) = (c.x1.max(0.0) as i64, c.x2 as i64);
    let (y0, y1) = (((c.y1 + c.y2) / 2.0) as i64, c.y2 as i64);
    let step = ((x1 - x0) / 96).max(1);
    let grey = |x: i64, y: i64| -> f32 {
        let o = ((y as usize) * f.width as usize + x as usize) * 3;
        match f.data.get(o..o + 3) {
            Some(p) => 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]),
            None => 0.0,
        }
    };
    let (mut n, mut sum, mut sum2) = (0f64, 0f64, 0f64);
    let mut y = y0 + step;
    while y + step < y1 {
        let mut x = x0 + step;
        while x + step < x1 {
            let l = 4.0 * grey(x, y) - grey(x - step, y) - grey(x + step, y) - grey(x, y - step) - grey(x, y + step);
            n += 1.0;
            sum += f64::from(l);
            sum2 += f64::from(l) * f64::from(l);
            x += step;
        }
        y += step;
    }
    if n < 4.0 {
        return 0.0;
    }
    let mean = sum / n;
    ((sum2 / n - mean * mean).max(0.0).sqrt()) as f32
}

/// The box grown by 10 % on each side (clamped), copied out of the frame, with the box in the crop's pixels.
fn cut(f: &RgbFrame, b: &BBox) -> Option<(RgbFrame, BBox)> {
    let (dx, dy) = (0.1 * b.width(), 0.1 * b.height());
    let r = BBox::new(b.x1 - dx, b.y1 - dy, b.x2 + dx, b.y2 + dy).clamp(f.width as f32, f.height as f32);
    let (x0, y0) = (r.x1.max(0.0).floor() as u32, r.y1.max(0.0).floor() as u32);
    let (x1, y1) = ((r.x2.ceil() as u32).min(f.width), (r.y2.ceil() as u32).min(f.height));
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return None;
    }
    let (w, h) = (x1 - x0, y1 - y0);
    let mut data = Vec::with_capacity((w * h * 3) as usize);
    for y in y0..y1 {
        let o = ((y * f.width + x0) * 3) as usize;
        data.extend_from_slice(f.data.get(o..o + (w * 3) as usize)?);
    }
    let crop = RgbFrame {
        width: w,
        height: h,
        data,
        pts: f.pts,
        index: f.index,
    };
    let (ox, oy) = (x0 as f32, y0 as f32);
    Some((
        crop,
        BBox::new(b.x1 - ox, b.y1 - oy, b.x2 - ox, b.y2 - oy).clamp(w as f32, h as f32),
    ))
}

/// The reader thread's handle; [`PlateWorker::finish`] waits for it once the feeder is dropped.
pub struct PlateWorker {
    handle: JoinHandle<Result<WorkerOutput>>,
    shared: Arc<Shared>,
}

/// What the stage found, per track id.
pub struct PlatesOutput {
    pub tracks: BTreeMap<TrackId, PlateOnTrack>,
    pub summary: PlatesSummary,
}

struct WorkerOutput {
    tracks: BTreeMap<TrackId, PlateOnTrack>,
    summary: PlatesSummary,
}

impl PlateWorker {
    /// Waits for the reader to finish the queued crops (the feeder must have been dropped).
    pub fn finish(self) -> Result<PlatesOutput> {
        let out = self
            .handle
            .join()
            .map_err(|_| err!(Internal, "the plates thread panicked"))??;
        let mut summary = out.summary;
        summary.crops_dropped = self.shared.dropped.load(Ordering::Relaxed);
        Ok(PlatesOutput {
            tracks: out.tracks,
            summary,
        })
    }
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
    let now = unix_ms();
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
    let shared = Arc::new(Shared::default());
    let (tx, rx) = channel::<Msg>();
    let worker = Worker {
        reader,
        track_store,
        parking,
        zones: zones.clone(),
        camera: camera.to_string(),
        run_id,
        video_start,
        shared: shared.clone(),
        summary,
    };
    let handle = std::thread::Builder::new()
        .name("plates".into())
        .spawn(move || worker.run(rx))
        .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning the plates thread", e))?;
    let feeder = Feeder {
        tx,
        shared: shared.clone(),
        labels: labels.to_vec(),
        zones,
        max_crops: p.max_crops_per_track,
        min_width: p.min_crop_width as f32,
        interval: Time90k::from_secs_f64(p.crop_interval_s),
        tracks: BTreeMap::new(),
    };
    Ok(Some((feeder, PlateWorker { handle, shared })))
}

/// A read with the crop it came from, kept for the evidence of a parked vehicle.
struct Read {
    read: PlateRead,
    crop: Option<Arc<RgbFrame>>,
}

struct Worker {
    reader: PlateReader,
    track_store: TrackPlateStore,
    parking: Option<ParkingStore>,
    zones: Vec<Zone>,
    camera: String,
    run_id: i64,
    video_start: i64,
    shared: Arc<Shared>,
    summary: PlatesSummary,
}

impl Worker {
    fn run(mut self, rx: Receiver<Msg>) -> Result<WorkerOutput> {
        let mut reads: BTreeMap<TrackId, Vec<Read>> = BTreeMap::new();
        let mut out: BTreeMap<TrackId, PlateOnTrack> = BTreeMap::new();
        for msg in rx {
            match msg {
                Msg::Crop { track, crop, vehicle } => {
                    let t0 = Instant::now();
                    let r = self.reader.read(&crop, Some(vehicle));
                    self.shared.in_flight.fetch_sub(1, Ordering::AcqRel);
                    self.summary.read_s += t0.elapsed().as_secs_f64();
                    self.summary.crops_read += 1;
                    let found = r.map_err(|e| e.context(format!("reading the plate of track {track}")))?;
                    let crop = Arc::new(crop);
                    let v = reads.entry(track).or_default();
                    for read in found {
                        v.push(Read {
                            read,
                            // Only a parked vehicle's evidence needs the picture.
                            crop: self.parking.is_some().then(|| crop.clone()),
                        });
                    }
                }
                Msg::End {
                    track,
                    class,
                    first,
                    last,
                    crops,
                    parked,
                } => {
                    let r = reads.remove(&track).unwrap_or_default();
                    let p = self.end_track(track, &class, first, last, crops, parked, r)?;
                    out.insert(track, p);
                }
            }
        }
        self.summary.vehicle_tracks = out.len() as u64;
        for p in out.values() {
            match p.status {
                "read" => self.summary.tracks_read += 1,
                "parking" => self.summary.tracks_parking += 1,
                _ => self.summary.tracks_unread += 1,
            }
        }
        Ok(WorkerOutput {
            tracks: out,
            summary: self.summary,
        })
    }

    fn unix(&self, t: Time90k) -> i64 {
        self.video_start + t.0 / 90
    }

    #[allow(clippy::too_many_arguments)]
    fn end_track(
        &mut self,
        track: TrackId,
        class: &str,
        first: Time90k,
        last: Time90k,
        crops: u32,
        parked: Option<Parked>,
        reads: Vec<Read>,
    ) -> Result<PlateOnTrack> {
        let plain: Vec<PlateRead> = reads.iter().map(|r| r.read.clone()).collect();
        let voted = vigie_plates::vote(&plain);
        let mut p = PlateOnTrack::unread();
        p.crops = crops;
        p.reads = reads.len() as u32;
        if let (Some(parked), Some(store)) = (parked, self.parking.as_mut()) {
            let zone = &self.zones[parked.zone];
            let evidence = match &voted {
                Some(v) => evidence(&reads, v, self.video_start)?,
                None => Default::default(),
            };
            let obs = Observation {
                plate: voted.as_ref().map(|v| v.text.clone()),
                confidence: voted.as_ref().map_or(0.0, |v| v.confidence),
                zone: zone.id,
                camera: zone.camera.clone(),
                first_seen_unix_ms: self.video_start + parked.since.0 / 90,
                seen_unix_ms: self.video_start + parked.until.0 / 90,
                evidence,
            };
            let outcome = store
                .observe(&obs)
                .map_err(|e| e.context(format!("parking pre-check of track {track}")))?;
            let (name, record) = match outcome {
                Outcome::Free => ("free", None),
                Outcome::WithinGrace => ("within_grace", None),
                Outcome::Unreadable => ("unreadable", None),
                Outcome::Paid => ("paid", None),
                Outcome::Queued(id) => ("queued", Some(id.0)),
            };
            if let Some(s) = self.summary.parking.as_mut() {
                s.checked += 1;
                match outcome {
                    Outcome::Free => s.free += 1,
                    Outcome::WithinGrace => s.within_grace += 1,
                    Outcome::Unreadable => s.unreadable += 1,
                    Outcome::Paid => s.paid += 1,
                    Outcome::Queued(_) => s.queued += 1,
                }
            }
            p.status = "parking";
            p.parking = Some(ParkingOnTrack {
                zone: zone.name.clone(),
                parked_s: [parked.since.as_secs_f64(), parked.until.as_secs_f64()].map(|s| (s * 10.0).round() / 10.0),
                outcome: name,
                record,
            });
            return Ok(p);
        }
        if let Some(v) = voted {
            self.track_store.save(
                &TrackPlate {
                    run_id: self.run_id,
                    track_id: track.get(),
                    camera: self.camera.clone(),
                    class: class.to_string(),
                    first_seen_unix_ms: self.unix(first),
                    last_seen_unix_ms: self.unix(last),
                    plate: v.text.clone(),
                    format: v.format,
                    confidence: v.confidence,
                    reads: p.reads,
                    crops: p.crops.max(p.reads),
                },
                unix_ms(),
            )?;
            p.status = "read";
            p.confidence = Some((v.confidence * 1000.0).round() / 1000.0);
            p.format = Some(v.format.as_str());
            p.text = Some(v.text);
        }
        Ok(p)
    }
}

/// The two evidence photos of a parked vehicle: its plate, and the vehicle, from the crop of the most confident
/// read of the voted text (or of any read when no read has exactly that text).
fn evidence(reads: &[Read], voted: &PlateRead, video_start: i64) -> Result<[EvidenceCrop; 2]> {
    let best = reads
        .iter()
        .filter(|r| r.crop.is_some())
        .max_by(|a, b| {
            (a.read.text == voted.text)
                .cmp(&(b.read.text == voted.text))
                .then(a.read.confidence.total_cmp(&b.read.confidence))
        })
        .ok_or_else(|| err!(Internal, "a voted plate with no crop"))?;
    let Some(crop) = &best.crop else {
        bail!(Internal, "a voted plate with no crop");
    };
    let b = best.read.bbox;
    let (dx, dy) = (0.15 * b.width(), 0.5 * b.height());
    let plate_box = BBox::new(b.x1 - dx, b.y1 - dy, b.x2 + dx, b.y2 + dy);
    let plate = cut(crop, &plate_box)
        .map(|(c, _)| c)
        .unwrap_or_else(|| (**crop).clone());
    let taken = video_start + crop.pts.0 / 90;
    Ok([
        EvidenceCrop {
            taken_unix_ms: taken,
            jpeg: jpeg(&plate)?,
        },
        EvidenceCrop {
            taken_unix_ms: taken,
            jpeg: jpeg(crop)?,
        },
    ])
}

fn jpeg(f: &RgbFrame) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode(&f.data, f.width, f.height, image::ExtendedColorType::Rgb8)
        .map_err(|e| Error::wrap(ErrorKind::Internal, "encoding an evidence photo", e))?;
    Ok(out)
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

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> RgbFrame {
        RgbFrame::from_fn(w, h, f)
    }

    #[test]
    fn sharper_crops_score_higher() {
        let b = BBox::new(10.0, 10.0, 210.0, 110.0);
        let flat = frame(240, 140, |_, _| [120, 120, 120]);
        let edges = frame(
            240,
            140,
            |x, y| if (x / 3 + y / 3) % 2 == 0 { [250; 3] } else { [10; 3] },
        );
        let soft = frame(240, 140, |x, _| [(x % 256) as u8; 3]);
        let (a, s, e) = (sharpness(&flat, &b), sharpness(&soft, &b), sharpness(&edges, &b));
        assert_eq!(a, 0.0);
        assert!(e > 10.0 * s.max(1.0), "{e} vs {s}");
        // A box outside the frame does not panic.
        assert_eq!(sharpness(&flat, &BBox::new(500.0, 500.0, 600.0, 600.0)), 0.0);
    }

    #[test]
    fn cut_copies_the_grown_box() {
        let f = frame(100, 80, |x, y| [x as u8, y as u8, 7]);
        let (c, v) = cut(&f, &BBox::new(20.0, 20.0, 70.0, 60.0)).unwrap();
        assert_eq!((c.width, c.height), (60, 48));
        assert_eq!(c.pixel(0, 0), [15, 16, 7]);
        assert_eq!(v, BBox::new(5.0, 4.0, 55.0, 44.0));
        // Clamped at the edges; nothing for a box outside.
        let (c, _) = cut(&f, &BBox::new(-10.0, -10.0, 50.0, 200.0)).unwrap();
        assert_eq!((c.width, c.height), (56, 80));
        assert!(cut(&f, &BBox::new(200.0, 200.0, 300.0, 300.0)).is_none());
    }

    fn zone(polygon: Vec<[f64; 2]>) -> Zone {
        Zone {
            id: parking::ZoneId(1),
            name: "z".into(),
            camera: "cam".into(),
            polygon,
            rules: ZoneRules {
                utc_offset_min: 0,
                dst: DstRule::None,
                grace_s: 0,
                paid_hours: Vec::new(),
            },
        }
    }

    #[test]
    fn parked_is_the_longest_still_stay_in_a_zone() {
        let zones = vec![zone(vec![[0.0, 0.5], [1.0, 0.5], [1.0, 1.0], [0.0, 1.0]])];
        let mut st = TrackState {
            class: "car".into(),
            first: Time90k(0),
            last: Time90k(0),
            sent: 0,
            window_start: None,
            best: None,
            still: None,
            parked: None,
        };
        let s = |x: f32, y: f32| BBox::new(x, y - 40.0, x + 100.0, y);
        let sec = |s: f64| Time90k::from_secs_f64(s);
        // Driving in the upper half (outside), then stopping in the zone for 3 s with a little jitter, then
        // leaving, then stopping again for 1 s.
        update_parked(&mut st, &zones, s(0.0, 40.0), 640.0, 480.0, sec(0.0));
        assert!(st.still.is_none());
        for (i, dx) in [0.0, 2.0, -3.0, 5.0, 1.0, 0.0, 4.0].iter().enumerate() {
            update_parked(
                &mut st,
                &zones,
                s(200.0 + dx, 400.0),
                640.0,
                480.0,
                sec(1.0 + 0.5 * i as f64),
            );
        }
        update_parked(&mut st, &zones, s(300.0, 400.0), 640.0, 480.0, sec(5.0));
        update_parked(&mut st, &zones, s(300.0, 400.0), 640.0, 480.0, sec(6.0));
        let p = st.parked.unwrap();
        assert_eq!((p.zone, p.since, p.until), (0, sec(1.0), sec(4.0)));
    }

    #[test]
    fn the_feeder_never_waits_and_bounds_the_queue() {
        // A reader that never reads: the feeder must neither block nor queue more than QUEUE_CROPS crops.
        let (tx, rx) = channel::<Msg>();
        let shared = Arc::new(Shared::default());
        let mut feeder = Feeder {
            tx,
            shared: shared.clone(),
            labels: vec!["car".into(), "person".into()],
            zones: Vec::new(),
            max_crops: 6,
            min_width: 32.0,
            interval: Time90k(0),
            tracks: BTreeMap::new(),
        };
        let id = |n: u64| TrackId(std::num::NonZeroU64::new(n).unwrap());
        let obj = |n: u64, class: u16, x: f32| TrackedObject {
            track_id: id(n),
            bbox: BBox::new(x, 100.0, x + 120.0, 180.0),
            score: 0.9,
            class_id: vigie_core::ClassId(class),
            voted_class: vigie_core::ClassId(class),
            matched: true,
            det_index: None,
        };
        let t0 = Instant::now();
        for i in 0..20u32 {
            let mut f = frame(640, 240, |x, y| [((x * 7 + y * 13 + i) % 251) as u8; 3]);
            f.pts = Time90k(i64::from(i) * 18_000);
            // Three cars and a person (never read).
            feeder.observe(
                &f,
                &[obj(1, 0, 0.0), obj(2, 0, 200.0), obj(3, 0, 400.0), obj(4, 1, 520.0)],
            );
        }
        for n in 1..=4 {
            feeder.ended(id(n));
        }
        assert!(t0.elapsed().as_secs() < 5, "the feeder did not wait");
        assert_eq!(shared.in_flight.load(Ordering::Relaxed), QUEUE_CROPS);
        assert_eq!(
            shared.dropped.load(Ordering::Relaxed),
            3,
            "each car's last candidate found the queue full"
        );
        drop(feeder);
        let mut crops: BTreeMap<TrackId, u32> = BTreeMap::new();
        let mut ended = Vec::new();
        for m in rx {
            match m {
                Msg::Crop { track, crop, vehicle } => {
                    assert!(!ended.contains(&track), "a track's crops come before its end");
                    assert!(crop.width > 120 && vehicle.width() == 120.0);
                    *crops.entry(track).or_default() += 1;
                }
                Msg::End { track, crops: n, .. } => {
                    assert_eq!(crops.get(&track).copied().unwrap_or(0), n);
                    ended.push(track);
                }
            }
        }
        assert_eq!(crops.values().sum::<u32>() as usize, QUEUE_CROPS);
        assert_eq!(ended, vec![id(1), id(2), id(3)], "the person is no vehicle");
    }

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
