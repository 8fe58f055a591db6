//! Rule configuration for one camera: zones, lines and rules, in coordinates normalised to the frame (0..1), so
//! they survive a change of resolution. Strict: an unknown key, an unknown zone, line or class, or a parameter that
//! does not apply to a rule's type is an error naming it.
//!
//! ```toml
//! [[zone]]
//! id = "forecourt"
//! polygon = [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]]
//! area_m2 = 120.0          # optional: ground area, for densities per m²
//! metres_per_pixel = 0.02  # optional: ground scale, for speeds in m/s (wrong_way, crowd_movement)
//! direction = [1.0, 0.0]   # optional: the allowed direction of travel (image vector), for wrong_way
//!
//! [[line]]
//! id = "entrance"
//! from = [0.2, 0.6]
//! to = [0.8, 0.6]          # "in" is crossing from the left of from→to to its right (image coordinates)
//!
//! [[rule]]
//! id = "forecourt-intrusion"
//! type = "intrusion"
//! zones = ["forecourt"]
//! classes = ["person", "car"]
//! min_duration_s = 1.0
//! schedule = { timezone = "local", windows = [{ days = ["sat", "sun"], start = "22:00", end = "06:00" }] }
//! ```
//!
//! # Ground scale
//! Zones are in normalised coordinates and rules measure in the image (frame widths, person heights), which needs
//! no calibration. Where the ground scale of a zone is known, `metres_per_pixel` lets `wrong_way` and
//! `crowd_movement` take speeds in m/s (`min_speed_mps`, `min_distance_m`), and `area_m2` lets
//! `excessive_density` take people per m² (`max_per_m2`). `metres_per_pixel` is metres on the ground per pixel of
//! the video *as analysed* (its source resolution), around the zone: measure it on a snapshot of the camera
//! (a 5 m lane marking 250 pixels long: 0.02), once per zone if the perspective is strong; it must be measured
//! again if the camera's resolution changes (the zone itself need not be). Lines take no scale: counts need none.

use crate::event::EventKind;
use crate::schedule::{Schedule, ScheduleConfig};
use serde::{Deserialize, Serialize};
use vigie_core::{Error, ErrorKind, Point, Polygon, Result, Segment, err};

#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    #[serde(default, rename = "zone")]
    pub zones: Vec<ZoneConfig>,
    #[serde(default, rename = "line")]
    pub lines: Vec<LineConfig>,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleConfig>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ZoneConfig {
    pub id: String,
    /// Vertices, normalised `[x, y]` (0..1, origin top-left).
    pub polygon: Vec<[f32; 2]>,
    /// Ground area of the zone in m², for densities in people per m² (`max_per_m2`).
    pub area_m2: Option<f32>,
    /// Ground scale around the zone: metres per pixel of the video as analysed, for speeds and distances in
    /// metres (`min_speed_mps`, `min_distance_m`). See the module documentation.
    pub metres_per_pixel: Option<f32>,
    /// Allowed direction of travel, an image-plane vector `[dx, dy]` (y down); needed by `wrong_way`.
    pub direction: Option<[f32; 2]>,
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LineConfig {
    pub id: String,
    pub from: [f32; 2],
    pub to: [f32; 2],
    /// How far past the line (normalised to the frame diagonal) an anchor must go for a crossing to count.
    /// Default 0.01.
    pub hysteresis: Option<f32>,
}

/// The rule types; see [`EventKind`] for the lawful event types they raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleType {
    Intrusion,
    LineCount,
    WrongWay,
    Loitering,
    Gathering,
    ExcessiveDensity,
    CrowdMovement,
    AbandonedObject,
    PersonOnGround,
    Weapon,
    FireStart,
}

