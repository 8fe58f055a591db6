//! The two PP-OCR sessions: text detection (DB) and text recognition (CTC), with their pre-processing as RapidOCR
//! 3.10 does it for PP-OCRv6 (BGR input, `(p / 255 - 0.5) / 0.5`).

use super::ctc::{self, Line, Vocab};
use super::db::{self, DbParams, TextBox};
use super::image::{Rgb, warp_quad};
use ort::session::Session;
use ort::value::Tensor;
use std::path::{Path, PathBuf};
use vigie_core::{Error, ErrorKind, Point, Result, bail, err};

fn ort_err(kind: ErrorKind, msg: impl FnOnce() -> String) -> impl FnOnce(ort::Error) -> Error {
    move |e| Error::wrap(kind, msg(), e)
}

/// Text detection: DB on PP-OCRv6's detection model.
pub struct TextDetector {
    session: Session,
    model: PathBuf,
    pub params: DbParams,
}

impl TextDetector {
    pub fn new(model: &Path, threads: usize, params: DbParams) -> Result<Self> {
        let session = vigie_vision::open_session(model, threads, "text detection model")?;
        let ok = session.inputs().len() == 1 && session.outputs().len() == 1;
        if !ok {
            bail!(
                Model,
                "{} is not a DB text detector: expected one input [N,3,H,W] and one output [N,1,H,W]",
                model.display()
            );
        }
        Ok(TextDetector {
            session,
            model: model.to_path_buf(),
            params,
        })
    }

    /// Text boxes in `img` (its pixel coordinates), by descending score. The image is resized to `in_w x in_h`
    /// (multiples of 32) for the model.
    pub fn detect(&mut self, img: Rgb<'_>, in_w: u32, in_h: u32) -> Result<Vec<TextBox>> {
        if in_w == 0 || in_h == 0 || !in_w.is_multiple_of(32) || !in_h.is_multiple_of(32) {
            bail!(
                InvalidArgument,
                "text detection input {in_w}x{in_h}: not positive multiples of 32"
            );
        }
        let (w, h) = (in_w as usize, in_h as usize);
        let mut data = vec![0f32; 3 * w * h];
        super::image::resize_into_bgr_planes(img, w, h, &mut data, |p| p / 127.5 - 1.0);
        let input = Tensor::from_array(([1usize, 3, h, w], data)).map_err(ort_err(ErrorKind::Internal, || {
            "building the text detection input".into()
        }))?;
        let out = self
            .session
            .run(ort::inputs![input])
            .map_err(ort_err(ErrorKind::Model, || {
                format!("running {}", self.model.display())
            }))?;
        let (shape, prob) = out[0]
            .try_extract_tensor::<f32>()
            .map_err(ort_err(ErrorKind::Model, || {
                format!("reading the output of {}", self.model.display())
            }))?;
        if prob.len() != w * h {
            bail!(
                Model,
                "{}: output of shape {shape:?} for an input {w}x{h}, expected [1, 1, {h}, {w}]",
                self.model.display()
            );
        }
        Ok(db::boxes_from_map(
            prob,
            w,
            h,
            img.width as f32,
            img.height as f32,
            &self.params,
        ))
    }
}

/// Text recognition: PP-OCRv6's CTC recogniser, restricted to plate symbols when decoding.
pub struct TextRecognizer {
    session: Session,
    model: PathBuf,
    vocab: Vocab,
    /// Inputs narrower than this are padded (RapidOCR pads to 320 at least). Default 0: no padding.
    pub min_width: u32,
    /// The text box is widened by this share of its height on the left and on the right before recognition
    /// (detection boxes can clip the last character). Default 0.
    pub side_pad: f32,
}

/// Input height of the recogniser.
pub const REC_HEIGHT: u32 = 48;

