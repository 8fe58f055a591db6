//! Tests of the whole crate: they use the private connection to build old databases and to inject faults.

use std::num::NonZeroU64;
use std::path::Path;

use proptest::prelude::*;
use rusqlite::Connection;
use vigie_core::{BBox, ErrorKind, Time90k, TrackId};

use crate::*;

fn tid(n: u64) -> TrackId {
    TrackId(NonZeroU64::new(n).unwrap())
}

fn new_run(source: &str) -> NewRun {
    NewRun {
        source: source.into(),
        source_kind: SourceKind::File,
        started_unix_ms: 1_700_000_000_000,
        analysis_fps: 10.0,
        width: 1920,
        height: 1080,
        model: "nanodet-plus-m_416.onnx sha256:0123abcd".into(),
    }
}

/// The box of track `track` in frame `i`: distinct per track and frame, with fractional coordinates.
fn box_at(track: u64, i: i64) -> BBox {
    let x = track as f32 * 100.0 + i as f32 * 0.25;
    BBox::new(x, 10.5 + i as f32, x + 40.125, 90.0 + i as f32)
}

fn score_at(track: u64, i: i64) -> f32 {
    ((track as i64 * 7 + i * 13) % 100) as f32 / 100.0
}

/// Frame `i` is at `i * 9000` (10 fps).
fn t(i: i64) -> Time90k {
    Time90k(i * 9000)
}

/// The summary matching `n` boxes pushed with [`box_at`] / [`score_at`] from frame `from`.
fn summary(track: u64, from: i64, n: i64) -> TrackSummary {
    let best_i = (from..from + n)
        .max_by(|&a, &b| score_at(track, a).total_cmp(&score_at(track, b)))
        .unwrap();
    TrackSummary {
        track_id: tid(track),
        class: ["car", "person"][(track % 2) as usize].into(),
        class_confidence: 0.75,
        first: t(from),
        last: t(from + n - 1),
        frames: n as u32,
        max_score: score_at(track, best_i),
        best_box: box_at(track, best_i),
        best: t(best_i),
    }
}

fn count(store: &Store, table: &str) -> i64 {
    store
        .conn
        .query_row(&format!("select count(*) from {table}"), [], |r| r.get(0))
        .unwrap()
}

fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigie.db");
    (dir, path)
}

