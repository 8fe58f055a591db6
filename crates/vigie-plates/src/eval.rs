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
//! - **exact_errata**: exact against the ground truth with the [`Errata`] applied: corrections of lines checked on
//!   the photos, kept in the repository (`crates/vigie-plates/tests/plates-eu-errata.tsv`, [`Errata::plates_eu`])
//!   rather than edited into the data. Both figures are reported: strict (the data as shipped) and with errata.

use crate::read::PlateRead;
use std::path::Path;
use vigie_core::{BBox, Result, err};

/// The errata of `../shared/data/plates-eu/`, as kept in the repository.
pub const PLATES_EU_ERRATA: &str = include_str!("../tests/plates-eu-errata.tsv");

/// One correction of a ground-truth line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Erratum {
    pub file: String,
    /// The text as the ground truth gives it (normalised).
    pub given: String,
    /// The text the photo shows (normalised).
    pub corrected: String,
    pub reason: String,
}

/// Corrections of ground-truth lines: a tab-separated file `file, given, corrected, reason` with a header line;
/// `#` starts a comment line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Errata(pub Vec<Erratum>);

impl Errata {
    /// Parses an errata file; an invalid-data error names the first bad line.
    pub fn parse(text: &str) -> Result<Errata> {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim_end();
            if l.is_empty() || l.starts_with('#') || l.starts_with("file\t") {
                continue;
            }
            let f: Vec<&str> = l.split('\t').collect();
            if f.len() != 4 || f[..3].iter().any(|s| s.trim().is_empty()) {
                return Err(err!(
                    InvalidData,
                    "errata line {}: expected file, given, corrected, reason separated by tabs",
                    i + 1
                ));
            }
            out.push(Erratum {
                file: f[0].trim().to_string(),
                given: crate::grammar::normalise(f[1]),
                corrected: crate::grammar::normalise(f[2]),
                reason: f[3].trim().to_string(),
            });
        }
        Ok(Errata(out))
    }

    /// Reads and parses an errata file.
    pub fn load(path: &Path) -> Result<Errata> {
        let text = std::fs::read_to_string(path).map_err(|e| err!(Io, "reading errata {}: {e}", path.display()))?;
        Errata::parse(&text).map_err(|e| e.context(format!("errata {}", path.display())))
    }

    /// The errata of `../shared/data/plates-eu/` kept in the repository ([`PLATES_EU_ERRATA`]).
    pub fn plates_eu() -> Errata {
        Errata::parse(PLATES_EU_ERRATA).unwrap_or_default()
    }

    /// The erratum that applies to `truth`: same file, and the truth's text is the given one.
    pub fn find(&self, truth: &Truth) -> Option<&Erratum> {
        self.0.iter().find(|e| e.file == truth.file && e.given == truth.text)
    }

    /// `truth` with its erratum applied, if any.
    pub fn apply(&self, truth: &Truth) -> Truth {
        let mut t = truth.clone();
        if let Some(e) = self.find(truth) {
            t.text = e.corrected.clone();
        }
        t
    }
}

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
    /// Exact against the ground truth with errata applied ([`judge_with_errata`]; equal to `exact` from [`judge`]).
    pub exact_errata: bool,
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
            exact_errata: r.text == truth.text,
            read: Some(r.text.clone()),
        },
    }
}

/// Judges the reads of one photo against its truth as given (`exact`, `exact_o0`) and with `errata` applied
/// (`exact_errata`).
pub fn judge_with_errata(truth: &Truth, errata: &Errata, reads: &[PlateRead]) -> Outcome {
    let mut o = judge(truth, reads);
    let corrected = errata.apply(truth);
    o.exact_errata = o.read.as_deref() == Some(corrected.text.as_str());
    o
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

    #[test]
    fn errata_parse_and_apply() {
        let e = Errata::plates_eu();
        assert_eq!(e.0.len(), 5, "the five Slovak plates with O for zero");
        assert!(e.0.iter().all(|x| x.given != x.corrected && !x.reason.is_empty()));
        let t = parse_truth("test_006.jpg 100 50 80 20 RKO99AN").unwrap();
        assert_eq!(e.apply(&t).text, "RK099AN");
        // Another file, or the same file with another given text: untouched.
        let other = parse_truth("test_007.jpg 100 50 80 20 RKO99AN").unwrap();
        assert_eq!(e.apply(&other), other);
        let fixed = parse_truth("test_006.jpg 100 50 80 20 RK099AN").unwrap();
        assert_eq!(e.apply(&fixed), fixed);
        let read = |text: &str| PlateRead {
            text: text.into(),
            confidence: 0.9,
            bbox: BBox::new(100.0, 50.0, 180.0, 70.0),
            format: PlateFormat::FrenchSiv,
            vehicle: None,
        };
        let o = judge_with_errata(&t, &e, &[read("RK099AN")]);
        assert_eq!((o.exact, o.exact_errata), (false, true));
        let o = judge_with_errata(&t, &e, &[read("RKO99AN")]);
        assert_eq!((o.exact, o.exact_errata), (true, false));
        assert!(!judge_with_errata(&t, &e, &[]).exact_errata);
        // Bad lines are refused with their number.
        let bad = Errata::parse("file\tgiven\tcorrected\treason\nx.jpg\tAB\n").unwrap_err();
        assert!(bad.to_string().contains("line 2"), "{bad}");
        assert_eq!(Errata::parse("# only a comment\n").unwrap(), Errata::default());
    }
}
