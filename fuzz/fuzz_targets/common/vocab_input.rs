//! The input layout of the tokenizer targets, simple enough that seeds are cut from the real
//! vocabularies: sections split by NUL bytes, `header \0 tokens \0 merges \0 text`. Tokens and
//! merges are one per line; a token line starting with a byte 0x01..=0x06 has that llama.cpp
//! token type (1 normal … 6 byte), else it is normal. Sizes are bounded so one input stays fast.

// Each target reads the sections it needs (the BERT one has no merges).
#![allow(dead_code)]

/// Most tokens and merges read from one input.
pub const MAX_ENTRIES: usize = 512;

pub struct VocabInput<'a> {
    pub header: &'a [u8],
    /// (text, llama.cpp token type)
    pub tokens: Vec<(String, i32)>,
    pub merges: Vec<String>,
    pub text: String,
}

impl<'a> VocabInput<'a> {
    pub fn parse(data: &'a [u8]) -> VocabInput<'a> {
        let mut parts = data.splitn(4, |&b| b == 0);
        let header = parts.next().unwrap_or_default();
        let lines = |s: Option<&[u8]>| -> Vec<String> {
            String::from_utf8_lossy(s.unwrap_or_default()).split('\n').take(MAX_ENTRIES).map(str::to_string).collect()
        };
        let tokens = lines(parts.next())
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|l| match l.as_bytes()[0] {
                t @ 1..=6 => (l[1..].to_string(), t as i32),
                _ => (l, 1),
            })
            .collect();
        let merges = lines(parts.next()).into_iter().filter(|l| !l.is_empty()).collect();
        let text = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
        VocabInput { header, tokens, merges, text }
    }

    /// Header byte `i`, 0 when the header is shorter.
    pub fn byte(&self, i: usize) -> u8 {
        self.header.get(i).copied().unwrap_or(0)
    }

    /// A token id picked by header byte `i` (0xff: none).
    pub fn token_id(&self, i: usize) -> Option<u32> {
        match self.byte(i) {
            0xff => None,
            b if self.tokens.is_empty() => Some(b as u32),
            b => Some(b as u32 % self.tokens.len() as u32 + (b as u32 / 128) * self.tokens.len() as u32 / 2),
        }
    }
}
