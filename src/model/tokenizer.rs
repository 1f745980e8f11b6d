//! Text → token ids for the encoder, through the `tokenizers` crate and the tokenizer.json that
//! the model file carries. Padding is always off (the encoder pads a batch itself and masks the
//! padding); truncation keeps the model's `max_seq_length` pieces, [CLS] and [SEP] included.

use crate::error::{AttuneError, Result};
use tokenizers::{Tokenizer, TruncationParams, TruncationStrategy};

/// Longest text accepted, in UTF-8 bytes. Everything past the first `max_len` pieces is cut
/// anyway; the cap bounds the work and memory one call can demand.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

pub struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
}

impl TextTokenizer {
    /// Builds the tokenizer from tokenizer.json text, truncating at `max_len` pieces.
    pub fn from_json(json: &str, max_len: usize) -> Result<Self> {
        if max_len < 2 {
            return Err(AttuneError::ModelUnsupported(format!("max sequence length {max_len} < 2")));
        }
        let mut inner = Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| AttuneError::Tokenizer(format!("cannot read tokenizer.json: {e}")))?;
        // The shipped tokenizer.json pads and truncates to 128, which is not this model's limit.
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                ..Default::default()
            }))
            .map_err(|e| AttuneError::Tokenizer(format!("cannot set truncation: {e}")))?;
        Ok(TextTokenizer { inner, max_len })
    }

    /// Most pieces an encoding can have, special tokens included.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Token ids of one text with the model's special tokens ([CLS] … [SEP] for BERT).
    /// Special-token strings inside the text ("[SEP]") become those tokens, as in
    /// sentence-transformers.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(AttuneError::InputTooLarge(format!(
                "text of {} bytes exceeds the {MAX_TEXT_BYTES}-byte limit",
                text.len()
            )));
        }
        let enc = self
            .inner
            .encode(text, true)
            .map_err(|e| AttuneError::Tokenizer(format!("cannot tokenize: {e}")))?;
        Ok(enc.get_ids().to_vec())
    }
}
