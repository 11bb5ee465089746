//! ci-checkpoint on the agents: how long a build's next attempt takes, and what a killed
//! attempt loses. With checkpoints a retry redoes its setup and the test work since the
//! last upload; without, the whole build.

use super::clock::ms;
use super::environment::Environment;
use super::state::BuildRun;

/// The next attempt's length: setup, then the test work the checkpoint has not kept.
pub fn attempt_length(build: &BuildRun, env: &Environment) -> u64 {
    if !env.checkpoints {
        return build.duration_ms;
    }
    let setup = ms(env.setup_seconds).min(build.duration_ms);
    let tests = build.duration_ms - setup;
    setup + tests.saturating_sub(build.checkpointed_ms)
}

/// What an attempt killed after `elapsed` ms loses, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loss {
    /// Test work the checkpoint uploaded: the retry skips it.
    pub kept: u64,
    /// Everything the retry runs again (setup included).
    pub redone: u64,
    /// Test work the retry runs again.
    pub redone_tests: u64,
    /// What the same kill would have lost without checkpoints (earlier attempts' kept
    /// work included).
    pub lost_without_checkpoints: u64,
}

pub fn loss(build: &BuildRun, elapsed: u64, env: &Environment) -> Loss {
    let setup = ms(env.setup_seconds);
    let every = ms(env.checkpoint_every_seconds).max(1);
    let tests_run = elapsed.saturating_sub(setup.min(build.duration_ms));
    let kept = if env.checkpoints {
        tests_run / every * every
    } else {
        0
    };
    Loss {
        kept,
        redone: elapsed - kept,
        redone_tests: tests_run - kept,
        lost_without_checkpoints: elapsed + build.checkpointed_ms,
    }
}
