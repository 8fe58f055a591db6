//! Camera health as a sans-IO state machine: the caller reports what happens (an attempt, a connection, a frame, an
//! error) with the time it happened, and asks when to look again; nothing here sleeps or reads a clock.
//!
//! # States
//!
//! | state | meaning | entered |
//! |---|---|---|
//! | [`Connecting`](CameraState::Connecting) | no frames yet: first connection, or after the connection was lost | at start; on an error while streaming |
//! | [`Streaming`](CameraState::Streaming) | frames arrive | on the first frame of a connection |
//! | [`Stalled`](CameraState::Stalled) | the connection was open but frames stopped for `stall_after`; stays so while reconnecting | by [`Health::poll`] while streaming |
//! | [`Failed`](CameraState::Failed) | `fail_after` consecutive failures; retries go on at the maximum backoff | on that failure, from any state |
//!
//! Every state but `Streaming` is left by the first frame of a connection (to `Streaming`). A failure is an error
//! of an attempt or of a connection ([`Health::on_error`]) or a stall ([`Health::poll`]): frames stop for
//! `stall_after` on an open connection, including a connection that never delivered its first frame (a camera that
//! answers PLAY and then sends nothing, or UDP blocked on the way).
//!
//! # Backoff
//!
//! After the n-th consecutive failure the caller waits [`Health::retry_delay`]: `backoff_initial * 2^(n-1)`, capped
//! by the class of the last failure ([`FailureClass`]):
//! - [`FailureClass::Unreachable`] (no answer, connection refused, reset or timed out, stall): capped at
//!   `backoff_max` (1 s by default), because that is what an outage looks like and recording must resume within
//!   2 s of the camera's return. A connection attempt to a dead camera costs one TCP SYN.
//! - [`FailureClass::Refused`] (the camera answered, and said no: 401, 404, unsupported codec or transport): capped
//!   at `backoff_max_refused` (30 s by default): asking again soon will not change the answer.
//!
//! The failure count (and with it the backoff) goes back to zero once a connection has delivered frames for
//! `stable_after` (10 s): a camera that accepts a connection and drops it at once keeps backing off.
//!
//! # Transitions
//!
//! Each method returns the [`Transition`] it caused, if any. A transition to the same state happens in one case:
//! an error while not streaming whose description differs from the previous one (so the first "404 Not Found" of
//! a camera reaches the operator at once, and a repeated one only once).

use std::time::{Duration, Instant};

/// The health state of one camera source (shared with the store).
pub use vigie_core::CameraState;

/// What a failure says about when to try again (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// The camera did not answer, went away, or stopped sending: retry soon.
    Unreachable,
    /// The camera answered with a refusal (authentication, path, codec, transport): retry slowly.
    Refused,
}

/// Timing of camera health. The defaults are those of the live service.
#[derive(Clone, Debug, PartialEq)]
pub struct HealthConfig {
    /// No frame for this long on an open connection is a stall (detected at this delay exactly, by the caller's
    /// timer at [`Health::stall_deadline`]). Default 5 s.
    pub stall_after: Duration,
    /// Wait after the first failure; doubles with each consecutive failure. Default 0.5 s.
    pub backoff_initial: Duration,
    /// Longest wait after [`FailureClass::Unreachable`] failures. Default 1 s.
    pub backoff_max: Duration,
    /// Longest wait after [`FailureClass::Refused`] failures. Default 30 s.
    pub backoff_max_refused: Duration,
    /// A connection delivering frames for this long resets the failure count. Default 10 s.
    pub stable_after: Duration,
    /// Consecutive failures that make the camera [`CameraState::Failed`]. Default 5.
    pub fail_after: u32,
}

impl Default for HealthConfig {
    fn default() -> Self {
        HealthConfig {
            stall_after: Duration::from_secs(5),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(1),
            backoff_max_refused: Duration::from_secs(30),
            stable_after: Duration::from_secs(10),
            fail_after: 5,
        }
    }
}

