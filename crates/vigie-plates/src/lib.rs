//! Vigie plates: licence-plate reading (LAPI) and the lawful parking pre-check.
//!
//! # Layout
//! - [`grammar`]: normalisation, plate formats (French SIV and FNI, generic EU), repair of OCR confusions, and the
//!   choice of a text from per-character probabilities. Pure.
//! - [`read`]: [`PlateReader`], from an image to [`PlateRead`]s (NanoDet vehicles, PP-OCRv6 text detection and
//!   recognition, grammar).
//! - [`mod@vote`]: [`vote()`] combines the reads of one vehicle track into one. Pure.
//! - [`eval`]: ground-truth files and the accuracy measure used by the regression test and `vigie plates bench`.
//! - [`parking`]: the parking pre-check.
//! - [`tracks`]: the plates read on vehicle tracks during `vigie analyze`, in their own database file.
//!
//! # Example
//! ```no_run
//! # fn main() -> vigie_core::Result<()> {
//! use vigie_plates::{PlateReader, ReaderConfig};
//! vigie_vision::init_runtime(std::path::Path::new(".cache/vigie/lib/libonnxruntime.so.1.32.0"))?;
//! let mut reader = PlateReader::new(&ReaderConfig::with_root(std::path::Path::new(".")))?;
//! for p in reader.read_image_file(std::path::Path::new("car.jpg"))? {
//!     println!("{} {:.2} {:?}", p.text, p.confidence, p.bbox);
//! }
//! # Ok(())
//! # }
//! ```

pub mod eval;
pub mod grammar;
pub mod parking;
pub mod read;
pub mod stage;
pub mod tracks;
pub mod vote;

pub use grammar::PlateFormat;
pub use read::{PlateRead, PlateReader, ReaderConfig, load_image};
pub use tracks::{TrackPlate, TrackPlateStore, plate_glob};
pub use vote::vote;
