//! A summary's figures: labelled counts in a `<dl class="figures">` (an
//! import's preview and result, an entry of the history, an undo's
//! preview).

use leptos::prelude::*;

use super::format;

/// One figure of [`Figures`].
pub struct Figure {
    label: &'static str,
    value: String,
    /// "", "ok", "warn" or "bad": the colour of its box.
    tone: &'static str,
    /// The id of its value, for tests and scripts.
    id: &'static str,
}

impl Figure {
    /// A count, written with thousands separators.
    pub fn count<N: TryInto<i128>>(
        label: &'static str,
        n: N,
        tone: &'static str,
        id: &'static str,
    ) -> Figure {
        Figure {
            label,
            value: format::thousands(n),
            tone,
            id,
        }
    }

    /// A count in `tone` ("warn", "bad") when it is above zero (rows with
    /// errors, users left alone), plain when it is.
    pub fn flagged<N: TryInto<i128>>(
        label: &'static str,
        n: N,
        tone: &'static str,
        id: &'static str,
    ) -> Figure {
        // Every integer type fits in an i128.
        let n: i128 = n.try_into().unwrap_or(0);
        Figure::count(label, n, if n > 0 { tone } else { "" }, id)
    }
}

#[component]
pub fn Figures(figures: Vec<Figure>) -> impl IntoView {
    view! {
        <dl class="figures">
            {figures
                .into_iter()
                .map(|f| {
                    let class = if f.tone.is_empty() { "figure".to_string() } else { format!("figure {}", f.tone) };
                    view! {
                        <div class=class>
                            <dt>{f.label}</dt>
                            <dd id=f.id>{f.value}</dd>
                        </div>
                    }
                })
                .collect_view()}
        </dl>
    }
}
