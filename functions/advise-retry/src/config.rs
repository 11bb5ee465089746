//! advise-retry's configuration, read once at start.

use std::time::Duration;

use rules::retry::{MAX_LOG_TAIL_BYTES, RetryPolicy};
use shared::config::{CiConfig, Env, Secret};
use shared::{Error, Result};

/// A key shorter than this is a password, not an HMAC key.
pub const MIN_KEY_BYTES: usize = 16;
/// A Function URL request carries at most 6 MB; a build notification is a few KB.
const MAX_BODY_LIMIT: usize = 6 * 1024 * 1024;

/// Where the webhook's HMAC key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `RETRY_WEBHOOK_KEY`: for local use and tests.
    Inline(Secret),
    /// `RETRY_WEBHOOK_SECRET`: a Secrets Manager id, read once at start.
    SecretsManager(String),
}

#[derive(Debug, Clone)]
pub struct RetryConfig {
    pub ci: CiConfig,
    pub namespace: String,
    /// Retry records and the checkpoint interruption records (`CHECKPOINT_BUCKET`).
    pub bucket: String,
    /// `RETRY_POLICY` (JSON) over the documented defaults.
    pub policy: RetryPolicy,
    pub key: KeySource,
    /// `RETRY_SIGNATURE_WINDOW_SECONDS` (300): how far a request's timestamp may be from now.
    pub window: Duration,
    /// `RETRY_MAX_BODY_BYTES` (262144): larger requests are refused with 413.
    pub max_body_bytes: usize,
    /// `RETRY_LOG_TAIL_BYTES` (65536): how much of the end of a log is read.
    pub log_tail_bytes: usize,
}

impl RetryConfig {
    pub fn from_env(env: &Env) -> Result<RetryConfig> {
        let ci = CiConfig::from_env(env)?;
        let policy = match env.get("RETRY_POLICY") {
            None => RetryPolicy::default(),
            Some(json) => RetryPolicy::parse(json).map_err(|e| Error::config("RETRY_POLICY", e))?,
        };
        let key = match (
            env.get("RETRY_WEBHOOK_SECRET"),
            env.get("RETRY_WEBHOOK_KEY"),
        ) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "RETRY_WEBHOOK_SECRET",
                    "set either it or RETRY_WEBHOOK_KEY, not both",
                ));
            }
            (Some(id), None) => KeySource::SecretsManager(id.to_owned()),
            (None, Some(key)) => {
                check_key("RETRY_WEBHOOK_KEY", key)?;
                KeySource::Inline(Secret::new(key))
            }
            (None, None) => {
                return Err(Error::config(
                    "RETRY_WEBHOOK_SECRET",
                    "is required (the Secrets Manager id of the webhook's HMAC key), or RETRY_WEBHOOK_KEY for local use",
                ));
            }
        };
        let window = env.seconds_or("RETRY_SIGNATURE_WINDOW_SECONDS", 300)?;
        if window.is_zero() || window > Duration::from_secs(3600) {
            return Err(Error::config(
                "RETRY_SIGNATURE_WINDOW_SECONDS",
                "must be 1 to 3600",
            ));
        }
        let max_body_bytes = env.parsed_or("RETRY_MAX_BODY_BYTES", 256 * 1024)?;
        if !(1024..=MAX_BODY_LIMIT).contains(&max_body_bytes) {
            return Err(Error::config(
                "RETRY_MAX_BODY_BYTES",
                format!("must be 1024 to {MAX_BODY_LIMIT}"),
            ));
        }
        let log_tail_bytes = env.parsed_or("RETRY_LOG_TAIL_BYTES", 64 * 1024)?;
        if !(1024..=MAX_LOG_TAIL_BYTES).contains(&log_tail_bytes) {
            return Err(Error::config(
                "RETRY_LOG_TAIL_BYTES",
                format!("must be 1024 to {MAX_LOG_TAIL_BYTES}"),
            ));
        }
        Ok(RetryConfig {
            ci,
            namespace: env.get("METRICS_NAMESPACE").unwrap_or("CIFleet").to_owned(),
            bucket: env.required("CHECKPOINT_BUCKET")?.to_owned(),
            policy,
            key,
            window,
            max_body_bytes,
            log_tail_bytes,
        })
    }
}

