//! The `vigie` command.
//!
//! # Layout
//! - `main.rs`: the command line, and the one place where an error becomes a message and an exit code.
//! - [`config`]: the strict TOML configuration and path resolution.
//! - [`analyze`]: `vigie analyze`, the file pipeline (decode → detect → track → store).
//! - [`report`], [`draw`]: what a run writes (JSON, pictures, HTML).
//! - [`bench`]: `vigie bench`, measurements used by `make bench`.
//! - [`plates_cmd`]: `vigie plates`, licence-plate reading on image files and its accuracy benchmark.
//! - [`plates_stage`]: plates of vehicle tracks during `vigie analyze`, and parked vehicles to the parking pre-check.
//! - [`serve_cmd`]: `vigie serve`, the live service, and `vigie check`, its database and recordings verified.
//! - [`parking_cmd`]: `vigie parking`, the agent's and the payment provider's commands of the pre-check.
//! - [`user_cmd`]: `vigie user`, console accounts (password from standard input).
//! - [`audit_cmd`]: `vigie audit`, the audit log verified and exported.
//! - [`export_cmd`]: `vigie export` (signed, blurred evidence exports) and `vigie verify-export`.
//! - [`synopsis_cmd`]: `vigie synopsis`, found tracks over the empty background.
//! - [`case_cmd`]: `vigie case`, review cases, and `vigie search`, the case-gated search of stored tracks.

mod analyze;
mod audit_cmd;
mod authorisation_cmd;
mod bench;
mod case_cmd;
mod config;
mod draw;
mod export_cmd;
mod parking_cmd;
mod plates_cmd;
mod plates_stage;
mod report;
mod serve_cmd;
mod synopsis_cmd;
mod user_cmd;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::path::PathBuf;
use vigie_core::Result;

