//! Browser tests: Debian's Chromium, headless, driven over WebDriver (fantoccini) through a
//! `chromedriver` this test binary starts itself.
//!
//! A journey reads like what a person does:
//!
//! ```ignore
//! let world = common::http::api().await;
//! let server = world.serve().await;
//! let browser = Browser::open(&server.url).await;
//! browser.goto("/sign-in").await;
//! browser.fill("#token", &world.member).await;
//! browser.submit("form").await;
//! browser.wait_for("main").await;
//! browser.screenshot("runs-signed-in").await;
//! browser.axe("runs").await;
//! ```
//!
//! # How it runs
//! - One `chromedriver` per test binary, started on first use on a port the OS picks
//!   (`--port=0`, the port read from its first lines) and polled on `/status` until it is
//!   ready. It runs in its own process group; a small watchdog shell holds a pipe from this
//!   process and ends the group (chromedriver and every Chromium it started) when the
//!   binary exits, however it exits.
//! - One Chromium per [`Browser`] (per journey), with a fresh temporary profile: journeys
//!   run in parallel and never share cookies. Dropping the `Browser` ends the session and
//!   removes the profile.
//! - WebDriver traffic runs on a runtime of its own, so a `Browser` works from any test's
//!   runtime and can be ended from `Drop` while the test's runtime keeps serving pages.
//! - A missing Chromium or ChromeDriver fails the test, naming `.ci/run`, which installs
//!   both; browser tests are never skipped.
//!
//! Every helper panics with the page's URL when it cannot do what it says, so a failing
//! journey names the step and the page.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde::Deserialize;
use serde_json::{json, Value};

/// The browser, as Debian's `chromium` package installs it.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Its WebDriver server, from Debian's `chromium-driver` package.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// How long a wait for an element, a text or the driver may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);
/// The laptop window every session starts with.
pub const LAPTOP: (u32, u32) = (1280, 900);
/// A phone's viewport (a common 390 × 844 handset).
pub const PHONE: (u32, u32) = (390, 844);

/// The vendored axe-core (see tests/assets/axe.VERSION).
const AXE: &str = include_str!("../assets/axe.min.js");

/// `Ok` when `path` exists; otherwise the message a person needs to fix it.
pub fn installed(path: &Path) -> Result<(), String> {
    match path.exists() {
        true => Ok(()),
        false => Err(format!(
            "browser tests need Debian's Chromium and ChromeDriver, but {} is missing. \
             `.ci/run` installs them (apt-get install -y chromium chromium-driver); \
             browser tests are never skipped",
            path.display()
        )),
    }
}

/// The chromedriver of this test binary and the runtime its sessions run on.
struct Driver {
    /// `http://127.0.0.1:<port>`.
    url: String,
    runtime: tokio::runtime::Runtime,
    /// Kept for the life of the process: when it closes, the watchdog ends the group.
    _watchdog: ChildStdin,
    _child: Child,
}

/// Started once per test binary; a failure to start is kept, so every browser test fails
/// at once with the same message instead of each waiting for its own attempt.
static DRIVER: OnceLock<Result<Driver, String>> = OnceLock::new();

/// The binary's chromedriver, started on first use.
fn driver() -> &'static Driver {
    let started = DRIVER.get_or_init(|| {
        // Started on a plain thread: the start-up blocks (bounded), and a test's runtime
        // must not be blocked by another runtime's `block_on`.
        std::thread::spawn(start_driver)
            .join()
            .unwrap_or_else(|_| Err("starting chromedriver panicked".to_string()))
    });
    match started {
        Ok(driver) => driver,
        Err(message) => panic!("{message}"),
    }
}

