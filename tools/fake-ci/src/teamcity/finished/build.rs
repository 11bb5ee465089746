//! A finished (or still running) build of the state's `builds` at
//! `/app/rest/builds/id:N`: status and state, comment and `canceledInfo`, dates, agent,
//! revisions and properties.

use serde_json::{Map, Value, json};

use super::entity::{build_type, collection, href, meta, properties};
use crate::app::World;
use crate::clock::now_ms;
use crate::state::FinishedBuild;
use crate::teamcity::model::{Tc, tc_date};

pub fn build_json(build: &FinishedBuild, world: &World, prefix: &str, web: &str) -> Value {
    let id = build.build_id();
    let started = build.started_at_ms.unwrap_or_else(|| now_ms() - 120_000);
    let mut obj = Map::new();
    obj.insert("id".into(), json!(id));
    obj.insert("buildTypeId".into(), json!(build.job));
    obj.insert("number".into(), json!(build.number.to_string()));
    obj.insert(
        "status".into(),
        json!(if build.building {
            "SUCCESS"
        } else {
            build.result.as_str()
        }),
    );
    obj.insert(
        "state".into(),
        json!(if build.building {
            "running"
        } else {
            "finished"
        }),
    );
    if let Some(branch) = &build.branch {
        obj.insert("branchName".into(), json!(branch));
    }
    obj.insert(
        "href".into(),
        json!(href(prefix, &format!("builds/id:{id}"))),
    );
    obj.insert(
        "webUrl".into(),
        json!(format!(
            "{web}/viewLog.html?buildId={id}&buildTypeId={}",
            build.job
        )),
    );
    obj.insert("statusText".into(), json!(Tc::status_text(build)));
    obj.insert("buildType".into(), build_type(prefix, web, &build.job));
    insert_comments(&mut obj, build, started);
    insert_dates(&mut obj, build, started);
    if let Some(agent) = agent(build, world, prefix) {
        obj.insert("agent".into(), agent);
    }
    obj.insert("revisions".into(), revisions(build));
    obj.insert(
        "properties".into(),
        properties(&build.parameters, &build.inherited),
    );
    meta(
        obj,
        &[
            "id",
            "buildTypeId",
            "number",
            "status",
            "state",
            "branchName",
            "href",
            "webUrl",
        ],
    )
}

/// The description as TeamCity's build comment, and why a canceled build was canceled.
fn insert_comments(obj: &mut Map<String, Value>, build: &FinishedBuild, started: i64) {
    if let Some(text) = &build.description {
        obj.insert(
            "comment".into(),
            json!({"timestamp": tc_date(started), "text": text, "user": {"username": "ci"}}),
        );
    }
    if let (false, "UNKNOWN", Some(text)) = (
        build.building,
        build.result.as_str(),
        &build.canceled_comment,
    ) {
        obj.insert(
            "canceledInfo".into(),
            json!({"timestamp": tc_date(started + build.duration_ms as i64), "text": text}),
        );
    }
}

fn insert_dates(obj: &mut Map<String, Value>, build: &FinishedBuild, started: i64) {
    obj.insert("queuedDate".into(), json!(tc_date(started - 5_000)));
    obj.insert("startDate".into(), json!(tc_date(started)));
    if !build.building {
        obj.insert(
            "finishDate".into(),
            json!(tc_date(started + build.duration_ms as i64)),
        );
    }
}

/// The agent that ran it; one removed since is still named.
fn agent(build: &FinishedBuild, world: &World, prefix: &str) -> Option<Value> {
    if let Some((index, agent)) = world
        .state
        .agents
        .iter()
        .enumerate()
        .find(|(_, a)| a.name == build.agent)
    {
        let agent_id = agent.id.unwrap_or(index as u64 + 1);
        Some(
            json!({"id": agent_id, "name": agent.name, "typeId": agent_id, "href": href(prefix, &format!("agents/id:{agent_id}"))}),
        )
    } else if !build.agent.is_empty() {
        Some(json!({"name": build.agent}))
    } else {
        None
    }
}

fn revisions(build: &FinishedBuild) -> Value {
    let items = build
        .revision
        .iter()
        .map(|version| {
            let mut revision = json!({"version": version});
            if let Some(branch) = &build.branch {
                revision["vcsBranchName"] = json!(format!("refs/heads/{branch}"));
            }
            if let Some(root) = &build.vcs_root {
                revision["vcs-root-instance"] =
                    json!({"id": "1", "vcs-root-id": root, "name": root});
            }
            revision
        })
        .collect();
    collection("revision", items)
}
