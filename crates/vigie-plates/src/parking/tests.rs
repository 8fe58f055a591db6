//! Tests of the pre-check workflow, with access to the private connection to try what the API forbids and to read
//! the database files as bytes.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use rusqlite::Connection;
use vigie_core::ErrorKind;

use super::time::{MS_PER_DAY, MS_PER_MINUTE, parse_rfc3339};
use super::*;

const MIN: i64 = MS_PER_MINUTE;
const HOUR: i64 = 60 * MIN;

fn t(s: &str) -> i64 {
    parse_rfc3339(s).unwrap()
}

/// Wednesday 15 May 2024, 10:00 in Paris (summer time): paid hours in the `centre` zone.
fn t0() -> i64 {
    t("2024-05-15T10:00:00+02:00")
}

fn key() -> PlateKey {
    PlateKey::from_bytes([7; 32])
}

/// Paris: Monday to Saturday 09:00-12:00 and 14:00-19:00, 15 minutes of grace.
fn paris_rules() -> ZoneRules {
    let mut paid_hours = PaidHours::days(0..=5, 9 * 60, 12 * 60);
    paid_hours.extend(PaidHours::days(0..=5, 14 * 60, 19 * 60));
    ZoneRules {
        utc_offset_min: 60,
        dst: DstRule::Eu,
        grace_s: 15 * 60,
        paid_hours,
    }
}

fn new_zone(name: &str, camera: &str) -> NewZone {
    NewZone {
        name: name.into(),
        camera: camera.into(),
        polygon: vec![[0.1, 0.5], [0.9, 0.5], [0.9, 0.95], [0.1, 0.95]],
        rules: paris_rules(),
    }
}

/// A fake JPEG: the SOI marker, then `len` bytes of a xorshift stream seeded by `seed` (distinct per photo and
/// found nowhere else), then EOI.
fn jpeg(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = vec![0xff, 0xd8, 0xff, 0xe0];
    for _ in 0..len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push((x >> 24) as u8);
    }
    out.extend([0xff, 0xd9]);
    out
}

fn crops(seed: u64, at: i64) -> [EvidenceCrop; 2] {
    [
        EvidenceCrop {
            taken_unix_ms: at,
            jpeg: jpeg(seed, 3000), // fits in a page
        },
        EvidenceCrop {
            taken_unix_ms: at,
            jpeg: jpeg(seed + 1, 20_000), // spans overflow pages
        },
    ]
}

fn obs(plate: &str, zone: ZoneId, camera: &str, first_seen: i64, seen: i64, seed: u64) -> Observation {
    Observation {
        plate: Some(plate.into()),
        confidence: 0.97,
        zone,
        camera: camera.into(),
        first_seen_unix_ms: first_seen,
        seen_unix_ms: seen,
        evidence: crops(seed, seen),
    }
}

/// A store on a file in a fresh directory, with the `centre` (camera `cam-1`) and `gare` (camera `cam-2`) zones.
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: ParkingStore,
    centre: ZoneId,
    gare: ZoneId,
}

fn fixture_with(config: Config) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plates.db");
    let mut store = ParkingStore::open(&path, key(), config, t0() - HOUR).unwrap();
    let centre = store.add_zone(&new_zone("centre", "cam-1"), t0() - HOUR).unwrap();
    let gare = store.add_zone(&new_zone("gare", "cam-2"), t0() - HOUR).unwrap();
    Fixture {
        _dir: dir,
        path,
        store,
        centre,
        gare,
    }
}

fn fixture() -> Fixture {
    fixture_with(Config::default())
}

/// The bytes of the database and of its `-wal` and `-shm` files, each as (name, bytes).
fn database_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            std::fs::read(&p).ok().map(|b| (p.display().to_string(), b))
        })
        .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Files of the database that contain `needle`.
fn files_containing(path: &Path, needle: &[u8]) -> Vec<String> {
    database_files(path)
        .into_iter()
        .filter(|(_, b)| find(b, needle))
        .map(|(n, _)| n)
        .collect()
}

/// How many 24-byte pieces of a photo (taken every 500 bytes, past the common JPEG header) are in the database
/// files. A photo split over overflow pages is not contiguous in the file, hence pieces rather than the whole.
fn photo_pieces_found(path: &Path, photo: &[u8]) -> usize {
    let files = database_files(path);
    (4..photo.len() - 24)
        .step_by(500)
        .filter(|&i| files.iter().any(|(_, b)| find(b, &photo[i..i + 24])))
        .count()
}

fn photo_pieces(photo: &[u8]) -> usize {
    (4..photo.len() - 24).step_by(500).count()
}

