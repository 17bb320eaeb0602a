use leptos::prelude::*;
use leptos_router::components::A;

/// `/`: what Roster is, and the way to the public check page.
#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <div class="narrow">
            <h1>"Roster"</h1>
            <p class="lede">
                "Roster creates and updates user accounts in bulk from a spreadsheet."
            </p>
            <section class="card">
                <h2>"Check a file before you import it"</h2>
                <p>
                    "Choose an .xlsx, .xls, .ods or .csv file and see every problem at once: "
                    "missing values, invalid email addresses, spaces in usernames, user IDs "
                    "used twice, and more. The file is read in this browser and never leaves it."
                </p>
                <p>
                    <A href="/check" attr:class="button primary">
                        "Check a file"
                    </A>
                </p>
            </section>
        </div>
    }
}
