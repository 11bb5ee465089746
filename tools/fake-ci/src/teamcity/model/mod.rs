//! TeamCity's REST entities, built in full from the state and annotated with the
//! `fields` metas (`$short`, `$long`, `$keep`, `$collection`) that decide what the
//! default views show.

mod agent_pools;
mod agents;
mod context;
mod entity;
mod flags;
mod history;
mod pools;
mod queued;
mod running;
mod server;

pub use context::Tc;
pub use entity::{collection, tc_date};
pub use flags::Flag;
