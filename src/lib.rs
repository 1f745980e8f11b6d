//! Attune: on-device personalization. The layers (README.md, "What is here"):
//! `web` (wasm-bindgen facade) over platform-free `session` (the flows), `personalize`,
//! `assistant`, `profile`, `store`, `embedding` (cached and scored vectors), `model` and
//! `compute`, over `quant`.

// The threaded web build (nightly, for build-std) waits and wakes its pool threads with the
// wasm atomics intrinsics, still unstable in core::arch.
#![cfg_attr(all(target_arch = "wasm32", feature = "threads"), feature(stdarch_wasm_atomic_wait))]
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
