//! EC2 instances as ci-fleet sees them, and how an instance maps to its CI agent.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// What DescribeInstances says about one instance (only the fields ci-fleet uses).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InstanceInfo {
    pub instance_id: String,
    /// pending, running, shutting-down, terminated, stopping, stopped.
    pub state: String,
    pub launch_time: Option<DateTime<Utc>>,
    pub private_dns_name: String,
    pub tags: BTreeMap<String, String>,
}

impl InstanceInfo {
    pub fn is_gone(&self) -> bool {
        matches!(
            self.state.as_str(),
            "shutting-down" | "terminated" | "stopping" | "stopped"
        )
    }
}

/// `AGENT_NAME_SOURCE`: how an agent is named after its instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentNameSource {
    InstanceId,
    /// `ip-10-0-1-23.ec2.internal`; agents often register with their short host name, so
    /// the first DNS label is accepted too.
    PrivateDnsName,
    Tag(String),
}

impl AgentNameSource {
    pub fn parse(raw: &str) -> Result<AgentNameSource, String> {
        match raw {
            "" | "instance-id" => Ok(AgentNameSource::InstanceId),
            "private-dns-name" => Ok(AgentNameSource::PrivateDnsName),
            other => match other.strip_prefix("tag:") {
                Some(key) if !key.is_empty() => Ok(AgentNameSource::Tag(key.to_owned())),
                _ => Err(format!(
                    "{other:?} is not instance-id, private-dns-name or tag:<Key>"
                )),
            },
        }
    }

    /// Whether naming needs DescribeInstances (instance ids alone need no call).
    pub fn needs_instance_details(&self) -> bool {
        !matches!(self, AgentNameSource::InstanceId)
    }

    /// The agent names an instance may appear under, best first; empty when the
    /// instance lacks what the source needs (no tag, no DNS name yet).
    pub fn agent_names(&self, instance_id: &str, details: Option<&InstanceInfo>) -> Vec<String> {
        match self {
            AgentNameSource::InstanceId => vec![instance_id.to_owned()],
            AgentNameSource::PrivateDnsName => match details
                .map(|d| d.private_dns_name.as_str())
                .filter(|n| !n.is_empty())
            {
                Some(full) => {
                    let short = full.split('.').next().unwrap_or(full).to_owned();
                    if short == full {
                        vec![full.to_owned()]
                    } else {
                        vec![full.to_owned(), short]
                    }
                }
                None => Vec::new(),
            },
            AgentNameSource::Tag(key) => details
                .and_then(|d| d.tags.get(key))
                .filter(|v| !v.is_empty())
                .cloned()
                .into_iter()
                .collect(),
        }
    }
}

impl fmt::Display for AgentNameSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentNameSource::InstanceId => f.write_str("instance-id"),
            AgentNameSource::PrivateDnsName => f.write_str("private-dns-name"),
            AgentNameSource::Tag(key) => write!(f, "tag:{key}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(dns: &str, tags: &[(&str, &str)]) -> InstanceInfo {
        InstanceInfo {
            instance_id: "i-0abc".into(),
            state: "running".into(),
            launch_time: None,
            private_dns_name: dns.into(),
            tags: tags
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn names_agents_by_the_configured_source() {
        let with_details = instance("ip-10-0-1-23.ec2.internal", &[("AgentName", "linux-07")]);
        let cases: Vec<(&str, Option<&InstanceInfo>, Vec<&str>)> = vec![
            ("instance-id", None, vec!["i-0abc"]),
            ("", None, vec!["i-0abc"]),
            (
                "private-dns-name",
                Some(&with_details),
                vec!["ip-10-0-1-23.ec2.internal", "ip-10-0-1-23"],
            ),
            ("private-dns-name", None, vec![]),
            ("tag:AgentName", Some(&with_details), vec!["linux-07"]),
            ("tag:Missing", Some(&with_details), vec![]),
        ];
        for (source, details, expected) in cases {
            let source = AgentNameSource::parse(source).expect("valid source");
            assert_eq!(source.agent_names("i-0abc", details), expected, "{source}");
        }
        assert!(AgentNameSource::parse("tag:").is_err());
        assert!(AgentNameSource::parse("hostname").is_err());
    }
}
