//! Privacy masks (issue 7) end to end, on real footage (`vtest.mp4`, a pedestrian walkway where people cross the
//! masked area all the time): the real binary serving a masked camera, the served live frame, an event snapshot
//! and an event clip fetched over HTTP after logging in; a segment recorded by a camera masked before recording;
//! a `vigie export` clip. In each, the pixels inside the mask (10 px in from its edges, for JPEG and H.264
//! ringing) are the fill colour with about zero variance, where the same area of the footage has a large one.
//! Removing any of the safeguards (the mask in the analysis thread, in the snapshot, in the clip, in the recorder,
//! in the export) makes the matching assertion fail.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{record_walkway, repo_root, serve, temp_dir, vigie, vtest_mp4};
use vigie_core::RgbFrame;
use vigie_video::{DecodeOptions, FrameSampler, VideoFile};

/// The mask of every test: a rectangle over the middle of the walkway (normalised `x0, y0, x1, y1`).
const MASK: [f32; 4] = [0.25, 0.3, 0.75, 0.8];
/// Pixels this far inside the mask's edges are checked.
const INSET: u32 = 10;

fn mask_toml(header: &str) -> String {
    let [x0, y0, x1, y1] = MASK;
    format!(
        "[[{header}]]\nname = \"private-window\"\npoints = [[{x0}, {y0}], [{x1}, {y0}], [{x1}, {y1}], [{x0}, {y1}]]\n\n"
    )
}

/// Mean, variance and maximum of the channel values inside the mask (inset) over `frames`.
fn inside_mask(frames: &[RgbFrame]) -> (f64, f64, u8) {
    let (mut n, mut sum, mut sq, mut max) = (0f64, 0f64, 0f64, 0u8);
    for f in frames {
        let (w, h) = (f.width as f32, f.height as f32);
        let (x0, y0) = ((MASK[0] * w).ceil() as u32 + INSET, (MASK[1] * h).ceil() as u32 + INSET);
        let (x1, y1) = ((MASK[2] * w) as u32 - INSET, (MASK[3] * h) as u32 - INSET);
        for y in (y0..y1).step_by(2) {
            for x in (x0..x1).step_by(2) {
                for c in f.pixel(x, y) {
                    let v = f64::from(c);
                    n += 1.0;
                    sum += v;
                    sq += v * v;
                    max = max.max(c);
                }
            }
        }
    }
    assert!(n > 0.0, "no frame to measure");
    let mean = sum / n;
    (mean, sq / n - mean * mean, max)
}

/// Asserts that the masked area of `frames` carries no image content, and that the same area of the footage
/// does; prints the numbers.
fn assert_masked(what: &str, frames: &[RgbFrame]) {
    if let Err(e) = check_masked(what, frames) {
        panic!("{e}");
    }
}

/// [`assert_masked`] as a result, so that one test can report every output that leaks.
fn check_masked(what: &str, frames: &[RgbFrame]) -> Result<(), String> {
    let (mean, var, max) = inside_mask(frames);
    let (smean, svar, _) = inside_mask(&decode_all(&vtest_mp4(), 30));
    eprintln!(
        "{what}: {} frame(s), inside the mask mean {mean:.2}, variance {var:.3}, max {max}; \
         the footage there: mean {smean:.1}, variance {svar:.0}",
        frames.len()
    );
    assert!(
        svar > 500.0,
        "the footage has content in the masked area: variance {svar}"
    );
    if mean < 3.0 && var < 2.0 && max <= 12 {
        Ok(())
    } else {
        Err(format!(
            "{what}: the masked area has image content: mean {mean:.1}, variance {var:.0}, max {max}"
        ))
    }
}

/// Up to `limit` decoded frames of a video file (all with `limit` 0).
fn decode_all(path: &Path, limit: usize) -> Vec<RgbFrame> {
    let mut f = VideoFile::open(path, &DecodeOptions { threads: 1 }).expect("open video");
    let mut s = FrameSampler::new(0.0);
    let mut out = Vec::new();
    while let Some(fr) = f.next_sampled(&mut s).expect("decode") {
        out.push(fr);
        if out.len() == limit {
            break;
        }
    }
    out
}

fn jpeg_frame(bytes: &[u8]) -> RgbFrame {
    let img = image::load_from_memory(bytes).expect("a JPEG").to_rgb8();
    let (w, h) = img.dimensions();
    RgbFrame {
        width: w,
        height: h,
        data: img.into_raw(),
        pts: vigie_core::Time90k(0),
        index: 0,
    }
}

/// An HTTP/1.1 exchange: (status, headers, body bytes), chunked bodies decoded.
fn http(addr: &str, request: &str) -> Option<(u16, String, Vec<u8>)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).ok()?;
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let mut body = buf[split + 4..].to_vec();
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let eol = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..eol]).trim(), 16).ok()?;
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(eol + 2..eol + 2 + size)?);
            rest = rest.get(eol + 4 + size..)?;
        }
        body = out;
    }
    Some((status, head, body))
}

fn get(addr: &str, path: &str, cookie: &str) -> Option<(u16, Vec<u8>)> {
    http(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"),
    )
    .map(|(s, _, b)| (s, b))
}

