//! Test helpers: the real RTSP server (`scripts/rtsp-server.py`, GStreamer) as a child process, ffprobe, footage.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn footage(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/video")
        .join(name)
}

/// The footage every RTSP test serves: 768x432, 12.5 fps, H.264 Baseline (no B-frames, like a camera).
pub fn car() -> PathBuf {
    footage("car-detection.mp4")
}

pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The RTSP server script, running. Killed (SIGKILL) on drop.
pub struct RtspServer {
    child: Option<Child>,
    pub port: u16,
    pub path: String,
    file: PathBuf,
    extra: Vec<String>,
}

pub enum Start {
    Ready(RtspServer),
    /// python3-gi or GStreamer's RTSP server is not installed (scripts/deps.sh installs them).
    Missing(String),
}

impl RtspServer {
    /// Starts the server on `port` (0: any free one) serving `file` at `path`. Returns `Missing` only when
    /// python3-gi/GStreamer are not installed; any other failure panics with the server's stderr.
    pub fn start(file: &Path, port: u16, path: &str, extra: &[&str]) -> Start {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/rtsp-server.py");
        let spawned = Command::new("python3")
            .arg(&script)
            .arg("--file")
            .arg(file)
            .args(["--port", &port.to_string(), "--path", path])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Start::Missing(format!("cannot run python3: {e}")),
        };
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            for _ in lines {} // keep the pipe drained
        });
        let line = match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(Some(Ok(l))) => l,
            other => {
                let _ = child.kill();
                let status = child.wait().ok().and_then(|s| s.code());
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                if status == Some(4) || err.contains("No module named 'gi'") || err.contains("Namespace GstRtspServer")
                {
                    return Start::Missing(err);
                }
                panic!("rtsp-server.py did not start ({other:?}, exit {status:?}): {err}");
            }
        };
        let port: u16 = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"));
        Start::Ready(RtspServer {
            child: Some(child),
            port,
            path: path.to_string(),
            file: file.to_path_buf(),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn url(&self) -> String {
        format!("rtsp://127.0.0.1:{}{}", self.port, self.path)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// SIGKILL, and reap. Says so on stderr if the server had died by itself before.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            if let Ok(Some(status)) = c.try_wait() {
                use std::os::unix::process::ExitStatusExt;
                let mut err = String::new();
                if let Some(mut e) = c.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                eprintln!(
                    "rtsp-server.py on port {} had exited by itself: {status:?} (signal {:?}): {err}",
                    self.port,
                    status.signal()
                );
                return;
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same server again on the same port; returns when it is listening.
    pub fn restart(&mut self) {
        self.kill();
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        match RtspServer::start(&self.file, self.port, &self.path, &extra) {
            Start::Ready(mut s) => self.child = s.child.take(),
            Start::Missing(e) => panic!("server vanished: {e}"),
        }
    }

    /// Sends a signal by name (STOP, CONT) with kill(1).
    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.pid().to_string()])
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        assert!(ok, "kill -{sig} failed");
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill(); // SIGKILL ends a stopped (SIGSTOP) process too
    }
}

/// Starts a server or returns from the test with a clear message when GStreamer's RTSP server is missing.
#[macro_export]
macro_rules! server_or_skip {
    ($file:expr, $port:expr, $path:expr, $extra:expr) => {
        match common::RtspServer::start($file, $port, $path, $extra) {
            common::Start::Ready(s) => s,
            common::Start::Missing(why) => {
                eprintln!(
                    "SKIPPED: GStreamer's RTSP server (python3-gi, gir1.2-gst-rtsp-server-1.0) is missing; \
                     run scripts/deps.sh. ({})",
                    why.trim()
                );
                return;
            }
        }
    };
}

/// `ffprobe` of a file's first video stream: (codec name, width, height, extradata, key flags of the first
/// `n` packets).
pub struct Probe {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub extradata: Vec<u8>,
    pub keys: Vec<bool>,
}

pub fn ffprobe(file: &Path, n: usize) -> Probe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "default=nw=1"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")).map(str::to_string))
            .unwrap_or_else(|| panic!("ffprobe gave no {k}: {text}"))
    };
    let data = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=extradata",
            "-show_data",
        ])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let mut extradata = Vec::new();
    for l in String::from_utf8_lossy(&data.stdout).lines() {
        // "00000000: 0142 8016 ffe1 ...  ascii"
        let Some((off, rest)) = l.split_once(": ") else {
            continue;
        };
        if off.len() != 8 || !off.chars().all(|c| c.is_ascii_hexdigit()) {
            continue;
        }
        let hex: String = rest.chars().take(40).filter(|c| c.is_ascii_hexdigit()).collect();
        for i in (0..hex.len() / 2 * 2).step_by(2) {
            extradata.push(u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"));
        }
    }
    let pk = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags",
            "-of",
            "csv=p=0",
        ])
        .args(["-read_intervals", &format!("%+#{n}")])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    let keys = String::from_utf8_lossy(&pk.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(n)
        .map(|l| l.starts_with('K'))
        .collect();
    Probe {
        codec: field("codec_name"),
        width: field("width").parse().expect("width"),
        height: field("height").parse().expect("height"),
        extradata,
        keys,
    }
}

/// The parameter-set NAL units (SPS, PPS; and VPS for H.265) of an `avcC` (H.264) or `hvcC` (H.265) record, in
/// order. Other units an encoder put in the record (x265's SEI) are left out.
pub fn parameter_sets(record: &[u8], h265: bool) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let take = |p: &mut usize| -> Option<Vec<u8>> {
        let len = u16::from_be_bytes([*record.get(*p)?, *record.get(*p + 1)?]) as usize;
        let nal = record.get(*p + 2..*p + 2 + len)?.to_vec();
        *p += 2 + len;
        Some(nal)
    };
    if h265 {
        let mut p = 22;
        let arrays = record.get(p).copied().unwrap_or(0);
        p += 1;
        for _ in 0..arrays {
            p += 1; // array_completeness, NAL type
            let n = u16::from_be_bytes([record[p], record[p + 1]]);
            p += 2;
            for _ in 0..n {
                let nal = take(&mut p).expect("hvcC nal");
                if (32..=34).contains(&((nal[0] >> 1) & 0x3f)) {
                    out.push(nal);
                }
            }
        }
    } else {
        let mut p = 5;
        let sps = record[p] & 0x1f;
        p += 1;
        for _ in 0..sps {
            out.push(take(&mut p).expect("avcC sps"));
        }
        let pps = record[p];
        p += 1;
        for _ in 0..pps {
            out.push(take(&mut p).expect("avcC pps"));
        }
    }
    out
}

/// An H.265 variant of the first `secs` seconds of `src`, camera-like (no B-frames, a key frame every 2 s), in
/// `dir`.
pub fn make_h265(src: &Path, secs: u32, dir: &Path) -> PathBuf {
    let out = dir.join("h265.mp4");
    let st = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(src)
        .args([
            "-t",
            &secs.to_string(),
            "-an",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
        ])
        .args(["-x265-params", "bframes=0:keyint=25:log-level=error", "-tag:v", "hvc1"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(st.success(), "ffmpeg failed to make the H.265 variant");
    out
}
