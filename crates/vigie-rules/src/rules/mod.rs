//! One module per rule type. Each turns frames into [`Condition`](crate::lifecycle::Condition)s; the lifecycle makes
//! events of them.

pub mod abandoned;
pub mod crowd;
pub mod density;
pub mod fire;
pub mod gathering;
pub mod ground;
pub mod intrusion;
pub mod line_count;
pub mod loitering;
pub(crate) mod support;
pub mod weapon;
pub mod wrong_way;

use crate::config::RuleType;
use crate::engine::{Rule, RuleCtx, TrackObs};
use vigie_core::{BBox, Point, Result, err};

pub(crate) fn build(ctx: &RuleCtx) -> Result<Box<dyn Rule>> {
    Ok(match ctx.cfg.kind {
        RuleType::Intrusion => Box::new(intrusion::Intrusion::new(ctx)),
        RuleType::WrongWay => Box::new(wrong_way::WrongWay::new(ctx)?),
        RuleType::Loitering => Box::new(loitering::Loitering::new(ctx)),
        RuleType::Gathering => Box::new(gathering::Gathering::new(ctx)?),
        RuleType::ExcessiveDensity => Box::new(density::Density::new(ctx)?),
        RuleType::CrowdMovement => Box::new(crowd::CrowdMovement::new(ctx)?),
        RuleType::Weapon => Box::new(weapon::Weapon::new(ctx)?),
        RuleType::AbandonedObject => Box::new(abandoned::AbandonedObject::new(ctx)?),
        RuleType::PersonOnGround => Box::new(ground::PersonOnGround::new(ctx)),
        RuleType::FireStart => Box::new(fire::FireStart::new(ctx)?),
        // Counts are not events: the engine gives line_count rules to a `LineCounter`, never here.
        RuleType::LineCount => return Err(err!(Internal, "line_count rules are counters, not event rules")),
    })
}

/// The ground anchor of a box: bottom-centre, where a person or vehicle stands.
pub(crate) fn anchor(o: &TrackObs) -> Point {
    o.bbox.bottom_center()
}

/// The union of boxes, for the region an operator should look at.
pub(crate) fn union(boxes: impl IntoIterator<Item = BBox>) -> Option<BBox> {
    boxes
        .into_iter()
        .reduce(|a, b| BBox::new(a.x1.min(b.x1), a.y1.min(b.y1), a.x2.max(b.x2), a.y2.max(b.y2)))
}