fn login(addr: &str, user: &str, password: &str) -> String {
    let body = format!("{{\"username\":\"{user}\",\"password\":\"{password}\"}}");
    let (status, head, resp) = http(
        addr,
        &format!(
            "POST /api/login HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .expect("POST /api/login");
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&resp));
    head.lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string()
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(v) = f() {
            return v;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("timed out after {limit:?} waiting for {what}");
}

fn run_ok(dir: &Path, args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigie");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "vigie {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn sqlite(db: &Path, sql: &str) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).expect("open db");
    let mut stmt = conn.prepare(sql).expect("prepare");
    stmt.query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .flatten()
        .collect()
}

/// `vigie serve` with two cameras on the same footage: `masked` (analysed, recorded as is, masked in everything
/// shown: live frame, event snapshots, event clips) and `private` (masked before recording). Fetched over HTTP
/// after logging in: the live frame, an event's snapshot and its clip; read from disk: a `private` segment.
#[test]
fn a_masked_area_carries_no_image_content_in_served_frames_snapshots_clips_and_recordings() {
    let dir = temp_dir("privacy-masks");
    let video = vtest_mp4();
    let cfg = dir.join("vigie.toml");
    let text = format!(
        "[storage]\ndatabase = \"{db}\"\n\n[server]\nrecordings = \"{rec}\"\nsnapshots = \"{snap}\"\nsegment_s = 2.0\n\n\
         [detector]\nworkers = 1\n\n[events]\nclip_pre_s = 1.0\nclip_post_s = 1.0\n\n\
         [[camera]]\nname = \"masked\"\nfile = \"{file}\"\nmotion_gate = false\n\n{mask}\
         [[camera.zone]]\nid = \"everywhere\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n\n\
         [[camera.rule]]\nid = \"presence\"\ntype = \"intrusion\"\nzones = [\"everywhere\"]\nclasses = [\"person\"]\nmin_duration_s = 1.0\n\n\
         [[camera]]\nname = \"private\"\nfile = \"{file}\"\nanalyse = false\nmask_before_recording = true\n\n{mask}",
        db = dir.join("vigie.db").display(),
        rec = dir.join("recordings").display(),
        snap = dir.join("snapshots").display(),
        file = video.display(),
        mask = mask_toml("camera.privacy_mask"),
    );
    std::fs::write(&cfg, text).expect("config");
    let cfg_s = cfg.to_str().expect("utf-8");
    let now = jiff::Timestamp::now().as_second();
    let at = |s: i64| jiff::Timestamp::from_second(now + s).expect("time").to_string();
    run_ok(
        &dir,
        &[
            "authorisation",
            "add",
            "--authority",
            "Préfecture",
            "--reference",
            "arrêté masks",
            "--cameras",
            "masked",
            "--types",
            "intrusion",
            "--from",
            &at(-60),
            "--to",
            &at(3600),
            "--config",
            cfg_s,
        ],
        None,
    );
    run_ok(
        &dir,
        &["user", "add", "olga", "--role", "operator", "--config", cfg_s],
        Some("correct horse battery\n"),
    );
    let (svc, addr) = serve(&dir, &cfg);
    let cookie = login(&addr, "olga", "correct horse battery");
    // Every output is checked before failing, so a failure names all that leak.
    let mut leaks = Vec::new();

    // The live frame.
    let jpg = wait_for("the live frame of masked", Duration::from_secs(90), || {
        get(&addr, "/api/cameras/masked/frame.jpg", &cookie).filter(|(s, _)| *s == 200)
    });
    leaks.extend(check_masked("served frame.jpg", &[jpeg_frame(&jpg.1)]).err());

    // An event's snapshot and clip.
    let (id, snap) = wait_for("an intrusion event with a snapshot", Duration::from_secs(120), || {
        let (s, body) = get(&addr, "/api/events?camera=masked", &cookie)?;
        let events: serde_json::Value = serde_json::from_slice(&body).ok().filter(|_| s == 200)?;
        events.as_array()?.iter().find_map(|e| {
            let id = e["id"].as_str()?;
            let (s, jpg) = get(&addr, &format!("/api/events/{id}/snapshot.jpg"), &cookie)?;
            (s == 200).then(|| (id.to_owned(), jpg))
        })
    });
    leaks.extend(check_masked("served event snapshot", &[jpeg_frame(&snap)]).err());
    let clip = wait_for(
        "the event clip (its recording committed)",
        Duration::from_secs(120),
        || get(&addr, &format!("/api/events/{id}/clip.mp4"), &cookie).filter(|(s, b)| *s == 200 && !b.is_empty()),
    );
    let clip_path = dir.join("clip.mp4");
    std::fs::write(&clip_path, &clip.1).expect("write the clip");
    let frames = decode_all(&clip_path, 0);
    assert!(
        frames.len() >= 10,
        "a clip of at least a second at 10 fps: {}",
        frames.len()
    );
    leaks.extend(check_masked("served event clip.mp4", &frames).err());

    // A segment of the camera masked before recording, as stored.
    let db = dir.join("vigie.db");
    let seg = wait_for("a segment of private", Duration::from_secs(90), || {
        sqlite(
            &db,
            "select r.relative_path from recording r join camera c on c.id = r.camera_id \
             where c.name = 'private' order by r.id limit 1",
        )
        .pop()
    });
    let frames = decode_all(&dir.join("recordings").join(&seg), 0);
    assert!(frames.len() >= 15, "a 2 s segment: {} frames", frames.len());
    leaks.extend(check_masked("segment recorded with mask_before_recording", &frames).err());
    // The other camera records as it comes (remux): its segments have the footage's content in the area.
    let plain = sqlite(
        &db,
        "select r.relative_path from recording r join camera c on c.id = r.camera_id \
         where c.name = 'masked' order by r.id limit 1",
    );
    let plain = decode_all(&dir.join("recordings").join(&plain[0]), 20);
    let (_, var, _) = inside_mask(&plain);
    assert!(
        var > 500.0,
        "a camera not masked before recording records the area: {var}"
    );
    drop(svc);
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// 2026-03-06T18:30:00Z, the recorded segment's start.
const T0: i64 = 1_772_821_800_000;

/// `vigie export` of a camera with a privacy mask: the exported clip has no image content in the mask, and the
/// manifest names the mask.
#[test]
fn an_exported_clip_has_no_image_content_in_the_mask() {
    let dir = temp_dir("privacy-export");
    let db = dir.join("vigie.db");
    let rec = dir.join("recordings");
    // 6 s of the footage recorded as camera "walkway", as the live service would.
    record_walkway(&rec, &db, T0, 60);
    let cfg = dir.join("vigie.toml");
    std::fs::write(
        &cfg,
        format!(
            "[storage]\ndatabase = \"{}\"\n\n[server]\nrecordings = \"{}\"\n\n[[camera]]\nname = \"walkway\"\nfile = \"{}\"\n\n{}",
            db.display(),
            rec.display(),
            vtest_mp4().display(),
            mask_toml("camera.privacy_mask"),
        ),
    )
    .expect("config");
    let cfg_s = cfg.to_str().expect("utf-8");
    let ok = |args: &[&str]| {
        let o = vigie(args, &repo_root());
        assert!(
            o.status.success(),
            "vigie {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    ok(&[
        "case",
        "open",
        "PV-MASK-1",
        "--authority",
        "Parquet",
        "--cameras",
        "walkway",
        "--from",
        "2026-03-06T18:00:00Z",
        "--to",
        "2026-03-06T19:00:00Z",
        "--investigators",
        "ines",
        "--config",
        cfg_s,
    ]);
    let out = dir.join("export");
    ok(&[
        "export",
        "--case",
        "PV-MASK-1",
        "--camera",
        "walkway",
        "--from",
        "2026-03-06T18:30:01Z",
        "--to",
        "2026-03-06T18:30:03Z",
        "--out",
        out.to_str().expect("utf-8"),
        "--config",
        cfg_s,
    ]);
    let frames = decode_all(&out.join("clip.mp4"), 0);
    assert!(frames.len() >= 18, "2 s at 10 fps: {}", frames.len());
    assert_masked("vigie export clip.mp4", &frames);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).expect("manifest")).expect("json");
    assert_eq!(manifest["privacy_masks"], serde_json::json!(["private-window"]));
    ok(&["verify-export", out.to_str().expect("utf-8")]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `vigie analyze` of a file whose `[events] camera` has a `[[camera]]` with a privacy mask: the event pictures of
/// the report are made of masked frames.
#[test]
fn analyze_pictures_have_no_image_content_in_the_mask() {
    let dir = temp_dir("privacy-analyze");
    let video = dir.join("walkway.mp4");
    common::ffmpeg(
        &["-i", vtest_mp4().to_str().expect("utf-8"), "-t", "6", "-c", "copy"]
            .into_iter()
            .chain([video.to_str().expect("utf-8")])
            .collect::<Vec<_>>(),
    );
    let cfg = dir.join("vigie.toml");
    std::fs::write(
        &cfg,
        format!(
            "[events]\ncamera = \"walkway\"\n\n[[zone]]\nid = \"everywhere\"\npolygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]\n\n\
             [[rule]]\nid = \"presence\"\ntype = \"intrusion\"\nzones = [\"everywhere\"]\nclasses = [\"person\"]\nmin_duration_s = 1.0\n\n\
             [[camera]]\nname = \"walkway\"\nfile = \"{}\"\n\n{}",
            video.display(),
            mask_toml("camera.privacy_mask"),
        ),
    )
    .expect("config");
    let out = dir.join("out");
    common::analyze(&video, &out, &["--config", cfg.to_str().expect("utf-8")]);
    let pictures: Vec<RgbFrame> = std::fs::read_dir(out.join("events"))
        .expect("events/")
        .flatten()
        .map(|e| jpeg_frame(&std::fs::read(e.path()).expect("event picture")))
        .collect();
    assert!(!pictures.is_empty(), "an intrusion event picture");
    assert_masked("vigie analyze event pictures", &pictures);
    let _ = std::fs::remove_dir_all(&dir);
}