#[test]
fn fresh_database_is_at_the_current_version() {
    let store = Store::open_in_memory().unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let uuid = store.instance_uuid().unwrap();
    assert_eq!(uuid.len(), 36);
    assert_eq!(&uuid[14..15], "4", "{uuid}");
    assert!(uuid.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{uuid}");
    store.integrity_check().unwrap();
    assert!(store.runs().unwrap().is_empty());
}

#[test]
fn store_is_send() {
    fn is_send<T: Send>() {}
    is_send::<Store>();
}

#[test]
fn pragmas_are_set() {
    let (_dir, path) = temp_db();
    let store = Store::open(&path).unwrap();
    let mode: String = store.conn.query_row("pragma journal_mode", [], |r| r.get(0)).unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = store.conn.query_row("pragma foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 1);
    let sync: i64 = store.conn.query_row("pragma synchronous", [], |r| r.get(0)).unwrap();
    assert_eq!(sync, 1); // NORMAL
    let busy: i64 = store.conn.query_row("pragma busy_timeout", [], |r| r.get(0)).unwrap();
    assert!(busy > 0);
}

#[test]
fn round_trip_of_a_run_with_3_tracks_of_100_boxes() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let run = store.begin_run(&new_run("entrance.mp4")).unwrap();
    {
        // A small batch so that tracks span several batches and go through open rows.
        let mut w = store.writer(run).with_batch_rows(64);
        for i in 0..100 {
            for track in 1..=3 {
                w.push_box(tid(track), t(i), box_at(track, i), score_at(track, i))
                    .unwrap();
            }
        }
        for track in 1..=3 {
            w.end_track(&summary(track, 0, 100)).unwrap();
        }
        w.finish().unwrap();
    }
    let fin = RunFinish {
        finished_unix_ms: 1_700_000_060_000,
        frames_decoded: 250,
        frames_analysed: 100,
        wall_ms: 60_000,
    };
    store.finish_run(run, &fin).unwrap();
    store.integrity_check().unwrap();
    drop(store);

    // Everything is read back from a fresh connection, exactly.
    let store = Store::open(&path).unwrap();
    let n = new_run("entrance.mp4");
    assert_eq!(
        store.runs().unwrap(),
        vec![RunRow {
            id: run,
            source: n.source,
            source_kind: n.source_kind,
            started_unix_ms: n.started_unix_ms,
            analysis_fps: n.analysis_fps,
            width: n.width,
            height: n.height,
            model: n.model,
            finish: Some(fin),
        }]
    );
    let tracks = store.tracks(run).unwrap();
    assert_eq!(tracks.len(), 3);
    for (row, track) in tracks.iter().zip(1..=3) {
        let s = summary(track, 0, 100);
        assert_eq!(
            *row,
            TrackRow {
                run,
                track_id: s.track_id,
                class: Some(s.class),
                class_confidence: Some(s.class_confidence),
                first: s.first,
                last: s.last,
                frames: s.frames,
                max_score: s.max_score,
                best_box: s.best_box,
                best: s.best,
            }
        );
        assert!(!row.is_open());
        let boxes = store.track_boxes(run, tid(track)).unwrap();
        let want: Vec<BoxRow> = (0..100)
            .map(|i| BoxRow {
                t: t(i),
                bbox: box_at(track, i),
                score: score_at(track, i),
            })
            .collect();
        assert_eq!(boxes, want);
    }
    assert!(store.track_boxes(run, tid(4)).unwrap().is_empty());
    assert!(store.tracks(RunId(run.0 + 1)).unwrap().is_empty());
    store.integrity_check().unwrap();
}

#[test]
fn batches_are_written_at_the_threshold() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    // A second connection, as a report or the web UI would have: it sees committed batches only.
    let reader = Store::open(&path).unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    let mut w = store.writer(run);
    for i in 0..(DEFAULT_BATCH_ROWS as i64 - 1) {
        w.push_box(tid(1), t(i), box_at(1, i), 0.5).unwrap();
    }
    assert_eq!(w.pending_rows(), DEFAULT_BATCH_ROWS - 1);
    assert_eq!(count(&reader, "track_box"), 0);
    assert!(reader.tracks(run).unwrap().is_empty());

    let last = DEFAULT_BATCH_ROWS as i64 - 1;
    w.push_box(tid(1), t(last), box_at(1, last), 0.9).unwrap();
    assert_eq!(w.pending_rows(), 0);
    assert_eq!(count(&reader, "track_box"), DEFAULT_BATCH_ROWS as i64);
    // The track has not ended: its row is open, computed from the boxes written.
    let rows = reader.tracks(run).unwrap();
    assert_eq!(rows.len(), 1);
    let open = &rows[0];
    assert!(open.is_open());
    assert_eq!(open.class_confidence, None);
    assert_eq!((open.first, open.last), (t(0), t(last)));
    assert_eq!(open.frames, DEFAULT_BATCH_ROWS as u32);
    assert_eq!(
        (open.max_score, open.best, open.best_box),
        (0.9, t(last), box_at(1, last))
    );

    // Below the threshold again; an explicit flush writes it.
    w.push_box(tid(1), t(last + 1), box_at(1, last + 1), 0.95).unwrap();
    w.push_box(tid(2), t(last + 1), box_at(2, last + 1), 0.1).unwrap();
    assert_eq!(count(&reader, "track_box"), DEFAULT_BATCH_ROWS as i64);
    w.flush().unwrap();
    assert_eq!(count(&reader, "track_box"), DEFAULT_BATCH_ROWS as i64 + 2);
    let rows = reader.tracks(run).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].frames, rows[0].last, rows[0].max_score),
        (DEFAULT_BATCH_ROWS as u32 + 1, t(last + 1), 0.95)
    );
    assert_eq!(rows[0].first, t(0));
    assert_eq!(rows[1].frames, 1);

    // The summary replaces the open row.
    w.end_track(&summary(1, 0, last + 2)).unwrap();
    w.finish().unwrap();
    let rows = reader.tracks(run).unwrap();
    assert_eq!(rows[0].class.as_deref(), Some("person"));
    assert_eq!(rows[0].class_confidence, Some(0.75));
    assert!(rows[1].is_open(), "track 2 never ended");
    reader.integrity_check().unwrap();
}

