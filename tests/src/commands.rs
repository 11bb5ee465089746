//! The workspace binaries under test, started the way the end-to-end tests start them:
//! a function once in CLI mode against a [`LocalAws`] and a [`FakeCi`] with the
//! credentials the fake expects, `ci-checkpoint` against a bucket; and reading what
//! they printed.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::fake_ci::{CiKind, FakeCi};
use crate::local_aws::LocalAws;
use crate::paths::binary_path;

/// What a function binary presents to the fake CI server as `CI_USER` and `CI_TOKEN`.
#[derive(Debug, Clone, Copy)]
pub struct CiLogin {
    user: &'static str,
    jenkins_token: &'static str,
    teamcity_token: &'static str,
    /// TeamCity takes a bearer token alone; with the user too it is a user and password.
    user_on_teamcity: bool,
}

impl CiLogin {
    /// Jenkins: `user` and `jenkins_token`; TeamCity: `teamcity_token` as a bearer token
    /// (no `CI_USER`).
    pub const fn per_server(
        user: &'static str,
        jenkins_token: &'static str,
        teamcity_token: &'static str,
    ) -> CiLogin {
        CiLogin {
            user,
            jenkins_token,
            teamcity_token,
            user_on_teamcity: false,
        }
    }

    /// The same `CI_USER` and `CI_TOKEN` whichever the server.
    pub const fn same_everywhere(user: &'static str, token: &'static str) -> CiLogin {
        CiLogin {
            user,
            jenkins_token: token,
            teamcity_token: token,
            user_on_teamcity: true,
        }
    }

    fn apply(&self, kind: CiKind, cmd: &mut Command) {
        match kind {
            CiKind::Jenkins => cmd.envs([("CI_USER", self.user), ("CI_TOKEN", self.jenkins_token)]),
            CiKind::TeamCity if self.user_on_teamcity => {
                cmd.envs([("CI_USER", self.user), ("CI_TOKEN", self.teamcity_token)])
            }
            CiKind::TeamCity => cmd
                .env_remove("CI_USER")
                .env("CI_TOKEN", self.teamcity_token),
        };
    }
}

/// The function `binary` set up to run once in CLI mode: the stack's AWS environment, no
/// `AWS_LAMBDA_RUNTIME_API` (with it the binary would wait for Lambda invocations), the
/// fake's `CI_KIND` and `CI_URL`, and `login`. The test adds the function's own variables.
pub fn function_command(binary: &str, aws: &LocalAws, fake: &FakeCi, login: CiLogin) -> Command {
    let mut cmd = Command::new(binary_path(binary));
    aws.configure(&mut cmd);
    cmd.env_remove("AWS_LAMBDA_RUNTIME_API").envs(fake.env());
    login.apply(fake.kind(), &mut cmd);
    cmd
}

/// `ci-checkpoint` with the stack's AWS environment, against `bucket` (path-style S3, as
/// the emulator needs).
pub fn checkpoint_command(aws: &LocalAws, bucket: &str) -> Command {
    let mut cmd = Command::new(binary_path("ci-checkpoint"));
    aws.configure(&mut cmd);
    cmd.envs([
        ("CHECKPOINT_BUCKET", bucket),
        ("S3_FORCE_PATH_STYLE", "true"),
    ]);
    cmd
}

/// Runs `cmd` with `args` and stdin closed to the end; its output whatever the exit status.
pub fn run(mut cmd: Command, args: &[&str]) -> Output {
    let program = cmd.get_program().to_string_lossy().into_owned();
    cmd.args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} does not start: {e}"))
}

/// Runs a function binary in CLI mode on `event` (`--event -`, the event on stdin, then
/// `extra` arguments) and returns its output, whatever the exit status.
pub fn run_with_event(mut cmd: Command, event: &Value, extra: &[&str]) -> Output {
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

/// The JSON response a successful run printed; panics with its stderr when it failed.
pub fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "stderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("the JSON response")
}
