//! Agent pools: numbered once per request (Default is 0, the others in order of first
//! mention), each agent's pool, the pools a queued build may run in and their agents.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::context::Tc;
use super::entity::with_meta;
use crate::state::{Agent, QueueItem};

impl Tc<'_> {
    /// Pools by id: Default is 0, the others numbered in order of first mention.
    pub fn pools(&self) -> Vec<(u64, String)> {
        self.pool_list().to_vec()
    }

    /// [`Tc::pools`], computed once; a pool's id is its position.
    fn pool_list(&self) -> &[(u64, String)] {
        self.pool_list.get_or_init(|| {
            let mut pools = vec![(0, "Default".to_owned())];
            let mut seen: HashMap<&str, ()> = HashMap::from([("Default", ())]);
            let names = self.state.agents.iter().map(|a| &a.pool).chain(
                self.state
                    .queue
                    .iter()
                    .flat_map(|q| q.pools.iter().chain(q.pinned_pool.iter())),
            );
            for name in names {
                if !name.is_empty() && seen.insert(name, ()).is_none() {
                    pools.push((pools.len() as u64, name.clone()));
                }
            }
            pools
        })
    }

    /// The id of the pool named so, if there is one.
    pub(super) fn pool_id(&self, name: &str) -> Option<u64> {
        self.pool_list()
            .iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| *id)
    }

    /// The pool of the agent at `index`, as [`Tc::pool_of`] names it.
    pub(super) fn agent_pool(&self, index: usize) -> (u64, &str) {
        let ids = self.agent_pools.get_or_init(|| {
            let by_name: HashMap<&str, u64> = self
                .pool_list()
                .iter()
                .map(|(id, n)| (n.as_str(), *id))
                .collect();
            self.state
                .agents
                .iter()
                .map(|a| {
                    let name = if a.pool.is_empty() {
                        "Default"
                    } else {
                        &a.pool
                    };
                    by_name.get(name).copied().unwrap_or(0)
                })
                .collect()
        });
        let id = ids[index];
        (id, self.pool_list()[id as usize].1.as_str())
    }

    pub fn pool_of(&self, agent: &Agent) -> (u64, String) {
        let name = if agent.pool.is_empty() {
            "Default"
        } else {
            agent.pool.as_str()
        };
        match self.pool_id(name) {
            Some(id) => (id, name.to_owned()),
            None => (0, "Default".to_owned()),
        }
    }

    pub fn pool_ref(&self, id: u64, name: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("name".into(), json!(name));
        obj.insert(
            "href".into(),
            json!(self.href(&format!("agentPools/id:{id}"))),
        );
        with_meta(obj, &["id", "name", "href"], None, &[])
    }

    /// Ids of the pools a queued build can run in: the one it is pinned to, else its
    /// compatible ones (names no agent or item mentions match nothing).
    fn item_pools(&self, item: &QueueItem) -> Vec<u64> {
        match &item.pinned_pool {
            Some(pool) => self.pool_id(pool).into_iter().collect(),
            None => item.pools.iter().filter_map(|p| self.pool_id(p)).collect(),
        }
    }

    /// Connected, enabled, authorized agents in the item's pools.
    pub fn compatible(&self, item: &QueueItem) -> Vec<usize> {
        let mut agents = self.in_item_pools(item);
        agents.retain(|&i| {
            let agent = &self.state.agents[i];
            agent.connected && agent.enabled && agent.authorized
        });
        agents
    }

    /// Every agent in the item's pools, whatever its state. In agent order.
    fn in_item_pools(&self, item: &QueueItem) -> Vec<usize> {
        self.in_pools(self.item_pools(item))
    }

    /// Agents compatible with a build configuration (`compatible:(buildType:(id:X))`):
    /// disabled, disconnected and unauthorized ones too (TR `AgentFinder.getCompatibilityData`
    /// keeps them: "considered compatible"). The fake has no build configurations of its
    /// own, so a configuration's compatible pools are those its queued builds name in
    /// `pools` (a build's pin is the build's, not the configuration's). In agent order.
    pub fn compatible_with_build_type(&self, build_type: &str) -> Vec<usize> {
        let pools = (self.state.queue.iter())
            .filter(|q| q.job == build_type)
            .flat_map(|q| q.pools.iter().filter_map(|p| self.pool_id(p)))
            .collect();
        self.in_pools(pools)
    }

    /// Every agent in these pools, in agent order.
    fn in_pools(&self, mut pools: Vec<u64>) -> Vec<usize> {
        let members = self.pool_members.get_or_init(|| {
            let mut members = vec![Vec::new(); self.pool_list().len()];
            for i in 0..self.state.agents.len() {
                members[self.agent_pool(i).0 as usize].push(i);
            }
            members
        });
        pools.sort_unstable();
        pools.dedup();
        let mut agents: Vec<usize> = pools
            .iter()
            .flat_map(|&id| members[id as usize].iter().copied())
            .collect();
        if pools.len() > 1 {
            agents.sort_unstable();
        }
        agents
    }
}
