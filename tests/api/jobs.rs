//! The background jobs (the trash can's purge, expired sessions and
//! sign-in windows) run in
//! every `roster serve` process: several at once must do the work once,
//! without an error, and never interleave with a directory write.

use std::sync::Arc;
use std::time::Duration;

use roster_server::http::auth::{LoginLimiter, delete_expired_sign_in_windows};
use serde_json::json;
use tokio::sync::Barrier;
use tokio::task::JoinHandle;

use crate::helpers::{
    Kind, REPEATABLE_READ_BY_DEFAULT, TestApp, orphan_memberships, spawn_app, spawn_app_with,
};
use crate::on_both_databases;

const DAY: i64 = 86_400;

on_both_databases!(
    background_jobs_run_in_several_processes_at_once,
    a_purge_waits_for_a_restore_under_way,
    a_purge_that_waited_deletes_a_membership_written_meanwhile,
);

async fn count(db: &roster_server::Db, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Issue 15: six "processes" (a pool each) run every background job at
/// the same moment on a database with 40 users to purge and expired
/// sessions: no job fails, each row goes once, nothing else goes.
async fn background_jobs_run_in_several_processes_at_once(kind: Kind) {
    // The server's own jobs stay out of the count.
    let app = spawn_app_with(kind, |c| c.clean_up_interval = Duration::from_secs(3600)).await;
    let admin = app.admin().await;
    for i in 0..40 {
        let id = admin
            .create_user(json!({"username": format!("leaver{i}")}))
            .await["id"]
            .as_i64()
            .expect("id");
        admin.delete(&format!("/api/users/{id}")).await;
    }
    let stayer = admin.create_user(json!({"username": "stayer"})).await["id"]
        .as_i64()
        .expect("id");
    for _ in 0..3 {
        app.admin().await; // more sessions, all to expire
    }
    let db = app.database().await;
    let limiter = LoginLimiter::new(db.clone(), 5, 20);
    let address = "192.0.2.1".parse().ok();
    for i in 0..10 {
        // Failed attempts: never given back.
        let _failed = limiter
            .reserve(&format!("guess{i}"), address, app.clock.now())
            .await
            .expect("reserve");
    }
    let windows = count(&db, "SELECT COUNT(*) FROM sign_in_attempts").await;
    assert_eq!(windows, 11, "ten accounts and one address");
    app.clock.advance(31 * DAY);
    let now = app.clock.now();
    let sessions = count(&db, "SELECT COUNT(*) FROM sessions").await;
    assert!(sessions >= 4, "{sessions} sessions");

    let processes = 6;
    let barrier = Arc::new(Barrier::new(processes));
    let mut tasks = Vec::new();
    for _ in 0..processes {
        let pool = roster_server::db::connect_with(&app.database_url, Some(3))
            .await
            .expect("connect");
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let (purged, expired, ended) = tokio::join!(
                roster_server::db::purge_trash(&pool, now),
                roster_server::db::delete_expired_sessions(&pool, now),
                delete_expired_sign_in_windows(&pool, now),
            );
            pool.close().await;
            (purged, expired, ended)
        }));
    }
    let (mut purged, mut expired, mut ended) = (0, 0, 0);
    for task in tasks {
        let (p, e, w) = task.await.expect("a job task");
        purged += p.unwrap_or_else(|e| panic!("a purge failed: {e}"));
        expired += e.unwrap_or_else(|e| panic!("a session clean-up failed: {e}"));
        ended += w.unwrap_or_else(|e| panic!("a sign-in window clean-up failed: {e}"));
    }
    assert_eq!(ended, 11, "each sign-in window once");
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sign_in_attempts").await, 0);
    assert_eq!(purged, 40, "each trashed user purged once");
    assert_eq!(
        expired,
        u64::try_from(sessions).expect("a count"),
        "each session once"
    );
    assert_eq!(count(&db, "SELECT COUNT(*) FROM users").await, 2);
    assert_eq!(count(&db, "SELECT COUNT(*) FROM sessions").await, 0);
    let orphans = count(
        &db,
        "SELECT (SELECT COUNT(*) FROM user_search_terms WHERE user_pk NOT IN (SELECT id FROM users)) \
         + (SELECT COUNT(*) FROM user_memberships WHERE user_pk NOT IN (SELECT id FROM users))",
    )
    .await;
    assert_eq!(orphans, 0, "no terms or memberships of purged users");
    let stayer_rows = count(
        &db,
        &format!(
            "SELECT (SELECT COUNT(*) FROM user_memberships WHERE user_pk = {stayer}) \
             * (SELECT COUNT(*) FROM user_search_terms WHERE user_pk = {stayer})"
        ),
    )
    .await;
    assert!(
        stayer_rows > 0,
        "the active user keeps memberships and terms"
    );
    db.close().await;
    app.finish().await;
}

