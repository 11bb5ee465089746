//! A stateful fake Jenkins or TeamCity for ci-fleet's tests and local stack. It serves
//! the slice of each server's REST API that ci-fleet reads and writes, reproducing the
//! quirks in docs/ci-semantics.md (depth-0 `{}` executors, `why` wording by version,
//! toggleOffline as a true toggle, session-bound crumbs, TeamCity's default filters,
//! paging and field omission), and a `/_fake/` control API to set the world, inject
//! faults and inspect what the client sent.

pub mod app;
pub mod auth;
pub mod clock;
pub mod control;
pub mod export;
pub mod fault;
pub mod fields;
pub mod http;
pub mod jenkins;
pub mod kind;
pub mod locator;
pub mod server;
pub mod state;
pub mod teamcity;
pub mod tree;
pub mod xml;

pub use app::{App, RequestRecord};
pub use fault::Fault;
pub use kind::Kind;
pub use server::{bind, router, spawn};
pub use state::FakeState;
