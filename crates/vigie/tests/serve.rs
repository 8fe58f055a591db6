//! `vigie serve` end to end: a real RTSP server process on loopback (GStreamer's, `scripts/rtsp-server.py`)
//! serving real footage, the real binary, the real model, SQLite and MP4 files on disk. Each fault test asserts
//! what survives: the server killed and restarted, `kill -9` of Vigie while recording, a full disk, a camera that
//! talks garbage.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Proc, repo_root, serve, session_of, temp_dir};

/// Real footage as a camera would send it: vtest.avi (people walking all the time) in H.264 with a key frame every
/// second, made by `scripts/test-data.sh` (the demo camera's file), so segments can be cut every second or two.
fn walkway_h264(_dir: &Path) -> PathBuf {
    let p = repo_root().join(".cache/vigie/testdata/vtest.mp4");
    assert!(p.exists(), "{} is missing: run `make test-data`", p.display());
    p
}

/// Starts the RTSP server on `port` (0: a free one) and returns it with its URL.
fn rtsp_server(file: &Path, port: u16) -> (Proc, String) {
    let mut child = Command::new("python3")
        .arg(repo_root().join("scripts/rtsp-server.py"))
        .args([
            "--file",
            file.to_str().unwrap_or_default(),
            "--port",
            &port.to_string(),
            "--path",
            "/cam",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start scripts/rtsp-server.py (python3-gi, GStreamer: scripts/deps.sh)");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read READY line");
    let url = line
        .trim()
        .strip_prefix("READY ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("rtsp-server said {line:?}"))
        .to_string();
    (Proc(child), url)
}

fn port_of(url: &str) -> u16 {
    url.rsplit(':')
        .next()
        .and_then(|s| s.split('/').next())
        .and_then(|p| p.parse().ok())
        .expect("port in URL")
}

/// GET `path` from `addr`; (status, body).
fn get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    let status = buf.split_whitespace().nth(1)?.parse().ok()?;
    let body = buf
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    // Chunked bodies: good enough to search in for these tests.
    Some((status, body))
}

fn health(addr: &str) -> serde_json::Value {
    let (status, body) = get(addr, "/api/health").expect("GET /api/health");
    assert_eq!(status, 200, "{body}");
    let json = body.find('{').map(|i| &body[i..]).unwrap_or("");
    let end = json.rfind('}').map(|i| i + 1).unwrap_or(json.len());
    serde_json::from_str(&json[..end]).unwrap_or_else(|e| panic!("health JSON: {e}: {body}"))
}

/// A metric's value for `camera` from `/metrics`.
fn metric(addr: &str, name: &str, camera: &str) -> u64 {
    let (_, body) = get(addr, "/metrics").expect("GET /metrics");
    let key = format!("{name}{{camera=\"{camera}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&key))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t = Instant::now();
    while t.elapsed() < limit {
        if f() {
            return t.elapsed();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

fn camera_state(addr: &str, camera: &str) -> String {
    let h = health(addr);
    h["cameras"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == camera))
        .and_then(|c| c["state"].as_str())
        .unwrap_or("")
        .to_string()
}

fn write_config(dir: &Path, cameras: &str, extra_server: &str) -> PathBuf {
    let cfg = dir.join("vigie.toml");
    let text = format!(
        "[storage]\ndatabase = \"{db}\"\n\n[server]\nrecordings = \"{rec}\"\nsegment_s = 2.0\nretention_every_s = 2.0\n{extra_server}\n\n[detector]\nworkers = 1\n\n{cameras}",
        db = dir.join("vigie.db").display(),
        rec = dir.join("recordings").display(),
    );
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

fn rtsp_camera(name: &str, url: &str) -> String {
    format!(
        "[[camera]]\nname = \"{name}\"\nurl = \"{url}\"\nmotion_gate = false\n\n\
         [[camera.zone]]\nid = \"everywhere\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n\n\
         [[camera.rule]]\nid = \"walkway-presence\"\ntype = \"intrusion\"\nzones = [\"everywhere\"]\nclasses = [\"person\"]\nmin_duration_s = 1.0\n\n"
    )
}

/// `vigie authorisation add` for `cameras` and `types`, valid from `from_s` to `to_s` seconds from now.
fn authorise(dir: &Path, cfg: &Path, cameras: &str, types: &str, from_s: i64, to_s: i64) {
    let now = jiff::Timestamp::now().as_second();
    let at = |s: i64| jiff::Timestamp::from_second(now + s).expect("time").to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["authorisation", "add", "--authority", "Préfecture de police"])
        .args(["--reference", &format!("arrêté {cameras} {from_s}")])
        .args([
            "--cameras",
            cameras,
            "--types",
            types,
            "--from",
            &at(from_s),
            "--to",
            &at(to_s),
        ])
        .args(["--config", cfg.to_str().unwrap_or_default()])
        .current_dir(dir)
        .output()
        .expect("vigie authorisation add");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn sigterm(p: &mut Proc) -> std::process::ExitStatus {
    let _ = Command::new("kill").args(["-TERM", &p.0.id().to_string()]).status();
    let t = Instant::now();
    loop {
        if let Ok(Some(s)) = p.0.try_wait() {
            return s;
        }
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "vigie serve did not stop within 30 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sqlite(db: &Path, sql: &str) -> String {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn.prepare(sql).expect("prepare");
    let mut rows = stmt.query([]).expect("query");
    let mut out = Vec::new();
    while let Ok(Some(r)) = rows.next() {
        let v: rusqlite::types::Value = r.get(0).expect("col");
        out.push(match v {
            rusqlite::types::Value::Integer(i) => i.to_string(),
            rusqlite::types::Value::Text(t) => t,
            rusqlite::types::Value::Real(f) => f.to_string(),
            _ => String::new(),
        });
    }
    out.join("\n")
}

fn ffprobe_frames(path: &Path) -> (u64, String) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=nb_read_frames,codec_name",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .expect("ffprobe");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let frames = text.trim().split(',').nth(1).and_then(|n| n.parse().ok()).unwrap_or(0);
    (frames, err)
}

#[test]
fn records_and_analyses_an_rtsp_camera() {
    let dir = temp_dir("serve-rtsp");
    let clip = walkway_h264(&dir);
    let (_rtsp, url) = rtsp_server(&clip, 0);
    let cfg = write_config(&dir, &rtsp_camera("walkway", &url), "");
    authorise(&dir, &cfg, "walkway", "intrusion", -60, 3600);
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until("the camera streaming", Duration::from_secs(30), || {
        camera_state(&addr, "walkway") == "streaming"
    });
    wait_until("two committed segments and an event", Duration::from_secs(60), || {
        metric(&addr, "vigie_recording_segments_total", "walkway") >= 2
            && metric(&addr, "vigie_events_total", "walkway") >= 1
    });
    assert!(metric(&addr, "vigie_frames_analysed_total", "walkway") > 0);
    let status = sigterm(&mut svc);
    assert!(status.success(), "vigie serve exited with {status}");

    let db = dir.join("vigie.db");
    let n: u64 = sqlite(&db, "select count(*) from recording").parse().unwrap_or(0);
    assert!(n >= 2, "segments in the database: {n}");
    for rel in sqlite(&db, "select relative_path from recording").lines() {
        let p = dir.join("recordings").join(rel);
        let (frames, err) = ffprobe_frames(&p);
        assert!(frames > 0, "{} has no frames", p.display());
        assert!(err.trim().is_empty(), "ffprobe errors in {}: {err}", p.display());
    }
    let kinds = sqlite(&db, "select kind from event");
    assert!(kinds.lines().any(|k| k == "intrusion"), "events: {kinds:?}");
    // Each event has an annotated snapshot of the moment it was raised, for the operator.
    for rel in sqlite(&db, "select snapshot from event").lines() {
        let p = dir.join("vigie-data/snapshots").join(rel);
        let img = std::fs::read(&p).unwrap_or_else(|e| panic!("snapshot {}: {e}", p.display()));
        assert!(img.starts_with(&[0xff, 0xd8]), "{} is not a JPEG", p.display());
    }
    let check = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["check", "--config", cfg.to_str().unwrap_or_default()])
        .current_dir(&dir)
        .output()
        .expect("vigie check");
    assert!(
        check.status.success(),
        "vigie check: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );

    // A legal hold on the recording, listed, then released.
    let vigie = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(args)
            .args(["--config", cfg.to_str().unwrap_or_default()])
            .current_dir(&dir)
            .output()
            .expect("vigie");
        assert!(
            out.status.success(),
            "vigie {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    vigie(&[
        "hold",
        "add",
        "--camera",
        "walkway",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2099-01-01T00:00:00Z",
        "--reference",
        "PV-2026-042",
    ]);
    let list = vigie(&["hold", "list"]);
    assert!(
        list.contains("PV-2026-042") && list.contains("\"released_unix_ms\":null"),
        "{list}"
    );
    vigie(&["hold", "release", "1"]);
    assert!(!vigie(&["hold", "list"]).contains("\"released_unix_ms\":null"));

    // Issue 8: the live tracks are stored with their camera and time, and found by a case-gated search.
    let people: u64 = sqlite(&db, "select count(*) from track where class = 'person'")
        .parse()
        .unwrap_or(0);
    assert!(people >= 1, "person tracks stored by the live service: {people}");
    vigie(&[
        "case",
        "open",
        "PV-LIVE-1",
        "--authority",
        "Parquet",
        "--cameras",
        "walkway",
        "--from",
        "2026-01-01T00:00:00Z",
        "--to",
        "2099-01-01T00:00:00Z",
        "--investigators",
        "ines",
    ]);
    let found = vigie(&["search", "--case", "PV-LIVE-1", "--class", "person"]);
    assert!(
        found.lines().count() >= 1 && found.contains("\"camera\":\"walkway\""),
        "{found}"
    );
}

#[test]
fn a_restarted_rtsp_server_leaves_one_gap_and_recording_resumes() {
    let dir = temp_dir("serve-restart");
    let clip = walkway_h264(&dir);
    let (rtsp, url) = rtsp_server(&clip, 0);
    let port = port_of(&url);
    let cfg = write_config(&dir, &rtsp_camera("walkway", &url), "");
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until("the camera streaming", Duration::from_secs(30), || {
        camera_state(&addr, "walkway") == "streaming"
    });
    wait_until("a committed segment", Duration::from_secs(30), || {
        metric(&addr, "vigie_recording_segments_total", "walkway") >= 1
    });

    drop(rtsp); // kill the server mid-stream
    let stall = wait_until("the camera leaving 'streaming'", Duration::from_secs(10), || {
        camera_state(&addr, "walkway") != "streaming"
    });
    assert!(
        stall <= Duration::from_secs(5) + Duration::from_millis(500),
        "stall detected after {stall:?}"
    );
    std::thread::sleep(Duration::from_secs(3));
    let before = metric(&addr, "vigie_frames_received_total", "walkway");
    let (_rtsp2, _) = rtsp_server(&clip, port);
    let resumed = wait_until("frames again", Duration::from_secs(10), || {
        metric(&addr, "vigie_frames_received_total", "walkway") > before
    });
    assert!(
        resumed <= Duration::from_secs(2) + Duration::from_millis(500),
        "recording resumed after {resumed:?}"
    );
    let segs = metric(&addr, "vigie_recording_segments_total", "walkway");
    wait_until("a segment after the outage", Duration::from_secs(20), || {
        metric(&addr, "vigie_recording_segments_total", "walkway") > segs
    });
    assert!(sigterm(&mut svc).success());

    let db = dir.join("vigie.db");
    let gaps = sqlite(&db, "select to_unix_ms - from_unix_ms from recording_gap");
    let gaps: Vec<i64> = gaps.lines().filter_map(|l| l.parse().ok()).collect();
    assert_eq!(gaps.len(), 1, "gap rows: {gaps:?}");
    assert!(
        (2_500..15_000).contains(&gaps[0]),
        "gap of {} ms for an outage of about 3-8 s",
        gaps[0]
    );
    let states = sqlite(&db, "select state from camera_state order by at_unix_ms");
    assert!(
        states.contains("stalled") || states.contains("connecting"),
        "states: {states}"
    );
}

#[test]
fn kill_9_while_recording_loses_at_most_one_segment() {
    let dir = temp_dir("serve-kill9");
    let clip = walkway_h264(&dir);
    let (_rtsp, url) = rtsp_server(&clip, 0);
    let cfg = write_config(&dir, &rtsp_camera("walkway", &url), "");
    let db = dir.join("vigie.db");
    let mut committed_before = 0u64;
    for round in 0..3 {
        let (mut svc, addr) = serve(&dir, &cfg);
        wait_until("a committed segment", Duration::from_secs(40), || {
            metric(&addr, "vigie_recording_segments_total", "walkway") >= 1
        });
        // Kill in the middle of the next segment.
        std::thread::sleep(Duration::from_millis(700 + 300 * round));
        let _ = Command::new("kill").args(["-KILL", &svc.0.id().to_string()]).status();
        let _ = svc.0.wait();
        let rows: u64 = sqlite(&db, "select count(*) from recording").parse().unwrap_or(0);
        assert!(rows > committed_before, "round {round}: no new row");
        committed_before = rows;
        assert_eq!(sqlite(&db, "pragma integrity_check"), "ok");
        // Every row has its file.
        for rel in sqlite(&db, "select relative_path from recording").lines() {
            assert!(
                dir.join("recordings").join(rel).exists(),
                "round {round}: row without file {rel}"
            );
        }
        // At most the one segment being written is lost: at most one file without a row per camera.
        let mut orphans = 0;
        let rows = sqlite(&db, "select relative_path from recording");
        for e in std::fs::read_dir(dir.join("recordings/walkway"))
            .expect("read recordings")
            .flatten()
        {
            let name = format!("walkway/{}", e.file_name().to_string_lossy());
            if name.ends_with(".mp4") && !rows.lines().any(|r| r == name) {
                orphans += 1;
            }
        }
        assert!(orphans <= 1, "round {round}: {orphans} files without rows");
    }
    // A clean start reconciles (the orphan is collected) and `vigie check` passes after a clean stop.
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until("streaming", Duration::from_secs(30), || {
        camera_state(&addr, "walkway") == "streaming"
    });
    assert!(sigterm(&mut svc).success());
    let check = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["check", "--config", cfg.to_str().unwrap_or_default()])
        .current_dir(&dir)
        .output()
        .expect("vigie check");
    assert!(
        check.status.success(),
        "vigie check: {}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn a_full_disk_stops_recording_not_the_service_and_recording_resumes() {
    let dir = temp_dir("serve-diskfull");
    let rec = dir.join("recordings");
    std::fs::create_dir_all(&rec).expect("mkdir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(&rec)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("SKIPPED: cannot mount a small tmpfs here (needs root); the disk-full test did not run");
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(rec.clone());
    let clip = walkway_h264(&dir);
    let (_rtsp, url) = rtsp_server(&clip, 0);
    let cfg = write_config(&dir, &rtsp_camera("walkway", &url), "");
    // Leave about 300 kB free: a few segments fit, then the disk is full.
    let ballast = rec.join("ballast");
    let _ = Command::new("fallocate").args(["-l", "3800k"]).arg(&ballast).status();
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until("a recording error (disk full)", Duration::from_secs(60), || {
        metric(&addr, "vigie_recording_errors_total", "walkway") >= 1
    });
    // The service still answers and still analyses.
    assert_eq!(health(&addr)["cameras"][0]["name"], "walkway");
    let analysed = metric(&addr, "vigie_frames_analysed_total", "walkway");
    wait_until("analysis going on", Duration::from_secs(20), || {
        metric(&addr, "vigie_frames_analysed_total", "walkway") > analysed
    });
    // Free the space: recording resumes by itself.
    std::fs::remove_file(&ballast).expect("remove ballast");
    let segs = metric(&addr, "vigie_recording_segments_total", "walkway");
    wait_until(
        "a segment committed after space was freed",
        Duration::from_secs(30),
        || metric(&addr, "vigie_recording_segments_total", "walkway") > segs,
    );
    assert!(sigterm(&mut svc).success());
    assert_eq!(sqlite(&dir.join("vigie.db"), "pragma integrity_check"), "ok");
}

#[test]
fn a_camera_talking_garbage_fails_clearly_and_the_others_go_on() {
    let dir = temp_dir("serve-garbage");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let gport = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for mut s in listener.incoming().flatten() {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"\x00\xffHELLO this is not RTSP\r\n\r\n\x13\x37garbage garbage");
        }
    });
    let clip = walkway_h264(&dir);
    let (_rtsp, url) = rtsp_server(&clip, 0);
    let cameras = format!(
        "{}[[camera]]\nname = \"broken\"\nurl = \"rtsp://admin:topsecret@127.0.0.1:{gport}/x\"\n",
        rtsp_camera("walkway", &url)
    );
    let cfg = write_config(&dir, &cameras, "");
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until("the good camera streaming", Duration::from_secs(30), || {
        camera_state(&addr, "walkway") == "streaming"
    });
    wait_until("the broken camera failing", Duration::from_secs(30), || {
        let h = health(&addr);
        let c = &h["cameras"][1];
        c["state"] != "streaming" && !c["detail"].as_str().unwrap_or("").is_empty()
    });
    let h = health(&addr);
    let text = h.to_string();
    assert!(!text.contains("topsecret"), "credentials leaked: {text}");
    assert_eq!(h["status"], "degraded");
    let (_, metrics) = get(&addr, "/metrics").expect("metrics");
    assert!(!metrics.contains("topsecret"));
    assert!(sigterm(&mut svc).success());
}

#[test]
fn the_motion_gate_skips_the_detector_on_a_still_scene_and_a_sub_stream_feeds_analysis() {
    let dir = temp_dir("serve-still");
    // A still scene from real footage: the empty room of one-by-one-person-detection.mp4 (its first frame, before
    // anyone comes in) held for 20 s, as a camera sees an empty place at night.
    let still = dir.join("still.mp4");
    common::ffmpeg(&[
        "-i",
        common::shared_video("one-by-one-person-detection.mp4")
            .to_str()
            .unwrap_or_default(),
        "-frames:v",
        "1",
        "-f",
        "image2",
        dir.join("still.png").to_str().unwrap_or_default(),
    ]);
    common::ffmpeg(&[
        "-loop",
        "1",
        "-framerate",
        "10",
        "-t",
        "20",
        "-i",
        dir.join("still.png").to_str().unwrap_or_default(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "10",
        "-bf",
        "0",
        "-pix_fmt",
        "yuv420p",
        still.to_str().unwrap_or_default(),
    ]);
    let (_rtsp, walk_url) = rtsp_server(&walkway_h264(&dir), 0);
    let cameras = format!(
        "[[camera]]\nname = \"still\"\nfile = \"{}\"\nspeed = 2.0\n\n\
         [[camera]]\nname = \"sub\"\nurl = \"{walk_url}\"\nanalysis_url = \"{walk_url}\"\nmotion_gate = false\n",
        still.display()
    );
    let cfg = write_config(&dir, &cameras, "");
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until("sampled frames on both cameras", Duration::from_secs(60), || {
        metric(&addr, "vigie_frames_still_total", "still") >= 20
            && metric(&addr, "vigie_frames_analysed_total", "sub") >= 10
    });
    let still_n = metric(&addr, "vigie_frames_still_total", "still");
    let detected = metric(&addr, "vigie_frames_analysed_total", "still");
    // The gate lets the detector run only at its keepalive (every 2 s of camera time) on a still scene.
    assert!(
        detected * 3 <= still_n,
        "detector ran on {detected} frames, gate skipped {still_n}"
    );
    assert!(
        metric(&addr, "vigie_recording_segments_total", "sub") >= 1
            || metric(&addr, "vigie_frames_received_total", "sub") > 0
    );
    assert!(sigterm(&mut svc).success());
}

/// POST a JSON body; (status, headers and body as text).
fn post_json(addr: &str, path: &str, body: &str, extra_headers: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    let status = buf.split_whitespace().nth(1).and_then(|x| x.parse().ok()).unwrap_or(0);
    (status, buf)
}

#[test]
fn user_actions_land_in_a_verifiable_audit_log() {
    let dir = temp_dir("serve-audit");
    let cfg = write_config(
        &dir,
        &format!(
            "[[camera]]\nname = \"walkway\"\nfile = \"{}\"\n",
            walkway_h264(&dir).display()
        ),
        "",
    );
    let mut add = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "user",
            "add",
            "olga",
            "--role",
            "operator",
            "--config",
            cfg.to_str().unwrap_or_default(),
        ])
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .spawn()
        .expect("vigie user add");
    add.stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse battery\n")
        .expect("password");
    assert!(add.wait().expect("wait").success());
    let (mut svc, addr) = serve(&dir, &cfg);
    let (bad, _) = post_json(
        &addr,
        "/api/login",
        r#"{"username":"olga","password":"wrong password"}"#,
        "",
    );
    assert_eq!(bad, 401);
    let (ok, resp) = post_json(
        &addr,
        "/api/login",
        r#"{"username":"olga","password":"correct horse battery"}"#,
        "",
    );
    assert_eq!(ok, 200, "{resp}");
    let (cookie, csrf) = session_of(&resp);
    let (out, resp) = post_json(
        &addr,
        "/api/logout",
        "{}",
        &format!("Cookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n"),
    );
    assert_eq!(out, 200, "{resp}");
    assert!(sigterm(&mut svc).success());

    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_vigie"))
            .args(args)
            .args(["--config", cfg.to_str().unwrap_or_default()])
            .current_dir(&dir)
            .output()
            .expect("vigie audit")
    };
    let verify = run(&["audit", "verify"]);
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
    let export = String::from_utf8_lossy(&run(&["audit", "export"]).stdout).to_string();
    for action in ["\"user_change\"", "\"login_failed\"", "\"login\"", "\"logout\""] {
        assert!(
            export.contains(action),
            "{action} missing from the audit log:\n{export}"
        );
    }
    // Editing one entry behind the log's back is detected and named.
    let conn = rusqlite::Connection::open(dir.join("audit.db")).expect("open audit.db");
    let triggers: Vec<String> = {
        let mut st = conn
            .prepare("select name from sqlite_master where type = 'trigger'")
            .expect("prepare");
        st.query_map([], |r| r.get(0)).expect("query").flatten().collect()
    };
    for t in triggers {
        conn.execute(&format!("drop trigger {t}"), []).expect("drop trigger");
    }
    conn.execute("update audit_entry set actor = 'mallory' where action = 'login'", [])
        .expect("tamper");
    drop(conn);
    let verify = run(&["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(65));
    let msg = String::from_utf8_lossy(&verify.stderr).to_string() + &String::from_utf8_lossy(&verify.stdout);
    assert!(msg.contains("edited"), "{msg}");
}

/// A file camera of real footage (people walking all the time) with an intrusion rule over the whole frame.
fn file_camera_with_intrusion(name: &str, file: &Path) -> String {
    format!(
        "[[camera]]\nname = \"{name}\"\nfile = \"{}\"\nmotion_gate = false\nrecord = false\n\n\
         [[camera.zone]]\nid = \"everywhere\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n\n\
         [[camera.rule]]\nid = \"presence\"\ntype = \"intrusion\"\nzones = [\"everywhere\"]\nclasses = [\"person\"]\nmin_duration_s = 1.0\n\n",
        file.display()
    )
}

/// Legal scope (issue 7): the same footage on two cameras; the one whose authorisation expired raises no intrusion
/// event while the one with a valid authorisation does; revoking that one stops its rule within seconds, logged.
/// The assertions are on events: without the check in the analysis thread, `expired` raises events like `allowed`.
#[test]
fn an_expired_or_revoked_authorisation_stops_the_rule_on_real_footage() {
    let dir = temp_dir("serve-authz");
    let clip = walkway_h264(&dir);
    let cams = file_camera_with_intrusion("allowed", &clip) + &file_camera_with_intrusion("expired", &clip);
    let cfg = write_config(&dir, &cams, "");
    authorise(&dir, &cfg, "allowed", "intrusion", -60, 3600);
    authorise(&dir, &cfg, "expired", "intrusion", -7200, -3600);
    let (mut svc, addr) = serve(&dir, &cfg);
    wait_until(
        "an intrusion event on the authorised camera",
        Duration::from_secs(90),
        || metric(&addr, "vigie_events_total", "allowed") >= 1,
    );
    // The other camera has analysed at least as much of the same footage by now.
    let analysed = metric(&addr, "vigie_frames_analysed_total", "allowed");
    wait_until("the expired camera analysing as much", Duration::from_secs(60), || {
        metric(&addr, "vigie_frames_analysed_total", "expired") >= analysed
    });
    assert_eq!(
        metric(&addr, "vigie_events_total", "expired"),
        0,
        "no event without a valid authorisation"
    );
    // Revoked while running: the rule stops within the re-check period (2 s) plus the refresh (2 s).
    let out = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "authorisation",
            "revoke",
            "1",
            "--config",
            cfg.to_str().unwrap_or_default(),
        ])
        .current_dir(&dir)
        .output()
        .expect("vigie authorisation revoke");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let revoked_ms = jiff::Timestamp::now().as_millisecond();
    std::thread::sleep(Duration::from_secs(12));
    assert!(sigterm(&mut svc).success());

    let db = dir.join("vigie.db");
    let per_camera = sqlite(&db, "select camera || ':' || count(*) from event group by camera");
    assert!(per_camera.contains("allowed:"), "events: {per_camera:?}");
    assert!(!per_camera.contains("expired:"), "events: {per_camera:?}");
    // Nothing started on `allowed` after the revocation had time to reach the analysis (5 s).
    let late = sqlite(
        &db,
        &format!(
            "select count(*) from event e join analysis_run r on r.id = e.run_id \
             where e.camera = 'allowed' and r.started_unix_ms + e.start_90k / 90 > {}",
            revoked_ms + 5000
        ),
    );
    assert_eq!(late, "0", "events started after the revocation");
    // The stop is in the audit log, by the system.
    let export = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(["audit", "export", "--config", cfg.to_str().unwrap_or_default()])
        .current_dir(&dir)
        .output()
        .expect("vigie audit export");
    let text = String::from_utf8_lossy(&export.stdout).to_string();
    assert!(
        text.lines().any(|l| l.contains("\"system\"")
            && l.contains("config_change")
            && l.contains("rules_stopped")
            && l.contains("allowed")),
        "{text}"
    );
}

