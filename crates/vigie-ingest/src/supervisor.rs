//! The task that keeps one camera source going: connect, forward frames, watch health, reconnect with backoff.
//!
//! Messages on the channel, in order:
//! - `State` at start (`connecting`) and at each [`Transition`](crate::Transition) of [`Health`];
//! - for each interruption after frames had flowed, one `Gap` from the wall time of the last frame before the
//!   failure to that of the first frame after reconnection, sent just before that frame (and before its
//!   `State { streaming }`); an interruption still open at shutdown is not reported as a gap;
//! - every frame, in order, none dropped: when the channel is full the task waits (back-pressure), and the wait does
//!   not count towards a stall. Consumers that may fall behind (analysis) drop on their side.
//!
//! A stall (an open connection without frames for `stall_after`) closes the connection and reconnects. Frames of
//! successive connections that carry equal parameters share one `Arc<StreamParams>`, so a consumer can compare
//! pointers to see a change. The task ends at shutdown or when the receiver is dropped.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use vigie_core::{EncodedFrame, Error, ErrorKind, Result, StreamParams};

use crate::clock::{Clock, SystemClock};
use crate::file::{FileCamera, FileOptions};
use crate::health::{CameraState, FailureClass, Health, HealthConfig, Transition};
use crate::rtsp::{RtspOptions, RtspSource};

/// What a camera task sends.
#[derive(Debug)]
pub enum CameraMsg {
    Frame(EncodedFrame),
    State {
        state: CameraState,
        at_unix_ms: i64,
        /// One line: the error, the stall, "receiving frames", "connecting to URL". Never credentials.
        detail: String,
    },
    /// Recording is missing this span of wall time.
    Gap {
        from_unix_ms: i64,
        to_unix_ms: i64,
        reason: String,
    },
}

/// Where a camera's frames come from.
#[derive(Clone, Debug)]
pub enum SourceConfig {
    Rtsp(RtspOptions),
    File(FileOptions),
}

impl SourceConfig {
    /// The source as it may be shown (URL redacted).
    pub fn describe(&self) -> String {
        match self {
            SourceConfig::Rtsp(o) => o.redacted_url(),
            SourceConfig::File(f) => format!("file {}", f.path.display()),
        }
    }
}

/// One camera source for [`run_camera`].
#[derive(Clone, Debug)]
pub struct CameraSourceConfig {
    pub source: SourceConfig,
    pub health: HealthConfig,
}

impl CameraSourceConfig {
    pub fn rtsp(opts: RtspOptions) -> Self {
        CameraSourceConfig {
            source: SourceConfig::Rtsp(opts),
            health: HealthConfig::default(),
        }
    }

    pub fn file(opts: FileOptions) -> Self {
        CameraSourceConfig {
            source: SourceConfig::File(opts),
            health: HealthConfig::default(),
        }
    }

    pub fn with_health(mut self, health: HealthConfig) -> Self {
        self.health = health;
        self
    }
}

/// When [`run_camera`] stops: a flag it checks every 50 ms, a watch channel (stops on `true` or when the sender is
/// dropped), any future, or never (the task then ends when the receiver is dropped).
pub enum Shutdown {
    Flag(Arc<AtomicBool>),
    Watch(watch::Receiver<bool>),
    Future(Pin<Box<dyn Future<Output = ()> + Send>>),
    Never,
}

impl fmt::Debug for Shutdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Shutdown::Flag(_) => "Shutdown::Flag",
            Shutdown::Watch(_) => "Shutdown::Watch",
            Shutdown::Future(_) => "Shutdown::Future",
            Shutdown::Never => "Shutdown::Never",
        })
    }
}

impl From<Arc<AtomicBool>> for Shutdown {
    fn from(f: Arc<AtomicBool>) -> Self {
        Shutdown::Flag(f)
    }
}

impl From<watch::Receiver<bool>> for Shutdown {
    fn from(w: watch::Receiver<bool>) -> Self {
        Shutdown::Watch(w)
    }
}

impl Shutdown {
    pub fn from_future(f: impl Future<Output = ()> + Send + 'static) -> Self {
        Shutdown::Future(Box::pin(f))
    }

