//! Local assistant replies: a Llama-family chat model (SmolLM2-135M-Instruct) from one GGUF —
//! its tokenizer, chat template and weights — generating a reply token by token, streamed as
//! whole UTF-8 pieces.
//!
//! Two ways to drive it:
//! - [`Assistant::reply`] / [`Assistant::complete`]: a callback gets every piece and returns
//!   [`ControlFlow::Break`] to cancel.
//! - [`Assistant::start_chat`] / [`Assistant::start_raw`] then [`Assistant::next_piece`] until
//!   it yields `None`: an owned [`Generation`] that a JS async iterator can hold between
//!   calls; dropping it mid-way is cancellation.
//!
//! Context policy: a chat prompt that does not leave room for at least one reply token in the
//! context is shortened by dropping the oldest turns (a leading system message and the last
//! message are always kept; a user turn goes together with the assistant turn that answered
//! it). If the system message plus the last message still do not fit, the request is refused
//! with `input_too_large`; a raw prompt that does not fit is refused the same way. A reply
//! stops when the context is full (`FinishReason::ContextFull`).

use crate::compute::device::{DeviceChoice, DeviceReport};
use crate::compute::{Backend, SharedBytes};
use crate::error::{AttuneError, Result};
use crate::model::bpe_tokenizer::{BpeTokenizer, DetokenizeStream};
use crate::model::chat_template::{ChatMessage, ChatTemplate};
use crate::model::gguf::GgufFile;
use crate::model::llama::Decoder;
use crate::model::sampler::{Sampler, SamplerOptions};
use std::ops::ControlFlow;

pub mod context;
mod stop;
mod third_person;
pub use context::{Context, ContextOptions};
pub use stop::StopMatcher;

/// Options of one reply.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplyOptions {
    /// Most tokens generated (EOS and control tokens count, but are not shown).
    pub max_tokens: usize,
    /// Default: [`SamplerOptions::reply`] (greedy, DRY penalty on).
    pub sampling: SamplerOptions,
    /// The reply ends before the first occurrence of any of these (not included in the text).
    pub stop: Vec<String>,
    /// A context block (see [`context`]) joined to the system prompt of a chat reply.
    /// `Session::reply` fills it from the profile unless `use_context` is off.
    pub context: Option<String>,
    /// Whether `Session::reply` / `Session::start_chat` add the profile's context (default on).
    pub use_context: bool,
    /// Options of that context (its token budget first).
    pub context_options: ContextOptions,
}

impl Default for ReplyOptions {
    fn default() -> Self {
        ReplyOptions {
            max_tokens: 256,
            sampling: SamplerOptions::reply(),
            stop: Vec::new(),
            context: None,
            use_context: true,
            context_options: ContextOptions::default(),
        }
    }
}

/// Why a reply ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The model produced its end-of-sequence token (or another control token).
    Eos,
    /// A stop string appeared.
    Stop,
    /// `max_tokens` were generated.
    MaxTokens,
    /// The context is full.
    ContextFull,
    /// The caller cancelled.
    Cancelled,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Eos => "eos",
            FinishReason::Stop => "stop",
            FinishReason::MaxTokens => "max_tokens",
            FinishReason::ContextFull => "context_full",
            FinishReason::Cancelled => "cancelled",
        }
    }
}

/// A finished reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// Everything streamed, concatenated.
    pub text: String,
    /// Generated ids (including a final EOS, if any).
    pub tokens: Vec<u32>,
    pub prompt_tokens: usize,
    /// Oldest messages left out to fit the context.
    pub dropped_messages: usize,
    pub finish: FinishReason,
}

/// An owned, in-progress reply: drive it with [`Assistant::next_piece`].
pub struct Generation {
    prompt: Vec<u32>,
    generated: Vec<u32>,
    max_tokens: usize,
    sampler: Sampler,
    detok: DetokenizeStream,
    stop: StopMatcher,
    started: bool,
    finish: Option<FinishReason>,
    flushed: bool,
    dropped_messages: usize,
    text: String,
}

impl Generation {
    pub fn prompt_tokens(&self) -> usize {
        self.prompt.len()
    }

    pub fn tokens(&self) -> &[u32] {
        &self.generated
    }

    /// Set once the reply has ended (a last piece may still be pending).
    pub fn finish_reason(&self) -> Option<FinishReason> {
        self.finish
    }

    pub fn dropped_messages(&self) -> usize {
        self.dropped_messages
    }

