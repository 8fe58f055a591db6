//! Abandoned object (`abandoned_object`): a bag, suitcase or backpack left still with nobody looking after it.
//!
//! # What it detects
//! An object track of a watched class (backpack, handbag, suitcase by default) that is
//! - **still** for `min_duration_s` (default 30 s): its box centre has stayed within half its box diagonal of
//!   where it came to rest, and
//! - **unattended** for `unattended_s` (default 10 s): no person has been *attending* it. A person attends the
//!   object while their ground anchor (bottom-centre of their box) is within `owner_radius` of the object's
//!   (bottom-centre of its box), once they have stayed that close for [`PASSER_BY_S`] (2 s) without moving on:
//!   their speed over the last 2 s is under [`ATTENDING_SPEED`] (0.3 person heights per second; walking is
//!   about 0.8). A passer-by, who comes close for a moment or walks past even slowly, is not
//!   attending: they neither reset nor pause the unattended clock. Someone who stays by it does (the owner
//!   coming back, or someone looking after it), and the clock starts again from the last moment they were
//!   within the radius once they leave (someone out of it for less than 1 s, a missed detection or a step
//!   aside, still attends it).
//!
//! The two clocks run on their own: the **still** clock from the moment the object came to rest, the
//! **unattended** clock from the last moment someone attended it (the last frame an attending person stood by it,
//! before walking away or going out of sight; from its first frame for an object nobody ever attended). The condition holds, and the event starts,
//! at the first analysed frame at or after
//!
//! ```text
//! max(still since + min_duration_s, unattended since + unattended_s)
//! ```
//!
//! so with the defaults (30 s, 10 s) a bag its owner sets down and walks away from at once alerts 30 s after it was
//! set down, and a bag its owner stood by for five minutes alerts 10 s after they left. The rule applies
//! `min_duration_s` itself: the lifecycle does not add it again (the event's `start` is the moment both clocks
//! were due, and it is raised then). It takes about a second to tell someone walking off from someone standing
//! by (their speed over 2 s), so with `unattended_s` under about 1.5 s the alert comes that much later.
//!
//! `owner_radius` is in **person heights**: the height of each person's own box, which carries the perspective of
//! where they stand; default 1.5 (about 2.5 m for an adult). The person seen attending the object the longest is
//! reported as its last attendant (the second track id of the event), so that the operator can look at who left
//! it; no appearance of anyone is used.
//!
//! The key is per object (`frame:object:N` or `zone:ID:object:N`). An object the tracker stops reporting (people
//! walking in front, a missed detection) is kept for [`KEEP_UNSEEN_S`] (10 s) at its last place, still and
//! with its clocks running; a new track of a watched class that appears there (box IoU > 0.3) takes over its
//! state and key, so an occlusion neither ends the alert nor restarts the clocks. After 10 s unseen it is
//! dropped and the alert ends (`end_after_s` later).
//!
//! A bag carried by someone moves (not still) and has its carrier within the radius (attended): it never alerts.
//! A bag already there when the camera starts, with nobody near it, counts as unattended from the first frame.
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | the whole frame | where the object's anchor must be |
//! | `classes` | backpack, handbag, suitcase | what is watched |
//! | `owner_radius` | 1.5 | attending distance, in person heights |
//! | `unattended_s` | 10 | without an attendant this long (since the last one left) |
//! | `min_duration_s` | 30 | still this long (since it came to rest) |
//!
//! Confidence: the object's latest detection score (not the 0 of a box the tracker only predicted).
//!
//! # Limits
//! The detector's bag classes are weak on small or partly hidden bags and confuse some bins, boxes and
//! bollards with them: a still object misread as a bag for 30 s raises an alert (the official evaluation of
//! 2024 reports many such false positives; measure per camera). Distances are in the image: a person far
//! behind the object can look close to it. People lying or sitting still next to their bag attend it.

use super::support::{Region, watched};
use crate::engine::{FrameInput, Rule, RuleCtx, TrackObs};
use crate::lifecycle::Condition;
use std::collections::{BTreeMap, VecDeque};
use vigie_core::{BBox, Point, Result, Time90k, TrackId, err};

