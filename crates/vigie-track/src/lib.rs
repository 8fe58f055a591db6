//! Vigie tracking: a deterministic ByteTrack (Kalman filter, two-stage Hungarian association, class vote).
//!
//! [`Tracker`] is sans-IO: feed it each analysed frame's [`Detections`](vigie_core::Detections) with the frame's
//! media time, get back the confirmed tracks seen in that frame as
//! [`TrackedObject`](vigie_core::TrackedObject)s; ask [`Tracker::take_ended`] which tracks ended, and call
//! [`Tracker::finish`] at the end of the video.
//!
//! # Algorithm
//!
//! The structure is ByteTrack's (Zhang et al., 2022), adapted to an analysis rate that may be as low as 5 fps.
//!
//! **Motion.** Each track carries a Kalman filter over `(cx, cy, w/h, h)` and their velocities
//! ([`MotionConfig`]). Velocities are per second and the prediction uses the media time elapsed since the previous
//! frame, with exactly discretised process noise, so the tracker behaves alike at 5 fps and at 25 fps.
//!
//! **Track states.** A new track is *tentative*: it has no id and is dropped at its first missed frame. After
//! [`TrackerConfig::confirm_hits`] matched frames it is *confirmed* and gets the next id (1, 2, ...: ids are
//! dense over confirmed tracks and increase in order of confirmation). A confirmed track that misses a frame
//! becomes *lost*; it can still be re-associated, and ends once it has not been matched for longer than
//! [`TrackerConfig::max_lost_s`].
//!
//! **One frame** ([`Tracker::update`]):
//! 0. Tracks unmatched for longer than `max_lost_s` end.
//! 1. Every track is predicted to the frame's time.
//! 2. Detections are split by score: *high* (`>= high_score`), *low* (`[low_score, high_score)`), the rest are
//!    dropped, as are non-finite or degenerate boxes.
//! 3. *First association*: high detections vs confirmed tracks, tracked and lost.
//! 4. *Second association*: low detections vs the tracks that were tracked in the previous frame and are still
//!    unmatched (a partly occluded object keeps its track). Confirmed tracks still unmatched become lost.
//! 5. *Third association*: the remaining high detections vs tentative tracks; unmatched tentative tracks are
//!    removed.
//! 6. Each remaining high detection scoring `>= new_track_score` starts a tentative track.
//! 7. Tentative tracks with enough hits are confirmed and numbered, in creation order.
//!
//! **Association cost.** Each stage is an optimal assignment (Hungarian, `pathfinding`'s Kuhn-Munkres on
//! fixed-point costs) between tracks and detections. A pair is allowed if the detection's class is in the same
//! [`ClassGroup`] as the track's voted class (a person never takes over a car's track, but a car may be seen as a
//! truck), and either the IoU of the predicted box and the detection reaches the stage's threshold, or — the
//! low-frame-rate fallback, since at 5 fps a walker moves about 0.4 box heights per frame and a fresh track has no
//! velocity yet — the centre distance over the predicted height is under a gate (which widens while a track is
//! lost) and the heights are similar. The cost `0.5·(1 − IoU) + 0.5·distance/gate` (plus a small penalty for a
//! class change within the group) is below 1, and leaving a track and a detection both unmatched costs 1, as
//! ByteTrack's `lapjv` with a cost limit.
//!
//! **Class.** A track's class is decided by a vote over its matched detections, each weighted by its score
//! ([`TrackedObject::voted_class`](vigie_core::TrackedObject::voted_class)); a tie keeps the class seen first.
//!
//! **Determinism.** No randomness, no hash-map iteration: tracks are kept in creation order, detections in
//! index order, costs are integers for the solver and ties are broken by index. The same input gives the same
//! output, bit for bit.

mod assoc;
mod kalman;
mod tracker;

pub use kalman::MotionConfig;
pub use tracker::{Tracker, TrackerConfig};
pub use vigie_core::class::{ClassGroup, class_group};