    /// Resolves when it is time to stop (again and again once it is).
    pub async fn wait(&mut self) {
        match self {
            Shutdown::Flag(f) => {
                while !f.load(Ordering::Relaxed) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Shutdown::Watch(w) => {
                let _ = w.wait_for(|stop| *stop).await;
            }
            Shutdown::Future(fut) => {
                fut.as_mut().await;
                *self = Shutdown::Flag(Arc::new(AtomicBool::new(true)));
            }
            Shutdown::Never => std::future::pending::<()>().await,
        }
    }
}

/// Runs one camera source until shutdown (or until `tx`'s receiver is dropped), on the system clock. See the
/// module documentation for what it sends.
pub async fn run_camera(cfg: CameraSourceConfig, tx: mpsc::Sender<CameraMsg>, shutdown: impl Into<Shutdown>) {
    run_camera_with_clock(cfg, tx, shutdown, Arc::new(SystemClock)).await
}

/// [`run_camera`] on a given clock.
pub async fn run_camera_with_clock(
    cfg: CameraSourceConfig,
    tx: mpsc::Sender<CameraMsg>,
    shutdown: impl Into<Shutdown>,
    clock: Arc<dyn Clock>,
) {
    let connector = Connector {
        source: cfg.source,
        clock: clock.clone(),
    };
    supervise(connector, cfg.health, tx, shutdown.into(), clock).await
}

/// A connected source, as the supervisor sees it.
pub(crate) trait Source: Send {
    fn next_frame(&mut self) -> impl Future<Output = Result<Option<EncodedFrame>>> + Send;
}

/// Makes connections, as the supervisor sees it.
pub(crate) trait Connect: Send {
    type Src: Source;
    /// What the source is, for messages (no credentials).
    fn describe(&self) -> String;
    fn connect(&mut self) -> impl Future<Output = Result<Self::Src>> + Send;
}

struct Connector {
    source: SourceConfig,
    clock: Arc<dyn Clock>,
}

enum AnySource {
    Rtsp(Box<RtspSource>),
    File(Box<FileCamera>),
}

impl Source for AnySource {
    async fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
        match self {
            AnySource::Rtsp(s) => s.next_frame().await,
            AnySource::File(f) => f.next_frame().await,
        }
    }
}

impl Connect for Connector {
    type Src = AnySource;

    fn describe(&self) -> String {
        self.source.describe()
    }

    async fn connect(&mut self) -> Result<AnySource> {
        match &self.source {
            SourceConfig::Rtsp(o) => Ok(AnySource::Rtsp(Box::new(
                RtspSource::connect(o, self.clock.clone()).await?,
            ))),
            SourceConfig::File(o) => Ok(AnySource::File(Box::new(FileCamera::open(o, self.clock.clone())?))),
        }
    }
}

/// Whether retrying soon may help (see [`FailureClass`]).
pub(crate) fn failure_class(e: &Error) -> FailureClass {
    match e.kind() {
        ErrorKind::Io => FailureClass::Unreachable,
        _ => FailureClass::Refused,
    }
}

/// The sending half, with what the messages need.
struct Out {
    tx: mpsc::Sender<CameraMsg>,
    clock: Arc<dyn Clock>,
}

/// The receiver is gone, or it is shutdown time: stop.
struct Stop;

impl Out {
    async fn send(&self, msg: CameraMsg, shutdown: &mut Shutdown) -> Result<(), Stop> {
        tokio::select! {
            biased;
            _ = shutdown.wait() => Err(Stop),
            r = self.tx.send(msg) => r.map_err(|_| Stop),
        }
    }

    async fn transition(&self, t: Option<Transition>, shutdown: &mut Shutdown) -> Result<(), Stop> {
        let Some(t) = t else { return Ok(()) };
        let msg = CameraMsg::State {
            state: t.to,
            at_unix_ms: self.clock.unix_ms_at(t.at),
            detail: t.detail,
        };
        self.send(msg, shutdown).await
    }
}

pub(crate) async fn supervise<C: Connect>(
    mut connector: C,
    hcfg: HealthConfig,
    tx: mpsc::Sender<CameraMsg>,
    mut shutdown: Shutdown,
    clock: Arc<dyn Clock>,
) {
    let out = Out { tx, clock };
    let _ = run(&mut connector, hcfg, &out, &mut shutdown).await;
}

