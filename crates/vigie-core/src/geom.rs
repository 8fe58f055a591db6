//! Geometry in source-pixel coordinates (`f32`, origin top-left, x right, y down).

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

/// An axis-aligned box, corners `(x1, y1)` top-left and `(x2, y2)` bottom-right, `x1 <= x2`, `y1 <= y2`.
/// Serialised as `[x1, y1, x2, y2]`.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
#[serde(from = "[f32; 4]", into = "[f32; 4]")]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl From<[f32; 4]> for BBox {
    fn from(a: [f32; 4]) -> Self {
        BBox::new(a[0], a[1], a[2], a[3])
    }
}

impl From<BBox> for [f32; 4] {
    fn from(b: BBox) -> Self {
        [b.x1, b.y1, b.x2, b.y2]
    }
}

impl BBox {
    /// Builds a box from two corners in any order.
    pub fn new(x1: f32, y1: f32, x2: f32, y2: f32) -> Self {
        BBox {
            x1: x1.min(x2),
            y1: y1.min(y2),
            x2: x1.max(x2),
            y2: y1.max(y2),
        }
    }

    /// From centre, width and height.
    pub fn from_cxcywh(cx: f32, cy: f32, w: f32, h: f32) -> Self {
        BBox::new(cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0)
    }

    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }

    pub fn area(&self) -> f32 {
        self.width().max(0.0) * self.height().max(0.0)
    }

    pub fn center(&self) -> Point {
        Point {
            x: (self.x1 + self.x2) / 2.0,
            y: (self.y1 + self.y2) / 2.0,
        }
    }

    /// Bottom-centre: where a person or vehicle touches the ground; the usual zone trigger anchor.
    pub fn bottom_center(&self) -> Point {
        Point {
            x: (self.x1 + self.x2) / 2.0,
            y: self.y2,
        }
    }

    pub fn intersection(&self, o: &BBox) -> f32 {
        let w = (self.x2.min(o.x2) - self.x1.max(o.x1)).max(0.0);
        let h = (self.y2.min(o.y2) - self.y1.max(o.y1)).max(0.0);
        w * h
    }

    /// Intersection over union, 0 for disjoint or degenerate boxes.
    pub fn iou(&self, o: &BBox) -> f32 {
        let inter = self.intersection(o);
        let union = self.area() + o.area() - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }

    /// Clamps the box into `[0, w] x [0, h]`.
    pub fn clamp(&self, w: f32, h: f32) -> BBox {
        BBox {
            x1: self.x1.clamp(0.0, w),
            y1: self.y1.clamp(0.0, h),
            x2: self.x2.clamp(0.0, w),
            y2: self.y2.clamp(0.0, h),
        }
    }

    /// True when every coordinate is finite.
    pub fn is_finite(&self) -> bool {
        self.x1.is_finite() && self.y1.is_finite() && self.x2.is_finite() && self.y2.is_finite()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn iou_known_values() {
        let a = BBox::new(0.0, 0.0, 10.0, 10.0);
        assert_eq!(a.iou(&a), 1.0);
        assert_eq!(a.iou(&BBox::new(20.0, 20.0, 30.0, 30.0)), 0.0);
        let b = BBox::new(5.0, 0.0, 15.0, 10.0);
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
    }

    proptest! {
        #[test]
        fn iou_is_symmetric_and_bounded(a in prop::array::uniform4(0f32..500.0), b in prop::array::uniform4(0f32..500.0)) {
            let a = BBox::from(a);
            let b = BBox::from(b);
            let i = a.iou(&b);
            prop_assert!((0.0..=1.0 + 1e-6).contains(&i));
            prop_assert!((i - b.iou(&a)).abs() < 1e-6);
        }
    }
}

/// A simple polygon (no self-intersection assumed), vertices in order, in the same coordinates as the points
/// tested against it.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Polygon {
    pub points: Vec<Point>,
}

impl Polygon {
    pub fn new(points: Vec<Point>) -> Self {
        Polygon { points }
    }

    /// Scales normalised coordinates (0..1) to pixels of a `w` × `h` frame.
    pub fn scaled(&self, w: f32, h: f32) -> Polygon {
        Polygon {
            points: self.points.iter().map(|p| Point { x: p.x * w, y: p.y * h }).collect(),
        }
    }

    /// Even-odd rule; a point exactly on an edge may fall either side (callers add hysteresis where it matters).
    pub fn contains(&self, p: Point) -> bool {
        let pts = &self.points;
        if pts.len() < 3 {
            return false;
        }
        let mut inside = false;
        let mut j = pts.len() - 1;
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[j]);
            if (a.y > p.y) != (b.y > p.y) {
                let x = (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x;
                if p.x < x {
                    inside = !inside;
                }
            }
            j = i;
        }
        inside
    }

    /// Area (shoelace formula), always positive.
    pub fn area(&self) -> f32 {
        let pts = &self.points;
        if pts.len() < 3 {
            return 0.0;
        }
        let mut s = 0.0f64;
        for i in 0..pts.len() {
            let (a, b) = (pts[i], pts[(i + 1) % pts.len()]);
            s += a.x as f64 * b.y as f64 - b.x as f64 * a.y as f64;
        }
        (s.abs() / 2.0) as f32
    }

    /// Distance from `p` to the nearest edge (0 for a degenerate polygon).
    pub fn distance_to_edge(&self, p: Point) -> f32 {
        let pts = &self.points;
        if pts.is_empty() {
            return 0.0;
        }
        (0..pts.len())
            .map(|i| Segment::new(pts[i], pts[(i + 1) % pts.len()]).distance(p))
            .fold(f32::INFINITY, f32::min)
    }
}