    /// The text streamed so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn into_reply(self, finish: FinishReason) -> Reply {
        Reply {
            text: self.text,
            tokens: self.generated,
            prompt_tokens: self.prompt.len(),
            dropped_messages: self.dropped_messages,
            finish,
        }
    }
}

pub struct Assistant {
    decoder: Decoder,
    tokenizer: BpeTokenizer,
    template: Option<ChatTemplate>,
    name: String,
}

impl Assistant {
    /// Loads a `llama` GGUF (tokenizer and chat template inside) onto `backend`, with the
    /// default context ([`crate::model::llama::DEFAULT_CONTEXT`]).
    pub fn load(bytes: SharedBytes, backend: Box<dyn Backend>) -> Result<Self> {
        Self::load_with_context(bytes, backend, None)
    }

    /// As [`load`](Self::load) with a context of `context` tokens (capped by the model's).
    pub fn load_with_context(bytes: SharedBytes, backend: Box<dyn Backend>, context: Option<usize>) -> Result<Self> {
        let file = GgufFile::parse(&bytes)?;
        let parts = Parts::read(&file)?;
        parts.join(Decoder::from_gguf(&file, &bytes, backend, context)?)
    }

    /// Loads onto the device `choice` asks for (see [`crate::compute::device`]): the chosen
    /// backend and the reason for any fallback are in [`device`](Self::device).
    pub async fn load_on(bytes: SharedBytes, choice: DeviceChoice, context: Option<usize>) -> Result<Self> {
        let file = GgufFile::parse(&bytes)?;
        let parts = Parts::read(&file)?;
        parts.join(Decoder::from_gguf_on(&file, &bytes, choice, context).await?)
    }

    /// The backend in use and why (kept current if a GPU failure moves the model to the CPU).
    pub fn device(&self) -> &DeviceReport {
        self.decoder.device()
    }

    pub fn model_name(&self) -> &str {
        &self.name
    }

    /// Tokens of `text` as message content (the counter for a context budget).
    pub fn count_tokens(&self, text: &str) -> Result<usize> {
        Ok(self.tokenizer.encode_plain(text)?.len())
    }

    pub fn tokenizer(&self) -> &BpeTokenizer {
        &self.tokenizer
    }

    pub fn decoder(&self) -> &Decoder {
        &self.decoder
    }

    pub fn context(&self) -> usize {
        self.decoder.context()
    }

    /// The prompt text the chat template makes of `messages` (with the generation prompt).
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String> {
        self.template
            .as_ref()
            .ok_or_else(|| AttuneError::ModelUnsupported("the model has no chat template; use raw mode".into()))?
            .render(messages, true)
    }

    /// Prompt ids of `messages`, after dropping the oldest turns that do not fit (see the
    /// module docs), and how many messages were dropped.
    pub fn chat_prompt(&self, messages: &[ChatMessage]) -> Result<(Vec<u32>, usize)> {
        if messages.is_empty() {
            return Err(AttuneError::InvalidArgument("no messages".into()));
        }
        let sys = usize::from(messages[0].role == "system");
        let mut kept: Vec<ChatMessage> = messages.to_vec();
        loop {
            let ids = self.encode_messages(&kept)?;
            if ids.len() < self.context() {
                return Ok((ids, messages.len() - kept.len()));
            }
            if kept.len() <= sys + 1 {
                return Err(AttuneError::InputTooLarge(format!(
                    "the prompt is {} tokens, the context {}: even the last message alone does not fit",
                    ids.len(),
                    self.context()
                )));
            }
            kept.remove(sys);
            // Drop the answer of the dropped turn too, unless only the last message is left.
            if kept.len() > sys + 1 && kept[sys].role == "assistant" {
                kept.remove(sys);
            }
        }
    }

