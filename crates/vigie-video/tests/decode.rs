//! Decoding real footage and generated clips, and failing loudly on broken files.
//!
//! Real footage is read in place: `.cache/vigie/testdata/vtest.avi` (run `scripts/test-data.sh`) and
//! `../shared/data/video/*.mp4` next to the repository. Generated clips are made with the `ffmpeg` CLI in a
//! temporary directory that is removed afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

use vigie_core::{ErrorKind, RgbFrame, Time90k};
use vigie_video::{DecodeOptions, FrameSampler, VideoFile, probe};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vtest() -> PathBuf {
    let p = repo_root().join(".cache/vigie/testdata/vtest.avi");
    assert!(p.is_file(), "{} is missing: run scripts/test-data.sh", p.display());
    p
}

fn footage(name: &str) -> PathBuf {
    let p = repo_root().join("../shared/data/video").join(name);
    assert!(p.is_file(), "real footage {} is missing", p.display());
    p
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let p = std::env::temp_dir().join(format!(
            "vigie-video-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the `ffmpeg` CLI quietly; panics with its stderr on failure.
fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("the ffmpeg CLI is needed to generate test clips");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Makes `name` in `dir` with `args` (inputs and encoder options) and returns its path.
fn make(dir: &TempDir, name: &str, args: &[&str]) -> PathBuf {
    let p = dir.path(name);
    let mut a: Vec<&str> = args.to_vec();
    a.push(p.to_str().unwrap());
    ffmpeg(&a);
    p
}

/// The first frame as the ffmpeg CLI converts it to RGB24.
fn cli_first_rgb(path: &Path) -> Vec<u8> {
    ffmpeg(&[
        "-i",
        path.to_str().unwrap(),
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ])
}

fn mean_abs_diff(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as i32 - *y as i32).unsigned_abs() as u64)
        .sum::<u64>() as f64
        / a.len() as f64
}

/// Decodes all sampled frames, checking the invariants every frame must hold.
fn collect(v: &mut VideoFile, fps: f64) -> Vec<RgbFrame> {
    let mut s = FrameSampler::new(fps);
    let mut out: Vec<RgbFrame> = vec![];
    while let Some(f) = v.next_sampled(&mut s).unwrap() {
        assert_eq!(f.data.len(), f.width as usize * f.height as usize * 3);
        assert_eq!((f.width, f.height), (v.info().width, v.info().height));
        if let Some(prev) = out.last() {
            assert!(f.pts > prev.pts, "pts not increasing: {:?} then {:?}", prev.pts, f.pts);
            assert!(f.index > prev.index);
        } else {
            assert_eq!(f.pts, Time90k(0), "first sampled frame is not at 0");
        }
        out.push(f);
    }
    // The end is sticky.
    assert!(v.next_sampled(&mut s).unwrap().is_none());
    out
}

fn open(p: &Path) -> VideoFile {
    VideoFile::open(p, &DecodeOptions::default()).unwrap()
}

#[test]
fn vtest_avi_every_frame_and_five_fps() {
    let p = vtest();
    let info = probe(&p).unwrap();
    assert_eq!(info.codec, "msmpeg4v3");
    assert_eq!((info.width, info.height), (768, 576));
    assert_eq!(info.fps, 10.0);
    assert_eq!(info.frames_estimate, Some(795));
    assert!((info.duration_s.unwrap() - 79.5).abs() < 0.01);

    let mut v = open(&p);
    let all = collect(&mut v, 0.0);
    assert_eq!(all.len(), 795);
    assert_eq!(v.frames_decoded(), 795);
    assert_eq!(v.corrupt_packets(), 0);
    // 10 fps exactly: frame i at i x 9000 ticks.
    assert!(
        all.iter()
            .enumerate()
            .all(|(i, f)| f.index == i as u64 && f.pts == Time90k(i as i64 * 9000))
    );

    let mut v = open(&p);
    let sampled = collect(&mut v, 5.0);
    assert_eq!(sampled.len(), 398);
    assert_eq!(v.frames_decoded(), 795);
    assert!(
        sampled
            .iter()
            .enumerate()
            .all(|(k, f)| f.index == 2 * k as u64 && f.pts == Time90k(k as i64 * 18000))
    );
    // Same pixels whether or not frames in between were converted.
    assert_eq!(sampled[3].data, all[6].data);
}

#[test]
fn vtest_avi_matches_ffmpeg_cli_rgb() {
    let p = vtest();
    let mut v = open(&p);
    let f = v.next_sampled(&mut FrameSampler::new(0.0)).unwrap().unwrap();
    let d = mean_abs_diff(&f.data, &cli_first_rgb(&p));
    assert!(d < 2.0, "mean abs diff to the ffmpeg CLI {d}");
}

#[test]
fn decode_all_counts_frames() {
    let mut v = open(&vtest());
    assert_eq!(v.decode_all().unwrap(), 795);
    assert_eq!(v.decode_all().unwrap(), 0);
    assert_eq!(v.frames_decoded(), 795);
    assert_eq!(v.packets_read(), 795);

    // Frame threading (0 = FFmpeg's choice) decodes the same frames.
    let mut v = VideoFile::open(&vtest(), &DecodeOptions { threads: 0 }).unwrap();
    let a = collect(&mut v, 5.0);
    assert_eq!(a.len(), 398);
    let mut v = VideoFile::open(&vtest(), &DecodeOptions { threads: 3 }).unwrap();
    assert_eq!(v.decode_all().unwrap(), 795);
}

#[test]
fn car_detection_h264_twelve_and_a_half_fps() {
    let p = footage("car-detection.mp4");
    let mut v = open(&p);
    let i = v.info().clone();
    assert_eq!(i.codec, "h264");
    assert_eq!((i.width, i.height), (768, 432));
    assert_eq!(i.fps, 12.5);
    assert_eq!(i.frames_estimate, Some(377));
    let s = collect(&mut v, 5.0);
    assert_eq!(v.frames_decoded(), 377);
    // 377 frames at 12.5 fps end at 30.08 s: due slots 0, 0.2, ... 30.0 s, one frame each.
    assert_eq!(s.len(), 151);
    for (k, f) in s.iter().enumerate() {
        let lag = f.pts.0 - k as i64 * 18000;
        assert!((0..7200).contains(&lag), "frame {k} at {:?}", f.pts);
        assert!(
            f.index % 5 == 0 || f.index % 5 == 3,
            "12.5 -> 5 fps takes frames 0, 3, 5, 8, ...: {}",
            f.index
        );
    }
    assert_eq!(s[1].pts, Time90k(21600)); // 0.24 s
    let d = mean_abs_diff(&s[0].data, &cli_first_rgb(&p));
    assert!(d < 2.0, "mean abs diff to the ffmpeg CLI {d}");
}

#[test]
fn person_and_bottle_footage_frame_counts() {
    let mut v = open(&footage("one-by-one-person-detection.mp4"));
    assert_eq!(v.info().fps, 10.0);
    assert_eq!(v.info().frames_estimate, Some(1394));
    assert_eq!(v.decode_all().unwrap(), 1394);

    let mut v = open(&footage("bottle-detection.mp4"));
    let i = v.info().clone();
    assert_eq!((i.width, i.height), (640, 360));
    assert!((i.fps - 179.0 / 6.0).abs() < 1e-9);
    let s = collect(&mut v, 10.0);
    assert_eq!(v.frames_decoded(), 1189);
    // 39.85 s at 10 fps, no drift.
    assert!((398..=400).contains(&s.len()), "{}", s.len());
}

#[test]
fn h265_testsrc2() {
    let dir = TempDir::new("hevc");
    let p = make(
        &dir,
        "x.mp4",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25",
            "-t",
            "2",
            "-c:v",
            "libx265",
            "-x265-params",
            "log-level=error",
        ],
    );
    let mut v = open(&p);
    assert_eq!(v.info().codec, "hevc");
    assert_eq!((v.info().width, v.info().height), (320, 240));
    assert_eq!(v.info().fps, 25.0);
    let all = collect(&mut v, 0.0);
    assert_eq!(all.len(), 50);
    assert!(all.iter().enumerate().all(|(i, f)| f.pts == Time90k(i as i64 * 3600)));
    let d = mean_abs_diff(&all[0].data, &cli_first_rgb(&p));
    assert!(d < 2.0, "mean abs diff to the ffmpeg CLI {d}");
}

