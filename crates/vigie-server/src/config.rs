//! Configuration of the live service: `[server]` and `[[camera]]` in Vigie's configuration file.
//!
//! Strict like the rest of the file (`deny_unknown_fields`); every field is documented here and in
//! `config/vigie.toml`. Camera credentials live in the URL and never leave the server: [`redact_url`] is what
//! logs, errors and the API show.

use std::path::PathBuf;

use serde::Deserialize;
use vigie_core::{Result, err};

/// `[server]`: the service as a whole.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerSection {
    /// Address the HTTP server (console, API, `/metrics`) listens on. Default `127.0.0.1:8080`; `vigie serve
    /// --listen ADDR` overrides it.
    pub listen: String,
    /// Folder of the recordings (one sub-folder per camera). Relative to the current folder.
    /// Default `vigie-data/recordings`.
    pub recordings: PathBuf,
    /// Folder of event snapshots (one JPEG per event, `<camera>/<event id>.jpg`). Default `vigie-data/snapshots`.
    pub snapshots: PathBuf,
    /// Target length of a recording segment in seconds; a segment is cut at the first key frame after it.
    /// Default 60.
    pub segment_s: f64,
    /// Recordings older than this many days are deleted (unless under a legal hold). At most 30, the legal
    /// maximum (CSI L252-5). Default 30.
    pub retention_days: u32,
    /// Recording budget per camera in bytes; the oldest segments beyond it are deleted. Default: none.
    pub max_bytes_per_camera: Option<u64>,
    /// Seconds without a frame before a connected camera is declared stalled and reconnected. Default 5.
    pub stall_s: f64,
    /// Seconds between two retention passes. Default 60.
    pub retention_every_s: f64,
    /// Who operates the cameras (the data controller), shown on the public transparency register (`/register`),
    /// e.g. "Ville de Lyon, police municipale". Default: none ("not declared" on the register).
    pub operator: Option<String>,
    /// How to exercise one's rights (access, deletion, complaint): an address, e-mail or web page, shown on the
    /// register and the signage. Default: none.
    pub rights_contact: Option<String>,
    /// URLs (`http://host:port/path`) that receive every event message (start, update, end) and camera state
    /// change as a JSON POST: the event bus for other systems (`webhook.rs`). Default: none.
    pub webhooks: Vec<String>,
}

impl Default for ServerSection {
    fn default() -> Self {
        ServerSection {
            listen: "127.0.0.1:8080".into(),
            recordings: PathBuf::from("vigie-data/recordings"),
            snapshots: PathBuf::from("vigie-data/snapshots"),
            segment_s: 60.0,
            retention_days: 30,
            max_bytes_per_camera: None,
            stall_s: 5.0,
            retention_every_s: 60.0,
            operator: None,
            rights_contact: None,
            webhooks: Vec::new(),
        }
    }
}

/// How RTP travels from an RTSP camera.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// Interleaved in the RTSP TCP connection: works through firewalls and NAT, no loss. The default.
    #[default]
    Tcp,
    /// RTP over UDP: lower latency, may lose packets.
    Udp,
}

