//! Turning a profile into a better page: ranking (scoring parts, filtering, MMR diversity,
//! seeded exploration, reasons), similar items and topic labels. Platform-free and synchronous:
//! the caller brings the embeddings (see `Session::rank`, which embeds through the cache), the
//! profile and the time.

pub mod explore;
pub mod filter;
pub mod mmr;
pub mod options;
pub mod rank;
pub mod reason_texts;
pub mod reasons;
pub mod score;
pub mod similar;
pub mod topics;
mod types;

#[cfg(test)]
mod reasons_tests;
#[cfg(test)]
mod tests;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod proptests;

pub use options::{RankOptions, SimilarOptions, TopicOptions};
pub use rank::rank;
pub use reason_texts::ReasonTexts;
pub use similar::similar;
pub use topics::{Taxonomy, Topic};
pub use types::{Candidate, Ranked, Reason, ReasonKind, SimilarItem};
