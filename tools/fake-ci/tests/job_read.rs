//! Job/Read per user (`auth.users[].job_read`): Jenkins filters the queue
//! (`Queue.getItems`), the job lists (`Jenkins.getItems`, a folder's `getItems`) and the
//! executors' `currentExecutable` (`Executor.getCurrentExecutableForApi`) by it, and
//! answers 404 for an item the user cannot read (`Jenkins.getItem` returns null). All of
//! it with HTTP 200 where a list is filtered: an unprivileged user sees an empty queue.

mod support;

use std::net::SocketAddr;

use fake_ci::Kind;
use serde_json::{Value, json};
use support::{basic, get, request, start};

const WORKFLOW_RUN: &str = "org.jenkinsci.plugins.workflow.job.WorkflowRun";

fn world() -> Value {
    json!({
        "auth": {"users": [
            {"user": "ci", "password": "pw", "token": "tok"},
            {"user": "blind", "token": "b-tok", "job_read": false},
            {"user": "team", "token": "t-tok", "job_read": ["platform"]},
            {"user": "one", "token": "o-tok", "job_read": ["platform/app"]}
        ]},
        "pipeline_jobs": ["platform/app"],
        "agents": [
            {"name": "linux-1", "labels": ["linux"], "executors": 2, "running": [
                {"job": "platform/app", "number": 5, "id": 95},
                {"job": "lint", "number": 3, "id": 93}
            ]}
        ],
        "queue": [
            {"id": 101, "job": "lint", "label": "linux"},
            {"id": 102, "job": "platform/app", "label": "linux", "label_exposed": false}
        ],
        "builds": [
            {"job": "lint", "number": 2, "result": "SUCCESS", "agent": "linux-1"},
            {"job": "platform/app", "number": 4, "result": "SUCCESS", "agent": "linux-1"}
        ]
    })
}

async fn as_user(addr: SocketAddr, user: &str, token: &str, target: &str) -> (u16, Value) {
    let reply = get(addr, target, &[("Authorization", &basic(user, token))]).await;
    let json = reply
        .header("content-type")
        .is_some_and(|t| t.starts_with("application/json"));
    let body = if reply.status == 200 && json {
        reply.json()
    } else {
        Value::Null
    };
    (reply.status, body)
}

