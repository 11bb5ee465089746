//! A fake Jenkins or TeamCity server (`target/<profile>/fake-ci`) for one test, with
//! helpers over its control API:
//! `GET|PUT /_fake/state`, `POST /_fake/fault {"mode":…}`, `GET|DELETE /_fake/requests`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread;

use serde_json::{Value, json};

use crate::process::{ManagedChild, RunDir, free_port, log_tail, start_timeout};

/// Why one attempt to start the fake failed, and whether another port might do better.
struct StartFailure {
    message: String,
    /// It exited complaining that its port is in use: another process took the port.
    port_race: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CiKind {
    Jenkins,
    TeamCity,
}

impl CiKind {
    /// The spelling `fake-ci --kind` and `CI_KIND` use.
    pub fn as_str(self) -> &'static str {
        match self {
            CiKind::Jenkins => "jenkins",
            CiKind::TeamCity => "teamcity",
        }
    }
}

impl std::fmt::Display for CiKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A running fake CI server, killed on drop.
#[derive(Debug)]
pub struct FakeCi {
    kind: CiKind,
    url: String,
    http: reqwest::Client,
    // Drop order: the process first, then its run directory.
    _child: ManagedChild,
    _run: RunDir,
}

impl FakeCi {
    /// Starts `fake-ci --kind KIND --port N [--state FILE]` (`$FAKE_CI_BIN` overrides the
    /// binary; the state file is written
    /// from `state` unless it is `Value::Null`) and waits for its first stdout line,
    /// `listening on http://127.0.0.1:PORT`. Panics naming the binary and its log tail
    /// when it is missing, exits, or does not announce itself in time.
    pub fn start(kind: CiKind, state: &Value) -> FakeCi {
        let bin = std::env::var_os("FAKE_CI_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| crate::paths::binary_path("fake-ci"));
        let run = RunDir::new(&format!("fake-{kind}"));
        let state_file = (!state.is_null()).then(|| write_state(&run, state));

        let mut last_error = String::new();
        for _attempt in 0..3 {
            match start_on_free_port(&bin, kind, state_file.as_deref(), &run) {
                Ok((url, child)) => {
                    return FakeCi {
                        kind,
                        url,
                        http: reqwest::Client::new(),
                        _child: child,
                        _run: run,
                    };
                }
                Err(failure) => {
                    last_error = failure.message;
                    if !failure.port_race {
                        break;
                    }
                }
            }
        }
        panic!("FakeCi::start failed: {last_error}");
    }

    pub fn kind(&self) -> CiKind {
        self.kind
    }

    /// Base URL, e.g. `http://127.0.0.1:40111` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `CI_KIND` and `CI_URL` for a function binary (credentials are the test's choice).
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("CI_KIND".to_string(), self.kind.as_str().to_string()),
            ("CI_URL".to_string(), self.url.clone()),
        ]
    }

    /// Replaces the fake's whole state (`PUT /_fake/state`).
    pub async fn set_state(&self, state: &Value) {
        self.control(reqwest::Method::PUT, "/_fake/state", Some(state))
            .await;
    }

    /// The fake's whole current state (`GET /_fake/state`), with what the functions
    /// under test did to it.
    pub async fn state(&self) -> Value {
        self.control(reqwest::Method::GET, "/_fake/state", None)
            .await
    }

    /// Switches fault injection (`POST /_fake/fault {"mode": mode}`), e.g. `"none"`.
    pub async fn fault(&self, mode: &str) {
        self.control(
            reqwest::Method::POST,
            "/_fake/fault",
            Some(&json!({ "mode": mode })),
        )
        .await;
    }

    /// Makes every answer wait `delay_ms` first (`POST /_fake/fault {"delay_ms": …}`): a
    /// slow but working server; 0 restores it.
    pub async fn slow(&self, delay_ms: u64) {
        self.control(
            reqwest::Method::POST,
            "/_fake/fault",
            Some(&json!({ "mode": "none", "delay_ms": delay_ms })),
        )
        .await;
    }

    /// The requests the fake has recorded (`GET /_fake/requests`): the items of the JSON
    /// array it returns (or of its `"requests"` member).
    pub async fn requests(&self) -> Vec<Value> {
        match self
            .control(reqwest::Method::GET, "/_fake/requests", None)
            .await
        {
            Value::Array(items) => items,
            Value::Object(mut map) => match map.remove("requests") {
                Some(Value::Array(items)) => items,
                other => panic!(
                    "GET {}/_fake/requests: no request list in {other:?}",
                    self.url
                ),
            },
            other => panic!(
                "GET {}/_fake/requests: expected a JSON array, got {other}",
                self.url
            ),
        }
    }

    /// Forgets the recorded requests (`DELETE /_fake/requests`).
    pub async fn clear_requests(&self) {
        self.control(reqwest::Method::DELETE, "/_fake/requests", None)
            .await;
    }

    async fn control(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let url = format!("{}{path}", self.url);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
        let status = resp.status();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("{method} {url}: reading body: {e}"));
        assert!(status.is_success(), "{method} {url}: HTTP {status}: {text}");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
    }
}

