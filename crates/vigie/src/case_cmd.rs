//! `vigie case open|list|close` and `vigie search`: review assistance inside a case (issue 8,
//! `../shared/docs/legal.md`).
//!
//! A search happens only inside an open, unexpired case, over its cameras and window (`vigie_store::Store::
//! search_tracks` enforces it); each search is appended to the audit log (`search`, or `plate_lookup` for a
//! plate) before its results are printed. Opening and closing a case are logged too (`config_change` on
//! `case:REF`, as authorisations are). People are found by class, place, time and dwell only: `--colour` with
//! `--class person` is refused. `--plate` only in a case opened with `--plates` (its order allows plate searches).
//! Results are JSON lines on standard output.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use serde_json::json;
use vigie_core::{Result, bail, err};
use vigie_store::{NewCase, Store, TrackQuery};

use crate::audit_cmd::rfc3339_ms;

#[derive(Subcommand)]
pub enum CaseCmd {
    /// Opens a case: the judicial request that authorises searches over named cameras and a time window.
    Open {
        /// The case reference (procedure number).
        reference: String,
        /// The authority that authorised it (magistrate, court).
        #[arg(long)]
        authority: String,
        /// The cameras covered, comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        cameras: Vec<String>,
        /// Start of the window covered, RFC 3339 with an offset.
        #[arg(long)]
        from: String,
        /// End of the window covered (excluded), RFC 3339 with an offset.
        #[arg(long)]
        to: String,
        /// The investigators on the case (account names), comma-separated.
        #[arg(long, value_delimiter = ',', required = true)]
        investigators: Vec<String>,
        /// When the case expires, RFC 3339 with an offset; at most 3 years away. Default: in one year.
        #[arg(long)]
        expires: Option<String>,
        /// The judicial order allows plate searches in this case (`vigie search --plate`, the console's plate
        /// field). Without it, plate searches are refused. Fixed when the case is opened.
        #[arg(long)]
        plates: bool,
        /// Configuration file (for [storage] database); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Lists the cases as JSON lines, newest first (with `plates_allowed` and `open`).
    List {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Closes a case: no more searches or exports in it.
    Close {
        reference: String,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// `vigie search`.
#[derive(clap::Args)]
pub struct SearchArgs {
    /// The case the search belongs to (required: no search outside a case).
    #[arg(long)]
    case: String,
    /// person, two-wheeler, car, truck (also "van"), bus, or a detector label.
    #[arg(long)]
    class: Option<String>,
    /// A vehicle colour: white, black, grey, silver, red, blue, green, yellow, orange, brown, beige. Never with
    /// people.
    #[arg(long)]
    colour: Option<String>,
    /// A plate, exact or with wildcards (`*` any characters, `?` one), searched in the track plate database.
    #[arg(long)]
    plate: Option<String>,
    /// Narrows the case's window (RFC 3339 with an offset).
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    to: Option<String>,
    /// Only this camera (must be one of the case's).
    #[arg(long)]
    camera: Option<String>,
    /// Tracks an event in this zone involved.
    #[arg(long)]
    zone: Option<String>,
    /// Tracks an event on this line involved.
    #[arg(long)]
    line: Option<String>,
    /// in or out: not stored per track yet, refused.
    #[arg(long)]
    direction: Option<String>,
    /// Tracks seen at least this many seconds.
    #[arg(long)]
    min_dwell_s: Option<f64>,
    /// Configuration file (for [storage] database and [plates] database); defaults apply without one.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn open_store(config: Option<&Path>) -> Result<(crate::config::Config, Store)> {
    let cfg = super::load_config(config)?;
    if let Some(dir) = cfg.storage.database.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| err!(Io, "creating {}: {e}", dir.display()))?;
    }
    let store = Store::open(&cfg.storage.database)?;
    Ok((cfg, store))
}

fn rfc3339(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

fn who() -> String {
    let user = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    format!("cli:{user}")
}

fn print_lines(lines: &[serde_json::Value]) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for l in lines {
        writeln!(out, "{l}").map_err(|e| err!(Io, "writing the results: {e}"))?;
    }
    out.flush().map_err(|e| err!(Io, "writing the results: {e}"))
}

pub fn run_case(cmd: CaseCmd) -> Result<()> {
    match cmd {
        CaseCmd::Open {
            reference,
            authority,
            cameras,
            from,
            to,
            investigators,
            expires,
            plates,
            config,
        } => {
            let (_, mut store) = open_store(config.as_deref())?;
            let now = vigie_server::unix_ms();
            let expires_unix_ms = match expires {
                Some(e) => rfc3339_ms("expires", &e)?,
                None => now + 365 * 86_400_000,
            };
            let c = store.open_case(&NewCase {
                reference,
                authority,
                cameras,
                from_unix_ms: rfc3339_ms("from", &from)?,
                to_unix_ms: rfc3339_ms("to", &to)?,
                investigators,
                opened_by: who(),
                created_unix_ms: now,
                expires_unix_ms,
                plates_allowed: plates,
            })?;
            // Logged like an authorisation (the legal basis of what follows): `config_change` on `case:REF`.
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::ConfigChange,
                &format!("case:{}", c.reference),
                json!({"case": "opened", "authority": c.authority, "cameras": c.cameras,
                       "from": rfc3339(c.from_unix_ms), "to": rfc3339(c.to_unix_ms),
                       "investigators": c.investigators, "expires": rfc3339(c.expires_unix_ms),
                       "plates_allowed": c.plates_allowed}),
            )?;
            eprintln!(
                "case {} opened: cameras {}, {} to {}, expires {}, plate searches {}",
                c.reference,
                c.cameras.join(","),
                rfc3339(c.from_unix_ms),
                rfc3339(c.to_unix_ms),
                rfc3339(c.expires_unix_ms),
                if c.plates_allowed { "allowed" } else { "not allowed" }
            );
            Ok(())
        }
        CaseCmd::List { config } => {
            let (_, store) = open_store(config.as_deref())?;
            let now = vigie_server::unix_ms();
            let lines = store
                .cases()?
                .into_iter()
                .map(|c| {
                    let open = c.is_open(now);
                    let mut v = serde_json::to_value(&c).unwrap_or_default();
                    if let Some(o) = v.as_object_mut() {
                        o.insert("open".into(), json!(open));
                    }
                    v
                })
                .collect::<Vec<_>>();
            print_lines(&lines)
        }
        CaseCmd::Close { reference, config } => {
            let (_, mut store) = open_store(config.as_deref())?;
            let c = store.close_case(&reference, vigie_server::unix_ms())?;
            crate::audit_cmd::record(
                config.as_deref(),
                vigie_audit::Action::ConfigChange,
                &format!("case:{}", c.reference),
                json!({"case": "closed", "closed": c.closed_unix_ms.map(rfc3339)}),
            )?;
            eprintln!("case {} closed", c.reference);
            Ok(())
        }
    }
}

/// The detector labels of a search class.
pub(crate) fn class_labels(class: &str) -> Vec<String> {
    let v: &[&str] = match class.trim().to_ascii_lowercase().as_str() {
        "two-wheeler" | "two_wheeler" => &["bicycle", "motorcycle"],
        "van" | "truck" | "van/truck" => &["truck"],
        other => return vec![other.to_owned()],
    };
    v.iter().map(|s| s.to_string()).collect()
}

pub fn run_search(a: SearchArgs) -> Result<()> {
    let classes = a.class.as_deref().map(class_labels).unwrap_or_default();
    // Checked before anything is opened or logged: appearance search of people does not exist.
    if a.colour.is_some() && classes.iter().any(|c| c == "person") {
        bail!(
            InvalidArgument,
            "--colour with --class person: people are found by class, place, time and direction only"
        );
    }
    if let Some(d) = &a.direction {
        bail!(
            Unsupported,
            "--direction {d}: the direction of a line crossing is not stored per track yet; use --line"
        );
    }
    if a.plate.is_some() && (a.colour.is_some() || a.zone.is_some() || a.line.is_some() || a.min_dwell_s.is_some()) {
        bail!(
            InvalidArgument,
            "--plate is searched alone (with --from, --to, --camera)"
        );
    }
    let (cfg, store) = open_store(a.config.as_deref())?;
    let now = vigie_server::unix_ms();
    let case = store
        .case(&a.case)?
        .ok_or_else(|| err!(NotFound, "no case {:?}", a.case))?;
    case.require_open(now)?;
    let from = a.from.as_deref().map(|s| rfc3339_ms("from", s)).transpose()?;
    let to = a.to.as_deref().map(|s| rfc3339_ms("to", s)).transpose()?;
    let cameras: Vec<String> = a.camera.iter().cloned().collect();
    if let Some(c) = &a.camera
        && !case.cameras.contains(c)
    {
        bail!(InvalidArgument, "camera {c:?} is not in case {:?}", case.reference);
    }

    if let Some(pattern) = &a.plate {
        // Plate data has its own access (legal.md): only a case whose order allows it searches plates.
        if !case.plates_allowed {
            bail!(
                InvalidArgument,
                "--plate: case {:?} does not allow plate searches (its order must allow them: `vigie case open ... \
                 --plates`)",
                case.reference
            );
        }
        let (plates_db, _, _) = crate::plates_stage::paths(&cfg);
        let cams = if cameras.is_empty() {
            case.cameras.clone()
        } else {
            cameras
        };
        let from = from.map_or(case.from_unix_ms, |f| f.max(case.from_unix_ms));
        let to = to.map_or(case.to_unix_ms, |t| t.min(case.to_unix_ms));
        let found = if plates_db.exists() {
            vigie_plates::TrackPlateStore::open(&plates_db, now)?.find(pattern, &cams, from, to)?
        } else {
            vigie_plates::plate_glob(pattern)?; // a bad pattern is refused even without a database
            Vec::new()
        };
        crate::audit_cmd::record(
            a.config.as_deref(),
            vigie_audit::Action::PlateLookup,
            &format!("case:{}", case.reference),
            json!({"plate": pattern, "cameras": cams, "from": rfc3339(from), "to": rfc3339(to),
                   "results": found.len()}),
        )?;
        let lines = found
            .iter()
            .map(|p| {
                json!({"run": p.run_id, "track_id": p.track_id, "camera": p.camera, "class": p.class,
                       "plate": p.plate, "confidence": p.confidence,
                       "first": rfc3339(p.first_seen_unix_ms), "last": rfc3339(p.last_seen_unix_ms)})
            })
            .collect::<Vec<_>>();
        return print_lines(&lines);
    }

    let q = TrackQuery {
        classes,
        colour: a.colour.as_deref().map(|c| c.trim().to_ascii_lowercase()),
        cameras,
        from_unix_ms: from,
        to_unix_ms: to,
        zone: a.zone.clone(),
        line: a.line.clone(),
        min_dwell_ms: a
            .min_dwell_s
            .filter(|d| d.is_finite() && *d >= 0.0)
            .map(|d| (d * 1000.0) as i64),
        limit: None,
    };
    if a.min_dwell_s.is_some() && q.min_dwell_ms.is_none() {
        bail!(InvalidArgument, "--min-dwell-s: a number of seconds, 0 or more");
    }
    let hits = store.search_tracks(&case, &q, now)?;
    crate::audit_cmd::record(
        a.config.as_deref(),
        vigie_audit::Action::Search,
        &format!("case:{}", case.reference),
        json!({"class": a.class, "colour": q.colour, "camera": a.camera, "from": a.from, "to": a.to,
               "zone": a.zone, "line": a.line, "min_dwell_s": a.min_dwell_s, "results": hits.len()}),
    )?;
    let lines = hits
        .iter()
        .map(|h| {
            let snapshot = h.output_dir.as_ref().map(|d| {
                Path::new(d)
                    .join("snapshots")
                    .join(format!("track-{:04}-{}.jpg", h.track_id, h.class.replace(' ', "_")))
                    .display()
                    .to_string()
            });
            json!({"run": h.run, "track_id": h.track_id, "camera": h.camera, "class": h.class,
                   "colour": h.colour, "first": rfc3339(h.first_unix_ms), "last": rfc3339(h.last_unix_ms),
                   "snapshot": snapshot})
        })
        .collect::<Vec<_>>();
    print_lines(&lines)
}
