//! `ReplyStream`: one reply as a JS async iterator of text pieces. Each `next()` is one
//! promise that first yields to the event loop (a task, so the page can render and handle
//! input), then generates until the next piece; `return()` cancels and frees the generation
//! at once, even while a `next()` is pending.

use super::assistant::Shared;
use super::error::to_js;
use crate::assistant::{FinishReason, Generation};
use crate::error::AttuneError;
use js_sys::{Object, Promise, Reflect, Symbol};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

struct State {
    shared: Rc<Shared>,
    /// `None` once the reply has ended, or while a `next()` is generating with it.
    generation: Option<Generation>,
    /// Set when the reply has ended (also by an error, which leaves `finish` null).
    ended: bool,
    finish: Option<&'static str>,
    prompt_tokens: usize,
    generated_tokens: usize,
    dropped_messages: usize,
    /// The promise of the latest `next()`: the following one waits for it, so calls made
    /// without awaiting run one after another, in order.
    tail: Option<Promise>,
}

impl State {
    fn count(&mut self, g: &Generation) {
        self.prompt_tokens = g.prompt_tokens();
        self.generated_tokens = g.tokens().len();
        self.dropped_messages = g.dropped_messages();
    }

    /// Ends the reply: the generation is dropped and the assistant is free for the next one.
    fn end(&mut self, finish: Option<&'static str>) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.finish = finish;
        if let Some(g) = self.generation.take() {
            self.count(&g);
        }
        self.shared.active.set(false);
    }
}

/// The names of the JS interface: `length` covers both the token limit and a full context.
fn finish_name(f: FinishReason) -> &'static str {
    match f {
        FinishReason::Eos => "eos",
        FinishReason::Stop => "stop",
        FinishReason::MaxTokens | FinishReason::ContextFull => "length",
        FinishReason::Cancelled => "cancelled",
    }
}

#[wasm_bindgen]
pub struct ReplyStream {
    state: Rc<RefCell<State>>,
}

impl ReplyStream {
    pub(super) fn new(shared: Rc<Shared>, g: Generation) -> Self {
        let mut state = State {
            shared,
            generation: None,
            ended: false,
            finish: None,
            prompt_tokens: 0,
            generated_tokens: 0,
            dropped_messages: 0,
            tail: None,
        };
        state.count(&g);
        state.generation = Some(g);
        ReplyStream { state: Rc::new(RefCell::new(state)) }
    }

    /// The JS object, made an async iterable: `[Symbol.asyncIterator]` on the class prototype
    /// returns the stream itself. `Object.prototype.valueOf` is exactly `function () { return
    /// this }` for objects, and needs neither `eval` (forbidden in extension pages) nor a JS
    /// snippet file.
    pub(super) fn into_js(self) -> JsValue {
        let obj: JsValue = self.into();
        let proto = Object::get_prototype_of(&obj);
        let key: JsValue = Symbol::async_iterator().into();
        if !Reflect::has(&proto, &key).unwrap_or(true) {
            if let Ok(value_of) = Reflect::get(&Object::new(), &"valueOf".into()) {
                let _ = Reflect::set(&proto, &key, &value_of);
            }
        }
        obj
    }
}

fn result(value: &JsValue, done: bool) -> JsValue {
    let r = Object::new();
    let _ = Reflect::set(&r, &"value".into(), value);
    let _ = Reflect::set(&r, &"done".into(), &JsValue::from_bool(done));
    r.into()
}

#[wasm_bindgen]
impl ReplyStream {
    /// Resolves to `{ value: piece, done: false }`, or `{ value: undefined, done: true }` once
    /// the reply has ended; rejects with an AttuneError if generation fails (the reply then
    /// ends and the assistant stays usable).
    #[wasm_bindgen(unchecked_return_type = "Promise<IteratorResult<string, undefined>>")]
    pub fn next(&self) -> Promise {
        let state = self.state.clone();
        let previous = state.borrow_mut().tail.take();
        let promise = future_to_promise(async move {
            if let Some(p) = previous {
                let _ = JsFuture::from(p).await;
            }
            step(&state).await
        });
        self.state.borrow_mut().tail = Some(promise.clone());
        promise
    }

    /// Cancels the reply (finish reason `cancelled` unless it had already ended) and resolves
    /// to `{ value, done: true }`. No token is generated after it.
    #[wasm_bindgen(js_name = "return", unchecked_return_type = "Promise<IteratorResult<string, undefined>>")]
    pub fn return_(&self, #[wasm_bindgen(unchecked_optional_param_type = "any")] value: JsValue) -> Promise {
        self.state.borrow_mut().end(Some(finish_name(FinishReason::Cancelled)));
        Promise::resolve(&result(&value, true))
    }

    /// `{ finishReason, promptTokens, generatedTokens, droppedMessages }`; `finishReason` is
    /// null while the reply runs (and after an error).
    #[wasm_bindgen(unchecked_return_type = "ReplyStats")]
    pub fn stats(&self) -> JsValue {
        let s = self.state.borrow();
        let out = Object::new();
        let finish = s.finish.map(JsValue::from_str).unwrap_or(JsValue::NULL);
        let _ = Reflect::set(&out, &"finishReason".into(), &finish);
        let _ = Reflect::set(&out, &"promptTokens".into(), &(s.prompt_tokens as f64).into());
        let _ = Reflect::set(&out, &"generatedTokens".into(), &(s.generated_tokens as f64).into());
        let _ = Reflect::set(&out, &"droppedMessages".into(), &(s.dropped_messages as f64).into());
        out.into()
    }
}

impl Drop for ReplyStream {
    /// A stream freed (or collected) unfinished counts as cancelled, so the assistant is free.
    fn drop(&mut self) {
        if let Ok(mut s) = self.state.try_borrow_mut() {
            s.end(Some(finish_name(FinishReason::Cancelled)));
        }
    }
}

// The assistant stays borrowed while a piece is made (across the GPU backend's awaits): only
// this stream can be running on it, since `next()` calls are chained and a second reply is
// refused as `busy` before it would borrow.
#[allow(clippy::await_holding_refcell_ref)]
async fn step(state: &Rc<RefCell<State>>) -> Result<JsValue, JsValue> {
    if state.borrow().ended {
        return Ok(result(&JsValue::UNDEFINED, true));
    }
    super::yield_now::next_task().await;
    let (mut g, shared) = {
        let mut s = state.borrow_mut();
        match s.generation.take() {
            Some(g) if !s.ended => (g, s.shared.clone()),
            _ => return Ok(result(&JsValue::UNDEFINED, true)),
        }
    };
    let piece = match shared.core.try_borrow_mut() {
        Ok(mut core) => core.next_piece(&mut g).await,
        Err(_) => Err(AttuneError::Busy("the assistant is in use".into())),
    };
    let mut s = state.borrow_mut();
    s.count(&g);
    if s.ended {
        // Cancelled while this piece was being made: it is dropped with the generation.
        return Ok(result(&JsValue::UNDEFINED, true));
    }
    match piece {
        Ok(Some(text)) => {
            s.generation = Some(g);
            Ok(result(&JsValue::from_str(&text), false))
        }
        Ok(None) => {
            let finish = g.finish_reason().unwrap_or(FinishReason::Eos);
            s.end(Some(finish_name(finish)));
            Ok(result(&JsValue::UNDEFINED, true))
        }
        Err(e) => {
            s.end(None);
            Err(to_js(e))
        }
    }
}
