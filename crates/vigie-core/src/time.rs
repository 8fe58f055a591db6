//! Media time in 90 kHz units (the RTP/MPEG clock), as Moonfire NVR does: exact for every usual frame rate.

use serde::{Deserialize, Serialize};

/// A media time or duration in units of 1/90 000 s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
pub struct Time90k(pub i64);

impl Time90k {
    pub const HZ: i64 = 90_000;

    pub fn from_secs_f64(s: f64) -> Self {
        Time90k((s * Self::HZ as f64).round() as i64)
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::HZ as f64
    }

    /// Rescales `ts` expressed in `num/den` seconds.
    pub fn from_rational(ts: i64, num: i32, den: i32) -> Self {
        if den == 0 {
            return Time90k(0);
        }
        let v = ts as i128 * num as i128 * Self::HZ as i128 / den as i128;
        Time90k(v as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rescale() {
        assert_eq!(Time90k::from_rational(25, 1, 25).0, 90_000);
        assert_eq!(Time90k::from_rational(512, 1, 12800).0, 3600);
        assert_eq!(Time90k::from_secs_f64(1.5).as_secs_f64(), 1.5);
    }
}
