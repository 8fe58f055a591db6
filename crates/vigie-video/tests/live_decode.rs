//! FrameDecoder on frames from PacketReader: the same pictures as VideoFile, recovery from corrupt input,
//! parameter changes.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{footage, h265_clip, read_all, tempdir};
use vigie_core::{EncodedFrame, ErrorKind, RgbFrame, Time90k};
use vigie_video::{DecodeOptions, FrameDecoder, FrameSampler, VideoFile};

fn checksum(f: &RgbFrame) -> u64 {
    // FNV-1a.
    f.data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// Every frame as VideoFile decodes it, by pts: (pts, checksum).
fn reference(path: &Path) -> Vec<(Time90k, u64)> {
    let mut v = VideoFile::open(path, &DecodeOptions::default()).unwrap();
    let mut s = FrameSampler::new(0.0);
    let mut out = Vec::new();
    while let Some(f) = v.next_sampled(&mut s).unwrap() {
        out.push((f.pts, checksum(&f)));
    }
    out
}

/// Decodes all `frames`, converting those `want` picks; returns what came out, flush included.
fn decode_all(dec: &mut FrameDecoder, frames: &[EncodedFrame], want: impl Fn(usize) -> bool) -> Vec<RgbFrame> {
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if let Some(rgb) = dec.decode(f, want(i)).unwrap() {
            out.push(rgb);
        }
    }
    out.extend(dec.flush().unwrap());
    out
}

#[test]
fn same_pictures_as_video_file() {
    let p = footage("car-detection.mp4");
    let frames = read_all(&p);
    let want = reference(&p);
    assert_eq!(want.len(), 377);
    let mut dec = FrameDecoder::new(1);
    let got = decode_all(&mut dec, &frames, |_| true);
    assert_eq!(dec.frames_decoded(), 377);
    assert_eq!((dec.errors(), dec.skipped()), (0, 0));
    assert_eq!(got.len(), 377);
    // No B-frames, one thread: every frame comes out of the call that fed it.
    for (i, (g, (pts, sum))) in got.iter().zip(&want).enumerate() {
        assert_eq!((g.width, g.height), (768, 432));
        assert_eq!(g.pts, *pts, "frame {i}");
        assert_eq!(g.index, i as u64);
        assert_eq!(checksum(g), *sum, "frame {i}: pixels differ from VideoFile's");
    }
}

#[test]
fn b_frames_and_frame_threads() {
    let p = footage("one-by-one-person-detection.mp4");
    let frames = read_all(&p);
    let want = reference(&p);
    assert_eq!(want.len(), 1394);
    for threads in [1, 3] {
        let mut dec = FrameDecoder::new(threads);
        // Only every 7th frame (in decode order) is converted: the answer follows the frame through the reorder
        // and threading delays.
        let wanted: Vec<Time90k> = frames.iter().step_by(7).map(|f| f.pts).collect();
        let got = decode_all(&mut dec, &frames, |i| i % 7 == 0);
        assert_eq!(dec.frames_decoded(), 1394, "{threads} threads");
        assert_eq!(dec.errors(), 0);
        let mut got_pts: Vec<Time90k> = got.iter().map(|g| g.pts).collect();
        assert!(got_pts.windows(2).all(|w| w[1] > w[0]), "presentation order");
        got_pts.sort();
        let mut wanted_sorted = wanted.clone();
        wanted_sorted.sort();
        assert_eq!(
            got_pts, wanted_sorted,
            "{threads} threads: the wanted frames, and only them"
        );
        for g in &got {
            let (_, sum) = want
                .iter()
                .find(|(pts, _)| *pts == g.pts)
                .expect("a frame VideoFile has too");
            assert_eq!(checksum(g), *sum, "{threads} threads, pts {:?}", g.pts);
        }
    }
}

