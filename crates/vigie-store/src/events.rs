//! Situation-analysis events: written as the rule engine raises, updates and ends them.

use rusqlite::{OptionalExtension, params};
use vigie_core::{BBox, Result, Time90k, TrackId, err};

use crate::{RunId, SqlResultExt, Store, to_i64};

/// An event as stored; `kind` is the engine's type name (`intrusion`, `wrong_way`, ...), checked by the schema.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRow {
    pub id: String,
    pub kind: String,
    pub camera: String,
    pub rule: String,
    pub zone: Option<String>,
    pub line: Option<String>,
    pub start: Time90k,
    pub end: Option<Time90k>,
    pub confidence: f32,
    pub bbox: Option<BBox>,
    pub detail: String,
    pub snapshot: Option<String>,
    pub clip_start: Time90k,
    pub clip_end: Time90k,
    pub track_ids: Vec<TrackId>,
}

impl Store {
    /// Inserts an event, or updates it when its id is known: the end, the confidence (kept at its highest), the
    /// clip's end and the tracks involved (added, never removed). The first-written `detail`, box and snapshot
    /// stay: they describe the moment the event started. One transaction.
    pub fn save_event(&mut self, run: RunId, e: &EventRow) -> Result<()> {
        save_event(&mut self.conn, run, e)
    }
}

/// [`Store::save_event`] on a connection (the track writer holds the store's connection while a run goes on).
pub(crate) fn save_event(conn: &mut rusqlite::Connection, run: RunId, e: &EventRow) -> Result<()> {
    {
        let what = || format!("saving event {}", e.id);
        if !e.confidence.is_finite() || !(0.0..=1.0).contains(&e.confidence) {
            return Err(err!(
                InvalidArgument,
                "event {}: confidence {} is not within 0..1",
                e.id,
                e.confidence
            ));
        }
        if let Some(b) = e.bbox
            && !b.is_finite()
        {
            return Err(err!(InvalidArgument, "event {}: non-finite box", e.id));
        }
        let tx = conn.transaction().sql(what)?;
        let exists: Option<i64> = tx
            .query_row("select run_id from event where id = ?", [&e.id], |r| r.get(0))
            .optional()
            .sql(what)?;
        match exists {
            Some(r) if r != run.0 => {
                return Err(err!(InvalidArgument, "event {} belongs to run {r}, not {run}", e.id));
            }
            Some(_) => {
                tx.execute(
                    "update event set end_90k = ?, confidence = max(confidence, ?), clip_end_90k = max(clip_end_90k, ?)
                     where id = ?",
                    params![e.end.map(|t| t.0), e.confidence, e.clip_end.0, e.id],
                )
                .sql(what)?;
            }
            None => {
                let (x1, y1, x2, y2) = match e.bbox {
                    Some(b) => (Some(b.x1), Some(b.y1), Some(b.x2), Some(b.y2)),
                    None => (None, None, None, None),
                };
                tx.execute(
                    "insert into event (id, run_id, kind, camera, rule, zone, line, start_90k, end_90k, confidence,
                                        x1, y1, x2, y2, detail, snapshot, clip_start_90k, clip_end_90k)
                     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    params![
                        e.id,
                        run.0,
                        e.kind,
                        e.camera,
                        e.rule,
                        e.zone,
                        e.line,
                        e.start.0,
                        e.end.map(|t| t.0),
                        e.confidence,
                        x1,
                        y1,
                        x2,
                        y2,
                        e.detail,
                        e.snapshot,
                        e.clip_start.0,
                        e.clip_end.0
                    ],
                )
                .sql(what)?;
            }
        }
        for t in &e.track_ids {
            tx.execute(
                "insert or ignore into event_track (event_id, track_id) values (?, ?)",
                params![e.id, to_i64(t.get(), "track id")?],
            )
            .sql(what)?;
        }
        tx.commit().sql(what)
    }
}

