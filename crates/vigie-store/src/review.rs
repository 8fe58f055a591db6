//! Review assistance (schema version 7, issue 8): review cases (and whether plate searches are allowed in each,
//! version 9), the camera and wall-clock time of runs, vehicle colours, and the search of stored tracks inside a
//! case.
//!
//! Every search goes through an open, unexpired [`Case`]: [`Store::search_tracks`] takes the case and narrows the
//! query to its cameras and window, whatever the caller asks for. People are found by class, place, time and dwell
//! only: a colour filter with a person class is refused here too, not only in the command line.

use rusqlite::types::Value;
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
    /// Whether the case's judicial order allows plate searches (schema version 9); fixed at opening.
    pub plates_allowed: bool,
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
    /// Whether plate searches are allowed in this case (schema version 9).
    pub plates_allowed: bool,
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
            plates_allowed: r.get(11)?,
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
                            created_unix_ms, expires_unix_ms, closed_unix_ms, plates_allowed";

/// The nine parameters of a track search, by index.
type SearchParams = [(usize, Value); 9];

/// The SQL of a track search and its nine parameters, or `None` when the window is empty. Checks what
/// [`Store::search_tracks`] refuses.
///
/// The plan (schema version 8): for each camera of the search, the runs of that camera that started before the
/// window's end (`run_camera_by_camera`); in each, the tracks of the window in two disjoint parts, each a bounded
/// range of an index whatever the run's length (tracks of at most 30 min starting at most 30 min before the window,
/// `track_by_run_first`, or `track_by_class_time` with a class; longer ones ending after its start,
/// `track_long_by_run_last`), the bounds computed from the run's `media_zero_unix_ms`; then each candidate's colour
/// by primary key. With a zone (or a line), each run's events there (`event_by_run_zone`, `event_by_run_line`) lead
/// to their tracks by primary key instead. `CROSS JOIN` fixes that order, so the planner never starts from every
/// track of a class. The media-time bounds are the wall-clock window's, exactly, for tracks with non-negative media
/// times (all of them: media time starts at 0); the wall-clock conditions are kept as well.
fn search_sql(case: &Case, q: &TrackQuery, now_unix_ms: i64) -> Result<Option<(String, SearchParams)>> {
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
    let mut cameras: Vec<&String> = if q.cameras.is_empty() {
        case.cameras.iter().collect()
    } else {
        q.cameras.iter().filter(|c| case.cameras.contains(c)).collect()
    };
    cameras.sort();
    cameras.dedup();
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
        return Ok(None);
    }
    // With a zone or a line, the events of each run in that zone (or on that line) lead to their tracks: a few
    // per run, instead of a probe of the events for every track of the window. `distinct`: a track may be in
    // several such events.
    let cams_json = serde_json::to_string(&cameras).map_err(|e| err!(Internal, "serialising cameras: {e}"))?;
    let classes_json = serde_json::to_string(&q.classes).map_err(|e| err!(Internal, "serialising classes: {e}"))?;
    // The filters on a track found, the same in every branch below.
    let mut filters = String::from(
        " where t.class is not null \
           and rc.media_zero_unix_ms + t.first_90k / 90 < ?1 and rc.media_zero_unix_ms + t.last_90k / 90 >= ?2",
    );
    if !q.classes.is_empty() {
        filters.push_str(" and t.class in (select value from json_each(?4))");
    }
    if q.colour.is_some() {
        filters.push_str(" and tc.colour = ?5");
    }
    if q.zone.is_some() && q.line.is_some() {
        filters.push_str(
            " and exists (select 1 from event e2 join event_track et2 on et2.event_id = e2.id \
             and et2.track_id = t.track_id where e2.run_id = t.run_id and e2.line = ?7)",
        );
    }
    if q.min_dwell_ms.is_some() {
        filters.push_str(" and (t.last_90k - t.first_90k) / 90 >= ?8");
    }
    let select = |distinct: &str, driver: &str, track: &str, track_on: &str| {
        format!(
            "select {distinct}t.run_id, t.track_id, rc.camera, t.class, tc.colour, \
                    rc.media_zero_unix_ms + t.first_90k / 90, rc.media_zero_unix_ms + t.last_90k / 90, r.source, \
                    rc.output_dir \
             from json_each(?3) cam \
             cross join run_camera rc on rc.camera = cam.value and rc.media_zero_unix_ms < ?1{driver} \
             cross join {track} on {track_on} \
             join analysis_run r on r.id = rc.run_id \
             left join track_colour tc on tc.run_id = t.run_id and tc.track_id = t.track_id{filters}"
        )
    };
    // The window in the run's media time: [F, T).
    const F: &str = "(?2 - rc.media_zero_unix_ms) * 90";
    const T: &str = "(?1 - rc.media_zero_unix_ms) * 90";
    let mut sql = match (&q.zone, &q.line) {
        // With a zone or a line, the events of each run in that zone (or on that line) lead to their tracks: a few
        // per run, instead of a probe of the events for every track of the window. `distinct`: a track may be in
        // several such events.
        (Some(_), _) | (None, Some(_)) => {
            let on = if q.zone.is_some() { "e.zone = ?6" } else { "e.line = ?7" };
            select(
                "distinct ",
                &format!(
                    " cross join event e on e.run_id = rc.run_id and {on} \
                     cross join event_track et on et.event_id = e.id"
                ),
                "track t",
                &format!(
                    "t.run_id = rc.run_id and t.track_id = et.track_id and t.last_90k >= {F} and t.first_90k < {T}"
                ),
            )
        }
        // Otherwise two disjoint branches, each a bounded range of one index, however long the run: tracks of at
        // most 30 min that start in [F - 30 min, T) (`track_by_run_first`), and the few longer ones that end at or
        // after F (`track_long_by_run_last`, partial). The bound 162000000 (30 min at 90 kHz) is written as in the
        // partial index's WHERE, which SQLite needs to see to use it.
        (None, None) => format!(
            "{} union all {}",
            select(
                "",
                "",
                "track t",
                &format!(
                    "t.run_id = rc.run_id and t.first_90k >= {F} - 162000000 and t.first_90k < {T} \
                     and t.last_90k >= {F} and t.last_90k - t.first_90k <= 162000000"
                ),
            ),
            select(
                "",
                "",
                // Named: with a class, the planner would rather take `track_by_class_time`, unbounded below here.
                "track t indexed by track_long_by_run_last",
                &format!(
                    "t.run_id = rc.run_id and t.last_90k - t.first_90k > 162000000 and t.last_90k >= {F} \
                     and t.first_90k < {T}"
                ),
            ),
        ),
    };
    // Wall-clock start, run, track.
    sql.push_str(" order by 6, 1, 2 limit ?9");
    // Every parameter is bound, used or not: ?9 is always used, so SQLite counts nine parameters and binding one
    // the statement leaves out is harmless.
    let limit = i64::from(q.limit.unwrap_or(1000));
    let values: [(usize, Value); 9] = [
        (1, to.into()),
        (2, from.into()),
        (3, cams_json.into()),
        (4, classes_json.into()),
        (5, q.colour.clone().map_or(Value::Null, Into::into)),
        (6, q.zone.clone().map_or(Value::Null, Into::into)),
        (7, q.line.clone().map_or(Value::Null, Into::into)),
        (8, q.min_dwell_ms.map_or(Value::Null, Into::into)),
        (9, limit.into()),
    ];
    Ok(Some((sql, values)))
}

