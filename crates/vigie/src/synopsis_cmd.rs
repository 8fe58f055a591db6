//! `vigie synopsis`: the tracks a case search finds, shown together over the empty background (issue 8).
//!
//! Inside an open case, like `vigie search` (same filters, logged as a `search`). For each analysed file the hits
//! come from (the run's source), the video is decoded at the run's analysis rate: the background is the per-pixel
//! median of up to 31 frames spread over the clip (moving objects vanish from it), and each found track's pixels are
//! cut from its stored boxes. `poster.png`: the background with every track pasted at its best box, labelled with
//! its wall-clock time. `synopsis.mp4`: every track replayed from the same start, each labelled with its own time.
//! Live camera runs (no source file) are skipped, and said so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use image::RgbImage;
use serde_json::json;
use vigie_core::{BBox, Result, RgbFrame, Time90k, TrackId, bail, err};
use vigie_store::{RunId, Store, TrackHit, TrackQuery};
use vigie_video::{DecodeOptions, FrameSampler, VideoFile};

use crate::audit_cmd::rfc3339_ms;

/// `vigie synopsis`.
#[derive(clap::Args)]
pub struct SynopsisArgs {
    /// The case it belongs to.
    #[arg(long)]
    case: String,
    /// The camera.
    #[arg(long)]
    camera: String,
    /// person, two-wheeler, car, truck, bus, or a detector label.
    #[arg(long)]
    class: Option<String>,
    /// A vehicle colour (never with people).
    #[arg(long)]
    colour: Option<String>,
    /// Narrow the case's window (RFC 3339 with an offset).
    #[arg(long)]
    from: Option<String>,
    #[arg(long)]
    to: Option<String>,
    /// Output folder: poster.png and synopsis.mp4.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    config: Option<PathBuf>,
}

/// One track's pixels, frame by frame: (box, patch).
struct Cut {
    hit: TrackHit,
    best: BBox,
    best_t: Time90k,
    patches: Vec<(BBox, Vec<u8>)>,
    poster_patch: Option<(BBox, Vec<u8>)>,
}

fn crop(f: &RgbFrame, b: BBox) -> (BBox, Vec<u8>) {
    let x1 = (b.x1.max(0.0) as u32).min(f.width);
    let y1 = (b.y1.max(0.0) as u32).min(f.height);
    let x2 = (b.x2.max(0.0).ceil() as u32).min(f.width);
    let y2 = (b.y2.max(0.0).ceil() as u32).min(f.height);
    let mut v = Vec::with_capacity(((x2 - x1) * (y2 - y1) * 3) as usize);
    for y in y1..y2 {
        let s = ((y * f.width + x1) * 3) as usize;
        v.extend_from_slice(&f.data[s..s + ((x2 - x1) * 3) as usize]);
    }
    (BBox::from([x1 as f32, y1 as f32, x2 as f32, y2 as f32]), v)
}

fn paste(dst: &mut RgbFrame, b: BBox, src: &[u8]) {
    let (x1, y1, x2, y2) = (b.x1 as u32, b.y1 as u32, b.x2 as u32, b.y2 as u32);
    let w = (x2 - x1) as usize * 3;
    for (i, y) in (y1..y2).enumerate() {
        let d = ((y * dst.width + x1) * 3) as usize;
        if let (Some(to), Some(from)) = (dst.data.get_mut(d..d + w), src.get(i * w..(i + 1) * w)) {
            to.copy_from_slice(from);
        }
    }
}

/// Per-pixel median of `frames` (same size).
pub fn median_background(frames: &[RgbFrame]) -> Option<RgbFrame> {
    let first = frames.first()?;
    let n = first.data.len();
    if frames.iter().any(|f| f.data.len() != n) {
        return None;
    }
    let mut out = first.clone();
    let mut vals = vec![0u8; frames.len()];
    for i in 0..n {
        for (k, f) in frames.iter().enumerate() {
            vals[k] = f.data[i];
        }
        vals.sort_unstable();
        out.data[i] = vals[vals.len() / 2];
    }
    Some(out)
}

fn hhmmss(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(
        |_| ms.to_string(),
        |t| {
            let s = t.to_string();
            s.get(11..19).map_or(s.clone(), str::to_owned)
        },
    )
}