/// `[[camera]]`: one camera. Exactly one of `url` and `file` is set.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    /// Unique name: letters, digits, `-` and `_` (it names the recording folder and appears in events).
    pub name: String,
    /// `rtsp://[user:password@]host[:port]/path` of the main stream (recorded, and analysed when no
    /// `analysis_url` is set). H.264 or H.265.
    #[serde(default)]
    pub url: Option<String>,
    /// A video file (MP4/MKV, H.264 or H.265) played in a loop as if it were a camera: the demo, tests.
    /// Relative paths are resolved like model paths.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Optional sub-stream (lower resolution) for analysis; recording always uses the main stream.
    #[serde(default)]
    pub analysis_url: Option<String>,
    /// RTP transport: "tcp" (default) or "udp".
    #[serde(default)]
    pub transport: Transport,
    /// Record the main stream. Default true.
    #[serde(default = "yes")]
    pub record: bool,
    /// Run the detector, tracker and rules. Default true.
    #[serde(default = "yes")]
    pub analyse: bool,
    /// Analysed frames per second; default: `[analysis] fps`.
    #[serde(default)]
    pub analysis_fps: Option<f64>,
    /// Skip the detector on frames where nothing moves and no object is being tracked. Default true; false
    /// makes live analysis identical to `vigie analyze` of the same frames.
    #[serde(default = "yes")]
    pub motion_gate: bool,
    /// Retention for this camera in days, lower than `[server] retention_days` only.
    #[serde(default)]
    pub retention_days: Option<u32>,
    /// Recording budget for this camera in bytes (overrides `[server] max_bytes_per_camera`).
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// File cameras only: playback speed (1 = real time).
    #[serde(default = "one")]
    pub speed: f64,
    /// Zones, lines and rules of this camera (same keys as the top-level `[[zone]]`, `[[line]]`, `[[rule]]`).
    #[serde(default, rename = "zone")]
    pub zones: Vec<vigie_rules::config::ZoneConfig>,
    #[serde(default, rename = "line")]
    pub lines: Vec<vigie_rules::config::LineConfig>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<vigie_rules::RuleConfig>,
    /// Where the camera is, in words for the public: "Place Bellecour, north side". Shown on the transparency
    /// register and the signage. Default: none.
    #[serde(default)]
    pub place: Option<String>,
    /// Why it films, for the public: "security of the public during events". Shown on the register. Default: none.
    #[serde(default)]
    pub purpose: Option<String>,
    /// `[[camera.privacy_mask]]`: polygons (`name`, `points` = `[[x, y], ...]` normalised 0..1 like zones, at
    /// least 3) hidden in everything shown or exported of this camera: the live frame, event snapshots, event
    /// clips (re-encoded when the camera has a mask), `vigie export`, and `vigie analyze` when `[events] camera`
    /// names this camera. Analysis sees the masked frame too. Default: none.
    #[serde(default, rename = "privacy_mask")]
    pub privacy_masks: Vec<vigie_core::MaskConfig>,
    /// Mask before recording too (an area that must never be stored, e.g. a private window): the recorder
    /// decodes, masks and re-encodes this camera's main stream (H.264, libx264 `veryfast`) instead of remuxing it.
    /// Costs CPU: about one core for a 1080p camera at 25 fps (see ARCHITECTURE.md). Needs at least one mask.
    /// Default false.
    #[serde(default)]
    pub mask_before_recording: bool,
}

fn yes() -> bool {
    true
}

fn one() -> f64 {
    1.0
}

impl CameraConfig {
    /// Checks what serde cannot: the name, one source, URL schemes, ranges.
    pub fn validate(&self, server: &ServerSection) -> Result<()> {
        let n = &self.name;
        if n.is_empty() || n.len() > 64 || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(err!(
                Config,
                "camera name {n:?}: use 1 to 64 letters, digits, '-' or '_'"
            ));
        }
        match (&self.url, &self.file) {
            (Some(_), Some(_)) => return Err(err!(Config, "camera {n}: set either url or file, not both")),
            (None, None) => return Err(err!(Config, "camera {n}: set url (rtsp://...) or file")),
            _ => {}
        }
        for u in self.url.iter().chain(&self.analysis_url) {
            if !u.starts_with("rtsp://") && !u.starts_with("rtsps://") {
                return Err(err!(Config, "camera {n}: {} is not an rtsp:// URL", redact_url(u)));
            }
        }
        if let Some(d) = self.retention_days
            && (d == 0 || d > server.retention_days)
        {
            return Err(err!(
                Config,
                "camera {n}: retention_days {d} must be between 1 and [server] retention_days ({})",
                server.retention_days
            ));
        }
        if let Some(f) = self.analysis_fps
            && !(f.is_finite() && f >= 0.0)
        {
            return Err(err!(Config, "camera {n}: analysis_fps {f} must be >= 0"));
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(err!(Config, "camera {n}: speed {} must be > 0", self.speed));
        }
        for m in &self.privacy_masks {
            m.validate(n)?;
        }
        if self.mask_before_recording && self.privacy_masks.is_empty() {
            return Err(err!(
                Config,
                "camera {n}: mask_before_recording needs at least one [[camera.privacy_mask]]"
            ));
        }
        Ok(())
    }

    /// Where the camera's video comes from, without credentials: for logs, errors and the API.
    pub fn source_label(&self) -> String {
        match (&self.url, &self.file) {
            (Some(u), _) => redact_url(u),
            (None, Some(f)) => f.display().to_string(),
            (None, None) => String::new(),
        }
    }

    /// The zones, lines and rules of this camera, as the rule engine takes them.
    pub fn rules_config(&self) -> vigie_rules::RulesConfig {
        vigie_rules::RulesConfig {
            zones: self.zones.clone(),
            lines: self.lines.clone(),
            rules: self.rules.clone(),
        }
    }
}

