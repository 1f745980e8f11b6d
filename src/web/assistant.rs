//! `Assistant` for JavaScript: load a Llama-family chat GGUF from bytes and stream replies as
//! async iterators of text pieces ([`ReplyStream`]). One generation at a time per instance: a
//! `reply` / `complete` while another stream is unfinished is refused with `busy`, and the
//! earlier stream keeps working.

use super::chat_args;
use super::error::to_js;
use super::reply_stream::ReplyStream;
use crate::assistant::{Assistant as Core, Generation};
use crate::compute::cpu::CpuBackend;
use crate::compute::device::DeviceReport;
use crate::error::{AttuneError, Result};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::prelude::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
export interface ChatMessage { role: 'system' | 'user' | 'assistant'; content: string }
export interface AssistantLoadOptions { context?: number }
export interface AssistantCreateOptions { context?: number; device?: 'auto' | 'gpu' | 'cpu' }
export interface ReplyOptions {
  maxTokens?: number; temperature?: number; topK?: number; topP?: number;
  repetitionPenalty?: number; dryMultiplier?: number; dryBase?: number; dryAllowedLength?: number;
  echoAllowedLength?: number; seed?: number; stop?: string[]; context?: string;
}
export interface ReplyStats {
  finishReason: 'stop' | 'length' | 'eos' | 'cancelled' | null;
  promptTokens: number; generatedTokens: number; droppedMessages: number;
}
// Installed on the prototype at run time (see ReplyStream::into_js): `for await` works.
export interface ReplyStream { [Symbol.asyncIterator](): ReplyStream }
"#;

/// What an `Assistant` and its streams share.
pub(super) struct Shared {
    pub core: RefCell<Core>,
    /// A stream is unfinished (it holds a generation).
    pub active: Cell<bool>,
}

#[wasm_bindgen]
pub struct Assistant {
    shared: Rc<Shared>,
    // Fixed at load, so the getters never wait for a running generation.
    model_name: String,
    context: usize,
    /// The device at load; the getters read the current one when no generation holds the core.
    device: DeviceReport,
}

#[wasm_bindgen]
impl Assistant {
    /// Loads a `llama` GGUF (tokenizer and chat template inside), e.g.
    /// smollm2-135m-instruct.q4_1.gguf. `options.context` caps the context in tokens (default:
    /// the decoder's default, never more than the model's). The bytes are copied into
    /// WebAssembly memory once.
    pub fn load(
        bytes: &[u8],
        #[wasm_bindgen(unchecked_optional_param_type = "AssistantLoadOptions")] options: JsValue,
    ) -> std::result::Result<Assistant, JsValue> {
        let (context, _) = chat_args::load_options(&options, false).map_err(to_js)?;
        let core = Core::load_with_context(Arc::new(bytes.to_vec()), Box::new(CpuBackend::new()), context)
            .map_err(to_js)?;
        Ok(Self::new(core))
    }

    /// Loads onto `options.device`: `"auto"` (the default: WebGPU if the browser gives an
    /// adapter that passes a self-test and is not a software rasterizer, else the CPU), `"gpu"`
    /// (WebGPU or an AttuneError with code `gpu_unavailable`) or `"cpu"`; `options.context` as
    /// in `load`. `backend`, `adapter` and `fallbackReason` say what was chosen and why. Should
    /// the GPU fail later (device lost), replies go on, on the CPU.
    pub async fn create(
        bytes: Vec<u8>,
        #[wasm_bindgen(unchecked_optional_param_type = "AssistantCreateOptions")] options: JsValue,
    ) -> std::result::Result<Assistant, JsValue> {
        let (context, device) = chat_args::load_options(&options, true).map_err(to_js)?;
        let core = Core::load_on(Arc::new(bytes), device, context).await.map_err(to_js)?;
        Ok(Self::new(core))
    }

    #[wasm_bindgen(getter, js_name = modelName)]
    pub fn model_name(&self) -> String {
        self.model_name.clone()
    }

    /// Context length in tokens (prompt + reply).
    #[wasm_bindgen(getter)]
    pub fn context(&self) -> usize {
        self.context
    }

    /// Name of the compute backend in use ("cpu" or "webgpu").
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.device().backend.to_string()
    }

    /// The WebGPU adapter in use ("name (backend, type)"), undefined on the CPU.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> Option<String> {
        self.device().adapter
    }

    /// Why the model is not on the GPU (WebGPU missing or failing under `"auto"`, or a GPU
    /// failure during a reply); undefined when no fallback happened.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.device().fallback_reason
    }

    /// Tokens of `text` by the model's tokenizer, as plain text (what a context block costs).
    #[wasm_bindgen(js_name = countTokens)]
    pub fn count_tokens(&self, text: &str) -> std::result::Result<usize, JsValue> {
        let core = self.shared.core.try_borrow().map_err(|_| to_js(AttuneError::Busy("the assistant is busy".into())))?;
        core.count_tokens(text).map_err(to_js)
    }

    /// A reply to `messages` (`[{role, content}]`) through the model's chat template. Oldest
    /// turns are dropped to fit the context (`stats().droppedMessages`).
    #[wasm_bindgen(unchecked_return_type = "ReplyStream")]
    pub fn reply(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChatMessage[]")] messages: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ReplyOptions")] options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        self.start(|core| {
            let messages = chat_args::messages(&messages)?;
            core.start_chat(&messages, &chat_args::reply_options(&options)?)
        })
    }

    /// A plain continuation of `text` (no chat template).
    #[wasm_bindgen(unchecked_return_type = "ReplyStream")]
    pub fn complete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] text: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ReplyOptions")] options: JsValue,
    ) -> std::result::Result<JsValue, JsValue> {
        self.start(|core| {
            let text = text.as_string().ok_or_else(|| AttuneError::InvalidArgument("text must be a string".into()))?;
            core.start_raw(&text, &chat_args::reply_options(&options)?)
        })
    }
}

impl Assistant {
    fn new(core: Core) -> Self {
        Assistant {
            model_name: core.model_name().to_string(),
            context: core.context(),
            device: core.device().clone(),
            shared: Rc::new(Shared { core: RefCell::new(core), active: Cell::new(false) }),
        }
    }

    /// The current device, or the one at load while a generation holds the core.
    fn device(&self) -> DeviceReport {
        self.shared.core.try_borrow().map(|c| c.device().clone()).unwrap_or_else(|_| self.device.clone())
    }

    fn start(&self, begin: impl FnOnce(&Core) -> Result<Generation>) -> std::result::Result<JsValue, JsValue> {
        let busy = || to_js(AttuneError::Busy("the assistant is still streaming another reply".into()));
        if self.shared.active.get() {
            return Err(busy());
        }
        let generation = {
            let core = self.shared.core.try_borrow().map_err(|_| busy())?;
            begin(&core).map_err(to_js)?
        };
        self.shared.active.set(true);
        Ok(ReplyStream::new(self.shared.clone(), generation).into_js())
    }
}