#[test]
fn red_is_red() {
    let dir = TempDir::new("red");
    for (name, codec) in [("h264.mp4", "libx264"), ("hevc.mp4", "libx265"), ("mpeg4.avi", "mpeg4")] {
        let p = make(
            &dir,
            name,
            &[
                "-f",
                "lavfi",
                "-i",
                "color=c=red:size=320x240:rate=10",
                "-t",
                "1",
                "-c:v",
                codec,
                "-pix_fmt",
                "yuv420p",
            ],
        );
        let mut v = open(&p);
        let f = v.next_sampled(&mut FrameSampler::new(0.0)).unwrap().unwrap();
        for (x, y) in [(0, 0), (160, 120), (319, 239)] {
            let [r, g, b] = f.pixel(x, y);
            assert!(
                r >= 245 && g <= 10 && b <= 10,
                "{name}: pixel ({x}, {y}) is ({r}, {g}, {b})"
            );
        }
    }
}

#[test]
fn odd_sizes_are_packed_rows() {
    let dir = TempDir::new("odd");
    let car = footage("car-detection.mp4");
    let car = car.to_str().unwrap();
    let h264 = make(
        &dir,
        "odd444.mp4",
        &[
            "-i",
            car,
            "-t",
            "2",
            "-an",
            "-vf",
            "scale=767:431,format=yuv444p",
            "-c:v",
            "libx264",
        ],
    );
    let mpeg4 = make(
        &dir,
        "odd.avi",
        &["-i", car, "-t", "2", "-an", "-vf", "scale=767:431", "-c:v", "mpeg4"],
    );
    for (p, codec) in [(h264, "h264"), (mpeg4, "mpeg4")] {
        let mut v = open(&p);
        assert_eq!(v.info().codec, codec);
        assert_eq!((v.info().width, v.info().height), (767, 431));
        let all = collect(&mut v, 0.0);
        assert_eq!(all.len(), 25);
        // A stride mistake would shift every row further: compare with the CLI's own conversion.
        let d = mean_abs_diff(&all[0].data, &cli_first_rgb(&p));
        assert!(d < 2.0, "{codec}: mean abs diff to the ffmpeg CLI {d}");
    }
}

