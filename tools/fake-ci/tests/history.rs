//! Build history (the agent health rule's slice): ci-fleet's own adapters read the
//! state's builds from both fakes — Jenkins' runs on executors and how each ended (the run
//! ledger), TeamCity's finished builds newest first, paged — and a TeamCity agent's
//! disable comment is its offline reason.

mod support;

use chrono::{TimeZone, Utc};
use fake_ci::{FakeState, Kind};
use rules::health::Outcome;
use rules::ledger::{RunEnd, RunState};
use serde_json::json;
use shared::ci::CiKind;
use shared::ports::CiServer;
use support::{basic, get};

const T0: i64 = 1_763_800_000_000;

fn state() -> FakeState {
    serde_json::from_value(json!({
        "agents": [
            {"name": "i-bad", "labels": ["linux"], "pool": "Linux",
             "running": [{"job": "api", "number": 9, "started_at_ms": T0 + 50_000}]},
            {"name": "i-good", "labels": ["linux"], "pool": "Linux", "enabled": false,
             "enabled_comment": {"user": "ci", "timestamp_ms": T0, "text": "recycle: use-limit"}}
        ],
        "builds": [
            {"job": "api", "number": 8, "result": "FAILURE", "agent": "i-bad", "started_at_ms": T0, "duration_ms": 1000},
            {"job": "api", "number": 7, "result": "SUCCESS", "agent": "i-good", "started_at_ms": T0 - 10_000, "duration_ms": 1000},
            {"job": "team/web", "number": 3, "id": 303, "result": "FAILURE", "agent": "i-bad", "started_at_ms": T0 + 1000, "duration_ms": 1000},
            {"job": "team/web", "number": 2, "id": 302, "result": "UNKNOWN", "agent": "i-good", "started_at_ms": T0 + 2000, "duration_ms": 1000},
            {"job": "Lint", "number": 1, "id": 101, "result": "FAILURE", "agent": "i-bad", "started_at_ms": T0 + 3000, "duration_ms": 1000,
             "status_text": "Build agent was disconnected while running a build"}
        ]
    }))
    .expect("valid state")
}

fn client(kind: Kind, addr: std::net::SocketAddr, page_size: u32) -> std::sync::Arc<dyn CiServer> {
    match kind {
        Kind::Jenkins => support::adapters(CiKind::Jenkins, addr, Some("ci"), "tok", page_size).0,
        Kind::TeamCity => support::adapters(CiKind::TeamCity, addr, None, "tc-token", page_size).0,
    }
}

fn at(ms: i64) -> chrono::DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().expect("valid")
}

/// The run ledger's reads: the executors name the runs they run (a Pipeline run has no
/// `builtOn`), and each run, once off its executor, says how it ended; an ABORTED run
/// whose log says its agent went away is a lost build.
#[tokio::test]
async fn jenkins_runs_on_executors_and_how_they_ended() {
    let mut state = state();
    state.builds.push(
        serde_json::from_value(json!({
            "job": "deploy", "number": 4, "result": "ABORTED", "agent": "i-bad",
            "started_at_ms": T0, "duration_ms": 500,
            "console": "i-bad seems to be removed or offline (hudson.remoting.ChannelClosedException); will wait for 5 min 0 sec for it to come back online\nTimeout waiting for agent to come back\nFinished: ABORTED\n"
        }))
        .expect("a build"),
    );
    let (addr, _app) = fake_ci::spawn(Kind::Jenkins, state).await.expect("starts");
    let ci = client(Kind::Jenkins, addr, 100);
    let run = |path: &str| format!("http://{addr}/{path}");
    let plain = ci.snapshot().await.expect("reads");
    assert!(
        plain.agents.iter().all(|a| a.runs.is_empty()),
        "publish-workload's poll does not ask for the runs"
    );
    let snapshot = ci.snapshot_with_runs().await.expect("reads");
    let bad = (snapshot.agents.iter())
        .find(|a| a.name == "i-bad")
        .expect("i-bad");
    assert_eq!(bad.runs, vec![run("job/api/9/")]);
    assert_eq!(
        ci.agent_runs("i-bad").await.expect("reads"),
        vec![run("job/api/9/")]
    );
    assert!(
        ci.recent_builds().await.expect("reads").is_empty(),
        "Jenkins' history is the ledger's"
    );

    let asked: Vec<String> = [
        "job/api/8/",
        "job/api/9/",
        "job/team/job/web/3/",
        "job/team/job/web/2/",
        "job/api/99/",
        "job/deploy/4/",
    ]
    .into_iter()
    .map(run)
    .collect();
    let mut states = ci.run_states(&asked).await.expect("reads");
    states.sort_by(|a, b| a.0.cmp(&b.0));
    let ended = |ms: i64, outcome: Outcome| {
        RunState::Ended(RunEnd {
            at: at(ms),
            outcome,
        })
    };
    assert_eq!(
        states,
        vec![
            (run("job/api/8/"), ended(T0 + 1000, Outcome::Failed)),
            (run("job/api/9/"), RunState::Running),
            (run("job/api/99/"), RunState::Gone),
            (run("job/deploy/4/"), ended(T0 + 500, Outcome::Lost)),
            (run("job/team/job/web/2/"), RunState::Gone),
            (
                run("job/team/job/web/3/"),
                ended(T0 + 2000, Outcome::Failed)
            ),
        ],
        "a result Jenkins does not have (UNKNOWN) says nothing: gone from the ledger"
    );
}

