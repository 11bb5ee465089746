use rules::label_expr::LabelExpr;

use super::labels::{label_indices, label_name, label_offline};
use super::time_span::time_span;
use super::wording::why;
use super::world::{Node, World};
use crate::jenkins::version::JenkinsVersion;
use crate::state::{Agent, QueueItem, QueueState};

fn agent(name: &str, labels: &[&str], online: bool) -> Agent {
    Agent {
        name: name.into(),
        labels: labels.iter().map(|l| l.to_string()).collect(),
        connected: online,
        ..Agent::default()
    }
}

fn why_for(version: &str, agents: &[Agent], item: QueueItem) -> String {
    let version = JenkinsVersion::parse(version);
    let world = World {
        version,
        label_memo: Default::default(),
        label_index: Default::default(),
        first_running: Default::default(),
        agents: agents.iter().map(Node::agent).collect(),
        builtin: Node {
            name: "Built-In Node",
            labels: vec!["built-in"],
            online: true,
        },
        running: vec![("app", 41)],
    };
    why(&item, &world)
}

fn labelled(label: &str) -> QueueItem {
    QueueItem {
        id: 1,
        job: "app".into(),
        label: Some(label.into()),
        ..QueueItem::default()
    }
}

#[test]
fn buildable_wording_table() {
    let fleet = [
        agent("l1", &["linux", "docker"], true),
        agent("l2", &["linux", "docker"], false),
        agent("w1", &["windows"], false),
        agent("w2", &["windows"], false),
        agent("m1", &["mac"], true),
        agent("a1", &["arm"], false),
    ];
    let cases: &[(&str, Option<&str>, &str)] = &[
        ("2.579", None, "Waiting for next available executor"),
        (
            "2.579",
            Some("linux"),
            "Waiting for next available executor on \u{2018}linux\u{2019}",
        ),
        (
            "2.579",
            Some("linux && docker"),
            "Waiting for next available executor on \u{2018}linux&&docker\u{2019}",
        ),
        (
            "2.579",
            Some("(linux || mac) && !arm"),
            "Waiting for next available executor on \u{2018}(linux||mac)&&!arm\u{2019}",
        ),
        (
            "2.579",
            Some("mac"),
            "Waiting for next available executor on \u{2018}m1\u{2019}",
        ),
        ("2.579", Some("l2"), "\u{2018}l2\u{2019} is offline"),
        (
            "2.579",
            Some("windows"),
            "All nodes of label \u{2018}windows\u{2019} are offline",
        ),
        (
            "2.579",
            Some("gpu"),
            "There are no nodes with the label \u{2018}gpu\u{2019}",
        ),
        ("2.579", Some("arm"), "\u{2018}a1\u{2019} is offline"),
        (
            "2.60.3",
            Some("linux"),
            "Waiting for next available executor on linux",
        ),
        (
            "2.60.3",
            Some("mac"),
            "Waiting for next available executor on m1",
        ),
        ("2.60.3", Some("l2"), "l2 is offline"),
        (
            "2.60.3",
            Some("windows"),
            "All nodes of label 'windows' are offline",
        ),
        (
            "2.60.3",
            Some("gpu"),
            "There are no nodes with the label 'gpu'",
        ),
        (
            "2.125",
            Some("gpu"),
            "There are no nodes with the label \u{2018}gpu\u{2019}",
        ),
    ];
    for (version, label, expected) in cases {
        let item = QueueItem {
            label: label.map(str::to_owned),
            ..labelled("x")
        };
        assert_eq!(
            why_for(version, &fleet, item),
            *expected,
            "{version} {label:?}"
        );
    }
}

#[test]
fn no_agents_at_all_reports_the_builtin_refusal() {
    assert_eq!(
        why_for("2.361.4", &[], labelled("chicken")),
        "\u{2018}Jenkins\u{2019} doesn\u{2019}t have label \u{2018}chicken\u{2019}"
    );
    assert_eq!(
        why_for("2.100", &[], labelled("chicken")),
        "Jenkins doesn't have label chicken"
    );
    assert_eq!(
        why_for("2.579", &[], QueueItem::default()),
        "Waiting for next available executor"
    );
}

