//! A time-aware constant-velocity Kalman filter over `(cx, cy, aspect, h)`, ByteTrack's box parametrisation.
//!
//! The state is `[cx, cy, a, h, vcx, vcy, va, vh]` with `a = w / h` and velocities **per second** (not per frame).
//! [`Kalman::predict`] takes the elapsed media time `dt`, so the same filter serves an analysis at 5 fps and one at
//! 25 fps. The process noise is the exact discretisation of a continuous model, per coordinate:
//!
//! - the velocity is a random walk driven by white acceleration of density `q` (`Q_vv = q·dt`,
//!   `Q_pv = q·dt²/2`, `Q_pp = q·dt³/3`);
//! - the position additionally random-walks with density `r` (`Q_pp += r·dt`), for jitter that is not motion.
//!
//! Because the discretisation is exact, five predictions of 0.04 s equal one of 0.2 s (when `h` does not change),
//! which is what makes the tracker behave alike at any analysis rate. As in ByteTrack, the noise of `cx`, `cy` and
//! `h` scales with the box height, so one tuning fits near and far objects.

use nalgebra::{SMatrix, SVector};
use vigie_core::BBox;

pub(crate) type Vec4 = SVector<f64, 4>;
type Vec8 = SVector<f64, 8>;
type Mat4 = SMatrix<f64, 4, 4>;
type Mat8 = SMatrix<f64, 8, 8>;

/// Smallest height (pixels) used to scale noise and normalise distances, so degenerate predictions stay finite.
pub(crate) const MIN_HEIGHT: f64 = 1.0;

/// Noise parameters of the motion model. Lengths are in box heights, times in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MotionConfig {
    /// Measurement noise std of `cx`, `cy` and `h`, as a fraction of the box height. Default 0.05 (ByteTrack's
    /// `std_weight_position`).
    pub meas_pos_std: f64,
    /// Measurement noise std of the aspect ratio `w / h`. Default 0.1 (ByteTrack's).
    pub meas_aspect_std: f64,
    /// White-acceleration density of the centre, in (heights/s²)²·s: the velocity std grows as `sqrt(q·t)`
    /// heights/s. Default 1.0 (ByteTrack's per-frame velocity noise at 30 fps, converted to per second).
    pub accel_center: f64,
    /// White-acceleration density of the height, in (heights/s²)²·s. Default 0.1 (sizes change slowly).
    pub accel_height: f64,
    /// White-acceleration density of the aspect ratio, in (1/s²)²·s. Default 1e-4.
    pub accel_aspect: f64,
    /// Position random-walk density of `cx`, `cy` and `h`, in heights²/s: jitter that is not motion.
    /// Default 0.02 (std 0.063 h over 0.2 s).
    pub walk_pos: f64,
    /// Random-walk density of the aspect ratio, per second. Default 3e-3.
    pub walk_aspect: f64,
    /// Std of a new track's position (`cx`, `cy`, `h`), as a fraction of its height. Default 0.1.
    pub init_pos_std: f64,
    /// Std of a new track's centre velocity, in heights/s. Default 2.0 (a brisk walk is ~1 h/s).
    pub init_vel_center_std: f64,
    /// Std of a new track's height velocity, in heights/s. Default 0.5.
    pub init_vel_height_std: f64,
}

impl Default for MotionConfig {
    fn default() -> Self {
        MotionConfig {
            meas_pos_std: 0.05,
            meas_aspect_std: 0.1,
            accel_center: 1.0,
            accel_height: 0.1,
            accel_aspect: 1e-4,
            walk_pos: 0.02,
            walk_aspect: 3e-3,
            init_pos_std: 0.1,
            init_vel_center_std: 2.0,
            init_vel_height_std: 0.5,
        }
    }
}

/// Measurement `(cx, cy, w / h, h)` of a box with positive height.
pub(crate) fn measure(b: &BBox) -> Vec4 {
    let c = b.center();
    let h = f64::from(b.height());
    Vec4::new(f64::from(c.x), f64::from(c.y), f64::from(b.width()) / h, h)
}

