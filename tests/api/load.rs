//! The load test of issue 15 (ignored by default: minutes). Real `roster
//! serve` processes on one PostgreSQL database seeded with
//! `ROSTER_SCALE_USERS` (1,000,000) users; `ROSTER_LOAD_CLIENTS` (100)
//! signed-in clients, each its own session and connection, spread round-robin
//! over the processes, search (`GET /api/users?q=`, prefixes of the seeded
//! names, usernames, user IDs and email words) and open a user found
//! (`GET /api/users/{id}`) for `ROSTER_LOAD_SECS` (60), while an import of
//! `ROSTER_IMPORT_ROWS` (100,000) new users (Try Import, then Import, on the
//! first process) commits. Prints, per endpoint, p50/p95/p99 latency,
//! throughput and errors (any non-2xx or transport error), and search
//! latency before, during and after the commit. Results: docs/PERFORMANCE.md.
//!
//! ```text
//! cargo test --release -p roster-tests --test api load_during_import \
//!     -- --ignored --nocapture
//! ```
//!
//! Also: `ROSTER_LOAD_PROCESSES` (`1,3`: the runs, one after the other on
//! the same seeded database, each with its own import of new users),
//! `ROSTER_LOAD_IMPORT_AFTER_SECS` (10: when Try Import is sent),
//! `ROSTER_LOAD_THINK_MS` (0: each client sends its next request as soon as
//! its last is answered; else a pause of 0 to twice this between requests),
//! `ROSTER_LOAD_QUERIES=selective` (only the searches that match a few
//! thousand users or fewer; see [`KINDS`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::helpers::{ADMIN_PASSWORD, Kind, RealServer, RealServerClients, TestClient, TestDb};
use crate::scale::{FIRST, LAST};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Endpoint {
    Search,
    User,
}

/// One answered request: when it was sent (since the load began) and how
/// long its whole answer took.
struct Sample {
    endpoint: Endpoint,
    /// A search's kind ([`KINDS`]).
    kind: usize,
    start: Duration,
    latency: Duration,
}

struct Failure {
    endpoint: Endpoint,
    kind: usize,
    start: Duration,
    what: String,
}

#[derive(Default)]
struct Log {
    samples: Vec<Sample>,
    failures: Vec<Failure>,
}

/// When the clients stop: the time is up and the import has ended (so the
/// whole commit is under load), or a hard limit passed.
struct Until {
    deadline: Instant,
    hard_limit: Instant,
    import_done: AtomicBool,
}

impl Until {
    fn reached(&self) -> bool {
        let now = Instant::now();
        (now >= self.deadline && self.import_done.load(Ordering::Relaxed)) || now >= self.hard_limit
    }
}

/// xorshift64: each client's own repeatable choices, no crate needed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn prefix(name: &str, chars: usize) -> String {
    name.chars().take(chars).collect()
}

/// The kinds of search the clients send, as administrators type them.
/// Names come from `scale::seed`'s lists (each surname or first name is
/// 1/16 of the directory); every seeded email is `…@schoolN.example.com`,
/// so `Sch` also begins a word of every user's email.
const KINDS: [&str; 7] = [
    "3 letters of a surname (62,500+ users; `Sch`: all)",
    "a surname (62,500 users)",
    "3 letters of a first name (62,500+ users)",
    "first name + 4 letters of a surname (3,900 users)",
    "a username's first 6 characters (100 users)",
    "a user ID (1 user)",
    "an email's school word (10,300 users)",
];

/// A query and its kind (an index into [`KINDS`]). `selective`: only the
/// kinds that match a few thousand users or fewer.
fn query(rng: &mut Rng, users: usize, selective: bool) -> (usize, String) {
    let first = FIRST[rng.below(FIRST.len())];
    let last = LAST[rng.below(LAST.len())];
    let kind = if selective {
        3 + rng.below(4)
    } else {
        // The name prefixes twice as often as the rest.
        [0, 0, 1, 2, 3, 4, 5, 6][rng.below(8)]
    };
    let q = match kind {
        0 => prefix(last, 3),
        1 => last.to_string(),
        2 => prefix(first, 3),
        3 => format!("{first} {}", prefix(last, 4)),
        4 => format!("u{:05}", rng.below(users / 100)),
        5 => format!("{}", 10_000_000 + rng.below(users)),
        _ => format!("school{}", rng.below(97)),
    };
    (kind, q)
}

