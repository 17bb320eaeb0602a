//! `BrowserApp`: the built app served from `dist/` on a random port, and a
//! headless Chromium driven through chromedriver, with typed helpers.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use tower_http::services::{ServeDir, ServeFile};

use roster_tests::workspace_root;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// WebDriver's keys: Enter, Escape, and Ctrl+A (select all) then release.
pub const ENTER: &str = "\u{E007}";
pub const ESCAPE: &str = "\u{E00C}";
pub const SELECT_ALL: &str = "\u{E009}a\u{E000}";

/// How long a step may take before the test fails (generous: the machine
/// may be busy compiling).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The folder Trunk builds into; the test builds nothing itself.
pub fn dist_dir() -> PathBuf {
    // ROSTER_DIST: another build (e.g. an experiment's own `--dist`), so
    // that it does not replace the dist/ other tests use.
    let dist = std::env::var_os("ROSTER_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("dist"));
    assert!(
        dist.join("index.html").is_file(),
        "{} is missing: build the app first with `trunk build --release --offline` \
         at the workspace root",
        dist.display()
    );
    dist
}

pub fn screenshot_dir() -> PathBuf {
    let dir = workspace_root().join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// Every request the static server answered, in order.
#[derive(Default)]
pub struct RequestLog {
    count: AtomicUsize,
    paths: Mutex<Vec<String>>,
}

impl RequestLog {
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

async fn log_request(State(log): State<Arc<RequestLog>>, request: Request, next: Next) -> Response {
    if let Ok(mut paths) = log.paths.lock() {
        paths.push(request.uri().to_string());
    }
    log.count.fetch_add(1, Ordering::SeqCst);
    next.run(request).await
}

/// Serves `dist/` like `roster serve` will: files as they are, and
/// `index.html` for any other path (the app routes on the client).
async fn serve_dist(dist: &Path, log: Arc<RequestLog>) -> SocketAddr {
    let files = ServeDir::new(dist).fallback(ServeFile::new(dist.join("index.html")));
    let app = Router::new()
        .fallback_service(files)
        .layer(middleware::from_fn_with_state(log, log_request));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a local port");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("static server");
    });
    addr
}

/// JavaScript for [`BrowserApp::watch_said`]: something matches `css`.
pub fn present(css: &str) -> String {
    format!("document.querySelector({}) !== null", json!(css))
}

/// JavaScript for [`BrowserApp::watch_said`]: nothing matches `css`.
pub fn absent(css: &str) -> String {
    format!("document.querySelector({}) === null", json!(css))
}

/// JavaScript for [`BrowserApp::watch_said`]: the first element matching
/// `css` holds the text `text`.
pub fn says(css: &str, text: &str) -> String {
    format!(
        "(document.querySelector({}) || {{ textContent: '' }}).textContent.includes({})",
        json!(css),
        json!(text)
    )
}

pub use roster_tests::free_port;

/// chromedriver in its own process group; dropping it ends the group, so a
/// failed test leaves no browser behind.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    fn start() -> Chromedriver {
        use std::os::unix::process::CommandExt;
        assert!(
            Path::new(CHROMEDRIVER).is_file() && Path::new(CHROMIUM).is_file(),
            "the browser test needs {CHROMIUM} and {CHROMEDRIVER}"
        );
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start chromedriver");
        Chromedriver { child, port }
    }

    async fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct BrowserApp {
    pub client: Client,
    pub base_url: String,
    pub requests: Arc<RequestLog>,
    /// Where the browser saves downloads.
    pub download_dir: PathBuf,
    profile_dir: PathBuf,
    _driver: Chromedriver,
}

impl Drop for BrowserApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile_dir);
    }
}

impl BrowserApp {
    pub async fn start() -> BrowserApp {
        let dist = dist_dir();
        let requests = Arc::new(RequestLog::default());
        let addr = serve_dist(&dist, requests.clone()).await;
        BrowserApp::connect(addr, requests).await
    }

    /// A browser for an app already served at `addr` (the real `roster
    /// serve`); `requests` stays empty.
    pub async fn start_at(addr: SocketAddr) -> BrowserApp {
        BrowserApp::connect(addr, Arc::new(RequestLog::default())).await
    }