fn queue_ids(queue: &Value) -> Vec<u64> {
    queue["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_u64().expect("id"))
        .collect()
}

fn executables(computer: &Value, key: &str) -> Vec<Value> {
    computer[key]
        .as_array()
        .expect("executors")
        .iter()
        .map(|e| e["currentExecutable"]["url"].clone())
        .collect()
}

#[tokio::test]
async fn a_user_without_job_read_sees_an_empty_queue_and_no_jobs_with_200() {
    let addr = start(Kind::Jenkins, world()).await;
    let root = format!("http://{addr}/");
    let (status, queue) = as_user(addr, "ci", "tok", "/queue/api/json?tree=items[id]").await;
    assert_eq!((status, queue_ids(&queue)), (200, vec![101, 102]));

    let (status, queue) = as_user(addr, "blind", "b-tok", "/queue/api/json?tree=items[id]").await;
    assert_eq!((status, queue_ids(&queue)), (200, vec![]));
    // ci-fleet's visibility check.
    let (status, jobs) = as_user(addr, "blind", "b-tok", "/api/json?tree=jobs[name]{0,1}").await;
    assert_eq!(
        (status, jobs),
        (200, json!({"_class": "hudson.model.Hudson", "jobs": []}))
    );
    let (_, jobs) = as_user(addr, "ci", "tok", "/api/json?tree=jobs[name]{0,1}").await;
    assert_eq!(
        jobs["jobs"],
        json!([{"_class": "hudson.model.FreeStyleProject", "name": "lint"}])
    );

    // Executors: the runs are there (busy, not idle), their executables null.
    let tree = "/computer/api/json?tree=computer[idle,executors[idle,currentExecutable[url]],oneOffExecutors[idle,currentExecutable[url]]]";
    let (_, set) = as_user(addr, "blind", "b-tok", tree).await;
    let (builtin, linux1) = (&set["computer"][0], &set["computer"][1]);
    assert_eq!(
        executables(linux1, "executors"),
        vec![Value::Null, Value::Null]
    );
    assert_eq!(linux1["executors"][0]["idle"], false);
    assert_eq!(linux1["idle"], false);
    assert_eq!(executables(builtin, "oneOffExecutors"), vec![Value::Null]);
    assert_eq!(builtin["idle"], false);
    let (_, set) = as_user(addr, "ci", "tok", tree).await;
    assert_eq!(
        executables(&set["computer"][1], "executors"),
        vec![
            json!(format!("{root}job/platform/job/app/5/")),
            json!(format!("{root}job/lint/3/"))
        ]
    );
}

#[tokio::test]
async fn an_item_the_user_cannot_read_is_not_found() {
    let addr = start(Kind::Jenkins, world()).await;
    for target in [
        "/job/lint/api/json",
        "/job/lint/2/api/json",
        "/job/lint/3/api/json",
        "/job/lint/2/consoleText",
        "/job/platform/api/json",
        "/job/platform/job/app/api/json",
        "/job/platform/job/app/5/api/json",
        "/queue/item/101/api/json",
        "/queue/item/102/api/json",
        "/queue/item/93/api/json",
        "/queue/item/95/api/json",
        "/job/lint/",
    ] {
        let (status, _) = as_user(addr, "blind", "b-tok", target).await;
        assert_eq!(status, 404, "{target}");
        let (status, _) = as_user(addr, "ci", "tok", target).await;
        assert_eq!(status, 200, "{target} for a user with Job/Read");
    }
    let auth = basic("blind", "b-tok");
    let trigger = request(
        addr,
        "POST",
        "/job/lint/build",
        &[("Authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(
        trigger.status, 404,
        "no trigger of a job the user cannot see"
    );
}

/// Granted on a folder, Job/Read covers everything inside it; granted on a job inside a
/// folder the user cannot read, it shows the job's queue items and executables, but the
/// job cannot be reached by URL or listing (each folder on the way is `getItem`'d).
#[tokio::test]
async fn job_read_on_a_folder_covers_its_items() {
    let addr = start(Kind::Jenkins, world()).await;
    let root = format!("http://{addr}/");
    let (_, queue) = as_user(addr, "team", "t-tok", "/queue/api/json?tree=items[id]").await;
    assert_eq!(queue_ids(&queue), vec![102]);
    let (_, jobs) = as_user(
        addr,
        "team",
        "t-tok",
        "/api/json?tree=jobs[name,jobs[name]]",
    )
    .await;
    assert_eq!(
        jobs["jobs"],
        json!([{"_class": "com.cloudbees.hudson.plugins.folder.Folder", "name": "platform",
                "jobs": [{"_class": "org.jenkinsci.plugins.workflow.job.WorkflowJob", "name": "app"}]}])
    );
    let (status, run) = as_user(addr, "team", "t-tok", "/job/platform/job/app/5/api/json").await;
    assert_eq!((status, run["_class"].clone()), (200, json!(WORKFLOW_RUN)));
    let (status, _) = as_user(addr, "team", "t-tok", "/job/lint/api/json").await;
    assert_eq!(status, 404);
    let (_, linux1) = as_user(
        addr,
        "team",
        "t-tok",
        "/computer/linux-1/api/json?tree=executors[currentExecutable[url]]",
    )
    .await;
    assert_eq!(
        executables(&linux1, "executors"),
        vec![json!(format!("{root}job/platform/job/app/5/")), Value::Null]
    );

    let (_, queue) = as_user(addr, "one", "o-tok", "/queue/api/json?tree=items[id]").await;
    assert_eq!(queue_ids(&queue), vec![102], "the item's task is readable");
    let (_, jobs) = as_user(addr, "one", "o-tok", "/api/json?tree=jobs[name]").await;
    assert_eq!(jobs["jobs"], json!([]), "the folder is not");
    let (status, _) = as_user(addr, "one", "o-tok", "/job/platform/job/app/api/json").await;
    assert_eq!(status, 404);
}
