//! Pictures and recordings of a review case's search hits (issue 8): a thumbnail of a track's best box (from the
//! run's snapshot for analysed files, decoded from the camera's recording at the best box's time for live
//! cameras), people blurred; and the recording around a moment, remuxed by [`super::clip::build`]. Blocking work:
//! call from `spawn_blocking`.

use std::path::Path;

use image::RgbImage;
use image::imageops::{self, FilterType};
use vigie_core::{BBox, EncodedFrame, Error, ErrorKind, Result, RgbFrame};
use vigie_store::{CaseTrack, Segment};
use vigie_video::{FrameDecoder, PacketReader};

/// Thumbnails are at most this many pixels high (and wide).
const THUMB_MAX: u32 = 160;

/// The thumbnail of `t` as JPEG: the run's snapshot when its folder is at hand, else the frame of the recording
/// (`segments` of the track's camera, files under `recordings`) at the best box's time; the camera's privacy
/// `masks` filled. `None` when neither has the picture. A person is blurred beyond recognition: no one's
/// appearance is shown by a search.
pub fn thumbnail(
    t: &CaseTrack,
    recordings: Option<&Path>,
    segments: &[Segment],
    masks: &[vigie_core::MaskConfig],
) -> Result<Option<Vec<u8>>> {
    let mut frame = None;
    if let Some(dir) = &t.output_dir {
        let path =
            Path::new(dir)
                .join("snapshots")
                .join(format!("track-{:04}-{}.jpg", t.track_id, t.class.replace(' ', "_")));
        if let Ok(bytes) = std::fs::read(&path)
            && let Ok(img) = image::load_from_memory(&bytes)
        {
            let img = img.into_rgb8();
            frame = Some(RgbFrame {
                width: img.width(),
                height: img.height(),
                data: img.into_raw(),
                pts: vigie_core::Time90k(0),
                index: 0,
            });
        }
    }
    if frame.is_none()
        && let Some(root) = recordings
    {
        frame = frame_at(root, segments, t.best_unix_ms)?;
    }
    let Some(mut frame) = frame else { return Ok(None) };
    // The camera's privacy masks hide what they cover here too (issue 7).
    vigie_core::PrivacyMasks::new(masks).apply(&mut frame);
    let Some(img) = RgbImage::from_raw(frame.width, frame.height, frame.data) else {
        return Ok(None);
    };
    let thumb = crop(&img, t.best_box, t.class == "person");
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&thumb)
        .map_err(|e| Error::wrap(ErrorKind::Internal, "encoding a thumbnail", e))?;
    Ok(Some(out))
}

/// The box `b` widened by 15 % on each side, clamped to the picture, scaled down to [`THUMB_MAX`]; blurred when
/// `blur` (a person): scaled down to 6 pixels across and back up, which leaves no face or figure legible.
pub fn crop(img: &RgbImage, b: BBox, blur: bool) -> RgbImage {
    let (w, h) = img.dimensions();
    let b = if b.is_finite() {
        b
    } else {
        BBox::new(0.0, 0.0, w as f32, h as f32)
    };
    let (pw, ph) = ((b.x2 - b.x1) * 0.15, (b.y2 - b.y1) * 0.15);
    let x1 = ((b.x1 - pw).max(0.0) as u32).min(w.saturating_sub(1));
    let y1 = ((b.y1 - ph).max(0.0) as u32).min(h.saturating_sub(1));
    let x2 = ((b.x2 + pw).max(0.0).ceil() as u32).clamp(x1 + 1, w.max(x1 + 1));
    let y2 = ((b.y2 + ph).max(0.0).ceil() as u32).clamp(y1 + 1, h.max(y1 + 1));
    let mut c = imageops::crop_imm(img, x1, y1, x2 - x1, y2 - y1).to_image();
    let (cw, ch) = c.dimensions();
    if blur && cw > 0 && ch > 0 {
        let sw = 6u32.min(cw);
        let sh = ((ch as f32 * sw as f32 / cw as f32).round() as u32).max(1);
        let small = imageops::resize(&c, sw, sh, FilterType::Triangle);
        c = imageops::resize(&small, cw, ch, FilterType::Triangle);
    }
    let scale = (THUMB_MAX as f32 / cw.max(ch).max(1) as f32).min(1.0);
    if scale < 1.0 {
        let (tw, th) = (((cw as f32 * scale) as u32).max(1), ((ch as f32 * scale) as u32).max(1));
        c = imageops::resize(&c, tw, th, FilterType::Triangle);
    }
    c
}

