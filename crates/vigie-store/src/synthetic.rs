//! Synthetic stored tracks for `vigie bench search` and the search-plan tests (issue 8: "p95 ≤ 100 ms for typical
//! queries over 10 million stored tracks, a benchmark that generates them").
//!
//! The shape of a city's month: `cameras` cameras, each with one live session (run) per day over `days` days, the
//! tracks of a session spread over its day in time order; a class mix of people, cars, trucks, buses and
//! two-wheelers; a named colour for each vehicle track; an `intrusion` event in one of four zones for about 2 % of
//! the tracks and a `wrong_way` event on one of two lines for about 1 %; dwell times mostly seconds, a few of them
//! long (parked vehicles, people waiting). No boxes: the search never reads them, and they would make the file ten
//! times larger. Deterministic for a given seed.

use rusqlite::params;
use vigie_core::{Result, bail};

use crate::{SqlResultExt, Store, TrackQuery, write_transaction};

const DAY_MS: i64 = 86_400_000;

/// What to generate.
#[derive(Clone, Debug)]
pub struct SyntheticSpec {
    /// Tracks in all (spread evenly over the runs).
    pub tracks: u64,
    /// Cameras, named `cam-000`, `cam-001`, ...
    pub cameras: u32,
    /// Days.
    pub days: u32,
    /// Days a camera session (a run) lasts: 1, a run per camera per day; `days`, one run per camera for the
    /// whole time (a live session never interrupted), the hardest case for a search of one day.
    pub session_days: u32,
    /// Wall-clock start of the first day.
    pub start_unix_ms: i64,
    pub seed: u64,
}

/// The zone names events are in, and the line names.
pub const SYNTHETIC_ZONES: [&str; 4] = ["forecourt", "entrance", "car-park", "platform"];
pub const SYNTHETIC_LINES: [&str; 2] = ["gate-in", "gate-out"];

/// The camera name of index `i`.
pub fn synthetic_camera(i: u32) -> String {
    format!("cam-{i:03}")
}

struct Rng(u64);

impl Rng {
    /// splitmix64.
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in 0..1.
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn pick<'a>(&mut self, weighted: &[(&'a str, f64)]) -> &'a str {
        let total: f64 = weighted.iter().map(|w| w.1).sum();
        let mut x = self.unit() * total;
        for (v, w) in weighted {
            if x < *w {
                return v;
            }
            x -= w;
        }
        weighted.last().map_or("", |w| w.0)
    }
}

const CLASSES: [(&str, f64); 6] = [
    ("person", 45.0),
    ("car", 35.0),
    ("truck", 7.0),
    ("bus", 3.0),
    ("bicycle", 5.0),
    ("motorcycle", 5.0),
];

const COLOURS: [(&str, f64); 11] = [
    ("white", 25.0),
    ("black", 18.0),
    ("grey", 15.0),
    ("silver", 12.0),
    ("blue", 10.0),
    ("red", 8.0),
    ("green", 3.0),
    ("brown", 3.0),
    ("beige", 3.0),
    ("yellow", 2.0),
    ("orange", 1.0),
];

const DAY_90K: i64 = 86_400 * 90_000;

