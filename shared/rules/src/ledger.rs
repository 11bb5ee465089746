//! The run ledger: which run ran on which agent, learnt from the agents' busy executors.
//!
//! Jenkins exports the agent of a freestyle build (`builtOn`) but not of a Pipeline run
//! (`WorkflowRun` has no such property, REAL-SERVERS #1). A busy executor does name what
//! it runs: `currentExecutable.url`, the run's URL for a Pipeline `node` block
//! (`PlaceholderExecutable`) as for a freestyle build. protect-busy-agents samples them on
//! every run, keeps the sightings in its memory, and once a run is no longer on any
//! agent asks the CI server how it ended. Recycling and the use limit count runs from
//! here; the history read costs one small request per finished run, never a scan of all
//! jobs.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::health::{FinishedBuild, Outcome};
use crate::model::Agent;

/// Sightings kept at most: about 200 bytes each, so the memory stays well under a MiB.
pub const MAX_SIGHTINGS: usize = 5_000;
/// Runs asked about in one pass: a backlog (after an outage) is worked through over a few
/// minutes instead of one long run.
pub const ENDS_PER_PASS: usize = 100;
/// How long a finished run stays: the health rule looks at recent history only.
const KEEP_FINISHED: i64 = 48;
/// How long a run no longer on any agent is asked about before it is given up: the
/// Pipeline may wait for a node, or run its later stages elsewhere, for hours.
const KEEP_UNFINISHED: i64 = 24;

/// One run seen on one agent (a Pipeline on several agents has one sighting per agent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sighting {
    /// The run's URL as the CI server gave it (`…/job/a/job/b/12/`).
    pub run: String,
    pub agent: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<RunEnd>,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnd {
    pub at: DateTime<Utc>,
    pub outcome: Outcome,
}

/// What the CI server says about a run the ledger asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    /// Still running (a Pipeline between `node` blocks, or on another agent).
    Running,
    Ended(RunEnd),
    /// The CI server no longer has it (deleted, or its job was).
    Gone,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunLedger {
    #[serde(default)]
    pub sightings: Vec<Sighting>,
}

impl RunLedger {
    /// Records the runs the agents execute now. Indexed first: thousands of busy
    /// executors against thousands of sightings must not be a quadratic scan.
    pub fn sample(&mut self, agents: &[Agent], now: DateTime<Utc>) {
        let known: HashMap<(String, String), usize> = (self.sightings.iter().enumerate())
            .map(|(i, s)| ((s.run.clone(), s.agent.clone()), i))
            .collect();
        for agent in agents {
            for run in &agent.runs {
                match known.get(&(run.clone(), agent.name.clone())) {
                    Some(&i) => {
                        let seen = &mut self.sightings[i];
                        seen.last_seen = seen.last_seen.max(now);
                    }
                    None => self.sightings.push(Sighting {
                        run: run.clone(),
                        agent: agent.name.clone(),
                        first_seen: now,
                        last_seen: now,
                        ended: None,
                    }),
                }
            }
        }
    }

    /// Runs to ask about: not ended, and on no agent now; longest gone first, at most
    /// [`ENDS_PER_PASS`].
    pub fn to_ask(&self, agents: &[Agent]) -> Vec<String> {
        let running: HashSet<&str> = (agents.iter())
            .flat_map(|a| a.runs.iter().map(String::as_str))
            .collect();
        let mut waiting: Vec<&Sighting> = (self.sightings.iter())
            .filter(|s| s.ended.is_none() && !running.contains(s.run.as_str()))
            .collect();
        waiting.sort_by_key(|s| s.last_seen);
        let mut runs: Vec<String> = Vec::new();
        for sighting in waiting {
            if runs.len() == ENDS_PER_PASS {
                break;
            }
            if !runs.contains(&sighting.run) {
                runs.push(sighting.run.clone());
            }
        }
        runs
    }

    /// What the CI server said about `run`.
    pub fn learn(&mut self, run: &str, state: RunState) {
        match state {
            RunState::Running => {}
            RunState::Gone => self.sightings.retain(|s| s.run != run),
            RunState::Ended(end) => {
                for sighting in self.sightings.iter_mut().filter(|s| s.run == run) {
                    sighting.ended = Some(end);
                }
            }
        }
    }

    /// The ended runs as finished builds, one per agent each ran on.
    pub fn finished_builds(&self) -> Vec<FinishedBuild> {
        (self.sightings.iter())
            .filter_map(|s| {
                let end = s.ended?;
                Some(FinishedBuild {
                    job: job_of_run(&s.run),
                    agent: s.agent.clone(),
                    finished_at: end.at,
                    outcome: end.outcome,
                })
            })
            .collect()
    }

    /// Forgets what is too old to matter, then the oldest sightings beyond [`MAX_SIGHTINGS`].
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let keep = |s: &Sighting| {
            let (since, hours) = match s.ended {
                Some(end) => (end.at.max(s.last_seen), KEEP_FINISHED),
                None => (s.last_seen, KEEP_UNFINISHED),
            };
            now.signed_duration_since(since) <= Duration::hours(hours)
        };
        self.sightings.retain(keep);
        if self.sightings.len() > MAX_SIGHTINGS {
            self.sightings
                .sort_by_key(|s| std::cmp::Reverse(s.last_seen));
            self.sightings.truncate(MAX_SIGHTINGS);
        }
    }
}

/// The job of a run URL, by its full name: `…/job/folder/job/app/job/main/12/` is
/// `folder/app/main`. Each name is percent-decoded once, which gives the item's name as
/// Jenkins spells it (a multibranch branch `feature/x` is the item `feature%2Fx`).
pub fn job_of_run(url: &str) -> String {
    let path = url.split_once("/job/").map_or(url, |(_, rest)| rest);
    let mut names: Vec<&str> = path.split("/job/").collect();
    if let Some(last) = names.last_mut() {
        // The last segment is `name/NUMBER/`: drop the number.
        *last = last.split('/').next().unwrap_or_default();
    }
    (names.iter())
        .map(|n| percent_decoded(n.trim_end_matches('/')))
        .collect::<Vec<_>>()
        .join("/")
}

/// The run's number: the last segment of its URL (`…/job/app/41/` is 41).
pub fn number_of_run(url: &str) -> Option<u64> {
    url.trim_end_matches('/').rsplit('/').next()?.parse().ok()
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests;