/// A person near an object for less than this is passing by, not attending it.
pub const PASSER_BY_S: f64 = 2.0;
/// An object not reported by the tracker is kept this long at its last place.
pub const KEEP_UNSEEN_S: f64 = 10.0;
/// A person out of the radius for less than this is still counted as near (a missed detection, a step aside).
const NEAR_GAP_S: f64 = 1.0;
/// A new track takes over an unseen object's state when their boxes overlap this much.
const TAKE_OVER_IOU: f32 = 0.3;
/// A person near an object attends it only while their speed over the last [`PASSER_BY_S`] is below this, in
/// person heights per second (walking is about 0.8).
pub const ATTENDING_SPEED: f32 = 0.3;
/// A person whose anchor stays within this distance (person heights) of where they stood is still there; the
/// first step further is when they started to leave.
const AT_REST: f32 = 0.1;

#[derive(Clone, Debug)]
struct Near {
    since: Time90k,
    last: Time90k,
    /// The person's anchors over the last [`PASSER_BY_S`], oldest first; their box height now.
    trail: VecDeque<(Time90k, Point)>,
    height: f32,
    /// Where they last stood, and the last frame they were there (within [`AT_REST`] of it): an attendant who
    /// walks away is still "attending" by their 2 s speed for a moment, but left at `rest_at`.
    rest: Point,
    rest_at: Time90k,
}

impl Near {
    /// Near for at least `passer` and, over the last `passer`, slower than [`ATTENDING_SPEED`]: someone standing
    /// or pottering about next to the object, not walking past it.
    fn attending(&self, passer: Time90k) -> bool {
        if self.last.0 - self.since.0 < passer.0 {
            return false;
        }
        let (Some(a), Some(b)) = (self.trail.front(), self.trail.back()) else {
            return false;
        };
        let span = b.0.0 - a.0.0;
        if span <= 0 {
            return false;
        }
        let secs = span as f64 / Time90k::HZ as f64;
        let speed = a.1.distance(b.1) as f64 / secs / self.height.max(1.0) as f64;
        speed < ATTENDING_SPEED as f64
    }
}

#[derive(Clone, Debug)]
struct Watched {
    /// The track id the key was made from (the first track of this object).
    key_id: TrackId,
    class: String,
    bbox: BBox,
    score: f32,
    last_seen: Time90k,
    /// Where and since when it has been still.
    rest: Point,
    still_since: Time90k,
    /// Since when nobody has attended it (the last frame an attending person was within the radius, or the
    /// object's first frame); `None` while attended.
    alone_since: Option<Time90k>,
    /// The last frame an attending person was within the radius.
    last_attended: Option<Time90k>,
    /// People within the radius now (or less than `NEAR_GAP_S` ago), by track.
    near: BTreeMap<TrackId, Near>,
    /// Time spent attending it, per person (seconds × 90 000).
    attended_by: BTreeMap<TrackId, i64>,
    last_t: Time90k,
}

pub struct AbandonedObject {
    regions: Vec<Region>,
    classes: Vec<String>,
    /// In person heights.
    owner_radius: f32,
    unattended: Time90k,
    /// Still this long (`min_duration_s`).
    stationary: Time90k,
    objects: BTreeMap<TrackId, Watched>,
}

impl AbandonedObject {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        let owner_radius = ctx.cfg.owner_radius.unwrap_or(1.5);
        if !(owner_radius > 0.0 && owner_radius.is_finite()) {
            return Err(err!(Config, "owner_radius must be > 0 (person heights)"));
        }
        let unattended_s = ctx.cfg.unattended_s.unwrap_or(10.0);
        if !(unattended_s >= 0.0 && unattended_s.is_finite()) {
            return Err(err!(Config, "unattended_s must be a finite number >= 0"));
        }
        Ok(AbandonedObject {
            regions: Region::of(&ctx.zones),
            classes: ctx.classes.clone(),
            owner_radius,
            unattended: Time90k::from_secs_f64(unattended_s),
            stationary: Time90k::from_secs_f64(ctx.min_duration_s),
            objects: BTreeMap::new(),
        })
    }

    /// The state of `o`: its own, one it takes over (an unseen object at the same place), or a new one.
    fn state_for(&mut self, o: &TrackObs, t: Time90k) -> &mut Watched {
        if !self.objects.contains_key(&o.track_id) {
            // Best unseen object overlapping the new track; ties to the lowest id (ordered map).
            let mut best: Option<(f32, TrackId)> = None;
            for (id, w) in &self.objects {
                if w.last_seen >= t {
                    continue; // seen this frame: another track's
                }
                let iou = w.bbox.iou(&o.bbox);
                if iou > TAKE_OVER_IOU && best.is_none_or(|(b, _)| iou > b) {
                    best = Some((iou, *id));
                }
            }
            let st = match best.and_then(|(_, id)| self.objects.remove(&id)) {
                Some(w) => w,
                None => Watched {
                    key_id: o.track_id,
                    class: o.class.clone(),
                    bbox: o.bbox,
                    score: o.score,
                    last_seen: t,
                    rest: o.bbox.center(),
                    still_since: t,
                    alone_since: None,
                    last_attended: None,
                    near: BTreeMap::new(),
                    attended_by: BTreeMap::new(),
                    last_t: t,
                },
            };
            self.objects.insert(o.track_id, st);
        }
        self.objects.get_mut(&o.track_id).expect("inserted above")
    }
}

