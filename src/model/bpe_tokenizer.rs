//! Byte-level BPE (GPT-2 style) built from a GGUF file's own `tokenizer.ggml.*` keys, for the
//! llama-family decoders (SmolLM2 and friends), through the `tokenizers` crate.
//!
//! - `tokenizer.ggml.tokens` + `tokenizer.ggml.merges` give the BPE model. A vocabulary may
//!   lack a token for some byte values (SmolLM2 has none for a few ASCII control bytes), and
//!   the BPE model would silently drop them; instead each character holding such a byte
//!   becomes one [`Substitute`]: the vocabulary's unknown token if it is a plain token, else
//!   U+FFFD encoded as usual (a control token would let text end a turn). With neither, such
//!   text is a `Tokenizer` error.
//! - `tokenizer.ggml.pre` picks llama.cpp's pre-tokenizer split: for `smollm` (also
//!   `starcoder`, `refact`, `codeshell`, ...) every `\p{N}` character stands alone, then the
//!   GPT-2 pattern; for `gpt2`/`default` the GPT-2 pattern alone. Others are refused.
//! - `tokenizer.ggml.token_type`: control tokens (3) are special tokens and user-defined
//!   tokens (4) plain added tokens; both are matched verbatim in the text, so
//!   `"<|im_start|>"` inside a prompt is one token (use [`BpeTokenizer::encode_plain`] for
//!   untrusted text that must never produce them).
//!
//! [`DetokenizeStream`] turns generated ids into text pieces that are always whole UTF-8
//! characters: a character split across tokens is held back until its last byte arrives.

use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, SplitDelimiterBehavior, Tokenizer};

/// Longest text accepted by `encode`, in UTF-8 bytes.
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// GGUF `tokenizer.ggml.token_type` values (llama.cpp's `llama_token_type`).
pub mod token_type {
    pub const NORMAL: i32 = 1;
    pub const UNKNOWN: i32 = 2;
    pub const CONTROL: i32 = 3;
    pub const USER_DEFINED: i32 = 4;
    pub const UNUSED: i32 = 5;
    pub const BYTE: i32 = 6;
}

/// How a `tokenizer.ggml.pre` value splits text before BPE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PreSplit {
    /// The GPT-2 pattern alone.
    Gpt2,
    /// Each `\p{N}` character alone, then the GPT-2 pattern (llama.cpp's starcoder family).
    DigitsThenGpt2,
}

fn pre_split(pre: &str) -> Option<PreSplit> {
    match pre {
        "default" | "gpt2" | "gpt-2" | "mpt" | "olmo" | "jais" => Some(PreSplit::Gpt2),
        "smollm" | "starcoder" | "refact" | "command-r" | "codeshell" | "exaone" | "minerva" => {
            Some(PreSplit::DigitsThenGpt2)
        }
        _ => None,
    }
}

/// GPT-2's reversible map from the 256 byte values to printable characters: printable
/// Latin-1 bytes stand for themselves, the other 68 take code points from U+0100 on.
fn byte_chars() -> [char; 256] {
    let printable = |b: u32| {
        (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || (0xae..=0xff).contains(&b)
    };
    let mut out = ['\0'; 256];
    let mut next = 256u32;
    for b in 0..256u32 {
        let cp = if printable(b) {
            b
        } else {
            next += 1;
            next - 1
        };
        out[b as usize] = char::from_u32(cp).expect("code points below 0x200 are chars");
    }
    out
}

/// What stands for a character whose bytes the vocabulary cannot spell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Substitute {
    /// `tokenizer.ggml.unknown_token_id` (or the token typed unknown), a plain token.
    Unknown(u32),
    /// U+FFFD, whose bytes have tokens.
    ReplacementChar,
    /// Nothing fits: encoding such a character is an error.
    None,
}

