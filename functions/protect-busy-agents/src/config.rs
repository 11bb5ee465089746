//! protect-busy-agents' configuration, read once at start.

use std::time::Duration;

use shared::config::{CiConfig, Env, agent_name_source_from_env, pools_from_env};
use shared::domain::protection::Graces;
use shared::domain::{AgentNameSource, Pool};
use shared::{Error, Result};

#[derive(Debug, Clone)]
pub struct ProtectConfig {
    pub ci: CiConfig,
    pub pools: Vec<Pool>,
    pub namespace: String,
    /// Bucket holding drain records and the idle-since memory (`CHECKPOINT_BUCKET`).
    pub bucket: String,
    pub agent_names: AgentNameSource,
    /// `BOOT_GRACE_SECONDS` (600) and `IDLE_GRACE_SECONDS` (120).
    pub graces: Graces,
    /// How often the schedule runs the function (`RUN_INTERVAL_SECONDS`, 60): heartbeats
    /// due before the next run go out now.
    pub run_every: Duration,
    /// `REMOVE_DEAD_AGENTS` (true): delete offline agents whose instance is gone.
    pub remove_dead_agents: bool,
}

impl ProtectConfig {
    pub fn from_env(env: &Env) -> Result<ProtectConfig> {
        let ci = CiConfig::from_env(env)?;
        let pools = pools_from_env(env, ci.kind)?;
        let run_every = env.seconds_or("RUN_INTERVAL_SECONDS", 60)?;
        if run_every.is_zero() {
            return Err(Error::config("RUN_INTERVAL_SECONDS", "must be at least 1"));
        }
        Ok(ProtectConfig {
            ci,
            pools,
            namespace: env.get("METRICS_NAMESPACE").unwrap_or("CIFleet").to_owned(),
            bucket: env.required("CHECKPOINT_BUCKET")?.to_owned(),
            agent_names: agent_name_source_from_env(env)?,
            graces: Graces {
                boot: env.seconds_or("BOOT_GRACE_SECONDS", 600)?,
                idle: env.seconds_or("IDLE_GRACE_SECONDS", 120)?,
            },
            run_every,
            remove_dead_agents: env.flag("REMOVE_DEAD_AGENTS", true)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_named_errors() {
        let base = [
            ("CI_KIND", "teamcity"),
            ("CI_URL", "http://tc"),
            (
                "POOLS",
                r#"[{"name":"linux","ci_label":"Linux","asg":"ci-linux","executors_per_instance":1}]"#,
            ),
            ("CHECKPOINT_BUCKET", "ci-fleet-state"),
        ];
        let config = ProtectConfig::from_env(&Env::from_pairs(base)).expect("valid");
        assert_eq!(
            config.graces,
            Graces {
                boot: Duration::from_secs(600),
                idle: Duration::from_secs(120)
            }
        );
        assert_eq!(
            (config.remove_dead_agents, config.agent_names.to_string()),
            (true, "instance-id".to_owned())
        );

        let without_bucket: Vec<_> = base
            .iter()
            .copied()
            .filter(|(k, _)| *k != "CHECKPOINT_BUCKET")
            .collect();
        assert_eq!(
            ProtectConfig::from_env(&Env::from_pairs(without_bucket))
                .expect_err("missing")
                .to_string(),
            "configuration: CHECKPOINT_BUCKET: is required but not set"
        );
        let mut bad = base.to_vec();
        bad.push(("REMOVE_DEAD_AGENTS", "maybe"));
        assert_eq!(
            ProtectConfig::from_env(&Env::from_pairs(bad))
                .expect_err("bad")
                .to_string(),
            "configuration: REMOVE_DEAD_AGENTS: \"maybe\" is not a boolean (true/false)"
        );
    }
}
