//! What `/buildQueue` and `/builds` share: the `id` and `buildType` of a locator, the
//! agents a `compatibleAgents` selection shows, and a build by id (queued, or the
//! running build it became: a queued build keeps its id when it starts).

use serde_json::Value;

use super::model::Tc;
use super::render::selection;
use crate::fields;
use crate::http::Req;
use crate::locator::Locator;

pub fn id_of(loc: &Locator) -> Option<u64> {
    loc.single
        .as_deref()
        .or(loc.get("id"))
        .and_then(|v| v.parse().ok())
}

pub fn build_type_of(loc: &Locator) -> Result<Option<String>, String> {
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

/// What the agents inside a queued build's `compatibleAgents` need: only a selection such
/// as `compatibleAgents(agent(id))` shows them at all.
pub fn compatible_agents(fields: Option<&[fields::Field]>) -> Option<fields::Sel<'_>> {
    fields.and_then(|f| fields::items_inside(f, "compatibleAgents", "agent"))
}

/// A queued build, or the running build it became.
pub fn by_id(tc: &Tc, req: &Req, id: u64) -> Option<Value> {
    if let Some(item) = tc.state.queue.iter().find(|q| q.id == id) {
        let fields = selection(req);
        return Some(tc.queued(item, compatible_agents(fields.as_deref())));
    }
    tc.running_builds()
        .into_iter()
        .find(|(_, b)| b.build_id() == id)
        .map(|(agent, b)| tc.running_build(agent, b))
}