/// A byte-level BPE tokenizer read from a GGUF file.
pub struct BpeTokenizer {
    /// Matches control and user-defined tokens in the text.
    inner: Tokenizer,
    /// The same with special tokens taken as plain text (`encode_plain`), built on first use.
    plain: std::sync::OnceLock<Tokenizer>,
    /// Raw bytes of every token: the byte-level decoding of normal tokens, the UTF-8 text of
    /// control and user-defined ones.
    token_bytes: Vec<Box<[u8]>>,
    /// Control tokens (rendered only when special tokens are not skipped).
    control: Vec<bool>,
    /// Byte values with no token of their own.
    missing: [bool; 256],
    substitute: Substitute,
    bos: Option<u32>,
    eos: Option<u32>,
    add_bos: bool,
    pre: String,
}

impl std::fmt::Debug for BpeTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BpeTokenizer")
            .field("vocab_size", &self.vocab_size())
            .field("pre", &self.pre)
            .field("bos", &self.bos)
            .field("eos", &self.eos)
            .field("add_bos", &self.add_bos)
            .finish()
    }
}

impl BpeTokenizer {
    /// Builds the tokenizer from `tokenizer.ggml.*`. A file whose `tokenizer.ggml.model` is
    /// not `gpt2`, or whose `tokenizer.ggml.pre` this build does not know, gives
    /// `ModelUnsupported`; inconsistent keys give `ModelFormat`.
    pub fn from_gguf(file: &GgufFile<'_>) -> Result<Self> {
        let model = file.str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(AttuneError::ModelUnsupported(format!(
                "tokenizer.ggml.model {model:?}: only byte-level BPE (\"gpt2\") is supported here"
            )));
        }
        let pre_name = file.opt::<&str>("tokenizer.ggml.pre")?.unwrap_or("default");
        let split = pre_split(pre_name).ok_or_else(|| {
            AttuneError::ModelUnsupported(format!(
                "tokenizer.ggml.pre {pre_name:?} is not supported"
            ))
        })?;
        let tokens = file.str_array("tokenizer.ggml.tokens")?;
        let n = tokens.len();
        if n == 0 || n > u32::MAX as usize {
            return Err(AttuneError::ModelFormat(format!(
                "tokenizer.ggml.tokens has {n} entries"
            )));
        }
        let types = match file.get("tokenizer.ggml.token_type") {
            Some(_) => file.i32_array("tokenizer.ggml.token_type")?,
            None => vec![token_type::NORMAL; n],
        };
        if types.len() != n {
            return Err(AttuneError::ModelFormat(format!(
                "tokenizer.ggml.token_type has {} entries for {n} tokens",
                types.len()
            )));
        }
        let merges = file
            .str_array("tokenizer.ggml.merges")?
            .iter()
            .map(|m| match m.split_once(' ') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains(' ') => {
                    Ok((a.to_string(), b.to_string()))
                }
                _ => Err(AttuneError::ModelFormat(format!(
                    "tokenizer merge {m:?} is not \"a b\""
                ))),
            })
            .collect::<Result<Vec<_>>>()?;
        let id = |key: &str| -> Result<Option<u32>> {
            match file.opt::<u32>(key)? {
                Some(i) if (i as usize) < n => Ok(Some(i)),
                Some(i) => Err(AttuneError::ModelFormat(format!(
                    "{key} = {i} is not a token id (< {n})"
                ))),
                None => Ok(None),
            }
        };
        let bos = id("tokenizer.ggml.bos_token_id")?;
        let eos = id("tokenizer.ggml.eos_token_id")?;
        let add_bos = file
            .opt::<bool>("tokenizer.ggml.add_bos_token")?
            .unwrap_or(false);

        let chars = byte_chars();
        let mut char_byte = std::collections::HashMap::with_capacity(256);
        for (b, &c) in chars.iter().enumerate() {
            char_byte.insert(c, b as u8);
        }
        let mut token_bytes = Vec::with_capacity(n);
        let mut control = vec![false; n];
        let mut added = Vec::new();
        for (i, (tok, &ty)) in tokens.iter().zip(&types).enumerate() {
            match ty {
                token_type::CONTROL | token_type::USER_DEFINED => {
                    control[i] = ty == token_type::CONTROL;
                    if !tok.is_empty() {
                        added.push(
                            AddedToken::from(tok.clone(), ty == token_type::CONTROL)
                                .normalized(false),
                        );
                    }
                    token_bytes.push(tok.as_bytes().into());
                }
                _ => {
                    // A normal token is a string of byte characters; a character outside the
                    // map (malformed vocabulary) decodes as its own UTF-8.
                    let mut bytes = Vec::with_capacity(tok.len());
                    for c in tok.chars() {
                        match char_byte.get(&c) {
                            Some(&b) => bytes.push(b),
                            None => bytes.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes()),
                        }
                    }
                    token_bytes.push(bytes.into_boxed_slice());
                }
            }
        }

        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as u32))
            .collect();
        if vocab.len() != n {
            return Err(AttuneError::ModelFormat(format!(
                "tokenizer.ggml.tokens has duplicate entries ({} distinct of {n})",
                vocab.len()
            )));
        }
        let missing = chars.map(|c| !vocab.contains_key(c.encode_utf8(&mut [0; 4]) as &str));
        let unknown = match id("tokenizer.ggml.unknown_token_id")? {
            Some(u) => Some(u),
            None => types.iter().position(|&t| t == token_type::UNKNOWN).map(|u| u as u32),
        };
        let substitute = substitute(unknown, &control, &missing);
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| AttuneError::ModelFormat(format!("cannot build the BPE model: {e}")))?;

        let err = |e: Box<dyn std::error::Error + Send + Sync>| {
            AttuneError::Tokenizer(format!("cannot build the pre-tokenizer: {e}"))
        };
        let byte_level = ByteLevel::new(false, false, true);
        let pre_tok: PreTokenizerWrapper = match split {
            PreSplit::Gpt2 => byte_level.into(),
            PreSplit::DigitsThenGpt2 => {
                let digits = Split::new(
                    SplitPattern::Regex(r"\p{N}".into()),
                    SplitDelimiterBehavior::Isolated,
                    false,
                )
                .map_err(err)?;
                Sequence::new(vec![digits.into(), byte_level.into()]).into()
            }
        };
        let mut inner = Tokenizer::new(bpe);
        inner.with_pre_tokenizer(Some(pre_tok));
        inner.with_decoder(Some(ByteLevelDecoder::default()));
        inner.add_tokens(&added);

        Ok(BpeTokenizer {
            inner,
            plain: std::sync::OnceLock::new(),
            token_bytes,
            control,
            missing,
            substitute,
            bos,
            eos,
            add_bos,
            pre: pre_name.to_string(),
        })
    }

    pub fn vocab_size(&self) -> usize {
        self.token_bytes.len()
    }

    /// Byte values the vocabulary has no token for.
    pub fn missing_bytes(&self) -> Vec<u8> {
        (0..=255u8).filter(|&b| self.missing[b as usize]).collect()
    }

    /// What each character holding a missing byte becomes.
    pub fn substitute(&self) -> Substitute {
        self.substitute
    }

    /// `tokenizer.ggml.bos_token_id`, if the file has one.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos
    }

    /// `tokenizer.ggml.eos_token_id`, if the file has one.
    pub fn eos_id(&self) -> Option<u32> {
        self.eos
    }

    /// `tokenizer.ggml.add_bos_token` (false when absent): whether a prompt starts with BOS.
    pub fn add_bos(&self) -> bool {
        self.add_bos
    }

    /// The vocabulary entry of `id` as stored in the file (byte characters for normal
    /// tokens, e.g. `"Ġthe"`).
    pub fn token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The id of a vocabulary entry (`"<|im_end|>"`).
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The bytes `id` stands for (a normal token may hold part of a UTF-8 character).
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.token_bytes.get(id as usize).map(|b| &b[..])
    }

    /// Whether `id` is a control token (`<|im_start|>`, `<|endoftext|>`, ...).
    pub fn is_control(&self, id: u32) -> bool {
        self.control.get(id as usize).copied().unwrap_or(false)
    }

    /// Token ids of `text`; control and user-defined token strings in the text become those
    /// tokens. No BOS is added (see [`add_bos`](Self::add_bos)).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.encode_with(&self.inner, text)
    }

    /// Token ids of `text` with every character taken as plain text: `"<|im_start|>"` is
    /// tokenized as the characters it is made of. For untrusted text spliced into a prompt.
    pub fn encode_plain(&self, text: &str) -> Result<Vec<u32>> {
        let plain = self.plain.get_or_init(|| {
            let mut t = self.inner.clone();
            t.set_encode_special_tokens(true);
            t
        });
        self.encode_with(plain, text)
    }

    fn encode_with(&self, tok: &Tokenizer, text: &str) -> Result<Vec<u32>> {
        if text.len() > MAX_TEXT_BYTES {
            return Err(AttuneError::InputTooLarge(format!(
                "text of {} bytes exceeds the {MAX_TEXT_BYTES}-byte limit",
                text.len()
            )));
        }
        let mut ids = Vec::new();
        let mut rest = text;
        while let Some((at, c)) = rest.char_indices().find(|&(_, c)| self.unspellable(c)) {
            ids.extend(encode_raw(tok, &rest[..at])?);
            match self.substitute {
                Substitute::Unknown(u) => ids.push(u),
                Substitute::ReplacementChar => ids.extend(encode_raw(tok, "\u{FFFD}")?),
                Substitute::None => {
                    return Err(AttuneError::Tokenizer(format!(
                        "{c:?} has a byte with no token, and the vocabulary has neither a plain unknown token nor U+FFFD"
                    )))
                }
            }
            rest = &rest[at + c.len_utf8()..];
        }
        ids.extend(encode_raw(tok, rest)?);
        Ok(ids)
    }

    /// Whether one of `c`'s UTF-8 bytes has no token.
    fn unspellable(&self, c: char) -> bool {
        c.encode_utf8(&mut [0; 4]).bytes().any(|b| self.missing[b as usize])
    }

    /// Text of `ids`. Control tokens are left out when `skip_special`; bytes that do not form
    /// valid UTF-8 become U+FFFD. An id outside the vocabulary is `InvalidArgument`.
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        let mut bytes = Vec::with_capacity(ids.len() * 4);
        for &id in ids {
            bytes.extend_from_slice(self.piece_bytes(id, skip_special)?);
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// The same as [`decode`](Self::decode), by the `tokenizers` crate's own decoder (tests
    /// check the two agree).
    pub fn decode_by_tokenizers(&self, ids: &[u32], skip_special: bool) -> Result<String> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| AttuneError::Tokenizer(format!("cannot decode: {e}")))
    }

    fn piece_bytes(&self, id: u32, skip_special: bool) -> Result<&[u8]> {
        let bytes = self.token_bytes(id).ok_or_else(|| {
            AttuneError::InvalidArgument(format!(
                "token id {id} is not below {}",
                self.vocab_size()
            ))
        })?;
        Ok(if skip_special && self.is_control(id) {
            &[]
        } else {
            bytes
        })
    }

    /// A streaming decoder for generated ids.
    pub fn detokenizer(&self, skip_special: bool) -> DetokenizeStream {
        DetokenizeStream {
            utf8: Utf8Stream::default(),
            skip_special,
        }
    }
}

