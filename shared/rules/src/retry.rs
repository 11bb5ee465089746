//! Which failed builds are worth retrying, and with what (the Spack retry document in
//! DESIGN.md's seeds: deterministic failures are not retried, OOM kills are retried with
//! more memory, infrastructure hiccups once). Two pure functions: [`classify`] reads a
//! finished build's status, a bounded tail of its log and a few facts; [`decide`] applies
//! the `RETRY_POLICY` to the class and the build's retry history.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// The classifier reads at most this many bytes from the end of a log; callers fetch less.
pub const MAX_LOG_TAIL_BYTES: usize = 256 * 1024;
/// The longest evidence line kept in a classification (a line can be a megabyte of JSON).
const MAX_EVIDENCE_CHARS: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureClass {
    /// An interruption record from the checkpoint store matches the build's agent.
    SpotInterruption,
    /// The agent disconnected or was removed while the build ran.
    AgentLost,
    /// Killed for memory: the kernel OOM killer, a runtime's out-of-memory error, exit 137.
    Oom,
    Timeout,
    /// Network, DNS, registry or disk trouble outside the code under build.
    Infrastructure,
    /// Everything else: test failures, compile errors. Retrying gives the same answer.
    Deterministic,
}

impl FailureClass {
    pub const ALL: [FailureClass; 6] = [
        FailureClass::SpotInterruption,
        FailureClass::AgentLost,
        FailureClass::Oom,
        FailureClass::Timeout,
        FailureClass::Infrastructure,
        FailureClass::Deterministic,
    ];

    /// The spelling in `RETRY_POLICY`, responses and the `Reason` metric dimension.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::SpotInterruption => "spot-interruption",
            FailureClass::AgentLost => "agent-lost",
            FailureClass::Oom => "oom",
            FailureClass::Timeout => "timeout",
            FailureClass::Infrastructure => "infrastructure",
            FailureClass::Deterministic => "deterministic",
        }
    }
}

impl fmt::Display for FailureClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

struct Signature {
    class: FailureClass,
    /// Matched case-insensitively against one line; written in lower case.
    needle: &'static str,
}

const fn sig(class: FailureClass, needle: &'static str) -> Signature {
    Signature { class, needle }
}

/// Log and status-text signatures, strongest class first. Each is a fragment real tools
/// print (the table test holds examples of every one).
const SIGNATURES: &[Signature] = &[
    // Jenkins remoting and Pipeline when the agent's channel dies; TeamCity cancel comments.
    sig(
        FailureClass::AgentLost,
        "agent went offline during the build",
    ),
    sig(FailureClass::AgentLost, "channelclosedexception"),
    sig(FailureClass::AgentLost, "removednodelistener"),
    sig(FailureClass::AgentLost, "was deleted; cancelling node body"),
    sig(
        FailureClass::AgentLost,
        "the channel is closing down or has closed down",
    ),
    sig(
        FailureClass::AgentLost,
        "java.nio.channels.closedchannelexception",
    ),
    sig(
        FailureClass::AgentLost,
        "hudson.remoting.requestabortedexception",
    ),
    sig(FailureClass::AgentLost, "connection was broken"),
    sig(FailureClass::AgentLost, "agent was disconnected"),
    sig(FailureClass::AgentLost, "agent removed"),
    sig(FailureClass::AgentLost, "unexpectedfinish"),
    // The kernel, the JVM, libc, compilers, Python, Node, Go, Rust, C++ and Docker.
    sig(FailureClass::Oom, "out of memory: kill"),
    sig(FailureClass::Oom, "invoked oom-killer"),
    sig(FailureClass::Oom, "oom-kill:"),
    sig(FailureClass::Oom, "memory cgroup out of memory"),
    sig(FailureClass::Oom, "java.lang.outofmemoryerror"),
    sig(FailureClass::Oom, "cannot allocate memory"),
    sig(FailureClass::Oom, "virtual memory exhausted"),
    sig(FailureClass::Oom, "killed signal terminated program"),
    sig(FailureClass::Oom, "memoryerror"),
    sig(FailureClass::Oom, "javascript heap out of memory"),
    sig(FailureClass::Oom, "runtime: out of memory"),
    sig(FailureClass::Oom, "memory allocation of"),
    sig(FailureClass::Oom, "std::bad_alloc"),
    sig(FailureClass::Oom, "oomkilled"),
    // Jenkins build-timeout plugin, Pipeline `timeout`, TeamCity's execution timeout.
    sig(FailureClass::Timeout, "build timed out (after"),
    sig(FailureClass::Timeout, "timeout has been exceeded"),
    sig(
        FailureClass::Timeout,
        "cancelling nested steps due to timeout",
    ),
    sig(FailureClass::Timeout, "execution timeout"),
    // DNS, connections, TLS, registries and package mirrors, full disks.
    sig(FailureClass::Infrastructure, "could not resolve host"),
    sig(
        FailureClass::Infrastructure,
        "temporary failure in name resolution",
    ),
    sig(FailureClass::Infrastructure, "name or service not known"),
    sig(FailureClass::Infrastructure, "no such host"),
    sig(FailureClass::Infrastructure, "getaddrinfo enotfound"),
    sig(FailureClass::Infrastructure, "eai_again"),
    sig(
        FailureClass::Infrastructure,
        "java.net.unknownhostexception",
    ),
    sig(FailureClass::Infrastructure, "connection reset by peer"),
    sig(FailureClass::Infrastructure, "econnreset"),
    sig(FailureClass::Infrastructure, "etimedout"),
    sig(FailureClass::Infrastructure, "connection timed out"),
    sig(FailureClass::Infrastructure, "tls handshake timeout"),
    sig(FailureClass::Infrastructure, "i/o timeout"),
    sig(FailureClass::Infrastructure, "read timed out"),
    sig(FailureClass::Infrastructure, "toomanyrequests"),
    sig(FailureClass::Infrastructure, "429 too many requests"),
    sig(FailureClass::Infrastructure, "502 bad gateway"),
    sig(FailureClass::Infrastructure, "503 service unavailable"),
    sig(FailureClass::Infrastructure, "504 gateway time"),
    sig(FailureClass::Infrastructure, "error pulling image"),
    sig(FailureClass::Infrastructure, "could not transfer artifact"),
    sig(FailureClass::Infrastructure, "npm err! network"),
    sig(FailureClass::Infrastructure, "fatal: unable to access"),
    sig(
        FailureClass::Infrastructure,
        "the remote end hung up unexpectedly",
    ),
    sig(FailureClass::Infrastructure, "no space left on device"),
];

