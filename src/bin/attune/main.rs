//! `attune`: the native command line: convert checkpoints to GGUF, embed text, benchmark.

#[cfg(not(target_arch = "wasm32"))]
mod cli;

#[cfg(not(target_arch = "wasm32"))]
fn main() -> std::process::ExitCode {
    cli::main()
}

// The CLI is native only. Cargo still builds every binary when it builds integration tests,
// including for wasm32, so this target needs a `main` there too.
#[cfg(target_arch = "wasm32")]
fn main() {}
