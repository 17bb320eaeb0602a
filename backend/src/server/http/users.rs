//! Users and the trash can (SPEC sections 1 and 9).
//!
//! A user's fields are checked with the same rules as an imported row
//! (`roster_shared::rules::check_row`), so the messages are the same.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use roster_shared::api::users::TOTAL_CAP;
use roster_shared::api::{
    EndedSessions, ErrorBody, ExportParams, FieldError, SearchParams, UserInput, UserOut, UserPage,
};
use roster_shared::rules::check_row;
use roster_shared::write::XLSX_MIME;
use roster_shared::{Field, MappedRow, RuleOptions};

use super::ApiContext;
use super::extract::{AuthUser, Can, perm};
use super::json::{Json, Path, Query};
use crate::clock::rfc3339;
use crate::db::users::{
    NewUser, USER_COLUMNS, UserRow, ensure_full_administrator_remains, load, username_key,
    with_memberships,
};
use crate::db::{self, Tx, bulk};
use crate::error::{Error, Result, ResultExt};
use crate::export;
use crate::permissions::Permissions;
use crate::search::{Searched, prefix_end, query_words};
use sqlx::AnyConnection;

pub fn router() -> Router<ApiContext> {
    Router::new()
        .route("/users", get(list_users).post(create_user))
        .route("/users/export.xlsx", get(export_users))
        .route(
            "/users/{id}",
            get(get_user).put(update_user).delete(delete_user),
        )
        .route("/users/{id}/sessions", delete(end_sessions))
        .route("/trash", get(list_trash))
        .route("/trash/{id}/restore", post(restore_user))
}

/// The index entries read to find [`TOTAL_CAP`] distinct users: a user may
/// hold two terms that begin the word (`Schröder`, `school5`).
const COUNTED_ENTRIES: i64 = TOTAL_CAP + TOTAL_CAP / 4;
/// The most distinct terms a word's page is merged from (`sch` begins 98:
/// `school0`…`school96`, `schroder`).
const MAX_MERGED_TERMS: usize = 128;
/// The most index entries a merge reads (terms × `offset + limit`): deeper
/// pages are sorted as before.
const MERGED_ENTRIES: i64 = 100_000;
/// The most users walked in listing order to fill a page of a word that
/// begins too many terms to merge (`1`: every user ID).
const WALKED_USERS: i64 = 5_000;
/// The index descents several words' seek ([`sought_page`]) makes for a
/// first page and its count: a descent costs about 50 entries read in
/// order (1,000,000 users: 7,800 descents 85–125 ms, a word's 12,500
/// entries 2–5 ms), so a tenth of [`COUNTED_ENTRIES`]. A deeper page may
/// take twice its depth, up to [`COUNTED_ENTRIES`] descents.
const SOUGHT_ENTRIES: i64 = COUNTED_ENTRIES / 10;
/// The most terms several words' seek descends into at each step.
const MAX_SOUGHT_TERMS: usize = 16;
/// Added to a user's id to write it in 19 digits, so that a seek's
/// position `sort_key, separator, id` sorts as `(sort_key, id)` does.
const ID_OFFSET: i64 = 1_000_000_000_000_000_000;
/// Between a position's sort key and its id: below every character a sort
/// key holds after its last separator (its username's).
const POSITION_SEPARATOR: &str = "\u{1}";

/// A page of users: how many match (and whether that is a lower bound)
/// and the page's rows, in listing order.
type Found = (i64, bool, Vec<UserRow>);

/// Search (or list) users, active or in the trash can, one page at a time.
///
/// Active users with a query are found from `user_search_terms`
/// ([`search_terms`]); only the page's users are then read. Without a
/// query `users` is read in the order of its own index ([`scan_users`]);
/// the trash can's users have no terms and are tested as they are read
/// ([`trash_search`]). A count stops at [`TOTAL_CAP`].
///
/// A search waits for one of the process's turns (`ApiContext::searches`)
/// and runs in a transaction of its own, in a task that holds the turn
/// until its statements end; both the wait and the run are bounded by
/// `--search-timeout-secs`, after which it answers 503 (on PostgreSQL the
/// statement is cancelled by `statement_timeout`; on SQLite it finishes
/// in its turn).
async fn search_users(ctx: &ApiContext, params: &SearchParams, in_trash: bool) -> Result<UserPage> {
    if params.page == 0 {
        return Err(Error::invalid("page", "invalid", "page: starts at 1"));
    }
    if !(1..=200).contains(&params.per_page) {
        return Err(Error::invalid(
            "per_page",
            "invalid",
            "per_page: from 1 to 200",
        ));
    }
    let limit = i64::from(params.per_page);
    let offset = i64::from(params.page - 1) * limit;
    let words = query_words(&params.q);
    let timeout = ctx.config.search_timeout;
    let turn = tokio::time::timeout(timeout, ctx.searches.clone().acquire_owned())
        .await
        .map_err(|_| search_timed_out(timeout))?
        .map_err(|e| Error::Internal(e.into()))?;
    // The statements run in a task that owns the turn: a request dropped
    // by its client (or answered 503 below) keeps its turn until they end.
    // SQLite has no statement timeout, and sqlx's SQLite worker runs a
    // statement it has begun until its first row, which for a sort or a
    // count is its end: so the turns, not the requests, bound how many
    // run (docs/SERVER.md, "Search").
    let db = ctx.db.clone();
    let search = tokio::spawn(async move {
        let found = search_in_turn(&db, &words, in_trash, limit, offset, timeout).await;
        drop(turn);
        found
    });
    // PostgreSQL cancels a statement at the timeout; on SQLite the answer
    // is given then while the statement goes on in its turn.
    let (total, total_is_lower_bound, rows) = tokio::time::timeout(timeout, search)
        .await
        .map_err(|_| search_timed_out(timeout))?
        .map_err(|e| Error::Internal(e.into()))??;
    Ok(UserPage {
        users: with_memberships(&ctx.db, rows).await?,
        total,
        total_is_lower_bound,
        page: params.page,
        per_page: params.per_page,
    })
}

