//! `vigie bench`: the measurements `make bench` compares against baselines measured in the same run.

use crate::config::{Bases, Config};
use clap::Subcommand;
use std::path::PathBuf;
use std::time::Instant;
use vigie_core::{Result, err};
use vigie_video::{DecodeOptions, FrameSampler, VideoFile};

#[derive(Subcommand)]
pub enum BenchCmd {
    /// `session.run` alone, repeated on one pre-processed real frame: {"iters","mean_ms","median_ms","min_ms"}.
    Infer {
        video: PathBuf,
        /// Index of the sampled frame (at 5 fps) to use.
        #[arg(long, default_value_t = 50)]
        frame: u64,
        #[arg(long, default_value_t = 50)]
        iters: usize,
        #[arg(long, default_value_t = 1)]
        threads: usize,
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Decoding alone, no colour conversion: {"frames","wall_s","fps"}.
    Decode {
        video: PathBuf,
        #[arg(long, default_value_t = 1)]
        threads: usize,
    },
    /// Case-gated track search (issue 8): generates synthetic tracks (kept under --out and reused), times the
    /// typical queries, and compares with the same queries over --baseline-tracks: a table on stderr, one JSON line
    /// per query on stdout.
    Search {
        /// Tracks stored.
        #[arg(long, default_value_t = 10_000_000)]
        tracks: u64,
        /// Tracks of the baseline database, measured in the same run (0: none).
        #[arg(long, default_value_t = 1_000_000)]
        baseline_tracks: u64,
        #[arg(long, default_value_t = 100)]
        cameras: u32,
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// Days a camera session (a run) lasts: 1 (a run per camera per day) up to --days (one uninterrupted
        /// session per camera, the hardest case).
        #[arg(long, default_value_t = 1)]
        session_days: u32,
        /// Timed runs of each query (each on another day and camera).
        #[arg(long, default_value_t = 200)]
        iters: u32,
        /// Where the databases are kept (git-ignored).
        #[arg(long, default_value = "bench-out")]
        out: PathBuf,
    },
}

pub fn run(cmd: BenchCmd) -> Result<()> {
    match cmd {
        BenchCmd::Infer {
            video,
            frame,
            iters,
            threads,
            config,
        } => {
            let mut cfg = match &config {
                Some(p) => Config::load(p)?,
                None => Config::default(),
            };
            cfg.detector.threads = threads;
            let bases = Bases::new(config.as_deref());
            let ort = bases.resolve_existing(&cfg.runtime.onnxruntime, "runtime.onnxruntime")?;
            vigie_vision::init_runtime(&ort)?;
            let mut det = vigie_vision::Detector::new(&cfg.detector_config(&bases)?)?;
            let mut file = VideoFile::open(&video, &DecodeOptions { threads: 1 })?;
            let mut sampler = FrameSampler::new(5.0);
            let mut picked = None;
            for _ in 0..=frame {
                match file.next_sampled(&mut sampler)? {
                    Some(f) => picked = Some(f),
                    None => break,
                }
            }
            let f = picked.ok_or_else(|| err!(InvalidData, "{}: no frame decoded", video.display()))?;
            det.detect(&f)?; // pre-processes the frame (and warms the session up)
            let mut ms: Vec<f64> = det
                .bench_inference(iters)?
                .iter()
                .map(|d| d.as_secs_f64() * 1000.0)
                .collect();
            ms.sort_by(f64::total_cmp);
            let mean = ms.iter().sum::<f64>() / ms.len().max(1) as f64;
            let median = ms.get(ms.len() / 2).copied().unwrap_or(0.0);
            let min = ms.first().copied().unwrap_or(0.0);
            println!(
                "{}",
                serde_json::json!({"iters": iters, "mean_ms": mean, "median_ms": median, "min_ms": min, "threads": threads})
            );
            Ok(())
        }
        BenchCmd::Search {
            tracks,
            baseline_tracks,
            cameras,
            days,
            session_days,
            iters,
            out,
        } => search::run(tracks, baseline_tracks, cameras, days, session_days, iters, &out),
        BenchCmd::Decode { video, threads } => {
            let t = Instant::now();
            let mut file = VideoFile::open(&video, &DecodeOptions { threads })?;
            let frames = file.decode_all()?;
            let wall = t.elapsed().as_secs_f64();
            println!(
                "{}",
                serde_json::json!({"frames": frames, "wall_s": wall, "fps": frames as f64 / wall.max(1e-9), "threads": threads})
            );
            Ok(())
        }
    }
}

mod search;
