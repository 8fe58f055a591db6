//! Combining several reads of one vehicle (a track) into one plate. Pure.
//!
//! 1. Reads are grouped by text length; the group with the largest total confidence wins (ties: the group holding
//!    the most confident read). Reads of another length are outvoted as a whole: a character-wise vote only makes
//!    sense between aligned texts. (Not by format: `AB123CO` and `AB123CD` are generic EU and French SIV readings
//!    of one plate.)
//! 2. Within the group, each position takes the character with the largest total confidence (ties: the character
//!    of the most confident read). This corrects a character misread in a minority of frames even when no single
//!    read is right.
//! 3. When the voted text fits no format (a mix of two different plates), the group's text with the largest total
//!    confidence is taken instead.
//! 4. The confidence is the mean confidence of the winning group's reads, times the agreement (mean over positions
//!    of the winning character's share of the group's confidence), times the support (the group's share of all
//!    the confidence). One read keeps its own confidence; disagreement lowers it; more agreeing reads do not raise
//!    it above their mean.
//!
//! The format is the voted text's; the box and vehicle are those of the most confident read of the voted text (or
//! of the group). Sums run over the reads in a fixed order (by confidence, then text), so the result does not
//! depend on the order of `reads`.

use crate::grammar::classify;
use crate::read::PlateRead;
use std::collections::BTreeMap;

/// One plate from the reads of one track; `None` when there is no read with a text.
pub fn vote(reads: &[PlateRead]) -> Option<PlateRead> {
    let w = |r: &PlateRead| r.confidence.max(0.0);
    let mut reads: Vec<&PlateRead> = reads
        .iter()
        .filter(|r| !r.text.is_empty() && r.confidence.is_finite())
        .collect();
    if reads.is_empty() {
        return None;
    }
    reads.sort_by(|a, b| w(b).total_cmp(&w(a)).then(a.text.cmp(&b.text)));
    let total: f32 = reads.iter().map(|r| w(r)).sum();
    // Groups by length, in a deterministic order; each group stays sorted by confidence.
    let mut groups: BTreeMap<usize, Vec<&PlateRead>> = BTreeMap::new();
    for r in &reads {
        groups.entry(r.text.len()).or_default().push(r);
    }
    let best_of = |g: &[&PlateRead]| g.iter().map(|r| w(r)).fold(0.0f32, f32::max);
    let group = groups
        .values()
        .max_by(|a, b| {
            let (wa, wb): (f32, f32) = (a.iter().map(|r| w(r)).sum(), b.iter().map(|r| w(r)).sum());
            wa.total_cmp(&wb).then(best_of(a).total_cmp(&best_of(b)))
        })?
        .clone();
    let gw: f32 = group.iter().map(|r| w(r)).sum();
    let len = group[0].text.len();
    let sorted = &group;

    let mut text = String::with_capacity(len);
    let mut agreement = 0.0f32;
    for i in 0..len {
        let mut weights: BTreeMap<u8, f32> = BTreeMap::new();
        for r in &group {
            *weights.entry(r.text.as_bytes()[i]).or_default() += w(r);
        }
        let top = sorted[0].text.as_bytes()[i];
        let (c, cw) = weights
            .iter()
            .map(|(&c, &cw)| (c, cw))
            .max_by(|a, b| a.1.total_cmp(&b.1).then((a.0 == top).cmp(&(b.0 == top))))
            .unwrap_or((top, 0.0));
        text.push(c as char);
        agreement += if gw > 0.0 { cw / gw } else { 1.0 / group.len() as f32 };
    }
    agreement /= len.max(1) as f32;

    if classify(&text).is_none() {
        let mut by_text: BTreeMap<&str, f32> = BTreeMap::new();
        for r in &group {
            *by_text.entry(r.text.as_str()).or_default() += w(r);
        }
        let (t, tw) = by_text
            .iter()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(t, tw)| (t.to_string(), *tw))
            .unwrap_or_default();
        text = t;
        agreement = if gw > 0.0 { tw / gw } else { 0.0 };
    }
    let mean = gw / group.len() as f32;
    let support = if total > 0.0 {
        gw / total
    } else {
        group.len() as f32 / reads.len() as f32
    };
    let like = sorted.iter().find(|r| r.text == text).unwrap_or(&sorted[0]);
    Some(PlateRead {
        format: classify(&text).unwrap_or(like.format),
        text,
        confidence: (mean * agreement * support).clamp(0.0, 1.0),
        bbox: like.bbox,
        vehicle: like.vehicle,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grammar::PlateFormat;
    use proptest::prelude::*;
    use vigie_core::BBox;

    fn r(text: &str, c: f32) -> PlateRead {
        PlateRead {
            text: text.into(),
            confidence: c,
            bbox: BBox::new(c, 0.0, c + 10.0, 5.0),
            format: classify(text).unwrap_or(PlateFormat::Eu),
            vehicle: None,
        }
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(vote(&[]), None);
        assert_eq!(vote(&[r("", 0.9)]), None);
        let v = vote(&[r("AB123CD", 0.8)]).unwrap();
        assert_eq!((v.text.as_str(), v.confidence), ("AB123CD", 0.8));
    }

    #[test]
    fn characterwise_vote_corrects_a_minority_misread() {
        // No read is right everywhere, but each position is right in most reads.
        let reads = [
            r("AB128CD", 0.9),
            r("AB123CO", 0.85),
            r("AB123CD", 0.6),
            r("A8123CD", 0.7),
        ];
        let v = vote(&reads).unwrap();
        assert_eq!(v.text, "AB123CD");
        assert_eq!(v.bbox, reads[2].bbox, "box of the read of the voted text");
        assert!(v.confidence < 0.8 && v.confidence > 0.5, "{}", v.confidence);
    }

    #[test]
    fn other_lengths_and_formats_are_outvoted() {
        let reads = [
            r("AB123CD", 0.9),
            r("AB123CD", 0.8),
            r("B123CD", 0.95),
            r("1234AB75", 0.99),
        ];
        let v = vote(&reads).unwrap();
        assert_eq!(v.text, "AB123CD");
        // Support 1.7 / 3.64.
        assert!((v.confidence - 0.85 * 1.7 / 3.64).abs() < 1e-4, "{}", v.confidence);
    }

    #[test]
    fn agreeing_reads_keep_their_mean() {
        let v = vote(&[r("ZG1234AB", 0.9), r("ZG1234AB", 0.7)]).unwrap();
        assert_eq!(v.text, "ZG1234AB");
        assert!((v.confidence - 0.8).abs() < 1e-6);
        assert_eq!(v.bbox, BBox::new(0.9, 0.0, 10.9, 5.0));
    }

    proptest! {
        #[test]
        fn vote_is_one_of_the_formats_and_bounded(
            texts in proptest::collection::vec(("[A-Z0-9]{5,8}", 0f32..1.0), 0..8)
        ) {
            let reads: Vec<PlateRead> = texts.iter().map(|(t, c)| r(t, *c)).collect();
            if let Some(v) = vote(&reads) {
                prop_assert!((0.0..=1.0).contains(&v.confidence));
                prop_assert!(reads.iter().any(|x| x.text.len() == v.text.len()));
                // Order does not matter.
                let mut rev = reads.clone();
                rev.reverse();
                prop_assert_eq!(vote(&rev).map(|x| x.text), Some(v.text));
            }
        }
    }
}