#[test]
fn dropping_the_writer_writes_the_buffer() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    {
        let mut w = store.writer(run);
        w.push_box(tid(1), t(0), box_at(1, 0), 0.5).unwrap();
        w.end_track(&summary(1, 0, 1)).unwrap();
    }
    assert_eq!(store.tracks(run).unwrap().len(), 1);
    assert_eq!(store.track_boxes(run, tid(1)).unwrap().len(), 1);
}

#[test]
fn invalid_values_are_refused_before_sqlite() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    {
        let mut w = store.writer(run);
        let good = box_at(1, 0);
        w.push_box(tid(1), t(5), good, 0.5).unwrap();
        let nan = BBox { x1: f32::NAN, ..good };
        let inf = BBox {
            y2: f32::INFINITY,
            ..good
        };
        let swapped = BBox {
            x1: good.x2,
            x2: good.x1,
            ..good
        };
        let bad_boxes = [
            (tid(2), t(0), nan, 0.5, "non-finite"),
            (tid(2), t(0), inf, 0.5, "non-finite"),
            (tid(2), t(0), swapped, 0.5, "swapped"),
            (tid(2), t(0), good, f32::NAN, "score"),
            (tid(2), t(0), good, 1.5, "score"),
            (tid(2), t(0), good, -0.1, "score"),
            (tid(1), t(5), good, 0.5, "not after"),
            (tid(1), t(4), good, 0.5, "not after"),
            (
                TrackId(NonZeroU64::new(u64::MAX).unwrap()),
                t(0),
                good,
                0.5,
                "does not fit",
            ),
        ];
        for (track, time, b, score, msg) in bad_boxes {
            let e = w.push_box(track, time, b, score).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            assert!(e.to_string().contains(msg), "{e}");
            assert_eq!(w.pending_rows(), 1);
        }

        let s = summary(1, 5, 1);
        let bad_summaries = [
            (
                TrackSummary {
                    last: t(4),
                    ..s.clone()
                },
                "before first",
            ),
            (
                TrackSummary {
                    max_score: 1.01,
                    ..s.clone()
                },
                "max score",
            ),
            (
                TrackSummary {
                    max_score: f32::NAN,
                    ..s.clone()
                },
                "max score",
            ),
            (
                TrackSummary {
                    class_confidence: f32::INFINITY,
                    ..s.clone()
                },
                "confidence",
            ),
            (
                TrackSummary {
                    class: String::new(),
                    ..s.clone()
                },
                "class",
            ),
            (TrackSummary { frames: 0, ..s.clone() }, "frames"),
            (
                TrackSummary {
                    best: t(6),
                    ..s.clone()
                },
                "best time",
            ),
            (
                TrackSummary {
                    best_box: BBox {
                        x2: f32::NAN,
                        ..s.best_box
                    },
                    ..s.clone()
                },
                "best box",
            ),
        ];
        for (bad, msg) in bad_summaries {
            let e = w.end_track(&bad).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            assert!(e.to_string().contains(msg), "{msg}: {e}");
            assert_eq!(w.pending_rows(), 1);
        }

        w.end_track(&s).unwrap();
        let e = w.end_track(&s).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("already ended"), "{e}");
        let e = w.push_box(tid(1), t(6), good, 0.5).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("already ended"), "{e}");
        w.finish().unwrap();
    }
    assert_eq!(count(&store, "track"), 1);
    assert_eq!(count(&store, "track_box"), 1);
    store.integrity_check().unwrap();

    for bad in [
        NewRun {
            analysis_fps: f64::NAN,
            ..new_run("a.mp4")
        },
        NewRun {
            analysis_fps: -1.0,
            ..new_run("a.mp4")
        },
        NewRun {
            width: 0,
            ..new_run("a.mp4")
        },
        new_run(""),
    ] {
        let e = store.begin_run(&bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert_eq!(store.runs().unwrap().len(), 1);
}

/// The schema's CHECK constraints refuse what the Rust checks would, should a value get past them: a
/// [`ErrorKind::Database`] error, and no row.
#[test]
fn check_constraints_back_up_the_rust_checks() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    let cols = "run_id, track_id, class, class_confidence, first_90k, last_90k, frames, max_score, \
                best_x1, best_y1, best_x2, best_y2, best_90k";
    let bad_tracks = [
        "1, 'car', 0.5, 100, 99, 1, 0.5, 0, 0, 1, 1, 100",     // last < first
        "1, 'car', 0.5, 100, 200, 1, 1.5, 0, 0, 1, 1, 100",    // max score > 1
        "1, 'car', 1.5, 100, 200, 1, 0.5, 0, 0, 1, 1, 100",    // class confidence > 1
        "1, 'car', 0.5, 100, 200, 0, 0.5, 0, 0, 1, 1, 100",    // no frames
        "0, 'car', 0.5, 100, 200, 1, 0.5, 0, 0, 1, 1, 100",    // track id 0
        "1, '', 0.5, 100, 200, 1, 0.5, 0, 0, 1, 1, 100",       // empty class
        "1, 'car', 0.5, 100, 200, 1, 0.5, 0, 0, 1, 1, 300",    // best outside first..last
        "1, 'car', 0.5, 100, 200, 1, 0.5, 2, 0, 1, 1, 100",    // x1 > x2
        "1, 'car', 0.5, 100, 200, 1, null, 0, 0, 1, 1, 100",   // NaN score, which SQLite would bind as NULL
        "1, 'car', 0.5, 100, 200, 1, 'high', 0, 0, 1, 1, 100", // STRICT: a text score
    ];
    for values in bad_tracks {
        let r = store
            .conn
            .execute(&format!("insert into track ({cols}) values ({}, {values})", run.0), [])
            .sql(|| "inserting a bad track".into());
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Database, "{values}: {e}");
        assert!(e.to_string().starts_with("inserting a bad track: "), "{e}");
    }
    assert_eq!(count(&store, "track"), 0);
    store
        .conn
        .execute(
            &format!(
                "insert into track ({cols}) values ({}, 1, 'car', 0.5, 100, 200, 1, 0.5, 0, 0, 1, 1, 100)",
                run.0
            ),
            [],
        )
        .unwrap();
    for values in [
        "100, 0, 0, 1, 1, 1.5",
        "100, 0, 0, 1, 1, -0.5",
        "100, 2, 0, 1, 1, 0.5",
        "100, 0, 0, 1, 1, null",
    ] {
        let e = store
            .conn
            .execute(&format!("insert into track_box values ({}, 1, {values})", run.0), [])
            .sql(|| "inserting a bad box".into())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Database, "{values}: {e}");
    }
    // A box of a track that does not exist.
    let e = store
        .conn
        .execute(
            &format!("insert into track_box values ({}, 2, 100, 0, 0, 1, 1, 0.5)", run.0),
            [],
        )
        .sql(|| "inserting an orphan box".into())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("FOREIGN KEY"), "{e}");
    assert_eq!(count(&store, "track_box"), 0);
    // A run finished at a time before it started, or half finished.
    for set in [
        "finished_unix_ms = 0, frames_decoded = 1, frames_analysed = 1, wall_ms = 1",
        "wall_ms = 5",
    ] {
        let e = store
            .conn
            .execute(&format!("update analysis_run set {set} where id = {}", run.0), [])
            .sql(|| "finishing a run badly".into())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Database, "{set}: {e}");
    }
    store.integrity_check().unwrap();
}

