//! The YOLOX and YOLOv8 paths of [`Detector`] end to end, on tiny ONNX models written here: one input
//! `[1, 3, 64, 64]` and one constant output that holds hand-placed boxes. They check output validation, the
//! raw/decoded YOLOX decision, letterbox placement (top-left vs centred) and the mapping back to source pixels.

mod common;

use std::path::PathBuf;
use vigie_core::{BBox, ClassId, ErrorKind, RgbFrame, Time90k};
use vigie_vision::{Detector, DetectorConfig, DetectorKind};

use common::onnx::{Pb, value_info};

/// A model with input `images` `[1, 3, 64, 64]` and output `out` = the constant `data` of shape `dims`.
fn constant_model(name: &str, dims: &[i64], data: &[f32]) -> PathBuf {
    assert_eq!(dims.iter().product::<i64>() as usize, data.len());
    let mut t = Pb::default();
    for &d in dims {
        t.int(1, d as u64);
    }
    let raw: Vec<u8> = data.iter().flat_map(|f| f.to_le_bytes()).collect();
    t.int(2, 1).bytes(9, &raw); // data_type FLOAT, raw_data
    let mut attr = Pb::default();
    attr.bytes(1, b"value").msg(5, &t).int(20, 4); // type TENSOR
    let mut node = Pb::default();
    node.bytes(2, b"out")
        .bytes(3, b"const")
        .bytes(4, b"Constant")
        .msg(5, &attr);
    let mut graph = Pb::default();
    graph
        .msg(1, &node)
        .bytes(2, b"synthetic")
        .msg(11, &value_info("images", &[1, 3, 64, 64]))
        .msg(12, &value_info("out", dims));
    let mut opset = Pb::default();
    opset.bytes(1, b"").int(2, 13);
    let mut model = Pb::default();
    model.int(1, 8).bytes(2, b"vigie-test").msg(8, &opset).msg(7, &graph);
    let dir = std::env::temp_dir().join(format!("vigie-vision-synthetic-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, &model.0).unwrap();
    p
}

fn cfg(kind: DetectorKind, model: PathBuf) -> DetectorConfig {
    let mut c = DetectorConfig::nanodet_default(model);
    c.kind = kind;
    c.input_width = 64;
    c.input_height = 64;
    c.labels = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    c.classes = vec!["a".into(), "c".into()];
    c
}

fn gray(w: u32, h: u32) -> RgbFrame {
    RgbFrame {
        width: w,
        height: h,
        data: vec![128; (w * h * 3) as usize],
        pts: Time90k(0),
        index: 0,
    }
}

fn assert_box(b: BBox, e: [f32; 4]) {
    let a: [f32; 4] = b.into();
    assert!(
        a.iter().zip(e.iter()).all(|(x, y)| (x - y).abs() < 1e-3),
        "{a:?} != {e:?}"
    );
}

/// Channel-major `[4 + 3, n]` from anchors `(cx, cy, w, h, [a, b, c])`.
fn yolov8_data(anchors: &[([f32; 4], [f32; 3])]) -> Vec<f32> {
    let n = anchors.len();
    let mut d = vec![0f32; 7 * n];
    for (i, (b, s)) in anchors.iter().enumerate() {
        for k in 0..4 {
            d[k * n + i] = b[k];
        }
        for k in 0..3 {
            d[(4 + k) * n + i] = s[k];
        }
    }
    d
}

#[test]
fn yolov8_end_to_end_with_centred_letterbox() {
    common::init();
    let anchors = [
        ([32.0, 32.0, 16.0, 16.0], [0.9, 0.0, 0.0]), // a
        ([32.0, 32.0, 16.0, 16.0], [0.0, 0.0, 0.8]), // c, same box: another class, kept
        ([33.0, 32.0, 16.0, 16.0], [0.7, 0.0, 0.0]), // a, overlaps the first: suppressed
        ([10.0, 20.0, 8.0, 8.0], [0.0, 0.95, 0.0]),  // b: not kept
        ([50.0, 20.0, 8.0, 8.0], [0.3, 0.0, 0.2]),   // under 0.35
        ([60.0, 50.0, 8.0, 8.0], [0.5, 0.0, 0.0]),   // a, far away: kept
    ];
    let model = constant_model("yolov8.onnx", &[1, 7, anchors.len() as i64], &yolov8_data(&anchors));
    let mut det = Detector::new(&cfg(DetectorKind::Yolov8, model)).unwrap();
    assert_eq!(det.input_size(), (64, 64));
    // 128x96 -> 64x48 centred: scale 0.5, pad_y 8.
    let d = det.detect(&gray(128, 96)).unwrap();
    assert_eq!(d.scores, vec![0.9, 0.8, 0.5]);
    assert_eq!(d.class_ids, vec![ClassId(0), ClassId(2), ClassId(0)]);
    assert_box(d.boxes[0], [48.0, 32.0, 80.0, 64.0]);
    assert_box(d.boxes[1], [48.0, 32.0, 80.0, 64.0]);
    // (56, 46, 64, 54) -> (112, 76, 128, 92).
    assert_box(d.boxes[2], [112.0, 76.0, 128.0, 92.0]);
    assert!(det.last_inference() > std::time::Duration::ZERO);
    assert_eq!(det.bench_inference(3).unwrap().len(), 3);

    // Four labels for a three-class output: a model error that says what it expected.
    let mut c = cfg(
        DetectorKind::Yolov8,
        constant_model("yolov8b.onnx", &[1, 7, 1], &[0.0; 7]),
    );
    c.labels.push("d".into());
    let e = Detector::new(&c).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(
        e.to_string().contains("[1, 8, N]") && e.to_string().contains("out"),
        "{e}"
    );
}

/// Raw YOLOX rows over a 64x64 input: 8x8 + 4x4 + 2x2 = 84 points of 5 + 3 values, background rows at the cell
/// centre with objectness 0.
fn yolox_raw() -> Vec<f32> {
    let mut d = Vec::with_capacity(84 * 8);
    for _ in 0..84 {
        d.extend_from_slice(&[0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
    // Point 9: stride 8, gx 1, gy 1; cx = (0.5 + 1) * 8 = 12, cy = 12, w = e^1 * 8, h = 8. Class c, 0.9 * 0.9.
    d[9 * 8..10 * 8].copy_from_slice(&[0.5, 0.5, 1.0, 0.0, 0.9, 0.1, 0.0, 0.9]);
    // Point 64 + 5: stride 16, gx 1, gy 1; cx = cy = 24, 16x16. Class b only: not kept.
    d[69 * 8..70 * 8].copy_from_slice(&[0.5, 0.5, 0.0, 0.0, 0.99, 0.0, 0.99, 0.0]);
    d
}

#[test]
fn yolox_raw_and_decoded_end_to_end_with_top_left_letterbox() {
    common::init();
    let w = 1f32.exp() * 8.0;
    // 128x96 -> 64x48 at the top-left: scale 0.5, no offset.
    let expect = [2.0 * (12.0 - w / 2.0), 2.0 * 8.0, 2.0 * (12.0 + w / 2.0), 2.0 * 16.0];

    let raw = yolox_raw();
    let mut det = Detector::new(&cfg(
        DetectorKind::Yolox,
        constant_model("yolox-raw.onnx", &[1, 84, 8], &raw),
    ))
    .unwrap();
    let d = det.detect(&gray(128, 96)).unwrap();
    assert_eq!(d.class_ids, vec![ClassId(2)]);
    assert!((d.scores[0] - 0.81).abs() < 1e-6);
    assert_box(d.boxes[0], expect);

    // The same boxes decoded in the graph (YOLOX `decode_in_inference`).
    let mut dec = raw.clone();
    let mut i = 0;
    for s in [8f32, 16.0, 32.0] {
        let g = (64.0 / s) as usize;
        for gy in 0..g {
            for gx in 0..g {
                let r = &mut dec[i * 8..i * 8 + 4];
                r[0] = (r[0] + gx as f32) * s;
                r[1] = (r[1] + gy as f32) * s;
                r[2] = r[2].exp() * s;
                r[3] = r[3].exp() * s;
                i += 1;
            }
        }
    }
    let mut det = Detector::new(&cfg(
        DetectorKind::Yolox,
        constant_model("yolox-dec.onnx", &[1, 84, 8], &dec),
    ))
    .unwrap();
    let d = det.detect(&gray(128, 96)).unwrap();
    assert_eq!(d.class_ids, vec![ClassId(2)]);
    assert_box(d.boxes[0], expect);

    // A row count that is not the 64x64 grid's: taken as decoded.
    let few = &dec[9 * 8..10 * 8];
    let mut det = Detector::new(&cfg(
        DetectorKind::Yolox,
        constant_model("yolox-few.onnx", &[1, 1, 8], few),
    ))
    .unwrap();
    let d = det.detect(&gray(128, 96)).unwrap();
    assert_box(d.boxes[0], expect);

    // A YOLOX model loaded as NanoDet says what NanoDet needs.
    let e = Detector::new(&cfg(
        DetectorKind::NanoDet,
        constant_model("yolox-raw2.onnx", &[1, 84, 8], &raw),
    ))
    .err()
    .unwrap();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(
        e.to_string().contains("NanoDet") && e.to_string().contains("six float32 outputs"),
        "{e}"
    );
}
