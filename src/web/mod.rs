//! The wasm-bindgen facade: the only Rust that knows JavaScript types. It converts JS values
//! in, calls the platform-free core, and turns every `AttuneError` into a JS `AttuneError`
//! carrying a stable `code`. Nothing reachable from JS may panic.

mod args;
mod core;
mod embedder;
mod error;
mod profile_view;

pub use core::AttuneCore;
pub use embedder::Embedder;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: route Rust panics (bugs) to the console.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
