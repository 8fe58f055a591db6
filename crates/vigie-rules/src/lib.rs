//! Situation analysis: the lawful event types as deterministic rules over tracks.
//!
//! # Layout
//! - [`config`]: zones, lines and rules of one camera (normalised coordinates, strict).
//! - [`engine`]: [`Engine`]: push a frame's tracked objects ([`FrameInput`]), pull [`Event`]s; line counts.
//! - [`lifecycle`]: conditions → events (start, update, end; minimum duration, release, cooldown).
//! - [`schedule`]: when a rule is active (weekly windows of local time, from each frame's [`WallClock`]).
//! - [`rules`]: one module per rule type.
//! - [`event`]: [`Event`], [`EventKind`] (only the lawful types exist).

pub mod config;
pub mod engine;
pub mod event;
pub mod lifecycle;
pub mod rules;
pub mod schedule;

pub use config::{RuleConfig, RuleType, RulesConfig};
pub use engine::{Engine, FireObs, FrameInput, LineCount, PoseObs, TrackObs};
pub use event::{Event, EventKind, Phase};
pub use schedule::{Schedule, ScheduleConfig, WallClock};
