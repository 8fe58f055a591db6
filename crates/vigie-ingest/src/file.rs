//! A video file played as a camera: frames in real time (or `speed` times faster), looping forever on one
//! continuous timeline.
//!
//! Demuxing is [`vigie_video::PacketReader`]'s (AVCC/HVCC samples, pts from 0 at 90 kHz, rewinds that continue the
//! timeline). Pacing is [`Pacer`]'s, sans-IO: each frame is due at `start + (dts - first dts) / speed`, decode
//! order being the order a camera sends in. Timestamps stay media time (not divided by `speed`); `wall_ms` is the
//! clock when the frame is handed out. If the consumer held the camera back (back-pressure) so that it runs more
//! than [`Pacer::MAX_LATE`] late, the pacer starts again from the current frame rather than sending the backlog as
//! a burst, as a camera would.
//!
//! Reading a packet is a short blocking call on a local file (microseconds); it runs on the async task.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use vigie_core::{EncodedFrame, Result, StreamParams, Time90k, bail};
use vigie_video::PacketReader;

use crate::clock::Clock;

/// Where frames of a file camera come from; [`PacketReader`] in the service, fakes in tests.
pub trait PacketSource: Send {
    fn params(&self) -> &Arc<StreamParams>;
    /// The next frame in decode order, `None` at the end of the file.
    fn next_frame(&mut self) -> Result<Option<EncodedFrame>>;
    /// Starts again from the first frame, continuing the timeline.
    fn rewind(&mut self) -> Result<()>;
}

impl PacketSource for PacketReader {
    fn params(&self) -> &Arc<StreamParams> {
        PacketReader::params(self)
    }

    fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
        PacketReader::next_frame(self)
    }

    fn rewind(&mut self) -> Result<()> {
        PacketReader::rewind(self)
    }
}

/// A file camera's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct FileOptions {
    pub path: PathBuf,
    /// Playback speed: 1.0 is real time; tests use more. Must be finite and positive.
    pub speed: f64,
    /// Start again at the end (default); otherwise the camera ends the stream after one pass.
    pub looped: bool,
}

impl FileOptions {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileOptions {
            path: path.into(),
            speed: 1.0,
            looped: true,
        }
    }

    pub fn with_speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }

    pub fn with_loop(mut self, looped: bool) -> Self {
        self.looped = looped;
        self
    }

    /// Checks the speed.
    pub fn validate(&self) -> Result<()> {
        if !(self.speed.is_finite() && self.speed > 0.0) {
            bail!(
                Config,
                "file camera {}: speed must be a positive number, not {}",
                self.path.display(),
                self.speed
            );
        }
        Ok(())
    }
}

/// When each frame of a file camera is due (sans-IO).
#[derive(Clone, Debug)]
pub struct Pacer {
    speed: f64,
    /// (instant, dts) that the schedule runs from.
    origin: Option<(Instant, Time90k)>,
}

impl Pacer {
    /// Running later than this behind schedule restarts the schedule at the late frame.
    pub const MAX_LATE: Duration = Duration::from_secs(1);

    /// `speed` must be finite and positive (see [`FileOptions::validate`]); anything else plays at 1.0.
    pub fn new(speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Pacer { speed, origin: None }
    }

    /// When the frame with decode time `dts` is due, given that it is `now`. The first frame is due at once.
    pub fn due(&mut self, dts: Time90k, now: Instant) -> Instant {
        let (t0, d0) = *self.origin.get_or_insert((now, dts));
        let media = (dts.0 - d0.0).max(0) as f64 / Time90k::HZ as f64 / self.speed;
        let due = t0 + Duration::from_secs_f64(media);
        if now.saturating_duration_since(due) > Self::MAX_LATE {
            self.origin = Some((now, dts));
            return now;
        }
        due
    }
}

/// A file played as a camera. See the module documentation.
pub struct FileCamera<S = PacketReader> {
    src: S,
    pacer: Pacer,
    looped: bool,
    clock: Arc<dyn Clock>,
    /// A frame read and waiting for its due time.
    pending: Option<(EncodedFrame, Instant)>,
    frames: u64,
}

impl<S> fmt::Debug for FileCamera<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileCamera")
            .field("pacer", &self.pacer)
            .field("looped", &self.looped)
            .field("frames", &self.frames)
            .finish()
    }
}

impl FileCamera<PacketReader> {
    /// Opens the file (errors name it: missing, not a video, codec other than H.264/H.265).
    pub fn open(opts: &FileOptions, clock: Arc<dyn Clock>) -> Result<Self> {
        opts.validate()?;
        let reader = PacketReader::open(&opts.path)?;
        Ok(FileCamera::with_source(reader, opts.speed, opts.looped, clock))
    }
}

impl<S: PacketSource> FileCamera<S> {
    pub fn with_source(src: S, speed: f64, looped: bool, clock: Arc<dyn Clock>) -> Self {
        FileCamera {
            src,
            pacer: Pacer::new(speed),
            looped,
            clock,
            pending: None,
            frames: 0,
        }
    }

