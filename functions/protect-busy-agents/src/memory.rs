//! What protect-busy-agents remembers between runs, in S3: when each instance was first
//! seen, since when its agent is idle, whether it was busy at the last good reading, and
//! how many builds its agent ran, and the run ledger (which run ran on which agent).
//! Losing it is safe: idle agents then get a fresh grace period, nothing is unprotected early;
//! runs seen before are no longer counted (a use limit starts again).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rules::ledger::RunLedger;
use rules::recycle::BuildCount;
use serde::{Deserialize, Serialize};
use shared::Result;
use shared::ports::store::ObjectStore;

pub const MEMORY_KEY: &str = "state/protect-busy-agents.json";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub instances: BTreeMap<String, InstanceMemory>,
    /// Which run ran on which agent (`steps/ledger.rs`).
    #[serde(default)]
    pub ledger: RunLedger,
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use shared::testing::MemoryStore;

    use super::*;

    fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
        let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
        prop_oneof![
            (min.timestamp()..=max.timestamp(), 0u32..1_000_000_000)
                .prop_map(move |(s, n)| DateTime::from_timestamp(s, n).unwrap_or(max)),
            Just(min),
            Just(max),
        ]
    }

    fn instance() -> impl Strategy<Value = InstanceMemory> {
        (
            any_time(),
            proptest::option::of(any_time()),
            any::<bool>(),
            any::<u32>(),
            proptest::option::of(any_time()),
            proptest::option::of(any_time()),
            any::<bool>(),
        )
            .prop_map(
                |(first_seen, idle_since, busy, builds, counted_until, waiting_since, adopted)| {
                    InstanceMemory {
                        first_seen,
                        idle_since,
                        busy,
                        builds,
                        counted_until,
                        waiting_since,
                        adopted,
                    }
                },
            )
    }

    fn memory() -> impl Strategy<Value = Memory> {
        prop::collection::btree_map(".{0,20}", instance(), 0..5).prop_map(|instances| Memory {
            instances,
            ledger: RunLedger::default(),
        })
    }

    fn run<T>(future: impl std::future::Future<Output = T>) -> T {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a runtime")
            .block_on(future)
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn memory_reads_back_what_was_saved(memory in memory()) {
            let store = MemoryStore::default();
            let loaded = run(async {
                memory.save(&store).await.expect("saves");
                Memory::load(&store).await.expect("loads")
            });
            prop_assert_eq!(&loaded, &memory);
            for remembered in loaded.instances.values() {
                let mut copy = remembered.clone();
                copy.remember_build_count(remembered.build_count());
                prop_assert_eq!(&copy, remembered);
            }
        }

        /// Whatever the object holds, a run starts: unreadable memory is forgotten, not an error.
        #[test]
        fn any_stored_memory_loads(
            bytes in prop::collection::vec(any::<u8>(), 0..128),
            memory in memory(),
            field in prop::sample::select(vec!["first_seen", "idle_since", "busy", "builds", "counted_until", "waiting_since", "adopted", "other"]),
            value in prop_oneof![
                Just(serde_json::Value::Null),
                any::<i64>().prop_map(serde_json::Value::from),
                any::<bool>().prop_map(serde_json::Value::from),
                "[0-9T:Z+-]{0,30}".prop_map(serde_json::Value::from),
            ],
        ) {
            // The saved shape with one field of every instance changed.
            let mut changed = serde_json::to_value(&memory).expect("serialises");
            if let Some(instances) = changed["instances"].as_object_mut() {
                for instance in instances.values_mut() {
                    instance[field] = value.clone();
                }
            }
            for body in [bytes, changed.to_string().into_bytes()] {
                let store = MemoryStore::default();
                let loaded = run(async {
                    store.put(MEMORY_KEY, body).await.expect("puts");
                    Memory::load(&store).await
                });
                prop_assert!(loaded.is_ok());
            }
        }
    }
}
