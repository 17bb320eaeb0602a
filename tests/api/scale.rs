//! Search on a large directory: seeds `ROSTER_SCALE_USERS` users (default
//! 1,000,000) straight into the tables, the way `db::users::insert_user` writes
//! them, then times searches over HTTP. Ignored by default (minutes of
//! seeding); run it with
//! `cargo test --release -p roster-tests --test api scale -- --ignored --nocapture`.

use std::time::Instant;

use roster_server::search;
use sqlx::AnyPool;

use crate::helpers::{Kind, spawn_app};

pub(crate) const FIRST: [&str; 16] = [
    "Anna", "Jürgen", "Zoë", "Łukasz", "Marie", "José", "Søren", "Ingrid", "Mohammed", "Aoife",
    "Chloé", "Björn", "Emma", "Noah", "Renée", "Tomás",
];
pub(crate) const LAST: [&str; 16] = [
    "Müller",
    "Ångström",
    "Smith",
    "van der Berg",
    "García",
    "Dubois",
    "Nowak",
    "Jensen",
    "O'Brien",
    "Rossi",
    "Novák",
    "Kowalski",
    "Öztürk",
    "Lefèvre",
    "Schröder",
    "Fernández",
];

pub(crate) struct Seeded {
    pub(crate) first: String,
    pub(crate) last: String,
    pub(crate) username: String,
    pub(crate) email: String,
    pub(crate) user_id: String,
}

/// The `i`th user [`seed`] writes.
pub(crate) fn user(i: usize) -> Seeded {
    let first = FIRST[i % FIRST.len()];
    let last = LAST[(i / FIRST.len()) % LAST.len()];
    let username = format!("u{i:07}");
    Seeded {
        first: first.to_string(),
        last: last.to_string(),
        email: format!("{username}@school{}.example.com", i % 97),
        user_id: format!("{}", 10_000_000 + i),
        username,
    }
}

pub(crate) async fn seed(db: &AnyPool, count: usize, role_id: i64, root: i64) {
    const BATCH: usize = 400;
    // SQLite binds numbered `$N` parameters by looking each name up, n² per
    // statement; anonymous `?` is what the server itself sends it.
    let anonymous = db.connect_options().database_url.scheme() == "sqlite";
    let values = |rows: usize, width: usize, literal: &str| -> String {
        (0..rows)
            .map(|r| {
                let slots: Vec<String> = (1..=width)
                    .map(|c| {
                        if anonymous {
                            "?".to_string()
                        } else {
                            format!("${}", r * width + c)
                        }
                    })
                    .collect();
                format!("({}{literal})", slots.join(", "))
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let started = Instant::now();
    let mut next_id: i64 = 1_000;
    let mut i = 0;
    while i < count {
        let end = (i + BATCH).min(count);
        let mut tx = db.begin().await.expect("begin");
        let mut terms: Vec<(String, i64, String)> = Vec::new();
        let mut rows = Vec::new();
        for k in i..end {
            let u = user(k);
            let id = next_id;
            next_id += 1;
            let sort_key = search::sort_key(&u.first, &u.last, &u.username);
            for t in search::terms(&[&u.first, &u.last, &u.username, &u.email, &u.user_id]) {
                terms.push((t, id, sort_key.clone()));
            }
            rows.push((id, u));
        }
        let users_sql = format!(
            "INSERT INTO users (id, first_name, last_name, username, username_key, email, \
             user_id, role_id, sort_key, created_at, updated_at, dup_key, time_zone) VALUES {}",
            values(rows.len(), 12, ", 'UTC'")
        );
        let mut q = sqlx::query(&users_sql);
        for (id, u) in &rows {
            q = q
                .bind(*id)
                .bind(u.first.clone())
                .bind(u.last.clone())
                .bind(u.username.clone())
                .bind(u.username.clone())
                .bind(u.email.clone())
                .bind(u.user_id.clone())
                .bind(role_id)
                .bind(search::sort_key(&u.first, &u.last, &u.username))
                .bind(1_700_000_000_i64)
                .bind(1_700_000_000_i64)
                .bind(roster_server::db::users::dup_key(
                    &u.first, &u.last, &u.email,
                ));
        }
        q.execute(&mut *tx).await.expect("insert users");
        for chunk in terms.chunks(2_000) {
            let sql = format!(
                "INSERT INTO user_search_terms (term, user_pk, sort_key) VALUES {}",
                values(chunk.len(), 3, "")
            );
            let mut q = sqlx::query(&sql);
            for (term, id, sort_key) in chunk {
                q = q.bind(term.clone()).bind(*id).bind(sort_key.clone());
            }
            q.execute(&mut *tx).await.expect("insert terms");
        }
        let sql = format!(
            "INSERT INTO user_memberships (user_pk, node_id) VALUES {}",
            values(rows.len(), 2, "")
        );
        let mut q = sqlx::query(&sql);
        for (id, _) in &rows {
            q = q.bind(*id).bind(root);
        }
        q.execute(&mut *tx).await.expect("insert memberships");
        tx.commit().await.expect("commit");
        i = end;
    }
    if !anonymous {
        // The ids above were given, not drawn: PostgreSQL's identity would
        // hand them out again to the next users created (SQLite takes the
        // largest id + 1 by itself).
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT MAX(id) FROM users))",
        )
        .execute(db)
        .await
        .expect("move the users' id sequence past the seeded ids");
    }
    println!("seeded {count} users in {:.1?}", started.elapsed());
}

async fn search_scales(kind: Kind) {
    let count: usize = std::env::var("ROSTER_SCALE_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let app = spawn_app(kind).await;
    let admin = app.admin().await;
    let role = admin.administrator_role().await;
    let root = admin.root_node().await;
    let db = app.database().await;
    seed(&db, count, role, root).await;
    // What autovacuum would do soon after a bulk load.
    let analyze = match kind {
        Kind::Postgres => "VACUUM ANALYZE",
        Kind::Sqlite => "ANALYZE",
    };
    sqlx::query(analyze).execute(&db).await.expect("analyze");
    db.close().await;
    println!("{kind:?}, {count} users:");
    for query in [
        "q=u0123456",
        "q=10500000",
        "q=muller",
        "q=M%C3%9CLLER%20zoe",
        "q=angstrom%20u00",
        "q=school42",
        "q=a",
        "q=",
        "q=&page=2000",
    ] {
        let started = Instant::now();
        let page = admin.get_ok(&format!("/api/users?{query}")).await;
        let first = started.elapsed();
        let started = Instant::now();
        admin.get_ok(&format!("/api/users?{query}")).await;
        let second = started.elapsed();
        println!(
            "  GET /api/users?{query:<22} total {:>8}  {:>8.1?} (again {:>8.1?})",
            page["total"], first, second
        );
    }
    if std::env::var_os("ROSTER_SCALE_KEEP").is_some() {
        println!("kept the database: {}", app.database_url);
        return;
    }
    app.finish().await;
}

#[tokio::test]
#[ignore = "seeds a million users: minutes; run by hand (see the module doc)"]
async fn search_on_a_large_directory_sqlite() {
    search_scales(Kind::Sqlite).await
}

#[tokio::test]
#[ignore = "seeds a million users: minutes; run by hand (see the module doc)"]
async fn search_on_a_large_directory_postgres() {
    search_scales(Kind::Postgres).await
}
