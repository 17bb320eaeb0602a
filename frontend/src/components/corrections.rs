use std::sync::Arc;

use leptos::prelude::*;
use roster_shared::ErrorCode;

use crate::checked_file::CheckedFile;
use crate::corrected_file::corrected_name;

/// Corrections for the whole file: remove stray spaces in one click, and
/// download the file with every correction made here.
#[component]
pub fn Corrections(
    file: Arc<CheckedFile>,
    on_trim: Callback<()>,
    on_download: Callback<()>,
) -> impl IntoView {
    let untrimmed = file
        .counts
        .iter()
        .any(|(code, _)| *code == ErrorCode::Untrimmed);
    let edited = file.outcome.edited_cells > 0;
    let download_name = corrected_name(&file.file_name, file.outcome.source.format);
    (untrimmed || edited).then(|| {
        view! {
            <div class="corrections">
                {untrimmed
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button"
                                id="trim-all"
                                on:click=move |_| on_trim.run(())
                            >
                                "Remove stray spaces"
                            </button>
                        }
                    })}
                {edited
                    .then(|| {
                        view! {
                            <button
                                type="button"
                                class="button"
                                id="download-corrected"
                                on:click=move |_| on_download.run(())
                            >
                                {format!("Download the corrected file ({download_name})")}
                            </button>
                        }
                    })}
                <p class="hint">
                    "Corrections stay in this browser until you download the corrected file."
                </p>
            </div>
        }
    })
}
