//! Jenkins' build results as the agent health rule reads them. Jenkins' history is the run
//! ledger's (`rules::ledger`, `runs.rs`): a Pipeline run names no agent (`WorkflowRun` has
//! no `builtOn`), and a scan of every job's builds costs with the number of jobs and sees
//! one level of folders (REAL-SERVERS #1, #14).

use rules::health::Outcome;

/// Jenkins' `result`: SUCCESS passes, UNSTABLE and FAILURE fail, ABORTED and NOT_BUILT
/// say nothing about the agent; `null` (still running) is no finished build.
pub(crate) fn jenkins_outcome(result: &str) -> Option<Outcome> {
    match result {
        "SUCCESS" => Some(Outcome::Passed),
        "UNSTABLE" | "FAILURE" => Some(Outcome::Failed),
        "ABORTED" | "NOT_BUILT" => Some(Outcome::Aborted),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_as_the_health_rule_reads_them() {
        let cases = [
            ("SUCCESS", Some(Outcome::Passed)),
            ("UNSTABLE", Some(Outcome::Failed)),
            ("FAILURE", Some(Outcome::Failed)),
            ("ABORTED", Some(Outcome::Aborted)),
            ("NOT_BUILT", Some(Outcome::Aborted)),
            ("", None),
        ];
        for (result, outcome) in cases {
            assert_eq!(jenkins_outcome(result), outcome, "{result}");
        }
    }
}
