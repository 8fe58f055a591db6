//! Tests of recording (segments, reconcile), retention and legal holds, `check`, gaps and camera states, and the
//! crash-safety test: a child process committing segments in a loop, killed with SIGKILL again and again.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use vigie_core::{ErrorKind, VideoCodec};

use crate::*;

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// An arbitrary "now": 2023-11-14 22:13:20 UTC.
const NOW: i64 = 1_700_000_000_000;

/// A database and a recording directory in a temporary directory (removed last: fields drop in order).
struct Env {
    db: PathBuf,
    root: PathBuf,
    store: Store,
    dir: RecordingDir,
    _tmp: tempfile::TempDir,
}

fn env() -> Env {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vigie.db");
    let root = tmp.path().join("recordings");
    let store = Store::open(&db).unwrap();
    let dir = RecordingDir::open(&root).unwrap();
    Env {
        db,
        root,
        store,
        dir,
        _tmp: tmp,
    }
}

/// A one-minute H.264 segment of `camera` starting at `start`.
fn new_segment(camera: CameraId, start: i64) -> NewSegment {
    NewSegment {
        camera,
        start_unix_ms: start,
        duration_90k: 60 * 90_000,
        frames: 1500,
        codec: VideoCodec::H264,
        width: 1280,
        height: 720,
        sha256: None,
    }
}

/// Writes (and fsyncs) a segment file of `bytes` bytes where [`RecordingDir::segment_path`] says, as the muxer
/// does.
fn write_file(dir: &RecordingDir, camera: &str, start: i64, bytes: usize) -> PathBuf {
    let (_, path) = dir.segment_path(camera, start).unwrap();
    let mut f = File::create(&path).unwrap();
    f.write_all(&vec![0x5a; bytes]).unwrap();
    f.sync_all().unwrap();
    path
}

/// Writes and commits a one-minute segment of `bytes` bytes.
fn record(e: &mut Env, camera: &str, start: i64, bytes: usize) -> Segment {
    let id = e.store.ensure_camera(camera).unwrap();
    write_file(&e.dir, camera, start, bytes);
    e.store.commit_segment(&e.dir, &new_segment(id, start)).unwrap()
}

fn starts(segments: &[Segment]) -> Vec<i64> {
    segments.iter().map(|s| s.start_unix_ms).collect()
}

fn all(store: &Store, camera: CameraId) -> Vec<Segment> {
    store.segments(camera, 0, i64::MAX).unwrap()
}

// ---- cameras and the recording directory ----

#[test]
fn camera_names_are_directory_safe() {
    for good in ["entrance", "Cam_02", "a", "parking-north", &"x".repeat(64)] {
        assert!(is_valid_camera_name(good), "{good}");
    }
    for bad in ["", "-cam", "a/b", "..", ".", "a.b", "café", "a b", &"x".repeat(65)] {
        assert!(!is_valid_camera_name(bad), "{bad}");
    }
    let mut store = Store::open_in_memory().unwrap();
    let e = store.ensure_camera("../etc").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // The CHECK on camera.name is the same rule: a backstop should a name get past the Rust check.
    for bad in ["", "-cam", "a/b", "..", "a.b", "a b"] {
        let r = store
            .conn
            .execute("insert into camera (name, created_unix_ms) values (?, 0)", [bad]);
        assert!(r.is_err(), "{bad:?} was accepted");
    }
    store
        .conn
        .execute("insert into camera (name, created_unix_ms) values ('Ok_name-2', 0)", [])
        .unwrap();
}

#[test]
fn ensure_camera_creates_once() {
    let mut store = Store::open_in_memory().unwrap();
    assert_eq!(store.camera_id("entrance").unwrap(), None);
    let a = store.ensure_camera("entrance").unwrap();
    let b = store.ensure_camera("yard").unwrap();
    assert_eq!(store.ensure_camera("entrance").unwrap(), a);
    assert_ne!(a, b);
    assert_eq!(store.camera_id("entrance").unwrap(), Some(a));
    let cameras = store.cameras().unwrap();
    assert_eq!(
        cameras.iter().map(|c| (c.id, c.name.as_str())).collect::<Vec<_>>(),
        [(a, "entrance"), (b, "yard")]
    );
    assert!(cameras[0].created_unix_ms > 0);
}

#[test]
fn a_recording_directory_is_held_by_one_opener_at_a_time() {
    let mut e = env();
    let err = RecordingDir::open(&e.root).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("in use by process"), "{msg}");
    assert!(msg.contains(&std::process::id().to_string()), "{msg}");
    assert!(msg.contains(&format!("{:?}", e.root)), "{msg}");
    // The lock file is not a camera's directory, nor a problem.
    record(&mut e, "cam", NOW, 100);
    assert!(e.store.check(&e.dir).unwrap().is_ok());
    let Env { dir, root, _tmp, .. } = e;
    drop(dir);
    RecordingDir::open(&root).unwrap();
}

