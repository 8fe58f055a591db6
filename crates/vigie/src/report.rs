//! What `vigie analyze` writes: `summary.json`, `tracks.jsonl`, snapshots, `paths.png` and `report.html`.

use crate::analyze::{Summary, TimelinePoint};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame, Time90k, TrackId, TrackSummary};
use vigie_store::EventRow;

/// One finished track, as written to `tracks.jsonl`: its stored summary plus its path.
#[derive(Clone, Debug)]
pub struct TrackRecord {
    pub summary: TrackSummary,
    /// The tracker's running vote, until [`TrackRecord::finish`] settles `summary.class`.
    pub voted_class: String,
    /// Box centre over time: `(t, cx, cy)`.
    pub path: Vec<(Time90k, f32, f32)>,
    /// The plate of a vehicle track, when `[plates]` is enabled (`crate::plates_stage`).
    pub plate: Option<crate::plates_stage::PlateOnTrack>,
    /// The named colour of a vehicle track, from its best frame (`vigie_vision::vehicle_colour`); never for people.
    pub colour: Option<vigie_vision::Colour>,
}

#[derive(Serialize)]
struct TrackLine<'a> {
    track_id: u64,
    class: &'a str,
    class_confidence: f32,
    first_s: f64,
    last_s: f64,
    frames: u32,
    max_score: f32,
    best_box: [f32; 4],
    best_s: f64,
    snapshot: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    plate: Option<&'a crate::plates_stage::PlateOnTrack>,
    #[serde(skip_serializing_if = "Option::is_none")]
    colour: Option<&'static str>,
    path: Vec<[f64; 3]>,
}

impl TrackRecord {
    pub fn new(track_id: TrackId, t: Time90k, bbox: BBox) -> Self {
        TrackRecord {
            summary: TrackSummary {
                track_id,
                class: String::new(),
                class_confidence: 0.0,
                first: t,
                last: t,
                frames: 0,
                max_score: 0.0,
                best_box: bbox,
                best: t,
            },
            voted_class: String::new(),
            path: Vec::new(),
            plate: None,
            colour: None,
        }
    }

    /// Adds one observation; returns true when it is the best so far (highest score).
    pub fn observe(&mut self, t: Time90k, bbox: BBox, score: f32) -> bool {
        let s = &mut self.summary;
        s.last = t;
        s.frames += 1;
        let c = bbox.center();
        self.path.push((t, c.x, c.y));
        if score > s.max_score || s.frames == 1 {
            s.max_score = score;
            s.best_box = bbox;
            s.best = t;
            true
        } else {
            false
        }
    }

    /// Settles the class from the score-weighted votes (ties: the label first in order, deterministic).
    pub fn finish(&mut self, votes: &BTreeMap<String, f32>) {
        let total: f32 = votes.values().sum();
        let mut best: Option<(&String, f32)> = None;
        for (k, v) in votes {
            if best.is_none_or(|(_, bv)| *v > bv) {
                best = Some((k, *v));
            }
        }
        let s = &mut self.summary;
        match best {
            Some((k, v)) => {
                s.class = k.clone();
                s.class_confidence = if total > 0.0 { v / total } else { 0.0 };
            }
            None => {
                s.class = self.voted_class.clone();
                s.class_confidence = 0.0;
            }
        }
    }

    pub fn snapshot_name(&self) -> String {
        format!(
            "track-{:04}-{}.jpg",
            self.summary.track_id.get(),
            self.summary.class.replace(' ', "_")
        )
    }
}

fn io_err(path: &Path, e: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::wrap(ErrorKind::Io, format!("writing {}", path.display()), e)
}

/// Writes `path` atomically: a temporary file renamed over it, so a crash never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(|e| io_err(&tmp, e))?;
    f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
    f.sync_all().map_err(|e| io_err(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_err(path, e))
}

pub fn write_summary(out: &Path, s: &Summary) -> Result<()> {
    let json = serde_json::to_vec_pretty(s).map_err(|e| Error::wrap(ErrorKind::Internal, "serialising summary", e))?;
    write_atomic(&out.join("summary.json"), &json)
}

