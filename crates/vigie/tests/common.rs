//! Helpers shared by the binary's integration tests: paths to real footage and a runner for `vigie`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Real footage shared with the project (`../shared/data/video/`), never copied into the repository.
pub fn shared_video(name: &str) -> PathBuf {
    let p = repo_root().join("../shared/data/video").join(name);
    assert!(
        p.exists(),
        "missing real footage {} (the shared data folder)",
        p.display()
    );
    p
}

/// `vtest.avi` from Debian's opencv-doc, fetched by scripts/test-data.sh (`make test` runs it).
pub fn vtest() -> PathBuf {
    let p = repo_root().join(".cache/vigie/testdata/vtest.avi");
    assert!(p.exists(), "missing {}: run scripts/test-data.sh", p.display());
    p
}

/// `vtest.mp4` (H.264, a key frame every 10 frames, no B-frames), made from vtest.avi by scripts/test-data.sh.
pub fn vtest_mp4() -> PathBuf {
    let p = repo_root().join(".cache/vigie/testdata/vtest.mp4");
    assert!(p.exists(), "missing {}: run scripts/test-data.sh", p.display());
    p
}

/// Records the first `n` frames of vtest.mp4 as camera "walkway"'s segment starting at `start_unix_ms`, in the
/// recordings folder `dir` and the database `db`, as the live service does (remuxed, then committed).
pub fn record_walkway(dir: &Path, db: &Path, start_unix_ms: i64, n: usize) {
    let rec = vigie_store::RecordingDir::open(dir).expect("recording dir");
    let mut store = vigie_store::Store::open(db).expect("store");
    let cam = store.ensure_camera("walkway").expect("camera");
    let (_, path) = rec.segment_path("walkway", start_unix_ms).expect("segment path");
    let mut reader = vigie_video::PacketReader::open(&vtest_mp4()).expect("vtest.mp4");
    let params = reader.params().clone();
    let mut mux = vigie_video::SegmentMuxer::create(&path, &params).expect("muxer");
    for _ in 0..n {
        let f = reader.next_frame().expect("reading").expect("a frame");
        mux.write(&f).expect("muxing");
    }
    let info = mux.finish().expect("finishing the segment");
    store
        .commit_segment(
            &rec,
            &vigie_store::NewSegment {
                camera: cam,
                start_unix_ms,
                duration_90k: info.duration_90k.0,
                frames: info.frames as u32,
                codec: params.codec,
                width: params.width,
                height: params.height,
                sha256: None,
            },
        )
        .expect("commit");
}

/// A fresh temporary folder for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vigie-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn vigie(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("running vigie")
}

pub fn ffmpeg(args: &[&str]) {
    let st = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg (Debian package ffmpeg) must be installed: make deps");
    assert!(st.success(), "ffmpeg {args:?} failed");
}

/// Runs `vigie analyze` and returns (summary.json, tracks.jsonl lines) parsed.
pub fn analyze(video: &Path, out: &Path, extra: &[&str]) -> (serde_json::Value, Vec<serde_json::Value>) {
    let db = out.join("vigie.db");
    let mut args = vec![
        "analyze",
        video.to_str().expect("utf-8 path"),
        "--out",
        out.to_str().expect("utf-8 path"),
        "--db",
        db.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let o = vigie(&args, &repo_root());
    assert!(
        o.status.success(),
        "vigie analyze failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).expect("summary.json")).expect("json");
    let tracks = std::fs::read_to_string(out.join("tracks.jsonl"))
        .expect("tracks.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("track line is JSON"))
        .collect();
    (summary, tracks)
}

/// A child process killed when dropped.
pub struct Proc(pub std::process::Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `vigie serve --config CONFIG --listen 127.0.0.1:0` in `dir`; the process and the address it listens on
/// (from its first line of output; the rest of its output is drained so it never blocks on a full pipe).
pub fn serve(dir: &Path, config: &Path) -> (Proc, String) {
    use std::io::{BufRead, BufReader, Read};
    let mut child = Command::new(env!("CARGO_BIN_EXE_vigie"))
        .args([
            "serve",
            "--config",
            config.to_str().unwrap_or_default(),
            "--listen",
            "127.0.0.1:0",
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("start vigie serve");
    let stdout = child.stdout.take().expect("stdout");
    let proc = Proc(child);
    let mut reader = BufReader::new(stdout);
    let mut line = String::new();
    reader.read_line(&mut line).expect("read the listening line");
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("vigie serve said {line:?}"))
        .to_string();
    std::thread::spawn(move || {
        let mut sink = String::new();
        let _ = reader.read_to_string(&mut sink);
    });
    (proc, addr)
}

/// The session cookie (`name=value`) and CSRF token of a raw `/api/login` response (headers and body).
pub fn session_of(resp: &str) -> (String, String) {
    let cookie = resp
        .lines()
        .find_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_string();
    let csrf = resp
        .split("\"csrf_token\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("csrf token")
        .to_string();
    (cookie, csrf)
}
