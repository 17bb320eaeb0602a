use std::sync::Arc;

use leptos::prelude::*;

use crate::checked_file::{CheckedFile, rule_name};

use super::{OkIcon, format};

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
