//! One pool for both databases: sqlx's `Any` driver with runtime queries,
//! and the queries more than one caller runs, a module per table or
//! concern ([`users`], [`roles`], [`hierarchy`], [`settings`]; [`bulk`] the
//! multi-row statements). Below HTTP and the import: nothing here knows a
//! request. A query only one handler runs stays beside that handler.
//!
//! Every statement is written once, in the SQL both databases speak
//! (`$1` placeholders, `RETURNING`, `INTEGER`/`BIGINT` ids, text, times as
//! Unix seconds); only the migrations differ (`migrations/sqlite`,
//! `migrations/postgres`). docs/SERVER.md says why.

pub mod bulk;
pub mod hierarchy;
pub mod roles;
pub mod settings;
pub mod users;

use std::sync::Once;

use anyhow::Context;
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyPool, Transaction};

use crate::Config;
use crate::TRASH_RETENTION_DAYS;
use crate::password::{PasswordPolicy, generate_password};
use crate::permissions::Permissions;

pub type Db = AnyPool;
pub type Tx = Transaction<'static, Any>;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

impl DbKind {
    pub fn of_url(url: &str) -> anyhow::Result<DbKind> {
        if url.starts_with("sqlite:") {
            Ok(DbKind::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(DbKind::Postgres)
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://PATH or postgres://…)")
        }
    }

    /// The database behind a connection.
    pub fn of(conn: &sqlx::AnyConnection) -> DbKind {
        if conn.backend_name().eq_ignore_ascii_case("sqlite") {
            DbKind::Sqlite
        } else {
            DbKind::Postgres
        }
    }

    /// The database behind a pool.
    pub fn of_pool(db: &Db) -> DbKind {
        if db.connect_options().database_url.scheme() == "sqlite" {
            DbKind::Sqlite
        } else {
            DbKind::Postgres
        }
    }
}

/// The database's clock, in Unix seconds: what times the sign-in windows,
/// so that every process counts the same windows whatever its host's
/// clock says (a host 15 minutes ahead would end them all).
pub async fn database_now(db: &Db) -> sqlx::Result<i64> {
    let sql = match DbKind::of_pool(db) {
        DbKind::Sqlite => "SELECT CAST(strftime('%s', 'now') AS BIGINT)",
        DbKind::Postgres => "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS BIGINT)",
    };
    sqlx::query_scalar(sql).fetch_one(db).await
}

/// A SQLite URL that creates its file when missing.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

/// Creates a missing SQLite database file readable by its owner only
/// (0600), before SQLite would create it by the umask (often 0644:
/// password hashes readable by every local user). SQLite gives the -wal and
/// -shm files the database file's mode. An empty file is an empty database.
fn create_private_file(url: &str) -> anyhow::Result<()> {
    use std::str::FromStr;
    // In memory, or a mode that does not create the file (`mode=ro`).
    if url.contains(":memory:") || (url.contains("mode=") && !url.contains("mode=rwc")) {
        return Ok(());
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .context("cannot read the database URL")?;
    let path = options.get_filename();
    let mut file = std::fs::OpenOptions::new();
    file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    match file.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot create the database {}", path.display())),
    }
}

/// Connects and brings the schema up to date.
pub async fn connect(url: &str) -> anyhow::Result<Db> {
    connect_with(url, None).await
}

/// [`connect`] with at most `max_connections` (default: 4 on SQLite, 10 on
/// PostgreSQL).
pub async fn connect_with(url: &str, max_connections: Option<u32>) -> anyhow::Result<Db> {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(install_default_drivers);
    let kind = DbKind::of_url(url)?;
    let url = match kind {
        DbKind::Sqlite => {
            create_private_file(url)?;
            with_create_mode(url)
        }
        DbKind::Postgres => url.to_string(),
    };
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections.unwrap_or(match kind {
            // SQLite writes one at a time anyway; a few readers are enough.
            DbKind::Sqlite => 4,
            DbKind::Postgres => 10,
        }))
        .connect(&url)
        .await
        .context("cannot open the database")?;
    if kind == DbKind::Sqlite {
        // Readers do not wait for the writer nor it for them; the mode is
        // kept in the file. (sqlx gives every connection a 5 s busy
        // timeout, so a writer waits for another's turn.)
        sqlx::query("PRAGMA journal_mode = WAL")
            .execute(&pool)
            .await
            .context("cannot put the database in WAL mode")?;
    }
    let migrator = match kind {
        DbKind::Sqlite => &SQLITE_MIGRATIONS,
        DbKind::Postgres => &POSTGRES_MIGRATIONS,
    };
    migrator
        .run(&pool)
        .await
        .context("cannot bring the database's tables up to date")?;
    let filled = users::fill_duplicate_keys(&pool)
        .await
        .context("cannot fill the users' duplicate keys")?;
    if filled > 0 {
        tracing::info!(users = filled, "filled the users' duplicate keys");
    }
    Ok(pool)
}