impl Store {
    /// The query plan of [`Store::search_tracks`] for `q` (SQLite's `EXPLAIN QUERY PLAN`, one line per step, the
    /// detail column), empty when the window is empty. Tests and `vigie bench search` check that every table is
    /// reached through an index.
    pub fn explain_search(&self, case: &Case, q: &TrackQuery, now_unix_ms: i64) -> Result<Vec<String>> {
        let Some((sql, values)) = search_sql(case, q, now_unix_ms)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self
            .conn
            .prepare(&format!("explain query plan {sql}"))
            .sql(|| "preparing a track search plan".into())?;
        for (i, v) in values {
            stmt.raw_bind_parameter(i, v)
                .sql(|| "binding a search parameter".into())?;
        }
        let mut rows = stmt.raw_query();
        let mut plan = Vec::new();
        while let Some(r) = rows.next().sql(|| "explaining a track search".into())? {
            plan.push(r.get(3).sql(|| "reading a plan step".into())?);
        }
        Ok(plan)
    }

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
                 opened_by, created_unix_ms, expires_unix_ms, plates_allowed) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    c.reference,
                    c.authority,
                    cams,
                    c.from_unix_ms,
                    c.to_unix_ms,
                    inv,
                    c.opened_by,
                    c.created_unix_ms,
                    c.expires_unix_ms,
                    c.plates_allowed
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
        let Some((sql, values)) = search_sql(case, q, now_unix_ms)? else {
            return Ok(Vec::new());
        };
        let mut stmt = self.conn.prepare(&sql).sql(|| "preparing a track search".into())?;
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

