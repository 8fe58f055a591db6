//! Gathering (`gathering`, the city's "regroupement"): at least N people close to one another for some time.
//!
//! # What it detects
//! Among the people (watched classes) whose ground anchor (bottom-centre of the box) is in a region (each of the
//! rule's zones, or the whole frame when it names none), two people are *near* when the distance between their
//! anchors is at most `radius` person heights, the person height of a pair being the mean of their two box heights
//! (the median of the two people involved, so the scale follows the perspective: far people are small and near
//! to one another in pixels). Groups are the connected components of the "near" graph (single linkage: A near B and
//! B near C make one group even when A and C are further apart), where only pairs that have been near each other
//! for 5 s (or `min_duration_s` if shorter; gaps under 1 s bridged) count: the *same* people must stay together,
//! so a stream of passers-by past a small group never makes it a gathering (someone walking past is near any one
//! person for under 4 s: 3 person heights at a walking 0.8 heights per second). The condition holds in a region
//! while its largest group has at least `min_people` members; one condition per region (key `zone:ID` or
//! `frame`), whose tracks are the largest group's (an update is sent when its membership changes). The lifecycle
//! makes it an alert once it has held for `min_duration_s` (default 10 s), so a gathering is raised about 15 s
//! after the people came together.
//!
//! A passer-by who crosses a group's radius for a moment is not a member; someone who joins and stays is, after
//! 5 s (an update of the alert).
//!
//! # Parameters
//! | key | default | meaning |
//! |---|---|---|
//! | `zones` | none (whole frame) | regions watched separately |
//! | `classes` | person | who counts |
//! | `min_people` | 4 | group size, at least 2 |
//! | `radius` | 1.5 | person heights between neighbours (about 2.5 m) |
//! | `min_duration_s` | 10 | how long the group must last |
//!
//! Confidence: the mean detection score of the group's members.
//!
//! Limits: people walking together in a busy place form groups too; the rule does not ask that the group stand
//! still (a crowd moving together is still a gathering), so on a busy walkway choose `min_people` and
//! `min_duration_s` above what ordinary traffic gives (see docs/accuracy.md). Distances are measured in the image,
//! so people one behind the other along the camera's axis look nearer than they are.

use super::anchor;
use super::support::{Region, mean_score, watched};
use crate::engine::{FrameInput, Rule, RuleCtx, TrackObs};
use crate::lifecycle::Condition;
use std::collections::BTreeMap;
use vigie_core::{Result, Time90k, TrackId, err};

/// A pair stays "together" through gaps this short (a missed detection, a step away).
const PAIR_GAP_S: f64 = 1.0;
/// A pair counts once together this long (or `min_duration_s` if shorter).
const SETTLE_S: f64 = 5.0;

pub struct Gathering {
    regions: Vec<Region>,
    classes: Vec<String>,
    min_people: usize,
    radius: f32,
    settle: Time90k,
    /// (lower id, higher id) → (together since, last seen near).
    pairs: BTreeMap<(TrackId, TrackId), (Time90k, Time90k)>,
}

impl Gathering {
    pub(crate) fn new(ctx: &RuleCtx) -> Result<Self> {
        let min_people = ctx.cfg.min_people.unwrap_or(4);
        let radius = ctx.cfg.radius.unwrap_or(1.5);
        if min_people < 2 {
            return Err(err!(Config, "rule {:?}: min_people must be at least 2", ctx.cfg.id));
        }
        if !(radius > 0.0 && radius.is_finite()) {
            return Err(err!(Config, "rule {:?}: radius must be > 0", ctx.cfg.id));
        }
        let min_duration = ctx.cfg.min_duration_s.unwrap_or(ctx.cfg.kind.defaults().0);
        Ok(Gathering {
            regions: Region::of(&ctx.zones),
            classes: ctx.classes.clone(),
            min_people: min_people as usize,
            radius,
            settle: Time90k::from_secs_f64(SETTLE_S.min(min_duration)),
            pairs: BTreeMap::new(),
        })
    }
}

