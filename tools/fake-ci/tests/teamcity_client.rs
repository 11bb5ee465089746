//! dohq-teamcity, a Python client written against real TeamCity (pinned in the project
//! venv: infra/local/requirements.lock), runs its agent, agent-pool, build-queue, build and
//! server calls against the fake TeamCity: `tests/clients/teamcity_client.py` asserts what
//! each call answers. A missing venv fails this test; it is never skipped.

mod support;

use std::path::PathBuf;
use std::process::Command;

use fake_ci::Kind;
use serde_json::json;
use support::start;

/// The world the script expects (its checks name these agents, builds and pools).
fn world() -> serde_json::Value {
    json!({
        "teamcity_tokens": ["client-token"],
        "agents": [
            {"name": "busy", "pool": "Linux", "running": [{"job": "App_Build", "number": 7, "id": 501, "progress": 40}]},
            {"name": "idle", "pool": "Linux"},
            {"name": "drained", "pool": "Linux", "enabled": false,
             "enabled_comment": {"user": "ci-fleet", "timestamp_ms": 1763800000000_i64, "text": "recycling i-0abc"}},
            {"name": "gone", "pool": "Linux", "connected": false},
            {"name": "win", "pool": "Windows"},
            {"name": "stranger", "authorized": false}
        ],
        "max_running_builds": {"App_Build": 1},
        "queue": [
            {"id": 601, "job": "App_Test", "pools": ["Linux"]},
            {"id": 602, "job": "App_Build", "pools": ["Linux"]},
            {"id": 603, "job": "App_Db", "pools": ["Linux"], "waits_for_lock": "TestDb"}
        ],
        "builds": [
            {"job": "App_Test", "number": 40, "id": 401, "result": "FAILURE", "agent": "busy", "started_at_ms": 1763800000000_i64}
        ]
    })
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root above tools/fake-ci")
}

#[tokio::test(flavor = "multi_thread")]
async fn dohq_teamcity_agrees_with_the_fake() {
    let root = repo_root();
    let python = root.join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: this test runs dohq-teamcity from the project venv; create it with `make setup` (infra/local/setup-venv.sh)",
        python.display()
    );
    let script = root.join("tools/fake-ci/tests/clients/teamcity_client.py");
    let addr = start(Kind::TeamCity, world()).await;
    let url = format!("http://{addr}");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(&python)
            .arg(&script)
            .arg(&url)
            .arg("client-token")
            .output()
            .unwrap_or_else(|e| panic!("{} does not run: {e}", python.display()))
    })
    .await
    .expect("the client runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named 'dohq_teamcity'"),
        "dohq-teamcity is not installed in the venv: run `make setup`\n{stderr}"
    );
    assert!(
        output.status.success(),
        "dohq-teamcity disagrees with the fake TeamCity ({}):\n{stdout}{stderr}",
        output.status
    );
    // Every step ran and said so: a script that stopped early cannot pass.
    for step in ["server", "agents", "agent_pools", "build_queue", "builds"] {
        assert!(
            stdout.contains(&format!("{step}: ok")),
            "step {step} did not report ok:\n{stdout}{stderr}"
        );
    }
}