/// A search's statements, in a transaction of their own (on PostgreSQL
/// each bounded by `timeout`).
async fn search_in_turn(
    db: &db::Db,
    words: &[String],
    in_trash: bool,
    limit: i64,
    offset: i64,
    timeout: std::time::Duration,
) -> Result<Found> {
    let mut tx = db.begin().await?;
    if db::DbKind::of_pool(db) == db::DbKind::Postgres {
        // Local to this transaction: the connection goes back to the pool
        // with the server's own setting.
        sqlx::query("SELECT set_config('statement_timeout', $1, true)")
            .bind(format!("{}ms", timeout.as_millis()))
            .execute(&mut *tx)
            .await?;
    }
    let deadline = std::time::Instant::now() + timeout;
    let found = if words.is_empty() {
        scan_users(&mut tx, in_trash, limit, offset).await
    } else if in_trash {
        trash_search(&mut tx, words, limit, offset, deadline, timeout).await
    } else {
        search_terms(&mut tx, words, limit, offset).await
    };
    let found = found.map_err(|e| match e {
        Error::Database(e) if is_query_cancelled(&e) => search_timed_out(timeout),
        e => e,
    })?;
    tx.commit().await?;
    Ok(found)
}

/// PostgreSQL's `query_canceled` (SQLSTATE 57014): `statement_timeout`.
fn is_query_cancelled(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .is_some_and(|code| code == "57014")
}

/// A search that waited or ran longer than `--search-timeout-secs`.
fn search_timed_out(timeout: std::time::Duration) -> Error {
    Error::Busy {
        message: format!(
            "the search took longer than {} s and was stopped (the server is busy); \
             try again in a moment, or with more letters or another word",
            timeout.as_secs_f64()
        ),
        retry_after_secs: 2,
    }
}

/// `(word, end of its prefix range)` binds, and one SELECT per word.
fn word_ranges(
    words: &[String],
    first_placeholder: usize,
    select: &str,
) -> (Vec<String>, Vec<String>) {
    let mut binds = Vec::new();
    let mut parts = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let n = first_placeholder + 2 * i;
        parts.push(format!("{select} term >= ${n} AND term < ${}", n + 1));
        binds.push(word.clone());
        binds.push(prefix_end(word));
    }
    (binds, parts)
}

/// Active users whose terms begin with every word, in listing order
/// (`sort_key, user_pk`), a page at a time.
///
/// One word, the common broad case (`Sch`: every user), costs what its
/// page costs, not what it matches:
/// - the count reads [`COUNTED_ENTRIES`] of the word's index entries; when
///   they hold [`TOTAL_CAP`] distinct users, the total is "at least" that;
/// - the terms the word begins are listed (a loose index scan, at most
///   [`MAX_MERGED_TERMS`]), and the first `offset + limit` entries of each
///   are read in the key's own order (`term, sort_key, user_pk`, migration
///   0008) and merged: a user among the first n matches is among the first
///   n of each of its terms;
/// - a word that begins more terms (`1`: every user ID) walks the first
///   [`WALKED_USERS`] users in listing order and tests each;
/// - otherwise (fewer matches, a deep page) every match is sorted, as
///   before, and counted exactly.
///
/// Several words, when one of them has [`COUNTED_ENTRIES`] entries or more
/// (`anna kowa`: two ranges of 62,500), are sought together in listing
/// order ([`sought_page`]); if that cannot fill the page within its bound,
/// or every range is smaller, their matches are intersected and sorted.
async fn search_terms(
    conn: &mut AnyConnection,
    words: &[String],
    limit: i64,
    offset: i64,
) -> Result<Found> {
    let wanted = offset + limit;
    if let [word] = words {
        if first_entries(conn, word).await?.1 >= TOTAL_CAP {
            let page = match merged_page(conn, word, wanted).await? {
                Some(page) => Some(page),
                None => walked_page(conn, word, wanted).await?,
            };
            if let Some(page) = page {
                let ids: Vec<i64> = page.into_iter().skip(offset as usize).collect();
                return Ok((TOTAL_CAP, true, read_users(conn, &ids, false).await?));
            }
        }
    } else if any_range_too_large(conn, words).await?
        && let Some((total, is_lower_bound, ids)) = sought_page(conn, words, limit, offset).await?
    {
        return Ok((total, is_lower_bound, read_users(conn, &ids, false).await?));
    }
    sorted_page(conn, words, limit, offset).await
}

/// The index entries (at most [`COUNTED_ENTRIES`]) and distinct users
/// among them of active users whose terms begin with `word` (an
/// index-only range read).
async fn first_entries(conn: &mut AnyConnection, word: &str) -> Result<(i64, i64)> {
    let counted: (i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COUNT(DISTINCT user_pk) AS BIGINT) FROM \
         (SELECT user_pk FROM user_search_terms WHERE term >= $1 AND term < $2 \
         LIMIT $3) m",
    )
    .bind(word)
    .bind(prefix_end(word))
    .bind(COUNTED_ENTRIES)
    .fetch_one(&mut *conn)
    .await?;
    Ok(counted)
}

