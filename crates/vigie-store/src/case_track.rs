//! One stored track seen from inside a review case (issue 8): what the console needs to show a search hit's
//! thumbnail (its best box, the wall-clock time of that box, where the run's snapshots are). Gated like
//! [`Store::search_tracks`]: the case must be open, the track's camera one of the case's and its time inside the
//! case's window; otherwise `None`, as for a track that does not exist.

use rusqlite::OptionalExtension;
use vigie_core::{BBox, Result, err};

use crate::review::Case;
use crate::{SqlResultExt, Store};

/// A track of a case, with its best box.
#[derive(Clone, Debug, PartialEq)]
pub struct CaseTrack {
    pub run: i64,
    pub track_id: u64,
    pub camera: String,
    pub class: String,
    pub first_unix_ms: i64,
    pub last_unix_ms: i64,
    /// Wall-clock time of the best box.
    pub best_unix_ms: i64,
    /// The best box, source pixels.
    pub best_box: BBox,
    /// The run's output folder, when it wrote one (`snapshots/track-NNNN-<class>.jpg` in it).
    pub output_dir: Option<String>,
}

impl Store {
    /// Track `track_id` of run `run` when `case` is open at `now_unix_ms` and the track lies on one of its cameras
    /// and overlaps its window; `None` otherwise (and for an unknown or still open track).
    pub fn case_track(&self, case: &Case, run: i64, track_id: u64, now_unix_ms: i64) -> Result<Option<CaseTrack>> {
        if !case.is_open(now_unix_ms) {
            return Ok(None);
        }
        let Ok(track) = i64::try_from(track_id) else {
            return Ok(None);
        };
        let what = || format!("reading track {track_id} of run {run}");
        let row = self
            .conn
            .query_row(
                "select rc.camera, t.class, rc.media_zero_unix_ms + t.first_90k / 90, \
                        rc.media_zero_unix_ms + t.last_90k / 90, rc.media_zero_unix_ms + t.best_90k / 90, \
                        t.best_x1, t.best_y1, t.best_x2, t.best_y2, rc.output_dir \
                 from track t join run_camera rc on rc.run_id = t.run_id \
                 where t.run_id = ?1 and t.track_id = ?2 and t.class is not null",
                rusqlite::params![run, track],
                |r| {
                    Ok(CaseTrack {
                        run,
                        track_id,
                        camera: r.get(0)?,
                        class: r.get(1)?,
                        first_unix_ms: r.get(2)?,
                        last_unix_ms: r.get(3)?,
                        best_unix_ms: r.get(4)?,
                        best_box: BBox {
                            x1: r.get(5)?,
                            y1: r.get(6)?,
                            x2: r.get(7)?,
                            y2: r.get(8)?,
                        },
                        output_dir: r.get(9)?,
                    })
                },
            )
            .optional()
            .sql(what)?;
        let Some(t) = row else { return Ok(None) };
        if t.last_unix_ms < t.first_unix_ms {
            return Err(err!(Database, "track {track_id} of run {run} ends before it starts"));
        }
        let inside = case.cameras.contains(&t.camera)
            && t.first_unix_ms < case.to_unix_ms
            && t.last_unix_ms >= case.from_unix_ms;
        Ok(inside.then_some(t))
    }
}

#[cfg(test)]
mod tests {
    use vigie_core::{Time90k, TrackId, TrackSummary};

    use super::*;
    use crate::{NewCase, NewRun, SourceKind};

    const T0: i64 = 1_750_000_000_000;

    #[test]
    fn a_track_is_seen_only_inside_its_case() {
        let mut s = Store::open_in_memory().unwrap();
        let run = s
            .begin_run(&NewRun {
                source: "cam.mp4".into(),
                source_kind: SourceKind::File,
                started_unix_ms: T0,
                analysis_fps: 5.0,
                width: 640,
                height: 480,
                model: "m".into(),
            })
            .unwrap();
        {
            let id = TrackId(std::num::NonZeroU64::new(3).unwrap());
            let b = BBox::new(10.0, 20.0, 110.0, 80.0);
            let mut w = s.writer(run);
            w.push_box(id, Time90k(90_000), b, 0.9).unwrap();
            w.push_box(id, Time90k(5 * 90_000), b, 0.8).unwrap();
            w.end_track(&TrackSummary {
                track_id: id,
                class: "car".into(),
                class_confidence: 1.0,
                first: Time90k(90_000),
                last: Time90k(5 * 90_000),
                frames: 2,
                max_score: 0.9,
                best_box: b,
                best: Time90k(2 * 90_000),
            })
            .unwrap();
            w.finish().unwrap();
        }
        s.set_run_camera(run, "cam", T0, Some("out")).unwrap();
        let open = |s: &mut Store, r: &str, cams: &[&str], from: i64, to: i64| {
            s.open_case(&NewCase {
                reference: r.into(),
                authority: "court".into(),
                cameras: cams.iter().map(|c| (*c).to_owned()).collect(),
                from_unix_ms: from,
                to_unix_ms: to,
                investigators: vec!["inv".into()],
                opened_by: "admin".into(),
                created_unix_ms: T0,
                expires_unix_ms: T0 + 86_400_000,
                plates_allowed: false,
            })
            .unwrap()
        };
        let c = open(&mut s, "A", &["cam"], T0, T0 + 60_000);
        let t = s.case_track(&c, run.0, 3, T0).unwrap().expect("inside the case");
        assert_eq!(t.camera, "cam");
        assert_eq!(t.best_unix_ms, T0 + 2000);
        assert_eq!((t.first_unix_ms, t.last_unix_ms), (T0 + 1000, T0 + 5000));
        assert_eq!(t.best_box.x2, 110.0);
        assert_eq!(t.output_dir.as_deref(), Some("out"));
        assert!(s.case_track(&c, run.0, 4, T0).unwrap().is_none(), "unknown track");
        assert!(s.case_track(&c, run.0 + 1, 3, T0).unwrap().is_none(), "unknown run");
        let other_cam = open(&mut s, "B", &["elsewhere"], T0, T0 + 60_000);
        assert!(
            s.case_track(&other_cam, run.0, 3, T0).unwrap().is_none(),
            "camera outside the case"
        );
        let later = open(&mut s, "C", &["cam"], T0 + 6000, T0 + 60_000);
        assert!(
            s.case_track(&later, run.0, 3, T0).unwrap().is_none(),
            "before the case's window"
        );
        assert!(
            s.case_track(&c, run.0, 3, T0 + 2 * 86_400_000).unwrap().is_none(),
            "expired case"
        );
    }
}
