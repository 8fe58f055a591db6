//! DB (Differentiable Binarization) post-processing: from the text probability map to oriented text boxes, as
//! PaddleOCR / RapidOCR's `DBPostProcess` does it (score mode "fast", 2x2 dilation): threshold the map, take each
//! connected region, its minimum-area rectangle, score it by the mean probability inside, expand it by
//! `area * unclip_ratio / perimeter` on every side, and map it to the image. Pure: no model, no I/O.
//!
//! Differences from the Python code, none of which changes a plate box by more than a pixel: regions are 8-connected
//! components rather than OpenCV contours (the same outer boundaries; holes are ignored), the expansion of a
//! rectangle by a round-joined offset is computed in closed form (its minimum-area rectangle is the rectangle grown
//! by the distance on each side), and coordinates are not rounded to integers.

use vigie_core::Point;

/// Parameters of [`boxes_from_map`]; the defaults are RapidOCR 3.10's `config.yaml` for PP-OCRv6.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DbParams {
    /// Pixels whose probability exceeds this are text. Default 0.3.
    pub thresh: f32,
    /// Regions whose mean probability is below this are dropped. Default 0.5.
    pub box_thresh: f32,
    /// Expansion of a region's rectangle, as in DB's paper. Default 1.6.
    pub unclip_ratio: f32,
    /// Regions looked at, at most (the first ones in raster order). Default 1000.
    pub max_candidates: usize,
    /// Dilates the binary map with a 2x2 kernel before taking regions. Default true.
    pub dilate: bool,
}

impl Default for DbParams {
    fn default() -> Self {
        DbParams {
            thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            max_candidates: 1000,
            dilate: true,
        }
    }
}

/// Regions whose rectangle's short side is below this (map pixels) are dropped; after expansion, below this + 2.
const MIN_SIZE: f32 = 3.0;

/// An oriented text box: corners top-left, top-right, bottom-right, bottom-left (clockwise, image y down).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextBox {
    pub quad: [Point; 4],
    /// Mean text probability inside the box before expansion.
    pub score: f32,
}

impl TextBox {
    /// Length of the top and bottom sides (the longer one).
    pub fn width(&self) -> f32 {
        dist(self.quad[0], self.quad[1]).max(dist(self.quad[3], self.quad[2]))
    }

    /// Length of the left and right sides (the longer one).
    pub fn height(&self) -> f32 {
        dist(self.quad[0], self.quad[3]).max(dist(self.quad[1], self.quad[2]))
    }

    /// The axis-aligned box around the quad.
    pub fn bbox(&self) -> vigie_core::BBox {
        let xs = self.quad.map(|p| p.x);
        let ys = self.quad.map(|p| p.y);
        let min = |v: [f32; 4]| v.iter().copied().fold(f32::INFINITY, f32::min);
        let max = |v: [f32; 4]| v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        vigie_core::BBox::new(min(xs), min(ys), max(xs), max(ys))
    }

    /// The box moved by `(dx, dy)`.
    pub fn translated(&self, dx: f32, dy: f32) -> TextBox {
        TextBox {
            quad: self.quad.map(|p| Point {
                x: p.x + dx,
                y: p.y + dy,
            }),
            score: self.score,
        }
    }
}

fn dist(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}

/// A rotated rectangle: centre, unit axis `u` (along `w`), `v` perpendicular (along `h`).
#[derive(Clone, Copy, Debug, PartialEq)]
struct RotRect {
    c: (f32, f32),
    u: (f32, f32),
    w: f32,
    h: f32,
}

impl RotRect {
    fn corners(&self) -> [Point; 4] {
        let (ux, uy) = self.u;
        let (vx, vy) = (-uy, ux);
        let (hw, hh) = (self.w / 2.0, self.h / 2.0);
        [(-1.0, -1.0), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)].map(|(a, b)| Point {
            x: self.c.0 + a * hw * ux + b * hh * vx,
            y: self.c.1 + a * hw * uy + b * hh * vy,
        })
    }
}