fn count(store: &ParkingStore, sql: &str) -> i64 {
    store.conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn day_count(store: &ParkingStore, zone: ZoneId) -> DailyCount {
    let mut all = store.daily_counts(Some(zone)).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all.remove(0)
}

#[test]
fn paid_read_leaves_nothing_in_the_database_files() {
    let mut f = fixture();
    // One session by the provider's API, one by CSV, both covering 10:00.
    f.store
        .add_session(
            &NewSession {
                reference: Some("pay-1".into()),
                ..NewSession::new("ab-123-cd", "centre", t0() - HOUR, t0() + HOUR)
            },
            t0() - HOUR,
        )
        .unwrap();
    let csv =
        "plate,zone,start,end,reference\nGH 456 JK,centre,2024-05-15T09:00:00+02:00,2024-05-15T11:00:00+02:00,pay-2\n";
    assert_eq!(f.store.import_sessions_csv(csv, t0()).unwrap().imported, 1);

    let paid = obs("AB123CD", f.centre, "cam-1", t0() - 30 * MIN, t0(), 100);
    assert_eq!(f.store.observe(&paid).unwrap(), Outcome::Paid);
    let paid2 = obs("GH456JK", f.centre, "cam-1", t0() - 30 * MIN, t0(), 200);
    assert_eq!(f.store.observe(&paid2).unwrap(), Outcome::Paid);

    // Control: an unpaid vehicle's plate and photos are found, so the search does look in the right files.
    let unpaid = obs("EF456GH", f.centre, "cam-1", t0() - 30 * MIN, t0(), 300);
    assert!(matches!(f.store.observe(&unpaid).unwrap(), Outcome::Queued(_)));
    assert!(!files_containing(&f.path, b"EF456GH").is_empty());
    for c in &unpaid.evidence {
        assert!(photo_pieces_found(&f.path, &c.jpeg) > photo_pieces(&c.jpeg) / 2);
    }

    // The paid plates, in any spelling, and their photos are nowhere: not in the database, its log or its index.
    let check = |path: &Path| {
        for plate in ["AB123CD", "AB-123-CD", "ab-123-cd", "GH456JK", "GH 456 JK"] {
            assert_eq!(
                files_containing(path, plate.as_bytes()),
                Vec::<String>::new(),
                "{plate}"
            );
        }
        for c in paid.evidence.iter().chain(&paid2.evidence) {
            assert_eq!(photo_pieces_found(path, &c.jpeg), 0);
        }
    };
    check(&f.path); // while open: the -wal file holds the last commits
    let c = day_count(&f.store, f.centre);
    assert_eq!((c.checked, c.paid, c.queued), (3, 2, 1));
    assert_eq!(count(&f.store, "select count(*) from precheck"), 1);
    f.store.integrity_check().unwrap();
    let path = f.path.clone();
    drop(f.store);
    check(&path); // after close: everything checkpointed into the .db file
}

#[test]
fn unpaid_vehicle_is_queued_then_confirmed() {
    let mut f = fixture();
    let o = obs("EF-456-GH", f.centre, "cam-1", t0() - 20 * MIN, t0(), 1);
    let Outcome::Queued(id) = f.store.observe(&o).unwrap() else {
        panic!("not queued")
    };

    let q = f.store.queue("agent-7", t0() + MIN).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(
        (q[0].id, q[0].plate.as_str(), q[0].zone_name.as_str()),
        (id, "EF456GH", "centre")
    );
    assert_eq!((q[0].queued_unix_ms, q[0].first_seen_unix_ms), (t0(), t0() - 20 * MIN));
    assert!(!q[0].paid_session_found);
    let photos = f.store.evidence(id, "agent-7", t0() + 2 * MIN).unwrap();
    assert_eq!(photos, o.evidence.to_vec());

    // The decision must not carry the plate along.
    let e = f
        .store
        .confirm(id, "agent-7", "FPS ef456gh", t0() + 3 * MIN)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(!e.to_string().contains("EF456GH"), "{e}");

    let decided = t0() + 3 * MIN;
    f.store.confirm(id, "agent-7", "FPS-2024-000123", decided).unwrap();
    let r = f.store.record(id).unwrap();
    assert_eq!(
        r.decision,
        Decision::Confirmed {
            agent: "agent-7".into(),
            at_unix_ms: decided,
            fine_reference: "FPS-2024-000123".into()
        }
    );
    assert_eq!(r.plate, None, "the plate is erased once the fine is started");
    assert_eq!(r.evidence_photos, 2, "photos are kept for the appeal period");
    assert_eq!(r.evidence_expires_unix_ms, Some(decided + 90 * MS_PER_DAY));
    assert!(f.store.queue("agent-7", decided).unwrap().is_empty());

    // The plate text is gone from the files; the photos are still there.
    assert_eq!(files_containing(&f.path, b"EF456GH"), Vec::<String>::new());
    assert!(photo_pieces_found(&f.path, &o.evidence[1].jpeg) > photo_pieces(&o.evidence[1].jpeg) / 2);

    let c = day_count(&f.store, f.centre);
    assert_eq!((c.checked, c.queued, c.confirmed, c.dismissed), (1, 1, 1, 0));
    let log: Vec<(String, String)> = f
        .store
        .conn
        .prepare("select agent, action from agent_log order by id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|(_, a)| a.as_str()).collect();
    assert_eq!(actions, ["list_queue", "view_evidence", "confirm", "list_queue"]);
    assert!(log.iter().all(|(a, _)| a == "agent-7"));
    f.store.integrity_check().unwrap();
}

#[test]
fn unpaid_vehicle_is_queued_then_dismissed_with_a_reason() {
    let mut f = fixture();
    let o = obs("JK789LM", f.centre, "cam-1", t0() - 20 * MIN, t0(), 2);
    let Outcome::Queued(id) = f.store.observe(&o).unwrap() else {
        panic!("not queued")
    };
    for bad in ["", "   ", "JK-789-LM shows a resident permit"] {
        let e = f.store.dismiss(id, "agent-3", bad, t0() + MIN).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad:?}");
    }
    assert_eq!(
        f.store.dismiss(id, "", "permit", t0() + MIN).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(
        f.store.dismiss(id, "agent-3", "permit", t0() - MIN).unwrap_err().kind(),
        ErrorKind::InvalidArgument,
        "a decision before the record existed"
    );
    f.store
        .dismiss(id, "agent-3", "resident permit on display", t0() + MIN)
        .unwrap();
    let r = f.store.record(id).unwrap();
    assert_eq!(
        r.decision,
        Decision::Dismissed {
            agent: "agent-3".into(),
            at_unix_ms: t0() + MIN,
            reason: "resident permit on display".into()
        }
    );
    // Nothing to appeal: plate and photos go with the decision.
    assert_eq!(
        (r.plate, r.evidence_photos, r.evidence_purged_unix_ms),
        (None, 0, Some(t0() + MIN))
    );
    assert_eq!(files_containing(&f.path, b"JK789LM"), Vec::<String>::new());
    for c in &o.evidence {
        assert_eq!(photo_pieces_found(&f.path, &c.jpeg), 0);
    }
    assert!(f.store.evidence(id, "agent-3", t0() + 2 * MIN).unwrap().is_empty());
    let c = day_count(&f.store, f.centre);
    assert_eq!((c.queued, c.confirmed, c.dismissed), (1, 0, 1));
}

#[test]
fn a_decision_is_final() {
    let mut f = fixture();
    let Outcome::Queued(id) = f
        .store
        .observe(&obs("NP123QR", f.centre, "cam-1", t0() - HOUR, t0(), 3))
        .unwrap()
    else {
        panic!("not queued")
    };
    f.store.confirm(id, "agent-1", "FPS-1", t0() + MIN).unwrap();
    for e in [
        f.store
            .dismiss(id, "agent-2", "changed my mind", t0() + 2 * MIN)
            .unwrap_err(),
        f.store.confirm(id, "agent-2", "FPS-2", t0() + 2 * MIN).unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("already confirmed"), "{e}");
    }
    assert_eq!(
        f.store
            .confirm(PrecheckId(999), "agent-1", "FPS-3", t0())
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );

    // The database refuses it too, whatever the code does.
    let conn = &f.store.conn;
    for sql in [
        "update precheck set state = 'dismissed', fine_reference = null, dismiss_reason = 'x'",
        "update precheck set fine_reference = 'FPS-9'",
        "update precheck set decided_by = 'someone-else'",
        "update precheck set state = 'pending', plate = 'NP123QR', decided_by = null, decided_unix_ms = null, \
         fine_reference = null, evidence_expires_unix_ms = null",
    ] {
        let e = conn.execute(sql, []).unwrap_err();
        assert!(e.to_string().contains("final"), "{sql}: {e}");
    }
    // No record can be created confirmed: a fine without an agent is impossible.
    let e = conn
        .execute(
            "insert into precheck (zone_id, camera, confidence, first_seen_unix_ms, queued_unix_ms, \
             last_seen_unix_ms, state, decided_by, decided_unix_ms, fine_reference, evidence_expires_unix_ms) \
             values (1, 'cam-1', 1.0, 0, 0, 0, 'confirmed', 'robot', 0, 'FPS-auto', 0)",
            [],
        )
        .unwrap_err();
    assert!(e.to_string().contains("created pending"), "{e}");
    // And a pending record cannot be confirmed without who, when and the fine reference.
    let Outcome::Queued(id2) = f
        .store
        .observe(&obs("ST456UV", f.centre, "cam-1", t0() - HOUR, t0(), 4))
        .unwrap()
    else {
        panic!("not queued")
    };
    let e = f
        .store
        .conn
        .execute(
            "update precheck set state = 'confirmed', plate = null where id = ?",
            [id2.0],
        )
        .unwrap_err();
    assert!(e.to_string().contains("CHECK constraint failed"), "{e}");
    assert_eq!(f.store.record(id2).unwrap().decision, Decision::Pending);
}

#[test]
fn expiry_purge_removes_evidence_and_text() {
    let mut f = fixture();
    // A confirmed record (photos kept 90 days), a pending record no agent decides, a session.
    let confirmed = obs("WX123YZ", f.centre, "cam-1", t0() - HOUR, t0(), 10);
    let Outcome::Queued(c_id) = f.store.observe(&confirmed).unwrap() else {
        panic!()
    };
    let decided = t0() + 5 * MIN;
    f.store.confirm(c_id, "agent-1", "FPS-77", decided).unwrap();
    let stale = obs("BC234DE", f.gare, "cam-2", t0() - HOUR, t0() + MIN, 20);
    let Outcome::Queued(s_id) = f.store.observe(&stale).unwrap() else {
        panic!()
    };
    f.store
        .add_session(&NewSession::new("FG345HI", "gare", t0(), t0() + HOUR), t0())
        .unwrap();

    // Nothing is due yet.
    assert_eq!(
        f.store.purge_expired(t0() + 2 * HOUR).unwrap(),
        PurgeReport {
            wal_truncated: true,
            ..Default::default()
        }
    );
    // 4 h after queuing: the undecided record goes, plate and photos; 4 h after its end: the session.
    let r = f.store.purge_expired(t0() + 5 * HOUR + MIN).unwrap();
    assert_eq!(
        (r.expired_pending, r.sessions_deleted, r.evidence_purged),
        (1, 1, 0),
        "{r:?}"
    );
    assert_eq!(f.store.record(s_id).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(
        f.store
            .confirm(s_id, "agent-1", "FPS-78", t0() + 6 * HOUR)
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(files_containing(&f.path, b"BC234DE"), Vec::<String>::new());
    for c in &stale.evidence {
        assert_eq!(photo_pieces_found(&f.path, &c.jpeg), 0);
    }
    assert_eq!(day_count(&f.store, f.gare).expired, 1);
    assert_eq!(count(&f.store, "select count(*) from paid_session"), 0);

    // The confirmed record's photos stay for the appeal period, to the millisecond.
    let appeal_end = decided + 90 * MS_PER_DAY;
    assert_eq!(f.store.purge_expired(appeal_end - 1).unwrap().evidence_purged, 0);
    assert!(photo_pieces_found(&f.path, &confirmed.evidence[1].jpeg) > 0);
    let r = f.store.purge_expired(appeal_end).unwrap();
    assert_eq!((r.evidence_purged, r.records_deleted, r.wal_truncated), (1, 0, true));
    let row = f.store.record(c_id).unwrap();
    assert_eq!(
        (row.plate, row.evidence_photos, row.evidence_purged_unix_ms),
        (None, 0, Some(appeal_end))
    );
    assert!(
        matches!(row.decision, Decision::Confirmed { .. }),
        "the decision log stays"
    );
    assert_eq!(files_containing(&f.path, b"WX123YZ"), Vec::<String>::new());
    for c in &confirmed.evidence {
        assert_eq!(photo_pieces_found(&f.path, &c.jpeg), 0);
    }

    // A year after the decision, the stripped record and the agent log go too; counters stay.
    let r = f.store.purge_expired(decided + 365 * MS_PER_DAY).unwrap();
    assert_eq!((r.records_deleted, r.log_entries_deleted), (1, 1), "{r:?}");
    assert_eq!(count(&f.store, "select count(*) from precheck"), 0);
    assert_eq!(day_count(&f.store, f.centre).confirmed, 1);
    f.store.integrity_check().unwrap();
}

#[test]
fn csv_import_reports_the_bad_lines_and_imports_the_others() {
    let mut f = fixture();
    let csv = "plate,zone,start,end,reference\n\
               AA-111-AA,centre,2024-05-15T09:00:00+02:00,2024-05-15T12:00:00+02:00,r1\n\
               BB-222-BB,centre,2024-05-15T09:00:00+02:00\n\
               CC-333-CC,centre,2024-05-15T09:00:00+02:00,2024-05-15T12:00:00+02:00\n\
               DD-444-DD,nowhere,2024-05-15T09:00:00+02:00,2024-05-15T12:00:00+02:00\n\
               EE-555-EE,centre,2024-05-15T12:00:00+02:00,2024-05-15T09:00:00+02:00\n";
    let report = f.store.import_sessions_csv(csv, t0()).unwrap();
    assert_eq!(report.imported, 2);
    let lines: Vec<usize> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5, 6], "{report:?}");
    assert!(
        report.errors[0]
            .to_string()
            .starts_with("line 3: expected 4 or 5 fields"),
        "{}",
        report.errors[0]
    );
    assert!(
        report.errors[1].message.contains("unknown zone \"nowhere\""),
        "{}",
        report.errors[1]
    );
    assert!(
        report.errors[2].message.contains("ends before it starts"),
        "{}",
        report.errors[2]
    );
    for e in &report.errors {
        for p in ["BB222BB", "BB-222-BB", "DD-444-DD", "EE-555-EE"] {
            assert!(!e.message.contains(p), "{e}");
        }
    }
    for (plate, paid) in [
        ("AA111AA", true),
        ("CC333CC", true),
        ("BB222BB", false),
        ("DD444DD", false),
    ] {
        let o = f
            .store
            .observe(&obs(plate, f.centre, "cam-1", t0() - HOUR, t0(), 5))
            .unwrap();
        assert_eq!(o == Outcome::Paid, paid, "{plate}: {o:?}");
    }
    // A provider sending the same reference again replaces the session (here: moved to end at 09:30).
    f.store
        .import_sessions_csv(
            "AA111AA,centre,2024-05-15T09:00:00+02:00,2024-05-15T09:30:00+02:00,r1\n",
            t0(),
        )
        .unwrap();
    assert_eq!(count(&f.store, "select count(*) from paid_session"), 2);
    let later = obs("AA111AA", f.centre, "cam-1", t0() - HOUR, t0() + MIN, 6);
    assert!(matches!(f.store.observe(&later).unwrap(), Outcome::Queued(_)));
}

#[test]
fn sessions_and_observations_outside_paid_hours() {
    let mut f = fixture();
    // A session bought for the lunch break (12:00-14:00, free) does not cover 15:00 (paid).
    f.store
        .add_session(
            &NewSession::new(
                "KL567MN",
                "centre",
                t("2024-05-15T12:00:00+02:00"),
                t("2024-05-15T14:00:00+02:00"),
            ),
            t0(),
        )
        .unwrap();
    let lunch = t("2024-05-15T13:00:00+02:00");
    assert_eq!(
        f.store
            .observe(&obs("KL567MN", f.centre, "cam-1", lunch - HOUR, lunch, 7))
            .unwrap(),
        Outcome::Free
    );
    let afternoon = t("2024-05-15T15:00:00+02:00");
    assert!(matches!(
        f.store
            .observe(&obs("KL567MN", f.centre, "cam-1", lunch, afternoon, 8))
            .unwrap(),
        Outcome::Queued(_)
    ));
    // Sunday, and evenings, are free with or without a session.
    let sunday = t("2024-05-19T10:00:00+02:00");
    assert_eq!(
        f.store
            .observe(&obs("OP678QR", f.centre, "cam-1", sunday - HOUR, sunday, 9))
            .unwrap(),
        Outcome::Free
    );
    let evening = t("2024-05-15T19:30:00+02:00");
    assert_eq!(
        f.store
            .observe(&obs("OP678QR", f.centre, "cam-1", evening - HOUR, evening, 9))
            .unwrap(),
        Outcome::Free
    );
    let counts = f.store.daily_counts(Some(f.centre)).unwrap();
    let days: Vec<(&str, u64, u64, u64)> = counts
        .iter()
        .map(|c| (c.day.as_str(), c.checked, c.free, c.queued))
        .collect();
    assert_eq!(days, [("2024-05-15", 3, 2, 1), ("2024-05-19", 1, 1, 0)]);
}

#[test]
fn grace_period() {
    let mut f = fixture();
    let arrived = t0();
    // 14 minutes after arrival: within the 15 minutes of grace, nothing is checked or kept.
    assert_eq!(
        f.store
            .observe(&obs("ST901UV", f.centre, "cam-1", arrived, arrived + 14 * MIN, 11))
            .unwrap(),
        Outcome::WithinGrace
    );
    assert_eq!(count(&f.store, "select count(*) from precheck"), 0);
    // The driver pays at minute 10: at minute 20 the session covers the read.
    f.store
        .add_session(
            &NewSession::new("ST901UV", "centre", arrived + 10 * MIN, arrived + 2 * HOUR),
            arrived,
        )
        .unwrap();
    assert_eq!(
        f.store
            .observe(&obs("ST901UV", f.centre, "cam-1", arrived, arrived + 20 * MIN, 12))
            .unwrap(),
        Outcome::Paid
    );
    // Another who never pays is queued at minute 15.
    assert!(matches!(
        f.store
            .observe(&obs("WX234YZ", f.centre, "cam-1", arrived, arrived + 15 * MIN, 13))
            .unwrap(),
        Outcome::Queued(_)
    ));
    // Parked at 08:50 before paid hours start at 09:00: the grace counts from 09:00.
    let nine = t("2024-05-15T09:00:00+02:00");
    let early = obs("AB567CD", f.centre, "cam-1", nine - 10 * MIN, nine + 10 * MIN, 14);
    assert_eq!(f.store.observe(&early).unwrap(), Outcome::WithinGrace);
    let c = day_count(&f.store, f.centre);
    assert_eq!((c.checked, c.within_grace, c.paid, c.queued), (4, 2, 1, 1));
}

#[test]
fn a_session_for_another_zone_does_not_count() {
    let mut f = fixture();
    f.store
        .add_session(&NewSession::new("EF678GH", "gare", t0() - HOUR, t0() + HOUR), t0())
        .unwrap();
    assert_eq!(
        f.store
            .observe(&obs("EF678GH", f.gare, "cam-2", t0() - HOUR, t0(), 15))
            .unwrap(),
        Outcome::Paid
    );
    assert!(matches!(
        f.store
            .observe(&obs("EF678GH", f.centre, "cam-1", t0() - HOUR, t0(), 16))
            .unwrap(),
        Outcome::Queued(_)
    ));
}

#[test]
fn unreadable_plates_never_queue() {
    let mut f = fixture();
    let mut low = obs("IJ789KL", f.centre, "cam-1", t0() - HOUR, t0(), 17);
    low.confidence = 0.5;
    assert_eq!(f.store.observe(&low).unwrap(), Outcome::Unreadable);
    let mut none = obs("", f.centre, "cam-1", t0() - HOUR, t0(), 18);
    none.plate = None;
    none.evidence = Default::default(); // a camera from high above: no crops to give
    assert_eq!(f.store.observe(&none).unwrap(), Outcome::Unreadable);
    let garbage = obs("#?", f.centre, "cam-1", t0() - HOUR, t0(), 19);
    assert_eq!(f.store.observe(&garbage).unwrap(), Outcome::Unreadable);
    // Even a low-confidence read of a paid plate is only counted.
    f.store
        .add_session(&NewSession::new("IJ789KL", "centre", t0() - HOUR, t0() + HOUR), t0())
        .unwrap();
    assert_eq!(f.store.observe(&low).unwrap(), Outcome::Unreadable);
    assert_eq!(count(&f.store, "select count(*) from precheck"), 0);
    assert_eq!(files_containing(&f.path, b"IJ789KL"), Vec::<String>::new());
    assert_eq!(day_count(&f.store, f.centre).unreadable, 4);
}

#[test]
fn a_vehicle_still_there_is_queued_once() {
    let mut f = fixture();
    let first = obs("MN890OP", f.centre, "cam-1", t0() - HOUR, t0(), 21);
    let Outcome::Queued(id) = f.store.observe(&first).unwrap() else {
        panic!()
    };
    let again = obs("MN-890-OP", f.centre, "cam-1", t0() - HOUR, t0() + 10 * MIN, 22);
    assert_eq!(f.store.observe(&again).unwrap(), Outcome::Queued(id));
    let r = f.store.record(id).unwrap();
    assert_eq!((r.queued_unix_ms, r.last_seen_unix_ms), (t0(), t0() + 10 * MIN));
    assert_eq!(
        f.store.evidence(id, "agent-1", t0() + 11 * MIN).unwrap(),
        first.evidence.to_vec()
    );
    let c = day_count(&f.store, f.centre);
    assert_eq!((c.checked, c.queued), (2, 1));
    // A provider's late session shows in the queue, for the agent to dismiss.
    f.store
        .add_session(
            &NewSession::new("MN890OP", "centre", t0() - 2 * MIN, t0() + HOUR),
            t0() + 12 * MIN,
        )
        .unwrap();
    let q = f.store.queue("agent-1", t0() + 13 * MIN).unwrap();
    assert!(q[0].paid_session_found);
}

#[test]
fn invalid_observations_store_nothing() {
    let mut f = fixture();
    let wrong_camera = obs("QR901ST", f.centre, "cam-2", t0() - HOUR, t0(), 23);
    assert_eq!(
        f.store.observe(&wrong_camera).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let backwards = obs("QR901ST", f.centre, "cam-1", t0() + HOUR, t0(), 23);
    assert_eq!(
        f.store.observe(&backwards).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut not_jpeg = obs("QR901ST", f.centre, "cam-1", t0() - HOUR, t0(), 23);
    not_jpeg.evidence[1].jpeg = b"\x89PNG\r\n".to_vec();
    assert_eq!(
        f.store.observe(&not_jpeg).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut nan = obs("QR901ST", f.centre, "cam-1", t0() - HOUR, t0(), 23);
    nan.confidence = f32::NAN;
    assert_eq!(f.store.observe(&nan).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let unknown = obs("QR901ST", ZoneId(99), "cam-1", t0() - HOUR, t0(), 23);
    assert_eq!(f.store.observe(&unknown).unwrap_err().kind(), ErrorKind::NotFound);
    assert_eq!(count(&f.store, "select count(*) from precheck"), 0);
    assert_eq!(count(&f.store, "select count(*) from daily_count"), 0);

    for (s, kind) in [
        (
            NewSession::new("!!", "centre", t0(), t0() + HOUR),
            ErrorKind::InvalidArgument,
        ),
        (
            NewSession::new("QR901ST", "centre", t0(), t0()),
            ErrorKind::InvalidArgument,
        ),
        (
            NewSession::new("QR901ST", "centre", t0(), t0() + 400 * MS_PER_DAY),
            ErrorKind::InvalidArgument,
        ),
        (
            NewSession::new("QR901ST", "centre", t0() / 1000, t0()),
            ErrorKind::InvalidArgument,
        ), // seconds, not ms
        (
            NewSession::new("QR901ST", "nowhere", t0(), t0() + HOUR),
            ErrorKind::NotFound,
        ),
    ] {
        let e = f.store.add_session(&s, t0()).unwrap_err();
        assert_eq!(e.kind(), kind, "{s:?}: {e}");
        assert!(!e.to_string().contains("QR901ST"), "{e}");
    }
}

#[test]
fn zones() {
    let mut f = fixture();
    let zones = f.store.zones().unwrap();
    assert_eq!(zones.len(), 2);
    assert_eq!(zones[0].rules, {
        let mut r = paris_rules();
        r.paid_hours.sort_by_key(|h| (h.weekday, h.start_min));
        r
    });
    assert!(zones[0].contains(0.5, 0.7));
    assert!(!zones[0].contains(0.5, 0.3));
    assert_eq!(f.store.zone_by_name("gare").unwrap().unwrap().id, f.gare);
    assert_eq!(f.store.zone_by_name("nowhere").unwrap(), None);
    assert_eq!(f.store.zone(ZoneId(42)).unwrap_err().kind(), ErrorKind::NotFound);
    let dup = f.store.add_zone(&new_zone("centre", "cam-9"), t0()).unwrap_err();
    assert_eq!(dup.kind(), ErrorKind::InvalidArgument);
    let mut outside = new_zone("z", "cam-3");
    outside.polygon[0] = [1.5, 0.5];
    assert_eq!(
        f.store.add_zone(&outside, t0()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    let mut bad_hours = new_zone("z", "cam-3");
    bad_hours.rules.paid_hours[0].end_min = 2000;
    assert_eq!(
        f.store.add_zone(&bad_hours, t0()).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
fn opening_checks_file_key_and_version() {
    let f = fixture();
    let path = f.path.clone();
    drop(f.store);
    let reopened = ParkingStore::open(&path, key(), Config::default(), t0()).unwrap();
    assert_eq!(reopened.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(reopened.zones().unwrap().len(), 2);
    drop(reopened);

    let e = ParkingStore::open(&path, PlateKey::from_bytes([8; 32]), Config::default(), t0()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Config, "{e}");

    {
        let conn = Connection::open(&path).unwrap();
        conn.execute("update meta set schema_version = 99", []).unwrap();
    }
    let e = ParkingStore::open(&path, key(), Config::default(), t0()).unwrap_err();
    assert!(e.to_string().contains("newer"), "{e}");

    // Another SQLite database (the main Vigie database, say) is not a plate database.
    let other = f._dir.path().join("vigie.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("create table meta (id integer primary key, schema_version integer)")
        .unwrap();
    let e = ParkingStore::open(&other, key(), Config::default(), t0()).unwrap_err();
    assert!(e.to_string().contains("not a Vigie plate database"), "{e}");

    let junk = f._dir.path().join("junk.db");
    std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
    assert_eq!(
        ParkingStore::open(&junk, key(), Config::default(), t0())
            .unwrap_err()
            .kind(),
        ErrorKind::Database
    );

    let bad = Config {
        min_confidence: 1.5,
        ..Config::default()
    };
    assert_eq!(
        ParkingStore::open_in_memory(key(), bad, t0()).unwrap_err().kind(),
        ErrorKind::Config
    );
}

#[test]
fn sessions_store_only_a_keyed_digest() {
    let mut f = fixture();
    f.store
        .add_session(&NewSession::new("UV012WX", "centre", t0(), t0() + HOUR), t0())
        .unwrap();
    let digest: Vec<u8> = f
        .store
        .conn
        .query_row("select plate_digest from paid_session", [], |r| r.get(0))
        .unwrap();
    assert_eq!(digest, key().plate_digest("UV012WX"));
    assert_ne!(digest, PlateKey::from_bytes([8; 32]).plate_digest("UV012WX"));
    assert_eq!(files_containing(&f.path, b"UV012WX"), Vec::<String>::new());
}

/// One step of a random scenario: a provider's session, or a read of a parked vehicle.
#[derive(Clone, Debug)]
enum Step {
    Session {
        plate: usize,
        zone: usize,
        start_min: i64,
        len_min: i64,
    },
    Observe {
        plate: usize,
        zone: usize,
        at_min: i64,
    },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..5usize, 0..2usize, 0..600i64, 1..180i64).prop_map(|(plate, zone, start_min, len_min)| Step::Session {
            plate,
            zone,
            start_min,
            len_min
        }),
        (0..5usize, 0..2usize, 0..720i64).prop_map(|(plate, zone, at_min)| Step::Observe { plate, zone, at_min }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the order of sessions and reads: a read covered by a session of its zone, received before it, is
    /// paid and never queued; a read with no such session is queued and never paid.
    #[test]
    fn covered_plates_are_never_queued_and_others_never_paid(steps in prop::collection::vec(step(), 1..60)) {
        const PLATES: [&str; 5] = ["AA100AA", "BB200BB", "CC300CC", "DD400DD", "EE500EE"];
        let zone_names = ["a", "b"];
        let cameras = ["cam-a", "cam-b"];
        let base = t0();
        let mut store = ParkingStore::open_in_memory(key(), Config::default(), base).unwrap();
        let always_paid = ZoneRules {
            utc_offset_min: 60,
            dst: DstRule::Eu,
            grace_s: 0,
            paid_hours: PaidHours::days(0..=6, 0, MINUTES_PER_DAY),
        };
        let zones: Vec<ZoneId> = (0..2)
            .map(|i| {
                store
                    .add_zone(
                        &NewZone {
                            name: zone_names[i].into(),
                            camera: cameras[i].into(),
                            polygon: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]],
                            rules: always_paid.clone(),
                        },
                        base,
                    )
                    .unwrap()
            })
            .collect();
        let mut sessions: Vec<(usize, usize, i64, i64)> = Vec::new();
        for (i, s) in steps.iter().enumerate() {
            match *s {
                Step::Session { plate, zone, start_min, len_min } => {
                    let (start, end) = (base + start_min * MIN, base + (start_min + len_min) * MIN);
                    store.add_session(&NewSession::new(PLATES[plate], zone_names[zone], start, end), base).unwrap();
                    sessions.push((plate, zone, start, end));
                }
                Step::Observe { plate, zone, at_min } => {
                    let at = base + at_min * MIN;
                    let covered = sessions.iter().any(|&(p, z, s, e)| p == plate && z == zone && s <= at && at < e);
                    let o = obs(PLATES[plate], zones[zone], cameras[zone], at, at, i as u64);
                    let outcome = store.observe(&o).unwrap();
                    if covered {
                        prop_assert_eq!(outcome, Outcome::Paid, "step {}: {:?}", i, s);
                    } else {
                        prop_assert!(matches!(outcome, Outcome::Queued(_)), "step {}: {:?} gave {:?}", i, s, outcome);
                    }
                }
            }
        }
        store.integrity_check().unwrap();
    }
}
