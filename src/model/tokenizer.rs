//! Text → token ids for the encoder: a BERT WordPiece pipeline (BertNormalizer →
//! BertPreTokenizer → WordPiece → TemplateProcessing) from the `tokenizers` crate's concrete
//! components, read from the tokenizer.json that the model file carries. Concrete types instead
//! of `tokenizers::Tokenizer` because its wrapper enums (and its added-vocabulary matcher) link
//! every normalizer, pre-tokenizer and model, with the regex engines and their Unicode tables,
//! into the web build. Padding is always off (the encoder pads a batch itself and masks the
//! padding); truncation keeps the model's `max_seq_length` pieces, [CLS] and [SEP] included.

use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use ahash::AHashMap;
use serde::Deserialize;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{
    Encoding, Model, NormalizedString, Normalizer, OffsetReferential, OffsetType, PostProcessor,
    PreTokenizedString, PreTokenizer, Token,
};

/// Longest text accepted, in UTF-8 bytes. Everything past the first `max_len` pieces is cut
/// anyway; the cap bounds the work and memory one call can demand.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

pub struct TextTokenizer {
    normalizer: BertNormalizer,
    model: WordPiece,
    template: TemplateProcessing,
    /// Added tokens matched verbatim in the raw text before normalization ("[SEP]"), longest
    /// first at the leftmost position, as the `tokenizers` crate matches non-normalized ones.
    specials: Vec<(String, u32)>,
    /// Pieces of the text itself: `max_len` less what the template adds.
    budget: usize,
    max_len: usize,
}

/// One stretch of the input: text to tokenize, or an added token found in it.
enum Span<'t> {
    Text(&'t str),
    Special(u32),
}

impl TextTokenizer {
    /// The tokenizer of a `bert` GGUF: the Hugging Face tokenizer.json that `attune convert`
    /// stores when present, else one rebuilt from llama.cpp's `tokenizer.ggml.*` vocabulary (so
    /// files converted by llama.cpp load too).
    pub fn from_bert_gguf(file: &GgufFile<'_>, max_len: usize) -> Result<Self> {
        if let Some(json) = file.opt::<&str>("tokenizer.huggingface.json")? {
            return Self::from_json(json, max_len);
        }
        wordpiece_from_ggml(file, max_len)
    }

    /// Builds the tokenizer from tokenizer.json text, truncating at `max_len` pieces. Only
    /// BERT's components are read; any other normalizer, pre-tokenizer, model or post-processor
    /// is `model_unsupported`. The file's padding, truncation and decoder are ignored.
    pub fn from_json(json: &str, max_len: usize) -> Result<Self> {
        let bad = |e: serde_json::Error| {
            AttuneError::Tokenizer(format!("cannot read tokenizer.json: {e}"))
        };
        // The component types first, so a tokenizer of another kind is named, not a parse error.
        let kinds: Kinds = serde_json::from_str(json).map_err(bad)?;
        for (key, want, found) in [
            ("normalizer", "BertNormalizer", &kinds.normalizer),
            ("pre_tokenizer", "BertPreTokenizer", &kinds.pre_tokenizer),
            ("model", "WordPiece", &kinds.model),
            (
                "post_processor",
                "TemplateProcessing",
                &kinds.post_processor,
            ),
        ] {
            let found = found.as_ref().and_then(|c| c.kind.as_deref());
            if found != Some(want) {
                return Err(AttuneError::ModelUnsupported(format!(
                    "tokenizer.json: the embedder reads a {want} {key}, this one has {}",
                    found.map_or_else(|| "none".to_string(), |t| format!("`{t}`"))
                )));
            }
        }
        let bert: BertJson = serde_json::from_str(json).map_err(bad)?;
        let specials = bert
            .added_tokens
            .into_iter()
            .map(AddedTokenJson::verbatim)
            .collect::<Result<_>>()?;
        Self::new(
            bert.normalizer,
            bert.model,
            bert.post_processor,
            specials,
            max_len,
        )
    }

    fn new(
        normalizer: BertNormalizer,
        model: WordPiece,
        template: TemplateProcessing,
        mut specials: Vec<(String, u32)>,
        max_len: usize,
    ) -> Result<Self> {
        let added = template.added_tokens(false);
        let budget = max_len.checked_sub(added).filter(|_| max_len >= 2).ok_or_else(|| {
            AttuneError::ModelUnsupported(format!(
                "max sequence length {max_len} leaves no room for text next to {added} special tokens"
            ))
        })?;
        specials.retain(|(s, _)| !s.is_empty());
        Ok(TextTokenizer {
            normalizer,
            model,
            template,
            specials,
            budget,
            max_len,
        })
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
        let failed = |e: tokenizers::Error| AttuneError::Tokenizer(format!("cannot tokenize: {e}"));
        let mut ids = Vec::new();
        for span in self.spans(text) {
            // Truncation keeps the first pieces, and no piece depends on text after it.
            if ids.len() >= self.budget {
                break;
            }
            match span {
                Span::Special(id) => ids.push(id),
                Span::Text(s) => {
                    let mut normalized = NormalizedString::from(s);
                    self.normalizer.normalize(&mut normalized).map_err(failed)?;
                    let mut words = PreTokenizedString::from(normalized);
                    BertPreTokenizer.pre_tokenize(&mut words).map_err(failed)?;
                    for (word, _, _) in
                        words.get_splits(OffsetReferential::Original, OffsetType::None)
                    {
                        if ids.len() >= self.budget {
                            break;
                        }
                        ids.extend(
                            self.model
                                .tokenize(word)
                                .map_err(failed)?
                                .iter()
                                .map(|t| t.id),
                        );
                    }
                }
            }
        }
        ids.truncate(self.budget);
        let pieces = ids
            .into_iter()
            .map(|id| Token::new(id, String::new(), (0, 0)))
            .collect();
        let enc = self
            .template
            .process(Encoding::from_tokens(pieces, 0), None, true)
            .map_err(failed)?;
        Ok(enc.get_ids().to_vec())
    }