fn encode_raw(tok: &Tokenizer, text: &str) -> Result<Vec<u32>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let enc = tok
        .encode_fast(text, false)
        .map_err(|e| AttuneError::Tokenizer(format!("cannot tokenize: {e}")))?;
    Ok(enc.get_ids().to_vec())
}

/// The unknown token when it is a plain one, else U+FFFD when its bytes all have tokens.
fn substitute(unknown: Option<u32>, control: &[bool], missing: &[bool; 256]) -> Substitute {
    match unknown {
        Some(u) if !control.get(u as usize).copied().unwrap_or(true) => Substitute::Unknown(u),
        _ if "\u{FFFD}".bytes().all(|b| !missing[b as usize]) => Substitute::ReplacementChar,
        _ => Substitute::None,
    }
}

/// Ids in, text out, one token at a time: every piece returned is whole UTF-8 characters.
/// Owns no reference to the tokenizer, so it can live in a generation loop or a JS iterator.
#[derive(Debug, Clone, Default)]
pub struct DetokenizeStream {
    utf8: Utf8Stream,
    skip_special: bool,
}

impl DetokenizeStream {
    /// The text that `id` completes; empty while a character is still incomplete.
    pub fn push(&mut self, tok: &BpeTokenizer, id: u32) -> Result<String> {
        let bytes = tok.piece_bytes(id, self.skip_special)?;
        Ok(self.utf8.push(bytes))
    }

