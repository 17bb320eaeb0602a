//! Regional settings: the site's time zone.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{Kind, assert_error, ok_json, spawn_app};
use crate::on_both_databases;

on_both_databases!(the_site_time_zone_is_read_checked_and_used);

async fn the_site_time_zone_is_read_checked_and_used(kind: Kind) {
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    assert_eq!(
        admin.get_ok("/api/settings/regional").await,
        json!({"time_zone": "UTC"})
    );
    let message = assert_error(
        admin
            .put(
                "/api/settings/regional",
                json!({"time_zone": "Europe/Atlantis"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(message, "Time Zone: unknown time zone");
    // A near miss gets the rules crate's "did you mean?", as in a file.
    let message = assert_error(
        admin
            .put(
                "/api/settings/regional",
                json!({"time_zone": "Europe/Amsterdm"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid",
    )
    .await;
    assert_eq!(
        message,
        "Time Zone: unknown time zone; did you mean Europe/Amsterdam?"
    );
    let set = ok_json(
        admin
            .put(
                "/api/settings/regional",
                json!({"time_zone": "Europe/Amsterdam"}),
            )
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(set["time_zone"], "Europe/Amsterdam");
    assert_eq!(
        admin.get_ok("/api/settings/regional").await["time_zone"],
        "Europe/Amsterdam"
    );
    // A new user without a time zone gets the site's.
    let user = admin.create_user(json!({})).await;
    assert_eq!(user["time_zone"], "Europe/Amsterdam");
    app.finish().await;
}