/// Refuses keys too short to be one; the error never shows the key.
pub fn check_key(variable: &str, key: &str) -> Result<()> {
    if key.len() < MIN_KEY_BYTES {
        return Err(Error::config(
            variable,
            format!(
                "the webhook key is shorter than {MIN_KEY_BYTES} bytes (use e.g. `openssl rand -hex 32`)"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("CI_KIND", "jenkins"),
            ("CI_URL", "http://ci"),
            ("CHECKPOINT_BUCKET", "ci-fleet-state"),
            ("RETRY_WEBHOOK_KEY", KEY),
        ]
    }

    fn error_of(pairs: Vec<(&str, &str)>) -> String {
        match RetryConfig::from_env(&Env::from_pairs(pairs)) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    fn with(name: &'static str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        let mut pairs: Vec<_> = base().into_iter().filter(|(k, _)| *k != name).collect();
        if !value.is_empty() {
            pairs.push((name, value));
        }
        pairs
    }

    #[test]
    fn defaults() {
        let config = RetryConfig::from_env(&Env::from_pairs(base())).expect("valid");
        assert_eq!(
            (
                config.window.as_secs(),
                config.max_body_bytes,
                config.log_tail_bytes,
                config.namespace.as_str()
            ),
            (300, 262_144, 65_536, "CIFleet")
        );
        assert_eq!(config.policy, RetryPolicy::default());
        assert_eq!(config.key, KeySource::Inline(Secret::new(KEY)));
        let config = RetryConfig::from_env(&Env::from_pairs(
            with("RETRY_WEBHOOK_KEY", "")
                .into_iter()
                .chain([("RETRY_WEBHOOK_SECRET", "ci-fleet/webhook")])
                .collect::<Vec<_>>(),
        ))
        .expect("valid");
        assert_eq!(
            config.key,
            KeySource::SecretsManager("ci-fleet/webhook".into())
        );
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            (
                with("RETRY_WEBHOOK_KEY", ""),
                "configuration: RETRY_WEBHOOK_SECRET: is required (the Secrets Manager id of the webhook's HMAC key), or RETRY_WEBHOOK_KEY for local use",
            ),
            (
                with("RETRY_WEBHOOK_KEY", "short"),
                "configuration: RETRY_WEBHOOK_KEY: the webhook key is shorter than 16 bytes (use e.g. `openssl rand -hex 32`)",
            ),
            (
                with("RETRY_WEBHOOK_SECRET", "id"),
                "configuration: RETRY_WEBHOOK_SECRET: set either it or RETRY_WEBHOOK_KEY, not both",
            ),
            (
                with("RETRY_POLICY", r#"{"retries":{"flaky":1}}"#),
                "configuration: RETRY_POLICY: unknown variant `flaky`, expected one of `spot-interruption`, `agent-lost`, `oom`, `timeout`, `infrastructure`, `deterministic` at line 1 column 19",
            ),
            (
                with("RETRY_SIGNATURE_WINDOW_SECONDS", "0"),
                "configuration: RETRY_SIGNATURE_WINDOW_SECONDS: must be 1 to 3600",
            ),
            (
                with("RETRY_MAX_BODY_BYTES", "10"),
                "configuration: RETRY_MAX_BODY_BYTES: must be 1024 to 6291456",
            ),
            (
                with("RETRY_LOG_TAIL_BYTES", "10000000"),
                "configuration: RETRY_LOG_TAIL_BYTES: must be 1024 to 262144",
            ),
            (
                with("CHECKPOINT_BUCKET", ""),
                "configuration: CHECKPOINT_BUCKET: is required but not set",
            ),
        ];
        for (pairs, expected) in cases {
            let got = error_of(pairs);
            assert_eq!(got, expected);
            assert!(!got.contains(KEY), "the key never appears in errors");
        }
    }
}
