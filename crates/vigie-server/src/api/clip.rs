//! `/api/events/{id}/clip.mp4`: the recording around an event, remuxed (never re-encoded) from the camera's
//! segments into one MP4, from the key frame at or before the clip's start to its end.

use std::path::Path;

use vigie_core::{EncodedFrame, Result, Time90k};
use vigie_store::Segment;
use vigie_video::{PacketReader, SegmentMuxer};

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
}