/// A change of state (or, while not streaming, of the error being reported).
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub from: CameraState,
    pub to: CameraState,
    pub at: Instant,
    /// Why, in one line: the error, the stall, or "receiving frames".
    pub detail: String,
}

/// The health of one camera source. See the module documentation.
#[derive(Clone, Debug)]
pub struct Health {
    cfg: HealthConfig,
    state: CameraState,
    since: Instant,
    /// A connection is open (PLAY answered, or a file opened) and watched for stalls.
    connected: bool,
    /// The last frame of the open connection, or when it opened; the stall timer runs from here.
    last_activity: Instant,
    /// The first frame of the open connection.
    streaming_since: Option<Instant>,
    last_frame: Option<Instant>,
    failures: u32,
    last_class: FailureClass,
    last_detail: String,
}

impl Health {
    /// A camera about to make its first connection: [`CameraState::Connecting`] since `now`.
    pub fn new(cfg: HealthConfig, now: Instant) -> Self {
        Health {
            cfg,
            state: CameraState::Connecting,
            since: now,
            connected: false,
            last_activity: now,
            streaming_since: None,
            last_frame: None,
            failures: 0,
            last_class: FailureClass::Unreachable,
            last_detail: String::new(),
        }
    }

    pub fn config(&self) -> &HealthConfig {
        &self.cfg
    }

    pub fn state(&self) -> CameraState {
        self.state
    }

    /// When the current state was entered.
    pub fn since(&self) -> Instant {
        self.since
    }

    /// Consecutive failures so far (0 after a stable connection).
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Whether a connection is open and watched for stalls. [`Health::poll`] turns it false on a stall: the caller
    /// must then close the connection and retry after [`Health::retry_delay`].
    pub fn connected(&self) -> bool {
        self.connected
    }

    /// The last frame received, on any connection.
    pub fn last_frame(&self) -> Option<Instant> {
        self.last_frame
    }

    /// A connection attempt starts. Only leaves `Streaming` (a caller dropping a working connection on purpose);
    /// otherwise the state stays what the last failure made it.
    pub fn on_connecting(&mut self, now: Instant) -> Option<Transition> {
        self.connected = false;
        self.streaming_since = None;
        if self.state == CameraState::Streaming {
            return self.go(now, CameraState::Connecting, "reconnecting".to_string());
        }
        None
    }

    /// The connection is open (PLAY answered): the stall timer starts, so a camera that never sends a frame is
    /// caught too.
    pub fn on_connected(&mut self, now: Instant) {
        self.connected = true;
        self.last_activity = now;
        self.streaming_since = None;
    }

    /// A frame arrived on the open connection.
    pub fn on_frame(&mut self, now: Instant) -> Option<Transition> {
        self.connected = true;
        self.last_activity = now;
        self.last_frame = Some(now);
        let first = *self.streaming_since.get_or_insert(now);
        if now.saturating_duration_since(first) >= self.cfg.stable_after {
            self.failures = 0;
        }
        if self.state != CameraState::Streaming {
            self.last_detail.clear();
            return self.go(now, CameraState::Streaming, "receiving frames".to_string());
        }
        None
    }

    /// Restarts the stall timer without a frame: the caller was not reading (it waited for its consumer), so the
    /// silence was not the camera's.
    pub fn touch(&mut self, now: Instant) {
        if self.connected && now > self.last_activity {
            self.last_activity = now;
        }
    }

    /// A connection attempt, or the open connection, failed. `detail` is one line, without credentials.
    pub fn on_error(&mut self, now: Instant, class: FailureClass, detail: impl Into<String>) -> Option<Transition> {
        self.fail(now, class, detail.into(), CameraState::Connecting)
    }

    /// When the open connection stalls if no frame comes first; `None` without an open connection.
    pub fn stall_deadline(&self) -> Option<Instant> {
        self.connected.then(|| self.last_activity + self.cfg.stall_after)
    }

