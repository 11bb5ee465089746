//! A finished build's result, whichever server or sender reported it.

use serde::{Deserialize, Serialize};

/// A finished build's result, in the union of Jenkins' and TeamCity's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BuildStatus {
    Success,
    /// Jenkins: the build ran but tests failed.
    Unstable,
    Failure,
    /// Jenkins ABORTED; TeamCity UNKNOWN (canceled) maps here too.
    Aborted,
    NotBuilt,
}

impl BuildStatus {
    /// Jenkins `result`, TeamCity `status`, the Notification plugin's `status` and
    /// tcWebHooks' `buildResult`, any case. `None` for anything else (or a running build).
    pub fn parse(raw: &str) -> Option<BuildStatus> {
        match raw.trim().to_ascii_uppercase().as_str() {
            "SUCCESS" | "SUCCESSFUL" | "PASSED" => Some(BuildStatus::Success),
            "UNSTABLE" => Some(BuildStatus::Unstable),
            "FAILURE" | "FAILED" | "ERROR" => Some(BuildStatus::Failure),
            "ABORTED" | "UNKNOWN" | "CANCELED" | "CANCELLED" | "INTERRUPTED" => {
                Some(BuildStatus::Aborted)
            }
            "NOT_BUILT" => Some(BuildStatus::NotBuilt),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_statuses_from_both_servers() {
        for (raw, status) in [
            ("FAILURE", Some(BuildStatus::Failure)),
            ("failure", Some(BuildStatus::Failure)),
            ("UNKNOWN", Some(BuildStatus::Aborted)),
            ("UNSTABLE", Some(BuildStatus::Unstable)),
            ("SUCCESS", Some(BuildStatus::Success)),
            ("NOT_BUILT", Some(BuildStatus::NotBuilt)),
            ("running", None),
        ] {
            assert_eq!(BuildStatus::parse(raw), status, "{raw}");
        }
    }
}
