//! Test checkpoints in S3 (the Rippling pass list / skip list design): a build records
//! the tests that pass as they pass (`Recorder`), an interruption seals them into the
//! pass list (`seal`, called by handle-interruption), and the retry restores them as its
//! skip list (`restore`). The layout is in `layout.rs` and tools/ci-checkpoint/README.md.
//!
//! The invariant that makes it safe: parts are append-only objects, never rewritten or
//! deleted, and `restore` reads every part the pass list does not name yet. So a seal
//! that fails, runs twice or runs late, and an upload that races the seal, can cost a
//! retry a few reads, never a test that passed.

mod key;
pub mod layout;
mod model;
mod ops;
mod recorder;
mod seal;

pub use key::{
    CheckpointKey, MAX_KEY_BYTES, MAX_TEST_ID_BYTES, is_test_id, validate_instance_id,
    validate_slot,
};
pub use model::{Claim, Interruption, Part, PassList, RunInterruption, SealOutcome, Sealing};
pub use ops::{Restored, read_claim, read_claims, restore, start};
pub use recorder::{Recorder, writer_id};
pub use seal::seal;