#[test]
fn a_failed_batch_rolls_back_entirely_and_earlier_batches_stay() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    {
        let mut w = store.writer(run);
        for i in 0..10 {
            w.push_box(tid(1), t(i), box_at(1, i), 0.5).unwrap();
        }
        w.flush().unwrap();
    }
    let before_tracks = store.tracks(run).unwrap();
    let before_boxes = store.track_boxes(run, tid(1)).unwrap();
    assert_eq!(before_boxes.len(), 10);
    {
        // A second writer (a resumed session, say) does not know what the first wrote: its batch holds a new track,
        // more boxes of track 1, the summary of track 1, and a box at a time track 1 already has, which the primary
        // key refuses when the batch is written.
        let mut w = store.writer(run);
        for i in 0..20 {
            w.push_box(tid(2), t(i), box_at(2, i), 0.7).unwrap();
        }
        w.push_box(tid(1), t(9), box_at(1, 9), 0.9).unwrap(); // the conflict
        w.push_box(tid(1), t(10), box_at(1, 10), 0.9).unwrap();
        w.end_track(&summary(1, 0, 11)).unwrap();
        let e = w.flush().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Database, "{e}");
        let msg = e.to_string();
        assert!(
            msg.contains("writing a batch of 1 track summaries and 22 boxes to run"),
            "{msg}"
        );
        assert!(msg.contains("box of track 1 at 81000"), "{msg}");
        assert!(msg.contains("UNIQUE"), "{msg}");
        // The failed rows were dropped: the writer goes on.
        assert_eq!(w.pending_rows(), 0);
        w.push_box(tid(3), t(0), box_at(3, 0), 0.2).unwrap();
        w.finish().unwrap();
    }
    let after = store.tracks(run).unwrap();
    assert_eq!(after.len(), 2);
    assert_eq!(
        after[0], before_tracks[0],
        "track 1 is as the first batch left it, open"
    );
    assert_eq!(after[1].track_id, tid(3));
    assert_eq!(store.track_boxes(run, tid(1)).unwrap(), before_boxes);
    assert!(store.track_boxes(run, tid(2)).unwrap().is_empty());
    store.integrity_check().unwrap();
}

