//! What every browser test stands on: `sclerad demo --serve` on a free
//! loopback port, ChromeDriver driving a headless Debian Chromium, and a
//! few helpers (log in, wait, fetch the API from the page, axe-core,
//! screenshots).
//!
//! Each test owns its server and its browser; both are killed when the test
//! ends, passed or failed (the browser with ChromeDriver's whole process
//! group). Tests take turns ([`Env::start`] holds a lock): two Chromiums on
//! a 2-core machine only make both slow.

use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use fantoccini::{elements::Element, Client, ClientBuilder, Locator};
use serde_json::{json, Value};

/// axe-core, vendored (see `vendor/axe-core/README.md`).
const AXE: &str = include_str!("vendor/axe-core/axe.min.js");

/// How long a page may take to show what a test waits for.
const PATIENCE: Duration = Duration::from_secs(15);

static TURN: Mutex<()> = Mutex::new(());

/// A user the demo printed: `ROLE NAME PASSWORD`.
#[derive(Debug, Clone)]
pub struct User {
    pub role: String,
    pub name: String,
    pub password: String,
}

/// `sclerad demo --serve` in a temporary folder.
pub struct Demo {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    pub users: Vec<User>,
    /// The demo's store (SQLite), for a test to look behind the pages.
    pub db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .args(["demo", "--serve", "--bind", "127.0.0.1:0", "--out"])
            .arg(dir.path().join("demo"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run sclerad demo --serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut addr = None;
        let mut users = Vec::new();
        while users.len() < 6 {
            let line = lines
                .next()
                .expect("the demo printed its users")
                .expect("a line");
            if let Some(rest) = line.strip_prefix("Open http://") {
                addr = rest.split('/').next().map(String::from);
            } else if addr.is_some() {
                let words: Vec<&str> = line.split(' ').collect();
                assert_eq!(words.len(), 3, "ROLE NAME PASSWORD: {line}");
                users.push(User {
                    role: words[0].into(),
                    name: words[1].into(),
                    password: words[2].into(),
                });
            }
        }
        // The server's later output is not read; let it go nowhere.
        std::thread::spawn(move || for _ in lines {});
        Demo {
            child,
            addr: addr.expect("the URL"),
            users,
            db: dir.path().join("demo").join("sclerad.db"),
            _dir: dir,
        }
    }

    /// `sclerad serve` on a new, empty store: no user, and the first-start
    /// link it printed (its path, `/setup/SECRET`).
    fn first_start() -> (Demo, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = format!("sqlite:{}", dir.path().join("sclerad.db").display());
        let mut child = Command::new(env!("CARGO_BIN_EXE_sclerad"))
            .args(["serve", "--bind", "127.0.0.1:0", "--db", &db])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run sclerad serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let link = loop {
            let line = lines
                .next()
                .expect("serve printed the first-start link")
                .expect("a line");
            if let Some(rest) = line.trim().strip_prefix("http://") {
                break rest.to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        let (addr, path) = link.split_at(link.find('/').expect("a path"));
        (
            Demo {
                child,
                addr: addr.to_string(),
                users: Vec::new(),
                db: dir.path().join("sclerad.db"),
                _dir: dir,
            },
            path.to_string(),
        )
    }

    /// The `nth` (from 0) printed user of `role`.
    pub fn user(&self, role: &str, nth: usize) -> &User {
        self.users
            .iter()
            .filter(|u| u.role == role)
            .nth(nth)
            .unwrap_or_else(|| panic!("the demo has no {role} #{nth}"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A plain HTTP/1.0 request from the test (not the browser): status,
    /// head and body.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, String, String) {
        let mut stream = std::net::TcpStream::connect(&self.addr).expect("connect");
        let extra: String = headers
            .iter()
            .map(|(k, v)| format!("{k}: {v}\r\n"))
            .collect();
        let request = format!(
            "{method} {path} HTTP/1.0\r\nHost: {}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).expect("send");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        let response = String::from_utf8_lossy(&response).into_owned();
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        (status, head.to_string(), body.to_string())
    }

    /// A session cookie (`sclerad_session=…`) for `user`, from the API.
    pub fn session(&self, user: &User) -> String {
        let body = json!({ "name": user.name, "password": user.password }).to_string();
        let (status, head, reply) = self.http(
            "POST",
            "/api/login",
            &[("Content-Type", "application/json")],
            &body,
        );
        assert_eq!(status, 200, "log in {}: {reply}", user.name);
        head.lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .and_then(|c| c.split(';').next())
            .expect("a session cookie")
            .to_string()
    }

    /// `GET path` as `user` from the test, parsed as JSON.
    pub fn api_get(&self, user: &User, path: &str) -> Value {
        let cookie = self.session(user);
        let (status, _, body) = self.http("GET", path, &[("Cookie", &cookie)], "");
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ChromeDriver on a free port, in its own process group so that the
/// Chromium it starts dies with it.
struct Driver {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

fn find_program(var: &str, name: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            PathBuf::from("/usr/bin"),
            PathBuf::from("/usr/lib/chromium"),
        ])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Driver {
    fn start(program: PathBuf) -> Driver {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&program)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let driver = Driver {
            child,
            port,
            _profile: tempfile::tempdir().expect("temp dir"),
        };
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < PATIENCE,
                "{} did not listen on port {port}",
                program.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let group = self.child.id() as i32;
        // SAFETY: kill(2) on the process group this test started.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
        let _ = self.child.wait();
    }
}

/// One browser test's world: its turn, a demo server, ChromeDriver and the
/// runtime the WebDriver client runs on.
pub struct Env {
    pub demo: Demo,
    driver: Driver,
    rt: tokio::runtime::Runtime,
    _turn: MutexGuard<'static, ()>,
}

impl Env {
    /// Everything started; `None` (the test then passes, saying why) only
    /// when ChromeDriver is missing and `SCLERAD_SKIP_BROWSER=1` says that
    /// is expected.
    pub fn start() -> Option<Env> {
        Env::start_with(Demo::start)
    }

    /// Everything started, the server being `sclerad serve` on an empty
    /// store; and the path of the first-start link it printed.
    pub fn first_start() -> Option<(Env, String)> {
        let mut path = String::new();
        let env = Env::start_with(|| {
            let (demo, link) = Demo::first_start();
            path = link;
            demo
        })?;
        Some((env, path))
    }

    fn start_with(server: impl FnOnce() -> Demo) -> Option<Env> {
        let Some(chromedriver) = find_program("SCLERAD_CHROMEDRIVER", "chromedriver") else {
            if std::env::var("SCLERAD_SKIP_BROWSER").as_deref() == Ok("1") {
                eprintln!("browser test skipped: no chromedriver and SCLERAD_SKIP_BROWSER=1");
                return None;
            }
            panic!(
                "no chromedriver: install Chromium and its driver (Debian: apt-get install chromium chromium-driver), \
                 point SCLERAD_CHROMEDRIVER at it, or set SCLERAD_SKIP_BROWSER=1 to skip the browser tests"
            );
        };
        let turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
        let driver = Driver::start(chromedriver);
        let demo = server();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Some(Env {
            demo,
            driver,
            rt,
            _turn: turn,
        })
    }

    pub fn run<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// A new browser (its own profile: no cookie of another) at 1280×800.
    pub async fn browser(&self) -> Browser<'_> {
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1280,800".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--no-first-run".into(),
            "--hide-scrollbars".into(),
            "--lang=en-GB".into(),
        ];
        let profile = tempfile::tempdir_in(self.driver._profile.path()).expect("profile");
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let mut chrome = json!({ "args": args });
        if let Some(binary) = find_program("SCLERAD_CHROMIUM", "chromium") {
            chrome["binary"] = json!(binary.display().to_string());
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": chrome,
            "pageLoadStrategy": "normal",
        });
        let caps = caps.as_object().cloned().expect("an object");
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.driver.port))
            .await
            .expect("a WebDriver session with Chromium");
        let b = Browser {
            client,
            demo: &self.demo,
            _profile: profile,
        };
        b.viewport(1280, 800).await;
        b
    }
}

/// Where screenshots go: `SCLERAD_SCREENSHOTS`, else
/// `target/tmp/screenshots`.
pub fn screenshots() -> PathBuf {
    std::env::var_os("SCLERAD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"))
}

/// A WebDriver session on the demo.
pub struct Browser<'a> {
    pub client: Client,
    pub demo: &'a Demo,
    _profile: tempfile::TempDir,
}