#[test]
fn segment_paths_are_named_after_camera_and_start() {
    let e = env();
    let (rel, abs) = e.dir.segment_path("entrance", 1_700_000_000_123).unwrap();
    assert_eq!(rel, "entrance/1700000000123.mp4");
    assert_eq!(abs, e.root.join("entrance").join("1700000000123.mp4"));
    assert!(e.root.join("entrance").is_dir(), "the camera's directory is created");
    assert_eq!(e.dir.root(), e.root);
    for (camera, start) in [("a/b", 0), ("..", 0), ("cam", -1)] {
        let err = e.dir.segment_path(camera, start).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    }
    assert_eq!(recording::parse_file_name("0.mp4"), Some(0));
    assert_eq!(recording::parse_file_name("123.mp4"), Some(123));
    for bad in [
        "0123.mp4",
        "-1.mp4",
        "+1.mp4",
        ".mp4",
        "1.mp4.tmp",
        "1.MP4",
        "99999999999999999999.mp4",
    ] {
        assert_eq!(recording::parse_file_name(bad), None, "{bad}");
    }
    assert_eq!(recording::parse_relative_path("cam/5.mp4"), Some(("cam", 5)));
    for bad in ["../5.mp4", "cam/../5.mp4", "/5.mp4", "cam/sub/5.mp4", "5.mp4"] {
        assert_eq!(recording::parse_relative_path(bad), None, "{bad}");
    }
}

// ---- committing segments ----

#[test]
fn a_committed_segment_reads_back() {
    let mut e = env();
    let cam = e.store.ensure_camera("entrance").unwrap();
    write_file(&e.dir, "entrance", NOW, 12_345);
    let hash = [7u8; 32];
    let seg = e
        .store
        .commit_segment(
            &e.dir,
            &NewSegment {
                sha256: Some(hash),
                codec: VideoCodec::H265,
                ..new_segment(cam, NOW)
            },
        )
        .unwrap();
    assert_eq!(seg.bytes, 12_345, "the size is measured from the file");
    assert_eq!(seg.relative_path, "entrance/1700000000000.mp4");
    assert_eq!(seg.end_unix_ms(), NOW + MINUTE_MS);
    let next = record(&mut e, "entrance", NOW + MINUTE_MS, 100);
    drop(e.store);

    let store = Store::open(&e.db).unwrap();
    let got = all(&store, cam);
    assert_eq!(got, vec![seg.clone(), next.clone()]);
    assert_eq!(got[0].sha256, Some(hash));
    assert_eq!(got[0].codec, VideoCodec::H265);
    assert_eq!(store.recording_bytes(cam).unwrap(), 12_445);
    // Time ranges are half-open and take every segment overlapping them.
    let range = |from: i64, to: i64| starts(&store.segments(cam, from, to).unwrap());
    assert_eq!(range(NOW - 1000, NOW), Vec::<i64>::new());
    assert_eq!(range(NOW - 1000, NOW + 1), [NOW]);
    assert_eq!(range(NOW + MINUTE_MS - 1, NOW + MINUTE_MS + 1), [NOW, NOW + MINUTE_MS]);
    assert_eq!(range(NOW + MINUTE_MS, NOW + 10 * MINUTE_MS), [NOW + MINUTE_MS]);
    assert_eq!(range(NOW + 2 * MINUTE_MS, NOW + 10 * MINUTE_MS), Vec::<i64>::new());
    let other = CameraId(cam.0 + 1);
    assert!(store.segments(other, 0, i64::MAX).unwrap().is_empty());
    assert_eq!(store.recording_bytes(other).unwrap(), 0);
    store.integrity_check().unwrap();
}