#[test]
fn a_second_summary_of_a_track_is_refused() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    store.writer(run).end_track(&summary(1, 0, 1)).unwrap();
    let mut w = store.writer(run);
    w.end_track(&summary(1, 0, 1)).unwrap();
    let e = w.flush().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("already has a summary"), "{e}");
}

#[test]
fn writing_to_an_unknown_run_fails() {
    let mut store = Store::open_in_memory().unwrap();
    let mut w = store.writer(RunId(42));
    w.push_box(tid(1), t(0), box_at(1, 0), 0.5).unwrap();
    let e = w.flush().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("run 42"), "{e}");
    drop(w);
    assert_eq!(count(&store, "track"), 0);
}

/// A full disk, simulated with `max_page_count`: SQLite answers SQLITE_FULL exactly as when the disk is full.
#[test]
fn a_full_disk_is_an_io_error_and_keeps_committed_batches() {
    let (_dir, path) = temp_db();
    let mut store = Store::open(&path).unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    let pages: i64 = store.conn.query_row("pragma page_count", [], |r| r.get(0)).unwrap();
    store.conn.pragma_update(None, "max_page_count", pages + 8).unwrap();
    let mut committed = 0;
    let e = {
        let mut w = store.writer(run).with_batch_rows(100);
        let mut i = 0;
        loop {
            let r = w.push_box(tid(1), t(i), box_at(1, i), 0.5);
            i += 1;
            match r {
                Ok(()) if w.pending_rows() == 0 => committed = i,
                Ok(()) => {}
                Err(e) => break e,
            }
            assert!(i < 100_000, "the database never filled up");
        }
    };
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.to_string().contains("the disk is full"), "{e}");
    assert!(committed >= 100, "at least one batch fits");
    drop(store);

    let store = Store::open(&path).unwrap();
    let boxes = store.track_boxes(run, tid(1)).unwrap();
    assert_eq!(boxes.len() as i64, committed);
    assert_eq!(store.tracks(run).unwrap()[0].frames as i64, committed);
    store.integrity_check().unwrap();
}

#[test]
fn finish_run_checks_its_arguments_and_runs_once() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    let fin = RunFinish {
        finished_unix_ms: 1_700_000_001_000,
        frames_decoded: 10,
        frames_analysed: 5,
        wall_ms: 1000,
    };
    let e = store.finish_run(RunId(99), &fin).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    for bad in [
        RunFinish {
            frames_analysed: 11,
            ..fin.clone()
        },
        RunFinish {
            wall_ms: -1,
            ..fin.clone()
        },
        RunFinish {
            finished_unix_ms: 0,
            ..fin.clone()
        },
        RunFinish {
            frames_decoded: u64::MAX,
            ..fin.clone()
        },
    ] {
        let e = store.finish_run(run, &bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    assert_eq!(store.runs().unwrap()[0].finish, None);
    store.finish_run(run, &fin).unwrap();
    let e = store.finish_run(run, &fin).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("already finished"), "{e}");
    assert_eq!(store.runs().unwrap()[0].finish, Some(fin));

    let cam = store
        .begin_run(&NewRun {
            source_kind: SourceKind::Camera,
            analysis_fps: 0.0,
            ..new_run("driveway")
        })
        .unwrap();
    assert!(cam.0 > run.0);
    let runs = store.runs().unwrap();
    assert_eq!(
        (runs[1].source_kind, runs[1].finish.as_ref()),
        (SourceKind::Camera, None)
    );
}

