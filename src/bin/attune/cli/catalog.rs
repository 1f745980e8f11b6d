//! `attune catalog`: a site's items embedded once, offline, into a precomputed vector file
//! (`attune::embedding::Catalog`) that the SDK loads with `addVectors` instead of embedding
//! the items' texts in each visitor's browser.

use super::rank::lines;
use super::{load_encoder, optional, required};
use attune::compute::device::DeviceChoice;
use attune::embedding::Catalog;
use attune::personalize::Candidate;
use attune::session::EMBED_BATCH;
use attune::{AttuneError, Result};
use pico_args::Arguments;
use std::path::PathBuf;

pub fn run(mut args: Arguments) -> Result<()> {
    let model: PathBuf = required(&mut args, "--model")?;
    let items_path: PathBuf = required(&mut args, "--items")?;
    let out: PathBuf = required(&mut args, "--out")?;
    let device: DeviceChoice = optional(&mut args, "--device")?.unwrap_or_default();
    if !super::positionals(args)?.is_empty() {
        return Err(AttuneError::InvalidArgument("catalog takes no positional arguments".into()));
    }
    let items: Vec<Candidate> = lines(&items_path)?;
    let with_text: Vec<(&str, &str)> =
        items.iter().filter_map(|i| i.text.as_deref().filter(|t| !t.trim().is_empty()).map(|t| (i.id.as_str(), t))).collect();
    if with_text.len() < items.len() {
        eprintln!("attune: {} of {} items have no text and are left out", items.len() - with_text.len(), items.len());
    }
    let mut encoder = load_encoder(&model, device)?;
    let mut vectors: Vec<Vec<f32>> = Vec::with_capacity(with_text.len());
    for batch in with_text.chunks(EMBED_BATCH) {
        let texts: Vec<&str> = batch.iter().map(|(_, t)| *t).collect();
        vectors.extend(pollster::block_on(encoder.embed(&texts))?);
    }
    let file = Catalog::write(
        encoder.model_id(),
        encoder.dim(),
        with_text.iter().zip(&vectors).map(|((id, _), v)| (*id, v.as_slice())),
    )?;
    std::fs::write(&out, &file).map_err(|e| AttuneError::Io(format!("{}: {e}", out.display())))?;
    eprintln!("attune: {} vectors of `{}` ({} bytes) -> {}", vectors.len(), encoder.model_id(), file.len(), out.display());
    Ok(())
}
