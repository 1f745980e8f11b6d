//! The wasm-bindgen facade: the only Rust that knows JavaScript types. It converts JS values
//! in, calls the platform-free core, and turns every `AttuneError` into a JS `AttuneError`
//! carrying a stable `code`. Nothing reachable from JS may panic.

mod error;

#[cfg(feature = "web-core")]
mod args;
#[cfg(feature = "web-core")]
mod core;
#[cfg(feature = "web-core")]
mod embedder;
#[cfg(feature = "web-core")]
mod profile_view;
#[cfg(feature = "web-core")]
mod web_store;
#[cfg(feature = "web-core")]
pub use self::{core::AttuneCore, embedder::Embedder};

#[cfg(feature = "web-chat")]
mod assistant;
#[cfg(feature = "web-chat")]
mod chat_args;
#[cfg(feature = "web-chat")]
mod reply_stream;
#[cfg(feature = "web-chat")]
mod yield_now;
#[cfg(feature = "web-chat")]
pub use self::{assistant::Assistant, reply_stream::ReplyStream};

use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: route Rust panics (bugs) to the console.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
