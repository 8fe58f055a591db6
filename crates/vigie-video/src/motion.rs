//! [`MotionGate`]: a cheap, sans-IO test of whether anything in a camera's picture differs from its background, so
//! that the detector runs only on frames where something is there.
//!
//! # Method
//!
//! - The frame is reduced to a grid of cells (64x36 by default, 16:9 like most cameras) by *strided sampling*:
//!   each cell's value is the mean luma (BT.601 weights, integer) of `samples_per_cell`² pixels spread evenly
//!   inside it. No resize, no full pass over the frame: 36 864 pixels read per frame whatever its size.
//! - A background value per cell is learnt from the frames pushed. A cell is *changed* when its value differs from
//!   the background by more than `pixel_threshold` luma levels. The frame is *moving* when at least
//!   `min_changed_fraction` of the cells changed; the box is the union of the changed cells, in source pixels.
//! - Background update: cells within half the threshold of the background follow the picture with
//!   `adaptation_rate` per frame (slow light changes, compression noise); the others are not updated (changed
//!   cells, and cells an object only partly covers), so a person who stops still stays foreground instead of
//!   fading into the background, and leaves no "ghost" when they go. A cell that stays off the background for
//!   `absorb_after` frames in a row is taken as the new background at once (a parked car, a moved chair): the
//!   gate does not stay open for ever. The same rule absorbs the hole an object leaves when it was present at
//!   start-up.
//! - Global brightness (chosen: normalised, `normalise_brightness`): cameras change gain and exposure, and clouds
//!   pass; that is not motion. Each frame's gain against the background is the median, over cells neither dark
//!   nor saturated in either, of `frame / background`, clamped to [0.5, 2]. Cells are compared with the
//!   background scaled by that gain and clipped at 255 (a pixel saturated in both reads unchanged). A median
//!   ignores moving objects as long as they cover less than half of the picture; changes beyond the clamp (lights
//!   switched on or off) read as motion until the background has adapted.
//! - The first frame (and the first after a change of frame size) only initialises the background: not moving.
//! - Deterministic: the same frames give the same results. Rates and counts are per pushed frame, so set them
//!   for the rate frames are pushed at (the defaults assume the 5 fps analysis rate).

use vigie_core::{BBox, RgbFrame};

/// Parameters of a [`MotionGate`]. Thresholds are on the 0-255 luma scale.
#[derive(Clone, Debug, PartialEq)]
pub struct MotionConfig {
    /// Cells across (default 64).
    pub grid_width: u32,
    /// Cells down (default 36).
    pub grid_height: u32,
    /// Pixels sampled per cell along each axis (default 4: 16 pixels per cell).
    pub samples_per_cell: u32,
    /// Mean-luma difference above which a cell is changed (default 20).
    pub pixel_threshold: f32,
    /// Fraction of cells that must change for the frame to be moving (default 0.004: 10 of 2304 cells, about a
    /// person's head and shoulders at 768x432).
    pub min_changed_fraction: f32,
    /// Per-frame rate at which unchanged cells follow the picture (default 0.05: a time constant of 20 frames,
    /// 4 s at 5 fps).
    pub adaptation_rate: f32,
    /// Frames a cell must stay off the background (by more than half the threshold) before it becomes background
    /// (default 300: 60 s at 5 fps); 0 never.
    pub absorb_after: u32,
    /// Compensate global brightness changes (default true; see the module documentation).
    pub normalise_brightness: bool,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            grid_width: 64,
            grid_height: 36,
            samples_per_cell: 4,
            pixel_threshold: 20.0,
            min_changed_fraction: 0.004,
            adaptation_rate: 0.05,
            absorb_after: 300,
            normalise_brightness: true,
        }
    }
}

/// What [`MotionGate::push`] found in a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Motion {
    pub moving: bool,
    /// Fraction of cells that differ from the background (0 to 1).
    pub changed_fraction: f32,
    /// Union of the changed cells, in source pixels; `None` when no cell changed.
    pub bbox: Option<BBox>,
}

/// Background-difference motion detector over a grid of sampled cells (see the module documentation).
pub struct MotionGate {
    cfg: MotionConfig,
    /// Frame size the sampling tables were built for.
    size: Option<(u32, u32)>,
    /// Byte offset of each sample within a row, grouped by cell column.
    x_offsets: Vec<usize>,
    /// Row of each sample, grouped by cell row.
    y_rows: Vec<usize>,
    /// Cell boundaries in source pixels.
    x_edges: Vec<u32>,
    y_edges: Vec<u32>,
    background: Vec<f32>,
    current: Vec<f32>,
    changed_for: Vec<u32>,
    ratios: Vec<f32>,
    sums: Vec<u32>,
    initialised: bool,
}

