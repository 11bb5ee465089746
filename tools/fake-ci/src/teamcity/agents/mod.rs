//! `/app/rest/agents` and `/app/rest/agentPools`: the agent locator with TeamCity's
//! default `authorized:true` filter, single agents, the text/plain field resources and
//! the `enabledInfo`/`authorizedInfo` documents.

use axum::http::StatusCode;
use serde_json::Value;

use super::model::{Flag, Tc, collection};
use super::{TcError, TcResult, accept_text, paging, parse_locator, respond};
use crate::app::World;
use crate::clock::now_ms;
use crate::fields::Sel;
use crate::http::{self, Req};
use crate::locator::Locator;
use crate::state::Comment;

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

const READABLE_FIELDS: &[&str] = &[
    "id",
    "typeId",
    "name",
    "connected",
    "enabled",
    "authorized",
    "ip",
    "protocol",
    "enabledInfoCommentText",
    "authorizedInfoCommentText",
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
    if let Some(id) = loc.get("id").or(loc.get("typeId")) {
        let id: u64 = id.parse().map_err(|_| bad(format!("Invalid id '{id}'")))?;
        matches.retain(|&i| tc.agent_id(i) == id);
    }
    if let Some(name) = loc.get("name") {
        matches.retain(|&i| agents[i].name == name);
    }
    if let Some(ip) = loc.get("ip") {
        matches.retain(|&i| tc.agent(i, false)["ip"] == ip);
    }
    for (dim, read) in [
        (
            "connected",
            (|a: &crate::state::Agent| a.connected) as fn(&crate::state::Agent) -> bool,
        ),
        ("enabled", |a| a.enabled),
        ("authorized", |a| a.authorized),
    ] {
        if let Some(wanted) = loc.boolean(dim).map_err(bad)? {
            matches.retain(|&i| read(&agents[i]) == wanted);
        }
    }
    if let Some(pool) = loc.nested("pool").map_err(bad)? {
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
        matches.retain(|&i| wanted.contains(&tc.pool_of(&agents[i]).0));
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
        matches.retain(|&i| {
            allowed.contains(&i) && connected.is_none_or(|c| agents[i].connected == c)
        });
    }
    let default_off = loc.boolean("defaultFilter").map_err(bad)? == Some(false);
    if !default_off && !NO_DEFAULT_DIMS.iter().any(|d| loc.has(d)) {
        matches.retain(|&i| agents[i].authorized);
    }
    Ok(matches)
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

pub fn list(tc: &Tc, req: &Req) -> TcResult {
    let text = req.query_param("locator").unwrap_or_default();
    let loc = parse_locator(&text)?;
    let all = find(tc, &text)?;
    let page = paging::page(all, &loc, &text, tc.state.page_size, req)?;
    let fields = super::selection(req);
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

pub fn get_field(tc: &Tc, req: &Req, loc: &str, field: &str) -> TcResult {
    let index = find_one(tc, loc)?;
    let flag = match field {
        "enabledInfo" => Some(Flag::Enabled),
        "authorizedInfo" => Some(Flag::Authorized),
        _ => None,
    };
    if let Some(flag) = flag {
        return respond(
            req,
            field,
            &tc.flag_info(&tc.state.agents[index], flag),
            true,
        );
    }
    accept_text(req)?;
    let agent = tc.agent(index, false);
    let state_agent = &tc.state.agents[index];
    let value = match field {
        "enabledInfoCommentText" => state_agent
            .enabled_comment
            .as_ref()
            .and_then(|c| c.text.clone())
            .unwrap_or_default(),
        "authorizedInfoCommentText" => state_agent
            .authorized_comment
            .as_ref()
            .and_then(|c| c.text.clone())
            .unwrap_or_default(),
        f if READABLE_FIELDS.contains(&f) => match &agent[f] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        },
        other => {
            return Err(TcError::bad_request(format!(
                "Field '{other}' is not supported. Supported are: {}",
                READABLE_FIELDS.join(", ")
            )));
        }
    };
    Ok(http::text(StatusCode::OK, value))
}

/// `PUT …/enabled` (text/plain, parsed like Java's Boolean.parseBoolean) and
/// `PUT …/enabledInfo` (JSON or XML document); the same for `authorized`.
pub fn put_field(
    world: &mut World,
    req: &Req,
    index: usize,
    field: &str,
    user: &str,
    prefix: &str,
) -> TcResult {
    let content_type = req.header("content-type").unwrap_or("");
    match field {
        "enabled" | "authorized" => {
            if !content_type.starts_with("text/plain") {
                return Err(TcError::unsupported_media());
            }
            accept_text(req)?;
            let flag = if field == "enabled" {
                Flag::Enabled
            } else {
                Flag::Authorized
            };
            let value = String::from_utf8_lossy(&req.body).eq_ignore_ascii_case("true");
            let comment = Comment {
                user: user.to_owned(),
                timestamp_ms: now_ms(),
                text: None,
            };
            flag.set(&mut world.state.agents[index], value, comment);
            Ok(http::text(StatusCode::OK, value.to_string()))
        }
        "enabledInfo" | "authorizedInfo" => {
            let flag = if field == "enabledInfo" {
                Flag::Enabled
            } else {
                Flag::Authorized
            };
            let json = content_type.starts_with("application/json");
            if !json
                && !content_type.starts_with("application/xml")
                && !content_type.starts_with("text/xml")
            {
                return Err(TcError::unsupported_media());
            }
            let body = String::from_utf8_lossy(&req.body).into_owned();
            if body.trim().is_empty() {
                return Err(TcError::bad_request("No data is sent as payload."));
            }
            let (status, text) = if json {
                read_json_info(&body)?
            } else {
                read_xml_info(&body)
            };
            if status.is_none() && text.is_none() {
                return Err(TcError::bad_request(
                    "Neither value nor comment are provided, nothing to change",
                ));
            }
            let agent = &mut world.state.agents[index];
            let value = status.unwrap_or_else(|| flag.get(agent));
            flag.set(
                agent,
                value,
                Comment {
                    user: user.to_owned(),
                    timestamp_ms: now_ms(),
                    text,
                },
            );
            let tc = Tc::new(
                &world.state,
                prefix,
                format!("http://{}", req.host()),
                now_ms(),
            );
            respond(
                req,
                field,
                &tc.flag_info(&world.state.agents[index], flag),
                true,
            )
        }
        other => Err(TcError::bad_request(format!(
            "Changing field '{other}' is not supported. Supported fields are: enabled, authorized"
        ))),
    }
}

/// Only `status` and `comment.text` are read, as the server does.
fn read_json_info(body: &str) -> Result<(Option<bool>, Option<String>), TcError> {
    let value: Value = serde_json::from_str(body)
        .map_err(|e| TcError::bad_request(format!("Could not parse JSON payload: {e}")))?;
    let status = match &value["status"] {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(s.eq_ignore_ascii_case("true")),
        _ => None,
    };
    let text = value["comment"]["text"].as_str().map(str::to_owned);
    Ok((status, text))
}

fn read_xml_info(body: &str) -> (Option<bool>, Option<String>) {
    let status = body
        .find("status=\"")
        .map(|i| &body[i + 8..])
        .and_then(|rest| rest.split('"').next())
        .map(|v| v.eq_ignore_ascii_case("true"));
    let text = body
        .find("<text>")
        .and_then(|i| {
            body[i + 6..]
                .find("</text>")
                .map(|j| body[i + 6..i + 6 + j].to_owned())
        })
        .map(|t| {
            t.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
        });
    (status, text)
}

const POOL_DIMS: &[&str] = &[
    "id",
    "name",
    "count",
    "start",
    "project",
    "agent",
    "lookupLimit",
];

pub fn pools(tc: &Tc, req: &Req) -> TcResult {
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

pub fn pool(tc: &Tc, req: &Req, text: &str) -> TcResult {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Agent, FakeState};

    fn tc_state() -> FakeState {
        let agent = |name: &str, pool: &str, authorized: bool, connected: bool| Agent {
            name: name.into(),
            pool: pool.into(),
            authorized,
            connected,
            ..Agent::default()
        };
        FakeState {
            agents: vec![
                agent("a1", "Linux", true, true),
                agent("a2", "Linux", false, false),
                agent("a3", "Default", true, false),
            ],
            ..FakeState::default()
        }
    }

    fn names(state: &FakeState, locator: &str) -> Vec<String> {
        let tc = Tc::new(state, "", "http://x".into(), 0);
        find(&tc, locator)
            .expect(locator)
            .iter()
            .map(|&i| state.agents[i].name.clone())
            .collect()
    }

    /// Agents built for a `fields` selection render exactly like full ones.
    #[test]
    fn selected_agents_render_like_full_ones() {
        let mut state = tc_state();
        state.agents[0].running = vec![crate::state::RunningBuild {
            job: "bt".into(),
            number: 4,
            ..Default::default()
        }];
        let tc = Tc::new(&state, "", "http://x".into(), 0);
        for text in [
            "count,nextHref,agent(id,name,connected,enabled,authorized,pool(id,name),build(id),enabledInfo(comment(text)))",
            "agent(id,build)",
            "agent($short,pool)",
            "agent(*,build(*))",
            "agent(name),agent(id)",
        ] {
            let fields = crate::fields::parse(text).expect("parses");
            let sel = Sel::of(&fields).child("agent");
            for i in 0..state.agents.len() {
                assert_eq!(
                    crate::fields::render_fields(&tc.agent(i, true), &fields),
                    crate::fields::render_fields(&tc.agent_in(i, true, sel), &fields),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn authorized_default_and_its_exceptions() {
        let state = tc_state();
        assert_eq!(names(&state, ""), vec!["a1", "a3"]);
        assert_eq!(names(&state, "connected:false"), vec!["a3"]);
        assert_eq!(names(&state, "authorized:any"), vec!["a1", "a2", "a3"]);
        assert_eq!(names(&state, "defaultFilter:false"), vec!["a1", "a2", "a3"]);
        assert_eq!(names(&state, "pool:(name:Linux)"), vec!["a1", "a2"]);
        assert_eq!(names(&state, "pool:(id:1)"), vec!["a1", "a2"]);
        assert_eq!(names(&state, "name:a2"), vec!["a2"]);
        assert_eq!(names(&state, "id:2"), vec!["a2"]);
        assert_eq!(names(&state, "2"), vec!["a2"]);
        assert_eq!(names(&state, "authorized:false"), vec!["a2"]);
    }

    #[test]
    fn unknown_dimensions_are_rejected() {
        let state = tc_state();
        let tc = Tc::new(&state, "", "http://x".into(), 0);
        let error = find(&tc, "colour:blue").expect_err("unknown");
        assert_eq!(error.status, StatusCode::BAD_REQUEST);
        assert!(
            error
                .details
                .contains("Locator dimension 'colour' is unknown"),
            "{}",
            error.details
        );
    }
}
