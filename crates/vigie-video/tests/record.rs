//! SegmentMuxer: remux real footage into MP4 segments, checked with ffprobe and by demuxing them again.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use common::{ffmpeg, ffmpeg_stderr, ffprobe, footage, h265_clip, probe_value, read_all, tempdir};
use vigie_core::{EncodedFrame, ErrorKind, StreamParams, Time90k};
use vigie_video::{DecodeOptions, PacketReader, SegmentMuxer, VideoFile};

fn mux(path: &Path, frames: &[EncodedFrame]) -> vigie_video::SegmentInfo {
    let mut m = SegmentMuxer::create(path, &frames[0].params).unwrap();
    let mut last_bytes = 0;
    for f in frames {
        m.write(f).unwrap();
        assert!(m.bytes_written() >= last_bytes);
        last_bytes = m.bytes_written();
    }
    assert_eq!(m.frames(), frames.len() as u64);
    let before = m.duration_90k();
    let info = m.finish().unwrap();
    assert_eq!(info.duration_90k, before, "duration announced before finish");
    info
}

/// 60 frames from the second key frame on: ffprobe counts 60 frames without errors, with the source's codec and
/// size, and the segment's samples are the source's, byte for byte.
fn check_remux(src: &Path, codec: &str, tag: &str, frame_ticks: i64) {
    let dir = tempdir();
    let frames = read_all(src);
    let k = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| f.is_key)
        .nth(1)
        .expect("two key frames")
        .0;
    let part = &frames[k..k + 60];
    let out = dir.path().join("segment.mp4");
    let info = mux(&out, part);
    assert_eq!(info.frames, 60);
    assert_eq!(info.first_pts, frames[k].pts);
    assert_eq!(info.bytes, std::fs::metadata(&out).unwrap().len());
    assert_eq!(info.duration_90k, Time90k(60 * frame_ticks), "{}", src.display());

    let (o, e) = ffprobe(
        &out,
        &[
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,codec_tag_string,width,height,nb_read_frames,nb_frames,start_time,duration",
            "-of",
            "default=noprint_wrappers=1",
        ],
    );
    assert!(e.trim().is_empty(), "ffprobe errors: {e}");
    let p = |k: &str| probe_value(&o, k).unwrap_or_else(|| panic!("{k} missing in {o}"));
    assert_eq!(p("nb_read_frames"), "60", "{o}");
    assert_eq!(p("nb_frames"), "60", "{o}");
    assert_eq!(p("codec_name"), codec);
    assert_eq!(p("codec_tag_string"), tag);
    let params = &frames[0].params;
    assert_eq!(p("width"), params.width.to_string());
    assert_eq!(p("height"), params.height.to_string());
    assert_eq!(p("start_time").parse::<f64>().unwrap(), 0.0, "{o}");
    let dur: f64 = p("duration").parse().unwrap();
    assert!((dur - info.duration_90k.as_secs_f64()).abs() < 0.002, "{o}");
    // A full decode by the ffmpeg CLI reports nothing either.
    let errors = ffmpeg_stderr(&["-i", out.to_str().unwrap(), "-f", "null", "-"]);
    assert!(errors.trim().is_empty(), "ffmpeg decode errors: {errors}");

    // Demuxed again: the same samples, key flags and relative timestamps, and the same parameters.
    let again = read_all(&out);
    assert_eq!(again.len(), 60);
    assert_eq!(*again[0].params, **params);
    for (i, (a, b)) in part.iter().zip(&again).enumerate() {
        assert!(a.data == b.data, "{} frame {i}: sample differs", src.display());
        assert_eq!(a.is_key, b.is_key, "frame {i}");
        assert_eq!(b.pts.0 - again[0].pts.0, a.pts.0 - part[0].pts.0, "frame {i}");
    }
    // And VideoFile (which checks the frame count the segment declares) decodes all of it.
    let mut v = VideoFile::open(&out, &DecodeOptions::default()).unwrap();
    assert_eq!(v.decode_all().unwrap(), 60);
}

#[test]
fn remux_h264_without_b_frames() {
    check_remux(&footage("car-detection.mp4"), "h264", "avc1", 7200);
}

#[test]
fn remux_h264_with_b_frames() {
    check_remux(&footage("one-by-one-person-detection.mp4"), "h264", "avc1", 9000);
}

#[test]
fn remux_h265() {
    let dir = tempdir();
    check_remux(&h265_clip(dir.path()), "hevc", "hvc1", 7200);
}

#[test]
fn remux_annex_b_source() {
    // An MPEG-TS camera recording: converted samples, built avcC, still a valid MP4.
    let dir = tempdir();
    let ts = dir.path().join("cam.ts");
    ffmpeg(&[
        "-i",
        footage("car-detection.mp4").to_str().unwrap(),
        "-t",
        "10",
        "-c",
        "copy",
        "-an",
        ts.to_str().unwrap(),
    ]);
    check_remux(&ts, "h264", "avc1", 7200);
}

