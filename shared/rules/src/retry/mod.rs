//! Which failed builds are worth retrying, and with what (the Spack retry document in
//! docs/design.md#where-it-comes-from: deterministic failures are not retried, OOM kills are retried with
//! more memory, infrastructure hiccups once). Two pure functions: [`classify`] reads a
//! finished build's status, a bounded tail of its log and a few facts; [`decide`] applies
//! the `RETRY_POLICY` to the class and the build's retry history.
//!
//! The modules, each using only those listed before it: `class` and `status` (the words),
//! `log` and `agent` (reading what a build left), `signatures` (what failures look like),
//! `classification`, `policy`, `history` and `decision`.

mod agent;
mod class;
mod classification;
mod decision;
mod history;
mod log;
mod policy;
mod signatures;
mod status;

pub use agent::instance_id_in;
pub use class::FailureClass;
pub use classification::{Classification, FailureFacts, Verdict, classify};
pub use decision::{Decision, decide};
pub use history::History;
pub use log::{MAX_LOG_TAIL_BYTES, clean_log, exit_code_in, tail};
pub use policy::{Ladder, MAX_RETRIES_LIMIT, OnDemand, RetryPolicy};
pub use signatures::shows_agent_loss;
pub use status::BuildStatus;
