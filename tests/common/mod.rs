//! Harness for the integration tests: runs the real `k2d` binary on a random
//! port with its own data directory, and drives it with real kubectl builds
//! and curl (so the tests need no HTTP/TLS crates of their own).
//!
//! Each test binary compiles this module separately and uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The kubectl builds the acceptance names. 1.20 is Debian's kubernetes-client.
pub const V120: &str = "1.20";
pub const V127: &str = "1.27";
pub const V132: &str = "1.32";
pub const V133: &str = "1.33";
/// What the single-version tests use: the newest kubectl we support.
pub const DEFAULT: &str = V133;

/// How long any one kubectl/curl call may take before the test fails rather
/// than hangs (a wedged server must not wedge the suite).
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// A running k2d with its own data directory and kubectl home.
pub struct K2d {
    /// Everything of this instance lives here; removed on drop.
    pub root: PathBuf,
    /// `K2D_DATA_PATH`.
    pub data: PathBuf,
    pub port: u16,
    secret: Option<String>,
    /// `DOCKER_HOST` for k2d: the machine's daemon unless a test brings its own.
    docker_host: String,
    child: Option<Child>,
}

impl K2d {
    /// Start k2d with a generated token.
    pub fn start() -> K2d {
        K2d::start_with(None)
    }

    /// Start k2d, optionally with `K2D_SECRET`.
    pub fn start_with(secret: Option<&str>) -> K2d {
        K2d::start_full(secret, "unix:///var/run/docker.sock")
    }

    /// Start k2d talking to the Docker daemon at `docker_host` (`unix://...`).
    pub fn start_on_docker(docker_host: &str) -> K2d {
        K2d::start_full(None, docker_host)
    }

    fn start_full(secret: Option<&str>, docker_host: &str) -> K2d {
        let n = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let root = std::env::temp_dir().join(format!(
            "k2d-test-{}-{}-{n}",
            std::process::id(),
            unique_suffix()
        ));
        let data = root.join("data");
        for dir in ["home", "tmp"] {
            std::fs::create_dir_all(root.join(dir)).expect("creating the test directory");
        }
        let mut k = K2d {
            root,
            data,
            port: 0,
            secret: secret.map(str::to_string),
            docker_host: docker_host.to_string(),
            child: None,
        };
        k.launch_on_free_port();
        k
    }

    /// Pick a free port and start the process; retry if another process took
    /// the port between our probe and k2d's bind.
    fn launch_on_free_port(&mut self) {
        let mut last_err = String::new();
        for _ in 0..5 {
            self.port = free_port();
            match self.launch() {
                Ok(()) => return,
                Err(e) => last_err = e,
            }
        }
        panic!("k2d did not start: {last_err}");
    }

    /// Start the process on `self.port` with `self.data` and wait for `/readyz`.
    fn launch(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("opening the log: {e}"))?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_k2d"));
        cmd.env("K2D_DATA_PATH", &self.data)
            .env("K2D_PORT", self.port.to_string())
            .env("K2D_BIND_ADDR", "127.0.0.1")
            .env("K2D_ADVERTISE_ADDR", "127.0.0.1")
            .env("DOCKER_HOST", &self.docker_host)
            .env_remove("K2D_SECRET")
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        if let Some(s) = &self.secret {
            cmd.env("K2D_SECRET", s);
        }
        die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|e| format!("spawning k2d: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                return Err(format!("k2d exited with {st}; log:\n{}", self.log_tail()));
            }
            if self.data.join("pki/ca.crt").exists() && self.readyz() {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.kill_9();
                return Err(format!("k2d not ready after 20 s; log:\n{}", self.log_tail()));
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    fn readyz(&self) -> bool {
        let out = Command::new("curl")
            .args(["-sS", "--max-time", "2", "--cacert"])
            .arg(self.ca())
            .arg(format!("{}/readyz", self.url()))
            .output();
        matches!(out, Ok(o) if o.status.success() && o.stdout == b"ok")
    }

    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }
    pub fn ca(&self) -> PathBuf {
        self.data.join("pki/ca.crt")
    }
    pub fn kubeconfig(&self) -> PathBuf {
        self.data.join("kubeconfig")
    }
    pub fn log_path(&self) -> PathBuf {
        self.root.join("k2d.log")
    }
    /// kubectl's `$HOME` (its discovery and HTTP caches), per instance so the
    /// tests never share or leave behind caches under the real home.
    pub fn home(&self) -> PathBuf {
        self.root.join("home")
    }
    /// The bearer token: base64 of `K2D_SECRET` when one was given (nothing
    /// is written then), else the one k2d generated into `<data>/token`.
    pub fn token(&self) -> String {
        if let Some(s) = &self.secret {
            use base64::Engine;
            return base64::engine::general_purpose::STANDARD.encode(s);
        }
        std::fs::read_to_string(self.data.join("token"))
            .expect("reading <data>/token")
            .trim()
            .to_string()
    }

