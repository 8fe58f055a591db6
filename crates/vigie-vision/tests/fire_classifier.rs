//! [`FireClassifier`] end to end on a tiny ONNX classifier written here (none ships: see models.md): input
//! `[1, 3, 16, 16]`, output `[1, 3]` = the mean of each input channel (`ReduceMean` over H and W), so "class 0"
//! scores how red the image is. Checks loading, input validation, normalisation, softmax and tiles.

mod common;

use std::path::PathBuf;
use vigie_core::{ErrorKind, RgbFrame, Time90k};
use vigie_vision::fire::FireClassifierConfig;
use vigie_vision::{ChannelOrder, FireClassifier, InputFormat, Pad};

use common::onnx::{Pb, value_info};

/// `out = ReduceMean(images, axes = [2, 3], keepdims = 0)`: `[1, 3, s, s]` → `[1, 3]`.
fn channel_mean_model(s: i64) -> PathBuf {
    let mut axes = Pb::default();
    axes.bytes(1, b"axes").int(20, 7); // INTS
    axes.int(8, 2).int(8, 3);
    let mut keep = Pb::default();
    keep.bytes(1, b"keepdims").int(20, 2).int(3, 0); // INT 0
    let mut node = Pb::default();
    node.bytes(1, b"images")
        .bytes(2, b"out")
        .bytes(3, b"mean")
        .bytes(4, b"ReduceMean")
        .msg(5, &axes)
        .msg(5, &keep);
    let mut graph = Pb::default();
    graph
        .msg(1, &node)
        .bytes(2, b"channel-mean")
        .msg(11, &value_info("images", &[1, 3, s, s]))
        .msg(12, &value_info("out", &[1, 3]));
    let mut opset = Pb::default();
    opset.bytes(1, b"").int(2, 13);
    let mut model = Pb::default();
    model.int(1, 8).bytes(2, b"vigie-test").msg(8, &opset).msg(7, &graph);
    let dir = std::env::temp_dir().join(format!("vigie-fire-classifier-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // One file per call: the tests run in parallel threads of one process.
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = dir.join(format!("mean{s}-{n}.onnx"));
    std::fs::write(&p, &model.0).unwrap();
    p
}

/// 32x32: the left half red, the right half grey.
fn half_red() -> RgbFrame {
    let mut data = Vec::new();
    for _y in 0..32 {
        for x in 0..32 {
            data.extend_from_slice(if x < 16 { &[255, 0, 0] } else { &[128, 128, 128] });
        }
    }
    RgbFrame {
        width: 32,
        height: 32,
        data,
        pts: Time90k(0),
        index: 0,
    }
}

fn cfg(model: PathBuf) -> FireClassifierConfig {
    let mut c = FireClassifierConfig::new(model, 16, 16, 0);
    // RGB / 255, no padding since the tiles are square like the input.
    c.format = InputFormat::with_pad_pixel(ChannelOrder::Rgb, [0.0; 3], [255.0; 3], Pad::Center, 0);
    c.softmax = false;
    c
}

#[test]
fn scores_the_frame_and_its_tiles() {
    common::init();
    let model = channel_mean_model(16);
    let mut c = cfg(model.clone());
    c.tiles = 2;
    let mut fc = FireClassifier::with_config(c).unwrap();
    let r = fc.classify(&half_red()).unwrap();
    assert_eq!(r.len(), 5, "{r:?}");
    // Whole frame: mean red (255 + 128) / 2 / 255.
    assert!((r[0].score - 0.751).abs() < 0.01, "{r:?}");
    assert_eq!(<[f32; 4]>::from(r[0].bbox), [0.0, 0.0, 32.0, 32.0]);
    // Tiles row by row: left ones red, right ones grey.
    let s: Vec<f32> = r[1..].iter().map(|t| t.score).collect();
    assert!(s[0] > 0.99 && s[2] > 0.99, "{s:?}");
    assert!((s[1] - 0.502).abs() < 0.01 && (s[3] - 0.502).abs() < 0.01, "{s:?}");
    assert_eq!(<[f32; 4]>::from(r[2].bbox), [16.0, 0.0, 32.0, 16.0]);

    // Softmax over the three "logits": a red tile gives e / (e + 2).
    let mut c = cfg(model.clone());
    c.softmax = true;
    c.tiles = 2;
    let mut fc = FireClassifier::with_config(c).unwrap();
    let r = fc.classify(&half_red()).unwrap();
    let e = std::f32::consts::E;
    assert!((r[1].score - e / (e + 2.0)).abs() < 0.01, "{r:?}");
    assert!((r[2].score - 1.0 / 3.0).abs() < 0.01, "{r:?}");

    // The plain constructor: ImageNet normalisation and softmax by default.
    let mut fc = FireClassifier::new(&model, 16, 16, 0).unwrap();
    let r = fc.classify(&half_red()).unwrap();
    assert_eq!(r.len(), 1);
    assert!(r[0].score > 0.0 && r[0].score <= 1.0);
}

#[test]
fn wrong_models_and_settings_are_clear_errors() {
    common::init();
    // Input size that the model does not have.
    let e = FireClassifier::new(&channel_mean_model(16), 32, 32, 0).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.to_string().contains("[1, 3, 32, 32]"), "{e}");
    // A class the output does not have: found when classifying.
    let mut fc = FireClassifier::with_config(FireClassifierConfig {
        class_index: 5,
        ..cfg(channel_mean_model(16))
    })
    .unwrap();
    let e = fc.classify(&half_red()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.to_string().contains("no class 5"), "{e}");
    // Missing file, bad tiles.
    let e = FireClassifier::new(std::path::Path::new("/nonexistent/fire.onnx"), 16, 16, 0)
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = FireClassifier::with_config(FireClassifierConfig {
        tiles: 0,
        ..cfg(channel_mean_model(16))
    })
    .err()
    .unwrap();
    assert_eq!(e.kind(), ErrorKind::Config);
}