impl Browser<'_> {
    /// Size the window so that the page itself (the viewport, what a
    /// screenshot shows) is `width`×`height`.
    pub async fn viewport(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("window size");
        let inner = self
            .js("return [window.innerWidth, window.innerHeight];", vec![])
            .await;
        let (w, h) = (
            inner[0].as_u64().unwrap_or(width.into()) as u32,
            inner[1].as_u64().unwrap_or(height.into()) as u32,
        );
        self.client
            .set_window_size(
                width + width.saturating_sub(w),
                height + height.saturating_sub(h),
            )
            .await
            .expect("window size");
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&self.demo.url(path))
            .await
            .unwrap_or_else(|e| panic!("go to {path}: {e}"));
    }

    /// The path (and query) the browser is on.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    pub async fn find(&self, css: &str) -> Element {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e,
            Err(e) => panic!("no {css} on {}: {e}", self.path().await),
        }
    }

    /// The attribute `name` of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.find(css)
            .await
            .attr(name)
            .await
            .unwrap_or_else(|e| panic!("{css} [{name}]: {e}"))
    }

    pub async fn count(&self, css: &str) -> usize {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find")
            .len()
    }

    /// Click the element, scrolled to the middle of the window first (as a
    /// person would see it, not under the sticky actions bar).
    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        let _ = self
            .client
            .execute(
                "arguments[0].scrollIntoView({ block: 'center', inline: 'nearest' });",
                vec![serde_json::to_value(&e).expect("an element")],
            )
            .await;
        e.click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Run `script` (a function body; `arguments` as in WebDriver).
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Wait until the expression `condition` is true in the page.
    pub async fn wait(&self, condition: &str, what: &str) {
        let script = format!("return !!({condition});");
        let started = Instant::now();
        loop {
            // A page being replaced may refuse a script: ask again.
            if let Ok(Value::Bool(true)) = self.client.execute(&script, vec![]).await {
                return;
            }
            if started.elapsed() > PATIENCE {
                self.shot(&format!("timeout-{}", what.replace(' ', "-")))
                    .await;
                let at = self.path().await;
                panic!("waited {PATIENCE:?} for {what} ({condition}) on {at}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until the browser is on the page `path` (whatever its query)
    /// and the page has loaded.
    pub async fn wait_path(&self, path: &str) {
        let started = Instant::now();
        loop {
            let at = self.client.current_url().await.expect("url");
            if at.path() == path {
                break;
            }
            assert!(
                started.elapsed() < PATIENCE,
                "expected {path}, still on {at}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.wait("document.readyState === 'complete'", "the page loaded")
            .await;
    }

    /// Type `name` and `password` into the login form on the page and
    /// press its button.
    pub async fn submit_login(&self, name: &str, password: &str) {
        for (field, text) in [("name", name), ("password", password)] {
            let input = self.find(&format!("input[name={field}]")).await;
            // A refused login keeps the name typed: type it afresh.
            input
                .clear()
                .await
                .unwrap_or_else(|e| panic!("clear the {field}: {e}"));
            input
                .send_keys(text)
                .await
                .unwrap_or_else(|e| panic!("type the {field}: {e}"));
        }
        self.click("[data-action=login]").await;
    }

    /// Log in through the form, as a person would.
    pub async fn login(&self, user: &User) {
        self.goto("/login").await;
        self.submit_login(&user.name, &user.password).await;
        let started = Instant::now();
        while self.path().await.starts_with("/login") {
            assert!(
                started.elapsed() < PATIENCE,
                "{} could not log in",
                user.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The strings of the array `script` returns.
    pub async fn strings(&self, script: &str) -> Vec<String> {
        let list = self.js(script, vec![]).await;
        list.as_array()
            .unwrap_or_else(|| panic!("not a list: {list}"))
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| panic!("not a string: {v}"))
                    .to_string()
            })
            .collect()
    }

    /// The numbers of the array `script` returns.
    pub async fn numbers(&self, script: &str) -> Vec<f64> {
        let list = self.js(script, vec![]).await;
        list.as_array()
            .unwrap_or_else(|| panic!("not a list: {list}"))
            .iter()
            .map(|v| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")))
            .collect()
    }

    /// The body of `GET path` from the page, as text exactly (panics
    /// unless it answers 200).
    pub async fn text(&self, path: &str) -> String {
        let script = "const done = arguments[arguments.length - 1];
            fetch(arguments[0])
              .then(r => r.text().then(t => done([r.status, t])))
              .catch(e => done([0, String(e)]));";
        let reply = self
            .client
            .execute_async(script, vec![json!(path)])
            .await
            .expect("fetch from the page");
        assert_eq!(reply[0].as_u64(), Some(200), "GET {path}: {}", reply[1]);
        reply[1].as_str().unwrap_or_default().to_string()
    }

    /// `fetch(path)` from the page (the session's cookie, no CSRF needed for
    /// a GET): status and the body parsed as JSON (or the text).
    pub async fn fetch(&self, path: &str) -> (u16, Value) {
        let script = "const done = arguments[arguments.length - 1];
            fetch(arguments[0], { headers: { Accept: 'application/json' } })
              .then(r => r.text().then(t => done([r.status, t])))
              .catch(e => done([0, String(e)]));";
        let reply = self
            .client
            .execute_async(script, vec![json!(path)])
            .await
            .expect("fetch from the page");
        let status = reply[0].as_u64().unwrap_or(0) as u16;
        let text = reply[1].as_str().unwrap_or_default();
        let body = serde_json::from_str(text).unwrap_or_else(|_| json!(text));
        (status, body)
    }

    /// Save a screenshot of the window as `NAME.png`.
    pub async fn shot(&self, name: &str) {
        let dir = screenshots();
        let _ = std::fs::create_dir_all(&dir);
        if let Ok(png) = self.client.screenshot().await {
            let path = dir.join(format!("{name}.png"));
            let _ = std::fs::write(&path, png);
        }
    }

    /// Run axe-core on the page as it is now; fail on any serious or
    /// critical violation, naming the rule and the elements.
    pub async fn axe(&self, page: &str) {
        let present = self
            .js("return typeof window.axe !== 'undefined';", vec![])
            .await;
        if present != json!(true) {
            self.js(AXE, vec![]).await;
        }
        let script = "const done = arguments[arguments.length - 1];
            axe.run(document).then(r => done(r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)
            })))).catch(e => done([{ id: 'axe-failed', impact: 'critical', help: String(e), nodes: [] }]));";
        let violations = self
            .client
            .execute_async(script, vec![])
            .await
            .expect("axe.run");
        let grave: Vec<&Value> = violations
            .as_array()
            .expect("a list")
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            grave.is_empty(),
            "axe-core on {page}: {}",
            serde_json::to_string_pretty(&grave).unwrap_or_default()
        );
    }

    /// Press keys on whatever has the focus (WebDriver key codes from
    /// `fantoccini::key::Key` work too).
    pub async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .expect("a focused element")
            .send_keys(keys)
            .await
            .unwrap_or_else(|e| panic!("press {keys:?}: {e}"));
    }
}
