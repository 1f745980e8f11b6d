//! The wasm-bindgen facade: the only Rust that knows JavaScript types. It converts JS values
//! in, calls the platform-free core, and turns every `AttuneError` into a JS `AttuneError`
//! carrying a stable `code`. Nothing reachable from JS may panic.

mod args;
mod assistant;
mod chat_args;
mod core;
mod embedder;
mod error;
mod profile_view;
mod reply_stream;
mod yield_now;

pub use self::core::AttuneCore;
pub use assistant::Assistant;
pub use embedder::Embedder;
pub use reply_stream::ReplyStream;

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: route Rust panics (bugs) to the console.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