/// A directed segment from `a` to `b`.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Segment {
    pub a: Point,
    pub b: Point,
}

impl Segment {
    pub fn new(a: Point, b: Point) -> Self {
        Segment { a, b }
    }

    pub fn length(&self) -> f32 {
        ((self.b.x - self.a.x).powi(2) + (self.b.y - self.a.y).powi(2)).sqrt()
    }

    /// Signed distance of `p` from the infinite line through the segment: positive on the right of `a → b` as seen
    /// on screen (image coordinates, y down): for a segment pointing down the screen, positive is to the left in x.
    pub fn side(&self, p: Point) -> f32 {
        let len = self.length();
        if len == 0.0 {
            return 0.0;
        }
        ((self.b.x - self.a.x) * (p.y - self.a.y) - (self.b.y - self.a.y) * (p.x - self.a.x)) / len
    }

    /// Position of the projection of `p` along the segment: 0 at `a`, 1 at `b`.
    pub fn projection(&self, p: Point) -> f32 {
        let (dx, dy) = (self.b.x - self.a.x, self.b.y - self.a.y);
        let l2 = dx * dx + dy * dy;
        if l2 == 0.0 {
            return 0.0;
        }
        ((p.x - self.a.x) * dx + (p.y - self.a.y) * dy) / l2
    }

    /// Euclidean distance from `p` to the segment.
    pub fn distance(&self, p: Point) -> f32 {
        let t = self.projection(p).clamp(0.0, 1.0);
        let q = Point {
            x: self.a.x + t * (self.b.x - self.a.x),
            y: self.a.y + t * (self.b.y - self.a.y),
        };
        ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt()
    }
}

impl Point {
    pub fn new(x: f32, y: f32) -> Self {
        Point { x, y }
    }

    pub fn distance(&self, o: Point) -> f32 {
        ((self.x - o.x).powi(2) + (self.y - o.y).powi(2)).sqrt()
    }
}

#[cfg(test)]
mod polygon_tests {
    use super::*;
    use proptest::prelude::*;

    fn square() -> Polygon {
        Polygon::new(vec![
            Point::new(0.0, 0.0),
            Point::new(10.0, 0.0),
            Point::new(10.0, 10.0),
            Point::new(0.0, 10.0),
        ])
    }

    #[test]
    fn square_contains_and_area() {
        let s = square();
        assert!(s.contains(Point::new(5.0, 5.0)));
        assert!(!s.contains(Point::new(15.0, 5.0)));
        assert!(!s.contains(Point::new(-0.1, 5.0)));
        assert_eq!(s.area(), 100.0);
        assert_eq!(s.distance_to_edge(Point::new(5.0, 2.0)), 2.0);
    }

    #[test]
    fn concave_polygon() {
        // A "U": the notch is outside.
        let u = Polygon::new(vec![
            Point::new(0.0, 0.0),
            Point::new(3.0, 0.0),
            Point::new(3.0, 3.0),
            Point::new(2.0, 3.0),
            Point::new(2.0, 1.0),
            Point::new(1.0, 1.0),
            Point::new(1.0, 3.0),
            Point::new(0.0, 3.0),
        ]);
        assert!(u.contains(Point::new(0.5, 2.0)));
        assert!(!u.contains(Point::new(1.5, 2.0)));
        assert!(u.contains(Point::new(1.5, 0.5)));
    }

    #[test]
    fn segment_side_and_projection() {
        let s = Segment::new(Point::new(0.0, 0.0), Point::new(10.0, 0.0));
        assert!(s.side(Point::new(5.0, 3.0)) > 0.0); // below the line in image coordinates
        assert!(s.side(Point::new(5.0, -3.0)) < 0.0);
        assert_eq!(s.projection(Point::new(5.0, 7.0)), 0.5);
    }

    proptest! {
        #[test]
        fn scaled_square_contains_scaled_points(x in 0.01f32..0.99, y in 0.01f32..0.99, w in 10f32..2000.0, h in 10f32..2000.0) {
            let unit = Polygon::new(vec![Point::new(0.0, 0.0), Point::new(1.0, 0.0), Point::new(1.0, 1.0), Point::new(0.0, 1.0)]);
            prop_assert!(unit.scaled(w, h).contains(Point::new(x * w, y * h)));
            prop_assert!((unit.scaled(w, h).area() - w * h).abs() <= w * h * 1e-4);
        }
    }
}
