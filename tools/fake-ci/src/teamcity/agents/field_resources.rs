//! An agent's single-field resources: `GET …/<field>` as text/plain, the
//! `enabledInfo`/`authorizedInfo` documents, and `PUT` of the flags (text/plain, parsed
//! like Java's Boolean.parseBoolean) and of their `…Info` (JSON or XML).

use axum::http::StatusCode;
use serde_json::Value;

use super::locator::find_one;
use crate::app::World;
use crate::clock::now_ms;
use crate::http::{self, Req};
use crate::state::Comment;
use crate::teamcity::error::{TcError, TcResult};
use crate::teamcity::model::{Flag, Tc};
use crate::teamcity::render::{accept_text, respond};

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
    match field {
        "enabled" => put_flag(world, req, index, Flag::Enabled, user),
        "authorized" => put_flag(world, req, index, Flag::Authorized, user),
        "enabledInfo" => put_flag_info(world, req, index, Flag::Enabled, field, user, prefix),
        "authorizedInfo" => put_flag_info(world, req, index, Flag::Authorized, field, user, prefix),
        other => Err(TcError::bad_request(format!(
            "Changing field '{other}' is not supported. Supported fields are: enabled, authorized"
        ))),
    }
}

fn put_flag(world: &mut World, req: &Req, index: usize, flag: Flag, user: &str) -> TcResult {
    let content_type = req.header("content-type").unwrap_or("");
    if !content_type.starts_with("text/plain") {
        return Err(TcError::unsupported_media());
    }
    accept_text(req)?;
    let value = String::from_utf8_lossy(&req.body).eq_ignore_ascii_case("true");
    let comment = Comment {
        user: user.to_owned(),
        timestamp_ms: now_ms(),
        text: None,
    };
    flag.set(&mut world.state.agents[index], value, comment);
    Ok(http::text(StatusCode::OK, value.to_string()))
}

fn put_flag_info(
    world: &mut World,
    req: &Req,
    index: usize,
    flag: Flag,
    field: &str,
    user: &str,
    prefix: &str,
) -> TcResult {
    let content_type = req.header("content-type").unwrap_or("");
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
