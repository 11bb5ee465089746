//! A client written against real Jenkins keeps the fake honest: python-jenkins (pinned
//! in the test venv, `infra/local/requirements.lock`) runs its node, queue, job and build
//! calls against the fake (`tests/clients/jenkins_client.py`), each checked against the
//! state seeded here; afterwards the fake's state shows what the client changed. The
//! wire details python-jenkins does not look at (where the redirects point, the
//! refusals) are checked over raw HTTP below.

mod support;

use std::path::PathBuf;
use std::process::Command;

use fake_ci::{FakeState, Kind};
use serde_json::json;
use support::{basic, get, request};

const T0: i64 = 1_763_800_000_000;

/// The world the script checks its answers against (keep in step with its constants).
fn seeded_state() -> FakeState {
    serde_json::from_value(json!({
        "jenkins_version": "2.579",
        "builtin_executors": 0,
        "agents": [
            {"name": "linux-1", "labels": ["linux", "docker"], "executors": 2, "running": [
                {"job": "app", "number": 12, "id": 90, "started_at_ms": T0 + 60_000},
                {"job": "pipelines/deploy", "number": 8, "id": 91, "started_at_ms": T0 + 70_000}
            ]},
            {"name": "linux-2", "labels": ["linux"], "temporarily_offline": true,
             "offline_message": "maintenance", "offline_by": "ci", "offline_since_ms": T0},
            {"name": "mac-1", "labels": ["mac"]},
            {"name": "spare-1", "labels": ["linux"]}
        ],
        "queue": [
            {"id": 101, "job": "app", "label": "linux && docker", "queued_at_ms": T0},
            {"id": 102, "job": "pipelines/deploy", "label": "linux", "label_exposed": false, "queued_at_ms": T0}
        ],
        "builds": [
            {"job": "app", "number": 11, "result": "SUCCESS", "agent": "linux-1",
             "console": "Started by user ci\nBuilding remotely on linux-1\nFinished: SUCCESS\n",
             "started_at_ms": T0 - 100_000, "duration_ms": 42_000},
            {"job": "app", "number": 10, "result": "FAILURE", "agent": "mac-1",
             "console": "Started by user ci\nFinished: FAILURE\n",
             "started_at_ms": T0 - 200_000, "duration_ms": 40_000},
            {"job": "pipelines/deploy", "number": 7, "result": "FAILURE", "agent": "linux-1",
             "console": "Started by user ci\n[Pipeline] Start of Pipeline\nFinished: FAILURE\n",
             "started_at_ms": T0 - 300_000, "duration_ms": 50_000}
        ]
    }))
    .expect("valid state")
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root")
}

/// The venv's Python with python-jenkins; a missing venv is a failure, never a skip.
fn venv_python() -> PathBuf {
    let venv = repo_root().join(".venv");
    let python = venv.join("bin").join("python");
    assert!(
        python.is_file(),
        "{} is missing: the test venv with python-jenkins is not installed; run `make setup` \
         (infra/local/setup-venv.sh) in {}",
        python.display(),
        repo_root().display()
    );
    let import = Command::new(&python)
        .args(["-c", "import jenkins"])
        .output()
        .expect("the venv's python runs");
    assert!(
        import.status.success(),
        "python-jenkins is not installed in {}: run `make setup` (it is pinned in \
         infra/local/requirements.lock)\n{}",
        venv.display(),
        String::from_utf8_lossy(&import.stderr)
    );
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_jenkins_node_queue_job_and_build_calls_work() {
    let python = venv_python();
    let (addr, app) = fake_ci::spawn(Kind::Jenkins, seeded_state())
        .await
        .expect("the fake starts");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/jenkins_client.py");
    let url = format!("http://{addr}");
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args([url.as_str(), "ci", "tok"])
            .output()
            .expect("the script runs")
    })
    .await
    .expect("joins");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python-jenkins failed against the fake Jenkins ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains("checks passed"), "{stdout}\n{stderr}");

    // What the client changed is in the fake's state, as on a real Jenkins.
    let world = app.world();
    let names: Vec<&str> = world.state.agents.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(
        names,
        ["linux-1", "linux-2", "mac-1"],
        "delete_node removed spare-1"
    );
    let mac = &world.state.agents[2];
    assert!(
        !mac.temporarily_offline,
        "disable_node then enable_node: mac-1 online again"
    );
    assert!(
        !world.state.agents[1].temporarily_offline,
        "enable_node brought linux-2 back"
    );
    let triggered: Vec<(&str, &str)> = world
        .state
        .triggered
        .iter()
        .map(|t| (t.job.as_str(), t.via.as_str()))
        .collect();
    assert_eq!(
        triggered,
        [("pipelines/deploy", "build")],
        "build_job queued one build (app merged into its queued item)"
    );
    // Every request carried the API token (python-jenkins' Basic auth), none was anonymous.
    let anonymous: Vec<&str> = world
        .requests
        .iter()
        .filter(|r| r.auth_kind != "token")
        .map(|r| r.path.as_str())
        .collect();
    assert!(
        anonymous.is_empty(),
        "requests without the token: {anonymous:?}"
    );
}