    /// Prompt ids of `messages` through the template. The template's own text may hold control
    /// tokens; message contents never do: a content that says `<|im_end|>` is those characters,
    /// not the token, so page or item text spliced into a message cannot end a turn or open a
    /// new one. The template is rendered with a marker in place of each content; the text
    /// between markers is tokenized with control tokens, the contents as plain text.
    fn encode_messages(&self, messages: &[ChatMessage]) -> Result<Vec<u32>> {
        let marker = |i: usize| format!("\u{E000}{i}\u{E001}");
        let marked: Vec<ChatMessage> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| ChatMessage { role: m.role.clone(), content: marker(i) })
            .collect();
        let rendered = self.render(&marked)?;
        let mut ids = Vec::new();
        let mut rest = rendered.as_str();
        for (i, m) in messages.iter().enumerate() {
            let mark = marker(i);
            // A template may leave a message out; then its content is simply not in the prompt.
            let Some(at) = rest.find(&mark) else { continue };
            ids.extend(self.tokenizer.encode(&rest[..at])?);
            ids.extend(self.tokenizer.encode_plain(&m.content)?);
            rest = &rest[at + mark.len()..];
        }
        ids.extend(self.tokenizer.encode(rest)?);
        Ok(ids)
    }

    /// Prompt ids of a raw (untemplated) prompt: BOS first if the model asks for it.
    pub fn raw_prompt(&self, text: &str) -> Result<Vec<u32>> {
        let mut ids = Vec::new();
        if self.tokenizer.add_bos() {
            ids.extend(self.tokenizer.bos_id());
        }
        ids.extend(self.tokenizer.encode(text)?);
        if ids.is_empty() {
            return Err(AttuneError::InvalidArgument("empty raw prompt (and no BOS token)".into()));
        }
        if ids.len() >= self.context() {
            return Err(AttuneError::InputTooLarge(format!(
                "the raw prompt is {} tokens, the context {}",
                ids.len(),
                self.context()
            )));
        }
        Ok(ids)
    }

    /// Starts a chat reply to `messages`.
    /// `opts.context`, if any, is joined to the system prompt, and the reply stops where it
    /// starts writing the block's delimiters (a reply that recites its context).
    pub fn start_chat(&self, messages: &[ChatMessage], opts: &ReplyOptions) -> Result<Generation> {
        let (messages, opts) = match opts.context.as_deref() {
            Some(c) if !c.is_empty() && !messages.is_empty() => {
                let mut o = opts.clone();
                o.stop.extend(context::STOPS.iter().map(|s| s.to_string()));
                (context::with_context(messages, c), std::borrow::Cow::Owned(o))
            }
            _ => (messages.to_vec(), std::borrow::Cow::Borrowed(opts)),
        };
        let (ids, dropped) = self.chat_prompt(&messages)?;
        let mut g = self.start_ids(ids, &opts)?;
        g.dropped_messages = dropped;
        if let Some(c) = opts.context.as_deref().filter(|c| !c.is_empty()) {
            // What the reply should not recite (`echo_allowed_length`).
            g.sampler = Sampler::new(opts.sampling.clone())?.with_echo_source(self.tokenizer.encode_plain(c)?);
        }
        Ok(g)
    }

    /// Starts a plain continuation of `text` (no template).
    pub fn start_raw(&self, text: &str, opts: &ReplyOptions) -> Result<Generation> {
        self.start_ids(self.raw_prompt(text)?, opts)
    }

    /// Starts a continuation of prompt ids.
    pub fn start_ids(&self, prompt: Vec<u32>, opts: &ReplyOptions) -> Result<Generation> {
        if prompt.is_empty() || prompt.len() >= self.context() {
            return Err(AttuneError::InputTooLarge(format!(
                "a prompt of {} tokens for a context of {}",
                prompt.len(),
                self.context()
            )));
        }
        Ok(Generation {
            prompt,
            generated: Vec::new(),
            max_tokens: opts.max_tokens,
            sampler: Sampler::new(opts.sampling.clone())?,
            detok: self.tokenizer.detokenizer(true),
            stop: StopMatcher::new(&opts.stop)?,
            started: false,
            finish: None,
            flushed: false,
            dropped_messages: 0,
            text: String::new(),
        })
    }

    /// The next piece of text of `g` (whole UTF-8 characters, never empty), or `None` once the
    /// reply has ended (see [`Generation::finish_reason`]).
    pub async fn next_piece(&mut self, g: &mut Generation) -> Result<Option<String>> {
        loop {
            if g.finish.is_some() {
                if g.flushed {
                    return Ok(None);
                }
                g.flushed = true;
                let mut rest = String::new();
                if g.finish != Some(FinishReason::Stop) {
                    let tail = g.detok.finish();
                    rest = g.stop.push(&tail).0;
                    rest.push_str(&g.stop.flush());
                }
                if rest.is_empty() {
                    return Ok(None);
                }
                g.text.push_str(&rest);
                return Ok(Some(rest));
            }
            if g.generated.len() >= g.max_tokens {
                g.finish = Some(FinishReason::MaxTokens);
                continue;
            }
            let history: Vec<u32> = g.prompt.iter().chain(&g.generated).copied().collect();
            if !g.started {
                g.started = true;
            } else {
                // The last sampled id joins the cache now, not when it was sampled, so a reply
                // that ends there costs no extra pass.
                if history.len() > self.context() {
                    g.finish = Some(FinishReason::ContextFull);
                    continue;
                }
            }
            // Feeding the whole sequence reuses the cached prefix: only the new id runs.
            let mut logits = self.decoder.feed(&history).await?;
            let id = g.sampler.sample_reply(&mut logits, &history, g.prompt.len())?;
            g.generated.push(id);
            if Some(id) == self.tokenizer.eos_id() || self.tokenizer.is_control(id) {
                g.finish = Some(FinishReason::Eos);
                continue;
            }
            let piece = g.detok.push(&self.tokenizer, id)?;
            let (out, stopped) = g.stop.push(&piece);
            if stopped {
                g.finish = Some(FinishReason::Stop);
            }
            if !out.is_empty() {
                g.text.push_str(&out);
                return Ok(Some(out));
            }
        }
    }

    /// Drives `g` to the end, handing every piece to `on_piece`; `Break` cancels.
    pub async fn run(
        &mut self,
        mut g: Generation,
        mut on_piece: impl FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Reply> {
        while let Some(piece) = self.next_piece(&mut g).await? {
            if on_piece(&piece).is_break() {
                return Ok(g.into_reply(FinishReason::Cancelled));
            }
        }
        let finish = g.finish.unwrap_or(FinishReason::Eos);
        Ok(g.into_reply(finish))
    }

    /// A chat reply to `messages`, streamed through `on_piece` (return `Break` to cancel).
    pub async fn reply(
        &mut self,
        messages: &[ChatMessage],
        opts: &ReplyOptions,
        on_piece: impl FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Reply> {
        let g = self.start_chat(messages, opts)?;
        self.run(g, on_piece).await
    }

    /// A plain continuation of `prompt` (no chat template), streamed like [`reply`](Self::reply).
    pub async fn complete(
        &mut self,
        prompt: &str,
        opts: &ReplyOptions,
        on_piece: impl FnMut(&str) -> ControlFlow<()>,
    ) -> Result<Reply> {
        let g = self.start_raw(prompt, opts)?;
        self.run(g, on_piece).await
    }

    /// Plain greedy ids (no penalty) after `prompt` without detokenizing (tests, benchmarks):
    /// `n` tokens or up to and including EOS.
    pub async fn greedy_ids(&mut self, prompt: &[u32], n: usize) -> Result<Vec<u32>> {
        let opts = ReplyOptions { max_tokens: n, sampling: SamplerOptions::default(), ..Default::default() };
        let mut g = self.start_ids(prompt.to_vec(), &opts)?;
        while self.next_piece(&mut g).await?.is_some() {}
        Ok(g.generated)
    }

    /// The decoder's logits after `ids` (tests).
    pub async fn logits(&mut self, ids: &[u32]) -> Result<Vec<f32>> {
        self.decoder.feed(ids).await
    }
}

/// What an [`Assistant`] reads from the file besides the decoder.
struct Parts {
    tokenizer: BpeTokenizer,
    template: Option<ChatTemplate>,
    name: String,
}

impl Parts {
    fn read(file: &GgufFile<'_>) -> Result<Self> {
        let tokenizer = BpeTokenizer::from_gguf(file)?;
        let template = match ChatTemplate::from_gguf(file) {
            Ok(t) => Some(t),
            Err(AttuneError::ModelUnsupported(_)) => None, // no template: raw mode only
            Err(e) => return Err(e),
        };
        let name = file.str("general.name").unwrap_or("llama").to_string();
        Ok(Parts { tokenizer, template, name })
    }

    fn join(self, decoder: Decoder) -> Result<Assistant> {
        if self.tokenizer.vocab_size() > decoder.config().vocab {
            return Err(AttuneError::ModelFormat(format!(
                "the tokenizer has {} tokens, the model's embedding {}",
                self.tokenizer.vocab_size(),
                decoder.config().vocab
            )));
        }
        Ok(Assistant { decoder, tokenizer: self.tokenizer, template: self.template, name: self.name })
    }
}

impl Assistant {
    /// Forgets the cached sequence: the next prompt is processed from its first token.
    pub fn reset(&mut self) {
        self.decoder.reset();
    }
}
