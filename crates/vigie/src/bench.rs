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
