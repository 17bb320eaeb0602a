//! Multi-row statements: placeholders in each database's own style, and the
//! one chunked loop that keeps every statement under SQLite's limit of
//! bound parameters. The import's commit writes through these.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AnyConnection, Encode, FromRow, Type};

use super::{Db, DbKind};

/// Values bound in one `IN (…)` list.
pub const IN_CHUNK: usize = 1000;
/// Placeholders in one multi-row statement (SQLite allows 32,766).
pub const MAX_BINDS: usize = 30_000;

/// A statement of the `Any` driver, being bound.
pub type AnyQuery<'q> = Query<'q, Any, AnyArguments<'q>>;

/// How a bulk statement writes its placeholders. SQLite gets anonymous `?`:
/// with numbered `$N` it looks each parameter's name up in a list, so
/// binding a statement of n parameters costs n² (a 30,000-value INSERT
/// took a second); PostgreSQL needs `$N`. Both are bound in order.
#[derive(Clone, Copy)]
pub enum Style {
    Anonymous,
    Numbered,
}

impl Style {
    /// The style of the database behind a connection.
    pub fn of(conn: &AnyConnection) -> Style {
        Style::of_kind(DbKind::of(conn))
    }

    /// The style of the database behind a pool.
    pub fn of_pool(db: &Db) -> Style {
        Style::of_kind(DbKind::of_pool(db))
    }

    fn of_kind(kind: DbKind) -> Style {
        match kind {
            DbKind::Sqlite => Style::Anonymous,
            DbKind::Postgres => Style::Numbered,
        }
    }
}

/// `items` in slices of at most `chunk`.
pub fn chunks<T>(items: &[T], chunk: usize) -> impl Iterator<Item = &[T]> {
    items.chunks(chunk.max(1))
}

/// `$first, …` (or `?, …`): `count` placeholders for one list.
pub fn placeholders(style: Style, first: usize, count: usize) -> String {
    (first..first + count)
        .map(|i| match style {
            Style::Anonymous => "?".to_string(),
            Style::Numbered => format!("${i}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, $3), ($4, $5, $6), …` for `rows` tuples of `width`.
pub fn values_list(style: Style, rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(style, r * width + 1, width)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The one chunked loop: `items` in chunks of at most [`MAX_BINDS`] values
/// (`width` a row), each with its statement `{head} VALUES (…), … {tail}`.
pub fn statements<'a, T>(
    style: Style,
    head: &'a str,
    tail: &'a str,
    width: usize,
    items: &'a [T],
) -> impl Iterator<Item = (String, &'a [T])> + 'a {
    chunks(items, MAX_BINDS / width.max(1)).map(move |part| {
        let values = values_list(style, part.len(), width);
        (format!("{head} VALUES {values}{tail}"), part)
    })
}

/// Inserts `items`, `width` values each, with as few statements as
/// [`statements`] allows; `bind` binds one item's `width` values in order.
pub async fn insert_rows<T>(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    width: usize,
    items: &[T],
    bind: impl for<'q> Fn(AnyQuery<'q>, &'q T) -> AnyQuery<'q>,
) -> sqlx::Result<()> {
    let style = Style::of(conn);
    for (sql, part) in statements(style, head, tail, width, items) {
        let mut query = sqlx::query(&sql);
        for item in part {
            query = bind(query, item);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The rows of `{head} IN (…)` for every key (e.g. `SELECT … WHERE id`),
/// [`IN_CHUNK`] keys a statement, each handed to `each` as it is read: the
/// one chunked `IN` loop of the reads.
pub async fn fetch_in<K, O>(
    conn: &mut AnyConnection,
    head: &str,
    keys: &[K],
    mut each: impl FnMut(O),
) -> sqlx::Result<()>
where
    K: Clone + Send + for<'q> Encode<'q, Any> + Type<Any> + 'static,
    O: for<'r> FromRow<'r, AnyRow> + Send + Unpin,
{
    let style = Style::of(conn);
    for part in chunks(keys, IN_CHUNK) {
        let sql = format!("{head} IN ({})", placeholders(style, 1, part.len()));
        let mut query = sqlx::query_as::<_, O>(&sql);
        for key in part {
            query = query.bind(key.clone());
        }
        query
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .for_each(&mut each);
    }
    Ok(())
}

/// `{head} IN (…)` for every key, [`IN_CHUNK`] keys a statement (e.g. a
/// `DELETE … WHERE user_pk`).
pub async fn execute_in(conn: &mut AnyConnection, head: &str, keys: &[i64]) -> sqlx::Result<()> {
    let style = Style::of(conn);
    for part in chunks(keys, IN_CHUNK) {
        let sql = format!("{head} IN ({})", placeholders(style, 1, part.len()));
        let mut query = sqlx::query(&sql);
        for key in part {
            query = query.bind(*key);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}
