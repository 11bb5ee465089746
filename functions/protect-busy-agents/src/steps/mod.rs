//! One run of protect-busy-agents as named steps, each in its own module with what it
//! takes and what it hands on: drains kept alive, observe, protection, drains finished,
//! orphans (terminations no event handled), recycling, returns (agents back from a warm
//! pool), dead agents, report. `Protector::run` runs them in that order.

pub mod dead_agents;
pub mod drains;
pub mod ledger;
pub mod observe;
pub mod orphans;
pub mod protection;
pub mod recycling;
pub mod report;
pub mod returns;
pub mod run_log;
