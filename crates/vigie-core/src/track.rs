//! Tracked objects. A detection that no confirmed track owns has no id: `Option<TrackId>`, never `-1`.

use crate::class::ClassId;
use crate::geom::BBox;
use crate::time::Time90k;
use serde::{Deserialize, Serialize};
use std::num::NonZeroU64;

/// A track id, unique within one tracker run (one camera or one video). Ids start at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TrackId(pub NonZeroU64);

impl TrackId {
    pub fn get(self) -> u64 {
        self.0.get()
    }
}

impl std::fmt::Display for TrackId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One confirmed track as seen in one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedObject {
    pub track_id: TrackId,
    /// The box: the matched detection's when `matched`, otherwise the motion model's prediction.
    pub bbox: BBox,
    /// Score of the matched detection this frame, or 0 when only predicted.
    pub score: f32,
    /// Class of the matched detection this frame (the track's voted class is kept by the tracker).
    pub class_id: ClassId,
    /// The track's class decided so far by a score-weighted vote over its detections.
    pub voted_class: ClassId,
    /// Whether a detection was matched to the track in this frame.
    pub matched: bool,
    /// Index of the matched detection in the frame's [`Detections`](crate::Detections), if any.
    pub det_index: Option<usize>,
}

/// The tracker's summary of a track, built when the track ends: what storage, reports and search keep of it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackSummary {
    pub track_id: TrackId,
    /// The voted class name, not empty.
    pub class: String,
    /// Share of the vote won by `class`, 0..1.
    pub class_confidence: f32,
    /// Media time of the first and last box, `first <= last`.
    pub first: Time90k,
    pub last: Time90k,
    /// Frames the track was seen in, > 0.
    pub frames: u32,
    /// Highest detection score, 0..1.
    pub max_score: f32,
    /// The box with the highest score and its time, `first <= best <= last`.
    pub best_box: BBox,
    pub best: Time90k,
}
