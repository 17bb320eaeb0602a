//! The page's side of the check worker: starts it, sends requests, hands
//! each reply to a callback. Dropping the client stops the worker.
//!
//! A trap in the worker (a panic in wasm aborts: calamine on some damaged
//! .xls files) kills its instance. The client then starts a fresh worker
//! and answers the lost request with [`FromWorker::Failed`], so the page
//! says the file could not be read and the next file works without a reload.
//! A worker that stays silent too long while a request waits (stuck in a
//! loop on some file) is stopped and replaced the same way.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, ErrorEvent, File, MessageEvent, Worker};

use crate::now_ms;
use crate::protocol::{self, FromWorker, ToWorker, WORKER_SCRIPT};

/// What the page is told when the worker stopped while reading its file.
pub const READER_STOPPED: &str =
    "the reader stopped unexpectedly. Other files can still be checked";
/// The same while checking a file already read: the fresh worker lost it.
pub const CHECKER_STOPPED: &str =
    "the checker stopped unexpectedly. Choose the file again to check it";
/// What the page is told when the worker stayed silent too long.
pub const READER_SILENT: &str =
    "the reader did not answer in time and was stopped. Other files can still be checked";
/// The same while checking a file already read.
pub const CHECKER_SILENT: &str =
    "the checker did not answer in time and was stopped. Choose the file again to check it";

/// How long the worker may stay silent while a request waits. The xlsx
/// reader reports progress every 2 % of the sheet; calamine parses a whole
/// .xls or .ods sheet before the first report, and checking the largest file
/// the limits allow takes seconds: a minute leaves room for a slow computer,
/// so only a worker stuck in a loop stays silent this long.
pub const SILENCE_LIMIT_MS: u32 = 60_000;

pub struct CheckWorker {
    shared: Rc<Shared>,
}

struct Shared {
    state: RefCell<State>,
    on_reply: RefCell<Box<dyn FnMut(FromWorker)>>,
    on_crash: RefCell<Box<dyn FnMut(String)>>,
    /// One pair of handlers for every worker started, set once.
    handlers: RefCell<Option<Handlers>>,
    silence_limit_ms: f64,
    watchdog: RefCell<Option<Watchdog>>,
}

/// The timer that looks for a silent worker, and its handler.
struct Watchdog {
    timer: i32,
    _on_tick: Closure<dyn FnMut()>,
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
    waiting: Vec<JsValue>,
    /// The latest request not yet answered: its job, and whether it is a
    /// read (which decides what a crash is reported as).
    pending: Option<(u32, bool)>,
    /// When the worker last said something or was last sent a request.
    heard_at: f64,
}

/// Why a worker is replaced.
enum Stop {
    Crashed(String),
    Silent,
}

impl CheckWorker {
    /// Starts the worker. `on_reply` gets every reply; `on_crash` is told
    /// when the worker fails to load (then there is no point in retrying).
    /// A worker silent for `silence_limit_ms` while a request waits is
    /// replaced ([`SILENCE_LIMIT_MS`] but in tests).
    pub fn spawn(
        on_reply: impl FnMut(FromWorker) + 'static,
        on_crash: impl FnMut(String) + 'static,
        silence_limit_ms: u32,
    ) -> Result<CheckWorker, String> {
        let worker = Worker::new(WORKER_SCRIPT).map_err(describe_js_error)?;
        let shared = Rc::new(Shared {
            state: RefCell::new(State::new(worker)),
            on_reply: RefCell::new(Box::new(on_reply)),
            on_crash: RefCell::new(Box::new(on_crash)),
            handlers: RefCell::new(None),
            silence_limit_ms: f64::from(silence_limit_ms),
            watchdog: RefCell::new(None),
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
            on_error: Closure::new({
                let weak = weak.clone();
                move |event: ErrorEvent| {
                    event.prevent_default();
                    if let Some(shared) = Weak::upgrade(&weak) {
                        shared.replace(Stop::Crashed(event.message()));
                    }
                }
            }),
        });
        shared.attach();
        let watch = Closure::<dyn FnMut()>::new(move || {
            if let Some(shared) = weak.upgrade() {
                shared.watch();
            }
        });
        // Looked at a few times within the limit; failing to set the timer
        // only loses the watch.
        let every = (silence_limit_ms / 4).clamp(10, 1_000) as i32;
        if let Some(id) = web_sys::window().and_then(|w| {
            w.set_interval_with_callback_and_timeout_and_arguments_0(
                watch.as_ref().unchecked_ref(),
                every,
            )
            .ok()
        }) {
            *shared.watchdog.borrow_mut() = Some(Watchdog {
                timer: id,
                _on_tick: watch,
            });
        }
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
        self.shared
            .post(job, true, protocol::with_handle(text, file))
    }

