//! The `vigie` command.
//!
//! # Layout
//! - `main.rs`: the command line, and the one place where an error becomes a message and an exit code.
//! - [`config`]: the strict TOML configuration and path resolution.
//! - [`analyze`]: `vigie analyze`, the file pipeline (decode → detect → track → store).
//! - [`report`], [`draw`]: what a run writes (JSON, pictures, HTML).
//! - [`bench`]: `vigie bench`, measurements used by `make bench`.
//! - [`plates_cmd`]: `vigie plates`, licence-plate reading on image files and its accuracy benchmark.

mod analyze;
mod bench;
mod config;
mod draw;
mod plates_cmd;
mod report;

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
        Cmd::Bench { what } => bench::run(what),
        Cmd::Plates { what } => plates_cmd::run(what),
        Cmd::Config { what } => match what {
            ConfigCmd::Check { file } => {
                let cfg = config::Config::load(&file)?;
                let bases = config::Bases::new(Some(&file));
                bases.resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
                cfg.detector_config(&bases)?;
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

fn load_config(path: Option<&std::path::Path>) -> Result<config::Config> {
    match path {
        Some(p) => config::Config::load(p),
        None => Ok(config::Config::default()),
    }
}