impl Store {
    /// The events of a run, by start time then id.
    pub fn events(&self, run: RunId) -> Result<Vec<EventRow>> {
        let what = || format!("reading the events of run {run}");
        let mut stmt = self
            .conn
            .prepare_cached(
                "select id, kind, camera, rule, zone, line, start_90k, end_90k, confidence, x1, y1, x2, y2, detail,
                        snapshot, clip_start_90k, clip_end_90k
                 from event where run_id = ? order by start_90k, id",
            )
            .sql(what)?;
        let mut rows: Vec<EventRow> = stmt
            .query_map([run.0], |r| {
                let x1: Option<f32> = r.get(9)?;
                let bbox = match x1 {
                    Some(x1) => Some(BBox {
                        x1,
                        y1: r.get(10)?,
                        x2: r.get(11)?,
                        y2: r.get(12)?,
                    }),
                    None => None,
                };
                Ok(EventRow {
                    id: r.get(0)?,
                    kind: r.get(1)?,
                    camera: r.get(2)?,
                    rule: r.get(3)?,
                    zone: r.get(4)?,
                    line: r.get(5)?,
                    start: Time90k(r.get(6)?),
                    end: r.get::<_, Option<i64>>(7)?.map(Time90k),
                    confidence: r.get(8)?,
                    bbox,
                    detail: r.get(13)?,
                    snapshot: r.get(14)?,
                    clip_start: Time90k(r.get(15)?),
                    clip_end: Time90k(r.get(16)?),
                    track_ids: Vec::new(),
                })
            })
            .sql(what)?
            .collect::<rusqlite::Result<_>>()
            .sql(what)?;
        let mut tstmt = self
            .conn
            .prepare_cached("select track_id from event_track where event_id = ? order by track_id")
            .sql(what)?;
        for e in &mut rows {
            let ids: Vec<i64> = tstmt
                .query_map([&e.id], |r| r.get(0))
                .sql(what)?
                .collect::<rusqlite::Result<_>>()
                .sql(what)?;
            e.track_ids = ids
                .into_iter()
                .filter_map(|i| u64::try_from(i).ok().and_then(std::num::NonZeroU64::new).map(TrackId))
                .collect();
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NewRun, SourceKind};

    fn run(store: &mut Store) -> RunId {
        store
            .begin_run(&NewRun {
                source: "clip.mp4".into(),
                source_kind: SourceKind::File,
                started_unix_ms: 1,
                analysis_fps: 5.0,
                width: 768,
                height: 576,
                model: "m".into(),
            })
            .unwrap()
    }

    fn ev() -> EventRow {
        EventRow {
            id: "ev-0123456789abcdef".into(),
            kind: "intrusion".into(),
            camera: "cam".into(),
            rule: "r".into(),
            zone: Some("z".into()),
            line: None,
            start: Time90k(90_000),
            end: None,
            confidence: 0.6,
            bbox: Some(BBox::new(1.0, 2.0, 3.0, 4.0)),
            detail: "1 (person) in zone z".into(),
            snapshot: Some("events/ev.jpg".into()),
            clip_start: Time90k(0),
            clip_end: Time90k(180_000),
            track_ids: vec![TrackId(std::num::NonZeroU64::new(3).unwrap())],
        }
    }

    #[test]
    fn start_update_end_round_trip() {
        let mut s = Store::open_in_memory().unwrap();
        let r = run(&mut s);
        let mut e = ev();
        s.save_event(r, &e).unwrap();
        e.track_ids.push(TrackId(std::num::NonZeroU64::new(5).unwrap()));
        e.confidence = 0.9;
        e.end = Some(Time90k(450_000));
        e.clip_end = Time90k(900_000);
        e.detail = "changed".into();
        s.save_event(r, &e).unwrap();
        let got = s.events(r).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].end, Some(Time90k(450_000)));
        assert_eq!(got[0].confidence, 0.9);
        assert_eq!(got[0].detail, "1 (person) in zone z", "the starting description stays");
        assert_eq!(got[0].track_ids.len(), 2);
        s.integrity_check().unwrap();
    }

    #[test]
    fn schema_refuses_an_unlawful_kind() {
        let mut s = Store::open_in_memory().unwrap();
        let r = run(&mut s);
        let mut e = ev();
        e.kind = "face_match".into();
        let err = s.save_event(r, &e).unwrap_err();
        assert_eq!(err.kind(), vigie_core::ErrorKind::Database);
        assert!(s.events(r).unwrap().is_empty());
    }
}
