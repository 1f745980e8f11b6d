//! The profile's top interests as human-readable labels from a fixed taxonomy shipped with the
//! SDK (`taxonomy.tsv`: written for Attune, Apache-2.0; a few hundred categories). Each
//! interest centroid is named by the label whose embedding is closest; a label's weight is the
//! decayed weight of the interests it names, as a share of all interest weight.

use super::options::TopicOptions;
use crate::error::{AttuneError, Result};
use crate::profile::vector::cosine;
use crate::profile::Profile;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::OnceLock;

const BUILTIN: &str = include_str!("taxonomy.tsv");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicLabel {
    pub parent: String,
    pub label: String,
}

impl TopicLabel {
    /// The text embedded for this label: the label with its parent as context.
    pub fn embed_text(&self) -> String {
        format!("{} ({})", self.label, self.parent)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Taxonomy {
    pub labels: Vec<TopicLabel>,
}

impl Taxonomy {
    /// The taxonomy shipped with the SDK.
    pub fn builtin() -> &'static Taxonomy {
        static T: OnceLock<Taxonomy> = OnceLock::new();
        T.get_or_init(|| Taxonomy::parse(BUILTIN).expect("the shipped taxonomy parses (unit-tested)"))
    }

    /// `parent<TAB>label` lines; `#` comments and blank lines are skipped. Labels are distinct.
    pub fn parse(text: &str) -> Result<Taxonomy> {
        let mut labels = Vec::new();
        let mut seen = HashSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim_end();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (parent, label) = line
                .split_once('\t')
                .ok_or_else(|| AttuneError::InvalidArgument(format!("taxonomy line {}: expected parent<TAB>label", n + 1)))?;
            let (parent, label) = (parent.trim(), label.trim());
            if parent.is_empty() || label.is_empty() || !seen.insert(label.to_lowercase()) {
                return Err(AttuneError::InvalidArgument(format!("taxonomy line {}: empty or duplicate label", n + 1)));
            }
            labels.push(TopicLabel { parent: parent.into(), label: label.into() });
        }
        Ok(Taxonomy { labels })
    }

    pub fn embed_texts(&self) -> Vec<String> {
        self.labels.iter().map(TopicLabel::embed_text).collect()
    }
}

/// One of the profile's topics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Topic {
    pub label: String,
    pub parent: String,
    /// Share of the profile's interest weight under this label, 0..=1.
    pub weight: f32,
    /// Best cosine between the label and an interest it names.
    pub similarity: f32,
}

/// The profile's topics at `now`, heaviest first. `label_vectors[i]` is the embedding of
/// `taxonomy.labels[i].embed_text()`.
pub fn topics(profile: &Profile, taxonomy: &Taxonomy, label_vectors: &[Vec<f32>], opts: &TopicOptions, now: i64) -> Result<Vec<Topic>> {
    opts.validate()?;
    if label_vectors.len() != taxonomy.labels.len() {
        return Err(AttuneError::InvalidArgument(format!(
            "{} label vectors for {} labels",
            label_vectors.len(),
            taxonomy.labels.len()
        )));
    }
    let weights = profile.interest_weights(now);
    let total: f64 = weights.iter().map(|w| w.1).sum();
    if total <= 0.0 {
        return Ok(Vec::new());
    }
    // (label index, weight, best similarity), in order of first appearance.
    let mut acc: Vec<(usize, f64, f32)> = Vec::new();
    for (id, w) in weights {
        let Some(c) = profile.interests.get(id) else { continue };
        let best = label_vectors
            .iter()
            .enumerate()
            .filter(|(_, v)| v.len() == c.mean.len())
            .map(|(i, v)| (i, cosine(&c.mean, v)))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
        let Some((i, sim)) = best.filter(|b| b.1 >= opts.min_similarity) else { continue };
        match acc.iter_mut().find(|a| a.0 == i) {
            Some(a) => {
                a.1 += w;
                a.2 = a.2.max(sim);
            }
            None => acc.push((i, w, sim)),
        }
    }
    acc.sort_by(|a, b| b.1.total_cmp(&a.1));
    acc.truncate(opts.limit);
    Ok(acc
        .into_iter()
        .map(|(i, w, sim)| {
            let l = &taxonomy.labels[i];
            Topic { label: l.label.clone(), parent: l.parent.clone(), weight: (w / total) as f32, similarity: sim }
        })
        .collect())
}
