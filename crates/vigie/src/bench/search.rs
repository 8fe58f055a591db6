//! `vigie bench search`: the case-gated track search over millions of synthetic tracks (issue 8: p95 ≤ 100 ms for
//! typical queries over 10 million stored tracks).

use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use vigie_core::{Result, err};
use vigie_store::{NewCase, Store, SyntheticSpec, synthetic_camera, synthetic_typical_queries};

/// 2026-01-01 00:00 UTC: the first synthetic day.
const START_UNIX_MS: i64 = 1_767_225_600_000;
const DAY_MS: i64 = 86_400_000;

/// The figures of one query type over one database.
struct Figures {
    name: &'static str,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    mean_hits: f64,
    plan: Vec<String>,
}

/// Opens (creating it when needed, with a progress bar) the database of `n` synthetic tracks under `out`, and the
/// case covering it.
fn database(out: &Path, n: u64, cameras: u32, days: u32, session_days: u32) -> Result<(Store, vigie_store::Case)> {
    std::fs::create_dir_all(out).map_err(|e| err!(Io, "creating {}: {e}", out.display()))?;
    let stem = if session_days > 1 {
        format!("search-{n}-{cameras}x{days}-sessions{session_days}")
    } else {
        format!("search-{n}-{cameras}x{days}")
    };
    let path: PathBuf = out.join(format!("{stem}.db"));
    let done = out.join(format!("{stem}.done"));
    if path.exists() && !done.exists() {
        // An interrupted fill: start again.
        for suffix in ["", "-wal", "-shm"] {
            let p = PathBuf::from(format!("{}{suffix}", path.display()));
            if p.exists() {
                std::fs::remove_file(&p).map_err(|e| err!(Io, "removing {}: {e}", p.display()))?;
            }
        }
    }
    let mut store = Store::open(&path)?;
    if !done.exists() {
        let pb = ProgressBar::new(n);
        if let Ok(style) = ProgressStyle::with_template(&format!(
            "generating {n} tracks {{bar:40}} {{pos}}/{{len}} {{per_sec}} eta {{eta}}"
        )) {
            pb.set_style(style);
        }
        let t = Instant::now();
        let spec = SyntheticSpec {
            tracks: n,
            cameras,
            days,
            session_days,
            start_unix_ms: START_UNIX_MS,
            seed: 2026,
        };
        store.fill_synthetic(&spec, &mut |w| pb.set_position(w))?;
        pb.finish_and_clear();
        eprintln!(
            "bench search: {n} tracks written to {} in {:.1} s",
            path.display(),
            t.elapsed().as_secs_f64()
        );
        std::fs::write(&done, format!("{n}\n")).map_err(|e| err!(Io, "writing {}: {e}", done.display()))?;
    }
    let case = match store.case("BENCH")? {
        Some(c) => c,
        None => store.open_case(&NewCase {
            reference: "BENCH".into(),
            authority: "benchmark".into(),
            cameras: (0..cameras).map(synthetic_camera).collect(),
            from_unix_ms: START_UNIX_MS,
            to_unix_ms: START_UNIX_MS + i64::from(days) * DAY_MS,
            investigators: vec!["bench".into()],
            opened_by: "bench".into(),
            created_unix_ms: START_UNIX_MS,
            expires_unix_ms: START_UNIX_MS + 1000 * DAY_MS,
            plates_allowed: false,
        })?,
    };
    Ok((store, case))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Times each typical query `iters` times, each time on another day and camera.
fn measure(store: &Store, case: &vigie_store::Case, cameras: u32, days: u32, iters: u32) -> Result<Vec<Figures>> {
    let now = START_UNIX_MS + 1;
    let kinds = synthetic_typical_queries(START_UNIX_MS, cameras, 0, 0).len();
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); kinds];
    let mut hits = vec![0usize; kinds];
    // One pass unmeasured (the page cache of a database file just written is warm anyway; this evens the first
    // query's statement preparation out).
    for (_, q, _) in synthetic_typical_queries(START_UNIX_MS, cameras, 0, 0) {
        store.search_tracks(case, &q, now)?;
    }
    for i in 0..iters {
        let day = i64::from(i % days);
        let cam = (i.wrapping_mul(37).wrapping_add(11)) % cameras.max(1);
        for (k, (_, q, _)) in synthetic_typical_queries(START_UNIX_MS, cameras, day, cam)
            .into_iter()
            .enumerate()
        {
            let t = Instant::now();
            let found = store.search_tracks(case, &q, now)?;
            times[k].push(t.elapsed().as_secs_f64() * 1000.0);
            hits[k] += found.len();
        }
    }
    let mut figures = Vec::new();
    for (k, (name, q, _)) in synthetic_typical_queries(START_UNIX_MS, cameras, 0, 0)
        .into_iter()
        .enumerate()
    {
        let mut t = std::mem::take(&mut times[k]);
        t.sort_by(f64::total_cmp);
        figures.push(Figures {
            name,
            p50_ms: percentile(&t, 0.5),
            p95_ms: percentile(&t, 0.95),
            max_ms: t.last().copied().unwrap_or(0.0),
            mean_hits: hits[k] as f64 / f64::from(iters.max(1)),
            plan: store.explain_search(case, &q, now)?,
        });
    }
    Ok(figures)
}

