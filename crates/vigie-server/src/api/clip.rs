//! `/api/events/{id}/clip.mp4`: the recording around an event, remuxed from the camera's segments into one MP4,
//! from the key frame at or before the clip's start to its end. A camera with privacy masks is the exception: its
//! clip is decoded, masked and re-encoded ([`build_masked`]), so the masked areas carry no image content.

use std::path::Path;

use vigie_core::{EncodedFrame, Result, Time90k};
use vigie_store::Segment;
use vigie_video::{FrameDecoder, Mp4Encoder, PacketReader, SegmentMuxer};

/// Clips longer than this are cut (a long open event does not produce an unbounded file).
pub const MAX_CLIP_MS: i64 = 10 * 60 * 1000;

/// Writes to `out` the frames of `segments` (files under `root`) from the key frame at or before `from_ms` to
/// `to_ms` (wall-clock). Returns the number of frames written; 0 (and no file) when the recordings do not cover
/// the range. Stops early if the stream's parameters change within the range.
pub fn build(root: &Path, segments: &[Segment], from_ms: i64, to_ms: i64, out: &Path) -> Result<u64> {
    let to_ms = to_ms.min(from_ms + MAX_CLIP_MS);
    let mut muxer: Option<(SegmentMuxer, std::sync::Arc<vigie_core::StreamParams>)> = None;
    let mut gop: Vec<EncodedFrame> = Vec::new();
    let mut written = 0u64;
    'segments: for seg in segments.iter().filter(|s| !s.missing_file) {
        let mut reader = PacketReader::open(&root.join(&seg.relative_path))?;
        // Output timeline: 90 kHz from `from_ms`, each segment placed at its wall-clock start.
        let offset = (seg.start_unix_ms - from_ms) * 90;
        while let Some(mut f) = reader.next_frame()? {
            let wall = seg.start_unix_ms + f.pts.0 / 90;
            if wall > to_ms {
                break 'segments;
            }
            f.pts = Time90k(f.pts.0 + offset);
            f.dts = Time90k(f.dts.0 + offset);
            f.wall_ms = wall;
            match &mut muxer {
                None if wall < from_ms => {
                    // Before the start: keep the group of pictures the start will need.
                    if f.is_key {
                        gop.clear();
                    }
                    if f.is_key || !gop.is_empty() {
                        gop.push(f);
                    }
                }
                None => {
                    if gop.is_empty() && !f.is_key {
                        continue; // wait for a key frame
                    }
                    let params = f.params.clone();
                    let mut m = SegmentMuxer::create(out, &params)?;
                    let pending: Vec<EncodedFrame> = gop.drain(..).chain(std::iter::once(f)).collect();
                    for g in pending {
                        if *g.params != *params {
                            m.finish()?;
                            return Ok(written);
                        }
                        m.write(&g)?;
                        written += 1;
                    }
                    muxer = Some((m, params));
                }
                Some((m, params)) => {
                    if *f.params != **params {
                        break 'segments;
                    }
                    m.write(&f)?;
                    written += 1;
                }
            }
        }
    }
    if let Some((m, _)) = muxer {
        m.finish()?;
    }
    Ok(written)
}

/// The clip of `segments` over `from_ms..to_ms` as bytes, built in the temporary file `out` (removed after):
/// remuxed ([`build`]), or re-encoded ([`build_masked`]) when the camera has privacy `masks` or `reencode` asks
/// for a clip that starts exactly at `from_ms`. `None` when no recording covers the range. Blocking.
pub fn clip_bytes(
    root: &Path,
    segments: &[Segment],
    (from_ms, to_ms): (i64, i64),
    masks: &[vigie_core::MaskConfig],
    reencode: bool,
    out: &Path,
) -> Result<Option<Vec<u8>>> {
    let built = if masks.is_empty() && !reencode {
        build(root, segments, from_ms, to_ms, out)
    } else {
        build_masked(root, segments, from_ms, to_ms, masks, out)
    };
    let r = built.and_then(|n| {
        if n == 0 {
            return Ok(None);
        }
        std::fs::read(out)
            .map(Some)
            .map_err(|e| vigie_core::Error::wrap(vigie_core::ErrorKind::Io, format!("reading {}", out.display()), e))
    });
    let _ = std::fs::remove_file(out);
    r
}

