//! PacketReader on real footage and on clips made with the ffmpeg CLI: parameters, byte-exact samples, timestamps,
//! Annex-B conversion, looping, refusals.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::{ffprobe, footage, h265_clip, make_clip, read_all, tempdir};
use vigie_core::media::avcc_nal_units;
use vigie_core::{ErrorKind, Time90k, VideoCodec};
use vigie_video::PacketReader;

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &d in data {
        a = (a + u32::from(d)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// (flags, adler32 of the data) of every video packet, as ffprobe reads them.
fn ffprobe_packets(path: &Path) -> Vec<(bool, u32)> {
    let (out, _) = ffprobe(
        path,
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=flags,data_hash",
            "-show_data_hash",
            "adler32",
            "-of",
            "csv=p=0",
        ],
    );
    out.lines()
        .map(|l| {
            let mut it = l.split(',');
            let flags = it.next().unwrap();
            let hash = it.find(|s| s.starts_with("adler32:")).unwrap();
            (
                flags.starts_with('K'),
                u32::from_str_radix(&hash["adler32:".len()..], 16).unwrap(),
            )
        })
        .collect()
}

#[test]
fn mp4_samples_pass_through_byte_for_byte() {
    for name in ["car-detection.mp4", "one-by-one-person-detection.mp4"] {
        let p = footage(name);
        let r = PacketReader::open(&p).unwrap();
        let params = Arc::clone(r.params());
        assert_eq!(params.codec, VideoCodec::H264);
        assert_eq!((params.width, params.height), (768, 432));
        assert_eq!(params.extradata[0], 1, "an avcC record");
        let frames = read_all(&p);
        assert!(
            frames.windows(2).all(|w| Arc::ptr_eq(&w[0].params, &w[1].params)),
            "one Arc for all frames"
        );
        let want = ffprobe_packets(&p);
        assert_eq!(frames.len(), want.len(), "{name}");
        for (i, (f, (key, hash))) in frames.iter().zip(&want).enumerate() {
            assert_eq!(f.is_key, *key, "{name} frame {i}");
            assert_eq!(adler32(&f.data), *hash, "{name} frame {i}");
            assert_eq!(*f.params, *params);
            assert!(avcc_nal_units(&f.data).is_some_and(|u| !u.is_empty()));
            assert_eq!(f.wall_ms, 0);
            assert!(!f.loss_before);
        }
        assert_eq!(frames[0].pts, Time90k(0), "{name}");
        assert!(
            frames.windows(2).all(|w| w[1].dts > w[0].dts),
            "{name}: dts not increasing"
        );
        assert!(frames.iter().all(|f| f.pts >= f.dts));
    }

    // car-detection: 12.5 fps, no B-frames: frame i at i x 7200 ticks; 377 frames, 30.16 s.
    let p = footage("car-detection.mp4");
    let r = PacketReader::open(&p).unwrap();
    assert_eq!(r.params().nominal_fps, Some(12.5));
    assert_eq!(r.duration_90k(), Some(Time90k::from_secs_f64(30.16)));
    let frames = read_all(&p);
    assert_eq!(frames.len(), 377);
    assert!(
        frames
            .iter()
            .enumerate()
            .all(|(i, f)| f.pts == Time90k(i as i64 * 7200) && f.dts == f.pts)
    );

    // one-by-one: 10 fps with B-frames: the first dts is one frame before 0.
    let frames = read_all(&footage("one-by-one-person-detection.mp4"));
    assert_eq!(frames.len(), 1394);
    assert_eq!((frames[0].pts, frames[0].dts), (Time90k(0), Time90k(-9000)));
}

#[test]
fn rewind_continues_the_timeline() {
    let dir = tempdir();
    let clip = make_clip(
        dir.path(),
        "short.mp4",
        &[
            "-i",
            footage("car-detection.mp4").to_str().unwrap(),
            "-t",
            "2",
            "-c",
            "copy",
            "-an",
        ],
    );
    let mut r = PacketReader::open(&clip).unwrap();
    let mut passes: Vec<Vec<_>> = Vec::new();
    for pass in 0..3 {
        if pass > 0 {
            r.rewind().unwrap();
        }
        let mut v = Vec::new();
        while let Some(f) = r.next_frame().unwrap() {
            v.push(f);
        }
        assert!(r.next_frame().unwrap().is_none(), "the end is sticky");
        passes.push(v);
    }
    assert_eq!(r.passes(), 2);
    let n = passes[0].len();
    assert_eq!(n, 25);
    assert_eq!(r.frames_read(), 3 * n as u64);
    for k in 1..3 {
        let (prev, cur) = (&passes[k - 1], &passes[k]);
        assert_eq!(cur.len(), n);
        assert!(cur[0].is_key);
        // Right after the last frame of the previous pass: one frame (7200 ticks) on.
        assert_eq!(cur[0].pts.0, prev[n - 1].pts.0 + 7200);
        for (a, b) in prev.iter().zip(cur) {
            assert_eq!(b.pts.0 - a.pts.0, n as i64 * 7200);
            assert_eq!(a.data, b.data);
            assert!(Arc::ptr_eq(&a.params, &b.params), "same parameters, same Arc");
        }
    }
}

#[test]
fn rewind_with_b_frames_keeps_decode_order_monotonic() {
    // one-by-one has B-frames: each pass starts with dts one frame before its first pts.
    let mut r = PacketReader::open(&footage("one-by-one-person-detection.mp4")).unwrap();
    let mut all = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        all.push(f);
    }
    let n = all.len();
    r.rewind().unwrap();
    for _ in 0..30 {
        all.push(r.next_frame().unwrap().unwrap());
    }
    let max_pts = all[..n].iter().map(|f| f.pts).max().unwrap();
    assert_eq!(
        all[n].pts.0,
        max_pts.0 + 9000,
        "the next pass starts one frame after the last picture"
    );
    assert!(
        all.windows(2).all(|w| w[1].dts.0 - w[0].dts.0 == 9000),
        "one frame apart in decode order, across the rewind too"
    );
}

