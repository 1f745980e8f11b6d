//! Chat templates: the Jinja text in a model's `tokenizer.chat_template`, rendered by
//! `minijinja` the way Hugging Face `transformers` renders them with Python `jinja2`:
//! `trim_blocks` and `lstrip_blocks` on, the trailing newline of the template dropped, no
//! HTML escaping, undefined values print as nothing, a `raise_exception(msg)` function, and
//! Python string/dict methods (`.strip()`, `.startswith()`, `.items()`, ...).
//!
//! Variables: `messages` (a list of `{role, content}`), `add_generation_prompt`, `bos_token`,
//! `eos_token`. A template that does not compile, or fails on the given messages (an
//! unknown role, roles that do not alternate, ...), gives `AttuneError::ChatTemplate`.
//!
//! The template comes from the model file, so it is untrusted input: its size and the operator
//! count of each tag are checked before minijinja parses it (its parser recurses once per
//! operator of a chain), and each render runs on a bounded fuel budget (minijinja charges
//! instructions and the bytes of the data a template makes, so loops and memory are bounded)
//! and writes into a bounded buffer.

use crate::error::{AttuneError, Result};
use crate::model::gguf::GgufFile;
use crate::model::template_namespaces::check_namespace_cycles;
use minijinja::syntax::SyntaxConfig;
use minijinja::{context, Environment, Error as JinjaError, ErrorKind, Value};
use serde::{Deserialize, Serialize};

/// The GGUF key holding the template.
pub const CHAT_TEMPLATE_KEY: &str = "tokenizer.chat_template";
/// Longest template source accepted, in bytes.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// Most operators (and opening brackets) one `{{ }}` or `{% %}` tag may hold. minijinja's parser
/// and compiler recurse once per operator of a chain (`- - 1`, `a.b.c`, `1 + 1 + 1`) and only
/// guard brackets and nested statements, so a long chain would overflow the stack (an abort
/// natively, a trap in wasm) instead of failing. Real chat templates stay far below this.
pub const MAX_TAG_OPERATORS: usize = 256;
/// Fuel of one render before the allowance for the messages' text. minijinja charges one fuel per
/// instruction and one per 64 bytes of data made (strings, lists, output), so this bounds loops,
/// memory, and how deep a template can nest a value (which the engine prints and drops by
/// recursion). Many times what a real template spends on a long conversation.
pub const RENDER_FUEL: u64 = 20_000;
/// One more fuel per this many bytes of message content: room to copy the text several times.
const CONTENT_BYTES_PER_FUEL: u64 = 8;
/// Longest rendered prompt, in bytes, beyond twice the messages' own text.
pub const MAX_RENDER_BYTES: usize = 1 << 20;

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

/// Refuses a tag with more than [`MAX_TAG_OPERATORS`] operators, before minijinja sees it.
fn check_tag_operators(source: &str) -> Result<()> {
    let b = source.as_bytes();
    let mut i = 0;
    while i + 1 < b.len() {
        match (b[i], b[i + 1]) {
            (b'{', open @ (b'{' | b'%')) => {
                let close = if open == b'{' { b'}' } else { b'%' };
                let (ops, end) = scan_tag(b, i + 2, close);
                if ops > MAX_TAG_OPERATORS {
                    return Err(AttuneError::ChatTemplate(format!(
                        "a tag at byte {i} has more than {MAX_TAG_OPERATORS} operators"
                    )));
                }
                i = end;
            }
            (b'{', b'#') => i = find(b, i + 2, b"#}").map_or(b.len(), |at| at + 2),
            _ => i += 1,
        }
    }
    Ok(())
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|at| from + at)
}

