//! The site's settings (the `settings` table).

/// The site's time zone (`UTC` if never set).
pub async fn site_time_zone<'e, E>(executor: E) -> sqlx::Result<String>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let tz: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'time_zone'")
            .fetch_optional(executor)
            .await?;
    Ok(tz.unwrap_or_else(|| "UTC".to_string()))
}
