//! Chat-template rendering from a hostile `tokenizer.chat_template`: the input up to the first
//! NUL is the template, what follows (if any) is the user's message. Compiling and rendering
//! must end with a prompt or a `chat_template` error, within the fuel and output limits.
#![no_main]

use attune::model::chat_template::{ChatMessage, ChatTemplate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (source, user) = text.split_once('\0').unwrap_or((text, "What is the capital of France?"));
    let template = match ChatTemplate::new(source, "<|im_start|>", "<|im_end|>") {
        Ok(t) => t,
        Err(e) => {
            assert_eq!(e.code(), "chat_template");
            return;
        }
    };
    let messages = [
        ChatMessage::system("You are a helpful assistant."),
        ChatMessage::user(user),
        ChatMessage::assistant("Paris."),
        ChatMessage::user("And of Italy?"),
    ];
    for (n, generation) in [(4, true), (1, false), (0, true)] {
        if let Err(e) = template.render(&messages[messages.len() - n..], generation) {
            assert_eq!(e.code(), "chat_template", "{e}");
        }
    }
});