/// `state` as the fake's `--state` file in the run directory.
fn write_state(run: &RunDir, state: &Value) -> PathBuf {
    let path = run.path.join("state.json");
    let text = serde_json::to_vec_pretty(state).expect("state JSON serialises");
    File::create(&path)
        .and_then(|mut f| f.write_all(&text))
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    path
}

/// One attempt: the fake on a port that was free a moment ago, and the base URL it
/// announced.
fn start_on_free_port(
    bin: &Path,
    kind: CiKind,
    state_file: Option<&Path>,
    run: &RunDir,
) -> Result<(String, ManagedChild), StartFailure> {
    let port = free_port();
    let log = run.path.join(format!("fake-{kind}-{port}.log"));
    let log_file =
        File::create(&log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let mut cmd = Command::new(bin);
    cmd.args(["--kind", kind.as_str(), "--port", &port.to_string()]);
    if let Some(path) = state_file {
        cmd.arg("--state").arg(path);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file.try_clone().expect("clone log handle"));
    let mut child = ManagedChild::spawn_configured(&format!("fake-ci --kind {kind}"), cmd, &log);
    let stdout = child.child_mut().stdout.take().expect("stdout is piped");
    let first_line = copy_to_log(stdout, log_file);

    match first_line.recv_timeout(start_timeout()) {
        Ok(line) => Ok((announced_url(bin, &line), child)),
        Err(_) => {
            let status = child.exited();
            let message = format!(
                "{} --kind {kind} --port {port}: {}\n{}",
                bin.display(),
                match status {
                    Some(s) => format!("exited ({s}) before announcing its URL"),
                    None => format!("no 'listening on' line within {:?}", start_timeout()),
                },
                log_tail(&log, 30)
            );
            let port_race = status.is_some() && message.contains("in use");
            Err(StartFailure { message, port_race })
        }
    }
}

/// Copies the fake's stdout to its log, on a thread that keeps draining it so the fake
/// never blocks on a full pipe; the first line (the URL announcement) also comes back
/// through the channel.
fn copy_to_log(stdout: ChildStdout, mut log: File) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel::<String>();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = writeln!(log, "{first}");
            let _ = tx.send(first);
        }
        for line in lines.map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
        }
    });
    rx
}

/// The base URL from `listening on http://127.0.0.1:PORT/`, without the trailing slash.
fn announced_url(bin: &Path, line: &str) -> String {
    line.trim()
        .strip_prefix("listening on ")
        .map(|u| u.trim_end_matches('/').to_string())
        .unwrap_or_else(|| {
            panic!(
                "{}: first stdout line should be 'listening on http://127.0.0.1:PORT', got {line:?}",
                bin.display()
            )
        })
}