/// A user created from `body` and put in the trash can more than 30 days
/// ago (the clock moved on): their id, and the time a purge runs at.
async fn user_due_for_purge(app: &TestApp, body: serde_json::Value) -> (i64, i64) {
    let admin = app.admin().await;
    let id = admin.create_user(body).await["id"].as_i64().expect("id");
    admin.delete(&format!("/api/users/{id}")).await;
    app.clock.advance(31 * DAY);
    (id, app.clock.now())
}

/// The trash can's purge at `now`, on a pool of its own (`url`), in a task:
/// it can wait for the directory lock while the test holds it.
async fn purge_in_background(url: &str, now: i64) -> JoinHandle<sqlx::Result<u64>> {
    let other = roster_server::db::connect_with(url, Some(2))
        .await
        .expect("connect");
    tokio::spawn(async move {
        let purged = roster_server::db::purge_trash(&other, now).await;
        other.close().await;
        purged
    })
}

/// Issue 15: a purge that starts while a user past 30 days in the trash
/// is being restored waits for the restore, then leaves the user whole.
/// It deleted their memberships and search terms, then found the row
/// restored and kept it: a user back with no node and never found.
async fn a_purge_waits_for_a_restore_under_way(kind: Kind) {
    let app = spawn_app(kind).await;
    let (id, now) =
        user_due_for_purge(&app, json!({"username": "Returner", "first_name": "Rita"})).await;
    let db = app.database().await;
    // What `POST /api/trash/{id}/restore` does, held open.
    let mut restore = roster_server::db::begin_directory_write(&db)
        .await
        .expect("begin the restore");
    sqlx::query("UPDATE users SET deleted_at = NULL, updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *restore)
        .await
        .expect("restore the user");
    roster_server::db::users::restore_search_terms(&mut restore, &[id])
        .await
        .expect("write the terms again");
    let purge = purge_in_background(&app.database_url, now).await;
    // The purge goes as far as it can before the restore commits.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    restore.commit().await.expect("commit the restore");
    let purged = purge.await.expect("the purge task").expect("the purge");
    assert_eq!(purged, 0, "the restored user is not purged");
    let memberships = count(
        &db,
        &format!("SELECT COUNT(*) FROM user_memberships WHERE user_pk = {id}"),
    )
    .await;
    assert_eq!(memberships, 1, "the restored user keeps their node");
    let admin = app.admin().await; // the old session expired meanwhile
    let found = admin.get_ok("/api/users?q=rita").await;
    assert_eq!(found["total"], 1, "the restored user is found: {found}");
    db.close().await;
    app.finish().await;
}

/// A purge that waited for a directory write reads what it committed: an
/// import that gave a user past 30 days in the trash a membership (a sync
/// of a user in the trash can) holds the lock; the purge then deletes that
/// membership with the user. The memberships have no foreign key since
/// migration 0012, so nothing else would. On PostgreSQL the purge's pool
/// defaults to REPEATABLE READ, under which its snapshot would date from
/// before its wait (`db::begin_directory_write` asks for READ COMMITTED).
async fn a_purge_that_waited_deletes_a_membership_written_meanwhile(kind: Kind) {
    let app = spawn_app(kind).await;
    let (id, now) = user_due_for_purge(&app, json!({"username": "Leaver"})).await;
    let db = app.database().await;
    let mut import = roster_server::db::begin_directory_write(&db)
        .await
        .expect("begin the import");
    let node: i64 = sqlx::query_scalar(
        "INSERT INTO hierarchy_nodes (parent_id, name, name_key) \
         SELECT id, 'Late Class', 'late class' FROM hierarchy_nodes WHERE parent_id IS NULL \
         RETURNING id",
    )
    .fetch_one(&mut *import)
    .await
    .expect("a node");
    sqlx::query("INSERT INTO user_memberships (user_pk, node_id) VALUES ($1, $2)")
        .bind(id)
        .bind(node)
        .execute(&mut *import)
        .await
        .expect("a membership");
    let url = match kind {
        Kind::Sqlite => app.database_url.clone(),
        Kind::Postgres => format!("{}{REPEATABLE_READ_BY_DEFAULT}", app.database_url),
    };
    let purge = purge_in_background(&url, now).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    import.commit().await.expect("commit the import");
    let purged = purge.await.expect("the purge task").expect("the purge");
    assert_eq!(purged, 1, "the user past 30 days is purged");
    assert_eq!(
        orphan_memberships(&db).await,
        0,
        "no membership outlives its user"
    );
    db.close().await;
    app.finish().await;
}
