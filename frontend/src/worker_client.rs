//! The page's side of the check worker: starts it, sends requests, hands
//! each reply to a callback. Dropping the client stops the worker.
//!
//! A trap in the worker (a panic in wasm aborts: calamine on some damaged
//! .xls files) kills its instance. The client then starts a fresh worker
//! and answers the lost request with [`FromWorker::Failed`], so the page
//! says the file could not be read and the next file works without a reload.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Array;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{ErrorEvent, File, MessageEvent, Worker};

use crate::protocol::{FromWorker, ToWorker, WORKER_SCRIPT};

/// What the page is told when the worker stopped while reading its file.
pub const READER_STOPPED: &str =
    "the reader stopped unexpectedly. Other files can still be checked";
/// The same while checking a file already read: the fresh worker lost it.
pub const CHECKER_STOPPED: &str =
    "the checker stopped unexpectedly. Choose the file again to check it";

pub struct CheckWorker {
    shared: Rc<Shared>,
}

struct Shared {
    state: RefCell<State>,
    on_reply: RefCell<Box<dyn FnMut(FromWorker)>>,
    on_crash: RefCell<Box<dyn FnMut(String)>>,
    /// One pair of handlers for every worker started, set once.
    handlers: RefCell<Option<Handlers>>,
}

struct Handlers {
    on_message: Closure<dyn FnMut(MessageEvent)>,
    on_error: Closure<dyn FnMut(ErrorEvent)>,
}

struct State {
    worker: Worker,
    /// The worker has said `Ready`: before that its handler is not set and
    /// a message would be lost, so requests wait in `waiting`.
    ready: bool,
    waiting: Vec<(JsValue, Option<Array>)>,
    /// The latest request not yet answered: its job, and whether it is a
    /// read (which decides what a crash is reported as).
    pending: Option<(u32, bool)>,
}

impl CheckWorker {
    /// Starts the worker. `on_reply` gets every reply; `on_crash` is told
    /// when the worker fails to load (then there is no point in retrying).
    pub fn spawn(
        on_reply: impl FnMut(FromWorker) + 'static,
        on_crash: impl FnMut(String) + 'static,
    ) -> Result<CheckWorker, String> {
        let worker = Worker::new(WORKER_SCRIPT).map_err(describe_js_error)?;
        let shared = Rc::new(Shared {
            state: RefCell::new(State {
                worker,
                ready: false,
                waiting: Vec::new(),
                pending: None,
            }),
            on_reply: RefCell::new(Box::new(on_reply)),
            on_crash: RefCell::new(Box::new(on_crash)),
            handlers: RefCell::new(None),
        });
        // The handlers hold a weak reference: the client owns them, not the
        // other way round, so dropping the client frees everything.
        let weak = Rc::downgrade(&shared);
        *shared.handlers.borrow_mut() = Some(Handlers {
            on_message: Closure::new({
                let weak = weak.clone();
                move |event: MessageEvent| {
                    if let Some(shared) = weak.upgrade() {
                        shared.on_message(event);
                    }
                }
            }),
            on_error: Closure::new(move |event: ErrorEvent| {
                event.prevent_default();
                if let Some(shared) = Weak::upgrade(&weak) {
                    shared.on_error(event.message());
                }
            }),
        });
        shared.attach();
        Ok(CheckWorker { shared })
    }

    /// Sends a file to be read. The worker loads its bytes itself, with a
    /// synchronous read the page cannot use: 10–20 ms sooner for 4.5 MB
    /// than loading them here and handing them over.
    pub fn read(&self, job: u32, file: &File) -> Result<(), String> {
        let text = encode(&ToWorker::Read {
            job,
            file_name: file.name(),
        })?;
        let message = Array::of2(&text.into(), file);
        self.shared.post(job, true, message.into(), None)
    }

    /// Sends any request but [`ToWorker::Read`].
    pub fn send(&self, request: &ToWorker) -> Result<(), String> {
        let job = request_job(request);
        self.shared.post(job, false, encode(request)?.into(), None)
    }
}

