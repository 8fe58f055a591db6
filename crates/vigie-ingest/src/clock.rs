//! Time as the ingest sees it: a monotonic instant for timers and durations, and wall-clock Unix milliseconds for
//! what leaves the crate (`wall_ms` of frames, state and gap timestamps).

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The ingest's source of time, injected so that health and pacing can be tested without waiting.
///
/// `now()` must follow tokio's clock (`tokio::time::Instant::now()`): the supervisor and the file camera sleep
/// with tokio timers until instants computed from it. Both implementations here do, so under tokio's paused
/// test clock (`start_paused`) everything runs on virtual time.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock now, in Unix milliseconds.
    fn unix_ms(&self) -> i64;

    /// The wall-clock time of an earlier (or later) monotonic instant, in Unix milliseconds.
    fn unix_ms_at(&self, at: Instant) -> i64 {
        let now = self.now();
        let wall = self.unix_ms();
        if at <= now {
            wall.saturating_sub(millis(now - at))
        } else {
            wall.saturating_add(millis(at - now))
        }
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The real clock: tokio's monotonic clock (the system's, unless a test paused it) and the system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn unix_ms(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => millis(d),
            Err(e) => -millis(e.duration()),
        }
    }
}

/// A clock whose wall time advances exactly with tokio's monotonic clock from a chosen start, for tests: with
/// tokio's time paused, `unix_ms` is as virtual (and deterministic) as `now`.
#[derive(Clone, Debug)]
pub struct VirtualClock {
    origin: Instant,
    origin_unix_ms: i64,
}

impl VirtualClock {
    /// A clock that reads `unix_ms` now. Call it inside the tokio runtime whose clock it follows.
    pub fn new(unix_ms: i64) -> Arc<Self> {
        Arc::new(VirtualClock {
            origin: tokio::time::Instant::now().into_std(),
            origin_unix_ms: unix_ms,
        })
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn unix_ms(&self) -> i64 {
        let now = self.now();
        if now >= self.origin {
            self.origin_unix_ms.saturating_add(millis(now - self.origin))
        } else {
            self.origin_unix_ms.saturating_sub(millis(self.origin - now))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn virtual_clock_follows_tokio_time() {
        let c = VirtualClock::new(1_000_000);
        let t0 = c.now();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(c.unix_ms(), 1_001_500);
        assert_eq!(c.unix_ms_at(t0), 1_000_000);
        assert_eq!(c.unix_ms_at(t0 + Duration::from_secs(3)), 1_003_000);
    }

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_ms() > 1_577_836_800_000);
    }
}
