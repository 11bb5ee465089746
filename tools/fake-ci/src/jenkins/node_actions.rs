//! Node actions (`@RequirePOST` in Jenkins): toggleOffline really toggles, which is why
//! clients read `temporarilyOffline` first; every action answers 302 to the node page,
//! except `doDelete`, which removes the node and answers 302 to `/computer/`
//! (`Computer.doDoDelete`: `new HttpRedirect("..")`).

use axum::body::Body;
use axum::http::{Method, Response, StatusCode};

use super::pages;
use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::{self, Req, with_header};
use crate::state::Agent;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeAction {
    ToggleOffline,
    ChangeOfflineCause,
    /// `doDisconnect`, or `disconnect` as older clients call it.
    Disconnect,
    LaunchSlaveAgent,
    /// `doDelete` (`Computer.doDoDelete`, needs Agent/Delete).
    Delete,
}

impl NodeAction {
    /// The action a `/computer/NAME/<segment>` URL names, if it names one.
    pub fn parse(segment: &str) -> Option<NodeAction> {
        match segment {
            "toggleOffline" => Some(NodeAction::ToggleOffline),
            "changeOfflineCause" => Some(NodeAction::ChangeOfflineCause),
            "doDisconnect" | "disconnect" => Some(NodeAction::Disconnect),
            "launchSlaveAgent" => Some(NodeAction::LaunchSlaveAgent),
            "doDelete" => Some(NodeAction::Delete),
            _ => None,
        }
    }

    /// The permission an anonymous caller is told it lacks.
    fn permission(self) -> &'static str {
        match self {
            NodeAction::LaunchSlaveAgent => "hudson.model.Computer.Connect",
            NodeAction::Delete => "hudson.model.Computer.Delete",
            _ => "hudson.model.Computer.Disconnect",
        }
    }
}

pub fn run(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    name: &str,
    raw_name: &str,
    action: NodeAction,
) -> Response<Body> {
    let Some(index) = world.state.agents.iter().position(|a| a.name == name) else {
        return pages::not_found();
    };
    if req.method != Method::POST {
        return pages::post_only();
    }
    let Some(user) = identity.user().map(str::to_owned) else {
        return pages::forbidden_anonymous(action.permission());
    };
    let message = req
        .query_param("offlineMessage")
        .or_else(|| req.form_param("offlineMessage"))
        .unwrap_or_default();
    let message = message.trim().to_owned();
    let location = if action == NodeAction::Delete {
        // The node goes, and its running builds with it.
        world.state.agents.remove(index);
        "/computer/".to_owned()
    } else {
        apply(&mut world.state.agents[index], action, user, message);
        format!("/computer/{raw_name}/")
    };
    let response = http::response(StatusCode::FOUND, "text/html;charset=utf-8", "");
    with_header(response, "location", &location)
}

fn apply(agent: &mut Agent, action: NodeAction, user: String, message: String) {
    match action {
        NodeAction::ToggleOffline if agent.temporarily_offline => {
            agent.temporarily_offline = false;
            if agent.connected {
                agent.offline_message.clear();
                agent.offline_by = None;
                agent.offline_since_ms = None;
            }
        }
        NodeAction::ToggleOffline | NodeAction::ChangeOfflineCause => {
            agent.temporarily_offline = true;
            agent.offline_message = message;
            agent.offline_by = Some(user);
            agent.offline_since_ms = Some(now_ms());
        }
        NodeAction::Disconnect => {
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
        NodeAction::Delete => unreachable!("run removes the node"),
        NodeAction::LaunchSlaveAgent => {
            agent.connected = true;
            if !agent.temporarily_offline {
                agent.offline_message.clear();
                agent.offline_by = None;
                agent.offline_since_ms = None;
            }
        }
    }
}
