//! The wasm-bindgen facade: the only Rust that knows JavaScript types. It converts JS values
//! in, calls the platform-free core, and turns every `AttuneError` into a JS `AttuneError`
//! carrying a stable `code`. Nothing reachable from JS may panic.
//!
//! Only the wasm build has the facade itself; [`args`] (the JSON arguments of `AttuneCore`) and
//! [`chat_args`] (the `Assistant`'s) are platform-free and built natively too, where their tests
//! and the fuzz target `facade_args` run.

#[cfg(target_arch = "wasm32")]
mod error;

#[cfg(feature = "web-core")]
pub mod args;
#[cfg(all(target_arch = "wasm32", feature = "web-core"))]
mod core;
#[cfg(all(target_arch = "wasm32", feature = "web-core"))]
mod embedder;
#[cfg(all(target_arch = "wasm32", feature = "web-core"))]
mod profile_view;
#[cfg(all(target_arch = "wasm32", feature = "web-core"))]
mod web_store;
#[cfg(all(target_arch = "wasm32", feature = "web-core"))]
pub use self::{core::AttuneCore, embedder::Embedder};

#[cfg(all(target_arch = "wasm32", feature = "web-core", feature = "threads"))]
mod threads;

#[cfg(all(target_arch = "wasm32", feature = "web-chat"))]
mod assistant;
#[cfg(feature = "web-chat")]
pub mod chat_args;
#[cfg(all(target_arch = "wasm32", feature = "web-chat"))]
mod reply_stream;
#[cfg(all(target_arch = "wasm32", feature = "web-chat"))]
mod yield_now;
#[cfg(all(target_arch = "wasm32", feature = "web-chat"))]
pub use self::{assistant::Assistant, reply_stream::ReplyStream};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: route Rust panics (bugs) to the console.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}
