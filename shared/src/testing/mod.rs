//! Test support for every crate's tests, in one place: fakes of the ports that record
//! what a handler asked, a fixed clock, and fixture builders that read like sentences.
//! Behind the `testing` feature (dev-dependencies only), so no deployed binary has it.

mod aws;
mod builds;
mod ci;
mod fixtures;

use chrono::{DateTime, TimeZone, Utc};

pub use aws::{FakeGroups, FakeInstances, MemoryStore};
pub use builds::FakeBuilds;
pub use ci::{FakeCi, ci_down, ci_error};
pub use fixtures::{AgentBuilder, InstanceBuilder, agent, group_instance, jenkins_config, pool};

/// The fixed "now" of every test: 2026-11-22 12:00 UTC.
pub fn now() -> DateTime<Utc> {
    at(0)
}

/// `minute` minutes after (or, negative, before) the tests' "now".
pub fn at(minute: i64) -> DateTime<Utc> {
    let noon = Utc
        .with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
        .single()
        .unwrap_or_default();
    noon + chrono::Duration::minutes(minute)
}

/// `seconds` seconds before the tests' "now".
pub fn ago(seconds: i64) -> DateTime<Utc> {
    now() - chrono::Duration::seconds(seconds)
}
