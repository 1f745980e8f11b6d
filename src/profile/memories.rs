//! Explicit facts the user or page states ("I am vegetarian"), each with its embedding so the
//! assistant can retrieve the relevant ones. Never compacted: a full list refuses new facts
//! (`input_too_large`) until one is forgotten, since a fact the user stated must not vanish.

use super::config::limits;
use super::vector::{self, cosine};
use crate::error::{AttuneError, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub id: String,
    pub text: String,
    #[serde(default, with = "vector::b64_opt", skip_serializing_if = "Option::is_none")]
    pub vector: Option<Vec<f32>>,
    pub created_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memories {
    pub items: Vec<Memory>,
    pub next_id: u64,
}

impl Memories {
    /// Adds a fact (or refreshes the identical one); returns its id.
    pub fn add(&mut self, text: &str, vector: Option<Vec<f32>>, now: i64, cap: usize) -> Result<String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(AttuneError::InvalidArgument("a memory needs text".into()));
        }
        if text.chars().count() > limits::MEMORY_CHARS {
            return Err(AttuneError::InputTooLarge(format!("a memory is at most {} characters", limits::MEMORY_CHARS)));
        }
        if let Some(m) = self.items.iter_mut().find(|m| m.text == text) {
            if vector.is_some() {
                m.vector = vector;
            }
            return Ok(m.id.clone());
        }
        if self.items.len() >= cap {
            return Err(AttuneError::InputTooLarge(format!("the profile holds {cap} memories; forget one first")));
        }
        // Past ids in use: an imported `next_id` may be behind the items' ids, or at u64::MAX.
        let id = loop {
            self.next_id = self.next_id.wrapping_add(1);
            let id = format!("m{}", self.next_id);
            if !self.items.iter().any(|m| m.id == id) {
                break id;
            }
        };
        self.items.push(Memory { id: id.clone(), text: text.to_string(), vector, created_ms: now });
        Ok(id)
    }

    pub fn remove(&mut self, id: &str) -> bool {
        let before = self.items.len();
        self.items.retain(|m| m.id != id);
        self.items.len() != before
    }

    /// The `k` memories most similar to `query` (those without a vector last), best first.
    pub fn relevant(&self, query: &[f32], k: usize) -> Vec<(&Memory, f32)> {
        let mut scored: Vec<(&Memory, f32)> =
            self.items.iter().map(|m| (m, m.vector.as_deref().map_or(f32::NEG_INFINITY, |v| cosine(v, query)))).collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored
    }
}
