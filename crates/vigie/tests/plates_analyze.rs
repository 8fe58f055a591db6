//! Plates during `vigie analyze`, and the parking pre-check end to end, on real footage:
//!
//! - a clip made with ffmpeg from five real photos of `../shared/data/plates-eu/` (never copied into the
//!   repository): each photo held 4 s (a parked car, as a camera passing parked cars sees it), then 2.5 s of black
//!   so that each car is its own track;
//! - `../shared/data/video/car-detection.mp4`: a car park seen from high above, plates far too small to read.
//!
//! Needs the OCR models and ONNX Runtime (`make assets`) and ffmpeg.

mod common;
use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The photos of the clip, in order. Their ground truth has no O-for-zero slip (see `docs/accuracy.md`).
const PHOTOS: [&str; 5] = ["test_001", "test_002", "test_003", "test_062", "test_064"];

fn photos_dir() -> PathBuf {
    let p = repo_root().join("../shared/data/plates-eu");
    assert!(p.exists(), "missing real plate photos {}", p.display());
    p
}

/// The plate text of a photo, from its ground-truth file (`<file> x y w h TEXT`).
fn truth(name: &str) -> String {
    let t = std::fs::read_to_string(photos_dir().join(format!("{name}.txt"))).expect("ground truth");
    t.split_whitespace()
        .nth(5)
        .expect("a plate in the ground truth")
        .to_string()
}

/// The clip: each photo scaled into 640×480, held 4 s, then 2.5 s of black; 10 frames per second, H.264.
fn clip() -> &'static Path {
    static CLIP: OnceLock<PathBuf> = OnceLock::new();
    CLIP.get_or_init(|| {
        let d = temp_dir("plates-clip");
        let out = d.join("parked-cars.mp4");
        let mut args: Vec<String> = Vec::new();
        let mut filter = String::new();
        for (i, name) in PHOTOS.iter().enumerate() {
            let photo = photos_dir().join(format!("{name}.jpg"));
            args.extend(
                [
                    "-loop",
                    "1",
                    "-framerate",
                    "10",
                    "-t",
                    "4",
                    "-i",
                    photo.to_str().unwrap(),
                    "-f",
                    "lavfi",
                    "-t",
                    "2.5",
                    "-i",
                    "color=black:s=640x480:r=10",
                ]
                .map(String::from),
            );
            filter.push_str(&format!(
                "[{p}:v]scale=640:480:force_original_aspect_ratio=decrease,pad=640:480:(ow-iw)/2:(oh-ih)/2,setsar=1,\
                 fps=10[p{i}];[{b}:v]setsar=1[b{i}];",
                p = 2 * i,
                b = 2 * i + 1
            ));
        }
        for i in 0..PHOTOS.len() {
            filter.push_str(&format!("[p{i}][b{i}]"));
        }
        filter.push_str(&format!("concat=n={}:v=1:a=0[v]", 2 * PHOTOS.len()));
        args.extend(
            [
                "-filter_complex",
                &filter,
                "-map",
                "[v]",
                "-c:v",
                "libx264",
                "-pix_fmt",
                "yuv420p",
                "-crf",
                "18",
                out.to_str().unwrap(),
            ]
            .map(String::from),
        );
        ffmpeg(&args.iter().map(String::as_str).collect::<Vec<_>>());
        out
    })
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).expect("writing a test file");
    path.to_path_buf()
}

/// Names of the database's files (`.db`, `-wal`, `-shm`) whose bytes contain `needle`.
fn files_containing(db: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", db.display()));
        if let Ok(bytes) = std::fs::read(&p)
            && bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
        {
            found.push(p.display().to_string());
        }
    }
    found
}