    /// Sends any request but [`ToWorker::Read`].
    pub fn send(&self, request: &ToWorker) -> Result<(), String> {
        let job = request.job();
        self.shared.post(job, false, encode(request)?.into())
    }
}

impl State {
    fn new(worker: Worker) -> State {
        State {
            worker,
            ready: false,
            waiting: Vec::new(),
            pending: None,
            heard_at: now_ms(),
        }
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

    fn post(&self, job: u32, is_read: bool, message: JsValue) -> Result<(), String> {
        let mut state = self.state.borrow_mut();
        state.pending = Some((job, is_read));
        state.heard_at = now_ms();
        if !state.ready {
            state.waiting.push(message);
            return Ok(());
        }
        send_now(&state.worker, &message)
    }

    /// Replaces a worker that has kept a request waiting in silence too
    /// long. Only a started worker is judged: one still loading either
    /// starts or fails with an error event.
    fn watch(&self) {
        let silent = {
            let state = self.state.borrow();
            state.ready
                && state.pending.is_some()
                && now_ms() - state.heard_at > self.silence_limit_ms
        };
        if silent {
            self.replace(Stop::Silent);
        }
    }

    fn on_message(&self, event: MessageEvent) {
        let (text, handle) = protocol::split(&event.data());
        let blob = handle.and_then(|h| h.dyn_into::<Blob>().ok());
        let reply = text
            .and_then(|text| serde_json::from_str::<FromWorker>(&text).ok())
            .map(|mut reply| {
                if let FromWorker::Export { file, .. } = &mut reply {
                    *file = blob;
                }
                reply
            });
        let Some(reply) = reply else {
            web_sys::console::error_1(&"check worker: unreadable reply".into());
            return;
        };
        {
            let mut state = self.state.borrow_mut();
            state.heard_at = now_ms();
            match &reply {
                FromWorker::Ready => {
                    state.ready = true;
                    for message in std::mem::take(&mut state.waiting) {
                        if let Err(e) = send_now(&state.worker, &message) {
                            web_sys::console::error_1(&e.into());
                        }
                    }
                }
                FromWorker::Progress { .. } => {}
                answer => {
                    if state.pending.map(|(job, _)| job) == answer.job() {
                        state.pending = None;
                    }
                }
            }
        }
        // No borrow held: the page may send a request from its callback.
        (self.on_reply.borrow_mut())(reply);
    }

    /// The worker stopped or went silent: start another and fail the
    /// request it lost.
    fn replace(&self, why: Stop) {
        let (loaded, lost) = {
            let mut state = self.state.borrow_mut();
            state.worker.terminate();
            (state.ready, state.pending.take())
        };
        let reason = match &why {
            Stop::Crashed(message) => message.as_str(),
            Stop::Silent => "no answer in time",
        };
        if !loaded {
            // It never started: a fresh one would fail the same way.
            (self.on_crash.borrow_mut())(reason.to_string());
            return;
        }
        web_sys::console::error_1(&format!("check worker stopped: {reason}; restarting").into());
        match Worker::new(WORKER_SCRIPT) {
            Ok(worker) => {
                *self.state.borrow_mut() = State::new(worker);
                self.attach();
            }
            Err(e) => {
                (self.on_crash.borrow_mut())(describe_js_error(e));
                return;
            }
        }
        if let Some((job, is_read)) = lost {
            let message = match (why, is_read) {
                (Stop::Crashed(_), true) => READER_STOPPED,
                (Stop::Crashed(_), false) => CHECKER_STOPPED,
                (Stop::Silent, true) => READER_SILENT,
                (Stop::Silent, false) => CHECKER_SILENT,
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
        if let Some(watchdog) = self.shared.watchdog.borrow_mut().take()
            && let Some(window) = web_sys::window()
        {
            window.clear_interval_with_handle(watchdog.timer);
        }
        self.shared.state.borrow().worker.terminate();
        // Break the handlers' tie to the (now stopped) worker.
        self.shared.handlers.borrow_mut().take();
    }
}

fn send_now(worker: &Worker, message: &JsValue) -> Result<(), String> {
    worker.post_message(message).map_err(describe_js_error)
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
