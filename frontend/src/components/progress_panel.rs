use leptos::prelude::*;

use crate::check_state::{ChosenFile, Status};
use crate::protocol::Stage;

use super::format;

/// While a file is being read and checked: which step it is at, with a
/// progress bar. The status line below announces the same to screen readers.
#[component]
pub fn ProgressPanel(
    status: RwSignal<Status>,
    chosen: RwSignal<Option<ChosenFile>>,
) -> impl IntoView {
    move || {
        let Status::Working { stage } = status.get() else {
            return None;
        };
        let size = chosen.with(|c| {
            c.as_ref()
                .map(|c| format::bytes(c.size))
                .unwrap_or_default()
        });
        Some(view! {
            <div class="progress-panel" aria-hidden="true">
                <progress max="100" value=stage.percent().to_string()></progress>
                <span class="progress-text">
                    <span class="spinner"></span>
                    {match stage {
                        Stage::Reading { percent } if percent > 0 => {
                            format!(
                                "Step {} of {}: {}… {percent}% ({size})",
                                stage.step(),
                                Stage::COUNT,
                                stage.describe(),
                            )
                        }
                        _ => {
                            format!(
                                "Step {} of {}: {}… ({size})",
                                stage.step(),
                                Stage::COUNT,
                                stage.describe(),
                            )
                        }
                    }}
                </span>
            </div>
        })
    }
}