#[test]
fn integrity_check_reports_dangling_rows() {
    let mut store = Store::open_in_memory().unwrap();
    let run = store.begin_run(&new_run("a.mp4")).unwrap();
    store.conn.pragma_update(None, "foreign_keys", false).unwrap();
    store
        .conn
        .execute(
            &format!("insert into track_box values ({}, 7, 0, 0, 0, 1, 1, 0.5)", run.0),
            [],
        )
        .unwrap();
    let e = store.integrity_check().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("track_box"), "{e}");
}

#[test]
fn a_file_that_is_not_a_database_is_refused_naming_it() {
    let (_dir, path) = temp_db();
    std::fs::write(
        &path,
        "this is a text file, long enough to have what would be a SQLite header. ".repeat(20),
    )
    .unwrap();
    let e = Store::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database, "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("{path:?}")), "{msg}");
    assert!(msg.contains("not a database"), "{msg}");
}

#[test]
fn a_database_of_another_application_is_refused() {
    let (_dir, path) = temp_db();
    Connection::open(&path)
        .unwrap()
        .execute_batch("create table foo (x);")
        .unwrap();
    let e = Store::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(e.to_string().contains("not a Vigie database"), "{e}");
    assert!(e.to_string().contains(&format!("{path:?}")), "{e}");
}

#[test]
fn a_newer_database_is_refused_naming_both_versions() {
    let (_dir, path) = temp_db();
    drop(Store::open(&path).unwrap());
    let newer = SCHEMA_VERSION + 1;
    Connection::open(&path)
        .unwrap()
        .execute("update meta set schema_version = ?", [newer])
        .unwrap();
    let e = Store::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    let msg = e.to_string();
    assert!(msg.contains(&format!("schema version {newer}")), "{msg}");
    assert!(
        msg.contains(&format!("version {SCHEMA_VERSION} this Vigie knows")),
        "{msg}"
    );
    assert!(msg.contains(&format!("{path:?}")), "{msg}");
}

// ---- upgrades ----

/// Builds a version 1 database at `path` holding a finished run with two tracks and their boxes.
pub(crate) fn build_v1(path: &Path) {
    let mut conn = Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(upgrade::V1_SQL).unwrap();
    upgrade::insert_meta(&tx, 1).unwrap();
    tx.execute_batch(
        "insert into analysis_run (source, source_kind, started_unix_ms, finished_unix_ms, analysis_fps, width, \
                                   height, model, frames_decoded, frames_analysed, wall_ms)
           values ('old.mp4', 'file', 1000, 2000, 5.0, 640, 480, 'm.onnx sha256:00', 50, 10, 1000);
         insert into track values (1, 1, 'person', 0, 9000, 2, 0.75, 1.5, 2.5, 10.5, 20.5, 9000);
         insert into track values (1, 2, null, 0, 0, 1, 0.25, 3, 4, 5, 6, 0);
         insert into track_box values (1, 1, 0, 1, 2, 10, 20, 0.5);
         insert into track_box values (1, 1, 9000, 1.5, 2.5, 10.5, 20.5, 0.75);
         insert into track_box values (1, 2, 0, 3, 4, 5, 6, 0.25);",
    )
    .unwrap();
    tx.commit().unwrap();
}

/// `sqlite_master` with the SQL normalised: comments dropped (the schema has no `--` inside string literals), runs
/// of blank space made one space, and no space next to parentheses and commas.
fn schema_of(conn: &Connection) -> Vec<(String, String, String, Option<String>)> {
    let mut stmt = conn
        .prepare("select type, name, tbl_name, sql from sqlite_master order by type, name")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get::<_, Option<String>>(3)?))
    })
    .unwrap()
    .map(|row| {
        let (ty, name, table, sql) = row.unwrap();
        (ty, name, table, sql.map(|s| normalise_sql(&s)))
    })
    .collect()
}

fn normalise_sql(sql: &str) -> String {
    let code: Vec<&str> = sql.lines().map(|l| l.find("--").map_or(l, |i| &l[..i])).collect();
    let mut s = code.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
    for (from, to) in [(" (", "("), ("( ", "("), (" )", ")"), (" ,", ","), (", ", ",")] {
        s = s.replace(from, to);
    }
    s
}

#[test]
fn normalise_sql_drops_comments_and_blank_space() {
    assert_eq!(
        normalise_sql("CREATE TABLE t (\n  -- the id\n  id integer , -- more\n  x real\n)"),
        "CREATE TABLE t(id integer,x real)"
    );
}