#[test]
fn commit_refuses_what_it_cannot_record() {
    let mut e = env();
    let cam = e.store.ensure_camera("cam").unwrap();
    let path = e.root.join("cam").join(format!("{NOW}.mp4"));

    // No file: NotFound, naming it.
    let err = e.store.commit_segment(&e.dir, &new_segment(cam, NOW)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert!(err.to_string().contains(&format!("{path:?}")), "{err}");

    // An empty file: InvalidData.
    write_file(&e.dir, "cam", NOW, 0);
    let err = e.store.commit_segment(&e.dir, &new_segment(cam, NOW)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidData, "{err}");

    write_file(&e.dir, "cam", NOW, 10);
    for bad in [
        NewSegment {
            duration_90k: 0,
            ..new_segment(cam, NOW)
        },
        NewSegment {
            duration_90k: MAX_SEGMENT_DURATION_90K + 1,
            ..new_segment(cam, NOW)
        },
        NewSegment {
            frames: 0,
            ..new_segment(cam, NOW)
        },
        NewSegment {
            width: 0,
            ..new_segment(cam, NOW)
        },
        new_segment(CameraId(99), NOW),
        new_segment(cam, -5),
    ] {
        let err = e.store.commit_segment(&e.dir, &bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
    }
    assert!(all(&e.store, cam).is_empty());

    e.store.commit_segment(&e.dir, &new_segment(cam, NOW)).unwrap();
    let err = e.store.commit_segment(&e.dir, &new_segment(cam, NOW)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Database, "{err}");
    assert!(err.to_string().contains("UNIQUE"), "{err}");
    assert_eq!(all(&e.store, cam).len(), 1);
}

/// A full disk under the database (simulated with `max_page_count`, which makes SQLite answer exactly as a full
/// disk does): an Io error naming the segment, no row; the file is left, and the next reconcile collects it.
#[test]
fn a_full_disk_at_commit_is_an_io_error_and_leaves_an_orphan() {
    let mut e = env();
    let cam = e.store.ensure_camera("cam").unwrap();
    record(&mut e, "cam", NOW, 100);
    let pages: i64 = e.store.conn.query_row("pragma page_count", [], |r| r.get(0)).unwrap();
    e.store.conn.pragma_update(None, "max_page_count", pages).unwrap();
    let mut start = NOW + MINUTE_MS;
    let err = loop {
        write_file(&e.dir, "cam", start, 100);
        match e.store.commit_segment(&e.dir, &new_segment(cam, start)) {
            Ok(_) => start += MINUTE_MS,
            Err(err) => break err,
        }
        assert!(start < NOW + 100_000 * MINUTE_MS, "the database never filled up");
    };
    assert_eq!(err.kind(), ErrorKind::Io, "{err}");
    let msg = err.to_string();
    assert!(msg.contains("the disk is full"), "{msg}");
    assert!(msg.contains(&format!("{start}.mp4")), "{msg}");
    let committed = all(&e.store, cam).len();
    assert_eq!(starts(&all(&e.store, cam)).last(), Some(&(start - MINUTE_MS)));
    drop(e.store);

    let mut store = Store::open(&e.db).unwrap();
    let report = store.reconcile(&e.dir).unwrap();
    assert_eq!(report.orphans_deleted, vec![(format!("cam/{start}.mp4"), 100)]);
    assert!(report.missing_files.is_empty());
    assert_eq!(all(&store, cam).len(), committed);
    assert!(store.check(&e.dir).unwrap().is_ok());
}

// ---- reconcile ----

#[test]
fn reconcile_deletes_orphans_and_flags_rows_without_files() {
    let mut e = env();
    let kept = record(&mut e, "cam", NOW, 1000);
    let lost = record(&mut e, "cam", NOW + MINUTE_MS, 2000);
    record(&mut e, "yard", NOW, 500);
    let cam = kept.camera;
    // A segment cut short by a crash: its file, no row.
    let orphan = write_file(&e.dir, "cam", NOW + 2 * MINUTE_MS, 300);
    // A row whose file was removed behind Vigie's back.
    fs::remove_file(e.root.join(&lost.relative_path)).unwrap();
    // Things that are not Vigie's: left alone, listed.
    fs::write(e.root.join("cam").join("notes.txt"), "x").unwrap();
    fs::write(e.root.join("cam").join("0042.mp4"), "x").unwrap();
    fs::create_dir(e.root.join("unknown-camera")).unwrap();
    fs::write(e.root.join("unknown-camera").join("5.mp4"), "x").unwrap();

    let report = e.store.reconcile(&e.dir).unwrap();
    assert_eq!(report.segments, 3);
    assert_eq!(
        report.orphans_deleted,
        vec![(format!("cam/{}.mp4", NOW + 2 * MINUTE_MS), 300)]
    );
    assert_eq!(report.missing_files, vec![lost.relative_path.clone()]);
    assert!(report.files_back.is_empty());
    assert_eq!(report.unknown, ["unknown-camera", "cam/0042.mp4", "cam/notes.txt"]);
    assert!(report.failures.is_empty());
    assert!(!orphan.exists());
    assert!(e.root.join("cam/notes.txt").exists());
    assert!(e.root.join("unknown-camera/5.mp4").exists());

    // The row is kept, flagged; its bytes no longer count as on disk.
    let rows = all(&e.store, cam);
    assert_eq!(starts(&rows), [NOW, NOW + MINUTE_MS]);
    assert_eq!((rows[0].missing_file, rows[1].missing_file), (false, true));
    assert_eq!(e.store.recording_bytes(cam).unwrap(), 1000);
    // The orphan's deletion is logged.
    assert_eq!(
        e.store.deletions(cam).unwrap(),
        vec![Deletion {
            camera: cam,
            segment: None,
            relative_path: format!("cam/{}.mp4", NOW + 2 * MINUTE_MS),
            start_unix_ms: NOW + 2 * MINUTE_MS,
            end_unix_ms: None,
            bytes: 300,
            reason: DeletionReason::Orphan,
            at_unix_ms: e.store.deletions(cam).unwrap()[0].at_unix_ms,
        }]
    );

    // Again: nothing more to do, the missing file still listed.
    let again = e.store.reconcile(&e.dir).unwrap();
    assert!(again.orphans_deleted.is_empty());
    assert_eq!(again.missing_files, vec![lost.relative_path.clone()]);
    assert_eq!(e.store.deletions(cam).unwrap().len(), 1);

    // The file comes back (a disk remounted): the flag is cleared.
    fs::write(e.root.join(&lost.relative_path), vec![0u8; 2000]).unwrap();
    let back = e.store.reconcile(&e.dir).unwrap();
    assert_eq!(back.files_back, vec![lost.relative_path.clone()]);
    assert!(back.missing_files.is_empty());
    assert!(!all(&e.store, cam)[1].missing_file);
    e.store.integrity_check().unwrap();
}

#[test]
fn reconcile_flags_every_row_of_a_camera_whose_directory_is_gone() {
    let mut e = env();
    let a = record(&mut e, "cam", NOW, 10);
    let b = record(&mut e, "cam", NOW + MINUTE_MS, 10);
    fs::remove_dir_all(e.root.join("cam")).unwrap();
    let report = e.store.reconcile(&e.dir).unwrap();
    assert_eq!(report.missing_files, vec![a.relative_path, b.relative_path]);
    assert!(all(&e.store, a.camera).iter().all(|s| s.missing_file));
}

// ---- retention ----

fn hold(camera: CameraId, from: i64, to: i64) -> NewLegalHold {
    NewLegalHold {
        camera,
        from_unix_ms: from,
        to_unix_ms: to,
        reference: "PV 2024/123, réquisition du parquet".into(),
    }
}

/// One segment a day for 40 days, the newest starting at `NOW - 1 h`; a legal hold over days 33 and 34.
#[test]
fn retention_by_age_keeps_30_days_and_what_a_hold_covers() {
    let mut e = env();
    for day in 0..40 {
        record(&mut e, "cam", NOW - 3_600_000 - day * DAY_MS, 100);
    }
    let cam = e.store.camera_id("cam").unwrap().unwrap();
    // Overlapping the segment of day 34 by its last millisecond, and covering day 33's.
    let held_from = NOW - 3_600_000 - 34 * DAY_MS + MINUTE_MS - 1;
    let id = e
        .store
        .add_legal_hold(&hold(cam, held_from, NOW - 33 * DAY_MS), NOW)
        .unwrap();

    let report = e
        .store
        .apply_retention(&e.dir, NOW, &RetentionPolicy::default())
        .unwrap();
    let deleted_days: Vec<i64> = report
        .deleted
        .iter()
        .map(|d| (NOW - 3_600_000 - d.start_unix_ms) / DAY_MS)
        .collect();
    assert_eq!(
        deleted_days,
        [39, 38, 37, 36, 35, 32, 31, 30],
        "oldest first, the held ones kept"
    );
    assert!(report.deleted.iter().all(|d| d.reason == DeletionReason::Age));
    assert_eq!(report.held, 2);
    assert!(report.failures.is_empty());
    assert_eq!(report.bytes_deleted(), 800);
    let left: Vec<i64> = all(&e.store, cam)
        .iter()
        .map(|s| (NOW - 3_600_000 - s.start_unix_ms) / DAY_MS)
        .rev()
        .collect();
    assert_eq!(left, (0..30).chain([33, 34]).collect::<Vec<_>>());
    for d in &report.deleted {
        assert!(!e.root.join(&d.relative_path).exists(), "{}", d.relative_path);
    }
    // Each deletion is logged, with its time range and size.
    let log = e.store.deletions(cam).unwrap();
    assert_eq!(log, report.deleted);
    assert_eq!(log[0].end_unix_ms, Some(log[0].start_unix_ms + MINUTE_MS));
    assert!(
        log.iter()
            .all(|d| d.at_unix_ms == NOW && d.bytes == 100 && d.segment.is_some())
    );

    // Nothing more to do at the same time.
    let again = e
        .store
        .apply_retention(&e.dir, NOW, &RetentionPolicy::default())
        .unwrap();
    assert!(again.deleted.is_empty());
    assert_eq!(again.held, 2);

    // Released, the hold no longer protects anything; the deletion log stays.
    e.store.release_legal_hold(id, NOW + 1).unwrap();
    let after = e
        .store
        .apply_retention(&e.dir, NOW + 1, &RetentionPolicy::default())
        .unwrap();
    assert_eq!(after.deleted.len(), 2);
    assert_eq!(after.held, 0);
    assert_eq!(all(&e.store, cam).len(), 30);
    assert_eq!(e.store.deletions(cam).unwrap().len(), 10);
    assert!(e.store.check(&e.dir).unwrap().is_ok());
}

#[test]
fn retention_by_size_deletes_the_oldest_beyond_the_budget_and_spares_held_segments() {
    let mut e = env();
    for i in 0..10 {
        record(&mut e, "cam", NOW - (10 - i) * MINUTE_MS, 1000);
    }
    record(&mut e, "other", NOW - MINUTE_MS, 1000);
    let cam = e.store.camera_id("cam").unwrap().unwrap();
    let other = e.store.camera_id("other").unwrap().unwrap();
    // The oldest segment is held: kept, and outside the budget.
    e.store
        .add_legal_hold(&hold(cam, NOW - 10 * MINUTE_MS, NOW - 10 * MINUTE_MS + 1), NOW)
        .unwrap();
    let policy = RetentionPolicy {
        max_bytes_per_camera: Some(3500),
        ..RetentionPolicy::default()
    };
    let report = e.store.apply_retention(&e.dir, NOW, &policy).unwrap();
    assert_eq!(
        starts(&all(&e.store, cam)),
        [
            NOW - 10 * MINUTE_MS,
            NOW - 3 * MINUTE_MS,
            NOW - 2 * MINUTE_MS,
            NOW - MINUTE_MS
        ]
    );
    assert_eq!(report.deleted.len(), 6);
    assert!(report.deleted.iter().all(|d| d.reason == DeletionReason::Size));
    assert_eq!(e.store.recording_bytes(cam).unwrap(), 4000);
    assert_eq!(all(&e.store, other).len(), 1, "another camera's budget is its own");
    assert!(e.store.check(&e.dir).unwrap().is_ok());
}

#[test]
fn a_camera_policy_may_only_lower_the_defaults() {
    let mut e = env();
    for name in ["a", "b"] {
        for day in [1, 5] {
            record(&mut e, name, NOW - day * DAY_MS, 100);
        }
    }
    let mut policy = RetentionPolicy::default();
    policy.per_camera.insert(
        "b".into(),
        CameraRetention {
            max_age_days: Some(2),
            max_bytes: None,
        },
    );
    assert_eq!(policy.for_camera("a"), (30, None));
    assert_eq!(policy.for_camera("b"), (2, None));
    let report = e.store.apply_retention(&e.dir, NOW, &policy).unwrap();
    assert_eq!(
        report
            .deleted
            .iter()
            .map(|d| d.relative_path.as_str())
            .collect::<Vec<_>>(),
        [format!("b/{}.mp4", NOW - 5 * DAY_MS)]
    );

    let higher_age = RetentionPolicy {
        max_age_days: 10,
        per_camera: [(
            "b".to_owned(),
            CameraRetention {
                max_age_days: Some(11),
                max_bytes: None,
            },
        )]
        .into(),
        ..RetentionPolicy::default()
    };
    let higher_bytes = RetentionPolicy {
        max_bytes_per_camera: Some(1000),
        per_camera: [(
            "b".to_owned(),
            CameraRetention {
                max_age_days: None,
                max_bytes: Some(1001),
            },
        )]
        .into(),
        ..RetentionPolicy::default()
    };
    for bad in [higher_age, higher_bytes] {
        let err = e.store.apply_retention(&e.dir, NOW, &bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        assert!(err.to_string().contains("can only lower"), "{err}");
    }
    // With no default budget, any camera budget is lower.
    let mut ok = RetentionPolicy::default();
    ok.per_camera.insert(
        "a".into(),
        CameraRetention {
            max_age_days: None,
            max_bytes: Some(100),
        },
    );
    ok.validate().unwrap();
}

#[test]
fn more_than_30_days_is_refused() {
    let mut e = env();
    record(&mut e, "cam", NOW - 40 * DAY_MS, 100);
    for days in [31, 365, 0] {
        let policy = RetentionPolicy {
            max_age_days: days,
            ..RetentionPolicy::default()
        };
        let err = e.store.apply_retention(&e.dir, NOW, &policy).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
        if days > 30 {
            assert!(err.to_string().contains("legal maximum of 30 days"), "{err}");
        }
    }
    let mut per_camera = RetentionPolicy::default();
    per_camera.per_camera.insert(
        "cam".into(),
        CameraRetention {
            max_age_days: Some(31),
            max_bytes: None,
        },
    );
    assert_eq!(
        e.store.apply_retention(&e.dir, NOW, &per_camera).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let zero_bytes = RetentionPolicy {
        max_bytes_per_camera: Some(0),
        ..RetentionPolicy::default()
    };
    assert!(zero_bytes.validate().is_err());
    assert_eq!(all(&e.store, CameraId(1)).len(), 1, "a refused policy deletes nothing");
    assert_eq!(MAX_RETENTION_DAYS, 30);
    assert_eq!(RetentionPolicy::default().max_age_days, 30);
}

#[test]
fn retention_deletes_rows_whose_file_is_missing_and_logs_them() {
    let mut e = env();
    let seg = record(&mut e, "cam", NOW - 31 * DAY_MS, 100);
    fs::remove_file(e.root.join(&seg.relative_path)).unwrap();
    e.store.reconcile(&e.dir).unwrap();
    let report = e
        .store
        .apply_retention(&e.dir, NOW, &RetentionPolicy::default())
        .unwrap();
    assert_eq!(report.deleted.len(), 1);
    assert!(all(&e.store, seg.camera).is_empty());
}

/// A row whose path is not its camera's segment path (a damaged or tampered database) is never acted on: nothing
/// outside the camera's directory is deleted on the word of a row.
#[test]
fn retention_never_deletes_outside_the_camera_directory() {
    let mut e = env();
    let seg = record(&mut e, "cam", NOW - 31 * DAY_MS, 100);
    let victim = e.root.join("precious.mp4");
    fs::write(&victim, "x").unwrap();
    e.store
        .conn
        .execute(
            "update recording set relative_path = 'cam/../precious.mp4' where id = ?",
            [seg.id.0],
        )
        .unwrap();
    let report = e
        .store
        .apply_retention(&e.dir, NOW, &RetentionPolicy::default())
        .unwrap();
    assert!(report.deleted.is_empty());
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(victim.exists());
}

#[test]
fn legal_holds_are_placed_listed_and_released() {
    let mut store = Store::open_in_memory().unwrap();
    let cam = store.ensure_camera("cam").unwrap();
    for bad in [
        NewLegalHold {
            reference: "  ".into(),
            ..hold(cam, 0, 10)
        },
        hold(cam, 10, 10),
        hold(CameraId(99), 0, 10),
    ] {
        let err = store.add_legal_hold(&bad, NOW).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}: {err}");
    }
    let a = store.add_legal_hold(&hold(cam, 0, 10), NOW).unwrap();
    let b = store.add_legal_hold(&hold(cam, 5, 20), NOW + 1).unwrap();
    let err = store.release_legal_hold(a, NOW - 1).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    store.release_legal_hold(a, NOW + 2).unwrap();
    let err = store.release_legal_hold(a, NOW + 3).unwrap_err();
    assert!(err.to_string().contains("already released"), "{err}");
    assert_eq!(
        store.release_legal_hold(LegalHoldId(99), NOW).unwrap_err().kind(),
        ErrorKind::NotFound
    );
    let holds = store.legal_holds().unwrap();
    assert_eq!(
        holds,
        vec![
            LegalHold {
                id: a,
                camera: cam,
                from_unix_ms: 0,
                to_unix_ms: 10,
                reference: hold(cam, 0, 10).reference,
                created_unix_ms: NOW,
                released_unix_ms: Some(NOW + 2),
            },
            LegalHold {
                id: b,
                camera: cam,
                from_unix_ms: 5,
                to_unix_ms: 20,
                reference: hold(cam, 0, 10).reference,
                created_unix_ms: NOW + 1,
                released_unix_ms: None,
            },
        ]
    );
    assert!(!holds[0].is_active() && holds[1].is_active());
    // The schema refuses a blank reference too.
    let r = store.conn.execute(
        "insert into legal_hold (camera_id, from_unix_ms, to_unix_ms, reference, created_unix_ms) \
         values (?, 0, 1, ' ', 0)",
        [cam.0],
    );
    assert!(r.is_err());
}

// ---- check ----

#[test]
fn check_finds_each_problem_by_path() {
    let mut e = env();
    let a = record(&mut e, "cam", NOW, 1000);
    let b = record(&mut e, "cam", NOW + MINUTE_MS, 1000);
    let c = record(&mut e, "cam", NOW + 2 * MINUTE_MS, 1000);
    let report = e.store.check(&e.dir).unwrap();
    assert!(report.is_ok(), "{:?}", report.problems);
    assert_eq!((report.segments, report.files), (3, 3));

    // A row without its file, a truncated file, an orphan, a stray file, a segment overlapping its predecessor by
    // 30 s (two recorders, or the clock jumped back), one overlapping by less than the tolerance, and a dangling
    // row in the database.
    fs::remove_file(e.root.join(&a.relative_path)).unwrap();
    File::options()
        .append(true)
        .open(e.root.join(&b.relative_path))
        .unwrap()
        .write_all(b"more")
        .unwrap();
    write_file(&e.dir, "cam", NOW + 10 * MINUTE_MS, 77);
    fs::write(e.root.join("stray.txt"), "x").unwrap();
    let overlapping = record(&mut e, "cam", NOW + 2 * MINUTE_MS + 30_000, 1000);
    let jitter = record(&mut e, "cam", NOW + 3 * MINUTE_MS + 30_000 - OVERLAP_TOLERANCE_MS, 1000);
    e.store.conn.pragma_update(None, "foreign_keys", false).unwrap();
    e.store
        .conn
        .execute(
            "insert into recording_gap (camera_id, from_unix_ms, to_unix_ms, reason) values (42, 0, 1, 'x')",
            [],
        )
        .unwrap();
    e.store.conn.pragma_update(None, "foreign_keys", true).unwrap();

    let report = e.store.check(&e.dir).unwrap();
    assert!(!report.is_ok());
    let problems = &report.problems;
    assert!(
        matches!(&problems[0], Problem::Database { detail } if detail.contains("recording_gap")),
        "{problems:?}"
    );
    assert_eq!(
        problems[1..].to_vec(),
        vec![
            Problem::UnknownEntry {
                path: "stray.txt".into()
            },
            Problem::MissingFile {
                path: a.relative_path.clone(),
                flagged: false
            },
            Problem::SizeMismatch {
                path: b.relative_path.clone(),
                recorded: 1000,
                on_disk: 1004
            },
            Problem::Overlap {
                path: overlapping.relative_path.clone(),
                previous: c.relative_path.clone(),
                overlap_ms: 30_000
            },
            Problem::OrphanFile {
                path: format!("cam/{}.mp4", NOW + 10 * MINUTE_MS),
                bytes: 77
            },
        ]
    );
    assert!(!problems.iter().any(|p| p.path() == Some(&jitter.relative_path)));
    assert_eq!(problems[2].path(), Some(a.relative_path.as_str()));
    assert_eq!(
        problems[3].to_string(),
        format!("{}: 1004 bytes on disk, 1000 recorded", b.relative_path)
    );
    // check changes nothing.
    assert_eq!(all(&e.store, a.camera).len(), 5);
    assert!(e.root.join(format!("cam/{}.mp4", NOW + 10 * MINUTE_MS)).exists());
}

/// The CHECKs of the recording tables refuse what the Rust side would, should a value get past it.
#[test]
fn recording_checks_back_up_the_rust_checks() {
    let mut e = env();
    let seg = record(&mut e, "cam", NOW, 10);
    let cols = "camera_id, start_unix_ms, duration_90k, frames, bytes, codec, width, height, relative_path, sha256, \
                flags";
    let c = seg.camera.0;
    for values in [
        format!("{c}, 1, 89, 1, 1, 'h264', 1, 1, 'cam/1.mp4', null, 0"), // shorter than 1 ms
        format!("{c}, 1, 324000001, 1, 1, 'h264', 1, 1, 'cam/1.mp4', null, 0"), // longer than 1 h
        format!("{c}, 1, 90, 0, 1, 'h264', 1, 1, 'cam/1.mp4', null, 0"), // no frame
        format!("{c}, 1, 90, 1, 0, 'h264', 1, 1, 'cam/1.mp4', null, 0"), // empty
        format!("{c}, 1, 90, 1, 1, 'vp9', 1, 1, 'cam/1.mp4', null, 0"),  // codec
        format!("{c}, 1, 90, 1, 1, 'h264', 0, 1, 'cam/1.mp4', null, 0"), // width
        format!("{c}, 1, 90, 1, 1, 'h264', 1, 1, '1.mp4', null, 0"),     // no camera directory
        format!("{c}, 1, 90, 1, 1, 'h264', 1, 1, 'cam/1.mp4', x'00', 0"), // sha256 of 1 byte
        format!("{c}, 1, 90, 1, 1, 'h264', 1, 1, 'cam/1.mp4', null, 2"), // an undefined flag
        format!("{c}, -1, 90, 1, 1, 'h264', 1, 1, 'cam/1.mp4', null, 0"), // before 1970
        format!("{c}, 1, 90, 1, 1, 'h264', 1, 1, '{}', null, 0", seg.relative_path), // path taken
        "99, 1, 90, 1, 1, 'h264', 1, 1, 'cam/1.mp4', null, 0".to_owned(), // no such camera
        format!("{c}, 'soon', 90, 1, 1, 'h264', 1, 1, 'cam/1.mp4', null, 0"), // STRICT: text time
    ] {
        let r = e
            .store
            .conn
            .execute(&format!("insert into recording ({cols}) values ({values})"), []);
        assert!(r.is_err(), "{values} was accepted");
    }
    let log = "camera_id, recording_id, relative_path, start_unix_ms, end_unix_ms, bytes, reason, at_unix_ms";
    for values in [
        format!("{c}, null, 'cam/1.mp4', 1, 2, 1, 'orphan', 0"), // an orphan has no end
        format!("{c}, 5, 'cam/1.mp4', 1, null, 1, 'orphan', 0"), // nor a row
        format!("{c}, null, 'cam/1.mp4', 1, 2, 1, 'age', 0"),    // a deleted segment had a row
        format!("{c}, 5, 'cam/1.mp4', 1, 2, 1, 'whim', 0"),      // reason
        format!("{c}, 5, 'cam/1.mp4', 3, 2, 1, 'age', 0"),       // ends before it starts
    ] {
        let r = e
            .store
            .conn
            .execute(&format!("insert into retention_deletion ({log}) values ({values})"), []);
        assert!(r.is_err(), "{values} was accepted");
    }
    assert_eq!(all(&e.store, seg.camera).len(), 1);
    e.store.integrity_check().unwrap();
}

// ---- gaps and camera states ----

#[test]
fn gaps_are_stored_and_found_by_time() {
    let mut store = Store::open_in_memory().unwrap();
    let cam = store.ensure_camera("cam").unwrap();
    let gap = |from, to| NewGap {
        camera: cam,
        from_unix_ms: from,
        to_unix_ms: to,
        reason: "stream stalled".into(),
    };
    let a = store.add_gap(&gap(100, 200)).unwrap();
    let b = store.add_gap(&gap(500, 900)).unwrap();
    for bad in [
        gap(10, 10),
        NewGap {
            reason: String::new(),
            ..gap(0, 1)
        },
        NewGap {
            camera: CameraId(9),
            ..gap(0, 1)
        },
    ] {
        let err = store.add_gap(&bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    }
    let ids = |from, to| -> Vec<i64> { store.gaps(cam, from, to).unwrap().iter().map(|g| g.id).collect() };
    assert_eq!(ids(0, 1000), [a, b]);
    assert_eq!(ids(150, 160), [a]);
    assert_eq!(ids(200, 500), Vec::<i64>::new());
    assert_eq!(ids(899, 2000), [b]);
    assert_eq!(
        store.gaps(cam, 0, 150).unwrap(),
        vec![Gap {
            id: a,
            camera: cam,
            from_unix_ms: 100,
            to_unix_ms: 200,
            reason: "stream stalled".into()
        }]
    );
}

#[test]
fn camera_states_come_back_newest_first() {
    let mut store = Store::open_in_memory().unwrap();
    let cam = store.ensure_camera("cam").unwrap();
    let other = store.ensure_camera("other").unwrap();
    store
        .add_camera_state(cam, CameraState::Connecting, 1000, None)
        .unwrap();
    store
        .add_camera_state(cam, CameraState::Streaming, 2000, Some(""))
        .unwrap();
    store
        .add_camera_state(cam, CameraState::Stalled, 3000, Some("no frame for 5 s"))
        .unwrap();
    store.add_camera_state(other, CameraState::Failed, 3500, None).unwrap();
    let err = store
        .add_camera_state(CameraId(9), CameraState::Streaming, 0, None)
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let states = store.camera_states(cam, 2).unwrap();
    assert_eq!(
        states,
        vec![
            CameraStateRow {
                camera: cam,
                state: CameraState::Stalled,
                at_unix_ms: 3000,
                detail: Some("no frame for 5 s".into())
            },
            CameraStateRow {
                camera: cam,
                state: CameraState::Streaming,
                at_unix_ms: 2000,
                detail: None
            },
        ]
    );
    assert_eq!(store.camera_states(cam, 10).unwrap().len(), 3);
    assert_eq!(store.camera_states(other, 10).unwrap()[0].state, CameraState::Failed);
    let r = store.conn.execute(
        "insert into camera_state (camera_id, state, at_unix_ms) values (?, 'asleep', 0)",
        [cam.0],
    );
    assert!(r.is_err(), "the CHECK refuses an unknown state");
}

// ---- upgrades ----

#[test]
fn an_upgraded_database_records() {
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("vigie.db");
    crate::tests::build_v1(&db);
    let mut e = Env {
        store: Store::open(&db).unwrap(),
        dir: RecordingDir::open(&tmp.path().join("rec")).unwrap(),
        db,
        root: tmp.path().join("rec"),
        _tmp: tmp,
    };
    assert_eq!(e.store.schema_version().unwrap(), crate::SCHEMA_VERSION);
    let seg = record(&mut e, "cam", NOW, 10);
    assert_eq!(all(&e.store, seg.camera), vec![seg]);
    assert_eq!(e.store.runs().unwrap().len(), 1, "the version 1 run is still there");
    e.store.integrity_check().unwrap();
}

// ---- crash safety ----

/// Set in the child process of [`kill_9_while_recording_loses_at_most_one_segment`]: the directory it records in.
const CRASH_CHILD_ENV: &str = "VIGIE_STORE_CRASH_CHILD";
const CRASH_CHILD_TEST: &str = "recording_tests::crash_child_records_until_killed";

/// The recorder of the crash test, run in a child process: opens the database and the recording directory as the
/// service does (reconcile first), then writes and commits segments of a few tens of KiB in a loop, in 4 KiB
/// writes, until killed (or a minute passes).
#[test]
#[ignore = "the child of kill_9_while_recording_loses_at_most_one_segment"]
fn crash_child_records_until_killed() {
    let Some(root) = std::env::var_os(CRASH_CHILD_ENV) else {
        return;
    };
    let root = PathBuf::from(root);
    let mut store = Store::open(&root.join("vigie.db")).unwrap();
    let dir = RecordingDir::open(&root.join("rec")).unwrap();
    store.reconcile(&dir).unwrap();
    let cam = store.ensure_camera("cam").unwrap();
    let mut start = all(&store, cam).last().map_or(NOW, |s| s.start_unix_ms + MINUTE_MS);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let (_, path) = dir.segment_path("cam", start).unwrap();
        let mut f = File::create(&path).unwrap();
        let chunks = 1 + (start / MINUTE_MS % 16) as u8;
        for i in 0..chunks {
            f.write_all(&[i; 4096]).unwrap();
        }
        f.sync_all().unwrap();
        drop(f);
        store.commit_segment(&dir, &new_segment(cam, start)).unwrap();
        start += MINUTE_MS;
    }
}

/// `kill -9` while recording, repeated: after each kill the database opens with integrity "ok", every row has its
/// file, and reconcile removes at most one orphan (the segment being written when the process died).
#[test]
fn kill_9_while_recording_loses_at_most_one_segment() {
    let tmp = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let cam_dir = tmp.path().join("rec").join("cam");
    let files = |dir: &Path| fs::read_dir(dir).map_or(0, |rd| rd.count());
    const ROUNDS: u64 = 20;
    let mut committed = 0;
    let mut orphans = 0;
    for round in 0..ROUNDS {
        let stderr = File::create(tmp.path().join("child.stderr")).unwrap();
        let mut child = Command::new(&exe)
            .args([
                CRASH_CHILD_TEST,
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_CHILD_ENV, tmp.path())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap();
        // Kill it while it records: once it has written a few files, after a delay that varies by round so that
        // the kill lands at different points of the write → fsync → insert sequence.
        let before = files(&cam_dir);
        let waited = Instant::now();
        while files(&cam_dir) < before + 3 {
            if let Some(status) = child.try_wait().unwrap() {
                let err = fs::read_to_string(tmp.path().join("child.stderr")).unwrap_or_default();
                panic!("round {round}: the recorder exited on its own ({status}): {err}");
            }
            assert!(waited.elapsed() < Duration::from_secs(30), "round {round}: no progress");
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_micros(round * 1733 % 25_000));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let mut store = Store::open(&tmp.path().join("vigie.db")).unwrap();
        store.integrity_check().unwrap_or_else(|e| panic!("round {round}: {e}"));
        let dir = RecordingDir::open(&tmp.path().join("rec")).unwrap();
        let report = store.reconcile(&dir).unwrap();
        assert!(report.missing_files.is_empty(), "round {round}: {report:?}");
        assert!(report.orphans_deleted.len() <= 1, "round {round}: {report:?}");
        assert!(
            report.failures.is_empty() && report.unknown.is_empty(),
            "round {round}: {report:?}"
        );
        let check = store.check(&dir).unwrap();
        assert!(check.is_ok(), "round {round}: {:?}", check.problems);
        let cam = store.camera_id("cam").unwrap().unwrap();
        let now = all(&store, cam).len();
        assert!(
            now >= committed + 2,
            "round {round}: {now} segments, {committed} before"
        );
        committed = now;
        orphans += report.orphans_deleted.len();
    }
    eprintln!("{committed} segments committed over {ROUNDS} kills, {orphans} orphans collected");
}