/// Like [`build`], for a camera with privacy `masks`: the frames of `segments` whose wall-clock time is within
/// `from_ms..to_ms` are decoded, masked ([`vigie_core::PrivacyMasks`]) and re-encoded to H.264
/// ([`vigie_video::Mp4Encoder`], at the segments' frame rate). Returns the frames written; 0 (and no file) when
/// the recordings do not cover the range. Stops at a change of resolution.
pub fn build_masked(
    root: &Path,
    segments: &[Segment],
    from_ms: i64,
    to_ms: i64,
    masks: &[vigie_core::MaskConfig],
    out: &Path,
) -> Result<u64> {
    let to_ms = to_ms.min(from_ms + MAX_CLIP_MS);
    let mut masker = vigie_core::PrivacyMasks::new(masks);
    let mut enc: Option<Mp4Encoder> = None;
    // Masks and encodes one decoded frame; false at a change of resolution (the clip ends there).
    let mut put = |mut f: vigie_core::RgbFrame, wall_ms: i64, fps: u32| -> Result<bool> {
        if f.data.is_empty() || !(from_ms..=to_ms).contains(&wall_ms) {
            return Ok(true);
        }
        masker.apply(&mut f);
        let e = match &mut enc {
            Some(e) => e,
            None => enc.insert(Mp4Encoder::create(out, f.width, f.height, fps.clamp(1, 120))?),
        };
        match e.write(&f) {
            Ok(()) => Ok(true),
            Err(err) if err.kind() == vigie_core::ErrorKind::InvalidArgument => Ok(false),
            Err(err) => Err(err),
        }
    };
    'segments: for seg in segments.iter().filter(|s| !s.missing_file) {
        if seg.start_unix_ms > to_ms {
            break;
        }
        let mut reader = PacketReader::open(&root.join(&seg.relative_path))?;
        let fps = (f64::from(seg.frames) * 90_000.0 / seg.duration_90k.max(1) as f64).round() as u32;
        let mut dec = FrameDecoder::new(1);
        let mut first_pts: Option<i64> = None;
        // Frames are encoded as they come out of the decoder: a long clip is never held in memory.
        while let Some(ef) = reader.next_frame()? {
            let first = *first_pts.get_or_insert(ef.pts.0);
            let wall = seg.start_unix_ms + (ef.pts.0 - first) / 90;
            if wall > to_ms + 1000 {
                break; // past the end (with room for reordered pictures)
            }
            if let Some(f) = dec.decode(&ef, (from_ms..=to_ms).contains(&wall))? {
                let wall = seg.start_unix_ms + (f.pts.0 - first) / 90;
                if !put(f, wall, fps)? {
                    break 'segments;
                }
            }
        }
        let first = first_pts.unwrap_or(0);
        for f in dec.flush()? {
            let wall = seg.start_unix_ms + (f.pts.0 - first) / 90;
            if !put(f, wall, fps)? {
                break 'segments;
            }
        }
    }
    match enc {
        Some(e) => e.finish(),
        None => Ok(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo footage (H.264), when `make test-data` has fetched it, taken as one recorded segment.
    #[test]
    fn a_clip_starts_at_a_key_frame_and_covers_the_range() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/vigie/testdata");
        if !root.join("vtest.mp4").exists() {
            eprintln!("skipped: .cache/vigie/testdata/vtest.mp4 missing (make test-data)");
            return;
        }
        let seg = Segment {
            id: vigie_store::SegmentId(1),
            camera: vigie_store::CameraId(1),
            start_unix_ms: 1_000_000,
            duration_90k: 60 * 90_000,
            frames: 1,
            bytes: 1,
            codec: vigie_core::VideoCodec::H264,
            width: 1,
            height: 1,
            relative_path: "vtest.mp4".into(),
            sha256: None,
            missing_file: false,
        };
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("clip.mp4");
        let n = build(&root, std::slice::from_ref(&seg), 1_003_000, 1_005_000, &out).unwrap();
        assert!(n >= 20, "2 s at 10 fps, and the frames since the key frame before: {n}");
        let mut r = PacketReader::open(&out).unwrap();
        let first = r.next_frame().unwrap().unwrap();
        assert!(first.is_key);
        let mut count = 1;
        while r.next_frame().unwrap().is_some() {
            count += 1;
        }
        assert_eq!(count, n);
        let none = dir.path().join("none.mp4");
        assert_eq!(build(&root, &[seg], 2_000_000, 2_001_000, &none).unwrap(), 0);
        assert!(!none.exists());
    }

    /// Issue 7: a masked camera's clip is re-encoded with the masked area filled; without the mask the same area
    /// has image content (people walking across it).
    #[test]
    fn a_masked_clip_has_no_image_content_in_the_mask() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/vigie/testdata");
        if !root.join("vtest.mp4").exists() {
            eprintln!("skipped: .cache/vigie/testdata/vtest.mp4 missing (make test-data)");
            return;
        }
        let seg = Segment {
            id: vigie_store::SegmentId(1),
            camera: vigie_store::CameraId(1),
            start_unix_ms: 1_000_000,
            duration_90k: 10 * 90_000,
            frames: 100,
            bytes: 1,
            codec: vigie_core::VideoCodec::H264,
            width: 1,
            height: 1,
            relative_path: "vtest.mp4".into(),
            sha256: None,
            missing_file: false,
        };
        // The walkway's middle band, where people walk all the time.
        let mask = vigie_core::MaskConfig {
            name: "band".into(),
            points: vec![[0.25, 0.3], [0.75, 0.3], [0.75, 0.8], [0.25, 0.8]],
        };
        let dir = tempfile::tempdir().unwrap();
        let stats = |path: &Path| {
            let mut r = PacketReader::open(path).unwrap();
            let mut d = FrameDecoder::new(1);
            let mut fs = Vec::new();
            while let Some(ef) = r.next_frame().unwrap() {
                fs.extend(d.decode(&ef, true).unwrap());
            }
            fs.extend(d.flush().unwrap());
            // Pixels 4 px inside the mask's edges, over every frame.
            let (mut n, mut sum, mut sq, mut max) = (0f64, 0f64, 0f64, 0u8);
            for f in &fs {
                let (w, h) = (f.width, f.height);
                for y in (h * 3 / 10 + 4..h * 8 / 10 - 4).step_by(3) {
                    for x in (w / 4 + 4..w * 3 / 4 - 4).step_by(3) {
                        for c in f.pixel(x, y) {
                            let v = f64::from(c);
                            n += 1.0;
                            sum += v;
                            sq += v * v;
                            max = max.max(c);
                        }
                    }
                }
            }
            let mean = sum / n;
            (fs.len(), mean, sq / n - mean * mean, max)
        };
        let masked = dir.path().join("masked.mp4");
        let n = build_masked(
            &root,
            std::slice::from_ref(&seg),
            1_002_000,
            1_004_000,
            &[mask],
            &masked,
        )
        .unwrap();
        assert!(n >= 15, "2 s at 10 fps: {n}");
        let plain = dir.path().join("plain.mp4");
        build_masked(&root, std::slice::from_ref(&seg), 1_002_000, 1_004_000, &[], &plain).unwrap();
        let (frames, mean, var, max) = stats(&masked);
        let (_, pmean, pvar, _) = stats(&plain);
        eprintln!(
            "masked clip: {frames} frames, inside the mask mean {mean:.2} variance {var:.2} max {max}; unmasked: mean {pmean:.1} variance {pvar:.1}"
        );
        assert_eq!(frames as u64, n);
        assert!(
            var < 1.0 && mean < 3.0 && max <= 8,
            "masked area: mean {mean}, variance {var}, max {max}"
        );
        assert!(pvar > 100.0, "the same area unmasked has content: variance {pvar}");
        let none = dir.path().join("none.mp4");
        assert_eq!(
            build_masked(&root, &[seg], 2_000_000, 2_001_000, &[], &none).unwrap(),
            0
        );
        assert!(!none.exists());
    }
}