/// `roster admin backup`: a consistent copy of a SQLite database, also one
/// servers are writing to (`VACUUM INTO` reads one snapshot), into `file`,
/// which must not exist and is created readable by its owner only (it
/// holds password hashes). The database is neither created nor migrated.
/// On PostgreSQL: an error that says to use pg_dump. The copy's size.
pub async fn backup(url: &str, file: &std::path::Path) -> anyhow::Result<u64> {
    use sqlx::Connection;
    use std::str::FromStr;
    if DbKind::of_url(url)? == DbKind::Postgres {
        anyhow::bail!(
            "this is a PostgreSQL database: back it up with pg_dump \
             (e.g. `pg_dump --format=custom --file=FILE DATABASE`, restored with pg_restore); \
             `roster admin backup` copies SQLite databases"
        );
    }
    let options = sqlx::sqlite::SqliteConnectOptions::from_str(url)
        .context("cannot read the database URL")?
        .create_if_missing(false);
    let mut conn = sqlx::sqlite::SqliteConnection::connect_with(&options)
        .await
        .context("cannot open the database")?;
    // Made empty and private first (VACUUM INTO fills an empty file, and
    // would make a missing one by the umask); `create_new` never overwrites.
    let mut new_file = std::fs::OpenOptions::new();
    new_file.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut new_file, 0o600);
    new_file.open(file).with_context(|| {
        format!(
            "cannot create {} (a backup never overwrites a file)",
            file.display()
        )
    })?;
    // Absolute, so that SQLite never reads the name as a `file:` URI.
    let target = std::path::absolute(file)
        .ok()
        .and_then(|p| p.to_str().map(str::to_string));
    let copied = match target {
        Some(target) => sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(&mut conn)
            .await
            .context("the copy failed"),
        None => Err(anyhow::anyhow!("the file's path is not UTF-8")),
    };
    let _ = conn.close().await;
    if let Err(e) = copied {
        let _ = std::fs::remove_file(file);
        return Err(e);
    }
    Ok(std::fs::metadata(file)?.len())
}

/// Begins a transaction that will write. On SQLite it takes the write lock
/// at once (`BEGIN IMMEDIATE`): a deferred transaction that read first could
/// fail to upgrade when another wrote meanwhile, while a waiting `IMMEDIATE`
/// one just waits (busy timeout) for its turn.
pub async fn begin(db: &Db) -> sqlx::Result<Tx> {
    if DbKind::of_pool(db) == DbKind::Sqlite {
        db.begin_with("BEGIN IMMEDIATE").await
    } else {
        db.begin().await
    }
}

/// The PostgreSQL advisory lock key of "the directory is being changed".
const DIRECTORY_LOCK_KEY: i64 = 0x526f_7374_6572; // "Roster"

/// Begins a transaction that changes the directory (users, roles, the
/// hierarchy, an import's commit). These run one at a time, so what one
/// checks inside (a full administrator remains, no cycle in the tree, a
/// name free among siblings, a role or node unused) still holds when it
/// commits. SQLite: `BEGIN IMMEDIATE` already admits one writer.
/// PostgreSQL: an advisory lock held until commit or rollback, taken
/// before anything is read, so each later statement sees every earlier
/// change. That needs READ COMMITTED, asked for here whatever the
/// server's `default_transaction_isolation`: under REPEATABLE READ the
/// snapshot is taken by the lock's own statement, before it waits, and a
/// node's deletion counted the members of a node filled meanwhile as none.
pub async fn begin_directory_write(db: &Db) -> sqlx::Result<Tx> {
    if DbKind::of_pool(db) == DbKind::Sqlite {
        return begin(db).await;
    }
    let mut tx = db
        .begin_with("BEGIN ISOLATION LEVEL READ COMMITTED")
        .await?;
    sqlx::query("SELECT CAST(1 AS BIGINT) FROM pg_advisory_xact_lock($1)")
        .bind(DIRECTORY_LOCK_KEY)
        .fetch_one(&mut *tx)
        .await?;
    Ok(tx)
}

