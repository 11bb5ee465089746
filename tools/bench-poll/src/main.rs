//! `bench-poll`: one publish-workload poll of a large Jenkins served by the fake.
//!
//! Measures, as medians over several runs: parse + compute of the two Jenkins responses,
//! the whole poll with its HTTP round trips on loopback, and the peak RSS of the real
//! `publish-workload --dry-run` binary doing one poll. Run it from a release build:
//! `cargo build --release -p fake-ci -p publish-workload -p bench-poll && target/release/bench-poll`.

mod executor_sample;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rules::{Pool, PoolSpec, compute_workloads};
use serde_json::{Value, json};
use shared::ci::CiKind;
use shared::ci::jenkins::{parse_snapshot, poll_paths};
use shared::config::{CiConfig, CredentialSource, Credentials, Secret};

struct Shape {
    agents: usize,
    executors: u32,
    queued: usize,
    labels: usize,
    runs: usize,
}

const USAGE: &str =
    "usage: bench-poll [--agents N] [--executors N] [--queued N] [--labels N] [--runs N]";

fn main() -> Result<(), String> {
    let shape = read_shape(std::env::args().skip(1))?;
    let fake = FakeJenkins::start(&state(&shape))?;
    let pools = pools(shape.labels);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "fake Jenkins: {} agents x {} executors, {} queued items over {} label expressions",
        shape.agents, shape.executors, shape.queued, shape.labels
    );
    let (queue_body, computer_body) = runtime.block_on(fetch_bodies(&fake.url))?;
    println!(
        "response sizes: queue {} KiB, computers {} KiB",
        queue_body.len() / 1024,
        computer_body.len() / 1024
    );
    let parse: Vec<Duration> = (0..shape.runs)
        .map(|_| {
            let started = Instant::now();
            let snapshot =
                parse_snapshot(&queue_body, &computer_body).expect("fake answers valid JSON");
            let workloads = compute_workloads(&pools, &snapshot, chrono::Utc::now());
            std::hint::black_box(workloads);
            started.elapsed()
        })
        .collect();
    report("parse + compute", &parse, 50);
    let whole = whole_polls(&runtime, &fake.url, &pools, shape.runs)?;
    report(
        "whole poll (2 GETs on loopback + parse + compute)",
        &whole,
        150,
    );
    println!(
        "the run ledger's executor sample (protect-busy-agents' poll only), the poll with and without it:"
    );
    runtime.block_on(executor_sample::compare(&fake.url, &pools, shape.runs))?;
    report_peak_rss(&fake.url, shape.labels)
}

/// The benchmark's shape from `--agents N` style flags (lexopt: `--agents=N` works too).
fn read_shape(args: impl IntoIterator<Item = String>) -> Result<Shape, String> {
    let mut shape = Shape {
        agents: 2000,
        executors: 4,
        queued: 5000,
        labels: 60,
        runs: 15,
    };
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next().map_err(|e| format!("{e}; {USAGE}"))? {
        let flag = match &arg {
            lexopt::Arg::Long(name) => format!("--{name}"),
            other => return Err(format!("unknown argument {other:?}; {USAGE}")),
        };
        let mut value = || {
            parser
                .value()
                .ok()
                .and_then(|v| v.to_str().and_then(|v| v.parse::<usize>().ok()))
                .ok_or(format!("{flag} needs a number"))
        };
        match flag.as_str() {
            "--agents" => shape.agents = value()?,
            "--executors" => shape.executors = value()? as u32,
            "--queued" => shape.queued = value()?,
            "--labels" => shape.labels = value()?,
            "--runs" => shape.runs = value()?.max(3),
            _ => return Err(format!("unknown argument {flag}; {USAGE}")),
        }
    }
    Ok(shape)
}

/// The whole poll through the real Jenkins adapter, `runs` times after a first one that
/// opens the connections.
fn whole_polls(
    runtime: &tokio::runtime::Runtime,
    url: &str,
    pools: &[Pool],
    runs: usize,
) -> Result<Vec<Duration>, String> {
    let config = CiConfig {
        kind: CiKind::Jenkins,
        url: url.to_owned(),
        credentials: CredentialSource::Anonymous,
        timeout: Duration::from_secs(10),
        max_response_bytes: 64 << 20,
        page_size: 1000,
    };
    let credentials = Credentials {
        user: Some("bench".into()),
        token: Secret::new("bench-token"),
    };
    let (ci, _) = shared::ci::connect(&config, Some(credentials)).map_err(|e| e.to_string())?;
    Ok((0..=runs)
        .map(|_| {
            runtime.block_on(async {
                let started = Instant::now();
                let snapshot = ci.snapshot().await.expect("fake answers");
                std::hint::black_box(compute_workloads(pools, &snapshot, chrono::Utc::now()));
                started.elapsed()
            })
        })
        .skip(1) // the first poll opens the connections
        .collect())
}

fn report_peak_rss(url: &str, labels: usize) -> Result<(), String> {
    let rss: Vec<u64> = (0..5)
        .map(|_| peak_rss_of_one_poll(url, &pools_json(labels)))
        .collect::<Result<_, _>>()?;
    let mut sorted = rss.clone();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    println!(
        "peak RSS of publish-workload --dry-run (one poll): median {:.1} MiB, runs {:?} KiB  [target <= 40 MiB: {}]",
        median as f64 / 1024.0,
        rss,
        if median <= 40 * 1024 { "met" } else { "MISSED" }
    );
    Ok(())
}

