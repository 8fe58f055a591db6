//! RTSP ingest against a real RTSP server (GStreamer's, `scripts/rtsp-server.py`) on loopback, serving real
//! footage without re-encoding; faults made by killing, freezing and restarting it, and by fake servers.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use vigie_core::media::avcc_nal_units;
use vigie_core::{EncodedFrame, ErrorKind, VideoCodec};
use vigie_ingest::{
    CameraMsg, CameraSourceConfig, CameraState, HealthConfig, RtspOptions, RtspSource, SystemClock, Transport,
    run_camera,
};

use common::{car, ffprobe, parameter_sets, unix_ms};

const SECRET: &str = "hunter2-Secret";

async fn read_frames(src: &mut RtspSource, n: usize) -> Vec<EncodedFrame> {
    let mut out = Vec::new();
    while out.len() < n {
        let f = tokio::time::timeout(Duration::from_secs(10), src.next_frame())
            .await
            .expect("a frame within 10 s")
            .expect("no error")
            .expect("stream goes on");
        out.push(f);
    }
    out
}

/// Checks frames against the file they were served from.
fn check_against_file(frames: &[EncodedFrame], probe: &common::Probe, codec: VideoCodec) {
    let p = &frames[0].params;
    assert_eq!(p.codec, codec);
    assert_eq!(
        (p.width, p.height),
        (probe.width, probe.height),
        "dimensions as ffprobe reads them"
    );
    let h265 = codec == VideoCodec::H265;
    assert_eq!(
        parameter_sets(&p.extradata, h265),
        parameter_sets(&probe.extradata, h265),
        "the stream's parameter sets are the file's"
    );
    assert!(
        frames.iter().all(|f| Arc::ptr_eq(&f.params, p)),
        "one params Arc while they do not change"
    );
    // Same key frames as the file, from its first frame; pts from 0 on the 90 kHz clock at the file's rate.
    let keys: Vec<bool> = frames.iter().map(|f| f.is_key).collect();
    assert_eq!(keys, probe.keys[..frames.len()], "key frames where the file has them");
    assert_eq!(frames[0].pts.0, 0);
    for w in frames.windows(2) {
        assert_eq!(w[1].pts.0 - w[0].pts.0, 7200, "12.5 fps is 7200 ticks a frame");
        assert_eq!(w[1].dts, w[1].pts);
        assert!(w[1].wall_ms >= w[0].wall_ms);
    }
    for f in frames {
        assert!(!f.loss_before);
        let nals = avcc_nal_units(&f.data).expect("AVCC/HVCC samples");
        assert!(!nals.is_empty());
        for n in nals {
            let t = if h265 { (n[0] >> 1) & 0x3f } else { n[0] & 0x1f };
            let is_ps = if h265 { (32..=34).contains(&t) } else { t == 7 || t == 8 };
            assert!(!is_ps, "parameter sets travel in params.extradata, not in samples");
        }
    }
    // Real time: 30 frames at 12.5 fps span 2.3 s of wall time (give or take the server's start).
    let span = frames[frames.len() - 1].wall_ms - frames[0].wall_ms;
    assert!((1500..4000).contains(&span), "wall span {span} ms");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_over_tcp_and_udp_matches_the_file() {
    let server = server_or_skip!(&car(), 0, "/cam", &[]);
    let probe = ffprobe(&car(), 30);
    assert_eq!(probe.codec, "h264");
    for transport in [Transport::Tcp, Transport::Udp] {
        let opts = RtspOptions::parse(&server.url())
            .expect("url")
            .with_transport(transport);
        let mut src = RtspSource::connect(&opts, Arc::new(SystemClock))
            .await
            .expect("connects");
        let frames = read_frames(&mut src, 30).await;
        check_against_file(&frames, &probe, VideoCodec::H264);
        eprintln!(
            "{transport:?}: 30 frames, params {:?}",
            (frames[0].params.width, frames[0].params.height)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h265_over_tcp_and_udp_matches_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = common::make_h265(&car(), 6, dir.path());
    let server = server_or_skip!(&file, 0, "/h265", &["--codec", "auto"]);
    let probe = ffprobe(&file, 30);
    assert_eq!(probe.codec, "hevc");
    for transport in [Transport::Tcp, Transport::Udp] {
        let opts = RtspOptions::parse(&server.url())
            .expect("url")
            .with_transport(transport);
        let mut src = RtspSource::connect(&opts, Arc::new(SystemClock))
            .await
            .expect("connects");
        let frames = read_frames(&mut src, 30).await;
        check_against_file(&frames, &probe, VideoCodec::H265);
    }
}

/// Collects messages until `until` says so or `limit` passes.
async fn collect(
    rx: &mut mpsc::Receiver<CameraMsg>,
    log: &mut Vec<(i64, CameraMsg)>,
    limit: Duration,
    mut until: impl FnMut(&CameraMsg) -> bool,
) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(m)) => {
                let done = until(&m);
                log.push((unix_ms(), m));
                if done {
                    return true;
                }
            }
            Ok(None) | Err(_) => return false,
        }
    }
}