#[test]
fn events_from_real_footage_reach_a_webhook() {
    let dir = temp_dir("serve-webhook");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let mut buf = vec![0u8; 65536];
            let mut text = String::new();
            // Read the head, then the body to its Content-Length.
            loop {
                let n = c.read(&mut buf).unwrap_or(0);
                if n == 0 {
                    break;
                }
                text.push_str(&String::from_utf8_lossy(&buf[..n]));
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if body.len() >= len {
                        break;
                    }
                }
            }
            let _ = c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
            if tx.send(text).is_err() {
                return;
            }
        }
    });
    let clip = walkway_h264(&dir);
    let (_rtsp, url) = rtsp_server(&clip, 0);
    let cfg = write_config(
        &dir,
        &rtsp_camera("walkway", &url),
        &format!("webhooks = [\"http://127.0.0.1:{port}/vigie-events\"]"),
    );
    authorise(&dir, &cfg, "walkway", "intrusion", -60, 3600);
    let (mut svc, _addr) = serve(&dir, &cfg);
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut camera_msg, mut event_msg) = (false, false);
    while Instant::now() < deadline && !(camera_msg && event_msg) {
        let Ok(text) = rx.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        assert!(text.starts_with("POST /vigie-events HTTP/1.1"), "{text}");
        let body = text.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        match v["type"].as_str() {
            Some("camera") => camera_msg |= v["camera"] == "walkway",
            Some("event") => {
                assert_eq!(v["kind"], "intrusion");
                assert!(v["id"].as_str().is_some_and(|id| id.starts_with("ev-")));
                event_msg = true;
            }
            other => panic!("unexpected message type {other:?}: {body}"),
        }
    }
    assert!(camera_msg, "no camera state message");
    assert!(event_msg, "no event message");
    assert!(sigterm(&mut svc).success());
}
