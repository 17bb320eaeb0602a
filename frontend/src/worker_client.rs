//! The page's side of the check worker: starts it, sends requests, hands
//! each reply to a callback. Dropping the client stops the worker.

use js_sys::{Array, ArrayBuffer};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use crate::protocol::{FromWorker, ToWorker, WORKER_SCRIPT};

pub struct CheckWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl CheckWorker {
    /// Starts the worker. `on_reply` gets every reply; `on_crash` is told
    /// when the worker fails to load or stops on an unexpected fault.
    pub fn spawn(
        mut on_reply: impl FnMut(FromWorker) + 'static,
        mut on_crash: impl FnMut(String) + 'static,
    ) -> Result<CheckWorker, String> {
        let worker = Worker::new(WORKER_SCRIPT).map_err(describe_js_error)?;
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let reply = event
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<FromWorker>(&text).ok());
            match reply {
                Some(reply) => on_reply(reply),
                None => web_sys::console::error_1(&"check worker: unreadable reply".into()),
            }
        });
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            on_crash(event.message());
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(CheckWorker {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends a file to be read; its bytes are moved to the worker.
    pub fn read(&self, job: u32, file_name: &str, bytes: ArrayBuffer) -> Result<(), String> {
        let text = encode(&ToWorker::Read {
            job,
            file_name: file_name.to_string(),
        })?;
        let message = Array::of2(&text.into(), &bytes);
        let transfer = Array::of1(&bytes);
        self.worker
            .post_message_with_transfer(&message, &transfer)
            .map_err(describe_js_error)
    }

    /// Sends any request but [`ToWorker::Read`].
    pub fn send(&self, request: &ToWorker) -> Result<(), String> {
        self.worker
            .post_message(&encode(request)?.into())
            .map_err(describe_js_error)
    }
}

impl Drop for CheckWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

fn encode(request: &ToWorker) -> Result<String, String> {
    serde_json::to_string(request).map_err(|e| e.to_string())
}

/// A thrown JavaScript value as one line of text.
pub fn describe_js_error(value: wasm_bindgen::JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".to_string())
}
