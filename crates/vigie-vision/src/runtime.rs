//! The process-wide ONNX Runtime environment, loaded from a shared library (`ort`'s `load-dynamic`).

use std::path::Path;
use std::sync::{Mutex, OnceLock};
use vigie_core::{Error, ErrorKind, err, error::Result};

static ENV: OnceLock<ort::environment::Environment> = OnceLock::new();
static INIT: Mutex<()> = Mutex::new(());

/// Loads ONNX Runtime from `dylib` (e.g. `libonnxruntime.so.1.32.0`) and creates the process-wide environment.
///
/// Idempotent: once a call succeeded, later calls return `Ok(())` whatever their path (ONNX Runtime can only be
/// loaded once per process). A failed load is a [`ErrorKind::Model`] error naming the path, and may be retried with
/// another path.
pub fn init_runtime(dylib: &Path) -> Result<()> {
    if ENV.get().is_some() {
        return Ok(());
    }
    let _guard = INIT.lock().unwrap_or_else(|e| e.into_inner());
    if ENV.get().is_some() {
        return Ok(());
    }
    let what = || format!("loading ONNX Runtime from {}", dylib.display());
    if !dylib.is_file() {
        return Err(err!(Model, "{}: no such file", what()));
    }
    let builder = ort::init_from(dylib).map_err(|e| Error::wrap(ErrorKind::Model, what(), e))?;
    let env = builder
        .with_name("vigie")
        .with_telemetry(false)
        .build()
        .map_err(|e| Error::wrap(ErrorKind::Model, what(), e))?;
    let _ = ENV.set(env);
    Ok(())
}

/// The environment created by [`init_runtime`], or a [`ErrorKind::Model`] error when it has not run: no `ort` API
/// may be touched before, since the library is not loaded yet.
pub(crate) fn environment() -> Result<&'static ort::environment::Environment> {
    ENV.get().ok_or_else(|| {
        err!(
            Model,
            "ONNX Runtime is not loaded: call vigie_vision::init_runtime with the path of libonnxruntime first"
        )
    })
}