/// Sends `request`, times it to the last byte of the answer and logs it;
/// the body when the answer was a success.
async fn timed(
    log: &mut Log,
    endpoint: Endpoint,
    kind: usize,
    t0: Instant,
    request: reqwest::RequestBuilder,
) -> Option<Vec<u8>> {
    let sent = Instant::now();
    let start = sent - t0;
    let answer = match request.send().await {
        Ok(response) => {
            let status = response.status();
            response.bytes().await.map(|body| (status, body))
        }
        Err(e) => Err(e),
    };
    let latency = sent.elapsed();
    match answer {
        Ok((status, body)) if status.is_success() => {
            log.samples.push(Sample {
                endpoint,
                kind,
                start,
                latency,
            });
            Some(body.to_vec())
        }
        Ok((status, body)) => {
            let body = String::from_utf8_lossy(&body);
            log.failures.push(Failure {
                endpoint,
                kind,
                start,
                what: format!("{status}: {}", prefix(&body, 200)),
            });
            None
        }
        Err(e) => {
            log.failures.push(Failure {
                endpoint,
                kind,
                start,
                what: format!(
                    "transport: {e}{}",
                    std::error::Error::source(&e)
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default()
                ),
            });
            None
        }
    }
}

async fn think(rng: &mut Rng, think_ms: u64) {
    if think_ms > 0 {
        let ms = rng.below(2 * think_ms as usize + 1) as u64;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

/// One administrator: search, open one of the users found, again.
async fn administrator(
    n: usize,
    client: TestClient,
    t0: Instant,
    until: Arc<Until>,
    users: usize,
    think_ms: u64,
    selective: bool,
) -> Log {
    let mut log = Log::default();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (n as u64 + 1).wrapping_mul(0x1000_0001));
    while !until.reached() {
        let (kind, q) = query(&mut rng, users, selective);
        let request = client
            .http
            .get(format!("{}/api/users", client.base))
            .query(&[("q", q.as_str())]);
        let found = timed(&mut log, Endpoint::Search, kind, t0, request).await;
        let ids: Vec<i64> = found
            .and_then(|body| serde_json::from_slice::<Value>(&body).ok())
            .and_then(|page| {
                page["users"]
                    .as_array()
                    .map(|users| users.iter().filter_map(|u| u["id"].as_i64()).collect())
            })
            .unwrap_or_default();
        think(&mut rng, think_ms).await;
        if ids.is_empty() || until.reached() {
            continue;
        }
        let id = ids[rng.below(ids.len())];
        let request = client.http.get(format!("{}/api/users/{id}", client.base));
        timed(&mut log, Endpoint::User, 0, t0, request).await;
        think(&mut rng, think_ms).await;
    }
    log
}

/// A client of its own (cookie jar, connection) signed in as `username`;
/// waits out a busy hasher (503) or the limiter (429) rather than failing.
async fn signed_in(base: &str, username: &str, timeout: Duration) -> TestClient {
    let mut client = TestClient {
        base: base.to_string(),
        http: reqwest::Client::builder()
            .cookie_store(true)
            .timeout(timeout)
            .build()
            .expect("build a client"),
        csrf: None,
    };
    for _ in 0..20 {
        let response = client.login(username, ADMIN_PASSWORD).await;
        match response.status() {
            StatusCode::OK => return client,
            StatusCode::SERVICE_UNAVAILABLE | StatusCode::TOO_MANY_REQUESTS => {
                tokio::time::sleep(Duration::from_secs(2)).await
            }
            status => panic!("sign-in of {username}: {status}"),
        }
    }
    panic!("sign-in of {username}: still refused");
}

/// Since the load began: when Try Import was sent and answered, and when
/// Import was sent and answered.
struct ImportTimes {
    preview: (Duration, Duration),
    commit: (Duration, Duration),
}

async fn import(
    admin: &TestClient,
    body: Vec<u8>,
    rows: usize,
    t0: Instant,
) -> Result<ImportTimes, String> {
    let post = |path: String| {
        admin
            .http
            .post(format!("{}{path}", admin.base))
            .header("X-CSRF-Token", admin.csrf.clone().unwrap_or_default())
    };
    let sent = t0.elapsed();
    let response = post("/api/imports".to_string())
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("Try Import: {e}"))?;
    let status = response.status();
    let preview: Value = response
        .json()
        .await
        .map_err(|e| format!("Try Import: {e}"))?;
    if status != StatusCode::CREATED || preview["summary"]["to_create"] != rows {
        return Err(format!("Try Import: {status} {}", preview["summary"]));
    }
    let previewed = t0.elapsed();
    let id = preview["id"].as_i64().ok_or("Try Import: no id")?;
    let response = post(format!("/api/imports/{id}/commit"))
        .json(&json!({"skip_errors": false}))
        .send()
        .await
        .map_err(|e| format!("Import: {e}"))?;
    let committed = t0.elapsed();
    let status = response.status();
    let result: Value = response.json().await.map_err(|e| format!("Import: {e}"))?;
    if status != StatusCode::OK || result["created"] != rows {
        return Err(format!("Import: {status} {result}"));
    }
    Ok(ImportTimes {
        preview: (sent, previewed),
        commit: (previewed, committed),
    })
}