pub fn write_outputs(
    out: &Path,
    s: &Summary,
    tracks: &[TrackRecord],
    events: &[EventRow],
    timeline: &[TimelinePoint],
    background: Option<&RgbFrame>,
) -> Result<()> {
    let mut jsonl = Vec::new();
    for rec in tracks {
        let r = &rec.summary;
        let line = TrackLine {
            track_id: r.track_id.get(),
            class: &r.class,
            class_confidence: round3(r.class_confidence),
            first_s: secs(r.first),
            last_s: secs(r.last),
            frames: r.frames,
            max_score: round3(r.max_score),
            best_box: [r.best_box.x1, r.best_box.y1, r.best_box.x2, r.best_box.y2].map(|v| (v * 10.0).round() / 10.0),
            best_s: secs(r.best),
            snapshot: format!("snapshots/{}", rec.snapshot_name()),
            plate: rec.plate.as_ref(),
            colour: rec.colour.map(|c| c.as_str()),
            path: rec
                .path
                .iter()
                .map(|(t, x, y)| {
                    [
                        secs(*t),
                        (*x as f64 * 10.0).round() / 10.0,
                        (*y as f64 * 10.0).round() / 10.0,
                    ]
                })
                .collect(),
        };
        serde_json::to_writer(&mut jsonl, &line)
            .map_err(|e| Error::wrap(ErrorKind::Internal, "serialising a track", e))?;
        jsonl.push(b'\n');
    }
    write_atomic(&out.join("tracks.jsonl"), &jsonl)?;
    let drawer = crate::draw::Drawer::new();
    let has_paths = match background {
        Some(bg) => {
            drawer.paths(bg, tracks, &out.join("paths.png"))?;
            true
        }
        None => false,
    };
    let html = report_html(s, tracks, events, timeline, has_paths);
    write_atomic(&out.join("report.html"), html.as_bytes())
}

fn secs(t: Time90k) -> f64 {
    (t.as_secs_f64() * 1000.0).round() / 1000.0
}

