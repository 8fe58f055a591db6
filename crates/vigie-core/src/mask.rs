//! Privacy masks (issue 7): polygons of a camera's picture that are never shown, exported or (for some cameras)
//! recorded. Every pixel whose centre lies inside one of the polygons is filled with [`MASK_FILL`].
//!
//! [`PrivacyMasks`] keeps a bitmask per resolution, computed once (a point-in-polygon test per pixel) and reused for
//! every frame of that size: applying masks to a frame costs one pass over the masked bytes.

use serde::{Deserialize, Serialize};

use crate::geom::{Point, Polygon};
use crate::{Result, RgbFrame, err};

/// The colour of masked pixels: solid black. Black survives JPEG and H.264 without ringing inside a large area
/// and is what an operator reads as "hidden".
pub const MASK_FILL: [u8; 3] = [0, 0, 0];
// A grey fill (all channels equal) lets [`PrivacyMasks::apply`] fill spans with `memset`.
const _: () = assert!(MASK_FILL[0] == MASK_FILL[1] && MASK_FILL[1] == MASK_FILL[2]);

/// `[[camera.privacy_mask]]`: one polygon hidden in everything shown, exported or (with
/// `mask_before_recording`) recorded of that camera.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaskConfig {
    /// A name for the mask ("window-12-rue-x"), in errors and logs.
    pub name: String,
    /// Vertices `[x, y]` in normalised coordinates (0..1 of the frame's width and height, origin top left), at
    /// least 3, like zones.
    pub points: Vec<[f32; 2]>,
}

impl MaskConfig {
    /// At least 3 finite points within 0..1; `camera` names the camera in the error.
    pub fn validate(&self, camera: &str) -> Result<()> {
        let n = &self.name;
        if n.trim().is_empty() {
            return Err(err!(Config, "camera {camera}: a privacy mask needs a name"));
        }
        if self.points.len() < 3 {
            return Err(err!(
                Config,
                "camera {camera}: privacy mask {n:?} has {} points, at least 3 are needed",
                self.points.len()
            ));
        }
        for [x, y] in &self.points {
            if !(x.is_finite() && y.is_finite() && (0.0..=1.0).contains(x) && (0.0..=1.0).contains(y)) {
                return Err(err!(
                    Config,
                    "camera {camera}: privacy mask {n:?}: point [{x}, {y}] is not within 0..1 (normalised coordinates)"
                ));
            }
        }
        Ok(())
    }

    fn polygon(&self) -> Polygon {
        Polygon::new(self.points.iter().map(|[x, y]| Point { x: *x, y: *y }).collect())
    }
}

/// A camera's masks with the bitmask of the latest resolution seen. Cheap to clone; not shared between threads
/// (each stage that masks owns one).
#[derive(Clone, Debug, Default)]
pub struct PrivacyMasks {
    polygons: Vec<Polygon>,
    /// The masked pixels of the latest resolution seen.
    cache: Option<MaskBits>,
}

#[derive(Clone, Debug)]
struct MaskBits {
    width: u32,
    height: u32,
    /// Per row, the `[x0, x1)` spans of masked pixels (merged, sorted).
    spans: Vec<Vec<(u32, u32)>>,
    masked_pixels: u64,
}

impl PrivacyMasks {
    pub fn new(masks: &[MaskConfig]) -> PrivacyMasks {
        PrivacyMasks {
            polygons: masks.iter().map(MaskConfig::polygon).collect(),
            cache: None,
        }
    }

    /// No mask at all: applying is a no-op.
    pub fn is_empty(&self) -> bool {
        self.polygons.is_empty()
    }

    /// Whether the pixel centre `(x + 0.5, y + 0.5)` of a `w` × `h` frame is inside a mask.
    pub fn covers(&self, w: u32, h: u32, x: u32, y: u32) -> bool {
        let p = Point {
            x: (x as f32 + 0.5) / w as f32,
            y: (y as f32 + 0.5) / h as f32,
        };
        self.polygons.iter().any(|poly| poly.contains(p))
    }

    /// Whether a box (source pixels `[x1, y1, x2, y2]` of a `w` × `h` frame) lies entirely inside the masks (its
    /// four corners and centre are masked): an object there is not to be drawn.
    pub fn hides_box(&self, w: u32, h: u32, b: [f32; 4]) -> bool {
        if self.is_empty() || w == 0 || h == 0 {
            return false;
        }
        let (wf, hf) = (w as f32, h as f32);
        let inside = |x: f32, y: f32| {
            let p = Point { x: x / wf, y: y / hf };
            self.polygons.iter().any(|poly| poly.contains(p))
        };
        let [x1, y1, x2, y2] = b;
        inside(x1, y1) && inside(x2, y1) && inside(x1, y2) && inside(x2, y2) && inside((x1 + x2) / 2.0, (y1 + y2) / 2.0)
    }