#[test]
fn gif_from_real_footage() {
    let dir = TempDir::new("gif");
    let car = footage("car-detection.mp4");
    let p = make(
        &dir,
        "x.gif",
        &[
            "-ss",
            "5",
            "-t",
            "3",
            "-i",
            car.to_str().unwrap(),
            "-vf",
            "fps=10,scale=321:-1",
        ],
    );
    let mut v = open(&p);
    assert_eq!(v.info().codec, "gif");
    assert_eq!((v.info().width, v.info().height), (321, 181));
    let all = collect(&mut v, 5.0);
    assert!((15..=16).contains(&all.len()), "{}", all.len());
    assert!((30..=31).contains(&v.frames_decoded()), "{}", v.frames_decoded());
    let d = mean_abs_diff(&all[0].data, &cli_first_rgb(&p));
    assert!(d < 2.0, "mean abs diff to the ffmpeg CLI {d}");
}

/// Writes the first half of `src` to `dst`.
fn cut_in_half(src: &Path, dst: &Path) {
    let b = std::fs::read(src).unwrap();
    std::fs::write(dst, &b[..b.len() / 2]).unwrap();
}

/// Decodes until the error; returns it with the number of frames returned before it.
fn decode_until_error(v: &mut VideoFile) -> (vigie_core::Error, usize) {
    let mut s = FrameSampler::new(0.0);
    let mut n = 0;
    loop {
        match v.next_sampled(&mut s) {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!(
                "{}: a truncated file decoded as a short success ({n} frames)",
                v.info().path.display()
            ),
            Err(e) => {
                println!("{n} frames, then: {e}");
                return (e, n);
            }
        }
    }
}

#[test]
fn truncated_mp4_with_moov_at_the_end_does_not_open() {
    let dir = TempDir::new("cut-moov");
    let full = make(
        &dir,
        "full.mp4",
        &[
            "-i",
            footage("car-detection.mp4").to_str().unwrap(),
            "-t",
            "10",
            "-c",
            "copy",
        ],
    );
    let cut = dir.path("cut.mp4");
    cut_in_half(&full, &cut);
    let e = VideoFile::open(&cut, &DecodeOptions::default()).err().unwrap();
    println!("{e}");
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
    assert!(e.to_string().contains(cut.to_str().unwrap()), "{e}");
}

