//! `buildWithParameters` and `build` answer as Jenkins does (REAL-SERVERS.md #10, F5):
//! declared parameters only, 400 for a job that declares none, 201 for a new queue item,
//! 303 when merged into an equal queued item, 302 when refused; `build` of a
//! parameterized job reads a submitted form. Only new items are recorded in `triggered`.

mod support;

use fake_ci::{FakeState, Kind};
use serde_json::{Value, json};
use support::{basic, get, request};

fn state() -> FakeState {
    serde_json::from_value(json!({
        "pipeline_jobs": ["pipelines/deploy"],
        "agents": [{"name": "linux-1", "labels": ["linux"]}],
        "job_config": {
            "platform/app": {"parameters": {"AGENT_LABEL": "linux-8g", "SHARD": ""}},
            "pipelines/deploy": {"parameters": {"TARGET": "staging"}},
            "vetoed": {"schedule_vetoed": true},
            "cleared": {"parameters": {}}
        },
        "builds": [
            {"job": "platform/app", "number": 41, "parameters": {"AGENT_LABEL": "linux-4g", "OLD": "x"}},
            {"job": "inferred", "number": 3, "parameters": {"AGENT_LABEL": "linux-8g"}},
            {"job": "plain", "number": 3},
            {"job": "vetoed", "number": 1},
            {"job": "cleared", "number": 2, "parameters": {"AGENT_LABEL": "linux-8g"}},
            {"job": "pipelines/deploy", "number": 7}
        ],
        "queue": [
            {"id": 501, "job": "pipelines/deploy", "label": "linux", "label_exposed": false},
            {"id": 502, "job": "queued", "label": "linux"},
            {"id": 503, "job": "pending", "label": "linux", "pending": true}
        ]
    }))
    .expect("valid state")
}

struct Fake {
    addr: std::net::SocketAddr,
    app: fake_ci::App,
    auth: String,
}

impl Fake {
    async fn start() -> Fake {
        let (addr, app) = fake_ci::spawn(Kind::Jenkins, state())
            .await
            .expect("starts");
        Fake {
            addr,
            app,
            auth: basic("ci", "tok"),
        }
    }

    async fn post(&self, path: &str, body: &str) -> support::Reply {
        let headers = [
            ("Authorization", self.auth.as_str()),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ];
        request(self.addr, "POST", path, &headers, body).await
    }

    async fn get(&self, path: &str) -> support::Reply {
        get(self.addr, path, &[("Authorization", self.auth.as_str())]).await
    }