/// Whether some word's range holds [`COUNTED_ENTRIES`] entries or more,
/// so that sorting the words' matches would read more than that; the
/// words are read in turn until one does.
async fn any_range_too_large(conn: &mut AnyConnection, words: &[String]) -> Result<bool> {
    for word in words {
        if first_entries(conn, word).await?.0 >= COUNTED_ENTRIES {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The terms `word` begins, in order, at most [`MAX_MERGED_TERMS`] + 1.
async fn word_terms(conn: &mut AnyConnection, word: &str) -> Result<Vec<String>> {
    // A loose index scan: each step is one descent of the terms' key,
    // stopped by its own counter (SQLite would not stop at an outer LIMIT).
    let terms = sqlx::query_scalar(
        "WITH RECURSIVE t(term, n) AS ( \
           SELECT MIN(term), CAST(1 AS BIGINT) FROM user_search_terms \
           WHERE term >= $1 AND term < $2 \
           UNION ALL \
           SELECT (SELECT MIN(s.term) FROM user_search_terms s \
                   WHERE s.term > t.term AND s.term < $2), t.n + 1 \
           FROM t WHERE t.term IS NOT NULL AND t.n < $3) \
         SELECT term FROM t WHERE term IS NOT NULL",
    )
    .bind(word)
    .bind(prefix_end(word))
    .bind(MAX_MERGED_TERMS as i64 + 1)
    .fetch_all(&mut *conn)
    .await?;
    Ok(terms)
}

/// The first `wanted` matches of one word, merged from each term it
/// begins; `None` when it begins more than [`MAX_MERGED_TERMS`] terms.
async fn merged_page(
    conn: &mut AnyConnection,
    word: &str,
    wanted: i64,
) -> Result<Option<Vec<i64>>> {
    let terms = word_terms(conn, word).await?;
    let reads = i64::try_from(terms.len())
        .unwrap_or(i64::MAX)
        .saturating_mul(wanted);
    if terms.is_empty() || terms.len() > MAX_MERGED_TERMS || reads > MERGED_ENTRIES {
        return Ok(None);
    }
    let streams: Vec<String> = (0..terms.len())
        .map(|i| {
            format!(
                "SELECT * FROM (SELECT user_pk, sort_key FROM user_search_terms \
                 WHERE term = ${} ORDER BY sort_key, user_pk LIMIT ${}) s{i}",
                2 * i + 1,
                2 * i + 2
            )
        })
        .collect();
    // UNION, not UNION ALL: a user may hold two of the terms.
    let sql = format!(
        "SELECT user_pk FROM ({}) m ORDER BY sort_key, user_pk LIMIT ${}",
        streams.join(" UNION "),
        2 * terms.len() + 1
    );
    let mut query = sqlx::query_scalar(&sql);
    for term in &terms {
        query = query.bind(term.clone()).bind(wanted);
    }
    Ok(Some(query.bind(wanted).fetch_all(&mut *conn).await?))
}

/// Several words' matches sought together in listing order (a leapfrog
/// join over the terms' `(term, sort_key, user_pk)` key): from a position,
/// each word's next entry is found by one descent per term it begins (the
/// least of them), and the position moves to the greatest; where all are
/// the same user, that user matches. A run of common users costs one step
/// each, a gap one step per switch between the words (`anna kowa`: 3,906
/// steps for 3,906 users, `anna noah`: a few dozen for none).
///
/// The word that begins fewest terms is sought if it begins at most
/// [`MAX_MERGED_TERMS`], the next ones while [`MAX_SOUGHT_TERMS`] terms in
/// all are not passed; the rest are tested for each user found (`EXISTS`
/// on the terms' `user_pk` index). The steps stop at [`SOUGHT_ENTRIES`]
/// descents and tests (a deep page: twice its depth, up to
/// [`COUNTED_ENTRIES`]) or [`TOTAL_CAP`] users found: the count is exact
/// if the seeking ended, else "at least" what it found.
/// `None` when that does not fill the page: the caller sorts every match.
async fn sought_page(
    conn: &mut AnyConnection,
    words: &[String],
    limit: i64,
    offset: i64,
) -> Result<Option<(i64, bool, Vec<i64>)>> {
    let mut by_terms = Vec::new();
    for word in words {
        let terms = word_terms(conn, word).await?;
        if terms.is_empty() {
            // No term begins this word: nobody matches.
            return Ok(Some((0, false, Vec::new())));
        }
        by_terms.push((word, terms));
    }
    by_terms.sort_by_key(|(_, terms)| terms.len());
    let mut sought: Vec<Vec<String>> = Vec::new();
    let mut tested: Vec<String> = Vec::new();
    let mut sought_terms = 0;
    for (word, terms) in by_terms {
        // The word that begins fewest terms is sought if it can be merged
        // at all (`sch`: 98), the others while the terms stay few.
        let room = if sought.is_empty() {
            MAX_MERGED_TERMS
        } else {
            MAX_SOUGHT_TERMS
        };
        if sought_terms + terms.len() <= room {
            sought_terms += terms.len();
            sought.push(terms);
        } else {
            tested.push(word.clone());
        }
    }
    if sought.is_empty() {
        return Ok(None);
    }
    let per_step = i64::try_from(sought_terms + tested.len()).unwrap_or(i64::MAX);
    let descents = (offset + limit)
        .saturating_mul(2)
        .saturating_mul(per_step)
        .clamp(SOUGHT_ENTRIES, COUNTED_ENTRIES);
    let steps = descents / per_step;

    // A position is `flag, sort_key, separator, id + ID_OFFSET`: one text
    // that sorts as `(sort_key, id)`, so that the least and greatest of
    // the words' next entries are MIN and MAX. Flag `0`: seek from the
    // position; `1`: it is a match, seek past it; `2`: a word has no more.
    let key = |st: &str| format!("substr({st}, 2, length({st}) - 21)");
    let id = |st: &str| format!("CAST(substr({st}, length({st}) - 18) AS BIGINT) - {ID_OFFSET}");
    let mut n = 2;
    let mut placeholder = || {
        n += 1;
        format!("${n}")
    };
    let term_placeholders: Vec<Vec<String>> = sought
        .iter()
        .map(|terms| terms.iter().map(|_| placeholder()).collect())
        .collect();
    let step = |st: &str| {
        let seek = |term: &str| {
            format!(
                "(SELECT sort_key || $1 || CAST(user_pk + {ID_OFFSET} AS TEXT) \
                 FROM user_search_terms WHERE term = {term} \
                 AND (sort_key, user_pk) >= ({}, {} + CAST(substr({st}, 1, 1) AS BIGINT)) \
                 ORDER BY sort_key, user_pk LIMIT 1)",
                key(st),
                id(st)
            )
        };
        let words: Vec<String> = term_placeholders
            .iter()
            .map(|terms| match terms.as_slice() {
                [term] => format!("SELECT {} AS s", seek(term)),
                terms => {
                    let each: Vec<String> = terms
                        .iter()
                        .map(|term| format!("SELECT {} AS e", seek(term)))
                        .collect();
                    format!(
                        "SELECT (SELECT MIN(e) FROM ({}) w) AS s",
                        each.join(" UNION ALL ")
                    )
                }
            })
            .collect();
        // Never one branch: PostgreSQL would pull a lone one up and run
        // its seek once for each of MIN, MAX and COUNT.
        format!(
            "(SELECT CASE WHEN COUNT(s) < {} THEN '2' WHEN MIN(s) = MAX(s) THEN '1' || MAX(s) \
             ELSE '0' || MAX(s) END FROM ({} UNION ALL SELECT NULL AS s) x)",
            sought.len(),
            words.join(" UNION ALL ")
        )
    };
    let (steps_at, cap_at, offset_at, wanted_at) =
        (placeholder(), placeholder(), placeholder(), placeholder());
    // `term || ''`: the user's own few terms are read by `user_pk`, never
    // the word's whole range by the primary key (which PostgreSQL chose on
    // a table it had not analysed yet, once for each user found).
    let tests: String = tested
        .iter()
        .map(|_| {
            format!(
                " AND EXISTS (SELECT 1 FROM user_search_terms t WHERE t.user_pk = {} \
                 AND t.term || '' >= {} AND t.term || '' < {})",
                id("st"),
                placeholder(),
                placeholder()
            )
        })
        .collect();
    // The first step seeks from `$2`, not from a constant row: the column
    // takes its collation from `sort_key` (PostgreSQL's "C") in both terms.
    let sql = format!(
        "WITH RECURSIVE j(st, n, h) AS ( \
           SELECT {}, CAST(0 AS BIGINT), CAST(0 AS BIGINT) \
           UNION ALL \
           SELECT {}, j.n + 1, j.h + CASE WHEN substr(j.st, 1, 1) = '1' THEN 1 ELSE 0 END \
           FROM j WHERE substr(j.st, 1, 1) <> '2' AND j.n < {steps_at} AND j.h < {cap_at}) \
         SELECT st, hits FROM ( \
           SELECT st, n, \
             CAST(SUM(CASE WHEN substr(st, 1, 1) = '1' THEN 1 ELSE 0 END) OVER () AS BIGINT) AS hits, \
             ROW_NUMBER() OVER (ORDER BY n) AS r \
           FROM j WHERE substr(st, 1, 1) = '2' OR (substr(st, 1, 1) = '1'{tests})) m \
         WHERE substr(st, 1, 1) = '2' OR (r > {offset_at} AND r <= {wanted_at}) ORDER BY n",
        step("$2"),
        step("j.st"),
    );
    let mut query = sqlx::query_as(&sql)
        .bind(POSITION_SEPARATOR)
        .bind(format!("0{POSITION_SEPARATOR}{ID_OFFSET}"));
    for term in sought.iter().flatten() {
        query = query.bind(term.clone());
    }
    query = query
        .bind(steps)
        // Stops once this many are found, with the last step's: at most
        // TOTAL_CAP in all.
        .bind(TOTAL_CAP - 1)
        .bind(offset)
        .bind(offset + limit);
    for word in &tested {
        query = query.bind(word.clone()).bind(prefix_end(word));
    }
    // Each seek must descend the key in order. On a table PostgreSQL has
    // not analysed yet (just after a bulk load) it guessed a term's
    // entries few and chose to read and sort them all, at every step
    // (25,000 users: over 5 s instead of 0.2 s); without sorts it has no
    // such plan. The sorts' penalty would then make it compile the
    // statement (JIT: 0.7 s on 1,000,000 users), so not that either.
    let mut settings = None;
    if db::DbKind::of(conn) == db::DbKind::Postgres {
        let (sort, jit, _, _): (String, String, String, String) = sqlx::query_as(
            "SELECT current_setting('enable_sort'), current_setting('jit'), \
             set_config('enable_sort', 'off', true), set_config('jit', 'off', true)",
        )
        .fetch_one(&mut *conn)
        .await?;
        settings = Some((sort, jit));
    }
    let rows: Vec<(String, i64)> = query.fetch_all(&mut *conn).await?;
    if let Some((sort, jit)) = settings {
        // Back as they were, for the statements after (the fallback's sort).
        sqlx::query("SELECT set_config('enable_sort', $1, true), set_config('jit', $2, true)")
            .bind(sort)
            .bind(jit)
            .execute(&mut *conn)
            .await?;
    }
    let ended = rows.iter().any(|(st, _)| st.starts_with('2'));
    let found = rows.first().map_or(0, |(_, hits)| *hits);
    let ids = rows
        .iter()
        .filter(|(st, _)| st.starts_with('1'))
        .map(|(st, _)| position_id(st))
        .collect::<Result<Vec<i64>>>()?;
    Ok(if ended {
        Some((found, false, ids))
    } else if ids.len() as i64 == limit {
        Some((found.min(TOTAL_CAP), true, ids))
    } else {
        None
    })
}

/// The user id at the end of a [`sought_page`] position.
fn position_id(st: &str) -> Result<i64> {
    st.get(st.len().saturating_sub(19)..)
        .and_then(|digits| digits.parse::<i64>().ok())
        .map(|id| id - ID_OFFSET)
        .ok_or_else(|| Error::Internal(anyhow::anyhow!("a search position without an id: {st:?}")))
}

/// The first `wanted` matches of one word among the first
/// [`WALKED_USERS`] active users in listing order; `None` when fewer.
async fn walked_page(
    conn: &mut AnyConnection,
    word: &str,
    wanted: i64,
) -> Result<Option<Vec<i64>>> {
    if wanted > WALKED_USERS {
        return Ok(None);
    }
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT u.id FROM (SELECT id, sort_key FROM users WHERE deleted_at IS NULL \
         ORDER BY sort_key, id LIMIT $1) u \
         WHERE EXISTS (SELECT 1 FROM user_search_terms t \
           WHERE t.user_pk = u.id AND t.term >= $2 AND t.term < $3) \
         ORDER BY u.sort_key, u.id LIMIT $4",
    )
    .bind(WALKED_USERS)
    .bind(word)
    .bind(prefix_end(word))
    .bind(wanted)
    .fetch_all(&mut *conn)
    .await?;
    Ok((ids.len() as i64 == wanted).then_some(ids))
}

/// Every match sorted, counted and paged in one statement: the cost grows
/// with the matches, so this is for a word that matches few (or several
/// words, intersected). The count is exact.
async fn sorted_page(
    conn: &mut AnyConnection,
    words: &[String],
    limit: i64,
    offset: i64,
) -> Result<Found> {
    let (binds, parts) = word_ranges(
        words,
        1,
        "SELECT user_pk, sort_key FROM user_search_terms WHERE",
    );
    let matched = if parts.len() == 1 {
        parts[0].replacen("SELECT", "SELECT DISTINCT", 1)
    } else {
        parts.join(" INTERSECT ")
    };
    let n = binds.len();
    let page_sql = format!(
        "SELECT user_pk, CAST(COUNT(*) OVER () AS BIGINT) AS total FROM ({matched}) m \
         ORDER BY sort_key, user_pk LIMIT ${} OFFSET ${}",
        n + 1,
        n + 2
    );
    let mut query = sqlx::query_as(&page_sql);
    for b in &binds {
        query = query.bind(b);
    }
    let page: Vec<(i64, i64)> = query.bind(limit).bind(offset).fetch_all(&mut *conn).await?;
    let total = match page.first() {
        Some((_, total)) => *total,
        None => {
            // Past the last page: count on its own.
            let count_sql = format!("SELECT COUNT(*) FROM ({matched}) m");
            let mut count = sqlx::query_scalar(&count_sql);
            for b in &binds {
                count = count.bind(b);
            }
            count.fetch_one(&mut *conn).await?
        }
    };
    let ids: Vec<i64> = page.iter().map(|(id, _)| *id).collect();
    Ok((total, false, read_users(conn, &ids, false).await?))
}

/// Users by id, active or in the trash can, in the order of `ids`.
async fn read_users(conn: &mut AnyConnection, ids: &[i64], in_trash: bool) -> Result<Vec<UserRow>> {
    let mut rows: Vec<UserRow> = Vec::with_capacity(ids.len());
    let head = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE deleted_at IS {} NULL AND id",
        if in_trash { "NOT" } else { "" }
    );
    bulk::fetch_in(conn, &head, ids, |row| rows.push(row)).await?;
    rows.sort_by_key(|r| ids.iter().position(|id| *id == r.0.id));
    Ok(rows)
}

/// The condition on `users` that the search of `q` puts on active users,
/// with its binds (numbered from `$first_placeholder`): the export
/// (`crate::export`) pages through the very users the Users page finds.
/// An EXISTS per user: the export reads users in its own order.
pub(crate) fn active_users_filter(q: &str, first_placeholder: usize) -> (String, Vec<String>) {
    let (binds, parts) = word_ranges(
        &query_words(q),
        first_placeholder,
        "EXISTS (SELECT 1 FROM user_search_terms t WHERE t.user_pk = users.id AND",
    );
    let mut filter = String::from("deleted_at IS NULL");
    for part in parts {
        filter.push_str(&format!(" AND {part})"));
    }
    (filter, binds)
}

/// `users` in its own index's order: all active users, or the trash can,
/// without a query. The count stops at [`TOTAL_CAP`] + 1 rows (1,000,000
/// users took 133 ms to count on PostgreSQL).
async fn scan_users(
    conn: &mut AnyConnection,
    in_trash: bool,
    limit: i64,
    offset: i64,
) -> Result<Found> {
    let (filter, order) = if in_trash {
        ("deleted_at IS NOT NULL", "deleted_at DESC, id DESC")
    } else {
        ("deleted_at IS NULL", "sort_key, id")
    };
    let counted: i64 = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM users WHERE {filter} LIMIT $1) m"
    ))
    .bind(TOTAL_CAP + 1)
    .fetch_one(&mut *conn)
    .await?;
    let rows: Vec<UserRow> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {filter} ORDER BY {order} LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(&mut *conn)
    .await?;
    Ok((counted.min(TOTAL_CAP), counted > TOTAL_CAP, rows))
}