/// The operator count of the tag whose body starts at `i`, and where the tag ends. Like
/// minijinja's lexer, `close` then `}` (`}}` or `%}`) ends a tag only outside strings and
/// brackets; an unclosed bracket makes the rest of the source count, which errs on the side
/// of refusing.
fn scan_tag(b: &[u8], mut i: usize, close: u8) -> (usize, usize) {
    let (mut ops, mut depth, mut quote) = (0usize, 0isize, None);
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            match c {
                b'\\' => i += 1, // the escaped byte cannot close the string
                _ if c == q => quote = None,
                _ => {}
            }
            i += 1;
            continue;
        }
        if depth == 0 && c == close && b.get(i + 1) == Some(&b'}') {
            return (ops, i + 2);
        }
        match c {
            b'\'' | b'"' => quote = Some(c),
            b'(' | b'[' | b'{' => (ops, depth) = (ops + 1, depth + 1),
            b')' | b']' | b'}' => depth -= 1,
            b'-' | b'+' | b'*' | b'/' | b'%' | b'~' | b'|' | b'.' | b'<' | b'>' | b'=' | b'!' => ops += 1,
            c if c.is_ascii_alphabetic() || c == b'_' => {
                let start = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                let word = &b[start..i];
                ops += usize::from(matches!(word, b"not" | b"and" | b"or" | b"if" | b"else" | b"is" | b"in"));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (ops, i)
}

/// An output buffer that refuses to grow past `cap` bytes.
struct CappedWriter {
    buf: Vec<u8>,
    cap: usize,
    full: bool,
}

impl std::io::Write for CappedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > self.cap {
            self.full = true;
            return Err(std::io::Error::other("the rendered prompt is too long"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl ChatTemplate {
    /// Compiles `source`. A syntax error, or a template over the size and operator limits,
    /// gives `ChatTemplate`.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(AttuneError::ChatTemplate(format!(
                "template of {} bytes exceeds the {MAX_TEMPLATE_BYTES}-byte limit",
                source.len()
            )));
        }
        check_tag_operators(source)?;
        let mut env = Environment::new();
        let syntax = SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(false)
            .build()
            .map_err(|e| template_error("cannot configure the template syntax", &e))?;
        check_namespace_cycles(source, syntax.clone())?;
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
    /// assistant's reply begins. A template that fails, runs out of fuel (see [`RENDER_FUEL`])
    /// or writes more than [`MAX_RENDER_BYTES`] beyond twice the messages' text gives
    /// `ChatTemplate`.
    pub fn render(&self, messages: &[ChatMessage], add_generation_prompt: bool) -> Result<String> {
        let content: usize = messages.iter().map(|m| m.role.len() + m.content.len()).sum();
        let mut env = self.env.clone(); // shares the compiled template; only the fuel differs
        env.set_fuel(Some(RENDER_FUEL.saturating_add(content as u64 / CONTENT_BYTES_PER_FUEL)));
        let tmpl = env
            .get_template(NAME)
            .map_err(|e| template_error("cannot load", &e))?;
        let cap = MAX_RENDER_BYTES.saturating_add(content.saturating_mul(2));
        let mut out = CappedWriter { buf: Vec::new(), cap, full: false };
        let ctx = context! {
            messages => messages
                .iter()
                .map(|m| Value::from_pairs([("role", m.role.as_str()), ("content", m.content.as_str())]))
                .collect::<Vec<Value>>(),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        let rendered = tmpl.render_captured_to(ctx, &mut out);
        if out.full {
            return Err(AttuneError::ChatTemplate(format!(
                "the rendered prompt exceeds {cap} bytes ({MAX_RENDER_BYTES} beyond twice the messages' text)"
            )));
        }
        rendered.map_err(|e| template_error("cannot render", &e))?;
        String::from_utf8(out.buf)
            .map_err(|_| AttuneError::ChatTemplate("the rendered prompt is not UTF-8".into()))
    }
}

#[cfg(test)]
mod tests {
    // Also run compiled to wasm32 (`make test-browser`), where plain #[test] is not picked up.
    use super::*;

    const CHATML: &str = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
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

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn content_is_data_not_template() {
        let t = ChatTemplate::new(CHATML, "", "").unwrap();
        let out = t
            .render(&[ChatMessage::user("{{ 7 * 6 }} <b>&</b>")], false)
            .unwrap();
        assert!(out.contains("{{ 7 * 6 }} <b>&</b>"), "{out}");
    }

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
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

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
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

    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
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

    /// The error of compiling `src`, which must fail.
    fn compile_error(src: &str) -> AttuneError {
        match ChatTemplate::new(src, "", "") {
            Ok(_) => panic!("compiled: {}", &src[..src.len().min(80)]),
            Err(e) => e,
        }
    }

    /// The error of rendering `src` for `messages`, which must compile and then fail.
    fn render_error(src: &str, messages: &[ChatMessage]) -> AttuneError {
        let t = ChatTemplate::new(src, "", "").unwrap();
        match t.render(messages, true) {
            Ok(out) => panic!("rendered {} bytes", out.len()),
            Err(e) => e,
        }
    }

    // Fuzzing found: 30 000 nested unary minus overflowed the stack in minijinja's parser.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn deeply_nested_unary_minus_is_refused_before_parsing() {
        let e = compile_error(&format!("{{{{ {}1 }}}}", "-".repeat(30_000)));
        assert_eq!(e.code(), "chat_template");
        assert!(e.to_string().contains("operators"), "{e}");
    }

    // The parser recurses on every operator chain, not only unary minus.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn long_operator_chains_are_refused() {
        let n = 30_000;
        for src in [
            format!("{{{{ {}1 }}}}", "not ".repeat(n)),
            format!("{{{{ 1{} }}}}", " + 1".repeat(n)),
            format!("{{{{ x{} }}}}", ".a".repeat(n)),
            format!("{{{{ x{} }}}}", "[0]".repeat(n)),
            format!("{{{{ 'a'{} }}}}", "|upper".repeat(n)),
            format!("{{% set x = 1{} %}}", " and 1".repeat(n)),
            // `}}` inside brackets does not end the tag, so it cannot reset the count
            format!("{{{{ {{'a': {{'b': 1}}}} ~ {}1 }}}}", "-".repeat(n)),
        ] {
            assert_eq!(compile_error(&src).code(), "chat_template");
        }
        let at_limit = format!("{{{{ 1{} }}}}", " + 1".repeat(MAX_TAG_OPERATORS));
        assert!(ChatTemplate::new(&at_limit, "", "").is_ok());
    }

    // Only operators inside tags count: text, strings and comments may hold anything.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn operators_in_text_strings_and_comments_are_not_counted() {
        let many = "-+.|(".repeat(2_000);
        let src = format!("{many}{{# {many} #}}{{{{ '{many}' ~ \"{many}\" }}}}{{{{ 'it\\'s' }}}}");
        let t = ChatTemplate::new(&src, "", "").unwrap();
        let out = t.render(&[], false).unwrap();
        assert_eq!(out.len(), 3 * many.len() + 4);
    }

    // Fuzzing found: two nested range(100000) loops never ended.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn endless_loops_run_out_of_fuel() {
        let src = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
        let e = render_error(src, &[ChatMessage::user("hi")]);
        assert_eq!(e.code(), "chat_template");
        assert!(e.to_string().contains("fuel"), "{e}");
    }

    // Fuzzing found: doubling a string 40 times, or indent(1e9), exhausted memory.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn memory_bombs_run_out_of_fuel() {
        let unrolled = format!("{{% set s = 'x' %}}{}{{{{ s }}}}", "{% set s = s ~ s %}".repeat(40));
        let looped = "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}{{ ns.s }}";
        let repeated = "{{ 'x' * 1000000000 }}";
        let indent = "{{ 'a\nb' | indent(1000000000) }}";
        for src in [unrolled.as_str(), looped, repeated, indent] {
            let e = render_error(src, &[ChatMessage::user("hi")]);
            assert_eq!(e.code(), "chat_template", "{src}: {e}");
        }
    }

    // A value nested by a loop is printed and dropped by recursion: the fuel stops the loop
    // long before that could exhaust the stack.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn deeply_nested_values_run_out_of_fuel() {
        let src = "{% set ns = namespace(a=[]) %}{% for i in range(100000) %}{% set ns.a = [ns.a] %}{% endfor %}{{ ns.a }}";
        let e = render_error(src, &[ChatMessage::user("hi")]);
        assert!(e.to_string().contains("fuel"), "{e}");
    }

    // Natively, in a thread with a small stack: printing about the deepest list the fuel
    // allows, and running out of fuel while nesting deeper.
    #[cfg(not(target_arch = "wasm32"))]
    #[test]
    fn the_deepest_value_within_the_fuel_prints_on_a_small_stack() {
        let render = |levels: u64| {
            let src = format!("{{% set ns = namespace(a=[]) %}}{{% for i in range({levels}) %}}{{% set ns.a = [ns.a] %}}{{% endfor %}}{{{{ ns.a }}}}");
            std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(move || ChatTemplate::new(&src, "", "").unwrap().render(&[], false).map(|s| s.len()))
                .unwrap()
                .join()
                .unwrap()
        };
        let fits = RENDER_FUEL / 10;
        assert_eq!(render(fits).unwrap(), 2 * (fits as usize + 1));
        assert!(render(RENDER_FUEL / 8).is_err());
    }

    // A namespace stored in itself is a cycle that printing, comparing or serializing would
    // follow until the stack overflows; such templates are refused when compiled. The first two
    // are the fuzzer's inputs (fuzz/regressions/chat_template/).
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn templates_that_could_make_a_cycle_are_refused() {
        let fuzzed = [
            include_str!("../../fuzz/regressions/chat_template/cyclic-namespace"),
            include_str!("../../fuzz/regressions/chat_template/crash-ff6fff01fb5227f317cf1df5a8ca97949df01c28"),
        ];
        let written = [
            "{% set ns = namespace(n=0) %}{% set l = [ns] %}{% set ns.n = l %}{{ ns.n == ns.n }}",
            "{% set a = namespace() %}{% set b = namespace(x=a) %}{% set a.y = b %}{{ a }}",
            "{% set a = namespace() %}{% set b = namespace() %}{% set a.b = b %}{% set b.a = a %}{{ a ~ '' }}",
            "{% set a = namespace() %}{% set m = {'k': a} %}{% set a.m = m['k'] %}{{ a|tojson }}",
            "{% set a = namespace() %}{% for x in [a] %}{% set a.x = x %}{% endfor %}{{ a }}",
            "{% set a = namespace() %}{% set a.x = [1] + [a] %}{{ a }}",
            "{% set a = namespace() %}{% set a.x = none or a %}{{ a }}",
            "{% set a = namespace() %}{% set a.x = [a]|first %}{{ a }}",
            "{% set a = namespace() %}{% set a.x, a.y = a, 1 %}{{ a }}",
            "{% set mk = namespace %}{% set a = mk() %}{% set a.x = [a] %}{{ a }}",
            "{% set namespace = dict %}{{ 1 }}",
        ];
        for src in fuzzed.into_iter().chain(written) {
            let e = ChatTemplate::new(src, "", "").expect_err(src);
            assert_eq!(e.code(), "chat_template", "{src}: {e}");
        }
    }

    // What real templates keep in namespaces (flags, strings, lists of messages, values read
    // back from another namespace) still compiles and renders.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn namespaces_of_plain_values_render() {
        let src = "{% set ns = namespace(system='', found=false, turns=[]) %}{% set other = namespace(n=1) %}\
            {% for m in messages %}{% if m.role == 'system' %}{% set ns.system = m.content|trim %}{% set ns.found = true %}\
            {% else %}{% set ns.turns = ns.turns + [m] %}{% endif %}{% endfor %}{% set ns.n = other.n + 1 %}\
            {% set ns.label = ns.system ~ '|' ~ ns.turns|length %}{% for k in ns %}{% endfor %}\
            [{{ ns.label }}:{{ ns.n }}:{{ ns.found }}]{% for t in ns.turns %}{{ t.role }}={{ t.content }};{% endfor %}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        let out = t
            .render(&[ChatMessage::system(" Be brief. "), ChatMessage::user("hi"), ChatMessage::assistant("yo")], false)
            .unwrap();
        assert_eq!(out, "[Be brief.|2:2:True]user=hi;assistant=yo;");
    }

    // The output is capped even when the fuel (which grows with the messages' text) allows more.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn output_is_capped() {
        let big = ChatMessage::user("x".repeat(1 << 20));
        let src = "{% for i in range(4) %}{{ messages[0].content }}{% endfor %}";
        let e = render_error(src, &[big]);
        assert_eq!(e.code(), "chat_template");
        assert!(e.to_string().contains("exceeds"), "{e}");
    }

    // A long conversation through a SmolLM2-style template still fits the fuel.
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    fn long_conversations_fit_the_fuel() {
        let src = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        let turn = "A sentence of an ordinary chat message. ".repeat(20);
        let messages: Vec<ChatMessage> = (0..300)
            .map(|i| if i % 2 == 0 { ChatMessage::user(turn.as_str()) } else { ChatMessage::assistant(turn.as_str()) })
            .collect();
        let out = t.render(&messages, true).unwrap();
        assert!(out.ends_with("<|im_start|>assistant\n"));
    }
}