/// Recognisable deterministic failures: only to name the evidence, never to decide.
const DETERMINISTIC_HINTS: &[(&str, &str)] = &[
    ("error[e", "compile error"),
    ("compilation error", "compile error"),
    ("compilation failed", "compile error"),
    ("syntaxerror", "compile error"),
    (": error:", "compile error"),
    ("tests run:", "test failures"),
    ("--- fail:", "test failures"),
    ("failed tests/", "test failures"),
    ("assertionerror", "test failures"),
    ("test failed", "test failures"),
    ("build failure", "build failure"),
];

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
    let failed = |class, evidence: String| {
        Verdict::Failed(Classification {
            class,
            evidence: shorten(&evidence),
        })
    };
    if let Some(record) = facts.interruption {
        return failed(FailureClass::SpotInterruption, record.to_owned());
    }
    let log = clean_log(tail(facts.log_tail, MAX_LOG_TAIL_BYTES));
    // Status text first: TeamCity says "Agent removed" or "Execution timeout" there.
    let lines: Vec<&str> = facts
        .status_text
        .lines()
        .chain(log.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let lowered: Vec<String> = lines.iter().map(|l| l.to_ascii_lowercase()).collect();
    let find = |class: FailureClass| -> Option<String> {
        // The last matching line: nearest the end is nearest the cause.
        lowered
            .iter()
            .enumerate()
            .rev()
            .find(|(_, line)| {
                SIGNATURES
                    .iter()
                    .any(|s| s.class == class && line.contains(s.needle))
            })
            .map(|(i, _)| lines[i].to_owned())
    };
    if facts.agent_disconnected {
        return failed(
            FailureClass::AgentLost,
            "the CI server reports the build's agent disconnected or gone".into(),
        );
    }
    for class in [
        FailureClass::AgentLost,
        FailureClass::Oom,
        FailureClass::Timeout,
    ] {
        if let Some(line) = find(class) {
            return failed(class, line);
        }
    }
    let exit_code = facts.exit_code.or_else(|| exit_code_in(&log));
    if exit_code == Some(137) {
        return failed(
            FailureClass::Oom,
            "exit code 137 (SIGKILL) with no interruption or stop of ours".into(),
        );
    }
    if let Some(line) = find(FailureClass::Infrastructure) {
        return failed(FailureClass::Infrastructure, line);
    }
    if facts.status == BuildStatus::Aborted {
        return Verdict::NotAFailure(
            "aborted, with no interruption, agent loss, timeout or memory kill in the log",
        );
    }
    let hint = lowered.iter().enumerate().rev().find_map(|(i, line)| {
        DETERMINISTIC_HINTS
            .iter()
            .find(|(needle, _)| line.contains(needle))
            .map(|(_, what)| format!("{what}: {}", lines[i]))
    });
    failed(
        FailureClass::Deterministic,
        hint.unwrap_or_else(|| {
            format!(
                "no retryable signature in the last {} log lines",
                lines.len()
            )
        }),
    )
}

/// The last `max` bytes of `text`, starting on a character boundary and, when cut, at
/// the next whole line.
pub fn tail(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut start = text.len() - max;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    let cut = &text[start..];
    match cut.find('\n') {
        Some(newline) => &cut[newline + 1..],
        None => cut,
    }
}

/// Removes Jenkins console notes (`ESC[8mha:…ESC[0m`, which progressive text carries for
/// Pipeline builds), ANSI colour sequences and carriage returns.
pub fn clean_log(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(esc) = rest.find('\u{1b}') {
        out.push_str(&rest[..esc]);
        rest = &rest[esc..];
        if let Some(note) = rest.strip_prefix("\u{1b}[8m") {
            rest = match note.find("\u{1b}[0m") {
                Some(end) => &note[end + 4..],
                None => "",
            };
        } else if let Some(seq) = rest.strip_prefix("\u{1b}[") {
            let end = seq
                .find(|c: char| c.is_ascii_alphabetic())
                .map_or(seq.len(), |i| i + 1);
            rest = &seq[end..];
        } else {
            rest = &rest[1..];
        }
    }
    out.push_str(rest);
    out.retain(|c| c != '\r');
    out
}