    /// Checks for a stall at `now`. A stall is a failure ([`FailureClass::Unreachable`]): it moves `Streaming` to
    /// `Stalled` and turns [`Health::connected`] false.
    pub fn poll(&mut self, now: Instant) -> Option<Transition> {
        let deadline = self.stall_deadline()?;
        if now < deadline {
            return None;
        }
        let secs = self.cfg.stall_after.as_secs_f64();
        let detail = if self.streaming_since.is_some() {
            format!("stalled: no frame for {secs:.1} s")
        } else {
            format!("stalled: no frame within {secs:.1} s of the connection opening")
        };
        self.fail(now, FailureClass::Unreachable, detail, CameraState::Stalled)
    }

    /// How long to wait before the next attempt (zero before any failure).
    pub fn retry_delay(&self) -> Duration {
        if self.failures == 0 {
            return Duration::ZERO;
        }
        let cap = match self.last_class {
            FailureClass::Unreachable => self.cfg.backoff_max,
            FailureClass::Refused => self.cfg.backoff_max_refused.max(self.cfg.backoff_max),
        };
        let doublings = (self.failures - 1).min(30);
        self.cfg
            .backoff_initial
            .checked_mul(1u32 << doublings)
            .unwrap_or(cap)
            .min(cap)
    }

    fn fail(
        &mut self,
        now: Instant,
        class: FailureClass,
        detail: String,
        from_streaming: CameraState,
    ) -> Option<Transition> {
        if let Some(first) = self.streaming_since
            && now.saturating_duration_since(first) >= self.cfg.stable_after
        {
            self.failures = 0;
        }
        self.connected = false;
        self.streaming_since = None;
        self.failures = self.failures.saturating_add(1);
        self.last_class = class;
        let to = if self.failures >= self.cfg.fail_after.max(1) {
            CameraState::Failed
        } else if self.state == CameraState::Streaming {
            from_streaming
        } else {
            self.state
        };
        if to == self.state && detail == self.last_detail {
            return None;
        }
        self.last_detail = detail.clone();
        self.go(now, to, detail)
    }

