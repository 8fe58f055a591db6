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

/// A picture with caption lines (text, colour) under it, for [`Drawer::captioned_tiles`].
pub type CaptionedTile = (RgbImage, Vec<(String, [u8; 3])>);

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

    /// The frame with the track's box and label, saved as JPEG. A vehicle's plate is blurred first (plate data stays
    /// out of the run's pictures): `plate` when the reader found one in this frame, and always the plate band of the
    /// vehicle box (`export_cmd::vehicle_plate_band`, as exports blur it), since the reader runs after the snapshot.
    pub fn snapshot(&self, frame: &RgbFrame, rec: &TrackRecord, plate: Option<BBox>, path: &Path) -> Result<()> {
        let s = &rec.summary;
        let mut img = if vigie_vision::VEHICLE_CLASSES.contains(&s.class.as_str()) {
            let mut f = frame.clone();
            crate::export_cmd::blur_region(&mut f, crate::export_cmd::vehicle_plate_band(&s.best_box));
            if let Some(p) = plate {
                let (pw, ph) = (p.width() * 0.15, p.height() * 0.3);
                crate::export_cmd::blur_region(&mut f, BBox::from([p.x1 - pw, p.y1 - ph, p.x2 + pw, p.y2 + ph]));
            }
            Self::to_image(&f)?
        } else {
            Self::to_image(frame)?
        };
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

    /// Tiles side by side on white, each a picture with coloured caption lines under it, saved (PNG by the
    /// extension). Without a font the captions are left out.
    pub fn captioned_tiles(&self, tiles: &[CaptionedTile], path: &Path) -> Result<()> {
        let scale = PxScale::from(15.0);
        let line_h = 19u32;
        let gap = 10u32;
        let caption_w = |lines: &[(String, [u8; 3])]| -> u32 {
            match &self.font {
                Some(font) => lines
                    .iter()
                    .map(|(t, _)| text_size(scale, font, t).0)
                    .max()
                    .unwrap_or(0),
                None => 0,
            }
        };
        let widths: Vec<u32> = tiles
            .iter()
            .map(|(img, lines)| img.width().max(caption_w(lines)))
            .collect();
        let height = tiles
            .iter()
            .map(|(img, lines)| img.height() + 6 + line_h * lines.len() as u32)
            .max()
            .unwrap_or(0);
        let total_w = widths.iter().sum::<u32>() + gap * (tiles.len() as u32 + 1);
        let mut out = RgbImage::from_pixel(total_w.max(1), (height + 2 * gap).max(1), Rgb([255, 255, 255]));
        let mut x = gap;
        for ((img, lines), w) in tiles.iter().zip(&widths) {
            image::imageops::replace(&mut out, img, i64::from(x), i64::from(gap));
            if let Some(font) = &self.font {
                for (i, (t, c)) in lines.iter().enumerate() {
                    let y = gap + img.height() + 6 + line_h * i as u32;
                    draw_text_mut(&mut out, Rgb(*c), x as i32, y as i32, scale, font, t);
                }
            }
            x += w + gap;
        }
        out.save(path)
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

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_core::{Time90k, TrackId};

    /// Variance of the grey level inside `b` (integer pixel bounds).
    fn variance(img: &RgbImage, b: (u32, u32, u32, u32)) -> f64 {
        let mut v = Vec::new();
        for y in b.1..b.3 {
            for x in b.0..b.2 {
                let p = img.get_pixel(x, y).0;
                v.push((f64::from(p[0]) + f64::from(p[1]) + f64::from(p[2])) / 3.0);
            }
        }
        let m = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / v.len() as f64
    }

    #[test]
    fn vehicle_snapshots_blur_the_plate() {
        // A grey scene with a black-and-white "plate" (stripes 2 px wide) at the bottom of a car box.
        let plate = (120u32, 170u32, 200u32, 190u32);
        let frame = RgbFrame::from_fn(320, 240, |x, y| {
            if (plate.0..plate.2).contains(&x) && (plate.1..plate.3).contains(&y) {
                if (x / 2) % 2 == 0 { [250; 3] } else { [5; 3] }
            } else {
                [120, 130, 140]
            }
        });
        let before = variance(&Drawer::to_image(&frame).unwrap(), plate);
        let dir = std::env::temp_dir().join(format!("vigie-draw-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let record = |class: &str| {
            let car_box = BBox::new(80.0, 60.0, 240.0, 200.0);
            let mut rec = TrackRecord::new(TrackId(std::num::NonZeroU64::MIN), Time90k(0), car_box);
            rec.summary.best_box = car_box;
            rec.summary.class = class.into();
            rec
        };
        let read = |class: &str, plate_box: Option<BBox>| {
            let rec = record(class);
            let path = dir.join(format!("{class}.jpg"));
            Drawer::new().snapshot(&frame, &rec, plate_box, &path).unwrap();
            let img = image::open(&path).unwrap().to_rgb8();
            variance(&img, plate)
        };
        let car = read("car", None);
        assert!(
            car < before * 0.05,
            "plate band blurred: variance {before:.0} -> {car:.0}"
        );
        let truck = read("truck", Some(BBox::new(120.0, 170.0, 200.0, 190.0)));
        assert!(
            truck < before * 0.05,
            "plate box blurred: variance {before:.0} -> {truck:.0}"
        );
        // A plate box the band does not cover is blurred too.
        let high = (100u32, 70u32, 180u32, 90u32);
        let frame2 = RgbFrame::from_fn(320, 240, |x, y| {
            if (high.0..high.2).contains(&x) && (high.1..high.3).contains(&y) && (x / 2) % 2 == 0 {
                [250; 3]
            } else {
                [5; 3]
            }
        });
        let rec = record("bus");
        let path = dir.join("bus.jpg");
        let before_high = variance(&Drawer::to_image(&frame2).unwrap(), high);
        Drawer::new()
            .snapshot(&frame2, &rec, Some(BBox::new(100.0, 70.0, 180.0, 90.0)), &path)
            .unwrap();
        let after_high = variance(&image::open(&path).unwrap().to_rgb8(), high);
        assert!(after_high < before_high * 0.05, "{before_high:.0} -> {after_high:.0}");
        // A person's snapshot is not blurred there (no plate): only JPEG loss.
        let person = read("person", None);
        assert!(
            person > before * 0.5,
            "person snapshot untouched: {before:.0} -> {person:.0}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