/// The last exit code the log reports, in the words of Jenkins' `sh` step, TeamCity,
/// make, shells and Python's subprocess.
pub fn exit_code_in(log: &str) -> Option<i32> {
    const MARKERS: &[&str] = &[
        "exit code ",
        "exited with code ",
        "exit status ",
        "exit status: ",
        "] error ",
    ];
    let lowered = log.to_ascii_lowercase();
    MARKERS
        .iter()
        .filter_map(|marker| {
            let at = lowered.rfind(marker)?;
            let digits: String = lowered[at + marker.len()..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().ok().map(|code| (at, code))
        })
        .max_by_key(|(at, _)| *at)
        .map(|(_, code)| code)
}

/// The EC2 instance id inside an agent name (`i-0a1b2c3d4e5f67890`, or a name such as
/// the EC2 plugin's `linux (i-0a1b2c3d4e5f67890)`): `i-` and 8 or 17 hex digits.
pub fn instance_id_in(agent: &str) -> Option<&str> {
    let bytes = agent.as_bytes();
    let mut from = 0;
    while let Some(found) = agent[from..].find("i-") {
        let start = from + found;
        let digits = bytes[start + 2..]
            .iter()
            .take_while(|b| b.is_ascii_hexdigit())
            .count();
        let end = start + 2 + digits;
        let bounded_before = start == 0 || !bytes[start - 1].is_ascii_alphanumeric();
        let bounded_after = end == bytes.len() || !bytes[end].is_ascii_alphanumeric();
        if bounded_before && bounded_after && (digits == 8 || digits == 17) {
            return Some(&agent[start..end]);
        }
        from = start + 2;
    }
    None
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

/// `RETRY_POLICY`: what is retried, how often, and with which overrides. Every field has
/// a default; `RETRY_POLICY` need only name what it changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Retries of one logical build, all reasons together (default 3).
    pub max_retries: u32,
    /// Retries per class (defaults: spot-interruption 3, agent-lost 2, oom 2,
    /// infrastructure 1, timeout 0, deterministic 0). 0 means never.
    pub retries: BTreeMap<FailureClass, u32>,
    /// `oom` retries go one step up this ladder; without it an OOM is not retried.
    pub memory_ladder: Option<Ladder>,
    /// After this many spot interruptions of one logical build, retry on on-demand.
    pub on_demand: Option<OnDemand>,
    /// The build parameter that carries the retry's reason (default `CI_FLEET_RETRY_REASON`).
    pub reason_parameter: String,
    /// The build parameter that names the logical build a retry belongs to (default
    /// `CI_FLEET_RETRY_OF`), so a retry's retry counts against the same budget.
    pub retry_of_parameter: String,
}

/// Memory steps as values of one build parameter: a pool label the job's agent label
/// uses (`linux-8g`, `linux-16g`, …) or a memory size its container request uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    pub parameter: String,
    /// Smallest first. A build without the parameter runs on the first step (the job's
    /// default); a value not on the ladder is not escalated.
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnDemand {
    /// Counting the interruption at hand (default 2: the second interruption moves it).
    #[serde(default = "default_after_spot")]
    pub after_spot_interruptions: u32,
    pub parameter: String,
    pub value: String,
}

fn default_after_spot() -> u32 {
    2
}

/// The JSON `RETRY_POLICY` holds; absent fields keep the defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyJson {
    max_retries: Option<u32>,
    #[serde(default)]
    retries: BTreeMap<FailureClass, u32>,
    memory_ladder: Option<Ladder>,
    on_demand: Option<OnDemand>,
    reason_parameter: Option<String>,
    retry_of_parameter: Option<String>,
}

/// A retry budget beyond this is a loop, not a policy.
pub const MAX_RETRIES_LIMIT: u32 = 10;

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            retries: [
                (FailureClass::SpotInterruption, 3),
                (FailureClass::AgentLost, 2),
                (FailureClass::Oom, 2),
                (FailureClass::Infrastructure, 1),
                (FailureClass::Timeout, 0),
                (FailureClass::Deterministic, 0),
            ]
            .into(),
            memory_ladder: None,
            on_demand: None,
            reason_parameter: "CI_FLEET_RETRY_REASON".into(),
            retry_of_parameter: "CI_FLEET_RETRY_OF".into(),
        }
    }
}

impl RetryPolicy {
    /// Parses `RETRY_POLICY` over the defaults; the error says what is wrong.
    pub fn parse(json: &str) -> Result<RetryPolicy, String> {
        let raw: PolicyJson = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut policy = RetryPolicy::default();
        if let Some(max) = raw.max_retries {
            policy.max_retries = max;
        }
        policy.retries.extend(raw.retries);
        policy.memory_ladder = raw.memory_ladder;
        policy.on_demand = raw.on_demand;
        if let Some(p) = raw.reason_parameter {
            policy.reason_parameter = p;
        }
        if let Some(p) = raw.retry_of_parameter {
            policy.retry_of_parameter = p;
        }
        policy.validate()?;
        Ok(policy)
    }

