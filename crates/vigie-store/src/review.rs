//! Review assistance (schema version 7, issue 8): review cases, the camera and wall-clock time of runs, vehicle
//! colours, and the search of stored tracks inside a case.
//!
//! Every search goes through an open, unexpired [`Case`]: [`Store::search_tracks`] takes the case and narrows the
//! query to its cameras and window, whatever the caller asks for. People are found by class, place, time and dwell
//! only: a colour filter with a person class is refused here too, not only in the command line.

use rusqlite::{OptionalExtension, params};
use vigie_core::{Result, TrackId, bail, err};

use crate::{RunId, SqlResultExt, Store, to_i64, write_transaction};

/// The longest a case may last: 1096 days (3 years, a leap day included), as the schema's CHECK says.
pub const MAX_CASE_MS: i64 = 1096 * 86_400_000;

/// The colour names the schema accepts.
pub const COLOUR_NAMES: [&str; 11] = [
    "white", "black", "grey", "silver", "red", "blue", "green", "yellow", "orange", "brown", "beige",
];

/// A case to open.
#[derive(Clone, Debug)]
pub struct NewCase {
    pub reference: String,
    pub authority: String,
    pub cameras: Vec<String>,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    pub investigators: Vec<String>,
    pub opened_by: String,
    pub created_unix_ms: i64,
    pub expires_unix_ms: i64,
}

/// A case as stored.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Case {
    pub id: i64,
    pub reference: String,
    pub authority: String,
    pub cameras: Vec<String>,
    pub from_unix_ms: i64,
    pub to_unix_ms: i64,
    pub investigators: Vec<String>,
    pub opened_by: String,
    pub created_unix_ms: i64,
    pub expires_unix_ms: i64,
    pub closed_unix_ms: Option<i64>,
}

impl Case {
    /// Open at `now`: not closed and not expired.
    pub fn is_open(&self, now_unix_ms: i64) -> bool {
        self.closed_unix_ms.is_none() && now_unix_ms < self.expires_unix_ms
    }

    /// An [`vigie_core::ErrorKind::InvalidArgument`] error unless the case is open at `now`.
    pub fn require_open(&self, now_unix_ms: i64) -> Result<()> {
        if self.closed_unix_ms.is_some() {
            bail!(InvalidArgument, "case {:?} is closed", self.reference);
        }
        if now_unix_ms >= self.expires_unix_ms {
            bail!(InvalidArgument, "case {:?} has expired", self.reference);
        }
        Ok(())
    }
}

/// A search of stored tracks; `None` or empty means no filter. The case's cameras and window always apply.
#[derive(Clone, Debug, Default)]
pub struct TrackQuery {
    /// Detector labels, any of them (e.g. `["bicycle", "motorcycle"]` for two-wheelers).
    pub classes: Vec<String>,
    /// A colour name of [`COLOUR_NAMES`]; refused with a person class.
    pub colour: Option<String>,
    /// Only these cameras (intersected with the case's).
    pub cameras: Vec<String>,
    /// Time window (wall clock), intersected with the case's.
    pub from_unix_ms: Option<i64>,
    pub to_unix_ms: Option<i64>,
    /// Tracks an event in this zone involved.
    pub zone: Option<String>,
    /// Tracks an event on this line involved.
    pub line: Option<String>,
    /// Tracks seen at least this long (last minus first time).
    pub min_dwell_ms: Option<i64>,
    /// At most this many results (default 1000).
    pub limit: Option<u32>,
}

/// One track found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct TrackHit {
    pub run: i64,
    pub track_id: u64,
    pub camera: String,
    pub class: String,
    pub colour: Option<String>,
    pub first_unix_ms: i64,
    pub last_unix_ms: i64,
    /// The run's source (the file or camera analysed).
    pub source: String,
    /// The run's output folder, when it wrote one (its snapshots are in `snapshots/`).
    pub output_dir: Option<String>,
}

