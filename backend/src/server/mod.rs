//! `roster serve` and `roster admin`: the HTTP server that holds the user
//! directory (SPEC sections 1, 7 and 9), on SQLite or PostgreSQL.
//!
//! Built as a library too (`roster_server`) so that the API tests start the
//! real router in-process against a fresh database.
//!
//! Map, arrows pointing down: [`http`] (one router per resource, the
//! session extractor) → the domain: [`imports`] (classify, store, commit),
//! [`search`] (the accent-free search terms), [`password`] (Argon2id),
//! [`secret`] (the secret key sealing preview passwords), [`clock`] (the
//! injectable clock) → [`db`] (one pool for both databases, migrations,
//! first-start bootstrap, the queries more than one caller runs). [`error`]
//! is the one error type all of them return.

#![forbid(unsafe_code)]

pub mod clock;
pub mod db;
pub mod error;
pub mod export;
pub mod http;
pub mod imports;
pub mod password;
pub mod permissions;
pub mod search;
pub mod secret;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

pub use clock::Clock;
pub use db::Db;
pub use password::PasswordPolicy;

/// How long a deleted user stays in the trash can (SPEC section 1).
pub const TRASH_RETENTION_DAYS: i64 = 30;

#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "\
Environment:
  DATABASE_URL            same as --database-url
  ROSTER_ADMIN_PASSWORD   the first start's `admin` password; if unset, one is
                          generated and printed once on standard output
  ROSTER_SECRET_KEY       64 hex characters sealing Try Import's passwords in the
                          database; every process of one database needs the same
                          (else see --secret-key-file)
  RUST_LOG                log filter (default: info)