#[test]
fn upgraded_schema_equals_fresh_schema() {
    let (_dir, path) = temp_db();
    build_v1(&path);
    let v1_schema = schema_of(&Connection::open(&path).unwrap());

    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    let upgraded = schema_of(&store.conn);
    let fresh = schema_of(&Store::open_in_memory().unwrap().conn);
    assert_ne!(v1_schema, fresh, "the upgrade changes something");
    assert_eq!(upgraded, fresh);
    let fk: i64 = store.conn.query_row("pragma foreign_keys", [], |r| r.get(0)).unwrap();
    assert_eq!(fk, 1, "foreign keys are back on after the upgrade");
    store.integrity_check().unwrap();
}

/// Version 8 → 9: a case opened before plate searches were a case's decision does not allow them (the lawful
/// default); its other columns are kept.
#[test]
fn cases_opened_before_version_9_do_not_allow_plate_searches() {
    let (_dir, path) = temp_db();
    build_v1(&path);
    {
        // A version 8 database: the steps up to 8, and a case as version 8 stored it.
        let mut conn = Connection::open(&path).unwrap();
        let tx = conn.transaction().unwrap();
        for step in &upgrade::STEPS[..7] {
            step(&tx).unwrap();
        }
        tx.execute_batch(
            "update meta set schema_version = 8;
             insert into review_case (reference, authority, cameras, from_unix_ms, to_unix_ms, investigators,
                                      opened_by, created_unix_ms, expires_unix_ms)
               values ('PV-OLD', 'TJ', '[\"street\"]', 1000, 2000, '[\"ines\"]', 'cli:test', 1000, 86400000);",
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.schema_version().unwrap(), SCHEMA_VERSION);
    let c = s.case("PV-OLD").unwrap().unwrap();
    assert!(!c.plates_allowed, "no plate search in a case from before version 9");
    assert_eq!((c.cameras, c.to_unix_ms), (vec!["street".to_string()], 2_000));
}

#[test]
fn rows_survive_the_upgrade() {
    let (_dir, path) = temp_db();
    build_v1(&path);
    let uuid: String = Connection::open(&path)
        .unwrap()
        .query_row("select instance_uuid from meta", [], |r| r.get(0))
        .unwrap();
    let mut store = Store::open(&path).unwrap();
    assert_eq!(store.instance_uuid().unwrap(), uuid);
    let runs = store.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].source, "old.mp4");
    assert_eq!(
        runs[0].finish,
        Some(RunFinish {
            finished_unix_ms: 2000,
            frames_decoded: 50,
            frames_analysed: 10,
            wall_ms: 1000
        })
    );
    let run = runs[0].id;
    let tracks = store.tracks(run).unwrap();
    assert_eq!(
        tracks[0],
        TrackRow {
            run,
            track_id: tid(1),
            class: Some("person".into()),
            class_confidence: None,
            first: Time90k(0),
            last: Time90k(9000),
            frames: 2,
            max_score: 0.75,
            best_box: BBox::new(1.5, 2.5, 10.5, 20.5),
            best: Time90k(9000),
        }
    );
    assert!(tracks[1].is_open());
    assert_eq!(store.track_boxes(run, tid(1)).unwrap().len(), 2);
    assert_eq!(store.track_boxes(run, tid(2)).unwrap()[0].score, 0.25);

    // The upgraded database takes new rows like a fresh one, the interrupted track's summary included.
    let mut w = store.writer(run);
    w.push_box(tid(2), Time90k(9000), BBox::new(3.0, 4.0, 5.0, 6.0), 0.5)
        .unwrap();
    w.end_track(&TrackSummary {
        track_id: tid(2),
        class: "car".into(),
        class_confidence: 0.5,
        first: Time90k(0),
        last: Time90k(9000),
        frames: 2,
        max_score: 0.5,
        best_box: BBox::new(3.0, 4.0, 5.0, 6.0),
        best: Time90k(9000),
    })
    .unwrap();
    w.finish().unwrap();
    let tracks = store.tracks(run).unwrap();
    assert_eq!(
        (tracks[1].class.as_deref(), tracks[1].class_confidence),
        (Some("car"), Some(0.5))
    );
    store.integrity_check().unwrap();
}

