//! Jenkins queue `why` texts, generated from the state the way Queue.BuildableItem's
//! getCauseOfBlockage() and hudson/model/Messages.properties produce them. Clients parse
//! these strings with regexes, so the wording, quoting and the "one node → node name"
//! rule must be exact.

mod labels;
mod time_span;
mod wording;
mod world;

pub use labels::{label_indices, label_name, label_offline};
pub use wording::why;
pub use world::{Node, World};

#[cfg(test)]
mod tests;
