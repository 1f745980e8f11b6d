//! Item embeddings in the form they are cached, shipped and scored in: Q8_0 rows (a 384-wide
//! MiniLM vector is 408 bytes, against 1 536 as f32), keyed by model and content hash. Platform-
//! free: the stores (`crate::store`) persist [`CompactVector`]s, the session keeps an
//! [`EmbeddingTable`] in front of them, ranking scores an [`ItemMatrix`] with the CPU backend's
//! quantized matmul, and a site's precomputed vectors arrive as a [`Catalog`] file.

pub mod catalog;
pub mod compact;
pub mod key;
pub mod matrix;
pub mod table;

#[cfg(test)]
mod tests;

pub use catalog::Catalog;
pub use compact::CompactVector;
pub use key::{CacheKey, KeyMemo};
pub use matrix::ItemMatrix;
pub use table::{CacheStats, EmbeddingTable, DEFAULT_BUDGET_BYTES};
