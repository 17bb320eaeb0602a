//! The check worker: reads and checks files with the rules crate, off the
//! page's main thread. It keeps the file's table, the corrections made in
//! the grid and the last report, whose rows it hands to the page a page at a
//! time; so a change of mapping or a corrected cell is checked again without
//! reading the file again.

#![forbid(unsafe_code)]

use std::cell::{Cell, RefCell};

use roster_frontend::check_session::CheckSession;
use roster_frontend::now_ms;
use roster_frontend::protocol::{
    self, FromWorker, PageRequest, Stage, ToWorker, columns_of, mapping_from,
};
use roster_frontend::worker_client::describe_js_error;
use roster_shared::read::{Progress, read_sheet_with_progress};
use roster_shared::{ReadOptions, Table};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{Blob, DedicatedWorkerGlobalScope, FileReaderSync, MessageEvent};

thread_local! {
    static SESSION: RefCell<Option<CheckSession>> = const { RefCell::new(None) };
    /// Set once a real file has come: no more warming up after that.
    static FILE_CAME: Cell<bool> = const { Cell::new(false) };
}

/// How many times the warm-up file is read and checked in all.
const WARM_UP_ROUNDS: u32 = 15;

fn main() {
    warm_up(1);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
    scope().set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    post(&FromWorker::Ready);
    keep_warming(2);
}

/// The other warm-up rounds, one task each, while the worker waits for a
/// file: a file that comes meanwhile goes before the next round and ends
/// them. One round left many functions in baseline code for the first real
/// file; fifteen took the first 100,000-row file from a median of 0.45 s
/// to 0.39 s in Chromium (docs/PERFORMANCE.md).
fn keep_warming(round: u32) {
    if round > WARM_UP_ROUNDS || FILE_CAME.get() {
        return;
    }
    let next = Closure::once_into_js(move || {
        if !FILE_CAME.get() {
            warm_up(round);
            keep_warming(round + 1);
        }
    });
    // Failing to schedule only leaves the worker less warm.
    let _ = scope().set_timeout_with_callback_and_timeout_and_arguments_0(next.unchecked_ref(), 0);
}

/// 600 rows of made-up users in the template's 9 columns (an .xlsx).
const WARM_UP_FILE: &[u8] = include_bytes!("warm-up.xlsx");

/// Reads and checks a small file, before the first real one. V8 runs
/// wasm in its baseline compiler first and switches a function to optimized
/// code only on its next call, and a file's long loops (the shared strings,
/// mapping, every rule) are each one call: without this the first file ran
/// mostly as baseline code (docs/PERFORMANCE.md, "In the browser").
fn warm_up(round: u32) {
    let started = now_ms();
    let sheet = read_sheet_with_progress(
        WARM_UP_FILE,
        Some("warm-up.xlsx"),
        &ReadOptions::default(),
        &mut |_| {},
    );
    if let Ok(table) = sheet.and_then(Table::from_sheet) {
        let mut session = CheckSession::new(String::new(), table);
        let checked = session.check();
        let outcome = serde_json::to_string(&checked.outcome(0)).map(|s| s.len());
        let page = serde_json::to_string(&checked.page(PageRequest::default())).map(|s| s.len());
        if round == 1 || round == WARM_UP_ROUNDS {
            web_sys::console::debug_1(
                &format!(
                    "check worker warm-up {round}/{WARM_UP_ROUNDS}: {:.0} ms \
                     ({outcome:?}, {page:?} bytes)",
                    now_ms() - started
                )
                .into(),
            );
        }
    }
}

