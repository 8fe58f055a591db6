//! From "the condition holds now" to events: start → update → end, with a minimum duration, a release delay,
//! a cooldown and de-duplication. Every rule reports conditions; only this module makes events, so all rules
//! behave alike.
//!
//! Per condition key (a zone, a track, a group):
//! ```text
//!            holds                      held >= min_duration           missing >= end_after
//!  idle ───────────────▶ candidate ───────────────────────▶ active ─────────────────────────▶ cooldown ──▶ idle
//!    ▲                       │ missing >= end_after            │ holds: Update when tracks change     (cooldown_s after the
//!    └───────────────────────┘ (shorter gaps are bridged)      │                                      last true moment)
//! ```
//! A condition that comes back during the cooldown is absorbed: one situation, one alert.

use crate::event::{Event, EventKind, Phase, event_id};
use std::collections::BTreeMap;
use vigie_core::{BBox, Time90k, TrackId};

/// What a rule reports for one frame: a condition that holds now.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    /// Identifies the situation within the rule, e.g. `zone:forecourt` or `track:17`.
    pub key: String,
    pub zone: Option<String>,
    pub line: Option<String>,
    pub track_ids: Vec<TrackId>,
    pub confidence: f32,
    pub bbox: Option<BBox>,
    pub detail: String,
}

/// Timing of the lifecycle, per rule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Timing {
    /// The condition must hold this long before the event starts.
    pub min_duration: Time90k,
    /// The event ends when the condition has not held for this long.
    pub end_after: Time90k,
    /// After an end, the same key cannot start a new event for this long.
    pub cooldown: Time90k,
}

#[derive(Clone, Debug)]
enum State {
    Candidate {
        since: Time90k,
        last: Time90k,
    },
    Active {
        id: String,
        since: Time90k,
        last: Time90k,
        peak: f32,
        /// The condition as last seen (its track ids sorted): zone, line and region for the update and end.
        cond: Condition,
    },
    Cooldown {
        until: Time90k,
    },
}

/// The lifecycle of all conditions of one rule.
#[derive(Clone, Debug)]
pub struct Lifecycle {
    kind: EventKind,
    camera: String,
    rule: String,
    timing: Timing,
    states: BTreeMap<String, State>,
}

impl Lifecycle {
    pub fn new(kind: EventKind, camera: &str, rule: &str, timing: Timing) -> Self {
        Lifecycle {
            kind,
            camera: camera.to_string(),
            rule: rule.to_string(),
            timing,
            states: BTreeMap::new(),
        }
    }

    /// Feeds the conditions holding at `t` (each key at most once); appends the events this causes.
    pub fn step(&mut self, t: Time90k, conds: &[Condition], out: &mut Vec<Event>) {
        let timing = self.timing;
        let mut seen: Vec<&str> = Vec::with_capacity(conds.len());
        for c in conds {
            seen.push(&c.key);
            let state = self.states.remove(&c.key);
            let next = match state {
                None => self.maybe_start(t, t, c, out),
                Some(State::Candidate { since, .. }) => self.maybe_start(t, since, c, out),
                Some(State::Active {
                    id,
                    since,
                    peak,
                    cond: prev,
                    ..
                }) => {
                    let peak = peak.max(c.confidence);
                    let mut cond = c.clone();
                    cond.track_ids.sort();
                    if cond.track_ids != prev.track_ids {
                        out.push(self.event(&id, Phase::Update, since, None, t, &cond, peak));
                    }
                    State::Active {
                        id,
                        since,
                        last: t,
                        peak,
                        cond,
                    }
                }
                Some(State::Cooldown { until }) if t < until => State::Cooldown { until },
                Some(State::Cooldown { .. }) => self.maybe_start(t, t, c, out),
            };
            self.states.insert(c.key.clone(), next);
        }
        // Keys that did not hold this frame.
        let missing: Vec<String> = self
            .states
            .keys()
            .filter(|k| !seen.contains(&k.as_str()))
            .cloned()
            .collect();
        for k in missing {
            let Some(state) = self.states.remove(&k) else { continue };
            match state {
                // A candidate survives gaps shorter than `end_after` (a track flickering at a zone border keeps
                // accumulating); a longer gap drops it without an event.
                State::Candidate { since, last } => {
                    if t.0 - last.0 < timing.end_after.0 {
                        self.states.insert(k, State::Candidate { since, last });
                    }
                }
                State::Active {
                    id,
                    since,
                    last,
                    peak,
                    cond,
                } => {
                    if t.0 - last.0 >= timing.end_after.0 {
                        let detail = format!("ended after {:.1} s", (last.0 - since.0) as f64 / 90_000.0);
                        out.push(self.end_event(id, since, last, t, cond, peak, detail));
                        self.states.insert(
                            k,
                            State::Cooldown {
                                until: Time90k(last.0 + timing.cooldown.0),
                            },
                        );
                    } else {
                        self.states.insert(
                            k,
                            State::Active {
                                id,
                                since,
                                last,
                                peak,
                                cond,
                            },
                        );
                    }
                }
                State::Cooldown { until } => {
                    if t < until {
                        self.states.insert(k, State::Cooldown { until });
                    }
                }
            }
        }
    }

    /// Ends every active event (end of the video or shutdown) at `t`.
    pub fn finish(&mut self, t: Time90k, out: &mut Vec<Event>) {
        for (_, state) in std::mem::take(&mut self.states) {
            if let State::Active {
                id,
                since,
                last,
                peak,
                cond,
            } = state
            {
                out.push(self.end_event(id, since, last, t, cond, peak, "the stream ended".into()));
            }
        }
    }

