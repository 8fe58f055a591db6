//! The plate-reading stage of a video pipeline, shared by `vigie analyze` (files) and `vigie serve` (live cameras):
//! crops of vehicle tracks are read off the analysis thread, voted per track and, for a vehicle parked in a parking
//! zone, checked against the paid sessions by the parking pre-check; other voted plates go to the track plate
//! database when there is one.
//!
//! ```text
//! analysis thread (Feeder, per analysed frame)      "plates" thread (one PlateReader)
//!   vehicle tracks (car, bus, truck, motorcycle),     crop → PP-OCRv6 text detection → recognition → grammar
//!   matched boxes at least min_crop_width wide:       per track: reads; at the track's end: vote →
//!   best crop (width × sharpness) of each               parked in a zone: ParkingStore::observe (paid: nothing
//!   crop_interval_s window, at most                       kept; unpaid: queued with two evidence crops)
//!   max_crops_per_track per track                       otherwise, read: TrackPlateStore (run, track, plate), if any
//!   ── unbounded channel, but at most QUEUE_CROPS crops in flight ──▶
//! ```
//!
//! The analysis never waits for the reader: a crop that finds the queue full stays the track's pending candidate
//! (a better one of a later frame replaces it) and is tried again at the next frame; a track that ends while the
//! queue is full loses that last crop (counted in `crops_dropped`). The end-of-track messages, a few bytes each, go
//! through the same channel, after the track's crops, so the worker votes once it has read all of them.
//!
//! What leaves the stage (legal.md, LAPI): the plate of a track that went through the parking pre-check is in the
//! parking database only, under its rules (a paid vehicle's plate is never written; an unpaid one's waits for a
//! sworn agent), never in the track plate database or the returned [`PlateOnTrack`]. Nothing of it reaches the
//! event database: the stage knows no event store.