/// Users of the trash can read per statement by [`trash_search`].
const TRASH_CHUNK: i64 = 2_000;

/// The trash can's users whom every word matches, newest first, a page at
/// a time. They have no search terms (trashing 100,000 users must not
/// rewrite a million index entries, docs/PERFORMANCE.md), so the trash
/// can is read in its own order (`users_trash_order`) by keyset,
/// [`TRASH_CHUNK`] users a statement, and each user is tested with the
/// rule the terms are built by ([`Searched::matches`]). The matches are
/// counted up to [`TOTAL_CAP`] + 1 (or the page's end, if deeper) and
/// only the page's ids are kept: one chunk and one page in memory. Past
/// `deadline` (between chunks: SQLite has no statement timeout) it stops
/// with the search's 503.
async fn trash_search(
    conn: &mut AnyConnection,
    words: &[String],
    limit: i64,
    offset: i64,
    deadline: std::time::Instant,
    timeout: std::time::Duration,
) -> Result<Found> {
    let enough = (TOTAL_CAP + 1).max(offset + limit);
    let mut matched = 0_i64;
    let mut page = Vec::new();
    // Before the first user: every `(deleted_at, id)` is below it.
    let mut after = (i64::MAX, i64::MAX);
    loop {
        if std::time::Instant::now() >= deadline {
            return Err(search_timed_out(timeout));
        }
        let chunk: Vec<(i64, i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT deleted_at, id, first_name, last_name, username, email, user_id FROM users \
             WHERE deleted_at IS NOT NULL AND (deleted_at, id) < ($1, $2) \
             ORDER BY deleted_at DESC, id DESC LIMIT $3",
        )
        .bind(after.0)
        .bind(after.1)
        .bind(TRASH_CHUNK)
        .fetch_all(&mut *conn)
        .await?;
        for (_, id, first_name, last_name, username, email, user_id) in &chunk {
            let user = Searched {
                first_name,
                last_name,
                username,
                email,
                user_id,
            };
            if !user.matches(words) {
                continue;
            }
            if matched >= offset && matched < offset + limit {
                page.push(*id);
            }
            matched += 1;
            if matched >= enough {
                break;
            }
        }
        match chunk.last() {
            Some(&(deleted_at, id, ..))
                if matched < enough && chunk.len() as i64 == TRASH_CHUNK =>
            {
                after = (deleted_at, id);
            }
            _ => break,
        }
    }
    let rows = read_users(conn, &page, true).await?;
    Ok((matched.min(TOTAL_CAP), matched > TOTAL_CAP, rows))
}

