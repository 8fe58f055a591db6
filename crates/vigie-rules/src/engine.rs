//! The rule engine of one camera: sans-IO. Push the tracked objects of each analysed frame, pull the events.
//!
//! Deterministic: events depend only on the frames pushed, in order; pushing a clip's frames one by one as they
//! arrive (live) or all at once (replay) gives the same events (a property test checks it).

use crate::config::{Line, RuleConfig, RuleType, RulesConfig, Zone};
use crate::event::Event;
use crate::lifecycle::{Condition, Lifecycle, Timing};
use crate::rules;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use vigie_core::{BBox, Result, Time90k, TrackId};

/// One tracked object in a frame, as the rules see it.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackObs {
    pub track_id: TrackId,
    pub bbox: BBox,
    /// The track's class so far (the tracker's vote), by label.
    pub class: String,
    pub score: f32,
}

/// Body pose of a tracked person (from MoveNet): the angle of the body axis (hips' centre → shoulders' centre)
/// from the vertical, in degrees (0 standing, 90 lying).
#[derive(Clone, Debug, PartialEq)]
pub struct PoseObs {
    pub track_id: TrackId,
    pub axis_from_vertical_deg: f32,
    pub confidence: f32,
}

/// A fire candidate region from a fire analyser (a model, or the flame-colour baseline).
#[derive(Clone, Debug, PartialEq)]
pub struct FireObs {
    pub bbox: BBox,
    pub score: f32,
}

/// Everything the rules see of one analysed frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FrameInput {
    pub t: Time90k,
    pub objects: Vec<TrackObs>,
    pub poses: Vec<PoseObs>,
    pub fire: Vec<FireObs>,
}

/// What a rule module provides: the conditions that hold in a frame. Rules keep whatever history they need.
pub(crate) trait Rule: Send {
    fn conditions(&mut self, frame: &FrameInput, out: &mut Vec<Condition>);
}

/// What a rule module is built from.
pub(crate) struct RuleCtx<'a> {
    pub cfg: &'a RuleConfig,
    /// The rule's zones, scaled to pixels; empty when it names none (rules that allow it then watch the whole frame).
    pub zones: Vec<Zone>,
    pub classes: Vec<String>,
    /// Frame size in pixels, for rules whose parameters are relative to the frame.
    #[allow(dead_code)] // used by the rules that measure speeds and distances
    pub width: u32,
    #[allow(dead_code)]
    pub height: u32,
}

struct RuleSlot {
    rule: Box<dyn Rule>,
    lifecycle: Lifecycle,
}

/// Crossings of one line by one class, per direction.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LineCount {
    pub line: String,
    pub class: String,
    /// Crossings from the left of `from → to` to its right.
    pub r#in: u64,
    pub out: u64,
}

pub struct Engine {
    slots: Vec<RuleSlot>,
    counters: Vec<rules::line_count::LineCounter>,
    pending: VecDeque<Event>,
    last_t: Time90k,
    scratch: Vec<Condition>,
}

impl Engine {
    /// Builds the engine of camera `camera` for frames of `width` × `height`; `labels` are the detector's.
    pub fn new(cfg: &RulesConfig, camera: &str, width: u32, height: u32, labels: &[String]) -> Result<Engine> {
        cfg.validate(labels)?;
        let all_zones = cfg.scaled_zones(width, height);
        let all_lines: Vec<Line> = cfg.scaled_lines(width, height);
        let mut slots = Vec::new();
        let mut counters = Vec::new();
        for r in cfg.rules.iter().filter(|r| r.enabled) {
            let (default_min, default_classes) = r.kind.defaults();
            let classes: Vec<String> = r
                .classes
                .clone()
                .unwrap_or_else(|| default_classes.iter().map(|s| s.to_string()).collect());
            let zones: Vec<Zone> = all_zones.iter().filter(|z| r.zones.contains(&z.id)).cloned().collect();
            if r.kind == RuleType::LineCount {
                let lines: Vec<Line> = all_lines.iter().filter(|l| r.lines.contains(&l.id)).cloned().collect();
                counters.push(rules::line_count::LineCounter::new(lines, classes));
                continue;
            }
            let Some(kind) = r.kind.event_kind() else { continue };
            let ctx = RuleCtx {
                cfg: r,
                zones,
                classes,
                width,
                height,
            };
            let rule = rules::build(&ctx)?;
            let timing = Timing {
                min_duration: Time90k::from_secs_f64(r.min_duration_s.unwrap_or(default_min)),
                end_after: Time90k::from_secs_f64(r.end_after_s.unwrap_or(2.0)),
                cooldown: Time90k::from_secs_f64(r.cooldown_s.unwrap_or(30.0)),
            };
            slots.push(RuleSlot {
                rule,
                lifecycle: Lifecycle::new(kind, camera, &r.id, timing),
            });
        }
        Ok(Engine {
            slots,
            counters,
            pending: VecDeque::new(),
            last_t: Time90k(0),
            scratch: Vec::new(),
        })
    }

    /// Feeds one analysed frame (media times must not go backwards).
    pub fn push(&mut self, frame: &FrameInput) {
        self.last_t = frame.t;
        let mut out = Vec::new();
        for slot in &mut self.slots {
            self.scratch.clear();
            slot.rule.conditions(frame, &mut self.scratch);
            // One condition per key: the rule's first wins (rules should not repeat keys).
            self.scratch.sort_by(|a, b| a.key.cmp(&b.key));
            self.scratch.dedup_by(|a, b| a.key == b.key);
            slot.lifecycle.step(frame.t, &self.scratch, &mut out);
        }
        for c in &mut self.counters {
            c.push(frame);
        }
        self.pending.extend(out);
    }

    /// The next event, in the order they happened.
    pub fn pull(&mut self) -> Option<Event> {
        self.pending.pop_front()
    }

    /// Ends every open event (end of stream).
    pub fn finish(&mut self) {
        let mut out = Vec::new();
        for slot in &mut self.slots {
            slot.lifecycle.finish(self.last_t, &mut out);
        }
        self.pending.extend(out);
    }

    /// Line crossing counts so far, by line, class and direction.
    pub fn line_counts(&self) -> Vec<LineCount> {
        let mut m: BTreeMap<(String, String), LineCount> = BTreeMap::new();
        for c in &self.counters {
            for lc in c.counts() {
                let e = m
                    .entry((lc.line.clone(), lc.class.clone()))
                    .or_insert_with(|| LineCount {
                        line: lc.line.clone(),
                        class: lc.class.clone(),
                        ..Default::default()
                    });
                e.r#in += lc.r#in;
                e.out += lc.out;
            }
        }
        m.into_values().collect()
    }
}
