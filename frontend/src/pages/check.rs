//! `/check`: the public "Check a file" page (SPEC section 10, steps 1–3).
//! Nothing here is sent over the network: the worker reads and checks the
//! file, and this page shows what it found.

use std::sync::Arc;

use leptos::prelude::*;
use roster_shared::{Field, Limits, MappedRow, Mapping, ReadError};

use crate::check_state::{ChosenFile, OpenFile, Status};
use crate::checked_file::{CheckedFile, Timings};
use crate::components::{
    CheckSummary, Corrections, FilePicker, MappingForm, ProgressPanel, RowGrid, RuleCounts,
    StatusLine, WarningCounts, focus_after_redraw,
};
use crate::now_ms;
use crate::pages::import::ImportSteps;
use crate::protocol::{
    FromWorker, PageRequest, RowsPage, Stage, ToWorker, WarningKey, columns_of, mapping_from,
};
use crate::worker_client::{CheckWorker, SILENCE_LIMIT_MS};
use crate::{dismissed_warnings, download, remembered_mapping};

/// How long the worker may keep a request waiting in silence:
/// [`SILENCE_LIMIT_MS`], or the page address's `silence-limit-ms` (the
/// browser tests set it low to see a silent worker replaced).
fn silence_limit_ms() -> u32 {
    web_sys::window()
        .and_then(|w| w.location().search().ok())
        .and_then(|query| {
            query
                .trim_start_matches('?')
                .split('&')
                .find_map(|pair| pair.strip_prefix("silence-limit-ms="))
                .and_then(|ms| ms.parse().ok())
        })
        .unwrap_or(SILENCE_LIMIT_MS)
}

/// What Try Import gets from the worker: the file's name and its checked,
/// corrected rows.
pub type ImportRows = (String, Vec<MappedRow>);

/// The check page's steps 1–3. With `import`, the page is "Import users"
/// and step 4 asks the worker for the rows to send (`pages/import.rs`).
#[component]
pub fn CheckPage() -> impl IntoView {
    view! { <CheckSteps import=false /> }
}

