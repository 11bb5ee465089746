//! Agent pools: which agents and which queued builds belong to a pool.

use serde::{Deserialize, Serialize};

use super::label_expr::{LabelExpr, LabelExprError};
use super::model::{Agent, Demand};

/// A pool as the operator configures it (`POOLS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolSpec {
    pub name: String,
    /// Jenkins label expression, or TeamCity agent pool name.
    pub ci_label: String,
    /// The Auto Scaling group that holds the pool's instances.
    pub asg: String,
    pub executors_per_instance: u32,
    /// Recycle an agent's instance after this many builds (1 = one-build, stateless
    /// agents); absent = unlimited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_builds_per_agent: Option<u32>,
}

/// How a pool recognises its agents.
#[derive(Debug, Clone, PartialEq)]
pub enum PoolSelector {
    /// Jenkins: agents whose labels satisfy the expression.
    Labels(LabelExpr),
    /// TeamCity: agents in the agent pool with this name.
    AgentPool(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub spec: PoolSpec,
    pub selector: PoolSelector,
}

impl Pool {
    pub fn jenkins(spec: PoolSpec) -> Result<Pool, LabelExprError> {
        let selector = PoolSelector::Labels(LabelExpr::parse(&spec.ci_label)?);
        Ok(Pool { spec, selector })
    }

    pub fn teamcity(spec: PoolSpec) -> Pool {
        let selector = PoolSelector::AgentPool(spec.ci_label.clone());
        Pool { spec, selector }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn contains(&self, agent: &Agent) -> bool {
        match &self.selector {
            PoolSelector::Labels(expr) => expr.matches(|label| agent.has_label(label)),
            PoolSelector::AgentPool(name) => agent.labels.iter().any(|l| l == name),
        }
    }

    /// Whether the pool's new instances would run the build: their labels are the ones
    /// its expression requires plus those every current member carries (what its launch
    /// template gives them all). A `gpu && linux` build is not the `linux` pool's even
    /// when GPU agents, carrying `linux`, count among its members.
    pub fn would_launch_for(&self, demand: &Demand, members: &[&Agent]) -> bool {
        let (Demand::Expression(wanted), PoolSelector::Labels(own)) = (demand, &self.selector)
        else {
            return self.wants(demand, members);
        };
        if wanted == own {
            return true;
        }
        let mut labels: Vec<&str> = own.required_atoms();
        if let Some((first, rest)) = members.split_first() {
            labels.extend(
                (first.labels.iter())
                    .filter(|l| rest.iter().all(|m| m.labels.contains(l)))
                    .map(String::as_str),
            );
        }
        let witness = |label: &str| labels.contains(&label);
        own.matches(witness) && wanted.matches(witness)
    }

    /// Whether a queued build waits for this pool. `members` are the pool's agents,
    /// online or not. With no agents at all (a pool scaled to zero) the build is matched
    /// against the labels the pool's expression requires, so demand can start the pool.
    pub fn wants(&self, demand: &Demand, members: &[&Agent]) -> bool {
        match (demand, &self.selector) {
            (Demand::Any | Demand::Unknown(_), _) => false,
            (Demand::Pools(pools), _) => pools.contains(&self.spec.ci_label),
            (Demand::Expression(wanted), PoolSelector::Labels(own)) => {
                if wanted == own {
                    return true;
                }
                if members.is_empty() {
                    let required = own.required_atoms();
                    let witness = |label: &str| required.contains(&label);
                    own.matches(witness) && wanted.matches(witness)
                } else {
                    members
                        .iter()
                        .any(|agent| wanted.matches(|label| agent.has_label(label)))
                }
            }
            (Demand::Expression(wanted), PoolSelector::AgentPool(name)) => {
                members
                    .iter()
                    .any(|agent| wanted.matches(|label| agent.has_label(label)))
                    || wanted.matches(|label| label == name)
            }
        }
    }
}
