//! Association costs and optimal assignment (Hungarian / Kuhn-Munkres on integer costs).

use pathfinding::kuhn_munkres::kuhn_munkres_min;
use pathfinding::matrix::Matrix;
use vigie_core::class::class_group;
use vigie_core::{BBox, ClassId};

/// Gates of one association stage.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Gates {
    /// A pair is accepted if its IoU is at least this...
    pub iou_min: f32,
    /// ...or if the centre distance over the predicted height is below this (and the heights are similar).
    pub dist_gate: f64,
    /// Smallest `min(h) / max(h)` for the centre-distance fallback.
    pub min_height_ratio: f64,
    /// Added when the classes differ within a group.
    pub class_mismatch_cost: f64,
}

/// The cost cap: every accepted pair costs less, so matching it always beats leaving both sides unmatched.
pub(crate) const COST_LIMIT: f64 = 1.0;
/// Fixed-point scale of costs handed to the Hungarian solver (integer costs: exact and deterministic).
const SCALE: f64 = 1_000_000.0;
const LIMIT_FIXED: i64 = 1_000_000;

/// Cost of matching a track (predicted box `pred` of height `pred_h`, class `track_class`) with a detection, or
/// `None` when gated out. Accepted costs are in `[0, COST_LIMIT)`:
/// `0.5·(1 − IoU) + 0.5·min(d / gate, 1) + mismatch`, where `d` is the centre distance over `pred_h`.
pub(crate) fn pair_cost(
    g: &Gates,
    pred: &BBox,
    pred_h: f64,
    track_class: ClassId,
    det: &BBox,
    det_class: ClassId,
) -> Option<f64> {
    if class_group(track_class) != class_group(det_class) {
        return None;
    }
    let iou = f64::from(pred.iou(det));
    if !iou.is_finite() {
        return None;
    }
    let (pc, dc) = (pred.center(), det.center());
    let d = f64::from(pc.x - dc.x).hypot(f64::from(pc.y - dc.y)) / pred_h;
    if !d.is_finite() {
        return None;
    }
    let (ph, dh) = (f64::from(pred.height()), f64::from(det.height()));
    let height_ratio = if ph > 0.0 && dh > 0.0 {
        ph.min(dh) / ph.max(dh)
    } else {
        0.0
    };
    let by_iou = iou >= f64::from(g.iou_min);
    let by_dist = d < g.dist_gate && height_ratio >= g.min_height_ratio;
    if !(by_iou || by_dist) {
        return None;
    }
    let dist_term = if g.dist_gate > 0.0 {
        (d / g.dist_gate).min(1.0)
    } else {
        1.0
    };
    let mut c = 0.5 * (1.0 - iou) + 0.5 * dist_term;
    if track_class != det_class {
        c += g.class_mismatch_cost;
    }
    Some(c.clamp(0.0, COST_LIMIT - 1.0 / SCALE))
}

