//! `Embedder` for JavaScript: load a GGUF embedder from bytes, embed texts into Float32Arrays.
//! `Embedder.create(bytes, device)` runs it on WebGPU where the browser has a working adapter
//! (`"auto"`), `load` on the CPU (WebAssembly SIMD).

use super::error::to_js;
use crate::compute::cpu::CpuBackend;
use crate::compute::device::DeviceChoice;
use crate::error::AttuneError;
use crate::model::bert::Encoder;
use js_sys::{Array, Float32Array, Promise};
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen]
pub struct Embedder {
    // Shared so the promise returned by `embed` can own it; a call made while another is
    // still running is refused rather than interleaved.
    inner: Rc<RefCell<Encoder>>,
}

#[wasm_bindgen]
impl Embedder {
    /// Loads a `bert` GGUF model (e.g. minilm-l6-v2.q8_0.gguf). The bytes are copied into
    /// WebAssembly memory once and used in place from then on.
    pub fn load(bytes: &[u8]) -> Result<Embedder, JsValue> {
        let encoder = Encoder::load(Arc::new(bytes.to_vec()), Box::new(CpuBackend::new())).map_err(to_js)?;
        Ok(Embedder { inner: Rc::new(RefCell::new(encoder)) })
    }

    /// Loads a `bert` GGUF onto `device`: `"auto"` (the default: WebGPU if the browser gives
    /// an adapter that passes a self-test, else the CPU), `"gpu"` (WebGPU or an AttuneError with
    /// code `gpu_unavailable`) or `"cpu"`. Resolves to the Embedder; `backend` and
    /// `fallbackReason` say what was chosen and why. Should the GPU fail later (device lost),
    /// calls go on, on the CPU, and `fallbackReason` says so.
    pub async fn create(bytes: Vec<u8>, device: Option<String>) -> Result<Embedder, JsValue> {
        let choice: DeviceChoice = match device.as_deref() {
            None => DeviceChoice::Auto,
            Some(d) => d.parse().map_err(to_js)?,
        };
        let encoder = Encoder::load_on(Arc::new(bytes), choice).await.map_err(to_js)?;
        Ok(Embedder { inner: Rc::new(RefCell::new(encoder)) })
    }

    /// Why the model is not on the GPU: WebGPU missing or failing its self-test under
    /// `"auto"`, or a GPU failure during a call. Undefined when no fallback happened.
    #[wasm_bindgen(getter, js_name = fallbackReason)]
    pub fn fallback_reason(&self) -> Option<String> {
        self.inner.try_borrow().ok().and_then(|e| e.device().fallback_reason.clone())
    }

    /// The WebGPU adapter in use ("name (backend, type)"), undefined on the CPU.
    #[wasm_bindgen(getter)]
    pub fn adapter(&self) -> Option<String> {
        self.inner.try_borrow().ok().and_then(|e| e.device().adapter.clone())
    }

    /// Width of every embedding (384 for all-MiniLM-L6-v2).
    #[wasm_bindgen(getter)]
    pub fn dim(&self) -> usize {
        self.inner.try_borrow().map(|e| e.dim()).unwrap_or(0)
    }

    /// Name of the compute backend in use ("cpu" or "webgpu").
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        self.inner.try_borrow().map(|e| e.backend_name().to_string()).unwrap_or_default()
    }

    /// Token ids of a text as the model sees it.
    pub fn tokenize(&self, text: &str) -> Result<Vec<u32>, JsValue> {
        let enc = self.inner.try_borrow().map_err(|_| to_js(busy()))?;
        enc.tokenize(text).map_err(to_js)
    }

    /// Embeds `texts` (an array of strings) and resolves to an array of unit-length
    /// Float32Arrays, in order. Lone UTF-16 surrogates arrive as U+FFFD (the WHATWG encoding
    /// rule wasm-bindgen applies), so such strings embed like their replaced form.
    pub fn embed(&self, texts: Vec<String>) -> Promise {
        let inner = self.inner.clone();
        future_to_promise(async move {
            let mut enc = inner.try_borrow_mut().map_err(|_| to_js(busy()))?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let vectors = enc.embed(&refs).await.map_err(to_js)?;
            let out = Array::new_with_length(vectors.len() as u32);
            for (i, v) in vectors.iter().enumerate() {
                out.set(i as u32, Float32Array::from(v.as_slice()).into());
            }
            Ok(out.into())
        })
    }
}

fn busy() -> AttuneError {
    AttuneError::Busy("the embedder is still running another call".into())
}