impl MotionGate {
    /// A gate; zero grid or sample sizes are taken as 1, and the rate is clamped to [0, 1].
    pub fn new(cfg: MotionConfig) -> MotionGate {
        let mut cfg = cfg;
        cfg.grid_width = cfg.grid_width.max(1);
        cfg.grid_height = cfg.grid_height.max(1);
        cfg.samples_per_cell = cfg.samples_per_cell.max(1);
        cfg.adaptation_rate = if cfg.adaptation_rate.is_finite() {
            cfg.adaptation_rate.clamp(0.0, 1.0)
        } else {
            0.0
        };
        MotionGate {
            cfg,
            size: None,
            x_offsets: Vec::new(),
            y_rows: Vec::new(),
            x_edges: Vec::new(),
            y_edges: Vec::new(),
            background: Vec::new(),
            current: Vec::new(),
            changed_for: Vec::new(),
            ratios: Vec::new(),
            sums: Vec::new(),
            initialised: false,
        }
    }

    pub fn config(&self) -> &MotionConfig {
        &self.cfg
    }

    /// Forgets the background: the next frame initialises it.
    pub fn reset(&mut self) {
        self.initialised = false;
    }

    /// Compares `frame` with the background, then updates the background.
    pub fn push(&mut self, frame: &RgbFrame) -> Motion {
        const STILL: Motion = Motion {
            moving: false,
            changed_fraction: 0.0,
            bbox: None,
        };
        let (w, h) = (frame.width, frame.height);
        if w == 0 || h == 0 || frame.data.len() < w as usize * h as usize * 3 {
            // Not a valid frame: nothing to compare; start again on the next good one.
            self.initialised = false;
            return STILL;
        }
        if self.size != Some((w, h)) {
            self.layout(w, h);
        }
        self.sample(frame);
        if !self.initialised {
            self.background.copy_from_slice(&self.current);
            self.changed_for.iter_mut().for_each(|c| *c = 0);
            self.initialised = true;
            return STILL;
        }

        let gain = if self.cfg.normalise_brightness {
            self.gain()
        } else {
            1.0
        };
        let (gw, gh) = (self.cfg.grid_width as usize, self.cfg.grid_height as usize);
        let (thr, rate, absorb) = (
            self.cfg.pixel_threshold,
            self.cfg.adaptation_rate,
            self.cfg.absorb_after,
        );
        let mut changed = 0usize;
        let (mut cx1, mut cy1, mut cx2, mut cy2) = (usize::MAX, usize::MAX, 0usize, 0usize);
        for cy in 0..gh {
            for cx in 0..gw {
                let i = cy * gw + cx;
                let cur = self.current[i];
                let bg = self.background[i];
                let predicted = (bg * gain).min(255.0);
                let diff = (cur - predicted).abs();
                if diff > thr {
                    changed += 1;
                    cx1 = cx1.min(cx);
                    cy1 = cy1.min(cy);
                    cx2 = cx2.max(cx);
                    cy2 = cy2.max(cy);
                }
                if diff > thr * 0.5 {
                    self.changed_for[i] += 1;
                    if absorb > 0 && self.changed_for[i] >= absorb {
                        self.background[i] = cur;
                        self.changed_for[i] = 0;
                    }
                } else {
                    self.changed_for[i] = 0;
                    self.background[i] = bg + rate * (cur - bg);
                }
            }
        }
        let fraction = changed as f32 / (gw * gh) as f32;
        let bbox = (changed > 0).then(|| {
            BBox::new(
                self.x_edges[cx1] as f32,
                self.y_edges[cy1] as f32,
                self.x_edges[cx2 + 1] as f32,
                self.y_edges[cy2 + 1] as f32,
            )
        });
        Motion {
            moving: changed > 0 && fraction >= self.cfg.min_changed_fraction,
            changed_fraction: fraction,
            bbox,
        }
    }

    /// Builds the sampling tables for a `w`x`h` frame.
    fn layout(&mut self, w: u32, h: u32) {
        let (gw, gh, s) = (self.cfg.grid_width, self.cfg.grid_height, self.cfg.samples_per_cell);
        let edges = |n: u32, len: u32| -> Vec<u32> {
            (0..=n)
                .map(|i| (u64::from(i) * u64::from(len) / u64::from(n)) as u32)
                .collect()
        };
        // Sample k of a cell [a, b): at a + (2k + 1)(b - a) / 2s, clamped inside the frame.
        let samples = |e: &[u32], len: u32| -> Vec<usize> {
            e.windows(2)
                .flat_map(|ab| {
                    let (a, b) = (u64::from(ab[0]), u64::from(ab[1]));
                    (0..u64::from(s)).map(move |k| a + (2 * k + 1) * (b - a) / (2 * u64::from(s)))
                })
                .map(|p| p.min(u64::from(len) - 1) as usize)
                .collect()
        };
        self.x_edges = edges(gw, w);
        self.y_edges = edges(gh, h);
        self.x_offsets = samples(&self.x_edges, w).into_iter().map(|x| x * 3).collect();
        self.y_rows = samples(&self.y_edges, h);
        let cells = (gw * gh) as usize;
        self.background = vec![0.0; cells];
        self.current = vec![0.0; cells];
        self.changed_for = vec![0; cells];
        self.sums = vec![0; gw as usize];
        self.size = Some((w, h));
        self.initialised = false;
    }

