//! Jenkins' exported objects, built from the state. Each object carries the export
//! annotations (`$vis`, `$inline`, `$raw`) that `export::render_depth` needs to reproduce
//! depth-0 pruning; `tree=` filters the same value. Builders that take a [`Want`] leave
//! out what the request's tree does not name (nobody could see it), so a large listing
//! costs what its response holds, not what the full objects would.
//!
//! [`Want`]: crate::tree::Want

mod computers;
mod context;
pub mod finished_build;
mod history;
mod job_index;
mod jobs;
mod labels;
mod queue;
mod root;
mod runs;
mod user;

pub use context::{Ctx, job_read};
pub use runs::running_console;

#[cfg(test)]
mod tests;