impl Store {
    /// Fills an empty database with `spec`'s synthetic tracks, calling `progress` with the number of tracks written
    /// so far after each run. Returns the number of tracks written. Refuses a database that already has runs.
    pub fn fill_synthetic(&mut self, spec: &SyntheticSpec, progress: &mut dyn FnMut(u64)) -> Result<u64> {
        if spec.cameras == 0 || spec.days == 0 {
            bail!(InvalidArgument, "synthetic tracks need at least one camera and one day");
        }
        let runs: i64 = self
            .conn
            .query_row("select count(*) from analysis_run", [], |r| r.get(0))
            .sql(|| "counting runs".into())?;
        if runs > 0 {
            bail!(InvalidArgument, "synthetic tracks go into an empty database only");
        }
        // A throw-away file: speed over durability while filling it.
        self.conn
            .execute_batch("pragma synchronous = off; pragma cache_size = -262144;")
            .sql(|| "tuning the database for a bulk fill".into())?;
        let camera_days = u64::from(spec.cameras) * u64::from(spec.days);
        let session_days = spec.session_days.clamp(1, spec.days);
        // Per camera: its current run, the run's wall-clock zero and first day, its next track id.
        let mut runs: Vec<(i64, i64, u32, i64)> = vec![(0, 0, 0, 1); spec.cameras as usize];
        let mut rng = Rng(spec.seed);
        let mut written = 0u64;
        let mut event_no = 0u64;
        for day in 0..spec.days {
            for cam in 0..spec.cameras {
                let index = u64::from(day) * u64::from(spec.cameras) + u64::from(cam);
                // Tracks of this camera-day: an even share, the remainder spread over the first ones.
                let n = spec.tracks / camera_days + u64::from(index < spec.tracks % camera_days);
                let camera = synthetic_camera(cam);
                let tx = write_transaction(&mut self.conn, "writing synthetic tracks")?;
                let state = &mut runs[cam as usize];
                if day % session_days == 0 {
                    let zero = spec.start_unix_ms + i64::from(day) * 86_400_000;
                    let len_ms = i64::from(session_days.min(spec.days - day)) * 86_400_000;
                    tx.execute(
                        "insert into analysis_run (source, source_kind, started_unix_ms, finished_unix_ms, \
                         analysis_fps, width, height, model, frames_decoded, frames_analysed, wall_ms) \
                         values (?1, 'camera', ?2, ?3, 5.0, 1920, 1080, 'synthetic', 0, 0, ?4)",
                        params![camera, zero, zero + len_ms, len_ms],
                    )
                    .sql(|| "writing a synthetic run".into())?;
                    let run = tx.last_insert_rowid();
                    tx.execute(
                        "insert into run_camera (run_id, camera, media_zero_unix_ms, output_dir) values (?, ?, ?, null)",
                        params![run, camera, zero],
                    )
                    .sql(|| "writing a synthetic run camera".into())?;
                    *state = (run, zero, day, 1);
                }
                let (run, _, first_day, ref mut next_track) = *state;
                let day_90k = i64::from(day - first_day) * DAY_90K;
                {
                    let mut track = tx
                        .prepare_cached(
                            "insert into track (run_id, track_id, class, first_90k, last_90k, frames, max_score, \
                             best_x1, best_y1, best_x2, best_y2, best_90k, class_confidence) \
                             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, 100, 200, 300, 400, ?4, ?8)",
                        )
                        .sql(|| "writing synthetic tracks".into())?;
                    let mut colour = tx
                        .prepare_cached(
                            "insert into track_colour (run_id, track_id, colour, share) values (?, ?, ?, ?)",
                        )
                        .sql(|| "writing synthetic colours".into())?;
                    let mut event = tx
                        .prepare_cached(
                            "insert into event (id, run_id, kind, camera, rule, zone, line, start_90k, end_90k, \
                             confidence, detail, clip_start_90k, clip_end_90k) \
                             values (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0.8, 'synthetic', ?8, ?9)",
                        )
                        .sql(|| "writing synthetic events".into())?;
                    let mut event_track = tx
                        .prepare_cached("insert into event_track (event_id, track_id) values (?, ?)")
                        .sql(|| "writing synthetic events".into())?;
                    for i in 0..n {
                        let track_id = *next_track;
                        *next_track += 1;
                        // Starts in time order over the day.
                        let first =
                            day_90k + ((i as f64 + rng.unit()) / n as f64 * (DAY_90K - 90_000 * 3600) as f64) as i64;
                        let class = rng.pick(&CLASSES);
                        let long = rng.unit() < 0.01;
                        let dwell_s = if long {
                            600.0 + rng.unit() * 3000.0
                        } else {
                            2.0 - 15.0 * (1.0 - rng.unit()).ln()
                        };
                        let last = first + (dwell_s * 90_000.0) as i64;
                        let frames = ((dwell_s * 5.0) as i64).max(1);
                        track
                            .execute(params![
                                run,
                                track_id,
                                class,
                                first,
                                last,
                                frames,
                                0.5 + rng.unit() * 0.5,
                                0.6 + rng.unit() * 0.4
                            ])
                            .sql(|| "writing a synthetic track".into())?;
                        if class != "person" {
                            colour
                                .execute(params![run, track_id, rng.pick(&COLOURS), 0.3 + rng.unit() * 0.7])
                                .sql(|| "writing a synthetic colour".into())?;
                        }
                        let e = rng.unit();
                        let place = if e < 0.02 {
                            Some(("intrusion", Some(SYNTHETIC_ZONES[(rng.next() % 4) as usize]), None))
                        } else if e < 0.03 {
                            Some(("wrong_way", None, Some(SYNTHETIC_LINES[(rng.next() % 2) as usize])))
                        } else {
                            None
                        };
                        if let Some((kind, zone, line)) = place {
                            event_no += 1;
                            let id = format!("ev-{event_no:016x}");
                            event
                                .execute(params![
                                    id,
                                    run,
                                    kind,
                                    camera,
                                    kind,
                                    zone,
                                    line,
                                    first,
                                    last.min(first + 90_000 * 30)
                                ])
                                .sql(|| "writing a synthetic event".into())?;
                            event_track
                                .execute(params![id, track_id])
                                .sql(|| "writing a synthetic event track".into())?;
                        }
                    }
                }
                tx.commit().sql(|| "committing synthetic tracks".into())?;
                written += n;
                progress(written);
            }
        }
        self.conn
            .execute_batch("pragma synchronous = normal;")
            .sql(|| "finishing a bulk fill".into())?;
        Ok(written)
    }
}