#[test]
fn blocked_waiting_and_override() {
    let blocked = QueueItem {
        state: QueueState::Blocked,
        ..labelled("linux")
    };
    assert_eq!(
        why_for("2.579", &[], blocked.clone()),
        "Build #41 is already in progress (ETA: 3 min 12 sec)"
    );
    let no_eta = QueueItem {
        eta_ms: None,
        blocked_by_build: Some(7),
        ..blocked.clone()
    };
    assert_eq!(
        why_for("2.579", &[], no_eta),
        "Build #7 is already in progress"
    );
    let old = QueueItem {
        eta_ms: Some(52_000),
        ..blocked
    };
    assert_eq!(
        why_for("2.60", &[], old),
        "Build #41 is already in progress (ETA:52 sec)"
    );
    let waiting = QueueItem {
        state: QueueState::Waiting,
        ..labelled("linux")
    };
    assert_eq!(
        why_for("2.579", &[], waiting.clone()),
        "In the quiet period. Expires in 4.9 sec"
    );
    let done = QueueItem {
        quiet_remaining_ms: 0,
        ..waiting
    };
    assert_eq!(why_for("2.579", &[], done), "Finished waiting");
    let composite = "\u{2018}Jenkins\u{2019} is reserved for jobs with matching label expression; \u{2018}ubu\u{2019} is offline";
    let item = QueueItem {
        why_override: Some(composite.into()),
        ..labelled("linux")
    };
    assert_eq!(why_for("2.579", &[], item), composite);
}

#[test]
fn time_spans_like_hudson_util() {
    let cases: &[(u64, &str)] = &[
        (50, "50 ms"),
        (120, "0.12 sec"),
        (100, "0.1 sec"),
        (4_900, "4.9 sec"),
        (5_000, "5 sec"),
        (12_000, "12 sec"),
        (192_000, "3 min 12 sec"),
        (23 * 60_000 + 5_000, "23 min"),
        (3_600_000 + 3 * 60_000, "1 hr 3 min"),
        (2 * 86_400_000, "2 days 0 hr"),
        (86_400_000 + 3_600_000, "1 day 1 hr"),
    ];
    for (ms, expected) in cases {
        assert_eq!(time_span(*ms), *expected, "{ms} ms");
    }
}

#[test]
fn label_lookups_agree_with_evaluating_every_node() {
    let fleet = [
        agent("l1", &["linux", "docker", "linux"], true),
        agent("l2", &["linux", "l2"], false),
        agent("w1", &["windows"], true),
        agent("l1", &["mac"], true),
    ];
    let world = World {
        version: JenkinsVersion::parse("2.579"),
        label_memo: Default::default(),
        label_index: Default::default(),
        first_running: Default::default(),
        agents: fleet.iter().map(Node::agent).collect(),
        builtin: Node {
            name: "Built-In Node",
            labels: vec!["built-in"],
            online: true,
        },
        running: vec![],
    };
    for expression in [
        "linux",
        " linux ",
        "l1",
        "l2",
        "built-in",
        "gpu",
        "linux && !docker",
        "mac || windows",
        "bad &&",
        "",
    ] {
        let expected: Vec<usize> = (0..=fleet.len())
            .filter(|&i| {
                let node = world.node(i);
                match LabelExpr::parse(expression) {
                    Ok(expr) => expr.matches(|l| node.labels.contains(&l)),
                    Err(_) => node.labels.contains(&expression.trim()),
                }
            })
            .collect();
        assert_eq!(
            *label_indices(&world, expression),
            expected,
            "{expression:?}"
        );
        // Memoised: the second answer is the first.
        assert_eq!(
            *label_indices(&world, expression),
            expected,
            "{expression:?}"
        );
    }
    assert!(label_offline(&world, "l2") && !label_offline(&world, "linux"));
    assert!(label_offline(&world, "gpu"));
}

#[test]
fn label_names_drop_whitespace_but_not_quoted_text() {
    assert_eq!(label_name(" linux  &&  docker "), "linux&&docker");
    assert_eq!(label_name("\"two words\" || x"), "\"two words\"||x");
}
