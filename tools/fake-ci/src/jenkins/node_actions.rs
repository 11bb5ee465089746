//! Node actions (`@RequirePOST` in Jenkins): toggleOffline really toggles, which is why
//! clients read `temporarilyOffline` first; every action answers 302 to the node page.

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::{self, Req, with_header};

const ACTIONS: &[&str] = &[
    "toggleOffline",
    "changeOfflineCause",
    "doDisconnect",
    "disconnect",
    "launchSlaveAgent",
];

pub fn is_action(segment: &str) -> bool {
    ACTIONS.contains(&segment)
}

pub fn run(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    name: &str,
    raw_name: &str,
    action: &str,
) -> Response<Body> {
    let Some(index) = world.state.agents.iter().position(|a| a.name == name) else {
        return super::not_found();
    };
    if req.method != Method::POST {
        let page = http::html(
            StatusCode::METHOD_NOT_ALLOWED,
            "This URL requires POST",
            "The URL you're trying to access requires that requests be sent using POST (like a form submission). Try again.",
        );
        return with_header(page, "allow", "POST");
    }
    let Some(user) = identity.user().map(str::to_owned) else {
        let permission = if action == "launchSlaveAgent" {
            "hudson.model.Computer.Connect"
        } else {
            "hudson.model.Computer.Disconnect"
        };
        return super::forbidden_anonymous(permission);
    };
    let message = req
        .query_param("offlineMessage")
        .or_else(|| req.form_param("offlineMessage"))
        .unwrap_or_default();
    let message = message.trim().to_owned();
    let agent = &mut world.state.agents[index];
    match action {
        "toggleOffline" if agent.temporarily_offline => {
            agent.temporarily_offline = false;
            if agent.connected {
                agent.offline_message.clear();
                agent.offline_by = None;
                agent.offline_since_ms = None;
            }
        }
        "toggleOffline" | "changeOfflineCause" => {
            agent.temporarily_offline = true;
            agent.offline_message = message;
            agent.offline_by = Some(user);
            agent.offline_since_ms = Some(now_ms());
        }
        "doDisconnect" | "disconnect" => {
            // Without a channel there is nothing to disconnect: a no-op that still redirects.
            if agent.connected {
                agent.connected = false;
                // The channel dies under the running builds, which fail.
                agent.running.clear();
                agent.offline_message = message;
                agent.offline_by = Some(user);
                agent.offline_since_ms = Some(now_ms());
            }
        }
        "launchSlaveAgent" => {
            agent.connected = true;
            if !agent.temporarily_offline {
                agent.offline_message.clear();
                agent.offline_by = None;
                agent.offline_since_ms = None;
            }
        }
        _ => return super::not_found(),
    }
    let mut response = http::response(StatusCode::FOUND, "text/html;charset=utf-8", "");
    response = with_header(response, "location", &format!("/computer/{raw_name}/"));
    response
}
