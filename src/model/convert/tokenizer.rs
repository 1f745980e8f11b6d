//! The vocabulary of a Hugging Face WordPiece `tokenizer.json`, in llama.cpp's `bert` form.

use crate::error::{AttuneError, Result};
use serde_json::Value as Json;

/// llama.cpp's token types.
pub(crate) const TOKEN_NORMAL: i32 = 1;
pub(crate) const TOKEN_CONTROL: i32 = 3;
pub(crate) const TOKEN_USER_DEFINED: i32 = 4;
pub(crate) const TOKEN_UNUSED: i32 = 5;

pub(crate) struct Vocab {
    /// Tokens in id order, in llama.cpp's spelling (see [`phantom`]).
    pub tokens: Vec<String>,
    pub types: Vec<i32>,
    pub unk: Option<u32>,
    pub sep: Option<u32>,
    pub pad: Option<u32>,
    pub cls: Option<u32>,
    pub mask: Option<u32>,
}

fn bad(msg: impl Into<String>) -> AttuneError {
    AttuneError::ModelFormat(format!("tokenizer.json: {}", msg.into()))
}

/// llama.cpp's WordPiece spelling: a word-initial piece gets a leading `▁` (U+2581), a
/// continuation piece loses its `##`, and bracketed specials (`[CLS]`) stay as they are.
/// Its `bert` tokenizer looks words up in that form.
pub(crate) fn phantom(tok: &str) -> String {
    if tok.starts_with('[') && tok.ends_with(']') {
        tok.to_string()
    } else if let Some(rest) = tok.strip_prefix("##") {
        rest.to_string()
    } else {
        format!("\u{2581}{tok}")
    }
}

fn as_id(v: &Json, what: &str, n: usize) -> Result<usize> {
    let id = v
        .as_u64()
        .ok_or_else(|| bad(format!("{what}: id {v} is not a non-negative integer")))?;
    if id >= n as u64 {
        return Err(bad(format!(
            "{what}: token id {id} is outside the embedding table of {n} rows"
        )));
    }
    Ok(id as usize)
}

/// Reads the vocabulary of `json`; `n_vocab` is the embedding table's row count. Ids the
/// tokenizer does not use become `[PAD<id>]` tokens of type UNUSED.
pub(crate) fn read_vocab(json: &str, n_vocab: usize) -> Result<Vocab> {
    let root: Json = serde_json::from_str(json).map_err(|e| bad(e.to_string()))?;
    let model = root.get("model").ok_or_else(|| bad("no \"model\""))?;
    match model.get("type").and_then(Json::as_str) {
        Some("WordPiece") => {}
        other => {
            return Err(AttuneError::ModelUnsupported(format!(
                "tokenizer.json: model type {other:?}, only WordPiece BERT tokenizers convert"
            )))
        }
    }
    let vocab = model
        .get("vocab")
        .and_then(Json::as_object)
        .ok_or_else(|| bad("model.vocab is not an object"))?;

    let mut raw: Vec<Option<String>> = vec![None; n_vocab];
    let mut types = vec![TOKEN_NORMAL; n_vocab];
    let set = |id: usize, tok: &str, raw: &mut Vec<Option<String>>| -> Result<()> {
        match &raw[id] {
            Some(t) if t != tok => Err(bad(format!("token id {id} is both {t:?} and {tok:?}"))),
            _ => {
                raw[id] = Some(tok.to_string());
                Ok(())
            }
        }
    };
    for (tok, id) in vocab {
        let id = as_id(id, &format!("model.vocab[{tok:?}]"), n_vocab)?;
        set(id, tok, &mut raw)?;
    }
    if let Some(added) = root.get("added_tokens").filter(|v| !v.is_null()) {
        let added = added
            .as_array()
            .ok_or_else(|| bad("added_tokens is not a list"))?;
        for t in added {
            let content = t
                .get("content")
                .and_then(Json::as_str)
                .ok_or_else(|| bad("added token without content"))?;
            let id = as_id(
                t.get("id").unwrap_or(&Json::Null),
                &format!("added token {content:?}"),
                n_vocab,
            )?;
            set(id, content, &mut raw)?;
            let special = t.get("special").and_then(Json::as_bool).unwrap_or(false);
            types[id] = if special {
                TOKEN_CONTROL
            } else {
                TOKEN_USER_DEFINED
            };
        }
    }

    let find = |tok: &str| -> Option<u32> {
        vocab
            .get(tok)
            .and_then(Json::as_u64)
            .filter(|&i| i < n_vocab as u64)
            .map(|i| i as u32)
            .or_else(|| {
                raw.iter()
                    .position(|t| t.as_deref() == Some(tok))
                    .map(|i| i as u32)
            })
    };
    let unk_name = model
        .get("unk_token")
        .and_then(Json::as_str)
        .unwrap_or("[UNK]");
    let (cls_name, sep_name) = post_processor_specials(&root);
    let pad_name = root
        .get("padding")
        .and_then(|p| p.get("pad_token"))
        .and_then(Json::as_str)
        .unwrap_or("[PAD]");
    let (unk, cls, sep, pad, mask) = (
        find(unk_name),
        find(&cls_name),
        find(&sep_name),
        find(pad_name),
        find("[MASK]"),
    );

    let mut tokens = Vec::with_capacity(n_vocab);
    for (id, t) in raw.into_iter().enumerate() {
        match t {
            Some(t) => tokens.push(phantom(&t)),
            None => {
                tokens.push(format!("[PAD{id}]"));
                types[id] = TOKEN_UNUSED;
            }
        }
    }
    Ok(Vocab {
        tokens,
        types,
        unk,
        sep,
        pad,
        cls,
        mask,
    })
}

/// The classifier and separator tokens the post-processor adds (`[CLS]`, `[SEP]` if it
/// names none).
fn post_processor_specials(root: &Json) -> (String, String) {
    let mut cls = "[CLS]".to_string();
    let mut sep = "[SEP]".to_string();
    let Some(pp) = root.get("post_processor") else {
        return (cls, sep);
    };
    match pp.get("type").and_then(Json::as_str) {
        Some("BertProcessing") | Some("RobertaProcessing") => {
            if let Some(s) = pp.pointer("/cls/0").and_then(Json::as_str) {
                cls = s.to_string();
            }
            if let Some(s) = pp.pointer("/sep/0").and_then(Json::as_str) {
                sep = s.to_string();
            }
        }
        Some("TemplateProcessing") => {
            let specials: Vec<&str> = pp
                .get("single")
                .and_then(Json::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| i.pointer("/SpecialToken/id").and_then(Json::as_str))
                        .collect()
                })
                .unwrap_or_default();
            if specials.len() >= 2 {
                cls = specials[0].to_string();
                sep = specials[specials.len() - 1].to_string();
            }
        }
        _ => {}
    }
    (cls, sep)
}