fn start_driver() -> Result<Driver, String> {
    installed(Path::new(CHROMIUM))?;
    installed(Path::new(CHROMEDRIVER))?;
    let mut child = Command::new(CHROMEDRIVER)
        .args(["--port=0", "--log-level=WARNING"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so the watchdog can end it with every browser it started.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {CHROMEDRIVER}: {e}"))?;
    let group = child.id();
    let watchdog = Command::new("sh")
        .args([
            "-c",
            r#"read -r _; kill -TERM "-$1" 2>/dev/null; exit 0"#,
            "watchdog",
            &group.to_string(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the chromedriver watchdog: {e}"))?;
    let watchdog = watchdog
        .stdin
        .ok_or("the watchdog has no stdin".to_string())?;

    // Both streams are read to the end (a full pipe would stall chromedriver); the port
    // comes from "ChromeDriver was started successfully on port N.".
    let log = Arc::new(Mutex::new(String::new()));
    let (port_tx, port_rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        drain(out, log.clone(), Some(port_tx));
    }
    if let Some(err) = child.stderr.take() {
        drain(err, log.clone(), None);
    }
    let said = |log: &Arc<Mutex<String>>| log.lock().map(|l| l.clone()).unwrap_or_default();
    let port: u16 = port_rx.recv_timeout(WAIT).map_err(|_| {
        format!(
            "chromedriver did not say its port; it said:\n{}",
            said(&log)
        )
    })?;
    let url = format!("http://127.0.0.1:{port}");
    wait_until_ready(port).map_err(|e| format!("{e}; chromedriver said:\n{}", said(&log)))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("webdriver")
        .enable_all()
        .build()
        .map_err(|e| format!("cannot build the WebDriver runtime: {e}"))?;
    Ok(Driver {
        url,
        runtime,
        _watchdog: watchdog,
        _child: child,
    })
}

/// Reads `stream` line by line into `log` on its own thread; the first line naming the
/// port is sent on `port`.
fn drain(
    stream: impl Read + Send + 'static,
    log: Arc<Mutex<String>>,
    mut port: Option<mpsc::Sender<u16>>,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(tx) = &port {
                let found = line
                    .strip_prefix("ChromeDriver was started successfully on port ")
                    .and_then(|rest| rest.trim_end_matches('.').parse::<u16>().ok());
                if let Some(found) = found {
                    let _ = tx.send(found);
                    port = None;
                }
            }
            if let Ok(mut log) = log.lock() {
                if log.len() < 64 * 1024 {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        }
    });
}

/// Polls chromedriver's `/status` until it says it is ready, with a short backoff, for at
/// most [`WAIT`].
fn wait_until_ready(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + WAIT;
    let mut backoff = Duration::from_millis(5);
    let mut last = String::from("no answer");
    while Instant::now() < deadline {
        match status(port) {
            Ok(body) if body.contains("\"ready\":true") => return Ok(()),
            Ok(body) => last = body,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(backoff);
        backoff = (backoff * 2).min(Duration::from_millis(200));
    }
    Err(format!(
        "chromedriver on port {port} was not ready within {WAIT:?} (last answer: {last})"
    ))
}

/// One `GET /status`, its whole answer as text (read up to its `Content-Length`:
/// chromedriver keeps the connection open).
fn status(port: u16) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    write!(
        stream,
        "GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk)?;
        answer.extend_from_slice(&chunk[..read]);
        let text = String::from_utf8_lossy(&answer);
        let complete = text.split_once("\r\n\r\n").is_some_and(|(head, body)| {
            head.lines()
                .find_map(|l| {
                    let (name, value) = l.split_once(':')?;
                    name.eq_ignore_ascii_case("content-length")
                        .then(|| value.trim().parse::<usize>().ok())?
                })
                .is_some_and(|length| body.len() >= length)
        });
        if read == 0 || complete {
            return Ok(text.into_owned());
        }
    }
}

/// Where screenshots land: `target/browser-screenshots/` (or under `CARGO_TARGET_DIR`).
pub fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("browser-screenshots")
}

/// One axe-core rule a page breaks.
#[derive(Debug, Clone, Deserialize)]
pub struct AxeViolation {
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: Option<String>,
    pub help: String,
    #[serde(rename = "helpUrl", default)]
    pub help_url: String,
    pub nodes: Vec<AxeNode>,
}

/// An element that breaks the rule.
#[derive(Debug, Clone, Deserialize)]
pub struct AxeNode {
    /// The selector path to the element (nested for frames and shadow roots).
    pub target: Value,
    #[serde(default)]
    pub html: String,
}

impl AxeViolation {
    /// Serious and critical violations fail a page.
    pub fn fails(&self) -> bool {
        matches!(self.impact.as_deref(), Some("serious" | "critical"))
    }
}

/// A headless Chromium of its own, pointed at one server.
pub struct Browser {
    client: Client,
    base: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A new Chromium with a fresh profile, at laptop size, for the server at `base`
    /// (`http://127.0.0.1:PORT`); paths given to [`Browser::goto`] are relative to it.
    pub async fn open(base: &str) -> Browser {
        Browser::open_in(base, "en-US,en").await
    }

    /// Like [`Browser::open`], with the browser's `Accept-Language` set to `languages`
    /// (e.g. `"de-DE,de"`), as a person's browser in that language sends it.
    pub async fn open_in(base: &str, languages: &str) -> Browser {
        let driver = driver();
        let profile = tempfile::Builder::new()
            .prefix("runproof-chromium-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a Chromium profile directory: {e}"));
        let first = languages.split(',').next().unwrap_or("en-US");
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            format!("--window-size={},{}", LAPTOP.0, LAPTOP.1),
            format!("--user-data-dir={}", profile.path().display()),
            format!("--lang={first}"),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert("browserName".into(), json!("chrome"));
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": CHROMIUM,
                "args": args,
                "prefs": { "intl": { "accept_languages": languages } },
            }),
        );
        // Bounded: a page that never loads or a script that never answers fails the step.
        capabilities.insert(
            "timeouts".into(),
            json!({ "pageLoad": 30_000, "script": 30_000, "implicit": 0 }),
        );
        let url = driver.url.clone();
        let connecting = driver.runtime.spawn(async move {
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities)
                .connect(&url)
                .await
        });
        let client = match connecting.await {
            Ok(Ok(client)) => client,
            Ok(Err(e)) => panic!(
                "Chromium did not start ({CHROMIUM} through {CHROMEDRIVER}): {e}. \
                 `.ci/run` installs both (apt-get install -y chromium chromium-driver)"
            ),
            Err(e) => panic!("the WebDriver session task failed: {e}"),
        };
        Browser {
            client,
            base: base.trim_end_matches('/').to_string(),
            _profile: profile,
        }
    }

    /// The WebDriver client, for what the helpers do not cover.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// `path` on the server (an absolute URL is kept as it is).
    pub fn url(&self, path: &str) -> String {
        match path.starts_with("http://") || path.starts_with("https://") {
            true => path.to_string(),
            false => format!("{}/{}", self.base, path.trim_start_matches('/')),
        }
    }

    /// Where the browser is, for messages.
    async fn here(&self) -> String {
        self.client
            .current_url()
            .await
            .map_or_else(|e| format!("<unknown page: {e}>"), |u| u.to_string())
    }

    /// Opens `path` and waits for the page to load.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        if let Err(e) = self.client.goto(&url).await {
            panic!("cannot open {url}: {e}");
        }
    }

    /// The current path with its query string (`/runs?status=failed`).
    pub async fn path(&self) -> String {
        let url = self
            .client
            .current_url()
            .await
            .unwrap_or_else(|e| panic!("cannot read the current URL: {e}"));
        match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        }
    }

    /// The element `css` matches, waiting up to [`WAIT`] for it to appear.
    pub async fn wait_for(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "`{css}` did not appear within {WAIT:?} on {}: {e}",
                self.here().await
            ),
        }
    }

    /// Waits up to [`WAIT`] until the text of `css` contains `needle` (for a page that
    /// updates itself, as htmx does); returns the text.
    pub async fn wait_for_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            if let Ok(element) = self.client.find(Locator::Css(css)).await {
                if let Ok(text) = element.text().await {
                    if text.contains(needle) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "`{css}` never contained {needle:?} within {WAIT:?} on {}; last text: {last:?}",
            self.here().await
        )
    }

    /// Whether `css` matches anything now (no waiting).
    pub async fn exists(&self, css: &str) -> bool {
        match self.client.find_all(Locator::Css(css)).await {
            Ok(found) => !found.is_empty(),
            Err(e) => panic!("cannot look for `{css}` on {}: {e}", self.here().await),
        }
    }

    /// The visible text of the first element `css` matches (waiting for it).
    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        match element.text().await {
            Ok(text) => text,
            Err(e) => panic!(
                "cannot read the text of `{css}` on {}: {e}",
                self.here().await
            ),
        }
    }

    /// The visible text of every element `css` matches, in page order (none is fine).
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let found = match self.client.find_all(Locator::Css(css)).await {
            Ok(found) => found,
            Err(e) => panic!("cannot look for `{css}` on {}: {e}", self.here().await),
        };
        let mut texts = Vec::with_capacity(found.len());
        for element in found {
            match element.text().await {
                Ok(text) => texts.push(text),
                Err(e) => panic!("cannot read `{css}` on {}: {e}", self.here().await),
            }
        }
        texts
    }

    /// The visible text of the whole page.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// An attribute of the first element `css` matches (waiting for it).
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        let element = self.wait_for(css).await;
        match element.attr(name).await {
            Ok(value) => value,
            Err(e) => panic!(
                "cannot read `{name}` of `{css}` on {}: {e}",
                self.here().await
            ),
        }
    }

    /// Clicks the first element `css` matches (waiting for it).
    pub async fn click(&self, css: &str) {
        let element = self.wait_for(css).await;
        if let Err(e) = element.click().await {
            panic!("cannot click `{css}` on {}: {e}", self.here().await);
        }
    }

    /// Clicks the link whose whole visible text is `text` (waiting for it) and waits for
    /// the page it leads to. (An in-page anchor stays on the page: [`Browser::click`] it.)
    pub async fn click_link(&self, text: &str) {
        let found = self
            .client
            .wait()
            .at_most(WAIT)
            .every(Duration::from_millis(50))
            .for_element(Locator::LinkText(text))
            .await;
        let link = match found {
            Ok(link) => link,
            Err(e) => panic!(
                "no link {text:?} within {WAIT:?} on {}: {e}",
                self.here().await
            ),
        };
        self.mark_page().await;
        if let Err(e) = link.click().await {
            panic!(
                "cannot click the link {text:?} on {}: {e}",
                self.here().await
            );
        }
        self.next_page().await;
    }

    /// Replaces the value of the field `css` with `value`, typed as a person types.
    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.wait_for(css).await;
        if let Err(e) = field.clear().await {
            panic!("cannot clear `{css}` on {}: {e}", self.here().await);
        }
        if let Err(e) = field.send_keys(value).await {
            panic!("cannot type into `{css}` on {}: {e}", self.here().await);
        }
    }

    /// Chooses the option labelled `label` in the `<select>` `css`.
    pub async fn select(&self, css: &str, label: &str) {
        let field = self.wait_for(css).await;
        if let Err(e) = field.select_by_label(label).await {
            panic!(
                "cannot choose {label:?} in `{css}` on {}: {e}",
                self.here().await
            );
        }
    }

    /// Submits the form `form_css` by clicking its submit button, as a person would, and
    /// waits for the page the form leads to.
    pub async fn submit(&self, form_css: &str) {
        let button = format!(
            "{form_css} button:not([type]), {form_css} button[type=submit], \
             {form_css} input[type=submit]"
        );
        self.follow(&button).await;
    }

    /// Clicks `css` (a link or a button that leaves the page) and waits for the page it
    /// leads to. For a control that updates the page in place, use [`Browser::click`] and
    /// then [`Browser::wait_for_text`].
    pub async fn follow(&self, css: &str) {
        self.mark_page().await;
        self.click(css).await;
        self.next_page().await;
    }

    /// Marks the current document, so [`Browser::next_page`] can tell when another one has
    /// replaced it: mark, do what navigates (a click, Enter), then wait for the next page.
    pub async fn mark_page(&self) {
        self.run("window.__runproofOldPage = true;", vec![]).await;
    }

    /// Waits up to [`WAIT`] until a new document has replaced the one [`Browser::mark_page`]
    /// marked and has finished loading.
    pub async fn next_page(&self) {
        let deadline = Instant::now() + WAIT;
        let probe = "return window.__runproofOldPage === true ? 'old' : document.readyState;";
        while Instant::now() < deadline {
            // While the old page unloads, a script may fail; that is not an answer yet.
            if let Ok(state) = self.client.execute(probe, vec![]).await {
                if state == json!("complete") {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "no new page finished loading within {WAIT:?}; still on {}",
            self.here().await
        );
    }

    /// Moves the focus on with the Tab key; returns a short description of the element
    /// that has it now (`a "Runs"`, `button "Sign in"`, `input#token`).
    pub async fn tab(&self) -> String {
        self.press(Key::Tab).await;
        self.focused().await
    }

    /// Presses `key` on the focused element (Enter follows a link or submits a form).
    pub async fn press(&self, key: Key) {
        let focused = match self.client.active_element().await {
            Ok(element) => element,
            Err(e) => panic!("nothing has the focus on {}: {e}", self.here().await),
        };
        let key: char = key.into();
        if let Err(e) = focused.send_keys(&key.to_string()).await {
            panic!("cannot press a key on {}: {e}", self.here().await);
        }
    }

    /// A short description of the focused element.
    pub async fn focused(&self) -> String {
        let script = r##"
            const e = document.activeElement;
            if (!e || e === document.body) return "body";
            const name = (e.getAttribute("aria-label") || e.innerText || e.value || "").trim();
            const id = e.id ? "#" + e.id : "";
            return e.tagName.toLowerCase() + id + (name ? " " + JSON.stringify(name) : "");
        "##;
        match self.client.execute(script, vec![]).await {
            Ok(Value::String(description)) => description,
            Ok(other) => other.to_string(),
            Err(e) => panic!("cannot read the focus on {}: {e}", self.here().await),
        }
    }

    /// Runs `script` in the page (`arguments[0..]` are `args`) and returns its value.
    pub async fn run(&self, script: &str, args: Vec<Value>) -> Value {
        match self.client.execute(script, args).await {
            Ok(value) => value,
            Err(e) => panic!("the script failed on {}: {e}", self.here().await),
        }
    }

    /// Resizes the window so the page's viewport is `width` × `height` CSS pixels.
    pub async fn viewport(&self, width: u32, height: u32) {
        let emulate = json!({
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": { "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600 },
        });
        // Chrome's windows have a minimum width; device-metrics emulation gives the page
        // exactly the viewport a phone has.
        if let Err(e) = self.client.issue_cmd(CdpCommand(emulate)).await {
            panic!("cannot set the viewport to {width}×{height}: {e}");
        }
    }

    /// A phone's viewport ([`PHONE`]).
    pub async fn phone(&self) {
        self.viewport(PHONE.0, PHONE.1).await;
    }

    /// Back to the laptop viewport ([`LAPTOP`]).
    pub async fn laptop(&self) {
        self.viewport(LAPTOP.0, LAPTOP.1).await;
    }

    /// Saves the visible page as `<screenshot_dir>/<name>.png` and returns the path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = match self.client.screenshot().await {
            Ok(png) => png,
            Err(e) => panic!("cannot take a screenshot of {}: {e}", self.here().await),
        };
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let file: String = name
            .chars()
            .map(
                |c| match c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    true => c,
                    false => '-',
                },
            )
            .collect();
        let path = dir.join(format!("{file}.png"));
        std::fs::write(&path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        path
    }

    /// Every axe-core violation on the current page, of any impact.
    pub async fn axe_violations(&self) -> Vec<AxeViolation> {
        // Loaded once per page: a navigation forgets it. WebDriver scripts are not
        // subject to the page's Content-Security-Policy.
        let loaded = self
            .run("return typeof window.axe === 'object'", vec![])
            .await;
        if loaded != json!(true) {
            let script = format!("{AXE}\n;return typeof window.axe === 'object';");
            let loaded = self.run(&script, vec![]).await;
            assert_eq!(loaded, json!(true), "axe-core did not load");
        }
        let run = r#"
            const done = arguments[arguments.length - 1];
            axe.run(document, { resultTypes: ["violations"] })
                .then((r) => done({ violations: r.violations }))
                .catch((e) => done({ error: String(e) }));
        "#;
        let answer = match self.client.execute_async(run, vec![]).await {
            Ok(answer) => answer,
            Err(e) => panic!("axe-core did not run on {}: {e}", self.here().await),
        };
        if let Some(error) = answer.get("error") {
            panic!("axe-core failed on {}: {error}", self.here().await);
        }
        serde_json::from_value(answer["violations"].clone())
            .unwrap_or_else(|e| panic!("axe-core answered something unexpected: {e}"))
    }

    /// Runs axe-core on the current page and fails on any serious or critical violation,
    /// printing each one's id, impact, help and elements. Lesser ones are printed only.
    pub async fn axe(&self, page_name: &str) {
        let violations = self.axe_violations().await;
        let describe = |v: &AxeViolation| {
            let mut line = format!(
                "  {} ({}): {} <{}>\n",
                v.id,
                v.impact.as_deref().unwrap_or("unknown"),
                v.help,
                v.help_url
            );
            for node in &v.nodes {
                line.push_str(&format!("    at {}  {}\n", node.target, node.html));
            }
            line
        };
        let (failing, noted): (Vec<_>, Vec<_>) = violations.iter().partition(|v| v.fails());
        if !noted.is_empty() {
            let lines: String = noted.iter().map(|v| describe(v)).collect();
            eprintln!("axe on {page_name}: minor or moderate findings\n{lines}");
        }
        if !failing.is_empty() {
            let lines: String = failing.iter().map(|v| describe(v)).collect();
            panic!(
                "axe on {page_name} ({}): {} serious or critical violation(s)\n{lines}",
                self.here().await,
                failing.len()
            );
        }
    }
}

impl Drop for Browser {
    /// Ends the session, so its Chromium exits before the profile directory goes.
    fn drop(&mut self) {
        let client = self.client.clone();
        let Some(Ok(driver)) = DRIVER.get() else {
            return;
        };
        let runtime = driver.runtime.handle().clone();
        // On a plain thread: Drop may run inside the test's runtime, which must not block
        // on another.
        let _ = std::thread::spawn(move || {
            runtime.block_on(async move {
                let _ = tokio::time::timeout(WAIT, client.close()).await;
            })
        })
        .join();
    }
}

/// chromedriver's `POST /session/{id}/goog/cdp/execute`: a DevTools command, for what
/// WebDriver cannot do (a viewport narrower than a window may be).
#[derive(Debug)]
struct CdpCommand(Value);

impl fantoccini::wd::WebDriverCompatibleCommand for CdpCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (axum::http::Method, Option<String>) {
        (axum::http::Method::POST, Some(self.0.to_string()))
    }
}
