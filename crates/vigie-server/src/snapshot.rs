//! Pictures the live service stores: the frame at an event's start, with the tracks involved and the region to
//! look at outlined, and camera frames as JPEG for the console.

use std::path::Path;

use image::{Rgb, RgbImage};
use imageproc::drawing::draw_hollow_rect_mut;
use imageproc::rect::Rect;
use vigie_core::{BBox, Error, ErrorKind, Result, RgbFrame};

fn image_of(frame: &RgbFrame) -> Result<RgbImage> {
    RgbImage::from_raw(frame.width, frame.height, frame.data.clone())
        .ok_or_else(|| Error::new(ErrorKind::Internal, "frame buffer size does not match its dimensions"))
}

fn outline(img: &mut RgbImage, b: BBox, pad: i32, thickness: i32, color: [u8; 3]) {
    let (w, h) = img.dimensions();
    let b = b.clamp(w as f32 - 1.0, h as f32 - 1.0);
    for d in 0..thickness {
        let x = b.x1 as i32 - pad - d;
        let y = b.y1 as i32 - pad - d;
        let rw = (b.width() as i32 + 2 * (pad + d)).max(1) as u32;
        let rh = (b.height() as i32 + 2 * (pad + d)).max(1) as u32;
        draw_hollow_rect_mut(img, Rect::at(x, y).of_size(rw, rh), Rgb(color));
    }
}

/// Writes the event snapshot: `boxes` (the tracks involved) in red, `region` in yellow, then the camera's privacy
/// `masks` filled over everything (outlines included: nothing is drawn in a masked area). The file is written
/// whole or not at all (a temporary name, then a rename).
pub fn event_snapshot(
    frame: &RgbFrame,
    boxes: &[BBox],
    region: Option<BBox>,
    masks: &[vigie_core::MaskConfig],
    path: &Path,
) -> Result<()> {
    let mut img = image_of(frame)?;
    for b in boxes {
        outline(&mut img, *b, 0, 2, [255, 40, 40]);
    }
    if let Some(r) = region {
        outline(&mut img, r, 6, 1, [255, 255, 0]);
    }
    if !masks.is_empty() {
        let (w, h) = img.dimensions();
        let mut drawn = RgbFrame {
            width: w,
            height: h,
            data: img.into_raw(),
            pts: frame.pts,
            index: frame.index,
        };
        vigie_core::PrivacyMasks::new(masks).apply(&mut drawn);
        img = image_of(&drawn)?;
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::wrap(ErrorKind::Io, format!("creating {}", dir.display()), e))?;
    }
    let tmp = path.with_extension("jpg.part");
    img.save_with_format(&tmp, image::ImageFormat::Jpeg)
        .map_err(|e| Error::wrap(ErrorKind::Io, format!("writing {}", tmp.display()), e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::wrap(ErrorKind::Io, format!("renaming to {}", path.display()), e))
}

/// A frame as JPEG bytes (quality 80), for the console's live view.
pub fn jpeg(frame: &RgbFrame) -> Result<Vec<u8>> {
    let img = image_of(frame)?;
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .map_err(|e| Error::wrap(ErrorKind::Internal, "encoding a JPEG", e))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_outlines_the_boxes() {
        let f = RgbFrame::from_fn(64, 48, |_, _| [10, 10, 10]);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cam/ev.jpg");
        event_snapshot(&f, &[BBox::new(10.0, 10.0, 30.0, 30.0)], None, &[], &p).expect("snapshot");
        let img = image::open(&p).expect("decode").to_rgb8();
        let px = img.get_pixel(10, 20);
        assert!(px[0] > 150 && px[1] < 100, "red outline at the box edge: {px:?}");
        let inside = img.get_pixel(20, 20);
        assert!(inside[0] < 60, "inside untouched: {inside:?}");
        assert!(jpeg(&f).expect("jpeg").starts_with(&[0xff, 0xd8]));
    }

    #[test]
    fn masks_cover_the_outlines_too() {
        let f = RgbFrame::from_fn(64, 48, |x, _| [(x * 4) as u8, 100, 100]);
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("cam/ev.jpg");
        let mask = vigie_core::MaskConfig {
            name: "left".into(),
            points: vec![[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]],
        };
        // A box across the mask's edge: its outline stops at the mask.
        event_snapshot(&f, &[BBox::new(8.0, 8.0, 50.0, 40.0)], None, &[mask], &p).expect("snapshot");
        let img = image::open(&p).expect("decode").to_rgb8();
        for (x, y) in [(8, 20), (10, 8), (4, 4), (20, 30)] {
            let px = img.get_pixel(x, y);
            assert!(px.0.iter().all(|c| *c <= 6), "({x}, {y}) inside the mask: {px:?}");
        }
        let edge = img.get_pixel(50, 20);
        assert!(
            edge[0] > 150 && edge[1] < 100,
            "the outline outside the mask stays: {edge:?}"
        );
    }
}