fn diag(b: &BBox) -> f32 {
    (b.width().powi(2) + b.height().powi(2)).sqrt()
}

impl Rule for AbandonedObject {
    fn applies_min_duration(&self) -> bool {
        true
    }

    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        let t = f.t;
        // 1. Update the watched objects seen in this frame.
        for o in watched(f, &self.classes) {
            let st = self.state_for(o, t);
            let c = o.bbox.center();
            if c.distance(st.rest) > 0.5 * diag(&o.bbox).max(1.0) {
                // Moved: it rests anew from here.
                st.rest = c;
                st.still_since = t;
            }
            st.bbox = o.bbox;
            // A box only predicted by the tracker has score 0: keep the last detection's.
            if o.score > 0.0 {
                st.score = o.score;
            }
            st.class = o.class.clone();
            st.last_seen = t;
        }
        let keep = Time90k::from_secs_f64(KEEP_UNSEEN_S);
        self.objects.retain(|_, w| t.0 - w.last_seen.0 <= keep.0);

        // 2. People near each object, and the unattended clock.
        let people = watched(f, &["person".to_string()]);
        let gap = Time90k::from_secs_f64(NEAR_GAP_S);
        let passer = Time90k::from_secs_f64(PASSER_BY_S);
        for w in self.objects.values_mut() {
            let dt = (t.0 - w.last_t.0).max(0);
            w.last_t = t;
            let at = w.bbox.bottom_center();
            for p in &people {
                let reach = self.owner_radius * p.bbox.height();
                let pa = p.bbox.bottom_center();
                if pa.distance(at) <= reach {
                    let n = w.near.entry(p.track_id).or_insert(Near {
                        since: t,
                        last: t,
                        trail: VecDeque::new(),
                        height: p.bbox.height(),
                        rest: pa,
                        rest_at: t,
                    });
                    n.last = t;
                    n.height = p.bbox.height();
                    if pa.distance(n.rest) <= AT_REST * n.height {
                        n.rest_at = t;
                    } else {
                        n.rest = pa; // moved: a new place, where they have not stood yet
                    }
                    n.trail.push_back((t, pa));
                    while n.trail.front().is_some_and(|(ts, _)| t.0 - ts.0 > passer.0) {
                        n.trail.pop_front();
                    }
                }
            }
            w.near.retain(|_, n| t.0 - n.last.0 <= gap.0);
            let mut attended = false;
            for (id, n) in &w.near {
                if n.attending(passer) {
                    attended = true;
                    *w.attended_by.entry(*id).or_default() += dt;
                    // A person out of the radius for less than NEAR_GAP_S, or walking away but not yet fast
                    // over 2 s, still attends it; but they were last standing by it at `rest_at`: the unattended
                    // clock, if they do not come back, starts from then.
                    w.last_attended = Some(w.last_attended.map_or(n.rest_at, |l| l.max(n.rest_at)));
                }
            }
            if attended {
                w.alone_since = None;
            } else if w.alone_since.is_none() {
                w.alone_since = Some(w.last_attended.unwrap_or(t));
            }
        }

