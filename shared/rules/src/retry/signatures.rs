//! What failures look like in a log or a status text: the fragments real tools print,
//! each naming its class. The classification's table test holds an example of every one.

use super::class::FailureClass;

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
    // Pipeline, when the node of a running step disconnects without being deleted
    // (workflow-durable-task-step DurableTaskStep.java, ExecutorStepDynamicContext.java)
    // and the causes it aborts the run with (ExecutorStepExecution.java: RemovedNodeCause,
    // RemovedNodeTimeoutCause). The run ends ABORTED.
    sig(FailureClass::AgentLost, "seems to be removed or offline"),
    sig(FailureClass::AgentLost, "assuming it is not coming back"),
    sig(FailureClass::AgentLost, "agent was removed"),
    sig(
        FailureClass::AgentLost,
        "timeout waiting for agent to come back",
    ),
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

/// Whether a log shows its agent was lost (any line, any case): a Pipeline run that ends
/// ABORTED with such a line lost its agent; no person aborted it.
pub fn shows_agent_loss(log: &str) -> bool {
    log.lines()
        .any(|line| shows(FailureClass::AgentLost, &line.to_lowercase()))
}

/// Whether `lowered`, one lower-case line, shows a failure of `class`.
pub(super) fn shows(class: FailureClass, lowered: &str) -> bool {
    SIGNATURES
        .iter()
        .any(|s| s.class == class && lowered.contains(s.needle))
}

/// The kind of deterministic failure `lowered`, one lower-case line, names, if any.
pub(super) fn deterministic_hint(lowered: &str) -> Option<&'static str> {
    DETERMINISTIC_HINTS
        .iter()
        .find(|(needle, _)| lowered.contains(needle))
        .map(|(_, what)| *what)
}