/// dlmalloc grows the wasm memory by what each allocation lacks, and every
/// memory.grow is costly in V8: growing once to the likely peak (16 times
/// the file, 75 MB for 100,000 rows in 4.5 MB) took 0.15 s off the first
/// check. The pages are only committed when used.
fn reserve_memory(file_bytes: usize) {
    #[cfg(target_arch = "wasm32")]
    {
        const PAGE: usize = 64 * 1024;
        let wanted = file_bytes.saturating_mul(16).min(256 << 20);
        let have = core::arch::wasm32::memory_size::<0>() * PAGE;
        if have < wanted {
            let mut block: Vec<u8> = Vec::new();
            // Freed at once: the allocator keeps the grown memory for the read.
            let _ = block.try_reserve_exact(wanted - have);
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    let _ = file_bytes;
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

fn post(reply: &FromWorker) {
    if let Some(text) = encode(reply) {
        // Posting a string to our own page cannot fail in practice; if it
        // does there is nobody left to tell.
        let _ = scope().post_message(&text.into());
    }
}

/// A reply with a `Blob` beside it (see [`roster_frontend::protocol`]).
fn post_with(reply: &FromWorker, blob: &Blob) {
    if let Some(text) = encode(reply) {
        let _ = scope().post_message(&protocol::with_handle(text, blob));
    }
}

fn encode(reply: &FromWorker) -> Option<String> {
    serde_json::to_string(reply)
        .map_err(|e| web_sys::console::error_1(&format!("cannot encode a reply: {e}").into()))
        .ok()
}

fn blob_of(bytes: &[u8], mime: &str) -> Result<Blob, String> {
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(bytes));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    Blob::new_with_u8_array_sequence_and_options(&parts, &options).map_err(describe_js_error)
}

fn failed(job: u32, message: impl Into<String>) {
    post(&FromWorker::Failed {
        job,
        message: message.into(),
    });
}

fn on_message(event: MessageEvent) {
    let (text, file) = protocol::split(&event.data());
    let Some(request) = text.and_then(|t| serde_json::from_str::<ToWorker>(&t).ok()) else {
        web_sys::console::error_1(&"check worker: unknown request".into());
        return;
    };
    if let ToWorker::Read { job, file_name } = request {
        FILE_CAME.set(true);
        match file
            .map(load)
            .unwrap_or_else(|| Err("no file came with the request".into()))
        {
            Ok(bytes) => read(job, file_name, &bytes),
            Err(e) => failed(job, format!("the browser could not load the file: {e}")),
        }
        return;
    }
    SESSION.with(|session| match session.borrow_mut().as_mut() {
        Some(session) => serve(session, request),
        None => failed(request.job(), "no file has been read yet"),
    });
}

/// The chosen file's bytes, read at once: a worker may read synchronously,
/// which is quicker than the page's promise-based read.
fn load(file: wasm_bindgen::JsValue) -> Result<Vec<u8>, String> {
    let file: Blob = file
        .dyn_into()
        .map_err(|_| "the request holds no file".to_string())?;
    let buffer = FileReaderSync::new()
        .and_then(|reader| reader.read_as_array_buffer(&file))
        .map_err(describe_js_error)?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

/// Every request about the file already read.
fn serve(session: &mut CheckSession, request: ToWorker) {
    match request {
        ToWorker::Read { .. } => {}
        ToWorker::Check {
            job,
            columns,
            page,
            dismissed,
        } => {
            session.mapping = mapping_from(&columns);
            session.set_dismissed(dismissed);
            check(session, job, page, None);
        }
        ToWorker::Dismiss {
            job,
            dismissed,
            page,
        } => {
            session.set_dismissed(dismissed);
            match &session.checked {
                Some(checked) => post(&FromWorker::Checked {
                    job,
                    outcome: checked.outcome(session.edited_cells()),
                    page: checked.page(page),
                    check_ms: 0.0,
                    trimmed: None,
                }),
                None => failed(job, "no file has been checked yet"),
            }
        }
        ToWorker::Edit {
            job,
            row,
            field,
            value,
            page,
        } => {
            session.edit(row, field, value);
            check(session, job, page, None);
        }
        ToWorker::TrimAll { job, page } => {
            let trimmed = session.trim_all();
            check(session, job, page, Some(trimmed));
        }
        ToWorker::Rows { job, page } => match &session.checked {
            Some(checked) => post(&FromWorker::Rows {
                job,
                page: checked.page(page),
            }),
            None => failed(job, "no file has been checked yet"),
        },
        ToWorker::Export { job } => match session.export().and_then(|file| {
            let blob = blob_of(&file.bytes, file.mime)?;
            Ok((file.name, blob))
        }) {
            Ok((file_name, blob)) => post_with(
                &FromWorker::Export {
                    job,
                    file_name,
                    file: None,
                },
                &blob,
            ),
            Err(message) => failed(
                job,
                format!("the corrected file could not be made: {message}"),
            ),
        },
        ToWorker::ImportRows { job } => match &session.checked {
            Some(checked) => post(&FromWorker::ImportRows {
                job,
                file_name: session.file_name.clone(),
                rows: checked.report.rows.clone(),
            }),
            None => failed(job, "no file has been checked yet"),
        },
    }
}

fn read(job: u32, file_name: String, bytes: &[u8]) {
    post(&FromWorker::Progress {
        job,
        stage: Stage::Reading { percent: 0 },
    });
    let started = now_ms();
    // Free the previous file before reading the next one.
    SESSION.with(|s| s.borrow_mut().take());
    reserve_memory(bytes.len());
    // The reader calls back every 2 % at most; post only whole new percents.
    let mut shown = 0u8;
    let mut on_progress = |p: Progress| {
        let percent = (p.fraction() * 100.0) as u8;
        if percent > shown {
            shown = percent;
            post(&FromWorker::Progress {
                job,
                stage: Stage::Reading { percent },
            });
        }
    };
    let table = read_sheet_with_progress(
        bytes,
        Some(&file_name),
        &ReadOptions::default(),
        &mut on_progress,
    )
    .and_then(Table::from_sheet);
    match table {
        Ok(table) => {
            let session = CheckSession::new(file_name, table);
            let table = &session.table;
            post(&FromWorker::Table {
                job,
                headers: table.headers.clone(),
                suggested: columns_of(&session.mapping),
                source: table.source.clone(),
                read_ms: now_ms() - started,
            });
            SESSION.with(|s| *s.borrow_mut() = Some(session));
        }
        Err(e) => failed(job, e.to_string()),
    }
}

fn check(session: &mut CheckSession, job: u32, page: PageRequest, trimmed: Option<usize>) {
    post(&FromWorker::Progress {
        job,
        stage: Stage::Checking,
    });
    let started = now_ms();
    let edited_cells = session.edited_cells();
    let checked = session.check();
    let check_ms = now_ms() - started;
    post(&FromWorker::Checked {
        job,
        outcome: checked.outcome(edited_cells),
        page: checked.page(page),
        check_ms,
        trimmed,
    });
}