        // 3. Conditions, by object id.
        for (id, w) in &self.objects {
            let Some(alone) = w.alone_since else { continue };
            let due = (alone.0 + self.unattended.0).max(w.still_since.0 + self.stationary.0);
            if t.0 < due {
                continue;
            }
            // The longest attendant; ties to the lowest id.
            let mut owner: Option<(TrackId, i64)> = None;
            for (p, d) in &w.attended_by {
                if owner.is_none_or(|(_, best)| *d > best) {
                    owner = Some((*p, *d));
                }
            }
            let at = w.bbox.bottom_center();
            let mut tracks = vec![*id];
            if let Some((p, _)) = owner {
                tracks.push(p);
            }
            let unseen = if w.last_seen < t { " (hidden now)" } else { "" };
            let by = owner.map_or(String::new(), |(p, _)| format!("; last attended by person {p}"));
            for r in self.regions.iter().filter(|r| r.contains(at)) {
                out.push(Condition {
                    key: format!("{}:object:{}", r.key, w.key_id),
                    zone: r.zone_id(),
                    line: None,
                    track_ids: tracks.clone(),
                    confidence: w.score.clamp(0.0, 1.0),
                    bbox: Some(w.bbox),
                    detail: format!(
                        "{} {id} unattended for {:.0} s, still for {:.0} s, in {}{unseen}{by}",
                        w.class,
                        (t.0 - alone.0) as f64 / 90_000.0,
                        (t.0 - w.still_since.0) as f64 / 90_000.0,
                        r.name()
                    ),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::engine::{FrameInput, TrackObs};
    use crate::event::{Event, Phase};
    use vigie_core::BBox;

    /// Still 30 s (min_duration_s), unattended 10 s (the defaults).
    const RULE: &str = "[[rule]]\nid = \"bags\"\ntype = \"abandoned_object\"\n";
    /// One analysed frame, seconds.
    const FRAME_S: f64 = 0.2;

    /// A suitcase 40 x 50 resting with its bottom-centre at (`x`, 700).
    fn bag(id: u64, x: f32) -> TrackObs {
        TrackObs {
            track_id: tid(id),
            bbox: BBox::new(x - 20.0, 650.0, x + 20.0, 700.0),
            class: "suitcase".into(),
            score: 0.6,
        }
    }

    /// Seconds to frame index (5 per second).
    fn at(s: f64) -> i64 {
        (s * 5.0).round() as i64
    }

    /// The one start event, which is raised when it starts (the rule applies `min_duration_s` itself).
    fn one_start(ev: &[Event]) -> &Event {
        let s = starts(ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].at, s[0].start, "raised when it starts");
        s[0]
    }

    fn assert_within_a_frame(got: vigie_core::Time90k, want_s: f64) {
        assert!(
            (secs(got) - want_s).abs() <= FRAME_S + 1e-6,
            "started at {} s, expected {want_s} s",
            secs(got)
        );
    }

    /// A bag at x = 500 from 0 s; its owner (person 1, 170 px tall) stands beside it until `leaves` s, then walks
    /// away to the right at 100 px/s (0.6 person heights/s). Runs until `end` s; `extra` adds objects per frame
    /// index.
    fn scene(leaves: f64, end: f64, extra: impl Fn(i64) -> Vec<TrackObs>) -> Vec<FrameInput> {
        (0..at(end))
            .map(|i| {
                let s = i as f64 / 5.0;
                let mut objs = vec![bag(10, 500.0)];
                let px = if s < leaves {
                    540.0
                } else {
                    540.0 + (s - leaves) as f32 * 100.0
                };
                if px < 1000.0 {
                    objs.push(person(1, px, 710.0, 170.0));
                }
                objs.extend(extra(i));
                frame(i, objs)
            })
            .collect()
    }

    /// A person carrying a suitcase beside them walks right at 100 px/s from x 100 and sets it down at `set_down` s
    /// (the bag stops there), stands by it until `leaves` s, then walks on at 100 px/s. Until `end` s.
    fn set_down_and_leave(set_down: f64, leaves: f64, end: f64) -> Vec<FrameInput> {
        (0..at(end))
            .map(|i| {
                let s = i as f64 / 5.0;
                let bag_x = 100.0 + 100.0 * s.min(set_down) as f32;
                let px = bag_x + 40.0 + if s > leaves { 100.0 * (s - leaves) as f32 } else { 0.0 };
                let mut objs = vec![bag(2, bag_x)];
                if px < 1000.0 {
                    objs.push(person(1, px, 710.0, 170.0));
                }
                frame(i, objs)
            })
            .collect()
    }

    #[test]
    fn a_person_leaving_a_bag_starts_at_the_later_of_the_two_clocks() {
        // Set down at 5 s, owner by it until 40 s: still since 5 (due 35), alone since 40 (due 50) → 50 s.
        let ev = run(RULE, set_down_and_leave(5.0, 40.0, 70.0));
        let e = one_start(&ev);
        assert_within_a_frame(e.start, 40.0 + 10.0);
        assert_eq!(e.track_ids, vec![tid(1), tid(2)], "the bag and who left it");
        // Owner leaves at 12 s: alone since 12 (due 22), still since 5 (due 35) → 35 s.
        let e = one_start(&run(RULE, set_down_and_leave(5.0, 12.0, 60.0))).clone();
        assert_within_a_frame(e.start, 5.0 + 30.0);
        // Other settings move it accordingly: still 20 s, alone 25 s: max(5 + 20, 12 + 25) = 37 s.
        let cfg = format!("{RULE}min_duration_s = 20\nunattended_s = 25\n");
        let e = one_start(&run(&cfg, set_down_and_leave(5.0, 12.0, 60.0))).clone();
        assert_within_a_frame(e.start, 12.0 + 25.0);
    }

    #[test]
    fn a_person_passing_a_bag_changes_neither_clock() {
        // A bag alone from 0 s (due max(0 + 30, 0 + 10) = 30 s); someone walks past it, within the radius for about
        // 2.5 s, at 150 px/s from 14 s: the alert still starts at 30 s.
        let passer = |i: i64| {
            let s = i as f64 / 5.0;
            let x = 100.0 + (s - 14.0) as f32 * 150.0;
            if (14.0..20.0).contains(&s) {
                vec![person(5, x, 720.0, 170.0)]
            } else {
                vec![]
            }
        };
        let frames = |with: bool| -> Vec<FrameInput> {
            (0..at(50.0))
                .map(|i| {
                    let mut objs = vec![bag(10, 500.0)];
                    if with {
                        objs.extend(passer(i));
                    }
                    frame(i, objs)
                })
                .collect()
        };
        let with = run(RULE, frames(true));
        let e = one_start(&with);
        assert_within_a_frame(e.start, 30.0);
        assert_eq!(e.track_ids, vec![tid(10)], "a passer-by is not its attendant");
        assert_eq!(e.start, one_start(&run(RULE, frames(false))).start);
    }

    #[test]
    fn an_owner_walking_away_leaves_an_abandoned_bag() {
        // Owner beside the bag for 25 s, then walks away: alone from 25 s, due 35 s (still since 0: due 30 s).
        let ev = run(RULE, scene(25.0, 90.0, |_| vec![]));
        let e = one_start(&ev);
        assert_eq!(e.track_ids, vec![tid(1), tid(10)], "the bag and its last attendant");
        assert_within_a_frame(e.start, 35.0);
        assert!(
            e.detail.contains("suitcase 10") && e.detail.contains("person 1"),
            "{}",
            e.detail
        );
        // One start, one end (at the end of the stream).
        assert_eq!(ev.iter().filter(|e| e.phase == Phase::End).count(), 1);
    }

    #[test]
    fn passers_by_do_not_reset_the_clock() {
        // Every 8 s from 27 s, someone (a new track each time) walks past the bag at 400 px/s: within the radius
        // about 1.3 s: passing by.
        let passer = |i: i64| {
            let s = i as f64 / 5.0;
            if s < 27.0 {
                return vec![];
            }
            let k = ((s - 27.0) / 8.0).floor();
            let since = s - 27.0 - k * 8.0;
            let x = 100.0 + since as f32 * 400.0;
            if x > 950.0 {
                return vec![];
            }
            vec![person(100 + k as u64, x, 720.0, 170.0)]
        };
        let with = run(RULE, scene(25.0, 90.0, passer));
        let without = run(RULE, scene(25.0, 90.0, |_| vec![]));
        let (a, b) = (one_start(&with), one_start(&without));
        assert_eq!(a.start, b.start, "passers-by changed the unattended clock");
        assert_eq!(a.at, b.at);
    }

    #[test]
    fn someone_staying_near_it_attends_it() {
        // The owner leaves at 10 s (due 30 s); a person stands next to the bag from 20 s to 30 s (longer than 2 s):
        // the unattended clock starts again when they leave (last seen 29.8 s), due 39.8 s.
        let stay = |i: i64| {
            let s = i as f64 / 5.0;
            if (20.0..30.0).contains(&s) {
                vec![person(7, 460.0, 705.0, 170.0)]
            } else {
                vec![]
            }
        };
        let ev = run(RULE, scene(10.0, 60.0, stay));
        let e = one_start(&ev);
        assert_within_a_frame(e.start, 29.8 + 10.0);
        // The bag's longest attendant is still the owner (10 s against 8 s).
        assert_eq!(e.track_ids, vec![tid(1), tid(10)]);
        // Until 39 s only: no alert at all.
        assert!(starts(&run(RULE, scene(10.0, 39.0, stay))).is_empty());
    }

    #[test]
    fn a_carried_bag_never_alerts() {
        // A person walking (20 px/s) with a bag beside them for 120 s, stopping for 15 s every 30 s.
        let frames: Vec<FrameInput> = (0..at(120.0))
            .map(|i| {
                let s = i as f64 / 5.0;
                let (k, phase) = ((s / 30.0).floor(), s % 30.0);
                let x = 100.0 + k as f32 * 300.0 + phase.min(15.0) as f32 * 20.0;
                frame(i, vec![person(1, x, 700.0, 170.0), bag(2, x + 25.0)])
            })
            .collect();
        assert!(starts(&run(RULE, frames)).is_empty());
        // Walking briskly (150 px/s, 0.9 person heights/s) for 5 s, then standing with the bag for 75 s.
        let frames: Vec<FrameInput> = (0..at(80.0))
            .map(|i| {
                let s = i as f64 / 5.0;
                let x = 50.0 + s.min(5.0) as f32 * 150.0;
                frame(i, vec![person(1, x, 700.0, 170.0), bag(2, x + 25.0)])
            })
            .collect();
        assert!(starts(&run(RULE, frames)).is_empty());
    }

    #[test]
    fn a_bag_hidden_for_a_few_seconds_keeps_its_clock_and_key() {
        // Owner walks away at 10 s (due 30 s); the bag's track is lost from 20 s to 26 s (people in front) and comes
        // back as track 11 at the same place. One event, keyed by the first track, from the first track's clocks:
        // the same event as without the occlusion.
        let plain = run(RULE, scene(10.0, 90.0, |_| vec![]));
        let frames: Vec<FrameInput> = scene(10.0, 90.0, |_| vec![])
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                let s = i as f64 / 5.0;
                if (20.0..26.0).contains(&s) {
                    f.objects.retain(|o| o.class != "suitcase");
                } else if s >= 26.0 {
                    for o in f.objects.iter_mut().filter(|o| o.class == "suitcase") {
                        o.track_id = tid(11);
                    }
                }
                f
            })
            .collect();
        let ev = run(RULE, frames);
        let e = one_start(&ev);
        assert_within_a_frame(e.start, 30.0);
        assert_eq!(
            e.id,
            one_start(&plain).id,
            "same key and start as without the occlusion"
        );
        // Lost for longer than 10 s: the alert ends.
        let frames: Vec<FrameInput> = scene(10.0, 120.0, |_| vec![])
            .into_iter()
            .enumerate()
            .map(|(i, mut f)| {
                if i as f64 / 5.0 >= 70.0 {
                    f.objects.retain(|o| o.class != "suitcase");
                }
                f
            })
            .collect();
        let ev = run(RULE, frames);
        let end = ev.iter().find(|e| e.phase == Phase::End).expect("an end");
        assert!((secs(end.end.unwrap()) - 80.0).abs() < 0.3, "{end:?}");
    }

    #[test]
    fn radius_and_settings() {
        // A person standing 300 px from the bag (1.76 heights): attending with owner_radius 2, not with 1.5.
        let watcher = |_: i64| vec![person(5, 800.0, 700.0, 170.0)];
        let frames = scene(0.0, 60.0, watcher);
        assert_eq!(starts(&run(RULE, frames.clone())).len(), 1);
        assert!(starts(&run(&format!("{RULE}owner_radius = 2.0\n"), frames)).is_empty());
        // unattended_s 0 and min_duration 5: due as the owner walks off (10 s; still since 0, due 5 s), raised when
        // the rule can tell them from someone standing there: their speed over 2 s passes 0.3 heights/s (+1.2 s).
        let ev = run(
            &format!("{RULE}unattended_s = 0\nmin_duration_s = 5\n"),
            scene(10.0, 40.0, |_| vec![]),
        );
        assert_within_a_frame(one_start(&ev).start, 10.0 + 1.2);
        // Bad values are configuration errors.
        for bad in ["owner_radius = 0.0", "owner_radius = -1.0", "unattended_s = -2.0"] {
            let cfg = crate::config::RulesConfig::parse(&format!("{RULE}{bad}\n"), "t").unwrap();
            let e = crate::engine::Engine::new(&cfg, "cam", W, H, &labels())
                .err()
                .expect(bad);
            assert_eq!(e.kind(), vigie_core::ErrorKind::Config, "{bad}: {e}");
        }
    }
}