    fn root(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// `(queue_id, job, via, parameters)` of every recorded trigger.
    fn triggered(&self) -> Vec<(u64, String, String, Value)> {
        (self.app.world().state.triggered.iter())
            .map(|t| {
                let parameters = serde_json::to_value(&t.parameters).expect("serialises");
                (t.queue_id, t.job.clone(), t.via.clone(), parameters)
            })
            .collect()
    }

    fn queue_ids(&self) -> Vec<u64> {
        self.app.world().state.queue.iter().map(|q| q.id).collect()
    }
}

fn item_id(location: &str) -> u64 {
    location
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no queue item id in {location}"))
}

#[tokio::test]
async fn a_job_exports_the_parameters_it_declares_as_jenkins_does() {
    let fake = Fake::start().await;
    let job = fake.get("/job/platform/job/app/api/json").await.json();
    let definition = |name: &str, value: &str| {
        json!({"_class": "hudson.model.StringParameterDefinition",
               "defaultParameterValue": {"_class": "hudson.model.StringParameterValue", "name": name, "value": value},
               "description": null, "name": name, "type": "StringParameterDefinition"})
    };
    assert_eq!(
        job["property"],
        json!([{"_class": "hudson.model.ParametersDefinitionProperty",
                "parameterDefinitions": [definition("AGENT_LABEL", "linux-8g"), definition("SHARD", "")]}]),
        "job_config wins over the names its builds had (OLD is not declared)"
    );
    // A freestyle job's actions hold the property too, one level deeper: at depth 0 its
    // default value keeps only `value` (visibility 4), not `name` (3).
    assert_eq!(
        job["actions"][0]["parameterDefinitions"][0]["defaultParameterValue"],
        json!({"_class": "hudson.model.StringParameterValue", "value": "linux-8g"})
    );
    let names = fake
        .get("/job/platform/job/app/api/json?tree=property[parameterDefinitions[name]]")
        .await
        .json();
    assert_eq!(
        names["property"][0]["parameterDefinitions"],
        json!([{"_class": "hudson.model.StringParameterDefinition", "name": "AGENT_LABEL"},
               {"_class": "hudson.model.StringParameterDefinition", "name": "SHARD"}])
    );

    let pipeline = fake.get("/job/pipelines/job/deploy/api/json").await.json();
    assert_eq!(
        pipeline["_class"],
        "org.jenkinsci.plugins.workflow.job.WorkflowJob"
    );
    assert_eq!(
        pipeline["property"][0]["parameterDefinitions"][0]["name"],
        "TARGET"
    );
    assert_eq!(
        pipeline["actions"],
        json!([]),
        "a WorkflowJob adds no property actions"
    );

    let inferred = fake.get("/job/inferred/api/json").await.json();
    assert_eq!(
        inferred["property"][0]["parameterDefinitions"][0]["defaultParameterValue"]["value"], "",
        "without job_config, the names its builds had, default empty"
    );
    for job in ["plain", "cleared"] {
        let json = fake.get(&format!("/job/{job}/api/json")).await.json();
        assert_eq!((job, &json["property"]), (job, &json!([])));
        assert_eq!((job, &json["actions"]), (job, &json!([])));
    }
}

#[tokio::test]
async fn build_with_parameters_keeps_declared_ones_and_merges_equal_items() {
    let fake = Fake::start().await;
    let root = fake.root();
    let path = "/job/platform/job/app/buildWithParameters";

    let queued = fake
        .post(
            &format!("{path}?delay=0sec"),
            "AGENT_LABEL=linux-16g&CI_FLEET_RETRY_REASON=oom&OLD=y",
        )
        .await;
    assert_eq!(queued.status, 201, "{}", queued.body);
    let location = queued.header("Location").expect("Location").to_owned();
    let id = item_id(&location);
    assert_eq!(location, format!("{root}queue/item/{id}/"));
    assert_eq!(
        fake.triggered(),
        [(
            id,
            "platform/app".to_owned(),
            "buildWithParameters".to_owned(),
            json!({"AGENT_LABEL": "linux-16g", "SHARD": ""})
        )],
        "undeclared names dropped, a missing one takes its default"
    );
    assert!(fake.queue_ids().contains(&id));

    // The same values again: Queue.schedule2 finds the equal item, 303 to it, nothing new.
    let queue_before = fake.queue_ids();
    let merged = fake
        .post(path, "SHARD=&AGENT_LABEL=linux-16g&CI_FLEET_RETRY_OF=41")
        .await;
    assert_eq!(merged.status, 303, "{}", merged.body);
    assert_eq!(merged.header("Location"), Some(location.as_str()));
    assert_eq!(
        fake.triggered().len(),
        1,
        "a merged request is not recorded"
    );
    assert_eq!(fake.queue_ids(), queue_before);

    // Other values are another build.
    let other = fake.post(path, "AGENT_LABEL=linux-16g&SHARD=2").await;
    assert_eq!(other.status, 201, "{}", other.body);
    let other_id = item_id(other.header("Location").expect("Location"));
    assert_ne!(other_id, id);
    assert_eq!(
        fake.triggered()[1].3,
        json!({"AGENT_LABEL": "linux-16g", "SHARD": "2"})
    );

    // Two values for one declared name: IllegalArgumentException.
    let twice = fake.post(path, "SHARD=1&SHARD=2").await;
    assert_eq!(twice.status, 500);
    assert!(
        twice
            .body
            .contains("Illegal number of parameter values for SHARD: 2"),
        "{}",
        twice.body
    );
    assert_eq!(fake.triggered().len(), 2);
}

#[tokio::test]
async fn build_with_parameters_refuses_a_job_without_parameters_and_a_vetoed_schedule() {
    let fake = Fake::start().await;
    for job in ["plain", "cleared"] {
        let refused = fake
            .post(&format!("/job/{job}/buildWithParameters"), "X=1")
            .await;
        assert_eq!((job, refused.status), (job, 400));
        assert!(
            refused
                .body
                .contains(&format!("{job} is not parameterized")),
            "{}",
            refused.body
        );
    }
    let nested = fake
        .post("/job/folder/job/none/buildWithParameters", "")
        .await;
    assert_eq!(nested.status, 404, "an unknown job");

    let vetoed = fake.post("/job/vetoed/build?delay=0sec", "").await;
    assert_eq!(vetoed.status, 302);
    assert_eq!(
        vetoed.header("Location"),
        Some("/job/vetoed/"),
        "sendRedirect(\".\")"
    );
    assert!(fake.triggered().is_empty(), "nothing recorded");

    let get = fake.get("/job/platform/job/app/buildWithParameters").await;
    assert_eq!(get.status, 405, "POST only");
    let anonymous = request(
        fake.addr,
        "POST",
        "/job/platform/job/app/buildWithParameters",
        &[],
        "",
    )
    .await;
    assert_eq!(anonymous.status, 403);
    assert!(fake.triggered().is_empty());
}

#[tokio::test]
async fn build_of_a_job_without_parameters_is_created_even_when_merged() {
    let fake = Fake::start().await;
    let root = fake.root();
    let first = fake.post("/job/plain/build?delay=0sec", "").await;
    assert_eq!(first.status, 201, "{}", first.body);
    let location = first.header("Location").expect("Location").to_owned();
    let id = item_id(&location);
    assert_eq!(
        fake.triggered(),
        [(id, "plain".to_owned(), "build".to_owned(), json!({}))]
    );
    // doBuild answers 201 with the existing item (JENKINS-66105): nothing new queued.
    let again = fake.post("/job/plain/build?delay=0sec", "").await;
    assert_eq!(again.status, 201);
    assert_eq!(again.header("Location"), Some(location.as_str()));
    assert_eq!(fake.triggered().len(), 1);

    // An item the state document queued has no parameters: the job's build merges into it.
    let queued = fake.post("/job/queued/build", "").await;
    assert_eq!(
        (queued.status, queued.header("Location")),
        (201, Some(format!("{root}queue/item/502/").as_str()))
    );
    // A pending item is not merged into (liveGetItems skips pendings).
    let pending = fake.post("/job/pending/build", "").await;
    assert_eq!(pending.status, 201);
    assert_ne!(item_id(pending.header("Location").expect("Location")), 503);
    assert_eq!(fake.triggered().len(), 2);
    assert_eq!(fake.get("/job/plain/build").await.status, 405, "POST only");
}

#[tokio::test]
async fn build_of_a_parameterized_job_reads_the_submitted_form() {
    let fake = Fake::start().await;
    let path = "/job/platform/job/app/build";
    let page = fake.get(path).await;
    assert_eq!(page.status, 200, "GET shows the parameters form");

    let nothing = fake.post(path, "").await;
    assert_eq!(nothing.status, 400);
    assert!(
        nothing.body.contains("Nothing is submitted"),
        "{}",
        nothing.body
    );
    let no_form = fake.post(&format!("{path}?delay=0sec"), "").await;
    assert_eq!(no_form.status, 400);
    assert!(
        no_form.body.contains("This page expects a form submission"),
        "{}",
        no_form.body
    );
    let unknown = fake
        .post(
            path,
            "json=%7B%22parameter%22%3A%7B%22name%22%3A%22OLD%22%2C%22value%22%3A%22x%22%7D%7D",
        )
        .await;
    assert_eq!(unknown.status, 500);
    assert!(unknown.body.contains("No such parameter definition: OLD"));
    assert!(fake.triggered().is_empty());

    let form = r#"{"parameter":[{"name":"AGENT_LABEL","value":"linux-16g"}]}"#;
    let body = format!("json={}", urlencode(form));
    let created = fake.post(path, &body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = item_id(created.header("Location").expect("Location"));
    assert_eq!(
        fake.triggered(),
        [(
            id,
            "platform/app".to_owned(),
            "build".to_owned(),
            json!({"AGENT_LABEL": "linux-16g"})
        )],
        "only the submitted values (_doBuild fills no defaults)"
    );
    // Queue.schedule gives no item when merged: back to the job's page.
    let merged = fake.post(path, &body).await;
    assert_eq!(merged.status, 302);
    assert_eq!(merged.header("Location"), Some("/job/platform/job/app/"));
    assert_eq!(fake.triggered().len(), 1);
}

#[tokio::test]
async fn a_pipeline_node_block_is_another_task() {
    let fake = Fake::start().await;
    // Item 501 is the PlaceholderTask of a running deploy's node block, not the job.
    let queued = fake
        .post("/job/pipelines/job/deploy/buildWithParameters", "")
        .await;
    assert_eq!(queued.status, 201, "{}", queued.body);
    let id = item_id(queued.header("Location").expect("Location"));
    assert_ne!(id, 501);
    assert_eq!(fake.triggered()[0].3, json!({"TARGET": "staging"}));
    let merged = fake
        .post(
            "/job/pipelines/job/deploy/buildWithParameters",
            "TARGET=staging",
        )
        .await;
    assert_eq!(merged.status, 303);
    assert_eq!(item_id(merged.header("Location").expect("Location")), id);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
