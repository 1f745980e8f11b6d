//! Attune: on-device personalization. The layers (README.md, "What is here"):
//! `web` (wasm-bindgen facade) over platform-free `session` (the flows), `personalize`,
//! `assistant`, `profile`, `store`, `embedding` (cached and scored vectors), `model` and
//! `compute`, over `quant`.

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

pub mod web;

pub use error::{AttuneError, Result};