#[test]
fn refusals_and_fix_ups() {
    let dir = tempdir();
    let d = dir.path();
    let frames = read_all(&footage("car-detection.mp4"));
    let params = &frames[0].params;

    // The first frame must be a key frame.
    let mut m = SegmentMuxer::create(&d.join("a.mp4"), params).unwrap();
    let e = m.write(&frames[1]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("key frame"), "{e}");
    m.write(&frames[0]).unwrap();
    m.write(&frames[1]).unwrap();

    // Other parameters: refused (a new segment is needed).
    let mut other = frames[2].clone();
    other.params = Arc::new(StreamParams {
        width: 640,
        ..(**params).clone()
    });
    assert_eq!(m.write(&other).unwrap_err().kind(), ErrorKind::InvalidArgument);
    // Equal by value is fine.
    let mut same = frames[2].clone();
    same.params = Arc::new((**params).clone());
    m.write(&same).unwrap();

    // A dts repeated: pushed one tick on. Gone back more than a second: refused.
    let mut dup = frames[3].clone();
    dup.dts = frames[2].dts;
    dup.pts = frames[2].pts;
    m.write(&dup).unwrap();
    assert_eq!(m.dts_fixups(), 1);
    let mut back = frames[4].clone();
    back.dts = Time90k(frames[2].dts.0 - 2 * 90_000);
    back.pts = back.dts;
    assert_eq!(m.write(&back).unwrap_err().kind(), ErrorKind::InvalidData);
    for f in &frames[4..20] {
        m.write(f).unwrap();
    }
    let info = m.finish().unwrap();
    assert_eq!(info.frames, 20);
    let (o, e) = ffprobe(
        &d.join("a.mp4"),
        &[
            "-count_frames",
            "-show_entries",
            "stream=nb_read_frames",
            "-of",
            "default=noprint_wrappers=1",
        ],
    );
    assert!(e.trim().is_empty(), "{e}");
    assert_eq!(probe_value(&o, "nb_read_frames").as_deref(), Some("20"));

    // Never overwrites; a segment without frames is an error; a missing directory is an I/O error.
    let e = SegmentMuxer::create(&d.join("a.mp4"), params).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let m = SegmentMuxer::create(&d.join("empty.mp4"), params).unwrap();
    assert_eq!(m.finish().unwrap_err().kind(), ErrorKind::InvalidArgument);
    let e = SegmentMuxer::create(&d.join("no/such/dir.mp4"), params).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Io);
    // Parameters without a configuration record.
    let bad = StreamParams {
        extradata: vec![0, 0, 0, 1, 0x67],
        ..(**params).clone()
    };
    assert_eq!(
        SegmentMuxer::create(&d.join("bad.mp4"), &bad).err().unwrap().kind(),
        ErrorKind::InvalidArgument
    );
}

/// What a crash leaves: a segment never finished has no `moov`, and nothing opens it.
#[test]
fn an_unfinished_segment_is_detectably_broken() {
    let dir = tempdir();
    let frames = read_all(&footage("car-detection.mp4"));
    let cut = dir.path().join("cut.mp4");
    let mut m = SegmentMuxer::create(&cut, &frames[0].params).unwrap();
    for f in &frames[..100] {
        m.write(f).unwrap();
    }
    let written = m.bytes_written();
    drop(m);
    let size = std::fs::metadata(&cut).unwrap().len();
    assert!(size > 100_000 && size <= written, "{size} of {written}");
    let e = VideoFile::open(&cut, &DecodeOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(PacketReader::open(&cut).is_err());
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", cut.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("moov atom not found"));

    // A finished segment cut short (a torn copy) does not open either.
    let full = dir.path().join("full.mp4");
    mux(&full, &frames[..100]);
    let data = std::fs::read(&full).unwrap();
    let torn = dir.path().join("torn.mp4");
    std::fs::write(&torn, &data[..data.len() - 200]).unwrap();
    assert!(VideoFile::open(&torn, &DecodeOptions::default()).is_err());
}

#[test]
fn remux_speed() {
    let dir = tempdir();
    let frames = read_all(&footage("car-detection.mp4"));
    let bytes: usize = frames.iter().map(|f| f.data.len()).sum();
    let t0 = Instant::now();
    let info = mux(&dir.path().join("all.mp4"), &frames);
    let s = t0.elapsed().as_secs_f64();
    println!(
        "remux: {} frames ({:.1} MB, {:.1} s of video) in {:.1} ms: {:.0} frames/s, {:.0} MB/s (fsync included)",
        info.frames,
        bytes as f64 / 1e6,
        info.duration_90k.as_secs_f64(),
        s * 1e3,
        info.frames as f64 / s,
        bytes as f64 / 1e6 / s
    );
    assert_eq!(info.frames, 377);
}