impl Shared {
    /// Points the current worker at the handlers.
    fn attach(&self) {
        let handlers = self.handlers.borrow();
        let state = self.state.borrow();
        if let Some(h) = handlers.as_ref() {
            state
                .worker
                .set_onmessage(Some(h.on_message.as_ref().unchecked_ref()));
            state
                .worker
                .set_onerror(Some(h.on_error.as_ref().unchecked_ref()));
        }
    }

    fn post(
        &self,
        job: u32,
        is_read: bool,
        message: JsValue,
        transfer: Option<Array>,
    ) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        state.pending = Some((job, is_read));
        if !state.ready {
            state.waiting.push((message, transfer));
            return Ok(());
        }
        send_now(&state.worker, &message, transfer.as_ref())
    }

    fn on_message(&self, event: MessageEvent) {
        let reply = event
            .data()
            .as_string()
            .and_then(|text| serde_json::from_str::<FromWorker>(&text).ok());
        let Some(reply) = reply else {
            web_sys::console::error_1(&"check worker: unreadable reply".into());
            return;
        };
        {
            let mut state = self.state.borrow_mut();
            match &reply {
                FromWorker::Ready => {
                    state.ready = true;
                    for (message, transfer) in std::mem::take(&mut state.waiting) {
                        if let Err(e) = send_now(&state.worker, &message, transfer.as_ref()) {
                            web_sys::console::error_1(&e.into());
                        }
                    }
                }
                FromWorker::Progress { .. } => {}
                answer => {
                    if state.pending.map(|(job, _)| job) == reply_job(answer) {
                        state.pending = None;
                    }
                }
            }
        }
        // No borrow held: the page may send a request from its callback.
        (self.on_reply.borrow_mut())(reply);
    }

    /// The worker stopped: start another and fail the request it lost.
    fn on_error(&self, message: String) {
        let (loaded, lost) = {
            let mut state = self.state.borrow_mut();
            state.worker.terminate();
            (state.ready, state.pending.take())
        };
        if !loaded {
            // It never started: a fresh one would fail the same way.
            (self.on_crash.borrow_mut())(message);
            return;
        }
        web_sys::console::error_1(&format!("check worker stopped: {message}; restarting").into());
        match Worker::new(WORKER_SCRIPT) {
            Ok(worker) => {
                *self.state.borrow_mut() = State {
                    worker,
                    ready: false,
                    waiting: Vec::new(),
                    pending: None,
                };
                self.attach();
            }
            Err(e) => {
                (self.on_crash.borrow_mut())(describe_js_error(e));
                return;
            }
        }
        if let Some((job, is_read)) = lost {
            let message = if is_read {
                READER_STOPPED
            } else {
                CHECKER_STOPPED
            };
            (self.on_reply.borrow_mut())(FromWorker::Failed {
                job,
                message: message.to_string(),
            });
        }
    }
}

impl Drop for CheckWorker {
    fn drop(&mut self) {
        self.shared.state.borrow().worker.terminate();
        // Break the handlers' tie to the (now stopped) worker.
        self.shared.handlers.borrow_mut().take();
    }
}

fn send_now(worker: &Worker, message: &JsValue, transfer: Option<&Array>) -> Result<(), String> {
    match transfer {
        Some(transfer) => worker.post_message_with_transfer(message, transfer),
        None => worker.post_message(message),
    }
    .map_err(describe_js_error)
}

fn request_job(request: &ToWorker) -> u32 {
    match request {
        ToWorker::Read { job, .. }
        | ToWorker::Check { job, .. }
        | ToWorker::Rows { job, .. }
        | ToWorker::Edit { job, .. }
        | ToWorker::TrimAll { job, .. }
        | ToWorker::Export { job }
        | ToWorker::ImportRows { job } => *job,
    }
}

/// The job a final reply answers.
fn reply_job(reply: &FromWorker) -> Option<u32> {
    match reply {
        FromWorker::Ready | FromWorker::Progress { .. } => None,
        FromWorker::Table { job, .. }
        | FromWorker::Checked { job, .. }
        | FromWorker::Rows { job, .. }
        | FromWorker::Export { job, .. }
        | FromWorker::ImportRows { job, .. }
        | FromWorker::Failed { job, .. } => Some(*job),
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