impl TextRecognizer {
    pub fn new(model: &Path, threads: usize) -> Result<Self> {
        let session = vigie_vision::open_session(model, threads, "text recognition model")?;
        let list = session
            .metadata()
            .map_err(ort_err(ErrorKind::Model, || {
                format!("reading the metadata of {}", model.display())
            }))?
            .custom("character")
            .ok_or_else(|| {
                err!(
                    Model,
                    "{} has no `character` metadata: not a PP-OCR recogniser exported with its dictionary",
                    model.display()
                )
            })?;
        let vocab = Vocab::from_character_list(&list);
        if vocab.symbol_classes() < 36 {
            bail!(
                Model,
                "{}: its character list has only {} classes for the 36 plate symbols",
                model.display(),
                vocab.symbol_classes()
            );
        }
        let out_shape = session
            .outputs()
            .first()
            .and_then(|o| o.dtype().tensor_shape().map(|s| s.to_vec()))
            .unwrap_or_default();
        if out_shape.len() == 3 && out_shape[2] > 0 && out_shape[2] as usize != vocab.len() {
            bail!(
                Model,
                "{}: {} output classes but {} in its character list (+ blank and space)",
                model.display(),
                out_shape[2],
                vocab.len()
            );
        }
        Ok(TextRecognizer {
            session,
            model: model.to_path_buf(),
            vocab,
            min_width: 0,
            side_pad: 0.0,
        })
    }

    /// Recognises the text inside `quad` (corners top-left, top-right, bottom-right, bottom-left) of `img`.
    pub fn recognize(&mut self, img: Rgb<'_>, quad: &[Point; 4]) -> Result<Line> {
        let bh = dist(quad[0], quad[3]).max(dist(quad[1], quad[2]));
        let quad = &widen(quad, self.side_pad * bh);
        let bw = dist(quad[0], quad[1]).max(dist(quad[3], quad[2]));
        if bw < 1.0 || bh < 1.0 {
            return Ok(Line::default());
        }
        let h = REC_HEIGHT as usize;
        let out_w = ((REC_HEIGHT as f32 * bw / bh).ceil() as usize).clamp(8, 48 * 20);
        let w = out_w.max(self.min_width as usize);
        let mut data = vec![0f32; 3 * h * w];
        warp_quad(img, quad, out_w, h, w, &mut data, |p| p / 127.5 - 1.0);
        let input = Tensor::from_array(([1usize, 3, h, w], data)).map_err(ort_err(ErrorKind::Internal, || {
            "building the text recognition input".into()
        }))?;
        let out = self
            .session
            .run(ort::inputs![&input])
            .map_err(ort_err(ErrorKind::Model, || {
                format!("running {}", self.model.display())
            }))?;
        let (shape, probs) = out[0]
            .try_extract_tensor::<f32>()
            .map_err(ort_err(ErrorKind::Model, || {
                format!("reading the output of {}", self.model.display())
            }))?;
        if shape.len() != 3 || shape[2] as usize != self.vocab.len() {
            bail!(
                Model,
                "{}: output of shape {shape:?}, expected [1, T, {}]",
                self.model.display(),
                self.vocab.len()
            );
        }
        Ok(ctc::decode(&self.vocab, probs, shape[1] as usize))
    }
}

/// `quad` lengthened by `d` at both ends, along the mean direction of its top and bottom sides.
fn widen(q: &[Point; 4], d: f32) -> [Point; 4] {
    let (ux, uy) = (q[1].x - q[0].x + q[2].x - q[3].x, q[1].y - q[0].y + q[2].y - q[3].y);
    let len = (ux * ux + uy * uy).sqrt();
    if d == 0.0 || len < 1e-6 {
        return *q;
    }
    let (dx, dy) = (ux / len * d, uy / len * d);
    let m = |p: Point, s: f32| Point {
        x: p.x + s * dx,
        y: p.y + s * dy,
    };
    [m(q[0], -1.0), m(q[1], 1.0), m(q[2], 1.0), m(q[3], -1.0)]
}

fn dist(a: Point, b: Point) -> f32 {
    ((a.x - b.x).powi(2) + (a.y - b.y).powi(2)).sqrt()
}
