//! Checkpoint conversion to GGUF, platform-free: bytes and JSON text in, GGUF bytes out.
//!
//! [`convert_bert`] turns a sentence-transformers BERT checkpoint (all-MiniLM-L6-v2 and its
//! kin) into a GGUF file with the tensor names and metadata keys of llama.cpp's `bert`
//! architecture, so the same loader reads our files and llama.cpp's.

mod bert;
mod tokenizer;

pub use bert::{convert_bert, BertCheckpoint, OutType};

#[cfg(test)]
mod tests;
