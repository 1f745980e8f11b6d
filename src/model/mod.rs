//! Models: the GGUF container, checkpoint conversion, the tokenizer glue and the networks
//! themselves (the BERT encoder). Platform-free; model code calls `compute::Backend` ops and
//! never names a backend.

pub mod bert;
pub mod convert;
pub mod gguf;
pub mod tokenizer;