fn to_image(f: &RgbFrame) -> Result<RgbImage> {
    RgbImage::from_raw(f.width, f.height, f.data.clone()).ok_or_else(|| err!(Internal, "frame size mismatch"))
}

fn label(drawer: &crate::draw::Drawer, f: &RgbFrame, items: &[(BBox, String, [u8; 3])]) -> Result<RgbFrame> {
    let mut img = to_image(f)?;
    for (b, text, colour) in items {
        drawer.labelled_box(&mut img, *b, *colour, text);
    }
    Ok(RgbFrame {
        width: f.width,
        height: f.height,
        data: img.into_raw(),
        pts: f.pts,
        index: f.index,
    })
}

pub fn run(a: SynopsisArgs) -> Result<()> {
    let classes = a
        .class
        .as_deref()
        .map(crate::case_cmd::class_labels)
        .unwrap_or_default();
    if a.colour.is_some() && classes.iter().any(|c| c == "person") {
        bail!(
            InvalidArgument,
            "--colour with --class person: people are found by class, place, time and direction only"
        );
    }
    let cfg = super::load_config(a.config.as_deref())?;
    let mut store = Store::open(&cfg.storage.database)?;
    let now = vigie_server::unix_ms();
    let case = store
        .case(&a.case)?
        .ok_or_else(|| err!(NotFound, "no case {:?}", a.case))?;
    let q = TrackQuery {
        classes,
        colour: a.colour.as_deref().map(|c| c.trim().to_ascii_lowercase()),
        cameras: vec![a.camera.clone()],
        from_unix_ms: a.from.as_deref().map(|s| rfc3339_ms("from", s)).transpose()?,
        to_unix_ms: a.to.as_deref().map(|s| rfc3339_ms("to", s)).transpose()?,
        ..TrackQuery::default()
    };
    let hits = store.search_tracks(&case, &q, now)?;
    crate::audit_cmd::record(
        a.config.as_deref(),
        vigie_audit::Action::Search,
        &format!("case:{}", case.reference),
        json!({"synopsis": true, "camera": a.camera, "class": a.class, "colour": q.colour,
               "from": a.from, "to": a.to, "results": hits.len()}),
    )?;
    let (mut poster, mut frames) = build(&store, &hits)?;
    // The camera's privacy masks (issue 7) over the poster and every frame of the synopsis.
    let mut masks = vigie_core::PrivacyMasks::new(
        cfg.cameras
            .iter()
            .find(|c| c.name == a.camera)
            .map_or(&[][..], |c| &c.privacy_masks[..]),
    );
    masks.apply(&mut poster);
    for f in &mut frames {
        masks.apply(f);
    }
    std::fs::create_dir_all(&a.out).map_err(|e| err!(Io, "creating {}: {e}", a.out.display()))?;
    write_outputs(&a.out, &poster, &frames)?;
    // A case's result: registered with it, deleted by retention when the case expires.
    let out_abs = std::fs::canonicalize(&a.out).map_err(|e| err!(Io, "{}: {e}", a.out.display()))?;
    let out_str = out_abs
        .to_str()
        .ok_or_else(|| err!(InvalidArgument, "{}: not a UTF-8 path", out_abs.display()))?;
    store.record_case_export(&case, out_str, &["poster.png".into(), "synopsis.mp4".into()], now)?;
    eprintln!("{}: {} tracks, {} frames", a.out.display(), hits.len(), frames.len());
    Ok(())
}

/// Writes `poster.png` and `synopsis.mp4` (10 fps) into `out`.
pub fn write_outputs(out: &Path, poster: &RgbFrame, frames: &[RgbFrame]) -> Result<()> {
    let p = out.join("poster.png");
    to_image(poster)?
        .save(&p)
        .map_err(|e| err!(Io, "writing {}: {e}", p.display()))?;
    let v = out.join("synopsis.mp4");
    if v.exists() {
        std::fs::remove_file(&v).map_err(|e| err!(Io, "replacing {}: {e}", v.display()))?;
    }
    if frames.is_empty() {
        return Ok(());
    }
    let mut enc = vigie_video::Mp4Encoder::create(&v, poster.width, poster.height, 10)?;
    for f in frames {
        enc.write(f)?;
    }
    enc.finish()?;
    Ok(())
}

