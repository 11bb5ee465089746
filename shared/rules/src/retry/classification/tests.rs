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
            "Pipeline agent disconnected, not deleted: the wait, then the abort",
            Aborted,
            "i-0abc seems to be removed or offline (hudson.remoting.ChannelClosedException); will wait for 5 min 0 sec for it to come back online\ni-0abc has been removed or offline for 5 min 0 sec; assuming it is not coming back, and terminating shell step\nFinished: ABORTED\n",
            Some(AgentLost),
            "assuming it is not coming back",
        ),
        (
            "Pipeline aborted with the removed-node cause",
            Aborted,
            "Agent was removed\nFinished: ABORTED\n",
            Some(AgentLost),
            "Agent was removed",
        ),
        (
            "Pipeline aborted with the removed-node timeout cause",
            Aborted,
            "Timeout waiting for agent to come back\nFinished: ABORTED\n",
            Some(AgentLost),
            "Timeout waiting for agent to come back",
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
