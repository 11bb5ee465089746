//! `/app/rest/agents`: listings by the agent locator (`locator.rs`), single agents,
//! their field resources (`field_resources.rs`) and their removal; a pool's agents
//! (`/app/rest/agentPools/<locator>/agents`).

mod field_resources;
mod locator;

use axum::http::StatusCode;
use serde_json::Value;

use super::error::{TcError, TcResult, parse_locator};
use super::model::{Tc, collection};
use super::paging;
use super::render::{respond, selection};
use crate::app::World;
use crate::fields::Sel;
use crate::http::{self, Req};

pub use field_resources::{get_field, put_field};
pub use locator::find_one;

pub fn list(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let all = locator::find(tc, &text)?;
    let page = paging::page(all, &loc, &text, tc.state.page_size, req)?;
    let fields = selection(req);
    let sel = fields.as_deref().map_or(Sel::All, Sel::of).child("agent");
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|&i| tc.agent_in(i, true, sel))
        .collect();
    respond(
        req,
        "agents",
        &collection(
            "agent",
            Some(page.href),
            page.next_href,
            page.prev_href,
            items,
        ),
        true,
    )
}

/// `GET /app/rest/agentPools/<pool locator>/agents` (AgentPoolRequest.getPoolAgents):
/// `new Agents(Locator.merge(pool:(id:N),defaultFilter:false, locator), null pager,
/// fields)`: the pool's agents, whatever their state, narrowed by the request's own
/// `locator`; `count` and agents, no `href` (no pager). 404 for an unknown pool.
pub fn of_pool(tc: &Tc, req: &Req, pool_text: &str) -> TcResult {
    let pool = parse_locator(pool_text)?;
    let id = tc
        .pools()
        .into_iter()
        .find(|(id, name)| match &pool.single {
            Some(v) => v == name || v.parse::<u64>().ok() == Some(*id),
            None => {
                pool.get("id")
                    .is_none_or(|v| v.parse::<u64>().ok() == Some(*id))
                    && pool.get("name").is_none_or(|v| v == name)
            }
        })
        .map(|(id, _)| id)
        .ok_or_else(|| {
            TcError::not_found(format!("No agent pool is found by locator '{pool_text}'."))
        })?;
    let text = match req.query_param("locator").filter(|l| !l.is_empty()) {
        Some(narrowed) => format!("pool:(id:{id}),defaultFilter:false,{narrowed}"),
        None => format!("pool:(id:{id}),defaultFilter:false"),
    };
    let fields = selection(req);
    let sel = fields.as_deref().map_or(Sel::All, Sel::of).child("agent");
    let items = locator::find(tc, &text)?
        .into_iter()
        .map(|i| tc.agent_in(i, true, sel))
        .collect();
    respond(
        req,
        "agents",
        &collection("agent", None, None, None, items),
        true,
    )
}

pub fn single(tc: &Tc, req: &Req, loc: &str) -> TcResult {
    let index = find_one(tc, loc)?;
    respond(req, "agent", &tc.agent(index, true), true)
}

/// `DELETE /app/rest/agents/<locator>`: AgentRequest.deleteAgent ("Delete an inactive
/// agent") hands the agent to BuildAgentManager.removeAgent and returns nothing, so JAX-RS
/// answers 204. A connected agent is refused with a 500 (see the README: the refusal and
/// its wording are not in any source this fake could read).
pub fn delete(world: &mut World, index: usize) -> TcResult {
    let agents = &mut world.state.agents;
    if agents[index].connected {
        return Err(TcError::internal(
            "jetbrains.buildServer.serverSide.AgentCannotBeRemovedException",
            format!(
                "Agent '{}' is connected: only a disconnected agent can be removed",
                agents[index].name
            ),
        ));
    }
    // Agent ids belong to the server, not to positions: the agents after this one keep
    // theirs (a missing id defaults to the 1-based position).
    for (i, agent) in agents.iter_mut().enumerate() {
        agent.id.get_or_insert(i as u64 + 1);
    }
    agents.remove(index);
    Ok(http::response(StatusCode::NO_CONTENT, "text/plain", ""))
}

#[cfg(test)]
mod tests;