#[derive(Parser)]
#[command(name = "vigie", version, about = "Accountable video analytics for public space")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Detect, classify and track objects in a video file; write tracks, snapshots and a report.
    Analyze {
        /// The video file (MP4/MKV/AVI/GIF; H.264, H.265, MPEG-4 and whatever FFmpeg decodes).
        video: PathBuf,
        /// Configuration file (TOML); defaults apply to every key left out.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output folder. Default: ./vigie-out/<video file name>/
        #[arg(long)]
        out: Option<PathBuf>,
        /// Frames analysed per second of video (0 = every frame). Overrides analysis.fps.
        #[arg(long)]
        fps: Option<f64>,
        /// ONNX Runtime threads per detector worker. Overrides detector.threads.
        #[arg(long)]
        threads: Option<usize>,
        /// Detector workers in parallel (0 = one per core). Overrides detector.workers.
        #[arg(long)]
        workers: Option<usize>,
        /// SQLite database. Overrides storage.database.
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Run the live service: cameras (RTSP, or files played as cameras), recording, analysis, HTTP API.
    Serve {
        /// Configuration file with [server] and [[camera]] sections (config/demo.toml is the demo).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on, IP:PORT (port 0 picks a free one). Overrides [server] listen.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Verify the database and the recordings: SQLite integrity, every segment's file and size, orphan files,
    /// overlaps. Run it while the service is stopped.
    Check {
        /// Configuration file (for [storage] database and [server] recordings); defaults apply without one.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Legal holds: exempt a camera's recordings over a time range from retention (judicial request).
    Hold {
        #[command(subcommand)]
        what: serve_cmd::HoldCmd,
    },
    /// Measurements for `make bench`; each prints one JSON line.
    Bench {
        #[command(subcommand)]
        what: bench::BenchCmd,
    },
    /// Licence-plate reading on image files.
    Plates {
        #[command(subcommand)]
        what: plates_cmd::PlatesCmd,
    },
    /// The parking pre-check: paid sessions, and the sworn agent's queue and decisions.
    Parking {
        #[command(subcommand)]
        what: parking_cmd::ParkingCmd,
    },
    /// Console accounts: `vigie user add NAME --role ROLE [--cameras a,b]` (password on standard input).
    User {
        #[command(subcommand)]
        what: user_cmd::UserCmd,
    },
    /// The audit log: `vigie audit verify` (hash chain and signed checkpoints), `vigie audit export` (JSON lines).
    Audit {
        #[command(subcommand)]
        what: audit_cmd::AuditCmd,
    },
    /// Authorisations (legal scope of the live analytics): `vigie authorisation add|list|revoke`.
    Authorisation {
        #[command(subcommand)]
        what: authorisation_cmd::AuthorisationCmd,
    },
    /// Review cases (judicial requests): `vigie case open|list|close`.
    Case {
        #[command(subcommand)]
        what: case_cmd::CaseCmd,
    },
    /// Searches stored tracks inside an open case (logged): class, vehicle colour, plate, place, time, dwell.
    Search(case_cmd::SearchArgs),
    /// Evidence export inside a case: a clip with people and plates blurred, a manifest signed by the instance key.
    Export(export_cmd::ExportArgs),
    /// Verifies an export folder: the manifest's signature and every file's SHA-256; names any altered file.
    VerifyExport {
        /// The export folder.
        dir: PathBuf,
        /// The instance's published public key (64 hex digits); default: the key the manifest names.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// A synopsis inside a case: the tracks found, together over the empty background (poster.png, synopsis.mp4).
    Synopsis(synopsis_cmd::SynopsisArgs),
    /// Configuration tools.
    Config {
        #[command(subcommand)]
        what: ConfigCmd,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Checks a configuration file: syntax, unknown keys, value ranges, that model files exist.
    Check { file: PathBuf },
    /// Prints the documented default configuration.
    Default,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = run(cli) {
        // One line, naming the problem; the kind decides the exit code.
        eprintln!("vigie: error: {e}");
        std::process::exit(e.kind().exit_code());
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Analyze {
            video,
            config,
            out,
            fps,
            threads,
            workers,
            db,
        } => {
            let mut cfg = load_config(config.as_deref())?;
            if let Some(f) = fps {
                cfg.analysis.fps = f;
            }
            if let Some(t) = threads {
                cfg.detector.threads = t;
            }
            if let Some(w) = workers {
                cfg.detector.workers = w;
            }
            if let Some(d) = db {
                cfg.storage.database = d;
            }
            cfg.validate().map_err(|e| e.context("command-line options"))?;
            warn(&cfg);
            let out_dir = out.unwrap_or_else(|| {
                let name = video
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "video".into());
                PathBuf::from("vigie-out").join(name)
            });
            let opts = analyze::AnalyzeOptions {
                video,
                out_dir: out_dir.clone(),
                config: cfg,
                bases: config::Bases::new(config.as_deref()),
                progress: std::io::stderr().is_terminal(),
            };
            let s = analyze::run(&opts)?;
            let counts: Vec<String> = s.tracks.iter().map(|(c, n)| format!("{n} {c}")).collect();
            println!(
                "{}: {} frames analysed of {} in {:.1} s ({:.1} frames/s); tracks: {}; report: {}",
                s.video,
                s.frames_analysed,
                s.frames_decoded,
                s.wall_s,
                s.frames_analysed as f64 / s.timing.pipeline_s.max(1e-9),
                if counts.is_empty() {
                    "none".into()
                } else {
                    counts.join(", ")
                },
                out_dir.join("report.html").display()
            );
            Ok(())
        }
        Cmd::Serve { config, listen } => serve_cmd::serve(&config, listen),
        Cmd::Check { config } => serve_cmd::check(config.as_deref()),
        Cmd::Hold { what } => serve_cmd::hold(what),
        Cmd::Bench { what } => bench::run(what),
        Cmd::Plates { what } => plates_cmd::run(what),
        Cmd::Parking { what } => parking_cmd::run(what),
        Cmd::User { what } => user_cmd::run(what),
        Cmd::Audit { what } => audit_cmd::run(what),
        Cmd::Authorisation { what } => authorisation_cmd::run(what),
        Cmd::Case { what } => case_cmd::run_case(what),
        Cmd::Search(args) => case_cmd::run_search(args),
        Cmd::Export(args) => export_cmd::run_export(args),
        Cmd::VerifyExport { dir, public_key } => export_cmd::run_verify(&dir, public_key.as_deref()),
        Cmd::Synopsis(args) => synopsis_cmd::run(args),
        Cmd::Config { what } => match what {
            ConfigCmd::Check { file } => {
                let cfg = config::Config::load(&file)?;
                let bases = config::Bases::new(Some(&file));
                bases.resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
                cfg.detector_config(&bases)?;
                if let Some(m) = &cfg.weapon.model {
                    bases.resolve_existing(m, "weapon.model")?;
                }
                warn(&cfg);
                if cfg.plates.enabled {
                    bases.resolve_existing(&cfg.plates.det_model, "plates.det_model")?;
                    bases.resolve_existing(&cfg.plates.rec_model, "plates.rec_model")?;
                }
                println!("{}: ok", file.display());
                Ok(())
            }
            ConfigCmd::Default => {
                print!("{}", include_str!("../../../config/vigie.toml"));
                Ok(())
            }
        },
    }
}

/// Prints the configuration's warnings on stderr, one line each (rules watching classes no detector keeps).
fn warn(cfg: &config::Config) {
    for w in cfg.warnings() {
        eprintln!("vigie: warning: {w}");
    }
}

fn load_config(path: Option<&std::path::Path>) -> Result<config::Config> {
    match path {
        Some(p) => config::Config::load(p),
        None => Ok(config::Config::default()),
    }
}