    /// `text` cut at the added tokens it contains: at each position the leftmost match, the
    /// longest one where several start there.
    fn spans<'t>(&self, text: &'t str) -> Vec<Span<'t>> {
        let find = |s: &str, from: usize| text[from..].find(s).map(|i| from + i);
        let mut next: Vec<Option<usize>> = self.specials.iter().map(|(s, _)| find(s, 0)).collect();
        let (mut out, mut pos) = (Vec::new(), 0);
        loop {
            let best = (0..self.specials.len())
                .filter_map(|k| next[k].map(|at| (at, k)))
                .min_by_key(|&(at, k)| (at, std::cmp::Reverse(self.specials[k].0.len())));
            let Some((at, k)) = best else { break };
            if at > pos {
                out.push(Span::Text(&text[pos..at]));
            }
            out.push(Span::Special(self.specials[k].1));
            pos = at + self.specials[k].0.len();
            for (j, n) in next.iter_mut().enumerate() {
                if n.is_some_and(|at| at < pos) {
                    *n = find(&self.specials[j].0, pos);
                }
            }
        }
        if pos < text.len() {
            out.push(Span::Text(&text[pos..]));
        }
        out
    }
}

/// The `type` of each tokenizer.json component (everything else skipped).
#[derive(Deserialize)]
struct Kinds {
    normalizer: Option<Kind>,
    pre_tokenizer: Option<Kind>,
    model: Option<Kind>,
    post_processor: Option<Kind>,
}

#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// What the embedder reads of a BERT tokenizer.json (padding, truncation and decoder are not).
#[derive(Deserialize)]
struct BertJson {
    #[serde(default)]
    added_tokens: Vec<AddedTokenJson>,
    normalizer: BertNormalizer,
    #[allow(dead_code)] // read only to check it is a BertPreTokenizer
    pre_tokenizer: BertPreTokenizer,
    model: WordPiece,
    post_processor: TemplateProcessing,
}

/// One entry of tokenizer.json's `added_tokens`.
#[derive(Deserialize)]
struct AddedTokenJson {
    id: u32,
    content: String,
    single_word: bool,
    lstrip: bool,
    rstrip: bool,
    normalized: bool,
}

impl AddedTokenJson {
    /// The token as a verbatim match; the matching rules BERT tokenizers never use (on the
    /// normalized text, whole words only, eating nearby spaces) are refused, not ignored.
    fn verbatim(self) -> Result<(String, u32)> {
        if self.single_word || self.lstrip || self.rstrip || self.normalized {
            return Err(AttuneError::ModelUnsupported(format!(
                "tokenizer.json: added token {:?} is matched with single_word/lstrip/rstrip/normalized, \
                 which the embedder's tokenizer does not support",
                self.content
            )));
        }
        Ok((self.content, self.id))
    }
}

/// llama.cpp's token type of control tokens ([CLS], [SEP], ...).
const TOKEN_CONTROL: i32 = 3;

/// An uncased BERT WordPiece tokenizer from `tokenizer.ggml.tokens`, undoing llama.cpp's
/// spelling: a word-initial piece carries a leading `▁`, a continuation piece has no `##`, and
/// control tokens keep their brackets.
fn wordpiece_from_ggml(file: &GgufFile<'_>, max_len: usize) -> Result<TextTokenizer> {
    let model = file.str("tokenizer.ggml.model")?;
    if model != "bert" {
        return Err(AttuneError::ModelUnsupported(format!(
            "the embedder needs a WordPiece (`bert`) vocabulary, this file has `{model}`"
        )));
    }
    let tokens = file.str_array("tokenizer.ggml.tokens")?;
    let types = file
        .i32_array("tokenizer.ggml.token_type")
        .unwrap_or_default();
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
    let token = |key: &str| -> Result<(String, u32)> {
        let id = file.u32(key)?;
        let t = tokens.get(id as usize).ok_or_else(|| {
            AttuneError::ModelFormat(format!("{key} = {id} is outside the vocabulary"))
        })?;
        Ok((t.trim_start_matches('\u{2581}').to_string(), id))
    };
    let (unk, cls, sep) = (
        token("tokenizer.ggml.unknown_token_id")?,
        token("tokenizer.ggml.cls_token_id")?,
        token("tokenizer.ggml.seperator_token_id")?,
    );
    let bad =
        |e: String| AttuneError::Tokenizer(format!("cannot build the WordPiece tokenizer: {e}"));
    let template = TemplateProcessing::builder()
        .try_single(format!("{} $A {}", cls.0, sep.0))
        .map_err(bad)?
        .special_tokens(vec![cls, sep])
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let wordpiece = WordPiece::builder()
        .vocab(vocab)
        .unk_token(unk.0)
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(100)
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let specials = (0..tokens.len())
        .filter(|&i| is_control(i))
        .map(|i| (tokens[i].clone(), i as u32))
        .collect();
    TextTokenizer::new(
        BertNormalizer::new(true, true, None, true),
        wordpiece,
        template,
        specials,
        max_len,
    )
}

