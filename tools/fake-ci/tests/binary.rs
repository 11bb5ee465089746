//! The binary's contract: first stdout line, loopback bind, --state, clean SIGTERM exit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn http_get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connects");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("writes");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("reads");
    reply
}

#[test]
fn prints_the_address_first_and_exits_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("fake-ci-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let state = dir.join("state.json");
    std::fs::write(
        &state,
        r#"{"jenkins_version":"2.100","agents":[{"name":"from-file"}]}"#,
    )
    .expect("state file");

    let mut child = Command::new(env!("CARGO_BIN_EXE_fake-ci"))
        .args(["--kind", "jenkins", "--port", "0", "--state"])
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    assert_ne!(addr, "127.0.0.1:0");

    let reply = http_get(&addr, "/_fake/state");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(
        reply.contains("\"from-file\"") && reply.contains("\"2.100\""),
        "{reply}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("exits");
    assert!(status.success(), "SIGTERM should exit 0, got {status}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_arguments_exit_2() {
    let status = Command::new(env!("CARGO_BIN_EXE_fake-ci"))
        .args(["--kind", "gitlab"])
        .stderr(Stdio::null())
        .status()
        .expect("runs");
    assert_eq!(status.code(), Some(2));
}