On the first start of an empty database Roster creates the Administrator
role (every permission), a root hierarchy node and the user `admin`.")]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The database: `sqlite://PATH` (created with its tables if missing) or
    /// `postgres://USER@HOST/DB` (the database must exist; tables are created).
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://roster.db")]
    pub database_url: String,
    /// Directory of the web app's built files. If it does not exist only the
    /// API is served.
    #[arg(long, env = "ROSTER_STATIC_DIR", default_value = "dist")]
    pub static_dir: PathBuf,
    /// When the session cookie gets the `Secure` attribute: `auto` sets it
    /// when the request came over HTTPS (as a reverse proxy's
    /// `X-Forwarded-Proto: https` says), `always` (behind a TLS proxy that
    /// does not say so), or `never`.
    #[arg(long, env = "ROSTER_COOKIE_SECURE", default_value = "auto")]
    pub cookie_secure: CookieSecure,
    /// Most connections to the database (default: 4 on SQLite, 10 on
    /// PostgreSQL), per process. At most half of them run searches at once,
    /// so that the rest stay free for user pages, sign-ins and imports. With
    /// several processes on one PostgreSQL, keep processes × this within
    /// its `max_connections` (100 by default, a few reserved); more
    /// connections than about twice PostgreSQL's cores add no throughput
    /// (docs/DEPLOY.md).
    #[arg(long, env = "ROSTER_DB_MAX_CONNECTIONS")]
    pub db_max_connections: Option<u32>,
    /// Seconds a search (`GET /api/users?q=`, the trash can) may wait for
    /// its turn and run; then it is stopped and answers 503 with
    /// `Retry-After`, so that it does not hold a connection. PostgreSQL
    /// stops the statement (`statement_timeout`); SQLite bounds only the
    /// wait.
    #[arg(long, env = "ROSTER_SEARCH_TIMEOUT_SECS", default_value_t = 5,
        value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub search_timeout_secs: u64,
    /// Largest request body the API accepts, in bytes (larger: 413).
    #[arg(long, env = "ROSTER_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Hours a session lasts after sign-in.
    #[arg(long, env = "ROSTER_SESSION_HOURS", default_value_t = 12)]
    pub session_hours: u32,
    /// Minutes a session may go unused before it ends (sign in again).
    #[arg(long, env = "ROSTER_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u32,
    /// Failed sign-ins allowed per account in 15 minutes before 429.
    #[arg(long, env = "ROSTER_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 5)]
    pub login_failures_per_account: u32,
    /// Failed sign-ins allowed per client address in 15 minutes before 429.
    #[arg(long, env = "ROSTER_LOGIN_FAILURES_PER_ADDRESS", default_value_t = 20)]
    pub login_failures_per_address: u32,
    /// Take the client's address from the last address of the last
    /// `X-Forwarded-For` header (the one the reverse proxy in front adds)
    /// rather than from the connection, which behind a proxy is the proxy's.
    /// Only when every request reaches Roster through that one proxy: a
    /// client that can connect directly could then name any address.
    #[arg(long, env = "ROSTER_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,
    /// On SIGTERM or SIGINT the server stops accepting connections and lets
    /// the requests under way (an import's commit included) end for at most
    /// this many seconds; then it exits, and a commit cut short rolls back
    /// whole.
    #[arg(long, env = "ROSTER_SHUTDOWN_GRACE_SECS", default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub shutdown_grace_secs: u64,
    /// Seconds a client has to send a request's head (request line and
    /// headers), and the longest a kept-alive connection waits for the next
    /// one; then the connection is closed.
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT_SECS",
        default_value_t = Timeouts::DEFAULT.header.as_secs(), value_parser = secs())]
    pub header_timeout_secs: u64,
    /// The longest pause, in seconds, while a request's body arrives; a
    /// stalled body ends the request.
    #[arg(long, env = "ROSTER_BODY_TIMEOUT_SECS",
        default_value_t = Timeouts::DEFAULT.body_idle.as_secs(), value_parser = secs())]
    pub body_timeout_secs: u64,
    /// Seconds a request may take, its body included (408 after), except
    /// Try Import's upload (--upload-timeout-secs) and an import's commit,
    /// which is not cut (it can take long with passwords to hash).
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT_SECS",
        default_value_t = Timeouts::DEFAULT.request.as_secs(), value_parser = secs())]
    pub request_timeout_secs: u64,
    /// Seconds Try Import's request may take, its upload of up to 64 MiB
    /// included (the default allows a link of about 0.6 Mbit/s).
    #[arg(long, env = "ROSTER_UPLOAD_TIMEOUT_SECS",
        default_value_t = Timeouts::DEFAULT.upload.as_secs(), value_parser = secs())]
    pub upload_timeout_secs: u64,
    /// The file holding the secret key (64 hex characters) that seals Try
    /// Import's passwords, created (0600) with a fresh key if missing. Without
    /// it or ROSTER_SECRET_KEY: `DATABASE.secret-key` beside a SQLite file,
    /// `roster.secret-key` here on PostgreSQL (with a warning: every process
    /// of one database needs the same key).
    #[arg(long, env = "ROSTER_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
}

/// A number of seconds from 1 to a day.
fn secs() -> clap::builder::RangedU64ValueParser<u64> {
    clap::value_parser!(u64).range(1..=86_400)
}

/// How long the server waits for a client (docs/SERVER.md, "Timeouts").
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// For a request's head; also a kept-alive connection's idle time.
    pub header: Duration,
    /// The longest pause while a body arrives.
    pub body_idle: Duration,
    /// For a whole request, body included.
    pub request: Duration,
    /// For Try Import's whole request (an upload of up to 64 MiB).
    pub upload: Duration,
}

impl Timeouts {
    pub const DEFAULT: Timeouts = Timeouts {
        header: Duration::from_secs(20),
        body_idle: Duration::from_secs(30),
        request: Duration::from_secs(60),
        upload: Duration::from_secs(900),
    };
}

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieSecure {
    Auto,
    Always,
    Never,
}

#[derive(clap::Args, Debug)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// Set a user's password (for a locked-out administrator) and end all of
    /// that user's sessions. The new password is read from standard input
    /// (without echo on a terminal).
    SetPassword {
        /// The user's username (any case).
        username: String,
        /// The database, as for `roster serve`.
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://roster.db")]
        database_url: String,
    },
    /// Copy a SQLite database, also while servers use it, into a new file
    /// (readable by its owner only; an existing file is never overwritten).
    /// Start `roster serve` on the copy to restore it. On PostgreSQL, use
    /// pg_dump.
    Backup {
        /// The file to create.
        file: PathBuf,
        /// The database, as for `roster serve`.
        #[arg(long, env = "DATABASE_URL", default_value = "sqlite://roster.db")]
        database_url: String,
    },
}

