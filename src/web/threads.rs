//! The threads of the threaded core module (`threads` feature, built with wasm atomics): pool
//! threads in Web Workers sharing this module's memory (src/compute/cpu/parallel.rs). The JS
//! runtime (pkg-template/core.js) starts `n - 1` workers; each instantiates the module on the
//! shared memory, says so, and calls [`thread_run`]. Once all have said so, the runtime calls
//! [`threads_start`] and matmuls split across them and the calling thread. A worker that failed
//! to load is never waited for: the pool only counts on threads once all run.

use crate::compute::cpu::parallel;
use wasm_bindgen::prelude::*;

/// In a thread worker: runs a pool thread (never returns).
#[wasm_bindgen(js_name = threadRun)]
pub fn thread_run() {
    parallel::run_pool_thread();
}

/// `n - 1` workers run [`thread_run`]: split matmuls across `n` threads from now on.
#[wasm_bindgen(js_name = threadsStart)]
pub fn threads_start(n: usize) {
    parallel::set_threads(n);
}
