//! Real footage played as a camera: loops with continuous timestamps, paced at `speed` times real time.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use vigie_core::VideoCodec;
use vigie_ingest::{CameraMsg, CameraSourceConfig, CameraState, FileCamera, FileOptions, SystemClock, run_camera};

use common::{car, ffprobe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_camera_loops_on_one_timeline_at_speed() {
    let probe = ffprobe(&car(), 400);
    let per_pass = probe.keys.len(); // 377 frames, 30.16 s at 12.5 fps
    assert!(per_pass > 300, "{per_pass}");
    let speed = 40.0;
    let opts = FileOptions::new(car()).with_speed(speed);
    let mut cam = FileCamera::open(&opts, Arc::new(SystemClock)).expect("opens");
    assert_eq!(cam.params().codec, VideoCodec::H264);
    assert_eq!((cam.params().width, cam.params().height), (probe.width, probe.height));
    let t = Instant::now();
    let mut frames = Vec::new();
    for _ in 0..per_pass + 50 {
        frames.push(cam.next_frame().await.expect("reads").expect("loops forever"));
    }
    let took = t.elapsed().as_secs_f64();
    // Timestamps strictly increase across the loop, by one frame (7200 ticks) each, the loop included.
    for (i, w) in frames.windows(2).enumerate() {
        assert_eq!(w[1].dts.0 - w[0].dts.0, 7200, "frame {i}");
        assert!(Arc::ptr_eq(&w[0].params, &w[1].params));
    }
    assert_eq!(frames[0].pts.0, 0);
    assert!(
        frames[0].is_key && frames[per_pass].is_key,
        "the second pass starts on a key frame"
    );
    let media = (frames[frames.len() - 1].dts.0 - frames[0].dts.0) as f64 / 90_000.0;
    let expected = media / speed;
    let wall = (frames[frames.len() - 1].wall_ms - frames[0].wall_ms) as f64 / 1000.0;
    eprintln!(
        "{} frames, {media:.2} s of video in {took:.2} s at {speed}x (expected {expected:.2} s)",
        frames.len()
    );
    assert!(
        (wall - expected).abs() < 0.25,
        "paced: wall {wall:.2} s vs {expected:.2} s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_camera_through_the_supervisor_and_a_missing_file() {
    let (tx, mut rx) = mpsc::channel(8);
    let (stop_tx, stop_rx) = watch::channel(false);
    let cfg = CameraSourceConfig::file(FileOptions::new(car()).with_speed(20.0));
    let task = tokio::spawn(run_camera(cfg, tx, stop_rx));
    let mut n = 0;
    let mut states = Vec::new();
    while n < 100 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(CameraMsg::Frame(_))) => n += 1,
            Ok(Some(CameraMsg::State { state, .. })) => states.push(state),
            Ok(Some(CameraMsg::Gap { .. })) => panic!("no gap"),
            _ => panic!("frames stopped"),
        }
    }
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");
    assert_eq!(states, [CameraState::Connecting, CameraState::Streaming]);

    // A missing file: a clear error naming it, as the camera state.
    let (tx, mut rx) = mpsc::channel(8);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run_camera(
        CameraSourceConfig::file(FileOptions::new("/nonexistent/cam.mp4")),
        tx,
        stop_rx,
    ));
    let mut detail = String::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await {
        if let CameraMsg::State { detail: d, .. } = m
            && d.contains("nonexistent")
            && !d.starts_with("connecting")
        {
            detail = d;
            break;
        }
    }
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");
    eprintln!("missing file: {detail}");
    assert!(detail.contains("/nonexistent/cam.mp4"), "{detail}");
    assert!(
        FileOptions::new(car()).with_speed(0.0).validate().is_err(),
        "speed 0 is refused"
    );
}