/// What the calls above rely on, on the wire: `/` and every object's page answer 200 with
/// `X-Jenkins` (and `X-Hudson`, as Jenkins' layout adds it); node actions redirect to the
/// node's page and `doDelete` to `/computer/`; `/me` is the caller; a running build's API.
#[tokio::test]
async fn pages_redirects_and_refusals_on_the_wire() {
    let mut state = serde_json::to_value(seeded_state()).expect("state as JSON");
    state["auth"]["anonymous_read"] = json!(true);
    // No crumbs, so an anonymous POST reaches the action's permission check.
    state["auth"]["csrf"] = json!(false);
    let addr = support::start(Kind::Jenkins, state).await;
    let auth = basic("ci", "tok");
    let with_auth = [("Authorization", auth.as_str())];

    for page in [
        "/",
        "/computer/",
        "/computer/mac-1/",
        "/computer/(built-in)/",
        "/job/app/",
        "/job/pipelines/",
        "/job/pipelines/job/deploy/8/",
        "/me/",
    ] {
        let reply = get(addr, page, &with_auth).await;
        assert_eq!(reply.status, 200, "{page}: {}", reply.body);
        assert_eq!(reply.header("X-Jenkins"), Some("2.579"), "{page}");
        assert_eq!(reply.header("X-Hudson"), Some("1.395"), "{page}");
        assert!(reply.header("X-Jenkins-Session").is_some(), "{page}");
        assert!(
            reply
                .header("Content-Type")
                .is_some_and(|t| t.starts_with("text/html")),
            "{page}"
        );
    }
    for missing in ["/computer/nope/", "/job/nope/", "/job/app/99/", "/nothing/"] {
        assert_eq!(
            get(addr, missing, &with_auth).await.status,
            404,
            "{missing}"
        );
    }

    let me = get(addr, "/me/api/json", &with_auth).await;
    assert_eq!(
        me.json(),
        json!({"_class": "hudson.model.User", "absoluteUrl": format!("http://{addr}/user/ci"),
               "description": null, "fullName": "ci", "id": "ci", "property": []})
    );
    let anonymous_me = get(addr, "/me/api/json", &[]).await;
    assert_eq!(
        anonymous_me.status, 403,
        "/me is not available when not logged in"
    );
    assert_eq!(
        get(addr, "/user/CI/api/json", &with_auth).await.json()["id"],
        "ci",
        "user ids compare ignoring case"
    );

    let running = get(
        addr,
        "/job/app/12/api/json?tree=building,result,inProgress,builtOn,executor",
        &with_auth,
    )
    .await
    .json();
    assert_eq!(
        running,
        json!({"_class": "hudson.model.FreeStyleBuild", "building": true, "result": null,
               "inProgress": true, "builtOn": "linux-1", "executor": {}})
    );
    let progressive = get(
        addr,
        "/job/pipelines/job/deploy/8/logText/progressiveText?start=0",
        &with_auth,
    )
    .await;
    assert_eq!(
        progressive.header("X-More-Data"),
        Some("true"),
        "a running build's log grows"
    );

    let toggled = request(
        addr,
        "POST",
        "/computer/mac-1/toggleOffline?offlineMessage=x",
        &with_auth,
        "",
    )
    .await;
    assert_eq!(
        (toggled.status, toggled.header("Location")),
        (302, Some("/computer/mac-1/"))
    );

    // doDelete: 405 on GET, 403 for anonymous (no Agent/Delete), 404 for an unknown node,
    // then 302 to /computer/ and the node is gone.
    let get_delete = get(addr, "/computer/spare-1/doDelete", &with_auth).await;
    assert_eq!(
        (get_delete.status, get_delete.header("Allow")),
        (405, Some("POST"))
    );
    let anonymous = request(addr, "POST", "/computer/spare-1/doDelete", &[], "").await;
    assert_eq!(anonymous.status, 403);
    assert_eq!(
        anonymous.header("X-Required-Permission"),
        Some("hudson.model.Computer.Delete")
    );
    let unknown = request(addr, "POST", "/computer/nope/doDelete", &with_auth, "").await;
    assert_eq!(unknown.status, 404);
    let deleted = request(addr, "POST", "/computer/spare-1/doDelete", &with_auth, "").await;
    assert_eq!(
        (deleted.status, deleted.header("Location")),
        (302, Some("/computer/"))
    );
    assert_eq!(
        get(addr, "/computer/spare-1/api/json", &with_auth)
            .await
            .status,
        404
    );
}
