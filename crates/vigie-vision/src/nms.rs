//! Non-maximum suppression: class-wise, then across the classes of one group.

use vigie_core::Detections;

/// Greedy non-maximum suppression applied separately to each class.
///
/// Returns the indices of the kept detections, highest score first (ties keep their input order). A detection is
/// suppressed when a kept detection of the *same class* with a higher score overlaps it with IoU `> iou`; boxes of
/// different classes never suppress each other. Detections with a NaN score are dropped.
pub fn nms_classwise(dets: &Detections, iou: f32) -> Vec<usize> {
    nms_by(dets, iou, |i| dets.class_ids[i])
}

/// Greedy non-maximum suppression among detections that share a key (`key(i)` for detection `i`): the class for
/// [`nms_classwise`], a class group to merge a van seen both as `car` and `truck` into one box.
/// Same contract as [`nms_classwise`] otherwise.
pub fn nms_by<K: PartialEq>(dets: &Detections, iou: f32, key: impl Fn(usize) -> K) -> Vec<usize> {
    let order = dets.order_by_score();
    let mut keep: Vec<usize> = Vec::with_capacity(order.len().min(256));
    for i in order {
        if dets.scores[i].is_nan() {
            continue;
        }
        let (b, k) = (&dets.boxes[i], key(i));
        let suppressed = keep.iter().any(|&j| key(j) == k && dets.boxes[j].iou(b) > iou);
        if !suppressed {
            keep.push(i);
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use vigie_core::{BBox, ClassId};

    fn dets(v: &[([f32; 4], f32, u16)]) -> Detections {
        let mut d = Detections::default();
        for (b, s, c) in v {
            d.push(BBox::from(*b), *s, ClassId(*c));
        }
        d
    }

    #[test]
    fn overlapping_same_class_is_suppressed_other_class_kept() {
        let d = dets(&[
            ([0.0, 0.0, 10.0, 10.0], 0.8, 0),
            ([1.0, 0.0, 11.0, 10.0], 0.9, 0),
            ([1.0, 0.0, 11.0, 10.0], 0.7, 2),
            ([50.0, 50.0, 60.0, 60.0], 0.5, 0),
        ]);
        assert_eq!(nms_classwise(&d, 0.6), vec![1, 2, 3]);
        // IoU 9/11 = 0.82: a threshold above it keeps both.
        assert_eq!(nms_classwise(&d, 0.85), vec![1, 0, 2, 3]);
    }

    #[test]
    fn empty_and_nan() {
        assert!(nms_classwise(&Detections::default(), 0.5).is_empty());
        let d = dets(&[([0.0, 0.0, 1.0, 1.0], f32::NAN, 0), ([0.0, 0.0, 1.0, 1.0], 0.4, 0)]);
        assert_eq!(nms_classwise(&d, 0.5), vec![1]);
    }

    fn arb_dets() -> impl Strategy<Value = Detections> {
        prop::collection::vec(
            (0f32..200.0, 0f32..200.0, 1f32..80.0, 1f32..80.0, 0f32..1.0, 0u16..3),
            0..60,
        )
        .prop_map(|v| {
            let mut d = Detections::default();
            for (x, y, w, h, s, c) in v {
                d.push(BBox::new(x, y, x + w, y + h), s, ClassId(c));
            }
            d
        })
    }

    proptest! {
        #[test]
        fn highest_score_survives(d in arb_dets(), iou in 0.05f32..0.95) {
            let keep = nms_classwise(&d, iou);
            if let Some(best) = d.order_by_score().first() {
                prop_assert_eq!(keep[0], *best);
            } else {
                prop_assert!(keep.is_empty());
            }
        }

        #[test]
        fn kept_boxes_of_one_class_do_not_overlap(d in arb_dets(), iou in 0.05f32..0.95) {
            let keep = nms_classwise(&d, iou);
            for (n, &a) in keep.iter().enumerate() {
                for &b in &keep[n + 1..] {
                    if d.class_ids[a] == d.class_ids[b] {
                        prop_assert!(d.boxes[a].iou(&d.boxes[b]) <= iou);
                    }
                }
            }
            // Sorted by score, no duplicates.
            prop_assert!(keep.windows(2).all(|w| d.scores[w[0]] >= d.scores[w[1]]));
            let mut s = keep.clone();
            s.sort_unstable();
            s.dedup();
            prop_assert_eq!(s.len(), keep.len());
        }

        #[test]
        fn classes_do_not_suppress_each_other(d in arb_dets(), iou in 0.05f32..0.95) {
            // NMS over all classes equals the union of NMS run on each class alone.
            let keep = nms_classwise(&d, iou);
            for c in 0..3u16 {
                let idx: Vec<usize> = (0..d.len()).filter(|&i| d.class_ids[i] == ClassId(c)).collect();
                let sub = d.retain_by(|i| d.class_ids[i] == ClassId(c));
                let alone: Vec<usize> = nms_classwise(&sub, iou).into_iter().map(|j| idx[j]).collect();
                let mixed: Vec<usize> = keep.iter().copied().filter(|&i| d.class_ids[i] == ClassId(c)).collect();
                prop_assert_eq!(alone, mixed);
            }
            // A box of another class placed exactly on a kept box changes nothing for the original classes.
            if let Some(&top) = keep.first() {
                let mut d2 = d.clone();
                d2.push(d.boxes[top], 2.0, ClassId(7));
                let keep2 = nms_classwise(&d2, iou);
                prop_assert_eq!(keep2[0], d.len());
                prop_assert_eq!(&keep2[1..], &keep[..]);
            }
        }
    }
}