/// The input checked with the import's row rules; names trimmed.
fn check_input(input: &UserInput, min_len: usize) -> Result<MappedRow> {
    let mut row = MappedRow::new(0)
        .with(Field::FirstName, input.first_name.as_str())
        .with(Field::LastName, input.last_name.as_str())
        .with(Field::Username, input.username.as_str())
        .with(Field::Email, input.email.as_str())
        .with(Field::UserId, input.user_id.as_str());
    if let Some(p) = &input.password {
        row.set(Field::Password, p.as_str());
    }
    if let Some(k) = &input.sync_key {
        row.set(Field::SyncKey, k.as_str());
    }
    if let Some(tz) = &input.time_zone {
        row.set(Field::TimeZone, tz.as_str());
    }
    let options = RuleOptions {
        password_min_len: min_len,
    };
    let errors = check_row(&mut row, &options);
    if errors.is_empty() {
        return Ok(row);
    }
    let details: Vec<FieldError> = errors
        .iter()
        .map(|e| FieldError {
            field: e.field.key().to_string(),
            code: e.code.key().to_string(),
            message: e.message.clone(),
        })
        .collect();
    let message = details
        .iter()
        .map(|d| d.message.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    Err(Error::Invalid { message, details })
}

/// Most hierarchy nodes one user belongs to.
const MAX_MEMBERSHIPS: usize = 1000;

/// A user input that passed the row rules, with its password hashed
/// (before any transaction begins: hashing takes a while on purpose).
struct Checked {
    input: UserInput,
    row: MappedRow,
    password_hash: Option<String>,
}

async fn check_and_hash(ctx: &ApiContext, input: UserInput) -> Result<Checked> {
    let row = check_input(&input, ctx.config.password.min_len)?;
    let password_hash = match &input.password {
        Some(p) => {
            super::check_not_common("password", p)?;
            Some(ctx.config.password.hash_async(p.clone()).await?)
        }
        None => None,
    };
    Ok(Checked {
        input,
        row,
        password_hash,
    })
}

/// Checks what the rules cannot: the role exists and the actor may grant
/// it, the nodes exist, username and user ID are free. Builds the row.
async fn prepare_user(
    tx: &mut Tx,
    auth: &AuthUser,
    checked: Checked,
    existing: Option<i64>,
) -> Result<NewUser> {
    let Checked {
        input,
        row,
        password_hash,
    } = checked;
    let Some(role) = db::roles::permissions(tx, input.role_id).await? else {
        return Err(Error::invalid("role_id", "not_found", "Role: no such role"));
    };
    auth.require_covers(role, "you cannot give this role")?;

    let mut nodes = input.hierarchy_ids.clone();
    nodes.sort_unstable();
    nodes.dedup();
    if nodes.is_empty() {
        return Err(Error::invalid(
            "hierarchy_ids",
            "required",
            "Hierarchy: a user belongs to at least one node",
        ));
    }
    if nodes.len() > MAX_MEMBERSHIPS {
        return Err(Error::invalid(
            "hierarchy_ids",
            "too_many",
            format!("Hierarchy: at most {MAX_MEMBERSHIPS} nodes per user"),
        ));
    }
    for node in &nodes {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM hierarchy_nodes WHERE id = $1")
            .bind(node)
            .fetch_optional(&mut **tx)
            .await?;
        if found.is_none() {
            return Err(Error::invalid(
                "hierarchy_ids",
                "not_found",
                format!("Hierarchy: no node with id {node}"),
            ));
        }
    }

    let username = row.get(Field::Username).to_string();
    let user_id = row.get(Field::UserId).to_string();
    let taken: Option<i64> =
        sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1 AND ($2 < 0 OR id <> $2)")
            .bind(username_key(&username))
            .bind(existing.unwrap_or(-1))
            .fetch_optional(&mut **tx)
            .await?;
    if taken.is_some() {
        return Err(Error::conflict(
            "Username: this username is already taken (also counting the trash can)",
        ));
    }
    let held_by: Option<String> = sqlx::query_scalar(
        "SELECT username FROM users WHERE user_id = $1 AND ($2 < 0 OR id <> $2)",
    )
    .bind(&user_id)
    .bind(existing.unwrap_or(-1))
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(holder) = held_by {
        return Err(Error::conflict(format!(
            "User ID: This value is already in use (by {holder})"
        )));
    }

    let time_zone = match input.time_zone {
        Some(tz) => tz,
        None => db::settings::site_time_zone(&mut **tx).await?,
    };
    let optional = |f: Field| Some(row.get(f).to_string()).filter(|v| !v.is_empty());
    Ok(NewUser {
        first_name: row.get(Field::FirstName).to_string(),
        last_name: row.get(Field::LastName).to_string(),
        username,
        email: row.get(Field::Email).to_string(),
        user_id,
        password_hash,
        role_id: input.role_id,
        special_needs: input.special_needs,
        sync_key: optional(Field::SyncKey),
        time_zone,
    })
}

/// 409 when a unique index was reached first by a concurrent write.
const TAKEN_MEANWHILE: &str = "the username or user ID was taken at the same moment; try again";

/// The role of an active user, for the rule that nobody acts on a user
/// who holds more than they do.
async fn target_role(tx: &mut Tx, id: i64) -> Result<Permissions> {
    let bits: Option<i64> = sqlx::query_scalar(
        "SELECT r.permissions FROM users u JOIN roles r ON r.id = u.role_id \
         WHERE u.id = $1 AND u.deleted_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    bits.map(Permissions::from_bits)
        .ok_or_else(|| Error::not_found("no such user"))
}

/// Search users (active only).
#[utoipa::path(get, path = "/api/users", tag = "users", params(SearchParams),
    responses((status = 200, body = UserPage), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_users(
    State(ctx): State<ApiContext>,
    _auth: Can<perm::ManageUsers>,
    Query(params): Query<SearchParams>,
) -> Result<Json<UserPage>> {
    Ok(Json(search_users(&ctx, &params, false).await?))
}

#[utoipa::path(post, path = "/api/users", tag = "users", request_body = UserInput,
    responses((status = 201, body = UserOut), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Json(input): Json<UserInput>,
) -> Result<Response> {
    let hierarchy = input.hierarchy_ids.clone();
    let checked = check_and_hash(&ctx, input).await?;
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let user = prepare_user(&mut tx, &auth, checked, None).await?;
    let id = db::users::insert_user(&mut tx, &user, ctx.now())
        .await
        .conflict_on_unique(TAKEN_MEANWHILE)?;
    db::users::set_memberships(&mut tx, id, &dedup(hierarchy)).await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, user = id, "created a user");
    let out = load(&ctx.db, id, false)
        .await?
        .ok_or_else(|| Error::not_found("no such user"))?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

fn dedup(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 404, body = ErrorBody)))]
pub async fn get_user(
    State(ctx): State<ApiContext>,
    _auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>> {
    load(&ctx.db, id, false)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such user"))
}

#[utoipa::path(put, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    request_body = UserInput,
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_user(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
    Json(input): Json<UserInput>,
) -> Result<Json<UserOut>> {
    let new_password = input.password.is_some();
    if new_password && id == auth.user_pk {
        // Changing one's own password needs the current one and ends one's
        // other sessions: only POST /api/me/password does both.
        return Err(Error::forbidden(
            "you cannot set your own password here: change it with POST /api/me/password, \
             which asks for the current one",
        ));
    }
    let hierarchy = input.hierarchy_ids.clone();
    let checked = check_and_hash(&ctx, input).await?;
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let current = target_role(&mut tx, id).await?;
    auth.require_covers(current, "you cannot change this user")?;
    let user = prepare_user(&mut tx, &auth, checked, Some(id)).await?;
    db::users::update_user(&mut tx, id, &user, ctx.now())
        .await
        .conflict_on_unique(TAKEN_MEANWHILE)?;
    db::users::set_memberships(&mut tx, id, &dedup(hierarchy)).await?;
    ensure_full_administrator_remains(&mut tx).await?;
    if new_password {
        // A new password ends the user's sessions.
        db::users::end_sessions(&mut tx, id).await?;
    }
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, user = id, "changed a user");
    load(&ctx.db, id, false)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such user"))
}

