//! Intrusion: a person or vehicle present in a forbidden zone (anchor: bottom-centre of the box). One event per
//! zone while anyone is inside, updated as people come and go; `min_duration_s` (default 1 s) is the dwell needed
//! before the alert.

use super::{anchor, union};
use crate::config::Zone;
use crate::engine::{FrameInput, Rule, RuleCtx};
use crate::lifecycle::Condition;

pub struct Intrusion {
    zones: Vec<Zone>,
    classes: Vec<String>,
}

impl Intrusion {
    pub(crate) fn new(ctx: &RuleCtx) -> Self {
        Intrusion {
            zones: ctx.zones.clone(),
            classes: ctx.classes.clone(),
        }
    }
}

impl Rule for Intrusion {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        for z in &self.zones {
            let inside: Vec<_> = f
                .objects
                .iter()
                .filter(|o| self.classes.contains(&o.class) && z.polygon.contains(anchor(o)))
                .collect();
            if inside.is_empty() {
                continue;
            }
            let mut what: Vec<String> = Vec::new();
            for o in &inside {
                if !what.contains(&o.class) {
                    what.push(o.class.clone());
                }
            }
            out.push(Condition {
                key: format!("zone:{}", z.id),
                zone: Some(z.id.clone()),
                line: None,
                track_ids: inside.iter().map(|o| o.track_id).collect(),
                confidence: inside.iter().map(|o| o.score).fold(0.0, f32::max),
                bbox: union(inside.iter().map(|o| o.bbox)),
                detail: format!("{} ({}) in zone {}", inside.len(), what.join(", "), z.id),
            });
        }
    }
}
