//! Accuracy against ground truth, as the regression test and `vigie plates bench` measure it. Pure.
//!
//! Ground truth: one text file beside each photo, one line `<file> <x> <y> <w> <h> <TEXT>` (the plate box in
//! pixels and its text without separators; openalpr's benchmark format).
//!
//! - **found**: some read's box overlaps the true plate box (their intersection covers at least 30 % of the smaller
//!   of the two boxes);
//! - **exact**: the most confident of those reads has exactly the true text;
//! - **exact_o0**: the same, comparing with the letter O and the digit 0 taken as one character. Some ground-truth
//!   lines write a letter O where the plate shows a zero (in the EU photos: `RKO99AN` for the plate `RK-099AN`),
//!   and Slovak and Czech plates draw both with the same narrow glyph.

use crate::read::PlateRead;
use vigie_core::BBox;

/// One ground-truth plate.
#[derive(Clone, Debug, PartialEq)]
pub struct Truth {
    pub file: String,
    pub bbox: BBox,
    pub text: String,
}

/// Parses a ground-truth line; `None` when it is not `<file> <x> <y> <w> <h> <TEXT>`.
pub fn parse_truth(line: &str) -> Option<Truth> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 6 {
        return None;
    }
    let n: Vec<f32> = f[1..5].iter().map(|s| s.parse().ok()).collect::<Option<_>>()?;
    Some(Truth {
        file: f[0].to_string(),
        bbox: BBox::new(n[0], n[1], n[0] + n[2], n[1] + n[3]),
        text: crate::grammar::normalise(f[5]),
    })
}

/// How the reads of one photo compare with its truth.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome {
    pub found: bool,
    pub exact: bool,
    pub exact_o0: bool,
    /// The text of the read over the true plate, if any.
    pub read: Option<String>,
}

/// Whether `a` and `b` overlap by at least 30 % of the smaller one.
pub fn overlaps(a: &BBox, b: &BBox) -> bool {
    let small = a.area().min(b.area());
    small > 0.0 && a.intersection(b) >= 0.3 * small
}

/// Judges the reads of one photo.
pub fn judge(truth: &Truth, reads: &[PlateRead]) -> Outcome {
    let best = reads
        .iter()
        .filter(|r| overlaps(&r.bbox, &truth.bbox))
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence));
    match best {
        None => Outcome::default(),
        Some(r) => Outcome {
            found: true,
            exact: r.text == truth.text,
            exact_o0: r.text.replace('O', "0") == truth.text.replace('O', "0"),
            read: Some(r.text.clone()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::PlateFormat;

    #[test]
    fn parse_and_judge() {
        let t = parse_truth("test_005.jpg\t100 50 80 20\tRKO99AN").unwrap();
        assert_eq!(t.bbox, BBox::new(100.0, 50.0, 180.0, 70.0));
        assert_eq!(t.text, "RKO99AN");
        assert_eq!(parse_truth("x.jpg 1 2 3"), None);
        assert_eq!(parse_truth("x.jpg a 2 3 4 AB"), None);
        let r = |text: &str, c: f32, x: f32| PlateRead {
            text: text.into(),
            confidence: c,
            bbox: BBox::new(x, 48.0, x + 85.0, 72.0),
            format: PlateFormat::Eu,
            vehicle: None,
        };
        assert_eq!(judge(&t, &[]), Outcome::default());
        assert!(!judge(&t, &[r("RK099AN", 0.9, 400.0)]).found);
        let o = judge(
            &t,
            &[r("RK099AN", 0.9, 98.0), r("RK099AM", 0.5, 99.0), r("ZZ", 1.0, 400.0)],
        );
        assert_eq!((o.found, o.exact, o.exact_o0), (true, false, true));
        assert_eq!(o.read.as_deref(), Some("RK099AN"));
        let o = judge(&t, &[r("RKO99AN", 0.9, 98.0)]);
        assert!(o.exact && o.exact_o0);
    }
}