    pub fn params(&self) -> &Arc<StreamParams> {
        self.src.params()
    }

    /// Frames handed out so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// The next frame, when it is due. `Ok(None)` at the end of a file that does not loop. Cancel-safe: a frame
    /// read but not yet due is kept for the next call.
    pub async fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
        let due = match &self.pending {
            Some((_, due)) => *due,
            None => {
                let f = match self.src.next_frame()? {
                    Some(f) => f,
                    None if !self.looped => return Ok(None),
                    None => {
                        self.src.rewind()?;
                        match self.src.next_frame()? {
                            Some(f) => f,
                            None => bail!(InvalidData, "the file has no video frames to loop over"),
                        }
                    }
                };
                let due = self.pacer.due(f.dts, self.clock.now());
                self.pending = Some((f, due));
                due
            }
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        let Some((mut f, _)) = self.pending.take() else {
            bail!(Internal, "file camera: the pending frame vanished");
        };
        f.wall_ms = self.clock.unix_ms();
        self.frames += 1;
        Ok(Some(f))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::clock::VirtualClock;
    use vigie_core::VideoCodec;

    /// A file of `n` frames at `fps`, key every 10th, pts from 0; rewinds continue the timeline.
    pub(crate) struct FakeFile {
        pub params: Arc<StreamParams>,
        pub n: i64,
        pub step: i64,
        pub i: i64,
        pub base: i64,
        pub fail_at: Option<i64>,
    }

    impl FakeFile {
        pub(crate) fn new(n: i64, fps: i64) -> Self {
            FakeFile {
                params: Arc::new(StreamParams {
                    codec: VideoCodec::H264,
                    width: 64,
                    height: 48,
                    extradata: vec![1, 0x42, 0, 0x1e],
                    nominal_fps: Some(fps as f64),
                }),
                n,
                step: 90_000 / fps,
                i: 0,
                base: 0,
                fail_at: None,
            }
        }
    }

    impl PacketSource for FakeFile {
        fn params(&self) -> &Arc<StreamParams> {
            &self.params
        }

        fn next_frame(&mut self) -> Result<Option<EncodedFrame>> {
            if self.fail_at == Some(self.i) {
                bail!(InvalidData, "truncated");
            }
            if self.i >= self.n {
                return Ok(None);
            }
            let t = Time90k(self.base + self.i * self.step);
            let f = EncodedFrame {
                params: self.params.clone(),
                pts: t,
                dts: t,
                wall_ms: 0,
                is_key: self.i % 10 == 0,
                data: vec![0, 0, 0, 1, 0x65],
                loss_before: false,
            };
            self.i += 1;
            Ok(Some(f))
        }

        fn rewind(&mut self) -> Result<()> {
            self.base += self.n * self.step;
            self.i = 0;
            Ok(())
        }
    }

    #[test]
    fn pacer_schedules_by_dts_and_speed_and_does_not_burst_after_a_hold() {
        let t0 = Instant::now();
        let mut p = Pacer::new(4.0);
        assert_eq!(p.due(Time90k(-3600), t0), t0);
        assert_eq!(p.due(Time90k(90_000 - 3600), t0), t0 + Duration::from_millis(250));
        // Held back 3 s: the next frame is due now, and the schedule runs from there.
        let late = t0 + Duration::from_secs(3);
        assert_eq!(p.due(Time90k(2 * 90_000 - 3600), late), late);
        assert_eq!(
            p.due(Time90k(3 * 90_000 - 3600), late),
            late + Duration::from_millis(250)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn loops_with_continuous_timestamps_in_real_time() {
        let clock = VirtualClock::new(1_700_000_000_000);
        let mut cam = FileCamera::with_source(FakeFile::new(5, 10), 1.0, true, clock.clone());
        let mut got = Vec::new();
        for _ in 0..12 {
            let f = cam.next_frame().await.expect("frame").expect("loops");
            got.push((f.pts.0, f.wall_ms - 1_700_000_000_000));
        }
        let pts: Vec<i64> = got.iter().map(|g| g.0).collect();
        assert_eq!(pts, (0..12).map(|i| i * 9000).collect::<Vec<_>>());
        let wall: Vec<i64> = got.iter().map(|g| g.1).collect();
        assert_eq!(wall, (0..12).map(|i| i * 100).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn speed_divides_wall_time_not_media_time() {
        let clock = VirtualClock::new(0);
        let mut cam = FileCamera::with_source(FakeFile::new(50, 25), 10.0, false, clock.clone());
        let mut last = None;
        while let Some(f) = cam.next_frame().await.expect("frame") {
            last = Some(f);
        }
        let f = last.expect("frames");
        assert_eq!(f.pts.0, 49 * 3600);
        assert_eq!(f.wall_ms, 196); // 49 frames of 40 ms at 10x
        assert_eq!(cam.frames(), 50);
    }
}
