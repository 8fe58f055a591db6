//! Line crossing counts (statistics, not alerts): a track's anchor crosses a line, within the segment's extent,
//! and goes at least the hysteresis distance past it. Per track and line, the side it was last firmly on is kept,
//! so jitter at the line counts nothing and a real crossing counts once.

use super::anchor;
use crate::config::Line;
use crate::engine::{FrameInput, LineCount};
use std::collections::BTreeMap;
use vigie_core::{Time90k, TrackId};

/// How long the side of a track that is no longer seen is remembered.
const FORGET_AFTER: Time90k = Time90k(30 * 90_000);

pub struct LineCounter {
    lines: Vec<Line>,
    classes: Vec<String>,
    /// (line index, track) → side it was last firmly on (true = right of from→to on screen, the "in" side) and
    /// when the track was last seen; forgotten after [`FORGET_AFTER`] so a live camera's memory stays bounded.
    sides: BTreeMap<(usize, TrackId), (bool, Time90k)>,
    /// (line index, class) → (in, out).
    counts: BTreeMap<(usize, String), (u64, u64)>,
}

impl LineCounter {
    pub fn new(lines: Vec<Line>, classes: Vec<String>) -> Self {
        LineCounter {
            lines,
            classes,
            sides: BTreeMap::new(),
            counts: BTreeMap::new(),
        }
    }

    /// Forgets which side of the lines each track was on (its schedule opens again: a track that crossed while it
    /// was closed is not counted when next seen).
    pub fn forget_sides(&mut self) {
        self.sides.clear();
    }

    pub fn push(&mut self, f: &FrameInput) {
        // A track unseen this long has ended (the tracker keeps lost tracks 2 s by default).
        self.sides.retain(|_, (_, seen)| f.t.0 - seen.0 < FORGET_AFTER.0);
        for (li, line) in self.lines.iter().enumerate() {
            for o in f.objects.iter().filter(|o| self.classes.contains(&o.class)) {
                let p = anchor(o);
                let d = line.segment.side(p);
                let along = line.segment.projection(p);
                if d.abs() < line.hysteresis_px || !(-0.05..=1.05).contains(&along) {
                    continue; // not firmly on a side, or beside the segment
                }
                let right = d > 0.0;
                match self.sides.insert((li, o.track_id), (right, f.t)) {
                    Some((prev, _)) if prev != right => {
                        let c = self.counts.entry((li, o.class.clone())).or_default();
                        if right {
                            c.0 += 1;
                        } else {
                            c.1 += 1;
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    pub fn counts(&self) -> Vec<LineCount> {
        self.counts
            .iter()
            .map(|((li, class), (i, o))| LineCount {
                line: self.lines[*li].id.clone(),
                class: class.clone(),
                r#in: *i,
                out: *o,
            })
            .collect()
    }
}