#[tokio::test]
async fn jenkins_root_shows_folders_and_builds_newest_first() {
    let (addr, _app) = fake_ci::spawn(Kind::Jenkins, state())
        .await
        .expect("starts");
    let auth = basic("ci", "tok");
    let reply = get(
        addr,
        "/api/json?tree=jobs[name,builds[number,result,builtOn]{0,2},jobs[name,builds[number]]]",
        &[("Authorization", auth.as_str())],
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let root = reply.json();
    let api = &root["jobs"][0];
    assert_eq!(api["name"], "api");
    assert_eq!(
        api["builds"],
        json!([
            {"_class": "hudson.model.FreeStyleBuild", "number": 9, "result": null, "builtOn": "i-bad"},
            {"_class": "hudson.model.FreeStyleBuild", "number": 8, "result": "FAILURE", "builtOn": "i-bad"}
        ])
    );
    let folder = root["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .find(|j| j["name"] == "team")
        .expect("the folder");
    assert_eq!(
        folder["_class"],
        "com.cloudbees.hudson.plugins.folder.Folder"
    );
    assert_eq!(folder["jobs"][0]["name"], "web");
    assert_eq!(folder["jobs"][0]["builds"][0]["number"], 3);
}

#[tokio::test]
async fn teamcity_pages_finished_builds_newest_first() {
    let (addr, _app) = fake_ci::spawn(Kind::TeamCity, state())
        .await
        .expect("starts");
    // Pages of two: three requests, and the agent disconnecting makes a lost build.
    let builds: Vec<(String, chrono::DateTime<Utc>, String, Outcome)> =
        client(Kind::TeamCity, addr, 2)
            .recent_builds()
            .await
            .expect("reads")
            .into_iter()
            .map(|b| (b.job, b.finished_at, b.agent, b.outcome))
            .collect();
    // TeamCity's dates are whole seconds.
    let second = |ms: i64| at(ms / 1000 * 1000);
    assert_eq!(
        builds,
        vec![
            (
                "Lint".into(),
                second(T0 + 4000),
                "i-bad".into(),
                Outcome::Lost
            ),
            (
                "team/web".into(),
                second(T0 + 3000),
                "i-good".into(),
                Outcome::Aborted
            ),
            (
                "team/web".into(),
                second(T0 + 2000),
                "i-bad".into(),
                Outcome::Failed
            ),
            (
                "api".into(),
                second(T0 + 1000),
                "i-bad".into(),
                Outcome::Failed
            ),
            (
                "api".into(),
                second(T0 - 9000),
                "i-good".into(),
                Outcome::Passed
            ),
        ]
    );
    let snapshot = client(Kind::TeamCity, addr, 100)
        .snapshot()
        .await
        .expect("reads");
    let good = snapshot
        .agents
        .iter()
        .find(|a| a.name == "i-good")
        .expect("listed");
    assert_eq!(
        (good.accepting_tasks, good.offline_reason.as_str()),
        (false, "recycle: use-limit"),
        "a disabled agent's reason is its disable comment"
    );
}
