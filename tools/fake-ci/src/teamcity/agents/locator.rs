//! The agent locator (AgentFinder): its dimensions, the defaults TeamCity implies
//! (`setLocatorDefaults`: `authorized:true`, and `connected:true` plus, for a build
//! configuration, `enabled:true` when asking for compatible agents; none of them with
//! `defaultFilter:false` or a dimension that names agents), and `compatible:(build:(id:N))`
//! and `compatible:(buildType:(id:X))`.

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

/// Dimensions after which TeamCity implies nothing (`setLocatorDefaults`, TR
/// `data/finder/impl/AgentFinder.java`: `id`, `name`, then `build`, `pool`, `ip`, `protocol`).
const NO_DEFAULT_DIMS: &[&str] = &["id", "name", "build", "pool", "ip", "protocol"];

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
    let compatible = match loc.nested("compatible").map_err(bad)? {
        Some(compatible) => Some(compatible_with(tc, &compatible, text)?),
        None => None,
    };
    retain_flagged(
        agents,
        &loc,
        &implied_flags(&loc, compatible.as_ref()),
        text,
        &mut matches,
    )?;
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
    if let Some(compatible) = compatible {
        matches.retain(|i| compatible.agents.contains(i));
    }
    Ok(matches)
}

/// What a `compatible:(…)` dimension names.
struct Compatible {
    agents: Vec<usize>,
    /// `buildType:(…)`: TeamCity then also implies `enabled:true`.
    by_build_type: bool,
}

/// The flags TeamCity implies when the locator does not give them (`setLocatorDefaults`).
fn implied_flags(loc: &Locator, compatible: Option<&Compatible>) -> Vec<(&'static str, bool)> {
    let default_filter = loc.get("defaultFilter").map(|v| v != "false");
    if default_filter == Some(false)
        || (default_filter.is_none() && NO_DEFAULT_DIMS.iter().any(|d| loc.has(d)))
    {
        return Vec::new();
    }
    let mut implied = Vec::new();
    if let Some(compatible) = compatible {
        implied.push(("connected", true));
        if compatible.by_build_type {
            implied.push(("enabled", true));
        }
    }
    implied.push(("authorized", true));
    implied
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

/// `connected`, `enabled` and `authorized` (`true|false|any`), given or implied.
fn retain_flagged(
    agents: &[Agent],
    loc: &Locator,
    implied: &[(&str, bool)],
    text: &str,
    matches: &mut Vec<usize>,
) -> Result<(), TcError> {
    for (dim, read) in [
        ("connected", (|a: &Agent| a.connected) as fn(&Agent) -> bool),
        ("enabled", |a| a.enabled),
        ("authorized", |a| a.authorized),
    ] {
        let wanted = match loc.has(dim) {
            true => loc.boolean(dim).map_err(|e| TcError::locator(text, e))?,
            false => implied.iter().find(|(d, _)| *d == dim).map(|(_, v)| *v),
        };
        if let Some(wanted) = wanted {
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

/// `compatible:(build:(id:N))`: the agents that can actually run the queued build, which
/// TeamCity prefilters to authorized, connected and (the build not being pinned to one
/// agent) enabled ones whatever the locator says (`calculateCanActuallyRunAgents`,
/// `isAgentRestrictorAllowed`). `compatible:(buildType:(id:X))`: every agent compatible
/// with the configuration, disabled, disconnected and unauthorized ones included
/// (`getCompatibilityData`: "considered compatible").
fn compatible_with(tc: &Tc, compatible: &Locator, text: &str) -> Result<Compatible, TcError> {
    let bad = |e: String| TcError::locator(text, e);
    if let Some(build_type) = compatible.nested("buildType").map_err(bad)? {
        let id = build_type.single.as_deref().or(build_type.get("id"));
        let id = id.unwrap_or_default();
        if !tc.state.has_job(id) {
            return Err(TcError::not_found(format!(
                "No build type or template is found by id, internal id or name '{id}'."
            )));
        }
        return Ok(Compatible {
            agents: tc.compatible_with_build_type(id),
            by_build_type: true,
        });
    }
    let build = compatible.nested("build").map_err(bad)?.ok_or_else(|| {
        bad("Invalid compatible locator: should contain 'buildType' dimension".to_owned())
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
    Ok(Compatible {
        agents: tc.compatible(item),
        by_build_type: false,
    })
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

#[cfg(test)]
mod compatibility {
    use super::find;
    use crate::state::{Agent, FakeState, QueueItem};
    use crate::teamcity::model::Tc;

    /// Linux: one idle agent, one disabled by a drain, one disconnected; GPU: one agent.
    fn drained_linux_pool() -> FakeState {
        let agent = |name: &str, pool: &str, enabled: bool, connected: bool| Agent {
            name: name.into(),
            pool: pool.into(),
            enabled,
            connected,
            ..Agent::default()
        };
        let queued = |id: u64, job: &str, pools: &[&str]| QueueItem {
            id,
            job: job.into(),
            pools: pools.iter().map(|p| p.to_string()).collect(),
            ..QueueItem::default()
        };
        FakeState {
            agents: vec![
                agent("up", "Linux", true, true),
                agent("drained", "Linux", false, true),
                agent("gone", "Linux", true, false),
                agent("gpu", "GPU", true, true),
            ],
            queue: vec![queued(7, "app", &["Linux"]), queued(8, "cuda", &["GPU"])],
            ..FakeState::default()
        }
    }

    fn names(state: &FakeState, locator: &str) -> Result<Vec<String>, String> {
        let tc = Tc::new(state, "", "http://x".into(), 0);
        let found = find(&tc, locator).map_err(|e| e.details)?;
        Ok(found
            .iter()
            .map(|&i| state.agents[i].name.clone())
            .collect())
    }

    #[test]
    fn a_configuration_counts_disabled_and_disconnected_agents_only_without_the_default_filter() {
        let state = drained_linux_pool();
        let cases: &[(&str, &[&str])] = &[
            (
                "compatible:(buildType:(id:app)),defaultFilter:false",
                &["up", "drained", "gone"],
            ),
            // setLocatorDefaults: connected:true and enabled:true for a configuration.
            ("compatible:(buildType:(id:app))", &["up"]),
            (
                "compatible:(buildType:(app)),enabled:any",
                &["up", "drained"],
            ),
            (
                "compatible:(buildType:(id:cuda)),defaultFilter:false",
                &["gpu"],
            ),
            // A queued build's own list leaves out disabled and disconnected agents
            // whatever the locator says (calculateCanActuallyRunAgents).
            ("compatible:(build:(id:7)),defaultFilter:false", &["up"]),
            ("compatible:(build:(id:7))", &["up"]),
        ];
        for (locator, want) in cases {
            assert_eq!(names(&state, locator).expect(locator), *want, "{locator}");
        }
    }

    #[test]
    fn an_unknown_configuration_is_not_found_not_an_empty_list() {
        let error = names(&drained_linux_pool(), "compatible:(buildType:(id:nope))")
            .expect_err("unknown build configuration");
        assert!(error.contains("'nope'"), "{error}");
    }
}