#[component]
pub fn CheckSteps(import: bool) -> impl IntoView {
    let status = RwSignal::new(Status::Starting);
    let chosen = RwSignal::new(None::<ChosenFile>);
    let open_file = RwSignal::new(None::<Arc<OpenFile>>);
    let mapping = RwSignal::new(Mapping::default());
    let checked = RwSignal::new(None::<Arc<CheckedFile>>);
    // What the last correction did, said before the summary.
    let notice = RwSignal::new(None::<String>);
    // The page of rows the grid shows, and the one it wants.
    let rows_page = RwSignal::new(None::<Arc<RowsPage>>);
    let wanted_page = RwSignal::new(PageRequest::default());
    // The latest request; replies to earlier ones are stale and ignored.
    let job = StoredValue::new(0u32);
    let started_at = StoredValue::new(0.0f64);
    let read_ms = StoredValue::new(None::<f64>);
    // The element to focus once a correction has been checked.
    let focus_next = StoredValue::new(None::<String>);
    let worker = StoredValue::new_local(None::<CheckWorker>);
    // Set when the worker has stopped on a fault; it takes no more requests.
    let crashed = StoredValue::new(false);
    // Who waits for the rows of Try Import.
    let rows_wanted = StoredValue::new(None::<Callback<ImportRows>>);
    // Counts the corrections: each one makes Try Import's preview stale.
    let corrected = RwSignal::new(0u32);
    // The warnings dismissed for the chosen file (`dismissed_warnings`).
    let dismissed = StoredValue::new(Vec::<WarningKey>::new());
    let bump = move || corrected.update(|n| *n = n.wrapping_add(1));

    let next_job = move || {
        let next = job.get_value().wrapping_add(1);
        job.set_value(next);
        next
    };
    let fail = move |message: String| {
        checked.set(None);
        status.set(Status::Failed { message });
    };
    let not_running = move || {
        format!(
            "the checker {}; reload the page to try again",
            if crashed.get_value() {
                "has stopped"
            } else {
                "is not running"
            }
        )
    };
    let send = move |request: ToWorker| {
        let sent = worker.with_value(|w| match w {
            Some(w) if !crashed.get_value() => w.send(&request),
            _ => Err(not_running()),
        });
        if let Err(message) = sent {
            fail(message);
        }
    };
    // Starts a request that checks again; `make` gets its job number.
    let recheck = move |make: &dyn Fn(u32) -> ToWorker| {
        started_at.set_value(now_ms());
        read_ms.set_value(None);
        notice.set(None);
        status.set(Status::Working {
            stage: Stage::Checking,
        });
        send(make(next_job()));
    };

    // Checks the open file with the current mapping, or asks for the
    // columns a check cannot do without.
    let request_check = move || {
        let missing = mapping.with_untracked(Mapping::missing_required);
        if !missing.is_empty() {
            next_job();
            checked.set(None);
            status.set(Status::NeedsMapping { missing });
            return;
        }
        let columns = mapping.with_untracked(columns_of);
        let page = wanted_page.get_untracked();
        let job = next_job();
        status.set(Status::Working {
            stage: Stage::Checking,
        });
        send(ToWorker::Check {
            job,
            columns,
            page,
            dismissed: dismissed.get_value(),
        });
    };

    let on_reply = move |reply: FromWorker| match reply {
        FromWorker::Ready if status.get_untracked() == Status::Starting => {
            status.set(Status::Ready);
        }
        FromWorker::Progress { job: j, stage } if j == job.get_value() => {
            status.set(Status::Working { stage });
        }
        FromWorker::Table {
            job: j,
            headers,
            suggested,
            source,
            read_ms: ms,
        } if j == job.get_value() => {
            read_ms.set_value(Some(ms));
            let remembered = remembered_mapping::load(&headers);
            mapping.set(remembered.unwrap_or_else(|| mapping_from(&suggested)));
            open_file.set(Some(Arc::new(OpenFile { headers, source })));
            request_check();
        }
        FromWorker::Checked {
            job: j,
            outcome,
            page,
            check_ms,
            trimmed,
        } if j == job.get_value() => {
            let name = chosen
                .with_untracked(|c| c.as_ref().map(|c| c.name.clone()))
                .unwrap_or_default();
            let timings = Timings {
                read_ms: read_ms.get_value(),
                check_ms,
                total_ms: now_ms() - started_at.get_value(),
            };
            // Trimming nothing changes no row, so the preview stays.
            if trimmed.is_some_and(|n| n > 0) {
                bump();
            }
            if let Some(n) = trimmed {
                notice.set(Some(match n {
                    0 => "No value had stray spaces.".to_string(),
                    1 => "Removed stray spaces from 1 cell.".to_string(),
                    n => format!("Removed stray spaces from {n} cells."),
                }));
            }
            wanted_page.set(page.request);
            rows_page.set(Some(Arc::new(page)));
            checked.set(Some(Arc::new(CheckedFile::new(name, outcome, timings))));
            status.set(Status::Done);
            if let Some(id) = focus_next.get_value() {
                focus_next.set_value(None);
                focus_after_redraw(&id);
            }
        }
        FromWorker::Rows { job: j, page }
            if j == job.get_value() && wanted_page.get_untracked() == page.request =>
        {
            rows_page.set(Some(Arc::new(page)));
        }
        FromWorker::Export {
            job: j,
            file_name,
            file,
        } if j == job.get_value() => {
            let saved = file
                .ok_or_else(|| "the worker sent no file".to_string())
                .and_then(|blob| download::save(&file_name, &blob));
            if let Err(message) = saved {
                fail(format!("the corrected file could not be saved: {message}"));
            }
        }
        FromWorker::ImportRows {
            job: j,
            file_name,
            rows,
        } if j == job.get_value() => {
            if let Some(then) = rows_wanted.get_value() {
                rows_wanted.set_value(None);
                then.run((file_name, rows));
            }
        }
        FromWorker::Failed { job: j, message } if j == job.get_value() => {
            open_file.set(None);
            fail(message);
        }
        // A reply to a request that has since been replaced.
        _ => {}
    };
    let on_crash = move |message: String| {
        crashed.set_value(true);
        open_file.set(None);
        fail(format!(
            "the checker stopped unexpectedly ({message}); reload the page to try again"
        ));
    };
    match CheckWorker::spawn(on_reply, on_crash, silence_limit_ms()) {
        Ok(w) => worker.set_value(Some(w)),
        Err(message) => fail(format!("the checker could not start: {message}")),
    }
    // Leaving the page stops the worker and frees the file's memory.
    on_cleanup(move || worker.update_value(|w| *w = None));

    let on_file = Callback::new(move |file: web_sys::File| {
        let this_job = next_job();
        started_at.set_value(now_ms());
        read_ms.set_value(None);
        notice.set(None);
        wanted_page.set(PageRequest::default());
        let this_file = ChosenFile {
            name: file.name(),
            size: file.size(),
            last_modified: file.last_modified(),
        };
        dismissed.set_value(dismissed_warnings::load(&this_file));
        chosen.set(Some(this_file));
        open_file.set(None);
        checked.set(None);
        let limit = Limits::default().max_file_bytes;
        if file.size() > limit as f64 {
            fail(
                ReadError::FileTooLarge {
                    size: file.size() as u64,
                    limit,
                }
                .to_string(),
            );
            return;
        }
        status.set(Status::Working {
            stage: Stage::Loading,
        });
        let sent = worker.with_value(|w| match w {
            Some(w) if !crashed.get_value() => w.read(this_job, &file),
            _ => Err(not_running()),
        });
        if let Err(message) = sent {
            fail(message);
        }
    });

    let on_map = Callback::new(move |(field, column): (Field, Option<usize>)| {
        bump();
        mapping.update(|m| m.set(field, column));
        if let Some(file) = open_file.get_untracked() {
            mapping.with_untracked(|m| remembered_mapping::save(&file.headers, m));
        }
        started_at.set_value(now_ms());
        read_ms.set_value(None);
        notice.set(None);
        request_check();
    });

    let on_page = Callback::new(move |page: PageRequest| {
        wanted_page.set(page);
        send(ToWorker::Rows {
            job: job.get_value(),
            page,
        });
    });

    let on_edit = Callback::new(move |(row, field, value): (u32, Field, String)| {
        bump();
        focus_next.set_value(Some(format!("edit-{row}-{}", field.key())));
        let page = wanted_page.get_untracked();
        recheck(&|job| ToWorker::Edit {
            job,
            row,
            field,
            value: value.clone(),
            page,
        });
    });
    let on_trim = Callback::new(move |()| {
        let page = wanted_page.get_untracked();
        recheck(&|job| ToWorker::TrimAll { job, page });
    });
    // Dismissing (or bringing back) warnings filters the last report again
    // in the worker; nothing is checked again.
    let send_dismissed = move || {
        if let Some(file) = chosen.get_untracked() {
            dismissed.with_value(|d| dismissed_warnings::save(&file, d));
        }
        let page = wanted_page.get_untracked();
        let list = dismissed.get_value();
        recheck(&|job| ToWorker::Dismiss {
            job,
            dismissed: list.clone(),
            page,
        });
    };
    let on_dismiss = Callback::new(move |key: WarningKey| {
        dismissed.update_value(|d| {
            if !d.contains(&key) && d.len() < dismissed_warnings::MAX_DISMISSED {
                d.push(key);
            }
        });
        // The dismissed note's button is gone: the rows keep the focus.
        focus_next.set_value(Some("rows-region".to_string()));
        send_dismissed();
    });
    let on_restore = Callback::new(move |()| {
        dismissed.set_value(Vec::new());
        focus_next.set_value(Some("rows-region".to_string()));
        send_dismissed();
    });
    let on_download = Callback::new(move |()| {
        send(ToWorker::Export {
            job: job.get_value(),
        })
    });

    let ask_rows = Callback::new(move |then: Callback<ImportRows>| {
        rows_wanted.set_value(Some(then));
        send(ToWorker::ImportRows {
            job: job.get_value(),
        });
    });
    let import_step = import.then(|| {
        view! {
            <Show when=move || checked.with(Option::is_some)>
                <ImportSteps ask_rows=ask_rows corrected=corrected />
            </Show>
        }
    });

    view! {
        <div class="check-page">
            {if import {
                view! {
                    <header class="page-header">
                        <h1>"Import users"</h1>
                        <p class="lede">
                            "Check a spreadsheet here, then import its users. "
                            "The file is read in this browser; only the checked rows are sent. "
                            <a id="template-link" href="/api/import/template" download="">
                                "Download the example template"
                            </a>
                            "."
                        </p>
                    </header>
                }
                    .into_any()
            } else {
                view! {
                    <header class="page-header">
                        <h1>"Check a file"</h1>
                        <p class="lede">
                            "Find every problem in a user spreadsheet before you import it. "
                            "The file is read in this browser and never leaves it."
                        </p>
                    </header>
                }
                    .into_any()
            }}

            <section class="card step" aria-labelledby="step-file">
                <h2 id="step-file">
                    <span class="step-number" aria-hidden="true">
                        "1"
                    </span>
                    "Choose a file"
                </h2>
                <FilePicker
                    disabled=Signal::derive(move || status.get() == Status::Starting)
                    on_file=on_file
                />
                <ProgressPanel status=status chosen=chosen />
                <StatusLine status=status chosen=chosen checked=checked notice=notice />
            </section>

            {move || {
                open_file
                    .get()
                    .map(|file| {
                        view! {
                            <section class="card step" aria-labelledby="step-map">
                                <h2 id="step-map">
                                    <span class="step-number" aria-hidden="true">
                                        "2"
                                    </span>
                                    "Match the columns"
                                </h2>
                                <MappingForm file=file mapping=mapping on_change=on_map />
                            </section>
                        }
                    })
            }}

            {move || {
                checked
                    .get()
                    .map(|file| {
                        view! {
                            <section class="card step" aria-labelledby="step-rows">
                                <h2 id="step-rows">
                                    <span class="step-number" aria-hidden="true">
                                        "3"
                                    </span>
                                    "Review the rows"
                                </h2>
                                <CheckSummary file=file.clone() />
                                <RuleCounts file=file.clone() />
                                <WarningCounts file=file.clone() on_restore=on_restore />
                                <Corrections
                                    file=file.clone()
                                    on_trim=on_trim
                                    on_download=on_download
                                />
                                <RowGrid
                                    file=file
                                    page=rows_page
                                    wanted=wanted_page
                                    on_request=on_page
                                    on_edit=on_edit
                                    on_dismiss=on_dismiss
                                />
                            </section>
                        }
                    })
            }}
            {import_step}
        </div>
    }
}