/// The first recorded frame at or after `at_ms` (wall clock) in `segments`, decoded from the key frame before
/// it; `None` when no segment holds it.
pub fn frame_at(root: &Path, segments: &[Segment], at_ms: i64) -> Result<Option<RgbFrame>> {
    for seg in segments.iter().filter(|s| !s.missing_file) {
        let end = seg.start_unix_ms + seg.duration_90k / 90;
        if at_ms > end || seg.start_unix_ms > at_ms + 1000 {
            continue;
        }
        let mut reader = PacketReader::open(&root.join(&seg.relative_path))?;
        let mut decoder = FrameDecoder::new(1);
        // The group of pictures the wanted frame needs, from its key frame.
        let mut gop: Vec<EncodedFrame> = Vec::new();
        let mut reached = false;
        while let Some(f) = reader.next_frame()? {
            let wall = seg.start_unix_ms + f.pts.0 / 90;
            if !reached {
                if f.is_key {
                    gop.clear();
                }
                if wall < at_ms {
                    if !gop.is_empty() || f.is_key {
                        gop.push(f);
                    }
                    continue;
                }
                reached = true;
                for g in gop.drain(..) {
                    let _ = decoder.decode(&g, false);
                }
            }
            if let Ok(Some(rgb)) = decoder.decode(&f, true) {
                return Ok(Some(rgb));
            }
        }
        if reached && let Some(rgb) = decoder.flush()?.into_iter().next() {
            return Ok(Some(rgb));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture() -> RgbImage {
        RgbImage::from_fn(400, 300, |x, y| {
            if (x / 4 + y / 4) % 2 == 0 {
                image::Rgb([255, 255, 255])
            } else {
                image::Rgb([0, 0, 0])
            }
        })
    }

    fn variance(img: &RgbImage) -> f64 {
        let v: Vec<f64> = img.pixels().map(|p| f64::from(p[0])).collect();
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64
    }

    #[test]
    fn a_crop_is_the_box_with_a_margin_and_small() {
        let c = crop(&picture(), BBox::new(100.0, 100.0, 200.0, 150.0), false);
        // 100x50 widened by 15 % each side (outwards to whole pixels): 130x66, under the thumbnail's size.
        assert_eq!(c.dimensions(), (130, 66));
        let big = crop(&picture(), BBox::new(0.0, 0.0, 400.0, 300.0), false);
        assert!(big.width() <= THUMB_MAX && big.height() <= THUMB_MAX);
        // A box outside the picture still gives a picture, no panic.
        let out = crop(&picture(), BBox::new(900.0, 900.0, 950.0, 990.0), false);
        assert!(out.width() >= 1 && out.height() >= 1);
        let nan = crop(&picture(), BBox::new(f32::NAN, 0.0, 1.0, 1.0), true);
        assert!(nan.width() >= 1);
    }

    /// An analysed file's track: the thumbnail is cut from the run's snapshot, masks applied.
    #[test]
    fn a_file_runs_thumbnail_comes_from_its_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("snapshots")).unwrap();
        picture()
            .save_with_format(
                dir.path().join("snapshots/track-0007-car.jpg"),
                image::ImageFormat::Jpeg,
            )
            .unwrap();
        let t = CaseTrack {
            run: 1,
            track_id: 7,
            camera: "street".into(),
            class: "car".into(),
            first_unix_ms: 0,
            last_unix_ms: 1000,
            best_unix_ms: 500,
            best_box: BBox::new(100.0, 100.0, 200.0, 150.0),
            output_dir: Some(dir.path().display().to_string()),
        };
        let jpeg = thumbnail(&t, None, &[], &[]).unwrap().expect("a thumbnail");
        let img = image::load_from_memory(&jpeg).unwrap().into_rgb8();
        assert_eq!(img.dimensions(), (130, 66));
        assert!(variance(&img) > 1000.0, "image content: {}", variance(&img));
        let all = vigie_core::MaskConfig {
            name: "all".into(),
            points: vec![[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]],
        };
        let masked = thumbnail(&t, None, &[], &[all]).unwrap().expect("a thumbnail");
        let img = image::load_from_memory(&masked).unwrap().into_rgb8();
        assert!(variance(&img) < 5.0, "masked: {}", variance(&img));
        let none = CaseTrack {
            output_dir: Some(dir.path().join("elsewhere").display().to_string()),
            ..t
        };
        assert!(
            thumbnail(&none, None, &[], &[]).unwrap().is_none(),
            "no snapshot, no recording"
        );
    }

    #[test]
    fn a_person_is_blurred_on_the_pixels() {
        let b = BBox::new(100.0, 50.0, 180.0, 250.0);
        let sharp = crop(&picture(), b, false);
        let blurred = crop(&picture(), b, true);
        assert_eq!(sharp.dimensions(), blurred.dimensions());
        assert!(
            variance(&sharp) > 3_000.0,
            "the checkerboard is sharp: {}",
            variance(&sharp)
        );
        assert!(
            variance(&blurred) < variance(&sharp) / 20.0,
            "blurred: {} vs {}",
            variance(&blurred),
            variance(&sharp)
        );
    }
}
