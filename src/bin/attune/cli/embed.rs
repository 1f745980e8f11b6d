//! `attune embed`: texts from the arguments or stdin → one JSON array of floats per line.

use super::{load_encoder, optional, positionals, required};
use attune::compute::device::DeviceChoice;
use attune::model::bert::Encoder;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use std::io::{BufRead, Write};
use std::path::PathBuf;

/// Stdin lines embedded per pass: large enough to batch well, small enough to stream.
const STDIN_CHUNK: usize = 64;

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let device: DeviceChoice = optional(&mut args, "--device")?.unwrap_or_default();
    let texts = positionals(args)?;
    let mut encoder = load_encoder(&model, device)?;
    eprintln!("attune: device: {}", encoder.device());
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    if !texts.is_empty() {
        return write_embeddings(&mut encoder, &texts, &mut out);
    }
    let mut chunk = Vec::with_capacity(STDIN_CHUNK);
    for (n, line) in std::io::stdin().lock().split(b'\n').enumerate() {
        let mut line = line?;
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let text = String::from_utf8(line)
            .map_err(|_| AttuneError::InvalidArgument(format!("stdin line {} is not UTF-8", n + 1)))?;
        chunk.push(text);
        if chunk.len() == STDIN_CHUNK {
            write_embeddings(&mut encoder, &chunk, &mut out)?;
            chunk.clear();
        }
    }
    write_embeddings(&mut encoder, &chunk, &mut out)
}

fn write_embeddings(encoder: &mut Encoder, texts: &[String], out: &mut impl Write) -> Result<()> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let before = encoder.device().clone();
    let vectors = pollster::block_on(encoder.embed(&refs))?;
    if *encoder.device() != before {
        eprintln!("attune: device: {}", encoder.device());
    }
    for v in vectors {
        serde_json::to_writer(&mut *out, &v).map_err(|e| AttuneError::Io(e.to_string()))?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}
