//! The agent locator (AgentFinder): its dimensions, TeamCity's implicit
//! `authorized:true` unless the locator names an agent or a filter that implies one, and
//! `compatible:(build:(id:N))` for a queued build's pools.

use crate::locator::Locator;
use crate::state::Agent;
use crate::teamcity::error::{TcError, parse_locator};
use crate::teamcity::model::Tc;

const AGENT_DIMS: &[&str] = &[
    "id",
    "name",
    "connected",
    "authorized",
    "enabled",
    "parameter",
    "ip",
    "pool",
    "build",
    "compatible",
    "start",
    "count",
    "item",
    "defaultFilter",
    "lookupLimit",
    "typeId",
    "protocol",
];

/// Dimensions that switch off the implicit `authorized:true` (AgentFinder.setLocatorDefaults).
const NO_DEFAULT_DIMS: &[&str] = &[
    "authorized",
    "id",
    "name",
    "build",
    "pool",
    "ip",
    "protocol",
];

pub fn find(tc: &Tc, text: &str) -> Result<Vec<usize>, TcError> {
    let loc = parse_locator(text)?;
    let unknown = loc.unknown(AGENT_DIMS);
    if !unknown.is_empty() {
        return Err(TcError::unknown_dims(text, &unknown, AGENT_DIMS));
    }
    let bad = |e: String| TcError::locator(text, e);
    let agents = &tc.state.agents;
    let mut matches: Vec<usize> = (0..agents.len()).collect();
    if let Some(single) = &loc.single {
        matches.retain(|&i| match single.parse::<u64>() {
            Ok(id) => tc.agent_id(i) == id,
            Err(_) => agents[i].name == *single,
        });
        return Ok(matches);
    }
    retain_named(tc, &loc, text, &mut matches)?;
    retain_flagged(agents, &loc, text, &mut matches)?;
    if let Some(pool) = loc.nested("pool").map_err(bad)? {
        retain_in_pool(tc, &pool, &mut matches);
    }
    if let Some(build) = loc.nested("build").map_err(bad)? {
        let id = build
            .single
            .as_deref()
            .or(build.get("id"))
            .and_then(|v| v.parse::<u64>().ok());
        matches.retain(|&i| agents[i].running.iter().any(|r| Some(r.build_id()) == id));
    }
    if let Some(compatible) = loc.nested("compatible").map_err(bad)? {
        retain_compatible(tc, &loc, &compatible, text, &mut matches)?;
    }
    let default_off = loc.boolean("defaultFilter").map_err(bad)? == Some(false);
    if !default_off && !NO_DEFAULT_DIMS.iter().any(|d| loc.has(d)) {
        matches.retain(|&i| agents[i].authorized);
    }
    Ok(matches)
}

/// `id` (or `typeId`), `name` and `ip`.
fn retain_named(
    tc: &Tc,
    loc: &Locator,
    text: &str,
    matches: &mut Vec<usize>,
) -> Result<(), TcError> {
    let agents = &tc.state.agents;
    if let Some(id) = loc.get("id").or(loc.get("typeId")) {
        let id: u64 = id
            .parse()
            .map_err(|_| TcError::locator(text, format!("Invalid id '{id}'")))?;
        matches.retain(|&i| tc.agent_id(i) == id);
    }
    if let Some(name) = loc.get("name") {
        matches.retain(|&i| agents[i].name == name);
    }
    if let Some(ip) = loc.get("ip") {
        matches.retain(|&i| tc.agent(i, false)["ip"] == ip);
    }
    Ok(())
}

/// `connected`, `enabled` and `authorized` (`true|false|any`).
fn retain_flagged(
    agents: &[Agent],
    loc: &Locator,
    text: &str,
    matches: &mut Vec<usize>,
) -> Result<(), TcError> {
    for (dim, read) in [
        ("connected", (|a: &Agent| a.connected) as fn(&Agent) -> bool),
        ("enabled", |a| a.enabled),
        ("authorized", |a| a.authorized),
    ] {
        if let Some(wanted) = loc.boolean(dim).map_err(|e| TcError::locator(text, e))? {
            matches.retain(|&i| read(&agents[i]) == wanted);
        }
    }
    Ok(())
}

/// `pool:(id:…)`, `pool:(name:…)` or `pool:(<id or name>)`.
fn retain_in_pool(tc: &Tc, pool: &Locator, matches: &mut Vec<usize>) {
    let pools = tc.pools();
    let wanted: Vec<u64> = pools
        .iter()
        .filter(
            |(id, name)| match (&pool.single, pool.get("id"), pool.get("name")) {
                (Some(v), _, _) => v == name || v.parse::<u64>().ok() == Some(*id),
                (None, Some(v), _) => v.parse::<u64>().ok() == Some(*id),
                (None, None, Some(v)) => v == name,
                (None, None, None) => false,
            },
        )
        .map(|(id, _)| *id)
        .collect();
    let agents = &tc.state.agents;
    matches.retain(|&i| wanted.contains(&tc.pool_of(&agents[i]).0));
}

/// `compatible:(build:(id:N))`: agents in the queued build's pools.
fn retain_compatible(
    tc: &Tc,
    loc: &Locator,
    compatible: &Locator,
    text: &str,
    matches: &mut Vec<usize>,
) -> Result<(), TcError> {
    let bad = |e: String| TcError::locator(text, e);
    let build = compatible.nested("build").map_err(bad)?.ok_or_else(|| {
        bad("Only 'compatible:(build:(id:N))' is supported by this server".to_owned())
    })?;
    let id = build
        .single
        .as_deref()
        .or(build.get("id"))
        .and_then(|v| v.parse::<u64>().ok());
    let item = tc
        .state
        .queue
        .iter()
        .find(|q| Some(q.id) == id)
        .ok_or_else(|| {
            TcError::not_found(format!(
                "No queued build can be found by locator '{}'.",
                compatible_text(&build)
            ))
        })?;
    let allowed = tc.in_item_pools(item);
    // Build compatibility implies connected:true unless the locator says otherwise.
    let connected = if loc.has("connected") {
        None
    } else {
        Some(true)
    };
    let agents = &tc.state.agents;
    matches.retain(|&i| allowed.contains(&i) && connected.is_none_or(|c| agents[i].connected == c));
    Ok(())
}

fn compatible_text(build: &Locator) -> String {
    build.single.clone().unwrap_or_else(|| {
        build
            .dims
            .iter()
            .map(|(d, v)| format!("{d}:{v}"))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The first agent a locator names, as TeamCity's single-item URLs do.
pub fn find_one(tc: &Tc, text: &str) -> Result<usize, TcError> {
    find(tc, text)?
        .first()
        .copied()
        .ok_or_else(|| TcError::not_found(format!("No agent can be found by locator '{text}'.")))
}