/// Mean and covariance of one track's state.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Kalman {
    pub mean: Vec8,
    pub cov: Mat8,
}

impl Kalman {
    /// Starts a filter at measurement `z` with zero velocity.
    pub fn new(z: Vec4, m: &MotionConfig) -> Self {
        let h = z[3].max(MIN_HEIGHT);
        let mut mean = Vec8::zeros();
        mean.fixed_rows_mut::<4>(0).copy_from(&z);
        let p = m.init_pos_std * h;
        let std = [
            p,
            p,
            1e-2,
            p,
            m.init_vel_center_std * h,
            m.init_vel_center_std * h,
            1e-3,
            m.init_vel_height_std * h,
        ];
        let cov = Mat8::from_diagonal(&Vec8::from_fn(|i, _| std[i] * std[i]));
        Kalman { mean, cov }
    }

    /// Height used to scale noise and distances: the predicted height, at least [`MIN_HEIGHT`].
    pub fn height(&self) -> f64 {
        if self.mean[3].is_finite() {
            self.mean[3].max(MIN_HEIGHT)
        } else {
            MIN_HEIGHT
        }
    }

    /// Advances the state by `dt` seconds (`dt <= 0` or not finite leaves it unchanged).
    pub fn predict(&mut self, dt: f64, m: &MotionConfig) {
        if !(dt > 0.0 && dt.is_finite()) {
            return;
        }
        let h2 = self.height().powi(2);
        let mut f = Mat8::identity();
        let mut q = Mat8::zeros();
        // (scale², acceleration density, position random-walk density) per coordinate cx, cy, a, h.
        let params = [
            (h2, m.accel_center, m.walk_pos),
            (h2, m.accel_center, m.walk_pos),
            (1.0, m.accel_aspect, m.walk_aspect),
            (h2, m.accel_height, m.walk_pos),
        ];
        for (i, &(s2, acc, walk)) in params.iter().enumerate() {
            f[(i, i + 4)] = dt;
            q[(i, i)] = s2 * (walk * dt + acc * dt.powi(3) / 3.0);
            q[(i, i + 4)] = s2 * acc * dt * dt / 2.0;
            q[(i + 4, i)] = q[(i, i + 4)];
            q[(i + 4, i + 4)] = s2 * acc * dt;
        }
        self.mean = f * self.mean;
        self.cov = f * self.cov * f.transpose() + q;
    }

    /// Corrects the state with measurement `z`. Returns false (state unchanged) if the innovation covariance is
    /// not positive definite or the result would not be finite.
    pub fn update(&mut self, z: Vec4, m: &MotionConfig) -> bool {
        let h = self.height();
        let p = m.meas_pos_std * h;
        let r = Mat4::from_diagonal(&Vec4::new(p * p, p * p, m.meas_aspect_std.powi(2), p * p));
        let s = self.cov.fixed_view::<4, 4>(0, 0) + r;
        let Some(chol) = s.cholesky() else {
            return false;
        };
        // K = P Hᵀ S⁻¹, computed as (S⁻¹ H P)ᵀ since S and P are symmetric.
        let pht = self.cov.fixed_view::<8, 4>(0, 0).into_owned();
        let k = chol.solve(&pht.transpose()).transpose();
        let innovation = z - self.mean.fixed_rows::<4>(0);
        let mean = self.mean + k * innovation;
        let cov = self.cov - k * s * k.transpose();
        let cov = (cov + cov.transpose()) * 0.5;
        if mean.iter().chain(cov.iter()).any(|v| !v.is_finite()) {
            return false;
        }
        self.mean = mean;
        self.cov = cov;
        true
    }