impl RuleType {
    /// The event kind raised (`None` for counts).
    pub fn event_kind(self) -> Option<EventKind> {
        Some(match self {
            RuleType::Intrusion => EventKind::Intrusion,
            RuleType::LineCount => return None,
            RuleType::WrongWay => EventKind::WrongWay,
            RuleType::Loitering => EventKind::Loitering,
            RuleType::Gathering => EventKind::Gathering,
            RuleType::ExcessiveDensity => EventKind::ExcessiveDensity,
            RuleType::CrowdMovement => EventKind::CrowdMovement,
            RuleType::AbandonedObject => EventKind::AbandonedObject,
            RuleType::PersonOnGround => EventKind::PersonOnGround,
            RuleType::Weapon => EventKind::Weapon,
            RuleType::FireStart => EventKind::FireStart,
        })
    }

    /// The optional parameters this type accepts (beyond the common ones); any other is a configuration error.
    fn params(self) -> &'static [&'static str] {
        match self {
            RuleType::Intrusion => &["zones"],
            RuleType::LineCount => &["lines"],
            RuleType::WrongWay => &["zones", "min_speed", "min_distance", "min_speed_mps", "min_distance_m"],
            RuleType::Loitering => &["zones"],
            RuleType::Gathering => &["zones", "min_people", "radius"],
            RuleType::ExcessiveDensity => &["zones", "max_people", "max_per_m2"],
            RuleType::CrowdMovement => &["zones", "min_people", "speed_factor", "min_speed_mps"],
            RuleType::AbandonedObject => &["zones", "owner_radius", "unattended_s"],
            RuleType::PersonOnGround => &["zones"],
            RuleType::Weapon => &["zones", "min_score"],
            RuleType::FireStart => &["zones", "min_score"],
        }
    }

    /// Default `min_duration_s` and classes.
    pub fn defaults(self) -> (f64, &'static [&'static str]) {
        const VEHICLES_AND_PEOPLE: &[&str] = &["person", "bicycle", "motorcycle", "car", "bus", "truck"];
        const PEOPLE: &[&str] = &["person"];
        const BAGS: &[&str] = &["backpack", "handbag", "suitcase"];
        match self {
            RuleType::Intrusion => (1.0, VEHICLES_AND_PEOPLE),
            RuleType::LineCount => (0.0, VEHICLES_AND_PEOPLE),
            RuleType::WrongWay => (1.0, VEHICLES_AND_PEOPLE),
            RuleType::Loitering => (60.0, PEOPLE),
            RuleType::Gathering => (10.0, PEOPLE),
            RuleType::ExcessiveDensity => (5.0, PEOPLE),
            RuleType::CrowdMovement => (1.0, PEOPLE),
            RuleType::AbandonedObject => (30.0, BAGS),
            RuleType::PersonOnGround => (5.0, PEOPLE),
            RuleType::Weapon => (0.6, &["knife"]),
            RuleType::FireStart => (3.0, &[]),
        }
    }
}

