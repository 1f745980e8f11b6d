//! `AttuneError` → a JS `Error` with `name = "AttuneError"` and a stable `code`.

use crate::error::AttuneError;
use wasm_bindgen::JsValue;

pub fn to_js(e: AttuneError) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    err.set_name("AttuneError");
    // Setting a property on a fresh Error object cannot fail; ignore the impossible case
    // rather than panic.
    let _ = js_sys::Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(e.code()));
    err.into()
}