impl ServerSection {
    pub fn validate(&self) -> Result<()> {
        if self.retention_days == 0 || self.retention_days > 30 {
            return Err(err!(
                Config,
                "[server] retention_days {}: must be between 1 and 30 (recordings are kept at most one month, CSI L252-5)",
                self.retention_days
            ));
        }
        if !(self.segment_s.is_finite() && (1.0..=600.0).contains(&self.segment_s)) {
            return Err(err!(
                Config,
                "[server] segment_s {} must be between 1 and 600",
                self.segment_s
            ));
        }
        if !(self.stall_s.is_finite() && self.stall_s > 0.0 && self.stall_s <= 5.0) {
            return Err(err!(
                Config,
                "[server] stall_s {} must be > 0 and at most 5 (a stall is detected within 5 s)",
                self.stall_s
            ));
        }
        if !(self.retention_every_s.is_finite() && self.retention_every_s > 0.0) {
            return Err(err!(Config, "[server] retention_every_s must be > 0"));
        }
        self.listen
            .parse::<std::net::SocketAddr>()
            .map_err(|e| err!(Config, "[server] listen {:?}: {e} (expected IP:PORT)", self.listen))?;
        Ok(())
    }
}

/// `rtsp://user:secret@host/x` → `rtsp://user:***@host/x`; anything after the scheme's `//` and before the next
/// `@` in the authority is hidden except the user name.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    match authority.rfind('@') {
        Some(at) => {
            let user = authority[..at].split(':').next().unwrap_or("");
            format!("{}://{user}:***@{}", &url[..scheme_end], &rest[at + 1..])
        }
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("rtsp://admin:hunter2@10.0.0.5:554/s1"),
            "rtsp://admin:***@10.0.0.5:554/s1"
        );
        assert_eq!(redact_url("rtsp://10.0.0.5/s1"), "rtsp://10.0.0.5/s1");
        assert_eq!(redact_url("rtsp://a:b@c@d/x"), "rtsp://a:***@d/x");
        assert!(!redact_url("rtsp://u:p%40ss@h/").contains("p%40ss"));
    }

    fn cam(toml_text: &str) -> Result<CameraConfig> {
        toml::from_str::<CameraConfig>(toml_text).map_err(|e| err!(Config, "{e}"))
    }

    #[test]
    fn validates_cameras() {
        let s = ServerSection::default();
        let ok = cam("name = \"gate-1\"\nurl = \"rtsp://u:p@h/x\"").and_then(|c| c.validate(&s).map(|_| c));
        assert!(ok.is_ok(), "{ok:?}");
        let both = cam("name = \"a\"\nurl = \"rtsp://h/x\"\nfile = \"a.mp4\"");
        assert!(both.and_then(|c| c.validate(&s)).is_err());
        let http = cam("name = \"a\"\nurl = \"http://u:secret@h/x\"").and_then(|c| c.validate(&s));
        let msg = format!("{http:?}");
        assert!(msg.contains("not an rtsp"), "{msg}");
        assert!(!msg.contains("secret"), "{msg}");
        assert!(
            cam("name = \"a b\"\nfile = \"x.mp4\"")
                .and_then(|c| c.validate(&s))
                .is_err()
        );
        assert!(
            cam("name = \"a\"\nfile = \"x.mp4\"\nretention_days = 31")
                .and_then(|c| c.validate(&s))
                .is_err()
        );
        assert!(cam("name = \"a\"\nfile = \"x.mp4\"\nbogus = 1").is_err());
        let masked = "name = \"a\"\nfile = \"x.mp4\"\nmask_before_recording = true\n\
                      [[privacy_mask]]\nname = \"window\"\npoints = [[0.1, 0.1], [0.4, 0.1], [0.4, 0.5]]\n";
        assert!(cam(masked).and_then(|c| c.validate(&s)).is_ok());
        let bad = cam(&masked.replace("0.4, 0.5", "0.4, 1.5")).and_then(|c| c.validate(&s));
        let msg = format!("{bad:?}");
        assert!(msg.contains("camera a") && msg.contains("\"window\""), "{msg}");
        let two = cam(&masked.replace(", [0.4, 0.5]", "")).and_then(|c| c.validate(&s));
        assert!(format!("{two:?}").contains("at least 3"), "{two:?}");
        assert!(
            cam("name = \"a\"\nfile = \"x.mp4\"\nmask_before_recording = true")
                .and_then(|c| c.validate(&s))
                .is_err()
        );
        assert!(cam(&masked.replace("name = \"window\"", "name = \"w\"\nextra = 1")).is_err());
        let s2 = ServerSection {
            retention_days: 31,
            ..Default::default()
        };
        assert!(s2.validate().is_err());
        assert!(ServerSection::default().validate().is_ok());
    }
}