fn frame_walls(log: &[(i64, CameraMsg)]) -> Vec<i64> {
    log.iter()
        .filter_map(|(_, m)| match m {
            CameraMsg::Frame(f) => Some(f.wall_ms),
            _ => None,
        })
        .collect()
}

fn gaps(log: &[(i64, CameraMsg)]) -> Vec<(i64, i64, String)> {
    log.iter()
        .filter_map(|(_, m)| match m {
            CameraMsg::Gap {
                from_unix_ms,
                to_unix_ms,
                reason,
            } => Some((*from_unix_ms, *to_unix_ms, reason.clone())),
            _ => None,
        })
        .collect()
}

fn states(log: &[(i64, CameraMsg)]) -> Vec<(CameraState, i64, String)> {
    log.iter()
        .filter_map(|(_, m)| match m {
            CameraMsg::State {
                state,
                at_unix_ms,
                detail,
            } => Some((*state, *at_unix_ms, detail.clone())),
            _ => None,
        })
        .collect()
}

/// The server killed (SIGKILL) mid-stream and started again 3 s later on the same port.
async fn killed_and_restarted(transport: Transport) {
    let mut server = server_or_skip!(&car(), 0, "/cam", &[]);
    let opts = RtspOptions::parse(&server.url())
        .expect("url")
        .with_credentials("admin", SECRET)
        .with_transport(transport);
    let (tx, mut rx) = mpsc::channel(64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run_camera(CameraSourceConfig::rtsp(opts), tx, stop_rx));
    let mut log = Vec::new();
    let mut n = 0;
    assert!(
        collect(&mut rx, &mut log, Duration::from_secs(15), |m| {
            n += matches!(m, CameraMsg::Frame(_)) as u32;
            n >= 25
        })
        .await,
        "streams: {:?}",
        states(&log)
    );
    let kill_ms = unix_ms();
    server.kill();
    // Out of service for 3 s.
    collect(&mut rx, &mut log, Duration::from_secs(3), |_| false).await;
    let states_down = states(&log);
    server.restart();
    let back_ms = unix_ms();
    let resumed = collect(
        &mut rx,
        &mut log,
        Duration::from_secs(10),
        |m| matches!(m, CameraMsg::Frame(f) if f.wall_ms > back_ms),
    )
    .await;
    assert!(resumed, "frames resume after the restart: {:?}", states(&log));
    // A second of streaming after the return, then stop.
    collect(&mut rx, &mut log, Duration::from_secs(1), |_| false).await;
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");

    let lost = states_down
        .iter()
        .find(|s| matches!(s.0, CameraState::Connecting | CameraState::Stalled) && s.1 >= kill_ms - 50)
        .unwrap_or_else(|| panic!("no connecting/stalled state after the kill: {states_down:?}"))
        .clone();
    let walls = frame_walls(&log);
    let last_before = walls
        .iter()
        .copied()
        .filter(|&w| w <= lost.1)
        .max()
        .expect("frames before");
    let first_after = walls.iter().copied().find(|&w| w > back_ms).expect("frames after");
    let g = gaps(&log);
    eprintln!(
        "{transport:?}: kill -> {} {} ms later ({}); server back -> first frame {} ms later; gap {:?}",
        lost.0,
        lost.1 - kill_ms,
        lost.2,
        first_after - back_ms,
        g.iter().map(|g| (g.0 - kill_ms, g.1 - kill_ms)).collect::<Vec<_>>()
    );
    assert!(lost.1 - kill_ms <= 5000, "interruption noticed within 5 s: {lost:?}");
    assert!(
        first_after - back_ms <= 2000,
        "frames resume within 2 s of the server's return"
    );
    assert_eq!(g.len(), 1, "one gap for one outage: {g:?}");
    assert_eq!(
        (g[0].0, g[0].1),
        (last_before, first_after),
        "the gap spans the outage exactly"
    );
    assert!(!g[0].2.is_empty());
    for (_, m) in &log {
        let text = format!("{m:?}");
        assert!(
            !text.contains(SECRET) && !text.contains("admin"),
            "credentials leaked: {text}"
        );
    }
    let st = states(&log);
    assert_eq!(st.last().map(|s| s.0), Some(CameraState::Streaming), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_restarted_tcp() {
    killed_and_restarted(Transport::Tcp).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_restarted_udp() {
    killed_and_restarted(Transport::Udp).await;
}

/// The server frozen (SIGSTOP): the connection stays open and silent, a stall; thawed (SIGCONT), frames resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frozen_server_is_a_stall_detected_within_5_s() {
    let server = server_or_skip!(&car(), 0, "/cam", &[]);
    let opts = RtspOptions::parse(&server.url()).expect("url");
    let (tx, mut rx) = mpsc::channel(64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run_camera(CameraSourceConfig::rtsp(opts), tx, stop_rx));
    let mut log = Vec::new();
    let mut n = 0;
    assert!(
        collect(&mut rx, &mut log, Duration::from_secs(15), |m| {
            n += matches!(m, CameraMsg::Frame(_)) as u32;
            n >= 20
        })
        .await
    );
    let stop_ms = unix_ms();
    server.signal("STOP");
    let stalled = collect(&mut rx, &mut log, Duration::from_secs(8), |m| {
        matches!(
            m,
            CameraMsg::State {
                state: CameraState::Stalled,
                ..
            }
        )
    })
    .await;
    // Frozen 1 s more, then thawed: the reconnection (DESCRIBE waiting in the frozen server's backlog) goes
    // through.
    collect(&mut rx, &mut log, Duration::from_secs(1), |_| false).await;
    server.signal("CONT");
    let cont_ms = unix_ms();
    let resumed = collect(
        &mut rx,
        &mut log,
        Duration::from_secs(12),
        |m| matches!(m, CameraMsg::Frame(f) if f.wall_ms > cont_ms),
    )
    .await;
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");

    assert!(stalled, "a stall: {:?}", states(&log));
    let st = states(&log);
    let s = st.iter().find(|s| s.0 == CameraState::Stalled).expect("stalled");
    let walls = frame_walls(&log);
    let last = walls.iter().copied().filter(|&w| w <= s.1).max().expect("frames");
    let first_after = walls.iter().copied().find(|&w| w > cont_ms);
    eprintln!(
        "SIGSTOP -> stalled {} ms later ({} ms after the last frame; {}); SIGCONT -> first frame {:?} ms later; gaps {:?}",
        s.1 - stop_ms,
        s.1 - last,
        s.2,
        first_after.map(|f| f - cont_ms),
        gaps(&log)
            .iter()
            .map(|g| (g.0 - stop_ms, g.1 - stop_ms))
            .collect::<Vec<_>>()
    );
    assert!(
        (5000..5300).contains(&(s.1 - last)),
        "stall declared 5 s after the last frame"
    );
    assert!(
        s.1 - stop_ms <= 5300,
        "stall detected within 5 s of the freeze (+ scheduling)"
    );
    assert!(resumed, "frames resume after SIGCONT: {st:?}");
    assert_eq!(gaps(&log).len(), 1);
}

/// A TCP server that answers every connection with `reply(request)`.
async fn fake_server(reply: fn(&str) -> Vec<u8>, close: bool) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                loop {
                    let n = match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    let req = String::from_utf8_lossy(&buf[..n]).to_string();
                    if sock.write_all(&reply(&req)).await.is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    port
}

fn cseq(req: &str) -> String {
    req.lines()
        .find_map(|l| l.strip_prefix("CSeq:"))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "1".into())
}

fn noise(_: &str) -> Vec<u8> {
    (0..2000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

fn http_answer(_: &str) -> Vec<u8> {
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_vec()
}

fn bad_sdp(req: &str) -> Vec<u8> {
    let body = "v=0\r\nthis is not sdp\r\nm=video banana\r\n";
    format!(
        "RTSP/1.0 200 OK\r\nCSeq: {}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        cseq(req),
        body.len()
    )
    .into_bytes()
}

fn audio_only(req: &str) -> Vec<u8> {
    let body = "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    format!(
        "RTSP/1.0 200 OK\r\nCSeq: {}\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{body}",
        cseq(req),
        body.len()
    )
    .into_bytes()
}

fn hang_up(_: &str) -> Vec<u8> {
    Vec::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_servers_give_clear_errors_and_no_panic() {
    for (name, reply, close) in [
        ("binary noise", noise as fn(&str) -> Vec<u8>, false),
        ("an HTTP server", http_answer, false),
        ("bad SDP", bad_sdp, false),
        ("audio only", audio_only, false),
        ("hang-up", hang_up, true),
    ] {
        let port = fake_server(reply, close).await;
        let url = format!("rtsp://admin:{SECRET}@127.0.0.1:{port}/cam");
        let opts = RtspOptions::parse(&url).expect("url");
        let mut opts2 = opts.clone();
        opts2.connect_timeout = Duration::from_secs(3);
        let t = Instant::now();
        let e = RtspSource::connect(&opts2, Arc::new(SystemClock))
            .await
            .expect_err("garbage is an error");
        let msg = e.to_string();
        eprintln!("{name}: {:?} in {:?}: {msg}", e.kind(), t.elapsed());
        assert!(
            msg.contains(&format!("rtsp://127.0.0.1:{port}/cam")),
            "names the camera: {msg}"
        );
        assert!(!msg.contains(SECRET) && !msg.contains("admin"), "{msg}");
        assert!(!msg.contains('\n'), "one line: {msg}");
        if name == "audio only" {
            assert_eq!(e.kind(), ErrorKind::InvalidData, "{msg}");
        }

        // The supervisor keeps trying, never streams, never panics.
        let (tx, mut rx) = mpsc::channel(16);
        let (stop_tx, stop_rx) = watch::channel(false);
        let cfg = CameraSourceConfig::rtsp(opts2).with_health(HealthConfig {
            fail_after: 3,
            ..HealthConfig::default()
        });
        let task = tokio::spawn(run_camera(cfg, tx, stop_rx));
        let mut log = Vec::new();
        let failed = collect(&mut rx, &mut log, Duration::from_secs(12), |m| {
            matches!(
                m,
                CameraMsg::State {
                    state: CameraState::Failed,
                    ..
                }
            )
        })
        .await;
        stop_tx.send(true).expect("stop");
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stops")
            .expect("no panic");
        let st = states(&log);
        assert!(failed, "{name}: {st:?}");
        assert!(st.iter().all(|s| s.0 != CameraState::Streaming), "{st:?}");
        assert!(frame_walls(&log).is_empty());
        assert!(
            st[1].0 == CameraState::Connecting && st[1].2.contains("127.0.0.1"),
            "{st:?}"
        );
        for s in &st {
            assert!(!s.2.contains(SECRET), "{s:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_path_is_a_clear_404_without_the_password() {
    let server = server_or_skip!(&car(), 0, "/cam", &[]);
    let url = format!("rtsp://admin:{SECRET}@127.0.0.1:{}/no-such-path", server.port);
    let opts = RtspOptions::parse(&url).expect("url");
    let e = RtspSource::connect(&opts, Arc::new(SystemClock))
        .await
        .expect_err("404");
    let msg = e.to_string();
    eprintln!("wrong path: {msg}");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{msg}");
    assert!(msg.contains("404"), "{msg}");
    assert!(msg.contains("/no-such-path"), "{msg}");
    for shown in [msg.clone(), format!("{e:?}"), format!("{opts:?}")] {
        assert!(!shown.contains(SECRET) && !shown.contains("admin"), "{shown}");
    }

    // Through the supervisor: the 404 reaches the state at once, and Failed after `fail_after` refusals.
    let (tx, mut rx) = mpsc::channel(16);
    let (stop_tx, stop_rx) = watch::channel(false);
    let cfg = CameraSourceConfig::rtsp(opts).with_health(HealthConfig {
        fail_after: 3,
        ..HealthConfig::default()
    });
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains(SECRET), "{dbg}");
    let task = tokio::spawn(run_camera(cfg, tx, stop_rx));
    let mut log = Vec::new();
    let failed = collect(&mut rx, &mut log, Duration::from_secs(10), |m| {
        matches!(
            m,
            CameraMsg::State {
                state: CameraState::Failed,
                ..
            }
        )
    })
    .await;
    stop_tx.send(true).expect("stop");
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("stops")
        .expect("no panic");
    let st = states(&log);
    assert!(failed, "{st:?}");
    assert!(st[1].2.contains("404"), "{st:?}");
    assert!(st.iter().all(|s| !s.2.contains(SECRET)));
    // Refusals back off 0.5 s then 1 s: Failed at the third, 1.5 s after the first.
    let first = st[1].1;
    let fail = st.last().map(|s| s.1).unwrap_or(0);
    assert!((1300..3000).contains(&(fail - first)), "{st:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_reach_the_camera_and_a_wrong_password_is_a_clear_401() {
    let server = server_or_skip!(&car(), 0, "/cam", &["--user", "viewer", "--password", SECRET]);
    let good = format!(
        "rtsp://viewer:{}@127.0.0.1:{}/cam",
        SECRET.replace('-', "%2D"),
        server.port
    );
    let opts = RtspOptions::parse(&good).expect("url");
    let mut src = RtspSource::connect(&opts, Arc::new(SystemClock))
        .await
        .expect("right credentials");
    let frames = read_frames(&mut src, 3).await;
    assert!(frames[0].is_key);
    drop(src);

    let bad = RtspOptions::parse(&server.url())
        .expect("url")
        .with_credentials("viewer", "wrong-password-42");
    let e = RtspSource::connect(&bad, Arc::new(SystemClock)).await.expect_err("401");
    let msg = e.to_string();
    eprintln!("wrong password: {msg}");
    assert_eq!(e.kind(), ErrorKind::Config, "{msg}");
    assert!(msg.contains("401"), "{msg}");
    assert!(!msg.contains("wrong-password-42") && !msg.contains("viewer"), "{msg}");

    let none = RtspOptions::parse(&server.url()).expect("url");
    let e = RtspSource::connect(&none, Arc::new(SystemClock))
        .await
        .expect_err("401");
    assert!(e.to_string().contains("401"), "{e}");
}