/// Moves a user to the trash can and ends their sessions.
#[utoipa::path(delete, path = "/api/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 204, description = "in the trash can"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_user(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
) -> Result<StatusCode> {
    if id == auth.user_pk {
        return Err(Error::conflict("you cannot delete yourself"));
    }
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    let current = target_role(&mut tx, id).await?;
    auth.require_covers(current, "you cannot delete this user")?;
    sqlx::query("UPDATE users SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(ctx.now())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    db::users::delete_search_terms(&mut tx, &[id]).await?;
    db::users::end_sessions(&mut tx, id).await?;
    ensure_full_administrator_remains(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(
        actor = auth.user_pk,
        user = id,
        "moved a user to the trash can"
    );
    Ok(StatusCode::NO_CONTENT)
}

/// The trash can: deleted users, newest first, with when each is purged.
#[utoipa::path(get, path = "/api/trash", tag = "trash", params(SearchParams),
    responses((status = 200, body = UserPage), (status = 403, body = ErrorBody)))]
pub async fn list_trash(
    State(ctx): State<ApiContext>,
    _auth: Can<perm::RestoreUsers>,
    Query(params): Query<SearchParams>,
) -> Result<Json<UserPage>> {
    Ok(Json(search_users(&ctx, &params, true).await?))
}

