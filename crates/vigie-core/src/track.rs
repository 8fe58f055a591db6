//! Tracked objects. A detection that no confirmed track owns has no id: `Option<TrackId>`, never `-1`.

use crate::class::ClassId;
use crate::geom::BBox;
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