    /// Fills `self.current` with each cell's mean sampled luma.
    fn sample(&mut self, frame: &RgbFrame) {
        let s = self.cfg.samples_per_cell as usize;
        let gw = self.cfg.grid_width as usize;
        let row_bytes = frame.width as usize * 3;
        let norm = 1.0 / (s * s * 256) as f32;
        for (cy, rows) in self.y_rows.chunks_exact(s).enumerate() {
            self.sums.iter_mut().for_each(|v| *v = 0);
            for &y in rows {
                let row = &frame.data[y * row_bytes..(y + 1) * row_bytes];
                for (sum, xs) in self.sums.iter_mut().zip(self.x_offsets.chunks_exact(s)) {
                    for &x in xs {
                        let (r, g, b) = (row[x] as u32, row[x + 1] as u32, row[x + 2] as u32);
                        *sum += 77 * r + 150 * g + 29 * b;
                    }
                }
            }
            for (cx, &sum) in self.sums.iter().enumerate() {
                self.current[cy * gw + cx] = sum as f32 * norm;
            }
        }
    }

    /// The frame's brightness gain against the background: the median ratio over well-exposed cells.
    fn gain(&mut self) -> f32 {
        self.ratios.clear();
        for (&c, &b) in self.current.iter().zip(&self.background) {
            if (12.0..=240.0).contains(&b) && (12.0..=240.0).contains(&c) {
                self.ratios.push(c / b);
            }
        }
        // Too few informative cells (a dark or blown-out picture): do not guess.
        if self.ratios.is_empty() || self.ratios.len() < self.current.len() / 10 {
            return 1.0;
        }
        let mid = self.ratios.len() / 2;
        let (_, m, _) = self.ratios.select_nth_unstable_by(mid, f32::total_cmp);
        m.clamp(0.5, 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(w: u32, h: u32, v: u8) -> RgbFrame {
        RgbFrame::from_fn(w, h, |_, _| [v, v, v])
    }

    #[test]
    fn first_frame_and_static_frames_are_still() {
        let mut g = MotionGate::new(MotionConfig::default());
        let f = RgbFrame::from_fn(320, 180, |x, y| [(x % 256) as u8, (y % 256) as u8, 90]);
        for _ in 0..10 {
            let m = g.push(&f);
            assert!(!m.moving);
            assert_eq!(m.changed_fraction, 0.0);
            assert_eq!(m.bbox, None);
        }
    }

    #[test]
    fn a_bright_square_is_found_where_it_is() {
        let mut g = MotionGate::new(MotionConfig::default());
        g.push(&flat(640, 360, 60));
        let f = RgbFrame::from_fn(640, 360, |x, y| {
            if (200..300).contains(&x) && (100..180).contains(&y) {
                [250, 250, 250]
            } else {
                [60, 60, 60]
            }
        });
        let m = g.push(&f);
        assert!(m.moving);
        let b = m.bbox.expect("a box");
        // Cells are 10x10 pixels: the box is the square, to the cell.
        assert!(
            b.x1 >= 190.0 && b.x1 <= 200.0 && b.x2 >= 300.0 && b.x2 <= 310.0,
            "{b:?}"
        );
        assert!(b.y1 >= 90.0 && b.y1 <= 100.0 && b.y2 >= 180.0 && b.y2 <= 190.0, "{b:?}");
        assert!(
            (m.changed_fraction - 80.0 / 2304.0).abs() < 0.01,
            "{}",
            m.changed_fraction
        );
    }

    #[test]
    fn a_changed_cell_is_absorbed_after_the_configured_frames() {
        let mut g = MotionGate::new(MotionConfig {
            absorb_after: 5,
            ..MotionConfig::default()
        });
        g.push(&flat(64, 36, 60));
        let f = RgbFrame::from_fn(64, 36, |x, _| if x < 8 { [200, 200, 200] } else { [60, 60, 60] });
        let moving: Vec<bool> = (0..8).map(|_| g.push(&f).moving).collect();
        assert_eq!(moving, [true, true, true, true, true, false, false, false]);
    }

    #[test]
    fn bad_frames_and_size_changes_do_not_panic() {
        let mut g = MotionGate::new(MotionConfig {
            grid_width: 0,
            samples_per_cell: 0,
            adaptation_rate: f32::NAN,
            ..MotionConfig::default()
        });
        let mut bad = flat(10, 10, 5);
        bad.data.truncate(7);
        assert!(!g.push(&bad).moving);
        assert!(!g.push(&flat(3, 2, 5)).moving);
        assert!(!g.push(&flat(1, 1, 5)).moving);
        assert!(!g.push(&flat(1, 1, 5)).moving);
        assert!(g.push(&flat(1, 1, 255)).moving);
    }
}