/// Everything the server is told; built from [`ServeArgs`] or by tests.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    /// `None`: serve the API only.
    pub static_dir: Option<PathBuf>,
    pub cookie_secure: CookieSecure,
    pub max_body_bytes: usize,
    /// The database pool's size (`None`: the default of [`db::connect`]).
    pub max_db_connections: Option<u32>,
    /// The longest a search waits for its turn, and runs (ServeArgs).
    pub search_timeout: Duration,
    /// The most users an export writes: a sheet's rows but the header
    /// (1,048,575). Lowered by tests only, which cannot seed a million.
    pub export_max_users: i64,
    pub session_ttl_secs: i64,
    /// A session unused this long ends.
    pub session_idle_secs: i64,
    pub login_failures_per_account: u32,
    pub login_failures_per_address: u32,
    /// The client's address is the proxy's `X-Forwarded-For` (see ServeArgs).
    pub trust_forwarded_for: bool,
    pub timeouts: Timeouts,
    /// How often the trash can is purged while running (also on start).
    pub purge_interval: Duration,
    /// How often expired sessions and sign-in windows are deleted.
    pub clean_up_interval: Duration,
    /// How long a shutdown waits for the requests under way.
    pub shutdown_grace: Duration,
    /// The first start's `admin` password (`ROSTER_ADMIN_PASSWORD`).
    pub admin_password: Option<String>,
    pub password: PasswordPolicy,
    pub clock: Clock,
    /// Seals stored previews' passwords; `None`: a random key of this
    /// process (`roster serve` always resolves one: [`secret::KeySource`]).
    pub secret_key: Option<secret::SecretKey>,
}

impl Config {
    pub fn new(database_url: impl Into<String>) -> Self {
        Config {
            database_url: database_url.into(),
            static_dir: None,
            cookie_secure: CookieSecure::Auto,
            max_body_bytes: 1024 * 1024,
            max_db_connections: None,
            search_timeout: Duration::from_secs(5),
            export_max_users: i64::from(roster_shared::write::MAX_ROWS - 1),
            session_ttl_secs: 12 * 3600,
            session_idle_secs: 30 * 60,
            login_failures_per_account: 5,
            login_failures_per_address: 20,
            trust_forwarded_for: false,
            timeouts: Timeouts::DEFAULT,
            purge_interval: Duration::from_secs(24 * 3600),
            clean_up_interval: Duration::from_secs(60),
            shutdown_grace: Duration::from_secs(30),
            admin_password: None,
            password: PasswordPolicy::default(),
            clock: Clock::system(),
            secret_key: None,
        }
    }
}

/// A server ready to be served: database migrated, bootstrapped and purged.
pub struct Prepared {
    pub router: axum::Router,
    pub db: Db,
    config: Config,
    /// The work that runs in tasks of its own (imports), for the shutdown.
    tasks: tokio_util::task::TaskTracker,
}

/// Connects, migrates, bootstraps an empty database and purges the trash can.
pub async fn prepare(config: Config) -> anyhow::Result<Prepared> {
    let db = db::connect_with(&config.database_url, config.max_db_connections).await?;
    if let Some(password) = db::bootstrap(&db, &config).await? {
        // Printed once, on purpose, to the console and not to the log.
        println!(
            "Roster: created the user `admin` with the generated password: {password}\n\
             Roster: it is shown only this once; sign in and change it."
        );
    }
    let purged = db::purge_trash(&db, config.clock.now()).await?;
    if purged > 0 {
        tracing::info!(purged, "purged users deleted more than 30 days ago");
    }
    let key = match &config.secret_key {
        Some(key) => key.clone(),
        None => secret::SecretKey::generate()?,
    };
    let ctx = http::ApiContext::new(db.clone(), config.clone(), key);
    let tasks = ctx.tasks.clone();
    let router = http::router(ctx);
    Ok(Prepared {
        router,
        db,
        config,
        tasks,
    })
}

