//! Child processes the harness owns, and the small blocking HTTP/TCP helpers used to
//! wait for them. Blocking on purpose: `start()` and `Drop` must work outside async code.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A port that was free on 127.0.0.1 a moment ago (the OS picked it).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("cannot bind 127.0.0.1:0 to find a free port")
}

/// How long a started server may take to answer. `CI_FLEET_STACK_TIMEOUT_SECS` overrides
/// the default of 60 s (a 2-core box that is also compiling can be slow to import Python).
pub fn start_timeout() -> Duration {
    let secs = std::env::var("CI_FLEET_STACK_TIMEOUT_SECS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(60);
    Duration::from_secs(secs)
}

/// One blocking HTTP/1.0 exchange (`Connection: close`). Returns status and body.
pub fn http_request(
    method: &str,
    url: &str,
    body: Option<&[u8]>,
    timeout: Duration,
) -> std::io::Result<(u16, Vec<u8>)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("only http:// URLs are supported: {url}")))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr: SocketAddr = authority
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("cannot resolve {authority}")))?;
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let body = body.unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..text_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| {
            std::io::Error::other(format!("no HTTP status line from {url}: {head:?}"))
        })?;
    let body = raw
        .get(text_end + 4..)
        .map(<[u8]>::to_vec)
        .unwrap_or_default();
    Ok((status, body))
}

/// The last `lines` lines of a log file, for error messages.
pub fn log_tail(path: &Path, lines: usize) -> String {
    match fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            let start = all.len().saturating_sub(lines);
            if all.is_empty() {
                format!("(log {} is empty)", path.display())
            } else {
                format!(
                    "--- last lines of {} ---\n{}\n---",
                    path.display(),
                    all[start..].join("\n")
                )
            }
        }
        Err(e) => format!("(cannot read log {}: {e})", path.display()),
    }
}

/// A child process killed (and reaped) on drop, with its output in a log file.
#[derive(Debug)]
pub struct ManagedChild {
    pub name: String,
    pub log: PathBuf,
    child: Child,
}

impl ManagedChild {
    /// Spawns `cmd` with stdin closed and stdout+stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> ManagedChild {
        let out = File::create(log)
            .unwrap_or_else(|e| panic!("{name}: cannot create log {}: {e}", log.display()));
        let err = out
            .try_clone()
            .unwrap_or_else(|e| panic!("{name}: cannot clone log handle: {e}"));
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        Self::spawn_configured(name, cmd, log)
    }

    /// Spawns `cmd` whose stdio the caller already set up.
    pub fn spawn_configured(name: &str, mut cmd: Command, log: &Path) -> ManagedChild {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: cannot start {:?}: {e}", cmd.get_program()));
        ManagedChild {
            name: name.to_string(),
            log: log.to_path_buf(),
            child,
        }
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Polls `url` until it answers (any status when `any_status`, else 2xx), the process
    /// exits, or `timeout` passes. The error names the part and carries its log tail.
    pub fn wait_http(
        &mut self,
        url: &str,
        any_status: bool,
        timeout: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        let mut last;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) before answering {url}\n{}",
                    self.name,
                    log_tail(&self.log, 30)
                ));
            }
            match http_request("GET", url, None, Duration::from_secs(2)) {
                Ok((code, _)) if any_status || (200..300).contains(&code) => return Ok(()),
                Ok((code, _)) => last = format!("HTTP {code}"),
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} (pid {}) did not answer {url} within {timeout:?} (last: {last})\n{}",
                    self.name,
                    self.id(),
                    log_tail(&self.log, 30)
                ));
            }
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ManagedChild {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// A per-instance scratch directory under `<repo>/.local/test-runs/`, removed on drop
/// unless the thread is panicking (then its logs are kept for the post-mortem) or
/// `CI_FLEET_KEEP_LOGS` is set.
#[derive(Debug)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn new(prefix: &str) -> RunDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = crate::paths::repo_root()
            .join(".local")
            .join("test-runs")
            .join(format!("{prefix}-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        RunDir { path }
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if thread::panicking() || std::env::var_os("CI_FLEET_KEEP_LOGS").is_some() {
            eprintln!("ci-fleet-tests: keeping logs in {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}
