//! Helpers shared by the end-to-end tests: the workspace's files, the
//! real `roster` binary, and [`RealServer`], `roster serve` as a process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The workspace root (the folder holding the workspace Cargo.toml).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace")
}

/// A test file from `shared/tests/fixtures`, written by other tools than ours.
pub fn fixture(name: &str) -> PathBuf {
    workspace_root().join("shared/tests/fixtures").join(name)
}

/// The real `roster` binary, built once per test run with the profile the
/// tests were built with. A test package cannot depend on another package's
/// binary, so it is built here; cargo has released its lock by the time
/// tests run.
///
/// `ROSTER_BIN` names another binary to run instead (a release build
/// driven by debug tests, for a measurement without a release build of
/// every test dependency).
pub fn roster_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("ROSTER_BIN") {
            return PathBuf::from(bin);
        }
        let release = !cfg!(debug_assertions);
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cargo
            .current_dir(workspace_root())
            .args(["build", "--quiet", "-p", "roster", "--bin", "roster"]);
        if release {
            cargo.arg("--release");
        }
        let status = cargo.status().expect("cargo runs");
        assert!(status.success(), "building the roster binary failed");
        // The test binary lives in target/<profile>/deps/.
        let exe = std::env::current_exe().expect("test binary path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps/<test>");
        profile_dir.join("roster")
    })
}

/// `admin`'s password on a server started by [`RealServer`] (its first
/// start's `ROSTER_ADMIN_PASSWORD`).
pub const ADMIN_PASSWORD: &str = "first-admin-password";
/// The `ROSTER_SECRET_KEY` of the real servers the tests start: one key, so
/// that several processes on one database share it, as a deployment does.
pub const SECRET_KEY: &str = "5eca1ed0c0ffee005eca1ed0c0ffee005eca1ed0c0ffee005eca1ed0c0ffee00";

/// A port free on 127.0.0.1 now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

/// How [`RealServer::launch`] starts `roster serve`. The environment starts
/// from `ROSTER_ADMIN_PASSWORD` = [`ADMIN_PASSWORD`], `ROSTER_SECRET_KEY` =
/// [`SECRET_KEY`] and `RUST_LOG=info`; `env` then sets (`Some`) or removes
/// (`None`) variables.
#[derive(Default)]
pub struct Launch<'a> {
    /// The database; `None`: a SQLite file in a folder of its own, removed
    /// with the server.
    pub database_url: Option<&'a str>,
    /// The web app's files; `None`: only the API is served.
    pub static_dir: Option<&'a Path>,
    /// Added to `roster serve --listen ADDRESS`.
    pub args: &'a [&'a str],
    pub env: &'a [(&'a str, Option<&'a str>)],
    /// Keep standard output for [`RealServer::stdout_line`] (the first
    /// start prints a generated password there).
    pub capture_stdout: bool,
}

/// The real `roster serve` as a process, for what the in-process server
/// cannot show (the binary's own start, its memory, signals, SIGKILL, several
/// processes) and for the browser. Its log goes to a file; it is killed
/// when dropped, also when an assertion fails.
pub struct RealServer {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    log: PathBuf,
    /// The folder of its own SQLite file, if [`Launch::database_url`] was
    /// `None`.
    dir: Option<PathBuf>,
}

impl Drop for RealServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_file(&self.log);
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl RealServer {
    /// Starts `roster serve` on `url` with `args` added and waits until it
    /// answers.
    pub async fn start(url: &str, args: &[&str]) -> RealServer {
        RealServer::start_with_env(url, args, &[]).await
    }

    /// [`start`](Self::start) with these environment variables set or
    /// removed (see [`Launch`]).
    pub async fn start_with_env(
        url: &str,
        args: &[&str],
        env: &[(&str, Option<&str>)],
    ) -> RealServer {
        RealServer::launch(Launch {
            database_url: Some(url),
            args,
            env,
            ..Launch::default()
        })
        .await
    }

    /// Starts `roster serve` as `launch` says and waits (up to 30 s) until
    /// it answers `GET /api/openapi.json`.
    pub async fn launch(launch: Launch<'_>) -> RealServer {
        use std::process::{Command, Stdio};
        let port = free_port();
        let dir = match launch.database_url {
            Some(_) => None,
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("roster-real-server-{}-{port}", std::process::id()));
                std::fs::create_dir_all(&dir).expect("a folder for the database");
                Some(dir)
            }
        };
        let url = match (&launch.database_url, &dir) {
            (Some(url), _) => url.to_string(),
            (None, Some(dir)) => format!("sqlite://{}", dir.join("roster.db").display()),
            (None, None) => unreachable!("a folder is made when no URL is given"),
        };
        let log = std::env::temp_dir().join(format!("roster_real_server_{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create the log file");
        let mut command = Command::new(roster_bin());
        command
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .arg("--static-dir")
            .arg(
                launch
                    .static_dir
                    .unwrap_or(Path::new("/nonexistent/roster-dist")),
            )
            .args(launch.args)
            .env("DATABASE_URL", &url)
            .env("ROSTER_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("ROSTER_SECRET_KEY", SECRET_KEY)
            .env("RUST_LOG", "info")
            .env_remove("ROSTER_SECRET_KEY_FILE");
        for (name, value) in launch.env {
            match value {
                Some(value) => command.env(name, value),
                None => command.env_remove(name),
            };
        }
        let stdout = if launch.capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        };
        let child = command
            .stdout(stdout)
            .stderr(log_file)
            .spawn()
            .expect("start roster serve");
        let mut server = RealServer {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
            dir,
        };
        for _ in 0..300 {
            let up = reqwest::get(format!("{}/api/openapi.json", server.base))
                .await
                .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
            if up {
                return server;
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!(
                    "roster serve ended ({status}) before it answered: {}",
                    server.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("roster serve did not start: {}", server.log());
    }

    /// The first line it wrote on standard output (with
    /// [`Launch::capture_stdout`]), without its line break.
    pub async fn stdout_line(&mut self) -> String {
        use std::io::BufRead;
        let stdout = self.child.stdout.take().expect("stdout captured");
        tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout).read_line(&mut line).ok();
            line.trim_end().to_string()
        })
        .await
        .expect("read stdout")
    }

    /// The address it listens on, `127.0.0.1:PORT`.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// `base` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends a signal by name (`TERM`, `INT`), as a service manager would.
    pub fn signal(&self, name: &str) {
        let status = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits up to `timeout` for the process to end; its exit status.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// The process's id (for /proc/PID/stat: its CPU time).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A line of /proc/PID/status in MiB (`VmHWM:` the peak, `VmRSS:` now).
    pub fn memory_mib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib / 1024)
            .unwrap_or_else(|| panic!("no {field} in {status}"))
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}
