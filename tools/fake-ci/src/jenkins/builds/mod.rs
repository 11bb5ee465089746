//! Builds and triggering (advise-retry's slice of Jenkins): a build's remote API
//! (docs/ci-semantics.md A5), finished or running, its console (`console.rs`),
//! `submitDescription`, and `buildWithParameters` / `build` (`trigger.rs`).

mod console;
mod description;
mod trigger;

use axum::body::Body;
use axum::http::Response;

use super::locale::Lang;
use super::model::{Ctx, running_console};
use super::pages;
use super::remote_api::api;
use crate::app::World;
use crate::auth::Identity;
use crate::clock::now_ms;
use crate::http::Req;
use trigger::TriggerAction;

/// The pages under a build's URL that this fake serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BuildPage {
    Api,
    ProgressiveText,
    ConsoleText,
    SubmitDescription,
}

impl BuildPage {
    fn parse(tail: &[&str]) -> Option<BuildPage> {
        match tail {
            ["api", "json"] => Some(BuildPage::Api),
            ["logText", "progressiveText"] => Some(BuildPage::ProgressiveText),
            ["consoleText"] => Some(BuildPage::ConsoleText),
            ["submitDescription"] => Some(BuildPage::SubmitDescription),
            _ => None,
        }
    }
}

/// Handles the URLs of this module; `None` leaves the request to the rest of the router.
pub fn route(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    segs: &[&str],
) -> Option<Response<Body>> {
    let root = format!("http://{}/", req.host());
    // `job/A/job/B/<n>/<rest…>` or `job/A/job/B/<action>`.
    let (job_segments, rest) = split_job(segs)?;
    let job = job_segments
        .iter()
        .skip(1)
        .step_by(2)
        .copied()
        .collect::<Vec<_>>()
        .join("/");
    // Jenkins resolves the job (and each folder on the way) with getItem, null for an item
    // the caller cannot read: 404 before any build page or trigger.
    if !super::model::job_read(&world.state, identity).can_reach(&job) {
        return Some(pages::not_found());
    }
    match rest {
        [n, tail @ ..] if n.parse::<u64>().is_ok() => {
            let number: u64 = n.parse().ok()?;
            let page = BuildPage::parse(tail)?;
            Some(build_page(world, req, identity, &job, number, page, &root))
        }
        [action] => TriggerAction::parse(action)
            .map(|action| trigger::trigger(world, req, identity, &job, action, &root)),
        _ => None,
    }
}

fn build_page(
    world: &mut World,
    req: &Req,
    identity: &Identity,
    job: &str,
    number: u64,
    page: BuildPage,
    root: &str,
) -> Response<Body> {
    let index = world
        .state
        .builds
        .iter()
        .position(|b| b.job == job && b.number == number);
    if page == BuildPage::SubmitDescription {
        // A build an agent is running has no description to set (not modelled).
        return match index {
            Some(index) => description::submit_description(world, req, identity, index, root),
            None => pages::not_found(),
        };
    }
    let ctx = Ctx::new(&world.state, &req.host(), now_ms(), Lang::of(req)).reading_as(identity);
    let Some(run) = ctx.run(job, number) else {
        return pages::not_found();
    };
    // A build an agent is running (no entry in `builds`) has the console a build in
    // progress has written so far.
    let (console, building) = match index {
        Some(index) => {
            let build = &world.state.builds[index];
            (build.console.clone(), build.building)
        }
        None => (running_console(), true),
    };
    match page {
        BuildPage::Api => api(req, run),
        BuildPage::ProgressiveText => console::progressive_text(&console, building, req),
        _ => console::console_text(&console, req),
    }
}

/// Splits `job/A/job/B/…` into the job part and what follows.
fn split_job<'s>(segs: &'s [&'s str]) -> Option<(&'s [&'s str], &'s [&'s str])> {
    let mut end = 0;
    while end + 1 < segs.len() && segs[end] == "job" {
        end += 2;
    }
    (end > 0 && end < segs.len()).then(|| segs.split_at(end))
}

#[cfg(test)]
mod tests;
