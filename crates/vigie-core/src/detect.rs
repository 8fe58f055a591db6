//! Raw detections of one frame, as a struct of arrays (supervision's `Detections`).

use crate::class::ClassId;
use crate::geom::BBox;

/// Detections of one frame in source-pixel coordinates. All vectors have the same length.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Detections {
    pub boxes: Vec<BBox>,
    /// Confidence of the winning class, 0..1.
    pub scores: Vec<f32>,
    pub class_ids: Vec<ClassId>,
}

impl Detections {
    pub fn with_capacity(n: usize) -> Self {
        Detections {
            boxes: Vec::with_capacity(n),
            scores: Vec::with_capacity(n),
            class_ids: Vec::with_capacity(n),
        }
    }

    pub fn len(&self) -> usize {
        self.boxes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes.is_empty()
    }

    pub fn push(&mut self, b: BBox, score: f32, class: ClassId) {
        self.boxes.push(b);
        self.scores.push(score);
        self.class_ids.push(class);
    }

    /// Keeps the detections for which `keep(i)` is true, in order.
    pub fn retain_by(&self, mut keep: impl FnMut(usize) -> bool) -> Detections {
        let mut out = Detections::with_capacity(self.len());
        for i in 0..self.len() {
            if keep(i) {
                out.push(self.boxes[i], self.scores[i], self.class_ids[i]);
            }
        }
        out
    }

    /// Indices sorted by descending score; ties keep their order, so the result is deterministic.
    pub fn order_by_score(&self) -> Vec<usize> {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.sort_by(|&a, &b| self.scores[b].total_cmp(&self.scores[a]));
        idx
    }
}
