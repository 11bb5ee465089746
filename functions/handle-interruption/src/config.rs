//! handle-interruption's configuration, read once at start.

use std::time::Duration;

use rules::{AgentNameSource, Pool};
use shared::config::{CiConfig, Env, agent_name_source_from_env, pools_from_env};
use shared::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RebalanceAction {
    /// Stop new work on the agent; the running build goes on.
    Offline,
    Ignore,
}

#[derive(Debug, Clone)]
pub struct InterruptionConfig {
    pub ci: CiConfig,
    pub pools: Vec<Pool>,
    pub namespace: String,
    /// Checkpoints and drain records (`CHECKPOINT_BUCKET`).
    pub bucket: String,
    pub agent_names: AgentNameSource,
    /// The terminate lifecycle hook ci-fleet owns (`DRAIN_HOOK_NAME`, default `ci-fleet-drain`).
    pub drain_hook: String,
    /// `DRAIN_TIMEOUT_SECONDS` (7200, as the template): a drain ends by then even if the build still runs.
    pub drain_timeout: Duration,
    /// `REBALANCE_ACTION`: `offline` (default) or `ignore`.
    pub rebalance: RebalanceAction,
}

impl InterruptionConfig {
    pub fn from_env(env: &Env) -> Result<InterruptionConfig> {
        let ci = CiConfig::from_env(env)?;
        let pools = pools_from_env(env, ci.kind)?;
        let rebalance = match env.get("REBALANCE_ACTION").unwrap_or("offline") {
            "offline" => RebalanceAction::Offline,
            "ignore" => RebalanceAction::Ignore,
            other => {
                return Err(Error::config(
                    "REBALANCE_ACTION",
                    format!("{other:?} is not offline or ignore"),
                ));
            }
        };
        Ok(InterruptionConfig {
            ci,
            pools,
            namespace: env.get("METRICS_NAMESPACE").unwrap_or("CIFleet").to_owned(),
            bucket: env.required("CHECKPOINT_BUCKET")?.to_owned(),
            agent_names: agent_name_source_from_env(env)?,
            drain_hook: env
                .get("DRAIN_HOOK_NAME")
                .unwrap_or("ci-fleet-drain")
                .to_owned(),
            drain_timeout: env.seconds_or("DRAIN_TIMEOUT_SECONDS", 7200)?,
            rebalance,
        })
    }

    pub fn pool_of_group(&self, group: &str) -> Option<&Pool> {
        self.pools.iter().find(|p| p.spec.asg == group)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_defaults_and_names_bad_values() {
        let base = [
            ("CI_KIND", "jenkins"),
            ("CI_URL", "http://ci"),
            (
                "POOLS",
                r#"[{"name":"linux","ci_label":"linux","asg":"ci-linux","executors_per_instance":4}]"#,
            ),
            ("CHECKPOINT_BUCKET", "b"),
        ];
        let config = InterruptionConfig::from_env(&Env::from_pairs(base)).expect("valid");
        assert_eq!(
            (
                config.drain_hook.as_str(),
                config.drain_timeout.as_secs(),
                config.rebalance
            ),
            ("ci-fleet-drain", 7200, RebalanceAction::Offline)
        );
        assert_eq!(
            config.pool_of_group("ci-linux").map(|p| p.name()),
            Some("linux")
        );
        let mut bad = base.to_vec();
        bad.push(("REBALANCE_ACTION", "drain"));
        assert_eq!(
            InterruptionConfig::from_env(&Env::from_pairs(bad))
                .expect_err("bad")
                .to_string(),
            "configuration: REBALANCE_ACTION: \"drain\" is not offline or ignore"
        );
    }
}
