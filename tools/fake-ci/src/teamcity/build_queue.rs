//! `/app/rest/buildQueue`: queued builds in queue order, filtered by id, build type and
//! pool; a single one by id, or the running build it became; a queued build's
//! compatible agents.

use super::build_lookup::{build_type_of, by_id, compatible_agents, id_of};
use super::error::{TcError, TcResult, parse_locator};
use super::model::{Tc, collection};
use super::paging;
use super::render::{respond, selection};
use crate::fields::Sel;
use crate::http::Req;
use crate::state::QueueItem;

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

pub fn list(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let unknown = loc.unknown(QUEUE_DIMS);
    if !unknown.is_empty() {
        return Err(TcError::unknown_dims(&text, &unknown, QUEUE_DIMS));
    }
    let build_type = build_type_of(&loc).map_err(|e| TcError::locator(&text, e))?;
    let pool = loc.nested("pool").map_err(|e| TcError::locator(&text, e))?;
    let pools = tc.pools();
    let items: Vec<&QueueItem> = tc
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

pub fn single(tc: &Tc, req: &Req, text: &str) -> TcResult {
    let loc = parse_locator(text)?;
    match id_of(&loc).and_then(|id| by_id(tc, req, id)) {
        Some(value) => respond(req, "build", &value, true),
        None => Err(TcError::not_found(format!(
            "No queued build can be found by locator '{text}'."
        ))),
    }
}

/// `GET /app/rest/buildQueue/<locator>/compatibleAgents` (BuildQueueRequest
/// .serveCompatibleAgents): `new Agents(compatible:(build:(id:N)), null pager, fields)`:
/// only a build still queued (QueuedBuildFinder.getItem, so a started one is 404), the
/// agents the queued build's own `compatibleAgents` lists, `count` and `agent` without
/// `href` or page links (no pager), agents in their short view by default.
pub fn compatible_agents_of(tc: &Tc, req: &Req, text: &str) -> TcResult {
    let loc = parse_locator(text)?;
    let item = id_of(&loc)
        .and_then(|id| tc.state.queue.iter().find(|q| q.id == id))
        .ok_or_else(|| {
            TcError::not_found(format!("No queued build can be found by locator '{text}'."))
        })?;
    let fields = selection(req);
    let sel = fields.as_deref().map_or(Sel::All, Sel::of).child("agent");
    let agents = tc
        .compatible(item)
        .into_iter()
        .map(|i| tc.agent_in(i, true, sel))
        .collect();
    respond(
        req,
        "agents",
        &collection("agent", None, None, None, agents),
        true,
    )
}
