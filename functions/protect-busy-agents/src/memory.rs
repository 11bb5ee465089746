//! What protect-busy-agents remembers between runs, in S3: when each instance was first
//! seen, since when its agent is idle, whether it was busy at the last good reading, and
//! how many builds its agent ran.
//! Losing it is safe: idle agents then get a fresh grace period, nothing is unprotected early.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rules::recycle::BuildCount;
use serde::{Deserialize, Serialize};
use shared::Result;
use shared::ports::store::ObjectStore;

pub const MEMORY_KEY: &str = "state/protect-busy-agents.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub instances: BTreeMap<String, InstanceMemory>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceMemory {
    pub first_seen: DateTime<Utc>,
    #[serde(default)]
    pub idle_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub busy: bool,
    /// Builds its agent finished since the instance launched, counted run by run (the
    /// use limit of agent recycling).
    #[serde(default)]
    pub builds: u32,
    /// The finish time of the newest build counted in `builds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_until: Option<DateTime<Utc>>,
    /// Since when it waits in a terminate lifecycle action with no drain recorded
    /// (`steps/orphans.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<DateTime<Utc>>,
    /// Its orphaned action was taken over (once is enough; the drain step goes on).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopted: bool,
}

impl InstanceMemory {
    /// An instance seen for the first time.
    pub fn first_seen_at(now: DateTime<Utc>) -> InstanceMemory {
        InstanceMemory {
            first_seen: now,
            idle_since: None,
            busy: false,
            builds: 0,
            counted_until: None,
            waiting_since: None,
            adopted: false,
        }
    }

    pub fn build_count(&self) -> BuildCount {
        BuildCount {
            builds: self.builds,
            counted_until: self.counted_until,
        }
    }

    pub fn remember_build_count(&mut self, count: BuildCount) {
        self.builds = count.builds;
        self.counted_until = count.counted_until;
    }
}

impl Memory {
    /// Reads the memory; a missing or unreadable document starts afresh (logged).
    pub async fn load(store: &dyn ObjectStore) -> Result<Memory> {
        match store.get(MEMORY_KEY).await? {
            None => Ok(Memory::default()),
            Some(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(key = MEMORY_KEY, error = %e, "protection memory unreadable; starting afresh (idle agents get a new grace)");
                Memory::default()
            })),
        }
    }

    pub async fn save(&self, store: &dyn ObjectStore) -> Result<()> {
        let body = serde_json::to_vec(self).map_err(|e| shared::Error::Failed(e.to_string()))?;
        store.put(MEMORY_KEY, body).await
    }
}
