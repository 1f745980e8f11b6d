//! Items most similar to a query embedding (an item's or a free text's), by cosine.

use super::options::SimilarOptions;
use super::types::{Candidate, SimilarItem};
use crate::profile::vector::cosine;

/// `vectors[i]` is the embedding of `items[i]` (none: no text, left out). Items whose id is
/// `exclude` (the query item itself) are left out. Most similar first; ties keep input order.
pub fn similar(query: &[f32], items: &[Candidate], vectors: &[Option<Vec<f32>>], exclude: Option<&str>, opts: &SimilarOptions) -> Vec<SimilarItem> {
    let mut out: Vec<SimilarItem> = items
        .iter()
        .zip(vectors)
        .enumerate()
        .filter(|(_, (it, _))| Some(it.id.as_str()) != exclude)
        .filter_map(|(index, (it, v))| {
            let v = v.as_deref().filter(|v| v.len() == query.len())?;
            Some(SimilarItem { id: it.id.clone(), index, similarity: cosine(query, v) })
        })
        .collect();
    out.sort_by(|a, b| b.similarity.total_cmp(&a.similarity));
    if let Some(l) = opts.limit {
        out.truncate(l);
    }
    out
}
