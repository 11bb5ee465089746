//! A private AWS for one test (or one test binary): moto server for EC2, Auto Scaling,
//! S3, Secrets Manager and EventBridge, ministack for CloudWatch (the Rust
//! aws-sdk-cloudwatch speaks smithy-rpc-v2-cbor, which moto does not).
//! moto runs through `infra/local/moto_ext.py`, which adds terminate lifecycle hooks
//! (`Terminating:Wait`, CompleteLifecycleAction, heartbeats) and `GET /_ext/lifecycle-actions`.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudwatch::config::Credentials;
use aws_types::origin::Origin;
use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};

use crate::process::{ManagedChild, RunDir, free_port, http_request, start_timeout};

pub const REGION: &str = "us-east-1";
/// moto's default account.
pub const ACCOUNT_ID: &str = "123456789012";
pub const ACCESS_KEY_ID: &str = "test";
pub const SECRET_ACCESS_KEY: &str = "test";

/// Runs a server's Python entry point in-process with a watchdog thread that exits as
/// soon as the process that started it (the test binary) is gone, so a test process that
/// is killed, or a `LocalAws` kept in a static and never dropped, leaves no server behind.
const LAUNCHER: &str = r#"
import os, sys, threading, time
parent = os.getppid()
def watchdog():
    while True:
        if os.getppid() != parent:
            os._exit(0)
        time.sleep(0.5)
threading.Thread(target=watchdog, name="ci-fleet-watchdog", daemon=True).start()
which = sys.argv[1]
if which == "moto":
    # infra/local/moto_ext.py: moto_server plus the lifecycle-hook extension, run as its
    # own command line would run it.
    import runpy
    script = sys.argv[2]
    sys.argv = [script] + sys.argv[3:]
    runpy.run_path(script, run_name="__main__")
elif which == "ministack":
    from ministack.app import main
    sys.argv = ["ministack"]
    main()
else:
    sys.exit("unknown server " + which)
"#;

