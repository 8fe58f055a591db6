//! Pictures: annotated snapshots and the paths of the tracks over the scene.

use crate::report::TrackRecord;
use ab_glyph::{FontVec, PxScale};
use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_line_segment_mut, draw_text_mut, text_size};
use imageproc::rect::Rect;
use std::path::Path;
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame};

/// Fonts tried in order for labels (Debian `fonts-dejavu-core`). Without one, boxes are drawn without text.
const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
];

/// A fixed colour per class, so a class looks the same in every picture and plot.
pub fn class_color(class: &str) -> [u8; 3] {
    match class {
        "person" => [230, 57, 70],
        "bicycle" => [255, 159, 28],
        "motorcycle" => [244, 211, 94],
        "car" => [46, 134, 222],
        "bus" => [131, 56, 236],
        "truck" => [0, 200, 200],
        "backpack" | "handbag" | "suitcase" => [6, 214, 160],
        "knife" => [255, 0, 110],
        _ => [200, 200, 200],
    }
}

pub fn class_color_hex(class: &str) -> String {
    let [r, g, b] = class_color(class);
    format!("#{r:02x}{g:02x}{b:02x}")
}

pub struct Drawer {
    font: Option<FontVec>,
}

impl Default for Drawer {
    fn default() -> Self {
        Self::new()
    }
}

impl Drawer {
    pub fn new() -> Self {
        let font = FONT_PATHS
            .iter()
            .find_map(|p| std::fs::read(p).ok().and_then(|b| FontVec::try_from_vec(b).ok()));
        Drawer { font }
    }

    fn to_image(frame: &RgbFrame) -> Result<RgbImage> {
        RgbImage::from_raw(frame.width, frame.height, frame.data.clone())
            .ok_or_else(|| Error::new(ErrorKind::Internal, "frame buffer size does not match its dimensions"))
    }

    /// Draws a labelled box (thickness 2).
    pub fn labelled_box(&self, img: &mut RgbImage, b: BBox, color: [u8; 3], label: &str) {
        let (w, h) = img.dimensions();
        let b = b.clamp(w as f32 - 1.0, h as f32 - 1.0);
        for d in 0..2 {
            let x = b.x1 as i32 - d;
            let y = b.y1 as i32 - d;
            let rw = (b.width() as i32 + 2 * d).max(1) as u32;
            let rh = (b.height() as i32 + 2 * d).max(1) as u32;
            draw_hollow_rect_mut(img, Rect::at(x, y).of_size(rw, rh), Rgb(color));
        }
        if let Some(font) = &self.font {
            let scale = PxScale::from(14.0);
            let (tw, th) = text_size(scale, font, label);
            let ty = if b.y1 as i32 >= th as i32 + 4 {
                b.y1 as i32 - th as i32 - 4
            } else {
                b.y2 as i32
            };
            draw_filled_rect_mut(img, Rect::at(b.x1 as i32 - 1, ty).of_size(tw + 6, th + 4), Rgb(color));
            draw_text_mut(img, Rgb([0, 0, 0]), b.x1 as i32 + 2, ty + 1, scale, font, label);
        }
    }

    /// The frame with the track's box and label, saved as JPEG.
    pub fn snapshot(&self, frame: &RgbFrame, rec: &TrackRecord, path: &Path) -> Result<()> {
        let mut img = Self::to_image(frame)?;
        let s = &rec.summary;
        let label = format!("#{} {} {:.2}", s.track_id, s.class, s.max_score);
        self.labelled_box(&mut img, s.best_box, class_color(&s.class), &label);
        img.save(path)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", path.display()), e))
    }

    /// The frame at an event's start: the tracks involved boxed in the event's colour, the region to look at outlined,
    /// and a banner naming the event. Saved as JPEG.
    pub fn event_snapshot(
        &self,
        frame: &RgbFrame,
        ev: &vigie_rules::Event,
        objects: &[vigie_core::TrackedObject],
        path: &Path,
    ) -> Result<()> {
        let mut img = Self::to_image(frame)?;
        let color = [255, 40, 40];
        for o in objects.iter().filter(|o| ev.track_ids.contains(&o.track_id)) {
            self.labelled_box(&mut img, o.bbox, color, &format!("#{}", o.track_id));
        }
        if let Some(b) = ev.bbox {
            let (w, h) = img.dimensions();
            let b = b.clamp(w as f32 - 1.0, h as f32 - 1.0);
            let r = Rect::at(b.x1 as i32 - 6, b.y1 as i32 - 6).of_size(b.width() as u32 + 12, b.height() as u32 + 12);
            draw_hollow_rect_mut(&mut img, r, Rgb([255, 255, 0]));
        }
        if let Some(font) = &self.font {
            let text = format!(
                "{} — {} at {:.1} s",
                ev.kind.as_str(),
                ev.detail,
                ev.start.as_secs_f64()
            );
            let (tw, th) = text_size(PxScale::from(16.0), font, &text);
            draw_filled_rect_mut(&mut img, Rect::at(0, 0).of_size(tw + 12, th + 10), Rgb([0, 0, 0]));
            draw_text_mut(&mut img, Rgb([255, 255, 0]), 6, 4, PxScale::from(16.0), font, &text);
        }
        img.save(path)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", path.display()), e))
    }

    /// The background frame, dimmed, with every track's path coloured by class and its id at the end.
    pub fn paths(&self, bg: &RgbFrame, tracks: &[TrackRecord], path: &Path) -> Result<()> {
        let mut img = Self::to_image(bg)?;
        for p in img.pixels_mut() {
            for c in p.0.iter_mut() {
                *c = (*c as u16 * 55 / 100) as u8;
            }
        }
        for r in tracks {
            let color = Rgb(class_color(&r.summary.class));
            for w in r.path.windows(2) {
                let (_, x0, y0) = w[0];
                let (_, x1, y1) = w[1];
                draw_line_segment_mut(&mut img, (x0, y0), (x1, y1), color);
                draw_line_segment_mut(&mut img, (x0 + 1.0, y0), (x1 + 1.0, y1), color);
            }
            if let (Some(font), Some(&(_, x, y))) = (&self.font, r.path.last()) {
                draw_text_mut(
                    &mut img,
                    color,
                    x as i32 + 3,
                    y as i32 - 6,
                    PxScale::from(12.0),
                    font,
                    &r.summary.track_id.to_string(),
                );
            }
        }
        // Legend.
        if let Some(font) = &self.font {
            let mut classes: Vec<&str> = tracks.iter().map(|r| r.summary.class.as_str()).collect();
            classes.sort();
            classes.dedup();
            for (i, c) in classes.iter().enumerate() {
                let y = 8 + 18 * i as i32;
                draw_filled_rect_mut(&mut img, Rect::at(8, y).of_size(12, 12), Rgb(class_color(c)));
                let n = tracks.iter().filter(|r| r.summary.class == *c).count();
                draw_text_mut(
                    &mut img,
                    Rgb([255, 255, 255]),
                    26,
                    y - 1,
                    PxScale::from(14.0),
                    font,
                    &format!("{c} ({n})"),
                );
            }
        }
        img.save(path)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", path.display()), e))
    }
}