#[test]
fn a_failed_upgrade_leaves_the_database_as_it_was() {
    let (_dir, path) = temp_db();
    build_v1(&path);
    // Something the v1 → v2 step cannot get past: the index it creates already exists.
    Connection::open(&path)
        .unwrap()
        .execute_batch("create index track_by_class_time on track (class);")
        .unwrap();
    let before = schema_of(&Connection::open(&path).unwrap());
    let e = Store::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Database);
    assert!(
        e.to_string().contains("upgrading the schema from version 1 to 2"),
        "{e}"
    );
    let conn = Connection::open(&path).unwrap();
    assert_eq!(schema_of(&conn), before);
    let v: i64 = conn
        .query_row("select schema_version from meta", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 1);
}

#[test]
fn v1_sql_is_schema_sql_without_the_later_additions() {
    // A guard against editing the frozen file instead of schema.sql: v1.sql is the fresh schema minus what the
    // v1 → v2 step (an index), the v2 → v3 step (the event tables) and the v3 → v4 step (the recording tables) add.
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(upgrade::V1_SQL).unwrap();
    let v1 = schema_of(&conn);
    let fresh = schema_of(&Store::open_in_memory().unwrap().conn);
    let names = |s: &[(String, String, String, Option<String>)]| s.iter().map(|r| r.1.clone()).collect::<Vec<_>>();
    let mut want = names(&fresh);
    let later = [
        "track_by_class_time",
        "event",
        "event_track",
        "event_by_run_time",
        "sqlite_autoindex_event_1",
        "camera",
        "sqlite_autoindex_camera_1",
        "recording",
        "sqlite_autoindex_recording_1",
        "recording_by_camera_start",
        "recording_gap",
        "recording_gap_by_camera_time",
        "camera_state",
        "camera_state_by_camera_time",
        "legal_hold",
        "retention_deletion",
        "retention_deletion_by_camera_time",
        "app_user",
        "sqlite_autoindex_app_user_1",
        "session",
        "sqlite_autoindex_session_1",
        "session_by_user",
        "event_decision",
        "sqlite_autoindex_event_decision_1",
        "event_decision_by_time",
        "authorisation",
        "authorisation_camera",
        "sqlite_autoindex_authorisation_camera_1",
        "authorisation_event_type",
        "sqlite_autoindex_authorisation_event_type_1",
        "run_camera",
        "run_camera_by_camera",
        "track_colour",
        "track_colour_by_colour",
        "review_case",
        "sqlite_autoindex_review_case_1",
        "track_by_run_first",
        "track_long_by_run_last",
        "event_by_run_zone",
        "event_by_run_line",
        "case_export",
        "case_export_by_case",
    ];
    want.retain(|n| !later.contains(&n.as_str()));
    assert_eq!(names(&v1), want);
}

proptest! {
    #[test]
    fn finite_boxes_round_trip_exactly(
        boxes in prop::collection::vec((prop::array::uniform4(-1e6f32..1e6), 0f32..=1.0), 1..50),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        let run = store.begin_run(&new_run("p.mp4")).unwrap();
        let want: Vec<BoxRow> = boxes
            .iter()
            .enumerate()
            .map(|(i, (b, s))| BoxRow { t: t(i as i64), bbox: BBox::from(*b), score: *s })
            .collect();
        {
            let mut w = store.writer(run).with_batch_rows(7);
            for b in &want {
                w.push_box(tid(1), b.t, b.bbox, b.score).unwrap();
            }
            w.finish().unwrap();
        }
        prop_assert_eq!(store.track_boxes(run, tid(1)).unwrap(), want.clone());
        let row = &store.tracks(run).unwrap()[0];
        let max = want.iter().map(|b| b.score).fold(0f32, f32::max);
        prop_assert_eq!(row.max_score, max);
        prop_assert_eq!(row.frames as usize, want.len());
        let best = want.iter().find(|b| b.score == max).unwrap();
        prop_assert_eq!((row.best, row.best_box), (best.t, best.bbox));
    }

    #[test]
    fn non_finite_values_never_reach_the_database(
        i in 0usize..5,
        bad in prop::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY]),
    ) {
        let mut store = Store::open_in_memory().unwrap();
        let run = store.begin_run(&new_run("p.mp4")).unwrap();
        let mut v = [1.0f32, 2.0, 3.0, 4.0, 0.5];
        v[i] = bad;
        let b = BBox { x1: v[0], y1: v[1], x2: v[2], y2: v[3] };
        let mut w = store.writer(run);
        let e = w.push_box(tid(1), t(0), b, v[4]).unwrap_err();
        prop_assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        w.finish().unwrap();
        prop_assert_eq!(count(&store, "track_box"), 0);
    }
}
