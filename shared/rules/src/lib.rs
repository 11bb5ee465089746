//! The rules of ci-fleet, free of AWS, HTTP and Lambda types: what a pool is, which
//! agents and queued builds belong to it, and how busy it is. Everything here is a
//! pure function of its inputs so it can be table-tested and replayed by fleet-sim.

pub mod drain;
pub mod health;
pub mod instance;
pub mod label_expr;
pub mod ledger;
pub mod metric;
pub mod model;
pub mod pool;
pub mod protection;
pub mod recycle;
pub mod retry;
pub mod why;
pub mod workload;

pub use instance::{AgentNameSource, InstanceInfo};
pub use label_expr::{LabelExpr, LabelExprError};
pub use metric::{Datum, Unit};
pub use model::{Agent, CiSnapshot, Demand, QueuedBuild, Waiting};
pub use pool::{Pool, PoolSelector, PoolSpec};
pub use workload::{PoolWorkload, QueueClock, Workloads, compute_workloads};