/// Users an import's or an undo's commit must write (create, change,
/// trash or restore) for it to refresh the planner's statistics itself
/// ([`refresh_statistics`]); smaller writes are left to autovacuum.
pub const REFRESH_STATISTICS_FROM: usize = 10_000;

/// Refreshes PostgreSQL's planner statistics of the tables a bulk write
/// changes, as PostgreSQL's documentation advises after a bulk load. Until
/// autovacuum gets to them (a minute or more after the write; never where
/// it is turned off), a column the planner has no statistics of is guessed
/// at 0.5 % of the table per value: `DELETE FROM user_search_terms WHERE
/// user_pk IN (1,000 ids)` was taken for nearly every row and planned as a
/// sequential scan, so an undo right after its import read the 1,000,000
/// rows a hundred times (docs/PERFORMANCE.md, "Undoing an import"). It
/// runs after the commit, holding no lock of the directory's; the answer
/// waits for it (0.4-0.5 s for 100,000 users). `SKIP_LOCKED` (PostgreSQL
/// 12+): a table whose lock is held or awaited (another process's
/// `ANALYZE`, a `VACUUM`, a migration) is skipped, not waited for. SQLite
/// plans keyed statements by their index without statistics. A failure
/// is logged, not returned: the write it follows has committed.
pub async fn refresh_statistics(db: &Db) {
    if DbKind::of_pool(db) != DbKind::Postgres {
        return;
    }
    let analyzed = sqlx::query(
        "ANALYZE (SKIP_LOCKED) users, user_search_terms, user_memberships, sessions, \
         import_changes",
    )
    .execute(db)
    .await;
    if let Err(e) = analyzed {
        tracing::warn!(error = %e, "could not refresh the planner's statistics");
    }
}

/// First start of an empty database (SPEC section 7): the Administrator
/// role, a root node, the regional settings and the user `admin`. Returns
/// the generated password when `ROSTER_ADMIN_PASSWORD` was not given.
///
/// Processes started together on an empty database all find it empty; the
/// first to take the directory's write lock fills it, the others find it
/// filled under the lock and leave it.
pub async fn bootstrap(db: &Db, config: &Config) -> anyhow::Result<Option<String>> {
    const FILLED: &str = "SELECT (SELECT COUNT(*) FROM roles) + (SELECT COUNT(*) FROM users)";
    let filled: i64 = sqlx::query_scalar(FILLED).fetch_one(db).await?;
    if filled > 0 {
        return Ok(None);
    }
    let (password, generated) = match &config.admin_password {
        Some(p) => {
            anyhow::ensure!(
                p.chars().count() >= config.password.min_len,
                "ROSTER_ADMIN_PASSWORD must be at least {} characters",
                config.password.min_len
            );
            (p.clone(), false)
        }
        None => (generate_password()?, true),
    };
    let hash = config.password.hash_async(password.clone()).await?;
    let now = config.clock.now();
    let mut tx = begin_directory_write(db).await?;
    let filled: i64 = sqlx::query_scalar(FILLED).fetch_one(&mut *tx).await?;
    if filled > 0 {
        return Ok(None);
    }
    let role_id: i64 = sqlx::query_scalar(
        "INSERT INTO roles (name, name_key, permissions) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind("Administrator")
    .bind("administrator")
    .bind(Permissions::all().bits())
    .fetch_one(&mut *tx)
    .await?;
    let root_id: i64 = sqlx::query_scalar(
        "INSERT INTO hierarchy_nodes (parent_id, name, name_key) VALUES (NULL, $1, $2) RETURNING id",
    )
    .bind("Root")
    .bind("root")
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO settings (key, value) VALUES ('time_zone', 'UTC')")
        .execute(&mut *tx)
        .await?;
    let user = users::NewUser {
        first_name: "Site".into(),
        last_name: "Administrator".into(),
        username: "admin".into(),
        email: "admin@example.com".into(),
        user_id: "admin".into(),
        password_hash: Some(hash),
        role_id,
        special_needs: None,
        sync_key: None,
        time_zone: "UTC".into(),
    };
    let user_pk = users::insert_user(&mut tx, &user, now).await?;
    users::set_memberships(&mut tx, user_pk, &[root_id]).await?;
    tx.commit().await?;
    tracing::info!("first start: created the Administrator role, the root node and `admin`");
    Ok(generated.then_some(password))
}

/// Deletes for good the users who entered the trash can more than 30 days
/// before `now`; their username and user ID are free again.
///
/// A directory write ([`begin_directory_write`]): every process runs it, and
/// it must not interleave with a restore or an import that touches the same
/// users (a user restored between the deletion of their memberships and of
/// their row came back with neither memberships nor search terms). Under
/// the lock, a second purge finds nothing left to do.
pub async fn purge_trash(db: &Db, now: i64) -> sqlx::Result<u64> {
    let cutoff = now - TRASH_RETENTION_DAYS * 86_400;
    let mut tx = begin_directory_write(db).await?;
    // The hashes an import kept for an undo go with the user.
    sqlx::query(
        "UPDATE import_changes SET password_hash_before = NULL, password_after_digest = NULL \
         WHERE (password_hash_before IS NOT NULL OR password_after_digest IS NOT NULL) \
         AND user_pk IN (SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= $1)",
    )
    .bind(cutoff)
    .execute(&mut *tx)
    .await?;
    // A user in the trash can has no search terms (trashing deleted them):
    // their table is in the list only so that no term can outlive its user.
    for table in ["user_search_terms", "user_memberships", "sessions"] {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE user_pk IN \
             (SELECT id FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= $1)"
        ))
        .bind(cutoff)
        .execute(&mut *tx)
        .await?;
    }
    let purged = sqlx::query("DELETE FROM users WHERE deleted_at IS NOT NULL AND deleted_at <= $1")
        .bind(cutoff)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(purged)
}

