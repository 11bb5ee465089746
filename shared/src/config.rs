//! Configuration shared by the functions, read once at start from environment variables
//! (names in docs/design.md#configuration). A missing or malformed variable is an error that names it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::ci::kind::CiKind;
use crate::error::{Error, Result};
use rules::{AgentNameSource, Pool, PoolSpec};

/// A snapshot of the environment, so configuration is read once and tests can supply their own.
#[derive(Debug, Clone, Default)]
pub struct Env(BTreeMap<String, String>);

impl Env {
    pub fn from_process() -> Env {
        Env(std::env::vars().collect())
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Env {
        Env(pairs
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect())
    }

    /// The value, or `None` when unset or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn required(&self, name: &str) -> Result<&str> {
        self.get(name)
            .ok_or_else(|| Error::config(name, "is required but not set"))
    }

    pub fn parsed_or<T>(&self, name: &str, default: T) -> Result<T>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .parse()
                .map_err(|e| Error::config(name, format!("{raw:?} is not valid: {e}"))),
        }
    }

    pub fn flag(&self, name: &str, default: bool) -> Result<bool> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(Error::config(
                name,
                format!("{other:?} is not a boolean (true/false)"),
            )),
        }
    }

    pub fn seconds_or(&self, name: &str, default: u64) -> Result<Duration> {
        self.parsed_or::<u64>(name, default)
            .map(Duration::from_secs)
    }
}

/// A value that must never reach logs, responses or metrics.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Credentials {
    #[serde(default)]
    pub user: Option<String>,
    pub token: Secret,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    Anonymous,
    Inline(Credentials),
    /// Secrets Manager id of `{"user":…,"token":…}`, fetched once at start.
    SecretsManager(String),
}

#[derive(Debug, Clone)]
pub struct CiConfig {
    pub kind: CiKind,
    /// Base URL, context path included, without a trailing slash.
    pub url: String,
    pub credentials: CredentialSource,
    pub timeout: Duration,
    /// Responses larger than this are refused: a runaway server must not exhaust a 128 MB Lambda.
    pub max_response_bytes: usize,
    /// TeamCity items per page (`count:` in locators); `nextHref` fetches the rest.
    pub page_size: u32,
}

impl CiConfig {
    pub fn from_env(env: &Env) -> Result<CiConfig> {
        let kind = match env.required("CI_KIND")?.to_ascii_lowercase().as_str() {
            "jenkins" => CiKind::Jenkins,
            "teamcity" => CiKind::TeamCity,
            other => {
                return Err(Error::config(
                    "CI_KIND",
                    format!("{other:?} is not one of jenkins, teamcity"),
                ));
            }
        };
        let url = env.required("CI_URL")?.trim_end_matches('/').to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.contains(char::is_whitespace)
        {
            return Err(Error::config(
                "CI_URL",
                format!("{url:?} is not an http(s) URL"),
            ));
        }
        if url.split("//").nth(1).is_some_and(|rest| {
            rest.split('/')
                .next()
                .is_some_and(|host| host.contains('@'))
        }) {
            return Err(Error::config(
                "CI_URL",
                "must not carry credentials; use CI_USER/CI_TOKEN or CI_CREDENTIALS_SECRET",
            ));
        }
        let credentials = match (env.get("CI_CREDENTIALS_SECRET"), env.get("CI_TOKEN")) {
            (Some(_), Some(_)) => {
                return Err(Error::config(
                    "CI_CREDENTIALS_SECRET",
                    "set either it or CI_TOKEN, not both",
                ));
            }
            (Some(id), None) => CredentialSource::SecretsManager(id.to_owned()),
            (None, Some(token)) => {
                let user = env.get("CI_USER").map(str::to_owned);
                if kind == CiKind::Jenkins && user.is_none() {
                    return Err(Error::config(
                        "CI_USER",
                        "is required with CI_TOKEN for Jenkins (API tokens belong to a user)",
                    ));
                }
                CredentialSource::Inline(Credentials {
                    user,
                    token: Secret::new(token),
                })
            }
            (None, None) => CredentialSource::Anonymous,
        };
        let timeout = env.seconds_or("CI_TIMEOUT_SECONDS", 8)?;
        if timeout.is_zero() {
            return Err(Error::config("CI_TIMEOUT_SECONDS", "must be at least 1"));
        }
        // 16 MiB fits the functions' 128 MB with both poll responses at the cap: measured,
        // a 19 MiB queue and a 9.7 MiB computer answer peak at 65 MiB RSS (R19).
        let max_response_bytes = env.parsed_or("CI_MAX_RESPONSE_BYTES", 16 * 1024 * 1024)?;
        let page_size = env.parsed_or("CI_PAGE_SIZE", 1000)?;
        if page_size == 0 {
            return Err(Error::config("CI_PAGE_SIZE", "must be at least 1"));
        }
        Ok(CiConfig {
            kind,
            url,
            credentials,
            timeout,
            max_response_bytes,
            page_size,
        })
    }
}

