//! Subcommand dispatch and the pieces every subcommand shares.

mod bench;
mod bench_kernels;
mod catalog;
mod chat;
mod convert;
mod embed;
mod eval;
mod rank;

use attune::compute::device::DeviceChoice;
use attune::model::bert::Encoder;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
attune: on-device personalization, native tools

USAGE:
  attune convert --model-dir DIR --type f32|f16|q8_0|q4_0 --out FILE.gguf
      sentence-transformers BERT checkpoint (model.safetensors, config.json,
      tokenizer.json) -> GGUF with llama.cpp's `bert` names
  attune embed --model FILE.gguf [--device auto|gpu|cpu] [--] [TEXT...]
      one JSON array per text; with no TEXT, one text per stdin line. --device
      (default auto): the GPU if it passes a self-test, else the CPU; the choice
      and the reason for any fallback go to stderr
  attune bench [--models-dir DIR] [--types q8_0,f16,q4_0,f32] [--corpus FILE]
               [--devices cpu,gpu] [--out FILE.json]
      sentences per second at batch 1 and 32 per quant type and device, as JSON
      (on the GPU with the submissions, dispatches and readbacks per call)
  attune bench-kernels [--types q8_0,q4_0,...] [--rows 16,512] [--ms 1500] [--out FILE.json]
      GPU profile: milliseconds per kernel on the models' shapes, one op per
      submission, waited for (median), as JSON
  attune chat --model FILE.gguf [--system TEXT] [--max-tokens N] [--temperature T]
              [--seed S] [--top-k K] [--top-p P] [--repeat-penalty R] [--stop TEXT]...
              [--raw] [--device auto|gpu|cpu] PROMPT
      a reply from a local chat model (SmolLM2 GGUF), streamed to stdout; greedy
      unless --temperature > 0; --raw continues PROMPT without the chat template
  attune bench-chat --model FILE.gguf [--tokens 128] [--repeats 3] [--device cpu|gpu|auto]
      prompt and greedy decode tokens per second (CPU: one thread), as JSON
  attune rank --model FILE.gguf --events EVENTS.jsonl --items ITEMS.jsonl [--limit N] [--device auto|gpu|cpu]
              [--options RANK_OPTIONS_JSON] [--vectors VECTORS.bin]
      a fresh profile from the events (JSON lines: type, item {id, text, tags}, ts),
      then one JSON line {id, score, reasons} per item (JSON lines: id, text, tags,
      prior?), best first; --vectors: precomputed vectors by item id (attune catalog)
  attune catalog --model FILE.gguf --items ITEMS.jsonl --out VECTORS.bin [--device auto|gpu|cpu]
      embeds every item's text once into a precomputed vector file (Q8_0, tagged
      with the model id) that the SDK loads with addVectors
  attune eval-movielens --model FILE.gguf --data DIR [--out FILE.json] [--negatives 100]
                        [--seed 42] [--options RANK_OPTIONS_JSON] [--split all|tune|test]
                        [--grid FILE.json]
      offline ranking evaluation on MovieLens 100K (RecBole atomic files in DIR):
      NDCG@10, HR@10, MRR of personalized vs popularity-only vs random, on the
      tuning and the test half of the users (a fixed hash) and on all; --grid
      searches the default weights on the tuning half and reports both halves
";

pub fn main() -> ExitCode {
    let mut args = Arguments::from_env();
    let sub = args.subcommand().ok().flatten();
    let result = match sub.as_deref() {
        Some("convert") => convert::run(args),
        Some("embed") => embed::run(args),
        Some("bench") => bench::run(args),
        Some("bench-kernels") => bench_kernels::run(args),
        Some("chat") => chat::run(args),
        Some("bench-chat") => chat::bench(args),
        Some("eval-movielens") => eval::run(args),
        Some("rank") => rank::run(args),
        Some("catalog") => catalog::run(args),
        Some("help") | None => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(AttuneError::InvalidArgument(format!("unknown command `{other}`"))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("attune: error [{}]: {e}", e.code());
            if matches!(e, AttuneError::InvalidArgument(_)) {
                eprint!("\n{USAGE}");
            }
            ExitCode::FAILURE
        }
    }
}

/// A required `--name VALUE` option.
fn required<T: std::str::FromStr>(args: &mut Arguments, name: &'static str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    args.value_from_str(name)
        .map_err(|e| AttuneError::InvalidArgument(format!("{name}: {e}")))
}

/// An optional `--name VALUE` option.
fn optional<T: std::str::FromStr>(args: &mut Arguments, name: &'static str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    args.opt_value_from_str(name)
        .map_err(|e| AttuneError::InvalidArgument(format!("{name}: {e}")))
}

/// The positional arguments left after the options. A leading `--` ends option parsing, so
/// texts that start with `-` can be passed; otherwise a leftover `--flag` is an error.
fn positionals(args: Arguments) -> Result<Vec<String>> {
    let rest = args.finish();
    let literal = rest.first().is_some_and(|a| a == "--");
    let rest = if literal { &rest[1..] } else { &rest[..] };
    rest.iter()
        .map(|a| {
            let s = a
                .to_str()
                .ok_or_else(|| AttuneError::InvalidArgument(format!("argument {a:?} is not UTF-8")))?;
            if !literal && s.starts_with("--") {
                return Err(AttuneError::InvalidArgument(format!("unknown option `{s}`")));
            }
            Ok(s.to_string())
        })
        .collect()
}

/// Reads a whole file, naming it in the error.
fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| AttuneError::Io(format!("{}: {e}", path.display())))
}

/// Loads an embedder GGUF onto the device `choice` asks for.
fn load_encoder(path: &Path, choice: DeviceChoice) -> Result<Encoder> {
    pollster::block_on(Encoder::load_on(Arc::new(read_file(path)?), choice))
}