    fn validate(&self) -> Result<(), String> {
        if self.max_retries > MAX_RETRIES_LIMIT {
            return Err(format!(
                "max_retries {} is more than {MAX_RETRIES_LIMIT}",
                self.max_retries
            ));
        }
        let parameter_ok = |p: &str| {
            !p.trim().is_empty()
                && p.len() <= 255
                && !p.contains(|c: char| c.is_whitespace() || matches!(c, '=' | '&'))
        };
        for (what, p) in [
            ("reason_parameter", &self.reason_parameter),
            ("retry_of_parameter", &self.retry_of_parameter),
        ] {
            if !parameter_ok(p) {
                return Err(format!("{what} {p:?} is not a parameter name"));
            }
        }
        if let Some(ladder) = &self.memory_ladder {
            if !parameter_ok(&ladder.parameter) {
                return Err(format!(
                    "memory_ladder.parameter {:?} is not a parameter name",
                    ladder.parameter
                ));
            }
            if ladder.steps.len() < 2 {
                return Err("memory_ladder.steps needs at least two steps".into());
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(twice) = ladder.steps.iter().find(|s| !seen.insert(s.as_str())) {
                return Err(format!("memory_ladder.steps lists {twice:?} twice"));
            }
        }
        if let Some(on_demand) = &self.on_demand {
            if !parameter_ok(&on_demand.parameter) {
                return Err(format!(
                    "on_demand.parameter {:?} is not a parameter name",
                    on_demand.parameter
                ));
            }
            if on_demand.after_spot_interruptions == 0 {
                return Err("on_demand.after_spot_interruptions must be at least 1".into());
            }
        }
        Ok(())
    }

    pub fn allowed(&self, class: FailureClass) -> u32 {
        self.retries.get(&class).copied().unwrap_or(0)
    }
}

/// What happened to one logical build so far (kept in S3 between webhooks).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct History {
    /// Retries requested, all classes.
    pub retries: u32,
    pub retries_by_class: BTreeMap<FailureClass, u32>,
    /// Failures classified, retried or not (spot interruptions count toward on-demand).
    pub failures_by_class: BTreeMap<FailureClass, u32>,
}

