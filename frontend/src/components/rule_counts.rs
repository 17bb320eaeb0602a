use std::sync::Arc;

use leptos::prelude::*;

use crate::checked_file::{CheckedFile, rule_name, warning_name};

use super::{OkIcon, WarningIcon, format};

/// How many errors each rule found.
#[component]
pub fn RuleCounts(file: Arc<CheckedFile>) -> impl IntoView {
    if file.counts.is_empty() {
        return view! {
            <p class="all-clear">
                <OkIcon />
                "No errors: every row can be imported."
            </p>
        }
        .into_any();
    }
    let rows = file
        .counts
        .iter()
        .map(|(code, n)| {
            view! {
                <tr>
                    <td>
                        {rule_name(*code)} " " <code class="rule-code">{code.key()}</code>
                    </td>
                    <td class="num">{format::thousands(*n)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="counts" id="rule-counts">
            <caption>"Errors by rule"</caption>
            <thead>
                <tr>
                    <th scope="col">"Rule"</th>
                    <th scope="col" class="num">"Errors"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}

/// How many warnings of each kind there are (not dismissed), beside the
/// errors' table, and how to bring dismissed ones back.
#[component]
pub fn WarningCounts(file: Arc<CheckedFile>, on_restore: Callback<()>) -> impl IntoView {
    let dismissed = file.outcome.dismissed_warnings;
    let restore = (dismissed > 0).then(|| {
        view! {
            <p class="hint" id="dismissed-warnings">
                {format!(
                    "{} dismissed for this file. ",
                    format::count(dismissed, "warning", "warnings"),
                )}
                <button
                    type="button"
                    class="link-button"
                    id="restore-warnings"
                    on:click=move |_| on_restore.run(())
                >
                    "Show them again"
                </button>
            </p>
        }
    });
    if file.warning_counts.is_empty() {
        return restore.into_any();
    }
    let rows = file
        .warning_counts
        .iter()
        .map(|(code, n)| {
            view! {
                <tr>
                    <td>
                        <WarningIcon />
                        " "
                        {warning_name(*code)}
                        " "
                        <code class="rule-code">{code.key()}</code>
                    </td>
                    <td class="num">{format::thousands(*n)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="counts warning-counts" id="warning-counts">
            <caption>"Warnings: probably wrong, but they do not stop an import"</caption>
            <thead>
                <tr>
                    <th scope="col">"Warning"</th>
                    <th scope="col" class="num">"Warnings"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
        {restore}
    }
    .into_any()
}
