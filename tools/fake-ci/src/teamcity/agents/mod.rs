//! `/app/rest/agents`: listings by the agent locator (`locator.rs`), single agents, and
//! their field resources (`field_resources.rs`).

mod field_resources;
mod locator;

use serde_json::Value;

use super::error::{TcResult, parse_locator};
use super::model::{Tc, collection};
use super::paging;
use super::render::{respond, selection};
use crate::fields::Sel;
use crate::http::Req;

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

pub fn single(tc: &Tc, req: &Req, loc: &str) -> TcResult {
    let index = find_one(tc, loc)?;
    respond(req, "agent", &tc.agent(index, true), true)
}

#[cfg(test)]
mod tests;