/// One rule. Common keys: `id`, `type`, `classes`, `min_duration_s`, `end_after_s`, `cooldown_s`, `enabled`,
/// `schedule`.
/// Type-specific keys are listed in [`RuleType`]'s documentation of each rule module.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: RuleType,
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Classes the rule looks at; default depends on the type (people for loitering, bags for abandoned objects...).
    /// Each must be a detector label; one the detector does not keep is a warning, and a rule none of whose classes
    /// is kept is refused ([`RulesConfig::classes_not_kept`]).
    pub classes: Option<Vec<String>>,
    /// The condition must hold this long before an event starts. Default depends on the type.
    pub min_duration_s: Option<f64>,
    /// The event ends when the condition has not held for this long. Default 2.
    pub end_after_s: Option<f64>,
    /// After an event ends, the same situation does not raise a new one for this long. Default 30.
    pub cooldown_s: Option<f64>,
    /// When the rule is active: weekly windows of local time ([`crate::schedule`]). Default: always.
    pub schedule: Option<ScheduleConfig>,
    /// Zones the rule watches (empty: the whole frame, where the type allows it).
    #[serde(default)]
    pub zones: Vec<String>,
    /// Lines the rule counts crossings of (`line_count`).
    #[serde(default)]
    pub lines: Vec<String>,
    /// `wrong_way`: minimum speed along the zone's direction, in frame widths per second. Default 0.03.
    pub min_speed: Option<f32>,
    /// `wrong_way`: minimum distance travelled against the direction, in frame widths. Default 0.05.
    pub min_distance: Option<f32>,
    /// `wrong_way`: minimum speed against the direction in m/s, instead of `min_speed`; `crowd_movement`: the
    /// people moving must also be at least this fast in m/s. Needs every zone of the rule to have
    /// `metres_per_pixel`.
    pub min_speed_mps: Option<f32>,
    /// `wrong_way`: minimum distance travelled against the direction in metres, instead of `min_distance`. Needs
    /// every zone of the rule to have `metres_per_pixel`.
    pub min_distance_m: Option<f32>,
    /// `gathering`, `crowd_movement`: minimum number of people. Defaults 4 and 6.
    pub min_people: Option<u32>,
    /// `gathering`: people within this distance of one another, in person heights. Default 1.5.
    pub radius: Option<f32>,
    /// `excessive_density`: more than this many people in the zone.
    pub max_people: Option<u32>,
    /// `excessive_density`: more than this many people per m² (needs the zone's `area_m2`).
    pub max_per_m2: Option<f32>,
    /// `crowd_movement`: a rise of the median speed by this factor over its recent baseline. Default 2.5.
    pub speed_factor: Option<f32>,
    /// `abandoned_object`: no person staying within this distance of the object, in person heights. Default 1.5.
    pub owner_radius: Option<f32>,
    /// `abandoned_object`: how long the object must be without a person near it. Default 10.
    pub unattended_s: Option<f64>,
    /// `weapon`, `fire_start`: minimum detector score. Default 0.5.
    pub min_score: Option<f32>,
}

fn yes() -> bool {
    true
}

/// A zone, scaled to pixels.
#[derive(Clone, Debug)]
pub struct Zone {
    pub id: String,
    pub polygon: Polygon,
    pub area_m2: Option<f32>,
    pub metres_per_pixel: Option<f32>,
    pub direction: Option<Point>,
}

/// A line, scaled to pixels.
#[derive(Clone, Debug)]
pub struct Line {
    pub id: String,
    pub segment: Segment,
    pub hysteresis_px: f32,
}

impl RulesConfig {
    pub fn parse(text: &str, origin: &str) -> Result<RulesConfig> {
        let cfg: RulesConfig = toml::from_str(text).map_err(|e| err!(Config, "{origin}: {}", e.message()))?;
        Ok(cfg)
    }

    /// Checks references and values against the detector's `labels`.
    pub fn validate(&self, labels: &[String]) -> Result<()> {
        let mut ids: Vec<&str> = Vec::new();
        for z in &self.zones {
            if z.polygon.len() < 3 {
                return Err(err!(Config, "zone {:?}: a polygon needs at least 3 points", z.id));
            }
            if z.polygon.iter().flatten().any(|v| !(0.0..=1.0).contains(v)) {
                return Err(err!(Config, "zone {:?}: coordinates must be normalised to 0..1", z.id));
            }
            if let Some(a) = z.area_m2
                && !(a > 0.0 && a.is_finite())
            {
                return Err(err!(Config, "zone {:?}: area_m2 must be > 0", z.id));
            }
            if let Some(m) = z.metres_per_pixel
                && !(m > 0.0 && m.is_finite())
            {
                return Err(err!(Config, "zone {:?}: metres_per_pixel must be > 0", z.id));
            }
            if ids.contains(&z.id.as_str()) {
                return Err(err!(Config, "zone id {:?} is used twice", z.id));
            }
            ids.push(&z.id);
        }
        for l in &self.lines {
            if l.from.iter().chain(&l.to).any(|v| !(0.0..=1.0).contains(v)) || l.from == l.to {
                return Err(err!(
                    Config,
                    "line {:?}: needs two distinct points normalised to 0..1",
                    l.id
                ));
            }
        }
        let mut rule_ids: Vec<&str> = Vec::new();
        for r in &self.rules {
            let ctx = |e: Error| e.context(format!("rule {:?} ({:?})", r.id, r.kind));
            if rule_ids.contains(&r.id.as_str()) {
                return Err(err!(Config, "rule id {:?} is used twice", r.id));
            }
            rule_ids.push(&r.id);
            for z in &r.zones {
                if !self.zones.iter().any(|zc| &zc.id == z) {
                    return Err(ctx(err!(Config, "unknown zone {z:?}")));
                }
            }
            for l in &r.lines {
                if !self.lines.iter().any(|lc| &lc.id == l) {
                    return Err(ctx(err!(Config, "unknown line {l:?}")));
                }
            }
            if let Some(classes) = &r.classes {
                for c in classes {
                    if !labels.contains(c) {
                        return Err(ctx(err!(Config, "unknown class {c:?}")));
                    }
                }
            }
            self.check_params(r).map_err(ctx)?;
            if let Some(s) = &r.schedule {
                Schedule::new(s).map_err(ctx)?;
            }
        }
        Ok(())
    }

