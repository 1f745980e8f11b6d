//! Model files and model code: the GGUF container, checkpoint conversion, and (later) the
//! tokenizer glue, the BERT encoder and the Llama decoder. Platform-free: bytes in, bytes out.

pub mod convert;
pub mod gguf;