use crate::parking::{EvidenceCrop, Observation, Outcome, ParkingStore, Zone};
use crate::read::VEHICLE_CLASSES;
use crate::{PlateRead, PlateReader, TrackPlate, TrackPlateStore};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame, Time90k, TrackId, TrackedObject, bail, err};

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
    /// No plate: nothing is guessed.
    pub fn unread() -> Self {
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

/// What a stage needs, already opened by its caller.
pub struct StageSetup {
    pub reader: PlateReader,
    /// Where the voted plates of vehicles not parked in a zone are kept; `None`: they are not kept (only counted).
    pub track_store: Option<TrackPlateStore>,
    /// The parking pre-check (shared with the agents' API in the live service), when zones are configured.
    pub parking: Option<Arc<Mutex<ParkingStore>>>,
    /// This camera's parking zones.
    pub zones: Vec<Zone>,
    pub camera: String,
    /// The run (file analysis) or camera session (live) the track ids belong to.
    pub run_id: i64,
    /// Wall-clock time of media time 0, ms since 1970.
    pub video_start: i64,
    /// Class labels of the tracker's class ids.
    pub labels: Vec<String>,
    pub max_crops: u32,
    pub min_width: f32,
    pub interval: Time90k,
    /// Keep each track's [`PlateOnTrack`] for [`PlateWorker::finish`] (a file run); a live camera keeps only counts.
    pub keep_tracks: bool,
    /// The summary the counts are added to.
    pub summary: PlatesSummary,
}

/// Plate reading in the live service (`vigie serve`): the pre-check of the cameras that have parking zones.
#[derive(Clone, Debug)]
pub struct LiveOptions {
    /// The OCR models (no vehicle detector: the camera's tracks give the vehicles).
    pub reader: crate::ReaderConfig,
    /// Every configured parking zone; each camera takes its own.
    pub zones: Vec<Zone>,
    pub max_crops: u32,
    pub min_width: f32,
    pub interval: Time90k,
}

impl LiveOptions {
    /// The stage of camera `camera`, when it has parking zones: its reader loaded, sharing `parking` (the agents'
    /// API uses the same store). Voted plates of vehicles not parked in a zone are not kept (live reading only
    /// pre-checks payment); each track's outcome is only counted. `run_id`, `video_start` and `labels` are set by
    /// the camera's analysis thread when its session starts.
    pub fn camera_stage(&self, camera: &str, parking: &Arc<Mutex<ParkingStore>>) -> Result<Option<StageSetup>> {
        let zones: Vec<Zone> = self.zones.iter().filter(|z| z.camera == camera).cloned().collect();
        if zones.is_empty() {
            return Ok(None);
        }
        let reader = PlateReader::new(&self.reader).map_err(|e| e.context(format!("camera {camera}: plate reader")))?;
        Ok(Some(StageSetup {
            reader,
            track_store: None,
            parking: Some(parking.clone()),
            zones,
            camera: camera.to_string(),
            run_id: 0,
            video_start: 0,
            labels: Vec::new(),
            max_crops: self.max_crops,
            min_width: self.min_width,
            interval: self.interval,
            keep_tracks: false,
            summary: PlatesSummary::default(),
        }))
    }
}

/// Spawns the reader thread ("plates"); the [`Feeder`] runs in the caller's analysis thread. Drop the feeder, then
/// call [`PlateWorker::finish`], to stop.
pub fn start_stage(s: StageSetup) -> Result<(Feeder, PlateWorker)> {
    let shared = Arc::new(Shared::default());
    let (tx, rx) = channel::<Msg>();
    let worker = Worker {
        reader: s.reader,
        track_store: s.track_store,
        parking: s.parking,
        zones: s.zones.clone(),
        camera: s.camera,
        run_id: s.run_id,
        video_start: s.video_start,
        shared: shared.clone(),
        summary: s.summary,
        keep_tracks: s.keep_tracks,
    };
    let handle = std::thread::Builder::new()
        .name("plates".into())
        .spawn(move || worker.run(rx))
        .map_err(|e| Error::wrap(ErrorKind::Internal, "spawning the plates thread", e))?;
    let feeder = Feeder {
        tx,
        shared: shared.clone(),
        labels: s.labels,
        zones: s.zones,
        max_crops: s.max_crops,
        min_width: s.min_width,
        interval: s.interval,
        tracks: BTreeMap::new(),
    };
    Ok((feeder, PlateWorker { handle, shared }))
}

/// A read with the crop it came from, kept for the evidence of a parked vehicle.
struct Read {
    read: PlateRead,
    crop: Option<Arc<RgbFrame>>,
}

struct Worker {
    reader: PlateReader,
    track_store: Option<TrackPlateStore>,
    parking: Option<Arc<Mutex<ParkingStore>>>,
    zones: Vec<Zone>,
    camera: String,
    run_id: i64,
    video_start: i64,
    shared: Arc<Shared>,
    summary: PlatesSummary,
    keep_tracks: bool,
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
                    self.summary.vehicle_tracks += 1;
                    match p.status {
                        "read" => self.summary.tracks_read += 1,
                        "parking" => self.summary.tracks_parking += 1,
                        _ => self.summary.tracks_unread += 1,
                    }
                    if self.keep_tracks {
                        out.insert(track, p);
                    }
                }
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
        let voted = crate::vote(&plain);
        let mut p = PlateOnTrack::unread();
        p.crops = crops;
        p.reads = reads.len() as u32;
        if let (Some(parked), Some(store)) = (parked, self.parking.as_ref()) {
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
                .lock()
                .map_err(|_| err!(Internal, "the parking store's lock is poisoned"))?
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
            let (first_ms, last_ms) = (self.unix(first), self.unix(last));
            if let Some(store) = self.track_store.as_mut() {
                store.save(
                    &TrackPlate {
                        run_id: self.run_id,
                        track_id: track.get(),
                        camera: self.camera.clone(),
                        class: class.to_string(),
                        first_seen_unix_ms: first_ms,
                        last_seen_unix_ms: last_ms,
                        plate: v.text.clone(),
                        format: v.format,
                        confidence: v.confidence,
                        reads: p.reads,
                        crops: p.crops.max(p.reads),
                    },
                    unix_ms(),
                )?;
            }
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

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::{self, DstRule, ZoneRules};

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
    fn live_cameras_without_a_zone_read_no_plate() {
        let store = parking::ParkingStore::open_in_memory(
            parking::PlateKey::from_bytes([7; 32]),
            parking::Config::default(),
            1,
        )
        .unwrap();
        let store = Arc::new(Mutex::new(store));
        let live = LiveOptions {
            // Models that do not exist: a camera with a zone must fail to load them, one without never tries.
            reader: crate::ReaderConfig::new("/nonexistent/det.onnx".into(), "/nonexistent/rec.onnx".into(), None),
            zones: vec![zone(vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])],
            max_crops: 6,
            min_width: 96.0,
            interval: Time90k(90_000),
        };
        assert!(live.camera_stage("other", &store).unwrap().is_none());
        let e = live
            .camera_stage("cam", &store)
            .err()
            .expect("the reader's models are missing");
        assert!(e.to_string().contains("camera cam"), "{e}");
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
}
