//! protect-busy-agents' configuration, read once at start.

use std::time::Duration;

use rules::health::HealthRules;
use rules::protection::Graces;
use rules::{AgentNameSource, Pool};
use shared::config::{CiConfig, Env, agent_name_source_from_env, pools_from_env};
use shared::{Error, Result};

#[derive(Debug, Clone)]
pub struct ProtectConfig {
    pub ci: CiConfig,
    pub pools: Vec<Pool>,
    pub namespace: String,
    /// Bucket holding drain records and the idle-since memory (`CHECKPOINT_BUCKET`).
    pub bucket: String,
    pub agent_names: AgentNameSource,
    /// `BOOT_GRACE_SECONDS` (600) and `IDLE_GRACE_SECONDS` (60, as the template: fleet-sim).
    pub graces: Graces,
    /// How often the schedule runs the function (`RUN_INTERVAL_SECONDS`, 60): heartbeats
    /// due before the next run go out now.
    pub run_every: Duration,
    /// `REMOVE_DEAD_AGENTS` (true): delete offline agents whose instance is gone.
    pub remove_dead_agents: bool,
    pub recycle: RecycleConfig,
    pub orphans: OrphanConfig,
}

/// Terminations whose event never came (`steps/orphans.rs`).
#[derive(Debug, Clone, PartialEq)]
pub struct OrphanConfig {
    /// `DRAIN_HOOK_NAME` (ci-fleet-drain): the hook whose actions are ours.
    pub hook: String,
    /// `DRAIN_TIMEOUT_SECONDS` (7200), as handle-interruption's drains.
    pub drain_timeout: Duration,
    /// `ORPHAN_GRACE_SECONDS` (60): how long an action waits for its event before this
    /// function takes it over (the event normally arrives within seconds).
    pub grace: Duration,
}

impl OrphanConfig {
    pub fn from_env(env: &Env) -> Result<OrphanConfig> {
        Ok(OrphanConfig {
            hook: env
                .get("DRAIN_HOOK_NAME")
                .unwrap_or("ci-fleet-drain")
                .to_owned(),
            drain_timeout: env.seconds_or("DRAIN_TIMEOUT_SECONDS", 7200)?,
            grace: env.seconds_or("ORPHAN_GRACE_SECONDS", 60)?,
        })
    }
}

/// Agent recycling (`steps/recycling.rs`, rules in `rules::recycle`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecycleConfig {
    /// `RECYCLE` (true).
    pub enabled: bool,
    /// `RECYCLE_MAX_SHARE` (0.25): at most this share of a pool's in-service instances
    /// recycles at once (at least one).
    pub max_share: f64,
    /// `HEALTH_FAILED_JOBS` (3), `HEALTH_LOST_BUILDS` (2), `HEALTH_LOST_WINDOW_SECONDS` (3600).
    pub rules: HealthRules,
}

impl Default for RecycleConfig {
    fn default() -> Self {
        RecycleConfig {
            enabled: true,
            max_share: 0.25,
            rules: HealthRules::default(),
        }
    }
}

impl RecycleConfig {
    pub fn from_env(env: &Env) -> Result<RecycleConfig> {
        let defaults = RecycleConfig::default();
        let max_share: f64 = env.parsed_or("RECYCLE_MAX_SHARE", defaults.max_share)?;
        if !(max_share > 0.0 && max_share <= 1.0) {
            return Err(Error::config(
                "RECYCLE_MAX_SHARE",
                format!("{max_share} is not a share between 0 (excluded) and 1"),
            ));
        }
        Ok(RecycleConfig {
            enabled: env.flag("RECYCLE", defaults.enabled)?,
            max_share,
            rules: HealthRules {
                failed_jobs_in_a_row: env
                    .parsed_or("HEALTH_FAILED_JOBS", defaults.rules.failed_jobs_in_a_row)?,
                lost_builds: env.parsed_or("HEALTH_LOST_BUILDS", defaults.rules.lost_builds)?,
                lost_window: env.seconds_or(
                    "HEALTH_LOST_WINDOW_SECONDS",
                    defaults.rules.lost_window.as_secs(),
                )?,
            },
        })
    }
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
                idle: env.seconds_or("IDLE_GRACE_SECONDS", 60)?,
            },
            run_every,
            remove_dead_agents: env.flag("REMOVE_DEAD_AGENTS", true)?,
            recycle: RecycleConfig::from_env(env)?,
            orphans: OrphanConfig::from_env(env)?,
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
                idle: Duration::from_secs(60)
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
        assert_eq!(config.recycle, RecycleConfig::default());
        let mut tuned = base.to_vec();
        tuned.extend([
            ("RECYCLE", "false"),
            ("RECYCLE_MAX_SHARE", "0.5"),
            ("HEALTH_FAILED_JOBS", "4"),
            ("HEALTH_LOST_BUILDS", "3"),
            ("HEALTH_LOST_WINDOW_SECONDS", "600"),
        ]);
        assert_eq!(
            ProtectConfig::from_env(&Env::from_pairs(tuned))
                .expect("valid")
                .recycle,
            RecycleConfig {
                enabled: false,
                max_share: 0.5,
                rules: HealthRules {
                    failed_jobs_in_a_row: 4,
                    lost_builds: 3,
                    lost_window: Duration::from_secs(600)
                }
            }
        );
        let mut share = base.to_vec();
        share.push(("RECYCLE_MAX_SHARE", "1.5"));
        assert_eq!(
            ProtectConfig::from_env(&Env::from_pairs(share))
                .expect_err("bad")
                .to_string(),
            "configuration: RECYCLE_MAX_SHARE: 1.5 is not a share between 0 (excluded) and 1"
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
