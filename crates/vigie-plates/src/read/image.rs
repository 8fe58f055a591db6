//! Pixel work on packed RGB24 views: bilinear resize and perspective crop straight into planar BGR model inputs.

use vigie_core::{BBox, Point, RgbFrame};

/// A read-only view of packed RGB24 pixels: `height` rows of `width` pixels, rows `stride` bytes apart.
#[derive(Clone, Copy, Debug)]
pub struct Rgb<'a> {
    pub data: &'a [u8],
    pub width: u32,
    pub height: u32,
    pub stride: usize,
}

impl<'a> Rgb<'a> {
    /// A view of a whole frame; `None` when its buffer is shorter than `width * height * 3` or it is empty.
    pub fn of_frame(f: &'a RgbFrame) -> Option<Rgb<'a>> {
        Rgb::new(&f.data, f.width, f.height)
    }

    pub fn new(data: &'a [u8], width: u32, height: u32) -> Option<Rgb<'a>> {
        let stride = width as usize * 3;
        (width > 0 && height > 0 && data.len() >= stride * height as usize).then_some(Rgb {
            data,
            width,
            height,
            stride,
        })
    }

    /// The sub-view of the pixels inside `b` (clamped to the view, rounded outwards), with its top-left corner;
    /// `None` when nothing is left.
    pub fn sub(&self, b: &BBox) -> Option<(Rgb<'a>, u32, u32)> {
        let x0 = (b.x1.floor().max(0.0) as u32).min(self.width);
        let y0 = (b.y1.floor().max(0.0) as u32).min(self.height);
        let x1 = (b.x2.ceil().max(0.0) as u32).min(self.width);
        let y1 = (b.y2.ceil().max(0.0) as u32).min(self.height);
        if x1 <= x0 || y1 <= y0 {
            return None;
        }
        let off = y0 as usize * self.stride + x0 as usize * 3;
        Some((
            Rgb {
                data: &self.data[off..],
                width: x1 - x0,
                height: y1 - y0,
                stride: self.stride,
            },
            x0,
            y0,
        ))
    }

    #[inline]
    fn px(&self, x: usize, y: usize) -> [u8; 3] {
        let o = y * self.stride + x * 3;
        [self.data[o], self.data[o + 1], self.data[o + 2]]
    }

    /// Bilinear sample at continuous pixel-centre coordinates, clamped to the edges (border replicate).
    #[inline]
    fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let xm = (self.width - 1) as f32;
        let ym = (self.height - 1) as f32;
        let x = x.clamp(0.0, xm);
        let y = y.clamp(0.0, ym);
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = (
            (x0 + 1).min(self.width as usize - 1),
            (y0 + 1).min(self.height as usize - 1),
        );
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let (a, b, c, d) = (self.px(x0, y0), self.px(x1, y0), self.px(x0, y1), self.px(x1, y1));
        [0, 1, 2].map(|k| {
            let top = a[k] as f32 * (1.0 - fx) + b[k] as f32 * fx;
            let bot = c[k] as f32 * (1.0 - fx) + d[k] as f32 * fx;
            top * (1.0 - fy) + bot * fy
        })
    }
}

/// Resizes `img` to `w x h` (bilinear, OpenCV's `INTER_LINEAR` pixel-centre convention) into `out`, planar BGR
/// (`[3, h, w]`), each value mapped by `norm` (from 0..255).
pub fn resize_into_bgr_planes(img: Rgb<'_>, w: usize, h: usize, out: &mut [f32], norm: impl Fn(f32) -> f32) {
    let plane = w * h;
    debug_assert!(out.len() >= 3 * plane);
    let rx = img.width as f32 / w as f32;
    let ry = img.height as f32 / h as f32;
    for oy in 0..h {
        let sy = (oy as f32 + 0.5) * ry - 0.5;
        for ox in 0..w {
            let sx = (ox as f32 + 0.5) * rx - 0.5;
            let p = img.sample(sx, sy);
            let i = oy * w + ox;
            out[i] = norm(p[2]);
            out[plane + i] = norm(p[1]);
            out[2 * plane + i] = norm(p[0]);
        }
    }
}

/// The projective map from the unit square to `quad` (corners for (0,0), (1,0), (1,1), (0,1)), Heckbert's closed
/// form: `x = (a s + b t + c) / (g s + h t + 1)`, `y = (d s + e t + f) / (g s + h t + 1)`.
fn square_to_quad(q: &[Point; 4]) -> [f32; 8] {
    let (x0, y0, x1, y1, x2, y2, x3, y3) = (q[0].x, q[0].y, q[1].x, q[1].y, q[2].x, q[2].y, q[3].x, q[3].y);
    let (dx1, dx2, dx3) = (x1 - x2, x3 - x2, x0 - x1 + x2 - x3);
    let (dy1, dy2, dy3) = (y1 - y2, y3 - y2, y0 - y1 + y2 - y3);
    let den = dx1 * dy2 - dx2 * dy1;
    let (g, h) = if den.abs() < 1e-9 || (dx3.abs() < 1e-6 && dy3.abs() < 1e-6) {
        (0.0, 0.0)
    } else {
        ((dx3 * dy2 - dx2 * dy3) / den, (dx1 * dy3 - dx3 * dy1) / den)
    };
    [
        x1 - x0 + g * x1,
        x3 - x0 + h * x3,
        x0,
        y1 - y0 + g * y1,
        y3 - y0 + h * y3,
        y0,
        g,
        h,
    ]
}

/// Perspective crop: the quadrilateral `quad` of `img` (corners top-left, top-right, bottom-right, bottom-left)
/// resampled to `out_w x out_h` (bilinear, border replicate), written planar BGR into `out` (`[3, out_h,
/// tensor_w]`, `tensor_w >= out_w`; columns from `out_w` on are left as they are), each value mapped by `norm`.
pub fn warp_quad(
    img: Rgb<'_>,
    quad: &[Point; 4],
    out_w: usize,
    out_h: usize,
    tensor_w: usize,
    out: &mut [f32],
    norm: impl Fn(f32) -> f32,
) {
    let [a, b, c, d, e, f, g, h] = square_to_quad(quad);
    let plane = tensor_w * out_h;
    debug_assert!(tensor_w >= out_w && out.len() >= 3 * plane);
    for oy in 0..out_h {
        let t = (oy as f32 + 0.5) / out_h as f32;
        for ox in 0..out_w {
            let s = (ox as f32 + 0.5) / out_w as f32;
            let den = g * s + h * t + 1.0;
            let x = (a * s + b * t + c) / den;
            let y = (d * s + e * t + f) / den;
            let p = img.sample(x - 0.5, y - 0.5);
            let i = oy * tensor_w + ox;
            out[i] = norm(p[2]);
            out[plane + i] = norm(p[1]);
            out[2 * plane + i] = norm(p[0]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
        let mut v = Vec::new();
        for y in 0..h {
            for x in 0..w {
                v.extend_from_slice(&f(x, y));
            }
        }
        v
    }

    #[test]
    fn sub_view_and_resize_identity() {
        let data = img(8, 6, |x, y| [x as u8 * 10, y as u8 * 10, 7]);
        let v = Rgb::new(&data, 8, 6).unwrap();
        let (s, x0, y0) = v.sub(&BBox::new(2.2, 1.0, 6.0, 4.5)).unwrap();
        assert_eq!((s.width, s.height, x0, y0), (4, 4, 2, 1));
        let mut out = vec![0.0; 3 * 16];
        resize_into_bgr_planes(s, 4, 4, &mut out, |p| p);
        // B plane is 7, G is y*10, R is x*10 of the source.
        assert_eq!(out[0], 7.0);
        assert_eq!(out[16 + 4], 20.0); // G at (0, 1): source y 2
        assert_eq!(out[32 + 3], 50.0); // R at (3, 0): source x 5
        assert!(v.sub(&BBox::new(9.0, 0.0, 12.0, 3.0)).is_none());
        assert!(Rgb::new(&data, 9, 6).is_none());
    }

    #[test]
    fn warp_of_an_axis_aligned_quad_is_a_crop() {
        let data = img(10, 10, |x, y| [x as u8 * 20, y as u8 * 20, 0]);
        let v = Rgb::new(&data, 10, 10).unwrap();
        let p = |x, y| Point { x, y };
        // Pixels 2..6 x 3..5: corners at pixel edges.
        let q = [p(2.0, 3.0), p(6.0, 3.0), p(6.0, 5.0), p(2.0, 5.0)];
        let mut out = vec![-1.0; 3 * 2 * 6];
        warp_quad(v, &q, 4, 2, 6, &mut out, |p| p);
        let plane = 12;
        let r = |x: usize, y: usize| out[2 * plane + y * 6 + x];
        let g = |x: usize, y: usize| out[plane + y * 6 + x];
        assert_eq!((r(0, 0), r(3, 0)), (40.0, 100.0));
        assert_eq!((g(0, 0), g(0, 1)), (60.0, 80.0));
        assert_eq!(out[4], -1.0, "padding columns untouched");
    }

    #[test]
    fn square_to_quad_maps_corners() {
        let p = |x, y| Point { x, y };
        let q = [p(1.0, 2.0), p(9.0, 1.0), p(10.0, 7.0), p(0.0, 5.0)];
        let m = square_to_quad(&q);
        let map = |s: f32, t: f32| {
            let den = m[6] * s + m[7] * t + 1.0;
            ((m[0] * s + m[1] * t + m[2]) / den, (m[3] * s + m[4] * t + m[5]) / den)
        };
        for ((s, t), c) in [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)].into_iter().zip(q) {
            let (x, y) = map(s, t);
            assert!(
                (x - c.x).abs() < 1e-4 && (y - c.y).abs() < 1e-4,
                "{s},{t}: {x},{y} vs {c:?}"
            );
        }
    }
}