    fn build(&self, w: u32, h: u32) -> MaskBits {
        let mut spans = Vec::with_capacity(h as usize);
        let mut masked = 0u64;
        for y in 0..h {
            let mut row: Vec<(u32, u32)> = Vec::new();
            let mut start: Option<u32> = None;
            for x in 0..w {
                match (self.covers(w, h, x, y), start) {
                    (true, None) => start = Some(x),
                    (false, Some(s)) => {
                        row.push((s, x));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                row.push((s, w));
            }
            masked += row.iter().map(|(a, b)| u64::from(b - a)).sum::<u64>();
            spans.push(row);
        }
        MaskBits {
            width: w,
            height: h,
            spans,
            masked_pixels: masked,
        }
    }

    /// The spans of a `w` × `h` frame: the cached ones, or computed once for a new resolution.
    fn bits(&mut self, w: u32, h: u32) -> &MaskBits {
        let bits = match self.cache.take() {
            Some(c) if c.width == w && c.height == h => c,
            _ => self.build(w, h),
        };
        self.cache.insert(bits)
    }

    /// Fills the masked pixels of `frame` with [`MASK_FILL`]; returns how many pixels were filled. A frame whose
    /// buffer does not match its size (or an empty frame: not converted to RGB) is left as it is, and 0 returned.
    pub fn apply(&mut self, frame: &mut RgbFrame) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let (w, h) = (frame.width, frame.height);
        if frame.data.len() != w as usize * h as usize * 3 {
            return 0;
        }
        let bits = self.bits(w, h);
        let row = w as usize * 3;
        for (y, spans) in bits.spans.iter().enumerate() {
            let line = &mut frame.data[y * row..(y + 1) * row];
            for &(x0, x1) in spans {
                line[x0 as usize * 3..x1 as usize * 3].fill(MASK_FILL[0]);
            }
        }
        bits.masked_pixels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(points: &[[f32; 2]]) -> MaskConfig {
        MaskConfig {
            name: "window".into(),
            points: points.to_vec(),
        }
    }

    #[test]
    fn validation_names_the_camera_and_the_mask() {
        assert!(mask(&[[0.0, 0.0], [1.0, 0.0], [0.5, 1.0]]).validate("cam").is_ok());
        let e = mask(&[[0.0, 0.0], [1.0, 0.0]])
            .validate("cam-1")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("cam-1") && e.contains("window") && e.contains("at least 3"),
            "{e}"
        );
        let e = mask(&[[0.0, 0.0], [1.2, 0.0], [0.5, 1.0]])
            .validate("c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("1.2"), "{e}");
        assert!(mask(&[[0.0, f32::NAN], [1.0, 0.0], [0.5, 1.0]]).validate("c").is_err());
        assert!(
            mask(&[[0.0, 0.0], [1.0, 0.0], [0.5, f32::INFINITY]])
                .validate("c")
                .is_err()
        );
    }

    #[test]
    fn fills_exactly_the_pixels_whose_centre_is_inside() {
        // The left half of an 8 × 4 frame.
        let mut m = PrivacyMasks::new(&[mask(&[[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]])]);
        let mut f = RgbFrame::from_fn(8, 4, |x, y| [100 + x as u8, 50 + y as u8, 7]);
        assert_eq!(m.apply(&mut f), 16);
        for y in 0..4 {
            for x in 0..8 {
                if x < 4 {
                    assert_eq!(f.pixel(x, y), MASK_FILL, "({x}, {y})");
                } else {
                    assert_eq!(f.pixel(x, y), [100 + x as u8, 50 + y as u8, 7], "({x}, {y})");
                }
            }
        }
        // Same result at another resolution (the bitmask is rebuilt), and again at the first (deterministic).
        let mut g = RgbFrame::from_fn(16, 2, |_, _| [9, 9, 9]);
        assert_eq!(m.apply(&mut g), 16);
        assert_eq!(g.pixel(7, 1), MASK_FILL);
        assert_eq!(g.pixel(8, 1), [9, 9, 9]);
        let mut f2 = RgbFrame::from_fn(8, 4, |x, y| [100 + x as u8, 50 + y as u8, 7]);
        m.apply(&mut f2);
        assert_eq!(f2.data, f.data);
    }

    #[test]
    fn a_triangle_and_no_masks() {
        let mut m = PrivacyMasks::new(&[mask(&[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])]);
        let mut f = RgbFrame::from_fn(10, 10, |_, _| [200, 200, 200]);
        m.apply(&mut f);
        assert_eq!(f.pixel(0, 0), MASK_FILL);
        assert_eq!(f.pixel(9, 9), [200, 200, 200]);
        assert_eq!(f.pixel(3, 3), MASK_FILL); // centre (0.35, 0.35): x + y < 1
        assert_eq!(f.pixel(5, 5), [200, 200, 200]);
        assert!(m.hides_box(10, 10, [0.5, 0.5, 3.0, 3.0]));
        assert!(!m.hides_box(10, 10, [0.5, 0.5, 9.0, 9.0]));
        let mut none = PrivacyMasks::new(&[]);
        let before = f.data.clone();
        assert_eq!(none.apply(&mut f), 0);
        assert_eq!(f.data, before);
        // A frame not converted to RGB is left alone.
        let mut empty = RgbFrame { data: Vec::new(), ..f };
        assert_eq!(m.apply(&mut empty), 0);
    }
}
