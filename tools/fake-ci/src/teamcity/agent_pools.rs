//! `/app/rest/agentPools`: pools by id or name, paged like every collection.

use super::error::{TcError, TcResult, parse_locator};
use super::model::{Tc, collection};
use super::paging;
use super::render::respond;
use crate::http::Req;
use crate::locator::Locator;

const POOL_DIMS: &[&str] = &[
    "id",
    "name",
    "count",
    "start",
    "project",
    "agent",
    "lookupLimit",
];

pub fn list(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let unknown = loc.unknown(POOL_DIMS);
    if !unknown.is_empty() {
        return Err(TcError::unknown_dims(&text, &unknown, POOL_DIMS));
    }
    let all: Vec<(u64, String)> = tc
        .pools()
        .into_iter()
        .filter(|(id, name)| pool_matches(&loc, *id, name))
        .collect();
    let page = paging::page(all, &loc, &text, tc.state.page_size, req)?;
    let items = page
        .items
        .iter()
        .map(|(id, name)| tc.pool_ref(*id, name))
        .collect();
    respond(
        req,
        "agentPools",
        &collection(
            "agentPool",
            Some(page.href),
            page.next_href,
            page.prev_href,
            items,
        ),
        true,
    )
}

pub fn single(tc: &Tc, req: &Req, text: &str) -> TcResult {
    let loc = parse_locator(text)?;
    let found = tc
        .pools()
        .into_iter()
        .find(|(id, name)| pool_matches(&loc, *id, name));
    match found {
        Some((id, name)) => respond(req, "agentPool", &tc.pool(id, &name), true),
        None => Err(TcError::not_found(format!(
            "No agent pool is found by locator '{text}'."
        ))),
    }
}

fn pool_matches(loc: &Locator, id: u64, name: &str) -> bool {
    if let Some(single) = &loc.single {
        return single == name || single.parse::<u64>().ok() == Some(id);
    }
    loc.get("id")
        .is_none_or(|v| v.parse::<u64>().ok() == Some(id))
        && loc.get("name").is_none_or(|v| v == name)
}
