//! Regional settings (SPEC section 1): the site's IANA time zone.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use roster_shared::Field;
use roster_shared::api::{ErrorBody, Permission, RegionalSettings};
use roster_shared::rules::check_form_value;

use super::ApiContext;
use super::extract::{AuthUser, Can, perm};
use super::json::Json;
use crate::error::{Error, Result};

pub fn router() -> Router<ApiContext> {
    Router::new().route("/settings/regional", get(get_regional).put(put_regional))
}

/// Readable with `manage_settings`, or `manage_users` (new users get it).
#[utoipa::path(get, path = "/api/settings/regional", tag = "settings",
    responses((status = 200, body = RegionalSettings), (status = 403, body = ErrorBody)))]
pub async fn get_regional(
    State(ctx): State<ApiContext>,
    auth: AuthUser,
) -> Result<Json<RegionalSettings>> {
    auth.require_any(&[Permission::ManageSettings, Permission::ManageUsers])?;
    Ok(Json(RegionalSettings {
        time_zone: crate::db::settings::site_time_zone(&ctx.db).await?,
    }))
}

#[utoipa::path(put, path = "/api/settings/regional", tag = "settings", request_body = RegionalSettings,
    responses((status = 200, body = RegionalSettings), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn put_regional(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageSettings>,
    Json(input): Json<RegionalSettings>,
) -> Result<Json<RegionalSettings>> {
    // The rules crate's check: its message carries the "did you mean?".
    let name = check_form_value(Field::TimeZone, Field::TimeZone.label(), &input.time_zone)
        .map_err(|(code, message)| Error::invalid("time_zone", code.key(), message))?;
    let Ok(tz) = name.parse::<chrono_tz::Tz>() else {
        return Err(Error::invalid(
            "time_zone",
            "invalid_time_zone",
            "Time Zone: unknown time zone",
        ));
    };
    let name = tz.name().to_string();
    let mut tx = crate::db::begin(&ctx.db).await?;
    sqlx::query("DELETE FROM settings WHERE key = 'time_zone'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ('time_zone', $1)")
        .bind(&name)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, time_zone = %name, "changed the site's time zone");
    Ok(Json(RegionalSettings { time_zone: name }))
}
