//! Models: the GGUF container, checkpoint conversion, the tokenizer glue (tokenizer.json for
//! BERT, byte-level BPE from GGUF keys for llama), chat templates and the networks themselves
//! (the BERT encoder). Platform-free; model code calls `compute::Backend` ops and
//! never names a backend.

pub mod bert;
pub mod bpe_tokenizer;
pub mod chat_template;
pub mod convert;
pub mod gguf;
pub mod llama;
pub mod sampler;
pub mod template_namespaces;
pub mod tokenizer;