#[cfg(test)]
mod tests {
    // Also run compiled to wasm32 (`make test-browser`), where plain #[test] is not picked up.
    use super::*;

    /// A BERT tokenizer.json as Hugging Face writes it, with a ten-piece vocabulary.
    fn bert_json() -> serde_json::Value {
        let special = |id: u32, content: &str| {
            serde_json::json!({"id": id, "content": content, "single_word": false, "lstrip": false,
                "rstrip": false, "normalized": false, "special": true})
        };
        let vocab: serde_json::Map<_, _> = [
            "[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world", "##s", "!", "cafe", "un",
        ]
        .iter()
        .enumerate()
        .map(|(i, t)| (t.to_string(), serde_json::json!(i)))
        .collect();
        serde_json::json!({
            "version": "1.0",
            "added_tokens": [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")],
            "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true,
                "strip_accents": null, "lowercase": true},
            "pre_tokenizer": {"type": "BertPreTokenizer"},
            "post_processor": {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                           {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
                "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                                   "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
            "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100, "vocab": vocab}
        })
    }

    fn load(json: &serde_json::Value, max_len: usize) -> Result<TextTokenizer> {
        TextTokenizer::from_json(&json.to_string(), max_len)
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn normalizes_splits_and_wraps_in_cls_sep() {
        let tok = load(&bert_json(), 16).unwrap();
        assert_eq!(tok.encode("Hello, WORLDS!").unwrap(), [2, 4, 1, 5, 6, 7, 3]);
        assert_eq!(
            tok.encode("Café").unwrap(),
            [2, 8, 3],
            "lowercased, accents stripped"
        );
        assert_eq!(tok.encode("").unwrap(), [2, 3]);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn special_strings_in_the_text_are_their_tokens_but_only_verbatim() {
        let tok = load(&bert_json(), 16).unwrap();
        assert_eq!(
            tok.encode("hello[SEP]world [CLS]").unwrap(),
            [2, 4, 3, 5, 2, 3]
        );
        assert_eq!(
            tok.encode("[sep]").unwrap(),
            [2, 1, 1, 1, 3],
            "lowercase is plain text: [ unk ]"
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn truncation_keeps_the_first_pieces_and_the_specials() {
        let tok = load(&bert_json(), 4).unwrap();
        assert_eq!(tok.encode("hello world hello world").unwrap(), [2, 4, 5, 3]);
        assert_eq!(tok.encode("[SEP] [SEP] [SEP]").unwrap(), [2, 3, 3, 3]);
        assert_eq!(
            load(&bert_json(), 1).err().map(|e| e.code()),
            Some("model_unsupported")
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn other_tokenizer_kinds_are_unsupported_not_misread() {
        for (key, value) in [
            ("normalizer", serde_json::json!({"type": "NFC"})),
            ("normalizer", serde_json::Value::Null),
            ("pre_tokenizer", serde_json::json!({"type": "Whitespace"})),
            (
                "model",
                serde_json::json!({"type": "BPE", "vocab": {}, "merges": []}),
            ),
            (
                "post_processor",
                serde_json::json!({"type": "BertProcessing", "sep": ["[SEP]", 3], "cls": ["[CLS]", 2]}),
            ),
        ] {
            let mut json = bert_json();
            json[key] = value;
            let err = load(&json, 16).err().expect(key);
            assert_eq!(err.code(), "model_unsupported", "{key}: {err}");
        }
        let mut json = bert_json();
        json["added_tokens"][1]["lstrip"] = true.into();
        assert_eq!(
            load(&json, 16).err().map(|e| e.code()),
            Some("model_unsupported")
        );
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn malformed_json_is_a_tokenizer_error() {
        for text in ["", "{", "[1, 2]", r#"{"model": 7}"#] {
            let err = TextTokenizer::from_json(text, 16).err().expect(text);
            assert_eq!(err.code(), "tokenizer", "{text}: {err}");
        }
        let mut json = bert_json();
        json["model"]["vocab"] = serde_json::json!("not a map");
        assert_eq!(load(&json, 16).err().map(|e| e.code()), Some("tokenizer"));
    }
}
