//! Vehicle colour: a named colour from HSV statistics of the body of a vehicle crop (issue 8).
//!
//! Only for vehicles: the law forbids searching a person's appearance, so nothing here is ever computed for people
//! (the caller checks the class; [`VEHICLE_CLASSES`] lists the ones that get a colour).
//!
//! Method: the centre of the box (horizontally 20-80 %, vertically 35-85 %: the body below the windows, above the
//! wheels and the shadow under the car) is read in HSV. Each pixel votes for one colour: saturated, lit pixels for
//! a hue family (with brown and beige for dark or pale warm hues), the others for white, silver, grey or black by
//! brightness. Dark pixels (windows, tyres, shadows) weigh half a vote; specular highlights (very bright,
//! unsaturated) are left out when the body is coloured. The best chromatic colour wins when it holds at least 30 % of
//! the votes, otherwise the best of the neutral colours.

use vigie_core::{BBox, RgbFrame};

/// The named colours, in the order of the issue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Colour {
    White,
    Black,
    Grey,
    Silver,
    Red,
    Blue,
    Green,
    Yellow,
    Orange,
    Brown,
    Beige,
}

/// The classes (detector labels) a colour is computed for.
pub const VEHICLE_CLASSES: [&str; 4] = ["car", "bus", "truck", "motorcycle"];

impl Colour {
    pub const ALL: [Colour; 11] = [
        Colour::White,
        Colour::Black,
        Colour::Grey,
        Colour::Silver,
        Colour::Red,
        Colour::Blue,
        Colour::Green,
        Colour::Yellow,
        Colour::Orange,
        Colour::Brown,
        Colour::Beige,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Colour::White => "white",
            Colour::Black => "black",
            Colour::Grey => "grey",
            Colour::Silver => "silver",
            Colour::Red => "red",
            Colour::Blue => "blue",
            Colour::Green => "green",
            Colour::Yellow => "yellow",
            Colour::Orange => "orange",
            Colour::Brown => "brown",
            Colour::Beige => "beige",
        }
    }

    /// The colour named `s` (lower case; "gray" is taken as grey).
    pub fn parse(s: &str) -> Option<Colour> {
        let s = s.trim().to_ascii_lowercase();
        if s == "gray" {
            return Some(Colour::Grey);
        }
        Colour::ALL.into_iter().find(|c| c.as_str() == s)
    }

    fn is_chromatic(self) -> bool {
        !matches!(self, Colour::White | Colour::Black | Colour::Grey | Colour::Silver)
    }
}