/// Every file of the output folder (not the pictures) whose bytes contain `needle`.
fn outputs_containing(out: &Path, needle: &str) -> Vec<String> {
    ["tracks.jsonl", "summary.json", "report.html", "events.jsonl"]
        .iter()
        .filter(|f| {
            std::fs::read(out.join(f))
                .map(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
                .unwrap_or(false)
        })
        .map(|f| f.to_string())
        .collect()
}

fn vehicle_tracks(tracks: &[Value]) -> Vec<&Value> {
    tracks.iter().filter(|t| t.get("plate").is_some()).collect()
}

fn json_lines(o: &std::process::Output) -> Vec<Value> {
    assert!(
        o.status.success(),
        "vigie failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn plates_show_on_vehicle_tracks_and_stay_in_their_own_database() {
    let d = temp_dir("plates-tracks");
    let out = d.join("out");
    let cfg = write(&d.join("vigie.toml"), "[plates]\nenabled = true\n");
    let (summary, tracks) = analyze(clip(), &out, &["--config", cfg.to_str().unwrap()]);
    let expected: BTreeSet<String> = PHOTOS.iter().map(|n| truth(n)).collect();

    let vehicles = vehicle_tracks(&tracks);
    let mut read = BTreeSet::new();
    for t in &vehicles {
        let p = &t["plate"];
        match p["status"].as_str() {
            Some("read") => {
                let text = p["text"].as_str().unwrap().to_string();
                assert!(expected.contains(&text), "an invented plate {text} on {t}");
                assert!(p["confidence"].as_f64().unwrap() > 0.5, "{p}");
                assert!(
                    p["reads"].as_u64().unwrap() >= 1 && p["crops"].as_u64() <= Some(6),
                    "{p}"
                );
                read.insert(text);
            }
            Some("unread") => assert!(p.get("text").is_none(), "{p}"),
            other => panic!("status {other:?} without parking zones: {p}"),
        }
    }
    assert_eq!(read, expected, "each parked car's plate is read on its track");
    let s = &summary["plates"];
    assert_eq!(s["vehicle_tracks"].as_u64(), Some(vehicles.len() as u64), "{s}");
    assert!(s.get("parking").is_none(), "{s}");
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    for p in &expected {
        assert!(html.contains(p.as_str()), "{p} in the report");
    }

    // The track plate database: keyed by run and track, with the vote's confidence.
    let db = rusqlite::Connection::open(out.join("plates.db")).unwrap();
    let rows: Vec<(i64, i64, String, f64, i64)> = db
        .prepare("select run_id, track_id, plate, confidence, reads from track_plate order by track_id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let on_tracks: Vec<(i64, String)> = vehicles
        .iter()
        .filter(|t| t["plate"]["status"] == "read")
        .map(|t| {
            (
                t["track_id"].as_i64().unwrap(),
                t["plate"]["text"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(rows.iter().map(|r| (r.1, r.2.clone())).collect::<Vec<_>>(), on_tracks);
    for r in &rows {
        assert_eq!(r.0, summary["run_id"].as_i64().unwrap());
        assert!(r.3 > 0.5 && r.3 <= 1.0 && r.4 >= 1, "{r:?}");
    }
    // Never in the event database, nor in the events.
    for p in &expected {
        assert!(files_containing(&out.join("vigie.db"), p).is_empty(), "{p} in vigie.db");
        assert!(!outputs_containing(&out, p).contains(&"events.jsonl".to_string()));
    }

    // Issue 8: the case-gated plate search finds each vehicle read, exactly and with wildcards, only inside a case
    // over its camera, and logs the lookup.
    let scfg = write(
        &d.join("search.toml"),
        &format!("[storage]\ndatabase = \"{}\"\n", out.join("vigie.db").display()),
    );
    let scfg = scfg.to_str().unwrap();
    let camera = clip().file_stem().unwrap().to_str().unwrap();
    let ok = |args: &[&str]| {
        let o = vigie(args, &d);
        assert!(
            o.status.success(),
            "vigie {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        json_lines(&o)
    };
    ok(&[
        "case",
        "open",
        "PV-PLATE-1",
        "--authority",
        "Parquet",
        "--cameras",
        camera,
        "--from",
        "2000-01-01T00:00:00Z",
        "--to",
        "2099-01-01T00:00:00Z",
        "--investigators",
        "ines",
        "--plates",
        "--config",
        scfg,
    ]);
    ok(&[
        "case",
        "open",
        "PV-PLATE-2",
        "--authority",
        "Parquet",
        "--cameras",
        "elsewhere",
        "--from",
        "2000-01-01T00:00:00Z",
        "--to",
        "2099-01-01T00:00:00Z",
        "--investigators",
        "ines",
        "--plates",
        "--config",
        scfg,
    ]);
    for (track, plate) in &on_tracks {
        let found = ok(&["search", "--case", "PV-PLATE-1", "--plate", plate, "--config", scfg]);
        assert_eq!(found.len(), 1, "{plate}: {found:?}");
        assert_eq!(
            (found[0]["track_id"].as_i64(), found[0]["plate"].as_str()),
            (Some(*track), Some(plate.as_str()))
        );
        let wild = format!("{}*", &plate[..2]);
        let found = ok(&["search", "--case", "PV-PLATE-1", "--plate", &wild, "--config", scfg]);
        assert!(found.iter().any(|f| f["plate"] == plate.as_str()), "{wild}: {found:?}");
        assert!(ok(&["search", "--case", "PV-PLATE-2", "--plate", plate, "--config", scfg]).is_empty());
    }
    assert!(
        !vigie(&["search", "--case", "PV-NONE", "--plate", "AB*", "--config", scfg], &d)
            .status
            .success()
    );
    // A case whose order does not allow plate searches: refused (invalid use, exit 64), nothing looked up.
    ok(&[
        "case",
        "open",
        "PV-PLATE-3",
        "--authority",
        "Parquet",
        "--cameras",
        camera,
        "--from",
        "2000-01-01T00:00:00Z",
        "--to",
        "2099-01-01T00:00:00Z",
        "--investigators",
        "ines",
        "--config",
        scfg,
    ]);
    let (_, plate) = &on_tracks[0];
    let refused = vigie(
        &["search", "--case", "PV-PLATE-3", "--plate", plate, "--config", scfg],
        &d,
    );
    assert_eq!(refused.status.code(), Some(64), "{refused:?}");
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("does not allow plate searches"), "{err}");
    assert!(!String::from_utf8_lossy(&refused.stdout).contains(plate.as_str()));
    let listed: Vec<(String, bool)> = ok(&["case", "list", "--config", scfg])
        .iter()
        .map(|c| {
            (
                c["reference"].as_str().unwrap_or_default().to_owned(),
                c["plates_allowed"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("PV-PLATE-3".to_string(), false),
            ("PV-PLATE-2".to_string(), true),
            ("PV-PLATE-1".to_string(), true)
        ]
    );
    let log = String::from_utf8_lossy(&vigie(&["audit", "export", "--config", scfg], &d).stdout).into_owned();
    assert_eq!(log.matches("plate_lookup").count(), 3 * on_tracks.len(), "{log}");
}

#[test]
fn parking_precheck_end_to_end() {
    let d = temp_dir("plates-parking");
    let out = d.join("out");
    let parking_db = d.join("parking.db");
    let key = d.join("parking.key");
    let plates: Vec<String> = PHOTOS.iter().map(|n| truth(n)).collect();
    let (paid, unpaid) = plates.split_at(2);
    // The providers' CSV: sessions for the first two cars (written as drivers type them), a line for a zone that
    // does not exist.
    let dashed = |p: &str| format!("{}-{}-{}", &p[..2], &p[2..5], &p[5..]);
    let csv = write(
        &d.join("payments.csv"),
        &format!(
            "plate,zone,start,end,reference\n{},centre-1,2026-05-04T11:00:00+02:00,2026-05-04T13:00:00+02:00,pay-1\n\
             {},centre-1,2026-05-04T09:00:00Z,2026-05-04T10:30:00Z,pay-2\nAB123CD,elsewhere,2026-05-04T09:00:00Z,\
             2026-05-04T10:30:00Z,pay-3\n",
            dashed(&paid[0]),
            paid[1].to_lowercase()
        ),
    );
    let cfg = write(
        &d.join("vigie.toml"),
        &format!(
            "[events]\ncamera = \"street\"\n\n\
             [plates]\nenabled = true\nparking_database = {db:?}\nkey_file = {key:?}\npayments_csv = {csv:?}\n\
             video_start = \"2026-05-04T10:00:00Z\"\n\n\
             [[parking]]\nname = \"centre-1\"\ncamera = \"street\"\n\
             polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\npaid_hours = [\"mon-sun 00:00-24:00\"]\n\
             grace_s = 1\nutc_offset_min = 60\n",
            db = parking_db.display().to_string(),
            key = key.display().to_string(),
            csv = csv.display().to_string(),
        ),
    );
    let cfg_s = cfg.to_str().unwrap();
    let (summary, tracks) = analyze(clip(), &out, &["--config", cfg_s]);

    // Every parked car went through the pre-check: paid ones deleted at once, the others queued.
    let k = &summary["plates"]["parking"];
    assert_eq!(k["sessions_imported"].as_u64(), Some(2), "{k}");
    assert_eq!(k["session_errors"].as_array().map(Vec::len), Some(1), "{k}");
    assert_eq!(
        (k["paid"].as_u64(), k["queued"].as_u64(), k["unreadable"].as_u64()),
        (Some(2), Some(3), Some(0)),
        "{k}"
    );
    for t in vehicle_tracks(&tracks) {
        let p = &t["plate"];
        assert!(
            p.get("text").is_none(),
            "a parked car's plate is the pre-check's only: {p}"
        );
        if p["status"] == "parking" {
            assert_eq!(p["parking"]["zone"], "centre-1");
        }
    }
    // The plates are nowhere but in the parking database, and the paid ones not even there.
    for p in &plates {
        assert!(
            outputs_containing(&out, p).is_empty(),
            "{p} in {:?}",
            outputs_containing(&out, p)
        );
        assert!(
            files_containing(&out.join("plates.db"), p).is_empty(),
            "{p} in plates.db"
        );
        assert!(files_containing(&out.join("vigie.db"), p).is_empty(), "{p} in vigie.db");
    }
    for p in paid {
        assert!(
            files_containing(&parking_db, p).is_empty(),
            "paid {p} left in {:?}",
            files_containing(&parking_db, p)
        );
    }
    for p in unpaid {
        assert!(
            !files_containing(&parking_db, p).is_empty(),
            "unpaid {p} is queued in the parking database"
        );
    }

    // The agent's queue: the three unpaid cars, in order, with time and place.
    let db_args = ["--config", cfg_s];
    let vig = |args: &[&str]| {
        let mut v = args.to_vec();
        v.extend_from_slice(&db_args);
        vigie(&v, &d)
    };
    let queue = json_lines(&vig(&["parking", "queue", "--agent", "agent-7"]));
    let queued: Vec<&str> = queue.iter().map(|q| q["plate"].as_str().unwrap()).collect();
    assert_eq!(queued, unpaid.iter().map(String::as_str).collect::<Vec<_>>());
    let start = 1_777_888_800_000i64; // 2026-05-04T10:00:00Z
    for q in &queue {
        assert_eq!(
            (q["zone_name"].as_str(), q["camera"].as_str()),
            (Some("centre-1"), Some("street"))
        );
        let t = q["queued_unix_ms"].as_i64().unwrap();
        assert!(t > start && t < start + 33_000, "{q}");
        assert!(q["first_seen_unix_ms"].as_i64().unwrap() < t, "{q}");
        assert_eq!(q["paid_session_found"], false);
    }
    // Evidence: two JPEG photos per record.
    let ids: Vec<i64> = queue.iter().map(|q| q["id"].as_i64().unwrap()).collect();
    for id in &ids {
        let ev = json_lines(&vig(&[
            "parking",
            "evidence",
            &id.to_string(),
            "--agent",
            "agent-7",
            "--out",
            d.join("evidence").to_str().unwrap(),
        ]));
        let photos = ev[0]["photos"].as_array().unwrap();
        assert_eq!(photos.len(), 2, "{ev:?}");
        for p in photos {
            let bytes = std::fs::read(p["file"].as_str().unwrap()).unwrap();
            assert!(bytes.starts_with(&[0xFF, 0xD8, 0xFF]) && bytes.len() > 1000, "{p}");
            assert!(p["taken_unix_ms"].as_i64().unwrap() >= start);
        }
    }
    // The agent confirms the first and dismisses the second; each decision erases the plate.
    let (first, second, third) = (ids[0].to_string(), ids[1].to_string(), ids[2].to_string());
    json_lines(&vig(&[
        "parking",
        "confirm",
        &first,
        "--agent",
        "agent-7",
        "--fine",
        "FPS-2026-000123",
    ]));
    json_lines(&vig(&[
        "parking",
        "dismiss",
        &second,
        "--agent",
        "agent-7",
        "--reason",
        "resident permit on display",
    ]));
    let r = json_lines(&vig(&["parking", "record", &first]));
    assert_eq!(
        r[0]["decision"]["Confirmed"]["fine_reference"], "FPS-2026-000123",
        "{}",
        r[0]
    );
    assert!(r[0]["plate"].is_null() && r[0]["evidence_photos"] == 2, "{}", r[0]);
    let r = json_lines(&vig(&["parking", "record", &second]));
    assert!(r[0]["decision"]["Dismissed"].is_object(), "{}", r[0]);
    assert!(r[0]["plate"].is_null() && r[0]["evidence_photos"] == 0, "{}", r[0]);
    for p in &unpaid[..2] {
        assert!(
            files_containing(&parking_db, p).is_empty(),
            "decided {p} left in the parking database"
        );
    }
    assert!(!files_containing(&parking_db, &unpaid[2]).is_empty());
    // A decision is final.
    let again = vig(&[
        "parking",
        "dismiss",
        &first,
        "--agent",
        "agent-8",
        "--reason",
        "changed my mind",
    ]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("already confirmed"),
        "{again:?}"
    );
    let queue = json_lines(&vig(&["parking", "queue", "--agent", "agent-7"]));
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["id"].as_i64().unwrap().to_string(), third);

    // The third waited longer than an agent may take (4 h: the video is of 2026-05-04): the purge deletes it.
    let purge = json_lines(&vig(&["parking", "purge"]));
    assert_eq!(purge[0]["expired_pending"], 1, "{}", purge[0]);
    assert!(files_containing(&parking_db, &unpaid[2]).is_empty());
    assert!(json_lines(&vig(&["parking", "queue", "--agent", "agent-7"])).is_empty());
    let counts = json_lines(&vig(&["parking", "counts"]));
    let c = |k: &str| counts.iter().map(|c| c[k].as_u64().unwrap()).sum::<u64>();
    assert_eq!(
        (
            c("checked"),
            c("paid"),
            c("queued"),
            c("confirmed"),
            c("dismissed"),
            c("expired")
        ),
        (5, 2, 3, 1, 1, 1)
    );
    // The provider's CLI import reports a bad line and stores the others.
    let more = write(
        &d.join("more.csv"),
        "SI819AK,centre-1,2026-05-04T09:00:00Z,2026-05-04T10:30:00Z\nnot a line\n",
    );
    let r = json_lines(&vig(&["parking", "import", more.to_str().unwrap()]));
    assert_eq!(r[0]["imported"], 1, "{}", r[0]);
    assert_eq!(r[0]["errors"][0]["line"], 2, "{}", r[0]);
    // Without a database, the agent's commands refuse to start rather than create one.
    let o = vigie(
        &[
            "parking",
            "queue",
            "--agent",
            "a",
            "--db",
            d.join("none.db").to_str().unwrap(),
        ],
        &d,
    );
    assert_eq!(
        o.status.code(),
        Some(vigie_core::ErrorKind::NotFound.exit_code()),
        "{o:?}"
    );
}

#[test]
fn car_park_from_high_above_plates_unread_never_guessed() {
    // Plates of a few pixels: what the shipped NanoDet finds as vehicles gets no plate, and the pre-check counts
    // the parked ones as unreadable (never queued, never matched).
    let d = temp_dir("plates-high");
    let out = d.join("out");
    let cfg = write(
        &d.join("vigie.toml"),
        &format!(
            "[plates]\nenabled = true\nparking_database = {:?}\nkey_file = {:?}\nmin_crop_width = 16\n\n\
             [[parking]]\nname = \"lot\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n\
             paid_hours = [\"mon-sun 00:00-24:00\"]\ngrace_s = 0\n",
            d.join("parking.db").display().to_string(),
            d.join("parking.key").display().to_string()
        ),
    );
    let (summary, tracks) = analyze(
        &shared_video("car-detection.mp4"),
        &out,
        &["--config", cfg.to_str().unwrap()],
    );
    let vehicles = vehicle_tracks(&tracks);
    println!("vehicle tracks: {vehicles:?}\nplates: {}", summary["plates"]);
    assert!(!vehicles.is_empty(), "the shipped detector finds a few cars");
    for t in &vehicles {
        let p = &t["plate"];
        assert!(p.get("text").is_none(), "no plate can be read from up there: {t}");
        match p["status"].as_str() {
            Some("unread") => {}
            Some("parking") => assert!(
                ["unreadable", "within_grace"].contains(&p["parking"]["outcome"].as_str().unwrap()),
                "{p}"
            ),
            other => panic!("{other:?}: {p}"),
        }
    }
    let k = &summary["plates"]["parking"];
    assert_eq!((k["paid"].as_u64(), k["queued"].as_u64()), (Some(0), Some(0)), "{k}");
    assert_eq!(summary["plates"]["tracks_read"].as_u64(), Some(0));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("plate unread") || html.contains("unreadable"));
}

// ------------------------------------------------------------------------------------------------------------------
// The same pre-check live: `vigie serve` with the clip as a file camera.

/// One HTTP/1.1 request to `addr`; (status, raw response with headers).
fn http(addr: &str, method: &str, path: &str, body: &str, headers: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         {headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).to_string();
    let status = text.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    (status, text)
}

/// Logs `user` in; the headers (session cookie, CSRF token) of its requests.
fn login(addr: &str, user: &str, password: &str) -> String {
    let (st, resp) = http(
        addr,
        "POST",
        "/api/login",
        &format!(r#"{{"username":"{user}","password":"{password}"}}"#),
        "",
    );
    assert_eq!(st, 200, "{resp}");
    let (cookie, csrf) = session_of(&resp);
    format!("Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n")
}

/// The JSON body of a response (chunked or not: from the first `[` or `{` to the last `]` or `}`).
fn json_body(resp: &str) -> Value {
    let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    let start = body.find(['[', '{']).unwrap_or(0);
    let end = body.rfind([']', '}']).map_or(body.len(), |i| i + 1);
    serde_json::from_str(&body[start..end]).unwrap_or_else(|e| panic!("JSON: {e}: {body}"))
}

/// Issue 4, live: `vigie serve` plays the clip as a file camera with a parking zone over the whole picture. The first
/// car's session is imported before the start (provider CSV), the second's posted to `/api/payments` by the provider
/// while the service runs; the agent's queue (`/api/parking/queue`) gets the three others with their two evidence photos,
/// and nothing of the paid plates is in the parking database files, nor any plate in the event database.
#[test]
fn parking_precheck_live_in_serve() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let d = temp_dir("plates-serve");
    let parking_db = d.join("parking.db");
    let plates: Vec<String> = PHOTOS.iter().map(|n| truth(n)).collect();
    // Paid: the first car (imported before the start) and the second (posted by the provider once running: it comes
    // into view 6.5 s after the start). The three others come after them, so once they are all queued both paid
    // cars have been checked.
    let (imported, posted) = (&plates[0], &plates[1]);
    let unpaid: BTreeSet<&String> = plates[2..5].iter().collect();
    let now = jiff::Timestamp::now();
    let at = |s: i64| {
        jiff::Timestamp::from_second(now.as_second() + s)
            .expect("time")
            .to_string()
    };
    let csv = write(
        &d.join("payments.csv"),
        &format!(
            "plate,zone,start,end,reference\n{imported},centre-1,{},{},pay-1\n",
            at(-3600),
            at(3600)
        ),
    );
    let cfg = write(
        &d.join("vigie.toml"),
        &format!(
            "[storage]\ndatabase = {db:?}\n\n[server]\nrecordings = {rec:?}\n\n[detector]\nworkers = 1\n\n\
             [plates]\nenabled = true\nparking_database = {pdb:?}\nkey_file = {key:?}\n\n\
             [[parking]]\nname = \"centre-1\"\ncamera = \"street\"\n\
             polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\npaid_hours = [\"mon-sun 00:00-24:00\"]\n\
             grace_s = 1\nutc_offset_min = 60\n\n\
             [[camera]]\nname = \"street\"\nfile = {clip:?}\nmotion_gate = false\nrecord = false\n",
            db = d.join("vigie.db").display().to_string(),
            rec = d.join("recordings").display().to_string(),
            pdb = parking_db.display().to_string(),
            key = d.join("parking.key").display().to_string(),
            clip = clip().display().to_string(),
        ),
    );
    let cfg_s = cfg.to_str().unwrap();
    let vigie = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(args)
            .args(["--config", cfg_s])
            .current_dir(&d)
            .output()
            .expect("vigie");
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    vigie(&["parking", "import", csv.to_str().unwrap()]);
    for (user, role) in [("agent", "parking_agent"), ("provider", "admin")] {
        let mut add = Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(["user", "add", user, "--role", role, "--config", cfg_s])
            .current_dir(&d)
            .stdin(Stdio::piped())
            .spawn()
            .expect("vigie user add");
        add.stdin
            .take()
            .expect("stdin")
            .write_all(b"correct horse battery\n")
            .expect("password");
        assert!(add.wait().expect("wait").success());
    }
    let (svc, addr) = serve(&d, Path::new(cfg_s));
    let provider = login(&addr, "provider", "correct horse battery");
    let (st, resp) = http(
        &addr,
        "POST",
        "/api/payments",
        &format!(
            r#"{{"plate":"{}","zone":"centre-1","start_unix_ms":{},"end_unix_ms":{}}}"#,
            posted.to_lowercase(),
            (now.as_second() - 600) * 1000,
            (now.as_second() + 3600) * 1000
        ),
        &provider,
    );
    assert!((200..300).contains(&st), "payment: {resp}");
    let agent = login(&addr, "agent", "correct horse battery");

    // The clip lasts 32.5 s (and loops); each car is checked when its track ends.
    let t0 = std::time::Instant::now();
    let queued = loop {
        let (st, resp) = http(&addr, "GET", "/api/parking/queue", "", &agent);
        assert_eq!(st, 200, "{resp}");
        let q = json_body(&resp);
        let items = q.as_array().cloned().unwrap_or_default();
        let seen: BTreeSet<String> = items
            .iter()
            .filter_map(|i| i["plate"].as_str().map(String::from))
            .collect();
        if unpaid.iter().all(|p| seen.contains(*p)) || t0.elapsed().as_secs() > 75 {
            break items;
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
    };
    let seen: BTreeSet<String> = queued
        .iter()
        .filter_map(|i| i["plate"].as_str().map(String::from))
        .collect();
    for p in &unpaid {
        assert!(seen.contains(*p), "unpaid {p} queued: {seen:?}");
    }
    assert!(
        !seen.contains(imported) && !seen.contains(posted),
        "paid plates queued: {seen:?}"
    );
    // Evidence: two JPEG photos per record.
    let id = queued[0]["id"].as_i64().expect("record id");
    for f in ["0.jpg", "1.jpg"] {
        let (st, resp) = http(&addr, "GET", &format!("/api/parking/{id}/evidence/{f}"), "", &agent);
        assert_eq!(st, 200, "evidence {f}");
        assert!(resp.contains("image/jpeg"), "evidence {f} is a JPEG");
    }
    drop(svc);
    // Paid plates: nothing of them in the parking database files; no plate in the event database.
    for p in [imported, posted] {
        assert!(
            files_containing(&parking_db, p).is_empty(),
            "paid {p} left in {:?}",
            files_containing(&parking_db, p)
        );
    }
    for p in &plates {
        assert!(files_containing(&d.join("vigie.db"), p).is_empty(), "{p} in vigie.db");
    }
}
