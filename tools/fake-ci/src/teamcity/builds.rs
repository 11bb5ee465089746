//! `/app/rest/buildQueue` and `/app/rest/builds`. A queued build keeps its id when it
//! starts, so `/buildQueue/id:N` then answers with the running build; a plain `/builds`
//! applies the default filter (finished builds only, the state's `builds`) and so never
//! lists running ones.

use serde_json::Value;

use super::model::{Tc, collection};
use super::{TcError, TcResult, paging, parse_locator, respond, selection};
use crate::fields;
use crate::http::Req;
use crate::locator::Locator;

const QUEUE_DIMS: &[&str] = &[
    "id",
    "buildType",
    "count",
    "start",
    "lookupLimit",
    "defaultFilter",
    "project",
    "pool",
    "compatibleAgent",
    "item",
    "taskId",
];

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

fn id_of(loc: &Locator) -> Option<u64> {
    loc.single
        .as_deref()
        .or(loc.get("id"))
        .and_then(|v| v.parse().ok())
}

fn build_type_of(loc: &Locator) -> Result<Option<String>, String> {
    Ok(match loc.nested("buildType")? {
        Some(bt) => Some(
            bt.single
                .clone()
                .or_else(|| bt.get("id").map(str::to_owned))
                .unwrap_or_default(),
        ),
        None => None,
    })
}

pub fn queue(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let unknown = loc.unknown(QUEUE_DIMS);
    if !unknown.is_empty() {
        return Err(TcError::unknown_dims(&text, &unknown, QUEUE_DIMS));
    }
    let build_type = build_type_of(&loc).map_err(|e| TcError::locator(&text, e))?;
    let pool = loc.nested("pool").map_err(|e| TcError::locator(&text, e))?;
    let pools = tc.pools();
    let items: Vec<&crate::state::QueueItem> = tc
        .state
        .queue
        .iter()
        .filter(|q| id_of(&loc).is_none_or(|id| q.id == id))
        .filter(|q| build_type.as_ref().is_none_or(|bt| q.job == *bt))
        .filter(|q| {
            pool.as_ref().is_none_or(|p| {
                let wanted = p
                    .single
                    .as_deref()
                    .or(p.get("name"))
                    .or(p.get("id"))
                    .unwrap_or_default();
                q.pools.iter().any(|name| {
                    name == wanted
                        || pools
                            .iter()
                            .any(|(id, n)| n == name && wanted.parse::<u64>().ok() == Some(*id))
                })
            })
        })
        .collect();
    let page = paging::page(items, &loc, &text, tc.state.page_size, req)?;
    let fields = selection(req);
    let agents = compatible_agents(fields.as_deref());
    let values = page.items.iter().map(|q| tc.queued(q, agents)).collect();
    respond(
        req,
        "builds",
        &collection(
            "build",
            Some(page.href),
            page.next_href,
            page.prev_href,
            values,
        ),
        true,
    )
}

/// What the agents inside a queued build's `compatibleAgents` need: only a selection such
/// as `compatibleAgents(agent(id))` shows them at all.
fn compatible_agents(fields: Option<&[fields::Field]>) -> Option<fields::Sel<'_>> {
    fields.and_then(|f| fields::items_inside(f, "compatibleAgents", "agent"))
}

/// A queued build, or the running build it became.
fn by_id(tc: &Tc, req: &Req, id: u64) -> Option<Value> {
    if let Some(item) = tc.state.queue.iter().find(|q| q.id == id) {
        let fields = selection(req);
        return Some(tc.queued(item, compatible_agents(fields.as_deref())));
    }
    tc.running_builds()
        .into_iter()
        .find(|(_, b)| b.build_id() == id)
        .map(|(agent, b)| tc.running_build(agent, b))
}

pub fn queued(tc: &Tc, req: &Req, text: &str) -> TcResult {
    let loc = parse_locator(text)?;
    match id_of(&loc).and_then(|id| by_id(tc, req, id)) {
        Some(value) => respond(req, "build", &value, true),
        None => Err(TcError::not_found(format!(
            "No queued build can be found by locator '{text}'."
        ))),
    }
}

pub fn single(tc: &Tc, req: &Req, text: &str) -> TcResult {
    let loc = parse_locator(text)?;
    match id_of(&loc).and_then(|id| by_id(tc, req, id)) {
        Some(value) => respond(req, "build", &value, true),
        None => Err(TcError::not_found(format!(
            "No build found by locator '{text}'."
        ))),
    }
}

pub fn list(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let unknown = loc.unknown(BUILD_DIMS);
    if !unknown.is_empty() {
        return Err(TcError::unknown_dims(&text, &unknown, BUILD_DIMS));
    }
    let bad = |e: String| TcError::locator(&text, e);
    let id = id_of(&loc);
    let default_filter = loc.boolean("defaultFilter").map_err(bad)?.unwrap_or(true);
    // Which states are asked for; the default filter alone means finished builds only
    // (the state's `builds`), `running:false` finished ones, `running:any` both.
    let (running, queued, finished) = match (loc.get("state"), loc.boolean("running").map_err(bad)?)
    {
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
    let build_type = build_type_of(&loc).map_err(bad)?;
    let agent = loc.nested("agent").map_err(bad)?;
    let agent_name = loc.get("agentName").map(str::to_owned).or_else(|| {
        agent
            .as_ref()
            .and_then(|a| a.single.clone().or(a.get("name").map(str::to_owned)))
    });
    let agent_id = agent
        .as_ref()
        .and_then(|a| a.get("id"))
        .and_then(|v| v.parse::<u64>().ok());
    let number = loc.get("number");
    let mut values = Vec::new();
    if queued {
        let fields = selection(req);
        let agents = compatible_agents(fields.as_deref());
        for item in &tc.state.queue {
            if id.is_none_or(|id| item.id == id)
                && build_type.as_ref().is_none_or(|bt| item.job == *bt)
                && agent_name.is_none()
                && agent_id.is_none()
            {
                values.push(tc.queued(item, agents));
            }
        }
    }
    if running {
        for (index, build) in tc.running_builds() {
            let keep = id.is_none_or(|id| build.build_id() == id)
                && build_type.as_ref().is_none_or(|bt| build.job == *bt)
                && agent_name
                    .as_ref()
                    .is_none_or(|n| tc.state.agents[index].name == *n)
                && agent_id.is_none_or(|aid| tc.agent_id(index) == aid)
                && number.is_none_or(|n| build.number.to_string() == n);
            if keep {
                values.push(tc.running_build(index, build));
            }
        }
    }
    if finished {
        let agent_name_of_id = agent_id.and_then(|aid| {
            (0..tc.state.agents.len())
                .find(|i| tc.agent_id(*i) == aid)
                .map(|i| tc.state.agents[i].name.as_str())
        });
        let mut done: Vec<&crate::state::FinishedBuild> = tc
            .state
            .builds
            .iter()
            .filter(|b| {
                !b.building
                    && id.is_none_or(|id| b.build_id() == id)
                    && build_type.as_ref().is_none_or(|bt| b.job == *bt)
                    && agent_name.as_ref().is_none_or(|n| b.agent == *n)
                    && agent_id.is_none_or(|_| agent_name_of_id == Some(b.agent.as_str()))
                    && number.is_none_or(|n| b.number.to_string() == n)
            })
            .collect();
        // Newest first, as TeamCity lists finished builds.
        done.sort_by_key(|b| std::cmp::Reverse((tc.finished_at_ms(b), b.build_id())));
        values.extend(done.into_iter().map(|b| tc.finished_build(b)));
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
