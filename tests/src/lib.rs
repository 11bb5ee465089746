//! Harness for ci-fleet's workspace integration tests (`tests/tests/*.rs`).
//!
//! - [`LocalAws`]: a private moto server (EC2, Auto Scaling, S3, Secrets Manager,
//!   EventBridge) and ministack (CloudWatch) on free loopback ports, from `<repo>/.venv`
//!   (made by `infra/local/setup-venv.sh`); killed on drop.
//! - [`FakeCi`]: the fake Jenkins / TeamCity (`target/<profile>/fake-ci`) with its
//!   control API; killed on drop.
//! - [`binary_path`]: a workspace binary built next to the test executable. Integration
//!   tests of this crate cannot make cargo build other packages' binaries, so run
//!   `cargo build --workspace --bins` before `cargo test -p ci-fleet-tests`.
//!
//! Logs of every server go to `<repo>/.local/test-runs/…`, deleted after a passing test
//! and kept (path printed) after a panic.

pub mod asg;
pub mod fake_ci;
pub mod local_aws;
pub mod process;

use std::path::{Path, PathBuf};

pub use fake_ci::{CiKind, FakeCi};
pub use local_aws::LocalAws;

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn repo_root() -> PathBuf {
    let tests_crate = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests_crate.parent().unwrap_or(tests_crate).to_path_buf()
}

/// The directory cargo puts the workspace's binaries in for this build
/// (`target/debug` normally). Found from the running test executable, which lives in
/// `<target>/<profile>/deps/`; else `$CARGO_TARGET_DIR/debug`; else `<repo>/target/debug`.
pub fn target_profile_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(deps) = exe.parent()
        && deps.file_name().is_some_and(|n| n == "deps")
        && let Some(profile) = deps.parent()
    {
        return profile.to_path_buf();
    }
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            let dir = if dir.is_relative() {
                repo_root().join(dir)
            } else {
                dir
            };
            dir.join("debug")
        }
        None => repo_root().join("target").join("debug"),
    }
}

/// The workspace binary `name` if it has been built.
pub fn try_binary_path(name: &str) -> Option<PathBuf> {
    let path = target_profile_dir().join(name);
    path.is_file().then_some(path)
}

/// Runs a function binary in CLI mode on `event` (`--event -`, the event on stdin, then
/// `extra` arguments) and returns its output, whatever the exit status.
pub fn run_with_event(
    mut cmd: std::process::Command,
    event: &serde_json::Value,
    extra: &[&str],
) -> std::process::Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .args(["--event", "-"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?} does not start: {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(event.to_string().as_bytes())
        .expect("writes the event");
    child.wait_with_output().expect("exits")
}

/// The workspace binary `name` (e.g. `"fake-ci"`, `"publish-workload"`). Panics with the
/// command to build it when it is missing.
pub fn binary_path(name: &str) -> PathBuf {
    try_binary_path(name).unwrap_or_else(|| {
        panic!(
            "{} is not built: run `cargo build --workspace --bins` (or `cargo build --bin {name}`) before the integration tests",
            target_profile_dir().join(name).display()
        )
    })
}