/// Waits `d`, unless it is time to stop or nobody listens any more.
async fn sleep_or_stop(d: Duration, out: &Out, shutdown: &mut Shutdown) -> Result<(), Stop> {
    tokio::select! {
        biased;
        _ = shutdown.wait() => Err(Stop),
        _ = out.tx.closed() => Err(Stop),
        _ = tokio::time::sleep(d) => Ok(()),
    }
}

async fn run<C: Connect>(
    connector: &mut C,
    hcfg: HealthConfig,
    out: &Out,
    shutdown: &mut Shutdown,
) -> Result<(), Stop> {
    let clock = out.clock.clone();
    let what = connector.describe();
    let mut health = Health::new(hcfg, clock.now());
    out.send(
        CameraMsg::State {
            state: CameraState::Connecting,
            at_unix_ms: clock.unix_ms(),
            detail: format!("connecting to {what}"),
        },
        shutdown,
    )
    .await?;
    // Wall time of the last frame forwarded, on any connection.
    let mut last_wall: Option<i64> = None;
    // An interruption after frames had flowed: its reason, until the next frame closes it.
    let mut open_gap: Option<String> = None;
    let mut last_params: Option<Arc<StreamParams>> = None;

    loop {
        let t = health.on_connecting(clock.now());
        out.transition(t, shutdown).await?;
        let connected = tokio::select! {
            biased;
            _ = shutdown.wait() => return Err(Stop),
            _ = out.tx.closed() => return Err(Stop),
            r = connector.connect() => r,
        };
        let mut src = match connected {
            Ok(s) => s,
            Err(e) => {
                let detail = e.to_string();
                if last_wall.is_some() && open_gap.is_none() {
                    open_gap = Some(detail.clone());
                }
                let t = health.on_error(clock.now(), failure_class(&e), detail);
                out.transition(t, shutdown).await?;
                sleep_or_stop(health.retry_delay(), out, shutdown).await?;
                continue;
            }
        };
        health.on_connected(clock.now());

        let ended = loop {
            let Some(deadline) = health.stall_deadline() else {
                break Ended::Stalled("stalled".to_string());
            };
            let next = tokio::select! {
                biased;
                _ = shutdown.wait() => return Err(Stop),
                r = src.next_frame() => Some(r),
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => None,
            };
            match next {
                None => {
                    // The stall timer fired: `poll` counts the stall as a failure and closes the connection.
                    let t = health.poll(clock.now());
                    if !health.connected() {
                        let detail = t.as_ref().map_or_else(|| "stalled".to_string(), |t| t.detail.clone());
                        out.transition(t, shutdown).await?;
                        break Ended::Stalled(detail);
                    }
                }
                Some(Ok(Some(mut frame))) => {
                    let t = health.on_frame(clock.now());
                    if let Some(reason) = open_gap.take()
                        && let Some(from) = last_wall
                    {
                        let gap = CameraMsg::Gap {
                            from_unix_ms: from,
                            to_unix_ms: frame.wall_ms,
                            reason,
                        };
                        out.send(gap, shutdown).await?;
                    }
                    out.transition(t, shutdown).await?;
                    match &last_params {
                        Some(p) if Arc::ptr_eq(p, &frame.params) => {}
                        Some(p) if **p == *frame.params => frame.params = p.clone(),
                        _ => last_params = Some(frame.params.clone()),
                    }
                    last_wall = Some(frame.wall_ms);
                    let before = clock.now();
                    out.send(CameraMsg::Frame(frame), shutdown).await?;
                    let after = clock.now();
                    if after > before {
                        // Back-pressure: the time spent waiting for the consumer is not the camera's silence.
                        health.touch(after);
                    }
                }
                Some(Ok(None)) => {
                    break Ended::Failed(
                        FailureClass::Unreachable,
                        format!("{what}: the camera ended the stream"),
                    );
                }
                Some(Err(e)) => break Ended::Failed(failure_class(&e), e.to_string()),
            }
        };
        drop(src);
        let reason = match ended {
            Ended::Stalled(detail) => detail,
            Ended::Failed(class, detail) => {
                let t = health.on_error(clock.now(), class, detail.clone());
                out.transition(t, shutdown).await?;
                detail
            }
        };
        if last_wall.is_some() && open_gap.is_none() {
            open_gap = Some(reason);
        }
        sleep_or_stop(health.retry_delay(), out, shutdown).await?;
    }
}