    /// The held-back bytes of an unfinished character, as U+FFFD (empty if none). Call when
    /// generation ends.
    pub fn finish(&mut self) -> String {
        self.utf8.finish()
    }

    /// Bytes held back, waiting for the rest of a character (0 to 3).
    pub fn pending(&self) -> usize {
        self.utf8.pending.len()
    }
}

/// Bytes in, whole UTF-8 characters out. Bytes that can never start or continue a valid
/// character come out as U+FFFD at once, as `String::from_utf8_lossy` would render them;
/// only a valid but unfinished character (at most 3 bytes) is held back.
#[derive(Debug, Clone, Default)]
pub struct Utf8Stream {
    pending: Vec<u8>,
}

impl Utf8Stream {
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(good).expect("checked valid"));
                    match e.error_len() {
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &bad[n..];
                        }
                        None => {
                            // an unfinished character at the end: wait for more bytes
                            rest = bad;
                            break;
                        }
                    }
                }
            }
        }
        let keep = rest.len();
        let start = self.pending.len() - keep;
        self.pending.drain(..start);
        out
    }

    pub fn finish(&mut self) -> String {
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    // Also run compiled to wasm32 (`make test-browser`), where plain #[test] is not picked up.
    use super::*;

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn byte_chars_is_gpt2_map() {
        let m = byte_chars();
        assert_eq!(m[b'!' as usize], '!');
        assert_eq!(m[b' ' as usize], 'Ġ'); // U+0120
        assert_eq!(m[b'\n' as usize], 'Ċ'); // U+010A
        assert_eq!(m[0], 'Ā'); // U+0100
        assert_eq!(m[0xad], 'Ń'); // U+0143, the last of the 68 moved bytes
        let mut seen = std::collections::HashSet::new();
        assert!(m.iter().all(|c| seen.insert(*c)));
    }

    /// A GGUF byte-level vocabulary: every byte except `lacking`, a `<|im_end|>` control token,
    /// optionally an unknown token (`unk`: its type), and the merge `h i`.
    fn vocab_file(lacking: &[u8], unk: Option<i32>) -> Vec<u8> {
        let chars = byte_chars();
        let mut tokens: Vec<String> = (0..=255u8)
            .filter(|b| !lacking.contains(b))
            .map(|b| chars[b as usize].to_string())
            .collect();
        let mut types = vec![token_type::NORMAL; tokens.len()];
        tokens.push("hi".into());
        types.push(token_type::NORMAL);
        tokens.push("<|im_end|>".into());
        types.push(token_type::CONTROL);
        let mut w = crate::model::gguf::GgufWriter::new();
        if let Some(ty) = unk {
            w.add("tokenizer.ggml.unknown_token_id", tokens.len() as u32).unwrap();
            tokens.push("<unk>".into());
            types.push(ty);
        }
        w.add("tokenizer.ggml.model", "gpt2").unwrap();
        w.add("tokenizer.ggml.tokens", tokens).unwrap();
        w.add("tokenizer.ggml.token_type", types).unwrap();
        w.add("tokenizer.ggml.merges", vec!["h i".to_string()]).unwrap();
        w.to_bytes().unwrap()
    }

    fn tokenizer(lacking: &[u8], unk: Option<i32>) -> BpeTokenizer {
        let bytes = vocab_file(lacking, unk);
        BpeTokenizer::from_gguf(&crate::model::gguf::GgufFile::parse(&bytes).unwrap()).unwrap()
    }

    // Fuzzing found: bytes without a token were silently dropped (`encode("\x06")` was empty
    // with SmolLM2), so token counts came out low.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn bytes_without_a_token_become_the_replacement_char() {
        let t = tokenizer(&[0x06, 0x07], None);
        assert_eq!(t.missing_bytes(), vec![0x06, 0x07]);
        assert_eq!(t.substitute(), Substitute::ReplacementChar);
        let fffd = t.encode("\u{FFFD}").unwrap();
        assert_eq!(fffd.len(), 3); // its three bytes, unmerged in this vocabulary
        assert_eq!(t.encode("\x06").unwrap(), fffd);
        let ids = t.encode("hi\x06\x07hi").unwrap();
        assert_eq!(ids, [t.encode("hi").unwrap(), fffd.clone(), fffd, t.encode("hi").unwrap()].concat());
        assert_eq!(t.decode(&ids, false).unwrap(), "hi\u{FFFD}\u{FFFD}hi");
        assert_eq!(t.encode_plain("a\x06<|im_end|>").unwrap().len(), 1 + 3 + "<|im_end|>".len());
        assert_eq!(t.encode("\x06<|im_end|>").unwrap().last(), t.token_id("<|im_end|>").as_ref());
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn a_plain_unknown_token_stands_for_each_unspellable_character() {
        let t = tokenizer(&[0x06], Some(token_type::UNKNOWN));
        let unk = t.token_id("<unk>").unwrap();
        assert_eq!(t.substitute(), Substitute::Unknown(unk));
        assert_eq!(t.encode("\x06\x06").unwrap(), vec![unk, unk]);
        // A control unknown token would let text end a turn: U+FFFD instead.
        let t = tokenizer(&[0x06], Some(token_type::CONTROL));
        assert_eq!(t.substitute(), Substitute::ReplacementChar);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn with_no_substitute_encoding_fails() {
        let t = tokenizer(&[0x06, 0xbf], None); // 0xbf is in U+FFFD
        assert_eq!(t.substitute(), Substitute::None);
        assert_eq!(t.encode("\x06").unwrap_err().code(), "tokenizer");
        assert_eq!(t.encode("hi").unwrap(), vec![t.token_id("hi").unwrap()]);
    }

    fn stream_all(chunks: &[&[u8]]) -> Vec<String> {
        let mut s = Utf8Stream::default();
        let mut out: Vec<String> = chunks.iter().map(|c| s.push(c)).collect();
        out.push(s.finish());
        out
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn utf8_stream_holds_split_characters() {
        let emoji = "😀".as_bytes(); // 4 bytes
        let out = stream_all(&[b"a", &emoji[..1], &emoji[1..3], &emoji[3..], b"b"]);
        assert_eq!(out, ["a", "", "", "😀", "b", ""]);
        let cjk = "中文".as_bytes(); // 3 + 3 bytes
        let out = stream_all(&[&cjk[..2], &cjk[2..4], &cjk[4..]]);
        assert_eq!(out, ["", "中", "文", ""]);
        for piece in out {
            assert!(std::str::from_utf8(piece.as_bytes()).is_ok());
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn utf8_stream_zwj_sequence_bytewise() {
        let text = "👨‍👩‍👧 ok é";
        let mut s = Utf8Stream::default();
        let mut joined = String::new();
        for b in text.as_bytes() {
            let piece = s.push(std::slice::from_ref(b));
            // every piece is whole characters of the text
            assert!(text.contains(&piece));
            joined.push_str(&piece);
        }
        joined.push_str(&s.finish());
        assert_eq!(joined, text);
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn utf8_stream_invalid_bytes_match_lossy() {
        let cases: &[&[&[u8]]] = &[
            &[b"\xff", b"a"],
            &[b"\xe4\xb8", b"a"],      // truncated then interrupted
            &[b"\xf0\x9f", b"\x98"],   // unfinished at the end
            &[b"x\xc3", b"\xa9\x80y"], // é then a stray continuation byte
            &[b"\xed\xa0\x80"],        // a surrogate: never valid
        ];
        for chunks in cases {
            let all: Vec<u8> = chunks.concat();
            let joined = stream_all(chunks).concat();
            assert_eq!(joined, String::from_utf8_lossy(&all), "{chunks:?}");
        }
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn pre_split_names() {
        assert_eq!(pre_split("smollm"), Some(PreSplit::DigitsThenGpt2));
        assert_eq!(pre_split("gpt2"), Some(PreSplit::Gpt2));
        assert_eq!(pre_split("llama-bpe"), None);
    }
}
