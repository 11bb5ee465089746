//! Which agents each queued build configuration may run on, asked once per configuration
//! (`agents?locator=compatible:(buildType:(id:X)),defaultFilter:false`), not once per
//! queued build (REAL-SERVERS #5, #12):
//! - a queued build's own `compatibleAgents` leaves out disabled agents, so ci-fleet's own
//!   drains would hide its pool's queue; a configuration's list keeps disabled,
//!   disconnected and unauthorized agents (TR `AgentFinder.getCompatibilityData`:
//!   "considered compatible"), and `defaultFilter:false` drops the implied
//!   `connected:true,enabled:true,authorized:true` (`setLocatorDefaults`);
//! - it is one small list per configuration instead of every agent of every queued build,
//!   which TeamCity recomputes for each request.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use futures_util::stream::{self, StreamExt};

use super::pages::all_pages;
use super::wire::{AgentIdsJson, AgentJson};
use crate::ci::error::{CiError, Problem};
use crate::ci::http::{CiHttp, encode_query_value};

/// Agent ids compatible with each build configuration.
pub type ByConfiguration = HashMap<String, Arc<[u64]>>;

/// One configuration and its compatible agents, as asked.
type Answer = (String, Result<Arc<[u64]>, CiError>);

/// Configurations asked at once: a queue of many configurations should not cost one
/// round trip each in sequence, nor open a connection per configuration.
const AT_ONCE: usize = 4;

/// How long a configuration's list is reused while the agents stay the same. Compatibility
/// changes when agents come and go (then the list is asked again at once) and, rarely,
/// when someone edits a configuration's requirements: a minute is the cost of that.
const REUSE_FOR: Duration = Duration::from_secs(60);

/// The compatible agents of the queued configurations, reused within [`REUSE_FOR`].
#[derive(Default)]
pub struct Compatibility {
    cache: Mutex<Cache>,
}

/// The lists asked within the last [`REUSE_FOR`], valid for one set of agents.
#[derive(Default)]
struct Cache {
    agents: Vec<u64>,
    asked_at: Option<Instant>,
    lists: ByConfiguration,
}

impl Cache {
    /// The lists still valid for these agents (sorted ids), forgetting stale ones.
    fn valid_for(&mut self, agents: &[u64], now: Instant) -> ByConfiguration {
        let fresh = self
            .asked_at
            .is_some_and(|at| now.duration_since(at) < REUSE_FOR);
        if !fresh || self.agents != agents {
            *self = Cache {
                agents: agents.to_vec(),
                asked_at: Some(now),
                lists: HashMap::new(),
            };
        }
        self.lists.clone()
    }
}

impl Compatibility {
    /// The compatible agents of each of `configurations`, from the cache or asked now.
    pub async fn of(
        &self,
        http: &CiHttp,
        agents: &[AgentJson],
        configurations: BTreeSet<&str>,
    ) -> Result<ByConfiguration, CiError> {
        let mut ids: Vec<u64> = agents.iter().map(|a| a.id).collect();
        ids.sort_unstable();
        let mut known = lock(&self.cache).valid_for(&ids, Instant::now());
        let missing: Vec<BoxFuture<'_, _>> = (configurations.into_iter())
            .filter(|c| !known.contains_key(*c))
            .map(|c| ask(http, c))
            .collect();
        let mut answers = stream::iter(missing).buffer_unordered(AT_ONCE);
        let mut asked = Vec::new();
        while let Some((configuration, answer)) = answers.next().await {
            asked.push((configuration, answer?));
        }
        let mut cache = lock(&self.cache);
        for (configuration, list) in asked {
            cache.lists.insert(configuration.clone(), list.clone());
            known.insert(configuration, list);
        }
        Ok(known)
    }
}

/// One configuration's list, every page. A configuration TeamCity no longer knows
/// (deleted since the queue was read) has no compatible agent.
fn ask<'a>(http: &'a CiHttp, configuration: &'a str) -> BoxFuture<'a, Answer> {
    Box::pin(async move {
        let path = format!(
            "/app/rest/agents?locator={}&fields={}",
            encode_query_value(&format!(
                "compatible:(buildType:(id:{configuration})),defaultFilter:false,count:{}",
                http.page_size()
            )),
            encode_query_value("count,nextHref,agent(id)")
        );
        let mut ids = Vec::new();
        let answer = all_pages(http, path, |page: AgentIdsJson| {
            ids.extend(page.agent.iter().map(|a| a.id))
        })
        .await;
        let answer = match answer {
            Ok(()) => Ok(ids.into()),
            Err(CiError {
                problem: Problem::NotFound(_),
                ..
            }) => {
                tracing::warn!(
                    configuration,
                    "build configuration not found: no compatible agent"
                );
                Ok(Arc::from([]))
            }
            Err(e) => Err(e),
        };
        (configuration.to_owned(), answer)
    })
}

/// The cache holds no invariant a panicking holder could break: take it even if poisoned.
fn lock(cache: &Mutex<Cache>) -> std::sync::MutexGuard<'_, Cache> {
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_reused_for_a_minute_while_the_agents_stay_the_same() {
        let start = Instant::now();
        let mut cache = Cache::default();
        assert!(cache.valid_for(&[1, 2], start).is_empty());
        cache.lists.insert("App".into(), Arc::from([1]));
        let later = start + Duration::from_secs(30);
        assert_eq!(cache.valid_for(&[1, 2], later).len(), 1, "same agents");
        assert!(
            cache.valid_for(&[1, 2, 3], later).is_empty(),
            "a new agent may be compatible: ask again"
        );
        cache.lists.insert("App".into(), Arc::from([1]));
        assert!(
            cache.valid_for(&[1, 2, 3], later + REUSE_FOR).is_empty(),
            "older than a minute"
        );
    }
}