/// MPEG-TS and raw Annex-B streams: converted to the same samples and records FFmpeg's own MP4 muxer makes from
/// them (`ffmpeg -c copy` to .mp4 is the reference).
#[test]
fn annex_b_streams_are_converted_like_ffmpeg_does() {
    let dir = tempdir();
    let d = dir.path();
    let car = footage("car-detection.mp4");
    let h264_ts = make_clip(
        d,
        "car.ts",
        &["-i", car.to_str().unwrap(), "-t", "4", "-c", "copy", "-an"],
    );
    let h265 = h265_clip(d);
    let h265_ts = make_clip(d, "car-h265.ts", &["-i", h265.to_str().unwrap(), "-c", "copy"]);
    let raw = make_clip(
        d,
        "car.h264",
        &[
            "-i",
            car.to_str().unwrap(),
            "-t",
            "4",
            "-c",
            "copy",
            "-an",
            "-f",
            "h264",
        ],
    );

    for (src, codec) in [
        (&h264_ts, VideoCodec::H264),
        (&h265_ts, VideoCodec::H265),
        (&raw, VideoCodec::H264),
    ] {
        let reference = make_clip(
            d,
            &format!("{}.ref.mp4", src.file_name().unwrap().to_str().unwrap()),
            &["-i", src.to_str().unwrap(), "-c", "copy"],
        );
        let ours = PacketReader::open(src).unwrap();
        let theirs = PacketReader::open(&reference).unwrap();
        let (a, b) = (ours.params(), theirs.params());
        assert_eq!(a.codec, codec);
        assert_eq!((a.width, a.height), (b.width, b.height));
        match codec {
            // FFmpeg's avcC, byte for byte (the high-profile extension included).
            VideoCodec::H264 => assert_eq!(a.extradata, b.extradata, "{}", src.display()),
            // hvcC: the same profile/tier/level, chroma format, bit depths, layers and parameter sets. FFmpeg also
            // fills min_spatial_segmentation_idc and parallelismType (hints), and keeps the zero byte of a 4-byte
            // start code at the end of a parameter set, which is not part of the NAL unit.
            VideoCodec::H265 => {
                let (x, y) = (&a.extradata, &b.extradata);
                assert_eq!(x[..13], y[..13], "general profile, tier and level");
                assert_eq!(x[16..19], y[16..19], "chroma format and bit depths");
                assert_eq!(x[21] & 0x3f, y[21] & 0x3f, "layers, nesting, length size");
                assert_eq!(hvcc_arrays(x), hvcc_arrays(y));
            }
        }
        let (fa, fb) = (read_all(src), read_all(&reference));
        assert_eq!(fa.len(), fb.len(), "{}", src.display());
        assert!(fa.len() >= 50);
        for (i, (x, y)) in fa.iter().zip(&fb).enumerate() {
            let same = match codec {
                VideoCodec::H264 => x.data == y.data,
                // FFmpeg's H.265 conversion keeps the zero bytes before a 4-byte start code at the end of the
                // previous NAL unit (trailing_zero_8bits, not part of it); the units are otherwise the same.
                VideoCodec::H265 => trimmed_units(&x.data) == trimmed_units(&y.data),
            };
            assert!(same, "{} frame {i}: samples differ", src.display());
            assert_eq!(x.is_key, y.is_key, "{} frame {i}", src.display());
        }
        assert_eq!(fa[0].pts, Time90k(0));
        assert!(fa.windows(2).all(|w| w[1].dts > w[0].dts));
    }
}