impl Prepared {
    /// Serves on `listener` until the future `shutdown` completes, running
    /// the background jobs; then stops accepting connections and lets the
    /// requests under way, and the imports' tasks, finish within
    /// `shutdown_grace`. Past it they are dropped: a commit's transaction
    /// then rolls back whole.
    pub async fn serve(
        self,
        mut listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        use axum::serve::Listener;
        let jobs = tokio::spawn(background_jobs(self.db.clone(), self.config.clone()));
        // hyper's own HTTP/1 server rather than `axum::serve`, which gives
        // it no timer and so no timeout on a request's head: a client that
        // sent half a head kept its connection for good.
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(hyper_util::rt::TokioTimer::new())
            .header_read_timeout(self.config.timeouts.header);
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (stream, address) = tokio::select! {
                accepted = Listener::accept(&mut listener) => accepted,
                () = &mut shutdown => break,
            };
            let router = self.router.clone();
            // The client's address, for the sign-in limiter (as
            // `into_make_service_with_connect_info` gives it).
            let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(address));
                tower::ServiceExt::oneshot(router.clone(), request)
            });
            let connection = graceful
                .watch(http.serve_connection(hyper_util::rt::TokioIo::new(stream), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, %address, "a connection ended in error");
                }
            });
        }
        // New connections are refused from here on.
        drop(listener);
        jobs.abort();
        self.tasks.close();
        let grace = self.config.shutdown_grace;
        let drained = tokio::time::timeout(grace, async {
            graceful.shutdown().await;
            self.tasks.wait().await;
        })
        .await
        .is_ok();
        if drained {
            self.db.close().await;
        } else {
            // Closing the pool would wait for the connections still in use.
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "the shutdown's grace period ended with requests under way: they are cut short \
                 (an import's commit rolls back whole)"
            );
        }
        Ok(())
    }
}

