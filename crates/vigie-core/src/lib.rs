//! Core types shared by every Vigie crate. No I/O happens here.
//!
//! # Layout
//! - [`error`]: the one error type, [`Error`], carrying an [`ErrorKind`]; kinds map to exit codes here and to
//!   HTTP statuses in the server.
//! - [`geom`]: boxes and points in source-pixel coordinates, IoU.
//! - [`class`]: COCO-80 class table and the set of classes Vigie keeps.
//! - [`detect`]: raw detections as a struct of arrays ([`Detections`]).
//! - [`track`]: track ids and tracked objects ([`TrackedObject`], `Option<TrackId>` never sentinels).
//! - [`frame`]: decoded RGB frames with their media time.
//! - [`mask`]: privacy masks (polygons filled in every frame shown, exported or recorded).
//! - [`time`]: media time in 90 kHz units.
//! - [`media`]: encoded frames (AVCC/HVCC samples) and stream parameters, shared by sources, recorder, decoder.

pub mod class;
pub mod detect;
pub mod error;
pub mod frame;
pub mod geom;
pub mod mask;
pub mod media;
pub mod time;
pub mod track;

pub use class::{COCO80, ClassId, ClassSet};
pub use detect::Detections;
pub use error::{Error, ErrorKind, Result, ResultExt};
pub use frame::RgbFrame;
pub use geom::{BBox, Point, Polygon, Segment};
pub use mask::{MASK_FILL, MaskConfig, PrivacyMasks};
pub use media::{CameraState, EncodedFrame, StreamParams, VideoCodec};
pub use time::Time90k;
pub use track::{TrackId, TrackSummary, TrackedObject};