/// Minimum-cost assignment between `rows` and `cols` given `cost(r, c)` (`None`: not allowed).
///
/// Returns the matched `(row, col)` pairs sorted by row. Leaving a row and a column unmatched costs
/// [`COST_LIMIT`], so this is ByteTrack's `lapjv(..., cost_limit)`: among allowed pairs, it minimises the total
/// cost minus `COST_LIMIT` per match. Rows and columns without any allowed pair are left out before solving; the
/// solver gets the smaller side as rows (it needs rows ≤ columns), padded with the limit cost. Costs are fixed
/// point, so the result depends only on the inputs and their order.
pub(crate) fn assign(rows: usize, cols: usize, cost: impl Fn(usize, usize) -> Option<f64>) -> Vec<(usize, usize)> {
    // Dense fixed-point costs; the limit marks a forbidden pair.
    let mut fixed = vec![LIMIT_FIXED; rows * cols];
    let mut row_ok = vec![false; rows];
    let mut col_ok = vec![false; cols];
    for r in 0..rows {
        for c in 0..cols {
            if let Some(v) = cost(r, c) {
                fixed[r * cols + c] = ((v * SCALE).round() as i64).clamp(0, LIMIT_FIXED - 1);
                row_ok[r] = true;
                col_ok[c] = true;
            }
        }
    }
    let rs: Vec<usize> = (0..rows).filter(|&r| row_ok[r]).collect();
    let cs: Vec<usize> = (0..cols).filter(|&c| col_ok[c]).collect();
    if rs.is_empty() || cs.is_empty() {
        return Vec::new();
    }
    let at = |r: usize, c: usize| fixed[rs[r] * cols + cs[c]];
    let mut pairs: Vec<(usize, usize)> = if rs.len() <= cs.len() {
        let m = Matrix::from_fn(rs.len(), cs.len(), |(r, c)| at(r, c));
        let (_, a) = kuhn_munkres_min(&m);
        a.into_iter()
            .enumerate()
            .filter(|&(r, c)| at(r, c) < LIMIT_FIXED)
            .collect()
    } else {
        let m = Matrix::from_fn(cs.len(), rs.len(), |(c, r)| at(r, c));
        let (_, a) = kuhn_munkres_min(&m);
        a.into_iter()
            .enumerate()
            .map(|(c, r)| (r, c))
            .filter(|&(r, c)| at(r, c) < LIMIT_FIXED)
            .collect()
    };
    for p in &mut pairs {
        *p = (rs[p.0], cs[p.1]);
    }
    pairs.sort_unstable();
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;

    const G: Gates = Gates {
        iou_min: 0.15,
        dist_gate: 0.6,
        min_height_ratio: 0.5,
        class_mismatch_cost: 0.05,
    };
    const PERSON: ClassId = ClassId(0);

    fn cost_matrix(m: &[&[Option<f64>]]) -> Vec<(usize, usize)> {
        let cols = m.first().map_or(0, |r| r.len());
        assign(m.len(), cols, |r, c| m[r][c])
    }

    #[test]
    fn groups() {
        assert_eq!(class_group(ClassId(0)), vigie_core::class::ClassGroup::Person);
        assert_eq!(class_group(ClassId(1)), class_group(ClassId(3)));
        assert_eq!(class_group(ClassId(2)), class_group(ClassId(7)));
        assert_eq!(class_group(ClassId(24)), class_group(ClassId(28)));
        assert_ne!(class_group(ClassId(43)), class_group(ClassId(44)));
    }

    #[test]
    fn cost_gates_groups_and_distance() {
        let a = BBox::new(0.0, 0.0, 40.0, 100.0);
        assert_eq!(pair_cost(&G, &a, 100.0, PERSON, &a, PERSON), Some(0.0));
        // Person track never takes a car detection, even a perfect one.
        assert_eq!(pair_cost(&G, &a, 100.0, PERSON, &a, ClassId(2)), None);
        // Car and truck may match, at a small premium.
        let c = pair_cost(&G, &a, 100.0, ClassId(2), &a, ClassId(7)).unwrap();
        assert!((c - 0.05).abs() < 1e-9);
        // Disjoint but close (0.4 heights): accepted by the distance fallback.
        let b = BBox::new(40.0, 0.0, 80.0, 100.0);
        let c = pair_cost(&G, &a, 100.0, PERSON, &b, PERSON).unwrap();
        assert!(c > 0.5 && c < COST_LIMIT);
        // Too far.
        let far = BBox::new(70.0, 0.0, 110.0, 100.0);
        assert_eq!(pair_cost(&G, &a, 100.0, PERSON, &far, PERSON), None);
        // Close but of a very different size.
        let small = BBox::new(40.0, 40.0, 50.0, 60.0);
        assert_eq!(pair_cost(&G, &a, 100.0, PERSON, &small, PERSON), None);
    }

    #[test]
    fn assign_minimises_and_respects_gates() {
        assert_eq!(cost_matrix(&[]), vec![]);
        assert_eq!(
            cost_matrix(&[&[Some(0.1), Some(0.2)], &[Some(0.2), Some(0.9)]]),
            vec![(0, 1), (1, 0)]
        );
        // More rows than columns.
        assert_eq!(cost_matrix(&[&[Some(0.5)], &[Some(0.1)], &[None]]), vec![(1, 0)]);
        // Forbidden pairs are never returned.
        assert_eq!(cost_matrix(&[&[None, None], &[None, Some(0.3)]]), vec![(1, 1)]);
        // Ties go the same way every time.
        let m: &[&[Option<f64>]] = &[&[Some(0.5), Some(0.5)], &[Some(0.5), Some(0.5)]];
        assert_eq!(cost_matrix(m), cost_matrix(m));
    }
}
