//! Text → token ids for the encoder, through the `tokenizers` crate and the tokenizer.json that
//! the model file carries. Padding is always off (the encoder pads a batch itself and masks the
//! padding); truncation keeps the model's `max_seq_length` pieces, [CLS] and [SEP] included.

use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use ahash::AHashMap;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Tokenizer, TruncationParams, TruncationStrategy};

/// Longest text accepted, in UTF-8 bytes. Everything past the first `max_len` pieces is cut
/// anyway; the cap bounds the work and memory one call can demand.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

pub struct TextTokenizer {
    inner: Tokenizer,
    max_len: usize,
}

impl TextTokenizer {
    /// The tokenizer of a `bert` GGUF: the Hugging Face tokenizer.json that `attune convert`
    /// stores when present, else one rebuilt from llama.cpp's `tokenizer.ggml.*` vocabulary (so
    /// files converted by llama.cpp load too).
    pub fn from_bert_gguf(file: &GgufFile<'_>, max_len: usize) -> Result<Self> {
        if let Some(json) = file.opt::<&str>("tokenizer.huggingface.json")? {
            return Self::from_json(json, max_len);
        }
        Self::new(wordpiece_from_ggml(file)?, max_len)
    }

    /// Builds the tokenizer from tokenizer.json text, truncating at `max_len` pieces.
    pub fn from_json(json: &str, max_len: usize) -> Result<Self> {
        let inner = Tokenizer::from_bytes(json.as_bytes())
            .map_err(|e| AttuneError::Tokenizer(format!("cannot read tokenizer.json: {e}")))?;
        Self::new(inner, max_len)
    }

    fn new(mut inner: Tokenizer, max_len: usize) -> Result<Self> {
        if max_len < 2 {
            return Err(AttuneError::ModelUnsupported(format!("max sequence length {max_len} < 2")));
        }
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

/// llama.cpp's token type of control tokens ([CLS], [SEP], ...).
const TOKEN_CONTROL: i32 = 3;

/// An uncased BERT WordPiece tokenizer from `tokenizer.ggml.tokens`, undoing llama.cpp's
/// spelling: a word-initial piece carries a leading `▁`, a continuation piece has no `##`, and
/// control tokens keep their brackets.
fn wordpiece_from_ggml(file: &GgufFile<'_>) -> Result<Tokenizer> {
    let model = file.str("tokenizer.ggml.model")?;
    if model != "bert" {
        return Err(AttuneError::ModelUnsupported(format!(
            "the embedder needs a WordPiece (`bert`) vocabulary, this file has `{model}`"
        )));
    }
    let tokens = file.str_array("tokenizer.ggml.tokens")?;
    let types = file.i32_array("tokenizer.ggml.token_type").unwrap_or_default();
    let is_control = |i: usize| types.get(i) == Some(&TOKEN_CONTROL);
    let mut vocab = AHashMap::with_capacity(tokens.len());
    for (i, t) in tokens.iter().enumerate() {
        let piece = match t.strip_prefix('\u{2581}') {
            Some(word) => word.to_string(),
            None if is_control(i) || (t.starts_with('[') && t.ends_with(']')) => t.clone(),
            None => format!("##{t}"),
        };
        vocab.entry(piece).or_insert(i as u32);
    }
    let token = |key: &str| -> Result<String> {
        let id = file.u32(key)? as usize;
        tokens.get(id).map(|t| t.trim_start_matches('\u{2581}').to_string()).ok_or_else(|| {
            AttuneError::ModelFormat(format!("{key} = {id} is outside the vocabulary"))
        })
    };
    let (unk, cls, sep) = (
        token("tokenizer.ggml.unknown_token_id")?,
        token("tokenizer.ggml.cls_token_id")?,
        token("tokenizer.ggml.seperator_token_id")?,
    );
    let bad = |e: String| AttuneError::Tokenizer(format!("cannot build the WordPiece tokenizer: {e}"));
    let wordpiece = WordPiece::builder()
        .vocab(vocab.clone())
        .unk_token(unk)
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let template = TemplateProcessing::builder()
        .try_single(format!("{cls} $A {sep}"))
        .map_err(bad)?
        .special_tokens(vec![(cls.clone(), vocab[&cls]), (sep.clone(), vocab[&sep])])
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let mut tok = Tokenizer::new(wordpiece);
    tok.with_normalizer(Some(BertNormalizer::new(true, true, None, true)));
    tok.with_pre_tokenizer(Some(BertPreTokenizer));
    tok.with_post_processor(Some(template));
    let specials: Vec<AddedToken> = (0..tokens.len())
        .filter(|&i| is_control(i))
        .map(|i| AddedToken::from(tokens[i].clone(), true))
        .collect();
    tok.add_special_tokens(&specials);
    Ok(tok)
}
