//! The rule engine of one camera: sans-IO. Push the tracked objects of each analysed frame, pull the events.
//!
//! Deterministic: events depend only on the frames pushed, in order; pushing a clip's frames one by one as they
//! arrive (live) or all at once (replay) gives the same events (a property test checks it). The engine reads no
//! clock: a rule's schedule is checked against the wall-clock time each frame carries ([`FrameInput::wall`]).

use crate::config::{Line, RuleConfig, RuleType, RulesConfig, Zone};
use crate::event::Event;
use crate::lifecycle::{Condition, Lifecycle, Timing};
use crate::rules;
use crate::schedule::{Schedule, WallClock};
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
    /// Media time.
    pub t: Time90k,
    /// Wall-clock time of the frame, for the rules' schedules (a rule with a schedule is inactive on frames
    /// without one). For a file: the run's start (or `[analysis] start_time`) plus the media time.
    pub wall: Option<WallClock>,
    pub objects: Vec<TrackObs>,
    pub poses: Vec<PoseObs>,
    pub fire: Vec<FireObs>,
}

/// What a rule module provides: the conditions that hold in a frame. Rules keep whatever history they need.
pub(crate) trait Rule: Send {
    fn conditions(&mut self, frame: &FrameInput, out: &mut Vec<Condition>);

    /// True for a rule that applies `min_duration_s` itself (it reports a condition only once it has lasted, with
    /// clocks of its own); the lifecycle then starts the event on the first condition.
    fn applies_min_duration(&self) -> bool {
        false
    }
}

/// What a rule module is built from.
pub(crate) struct RuleCtx<'a> {
    pub cfg: &'a RuleConfig,
    /// The rule's zones, scaled to pixels; empty when it names none (rules that allow it then watch the whole frame).
    pub zones: Vec<Zone>,
    pub classes: Vec<String>,
    /// The rule's `min_duration_s`, or its type's default.
    pub min_duration_s: f64,
    /// Frame size in pixels, for rules whose parameters are relative to the frame.
    #[allow(dead_code)] // used by the rules that measure speeds and distances
    pub width: u32,
    #[allow(dead_code)]
    pub height: u32,
}

/// What a rule is built from, kept to build it afresh when its schedule opens again.
struct RuleSpec {
    cfg: RuleConfig,
    zones: Vec<Zone>,
    classes: Vec<String>,
    min_duration_s: f64,
    width: u32,
    height: u32,
}

impl RuleSpec {
    fn ctx(&self) -> RuleCtx<'_> {
        RuleCtx {
            cfg: &self.cfg,
            zones: self.zones.clone(),
            classes: self.classes.clone(),
            min_duration_s: self.min_duration_s,
            width: self.width,
            height: self.height,
        }
    }
}

/// Whether a rule with a schedule is in it, and whether it was at the last frame.
struct Gate {
    schedule: Option<Schedule>,
    was_open: bool,
}

impl Gate {
    fn new(cfg: &RuleConfig) -> Result<Gate> {
        let schedule = match &cfg.schedule {
            Some(s) => Some(Schedule::new(s).map_err(|e| e.context(format!("rule {:?}", cfg.id)))?),
            None => None,
        };
        Ok(Gate {
            schedule,
            was_open: false,
        })
    }

    /// (open now, just opened).
    fn step(&mut self, wall: Option<WallClock>) -> (bool, bool) {
        let open = self.schedule.as_ref().is_none_or(|s| s.is_active(wall));
        let opened = open && !self.was_open;
        self.was_open = open;
        (open, opened)
    }
}

struct RuleSlot {
    rule: Box<dyn Rule>,
    lifecycle: Lifecycle,
    gate: Gate,
    spec: RuleSpec,
}

struct CounterSlot {
    counter: rules::line_count::LineCounter,
    gate: Gate,
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
    counters: Vec<CounterSlot>,
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
                counters.push(CounterSlot {
                    counter: rules::line_count::LineCounter::new(lines, classes),
                    gate: Gate::new(r)?,
                });
                continue;
            }
            let Some(kind) = r.kind.event_kind() else { continue };
            let spec = RuleSpec {
                cfg: r.clone(),
                zones,
                classes,
                min_duration_s: r.min_duration_s.unwrap_or(default_min),
                width,
                height,
            };
            let rule = rules::build(&spec.ctx())?;
            let min_duration = if rule.applies_min_duration() {
                Time90k(0)
            } else {
                Time90k::from_secs_f64(spec.min_duration_s)
            };
            let timing = Timing {
                min_duration,
                end_after: Time90k::from_secs_f64(r.end_after_s.unwrap_or(2.0)),
                cooldown: Time90k::from_secs_f64(r.cooldown_s.unwrap_or(30.0)),
            };
            slots.push(RuleSlot {
                rule,
                lifecycle: Lifecycle::new(kind, camera, &r.id, timing),
                gate: Gate::new(r)?,
                spec,
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
            let (open, opened) = slot.gate.step(frame.wall);
            if opened && slot.gate.schedule.is_some() {
                // The schedule opens (again): the rule starts afresh, so nothing it saw before counts. It was
                // built from the same spec in `new`, so this cannot fail; if it did, the rule would go on.
                if let Ok(rule) = rules::build(&slot.spec.ctx()) {
                    slot.rule = rule;
                }
            }
            if open {
                slot.rule.conditions(frame, &mut self.scratch);
                // One condition per key: the rule's first wins (rules should not repeat keys).
                self.scratch.sort_by(|a, b| a.key.cmp(&b.key));
                self.scratch.dedup_by(|a, b| a.key == b.key);
            }
            // Outside its schedule a rule reports nothing: its events end through the lifecycle as usual.
            slot.lifecycle.step(frame.t, &self.scratch, &mut out);
        }
        for c in &mut self.counters {
            let (open, opened) = c.gate.step(frame.wall);
            if opened {
                c.counter.forget_sides();
            }
            if open {
                c.counter.push(frame);
            }
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
            for lc in c.counter.counts() {
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