/// The typical queries of issue 8, over synthetic tracks starting at `start_unix_ms` on `cameras` cameras: for day
/// `day` (from 0) and from camera `cam`, each with its name and the index its plan must use. `vigie bench search`
/// times them; a test checks their plans.
pub fn synthetic_typical_queries(
    start_unix_ms: i64,
    cameras: u32,
    day: i64,
    cam: u32,
) -> Vec<(&'static str, TrackQuery, &'static str)> {
    let cams = |k: u32| {
        (cam..cam + k)
            .map(|i| crate::synthetic_camera(i % cameras.max(1)))
            .collect::<Vec<_>>()
    };
    let day_window = |q: TrackQuery| TrackQuery {
        from_unix_ms: Some(start_unix_ms + day * DAY_MS),
        to_unix_ms: Some(start_unix_ms + (day + 1) * DAY_MS),
        ..q
    };
    vec![
        (
            "class_camera_day",
            day_window(TrackQuery {
                classes: vec!["car".into()],
                cameras: cams(1),
                ..TrackQuery::default()
            }),
            "track_long_by_run_last",
        ),
        (
            "class_colour_4cameras_day",
            day_window(TrackQuery {
                classes: vec!["car".into()],
                colour: Some("red".into()),
                cameras: cams(4),
                ..TrackQuery::default()
            }),
            "track_long_by_run_last",
        ),
        (
            "zone_camera_day",
            day_window(TrackQuery {
                cameras: cams(1),
                zone: Some("entrance".into()),
                ..TrackQuery::default()
            }),
            "event_by_run_zone",
        ),
        (
            "line_camera_day",
            day_window(TrackQuery {
                cameras: cams(1),
                line: Some("gate-in".into()),
                ..TrackQuery::default()
            }),
            "event_by_run_line",
        ),
        (
            "dwell_person_camera_day",
            day_window(TrackQuery {
                classes: vec!["person".into()],
                cameras: cams(1),
                min_dwell_ms: Some(300_000),
                ..TrackQuery::default()
            }),
            "track_long_by_run_last",
        ),
        (
            "two_wheeler_camera_hour",
            TrackQuery {
                classes: vec!["bicycle".into(), "motorcycle".into()],
                cameras: cams(1),
                from_unix_ms: Some(start_unix_ms + day * DAY_MS + 8 * 3_600_000),
                to_unix_ms: Some(start_unix_ms + day * DAY_MS + 9 * 3_600_000),
                ..TrackQuery::default()
            },
            "track_long_by_run_last",
        ),
    ]
}