fn json_list(v: &[String], what: &str) -> Result<String> {
    if v.is_empty() || v.iter().any(|s| s.trim().is_empty()) {
        bail!(InvalidArgument, "{what}: at least one, none blank");
    }
    serde_json::to_string(v).map_err(|e| err!(Internal, "serialising {what}: {e}"))
}

fn read_case(r: &rusqlite::Row<'_>) -> rusqlite::Result<(Case, String, String)> {
    Ok((
        Case {
            id: r.get(0)?,
            reference: r.get(1)?,
            authority: r.get(2)?,
            cameras: Vec::new(),
            from_unix_ms: r.get(4)?,
            to_unix_ms: r.get(5)?,
            investigators: Vec::new(),
            opened_by: r.get(7)?,
            created_unix_ms: r.get(8)?,
            expires_unix_ms: r.get(9)?,
            closed_unix_ms: r.get(10)?,
        },
        r.get(3)?,
        r.get(6)?,
    ))
}

fn finish_case((mut c, cams, inv): (Case, String, String)) -> Result<Case> {
    c.cameras = serde_json::from_str(&cams).map_err(|e| err!(Database, "case {}: cameras: {e}", c.reference))?;
    c.investigators =
        serde_json::from_str(&inv).map_err(|e| err!(Database, "case {}: investigators: {e}", c.reference))?;
    Ok(c)
}

const CASE_COLUMNS: &str = "id, reference, authority, cameras, from_unix_ms, to_unix_ms, investigators, opened_by, \
                            created_unix_ms, expires_unix_ms, closed_unix_ms";

impl Store {
    /// Records the camera of a run, the wall-clock time of its media time 0 and the folder its snapshots are in
    /// (replacing what was recorded).
    pub fn set_run_camera(
        &mut self,
        run: RunId,
        camera: &str,
        media_zero_unix_ms: i64,
        output_dir: Option<&str>,
    ) -> Result<()> {
        if camera.trim().is_empty() {
            bail!(InvalidArgument, "the camera name of run {run} is blank");
        }
        self.conn
            .execute(
                "insert or replace into run_camera (run_id, camera, media_zero_unix_ms, output_dir) \
                 values (?, ?, ?, ?)",
                params![run.0, camera, media_zero_unix_ms, output_dir.filter(|d| !d.is_empty())],
            )
            .sql(|| format!("recording the camera of run {run}"))?;
        Ok(())
    }

    /// Stores the colours of vehicle tracks of `run` (whose summaries are stored), in one transaction.
    pub fn save_track_colours(&mut self, run: RunId, colours: &[(TrackId, String, f32)]) -> Result<()> {
        for (t, c, share) in colours {
            if !COLOUR_NAMES.contains(&c.as_str()) {
                bail!(InvalidArgument, "track {t}: unknown colour {c:?}");
            }
            if !(share.is_finite() && (0.0..=1.0).contains(share)) {
                bail!(InvalidArgument, "track {t}: colour share {share} is not in 0..1");
            }
        }
        let tx = write_transaction(&mut self.conn, "saving track colours")?;
        {
            let mut stmt = tx
                .prepare("insert or replace into track_colour (run_id, track_id, colour, share) values (?, ?, ?, ?)")
                .sql(|| "saving track colours".into())?;
            for (t, c, share) in colours {
                stmt.execute(params![run.0, to_i64(t.get(), "track id")?, c, *share as f64])
                    .sql(|| format!("saving the colour of track {t} of run {run}"))?;
            }
        }
        tx.commit().sql(|| "committing track colours".into())
    }

