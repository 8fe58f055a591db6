//! Loading ONNX Runtime: its own test binary, since the library can only be loaded once per process.

mod common;

use vigie_core::ErrorKind;
use vigie_vision::{Detector, DetectorConfig, init_runtime};

#[test]
fn init_runtime_errors_then_loads_once() {
    // Before loading, building a detector is a clear error, not a panic inside ort.
    let e = Detector::new(&DetectorConfig::nanodet_default(common::nanodet_model()))
        .err()
        .unwrap();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.to_string().contains("init_runtime"), "{e}");

    let bad = std::path::Path::new("/nonexistent/libonnxruntime.so");
    let e = init_runtime(bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.to_string().contains("/nonexistent/libonnxruntime.so"), "{e}");

    // A file that is not a shared library.
    let not_lib = common::testdata("bus.jpg");
    let e = init_runtime(&not_lib).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Model);
    assert!(e.to_string().contains("bus.jpg"), "{e}");

    init_runtime(&common::ort_lib()).unwrap();
    init_runtime(&common::ort_lib()).unwrap();
    // Idempotent: once loaded, later calls succeed whatever the path.
    init_runtime(bad).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|_| std::thread::spawn(|| init_runtime(&common::ort_lib())))
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    Detector::new(&DetectorConfig::nanodet_default(common::nanodet_model())).unwrap();
}
