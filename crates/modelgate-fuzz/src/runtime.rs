//! One current-thread tokio runtime for the targets whose APIs are async
//! (store setup, federation), built once per process.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

/// The process's runtime.
pub(crate) fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(
        || match Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt,
            // No input reaches this: the fuzz process cannot run without it.
            Err(e) => panic!("cannot build a tokio runtime: {e}"),
        },
    )
}

/// Runs `future` to completion.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    runtime().block_on(future)
}