    /// The state's box. The height is kept positive so a long prediction never yields an inverted box.
    pub fn bbox(&self) -> BBox {
        let h = self.height();
        let w = (self.mean[2] * h).max(0.0);
        BBox::from_cxcywh(self.mean[0] as f32, self.mean[1] as f32, w as f32, h as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn approx(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn new_round_trips_the_box() {
        let m = MotionConfig::default();
        let b = BBox::new(100.0, 50.0, 140.0, 150.0);
        let k = Kalman::new(measure(&b), &m);
        assert_eq!(k.bbox(), b);
        assert_eq!(k.mean.fixed_rows::<4>(4), Vec4::zeros());
    }

    #[test]
    fn predict_moves_by_velocity_times_dt_and_grows_uncertainty() {
        let m = MotionConfig::default();
        let mut k = Kalman::new(Vec4::new(100.0, 200.0, 0.4, 100.0), &m);
        k.mean[4] = 50.0; // px/s
        k.mean[5] = -20.0;
        let before = k.cov;
        k.predict(0.2, &m);
        assert!(approx(k.mean[0], 110.0, 1e-9));
        assert!(approx(k.mean[1], 196.0, 1e-9));
        assert!(approx(k.mean[3], 100.0, 1e-9));
        for i in 0..8 {
            assert!(k.cov[(i, i)] > before[(i, i)], "variance {i} must grow");
        }
        // Position and velocity become correlated.
        assert!(k.cov[(0, 4)] > 0.0);
        // dt = 0 changes nothing.
        let snapshot = k.clone();
        k.predict(0.0, &m);
        assert_eq!(k, snapshot);
    }

    #[test]
    fn predict_is_rate_independent() {
        let m = MotionConfig::default();
        let mut k = Kalman::new(Vec4::new(100.0, 200.0, 0.4, 100.0), &m);
        k.mean[4] = 80.0;
        let mut fine = k.clone();
        k.predict(0.2, &m);
        for _ in 0..5 {
            fine.predict(0.04, &m);
        }
        for i in 0..8 {
            assert!(approx(k.mean[i], fine.mean[i], 1e-9), "mean {i}");
            for j in 0..8 {
                assert!(approx(
                    k.cov[(i, j)],
                    fine.cov[(i, j)],
                    1e-6 * k.cov[(i, i)].abs().max(1.0)
                ));
            }
        }
    }

    #[test]
    fn update_pulls_towards_measurement_and_shrinks_uncertainty() {
        let m = MotionConfig::default();
        let mut k = Kalman::new(Vec4::new(100.0, 200.0, 0.4, 100.0), &m);
        k.predict(0.2, &m);
        let before = k.cov;
        assert!(k.update(Vec4::new(140.0, 200.0, 0.4, 100.0), &m));
        assert!(k.mean[0] > 100.0 && k.mean[0] < 140.0, "cx {}", k.mean[0]);
        // Most of the way: the measurement is more precise than the prediction.
        assert!(k.mean[0] > 130.0);
        // The velocity learns the motion: +40 px in 0.2 s is 200 px/s.
        assert!(k.mean[4] > 100.0 && k.mean[4] < 250.0, "vcx {}", k.mean[4]);
        for i in 0..8 {
            assert!(k.cov[(i, i)] < before[(i, i)], "variance {i} must shrink");
        }
    }

    #[test]
    fn converges_on_constant_velocity() {
        let m = MotionConfig::default();
        for (dt, n) in [(0.2, 25), (0.04, 125)] {
            let mut k = Kalman::new(Vec4::new(0.0, 100.0, 0.4, 100.0), &m);
            for i in 1..=n {
                k.predict(dt, &m);
                let x = 150.0 * dt * i as f64;
                assert!(k.update(Vec4::new(x, 100.0, 0.4, 100.0), &m));
            }
            assert!(approx(k.mean[4], 150.0, 5.0), "dt {dt}: vcx {}", k.mean[4]);
            assert!(approx(k.mean[5], 0.0, 1.0));
        }
    }

    #[test]
    fn update_rejects_non_finite() {
        let m = MotionConfig::default();
        let mut k = Kalman::new(Vec4::new(100.0, 200.0, 0.4, 100.0), &m);
        let snapshot = k.clone();
        assert!(!k.update(Vec4::new(f64::NAN, 200.0, 0.4, 100.0), &m));
        assert_eq!(k, snapshot);
    }
}