/// An evidence export made inside a case (table `case_export`, schema version 8).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CaseExport {
    pub id: i64,
    pub case_reference: String,
    /// The export's folder, absolute.
    pub path: String,
    pub made_unix_ms: i64,
    pub files: Vec<String>,
    /// When retention deleted the folder (the case had expired).
    pub deleted_unix_ms: Option<i64>,
}

const EXPORT_COLUMNS: &str = "x.id, c.reference, x.path, x.made_unix_ms, x.files, x.deleted_unix_ms from case_export x \
     join review_case c on c.id = x.case_id";

fn read_export(r: &rusqlite::Row<'_>) -> rusqlite::Result<(CaseExport, String)> {
    Ok((
        CaseExport {
            id: r.get(0)?,
            case_reference: r.get(1)?,
            path: r.get(2)?,
            made_unix_ms: r.get(3)?,
            files: Vec::new(),
            deleted_unix_ms: r.get(5)?,
        },
        r.get(4)?,
    ))
}

fn finish_export((mut x, files): (CaseExport, String)) -> Result<CaseExport> {
    x.files = serde_json::from_str(&files).map_err(|e| err!(Database, "case export {}: files: {e}", x.id))?;
    Ok(x)
}

impl Store {
    /// Records an export made in `case`, which must be open at `now` (an export of a closed or expired case is
    /// refused, [`vigie_core::ErrorKind::InvalidArgument`]). `path` is the export's folder, absolute: retention
    /// deletes it when the case expires, from wherever it runs.
    pub fn record_case_export(&mut self, case: &Case, path: &str, files: &[String], now_unix_ms: i64) -> Result<i64> {
        case.require_open(now_unix_ms)?;
        if !std::path::Path::new(path).is_absolute() {
            bail!(InvalidArgument, "an export's folder is recorded absolute, not {path:?}");
        }
        let files_json = serde_json::to_string(files).map_err(|e| err!(Internal, "serialising export files: {e}"))?;
        self.conn
            .execute(
                "insert into case_export (case_id, path, made_unix_ms, files) values (?, ?, ?, ?)",
                params![case.id, path, now_unix_ms, files_json],
            )
            .sql(|| format!("recording an export of case {:?}", case.reference))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The exports made in case `reference` (deleted ones included), oldest first.
    pub fn case_exports(&self, reference: &str) -> Result<Vec<CaseExport>> {
        let mut stmt = self
            .conn
            .prepare(&format!("select {EXPORT_COLUMNS} where c.reference = ? order by x.id"))
            .sql(|| "listing case exports".into())?;
        let rows = stmt
            .query_map([reference], read_export)
            .sql(|| "listing case exports".into())?
            .collect::<rusqlite::Result<Vec<_>>>()
            .sql(|| "listing case exports".into())?;
        rows.into_iter().map(finish_export).collect()
    }

    /// Deletes the exports whose case has expired at `now` and records when (`case_export.deleted_unix_ms`); run by
    /// [`Store::apply_retention`]. Only what the export wrote goes: its recorded files, then its folder when that
    /// leaves it empty (a folder holding anything else is kept, and said in `failures`). A file already gone counts
    /// as deleted; a file that cannot be removed leaves the export for the next pass, said in `failures`. Returns
    /// the exports deleted.
    pub fn expire_case_exports(&mut self, now_unix_ms: i64, failures: &mut Vec<String>) -> Result<Vec<CaseExport>> {
        let due = {
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "select {EXPORT_COLUMNS} where x.deleted_unix_ms is null and c.expires_unix_ms <= ? order by x.id"
                ))
                .sql(|| "selecting expired case exports".into())?;
            let rows = stmt
                .query_map([now_unix_ms], read_export)
                .sql(|| "selecting expired case exports".into())?
                .collect::<rusqlite::Result<Vec<_>>>()
                .sql(|| "selecting expired case exports".into())?;
            rows.into_iter().map(finish_export).collect::<Result<Vec<_>>>()?
        };
        let mut deleted = Vec::new();
        for mut x in due {
            // Only what the export wrote: its recorded files, then the folder if that leaves it empty. A name
            // that is not a plain file name is never followed.
            let dir = std::path::Path::new(&x.path);
            let mut failed = None;
            for f in &x.files {
                let plain = std::path::Path::new(f).file_name().is_some_and(|n| n == f.as_str());
                if !plain {
                    failed = Some(format!("{f:?} is not a file name"));
                    break;
                }
                match std::fs::remove_file(dir.join(f)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        failed = Some(format!("removing {f}: {e}"));
                        break;
                    }
                }
            }
            if let Some(why) = failed {
                failures.push(format!(
                    "export {} of case {} in {}: {why}; kept for the next pass",
                    x.id, x.case_reference, x.path
                ));
                continue;
            }
            match std::fs::remove_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(_) => failures.push(format!(
                    "export {} of case {}: its files are deleted; {} holds other files and is kept",
                    x.id, x.case_reference, x.path
                )),
            }
            let at = now_unix_ms.max(x.made_unix_ms);
            self.conn
                .execute(
                    "update case_export set deleted_unix_ms = ? where id = ?",
                    params![at, x.id],
                )
                .sql(|| format!("recording the deletion of export {}", x.id))?;
            x.deleted_unix_ms = Some(at);
            deleted.push(x);
        }
        Ok(deleted)
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
            plates_allowed: false,
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
            plates_allowed: false,
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

    #[test]
    fn a_case_says_whether_plate_searches_are_allowed() {
        let mut s = Store::open_in_memory().unwrap();
        let without = case(&mut s, "PV-NO-PLATES", &["street"], T0, T0 + 1);
        assert!(!without.plates_allowed, "no plate search unless the order allows it");
        let with = s
            .open_case(&NewCase {
                reference: "PV-PLATES".into(),
                authority: "TJ".into(),
                cameras: vec!["street".into()],
                from_unix_ms: T0,
                to_unix_ms: T0 + 1,
                investigators: vec!["ines".into()],
                opened_by: "x".into(),
                created_unix_ms: T0,
                expires_unix_ms: T0 + DAY,
                plates_allowed: true,
            })
            .unwrap();
        assert!(with.plates_allowed);
        assert!(s.case("PV-PLATES").unwrap().unwrap().plates_allowed);
        let listed: Vec<(String, bool)> = s
            .cases()
            .unwrap()
            .into_iter()
            .map(|c| (c.reference, c.plates_allowed))
            .collect();
        assert_eq!(
            listed,
            [("PV-PLATES".to_string(), true), ("PV-NO-PLATES".to_string(), false)]
        );
        // The schema refuses anything but 0 and 1.
        assert!(
            s.conn
                .execute(
                    "update review_case set plates_allowed = 2 where reference = 'PV-PLATES'",
                    []
                )
                .is_err()
        );
    }

    // ---- schema version 8: search plans, case exports ----

    /// A file database of `n` synthetic tracks (100 cameras, 30 days) and a case covering all of it.
    fn synthetic_store(n: u64, session_days: u32) -> (tempfile::TempDir, Store, Case) {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(&dir.path().join("vigie.db")).unwrap();
        let spec = crate::SyntheticSpec {
            tracks: n,
            cameras: 100,
            days: 30,
            session_days,
            start_unix_ms: T0,
            seed: 7,
        };
        assert_eq!(s.fill_synthetic(&spec, &mut |_| {}).unwrap(), n);
        let cameras: Vec<String> = (0..100).map(crate::synthetic_camera).collect();
        let c = s
            .open_case(&NewCase {
                reference: "BENCH-1".into(),
                authority: "TJ".into(),
                cameras,
                from_unix_ms: T0,
                to_unix_ms: T0 + 30 * DAY,
                investigators: vec!["ines".into()],
                opened_by: "test".into(),
                created_unix_ms: T0,
                expires_unix_ms: T0 + 365 * DAY,
                plates_allowed: false,
            })
            .unwrap();
        (dir, s, c)
    }

    fn typical_queries(day: i64, cam: u32) -> Vec<(&'static str, TrackQuery, &'static str)> {
        crate::synthetic_typical_queries(T0, 100, day, cam)
    }

    #[test]
    fn every_typical_search_uses_indexes_only() {
        // Not timed (`vigie bench search` is): a lost index or a plan that scans `track` fails here.
        let (_dir, s, c) = synthetic_store(50_000, 1);
        for (name, q, index) in typical_queries(12, 42) {
            let plan = s.explain_search(&c, &q, T0 + 1).unwrap();
            let scans: Vec<&String> = plan
                .iter()
                .filter(|l| l.starts_with("SCAN") && !l.contains("VIRTUAL TABLE"))
                .collect();
            assert!(scans.is_empty(), "{name}: full scans {scans:?} in {plan:#?}");
            assert!(
                plan.iter().any(|l| l.contains(index)),
                "{name}: {index} unused: {plan:#?}"
            );
            // Tracks are reached within a run, through a bounded range or by key: never every track of a class.
            for l in plan.iter().filter(|l| l.starts_with("SEARCH t ")) {
                assert!(
                    l.contains("run_id=?")
                        && (l.contains("first_90k>") || l.contains("last_90k>") || l.contains("track_id=?")),
                    "{name}: {l}: {plan:#?}"
                );
            }
        }
        // Without a class, the first branch goes through `track_by_run_first`.
        let q = TrackQuery {
            cameras: vec![crate::synthetic_camera(3)],
            from_unix_ms: Some(T0 + 4 * DAY),
            to_unix_ms: Some(T0 + 5 * DAY),
            ..TrackQuery::default()
        };
        let plan = s.explain_search(&c, &q, T0 + 1).unwrap();
        assert!(plan.iter().any(|l| l.contains("track_by_run_first")), "{plan:#?}");
        assert!(plan.iter().any(|l| l.contains("track_long_by_run_last")), "{plan:#?}");
    }

    #[test]
    fn the_indexed_search_finds_what_a_plain_filter_finds() {
        // Daily sessions, and one 30-day session per camera (a run that spans the window and much more).
        for (sessions, (_dir, s, c)) in [1, 30].map(|d| (d, synthetic_store(100_000, d))) {
            for (name, q, _) in typical_queries(3, 10) {
                let name = format!("{name}, sessions of {sessions} days");
                // Wider than typical (20 cameras, 3 days), so that each query finds something in this small database.
                let q = TrackQuery {
                    cameras: (10..30).map(crate::synthetic_camera).collect(),
                    from_unix_ms: q.from_unix_ms.map(|f| f - DAY),
                    to_unix_ms: q.to_unix_ms.map(|t| t + DAY),
                    ..q
                };
                let got: Vec<(i64, u64)> = s
                    .search_tracks(&c, &q, T0 + 1)
                    .unwrap()
                    .iter()
                    .map(|h| (h.run, h.track_id))
                    .collect();
                // The same filter written plainly over every track (version 7's expressions), no index needed.
                let (from, to) = (q.from_unix_ms.unwrap(), q.to_unix_ms.unwrap());
                let mut stmt = s
                    .conn
                    .prepare(
                        "select t.run_id, t.track_id from track t join run_camera rc on rc.run_id = t.run_id \
                     left join track_colour tc on tc.run_id = t.run_id and tc.track_id = t.track_id \
                     where rc.media_zero_unix_ms + t.first_90k / 90 < ?1 \
                       and rc.media_zero_unix_ms + t.last_90k / 90 >= ?2 \
                       and rc.camera in (select value from json_each(?3)) \
                       and (?4 = '[]' or t.class in (select value from json_each(?4))) \
                       and (?5 is null or tc.colour = ?5) \
                       and (?6 is null or exists (select 1 from event_track et join event e on e.id = et.event_id \
                            where e.run_id = t.run_id and et.track_id = t.track_id and e.zone = ?6)) \
                       and (?7 is null or exists (select 1 from event_track et join event e on e.id = et.event_id \
                            where e.run_id = t.run_id and et.track_id = t.track_id and e.line = ?7)) \
                       and (?8 is null or (t.last_90k - t.first_90k) / 90 >= ?8) \
                     order by rc.media_zero_unix_ms + t.first_90k / 90, t.run_id, t.track_id",
                    )
                    .unwrap();
                let want: Vec<(i64, u64)> = stmt
                    .query_map(
                        params![
                            to,
                            from,
                            serde_json::to_string(&q.cameras).unwrap(),
                            serde_json::to_string(&q.classes).unwrap(),
                            q.colour,
                            q.zone,
                            q.line,
                            q.min_dwell_ms
                        ],
                        |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64)),
                    )
                    .unwrap()
                    .map(|r| r.unwrap())
                    .collect();
                assert!(!want.is_empty(), "{name}: the synthetic data has matches");
                assert_eq!(got, want, "{name}");
            }
        }
    }

    #[test]
    fn exports_are_recorded_only_in_open_cases_and_deleted_when_the_case_expires() {
        let tmp = tempfile::tempdir().unwrap();
        let mut s = Store::open(&tmp.path().join("vigie.db")).unwrap();
        let c = case(&mut s, "PV-EXP", &["street"], T0, T0 + DAY); // expires at T0 + 365 days
        let keep = case(&mut s, "PV-KEEP", &["street"], T0, T0 + DAY);
        let export_dir = |name: &str| {
            let d = tmp.path().join(name);
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("clip.mp4"), b"mp4").unwrap();
            std::fs::write(d.join("manifest.json"), b"{}").unwrap();
            d.to_str().unwrap().to_owned()
        };
        let files = vec![
            "clip.mp4".to_owned(),
            "manifest.json".to_owned(),
            "manifest.sig".to_owned(), // never written here: a file already gone counts as deleted
        ];
        let a = export_dir("export-a");
        let b = export_dir("export-b");
        // An export written into a folder that holds something else too.
        let shared = export_dir("shared");
        std::fs::write(tmp.path().join("shared/notes.txt"), b"not Vigie's").unwrap();
        s.record_case_export(&c, &a, &files, T0 + 10).unwrap();
        s.record_case_export(&c, &shared, &files, T0 + 11).unwrap();
        s.record_case_export(&keep, &b, &files, T0 + 12).unwrap();
        // A recorded name that is not a plain file name is never followed.
        s.record_case_export(&c, &a, &["../vigie.db".to_owned()], T0 + 13)
            .unwrap();
        let e = s.record_case_export(&c, "relative/dir", &files, T0 + 13).unwrap_err();
        assert_eq!(e.kind(), vigie_core::ErrorKind::InvalidArgument);
        // Refused in a closed or an expired case.
        let e = s.record_case_export(&c, &a, &files, T0 + 366 * DAY).unwrap_err();
        assert!(e.to_string().contains("expired"), "{e}");
        let closed = s.close_case("PV-KEEP", T0 + 20).unwrap();
        let e = s.record_case_export(&closed, &b, &files, T0 + 21).unwrap_err();
        assert!(e.to_string().contains("closed"), "{e}");
        assert_eq!(s.case_exports("PV-EXP").unwrap().len(), 3);

        // Before the expiry nothing goes, closed case included.
        let mut failures = Vec::new();
        assert!(s.expire_case_exports(T0 + 364 * DAY, &mut failures).unwrap().is_empty());
        assert!(failures.is_empty());
        // Both cases expire at T0 + 365 days; retention (the segments' pass, then the exports') deletes them.
        let rec = crate::RecordingDir::open(&tmp.path().join("recordings")).unwrap();
        let report = s
            .apply_retention(&rec, T0 + 365 * DAY, &crate::RetentionPolicy::default())
            .unwrap();
        let gone: Vec<&str> = report.expired_exports.iter().map(|x| x.path.as_str()).collect();
        assert_eq!(gone, [a.as_str(), shared.as_str(), b.as_str()]);
        assert!(!std::path::Path::new(&a).exists() && !std::path::Path::new(&b).exists());
        // The shared folder loses the export's files only.
        assert!(!std::path::Path::new(&shared).join("clip.mp4").exists());
        assert!(std::path::Path::new(&shared).join("notes.txt").exists());
        assert!(tmp.path().join("vigie.db").exists());
        assert_eq!(report.failures.len(), 2, "{:?}", report.failures);
        assert!(
            report.failures[0].contains("holds other files"),
            "{:?}",
            report.failures
        );
        assert!(report.failures[1].contains("not a file name"), "{:?}", report.failures);
        let rows = s.case_exports("PV-EXP").unwrap();
        assert_eq!(rows[0].deleted_unix_ms, Some(T0 + 365 * DAY));
        assert_eq!(rows[0].files, files);
        assert_eq!(rows[1].deleted_unix_ms, Some(T0 + 365 * DAY));
        assert_eq!(rows[2].deleted_unix_ms, None, "kept for the next pass");
        // A second pass deletes nothing more.
        let mut failures = Vec::new();
        assert!(s.expire_case_exports(T0 + 366 * DAY, &mut failures).unwrap().is_empty());
        assert_eq!(failures.len(), 1);
        // The case stays, refusing searches.
        assert!(s.search_tracks(&c, &TrackQuery::default(), T0 + 365 * DAY).is_err());
    }
}