    fn go(&mut self, now: Instant, to: CameraState, detail: String) -> Option<Transition> {
        let from = self.state;
        if from != to {
            self.state = to;
            self.since = now;
        }
        Some(Transition {
            from,
            to,
            at: now,
            detail,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn streaming(t0: Instant) -> Health {
        let mut h = Health::new(HealthConfig::default(), t0);
        h.on_connecting(t0);
        h.on_connected(t0 + ms(50));
        let t = h.on_frame(t0 + ms(100)).expect("first frame");
        assert_eq!((t.from, t.to), (CameraState::Connecting, CameraState::Streaming));
        h
    }

    #[test]
    fn stall_is_declared_at_stall_after_exactly() {
        let t0 = Instant::now();
        let mut h = streaming(t0);
        for i in 1..=10 {
            assert!(h.on_frame(t0 + ms(100 + 40 * i)).is_none());
        }
        let last = t0 + ms(500);
        assert_eq!(h.stall_deadline(), Some(last + Duration::from_secs(5)));
        assert!(h.poll(last + ms(4999)).is_none());
        let t = h.poll(last + ms(5000)).expect("stall");
        assert_eq!((t.from, t.to), (CameraState::Streaming, CameraState::Stalled));
        assert!(t.detail.contains("no frame for 5.0 s"), "{}", t.detail);
        assert!(!h.connected());
        assert_eq!(h.stall_deadline(), None);
        assert!(h.poll(last + ms(9000)).is_none(), "no connection, no second stall");
        assert_eq!(h.retry_delay(), ms(500));
        // Stays stalled while reconnecting; the first frame brings it back.
        assert!(h.on_connecting(last + ms(5500)).is_none());
        h.on_connected(last + ms(5600));
        let t = h.on_frame(last + ms(5700)).expect("resumed");
        assert_eq!((t.from, t.to), (CameraState::Stalled, CameraState::Streaming));
    }

    #[test]
    fn connection_without_frames_is_a_stall_too() {
        let t0 = Instant::now();
        let mut h = Health::new(HealthConfig::default(), t0);
        h.on_connecting(t0);
        h.on_connected(t0 + ms(10));
        let t = h.poll(t0 + ms(5010)).expect("stall without frames");
        assert_eq!((t.from, t.to), (CameraState::Connecting, CameraState::Connecting));
        assert!(t.detail.contains("within 5.0 s"), "{}", t.detail);
        assert_eq!(h.failures(), 1);
    }

    #[test]
    fn backoff_doubles_to_the_cap_of_the_class_and_fails_after_n() {
        let t0 = Instant::now();
        let mut h = Health::new(HealthConfig::default(), t0);
        let mut delays = Vec::new();
        let mut states = Vec::new();
        for i in 0..7 {
            h.on_connecting(t0 + Duration::from_secs(i));
            let t = h.on_error(t0 + Duration::from_secs(i), FailureClass::Refused, "404 Not Found");
            states.push(t.map(|t| t.to));
            delays.push(h.retry_delay().as_millis());
        }
        assert_eq!(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000]);
        // First error reported at once (new detail), then nothing until Failed at the 5th, then nothing.
        assert_eq!(
            states,
            [
                Some(CameraState::Connecting),
                None,
                None,
                None,
                Some(CameraState::Failed),
                None,
                None
            ]
        );
        // Unreachable failures cap at 1 s (the outage case).
        let t = h.on_error(
            t0 + Duration::from_secs(8),
            FailureClass::Unreachable,
            "connection refused",
        );
        assert_eq!(
            t.map(|t| (t.from, t.to)),
            Some((CameraState::Failed, CameraState::Failed))
        );
        assert_eq!(h.retry_delay(), Duration::from_secs(1));
        // The first frame leaves Failed.
        h.on_connected(t0 + Duration::from_secs(9));
        let t = h.on_frame(t0 + Duration::from_secs(9)).expect("streaming");
        assert_eq!((t.from, t.to), (CameraState::Failed, CameraState::Streaming));
    }

    #[test]
    fn a_stable_connection_resets_the_failure_count_a_flapping_one_does_not() {
        let t0 = Instant::now();
        let mut h = streaming(t0);
        // Flapping: a frame, then an error, four times: the count keeps growing.
        let mut t = t0 + Duration::from_secs(1);
        for _ in 0..4 {
            h.on_error(t, FailureClass::Unreachable, "connection reset");
            t += h.retry_delay();
            h.on_connecting(t);
            h.on_connected(t);
            h.on_frame(t);
        }
        assert_eq!(h.failures(), 4);
        let tr = h
            .on_error(t, FailureClass::Unreachable, "connection reset")
            .expect("failed");
        assert_eq!(tr.to, CameraState::Failed);
        // A connection that streams for 10 s makes the next failure the first again.
        h.on_connecting(t);
        h.on_connected(t);
        for i in 0..=100 {
            h.on_frame(t + ms(100 * i));
        }
        assert_eq!(h.failures(), 0);
        let tr = h
            .on_error(t + ms(10_050), FailureClass::Unreachable, "EOF")
            .expect("lost");
        assert_eq!((tr.from, tr.to), (CameraState::Streaming, CameraState::Connecting));
        assert_eq!(h.retry_delay(), ms(500));
    }

    #[test]
    fn touch_restarts_the_stall_timer() {
        let t0 = Instant::now();
        let mut h = streaming(t0);
        h.touch(t0 + Duration::from_secs(4));
        assert!(h.poll(t0 + Duration::from_secs(6)).is_none());
        assert!(h.poll(t0 + Duration::from_secs(9)).is_some());
    }
}
