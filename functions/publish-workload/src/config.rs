//! publish-workload's configuration, read once at start.

use std::time::Duration;

use rules::Pool;
use shared::config::{CiConfig, Env, pools_from_env};
use shared::{Error, Result};

#[derive(Debug, Clone)]
pub struct PublishConfig {
    pub ci: CiConfig,
    pub pools: Vec<Pool>,
    pub namespace: String,
    /// Time between polls inside one invocation (`POLL_INTERVAL_SECONDS`, default 10).
    pub poll_interval: Duration,
    /// How long one invocation keeps polling (`POLL_WINDOW_SECONDS`, default 50; 0 = one poll).
    pub poll_window: Duration,
}

impl PublishConfig {
    pub fn from_env(env: &Env) -> Result<PublishConfig> {
        let ci = CiConfig::from_env(env)?;
        let pools = pools_from_env(env, ci.kind)?;
        let namespace = env.get("METRICS_NAMESPACE").unwrap_or("CIFleet").to_owned();
        if namespace.starts_with("AWS/") || namespace.len() > 255 {
            return Err(Error::config(
                "METRICS_NAMESPACE",
                format!("{namespace:?} is reserved or too long"),
            ));
        }
        let poll_interval = env.seconds_or("POLL_INTERVAL_SECONDS", 10)?;
        if poll_interval.is_zero() {
            return Err(Error::config("POLL_INTERVAL_SECONDS", "must be at least 1"));
        }
        let poll_window = env.seconds_or("POLL_WINDOW_SECONDS", 50)?;
        if poll_window > Duration::from_secs(840) {
            return Err(Error::config(
                "POLL_WINDOW_SECONDS",
                "must fit in a Lambda invocation (at most 840)",
            ));
        }
        Ok(PublishConfig {
            ci,
            pools,
            namespace,
            poll_interval,
            poll_window,
        })
    }

    /// Polls at 0, interval, 2×interval … up to the window.
    pub fn polls_per_invocation(&self) -> u32 {
        (self.poll_window.as_secs() / self.poll_interval.as_secs()) as u32 + 1
    }

    /// CloudWatch keeps 1-second resolution only for metrics flagged high resolution;
    /// polling faster than a minute is pointless without it.
    pub fn high_resolution(&self) -> bool {
        self.poll_interval < Duration::from_secs(60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(extra: &[(&'static str, &'static str)]) -> Env {
        let mut pairs = vec![
            ("CI_KIND", "jenkins"),
            ("CI_URL", "http://127.0.0.1:8080"),
            (
                "POOLS",
                r#"[{"name":"linux","ci_label":"linux","asg":"ci-linux","executors_per_instance":2}]"#,
            ),
        ];
        pairs.extend_from_slice(extra);
        Env::from_pairs(pairs)
    }

    #[test]
    fn defaults_poll_every_ten_seconds_for_fifty() {
        let config = PublishConfig::from_env(&env(&[])).expect("valid");
        assert_eq!(
            (
                config.namespace.as_str(),
                config.polls_per_invocation(),
                config.high_resolution()
            ),
            ("CIFleet", 6, true)
        );
        let once = PublishConfig::from_env(&env(&[
            ("POLL_WINDOW_SECONDS", "0"),
            ("POLL_INTERVAL_SECONDS", "60"),
        ]))
        .expect("valid");
        assert_eq!(
            (once.polls_per_invocation(), once.high_resolution()),
            (1, false)
        );
    }

    #[test]
    fn rejects_bad_polling_settings_by_name() {
        let message = |extra| {
            PublishConfig::from_env(&env(extra))
                .expect_err("invalid")
                .to_string()
        };
        assert_eq!(
            message(&[("POLL_INTERVAL_SECONDS", "0")]),
            "configuration: POLL_INTERVAL_SECONDS: must be at least 1"
        );
        assert_eq!(
            message(&[("POLL_WINDOW_SECONDS", "-5")]),
            "configuration: POLL_WINDOW_SECONDS: \"-5\" is not valid: invalid digit found in string"
        );
        assert_eq!(
            message(&[("METRICS_NAMESPACE", "AWS/EC2")]),
            "configuration: METRICS_NAMESPACE: \"AWS/EC2\" is reserved or too long"
        );
    }
}