    /// Checks the classes each enabled rule watches (its `classes`, or its type's default) against the classes the
    /// detectors *keep* (`kept`: `[detector] classes`, plus a second detector's), which is narrower than the labels
    /// [`validate`](Self::validate) checks against: a detection of a class not kept is dropped before tracking, so
    /// a rule never sees it.
    ///
    /// Returns one warning per rule and class not kept (`rule "r" (Intrusion) watches class "bus", which the
    /// detector does not keep: ...`), for the caller to print: a rule watching several classes still works for
    /// the others. A rule none of whose classes is kept could never raise anything: that is a configuration error
    /// naming the rule and its classes (disable the rule or keep a class).
    pub fn classes_not_kept(&self, kept: &[String]) -> Result<Vec<String>> {
        let mut warnings = Vec::new();
        for r in self.rules.iter().filter(|r| r.enabled) {
            let classes: Vec<String> = match &r.classes {
                Some(c) => c.clone(),
                None => r.kind.defaults().1.iter().map(|s| s.to_string()).collect(),
            };
            if classes.is_empty() {
                continue; // fire_start watches regions, not classes
            }
            let missing: Vec<&String> = classes.iter().filter(|c| !kept.contains(c)).collect();
            if missing.len() == classes.len() {
                return Err(err!(
                    Config,
                    "rule {:?} ({:?}): none of its classes ({}) is kept by the detector ([detector] classes): it \
                     could never raise anything; keep one of them or set enabled = false",
                    r.id,
                    r.kind,
                    classes.join(", ")
                ));
            }
            for c in missing {
                warnings.push(format!(
                    "rule {:?} ({:?}) watches class {c:?}, which the detector does not keep ([detector] classes): \
                     the rule will never see one",
                    r.id, r.kind
                ));
            }
        }
        Ok(warnings)
    }