/// The poster and the synopsis frames of `hits` (tracks of analysed files; others are skipped).
pub fn build(store: &Store, hits: &[TrackHit]) -> Result<(RgbFrame, Vec<RgbFrame>)> {
    let runs = store.runs()?;
    let mut by_run: BTreeMap<i64, Vec<&TrackHit>> = BTreeMap::new();
    for h in hits {
        by_run.entry(h.run).or_default().push(h);
    }
    let drawer = crate::draw::Drawer::new();
    let mut background: Option<RgbFrame> = None;
    let mut cuts: Vec<Cut> = Vec::new();
    for (run, hs) in by_run {
        let Some(r) = runs.iter().find(|r| r.id.0 == run) else {
            continue;
        };
        let src = Path::new(&r.source);
        if r.source_kind != vigie_store::SourceKind::File || !src.exists() {
            eprintln!("run {run}: no source file ({}): skipped", r.source);
            continue;
        }
        // Boxes of each hit, by time.
        let mut want: BTreeMap<i64, Vec<(usize, BBox)>> = BTreeMap::new();
        let rows = store.tracks(RunId(run))?;
        for h in hs {
            let id = TrackId(
                std::num::NonZeroU64::new(h.track_id).ok_or_else(|| err!(Database, "track id 0 in run {run}"))?,
            );
            let Some(row) = rows.iter().find(|t| t.track_id == id) else {
                continue;
            };
            let k = cuts.len();
            for b in store.track_boxes(RunId(run), id)? {
                want.entry(b.t.0).or_default().push((k, b.bbox));
            }
            cuts.push(Cut {
                hit: h.clone(),
                best: row.best_box,
                best_t: row.best,
                patches: Vec::new(),
                poster_patch: None,
            });
        }
        let mut video = VideoFile::open(src, &DecodeOptions { threads: 1 })?;
        let total = video.info().duration_s.unwrap_or(60.0);
        let mut sampler = FrameSampler::new(r.analysis_fps);
        let mut samples = Vec::new();
        let every = ((total * r.analysis_fps.max(1.0)) / 31.0).max(1.0) as usize;
        let mut i = 0usize;
        while let Some(f) = video.next_sampled(&mut sampler)? {
            if i.is_multiple_of(every) && samples.len() < 31 {
                samples.push(f.clone());
            }
            i += 1;
            if let Some(items) = want.get(&f.pts.0) {
                for (k, b) in items {
                    let c = &mut cuts[*k];
                    let patch = crop(&f, *b);
                    if f.pts == c.best_t {
                        c.poster_patch = Some(crop(&f, c.best));
                    }
                    c.patches.push(patch);
                }
            }
        }
        if background.is_none() {
            background = median_background(&samples);
        }
    }
    let bg = background.ok_or_else(|| err!(NotFound, "no analysed video file among the tracks found"))?;
    // Poster: every track at its best box, labelled with its time.
    let mut poster = bg.clone();
    let mut labels = Vec::new();
    for c in &cuts {
        if let Some((b, p)) = &c.poster_patch {
            paste(&mut poster, *b, p);
            labels.push((
                *b,
                format!("{} {}", hhmmss(c.hit.first_unix_ms), c.hit.class),
                [255, 255, 0],
            ));
        }
    }
    let poster = label(&drawer, &poster, &labels)?;
    // Video: all tracks from the same start, each with its own time.
    let len = cuts.iter().map(|c| c.patches.len()).max().unwrap_or(0);
    let mut frames = Vec::with_capacity(len);
    for n in 0..len {
        let mut f = bg.clone();
        let mut labels = Vec::new();
        for c in &cuts {
            if let Some((b, p)) = c.patches.get(n) {
                paste(&mut f, *b, p);
                labels.push((*b, hhmmss(c.hit.first_unix_ms), [255, 255, 0]));
            }
        }
        frames.push(label(&drawer, &f, &labels)?);
    }
    Ok((poster, frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_removes_what_moves() {
        let frames: Vec<RgbFrame> = (0..9)
            .map(|k| RgbFrame::from_fn(20, 10, |x, _| if x == k { [255, 0, 0] } else { [10, 20, 30] }))
            .collect();
        let bg = median_background(&frames).expect("background");
        assert!(bg.data.chunks(3).all(|p| p == [10, 20, 30]));
    }
}
