//! What protect-busy-agents remembers between runs, in S3: when each instance was first
//! seen, since when its agent is idle, and whether it was busy at the last good reading.
//! Losing it is safe: idle agents then get a fresh grace period, nothing is unprotected early.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shared::Result;
use shared::aws::store::ObjectStore;

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
