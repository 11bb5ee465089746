//! Which kind of failure a finished build had, from its status, the tail of its log and
//! a few facts, with the line or fact that decided it.

use serde::Serialize;

use super::class::FailureClass;
use super::log::{MAX_LOG_TAIL_BYTES, clean_log, exit_code_in, tail};
use super::signatures::{deterministic_hint, shows};
use super::status::BuildStatus;

/// The longest evidence line kept in a classification (a line can be a megabyte of JSON).
const MAX_EVIDENCE_CHARS: usize = 200;

/// What is known about one finished build. The log tail is raw (console notes and ANSI
/// colours are stripped here); only its last [`MAX_LOG_TAIL_BYTES`] are read.
#[derive(Debug, Clone, Copy)]
pub struct FailureFacts<'a> {
    pub status: BuildStatus,
    pub log_tail: &'a str,
    /// Server-side words about the result: TeamCity's `statusText` and cancel comment.
    pub status_text: &'a str,
    /// A matching interruption record, described (instance, time, reason).
    pub interruption: Option<&'a str>,
    /// The CI server reports the build's agent disconnected or gone.
    pub agent_disconnected: bool,
    /// The build's exit code when the CI server reports it; else read from the log.
    pub exit_code: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub class: FailureClass,
    /// The fact or log line that decided it, for the response, the build description
    /// and the person who wonders.
    pub evidence: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to retry: the build passed, did not run, or a person aborted it.
    NotAFailure(&'static str),
    Failed(Classification),
}

/// Reads a finished build. Order matters: our own interruption record beats everything
/// (an interrupted build also shows a broken channel and exit 137), then agent loss, then
/// memory signatures, timeouts, a bare exit 137, and infrastructure trouble; what is left
/// is deterministic, except that a build aborted without any of these was aborted by a
/// person (or superseded), which is not a failure to retry.
pub fn classify(facts: &FailureFacts<'_>) -> Verdict {
    match facts.status {
        BuildStatus::Success => return Verdict::NotAFailure("the build succeeded"),
        BuildStatus::NotBuilt => return Verdict::NotAFailure("the build did not run"),
        _ => {}
    }
    if let Some(record) = facts.interruption {
        return failed(FailureClass::SpotInterruption, record);
    }
    let log = clean_log(tail(facts.log_tail, MAX_LOG_TAIL_BYTES));
    // Status text first: TeamCity says "Agent removed" or "Execution timeout" there.
    let lines = Lines::of(facts.status_text, &log);
    if facts.agent_disconnected {
        return failed(
            FailureClass::AgentLost,
            "the CI server reports the build's agent disconnected or gone",
        );
    }
    for class in [
        FailureClass::AgentLost,
        FailureClass::Oom,
        FailureClass::Timeout,
    ] {
        if let Some(line) = lines.last_showing(class) {
            return failed(class, line);
        }
    }
    if facts.exit_code.or_else(|| exit_code_in(&log)) == Some(137) {
        return failed(
            FailureClass::Oom,
            "exit code 137 (SIGKILL) with no interruption or stop of ours",
        );
    }
    if let Some(line) = lines.last_showing(FailureClass::Infrastructure) {
        return failed(FailureClass::Infrastructure, line);
    }
    if facts.status == BuildStatus::Aborted {
        return Verdict::NotAFailure(
            "aborted, with no interruption, agent loss, timeout or memory kill in the log",
        );
    }
    failed(FailureClass::Deterministic, &lines.deterministic_evidence())
}

fn failed(class: FailureClass, evidence: &str) -> Verdict {
    Verdict::Failed(Classification {
        class,
        evidence: shorten(evidence),
    })
}

/// The non-empty lines of the status text and the log, trimmed, with their lower-case
/// twins for matching.
struct Lines<'a> {
    lines: Vec<&'a str>,
    lowered: Vec<String>,
}

impl<'a> Lines<'a> {
    fn of(status_text: &'a str, log: &'a str) -> Lines<'a> {
        let lines: Vec<&str> = status_text
            .lines()
            .chain(log.lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        let lowered = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
        Lines { lines, lowered }
    }

    /// The last line showing `class`: nearest the end is nearest the cause.
    fn last_showing(&self, class: FailureClass) -> Option<&'a str> {
        self.lowered
            .iter()
            .rposition(|line| shows(class, line))
            .map(|i| self.lines[i])
    }

    /// The last recognisable deterministic failure, else how much was read.
    fn deterministic_evidence(&self) -> String {
        let hint = self.lowered.iter().enumerate().rev().find_map(|(i, line)| {
            deterministic_hint(line).map(|what| format!("{what}: {}", self.lines[i]))
        });
        hint.unwrap_or_else(|| {
            format!(
                "no retryable signature in the last {} log lines",
                self.lines.len()
            )
        })
    }
}

fn shorten(line: &str) -> String {
    let line = line.trim();
    if line.chars().count() <= MAX_EVIDENCE_CHARS {
        return line.to_owned();
    }
    let mut short: String = line.chars().take(MAX_EVIDENCE_CHARS).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests;
