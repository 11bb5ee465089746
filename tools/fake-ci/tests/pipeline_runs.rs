//! Pipeline runs as Jenkins exports them: no `builtOn` on a `WorkflowRun` (running or
//! finished, in the build API, the job and the root's history), an agent's executor
//! holding the `node` block's `PlaceholderExecutable`, the run itself on a one-off
//! executor of the built-in node, and the left queue item of a Pipeline run. Freestyle
//! builds keep `builtOn` and show themselves on the executor.

mod support;

use fake_ci::Kind;
use serde_json::{Value, json};
use support::{basic, get, start};

const T0: i64 = 1_763_800_000_000;
const PLACEHOLDER_EXECUTABLE: &str = "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask$PlaceholderExecutable";
const WORKFLOW_RUN: &str = "org.jenkinsci.plugins.workflow.job.WorkflowRun";
const WORKFLOW_JOB: &str = "org.jenkinsci.plugins.workflow.job.WorkflowJob";
const FREESTYLE_BUILD: &str = "hudson.model.FreeStyleBuild";

/// `platform/app/main` is a multibranch branch job named only in `pipeline_jobs` (no queue
/// item); `deploy` is a Pipeline through its queued `node` block; `lint` is freestyle.
/// Run `platform/app/main #5` has `node` blocks on two agents at once.
fn world() -> Value {
    json!({
        "pipeline_jobs": ["platform/app/main"],
        "agents": [
            {"name": "linux-1", "labels": ["linux"], "executors": 2, "running": [
                {"job": "platform/app/main", "number": 5, "started_at_ms": T0, "progress": 30},
                {"job": "lint", "number": 3, "started_at_ms": T0 + 1_000}
            ]},
            {"name": "linux-2", "labels": ["linux"], "executors": 1, "running": [
                {"job": "platform/app/main", "number": 5, "started_at_ms": T0, "progress": 30}
            ]},
            {"name": "linux-3", "labels": ["linux"], "executors": 1, "running": [
                {"job": "deploy", "number": 8, "id": 91, "started_at_ms": T0 + 2_000}
            ]}
        ],
        "queue": [
            {"id": 102, "job": "deploy", "label": "linux", "label_exposed": false, "queued_at_ms": T0}
        ],
        "builds": [
            {"job": "platform/app/main", "number": 4, "result": "ABORTED", "agent": "linux-2",
             "started_at_ms": T0 - 100_000, "duration_ms": 5_000},
            {"job": "deploy", "number": 7, "result": "FAILURE", "agent": "linux-1",
             "started_at_ms": T0 - 200_000, "duration_ms": 5_000},
            {"job": "lint", "number": 2, "result": "SUCCESS", "agent": "linux-1",
             "started_at_ms": T0 - 300_000, "duration_ms": 5_000}
        ]
    })
}

async fn read(addr: std::net::SocketAddr, target: &str) -> Value {
    let reply = get(addr, target, &[("Authorization", &basic("ci", "tok"))]).await;
    assert_eq!(reply.status, 200, "{target}: {}", reply.body);
    reply.json()
}

#[tokio::test]
async fn an_agents_executor_holds_the_node_blocks_placeholder_executable() {
    let addr = start(Kind::Jenkins, world()).await;
    let root = format!("http://{addr}/");
    let linux1 = read(
        addr,
        "/computer/linux-1/api/json?tree=executors[idle,number,progress,currentExecutable[_class,displayName,estimatedDuration,fullDisplayName,number,timestamp,url,builtOn]]",
    )
    .await;
    assert_eq!(
        linux1["executors"][0],
        json!({
            "idle": false, "number": 0, "progress": 30,
            "currentExecutable": {
                "_class": PLACEHOLDER_EXECUTABLE,
                "displayName": "part of platform » app » main #5",
                "estimatedDuration": 120_000,
                "fullDisplayName": "part of platform » app » main #5",
                "number": 5,
                "timestamp": T0,
                "url": format!("{root}job/platform/job/app/job/main/5/")
            }
        })
    );
    let freestyle = &linux1["executors"][1]["currentExecutable"];
    assert_eq!(freestyle["_class"], FREESTYLE_BUILD);
    assert_eq!(freestyle["builtOn"], "linux-1");
    assert_eq!(freestyle["url"], format!("{root}job/lint/3/"));

    // What ci-fleet's run ledger asks for (executors[idle,currentExecutable[url]]).
    let set = read(
        addr,
        "/computer/api/json?tree=computer[displayName,executors[idle,currentExecutable[url]]]",
    )
    .await;
    let urls: Vec<Vec<Value>> = set["computer"]
        .as_array()
        .expect("computers")
        .iter()
        .map(|c| {
            c["executors"]
                .as_array()
                .expect("executors")
                .iter()
                .map(|e| e["currentExecutable"]["url"].clone())
                .collect()
        })
        .collect();
    let url = |path: &str| json!(format!("{root}{path}"));
    assert_eq!(
        urls,
        vec![
            vec![],
            vec![url("job/platform/job/app/job/main/5/"), url("job/lint/3/")],
            vec![url("job/platform/job/app/job/main/5/")],
            vec![url("job/deploy/8/")],
        ],
        "the built-in node has no regular executor; each agent names its runs"
    );

    // Depth 0 shows executors as empty objects, as before.
    let plain = read(addr, "/computer/linux-1/api/json").await;
    assert_eq!(plain["executors"], json!([{}, {}]));
    assert!(plain["executors"][0].get("currentWorkUnit").is_none());
}