/// How a connection ended.
enum Ended {
    /// Counted as a failure by [`Health::poll`] already.
    Stalled(String),
    Failed(FailureClass, String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::VirtualClock;
    use std::collections::VecDeque;
    use vigie_core::{Time90k, VideoCodec, err};

    const T0: i64 = 1_700_000_000_000;

    #[derive(Clone)]
    enum Then {
        Error,
        Hang,
        Eof,
    }

    #[derive(Clone)]
    enum Script {
        Refuse,
        Frames { n: u32, every_ms: u64, then: Then },
    }

    struct FakeSrc {
        clock: Arc<dyn Clock>,
        params: Arc<StreamParams>,
        left: u32,
        every: Duration,
        next_due: tokio::time::Instant,
        pts: i64,
        then: Then,
    }

    impl Source for FakeSrc {
        async fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
            if self.left == 0 {
                return match self.then {
                    Then::Error => Err(err!(Io, "connection reset by camera")),
                    Then::Eof => Ok(None),
                    Then::Hang => std::future::pending().await,
                };
            }
            tokio::time::sleep_until(self.next_due).await;
            self.next_due += self.every;
            self.left -= 1;
            let t = Time90k(self.pts);
            self.pts += 3600;
            Ok(Some(EncodedFrame {
                params: self.params.clone(),
                pts: t,
                dts: t,
                wall_ms: self.clock.unix_ms(),
                is_key: true,
                data: vec![0, 0, 0, 1, 0x65],
                loss_before: false,
            }))
        }
    }

    struct FakeConn {
        clock: Arc<dyn Clock>,
        scripts: VecDeque<Script>,
        attempts: Arc<std::sync::Mutex<Vec<i64>>>,
    }

    fn params() -> Arc<StreamParams> {
        Arc::new(StreamParams {
            codec: VideoCodec::H264,
            width: 64,
            height: 48,
            extradata: vec![1, 2, 3],
            nominal_fps: None,
        })
    }

    impl Connect for FakeConn {
        type Src = FakeSrc;

        fn describe(&self) -> String {
            "fake camera".into()
        }

        async fn connect(&mut self) -> Result<FakeSrc> {
            self.attempts.lock().expect("lock").push(self.clock.unix_ms() - T0);
            tokio::time::sleep(Duration::from_millis(20)).await;
            match self.scripts.pop_front().unwrap_or(Script::Refuse) {
                Script::Refuse => Err(err!(Io, "fake camera: connection refused")),
                Script::Frames { n, every_ms, then } => Ok(FakeSrc {
                    clock: self.clock.clone(),
                    // A new Arc per connection, equal in value: the supervisor must share the first one.
                    params: params(),
                    left: n,
                    every: Duration::from_millis(every_ms),
                    next_due: tokio::time::Instant::now(),
                    pts: 0,
                    then,
                }),
            }
        }
    }