/// The Python virtualenv holding the emulators: `CI_FLEET_VENV` or `<repo>/.venv`.
pub fn venv_dir() -> PathBuf {
    std::env::var_os("CI_FLEET_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::paths::repo_root().join(".venv"))
}

fn venv_python() -> PathBuf {
    let venv = venv_dir();
    let python = venv.join("bin").join("python");
    for needed in ["moto_server", "ministack"] {
        let p = venv.join("bin").join(needed);
        assert!(
            p.exists() && python.exists(),
            "{} is missing: the local AWS emulators are not installed; run infra/local/setup-venv.sh",
            p.display()
        );
    }
    python
}

/// moto server + ministack on free loopback ports, killed on drop.
#[derive(Debug)]
pub struct LocalAws {
    moto_port: u16,
    ministack_port: u16,
    // Drop order: the servers first, then their run directory (logs).
    _moto: ManagedChild,
    _ministack: ManagedChild,
    run: RunDir,
}

impl LocalAws {
    /// Starts both emulators and waits until each answers. Panics with the culprit's log
    /// tail when one does not come up within `CI_FLEET_STACK_TIMEOUT_SECS` (60 s).
    pub fn start() -> LocalAws {
        let python = venv_python();
        let run = RunDir::new("local-aws");
        let timeout = start_timeout();

        // Another process may grab a just-freed port: retry the start a few times.
        let mut moto = None;
        let mut ministack = None;
        let mut errors = Vec::new();
        for _attempt in 0..3 {
            if moto.is_none() {
                let port = free_port();
                let mut child = spawn_moto(&python, &run, port);
                match child.wait_http(
                    &format!("http://127.0.0.1:{port}/moto-api/"),
                    false,
                    timeout,
                ) {
                    Ok(()) => moto = Some((port, child)),
                    Err(e) => errors.push(e),
                }
            }
            if ministack.is_none() {
                let port = free_port();
                let mut child = spawn_ministack(&python, &run, port);
                match child.wait_http(
                    &format!("http://127.0.0.1:{port}/_ministack/ready"),
                    false,
                    timeout,
                ) {
                    Ok(()) => ministack = Some((port, child)),
                    Err(e) => errors.push(e),
                }
            }
            if moto.is_some() && ministack.is_some() {
                break;
            }
            if !errors.iter().any(|e| e.contains("in use")) {
                break; // not a port race: retrying will not help
            }
        }
        match (moto, ministack) {
            (Some((moto_port, moto)), Some((ministack_port, ministack))) => LocalAws {
                moto_port,
                ministack_port,
                _moto: moto,
                _ministack: ministack,
                run,
            },
            _ => panic!("LocalAws::start failed:\n{}", errors.join("\n\n")),
        }
    }

    /// One stack shared by every test in this test binary, started on first use. It is
    /// never dropped; the servers' watchdog stops them when the test binary exits. Tests
    /// sharing it should use unique names (buckets, ASGs, metric dimensions) or `reset()`.
    pub fn shared() -> &'static LocalAws {
        static SHARED: OnceLock<LocalAws> = OnceLock::new();
        SHARED.get_or_init(LocalAws::start)
    }

    /// moto server (every service but CloudWatch), e.g. `http://127.0.0.1:40123`.
    pub fn moto_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.moto_port)
    }

    /// ministack (CloudWatch).
    pub fn cloudwatch_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ministack_port)
    }

    /// Where the servers' logs are (kept when a test panics).
    pub fn log_dir(&self) -> &std::path::Path {
        &self.run.path
    }

    /// Environment a child process (a function binary, the Lambda emulator) needs to use
    /// this stack through the AWS SDK's own variables.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.moto_url()),
            ("AWS_ENDPOINT_URL_CLOUDWATCH", self.cloudwatch_url()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_DEFAULT_REGION", REGION.to_string()),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.to_string()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.to_string()),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Applies `env()` to `cmd` and removes variables that could point the child at real
    /// AWS or another endpoint (profiles, session tokens, other service endpoints).
    pub fn configure(&self, cmd: &mut Command) {
        for (k, _) in std::env::vars_os().filter_map(|(k, v)| Some((k.into_string().ok()?, v))) {
            if k.starts_with("AWS_ENDPOINT_URL_")
                || matches!(
                    k.as_str(),
                    "AWS_PROFILE"
                        | "AWS_SESSION_TOKEN"
                        | "AWS_CONFIG_FILE"
                        | "AWS_SHARED_CREDENTIALS_FILE"
                )
            {
                cmd.env_remove(&k);
            }
        }
        cmd.envs(self.env());
    }

    /// An SDK config for this stack, independent of the test process's environment:
    /// region, dummy credentials, every service at moto, and CloudWatch at ministack —
    /// `aws_sdk_cloudwatch::Client::new(&sdk)` goes to ministack by itself (as the SDK
    /// does with `AWS_ENDPOINT_URL_CLOUDWATCH`); so does
    /// `aws_sdk_cloudwatch::config::Builder::from(&sdk)`.
    /// S3 clients still need `force_path_style(true)`.
    pub async fn sdk_config(&self) -> SdkConfig {
        let loaded = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new(
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
                None,
                None,
                "ci-fleet-tests",
            ))
            .endpoint_url(self.moto_url())
            .load()
            .await;
        let mut builder = loaded.into_builder();
        // An endpoint set on the loader counts as "programmatic" and would beat every
        // per-service override; mark it as coming from AWS_ENDPOINT_URL instead, so the
        // service clients consult StackEndpoints first, exactly as with
        // AWS_ENDPOINT_URL + AWS_ENDPOINT_URL_CLOUDWATCH in a function's environment.
        builder.insert_origin("endpoint_url", Origin::shared_environment_variable());
        builder.set_service_config(Some(StackEndpoints {
            cloudwatch: self.cloudwatch_url(),
        }));
        builder.build()
    }

    /// A CloudWatch client at ministack.
    pub async fn cloudwatch(&self) -> aws_sdk_cloudwatch::Client {
        let sdk = self.sdk_config().await;
        let conf = aws_sdk_cloudwatch::config::Builder::from(&sdk)
            .endpoint_url(self.cloudwatch_url())
            .build();
        aws_sdk_cloudwatch::Client::from_conf(conf)
    }

    /// The names of the metrics published in `namespace` (ListMetrics).
    pub async fn metric_names(&self, namespace: &str) -> Vec<String> {
        let listed = (self.cloudwatch().await.list_metrics())
            .namespace(namespace)
            .send()
            .await
            .expect("ListMetrics");
        (listed.metrics().iter())
            .filter_map(|m| m.metric_name().map(str::to_owned))
            .collect()
    }

    /// Forgets everything both emulators hold (moto `POST /moto-api/reset`, ministack
    /// `POST /_ministack/reset`).
    pub fn reset(&self) {
        for url in [
            format!("{}/moto-api/reset", self.moto_url()),
            format!("{}/_ministack/reset", self.cloudwatch_url()),
        ] {
            match http_request("POST", &url, Some(b""), Duration::from_secs(10)) {
                Ok((code, _)) if (200..300).contains(&code) => {}
                Ok((code, body)) => panic!(
                    "reset {url}: HTTP {code}: {}",
                    String::from_utf8_lossy(&body)
                ),
                Err(e) => panic!("reset {url}: {e}"),
            }
        }
    }
}

