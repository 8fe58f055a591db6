//! Loitering (`loitering`): someone staying in a zone longer than a set time.
//!
//! # What it detects
//! A track of a watched class (people by default) whose ground anchor (bottom-centre of its box) is inside one of
//! the rule's zones. The condition is simply "inside now", one per track and zone (key `zone:ID:track:N`); the
//! dwell is the lifecycle's: the alert starts once the track has been inside for `min_duration_s` (default 60 s),
//! counted from when it entered, and ends `end_after_s` (default 2 s) after it left.
//!
//! Leaving the zone for less than `end_after_s` (a foot over the border, the anchor jittering on the edge, a
//! detection missed for a frame) does not restart the dwell: the lifecycle bridges gaps shorter than `end_after_s`,
//! before and after the alert starts. Raise `end_after_s` to bridge longer absences (someone stepping out for a
//! minute). Someone crossing the zone, however slowly, raises nothing unless the crossing takes `min_duration_s`.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | required | where staying is watched |
//! | `classes` | person | what is watched |
//! | `min_duration_s` | 60 | the dwell before the alert |
//! | `end_after_s` | 2 | absences shorter than this are bridged |
//!
//! Confidence: the detection score at the frame the alert starts (the highest seen while it lasts, at its end).
//!
//! Limits: the dwell is per track, so it restarts when the tracker loses someone (long occlusion) and gives them a
//! new id; no re-identification by appearance is done, deliberately (it would be biometric processing).

use super::anchor;
use crate::config::Zone;
use crate::engine::{FrameInput, Rule, RuleCtx};
use crate::lifecycle::Condition;

pub struct Loitering {
    zones: Vec<Zone>,
    classes: Vec<String>,
}

impl Loitering {
    pub(crate) fn new(ctx: &RuleCtx) -> Self {
        Loitering {
            zones: ctx.zones.clone(),
            classes: ctx.classes.clone(),
        }
    }
}

impl Rule for Loitering {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        for o in super::support::watched(f, &self.classes) {
            let p = anchor(o);
            for z in self.zones.iter().filter(|z| z.polygon.contains(p)) {
                out.push(Condition {
                    key: format!("zone:{}:track:{}", z.id, o.track_id),
                    zone: Some(z.id.clone()),
                    line: None,
                    track_ids: vec![o.track_id],
                    confidence: o.score.clamp(0.0, 1.0),
                    bbox: Some(o.bbox),
                    detail: format!("{} {} staying in zone {}", o.class, o.track_id, z.id),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::event::Phase;

    const CFG: &str = r#"
        [[zone]]
        id = "bench"
        polygon = [[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]]
        [[rule]]
        id = "loiter"
        type = "loitering"
        zones = ["bench"]
    "#;

    #[test]
    fn staying_past_the_dwell_raises_one_event_from_entry() {
        // Inside from 1 s to 80 s, then gone.
        let fr: Vec<_> = (0..450)
            .map(|i| {
                let inside = (5..400).contains(&i);
                frame(
                    i,
                    if inside {
                        vec![person(4, 500.0, 500.0, 150.0)]
                    } else {
                        vec![]
                    },
                )
            })
            .collect();
        let ev = run(CFG, fr);
        assert_eq!(
            ev.iter().map(|e| e.phase).collect::<Vec<_>>(),
            vec![Phase::Start, Phase::End],
            "{ev:#?}"
        );
        assert_eq!(secs(ev[0].start), 1.0);
        assert_eq!(secs(ev[0].at), 61.0);
        assert_eq!(ev[1].end.map(secs), Some(79.8));
        assert_eq!(ev[0].track_ids, vec![tid(4)]);
    }

    #[test]
    fn passing_through_is_not_loitering() {
        // Crosses the zone (200 px wide) in 10 s, well below 60 s; others walk by outside it for minutes.
        let fr: Vec<_> = (0..600)
            .map(|i| {
                let mut o = vec![person(1, 350.0 + 6.0 * i as f32, 500.0, 150.0)];
                o.push(person(2, 100.0, 900.0, 150.0));
                frame(i, o)
            })
            .collect();
        let ev = run(CFG, fr);
        assert!(ev.is_empty(), "{ev:#?}");
    }

    #[test]
    fn short_absences_are_bridged_long_ones_restart() {
        // 40 s inside, 1.6 s out (< end_after 2 s), 30 s inside: 71.6 s in all, one event from the first entry.
        let mut fr = Vec::new();
        for i in 0..500 {
            let inside = !(200..208).contains(&i) && i < 358;
            let x = if inside { 500.0 } else { 800.0 };
            fr.push(frame(i, vec![person(1, x, 500.0, 150.0)]));
        }
        let ev = run(CFG, fr);
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(secs(s[0].start), 0.0);
        assert_eq!(secs(s[0].at), 60.0);

        // The same with 3 s out: the dwell restarts, 40 s and 30 s are each too short.
        let mut fr = Vec::new();
        for i in 0..500 {
            let inside = !(200..215).contains(&i) && i < 365;
            let x = if inside { 500.0 } else { 800.0 };
            fr.push(frame(i, vec![person(1, x, 500.0, 150.0)]));
        }
        assert!(run(CFG, fr).is_empty());
    }

    #[test]
    fn jitter_on_the_border_is_one_event_and_two_people_two_events() {
        // Person 1 stands on the zone's right edge, in and out every frame; person 2 stands inside.
        let fr: Vec<_> = (0..400)
            .map(|i| {
                let x = if i % 2 == 0 { 598.0 } else { 603.0 };
                frame(i, vec![person(1, x, 500.0, 150.0), person(2, 450.0, 450.0, 150.0)])
            })
            .collect();
        let ev = run(CFG, fr);
        let s = starts(&ev);
        assert_eq!(s.len(), 2, "{ev:#?}");
        assert_eq!(
            s.iter().map(|e| e.track_ids[0]).collect::<Vec<_>>(),
            vec![tid(1), tid(2)]
        );
        assert!(ev.iter().all(|e| e.phase != Phase::Update));
    }

    #[test]
    fn only_the_watched_classes() {
        let cfg = CFG.replace("zones = [\"bench\"]", "zones = [\"bench\"]\nmin_duration_s = 5.0");
        let fr: Vec<_> = (0..100)
            .map(|i| frame(i, vec![obj(1, "dog", 500.0, 500.0, 50.0, 0.9)]))
            .collect();
        assert!(run(&cfg, fr).is_empty());
    }
}