    /// Runs the supervisor on `scripts` for `secs` of virtual time with a consumer that sleeps `consume_ms` per
    /// message; returns the messages with times relative to the start.
    async fn run_script(scripts: Vec<Script>, secs: u64, cap: usize, consume_ms: u64) -> (Vec<CameraMsg>, Vec<i64>) {
        let clock = VirtualClock::new(T0);
        let attempts = Arc::new(std::sync::Mutex::new(Vec::new()));
        let conn = FakeConn {
            clock: clock.clone(),
            scripts: scripts.into(),
            attempts: attempts.clone(),
        };
        let (tx, mut rx) = mpsc::channel(cap);
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(supervise(
            conn,
            HealthConfig::default(),
            tx,
            stop_rx.into(),
            clock.clone(),
        ));
        let consumer = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(m) = rx.recv().await {
                if consume_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(consume_ms)).await;
                }
                got.push(m);
            }
            got
        });
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop_tx.send(true).expect("stop");
        task.await.expect("supervisor");
        let msgs = consumer.await.expect("consumer");
        let a = attempts.lock().expect("lock").clone();
        (msgs, a)
    }

    fn states(msgs: &[CameraMsg]) -> Vec<(CameraState, i64)> {
        msgs.iter()
            .filter_map(|m| match m {
                CameraMsg::State { state, at_unix_ms, .. } => Some((*state, at_unix_ms - T0)),
                _ => None,
            })
            .collect()
    }

    fn gaps(msgs: &[CameraMsg]) -> Vec<(i64, i64, String)> {
        msgs.iter()
            .filter_map(|m| match m {
                CameraMsg::Gap {
                    from_unix_ms,
                    to_unix_ms,
                    reason,
                } => Some((from_unix_ms - T0, to_unix_ms - T0, reason.clone())),
                _ => None,
            })
            .collect()
    }

    fn frames(msgs: &[CameraMsg]) -> Vec<&EncodedFrame> {
        msgs.iter()
            .filter_map(|m| match m {
                CameraMsg::Frame(f) => Some(f),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(start_paused = true)]
    async fn connection_lost_reconnects_with_one_gap_and_shared_params() {
        let scripts = vec![
            Script::Frames {
                n: 50,
                every_ms: 40,
                then: Then::Error,
            },
            Script::Refuse,
            Script::Refuse,
            Script::Frames {
                n: 1000,
                every_ms: 40,
                then: Then::Hang,
            },
        ];
        let (msgs, attempts) = run_script(scripts, 10, 8, 0).await;
        // Connect takes 20 ms; 50 frames at 40 ms: last at 20 + 49*40 = 1980, error right after.
        // Retries 0.5 s, 1 s, 1 s (the cap) after each failure.
        assert_eq!(attempts, [0, 2480, 3500, 4520]);
        assert_eq!(
            states(&msgs),
            [
                (CameraState::Connecting, 0),
                (CameraState::Streaming, 20),
                (CameraState::Connecting, 1980),
                (CameraState::Connecting, 2500), // a new error text: connection refused
                (CameraState::Streaming, 4540),
            ]
        );
        let g = gaps(&msgs);
        assert_eq!(g.len(), 1, "{g:?}");
        assert_eq!((g[0].0, g[0].1), (1980, 4540));
        assert!(g[0].2.contains("connection reset"), "{}", g[0].2);
        // The gap comes right before the first frame after reconnection, after nothing else.
        let i = msgs
            .iter()
            .position(|m| matches!(m, CameraMsg::Gap { .. }))
            .expect("gap");
        assert!(matches!(
            msgs[i + 1],
            CameraMsg::State {
                state: CameraState::Streaming,
                ..
            }
        ));
        assert!(matches!(&msgs[i + 2], CameraMsg::Frame(f) if f.wall_ms - T0 == 4540 && f.pts.0 == 0));
        let f = frames(&msgs);
        assert!(f.iter().all(|x| Arc::ptr_eq(&x.params, &f[0].params)));
        assert_eq!(f.len(), 50 + 137); // 4540 ..= 9980 every 40 ms
    }

    #[tokio::test(start_paused = true)]
    async fn stall_is_detected_at_five_seconds_and_reconnects() {
        let scripts = vec![
            Script::Frames {
                n: 25,
                every_ms: 40,
                then: Then::Hang,
            },
            Script::Frames {
                n: 1000,
                every_ms: 40,
                then: Then::Hang,
            },
        ];
        let (msgs, attempts) = run_script(scripts, 8, 8, 0).await;
        // Last frame at 20 + 24*40 = 980; stall at 5980; retry 0.5 s later.
        assert_eq!(attempts, [0, 6480]);
        let s = states(&msgs);
        assert_eq!(
            s,
            [
                (CameraState::Connecting, 0),
                (CameraState::Streaming, 20),
                (CameraState::Stalled, 5980),
                (CameraState::Streaming, 6500),
            ]
        );
        let g = gaps(&msgs);
        assert_eq!(g.len(), 1);
        assert_eq!((g[0].0, g[0].1), (980, 6500));
        assert!(g[0].2.contains("no frame for 5.0 s"), "{}", g[0].2);
    }

    #[tokio::test(start_paused = true)]
    async fn back_pressure_loses_no_frame_and_is_not_a_stall() {
        // The consumer takes 100 ms per message, the camera sends every 40 ms, the channel holds 2.
        let scripts = vec![Script::Frames {
            n: 40,
            every_ms: 40,
            then: Then::Hang,
        }];
        let (msgs, _) = run_script(scripts, 12, 2, 100).await;
        let f = frames(&msgs);
        assert_eq!(f.len(), 40);
        let pts: Vec<i64> = f.iter().map(|f| f.pts.0).collect();
        assert_eq!(pts, (0..40).map(|i| i * 3600).collect::<Vec<_>>());
        // Held back about 4 s in all, yet no stall before the camera itself went quiet.
        let s = states(&msgs);
        assert_eq!(s[1].0, CameraState::Streaming);
        let last_wall = f[39].wall_ms - T0;
        assert!(last_wall > 3000, "{last_wall}");
        let stalled = s
            .iter()
            .find(|x| x.0 == CameraState::Stalled)
            .expect("stalled at the end");
        // 5 s after the task was last ready to read (the last frame's send waited for the consumer).
        assert!((5000..=5200).contains(&(stalled.1 - last_wall)), "{s:?} vs {last_wall}");
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_lead_to_failed_and_retries_go_on() {
        let (msgs, attempts) = run_script(vec![], 10, 8, 0).await;
        let s = states(&msgs);
        assert_eq!(s[0], (CameraState::Connecting, 0));
        assert_eq!(s[1], (CameraState::Connecting, 20));
        assert_eq!(s.last().map(|x| x.0), Some(CameraState::Failed));
        assert_eq!(s.len(), 3, "{s:?}");
        assert!(attempts.len() >= 9, "{attempts:?}");
        assert!(gaps(&msgs).is_empty(), "no gap without frames before");
        let detail = msgs
            .iter()
            .find_map(|m| match m {
                CameraMsg::State {
                    state: CameraState::Failed,
                    detail,
                    ..
                } => Some(detail.clone()),
                _ => None,
            })
            .expect("failed");
        assert!(detail.contains("connection refused"), "{detail}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_receiver_ends_the_task_even_while_it_retries() {
        let clock = VirtualClock::new(T0);
        let conn = FakeConn {
            clock: clock.clone(),
            scripts: VecDeque::new(),
            attempts: Arc::default(),
        };
        let (tx, rx) = mpsc::channel(4);
        let task = tokio::spawn(supervise(conn, HealthConfig::default(), tx, Shutdown::Never, clock));
        tokio::time::sleep(Duration::from_secs(20)).await; // Failed long ago: nothing more to send
        drop(rx);
        tokio::time::timeout(Duration::from_millis(100), task)
            .await
            .expect("ends as soon as the receiver is gone")
            .expect("no panic");
    }

    #[tokio::test(start_paused = true)]
    async fn end_of_stream_is_a_failure_and_shutdown_stops_a_blocked_send() {
        let scripts = vec![
            Script::Frames {
                n: 3,
                every_ms: 40,
                then: Then::Eof,
            },
            Script::Frames {
                n: 1000,
                every_ms: 10,
                then: Then::Hang,
            },
        ];
        // Nobody reads: the channel fills and the task waits; shutdown must still end it.
        let clock = VirtualClock::new(T0);
        let conn = FakeConn {
            clock: clock.clone(),
            scripts: scripts.into(),
            attempts: Arc::default(),
        };
        let (tx, mut rx) = mpsc::channel(4);
        let flag = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(supervise(conn, HealthConfig::default(), tx, flag.clone().into(), clock));
        tokio::time::sleep(Duration::from_secs(3)).await;
        flag.store(true, Ordering::Relaxed);
        tokio::time::timeout(Duration::from_secs(1), task)
            .await
            .expect("stops within 1 s")
            .expect("no panic");
        let mut n = 0;
        while rx.try_recv().is_ok() {
            n += 1;
        }
        assert_eq!(n, 4);
    }
}