    fn check_params(&self, r: &RuleConfig) -> Result<()> {
        let given: [(&str, bool); 13] = [
            ("zones", !r.zones.is_empty()),
            ("lines", !r.lines.is_empty()),
            ("min_speed", r.min_speed.is_some()),
            ("min_distance", r.min_distance.is_some()),
            ("min_speed_mps", r.min_speed_mps.is_some()),
            ("min_distance_m", r.min_distance_m.is_some()),
            ("min_people", r.min_people.is_some()),
            ("radius", r.radius.is_some()),
            ("max_people", r.max_people.is_some()),
            ("max_per_m2", r.max_per_m2.is_some()),
            ("speed_factor", r.speed_factor.is_some()),
            ("owner_radius", r.owner_radius.is_some() || r.unattended_s.is_some()),
            ("min_score", r.min_score.is_some()),
        ];
        let allowed = r.kind.params();
        for (name, present) in given {
            let ok = allowed.contains(&name) || (name == "owner_radius" && allowed.contains(&"unattended_s"));
            if present && !ok {
                return Err(Error::new(
                    ErrorKind::Config,
                    format!(
                        "{name} does not apply to this rule type (it takes: {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        for (name, v) in [
            ("min_duration_s", r.min_duration_s),
            ("end_after_s", r.end_after_s),
            ("cooldown_s", r.cooldown_s),
        ] {
            if let Some(v) = v
                && !(v >= 0.0 && v.is_finite())
            {
                return Err(err!(Config, "{name} must be a finite number >= 0"));
            }
        }
        // Speeds and distances in metres need a ground scale on every zone of the rule.
        for (metric, value, image, image_given, floor) in [
            (
                "min_speed_mps",
                r.min_speed_mps,
                "min_speed",
                r.min_speed.is_some(),
                false,
            ),
            (
                "min_distance_m",
                r.min_distance_m,
                "min_distance",
                r.min_distance.is_some(),
                true,
            ),
        ] {
            let Some(v) = value else { continue };
            if image_given {
                return Err(err!(
                    Config,
                    "give {image} (image units) or {metric} (metres), not both"
                ));
            }
            if !(v.is_finite() && (v > 0.0 || (floor && v == 0.0))) {
                return Err(err!(Config, "{metric} must be {}", if floor { ">= 0" } else { "> 0" }));
            }
            if r.zones.is_empty() {
                return Err(err!(Config, "{metric} needs `zones` with `metres_per_pixel`"));
            }
            for z in &r.zones {
                if self.zones.iter().any(|zc| &zc.id == z && zc.metres_per_pixel.is_none()) {
                    return Err(err!(Config, "{metric} needs zone {z:?} to have `metres_per_pixel`"));
                }
            }
        }
        match r.kind {
            RuleType::LineCount if r.lines.is_empty() => Err(err!(Config, "line_count needs `lines`")),
            RuleType::Intrusion | RuleType::Loitering if r.zones.is_empty() => {
                Err(err!(Config, "this rule needs `zones`"))
            }
            RuleType::WrongWay => {
                if r.zones.is_empty() {
                    return Err(err!(Config, "wrong_way needs `zones` with a `direction`"));
                }
                for z in &r.zones {
                    if self.zones.iter().any(|zc| &zc.id == z && zc.direction.is_none()) {
                        return Err(err!(Config, "zone {z:?} has no `direction` for wrong_way"));
                    }
                }
                Ok(())
            }
            RuleType::ExcessiveDensity => {
                if r.max_people.is_none() && r.max_per_m2.is_none() {
                    return Err(err!(Config, "excessive_density needs `max_people` or `max_per_m2`"));
                }
                if r.max_per_m2.is_some() {
                    for z in &r.zones {
                        if self.zones.iter().any(|zc| &zc.id == z && zc.area_m2.is_none()) {
                            return Err(err!(Config, "max_per_m2 needs zone {z:?} to have `area_m2`"));
                        }
                    }
                    if r.zones.is_empty() {
                        return Err(err!(Config, "max_per_m2 needs `zones` with `area_m2`"));
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Zones scaled to a `w` × `h` frame.
    pub fn scaled_zones(&self, w: u32, h: u32) -> Vec<Zone> {
        self.zones
            .iter()
            .map(|z| Zone {
                id: z.id.clone(),
                polygon: Polygon::new(z.polygon.iter().map(|p| Point::new(p[0], p[1])).collect())
                    .scaled(w as f32, h as f32),
                area_m2: z.area_m2,
                metres_per_pixel: z.metres_per_pixel,
                direction: z.direction.map(|d| {
                    let (dx, dy) = (d[0] * w as f32, d[1] * h as f32);
                    let n = (dx * dx + dy * dy).sqrt().max(1e-6);
                    Point::new(dx / n, dy / n)
                }),
            })
            .collect()
    }

    pub fn scaled_lines(&self, w: u32, h: u32) -> Vec<Line> {
        let diag = ((w as f32).powi(2) + (h as f32).powi(2)).sqrt();
        self.lines
            .iter()
            .map(|l| Line {
                id: l.id.clone(),
                segment: Segment::new(
                    Point::new(l.from[0] * w as f32, l.from[1] * h as f32),
                    Point::new(l.to[0] * w as f32, l.to[1] * h as f32),
                ),
                hysteresis_px: l.hysteresis.unwrap_or(0.01) * diag,
            })
            .collect()
    }
}