/// The machine's CPU time, busy and in all, in clock ticks (/proc/stat).
fn machine_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().take(8).sum();
    // idle and iowait are not busy.
    let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
    (total - idle, total)
}

/// A process's user + system CPU time in clock ticks (/proc/PID/stat).
fn process_ticks(pid: &str) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // After the command's `)`: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0)
}

/// The CPU ticks of each PostgreSQL backend connected to this database.
async fn postgres_ticks(db: &sqlx::AnyPool) -> Vec<(String, u64)> {
    let pids: Vec<i64> = sqlx::query_scalar(
        "SELECT CAST(pid AS BIGINT) FROM pg_stat_activity WHERE datname = current_database()",
    )
    .fetch_all(db)
    .await
    .unwrap_or_default();
    pids.iter()
        .map(|pid| (pid.to_string(), process_ticks(&pid.to_string())))
        .collect()
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn ms(d: Duration) -> String {
    format!("{:.0}", d.as_secs_f64() * 1000.0)
}

/// Nearest-rank percentiles of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latencies<'a>(samples: impl Iterator<Item = &'a Sample>) -> Vec<Duration> {
    let mut l: Vec<Duration> = samples.map(|s| s.latency).collect();
    l.sort_unstable();
    l
}

/// One run: `processes` servers, the clients, the import; prints the
/// figures and gives the number of failed requests.
/// The directory holds the users `u0000000` … of `directory`; the import
/// adds the next ones.
async fn run(
    db: &sqlx::AnyPool,
    servers: &[RealServer],
    processes: usize,
    directory: usize,
    role_id: i64,
    root: i64,
) -> usize {
    let clients: usize = env("ROSTER_LOAD_CLIENTS", 100);
    let secs: u64 = env("ROSTER_LOAD_SECS", 60);
    let import_after: u64 = env("ROSTER_LOAD_IMPORT_AFTER_SECS", 10);
    let think_ms: u64 = env("ROSTER_LOAD_THINK_MS", 0);
    let selective = std::env::var("ROSTER_LOAD_QUERIES").is_ok_and(|q| q == "selective");
    let rows: usize = env("ROSTER_IMPORT_ROWS", 100_000);
    let servers = &servers[..processes];

    // Sign every client in before the clock starts, four at a time (the
    // hasher's bound), each on its process.
    let started = Instant::now();
    let mut signing = JoinSet::new();
    for worker in 0..4 {
        let bases: Vec<(usize, String)> = (worker..clients)
            .step_by(4)
            .map(|n| (n, servers[n % processes].base.clone()))
            .collect();
        signing.spawn(async move {
            let mut signed = Vec::new();
            for (n, base) in bases {
                let client = signed_in(&base, &format!("u{n:07}"), Duration::from_secs(30)).await;
                signed.push((n, client));
            }
            signed
        });
    }
    let mut signed: Vec<(usize, TestClient)> =
        signing.join_all().await.into_iter().flatten().collect();
    signed.sort_by_key(|(n, _)| *n);
    let admin = signed_in(&servers[0].base, "admin", Duration::from_secs(3600)).await;
    println!(
        "\n{processes} process(es): {clients} clients signed in in {:.1?}",
        started.elapsed()
    );
    // Made before the clock starts: the load generator shares the cores.
    let body = serde_json::to_vec(&json!({
        "file_name": "load.xlsx",
        "role_id": role_id,
        "hierarchy_id": root,
        "rows": crate::import_scale::rows_from(directory, rows, "Zoë"),
    }))
    .expect("serialise the rows");

    let load_before = load_average();
    let pids: Vec<String> = servers.iter().map(|s| s.pid().to_string()).collect();
    let servers_before: Vec<u64> = pids.iter().map(|p| process_ticks(p)).collect();
    let self_before = process_ticks("self");
    let postgres_before = postgres_ticks(db).await;
    let machine_before = machine_ticks();
    let t0 = Instant::now();
    let until = Arc::new(Until {
        deadline: t0 + Duration::from_secs(secs),
        hard_limit: t0 + Duration::from_secs(secs + 900),
        import_done: AtomicBool::new(false),
    });
    let mut load = JoinSet::new();
    for (n, client) in signed {
        load.spawn(administrator(
            n,
            client,
            t0,
            until.clone(),
            directory,
            think_ms,
            selective,
        ));
    }
    let importer = {
        let until = until.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(import_after)).await;
            let times = import(&admin, body, rows, t0).await;
            until.import_done.store(true, Ordering::Relaxed);
            times
        })
    };
    let logs = load.join_all().await;
    let elapsed = t0.elapsed();
    let machine_after = machine_ticks();
    let postgres_after = postgres_ticks(db).await;
    let self_after = process_ticks("self");
    let servers_after: Vec<u64> = pids.iter().map(|p| process_ticks(p)).collect();
    let load_after = load_average();
    let times = importer.await.expect("the import task");

    let samples: Vec<&Sample> = logs.iter().flat_map(|l| &l.samples).collect();
    let failures: Vec<&Failure> = logs.iter().flat_map(|l| &l.failures).collect();
    let wall = elapsed.as_secs_f64();
    // Clock ticks are 1/100 s on Linux (CLK_TCK).
    let cpu = |ticks: u64| ticks as f64 / 100.0;
    let busy = machine_after.0 - machine_before.0;
    let total = machine_after.1 - machine_before.1;
    let roster: Vec<f64> = servers_after
        .iter()
        .zip(&servers_before)
        .map(|(a, b)| cpu(a - b))
        .collect();
    let generator = cpu(self_after - self_before);
    // A backend that began during the run counts from zero; one that ended
    // is missed (the pools keep theirs: sqlx closes idle ones after 10 min).
    let postgres = cpu(postgres_after
        .iter()
        .map(|(pid, t)| {
            t - postgres_before
                .iter()
                .find(|(p, _)| p == pid)
                .map_or(0, |(_, b)| *b)
        })
        .sum());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{processes} process(es), {clients} clients, think {think_ms} ms, {} queries, \
         {directory} users: \
         {wall:.1} s of load; load average before {load_before}, after {load_after}",
        if selective { "selective" } else { "all" }
    );
    println!(
        "CPU: machine {:.0} % busy of {cores} cores ({:.0} core-s); roster serve {:?} core-s; \
         load generator {generator:.1} core-s; PostgreSQL (this database's backends) \
         {postgres:.1} core-s; the rest (other work on the machine) {:.1} core-s",
        100.0 * busy as f64 / total.max(1) as f64,
        cpu(busy),
        roster
            .iter()
            .map(|c| (c * 10.0).round() / 10.0)
            .collect::<Vec<_>>(),
        cpu(busy) - roster.iter().sum::<f64>() - generator - postgres
    );
    match &times {
        Ok(t) => println!(
            "import of {rows} new users on process 1: Try Import {:.1}–{:.1} s ({:.2} s), \
             Import {:.1}–{:.1} s ({:.2} s)",
            t.preview.0.as_secs_f64(),
            t.preview.1.as_secs_f64(),
            (t.preview.1 - t.preview.0).as_secs_f64(),
            t.commit.0.as_secs_f64(),
            t.commit.1.as_secs_f64(),
            (t.commit.1 - t.commit.0).as_secs_f64()
        ),
        Err(e) => println!("IMPORT FAILED: {e}"),
    }
    println!("| endpoint | requests | per second | p50 ms | p95 ms | p99 ms | max ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for endpoint in [Endpoint::Search, Endpoint::User] {
        let l = latencies(samples.iter().copied().filter(|s| s.endpoint == endpoint));
        let errors = failures.iter().filter(|f| f.endpoint == endpoint).count();
        println!(
            "| {} | {} | {:.0} | {} | {} | {} | {} | {errors} |",
            match endpoint {
                Endpoint::Search => "GET /api/users?q=",
                Endpoint::User => "GET /api/users/{id}",
            },
            l.len(),
            l.len() as f64 / wall,
            ms(percentile(&l, 50.0)),
            ms(percentile(&l, 95.0)),
            ms(percentile(&l, 99.0)),
            ms(l.last().copied().unwrap_or_default()),
        );
    }
    if let Ok(t) = &times {
        println!("search, by when it was sent:");
        println!("| window | requests | per second | p50 ms | p95 ms | p99 ms | max ms |");
        println!("|---|---:|---:|---:|---:|---:|---:|");
        let windows = [
            ("before the import", Duration::ZERO, t.preview.0),
            ("during Try Import", t.preview.0, t.preview.1),
            ("**during the commit**", t.commit.0, t.commit.1),
            ("after the commit", t.commit.1, elapsed),
        ];
        for (name, from, to) in windows {
            let l = latencies(
                samples
                    .iter()
                    .copied()
                    .filter(|s| s.endpoint == Endpoint::Search && s.start >= from && s.start < to),
            );
            println!(
                "| {name} | {} | {:.0} | {} | {} | {} | {} |",
                l.len(),
                l.len() as f64 / (to - from).as_secs_f64().max(0.001),
                ms(percentile(&l, 50.0)),
                ms(percentile(&l, 95.0)),
                ms(percentile(&l, 99.0)),
                ms(l.last().copied().unwrap_or_default()),
            );
        }
    }
    println!("search by kind, the whole run:");
    println!("| kind | requests | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|");
    for (kind, name) in KINDS.iter().enumerate() {
        let l = latencies(
            samples
                .iter()
                .copied()
                .filter(|s| s.endpoint == Endpoint::Search && s.kind == kind),
        );
        if l.is_empty() {
            continue;
        }
        println!(
            "| {name} | {} | {} | {} | {} |",
            l.len(),
            ms(percentile(&l, 50.0)),
            ms(percentile(&l, 99.0)),
            failures
                .iter()
                .filter(|f| f.endpoint == Endpoint::Search && f.kind == kind)
                .count()
        );
    }
    println!("failed requests: {}", failures.len());
    for f in failures.iter().take(5) {
        println!(
            "  {:?} at {:.1} s: {}",
            f.endpoint,
            f.start.as_secs_f64(),
            f.what
        );
    }
    failures.len() + usize::from(times.is_err())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds a million users and loads the server for minutes: run by hand in release"]
