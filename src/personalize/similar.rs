//! Items most similar to a query embedding (an item's or a free text's), by cosine: one
//! quantized matmul of the query against the page's [`ItemMatrix`].

use super::options::SimilarOptions;
use super::types::{Candidate, SimilarItem};
use crate::embedding::ItemMatrix;
use crate::error::Result;
use crate::profile::vector::unit;

/// `vectors` holds the embedding of each item (none: no text, left out). Items whose id is
/// `exclude` (the query item itself) are left out. Most similar first; ties keep input order.
pub fn similar(query: &[f32], items: &[Candidate], vectors: &ItemMatrix, exclude: Option<&str>, opts: &SimilarOptions) -> Result<Vec<SimilarItem>> {
    let dots = match unit(query) {
        Some(q) if q.len() == vectors.dim() => vectors.dots(&[&q])?,
        _ => Vec::new(),
    };
    let mut out: Vec<SimilarItem> = items
        .iter()
        .enumerate()
        .filter(|(_, it)| Some(it.id.as_str()) != exclude)
        .filter_map(|(index, it)| {
            let sim = *dots.get(vectors.row(index)?)?;
            Some(SimilarItem { id: it.id.clone(), index, similarity: sim.clamp(-1.0, 1.0) })
        })
        .collect();
    out.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
    if let Some(l) = opts.limit {
        out.truncate(l);
    }
    Ok(out)
}