#[tokio::test]
async fn each_running_pipeline_run_takes_a_one_off_executor_of_the_builtin_node() {
    let addr = start(Kind::Jenkins, world()).await;
    let root = format!("http://{addr}/");
    let builtin = read(
        addr,
        "/computer/(built-in)/api/json?tree=idle,numExecutors,executors[idle],oneOffExecutors[idle,number,likelyStuck,currentExecutable[_class,number,url,building,builtOn]]",
    )
    .await;
    assert_eq!(
        builtin,
        json!({
            "_class": "hudson.model.Hudson$MasterComputer",
            "idle": false,
            "numExecutors": 0,
            "executors": [],
            "oneOffExecutors": [
                {"idle": false, "number": -1, "likelyStuck": false, "currentExecutable":
                    {"_class": WORKFLOW_RUN, "number": 5, "url": format!("{root}job/platform/job/app/job/main/5/"), "building": true}},
                {"idle": false, "number": -1, "likelyStuck": false, "currentExecutable":
                    {"_class": WORKFLOW_RUN, "number": 8, "url": format!("{root}job/deploy/8/"), "building": true}}
            ]
        }),
        "one per run (#5 runs node blocks on two agents), no builtOn, and not idle"
    );
    // Only Pipeline runs do: without them the built-in node is idle with no one-off executor.
    let mut freestyle_only = world();
    freestyle_only["pipeline_jobs"] = json!([]);
    freestyle_only["queue"] = json!([]);
    let addr = start(Kind::Jenkins, freestyle_only).await;
    let builtin = read(
        addr,
        "/computer/(built-in)/api/json?tree=idle,oneOffExecutors[number]",
    )
    .await;
    assert_eq!(builtin["idle"], true);
    assert_eq!(builtin["oneOffExecutors"], json!([]));
    // Executors count busy regular executors only: the one-off ones are not among them.
    let set = read(addr, "/computer/api/json?tree=busyExecutors,totalExecutors").await;
    assert_eq!(
        (set["busyExecutors"].clone(), set["totalExecutors"].clone()),
        (json!(4), json!(4))
    );
}

#[tokio::test]
async fn a_workflow_run_has_no_built_on_running_or_finished() {
    let addr = start(Kind::Jenkins, world()).await;
    for target in [
        "/job/platform/job/app/job/main/5/api/json",
        "/job/platform/job/app/job/main/4/api/json",
        "/job/deploy/8/api/json",
        "/job/deploy/7/api/json",
    ] {
        let run = read(addr, target).await;
        assert_eq!(run["_class"], WORKFLOW_RUN, "{target}");
        assert!(run.get("builtOn").is_none(), "{target}: {run:#}");
        assert!(run.get("changeSets").is_some(), "{target}");
    }
    let main = read(addr, "/job/platform/job/app/job/main/api/json").await;
    assert_eq!(main["_class"], WORKFLOW_JOB, "named in pipeline_jobs");
    assert_eq!(main["lastBuild"]["_class"], WORKFLOW_RUN);
    for target in ["/job/lint/3/api/json", "/job/lint/2/api/json"] {
        let build = read(addr, target).await;
        assert_eq!(build["_class"], FREESTYLE_BUILD, "{target}");
        assert_eq!(build["builtOn"], "linux-1", "{target}");
    }

    let history = read(
        addr,
        "/api/json?tree=jobs[name,builds[number,builtOn],jobs[name,jobs[name,builds[number,builtOn]]]]",
    )
    .await;
    let jobs = &history["jobs"];
    let by_name = |list: &Value, name: &str| -> Value {
        list.as_array()
            .expect("jobs")
            .iter()
            .find(|j| j["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list:#}"))
    };
    let main = by_name(
        &by_name(&by_name(jobs, "platform")["jobs"], "app")["jobs"],
        "main",
    );
    assert_eq!(
        main["builds"],
        json!([{"_class": WORKFLOW_RUN, "number": 5}, {"_class": WORKFLOW_RUN, "number": 4}])
    );
    assert_eq!(
        by_name(jobs, "deploy")["builds"],
        json!([{"_class": WORKFLOW_RUN, "number": 8}, {"_class": WORKFLOW_RUN, "number": 7}])
    );
    assert_eq!(
        by_name(jobs, "lint")["builds"],
        json!([
            {"_class": FREESTYLE_BUILD, "number": 3, "builtOn": "linux-1"},
            {"_class": FREESTYLE_BUILD, "number": 2, "builtOn": "linux-1"}
        ])
    );
}

/// The run's `queueId` item is the job's own: once the run started it is a LeftItem whose
/// task is the `WorkflowJob` and whose executable is the `WorkflowRun`.
#[tokio::test]
async fn a_pipeline_runs_left_item_is_the_jobs_and_its_executable_the_run() {
    let addr = start(Kind::Jenkins, world()).await;
    let root = format!("http://{addr}/");
    let left = read(addr, "/queue/item/91/api/json").await;
    assert_eq!(left["_class"], "hudson.model.Queue$LeftItem");
    assert_eq!(
        left["task"],
        json!({"_class": WORKFLOW_JOB, "name": "deploy", "url": format!("{root}job/deploy/"), "color": "blue_anime"})
    );
    assert_eq!(
        left["executable"],
        json!({"_class": WORKFLOW_RUN, "number": 8, "url": format!("{root}job/deploy/8/")})
    );
    let run = read(addr, "/job/deploy/8/api/json?tree=queueId").await;
    assert_eq!(run["queueId"], 91);
}
