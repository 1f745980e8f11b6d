//! Yielding to the event loop between tokens. A resolved promise only yields to microtasks,
//! so a `for await` over pieces would freeze the page for the whole reply; a MessageChannel
//! message is a task (rendering and input run first) without setTimeout's 4 ms clamp on
//! nested timers.

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::MessageChannel;

/// Resolves in a later task (at once where MessageChannel is missing).
pub async fn next_task() {
    let Ok(channel) = MessageChannel::new() else { return };
    let arrived = Promise::new(&mut |resolve, _| {
        channel.port1().set_onmessage(Some(resolve.unchecked_ref()));
        if channel.port2().post_message(&JsValue::UNDEFINED).is_err() {
            let _ = resolve.call0(&JsValue::UNDEFINED);
        }
    });
    let _ = JsFuture::from(arrived).await;
    // `channel` lives until here, so neither port can be collected with the message in flight.
    channel.port1().set_onmessage(None);
}