/// Whether two people are near: anchors within `radius` × the mean of their box heights.
pub(crate) fn near(a: &TrackObs, b: &TrackObs, radius: f32) -> bool {
    let scale = (a.bbox.height() + b.bbox.height()) / 2.0;
    anchor(a).distance(anchor(b)) <= radius * scale
}

/// The connected components of the graph on `0..n` whose edges are the pairs `edge` accepts, as index lists in
/// increasing order, sorted by their first member: deterministic for a deterministic `edge`.
pub(crate) fn groups(n: usize, edge: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..n).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            if edge(i, j) {
                let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                if a != b {
                    // The smaller index is the root, so roots are each group's first member.
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut root_of_group: Vec<usize> = Vec::new();
    for i in 0..n {
        let r = root(&mut parent, i);
        match root_of_group.iter().position(|&x| x == r) {
            Some(g) => out[g].push(i),
            None => {
                root_of_group.push(r);
                out.push(vec![i]);
            }
        }
    }
    out
}

impl Gathering {
    /// Updates how long each pair of people has been near each other.
    fn update_pairs(&mut self, t: Time90k, people: &[&TrackObs]) {
        let gap = Time90k::from_secs_f64(PAIR_GAP_S);
        for i in 0..people.len() {
            for j in i + 1..people.len() {
                if near(people[i], people[j], self.radius) {
                    // `people` is sorted by track id: (i, j) is (lower, higher).
                    let e = self
                        .pairs
                        .entry((people[i].track_id, people[j].track_id))
                        .or_insert((t, t));
                    if t.0 - e.1.0 > gap.0 {
                        e.0 = t;
                    }
                    e.1 = t;
                }
            }
        }
        self.pairs.retain(|_, (_, last)| t.0 - last.0 <= gap.0);
    }

    /// Whether `a` and `b` (sorted by id) have been together long enough to count and are near now.
    fn settled(&self, t: Time90k, a: &TrackObs, b: &TrackObs) -> bool {
        self.pairs
            .get(&(a.track_id, b.track_id))
            .is_some_and(|(since, last)| *last == t && t.0 - since.0 >= self.settle.0)
    }
}

impl Rule for Gathering {
    fn conditions(&mut self, f: &FrameInput, out: &mut Vec<Condition>) {
        let all = watched(f, &self.classes);
        self.update_pairs(f.t, &all);
        for region in &self.regions {
            let people: Vec<&TrackObs> = all.iter().copied().filter(|o| region.contains(anchor(o))).collect();
            if people.len() < self.min_people {
                continue;
            }
            // The largest group; ties go to the one whose first member has the lowest track id.
            let Some(best) = groups(people.len(), |i, j| self.settled(f.t, people[i], people[j]))
                .into_iter()
                .fold(None::<Vec<usize>>, |b, g| match b {
                    Some(b) if b.len() >= g.len() => Some(b),
                    _ => Some(g),
                })
            else {
                continue;
            };
            if best.len() < self.min_people {
                continue;
            }
            let members: Vec<&TrackObs> = best.iter().map(|&i| people[i]).collect();
            out.push(Condition {
                key: region.key.clone(),
                zone: region.zone_id(),
                line: None,
                track_ids: members.iter().map(|o| o.track_id).collect(),
                confidence: mean_score(members.iter().copied()),
                bbox: super::union(members.iter().map(|o| o.bbox)),
                detail: format!("{} people together in {}", members.len(), region.name()),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::support::test_util::*;
    use crate::event::Phase;

    const CFG: &str = r#"
        [[rule]]
        id = "group"
        type = "gathering"
    "#;

    /// `n` people standing in a row 100 px apart (people 150 px high: 0.67 heights), feet at y 500.
    fn row(first_id: u64, n: u64, x0: f32) -> Vec<vigie_core::BBox> {
        (0..n)
            .map(|k| person(first_id + k, x0 + 100.0 * k as f32, 500.0, 150.0).bbox)
            .collect()
    }

    fn people(boxes: &[vigie_core::BBox], first_id: u64) -> Vec<crate::TrackObs> {
        boxes
            .iter()
            .enumerate()
            .map(|(k, b)| person(first_id + k as u64, (b.x1 + b.x2) / 2.0, b.y2, b.height()))
            .collect()
    }

    #[test]
    fn four_people_for_ten_seconds() {
        // Four together for 20 s: together (settled) from 5 s, raised at 15 s. Three together for a minute: nothing.
        let four = row(1, 4, 100.0);
        let ev = run(CFG, (0..100).map(|i| frame(i, people(&four, 1))));
        assert_eq!(
            ev.iter().map(|e| e.phase).collect::<Vec<_>>(),
            vec![Phase::Start, Phase::End],
            "{ev:#?}"
        );
        assert_eq!(secs(ev[0].start), 5.0);
        assert_eq!(secs(ev[0].at), 15.0);
        assert_eq!(ev[0].track_ids, vec![tid(1), tid(2), tid(3), tid(4)]);
        assert_eq!(ev[0].zone, None);

        let three = row(1, 3, 100.0);
        assert!(run(CFG, (0..300).map(|i| frame(i, people(&three, 1)))).is_empty());
    }

    #[test]
    fn spread_out_people_are_not_a_group() {
        // Six people 300 px apart (2 heights > radius 1.5).
        let six: Vec<_> = (0..6)
            .map(|k| {
                person(
                    k + 1,
                    50.0 + 300.0 * (k % 3) as f32,
                    300.0 + 300.0 * (k / 3) as f32,
                    150.0,
                )
            })
            .collect();
        assert!(run(CFG, (0..100).map(|i| frame(i, six.clone()))).is_empty());
    }

    #[test]
    fn single_linkage_chains_neighbours() {
        // A chain of 4, each 200 px (1.33 heights) from the next: the ends are 4 heights apart, still one group.
        let chain: Vec<_> = (0..4)
            .map(|k| person(k + 1, 100.0 + 200.0 * k as f32, 500.0, 150.0))
            .collect();
        let ev = run(CFG, (0..100).map(|i| frame(i, chain.clone())));
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
    }

    /// Three people stand together for a minute; every 4 s someone walks past them at a walking 0.8 heights/s
    /// (120 px/s), within the radius of the group for about 5 s each time (of any one of them, under 4 s).
    fn stream_of_passers_by() -> Vec<crate::FrameInput> {
        (0..300)
            .map(|i| {
                let mut o = people(&row(1, 3, 400.0), 1);
                for k in 0..3 {
                    // Passer-by number n = i / 20 - k started 20 * k + i % 20 frames ago from x = 0.
                    let n = i / 20 - k;
                    let x = 24.0 * (i % 20 + 20 * k) as f32;
                    if n >= 0 && x < 1000.0 {
                        o.push(person(10 + n as u64, x, 520.0, 150.0));
                    }
                }
                frame(i, o)
            })
            .collect()
    }

    #[test]
    fn a_stream_of_passers_by_does_not_make_a_gathering() {
        let fr = stream_of_passers_by();
        // Four people are near one another in almost every frame, but never the same fourth for long.
        let four = fr
            .iter()
            .filter(|f| {
                let g = super::groups(f.objects.len(), |i, j| super::near(&f.objects[i], &f.objects[j], 1.5));
                g.iter().any(|g| g.len() >= 4)
            })
            .count();
        assert!(four > 270, "{four}");
        let ev = run(CFG, fr.clone());
        assert!(ev.is_empty(), "{ev:#?}");
        // With min_people 3, the three standing people are the gathering, and no passer-by is in it.
        let ev = run(&format!("{CFG}min_people = 3\n"), fr);
        let s = starts(&ev);
        assert_eq!(s.len(), 1, "{ev:#?}");
        assert_eq!(s[0].track_ids, vec![tid(1), tid(2), tid(3)]);
        assert!(ev.iter().all(|e| e.track_ids.iter().all(|t| t.get() < 10)), "{ev:#?}");
    }

    #[test]
    fn a_passer_by_is_not_a_member_a_newcomer_who_stays_is() {
        // Five stand together for 60 s; one person walks through the group at 14-17 s; another joins at 30 s and
        // stays: one event, updated when the newcomer has been there 5 s, never naming the passer-by.
        let fr: Vec<_> = (0..300)
            .map(|i| {
                let mut o = people(&row(1, 5, 300.0), 1);
                if (70..85).contains(&i) {
                    o.push(person(9, 250.0 + 40.0 * (i - 70) as f32, 480.0, 150.0));
                }
                if i >= 150 {
                    o.push(person(10, 800.0, 500.0, 150.0));
                }
                frame(i, o)
            })
            .collect();
        let ev = run(CFG, fr);
        assert_eq!(starts(&ev).len(), 1, "{ev:#?}");
        assert!(ev.iter().all(|e| !e.track_ids.contains(&tid(9))), "{ev:#?}");
        let up: Vec<_> = ev.iter().filter(|e| e.phase == Phase::Update).collect();
        assert_eq!(up.len(), 1, "{ev:#?}");
        assert_eq!(secs(up[0].at), 35.0);
        assert!(up[0].track_ids.contains(&tid(10)));
    }

    #[test]
    fn perspective_scale_and_zones() {
        // Far people (50 px high) 60 px apart are a group (1.2 heights); near people (200 px high) 60 px apart too;
        // far people 100 px apart are not (2 heights). Zones are watched separately.
        let cfg = r#"
            [[zone]]
            id = "far"
            polygon = [[0.0, 0.0], [1.0, 0.0], [1.0, 0.4], [0.0, 0.4]]
            [[zone]]
            id = "near"
            polygon = [[0.0, 0.6], [1.0, 0.6], [1.0, 1.0], [0.0, 1.0]]
            [[rule]]
            id = "group"
            type = "gathering"
            zones = ["far", "near"]
            min_people = 3
        "#;
        let far: Vec<_> = (0..3)
            .map(|k| person(k + 1, 100.0 + 60.0 * k as f32, 200.0, 50.0))
            .collect();
        let far_apart: Vec<_> = (0..3)
            .map(|k| person(k + 11, 600.0 + 100.0 * k as f32, 200.0, 50.0))
            .collect();
        let near: Vec<_> = (0..3)
            .map(|k| person(k + 21, 100.0 + 60.0 * k as f32, 900.0, 200.0))
            .collect();
        let all: Vec<_> = far.iter().chain(&far_apart).chain(&near).cloned().collect();
        let ev = run(cfg, (0..100).map(|i| frame(i, all.clone())));
        let s = starts(&ev);
        assert_eq!(s.len(), 2, "{ev:#?}");
        assert_eq!(s[0].zone.as_deref(), Some("far"));
        assert_eq!(s[0].track_ids, vec![tid(1), tid(2), tid(3)]);
        assert_eq!(s[1].zone.as_deref(), Some("near"));
    }

    #[test]
    fn groups_are_deterministic_components() {
        let ps: Vec<_> = [(1, 0.0), (2, 1000.0), (3, 100.0), (4, 1100.0), (5, 200.0)]
            .iter()
            .map(|&(id, x)| person(id, x, 500.0, 100.0))
            .collect();
        let g = super::groups(ps.len(), |i, j| super::near(&ps[i], &ps[j], 1.5));
        assert_eq!(g, vec![vec![0, 2, 4], vec![1, 3]]);
    }
}