fn report(what: &str, samples: &[Duration], target_ms: u128) {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let median = sorted[sorted.len() / 2];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{what}: median {:.1} ms (min {:.1}, max {:.1}, {} runs)  [target <= {target_ms} ms: {}]",
        ms(median),
        ms(sorted[0]),
        ms(sorted[sorted.len() - 1]),
        samples.len(),
        if median.as_millis() <= target_ms {
            "met"
        } else {
            "MISSED"
        }
    );
}

/// Agents carry `linux` and one of `pool-N`; queued jobs ask for `linux && pool-N`, half
/// through the job's labelExpression and half only through `why` (pipelines).
fn state(shape: &Shape) -> Value {
    let since = chrono::Utc::now().timestamp_millis() - 60_000;
    let agents: Vec<Value> = (0..shape.agents)
        .map(|i| {
            let running: Vec<Value> = (0..(i as u32 % (shape.executors + 1)))
                .map(|n| json!({"job": format!("job-{i}"), "number": n + 1}))
                .collect();
            json!({
                "name": format!("i-{:017x}", i),
                "labels": ["linux", format!("pool-{}", i % shape.labels)],
                "executors": shape.executors,
                "running": running,
                "connected": i % 50 != 0,
            })
        })
        .collect();
    let queue: Vec<Value> = (0..shape.queued)
        .map(|i| {
            json!({
                "id": 100_000 + i,
                "job": format!("job-{}", i % 700),
                "label": format!("linux && pool-{}", i % shape.labels),
                "state": if i % 10 == 0 { "blocked" } else { "buildable" },
                "queued_at_ms": since + i as i64,
                "label_exposed": i % 2 == 0,
            })
        })
        .collect();
    json!({
        "auth": {"users": [{"user": "bench", "password": "bench-password", "token": "bench-token"}], "anonymous_read": false, "csrf": true},
        "agents": agents,
        "queue": queue,
    })
}

fn pools_json(labels: usize) -> String {
    let pools: Vec<Value> = (0..labels)
        .map(|i| json!({"name": format!("pool-{i}"), "ci_label": format!("pool-{i}"), "asg": format!("ci-pool-{i}"), "executors_per_instance": 4}))
        .collect();
    Value::Array(pools).to_string()
}

fn pools(labels: usize) -> Vec<Pool> {
    (0..labels)
        .map(|i| {
            Pool::jenkins(PoolSpec {
                name: format!("pool-{i}"),
                ci_label: format!("pool-{i}"),
                asg: format!("ci-pool-{i}"),
                executors_per_instance: 4,
                max_builds_per_agent: None,
            })
            .expect("label parses")
        })
        .collect()
}

async fn fetch_bodies(url: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let client = reqwest::Client::new();
    let [queue, computers] = poll_paths();
    let get = |path: String| {
        let request = client
            .get(format!("{url}{path}"))
            .basic_auth("bench", Some("bench-token"))
            // As publish-workload asks: the fake plays a German-default Jenkins otherwise.
            .header("Accept-Language", "en");
        async move {
            request
                .send()
                .await
                .map_err(|e| e.to_string())?
                .bytes()
                .await
                .map(|b| b.to_vec())
                .map_err(|e| e.to_string())
        }
    };
    Ok((get(queue).await?, get(computers).await?))
}

/// Peak RSS (VmHWM, KiB) of the real binary doing one dry-run poll, sampled until it exits.
fn peak_rss_of_one_poll(url: &str, pools: &str) -> Result<u64, String> {
    let binary = sibling("publish-workload")?;
    let mut child = Command::new(&binary)
        .arg("--dry-run")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .envs([
            ("CI_KIND", "jenkins"),
            ("CI_URL", url),
            ("CI_USER", "bench"),
            ("CI_TOKEN", "bench-token"),
            ("POOLS", pools),
            ("POLL_WINDOW_SECONDS", "0"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            ("RUST_LOG", "warn"),
        ])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(status) = std::fs::read_to_string(&status_file)
            && let Some(kib) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            if !status.success() {
                return Err(format!("publish-workload exited with {status}"));
            }
            return Ok(peak);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn sibling(name: &str) -> Result<PathBuf, String> {
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = me.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it in the same profile first",
            path.display()
        ))
    }
}

struct FakeJenkins {
    child: Child,
    url: String,
}

impl FakeJenkins {
    fn start(state: &Value) -> Result<FakeJenkins, String> {
        let binary = sibling("fake-ci")?;
        let mut child = Command::new(&binary)
            .args(["--kind", "jenkins", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{}: {e}", binary.display()))?;
        let mut line = String::new();
        let stdout = child.stdout.take().ok_or("no stdout")?;
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .ok_or(format!("fake-ci said {line:?}"))?
            .to_owned();
        let fake = FakeJenkins { child, url };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .put(format!("{}/_fake/state", fake.url))
                .header("content-type", "application/json")
                .body(state.to_string())
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if response.status().is_success() {
                Ok(())
            } else {
                Err(format!("fake-ci refused the state: {}", response.status()))
            }
        })?;
        Ok(fake)
    }
}

impl Drop for FakeJenkins {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