/// The NAL units of an AVCC/HVCC sample, without trailing zero bytes.
fn trimmed_units(data: &[u8]) -> Vec<&[u8]> {
    avcc_nal_units(data)
        .expect("well-formed sample")
        .into_iter()
        .map(|u| &u[..u.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1)])
        .collect()
}

/// The parameter-set arrays of an hvcC record: (NAL type, units without trailing zero bytes).
fn hvcc_arrays(r: &[u8]) -> Vec<(u8, Vec<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut pos = 23;
    for _ in 0..r[22] {
        let ty = r[pos] & 0x3f;
        let n = u16::from_be_bytes([r[pos + 1], r[pos + 2]]);
        pos += 3;
        let mut units = Vec::new();
        for _ in 0..n {
            let len = u16::from_be_bytes([r[pos], r[pos + 1]]) as usize;
            let mut u = r[pos + 2..pos + 2 + len].to_vec();
            while u.last() == Some(&0) {
                u.pop();
            }
            units.push(u);
            pos += 2 + len;
        }
        out.push((ty, units));
    }
    assert_eq!(pos, r.len());
    out
}

#[test]
fn h265_mp4() {
    let dir = tempdir();
    let p = h265_clip(dir.path());
    let r = PacketReader::open(&p).unwrap();
    assert_eq!(r.params().codec, VideoCodec::H265);
    assert_eq!((r.params().width, r.params().height), (768, 432));
    let frames = read_all(&p);
    assert_eq!(frames.len(), 100);
    assert_eq!(frames.iter().filter(|f| f.is_key).count(), 4);
    let want = ffprobe_packets(&p);
    assert!(frames.iter().zip(&want).all(|(f, (_, h))| adler32(&f.data) == *h));
}

#[test]
fn other_codecs_missing_files_and_non_videos_are_refused() {
    let dir = tempdir();
    let mpeg4 = make_clip(
        dir.path(),
        "clip.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=10",
            "-t",
            "1",
            "-c:v",
            "mpeg4",
        ],
    );
    let e = PacketReader::open(&mpeg4).err().expect("mpeg4 is refused");
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    let msg = e.to_string();
    assert!(msg.contains("mpeg4") && msg.contains("clip.mp4"), "{msg}");

    let e = PacketReader::open(&dir.path().join("missing.mp4")).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "not a video").unwrap();
    assert_eq!(PacketReader::open(&text).err().unwrap().kind(), ErrorKind::InvalidData);
    assert_eq!(
        PacketReader::open(dir.path()).err().unwrap().kind(),
        ErrorKind::InvalidArgument
    );
}