#[test]
fn truncated_faststart_mp4_fails_after_its_frames() {
    let dir = TempDir::new("cut-fast");
    let full = make(
        &dir,
        "full.mp4",
        &[
            "-i",
            footage("car-detection.mp4").to_str().unwrap(),
            "-t",
            "10",
            "-c",
            "copy",
            "-movflags",
            "+faststart",
        ],
    );
    let cut = dir.path("cut.mp4");
    cut_in_half(&full, &cut);
    let mut v = open(&cut); // The moov is intact: it opens.
    assert_eq!(v.info().frames_estimate, Some(125));
    let (e, n) = decode_until_error(&mut v);
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("truncated") && msg.contains(cut.to_str().unwrap()),
        "{msg}"
    );
    assert!((20..125).contains(&n), "{n} frames before the error");
    // After the error, the end.
    assert!(v.next_sampled(&mut FrameSampler::new(0.0)).unwrap().is_none());

    // decode_all fails the same way.
    let mut v = open(&cut);
    let e = v.decode_all().unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
}

#[test]
fn truncated_avi_fails_after_its_frames() {
    let dir = TempDir::new("cut-avi");
    let cut = dir.path("cut.avi");
    cut_in_half(&vtest(), &cut);
    let mut v = open(&cut);
    let (e, n) = decode_until_error(&mut v);
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!((350..795).contains(&n), "{n} frames before the error");
}

/// Overwrites 3000-byte spans at 12, 24, ... 60 % of the file with noise.
fn scribble(src: &Path, dst: &Path) {
    let mut b = std::fs::read(src).unwrap();
    let n = b.len();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for k in 1..6 {
        let at = n * (k * 12) / 100;
        for x in &mut b[at..at + 3000] {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            *x = seed as u8;
        }
    }
    std::fs::write(dst, &b).unwrap();
}

#[test]
fn truncated_matroska_fails_after_its_frames() {
    // Matroska declares no frame count, only the segment duration in its header.
    let dir = TempDir::new("cut-mkv");
    let full = make(
        &dir,
        "full.mkv",
        &[
            "-i",
            footage("car-detection.mp4").to_str().unwrap(),
            "-t",
            "10",
            "-c",
            "copy",
        ],
    );
    let cut = dir.path("cut.mkv");
    cut_in_half(&full, &cut);
    let mut v = open(&cut);
    let (e, n) = decode_until_error(&mut v);
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!((20..125).contains(&n), "{n} frames before the error");
}

#[test]
fn complete_files_in_other_containers_are_not_truncated() {
    // The truncation checks must not fire on complete files, with audio, edit lists or no declared counts.
    let dir = TempDir::new("containers");
    let car = footage("car-detection.mp4");
    let car = car.to_str().unwrap();
    for (name, args, frames) in [
        ("a.mkv", &["-i", car, "-t", "10", "-c", "copy"][..], 125),
        ("a.ts", &["-i", car, "-t", "10", "-c", "copy"][..], 125),
        ("a.mov", &["-i", car, "-t", "10", "-c", "copy"][..], 125),
        // Cut with -ss and stream copy: an edit list that hides the frames before the cut point.
        ("edit.mp4", &["-ss", "1.3", "-i", car, "-t", "5", "-c", "copy"][..], 62),
    ] {
        let p = make(&dir, name, args);
        let mut v = open(&p);
        let s = collect(&mut v, 0.0);
        assert_eq!(s.len(), frames, "{name}");
        assert_eq!(v.corrupt_packets(), 0, "{name}");
    }
}

#[test]
fn corrupt_packets_in_the_middle_are_skipped() {
    let dir = TempDir::new("corrupt");
    let car = footage("car-detection.mp4");
    let car = car.to_str().unwrap();
    // MP4 with the moov at the end: the noise lands in packet payloads only, which the decoder rejects.
    let src = make(
        &dir,
        "src.mp4",
        &["-i", car, "-t", "10", "-an", "-c:v", "libx264", "-g", "10"],
    );
    let bad = dir.path("bad.mp4");
    scribble(&src, &bad);
    let mut v = open(&bad);
    let s = collect(&mut v, 0.0);
    assert!(v.corrupt_packets() >= 3, "{} corrupt packets", v.corrupt_packets());
    assert!(s.len() >= 100 && s.len() < 125, "{} frames", s.len());

    // AVI: the noise also breaks chunk headers and the demuxer loses whole packets resyncing past them. Every
    // frame left is decoded, then the loss is reported: the file holds fewer packets than it declares.
    let src = make(
        &dir,
        "src.avi",
        &["-i", car, "-t", "10", "-an", "-c:v", "mpeg4", "-g", "10"],
    );
    let bad = dir.path("bad.avi");
    scribble(&src, &bad);
    let mut v = open(&bad);
    let (e, n) = decode_until_error(&mut v);
    assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
    assert!(e.to_string().contains("declares 125 video frames"), "{e}");
    assert!((100..125).contains(&n), "{n} frames");
}

