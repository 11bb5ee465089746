//! `/app/rest/builds`: a plain `/builds` applies the default filter (finished builds
//! only, the state's `builds`) and so never lists running ones; `state`, `running` and
//! `defaultFilter:false` widen it as TeamCity reads them.

use serde_json::Value;

use super::build_lookup::{build_type_of, by_id, compatible_agents, id_of};
use super::error::{TcError, TcResult, parse_locator};
use super::model::{Tc, collection};
use super::paging;
use super::render::{respond, selection};
use crate::http::Req;
use crate::locator::Locator;
use crate::state::FinishedBuild;

const BUILD_DIMS: &[&str] = &[
    "id",
    "running",
    "state",
    "defaultFilter",
    "buildType",
    "agent",
    "agentName",
    "number",
    "count",
    "start",
    "lookupLimit",
    "branch",
    "personal",
    "canceled",
    "failedToStart",
    "status",
    "project",
    "affectedProject",
    "sinceDate",
    "untilDate",
    "sinceBuild",
    "tag",
    "pinned",
    "user",
    "property",
    "composite",
    "taskId",
    "hanging",
    "item",
    "pool",
    "queuedDate",
    "startDate",
    "finishDate",
    "history",
    "revision",
    "snapshotDependency",
    "triggered",
    "nodeId",
];

pub fn single(tc: &Tc, req: &Req, text: &str) -> TcResult {
    let loc = parse_locator(text)?;
    match id_of(&loc).and_then(|id| by_id(tc, req, id)) {
        Some(value) => respond(req, "build", &value, true),
        None => Err(TcError::not_found(format!(
            "No build found by locator '{text}'."
        ))),
    }
}

/// Which build states a `/builds` locator asks for.
#[derive(Debug, Clone, Copy)]
struct States {
    running: bool,
    queued: bool,
    finished: bool,
}

/// What a `/builds` locator filters on besides the states.
struct Filter {
    id: Option<u64>,
    build_type: Option<String>,
    agent_name: Option<String>,
    agent_id: Option<u64>,
    number: Option<String>,
}

pub fn list(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let unknown = loc.unknown(BUILD_DIMS);
    if !unknown.is_empty() {
        return Err(TcError::unknown_dims(&text, &unknown, BUILD_DIMS));
    }
    let (states, filter) = read_locator(&loc).map_err(|e| TcError::locator(&text, e))?;
    let mut values = Vec::new();
    if states.queued {
        values.extend(queued(tc, req, &filter));
    }
    if states.running {
        values.extend(running(tc, &filter));
    }
    if states.finished {
        values.extend(finished(tc, &filter));
    }
    let page = paging::page(values, &loc, &text, tc.state.page_size, req)?;
    respond(
        req,
        "builds",
        &collection(
            "build",
            Some(page.href),
            page.next_href,
            page.prev_href,
            page.items,
        ),
        true,
    )
}

fn read_locator(loc: &Locator) -> Result<(States, Filter), String> {
    let id = id_of(loc);
    let default_filter = loc.boolean("defaultFilter")?.unwrap_or(true);
    // The default filter alone means finished builds only (the state's `builds`),
    // `running:false` finished ones, `running:any` both.
    let (running, queued, finished) = match (loc.get("state"), loc.boolean("running")?) {
        (Some(state), _) => {
            let states: Vec<&str> = state.split(',').map(str::trim).collect();
            let any = states.contains(&"any");
            (
                any || states.contains(&"running"),
                any || states.contains(&"queued"),
                any || states.contains(&"finished"),
            )
        }
        (None, Some(running)) => (running, false, !running),
        (None, None) if loc.get("running") == Some("any") => (true, false, true),
        (None, None) => (id.is_some() || !default_filter, !default_filter, true),
    };
    let build_type = build_type_of(loc)?;
    let agent = loc.nested("agent")?;
    let agent_name = loc.get("agentName").map(str::to_owned).or_else(|| {
        agent
            .as_ref()
            .and_then(|a| a.single.clone().or(a.get("name").map(str::to_owned)))
    });
    let agent_id = agent
        .as_ref()
        .and_then(|a| a.get("id"))
        .and_then(|v| v.parse::<u64>().ok());
    let states = States {
        running,
        queued,
        finished,
    };
    let filter = Filter {
        id,
        build_type,
        agent_name,
        agent_id,
        number: loc.get("number").map(str::to_owned),
    };
    Ok((states, filter))
}

/// Queued builds have no agent: an agent filter leaves none.
fn queued(tc: &Tc, req: &Req, filter: &Filter) -> Vec<Value> {
    let fields = selection(req);
    let agents = compatible_agents(fields.as_deref());
    tc.state
        .queue
        .iter()
        .filter(|item| {
            filter.id.is_none_or(|id| item.id == id)
                && filter.build_type.as_ref().is_none_or(|bt| item.job == *bt)
                && filter.agent_name.is_none()
                && filter.agent_id.is_none()
        })
        .map(|item| tc.queued(item, agents))
        .collect()
}

fn running(tc: &Tc, filter: &Filter) -> Vec<Value> {
    let mut values = Vec::new();
    for (index, build) in tc.running_builds() {
        let keep = filter.id.is_none_or(|id| build.build_id() == id)
            && filter.build_type.as_ref().is_none_or(|bt| build.job == *bt)
            && filter
                .agent_name
                .as_ref()
                .is_none_or(|n| tc.state.agents[index].name == *n)
            && filter.agent_id.is_none_or(|aid| tc.agent_id(index) == aid)
            && filter
                .number
                .as_ref()
                .is_none_or(|n| build.number.to_string() == *n);
        if keep {
            values.push(tc.running_build(index, build));
        }
    }
    values
}

/// Finished builds, newest first as TeamCity lists them.
fn finished(tc: &Tc, filter: &Filter) -> Vec<Value> {
    let agent_name_of_id = filter.agent_id.and_then(|aid| {
        (0..tc.state.agents.len())
            .find(|i| tc.agent_id(*i) == aid)
            .map(|i| tc.state.agents[i].name.as_str())
    });
    let mut done: Vec<&FinishedBuild> = tc
        .state
        .builds
        .iter()
        .filter(|b| {
            !b.building
                && filter.id.is_none_or(|id| b.build_id() == id)
                && filter.build_type.as_ref().is_none_or(|bt| b.job == *bt)
                && filter.agent_name.as_ref().is_none_or(|n| b.agent == *n)
                && filter
                    .agent_id
                    .is_none_or(|_| agent_name_of_id == Some(b.agent.as_str()))
                && filter
                    .number
                    .as_ref()
                    .is_none_or(|n| b.number.to_string() == *n)
        })
        .collect();
    done.sort_by_key(|b| std::cmp::Reverse((tc.finished_at_ms(b), b.build_id())));
    done.into_iter().map(|b| tc.finished_build(b)).collect()
}