impl History {
    /// Counts one more failure, and one more retry when `retried`.
    pub fn count(&mut self, class: FailureClass, retried: bool) {
        *self.failures_by_class.entry(class).or_default() += 1;
        if retried {
            self.retries += 1;
            *self.retries_by_class.entry(class).or_default() += 1;
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "kebab-case")]
pub enum Decision {
    Retry {
        /// Parameters the retry changes (on top of the build's own).
        overrides: BTreeMap<String, String>,
        /// Why these resources, in a sentence.
        explanation: String,
        /// This retry's number for the logical build, from 1.
        attempt: u32,
        max_retries: u32,
    },
    Deny {
        reason: String,
    },
}

/// Applies the policy to one classified failure of a build with `parameters`: whether
/// the class is retried at all, whether a retry could help (the memory ladder has a step
/// left), then the class's and the build's retry budgets.
pub fn decide(
    policy: &RetryPolicy,
    class: FailureClass,
    parameters: &BTreeMap<String, String>,
    history: &History,
) -> Decision {
    let deny = |reason: String| Decision::Deny { reason };
    let allowed = policy.allowed(class);
    if allowed == 0 {
        return deny(match class {
            FailureClass::Deterministic => {
                "deterministic: a retry would fail the same way; not retried".into()
            }
            FailureClass::Timeout => {
                "timeout: a retry would run out of time again; not retried".into()
            }
            other => format!("{other}: not retried by policy (retries.{other} is 0)"),
        });
    }
    let mut overrides = BTreeMap::new();
    let explanation = match class {
        FailureClass::Oom => {
            let Some(ladder) = &policy.memory_ladder else {
                return deny(
                    "oom: no memory ladder configured (RETRY_POLICY.memory_ladder), and the same memory would be killed again"
                        .into(),
                );
            };
            let current = match parameters.get(&ladder.parameter) {
                None => 0,
                Some(value) => match ladder.steps.iter().position(|s| s == value) {
                    Some(index) => index,
                    None => {
                        return deny(format!(
                            "oom: {}={value} is not on the memory ladder {:?}",
                            ladder.parameter, ladder.steps
                        ));
                    }
                },
            };
            let Some(next) = ladder.steps.get(current + 1) else {
                return deny(format!(
                    "oom: already at the top of the memory ladder ({}={})",
                    ladder.parameter, ladder.steps[current]
                ));
            };
            overrides.insert(ladder.parameter.clone(), next.clone());
            format!(
                "one step up the memory ladder: {} {} → {next}",
                ladder.parameter, ladder.steps[current]
            )
        }
        FailureClass::SpotInterruption => {
            let interruptions = history
                .failures_by_class
                .get(&FailureClass::SpotInterruption)
                .copied()
                .unwrap_or(0)
                + 1;
            match &policy.on_demand {
                Some(on_demand) if interruptions >= on_demand.after_spot_interruptions => {
                    overrides.insert(on_demand.parameter.clone(), on_demand.value.clone());
                    format!(
                        "spot interruption {interruptions} of this build: on the on-demand pool ({}={})",
                        on_demand.parameter, on_demand.value
                    )
                }
                _ => format!(
                    "spot interruption {interruptions} of this build: same parameters, the checkpoint skips what passed"
                ),
            }
        }
        FailureClass::AgentLost => "agent lost: same parameters on another agent".into(),
        FailureClass::Infrastructure => "infrastructure trouble: same parameters".into(),
        FailureClass::Timeout | FailureClass::Deterministic => {
            format!("{class}: retried because the policy allows {allowed}")
        }
    };
    let used = history.retries_by_class.get(&class).copied().unwrap_or(0);
    if used >= allowed {
        return deny(format!(
            "{class}: {used} of {allowed} {class} retries used for this build"
        ));
    }
    if history.retries >= policy.max_retries {
        return deny(format!(
            "retry budget exhausted: {} of {} retries used for this build",
            history.retries, policy.max_retries
        ));
    }
    Decision::Retry {
        overrides,
        explanation,
        attempt: history.retries + 1,
        max_retries: policy.max_retries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(status: BuildStatus, log: &str) -> FailureFacts<'_> {
        FailureFacts {
            status,
            log_tail: log,
            status_text: "",
            interruption: None,
            agent_disconnected: false,
            exit_code: None,
        }
    }

    fn class_of(verdict: &Verdict) -> Option<FailureClass> {
        match verdict {
            Verdict::Failed(c) => Some(c.class),
            Verdict::NotAFailure(_) => None,
        }
    }

    #[test]
    fn classifies_real_looking_log_tails() {
        use BuildStatus::*;
        use FailureClass::*;
        // (case, status, log tail, class, a fragment of the evidence)
        let cases: &[(&str, BuildStatus, &str, Option<FailureClass>, &str)] = &[
            (
                "kernel OOM killer in dmesg output",
                Failure,
                "[ 6123.118861] Memory cgroup out of memory: Killed process 31337 (cc1plus) total-vm:4194304kB, anon-rss:3981312kB\n+ exit 1\nBuild step 'Execute shell' marked build as failure\nFinished: FAILURE\n",
                Some(Oom),
                "Memory cgroup out of memory",
            ),
            (
                "older kernel wording",
                Failure,
                "[12345.678] Out of memory: Kill process 4321 (java) score 912 or sacrifice child\n",
                Some(Oom),
                "Kill process 4321",
            ),
            (
                "JVM heap exhausted in a Gradle test worker",
                Failure,
                "> Task :core:test\nException in thread \"Test worker\" java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3537)\nFAILURE: Build failed with an exception.\n* What went wrong:\nExecution failed for task ':core:test'.\nBUILD FAILED in 4m 12s\n",
                Some(Oom),
                "java.lang.OutOfMemoryError: Java heap space",
            ),
            (
                "fork fails for memory",
                Failure,
                "/bin/sh: 1: Cannot fork\nbash: fork: Cannot allocate memory\n",
                Some(Oom),
                "fork: Cannot allocate memory",
            ),
            (
                "gcc killed by the OOM killer",
                Failure,
                "[ 87%] Building CXX object src/CMakeFiles/core.dir/huge.cpp.o\nc++: fatal error: Killed signal terminated program cc1plus\ncompilation terminated.\nmake[2]: *** [src/CMakeFiles/core.dir/build.make:76: src/CMakeFiles/core.dir/huge.cpp.o] Error 1\n",
                Some(Oom),
                "Killed signal terminated program cc1plus",
            ),
            (
                "node heap",
                Failure,
                "<--- Last few GCs --->\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n 1: 0xb09c10 node::Abort() [node]\n",
                Some(Oom),
                "JavaScript heap out of memory",
            ),
            (
                "Pipeline sh step killed with 137, nothing else",
                Failure,
                "+ ./gradlew integrationTest\nKilled\nscript returned exit code 137\n",
                Some(Oom),
                "exit code 137",
            ),
            (
                "TeamCity process exit 137",
                Failure,
                "[12:01:44] Step 2/3: Test (Command Line)\n[12:09:02] Process exited with code 137\n[12:09:02] Process exited with code 137 (Step: Test (Command Line))\n",
                Some(Oom),
                "exit code 137",
            ),
            (
                "Pipeline console notes and colours do not hide a signature",
                Failure,
                "\u{1b}[8mha:////4Bx2/AAAAWB+LCAAAAAAAAP9b85aBtbiIQTGjNKU4P08vOT+vOD8nVc83PyU1x6OyILUoJzMv2y+/JNU5PzevOLkxsyI1P1/PN7MoJzczLz+vxLkxtNl4Y5SWiwD6o8bh\u{1b}[0m[Pipeline] sh\n\u{1b}[31mjava.lang.OutOfMemoryError: GC overhead limit exceeded\u{1b}[0m\n",
                Some(Oom),
                "java.lang.OutOfMemoryError: GC overhead limit exceeded",
            ),
            (
                "Jenkins agent went offline",
                Failure,
                "[Pipeline] sh\n+ make test\nAgent went offline during the build\nERROR: Connection was broken\nFinished: FAILURE\n",
                Some(AgentLost),
                "Connection was broken",
            ),
            (
                "remoting channel closed under a freestyle build",
                Failure,
                "FATAL: command execution failed\nhudson.remoting.ChannelClosedException: Channel \"hudson.remoting.Channel@6a3c5e1b:i-0a1b2c3d4e5f67890\": Remote call on i-0a1b2c3d4e5f67890 failed. The channel is closing down or has closed down\n\tat hudson.remoting.Channel.call(Channel.java:1107)\nFinished: FAILURE\n",
                Some(AgentLost),
                "ChannelClosedException",
            ),
            (
                "Pipeline node removed (also shows exit 137: agent loss wins)",
                Aborted,
                "script returned exit code 137\nAgent i-0abc was deleted; cancelling node body\norg.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$RemovedNodeListener$1\n",
                Some(AgentLost),
                "RemovedNodeListener",
            ),
            (
                "build-timeout plugin",
                Aborted,
                "Running tests...\nBuild timed out (after 60 minutes). Marking the build as aborted.\nBuild was aborted\nFinished: ABORTED\n",
                Some(Timeout),
                "Build timed out (after 60 minutes)",
            ),
            (
                "Pipeline timeout step, killed with 137 on the way out (timeout wins)",
                Aborted,
                "Cancelling nested steps due to timeout\nSending interrupt signal to process\nscript returned exit code 137\nTimeout has been exceeded\nFinished: ABORTED\n",
                Some(Timeout),
                "Timeout has been exceeded",
            ),
            (
                "DNS failure in git fetch",
                Failure,
                "Fetching upstream changes from https://github.com/acme/app.git\nfatal: unable to access 'https://github.com/acme/app.git/': Could not resolve host: github.com\nERROR: Error fetching remote repo 'origin'\n",
                Some(Infrastructure),
                "Could not resolve host: github.com",
            ),
            (
                "Docker Hub rate limit",
                Failure,
                "+ docker pull node:20\nError response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit\n",
                Some(Infrastructure),
                "toomanyrequests",
            ),
            (
                "registry lookup in Go",
                Failure,
                "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup registry-1.docker.io on 10.0.0.2:53: no such host\n",
                Some(Infrastructure),
                "no such host",
            ),
            (
                "Maven mirror reset",
                Failure,
                "[ERROR] Failed to execute goal on project app: Could not resolve dependencies for project com.acme:app:jar:1.0: Could not transfer artifact org.slf4j:slf4j-api:jar:2.0.9 from/to central (https://repo.maven.apache.org/maven2): Connection reset\n",
                Some(Infrastructure),
                "Could not transfer artifact",
            ),
            (
                "full disk on the agent",
                Failure,
                "cp: error writing 'build/out.tar': No space left on device\n",
                Some(Infrastructure),
                "No space left on device",
            ),
            (
                "JUnit failures through Maven",
                Failure,
                "[ERROR] Tests run: 214, Failures: 2, Errors: 0, Skipped: 3\n[INFO] BUILD FAILURE\n[ERROR] Failed to execute goal org.apache.maven.plugins:maven-surefire-plugin:3.2.2:test (default-test) on project app: There are test failures.\n",
                Some(Deterministic),
                "build failure",
            ),
            (
                "pytest failure",
                Unstable,
                "FAILED tests/test_api.py::test_create_user - AssertionError: assert 500 == 201\n========================= 1 failed, 311 passed in 42.13s =========================\n",
                Some(Deterministic),
                "test failures: FAILED tests/test_api.py",
            ),
            (
                "Rust compile error",
                Failure,
                "error[E0308]: mismatched types\n  --> src/main.rs:4:18\n   |\n4  |     let x: u32 = \"seven\";\n   |                  ^^^^^^^ expected `u32`, found `&str`\nerror: could not compile `app` (bin \"app\") due to 1 previous error\n",
                Some(Deterministic),
                "error[E0308]",
            ),
            (
                "C compile error",
                Failure,
                "src/parse.c:42:5: error: implicit declaration of function 'frobnicate' [-Werror=implicit-function-declaration]\nmake: *** [Makefile:12: parse.o] Error 1\n",
                Some(Deterministic),
                "compile error: src/parse.c:42:5: error:",
            ),
            (
                "a test named after memory is still deterministic",
                Failure,
                "--- FAIL: TestOutOfMemoryHandling (0.01s)\n    mem_test.go:31: expected ErrNoMemory, got nil\nFAIL\nexit status 1\n",
                Some(Deterministic),
                "--- FAIL: TestOutOfMemoryHandling",
            ),
            (
                "an empty log",
                Failure,
                "",
                Some(Deterministic),
                "no retryable signature",
            ),
            ("success", Success, "java.lang.OutOfMemoryError", None, ""),
            ("not built", NotBuilt, "", None, ""),
            (
                "aborted by a person",
                Aborted,
                "Aborted by jdoe\nFinished: ABORTED\n",
                None,
                "",
            ),
        ];
        for (name, status, log, class, evidence) in cases {
            let verdict = classify(&facts(*status, log));
            assert_eq!(class_of(&verdict), *class, "{name}: {verdict:?}");
            if let Verdict::Failed(c) = &verdict {
                assert!(
                    c.evidence.contains(evidence),
                    "{name}: evidence {:?} lacks {evidence:?}",
                    c.evidence
                );
            }
        }
    }

    #[test]
    fn facts_outrank_the_log() {
        let log = "java.lang.OutOfMemoryError: Java heap space\nscript returned exit code 137\n";
        let interrupted = FailureFacts {
            interruption: Some("spot interruption of i-0abc at 2026-11-22T12:00:00Z"),
            agent_disconnected: true,
            ..facts(BuildStatus::Failure, log)
        };
        assert_eq!(
            classify(&interrupted),
            Verdict::Failed(Classification {
                class: FailureClass::SpotInterruption,
                evidence: "spot interruption of i-0abc at 2026-11-22T12:00:00Z".into()
            })
        );
        let disconnected = FailureFacts {
            agent_disconnected: true,
            ..facts(BuildStatus::Failure, log)
        };
        assert_eq!(
            class_of(&classify(&disconnected)),
            Some(FailureClass::AgentLost)
        );
        // TeamCity tells agent loss and timeouts in its status text, the log just stops.
        let canceled = FailureFacts {
            status_text: "Canceled (Tests passed: 806, ignored: 7)\nAgent removed",
            ..facts(BuildStatus::Aborted, "[10:43:02] Running tests\n")
        };
        assert_eq!(
            class_of(&classify(&canceled)),
            Some(FailureClass::AgentLost)
        );
        let timed_out = FailureFacts {
            status_text: "Execution timeout",
            ..facts(BuildStatus::Failure, "")
        };
        assert_eq!(class_of(&classify(&timed_out)), Some(FailureClass::Timeout));
        // An exit code the server reports counts like one in the log.
        let reported = FailureFacts {
            exit_code: Some(137),
            ..facts(BuildStatus::Failure, "")
        };
        assert_eq!(class_of(&classify(&reported)), Some(FailureClass::Oom));
    }

    #[test]
    fn only_the_tail_is_read_and_cut_lines_are_dropped() {
        let mut log = "java.lang.OutOfMemoryError: early, long forgotten\n".to_owned();
        log.push_str(&"compiling...\n".repeat(MAX_LOG_TAIL_BYTES / 13 + 10));
        log.push_str("error[E0425]: cannot find value `x`\n");
        assert_eq!(
            class_of(&classify(&facts(BuildStatus::Failure, &log))),
            Some(FailureClass::Deterministic)
        );
        assert_eq!(tail("abc\ndef\nghi", 6), "ghi");
        assert_eq!(tail("short", 100), "short");
        assert_eq!(tail("ééé", 3), "é", "never splits a character");
    }

    #[test]
    fn reads_exit_codes_in_several_words() {
        let cases = [
            ("script returned exit code 137", Some(137)),
            (
                "Process exited with code 1\nProcess exited with code 143",
                Some(143),
            ),
            ("make: *** [all] Error 2", Some(2)),
            (
                "subprocess.CalledProcessError: ... returned non-zero exit status 137.",
                Some(137),
            ),
            ("exit code 1\nlater: exit status 137", Some(137)),
            ("no codes here", None),
        ];
        for (log, code) in cases {
            assert_eq!(exit_code_in(log), code, "{log}");
        }
    }

    #[test]
    fn finds_instance_ids_in_agent_names() {
        for (name, id) in [
            ("i-0a1b2c3d4e5f67890", Some("i-0a1b2c3d4e5f67890")),
            ("i-1234abcd", Some("i-1234abcd")),
            ("linux (i-0a1b2c3d4e5f67890)", Some("i-0a1b2c3d4e5f67890")),
            (
                "EC2 (aws) - ubuntu (i-0a1b2c3d4e5f67890)",
                Some("i-0a1b2c3d4e5f67890"),
            ),
            ("agent-i-1234abcd-x", Some("i-1234abcd")),
            ("i-123", None),
            ("ip-10-0-1-17.ec2.internal", None),
            ("wifi-0a1b2c3d", None),
            ("linux-1", None),
        ] {
            assert_eq!(instance_id_in(name), id, "{name}");
        }
    }

    #[test]
    fn strips_console_notes_and_colours() {
        assert_eq!(
            clean_log("a\u{1b}[8mha:////AAAA\u{1b}[0mb\u{1b}[1;31mred\u{1b}[0m\r\n"),
            "abred\n"
        );
        assert_eq!(clean_log("unterminated \u{1b}[8mha:xx"), "unterminated ");
    }

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

    fn ladder_policy() -> RetryPolicy {
        RetryPolicy::parse(
            r#"{"memory_ladder":{"parameter":"AGENT_LABEL","steps":["linux-8g","linux-16g","linux-32g"]},
                "on_demand":{"after_spot_interruptions":2,"parameter":"POOL","value":"on-demand"}}"#,
        )
        .expect("valid policy")
    }