/// `AGENT_NAME_SOURCE`: `instance-id` (default), `private-dns-name` or `tag:<Key>`.
pub fn agent_name_source_from_env(env: &Env) -> Result<AgentNameSource> {
    AgentNameSource::parse(env.get("AGENT_NAME_SOURCE").unwrap_or("instance-id"))
        .map_err(|e| Error::config("AGENT_NAME_SOURCE", e))
}

/// `POOLS`: a JSON list of `{"name","ci_label","asg","executors_per_instance"}`, each
/// optionally with `"max_builds_per_agent"`.
pub fn pools_from_env(env: &Env, kind: CiKind) -> Result<Vec<Pool>> {
    let raw = env.required("POOLS")?;
    let specs: Vec<PoolSpec> = serde_json::from_str(raw)
        .map_err(|e| Error::config("POOLS", format!("not a JSON list of pools: {e}")))?;
    if specs.is_empty() {
        return Err(Error::config("POOLS", "lists no pool"));
    }
    let mut names = HashSet::new();
    specs
        .into_iter()
        .map(|spec| {
            let problem =
                |reason: String| Error::config("POOLS", format!("pool {:?}: {reason}", spec.name));
            if spec.name.is_empty() || spec.name.len() > 255 {
                return Err(problem(
                    "name must be 1 to 255 characters (it is the metric dimension)".into(),
                ));
            }
            if !names.insert(spec.name.clone()) {
                return Err(problem("is listed twice".into()));
            }
            if spec.executors_per_instance == 0 {
                return Err(problem("executors_per_instance must be at least 1".into()));
            }
            if spec.max_builds_per_agent == Some(0) {
                return Err(problem(
                    "max_builds_per_agent must be at least 1 (leave it out for no limit)".into(),
                ));
            }
            if spec.asg.is_empty() {
                return Err(problem("asg is empty".into()));
            }
            match kind {
                CiKind::Jenkins => Pool::jenkins(spec.clone()).map_err(|e| problem(e.to_string())),
                CiKind::TeamCity => Ok(Pool::teamcity(spec.clone())),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const POOLS: &str = r#"[{"name":"linux","ci_label":"linux && docker","asg":"ci-linux","executors_per_instance":4}]"#;

    fn error_of(pairs: &[(&str, &str)]) -> String {
        let env = Env::from_pairs(pairs.iter().copied());
        match CiConfig::from_env(&env).and_then(|c| pools_from_env(&env, c.kind).map(|_| c)) {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn names_the_variable_that_is_wrong() {
        let base = [
            ("CI_KIND", "jenkins"),
            ("CI_URL", "https://ci.example.com/"),
            ("CI_USER", "bot"),
            ("CI_TOKEN", "t"),
            ("POOLS", POOLS),
        ];
        let with = |k: &'static str, v: &'static str| {
            let mut pairs: Vec<(&str, &str)> = base
                .iter()
                .copied()
                .filter(|(name, _)| *name != k)
                .collect();
            if !v.is_empty() {
                pairs.push((k, v));
            }
            pairs
        };
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (base.to_vec(), "ok"),
            (
                with("CI_KIND", ""),
                "configuration: CI_KIND: is required but not set",
            ),
            (
                with("CI_KIND", "gitlab"),
                "configuration: CI_KIND: \"gitlab\" is not one of jenkins, teamcity",
            ),
            (
                with("CI_URL", "ci.example.com"),
                "configuration: CI_URL: \"ci.example.com\" is not an http(s) URL",
            ),
            (
                with("CI_URL", "https://bot:pw@ci.example.com"),
                "configuration: CI_URL: must not carry credentials; use CI_USER/CI_TOKEN or CI_CREDENTIALS_SECRET",
            ),
            (
                with("CI_USER", ""),
                "configuration: CI_USER: is required with CI_TOKEN for Jenkins (API tokens belong to a user)",
            ),
            (
                with("POOLS", ""),
                "configuration: POOLS: is required but not set",
            ),
            (with("POOLS", "[]"), "configuration: POOLS: lists no pool"),
            (
                with("POOLS", "{"),
                "configuration: POOLS: not a JSON list of pools: invalid type: map, expected a sequence at line 1 column 0",
            ),
            (
                with(
                    "POOLS",
                    r#"[{"name":"a","ci_label":"linux &&","asg":"g","executors_per_instance":1}]"#,
                ),
                "configuration: POOLS: pool \"a\": invalid label expression \"linux &&\": expression ends too early at character 8",
            ),
            (
                with(
                    "POOLS",
                    r#"[{"name":"a","ci_label":"l","asg":"g","executors_per_instance":0}]"#,
                ),
                "configuration: POOLS: pool \"a\": executors_per_instance must be at least 1",
            ),
            (
                with(
                    "POOLS",
                    r#"[{"name":"a","ci_label":"l","asg":"g","executors_per_instance":1,"max_builds_per_agent":0}]"#,
                ),
                "configuration: POOLS: pool \"a\": max_builds_per_agent must be at least 1 (leave it out for no limit)",
            ),
            (
                with(
                    "POOLS",
                    r#"[{"name":"a","ci_label":"l","asg":"g","executors_per_instance":1},{"name":"a","ci_label":"m","asg":"h","executors_per_instance":1}]"#,
                ),
                "configuration: POOLS: pool \"a\": is listed twice",
            ),
            (
                with("CI_TIMEOUT_SECONDS", "soon"),
                "configuration: CI_TIMEOUT_SECONDS: \"soon\" is not valid: invalid digit found in string",
            ),
        ];
        for (pairs, expected) in cases {
            assert_eq!(error_of(&pairs), expected, "{pairs:?}");
        }
    }

    #[test]
    fn reads_credentials_from_one_source() {
        let env = Env::from_pairs([
            ("CI_KIND", "teamcity"),
            ("CI_URL", "https://tc.example.com/teamcity/"),
            ("CI_TOKEN", "tok"),
        ]);
        let config = CiConfig::from_env(&env).expect("valid");
        assert_eq!(config.url, "https://tc.example.com/teamcity");
        assert_eq!(
            config.credentials,
            CredentialSource::Inline(Credentials {
                user: None,
                token: Secret::new("tok")
            })
        );
        assert!(
            !format!("{config:?}").contains("tok\""),
            "the token never appears in Debug output"
        );

        let env = Env::from_pairs([
            ("CI_KIND", "jenkins"),
            ("CI_URL", "http://j"),
            ("CI_CREDENTIALS_SECRET", "ci/jenkins"),
        ]);
        assert_eq!(
            CiConfig::from_env(&env).expect("valid").credentials,
            CredentialSource::SecretsManager("ci/jenkins".into())
        );
    }
}