#[utoipa::path(post, path = "/api/trash/{id}/restore", tag = "trash", params(("id" = i64, Path)),
    responses((status = 200, body = UserOut), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn restore_user(
    State(ctx): State<ApiContext>,
    auth: Can<perm::RestoreUsers>,
    Path(id): Path<i64>,
) -> Result<Json<UserOut>> {
    let mut tx = db::begin_directory_write(&ctx.db).await?;
    // Bringing a user back gives them their role again: as for create and
    // update, the actor must hold every permission of it.
    let role: Option<i64> = sqlx::query_scalar(
        "SELECT r.permissions FROM users u JOIN roles r ON r.id = u.role_id \
         WHERE u.id = $1 AND u.deleted_at IS NOT NULL",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let role = role.ok_or_else(|| Error::not_found("no such user in the trash can"))?;
    auth.require_covers(Permissions::from_bits(role), "you cannot restore this user")?;
    let restored = sqlx::query(
        "UPDATE users SET deleted_at = NULL, updated_at = $1 WHERE id = $2 AND deleted_at IS NOT NULL",
    )
    .bind(ctx.now())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if restored == 0 {
        return Err(Error::not_found("no such user in the trash can"));
    }
    db::users::restore_search_terms(&mut tx, &[id]).await?;
    tx.commit().await?;
    tracing::info!(actor = auth.user_pk, user = id, "restored a user");
    load(&ctx.db, id, false)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found("no such user"))
}

/// Ends every session of a user (signs them out everywhere), e.g. after a
/// lost laptop.
#[utoipa::path(delete, path = "/api/users/{id}/sessions", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = EndedSessions), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn end_sessions(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Path(id): Path<i64>,
) -> Result<Json<EndedSessions>> {
    let mut tx = crate::db::begin(&ctx.db).await?;
    let current = target_role(&mut tx, id).await?;
    auth.require_covers(current, "you cannot sign out this user")?;
    let ended = db::users::end_sessions(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(
        actor = auth.user_pk,
        user = id,
        ended,
        "ended a user's sessions"
    );
    Ok(Json(EndedSessions { ended }))
}

/// The users the search `q` finds (active ones), as an .xlsx in exactly the
/// import template's columns without Password: Sub-level-1…5 are the
/// user's first membership (smallest node id) at or below the start node
/// `node`, every cell is text (IDs keep their leading zeros). Importing it
/// back with the same start node changes nothing but what was edited.
/// Streamed in pages, in the order users were created; at most 1,048,575
/// users (Excel's sheet), else 422; 422 too when users below `node` are
/// members only of nodes deeper than Sub-level-5 can name; at most
/// `export::AT_ONCE` exports at once per process, else 503 `busy`.
#[utoipa::path(get, path = "/api/users/export.xlsx", tag = "users", params(ExportParams),
    responses((status = 200, description = "the .xlsx, streamed", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn export_users(
    State(ctx): State<ApiContext>,
    auth: Can<perm::ManageUsers>,
    Query(params): Query<ExportParams>,
) -> Result<Response> {
    // Taken before the count: it reads users too.
    let turn = export::turn(&ctx.exports)?;
    let (filter, binds) = active_users_filter(&params.q, 1);
    let plan = export::plan(
        &ctx.db,
        filter,
        binds,
        params.node,
        ctx.config.export_max_users,
    )
    .await?;
    tracing::info!(actor = auth.user_pk, "exporting users");
    let date = &rfc3339(ctx.now())[..10];
    let body = export::body(ctx.db.clone(), plan, ctx.config.timeouts.body_idle, turn);
    Ok((
        [
            (header::CONTENT_TYPE, XLSX_MIME.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"roster-users-{date}.xlsx\""),
            ),
        ],
        body,
    )
        .into_response())
}