async fn load_during_import() {
    let users: usize = env("ROSTER_SCALE_USERS", 1_000_000);
    let clients: usize = env("ROSTER_LOAD_CLIENTS", 100);
    let rows: usize = env("ROSTER_IMPORT_ROWS", 100_000);
    let runs: Vec<usize> = std::env::var("ROSTER_LOAD_PROCESSES")
        .unwrap_or_else(|_| "1,3".to_string())
        .split(',')
        .filter_map(|p| p.trim().parse().ok())
        .filter(|p| *p > 0)
        .collect();
    assert!(clients <= users, "each client signs in as a seeded user");

    let (database, url) = TestDb::create(Kind::Postgres).await;
    // The first process makes the tables and `admin`; the others start on
    // a migrated database.
    let mut servers = vec![RealServer::start(&url, &[]).await];
    let admin = servers[0].admin(Duration::from_secs(60)).await;
    let (role_id, root) = (admin.administrator_role().await, admin.root_node().await);
    let db = roster_server::db::connect_with(&url, Some(4))
        .await
        .expect("connect to the database");
    crate::scale::seed(&db, users, role_id, root).await;
    // The seeded users (Administrators) u0000000… get admin's password
    // hash: the clients sign in as them, each its own account.
    sqlx::query(
        "UPDATE users SET password_hash = (SELECT password_hash FROM users \
         WHERE username_key = 'admin') WHERE username_key >= 'u0000000' AND username_key < $1",
    )
    .bind(format!("u{clients:07}"))
    .execute(&db)
    .await
    .expect("give the clients a password");

    let mut failed = 0;
    for (i, &processes) in runs.iter().enumerate() {
        // Each run starts from an analysed directory whose pages are all
        // marked visible, as autovacuum leaves it some time after a load.
        sqlx::query("VACUUM ANALYZE")
            .execute(&db)
            .await
            .expect("vacuum");
        while servers.len() < processes {
            servers.push(RealServer::start(&url, &[]).await);
        }
        // Each run imports users that are new: after the seeded ones and
        // the earlier runs' imports.
        failed += run(&db, &servers, processes, users + i * rows, role_id, root).await;
    }
    db.close().await;
    drop(servers);
    drop(database);
    assert_eq!(failed, 0, "no request may fail under load (see the output)");
}
