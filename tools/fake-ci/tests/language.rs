//! Any locale: ci-fleet's Jenkins client asks for English on every request, so a Jenkins
//! whose JVM speaks German (as the fake does when no language is asked for) still gives it
//! a `why` it can attribute. rules::why reads English only.

mod support;

use fake_ci::{FakeState, Kind};
use rules::label_expr::LabelExpr;
use rules::model::{Demand, Waiting};
use rules::pool::{Pool, PoolSpec};
use rules::why::read_why;
use rules::workload::compute_workloads;
use serde_json::json;
use shared::ci::CiKind;
use shared::ports::CiServer;
use support::{basic, get};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn client(addr: std::net::SocketAddr) -> std::sync::Arc<dyn CiServer> {
    support::adapters(CiKind::Jenkins, addr, Some("ci"), "tok", 100).0
}

fn pool(label: &str) -> Pool {
    Pool::jenkins(PoolSpec {
        name: label.to_owned(),
        ci_label: label.to_owned(),
        asg: format!("ci-{label}"),
        executors_per_instance: 1,
        max_builds_per_agent: None,
    })
    .expect("label parses")
}

/// A Pipeline item exports no labelExpression: its demand is only in `why`. The German
/// fake tells ci-fleet in English, because ci-fleet asks for English.
#[tokio::test]
async fn a_pipeline_item_on_a_german_jenkins_is_attributed_to_its_label() {
    let state: FakeState = serde_json::from_value(json!({
        "agents": [
            {"name": "linux-1", "labels": ["linux"], "running": [{"job": "api", "number": 3}]},
            {"name": "linux-2", "labels": ["linux"], "running": [{"job": "web", "number": 8}]},
            {"name": "gpu-1", "labels": ["gpu"]}
        ],
        "queue": [
            {"id": 7, "job": "platform/app/main", "label": "linux", "label_exposed": false}
        ]
    }))
    .expect("valid state");
    let (addr, _app) = fake_ci::spawn(Kind::Jenkins, state).await.expect("starts");

    // What a client that asks for no language reads: German, which ci-fleet cannot place.
    let raw = get(
        addr,
        "/queue/api/json?tree=items[why,task[name,labelExpression]]",
        &[("Authorization", &basic("ci", "tok"))],
    )
    .await
    .json();
    let german = raw["items"][0]["why"].as_str().expect("why");
    assert_eq!(
        german,
        "Warte auf den n\u{e4}chsten freien Build-Prozessor auf linux"
    );
    assert!(raw["items"][0]["task"].get("labelExpression").is_none());
    assert!(matches!(read_why(german).demand, Demand::Unknown(_)));

    // What ci-fleet reads.
    let snapshot = client(addr).snapshot().await.expect("snapshot");
    let build = &snapshot.queue[0];
    assert_eq!(build.waiting, Waiting::ForExecutor);
    assert_eq!(
        build.demand,
        Demand::Expression(LabelExpr::Atom("linux".into())),
        "the label named by the English why"
    );
    let workloads = compute_workloads(&[pool("linux"), pool("gpu")], &snapshot, chrono::Utc::now());
    let queued: Vec<(&str, u32)> = workloads
        .pools
        .iter()
        .map(|p| (p.pool.as_str(), p.queued_builds))
        .collect();
    assert_eq!(queued, vec![("linux", 1), ("gpu", 0)]);
    assert_eq!(workloads.unattributed_builds, 0);
}

/// Every request of the client carries `Accept-Language: en`, reads and writes alike: a
/// listener that records what it is sent.
#[tokio::test]
async fn every_request_asks_for_english() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("address");
    let (heads, mut received) = mpsc::unbounded_channel::<String>();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut raw = Vec::new();
                let mut buf = [0u8; 4096];
                while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => raw.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = heads.send(String::from_utf8_lossy(&raw).into_owned());
                let body = r#"{"items":[],"computer":[]}"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Jenkins: 2.579\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });

    let ci = client(addr);
    ci.snapshot().await.expect("snapshot");
    ci.remove_agent("linux-1").await.expect("removed");

    let mut seen = Vec::new();
    while let Ok(head) = received.try_recv() {
        seen.push(head);
    }
    assert_eq!(seen.len(), 3, "two reads and a write: {seen:#?}");
    for head in &seen {
        let languages: Vec<&str> = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .filter(|(name, _)| name.trim().eq_ignore_ascii_case("accept-language"))
            .map(|(_, value)| value.trim())
            .collect();
        assert_eq!(languages, vec!["en"], "{head}");
    }
}
