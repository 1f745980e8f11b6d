//! Checkpoint conversion to GGUF (in progress).