/// The trash can's purge every `purge_interval`; expired sessions and
/// sign-in windows every `clean_up_interval`. Every process runs them: each
/// is safe to run in several at once (`db::purge_trash`, `db::clean_up`).
async fn background_jobs(db: Db, config: Config) {
    use tokio::time::{MissedTickBehavior, interval};
    let mut purge = interval(config.purge_interval);
    let mut clean_up = interval(config.clean_up_interval);
    purge.set_missed_tick_behavior(MissedTickBehavior::Delay);
    clean_up.set_missed_tick_behavior(MissedTickBehavior::Delay);
    purge.tick().await; // the first tick is immediate; start already purged
    loop {
        tokio::select! {
            _ = purge.tick() => match db::purge_trash(&db, config.clock.now()).await {
                Ok(0) => {}
                Ok(purged) => tracing::info!(purged, "purged the trash can"),
                Err(e) => tracing::error!(error = %e, "purging the trash can failed"),
            },
            _ = clean_up.tick() => {
                let now = config.clock.now();
                if let Err(e) = db::delete_expired_sessions(&db, now).await {
                    tracing::error!(error = %e, "deleting expired sessions failed");
                }
                // Timed by the database's clock, as the windows are.
                let expired = match db::database_now(&db).await {
                    Ok(now) => http::auth::delete_expired_sign_in_windows(&db, now).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = expired {
                    tracing::error!(error = %e, "deleting expired sign-in windows failed");
                }
            }
        }
    }
}

/// Completes on SIGTERM (what service managers and container runtimes send)
/// or SIGINT (Ctrl-C). A second one during the grace period ends the
/// process at once: whoever sends it again does not want to wait.
async fn stop_signal() {
    let mut signals = StopSignals::new();
    signals.next().await;
    tracing::info!(
        "stopping: no new connections; letting the requests under way end \
         (a second SIGTERM or Ctrl-C stops at once)"
    );
    tokio::spawn(async move {
        signals.next().await;
        tracing::error!(
            "a second stop signal during the grace period: exiting at once, the requests \
             under way cut short (an import's commit rolls back whole)"
        );
        std::process::exit(1);
    });
}

/// The stop signals, listened to for the whole run (once tokio listens to
/// a signal, its default action, ending the process, is gone for good).
struct StopSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl StopSignals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let terminate = signal(SignalKind::terminate())
                .inspect_err(|e| {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM; Ctrl-C still stops");
                })
                .ok();
            StopSignals { terminate }
        }
        #[cfg(not(unix))]
        StopSignals {}
    }

    /// The next SIGTERM or SIGINT.
    async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(terminate) = &mut self.terminate {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // The log goes to stderr; stdout carries only what a person must read
    // (the first start's generated password).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// `roster serve`.
pub fn run_serve(args: ServeArgs) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(serve_main(args));
    // Work cut short by the grace period (hashing on the blocking pool)
    // must not hold the exit.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("roster: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn serve_main(args: ServeArgs) -> anyhow::Result<()> {
    let static_dir = if args.static_dir.is_dir() {
        Some(args.static_dir.clone())
    } else {
        tracing::warn!(
            dir = %args.static_dir.display(),
            "the web app's directory does not exist: serving the API only"
        );
        None
    };
    let admin_password = std::env::var("ROSTER_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty());
    // Read from the environment, not a flag: a command line is visible to
    // every local user.
    let key_text = std::env::var(secret::KEY_ENV)
        .ok()
        .filter(|k| !k.is_empty());
    let secret_key = secret::KeySource::choose(key_text, args.secret_key_file, &args.database_url)?
        .load(&args.database_url)?;
    let config = Config {
        static_dir,
        cookie_secure: args.cookie_secure,
        max_body_bytes: args.max_body_bytes,
        max_db_connections: args.db_max_connections.filter(|n| *n > 0),
        search_timeout: Duration::from_secs(args.search_timeout_secs),
        session_ttl_secs: i64::from(args.session_hours.max(1)) * 3600,
        session_idle_secs: i64::from(args.session_idle_minutes.max(1)) * 60,
        login_failures_per_account: args.login_failures_per_account.max(1),
        login_failures_per_address: args.login_failures_per_address.max(1),
        trust_forwarded_for: args.trust_forwarded_for,
        shutdown_grace: Duration::from_secs(args.shutdown_grace_secs),
        timeouts: Timeouts {
            header: Duration::from_secs(args.header_timeout_secs),
            body_idle: Duration::from_secs(args.body_timeout_secs),
            request: Duration::from_secs(args.request_timeout_secs),
            upload: Duration::from_secs(args.upload_timeout_secs),
        },
        admin_password,
        secret_key: Some(secret_key),
        ..Config::new(args.database_url)
    };
    let prepared = prepare(config).await?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    tracing::info!(address = %args.listen, "roster is listening");
    prepared.serve(listener, stop_signal()).await
}

/// `roster admin …`.
pub fn run_admin(args: AdminArgs) -> ExitCode {
    init_tracing();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match args.command {
        AdminCommand::SetPassword {
            username,
            database_url,
        } => {
            let password = match read_new_password() {
                Ok(p) => p,
                Err(e) => {
                    eprintln!("roster: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let result = runtime.block_on(async {
                let db = db::connect(&database_url).await?;
                let result =
                    db::set_password(&db, &username, &password, &PasswordPolicy::default()).await;
                db.close().await;
                result
            });
            match result {
                Ok(ended) => {
                    println!(
                        "roster: the password of {username} is changed; {ended} session(s) ended"
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("roster: {e:#}");
                    ExitCode::from(1)
                }
            }
        }
        AdminCommand::Backup { file, database_url } => run_backup(&runtime, &file, &database_url),
    }
}

fn run_backup(runtime: &tokio::runtime::Runtime, file: &std::path::Path, url: &str) -> ExitCode {
    match runtime.block_on(db::backup(url, file)) {
        Ok(bytes) => {
            println!(
                "roster: backed up the database into {} ({bytes} bytes)",
                file.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("roster: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn read_new_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let again = rpassword::prompt_password("Again: ")?;
        anyhow::ensure!(first == again, "the two passwords differ");
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\r', '\n']).to_string())
    }
}