    /// The end of an event: its zone, line, tracks and region as last seen, and why it ended.
    #[allow(clippy::too_many_arguments)]
    fn end_event(
        &self,
        id: String,
        since: Time90k,
        last: Time90k,
        t: Time90k,
        cond: Condition,
        peak: f32,
        detail: String,
    ) -> Event {
        Event {
            id,
            kind: self.kind,
            phase: Phase::End,
            camera: self.camera.clone(),
            rule: self.rule.clone(),
            zone: cond.zone,
            line: cond.line,
            start: since,
            end: Some(last),
            at: t,
            track_ids: cond.track_ids,
            confidence: peak,
            bbox: cond.bbox,
            detail,
        }
    }

    fn maybe_start(&self, t: Time90k, since: Time90k, c: &Condition, out: &mut Vec<Event>) -> State {
        if t.0 - since.0 >= self.timing.min_duration.0 {
            let id = event_id(&self.camera, &self.rule, &c.key, since);
            out.push(self.event(&id, Phase::Start, since, None, t, c, c.confidence));
            let mut cond = c.clone();
            cond.track_ids.sort();
            State::Active {
                id,
                since,
                last: t,
                peak: c.confidence,
                cond,
            }
        } else {
            State::Candidate { since, last: t }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn event(
        &self,
        id: &str,
        phase: Phase,
        start: Time90k,
        end: Option<Time90k>,
        at: Time90k,
        c: &Condition,
        confidence: f32,
    ) -> Event {
        let mut track_ids = c.track_ids.clone();
        track_ids.sort();
        Event {
            id: id.to_string(),
            kind: self.kind,
            phase,
            camera: self.camera.clone(),
            rule: self.rule.clone(),
            zone: c.zone.clone(),
            line: c.line.clone(),
            start,
            end,
            at,
            track_ids,
            confidence,
            bbox: c.bbox,
            detail: c.detail.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(key: &str) -> Condition {
        Condition {
            key: key.into(),
            zone: Some("z".into()),
            line: None,
            track_ids: vec![],
            confidence: 0.8,
            bbox: None,
            detail: String::new(),
        }
    }

    fn run(frames: &[bool], timing: Timing) -> Vec<Event> {
        let mut lc = Lifecycle::new(EventKind::Intrusion, "cam", "r", timing);
        let mut out = Vec::new();
        for (i, on) in frames.iter().enumerate() {
            let t = Time90k(i as i64 * 18_000); // 5 fps
            let c = if *on { vec![cond("zone:z")] } else { vec![] };
            lc.step(t, &c, &mut out);
        }
        lc.finish(Time90k(frames.len() as i64 * 18_000), &mut out);
        out
    }

    const T: Timing = Timing {
        min_duration: Time90k(90_000),
        end_after: Time90k(90_000),
        cooldown: Time90k(900_000),
    };

    #[test]
    fn flicker_before_the_start_accumulates() {
        // On/off every other frame from the start, min_duration 1 s: the candidate bridges the gaps and starts.
        let frames: Vec<bool> = (0..20).map(|i| i % 2 == 0).collect();
        let ev = run(&frames, T);
        assert_eq!(ev.iter().filter(|e| e.phase == Phase::Start).count(), 1, "{ev:?}");
        assert_eq!(ev[0].start, Time90k(0));
    }

    #[test]
    fn needs_min_duration() {
        // 0.8 s of condition: never starts.
        let ev = run(
            &[true, true, true, true, true, false, false, false, false, false, false],
            T,
        );
        assert!(ev.is_empty(), "{ev:?}");
        // 1.0 s: starts, then ends.
        let ev = run(
            &[true; 6].iter().chain([false; 8].iter()).copied().collect::<Vec<_>>(),
            T,
        );
        assert_eq!(
            ev.iter().map(|e| e.phase).collect::<Vec<_>>(),
            vec![Phase::Start, Phase::End]
        );
        assert_eq!(ev[0].start, Time90k(0));
        assert_eq!(ev[1].end, Some(Time90k(5 * 18_000)));
    }

    #[test]
    fn flicker_at_a_border_gives_one_event() {
        // On/off every other frame for 6 s: the gaps (0.2 s) are shorter than end_after (1 s).
        let frames: Vec<bool> = (0..30).map(|i| i % 2 == 0).collect();
        let ev = run(
            &frames,
            Timing {
                min_duration: Time90k(0),
                ..T
            },
        );
        let starts = ev.iter().filter(|e| e.phase == Phase::Start).count();
        assert_eq!(starts, 1, "{ev:?}");
    }

    #[test]
    fn cooldown_absorbs_a_repeat() {
        let mut frames = vec![true; 10];
        frames.extend([false; 10]);
        frames.extend([true; 10]); // comes back 2 s after the end, within the 10 s cooldown
        frames.extend([false; 10]);
        let ev = run(&frames, T);
        assert_eq!(ev.iter().filter(|e| e.phase == Phase::Start).count(), 1, "{ev:?}");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = run(&[true; 10], T);
        let b = run(&[true; 10], T);
        assert_eq!(a, b);
        assert_ne!(
            event_id("cam", "r", "zone:z", Time90k(0)),
            event_id("cam", "r", "zone:y", Time90k(0))
        );
    }
}
