//! The last step: what a webhook answers. Every answer is a JSON report (the outcome, why,
//! and what was learned on the way) in a Function URL response.
//!
//! Status codes: 200 for every decision (retried, denied, ignored, duplicate); 400 for a
//! body that is no notification; 401 for unsigned, badly signed or replayed requests;
//! 404 for a build the CI server does not know; 405 for anything but POST; 413 for a body
//! over `RETRY_MAX_BODY_BYTES`; 502 when the CI server or S3 could not be read (nothing
//! was queued, so the sender may redeliver). Once a retry is queued the answer is 200
//! even if recording it failed (a redelivery must not queue it twice).

use std::collections::BTreeMap;

use aws_lambda_events::event::lambda_function_urls::LambdaFunctionUrlResponse;
use aws_lambda_events::http::HeaderValue;
use aws_lambda_events::http::header::{ALLOW, CONTENT_TYPE};
use rules::retry::{Classification, Decision};
use serde::Serialize;
use serde_json::Value;
use shared::dry_run::WouldDo;
use shared::ports::builds::Queued;

use crate::payload::Notice;
use crate::record::Settlement;

/// How a webhook ended, as the report's `outcome` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Retried,
    Denied,
    Ignored,
    Duplicate,
    Rejected,
    UnknownBuild,
    Error,
}

impl Outcome {
    /// The report's spelling, for the log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Retried => "retried",
            Outcome::Denied => "denied",
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate",
            Outcome::Rejected => "rejected",
            Outcome::UnknownBuild => "unknown-build",
            Outcome::Error => "error",
        }
    }
}

impl From<Settlement> for Outcome {
    fn from(settlement: Settlement) -> Outcome {
        match settlement {
            Settlement::Retried => Outcome::Retried,
            Settlement::Denied => Outcome::Denied,
        }
    }
}

/// How a webhook that reached a decision ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    pub outcome: Outcome,
    pub reason: Option<String>,
}

/// A webhook's end before a decision: the status, the outcome and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stop {
    pub status: u16,
    pub outcome: Outcome,
    pub reason: String,
}

impl Stop {
    pub fn rejected(status: u16, reason: impl Into<String>) -> Stop {
        Stop {
            status,
            outcome: Outcome::Rejected,
            reason: reason.into(),
        }
    }

    /// Nothing to do, and nothing wrong: 200.
    pub fn ignored(reason: impl Into<String>) -> Stop {
        Stop {
            status: 200,
            outcome: Outcome::Ignored,
            reason: reason.into(),
        }
    }

    pub fn duplicate(reason: String) -> Stop {
        Stop {
            status: 200,
            outcome: Outcome::Duplicate,
            reason,
        }
    }

    pub fn unknown_build(reason: String) -> Stop {
        Stop {
            status: 404,
            outcome: Outcome::UnknownBuild,
            reason,
        }
    }

    /// The CI server or S3 could not be read, or the retry not queued: 502.
    pub fn error(reason: String) -> Stop {
        Stop {
            status: 502,
            outcome: Outcome::Error,
            reason,
        }
    }
}

/// The build a notification names, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSummary {
    pub kind: String,
    pub job: String,
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl BuildSummary {
    pub fn of(notice: &Notice) -> BuildSummary {
        BuildSummary {
            kind: notice.kind.to_string(),
            job: notice.build.job.clone(),
            id: notice.build.id,
            url: notice.url.clone(),
        }
    }
}

/// What a webhook learned on its way, reported however it ends.
#[derive(Debug, Default)]
pub struct Findings {
    pub build: Option<BuildSummary>,
    pub logical_build: Option<String>,
    pub classification: Option<Classification>,
    pub decision: Option<Decision>,
    /// The parameters the retry was queued with.
    pub parameters: Option<BTreeMap<String, String>>,
    pub queued: Option<Queued>,
    pub warnings: Vec<String>,
}

/// The JSON body of every answer.
#[derive(Debug, Serialize)]
pub struct Report {
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logical_build: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The parameters the retry was queued with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<Queued>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl Report {
    /// The report of a webhook that ended so; in a dry run, with what was not done.
    pub fn new(ended: Ended, found: Findings, would_do: Option<&WouldDo>) -> Report {
        Report {
            outcome: ended.outcome,
            reason: ended.reason,
            build: found.build,
            logical_build: found.logical_build,
            classification: found.classification,
            decision: found.decision,
            parameters: found.parameters,
            queued: found.queued,
            dry_run: would_do.is_some(),
            would_do: would_do.map(WouldDo::actions).unwrap_or_default(),
            warnings: found.warnings,
        }
    }
}

/// The Function URL response carrying `report`.
pub fn response(status: u16, report: &Report) -> LambdaFunctionUrlResponse {
    let body = serde_json::to_value(report).unwrap_or(Value::Null);
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = i64::from(status);
    if status == 405 {
        response
            .headers
            .insert(ALLOW, HeaderValue::from_static("POST"));
    }
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(serde_json::to_string_pretty(&body).unwrap_or_else(|_| "{}".into()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_spelt_as_the_report_spells_them() {
        for outcome in [
            Outcome::Retried,
            Outcome::Denied,
            Outcome::Ignored,
            Outcome::Duplicate,
            Outcome::Rejected,
            Outcome::UnknownBuild,
            Outcome::Error,
        ] {
            assert_eq!(
                serde_json::to_value(outcome).expect("serialises"),
                outcome.as_str()
            );
        }
    }

    #[test]
    fn a_405_names_the_method_it_takes() {
        let report = Report::new(
            Ended {
                outcome: Outcome::Rejected,
                reason: Some("advise-retry takes POST requests only".into()),
            },
            Findings::default(),
            None,
        );
        let response = response(405, &report);
        let headers: Vec<(&str, &str)> = response
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.to_str().unwrap_or_default()))
            .collect();
        assert_eq!(
            headers,
            [("allow", "POST"), ("content-type", "application/json")],
            "in the order the response always had"
        );
        assert_eq!(
            response.body.as_deref(),
            Some(
                "{\n  \"outcome\": \"rejected\",\n  \"reason\": \"advise-retry takes POST requests only\"\n}"
            )
        );
    }
}