    /// The last lines of k2d's log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// SIGKILL k2d and reap it (no chance to flush or clean up).
    pub fn kill_9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start k2d again on the same data directory (and port, so the
    /// kubeconfig written before stays valid).
    pub fn restart(&mut self) {
        self.kill_9();
        let mut last_err = String::new();
        for _ in 0..50 {
            match self.launch() {
                Ok(()) => return,
                // The old socket can linger briefly; the port is ours otherwise.
                Err(e) => last_err = e,
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("k2d did not restart: {last_err}");
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn kubectl_cmd(&self, version: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl_path(version));
        cmd.args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.home())
            // kubectl's edit/diff scratch files go away with the instance.
            .env("TMPDIR", self.root.join("tmp"))
            .env_remove("KUBECACHEDIR")
            .env_remove("KUBECTL_EXTERNAL_DIFF");
        cmd
    }

    /// Run kubectl `version` with `args`.
    pub fn kubectl(&self, version: &str, args: &[&str]) -> Output {
        run(self.kubectl_cmd(version, args), None, CALL_TIMEOUT)
    }

    /// Run kubectl with `stdin` as its standard input (`-f -`).
    pub fn kubectl_stdin(&self, version: &str, args: &[&str], stdin: &str) -> Output {
        run(self.kubectl_cmd(version, args), Some(stdin.as_bytes().to_vec()), CALL_TIMEOUT)
    }

    /// Run kubectl with extra environment variables (e.g. `EDITOR`).
    pub fn kubectl_env(&self, version: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.kubectl_cmd(version, args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        run(cmd, None, CALL_TIMEOUT)
    }

    /// Run kubectl and return its stdout, failing the test (with stderr and
    /// the server log) unless it exits 0.
    pub fn ok(&self, version: &str, args: &[&str]) -> String {
        let out = self.kubectl(version, args);
        self.expect_ok(version, args, &out)
    }

    /// Like [`K2d::ok`] with standard input.
    pub fn ok_stdin(&self, version: &str, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(version, args, stdin);
        self.expect_ok(version, args, &out)
    }

    pub fn expect_ok(&self, version: &str, args: &[&str], out: &Output) -> String {
        assert!(
            out.status.success(),
            "kubectl {version} {} failed ({})\nstdout:\n{}\nstderr:\n{}\nk2d log tail:\n{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log_tail()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run kubectl expecting failure; returns stderr (plus stdout).
    pub fn fails(&self, version: &str, args: &[&str]) -> String {
        let out = self.kubectl(version, args);
        self.expect_fail(version, args, &out)
    }

    pub fn fails_stdin(&self, version: &str, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl_stdin(version, args, stdin);
        self.expect_fail(version, args, &out)
    }

    pub fn expect_fail(&self, version: &str, args: &[&str], out: &Output) -> String {
        assert!(
            !out.status.success(),
            "kubectl {version} {} unexpectedly succeeded\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        format!("{}{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout))
    }

    /// Spawn a long-running kubectl (e.g. `get -w`) whose stdout lines are
    /// delivered through a channel.
    pub fn kubectl_spawn(&self, version: &str, args: &[&str]) -> Streaming {
        let mut cmd = self.kubectl_cmd(version, args);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        die_with_parent(&mut cmd);
        let mut child = cmd.spawn().expect("spawning kubectl");
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = std::io::BufReader::new(stderr).read_to_string(&mut s);
            s
        });
        Streaming { child, lines: rx, stderr: Some(err), seen: Vec::new() }
    }

    /// An HTTPS request with the instance's CA and (unless `token` says
    /// otherwise) its bearer token. Fails the test if no HTTP status came back.
    pub fn curl(&self, req: Req<'_>) -> Resp {
        let (method, path) = (req.method, req.path.to_string());
        self.client().try_curl(req).unwrap_or_else(|e| {
            panic!("curl {method} {path}: {e}\nk2d log tail:\n{}", self.log_tail())
        })
    }

    /// What a thread needs to talk to this instance on its own.
    pub fn client(&self) -> Client {
        Client { url: self.url(), ca: self.ca(), token: self.token() }
    }

    /// `curl` of a JSON GET with the good token.
    pub fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let r = self.curl(Req::get(path));
        (r.status, r.json())
    }

    /// A namespace for one test; deleted (without waiting) when dropped.
    /// Created with a plain JSON POST so that tests of other things depend
    /// on neither kubectl's protobuf bodies nor OpenAPI-based validation.
    pub fn namespace(&self, name: &str) -> Ns<'_> {
        post(
            self,
            "/api/v1/namespaces",
            &serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
        );
        Ns { k: self, name: name.to_string() }
    }

    /// This instance's id, the value of the `k2d.io/instance` label on every
    /// Docker object it creates (several k2d share the test machine's Docker).
    pub fn instance_id(&self) -> String {
        std::fs::read_to_string(self.data.join("instance"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    }

    /// An executable script in this instance's directory, e.g. for `EDITOR`.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.root.join(name);
        std::fs::write(&p, format!("#!/bin/sh\nset -e\n{body}\n")).expect("writing script");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod script");
        p
    }
}

impl Drop for K2d {
    /// Also removes what this instance left in Docker (containers, volumes), so a test that
    /// failed halfway leaves nothing running; other instances' objects carry another label.
    fn drop(&mut self) {
        self.kill_9();
        if std::thread::panicking() {
            // The test failed: keep k2d's log for whoever reads the failure.
            let kept = std::env::temp_dir().join(format!(
                "k2d-failed-{}-{}.log",
                std::process::id(),
                unique_suffix()
            ));
            if std::fs::copy(self.log_path(), &kept).is_ok() {
                eprintln!("k2d's log is kept in {}", kept.display());
            }
        }
        if self.docker_host == "unix:///var/run/docker.sock" {
            remove_docker_objects(&self.instance_id());
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Remove the containers and volumes of the k2d instance `instance` from the machine's Docker.
fn remove_docker_objects(instance: &str) {
    if instance.is_empty() {
        return;
    }
    let filter = format!("label=k2d.io/instance={instance}");
    for (list, remove) in [
        (&["ps", "-aq", "--filter"][..], &["rm", "-f"][..]),
        (&["volume", "ls", "-q", "--filter"][..], &["volume", "rm", "-f"][..]),
    ] {
        let ids = docker(&[list, &[filter.as_str()]].concat());
        let ids: Vec<&str> =
            std::str::from_utf8(&ids.stdout).unwrap_or("").split_whitespace().collect();
        if !ids.is_empty() {
            let _ = docker(&[remove, &ids].concat());
        }
    }
}

/// An HTTPS client for one instance that can move to another thread.
#[derive(Clone)]
pub struct Client {
    pub url: String,
    pub ca: PathBuf,
    pub token: String,
}

impl Client {
    /// Like [`K2d::curl`], but a request that got no HTTP status (server
    /// down, connection cut) is an `Err` instead of a test failure.
    pub fn try_curl(&self, req: Req<'_>) -> Result<Resp, String> {
        let token = match req.token {
            Token::Good => Some(self.token.clone()),
            Token::None => None,
            Token::Custom(t) => Some(t.to_string()),
        };
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "--path-as-is", "--max-time", "30", "-X", req.method])
            .arg("--cacert")
            .arg(&self.ca)
            .args(["-w", "\n%{http_code}", "-H", &format!("Accept: {}", req.accept)]);
        if let Some(t) = token {
            cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
        }
        let stdin = req.body.map(|b| {
            cmd.args(["-H", &format!("Content-Type: {}", req.content_type)])
                .args(["--data-binary", "@-"]);
            b.to_vec()
        });
        cmd.arg(format!("{}{}", self.url, req.path));
        let out = run(cmd, stdin, CALL_TIMEOUT);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        let curl_stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        match code.trim().parse::<u16>() {
            Ok(status) if status != 0 => Ok(Resp { status, body: body.to_string(), curl_stderr }),
            _ => Err(format!("no HTTP status ({}): {curl_stderr}", out.status)),
        }
    }
}

/// A test namespace; see [`K2d::namespace`].
pub struct Ns<'a> {
    k: &'a K2d,
    pub name: String,
}

impl Drop for Ns<'_> {
    fn drop(&mut self) {
        let _ = self.k.curl(Req {
            method: "DELETE",
            ..Req::get(&format!("/api/v1/namespaces/{}", self.name))
        });
    }
}

/// A running kubectl whose output is read line by line.
pub struct Streaming {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// Every line received so far, for failure messages.
    pub seen: Vec<String>,
}

impl Streaming {
    /// Wait for a line satisfying `pred`; panics with what was seen on timeout.
    pub fn expect_line(&mut self, what: &str, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = pred(&line);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(_) => {
                    let stderr = self.stop();
                    panic!(
                        "no line {what} within {timeout:?}; saw:\n{}\nstderr:\n{stderr}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Wait up to `timeout` for the process to end by itself; its exit
    /// status, or `None` if it is still running.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                // Keep what it printed: drain until its stdout reader ends.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    self.seen.push(line);
                }
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The next line, if one arrives within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Kill the process; returns its stderr.
    pub fn stop(&mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr.take().and_then(|h| h.join().ok()).unwrap_or_default()
    }
}

impl Drop for Streaming {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub enum Token<'a> {
    Good,
    None,
    Custom(&'a str),
}

/// One curl request.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub body: Option<&'a [u8]>,
    pub content_type: &'a str,
    pub accept: &'a str,
    pub token: Token<'a>,
}

impl<'a> Req<'a> {
    pub fn get(path: &'a str) -> Req<'a> {
        Req {
            method: "GET",
            path,
            body: None,
            content_type: "application/json",
            accept: "application/json",
            token: Token::Good,
        }
    }
    pub fn with_body(
        method: &'a str,
        path: &'a str,
        content_type: &'a str,
        body: &'a [u8],
    ) -> Req<'a> {
        Req { method, path, body: Some(body), content_type, ..Req::get(path) }
    }
    pub fn post_json(path: &'a str, body: &'a str) -> Req<'a> {
        Req::with_body("POST", path, "application/json", body.as_bytes())
    }
    pub fn token(mut self, t: Token<'a>) -> Req<'a> {
        self.token = t;
        self
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: String,
    pub curl_stderr: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", self.body))
    }
}

/// Run a command with optional stdin, capturing stdout/stderr, killing it
/// after `timeout`.
pub fn run(mut cmd: Command, stdin: Option<Vec<u8>>, timeout: Duration) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let desc = format!("{cmd:?}");
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning {desc}: {e}"));
    let writer = stdin.map(|data| {
        let mut w = child.stdin.take().expect("piped stdin");
        // The child may exit without reading all of it (e.g. a 413): ignore EPIPE.
        std::thread::spawn(move || {
            let _ = w.write_all(&data);
        })
    });
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status: ExitStatus = loop {
        if let Some(st) = child.try_wait().expect("waiting for a child") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{desc} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    Output {
        status,
        stdout: out_t.join().unwrap_or_default(),
        stderr: err_t.join().unwrap_or_default(),
    }
}

/// The kubectl binary for `version` ("1.20", "1.27" ... "1.33").
pub fn kubectl_path(version: &str) -> PathBuf {
    if version == V120 {
        return kubectl_120().clone();
    }
    let p = PathBuf::from(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"));
    assert!(p.exists(), "{} is missing", p.display());
    p
}

/// kubectl 1.20 from `K2D_KUBECTL_120`, else from scripts/kubectl-versions.sh
/// (which downloads Debian's kubernetes-client once).
fn kubectl_120() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("K2D_KUBECTL_120").filter(|p| !p.is_empty()) {
            return PathBuf::from(p);
        }
        // Two test binaries may race to download it: serialise within one.
        static LOCK: Mutex<()> = Mutex::new(());
        let _g = LOCK.lock();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/kubectl-versions.sh");
        let out = Command::new(&script).output().expect("running scripts/kubectl-versions.sh");
        assert!(
            out.status.success(),
            "scripts/kubectl-versions.sh failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
    })
}

/// One k2d shared by all tests of a test binary (each test then works in
/// its own namespace). Statics are never dropped, so the process is killed
/// and its directory removed by an `atexit` hook, and k2d is told to die
/// with the thread that started it, which lives as long as the test binary.
pub fn shared() -> &'static K2d {
    static SHARED: OnceLock<K2d> = OnceLock::new();
    SHARED.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        // PR_SET_PDEATHSIG fires when the *thread* that forked exits, and
        // test threads end with their test: fork from a thread that never ends.
        std::thread::spawn(move || {
            let k = K2d::start();
            let pid = k.child.as_ref().map(|c| c.id()).unwrap_or(0);
            *SHARED_CLEANUP.lock().unwrap_or_else(|e| e.into_inner()) = Some((pid, k.root.clone()));
            // SAFETY: registering a plain extern "C" function with no captures.
            unsafe { libc::atexit(cleanup_shared) };
            let _ = tx.send(k);
            loop {
                std::thread::park();
            }
        });
        rx.recv().expect("starting the shared k2d")
    })
}