pub fn run(
    tracks: u64,
    baseline_tracks: u64,
    cameras: u32,
    days: u32,
    session_days: u32,
    iters: u32,
    out: &Path,
) -> Result<()> {
    if cameras == 0 || days == 0 || iters == 0 || tracks == 0 {
        return Err(err!(
            InvalidArgument,
            "--tracks, --cameras, --days and --iters must be above 0"
        ));
    }
    let baseline = if baseline_tracks > 0 {
        let (store, case) = database(out, baseline_tracks, cameras, days, session_days)?;
        Some(measure(&store, &case, cameras, days, iters)?)
    } else {
        None
    };
    let (store, case) = database(out, tracks, cameras, days, session_days)?;
    let main = measure(&store, &case, cameras, days, iters)?;

    eprintln!(
        "bench search: {tracks} tracks, {cameras} cameras, {days} days, sessions of {session_days} day(s), {iters} runs \
         per query; baseline {baseline_tracks} tracks"
    );
    eprintln!(
        "{:<28} {:>9} {:>9} {:>9} {:>8} | {:>9} {:>9} {:>7}",
        "query", "p50 ms", "p95 ms", "max ms", "hits", "base p50", "base p95", "p95 x"
    );
    for (i, f) in main.iter().enumerate() {
        let b = baseline.as_ref().and_then(|b| b.get(i));
        let ratio = b.map(|b| f.p95_ms / b.p95_ms.max(1e-6));
        eprintln!(
            "{:<28} {:>9.2} {:>9.2} {:>9.2} {:>8.1} | {:>9} {:>9} {:>7}",
            f.name,
            f.p50_ms,
            f.p95_ms,
            f.max_ms,
            f.mean_hits,
            b.map_or("-".into(), |b| format!("{:.2}", b.p50_ms)),
            b.map_or("-".into(), |b| format!("{:.2}", b.p95_ms)),
            ratio.map_or("-".into(), |r| format!("{r:.2}")),
        );
        println!(
            "{}",
            serde_json::json!({
                "query": f.name, "tracks": tracks, "p50_ms": f.p50_ms, "p95_ms": f.p95_ms, "max_ms": f.max_ms,
                "mean_hits": f.mean_hits, "goal_p95_ms": 100.0, "ok": f.p95_ms <= 100.0,
                "baseline_tracks": baseline_tracks, "session_days": session_days,
                "baseline_p50_ms": b.map(|b| b.p50_ms), "baseline_p95_ms": b.map(|b| b.p95_ms),
                "p95_ratio": ratio, "plan": f.plan,
            })
        );
    }
    Ok(())
}