    fn history(retries: &[(FailureClass, u32)], failures: &[(FailureClass, u32)]) -> History {
        History {
            retries: retries.iter().map(|(_, n)| n).sum(),
            retries_by_class: retries.iter().copied().collect(),
            failures_by_class: failures.iter().copied().collect(),
        }
    }

    /// (case, class, parameters, history, Ok((overrides, attempt)) or Err(reason fragment))
    type Case = (
        &'static str,
        FailureClass,
        BTreeMap<String, String>,
        History,
        Result<(BTreeMap<String, String>, u32), String>,
    );

    #[test]
    fn decides_by_policy() {
        use FailureClass::*;
        let policy = ladder_policy();
        let params = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let retry =
            |pairs: &[(&str, &str)], attempt| -> Result<(BTreeMap<String, String>, u32), String> {
                Ok((params(pairs), attempt))
            };
        let cases: Vec<Case> = vec![
            (
                "oom without the parameter: the default is the first step",
                Oom,
                params(&[("MODULE", "core")]),
                History::default(),
                retry(&[("AGENT_LABEL", "linux-16g")], 1),
            ),
            (
                "oom one step up",
                Oom,
                params(&[("AGENT_LABEL", "linux-16g")]),
                history(&[(Oom, 1)], &[(Oom, 1)]),
                retry(&[("AGENT_LABEL", "linux-32g")], 2),
            ),
            (
                "oom at the top",
                Oom,
                params(&[("AGENT_LABEL", "linux-32g")]),
                history(&[(Oom, 1)], &[(Oom, 1)]),
                Err("already at the top of the memory ladder (AGENT_LABEL=linux-32g)".into()),
            ),
            (
                "oom off the ladder",
                Oom,
                params(&[("AGENT_LABEL", "gpu")]),
                History::default(),
                Err("AGENT_LABEL=gpu is not on the memory ladder".into()),
            ),
            (
                "first spot interruption: same parameters",
                SpotInterruption,
                params(&[("AGENT_LABEL", "linux-8g")]),
                History::default(),
                retry(&[], 1),
            ),
            (
                "second spot interruption: on-demand",
                SpotInterruption,
                params(&[("AGENT_LABEL", "linux-8g")]),
                history(&[(SpotInterruption, 1)], &[(SpotInterruption, 1)]),
                retry(&[("POOL", "on-demand")], 2),
            ),
            (
                "agent lost: same parameters",
                AgentLost,
                params(&[]),
                history(&[(SpotInterruption, 1)], &[(SpotInterruption, 1)]),
                retry(&[], 2),
            ),
            (
                "infrastructure once",
                Infrastructure,
                params(&[]),
                History::default(),
                retry(&[], 1),
            ),
            (
                "infrastructure twice is denied",
                Infrastructure,
                params(&[]),
                history(&[(Infrastructure, 1)], &[(Infrastructure, 1)]),
                Err("infrastructure: 1 of 1 infrastructure retries used".into()),
            ),
            (
                "deterministic never",
                Deterministic,
                params(&[]),
                History::default(),
                Err("deterministic: a retry would fail the same way".into()),
            ),
            (
                "timeout never",
                Timeout,
                params(&[]),
                History::default(),
                Err("timeout: a retry would run out of time again".into()),
            ),
            (
                "the total budget bounds every class",
                SpotInterruption,
                params(&[]),
                history(
                    &[(Oom, 2), (Infrastructure, 1)],
                    &[(Oom, 2), (Infrastructure, 1)],
                ),
                Err("retry budget exhausted: 3 of 3 retries used".into()),
            ),
        ];
        for (name, class, parameters, history, expected) in cases {
            let decision = decide(&policy, class, &parameters, &history);
            match (&decision, &expected) {
                (
                    Decision::Retry {
                        overrides, attempt, ..
                    },
                    Ok((want, want_attempt)),
                ) => assert_eq!((overrides, attempt), (want, want_attempt), "{name}"),
                (Decision::Deny { reason }, Err(fragment)) => {
                    assert!(reason.contains(fragment.as_str()), "{name}: {reason:?}")
                }
                _ => panic!("{name}: got {decision:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn default_policy_denies_oom_without_a_ladder() {
        let decision = decide(
            &RetryPolicy::default(),
            FailureClass::Oom,
            &BTreeMap::new(),
            &History::default(),
        );
        assert!(
            matches!(&decision, Decision::Deny { reason } if reason.contains("no memory ladder")),
            "{decision:?}"
        );
    }

    #[test]
    fn policy_json_overrides_defaults_and_names_mistakes() {
        let policy =
            RetryPolicy::parse(r#"{"max_retries":5,"retries":{"timeout":1}}"#).expect("valid");
        assert_eq!(policy.max_retries, 5);
        assert_eq!(policy.allowed(FailureClass::Timeout), 1);
        assert_eq!(
            policy.allowed(FailureClass::SpotInterruption),
            3,
            "unnamed classes keep their defaults"
        );
        assert_eq!(
            RetryPolicy::parse("{}").expect("valid"),
            RetryPolicy::default()
        );
        let errors = [
            (r#"{"retries":{"flaky":1}}"#, "unknown variant `flaky`"),
            (r#"{"max_retry":1}"#, "unknown field `max_retry`"),
            (r#"{"max_retries":50}"#, "more than 10"),
            (
                r#"{"memory_ladder":{"parameter":"MEM","steps":["8g"]}}"#,
                "at least two steps",
            ),
            (
                r#"{"memory_ladder":{"parameter":"MEM","steps":["8g","8g"]}}"#,
                "lists \"8g\" twice",
            ),
            (
                r#"{"memory_ladder":{"parameter":"MY MEM","steps":["8g","16g"]}}"#,
                "not a parameter name",
            ),
            (
                r#"{"on_demand":{"after_spot_interruptions":0,"parameter":"P","value":"v"}}"#,
                "at least 1",
            ),
        ];
        for (json, fragment) in errors {
            let error = RetryPolicy::parse(json).expect_err(json);
            assert!(error.contains(fragment), "{json}: {error}");
        }
    }
}
