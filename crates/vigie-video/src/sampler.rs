//! [`FrameSampler`]: which decoded frames get analysed. Sans-IO: a pure function of the sequence of timestamps.

use vigie_core::Time90k;

/// Decides which decoded frames are analysed, from their presentation times alone.
///
/// The sampler keeps a *due time* that advances by exactly one analysis interval per taken frame, so the average
/// analysis rate equals the requested one without drift even when it does not divide the source rate (5 fps out
/// of 12.5 fps takes frames at 0, 0.24, 0.40, 0.64, 0.80, 1.04 s ...). A frame is taken when it has reached the
/// due time (up to 1 % of an interval, which absorbs time-base rounding) and is at least half an interval after
/// the previous taken frame (which only matters for jittery timestamps). After a gap in the stream longer than an
/// interval, the due time is re-anchored on the first frame after the gap rather than catching up with a burst; a
/// timestamp that goes backwards restarts the sampler.
///
/// An analysis rate of 0 (or one that is not finite and positive) takes every frame.
#[derive(Clone, Debug)]
pub struct FrameSampler {
    /// Analysis interval in 90 kHz ticks; `None` takes every frame.
    interval: Option<f64>,
    /// Earliest time at which the next frame is taken, in ticks.
    due: Option<f64>,
    /// Time of the last taken frame, in ticks.
    last: Option<f64>,
}

impl FrameSampler {
    /// A sampler at `analysis_fps` frames per second; 0 takes every frame.
    pub fn new(analysis_fps: f64) -> Self {
        let interval = (analysis_fps.is_finite() && analysis_fps > 0.0).then(|| Time90k::HZ as f64 / analysis_fps);
        FrameSampler {
            interval,
            due: None,
            last: None,
        }
    }

    /// The analysis rate this sampler was built with, 0 for every frame.
    pub fn analysis_fps(&self) -> f64 {
        self.interval.map_or(0.0, |i| Time90k::HZ as f64 / i)
    }

    /// Whether the frame at `pts` is analysed. Call it once per decoded frame, in decode (presentation) order.
    pub fn take(&mut self, pts: Time90k) -> bool {
        let Some(interval) = self.interval else {
            return true;
        };
        let t = pts.0 as f64;
        if self.last.is_some_and(|last| t < last) {
            // The timeline restarted (a seek, a discontinuity): start over.
            self.due = None;
            self.last = None;
        }
        let take = match (self.due, self.last) {
            (Some(due), Some(last)) => t + interval * 0.01 >= due && t - last >= interval * 0.5,
            _ => true,
        };
        if take {
            self.due = Some(match self.due {
                // Accumulate: the next due time follows the previous due time, not the frame actually taken, so
                // the rate does not drift. A frame is normally late by less than one source frame interval, which
                // is shorter than the analysis interval; later than a whole interval means a gap in the stream:
                // re-anchor on this frame instead of taking a burst of frames to catch up.
                Some(due) if t < due + interval => due + interval,
                _ => t + interval,
            });
            self.last = Some(t);
        }
        take
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs a sampler over `n` frames at `src_fps` and returns the indices taken.
    fn run(src_fps: f64, analysis_fps: f64, n: usize) -> Vec<usize> {
        let mut s = FrameSampler::new(analysis_fps);
        (0..n)
            .filter(|&i| s.take(Time90k::from_secs_f64(i as f64 / src_fps)))
            .collect()
    }

    #[test]
    fn zero_takes_every_frame() {
        assert_eq!(run(10.0, 0.0, 50).len(), 50);
        assert_eq!(run(10.0, f64::NAN, 50).len(), 50);
        assert_eq!(FrameSampler::new(0.0).analysis_fps(), 0.0);
    }

    #[test]
    fn five_of_ten_takes_every_second_frame() {
        let taken = run(10.0, 5.0, 795);
        assert_eq!(taken.len(), 398);
        assert!(taken.iter().enumerate().all(|(k, &i)| i == 2 * k));
    }

    #[test]
    fn five_of_twelve_and_a_half_does_not_drift() {
        let taken = run(12.5, 5.0, 377); // car-detection.mp4: 30.16 s
        let times: Vec<f64> = taken.iter().map(|&i| i as f64 / 12.5).collect();
        assert_eq!(&times[..6], &[0.0, 0.24, 0.40, 0.64, 0.80, 1.04]);
        // 30.16 s at 5 fps: 151 frames (0 .. 30.0 s), and the k-th taken frame is within one source frame of k/5.
        assert_eq!(taken.len(), 151);
        for (k, t) in times.iter().enumerate() {
            let ideal = k as f64 * 0.2;
            assert!(*t >= ideal - 1e-9 && *t < ideal + 0.08 + 1e-9, "frame {k} at {t} s");
        }
    }

    #[test]
    fn faster_than_source_takes_every_frame() {
        assert_eq!(run(10.0, 30.0, 100).len(), 100);
    }

    #[test]
    fn gap_is_not_followed_by_a_burst() {
        let mut s = FrameSampler::new(5.0);
        let mut taken = vec![];
        for i in 0..10 {
            if s.take(Time90k::from_secs_f64(i as f64 * 0.1)) {
                taken.push(i as f64 * 0.1);
            }
        }
        // 60 s gap, then 10 fps again.
        for i in 0..20 {
            let t = 60.0 + i as f64 * 0.1;
            if s.take(Time90k::from_secs_f64(t)) {
                taken.push(t);
            }
        }
        let after: Vec<_> = taken.iter().filter(|&&t| t >= 60.0).collect();
        assert_eq!(after.len(), 10, "{taken:?}");
    }

    #[test]
    fn backwards_timestamp_restarts() {
        let mut s = FrameSampler::new(1.0);
        assert!(s.take(Time90k(900_000)));
        assert!(!s.take(Time90k(909_000)));
        assert!(s.take(Time90k(0)));
        assert!(!s.take(Time90k(9_000)));
    }

    proptest! {
        /// Over any constant source rate, the taken count matches duration x analysis rate (no drift) and no two
        /// taken frames are closer than half an analysis interval.
        #[test]
        fn rate_and_spacing(src_fps in 1.0f64..120.0, analysis_fps in 0.2f64..60.0, n in 1usize..3000) {
            let taken = run(src_fps, analysis_fps, n);
            let interval = Time90k::HZ as f64 / analysis_fps;
            let ts: Vec<i64> = taken.iter().map(|&i| Time90k::from_secs_f64(i as f64 / src_fps).0).collect();
            for w in ts.windows(2) {
                prop_assert!((w[1] - w[0]) as f64 >= interval * 0.5 - 1.0);
            }
            // One frame per due slot k / analysis_fps up to the last frame's time, at most one per source frame.
            let last = (n - 1) as f64 / src_fps;
            let expected = if analysis_fps >= src_fps { n as f64 } else { (last * analysis_fps).floor() + 1.0 };
            prop_assert!((taken.len() as f64 - expected).abs() <= 1.0, "taken {} expected {}", taken.len(), expected);
        }
    }
}