#[test]
fn garbage_in_a_video_container_is_an_error() {
    // An AVI whose every packet is noise: nothing decodes, which is an error, not an empty success. A long one is
    // given up on early rather than read to the end.
    let dir = TempDir::new("garbage");
    for (secs, expected) in [
        ("3", "no video frame could be decoded"),
        ("30", "first 256 video packets all failed"),
    ] {
        let src = make(
            &dir,
            "src.avi",
            &[
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=320x240:rate=10",
                "-t",
                secs,
                "-c:v",
                "mpeg4",
                "-g",
                "1",
            ],
        );
        let mut b = std::fs::read(&src).unwrap();
        // Overwrite every chunk payload ("00dc" + size) of the movi list with noise, leaving the structure and the
        // index (idx1) intact.
        let find = |b: &[u8], tag: &[u8]| b.windows(4).position(|w| w == tag).unwrap();
        let mut i = find(&b, b"movi");
        let idx1 = find(&b, b"idx1");
        let mut seed = 1u32;
        while let Some(pos) = b[i..idx1].windows(4).position(|w| w == b"00dc") {
            let at = i + pos;
            let size = u32::from_le_bytes(b[at + 4..at + 8].try_into().unwrap()) as usize;
            let payload = at + 8..(at + 8 + size).min(idx1);
            for x in &mut b[payload.clone()] {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                *x = (seed >> 16) as u8;
            }
            i = payload.end.max(at + 4);
        }
        let bad = dir.path("bad.avi");
        std::fs::write(&bad, &b).unwrap();
        let mut v = open(&bad);
        let e = v.decode_all().unwrap_err();
        println!("{e}");
        assert_eq!(e.kind(), ErrorKind::InvalidData, "{e}");
        assert!(
            e.to_string().contains("bad.avi") && e.to_string().contains(expected),
            "{e}"
        );
        assert_eq!(v.frames_decoded(), 0);
    }
}

#[test]
fn a_text_file_is_not_a_video() {
    let dir = TempDir::new("text");
    let p = dir.path("notes.mp4");
    std::fs::write(&p, "These are meeting notes, not a video.\n".repeat(100)).unwrap();
    let e = VideoFile::open(&p, &DecodeOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(
        e.to_string().contains("not a video") && e.to_string().contains("notes.mp4"),
        "{e}"
    );
    assert_eq!(probe(&p).unwrap_err().kind(), ErrorKind::InvalidData);
}

#[test]
fn audio_only_is_not_a_video() {
    let dir = TempDir::new("audio");
    let p = make(
        &dir,
        "a.m4a",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac"],
    );
    let e = VideoFile::open(&p, &DecodeOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidData);
    assert!(e.to_string().contains("no video stream"), "{e}");
}

#[test]
fn missing_file_and_directory() {
    let dir = TempDir::new("missing");
    let p = dir.path("nope.mp4");
    let e = VideoFile::open(&p, &DecodeOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.to_string().contains("nope.mp4"), "{e}");

    let e = VideoFile::open(&dir.0, &DecodeOptions::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains(dir.0.to_str().unwrap()), "{e}");
}

/// Decode speed of vtest.avi (MS-MPEG4) and car-detection.mp4 (H.264), 1 thread and FFmpeg's choice; run with
/// `cargo test --release -p vigie-video --test decode -- --ignored --nocapture bench`.
#[test]
#[ignore]
fn bench_decode() {
    for (path, frames) in [(vtest(), 795), (footage("car-detection.mp4"), 377)] {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for threads in [1, 0] {
            let opts = DecodeOptions { threads };
            let mut best = f64::MAX;
            for _ in 0..5 {
                let t = std::time::Instant::now();
                let mut v = VideoFile::open(&path, &opts).unwrap();
                assert_eq!(v.decode_all().unwrap(), frames);
                best = best.min(t.elapsed().as_secs_f64());
            }
            let mut rgb = f64::MAX;
            for _ in 0..3 {
                let t = std::time::Instant::now();
                let mut v = VideoFile::open(&path, &opts).unwrap();
                let mut s = FrameSampler::new(0.0);
                while let Some(f) = v.next_sampled(&mut s).unwrap() {
                    std::hint::black_box(&f);
                }
                rgb = rgb.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{name} threads={threads}: decode_all {:.0} fps ({best:.3} s, best of 5); \
                 decode + RGB every frame {:.0} fps (best of 3)",
                frames as f64 / best,
                frames as f64 / rgb
            );
        }
    }
}