fn round3(v: f32) -> f32 {
    (v * 1000.0).round() / 1000.0
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page (inline SVG and CSS, pictures by relative path): opens from disk, no network.
fn report_html(
    s: &Summary,
    tracks: &[TrackRecord],
    events: &[EventRow],
    timeline: &[TimelinePoint],
    has_paths: bool,
) -> String {
    let mut h = String::new();
    let title = format!("Vigie analysis — {}", esc(&s.video));
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}}
table{{border-collapse:collapse}} td,th{{border:1px solid #ccc;padding:.25em .6em;text-align:right}}
th{{background:#f3f3f3}} .gallery{{display:flex;flex-wrap:wrap;gap:8px}}
figure{{margin:0;width:280px}} figure img{{width:280px}} figcaption{{font-size:.85em}}
</style></head><body><h1>{title}</h1>
<p>{w}×{hgt} {codec}, {dur:.1} s; {dec} frames decoded, {ana} analysed at {fps}; wall time {wall:.1} s before this report
(pipeline {pipe:.1} s; inference {inf:.1} s summed over {workers} detector worker(s)). Model: {model}. Database: {db} (run {run}).</p>
<h2>Tracks per class</h2><table><tr><th>class</th><th>tracks</th></tr>"#,
        w = s.width,
        hgt = s.height,
        codec = esc(&s.codec),
        dur = s.duration_s,
        dec = s.frames_decoded,
        ana = s.frames_analysed,
        fps = if s.analysis_fps > 0.0 {
            format!("{} fps", s.analysis_fps)
        } else {
            "every frame".into()
        },
        wall = s.wall_s,
        workers = s.timing.detect_workers,
        pipe = s.timing.pipeline_s,
        inf = s.timing.inference_s,
        model = esc(&s.model),
        db = esc(&s.database),
        run = s.run_id,
    );
    for (c, n) in &s.tracks {
        let _ = write!(h, "<tr><td style=text-align:left>{}</td><td>{n}</td></tr>", esc(c));
    }
    h.push_str("</table>");
    if let Some(p) = &s.plates {
        plates_html(&mut h, p);
    }
    events_html(&mut h, s, events);
    h.push_str("<h2>Objects in view over time</h2>");
    h.push_str(&counts_svg(timeline));
    if has_paths {
        h.push_str("<h2>Paths of the tracks</h2><p>Each line is one track's box centre, coloured by class.</p><img src=\"paths.png\" style=\"max-width:100%\">");
    }
    let plates = tracks.iter().any(|t| t.plate.is_some());
    h.push_str("<h2>Tracks</h2><table><tr><th>id</th><th>class</th><th>vote</th><th>from (s)</th><th>to (s)</th><th>frames</th><th>best score</th>");
    h.push_str(if plates { "<th>plate</th></tr>" } else { "</tr>" });
    for t in tracks {
        let r = &t.summary;
        let _ = write!(
            h,
            "<tr><td>{}</td><td style=text-align:left>{}</td><td>{:.0} %</td><td>{:.1}</td><td>{:.1}</td><td>{}</td><td>{:.2}</td>",
            r.track_id,
            esc(&r.class),
            r.class_confidence * 100.0,
            r.first.as_secs_f64(),
            r.last.as_secs_f64(),
            r.frames,
            r.max_score
        );
        if plates {
            let p = t.plate.as_ref().map(|p| p.describe()).unwrap_or_default();
            let _ = write!(h, "<td style=text-align:left>{}</td>", esc(&p));
        }
        h.push_str("</tr>");
    }
    h.push_str("</table><h2>Snapshots (each track at its best frame)</h2><div class=gallery>");
    for rec in tracks {
        let r = &rec.summary;
        let _ = write!(
            h,
            "<figure><a href=\"snapshots/{n}\"><img loading=lazy src=\"snapshots/{n}\"></a><figcaption>#{id} {c} at {t:.1} s, score {sc:.2}{p}</figcaption></figure>",
            n = esc(&rec.snapshot_name()),
            id = r.track_id,
            c = esc(&r.class),
            t = r.best.as_secs_f64(),
            sc = r.max_score,
            p = rec
                .plate
                .as_ref()
                .map(|p| format!("; {}", esc(&p.describe())))
                .unwrap_or_default()
        );
    }
    h.push_str("</div></body></html>\n");
    h
}

/// Plate reading and the parking pre-check: counts only (plates are on the tracks).
fn plates_html(h: &mut String, p: &crate::plates_stage::PlatesSummary) {
    let _ = write!(
        h,
        "<h2>Plates</h2><p>{} vehicle track(s): {} with a plate read, {} plate unread (never guessed), {} checked by the \
         parking pre-check. {} crop(s) read in {:.1} s, {} dropped (reader busy). Track plates: {}.</p>",
        p.vehicle_tracks,
        p.tracks_read,
        p.tracks_unread,
        p.tracks_parking,
        p.crops_read,
        p.read_s,
        p.crops_dropped,
        esc(&p.database)
    );
    if let Some(k) = &p.parking {
        let _ = write!(
            h,
            "<p>Parking pre-check ({}): {} parked vehicle(s) checked: {} paid (read deleted), {} queued for an agent, \
             {} unreadable, {} within the grace period, {} free. {} paid session(s) imported, {} line(s) refused.</p>",
            esc(&k.database),
            k.checked,
            k.paid,
            k.queued,
            k.unreadable,
            k.within_grace,
            k.free,
            k.sessions_imported,
            k.session_errors.len()
        );
    }
}

/// Events (with their snapshots) and line counts.
fn events_html(h: &mut String, s: &Summary, events: &[EventRow]) {
    let _ = write!(h, "<h2>Events ({})</h2>", events.len());
    if events.is_empty() {
        h.push_str(
            "<p>No event raised (rules configured in the configuration file's <code>[[rule]]</code> tables).</p>",
        );
    } else {
        h.push_str("<table><tr><th>type</th><th>rule</th><th>zone / line</th><th>from (s)</th><th>to (s)</th><th>tracks</th><th>confidence</th><th>what</th></tr>");
        for e in events {
            let _ = write!(
                h,
                "<tr><td style=text-align:left>{}</td><td style=text-align:left>{}</td><td style=text-align:left>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{:.2}</td><td style=text-align:left>{}</td></tr>",
                esc(&e.kind),
                esc(&e.rule),
                esc(e.zone.as_deref().or(e.line.as_deref()).unwrap_or("")),
                e.start.as_secs_f64(),
                e.end
                    .map(|t| format!("{:.1}", t.as_secs_f64()))
                    .unwrap_or_else(|| "open".into()),
                e.track_ids.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(" "),
                e.confidence,
                esc(&e.detail)
            );
        }
        h.push_str("</table><div class=gallery>");
        for e in events {
            if let Some(snap) = &e.snapshot {
                let _ = write!(
                    h,
                    "<figure><a href=\"{n}\"><img loading=lazy src=\"{n}\"></a><figcaption>{k} at {t:.1} s: {d}</figcaption></figure>",
                    n = esc(snap),
                    k = esc(&e.kind),
                    t = e.start.as_secs_f64(),
                    d = esc(&e.detail)
                );
            }
        }
        h.push_str("</div>");
    }
    if !s.line_counts.is_empty() {
        h.push_str("<h2>Line crossings</h2><table><tr><th>line</th><th>class</th><th>in</th><th>out</th></tr>");
        for c in &s.line_counts {
            let _ = write!(
                h,
                "<tr><td style=text-align:left>{}</td><td style=text-align:left>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.line),
                esc(&c.class),
                c.r#in,
                c.out
            );
        }
        h.push_str("</table>");
    }
}

/// A line plot of the number of tracked objects per class over time, as inline SVG.
fn counts_svg(timeline: &[TimelinePoint]) -> String {
    let (w, h, ml, mb, mt, mr) = (960.0f64, 260.0f64, 40.0, 30.0, 10.0, 120.0);
    let t_max = timeline.last().map(|p| p.t.as_secs_f64()).unwrap_or(0.0).max(1.0);
    let mut classes: Vec<&String> = timeline.iter().flat_map(|p| p.counts.keys()).collect();
    classes.sort();
    classes.dedup();
    let c_max = timeline
        .iter()
        .flat_map(|p| p.counts.values())
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let x = |t: f64| ml + (w - ml - mr) * t / t_max;
    let y = |c: f64| mt + (h - mt - mb) * (1.0 - c / c_max);
    let mut s = format!(r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-size="11">"#);
    let _ = write!(
        s,
        r##"<line x1="{ml}" y1="{b}" x2="{r}" y2="{b}" stroke="#888"/><line x1="{ml}" y1="{mt}" x2="{ml}" y2="{b}" stroke="#888"/>"##,
        b = h - mb,
        r = w - mr
    );
    for i in 0..=4 {
        let c = (c_max * i as f64 / 4.0).round();
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="end">{c}</text>"#,
            ml - 4.0,
            y(c) + 4.0
        );
        let t = t_max * i as f64 / 4.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" text-anchor="middle">{t:.0} s</text>"#,
            x(t),
            h - mb + 16.0
        );
    }
    for (k, class) in classes.iter().enumerate() {
        let color = crate::draw::class_color_hex(class);
        let pts: Vec<String> = timeline
            .iter()
            .map(|p| {
                let c = p.counts.get(*class).copied().unwrap_or(0) as f64;
                format!("{:.1},{:.1}", x(p.t.as_secs_f64()), y(c))
            })
            .collect();
        let _ = write!(
            s,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{}"/><text x="{}" y="{}" fill="{color}">{}</text>"#,
            pts.join(" "),
            w - mr + 8.0,
            mt + 14.0 * (k as f64 + 1.0),
            esc(class)
        );
    }
    s.push_str("</svg>");
    s
}
