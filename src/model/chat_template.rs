//! Chat templates: the Jinja text in a model's `tokenizer.chat_template`, rendered by
//! `minijinja` the way Hugging Face `transformers` renders them with Python `jinja2`:
//! `trim_blocks` and `lstrip_blocks` on, the trailing newline of the template dropped, no
//! HTML escaping, undefined values print as nothing, a `raise_exception(msg)` function, and
//! Python string/dict methods (`.strip()`, `.startswith()`, `.items()`, ...).
//!
//! Variables: `messages` (a list of `{role, content}`), `add_generation_prompt`, `bos_token`,
//! `eos_token`. A template that does not compile, or fails on the given messages (an
//! unknown role, roles that do not alternate, ...), gives `AttuneError::ChatTemplate`.

use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use minijinja::syntax::SyntaxConfig;
use minijinja::{context, Environment, Error as JinjaError, ErrorKind, Value};
use serde::{Deserialize, Serialize};

/// The GGUF key holding the template.
pub const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";
/// Longest template source accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;

const NAME: &str = "chat_template";

/// One message of a conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user` or `assistant` (the template decides what it accepts).
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Self {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }

    pub fn system(content: impl Into<String>) -> Self {
        Self::new("system", content)
    }

    pub fn user(content: impl Into<String>) -> Self {
        Self::new("user", content)
    }

    pub fn assistant(content: impl Into<String>) -> Self {
        Self::new("assistant", content)
    }
}

/// A compiled chat template with the model's BOS and EOS token texts.
pub struct ChatTemplate {
    env: Environment<'static>,
    bos_token: String,
    eos_token: String,
}

impl std::fmt::Debug for ChatTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChatTemplate")
            .field("bos_token", &self.bos_token)
            .field("eos_token", &self.eos_token)
            .finish_non_exhaustive()
    }
}

fn template_error(what: &str, e: &JinjaError) -> AttuneError {
    let mut msg = format!("{what}: {}", e.kind());
    if let Some(detail) = e.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    if let Some(line) = e.line() {
        msg.push_str(&format!(" (template line {line})"));
    }
    AttuneError::ChatTemplate(msg)
}

impl ChatTemplate {
    /// Compiles `source`. A syntax error gives `ChatTemplate`.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(AttuneError::ChatTemplate(format!(
                "template of {} bytes exceeds the {MAX_TEMPLATE_BYTES}-byte limit",
                source.len()
            )));
        }
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(false)
            .build()
            .map_err(|e| template_error("cannot configure the template syntax", &e))?;
        env.set_syntax(syntax);
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |msg: String| -> std::result::Result<String, JinjaError> {
                Err(JinjaError::new(ErrorKind::InvalidOperation, msg))
            },
        );
        env.add_template_owned(NAME, source.to_string())
            .map_err(|e| template_error("cannot compile", &e))?;
        Ok(ChatTemplate {
            env,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
        })
    }

    /// The template of a GGUF file (`tokenizer.chat_template`), with the texts of its BOS and
    /// EOS tokens (empty when the file names none). A file without a template gives
    /// `ModelUnsupported`.
    pub fn from_gguf(file: &GgufFile<'_>) -> Result<Self> {
        let source = file.opt::<&str>(CHAT_TEMPLATE_KEY)?.ok_or_else(|| {
            AttuneError::ModelUnsupported(format!("the model has no {CHAT_TEMPLATE_KEY}"))
        })?;
        let token_text = |key: &str| -> Result<String> {
            let Some(id) = file.opt::<u32>(key)? else {
                return Ok(String::new());
            };
            let tokens = file.str_array("tokenizer.ggml.tokens")?;
            tokens
                .get(id as usize)
                .cloned()
                .ok_or_else(|| AttuneError::ModelFormat(format!("{key} = {id} is not a token id")))
        };
        let bos = token_text("tokenizer.ggml.bos_token_id")?;
        let eos = token_text("tokenizer.ggml.eos_token_id")?;
        Self::new(source, &bos, &eos)
    }

    pub fn bos_token(&self) -> &str {
        &self.bos_token
    }

    pub fn eos_token(&self) -> &str {
        &self.eos_token
    }

    /// The prompt text for `messages`; with `add_generation_prompt` it ends where the
    /// assistant's reply begins.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let tmpl = self
            .env
            .get_template(NAME)
            .map_err(|e| template_error("cannot load", &e))?;
        tmpl.render(context! {
            messages => messages
                .iter()
                .map(|m| Value::from_pairs([("role", m.role.as_str()), ("content", m.content.as_str())]))
                .collect::<Vec<Value>>(),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        })
        .map_err(|e| template_error("cannot render", &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[test]
    fn renders_chatml() {
        let t = ChatTemplate::new(CHATML, "<s>", "</s>").unwrap();
        let out = t
            .render(
                &[ChatMessage::system("Be brief."), ChatMessage::user("Hi")],
                true,
            )
            .unwrap();
        assert_eq!(out, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    }

    #[test]
    fn content_is_data_not_template() {
        let t = ChatTemplate::new(CHATML, "", "").unwrap();
        let out = t
            .render(&[ChatMessage::user("{{ 7 * 6 }} <b>&</b>")], false)
            .unwrap();
        assert!(out.contains("{{ 7 * 6 }} <b>&</b>"), "{out}");
    }

    #[test]
    fn whitespace_control_like_transformers() {
        // trim_blocks drops the newline after a block tag; lstrip_blocks the indent before it
        let src = "{% for m in messages %}\n    {% if m.role == 'user' %}\n[{{ m.content }}]\n    {% endif %}\n{% endfor %}\n";
        let t = ChatTemplate::new(src, "", "").unwrap();
        let out = t
            .render(
                &[ChatMessage::user("a"), ChatMessage::assistant("b")],
                false,
            )
            .unwrap();
        assert_eq!(out, "[a]\n");
    }

    #[test]
    fn python_methods_and_variables() {
        let src = "{{ bos_token }}{% for m in messages %}{{ m['content'].strip().upper() }}{% if m['role'].startswith('sys') %}!{% endif %}{% endfor %}{{ eos_token }}";
        let t = ChatTemplate::new(src, "<s>", "</s>").unwrap();
        let out = t
            .render(
                &[ChatMessage::system("  hi  "), ChatMessage::user(" yo")],
                false,
            )
            .unwrap();
        assert_eq!(out, "<s>HI!YO</s>");
    }

    #[test]
    fn errors_have_the_chat_template_code() {
        let e = ChatTemplate::new("{% for x in %}", "", "").unwrap_err();
        assert_eq!(e.code(), "chat_template", "{e}");
        let src = "{% for m in messages %}{% if m.role not in ['user', 'assistant'] %}{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        assert!(t.render(&[ChatMessage::user("ok")], true).is_ok());
        let e = t.render(&[ChatMessage::system("no")], true).unwrap_err();
        assert_eq!(e.code(), "chat_template");
        assert!(
            e.to_string()
                .contains("Only user and assistant roles are supported!"),
            "{e}"
        );
        let e = ChatTemplate::new(&"x".repeat(MAX_TEMPLATE_BYTES + 1), "", "").unwrap_err();
        assert_eq!(e.code(), "chat_template");
    }
}
