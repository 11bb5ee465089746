//! The real `ci-checkpoint` binary against moto S3: record → seal → restore across
//! attempts, SIGTERM and spot-notice uploads (with a fake instance metadata service on
//! loopback), and the "never fails a build" paths (S3 down, no bucket, no claim,
//! corrupt parts). Build first: `cargo build -p ci-checkpoint`.

use std::collections::BTreeSet;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use chrono::{TimeZone, Utc};
use ci_fleet_tests::commands::checkpoint_command;
use ci_fleet_tests::process::{ManagedChild, RunDir, free_port};
use ci_fleet_tests::{LocalAws, s3};
use shared::aws::store::S3Store;
use shared::checkpoint::{Interruption, SealOutcome, seal};

/// One moto for the file; every test has its own bucket.
struct Fixture {
    aws: &'static LocalAws,
    s3: aws_sdk_s3::Client,
    bucket: String,
    dir: RunDir,
    /// A loopback port nobody listens on: instance metadata for tests that do not fake it,
    /// so the binary never probes a real 169.254.169.254.
    no_imds: String,
}

impl Fixture {
    async fn new() -> Fixture {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let aws = LocalAws::shared();
        let s3 = s3::client(aws).await;
        let bucket = format!(
            "ckpt-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        s3::create_bucket(&s3, &bucket).await;
        Fixture {
            aws,
            s3,
            bucket,
            dir: RunDir::new("checkpoint"),
            no_imds: format!("http://127.0.0.1:{}", free_port()),
        }
    }

    fn store(&self) -> S3Store {
        S3Store::new(self.s3.clone(), &self.bucket)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path.join(name)
    }

    /// `ci-checkpoint` with the stack's AWS environment, the bucket, and no
    /// `CI_CHECKPOINT_*` leaking in from the test's own environment.
    fn cli(&self, args: &[&str]) -> Command {
        let mut cmd = checkpoint_command(self.aws, &self.bucket);
        for (name, _) in std::env::vars() {
            if name.starts_with("CI_CHECKPOINT_") || name == "EXECUTOR_NUMBER" {
                cmd.env_remove(name);
            }
        }
        cmd.envs([
            ("CI_CHECKPOINT_IMDS_URL", self.no_imds.as_str()),
            ("RUST_LOG", "info"),
        ])
        .env_remove("AWS_LAMBDA_LOG_FORMAT")
        .args(args);
        cmd
    }

    /// Runs to completion (at most 60 s); stdout and stderr are kept in the run directory.
    fn run(&self, mut cmd: Command) -> Run {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let (out, err) = (
            self.path(&format!("run{n}.out")),
            self.path(&format!("run{n}.err")),
        );
        cmd.stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("stdout file"))
            .stderr(fs::File::create(&err).expect("stderr file"));
        let mut child = cmd.spawn().expect("ci-checkpoint starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waits") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!(
                    "ci-checkpoint {:?} did not exit within 60 s",
                    cmd.get_args().collect::<Vec<_>>()
                );
            }
            thread::sleep(Duration::from_millis(20));
        };
        Run {
            status,
            stdout: fs::read_to_string(&out).unwrap_or_default(),
            stderr: fs::read_to_string(&err).unwrap_or_default(),
        }
    }

    /// `record` in the background, once it says it is watching (its signal handlers are
    /// in place from then on, so a SIGTERM is a flush, not a kill).
    fn spawn_record(&self, args: &[&str]) -> ManagedChild {
        let log = self.path("record.log");
        let mut child = ManagedChild::spawn("ci-checkpoint record", self.cli(args), &log);
        let deadline = Instant::now() + Duration::from_secs(30);
        while !fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("record: watching")
        {
            assert!(
                child.exited().is_none(),
                "record exited early:\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            );
            assert!(Instant::now() < deadline, "record not ready in 30 s");
            thread::sleep(Duration::from_millis(50));
        }
        child
    }

    async fn objects(&self, prefix: &str) -> Vec<String> {
        s3::keys(&self.s3, &self.bucket, Some(prefix)).await
    }

    async fn object(&self, key: &str) -> Option<Vec<u8>> {
        s3::get(&self.s3, &self.bucket, key).await
    }

    fn restore(&self, key: &str) -> Vec<String> {
        let run = self.run(self.cli(&["restore", "--key", key]));
        assert!(run.status.success(), "restore: {run:?}");
        run.stdout.lines().map(str::to_owned).collect()
    }

    fn start(&self, key: &str, instance: &str) -> String {
        let run = self.run(self.cli(&["start", "--key", key, "--instance-id", instance]));
        assert!(run.status.success(), "start: {run:?}");
        run.stdout.trim().to_owned()
    }
}

