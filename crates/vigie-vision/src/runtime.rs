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

/// Opens an ONNX Runtime session on `model` with Vigie's usual settings (those of [`Detector`](crate::Detector)):
/// full graph optimisation, `intra_threads` intra-op threads (0 lets ONNX Runtime pick), no spinning. `what` names
/// the model in errors ("text detection model").
///
/// Errors: [`ErrorKind::NotFound`] when the file does not exist; [`ErrorKind::Model`] when ONNX Runtime is not
/// loaded or cannot load the file.
pub fn open_session(model: &Path, intra_threads: usize, what: &str) -> Result<ort::session::Session> {
    use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
    let env = environment()?;
    if !model.is_file() {
        return Err(err!(NotFound, "{what} {} does not exist", model.display()));
    }
    let opening = || format!("opening {what} {}", model.display());
    let built = |e: ort::Error<SessionBuilder>| Error::wrap(ErrorKind::Model, opening(), ort::Error::<()>::from(e));
    ort::session::Session::builder(env)
        .map_err(|e| Error::wrap(ErrorKind::Model, opening(), e))?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(built)?
        .with_intra_threads(intra_threads)
        .map_err(built)?
        .with_intra_op_spinning(false)
        .map_err(built)?
        .with_inter_op_spinning(false)
        .map_err(built)?
        .commit_from_file(model)
        .map_err(|e| Error::wrap(ErrorKind::Model, opening(), e))
}