impl std::fmt::Display for Colour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Hue in degrees 0..360, saturation and value 0..1.
pub fn rgb_to_hsv(r: u8, g: u8, b: u8) -> (f32, f32, f32) {
    let (r, g, b) = (r as f32 / 255.0, g as f32 / 255.0, b as f32 / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let d = max - min;
    let h = if d <= f32::EPSILON {
        0.0
    } else if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    let s = if max <= f32::EPSILON { 0.0 } else { d / max };
    (h, s, max)
}

/// The colour one pixel votes for, and the weight of its vote (0: left out).
fn vote(r: u8, g: u8, b: u8) -> (Colour, f32) {
    let (h, s, v) = rgb_to_hsv(r, g, b);
    if v < 0.22 {
        return (Colour::Black, 0.5); // window, tyre, shadow, or a black body: half a vote
    }
    if s >= 0.35 && v >= 0.25 {
        let c = if !(12.0..340.0).contains(&h) {
            Colour::Red
        } else if h < 40.0 {
            if v < 0.5 { Colour::Brown } else { Colour::Orange }
        } else if h < 68.0 {
            if v < 0.45 { Colour::Brown } else { Colour::Yellow }
        } else if h < 165.0 {
            Colour::Green
        } else if h < 265.0 {
            // Silver and grey paint under a blue sky come out faintly blue: blue needs more saturation.
            if s >= 0.45 || v < 0.4 {
                Colour::Blue
            } else {
                Colour::Silver
            }
        } else if h < 300.0 {
            Colour::Blue // violet: nearer blue among the named colours
        } else {
            Colour::Red
        };
        return (c, 1.0);
    }
    if (15.0..60.0).contains(&h) && s >= 0.18 && v >= 0.45 {
        return (Colour::Beige, 1.0);
    }
    if (5.0..50.0).contains(&h) && s >= 0.25 && v < 0.45 {
        return (Colour::Brown, 1.0);
    }
    // Blue-grey and green-grey bodies are common; dark saturated-ish blues (navy) count as blue.
    if (180.0..265.0).contains(&h) && s >= 0.3 && v < 0.4 {
        return (Colour::Blue, 1.0);
    }
    let c = if v >= 0.7 {
        Colour::White
    } else if v >= 0.48 {
        Colour::Silver
    } else if v >= 0.3 {
        Colour::Grey
    } else {
        Colour::Black
    };
    (c, 1.0)
}

/// The named colour of the vehicle in `bbox` (source pixels) of `frame`, with the share of the votes it won (0..1);
/// `None` when the box holds too few pixels to tell (under 8 × 8 in the sampled region).
///
/// When the frame shows the background around the box (a ring 3-8 pixels outside it), pixels of the box that look
/// like that background (asphalt between the wheels of a car seen from above, the road beside it) are left out and
/// the whole box votes: a detector's box around a car seen from above holds as much asphalt as car. When that
/// leaves under 30 % of the box (the ring is the vehicle itself: a loose box, or another vehicle beside it),
/// the body region alone votes, as described in the module's documentation.
pub fn vehicle_colour(frame: &RgbFrame, bbox: BBox) -> Option<(Colour, f32)> {
    if frame.data.len() < (frame.width as usize) * (frame.height as usize) * 3 || !bbox.is_finite() {
        return None;
    }
    let ring = background_ring(frame, bbox);
    if ring.len() >= MIN_RING
        && let Some(found) = votes_in(frame, bbox, (0.0, 1.0, 0.0, 1.0), &ring, MIN_FOREGROUND)
    {
        return Some(found);
    }
    votes_in(frame, bbox, (0.2, 0.8, 0.35, 0.85), &[], 0.0)
}

/// Fewest ring samples for the background to be used.
const MIN_RING: usize = 24;
/// Smallest share of the box's samples that must differ from the background for the whole box to vote.
const MIN_FOREGROUND: f32 = 0.3;
/// L1 distance in RGB (0..765) under which a pixel is taken as background.
const BACKGROUND_L1: u32 = 30;

/// Up to about 64 pixels on a ring 3-8 pixels outside `bbox`, inside the frame.
fn background_ring(frame: &RgbFrame, b: BBox) -> Vec<[u8; 3]> {
    let (w, h) = (frame.width as i64, frame.height as i64);
    let (x1, y1, x2, y2) = (
        b.x1.floor() as i64,
        b.y1.floor() as i64,
        b.x2.ceil() as i64,
        b.y2.ceil() as i64,
    );
    let mut out = Vec::new();
    let perimeter = 2 * ((x2 - x1).max(1) + (y2 - y1).max(1));
    let step = (perimeter / 32).max(2) as usize;
    for d in [4i64, 7] {
        let (ax, ay, bx, by) = (x1 - d, y1 - d, x2 + d, y2 + d);
        let mut pts: Vec<(i64, i64)> = Vec::new();
        for x in (ax..=bx).step_by(step) {
            pts.push((x, ay));
            pts.push((x, by));
        }
        for y in (ay..=by).step_by(step) {
            pts.push((ax, y));
            pts.push((bx, y));
        }
        for (x, y) in pts {
            if (0..w).contains(&x) && (0..h).contains(&y) {
                let i = ((y * w + x) * 3) as usize;
                out.push([frame.data[i], frame.data[i + 1], frame.data[i + 2]]);
            }
        }
    }
    out
}

/// Votes over the part `(fx1, fx2, fy1, fy2)` (fractions of the box) of `bbox`, leaving out pixels near a colour of
/// `background`; `None` when the region is too small or under `min_share` of its samples are left.
fn votes_in(
    frame: &RgbFrame,
    bbox: BBox,
    (fx1, fx2, fy1, fy2): (f32, f32, f32, f32),
    background: &[[u8; 3]],
    min_share: f32,
) -> Option<(Colour, f32)> {
    let (w, h) = (frame.width as f32, frame.height as f32);
    let bw = bbox.x2 - bbox.x1;
    let bh = bbox.y2 - bbox.y1;
    let x1 = (bbox.x1 + fx1 * bw).clamp(0.0, w) as usize;
    let x2 = (bbox.x1 + fx2 * bw).clamp(0.0, w) as usize;
    let y1 = (bbox.y1 + fy1 * bh).clamp(0.0, h) as usize;
    let y2 = (bbox.y1 + fy2 * bh).clamp(0.0, h) as usize;
    if x2 < x1 + 8 || y2 < y1 + 8 {
        return None;
    }
    // At most about 10 000 pixels read, on a regular grid.
    let step = (((x2 - x1) * (y2 - y1)) as f32 / 10_000.0).sqrt().ceil().max(1.0) as usize;
    let mut votes = [0f32; 11];
    let mut highlights = 0f32;
    let (mut samples, mut kept) = (0usize, 0usize);
    let fw = frame.width as usize;
    let near = |p: [u8; 3]| {
        background
            .iter()
            .any(|q| (0..3).map(|k| p[k].abs_diff(q[k]) as u32).sum::<u32>() < BACKGROUND_L1)
    };
    for y in (y1..y2).step_by(step) {
        for x in (x1..x2).step_by(step) {
            let i = (y * fw + x) * 3;
            let (r, g, b) = (frame.data[i], frame.data[i + 1], frame.data[i + 2]);
            samples += 1;
            if near([r, g, b]) {
                continue;
            }
            kept += 1;
            let (c, weight) = vote(r, g, b);
            if c == Colour::White && rgb_to_hsv(r, g, b).2 > 0.95 {
                highlights += weight;
            }
            votes[c as usize] += weight;
        }
    }
    if samples == 0 || (kept as f32) < min_share * samples as f32 {
        return None;
    }
    let total: f32 = votes.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let best_of = |chromatic: bool| {
        Colour::ALL
            .into_iter()
            .filter(|c| c.is_chromatic() == chromatic)
            .max_by(|a, b| votes[*a as usize].total_cmp(&votes[*b as usize]))
    };
    // Highlights on a coloured body (sun on the paint) do not count against its colour.
    let chroma_base = (total - highlights).max(f32::EPSILON);
    let chroma = best_of(true)?;
    let c = if votes[chroma as usize] / chroma_base >= 0.3 {
        chroma
    } else {
        best_of(false)?
    };
    Some((c, (votes[c as usize] / total).clamp(0.0, 1.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(rgb: [u8; 3]) -> RgbFrame {
        RgbFrame::from_fn(100, 80, |_, _| rgb)
    }

    #[test]
    fn solid_colours_are_named() {
        let b = BBox::from([0.0, 0.0, 100.0, 80.0]);
        for (rgb, c) in [
            ([250, 250, 250], Colour::White),
            ([15, 15, 18], Colour::Black),
            ([100, 100, 104], Colour::Grey),
            ([165, 168, 172], Colour::Silver),
            ([200, 20, 25], Colour::Red),
            ([20, 40, 180], Colour::Blue),
            ([20, 140, 50], Colour::Green),
            ([230, 210, 30], Colour::Yellow),
            ([240, 120, 20], Colour::Orange),
            ([100, 60, 30], Colour::Brown),
            ([215, 195, 160], Colour::Beige),
        ] {
            assert_eq!(vehicle_colour(&solid(rgb), b).map(|x| x.0), Some(c), "{rgb:?}");
        }
    }

    #[test]
    fn windows_and_shadow_do_not_turn_a_white_car_black() {
        // White body, a dark window band across the top third of the sampled region.
        let f = RgbFrame::from_fn(100, 100, |_, y| if y < 50 { [20, 22, 25] } else { [235, 235, 238] });
        let (c, _) = vehicle_colour(&f, BBox::from([0.0, 0.0, 100.0, 100.0])).expect("colour");
        assert_eq!(c, Colour::White);
    }

    #[test]
    fn tiny_or_bad_boxes_give_nothing() {
        let f = solid([200, 20, 25]);
        assert_eq!(vehicle_colour(&f, BBox::from([0.0, 0.0, 5.0, 5.0])), None);
        assert_eq!(vehicle_colour(&f, BBox::from([f32::NAN, 0.0, 50.0, 50.0])), None);
        assert_eq!(vehicle_colour(&f, BBox::from([500.0, 500.0, 900.0, 900.0])), None);
    }

    #[test]
    fn names_round_trip() {
        for c in Colour::ALL {
            assert_eq!(Colour::parse(c.as_str()), Some(c));
        }
        assert_eq!(Colour::parse("Gray"), Some(Colour::Grey));
        assert_eq!(Colour::parse("purple"), None);
    }
}