/// Deletes the sessions expired at `now` (see [`clean_up`]).
pub async fn delete_expired_sessions(db: &Db, now: i64) -> sqlx::Result<u64> {
    clean_up(
        db,
        CleanUp::Sessions,
        "DELETE FROM sessions WHERE expires_at <= $1",
        now,
    )
    .await
}

/// The periodic clean-ups, each with its own PostgreSQL advisory lock key
/// (one shared key let a process skip the sessions' clean-up because
/// another was deleting sign-in windows).
#[derive(Clone, Copy)]
pub enum CleanUp {
    Sessions = 1,
    SignInWindows = 2,
}

/// Runs one clean-up `delete` (its `$1` bound to `bound`) in one process at
/// a time on PostgreSQL: a process that finds another running the same
/// clean-up skips, as the other deletes the same rows. The statement alone
/// would be idempotent, but two multi-row deletes that meet the same rows
/// in different orders can deadlock. SQLite writes one at a time anyway.
/// How many rows went (0 when skipped).
pub async fn clean_up(db: &Db, which: CleanUp, delete: &str, bound: i64) -> sqlx::Result<u64> {
    // "Roster" and the clean-up's number.
    let lock_key: i64 = 0x0052_6f73_7465_7200 + which as i64;
    if is_sqlite(db) {
        return Ok(sqlx::query(delete)
            .bind(bound)
            .execute(db)
            .await?
            .rows_affected());
    }
    let mut tx = db.begin().await?;
    let alone: i64 = sqlx::query_scalar(
        "SELECT CAST(CASE WHEN pg_try_advisory_xact_lock($1) THEN 1 ELSE 0 END AS BIGINT)",
    )
    .bind(lock_key)
    .fetch_one(&mut *tx)
    .await?;
    if alone == 0 {
        return Ok(0);
    }
    let deleted = sqlx::query(delete)
        .bind(bound)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    tx.commit().await?;
    Ok(deleted)
}

fn is_sqlite(db: &Db) -> bool {
    db.connect_options().database_url.scheme() == "sqlite"
}

/// `roster admin set-password`: sets the password of a user (also one in the
/// trash can) and ends that user's sessions. Returns how many ended.
pub async fn set_password(
    db: &Db,
    username: &str,
    password: &str,
    policy: &PasswordPolicy,
) -> anyhow::Result<u64> {
    anyhow::ensure!(
        password.chars().count() >= policy.min_len,
        "the password must be at least {} characters",
        policy.min_len
    );
    anyhow::ensure!(
        password.chars().count() <= crate::password::MAX_LEN,
        "the password must be at most {} characters",
        crate::password::MAX_LEN
    );
    anyhow::ensure!(
        !crate::password::is_common(password),
        "the password is too common, choose another"
    );
    let hash = policy.hash_async(password.to_string()).await?;
    // Under the directory's write lock, as the password change: an undo
    // running now must not put an older hash back over this one.
    let mut tx = begin_directory_write(db).await?;
    let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1")
        .bind(users::username_key(username))
        .fetch_optional(&mut *tx)
        .await?;
    let Some(id) = id else {
        anyhow::bail!("there is no user with the username {username:?}");
    };
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    users::forget_kept_hashes(&mut tx, id).await?;
    let ended = users::end_sessions(&mut tx, id).await?;
    tx.commit().await?;
    Ok(ended)
}