#[derive(Debug)]
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn lines_at(&self, level: &str) -> Vec<&str> {
        let tag = format!(" {level} ");
        self.stderr.lines().filter(|l| l.contains(&tag)).collect()
    }
}

fn sigterm(child: &ManagedChild) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

fn wait_exit(child: &mut ManagedChild, within: Duration) -> ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.exited() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "{} did not exit within {within:?}",
            child.name
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn sorted(tests: &[&str]) -> Vec<String> {
    tests
        .iter()
        .map(|t| t.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

const JUNIT_BEING_WRITTEN: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites><testsuite name="api">
<testcase classname="api.Orders" name="creates"/>
<testcase classname="api.Orders" name="rejects_empty"><failure message="expected 400"/></testcase>
<testcase classname="api.Orders" name="exports"><skipped/></testcase>
<testcase classname="api.Orders" name="lists[page 2]"></testcase>
<testcase classname="api.Orders" name="cancels"><system-out>half"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_restores_exactly_what_passed_before_the_seal_and_a_second_seal_changes_nothing() {
    let fx = Fixture::new().await;
    let key = "shop/checkout main@3f2a1c shard 2";
    assert_eq!(fx.start(key, "i-0aaa000000000001"), "1");

    // Passes from a pass list (its half-written last line is not a test yet) and from a
    // JUnit report cut mid-write.
    let passlist = fx.path("passed.txt");
    fs::write(&passlist, "tests/test_cart.py::test_add\ntests/test_cart.py::test_remove[2 items]\ntests/test_cart.py::test_to").expect("writes");
    let junit = fx.path("report.xml");
    fs::write(&junit, JUNIT_BEING_WRITTEN).expect("writes");
    for source in [
        ["--passlist", passlist.to_str().unwrap_or_default()],
        ["--junit", junit.to_str().unwrap_or_default()],
    ] {
        let mut args = vec!["flush", "--key", key, "--instance-id", "i-0aaa000000000001"];
        args.extend(source);
        let run = fx.run(fx.cli(&args));
        assert!(
            run.status.success() && run.lines_at("ERROR").is_empty(),
            "flush: {run:?}"
        );
    }
    let before_seal = sorted(&[
        "tests/test_cart.py::test_add",
        "tests/test_cart.py::test_remove[2 items]",
        "api.Orders::creates",
        "api.Orders::lists[page 2]",
    ]);

    let store = fx.store();
    let at = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("time");
    let sealed = seal(&store, "i-0aaa000000000001", 1, "spot interruption", at)
        .await
        .expect("seals")
        .outcomes;
    let expected = Interruption {
        instance_id: "i-0aaa000000000001".into(),
        key: key.into(),
        attempt: 1,
        at,
        reason: "spot interruption".into(),
        passed: 4,
    };
    assert_eq!(sealed, vec![SealOutcome::Sealed(expected.clone())]);

    // The documented layout, with the key encoded as one segment.
    let encoded = "shop!2Fcheckout!20main!403f2a1c!20shard!202";
    let objects = fx.objects("").await;
    for wanted in [
        "claims/i-0aaa000000000001/0.json".to_string(),
        format!("checkpoints/{encoded}/passed.json"),
        format!("checkpoints/{encoded}/attempts/1/started.json"),
        format!("checkpoints/{encoded}/attempts/1/interruption.json"),
    ] {
        assert!(
            objects.contains(&wanted),
            "{wanted} missing from {objects:#?}"
        );
    }
    let parts = fx
        .objects(&format!("checkpoints/{encoded}/attempts/1/parts/"))
        .await;
    assert_eq!(parts.len(), 2, "{parts:?}");

    // The duplicate event: the same record, the pass list untouched.
    let pass_list = fx
        .object(&format!("checkpoints/{encoded}/passed.json"))
        .await;
    let later = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 30)
        .single()
        .expect("time");
    let again = seal(&store, "i-0aaa000000000001", 1, "duplicate delivery", later)
        .await
        .expect("seals")
        .outcomes;
    assert_eq!(again, vec![SealOutcome::AlreadySealed(expected)]);
    assert_eq!(
        fx.object(&format!("checkpoints/{encoded}/passed.json"))
            .await,
        pass_list
    );
    let nobody = seal(&store, "i-0nobody", 1, "spot", at)
        .await
        .expect("seals");
    assert!(nobody.outcomes.is_empty() && nobody.errors.is_empty());

    // The retry, on another instance: attempt 2 skips exactly what passed before.
    assert_eq!(fx.start(key, "i-0bbb000000000002"), "2");
    assert_eq!(fx.restore(key), before_seal);
    // And an unrelated key restores nothing.
    assert!(fx.restore("shop/checkout main@3f2a1c shard 20").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attempt_that_died_unsealed_is_restored_from_its_parts() {
    let fx = Fixture::new().await;
    assert_eq!(fx.start("k-unsealed", "i-1"), "1");
    let passlist = fx.path("passed.txt");
    fs::write(&passlist, "a\nb\n").expect("writes");
    let path = passlist.to_str().unwrap_or_default();
    let run = fx.run(fx.cli(&[
        "flush",
        "--key",
        "k-unsealed",
        "--instance-id",
        "i-1",
        "--passlist",
        path,
    ]));
    assert!(run.status.success(), "{run:?}");
    // A second flush of the same file uploads nothing new.
    let run = fx.run(fx.cli(&[
        "flush",
        "--key",
        "k-unsealed",
        "--instance-id",
        "i-1",
        "--passlist",
        path,
    ]));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(
        fx.objects("checkpoints/k-unsealed/attempts/1/parts/")
            .await
            .len(),
        1
    );
    assert_eq!(fx.start("k-unsealed", "i-2"), "2");
    assert_eq!(fx.restore("k-unsealed"), sorted(&["a", "b"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_builds_on_one_multi_executor_agent_are_both_sealed_and_restored() {
    // Executor 0 by --slot, executor 1 by Jenkins' EXECUTOR_NUMBER; both on i-multi.
    let fx = Fixture::new().await;
    let builds = [("k-exec0", "0", "a0\na1\n"), ("k-exec1", "1", "b0\n")];
    for (key, executor, passed) in builds {
        let mut start = fx.cli(&["start", "--key", key, "--instance-id", "i-multi"]);
        start.env("EXECUTOR_NUMBER", executor);
        let run = fx.run(start);
        assert_eq!(run.stdout.trim(), "1", "{run:?}");
        let passlist = fx.path(&format!("{key}.txt"));
        fs::write(&passlist, passed).expect("writes");
        let path = passlist.to_str().unwrap_or_default();
        let run = fx.run(fx.cli(&[
            "flush",
            "--key",
            key,
            "--instance-id",
            "i-multi",
            "--slot",
            executor,
            "--passlist",
            path,
        ]));
        assert!(
            run.status.success() && !run.stderr.contains("ERROR"),
            "{run:?}"
        );
    }
    assert_eq!(
        fx.objects("claims/i-multi/").await,
        vec!["claims/i-multi/0.json", "claims/i-multi/1.json"]
    );
    let at = Utc
        .with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("time");
    let sealing = seal(&fx.store(), "i-multi", 2, "spot interruption", at)
        .await
        .expect("seals");
    assert!(sealing.errors.is_empty(), "{:?}", sealing.errors);
    assert_eq!(sealing.sealed_now(), 2);
    assert_eq!(fx.restore("k-exec0"), sorted(&["a0", "a1"]));
    assert_eq!(fx.restore("k-exec1"), sorted(&["b0"]));
    for key in ["k-exec0", "k-exec1"] {
        assert_eq!(
            fx.objects(&format!("checkpoints/{key}/attempts/1/interruption.json"))
                .await
                .len(),
            1,
            "{key} sealed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_record_uploads_the_passes_before_exiting() {
    let fx = Fixture::new().await;
    assert_eq!(fx.start("k-term", "i-term"), "1");
    let passlist = fx.path("passed.txt");
    fs::write(&passlist, "").expect("writes");
    // --every 3600: only the signal can make it upload.
    let mut record = fx.spawn_record(&[
        "record",
        "--key",
        "k-term",
        "--instance-id",
        "i-term",
        "--every",
        "3600",
        "--passlist",
        passlist.to_str().unwrap_or_default(),
    ]);
    fs::write(&passlist, "t1\nt2\nt3\n").expect("writes");
    thread::sleep(Duration::from_millis(300));
    assert!(
        fx.objects("checkpoints/k-term/attempts/1/parts/")
            .await
            .is_empty(),
        "nothing uploaded before the signal"
    );
    sigterm(&record);
    let status = wait_exit(&mut record, Duration::from_secs(20));
    assert!(status.success(), "record exits 0 on SIGTERM: {status}");
    assert_eq!(fx.restore("k-term"), sorted(&["t1", "t2", "t3"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_until_pid_uploads_and_exits_when_the_test_runner_exits() {
    let fx = Fixture::new().await;
    assert_eq!(fx.start("k-pid", "i-pid"), "1");
    let passlist = fx.path("passed.txt");
    // The "test runner": writes its passes, then exits.
    let mut runner = Command::new("sh")
        .args([
            "-c",
            "sleep 1; printf 'p1\\np2\\n' >> \"$0\"; sleep 1",
            passlist.to_str().unwrap_or_default(),
        ])
        .spawn()
        .expect("sh runs");
    let pid = runner.id().to_string();
    let mut record = fx.spawn_record(&[
        "record",
        "--key",
        "k-pid",
        "--instance-id",
        "i-pid",
        "--every",
        "3600",
        "--until-pid",
        &pid,
        "--passlist",
        passlist.to_str().unwrap_or_default(),
    ]);
    assert!(runner.wait().expect("waits").success());
    let status = wait_exit(&mut record, Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert_eq!(fx.restore("k-pid"), sorted(&["p1", "p2"]));
}

/// A fake instance metadata service: IMDSv2 only (a GET without the token is 401), an
/// instance id, and a spot notice that appears when `notice` is set.
fn fake_imds(instance_id: &'static str, notice: Arc<AtomicBool>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = answer(stream, instance_id, &notice);
        }
    });
    url
}

fn answer(stream: TcpStream, instance_id: &str, notice: &AtomicBool) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let mut token = None;
    let mut ttl = false;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("x-aws-ec2-metadata-token:") {
            token = Some(value.trim().to_owned());
        }
        ttl |= lower.starts_with("x-aws-ec2-metadata-token-ttl-seconds:");
    }
    let authorised = token.as_deref() == Some("tok-e2e");
    let (status, body) = match request.split_whitespace().take(2).collect::<Vec<_>>()[..] {
        ["PUT", "/latest/api/token"] if ttl => ("200 OK", "tok-e2e".to_string()),
        ["GET", _] if !authorised => ("401 Unauthorized", String::new()),
        ["GET", "/latest/meta-data/instance-id"] => ("200 OK", instance_id.to_string()),
        ["GET", "/latest/meta-data/spot/instance-action"] if notice.load(Ordering::SeqCst) => (
            "200 OK",
            r#"{"action":"terminate","time":"2025-06-01T12:02:00Z"}"#.to_string(),
        ),
        _ => ("404 Not Found", String::new()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spot_notice_in_instance_metadata_makes_record_upload_within_five_seconds() {
    let fx = Fixture::new().await;
    let notice = Arc::new(AtomicBool::new(false));
    let imds = fake_imds("i-0imds00000000001", notice.clone());
    let with_imds = |args: &[&str]| {
        let mut cmd = fx.cli(args);
        cmd.env("CI_CHECKPOINT_IMDS_URL", &imds);
        cmd
    };
    // The instance id comes from the (IMDSv2) metadata service.
    let run = fx.run(with_imds(&["start", "--key", "k-spot"]));
    assert_eq!(run.stdout.trim(), "1", "{run:?}");
    assert!(fx.objects("claims/i-0imds00000000001/0.json").await.len() == 1);

    let junit = fx.path("report.xml");
    let log = fx.path("record.log");
    let mut record = ManagedChild::spawn(
        "ci-checkpoint record",
        with_imds(&[
            "record",
            "--key",
            "k-spot",
            "--every",
            "3600",
            "--junit",
            junit.to_str().unwrap_or_default(),
        ]),
        &log,
    );
    wait_for_line(&log, "record: watching", &mut record);
    fs::write(&junit, JUNIT_BEING_WRITTEN).expect("writes");
    thread::sleep(Duration::from_secs(1));
    let parts = "checkpoints/k-spot/attempts/1/parts/";
    assert!(
        fx.objects(parts).await.is_empty(),
        "no upload without a notice"
    );

    notice.store(true, Ordering::SeqCst);
    let noticed = Instant::now();
    while fx.objects(parts).await.is_empty() {
        assert!(
            noticed.elapsed() < Duration::from_secs(10),
            "no upload within 10 s of the notice:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        thread::sleep(Duration::from_millis(100));
    }
    // The metadata is polled every 5 s; 3 s more for the upload on a loaded 2-core box.
    assert!(
        noticed.elapsed() <= Duration::from_secs(8),
        "uploaded {:?} after the notice",
        noticed.elapsed()
    );
    assert_eq!(
        fx.restore("k-spot"),
        sorted(&["api.Orders::creates", "api.Orders::lists[page 2]"])
    );
    sigterm(&record);
    assert!(wait_exit(&mut record, Duration::from_secs(20)).success());
}

fn wait_for_line(log: &Path, needle: &str, child: &mut ManagedChild) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs::read_to_string(log).unwrap_or_default().contains(needle) {
        assert!(
            child.exited().is_none(),
            "{} exited early:\n{}",
            child.name,
            fs::read_to_string(log).unwrap_or_default()
        );
        assert!(
            Instant::now() < deadline,
            "{needle:?} not logged within 30 s"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_s3_down_the_build_goes_on_one_error_line_and_an_empty_skip_list() {
    let fx = Fixture::new().await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    let down = |args: &[&str]| {
        let mut cmd = fx.cli(args);
        cmd.env("AWS_ENDPOINT_URL", &closed);
        cmd
    };
    let passlist = fx.path("passed.txt");
    fs::write(&passlist, "a\nb\n").expect("writes");
    let path = passlist.to_str().unwrap_or_default();

    for args in [
        vec!["start", "--key", "k-down", "--instance-id", "i-down"],
        vec![
            "flush",
            "--key",
            "k-down",
            "--instance-id",
            "i-down",
            "--passlist",
            path,
        ],
    ] {
        let run = fx.run(down(&args));
        assert!(run.status.success(), "{args:?}: {run:?}");
        assert_eq!(run.stdout, "", "{args:?}");
        assert_eq!(run.lines_at("ERROR").len(), 1, "{args:?}: {}", run.stderr);
    }

    let run = fx.run(down(&["restore", "--key", "k-down"]));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, "", "an empty skip list");
    assert_eq!(run.lines_at("WARN").len(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("every test runs"), "{}", run.stderr);

    // record retries through the outage but says so once; SIGTERM still ends it with 0.
    let log = fx.path("record-down.log");
    let mut record = ManagedChild::spawn(
        "ci-checkpoint record",
        down(&[
            "record",
            "--key",
            "k-down",
            "--instance-id",
            "i-down",
            "--every",
            "0.5",
            "--passlist",
            path,
        ]),
        &log,
    );
    wait_for_line(&log, "ERROR", &mut record);
    thread::sleep(Duration::from_secs(3));
    sigterm(&record);
    assert!(wait_exit(&mut record, Duration::from_secs(30)).success());
    let stderr = fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(
        stderr.lines().filter(|l| l.contains(" ERROR ")).count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("2 passes not uploaded"), "{stderr}");

    // --strict makes the failure the build's.
    let run = fx.run(down(&[
        "flush",
        "--strict",
        "--key",
        "k-down",
        "--instance-id",
        "i-down",
        "--passlist",
        path,
    ]));
    assert_eq!(run.status.code(), Some(1), "{run:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bucket_no_claim_bad_key_and_corrupt_parts_never_fail_the_build() {
    let fx = Fixture::new().await;
    let passlist = fx.path("passed.txt");
    fs::write(&passlist, "a\n").expect("writes");
    let path = passlist.to_str().unwrap_or_default();

    let mut no_bucket = fx.cli(&[
        "flush",
        "--key",
        "k",
        "--instance-id",
        "i-1",
        "--passlist",
        path,
    ]);
    no_bucket.env_remove("CHECKPOINT_BUCKET");
    let run = fx.run(no_bucket);
    assert!(run.status.success(), "{run:?}");
    assert!(
        run.lines_at("ERROR").len() == 1 && run.stderr.contains("CHECKPOINT_BUCKET"),
        "{}",
        run.stderr
    );

    let run = fx.run(fx.cli(&[
        "flush",
        "--key",
        "k",
        "--instance-id",
        "i-unclaimed",
        "--passlist",
        path,
    ]));
    assert!(run.status.success(), "{run:?}");
    assert!(
        run.lines_at("ERROR").len() == 1 && run.stderr.contains("no checkpoint claim"),
        "{}",
        run.stderr
    );

    let run = fx.run(fx.cli(&["start", "--key", "  ", "--instance-id", "i-1"]));
    assert!(run.status.success() && run.stdout.is_empty(), "{run:?}");
    assert!(
        run.stderr.contains("checkpoint key is empty"),
        "{}",
        run.stderr
    );

    let run = fx.run(fx.cli(&["strat", "--key", "k"]));
    assert_eq!(
        run.status.code(),
        Some(2),
        "a command-line mistake is the pipeline's bug: {run:?}"
    );

    // A corrupt part: skipped with a warning, kept, the other parts still restored.
    assert_eq!(fx.start("k-corrupt", "i-c"), "1");
    let run = fx.run(fx.cli(&[
        "flush",
        "--key",
        "k-corrupt",
        "--instance-id",
        "i-c",
        "--passlist",
        path,
    ]));
    assert!(run.status.success(), "{run:?}");
    let corrupt = "checkpoints/k-corrupt/attempts/1/parts/000099-x.json";
    fx.s3
        .put_object()
        .bucket(&fx.bucket)
        .key(corrupt)
        .body(ByteStream::from_static(b"{\"tests\": [\"trunc"))
        .send()
        .await
        .expect("PutObject");
    let run = fx.run(fx.cli(&["restore", "--key", "k-corrupt"]));
    assert!(run.status.success(), "{run:?}");
    assert_eq!(run.stdout, "a\n");
    assert!(
        run.lines_at("WARN").iter().any(|l| l.contains(corrupt)),
        "{}",
        run.stderr
    );
    assert!(
        fx.object(corrupt).await.is_some(),
        "the corrupt part is left in place"
    );
}