/// Text boxes of a probability map `prob` (`w * h`, row-major), in coordinates of a `dest_w x dest_h` image
/// (the map is stretched over it), by descending score.
pub fn boxes_from_map(prob: &[f32], w: usize, h: usize, dest_w: f32, dest_h: f32, p: &DbParams) -> Vec<TextBox> {
    if w == 0 || h == 0 || prob.len() < w * h {
        return Vec::new();
    }
    let mut bits: Vec<bool> = prob[..w * h].iter().map(|&v| v > p.thresh).collect();
    if p.dilate {
        // OpenCV's 2x2 kernel has its anchor at (1, 1): a pixel is set when it or its left, upper or upper-left
        // neighbour is.
        let src = bits.clone();
        for y in 0..h {
            for x in 0..w {
                let i = y * w + x;
                bits[i] =
                    src[i] || (x > 0 && src[i - 1]) || (y > 0 && src[i - w]) || (x > 0 && y > 0 && src[i - w - 1]);
            }
        }
    }
    let (sx, sy) = (dest_w / w as f32, dest_h / h as f32);
    let mut out = Vec::new();
    let mut seen = vec![false; w * h];
    let mut stack = Vec::new();
    let mut pts: Vec<(i32, i32)> = Vec::new();
    let mut regions = 0;
    for start in 0..w * h {
        if !bits[start] || seen[start] {
            continue;
        }
        regions += 1;
        if regions > p.max_candidates {
            break;
        }
        // 8-connected flood fill.
        pts.clear();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = ((i % w) as i32, (i / w) as i32);
            pts.push((x, y));
            for dy in -1..=1i32 {
                for dx in -1..=1i32 {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as i32 || ny >= h as i32 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if bits[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let hull = convex_hull(&mut pts);
        let rect = min_area_rect(&hull);
        if rect.w.min(rect.h) < MIN_SIZE {
            continue;
        }
        let score = mean_inside(prob, w, h, &rect.corners());
        if score < p.box_thresh {
            continue;
        }
        let area = rect.w * rect.h;
        let perimeter = 2.0 * (rect.w + rect.h);
        let d = area * p.unclip_ratio / perimeter;
        let grown = RotRect {
            w: rect.w + 2.0 * d,
            h: rect.h + 2.0 * d,
            ..rect
        };
        if grown.w.min(grown.h) < MIN_SIZE + 2.0 {
            continue;
        }
        let quad = order_clockwise(grown.corners().map(|q| Point {
            x: (q.x * sx).clamp(0.0, dest_w),
            y: (q.y * sy).clamp(0.0, dest_h),
        }));
        let b = TextBox { quad, score };
        if b.width() <= 3.0 || b.height() <= 3.0 {
            continue;
        }
        out.push(b);
    }
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

/// Convex hull (monotone chain), counter-clockwise in a y-up frame; sorts `pts`.
fn convex_hull(pts: &mut [(i32, i32)]) -> Vec<(f32, f32)> {
    pts.sort_unstable();
    let cross = |o: (i32, i32), a: (i32, i32), b: (i32, i32)| -> i64 {
        (a.0 - o.0) as i64 * (b.1 - o.1) as i64 - (a.1 - o.1) as i64 * (b.0 - o.0) as i64
    };
    if pts.len() < 3 {
        return pts.iter().map(|&(x, y)| (x as f32, y as f32)).collect();
    }
    let mut hull: Vec<(i32, i32)> = Vec::with_capacity(pts.len() + 1);
    for &p in pts.iter() {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
            hull.pop();
        }
        hull.push(p);
    }
    let lower = hull.len() + 1;
    for &p in pts.iter().rev().skip(1) {
        while hull.len() >= lower && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0 {
            hull.pop();
        }
        hull.push(p);
    }
    hull.pop();
    hull.iter().map(|&(x, y)| (x as f32, y as f32)).collect()
}

/// Minimum-area enclosing rectangle of a convex polygon (rotating calipers: one side lies on a hull edge).
fn min_area_rect(hull: &[(f32, f32)]) -> RotRect {
    match hull.len() {
        0 => {
            return RotRect {
                c: (0.0, 0.0),
                u: (1.0, 0.0),
                w: 0.0,
                h: 0.0,
            };
        }
        1 => {
            return RotRect {
                c: hull[0],
                u: (1.0, 0.0),
                w: 0.0,
                h: 0.0,
            };
        }
        _ => {}
    }
    let mut best: Option<(f32, RotRect)> = None;
    for i in 0..hull.len() {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        let (ex, ey) = (b.0 - a.0, b.1 - a.1);
        let len = (ex * ex + ey * ey).sqrt();
        if len == 0.0 {
            continue;
        }
        let u = (ex / len, ey / len);
        let v = (-u.1, u.0);
        let (mut umin, mut umax, mut vmin, mut vmax) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for &(x, y) in hull {
            let pu = x * u.0 + y * u.1;
            let pv = x * v.0 + y * v.1;
            umin = umin.min(pu);
            umax = umax.max(pu);
            vmin = vmin.min(pv);
            vmax = vmax.max(pv);
        }
        let area = (umax - umin) * (vmax - vmin);
        if best.as_ref().is_none_or(|(ba, _)| area < *ba) {
            let (cu, cv) = ((umin + umax) / 2.0, (vmin + vmax) / 2.0);
            // Make the long side `w`, with `u` pointing right (so that the text reads left to right).
            let (mut u, mut w, mut h) = (u, umax - umin, vmax - vmin);
            let c = (cu * u.0 + cv * v.0, cu * u.1 + cv * v.1);
            if h > w {
                u = v;
                std::mem::swap(&mut w, &mut h);
            }
            if u.0 < 0.0 || (u.0 == 0.0 && u.1 < 0.0) {
                u = (-u.0, -u.1);
            }
            best = Some((area, RotRect { c, u, w, h }));
        }
    }
    best.map(|b| b.1).unwrap_or(RotRect {
        c: hull[0],
        u: (1.0, 0.0),
        w: 0.0,
        h: 0.0,
    })
}

/// Mean of `prob` over the pixels whose centre lies in the convex quad (edges included with half a pixel of slack,
/// as OpenCV's `fillPoly` includes boundary pixels).
fn mean_inside(prob: &[f32], w: usize, h: usize, quad: &[Point; 4]) -> f32 {
    let xs = quad.map(|p| p.x);
    let ys = quad.map(|p| p.y);
    let fmin = |v: [f32; 4]| v.iter().copied().fold(f32::INFINITY, f32::min);
    let fmax = |v: [f32; 4]| v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let x0 = (fmin(xs).floor().max(0.0) as usize).min(w - 1);
    let x1 = (fmax(xs).ceil().max(0.0) as usize).min(w - 1);
    let y0 = (fmin(ys).floor().max(0.0) as usize).min(h - 1);
    let y1 = (fmax(ys).ceil().max(0.0) as usize).min(h - 1);
    // Signed area decides the winding; an edge keeps points on its inner side.
    let mut area2 = 0.0;
    for i in 0..4 {
        let (a, b) = (quad[i], quad[(i + 1) % 4]);
        area2 += a.x * b.y - b.x * a.y;
    }
    let sign = if area2 >= 0.0 { 1.0 } else { -1.0 };
    let edges: Vec<(f32, f32, f32)> = (0..4)
        .map(|i| {
            let (a, b) = (quad[i], quad[(i + 1) % 4]);
            let (ex, ey) = (b.x - a.x, b.y - a.y);
            let len = (ex * ex + ey * ey).sqrt().max(1e-6);
            // Inner normal n; inside when n . (p - a) >= -0.5.
            let (nx, ny) = (-ey * sign / len, ex * sign / len);
            (nx, ny, -(nx * a.x + ny * a.y))
        })
        .collect();
    let (mut sum, mut n) = (0.0f64, 0usize);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32, y as f32);
            if edges.iter().all(|&(nx, ny, c)| nx * px + ny * py + c >= -0.5) {
                sum += prob[y * w + x] as f64;
                n += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// Orders four corners as top-left, top-right, bottom-right, bottom-left: the two leftmost by y, then the two
/// rightmost by y (imutils' `order_points`, as RapidOCR does).
pub fn order_clockwise(q: [Point; 4]) -> [Point; 4] {
    let mut s = q;
    s.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    let (mut l0, mut l1, mut r0, mut r1) = (s[0], s[1], s[2], s[3]);
    if l1.y < l0.y {
        std::mem::swap(&mut l0, &mut l1);
    }
    if r1.y < r0.y {
        std::mem::swap(&mut r0, &mut r1);
    }
    [l0, r0, r1, l1]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_with(w: usize, h: usize, rects: &[(usize, usize, usize, usize, f32)]) -> Vec<f32> {
        let mut m = vec![0.0; w * h];
        for &(x0, y0, x1, y1, v) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    m[y * w + x] = v;
                }
            }
        }
        m
    }

    #[test]
    fn one_axis_aligned_region() {
        // A 40x10 block at (20, 30), one more column and row after dilation: pixel centres 20..=60 x 30..=40, a
        // 40x10 rectangle grown by 40*10*1.6/100 = 6.4 on each side; the map is stretched 2x.
        let m = map_with(100, 80, &[(20, 30, 60, 40, 0.9)]);
        let b = boxes_from_map(&m, 100, 80, 200.0, 160.0, &DbParams::default());
        assert_eq!(b.len(), 1);
        let d = 6.4;
        let (x0, y0, x1, y1) = ((20.0 - d) * 2.0, (30.0 - d) * 2.0, (60.0 + d) * 2.0, (40.0 + d) * 2.0);
        let q = b[0].quad;
        for (p, (ex, ey)) in q.iter().zip([(x0, y0), (x1, y0), (x1, y1), (x0, y1)]) {
            assert!((p.x - ex).abs() < 0.3 && (p.y - ey).abs() < 0.3, "{q:?}");
        }
        // The dilation adds a row and a column of pixels that were below the threshold: 0.9 * 400 / 451.
        assert!((b[0].score - 0.9 * 400.0 / 451.0).abs() < 0.01, "{}", b[0].score);
    }

    #[test]
    fn weak_small_and_thin_regions_are_dropped() {
        let m = map_with(
            100,
            80,
            &[
                (5, 5, 40, 15, 0.4),   // above thresh, below box_thresh
                (50, 5, 52, 7, 0.9),   // too small
                (5, 50, 90, 51, 0.9),  // one pixel high (two after dilation): too thin
                (10, 60, 60, 75, 0.8), // kept
            ],
        );
        let b = boxes_from_map(&m, 100, 80, 100.0, 80.0, &DbParams::default());
        assert_eq!(b.len(), 1, "{b:?}");
        assert!(b[0].quad[0].y > 50.0);
    }

    #[test]
    fn rotated_region_gives_rotated_box() {
        // A thick line from (10, 10) to (80, 45): slope 0.5.
        let (w, h) = (100, 70);
        let mut m = vec![0.0; w * h];
        for x in 10..80 {
            let yc = 10.0 + (x - 10) as f32 * 0.5;
            for y in 0..h {
                if (y as f32 - yc).abs() <= 3.0 {
                    m[y * w + x] = 0.95;
                }
            }
        }
        let b = boxes_from_map(&m, w, h, w as f32, h as f32, &DbParams::default());
        assert_eq!(b.len(), 1);
        let q = b[0].quad;
        let slope = (q[1].y - q[0].y) / (q[1].x - q[0].x);
        assert!((slope - 0.5).abs() < 0.05, "{q:?}");
        assert!(b[0].width() > 80.0 && b[0].height() < 20.0, "{q:?}");
    }

    #[test]
    fn hull_and_rect_of_degenerate_sets() {
        assert_eq!(min_area_rect(&convex_hull(&mut [])).w, 0.0);
        assert_eq!(min_area_rect(&convex_hull(&mut [(3, 4)])).h, 0.0);
        let r = min_area_rect(&convex_hull(&mut [(0, 0), (10, 0), (5, 0)]));
        assert!((r.w - 10.0).abs() < 1e-4 && r.h.abs() < 1e-4, "{r:?}");
    }

    #[test]
    fn order_clockwise_from_any_order() {
        let p = |x, y| Point { x, y };
        let q = order_clockwise([p(10.0, 5.0), p(0.0, 6.0), p(1.0, 0.0), p(11.0, 11.0)]);
        assert_eq!(q, [p(1.0, 0.0), p(10.0, 5.0), p(11.0, 11.0), p(0.0, 6.0)]);
    }

    #[test]
    fn empty_or_short_maps() {
        assert!(boxes_from_map(&[], 0, 0, 1.0, 1.0, &DbParams::default()).is_empty());
        assert!(boxes_from_map(&[0.9; 3], 2, 2, 1.0, 1.0, &DbParams::default()).is_empty());
    }
}