/// Per-service endpoint overrides for `SdkConfig`, answering the SDK's
/// `AWS_ENDPOINT_URL_<SERVICE>` lookups from this stack instead of the process environment.
#[derive(Debug)]
struct StackEndpoints {
    cloudwatch: String,
}

impl LoadServiceConfig for StackEndpoints {
    fn load_config(&self, key: ServiceConfigKey<'_>) -> Option<String> {
        (key.env() == "AWS_ENDPOINT_URL" && key.service_id().eq_ignore_ascii_case("CloudWatch"))
            .then(|| self.cloudwatch.clone())
    }
}

fn python_cmd(python: &PathBuf, which: &str) -> Command {
    let mut cmd = Command::new(python);
    cmd.arg("-c").arg(LAUNCHER).arg(which);
    cmd.env("PYTHONUNBUFFERED", "1");
    cmd
}

/// `infra/local/moto_ext.py`, the launcher that adds lifecycle-hook behaviour to moto.
pub fn moto_ext_script() -> PathBuf {
    crate::paths::repo_root()
        .join("infra")
        .join("local")
        .join("moto_ext.py")
}

fn spawn_moto(python: &PathBuf, run: &RunDir, port: u16) -> ManagedChild {
    let mut cmd = python_cmd(python, "moto");
    cmd.arg(moto_ext_script());
    cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    ManagedChild::spawn(
        "moto server",
        cmd,
        &run.path.join(format!("moto-{port}.log")),
    )
}

fn spawn_ministack(python: &PathBuf, run: &RunDir, port: u16) -> ManagedChild {
    let mut cmd = python_cmd(python, "ministack");
    cmd.envs([
        ("BIND_HOST", "127.0.0.1"),
        ("GATEWAY_PORT", &port.to_string()),
        // Off: an MQTT listener on 0.0.0.0:8883 (would also collide between stacks).
        ("IOT_MTLS_ENABLED", "0"),
        ("SFTP_ENABLED", "0"),
        ("SERVICES", "cloudwatch"),
        ("PERSIST_STATE", "0"),
        ("MINISTACK_REGION", REGION),
    ]);
    // ministack writes its pid file to $TMPDIR: keep it in the run directory.
    cmd.env("TMPDIR", &run.path);
    ManagedChild::spawn(
        "ministack",
        cmd,
        &run.path.join(format!("ministack-{port}.log")),
    )
}