#[test]
fn garbage_is_an_error_and_decoding_resumes_at_the_next_key_frame() {
    let frames = read_all(&footage("car-detection.mp4"));
    let keys: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_key)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(&keys[..2], &[0, 60]);
    let mut dec = FrameDecoder::new(1);
    for f in &frames[..10] {
        assert!(dec.decode(f, true).unwrap().is_some());
    }

    // Random bytes (a deterministic LCG) in place of frame 10.
    let mut x = 12345u32;
    let noise: Vec<u8> = (0..5000)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let garbage = EncodedFrame {
        data: noise.clone(),
        ..frames[10].clone()
    };
    let e = dec.decode(&garbage, true).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert_eq!(dec.errors(), 1);
    // Until the next key frame nothing is decoded (their references are gone).
    for f in &frames[11..60] {
        assert!(dec.decode(f, true).unwrap().is_none());
    }
    assert_eq!(dec.skipped(), 49);
    let rgb = dec
        .decode(&frames[60], true)
        .unwrap()
        .expect("decoding resumes at the key frame");
    assert_eq!(rgb.pts, frames[60].pts);
    assert!(dec.decode(&frames[61], true).unwrap().is_some());

    // Noise behind a well-formed length prefix and NAL header (a P slice), as a camera sending junk would:
    // rejected by the decoder, or at worst decoded as a damaged picture; never a panic, and the next key frame
    // decodes cleanly either way.
    let mut framed = (4000u32).to_be_bytes().to_vec();
    framed.push(0x41);
    framed.extend_from_slice(&noise[..3999]);
    let junk = EncodedFrame {
        data: framed,
        ..frames[62].clone()
    };
    let errors_before = dec.errors();
    let r = dec.decode(&junk, true);
    if let Err(e) = &r {
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(dec.errors(), errors_before + 1);
    }
    for f in &frames[63..120] {
        let _ = dec.decode(f, true);
    }
    let rgb = dec.decode(&frames[120], true).unwrap().expect("a key frame decodes");
    assert_eq!(rgb.pts, frames[120].pts);

    // An empty sample, and lengths running past the end (flagged key, or they would only be skipped while the
    // decoder waits for one after the first error).
    for data in [vec![], vec![0, 0, 0, 9, 0x65]] {
        let bad = EncodedFrame {
            data,
            is_key: true,
            ..frames[121].clone()
        };
        assert_eq!(dec.decode(&bad, true).unwrap_err().kind(), ErrorKind::InvalidData);
    }
    assert!(
        dec.decode(&frames[122], true).unwrap().is_none(),
        "skipped: waiting for a key frame"
    );
}

#[test]
fn loss_before_waits_for_a_key_frame() {
    let frames = read_all(&footage("car-detection.mp4"));
    let mut dec = FrameDecoder::new(1);
    for f in &frames[..5] {
        dec.decode(f, false).unwrap();
    }
    assert_eq!(dec.frames_decoded(), 5);
    let lost = EncodedFrame {
        loss_before: true,
        ..frames[6].clone()
    };
    assert!(dec.decode(&lost, true).unwrap().is_none());
    assert!(dec.decode(&frames[7], true).unwrap().is_none());
    assert_eq!(dec.skipped(), 2);
    assert!(dec.decode(&frames[60], true).unwrap().is_some());
    // want_rgb false: decoded, not converted.
    assert!(dec.decode(&frames[61], false).unwrap().is_none());
    assert_eq!(dec.frames_decoded(), 7);
}

#[test]
fn parameter_changes_reopen_the_codec() {
    let dir = tempdir();
    let h264 = read_all(&footage("car-detection.mp4"));
    let h265 = read_all(&h265_clip(dir.path()));
    let mut dec = FrameDecoder::new(1);
    for round in 0..2 {
        for stream in [&h264, &h265] {
            for f in &stream[..5] {
                let rgb = dec.decode(f, true).unwrap().expect("a picture");
                assert_eq!((rgb.width, rgb.height), (768, 432), "round {round}");
            }
        }
    }
    assert_eq!(dec.frames_decoded(), 20);
    // Equal parameters in another Arc do not reopen (nothing is skipped).
    let mut f = h264[5].clone();
    f.params = Arc::new((*h264[5].params).clone());
    dec.decode(&h264[0], true).unwrap();
    dec.decode(&f, true).unwrap().expect("no reopen");
    assert_eq!(dec.skipped(), 0);
}