static SHARED_CLEANUP: Mutex<Option<(u32, PathBuf)>> = Mutex::new(None);

extern "C" fn cleanup_shared() {
    let Ok(mut g) = SHARED_CLEANUP.lock() else { return };
    let Some((pid, root)) = g.take() else { return };
    if pid != 0 {
        // SAFETY: kill(2) and waitpid(2) on our own child.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGKILL);
            libc::waitpid(pid as libc::pid_t, std::ptr::null_mut(), 0);
        }
    }
    // Namespaces the tests deleted without waiting may still hold containers.
    let instance = std::fs::read_to_string(root.join("data/instance")).unwrap_or_default();
    remove_docker_objects(instance.trim());
    let _ = std::fs::remove_dir_all(root);
}

/// Ask the kernel to SIGKILL the child when the spawning thread dies, so a
/// crashed or interrupted test run leaves no k2d or kubectl behind.
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("finding a free port")
}

fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// A name unique within this test run, for namespaces and objects.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", NEXT_ID.fetch_add(1, Ordering::SeqCst))
}

/// Poll `f` until it returns `Some`, or panic with `what` after `timeout`.
pub fn eventually<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Create an object with a JSON POST (no kubectl involved), asserting 201,
/// and return the created object.
pub fn post(k: &K2d, path: &str, obj: &serde_json::Value) -> serde_json::Value {
    let body = obj.to_string();
    let r = k.curl(Req::post_json(path, &body));
    assert_eq!(r.status, 201, "POST {path} {body}: {}\nk2d log:\n{}", r.body, k.log_tail());
    r.json()
}

/// Create a ConfigMap `name` in `ns` with `data` and `labels`.
pub fn seed_cm(k: &K2d, ns: &str, name: &str, data: &[(&str, &str)], labels: &[(&str, &str)]) {
    let data: serde_json::Map<String, serde_json::Value> =
        data.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
    let labels: serde_json::Map<String, serde_json::Value> =
        labels.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
    // Empty maps are left out, as Go clients would (omitempty).
    let mut obj =
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}});
    if !labels.is_empty() {
        obj["metadata"]["labels"] = labels.into();
    }
    if !data.is_empty() {
        obj["data"] = data.into();
    }
    post(k, &format!("/api/v1/namespaces/{ns}/configmaps"), &obj);
}

/// Run `docker` with `args` (bounded by [`CALL_TIMEOUT`]).
pub fn docker(args: &[&str]) -> Output {
    let mut cmd = Command::new("docker");
    cmd.args(args);
    run(cmd, None, CALL_TIMEOUT)
}

/// Run `docker` and return its trimmed stdout, failing the test unless it exits 0.
pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {} failed ({}): {}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
