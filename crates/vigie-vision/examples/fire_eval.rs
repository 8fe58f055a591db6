//! Measures the fire baseline on a video: frames with a candidate region, and the episodes the `fire_start` rule
//! would raise at its defaults (a region scoring >= 0.5 in the same place for 3 s, gaps under 2 s bridged, 30 s
//! cooldown), plus the time per frame. The frames come from the ffmpeg CLI at 5 frames per second (the pipeline's
//! analysis rate).
//!
//! ```text
//! cargo run -p vigie-vision --example fire_eval --release -- VIDEO [MIN_SCORE] [MIN_DURATION_S]
//! ```
//! With `FIRE_GT=x1,y1,x2,y2,start_s,end_s` (a synthetic flame's box and time span), it also counts the frames of
//! the span (after the first `window` frames) where a region over the minimum score overlaps the box, and splits
//! the episodes into hits (overlapping the box during the span) and false alarms.
//! Prints one JSON object. Used for `docs/accuracy.md`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use vigie_core::{RgbFrame, Time90k};
use vigie_vision::{FireBaseline, FireBaselineConfig};

fn probe(video: &str) -> (u32, u32) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
            video,
        ])
        .output()
        .expect("ffprobe");
    let s = String::from_utf8_lossy(&out.stdout);
    let mut it = s.trim().split(',').map(|v| v.parse::<u32>().expect("size"));
    (it.next().unwrap(), it.next().unwrap())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let video = args
        .get(1)
        .expect("usage: fire_eval VIDEO [MIN_SCORE] [MIN_DURATION_S]");
    let min_score: f32 = args.get(2).map_or(0.5, |s| s.parse().expect("min score"));
    let min_dur: f64 = args.get(3).map_or(3.0, |s| s.parse().expect("min duration"));
    let (w, h) = probe(video);
    let mut child = Command::new("ffmpeg")
        .args([
            "-nostdin", "-v", "error", "-i", video, "-vf", "fps=5", "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("ffmpeg");
    let mut stdout = child.stdout.take().unwrap();
    // Overrides for parameter sweeps: FIRE_MIN_FLIPS, FIRE_CORE_RED, FIRE_CHROMA, FIRE_FG (256: off), FIRE_MIN_AREA,
    // FIRE_WINDOW, FIRE_RED_MIN.
    let mut cfg = FireBaselineConfig::default();
    let env = |k: &str| std::env::var(k).ok().map(|v| v.parse::<u32>().expect(k));
    if let Some(v) = env("FIRE_MIN_FLIPS") {
        cfg.min_flips = v;
    }
    if let Some(v) = env("FIRE_CORE_RED") {
        cfg.core_red_min = v as u8;
    }
    if let Some(v) = env("FIRE_WINDOW") {
        cfg.window = v;
    }
    if let Some(v) = env("FIRE_CHROMA") {
        cfg.chroma_min = v as u8;
    }
    if let Some(v) = env("FIRE_FG") {
        cfg.foreground_min = (v < 256).then_some(v as u8); // 256: off
    }
    if let Some(v) = env("FIRE_MIN_AREA") {
        cfg.min_area = v;
    }
    if let Some(v) = env("FIRE_RED_MIN") {
        cfg.red_min = v as u8;
    }
    let mut fb = FireBaseline::new(cfg).unwrap();
    let size = (w * h * 3) as usize;
    let mut buf = vec![0u8; size];
    let (mut frames, mut any, mut strong) = (0u64, 0u64, 0u64);
    let mut spent = Duration::ZERO;
    let mut worst = Duration::ZERO;
    // Clusters: (box, since, last seen, raised); an episode is a cluster seen for min_dur with gaps < 2 s.
    let mut clusters: Vec<(vigie_core::BBox, f64, f64, bool)> = Vec::new();
    let mut episodes: Vec<(f64, [f32; 4], f32)> = Vec::new();
    let mut max_score = 0f32;
    let gt: Option<(vigie_core::BBox, f64, f64)> = std::env::var("FIRE_GT").ok().map(|v| {
        let n: Vec<f64> = v.split(',').map(|x| x.parse().expect("FIRE_GT")).collect();
        (
            vigie_core::BBox::new(n[0] as f32, n[1] as f32, n[2] as f32, n[3] as f32),
            n[4],
            n[5],
        )
    });
    let (mut gt_frames, mut gt_hits) = (0u64, 0u64);
    loop {
        if stdout.read_exact(&mut buf).is_err() {
            break;
        }
        let t = frames as f64 / 5.0;
        let f = RgbFrame {
            width: w,
            height: h,
            data: buf.clone(),
            pts: Time90k::from_secs_f64(t),
            index: frames,
        };
        frames += 1;
        let t0 = Instant::now();
        let regions = fb.analyse(&f);
        let d = t0.elapsed();
        spent += d;
        worst = worst.max(d);
        if !regions.is_empty() {
            any += 1;
        }
        let good: Vec<_> = regions.iter().filter(|r| r.score >= min_score).collect();
        if let Some((b, s0, s1)) = gt
            && t >= s0 + fb.config().window as f64 / 5.0
            && t <= s1
        {
            gt_frames += 1;
            gt_hits += good.iter().any(|r| r.bbox.intersection(&b) > 0.0) as u64;
        }
        if !good.is_empty() {
            strong += 1;
        }
        for r in &regions {
            max_score = max_score.max(r.score);
        }
        for r in good {
            let c = r.bbox.center();
            let grown = |b: &vigie_core::BBox| {
                let (gw, gh) = (b.width() * 0.5, b.height() * 0.5);
                c.x >= b.x1 - gw && c.x <= b.x2 + gw && c.y >= b.y1 - gh && c.y <= b.y2 + gh
            };
            match clusters.iter_mut().find(|k| grown(&k.0)) {
                Some(k) => {
                    if t - k.2 >= 2.0 && !k.3 {
                        k.1 = t;
                    }
                    k.0 = r.bbox;
                    k.2 = t;
                    if !k.3 && t - k.1 >= min_dur {
                        k.3 = true;
                        episodes.push((k.1, r.bbox.into(), r.score));
                    }
                }
                None => clusters.push((r.bbox, t, t, false)),
            }
        }
        // Clusters unseen for 30 s (cooldown) are forgotten.
        clusters.retain(|k| t - k.2 < 30.0);
    }
    let _ = child.wait();
    let secs = frames as f64 / 5.0;
    let mut gt_json = String::new();
    if let Some((b, s0, s1)) = gt {
        let hit = |e: &(f64, [f32; 4], f32)| {
            e.0 >= s0 - 1.0 && e.0 <= s1 && vigie_core::BBox::from(e.1).intersection(&b) > 0.0
        };
        let first = episodes
            .iter()
            .find(|e| hit(e))
            .map_or("null".to_string(), |e| format!("{:.1}", e.0 + min_dur - s0));
        gt_json = format!(
            ",\"gt_frames\":{gt_frames},\"gt_frames_detected\":{gt_hits},\"gt_episodes\":{},\"false_episodes\":{},\"alert_delay_s\":{first}",
            episodes.iter().filter(|e| hit(e)).count(),
            episodes.iter().filter(|e| !hit(e)).count()
        );
    }
    let eps: Vec<String> = episodes
        .iter()
        .map(|(s, b, sc)| {
            format!(
                "{{\"start_s\":{s:.1},\"bbox\":[{:.0},{:.0},{:.0},{:.0}],\"score\":{sc:.2}}}",
                b[0], b[1], b[2], b[3]
            )
        })
        .collect();
    println!(
        "{{\"video\":{video:?},\"size\":[{w},{h}],\"frames\":{frames},\"seconds\":{secs:.1},\"frames_with_region\":{any},\
         \"frames_with_region_over_min_score\":{strong},\"max_score\":{max_score:.2},\"episodes\":[{}],\
         \"episodes_per_hour\":{:.1},\"mean_ms\":{:.3},\"worst_ms\":{:.3}{gt_json}}}",
        eps.join(","),
        episodes.len() as f64 * 3600.0 / secs.max(1e-9),
        spent.as_secs_f64() * 1000.0 / frames.max(1) as f64,
        worst.as_secs_f64() * 1000.0
    );
}
