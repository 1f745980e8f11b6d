//! Attune: on-device personalization. See DESIGN.md for the layer map:
//! `web` (wasm-bindgen facade) over platform-free `session` (the flows), `profile`, `store`,
//! `model` and `compute`, over `quant`.

pub mod assistant;
pub mod compute;
pub mod embedding;
pub mod error;
pub mod model;
pub mod personalize;
pub mod profile;
pub mod quant;
pub mod session;
pub mod store;

#[cfg(target_arch = "wasm32")]
pub mod web;

pub use error::{AttuneError, Result};