    /// The colour of a track, if it has one.
    pub fn track_colour(&self, run: RunId, track: TrackId) -> Result<Option<(String, f32)>> {
        self.conn
            .query_row(
                "select colour, share from track_colour where run_id = ? and track_id = ?",
                params![run.0, to_i64(track.get(), "track id")?],
                |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)? as f32)),
            )
            .optional()
            .sql(|| format!("reading the colour of track {track} of run {run}"))
    }

    /// Opens a case. [`vigie_core::ErrorKind::InvalidArgument`]: a blank reference or authority, no camera or
    /// investigator, an empty window, an expiry not after its opening or more than 3 years after it; a reference
    /// already used (open or closed).
    pub fn open_case(&mut self, c: &NewCase) -> Result<Case> {
        if c.reference.trim().is_empty() || c.reference.len() > 128 {
            bail!(InvalidArgument, "a case reference is 1 to 128 characters, not blank");
        }
        if c.authority.trim().is_empty() {
            bail!(InvalidArgument, "case {:?}: the authority is blank", c.reference);
        }
        if c.to_unix_ms <= c.from_unix_ms {
            bail!(
                InvalidArgument,
                "case {:?}: the window ends before it starts",
                c.reference
            );
        }
        if c.expires_unix_ms <= c.created_unix_ms || c.expires_unix_ms - c.created_unix_ms > MAX_CASE_MS {
            bail!(
                InvalidArgument,
                "case {:?}: the expiry must be after today and at most 3 years away",
                c.reference
            );
        }
        let cams = json_list(&c.cameras, "cameras")?;
        let inv = json_list(&c.investigators, "investigators")?;
        let exists: bool = self
            .conn
            .query_row(
                "select count(*) > 0 from review_case where reference = ?",
                [&c.reference],
                |r| r.get(0),
            )
            .sql(|| "looking up a case".into())?;
        if exists {
            bail!(InvalidArgument, "case {:?} already exists", c.reference);
        }
        self.conn
            .execute(
                "insert into review_case (reference, authority, cameras, from_unix_ms, to_unix_ms, investigators, \
                 opened_by, created_unix_ms, expires_unix_ms) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    c.reference,
                    c.authority,
                    cams,
                    c.from_unix_ms,
                    c.to_unix_ms,
                    inv,
                    c.opened_by,
                    c.created_unix_ms,
                    c.expires_unix_ms
                ],
            )
            .sql(|| format!("opening case {:?}", c.reference))?;
        self.case(&c.reference)?
            .ok_or_else(|| err!(Internal, "case {:?} vanished after it was opened", c.reference))
    }

    /// The case with this reference.
    pub fn case(&self, reference: &str) -> Result<Option<Case>> {
        let row = self
            .conn
            .query_row(
                &format!("select {CASE_COLUMNS} from review_case where reference = ?"),
                [reference],
                read_case,
            )
            .optional()
            .sql(|| format!("reading case {reference:?}"))?;
        row.map(finish_case).transpose()
    }

    /// Every case, newest first.
    pub fn cases(&self) -> Result<Vec<Case>> {
        let mut stmt = self
            .conn
            .prepare(&format!("select {CASE_COLUMNS} from review_case order by id desc"))
            .sql(|| "listing cases".into())?;
        let rows = stmt
            .query_map([], read_case)
            .sql(|| "listing cases".into())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql(|| "listing cases".into())?;
        rows.into_iter().map(finish_case).collect()
    }

    /// Closes an open case. [`vigie_core::ErrorKind::NotFound`] when there is none with this reference,
    /// [`vigie_core::ErrorKind::InvalidArgument`] when it is already closed.
    pub fn close_case(&mut self, reference: &str, now_unix_ms: i64) -> Result<Case> {
        let c = self
            .case(reference)?
            .ok_or_else(|| err!(NotFound, "no case {reference:?}"))?;
        if c.closed_unix_ms.is_some() {
            bail!(InvalidArgument, "case {reference:?} is already closed");
        }
        self.conn
            .execute(
                "update review_case set closed_unix_ms = ? where id = ?",
                params![now_unix_ms.max(c.created_unix_ms), c.id],
            )
            .sql(|| format!("closing case {reference:?}"))?;
        self.case(reference)?
            .ok_or_else(|| err!(Internal, "case {reference:?} vanished"))
    }

    /// The tracks matching `q` inside `case` (which must be open at `now`), in wall-clock order.
    pub fn search_tracks(&self, case: &Case, q: &TrackQuery, now_unix_ms: i64) -> Result<Vec<TrackHit>> {
        case.require_open(now_unix_ms)?;
        if q.colour.is_some() && q.classes.iter().any(|c| c == "person") {
            bail!(
                InvalidArgument,
                "no appearance search of people: a colour applies to vehicles only"
            );
        }
        if let Some(c) = &q.colour
            && !COLOUR_NAMES.contains(&c.as_str())
        {
            bail!(
                InvalidArgument,
                "unknown colour {c:?}: one of {}",
                COLOUR_NAMES.join(", ")
            );
        }
        let cameras: Vec<&String> = if q.cameras.is_empty() {
            case.cameras.iter().collect()
        } else {
            q.cameras.iter().filter(|c| case.cameras.contains(c)).collect()
        };
        if cameras.is_empty() {
            bail!(
                InvalidArgument,
                "none of the cameras asked for is in case {:?} (its cameras: {})",
                case.reference,
                case.cameras.join(", ")
            );
        }
        let from = q.from_unix_ms.map_or(case.from_unix_ms, |f| f.max(case.from_unix_ms));
        let to = q.to_unix_ms.map_or(case.to_unix_ms, |t| t.min(case.to_unix_ms));
        if to <= from {
            return Ok(Vec::new());
        }
        let mut sql = String::from(
            "select t.run_id, t.track_id, rc.camera, t.class, tc.colour, \
                    rc.media_zero_unix_ms + t.first_90k / 90, rc.media_zero_unix_ms + t.last_90k / 90, r.source, rc.output_dir \
             from track t join run_camera rc on rc.run_id = t.run_id join analysis_run r on r.id = t.run_id \
             left join track_colour tc on tc.run_id = t.run_id and tc.track_id = t.track_id \
             where t.class is not null \
               and rc.media_zero_unix_ms + t.first_90k / 90 < ?1 and rc.media_zero_unix_ms + t.last_90k / 90 >= ?2 \
               and rc.camera in (select value from json_each(?3))",
        );
        let cams_json = serde_json::to_string(&cameras).map_err(|e| err!(Internal, "serialising cameras: {e}"))?;
        let classes_json = serde_json::to_string(&q.classes).map_err(|e| err!(Internal, "serialising classes: {e}"))?;
        if !q.classes.is_empty() {
            sql.push_str(" and t.class in (select value from json_each(?4))");
        }
        if q.colour.is_some() {
            sql.push_str(" and tc.colour = ?5");
        }
        if q.zone.is_some() {
            sql.push_str(
                " and exists (select 1 from event_track et join event e on e.id = et.event_id \
                 where e.run_id = t.run_id and et.track_id = t.track_id and e.zone = ?6)",
            );
        }
        if q.line.is_some() {
            sql.push_str(
                " and exists (select 1 from event_track et join event e on e.id = et.event_id \
                 where e.run_id = t.run_id and et.track_id = t.track_id and e.line = ?7)",
            );
        }
        if q.min_dwell_ms.is_some() {
            sql.push_str(" and (t.last_90k - t.first_90k) / 90 >= ?8");
        }
        sql.push_str(" order by rc.media_zero_unix_ms + t.first_90k / 90, t.run_id, t.track_id limit ?9");
        let mut stmt = self.conn.prepare(&sql).sql(|| "preparing a track search".into())?;
        // Every parameter is bound, used or not: ?9 is always used, so SQLite counts nine parameters and binding
        // one the statement leaves out is harmless.
        let limit = i64::from(q.limit.unwrap_or(1000));
        let values: [(usize, rusqlite::types::Value); 9] = [
            (1, to.into()),
            (2, from.into()),
            (3, cams_json.into()),
            (4, classes_json.into()),
            (5, q.colour.clone().map_or(rusqlite::types::Value::Null, Into::into)),
            (6, q.zone.clone().map_or(rusqlite::types::Value::Null, Into::into)),
            (7, q.line.clone().map_or(rusqlite::types::Value::Null, Into::into)),
            (8, q.min_dwell_ms.map_or(rusqlite::types::Value::Null, Into::into)),
            (9, limit.into()),
        ];
        for (i, v) in values {
            stmt.raw_bind_parameter(i, v)
                .sql(|| "binding a search parameter".into())?;
        }
        let mut rows = stmt.raw_query();
        let mut hits = Vec::new();
        while let Some(r) = rows.next().sql(|| "searching tracks".into())? {
            let track: i64 = r.get(1).sql(|| "reading a track id".into())?;
            hits.push(TrackHit {
                run: r.get(0).sql(|| "reading a run id".into())?,
                track_id: u64::try_from(track).map_err(|_| err!(Database, "track id {track} is negative"))?,
                camera: r.get(2).sql(|| "reading a camera".into())?,
                class: r.get(3).sql(|| "reading a class".into())?,
                colour: r.get(4).sql(|| "reading a colour".into())?,
                first_unix_ms: r.get(5).sql(|| "reading a time".into())?,
                last_unix_ms: r.get(6).sql(|| "reading a time".into())?,
                source: r.get(7).sql(|| "reading a source".into())?,
                output_dir: r.get(8).sql(|| "reading an output folder".into())?,
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use vigie_core::{BBox, Time90k, TrackSummary};

    use super::*;
    use crate::{NewRun, SourceKind};

    const DAY: i64 = 86_400_000;
    const T0: i64 = 1_767_225_600_000; // 2026-01-01 00:00 UTC

    fn tid(n: u64) -> TrackId {
        TrackId(std::num::NonZeroU64::new(n).unwrap())
    }

    /// Run on camera `cam` starting at `T0`: track 1 a red car at 0-10 s, track 2 a white car at 100-110 s,
    /// track 3 a person at 0-30 s.
    fn store_with_tracks(cam: &str) -> Store {
        let mut s = Store::open_in_memory().unwrap();
        let run = s
            .begin_run(&NewRun {
                source: "street.mp4".into(),
                source_kind: SourceKind::File,
                started_unix_ms: T0,
                analysis_fps: 5.0,
                width: 640,
                height: 480,
                model: "m".into(),
            })
            .unwrap();
        s.set_run_camera(run, cam, T0, Some("out")).unwrap();
        {
            let mut w = s.writer(run);
            for (id, class, from_s, to_s) in [(1, "car", 0, 10), (2, "car", 100, 110), (3, "person", 0, 30)] {
                let b = BBox::new(10.0, 10.0, 50.0, 50.0);
                w.push_box(tid(id), Time90k(from_s * 90_000), b, 0.9).unwrap();
                w.push_box(tid(id), Time90k(to_s * 90_000), b, 0.8).unwrap();
                w.end_track(&TrackSummary {
                    track_id: tid(id),
                    class: class.into(),
                    class_confidence: 1.0,
                    first: Time90k(from_s * 90_000),
                    last: Time90k(to_s * 90_000),
                    frames: 2,
                    max_score: 0.9,
                    best_box: b,
                    best: Time90k(from_s * 90_000),
                })
                .unwrap();
            }
            w.finish().unwrap();
        }
        s.save_track_colours(run, &[(tid(1), "red".into(), 0.7), (tid(2), "white".into(), 0.6)])
            .unwrap();
        s
    }

    fn case(s: &mut Store, reference: &str, cams: &[&str], from: i64, to: i64) -> Case {
        s.open_case(&NewCase {
            reference: reference.into(),
            authority: "TJ Lyon, juge d'instruction".into(),
            cameras: cams.iter().map(|c| c.to_string()).collect(),
            from_unix_ms: from,
            to_unix_ms: to,
            investigators: vec!["ines".into()],
            opened_by: "cli:test".into(),
            created_unix_ms: T0,
            expires_unix_ms: T0 + 365 * DAY,
        })
        .unwrap()
    }

    #[test]
    fn search_by_class_colour_window_and_camera() {
        let mut s = store_with_tracks("street");
        let c = case(&mut s, "PV-2026-001", &["street"], T0, T0 + 3_600_000);
        let q = |colour: &str| TrackQuery {
            classes: vec!["car".into()],
            colour: Some(colour.into()),
            ..TrackQuery::default()
        };
        let red = s.search_tracks(&c, &q("red"), T0 + 1).unwrap();
        assert_eq!(red.iter().map(|h| h.track_id).collect::<Vec<_>>(), [1]);
        assert_eq!(red[0].first_unix_ms, T0);
        assert_eq!(red[0].camera, "street");
        let white = s.search_tracks(&c, &q("white"), T0 + 1).unwrap();
        assert_eq!(white.iter().map(|h| h.track_id).collect::<Vec<_>>(), [2]);
        // The case's window: a case covering only the first minute does not see the white car.
        let early = case(&mut s, "PV-2026-002", &["street"], T0, T0 + 60_000);
        assert!(s.search_tracks(&early, &q("white"), T0 + 1).unwrap().is_empty());
        // A wider --from/--to does not widen the case.
        let wide = TrackQuery {
            to_unix_ms: Some(T0 + DAY),
            ..q("white")
        };
        assert!(s.search_tracks(&early, &wide, T0 + 1).unwrap().is_empty());
        // Another camera's case sees nothing of this one.
        let other = case(&mut s, "PV-2026-003", &["parking"], T0, T0 + 3_600_000);
        assert!(
            s.search_tracks(&other, &TrackQuery::default(), T0 + 1)
                .unwrap()
                .is_empty()
        );
        // Asking for a camera outside the case is refused.
        let outside = TrackQuery {
            cameras: vec!["parking".into()],
            ..TrackQuery::default()
        };
        assert!(s.search_tracks(&c, &outside, T0 + 1).is_err());
        // Dwell.
        let long = TrackQuery {
            min_dwell_ms: Some(20_000),
            ..TrackQuery::default()
        };
        let hits = s.search_tracks(&c, &long, T0 + 1).unwrap();
        assert_eq!(hits.iter().map(|h| h.track_id).collect::<Vec<_>>(), [3]);
    }

    #[test]
    fn people_are_never_searched_by_colour() {
        let mut s = store_with_tracks("street");
        let c = case(&mut s, "PV-1", &["street"], T0, T0 + DAY);
        let q = TrackQuery {
            classes: vec!["person".into()],
            colour: Some("red".into()),
            ..TrackQuery::default()
        };
        let e = s.search_tracks(&c, &q, T0 + 1).unwrap_err();
        assert!(e.to_string().contains("people"), "{e}");
        let people = TrackQuery {
            classes: vec!["person".into()],
            ..TrackQuery::default()
        };
        assert_eq!(s.search_tracks(&c, &people, T0 + 1).unwrap().len(), 1);
    }

    #[test]
    fn closed_or_expired_cases_refuse_searches_and_cases_are_bounded() {
        let mut s = store_with_tracks("street");
        let c = case(&mut s, "PV-1", &["street"], T0, T0 + DAY);
        assert!(
            s.search_tracks(&c, &TrackQuery::default(), T0 + 366 * DAY).is_err(),
            "expired"
        );
        let closed = s.close_case("PV-1", T0 + 5).unwrap();
        assert_eq!(closed.closed_unix_ms, Some(T0 + 5));
        assert!(s.search_tracks(&closed, &TrackQuery::default(), T0 + 6).is_err());
        assert!(s.close_case("PV-1", T0 + 7).is_err(), "already closed");
        assert!(s.close_case("nope", T0).is_err());
        let mut too_long = NewCase {
            reference: "PV-2".into(),
            authority: "a".into(),
            cameras: vec!["street".into()],
            from_unix_ms: T0,
            to_unix_ms: T0 + 1,
            investigators: vec!["ines".into()],
            opened_by: "x".into(),
            created_unix_ms: T0,
            expires_unix_ms: T0 + 1097 * DAY,
        };
        assert!(s.open_case(&too_long).is_err());
        too_long.expires_unix_ms = T0 + 1096 * DAY;
        too_long.investigators.clear();
        assert!(s.open_case(&too_long).is_err(), "no investigator");
        too_long.investigators.push("ines".into());
        s.open_case(&too_long).unwrap();
        assert!(s.open_case(&too_long).is_err(), "reference reused");
        assert_eq!(s.cases().unwrap().len(), 2);
    }
}
