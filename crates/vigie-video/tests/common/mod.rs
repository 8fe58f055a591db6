//! Helpers shared by the live-service tests: real footage in place, clips made with the `ffmpeg` CLI in temporary
//! directories (removed on drop), ffprobe queries.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use vigie_core::EncodedFrame;
use vigie_video::PacketReader;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Real footage from `../shared/data/video`, read in place (never copied).
pub fn footage(name: &str) -> PathBuf {
    let p = repo_root().join("../shared/data/video").join(name);
    assert!(p.is_file(), "real footage {} is missing", p.display());
    p
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vigie-video-live-")
        .tempdir()
        .expect("a temporary directory")
}

fn run(tool: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("the {tool} CLI is needed for these tests: {e}"));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the `ffmpeg` CLI quietly; panics with its stderr on failure.
pub fn ffmpeg(args: &[&str]) {
    let mut a = vec!["-nostdin", "-v", "error", "-y"];
    a.extend_from_slice(args);
    run("ffmpeg", &a);
}

/// Runs the `ffmpeg` CLI with errors only logged; returns its stderr (empty when nothing went wrong).
pub fn ffmpeg_stderr(args: &[&str]) -> String {
    let mut a = vec!["-nostdin", "-v", "error", "-y"];
    a.extend_from_slice(args);
    String::from_utf8_lossy(&run("ffmpeg", &a).stderr).into_owned()
}

/// Makes `name` in `dir` from `args` (inputs and options, without the output) and returns its path.
pub fn make_clip(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let p = dir.join(name);
    let mut a = args.to_vec();
    a.push(p.to_str().expect("UTF-8 temp path"));
    ffmpeg(&a);
    p
}

/// A 768x432 H.265 clip (x265, 8 s: 100 frames at 12.5 fps, a key frame every 25) transcoded from real footage.
pub fn h265_clip(dir: &Path) -> PathBuf {
    make_clip(
        dir,
        "car-h265.mp4",
        &[
            "-i",
            footage("car-detection.mp4").to_str().unwrap(),
            "-t",
            "8",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "keyint=25:min-keyint=25:bframes=0:log-level=error",
            "-an",
        ],
    )
}

/// `ffprobe -v error <args> <path>`: (stdout, stderr).
pub fn ffprobe(path: &Path, args: &[&str]) -> (String, String) {
    let mut a = vec!["-v", "error"];
    a.extend_from_slice(args);
    a.push(path.to_str().unwrap());
    let out = run("ffprobe", &a);
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// One `key=value` of ffprobe's `default=noprint_wrappers=1` output.
pub fn probe_value(out: &str, key: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .map(str::to_string)
}

/// Every frame of a file, by PacketReader.
pub fn read_all(path: &Path) -> Vec<EncodedFrame> {
    let mut r = PacketReader::open(path).unwrap();
    let mut v = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        v.push(f);
    }
    v
}