    async fn connect(addr: SocketAddr, requests: Arc<RequestLog>) -> BrowserApp {
        let driver = Chromedriver::start();
        driver.wait_until_listening().await;

        let profile_dir = std::env::temp_dir().join(format!(
            "roster-browser-test-{}-{}",
            std::process::id(),
            addr.port()
        ));
        let download_dir = profile_dir.join("downloads");
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--disable-dev-shm-usage",
                    "--window-size=1360,1000",
                    format!("--user-data-dir={}", profile_dir.display()),
                ],
                "prefs": {
                    "download.default_directory": download_dir.display().to_string(),
                    "download.prompt_for_download": false,
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object")
        };
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .expect("a chromedriver session");
        BrowserApp {
            client,
            base_url: format!("http://{addr}"),
            requests,
            download_dir,
            profile_dir,
            _driver: driver,
        }
    }

    /// Ends the browser session (the driver process ends on drop).
    pub async fn finish(self) {
        let _ = self.client.clone().close().await;
    }

    /// Opens `/check` and waits for the checker (the worker) to be ready.
    pub async fn open_check_page(&self) {
        self.open_check_page_at("/check").await;
    }

    /// The check page at `path` (`/check` with a query), once it is ready.
    pub async fn open_check_page_at(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base_url))
            .await
            .expect("open the check page");
        self.wait_for_text("#status", "No file chosen yet.").await;
    }

    /// Chooses a file with the page's file input, as a user would.
    pub async fn choose_file(&self, path: &Path) {
        let input = self
            .client
            .find(Locator::Id("file-input"))
            .await
            .expect("the file input");
        input
            .send_keys(&path.display().to_string())
            .await
            .expect("choose the file");
    }

    /// Drops a file with this text on the drop zone, as dragging it from the
    /// desktop does (WebDriver cannot drag from outside the page).
    pub async fn drop_file(&self, name: &str, text: &str) {
        let script = format!(
            "const data = new DataTransfer(); \
             data.items.add(new File([{}], {}, {{ type: '' }})); \
             const zone = document.querySelector('.dropzone'); \
             zone.dispatchEvent(new DragEvent('dragover', {{ dataTransfer: data, bubbles: true, cancelable: true }})); \
             zone.dispatchEvent(new DragEvent('drop', {{ dataTransfer: data, bubbles: true, cancelable: true }}));",
            json!(text),
            json!(name)
        );
        self.script(&script).await;
    }

    /// After a file that could not be checked: no report is left on screen.
    pub async fn assert_no_report(&self) {
        assert!(
            self.text("#check-summary").await.is_empty(),
            "no report is left on screen"
        );
    }

    /// Waits for a report other than the one marked `data-{marker}`, and
    /// returns the page's timings of it: read, check and total, in ms.
    pub async fn wait_for_report_replacing(&self, marker: &str) -> [f64; 3] {
        let deadline = Instant::now() + STEP_TIMEOUT * 3;
        loop {
            let timings = self
                .script(&format!(
                    "const d = document.querySelector('#check-summary:not([data-{marker}])'); \
                     return d ? [d.dataset.readMs, d.dataset.checkMs, d.dataset.totalMs] \
                       .map(Number) : null;"
                ))
                .await;
            if let Some(t) = timings.as_array() {
                let ms = |i: usize| t[i].as_f64().expect("the page's own timing");
                return [ms(0), ms(1), ms(2)];
            }
            assert!(Instant::now() < deadline, "no new report");
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits for the report of the file just chosen; returns how long it
    /// took as seen from here.
    pub async fn wait_for_report(&self) -> Duration {
        let started = Instant::now();
        let deadline = started + STEP_TIMEOUT * 3;
        loop {
            let state = self
                .script(
                    "const s = document.querySelector('#check-summary'); \
                     const st = document.querySelector('#status'); \
                     return [!!s, st ? st.classList.contains('failed') : false, st ? st.textContent : ''];",
                )
                .await;
            if state[0].as_bool() == Some(true) {
                return started.elapsed();
            }
            assert!(
                state[1].as_bool() != Some(true),
                "the check failed: {}",
                state[2]
            );
            assert!(
                Instant::now() < deadline,
                "no report after {:?}",
                started.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    pub async fn script(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The visible text of the first element matching `css` ("" if none).
    pub async fn text(&self, css: &str) -> String {
        let script = format!(
            "const e = document.querySelector({}); return e ? e.innerText : '';",
            json!(css)
        );
        self.script(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The whole page as HTML: text and attributes.
    pub async fn page_html(&self) -> String {
        self.script("return document.documentElement.outerHTML;")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits for the element with this id to hold the focus (pages move it
    /// on the next frame, after the redraw).
    pub async fn wait_for_focus(&self, id: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let focused = self
                .script("return document.activeElement ? document.activeElement.id : '';")
                .await;
            if focused == id {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{id} never got the focus; {focused} has it"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the focus to be inside the element matching `css`.
    pub async fn wait_for_focus_within(&self, css: &str) {
        let script = format!(
            "return !!(document.activeElement && document.activeElement.closest({}));",
            json!(css)
        );
        let deadline = Instant::now() + STEP_TIMEOUT;
        while self.script(&script).await != true {
            assert!(Instant::now() < deadline, "the focus never went into {css}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn wait_for_text(&self, css: &str, expected: &str) {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let text = self.text(css).await;
            if text.contains(expected) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said {expected:?}; it says {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Watches the page from now on, at every change to it (a
    /// MutationObserver), for the first moment the element matching
    /// `status` says `said`, and notes whether the JavaScript expression
    /// `then` held at that very moment (e.g. the deleted row is gone).
    /// Call it before the step that makes the change; read the note with
    /// [`Self::held_when_said`]. Polling could miss a moment; this cannot.
    pub async fn watch_said(&self, status: &str, said: &str, then: &str) {
        let script = format!(
            "const status = {}, said = {}; \
             window.rosterSaid = null; window.rosterSaidFor = status + ' saying ' + said; \
             const look = () => {{ \
               const s = document.querySelector(status); \
               if (window.rosterSaid === null && s && s.textContent.includes(said)) {{ \
                 window.rosterSaid = !!({then}); \
               }} \
               return window.rosterSaid !== null; \
             }}; \
             if (!look()) {{ \
               const watcher = new MutationObserver(() => {{ if (look()) watcher.disconnect(); }}); \
               watcher.observe(document.body, \
                 {{ subtree: true, childList: true, characterData: true, attributes: true }}); \
             }}",
            json!(status),
            json!(said)
        );
        self.script(&script).await;
    }

    /// Waits for the words [`Self::watch_said`] watches for; whether its
    /// expression held the moment they first appeared.
    pub async fn held_when_said(&self) -> bool {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            match self.script("return window.rosterSaid;").await {
                Value::Bool(held) => return held,
                _ => assert!(
                    Instant::now() < deadline,
                    "never came: {}",
                    self.script("return window.rosterSaidFor;").await
                ),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Clicks the first element matching `css`.
    pub async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("cannot click {css}: {e}"));
    }

    /// Corrects a cell in the check page's grid: opens it, replaces its
    /// text and presses Enter.
    pub async fn correct_cell(&self, row: u32, field: &str, value: &str) {
        self.click(&format!("#edit-{row}-{field}")).await;
        self.type_into(
            &format!("#input-{row}-{field}"),
            &format!("{SELECT_ALL}{value}{ENTER}"),
        )
        .await;
    }

    /// Types into the first element matching `css` (WebDriver keys allowed).
    pub async fn type_into(&self, css: &str, keys: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("cannot type in {css}: {e}"));
    }

    /// The grid's wrong cells, as "row N: code", each checked to carry the
    /// error icon beside its message.
    pub async fn marked_cells(&self) -> Vec<String> {
        let cells = self
            .script(
                "return [...document.querySelectorAll('#row-grid td.invalid')].map(td => \
                 [td.closest('tr').dataset.row, td.dataset.code, \
                  !!td.querySelector('.cell-problem svg.icon-error')]);",
            )
            .await;
        cells
            .as_array()
            .map(|cells| {
                cells
                    .iter()
                    .map(|c| {
                        assert_eq!(c[2], true, "an icon beside the message of {c}");
                        format!(
                            "row {}: {}",
                            c[0].as_str().unwrap_or_default(),
                            c[1].as_str().unwrap_or_default()
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits for the browser to save a download; returns its text.
    pub async fn wait_for_download(&self, name: &str) -> Vec<u8> {
        let path = self.download_dir.join(name);
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            if let Ok(bytes) = std::fs::read(&path) {
                return bytes;
            }
            assert!(
                Instant::now() < deadline,
                "{} was never saved",
                path.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Focuses the first element matching `css` and presses the space bar,
    /// as a keyboard user toggles a checkbox.
    pub async fn press_space_on(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .send_keys(" ")
            .await
            .unwrap_or_else(|e| panic!("cannot type in {css}: {e}"));
    }

    /// Picks the option of a `<select>` whose visible text is `label`.
    pub async fn select(&self, css: &str, label: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .select_by_label(label)
            .await
            .unwrap_or_else(|e| panic!("cannot pick {label:?} in {css}: {e}"));
    }

    /// The visible text of the selected option of a `<select>`.
    pub async fn selected(&self, css: &str) -> String {
        let script = format!(
            "const s = document.querySelector({}); return s.options[s.selectedIndex].text;",
            json!(css)
        );
        self.script(&script)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The row numbers listed in the grid, top to bottom.
    pub async fn grid_rows(&self) -> Vec<u64> {
        let rows = self
            .script(
                "return [...document.querySelectorAll('#row-grid tbody tr[data-row]')]\
                 .map(r => Number(r.dataset.row));",
            )
            .await;
        rows.as_array()
            .map(|a| a.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default()
    }

    /// Waits until the grid lists rows starting with `first` (the worker
    /// sends a page of rows when asked).
    pub async fn wait_for_grid_rows(&self, first: &[u64]) -> Vec<u64> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let rows = self.grid_rows().await;
            if rows.starts_with(first) {
                return rows;
            }
            assert!(
                Instant::now() < deadline,
                "the grid never listed {first:?} first; it lists {rows:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// How many resources the page has fetched (Resource Timing API).
    pub async fn resources_fetched(&self) -> u64 {
        self.script("return performance.getEntriesByType('resource').length;")
            .await
            .as_u64()
            .expect("a count")
    }

    /// Saves a screenshot of the whole page as target/screenshots/NAME.png.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        // Back to the usual size first, so a long page shown before does
        // not stretch this one.
        let _ = self.client.set_window_size(1360, 1000).await;
        let height = self
            .script("return Math.ceil(document.documentElement.scrollHeight);")
            .await
            .as_u64()
            .unwrap_or(1000)
            .clamp(600, 4000);
        let _ = self.client.set_window_size(1360, height as u32 + 140).await;
        let png = self.client.screenshot().await.expect("a screenshot");
        let path = screenshot_dir().join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write the screenshot");
        path
    }
}
