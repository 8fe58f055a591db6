//! Vigie vision: ONNX Runtime sessions, letterbox, detector decoders (NanoDet, YOLOX, YOLOv8), class-wise NMS.
//!
//! # Layout
//! - [`runtime`]: [`init_runtime`] loads ONNX Runtime from its shared library, once per process.
//! - [`letterbox`]: [`Letterbox`] geometry between source frames and model inputs, [`Pad`] placement.
//! - [`preprocess`]: [`Preprocessor`], one fused pass from packed RGB24 to a normalised NCHW `f32` tensor.
//! - [`decode`]: pure decoders over output slices (NanoDet GFL, YOLOX, YOLOv8), in model coordinates.
//! - [`nms`]: class-wise non-maximum suppression, [`nms_classwise`].
//! - [`detector`]: [`Detector`], which ties them together around one ONNX Runtime session.
//! - [`pose`]: [`PoseEstimator`], MoveNet MultiPose on person crops: the body axis for "person on the ground".
//! - [`fire`]: [`FireBaseline`] (flame colour that moves and flickers) and [`FireClassifier`] (a user's ONNX
//!   image classifier) for "fire start".
//!
//! # Example
//! ```no_run
//! # fn main() -> vigie_core::Result<()> {
//! use vigie_vision::{Detector, DetectorConfig, init_runtime};
//! init_runtime(std::path::Path::new(".cache/vigie/lib/libonnxruntime.so.1.32.0"))?;
//! let mut det = Detector::new(&DetectorConfig::nanodet_default("models/nanodet.onnx".into()))?;
//! # let frame: vigie_core::RgbFrame = unimplemented!();
//! let dets = det.detect(&frame)?;
//! for i in 0..dets.len() {
//!     println!("{} {:.2} {:?}", det.class_set().name(dets.class_ids[i]), dets.scores[i], dets.boxes[i]);
//! }
//! # Ok(())
//! # }
//! ```

pub mod colour;
pub mod decode;
pub mod detector;
pub mod fire;
pub mod letterbox;
pub mod nms;
pub mod pose;
pub mod preprocess;
pub mod runtime;

pub use colour::{Colour, VEHICLE_CLASSES, vehicle_colour};
pub use decode::{
    DecodeParams, GflLevel, decode_gfl, decode_nanodet, decode_yolov8, decode_yolox, yolox_looks_decoded,
};
pub use detector::{Detector, DetectorConfig, DetectorKind, MAX_CANDIDATES, Relabel};
pub use fire::{FireBaseline, FireBaselineConfig, FireClassifier, FireRegion};
pub use letterbox::{Letterbox, Pad};
pub use nms::nms_classwise;
pub use pose::{BodyPose, PoseConfig, PoseEstimator, worth_checking};
pub use preprocess::{ChannelOrder, InputFormat, Preprocessor};
pub use runtime::{init_runtime, open_session};
