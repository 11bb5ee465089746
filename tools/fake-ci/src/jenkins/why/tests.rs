use rules::label_expr::LabelExpr;

use super::labels::{label_indices, label_name, label_offline};
use super::time_span::time_span;
use super::wording::why;
use super::world::{Node, World};
use crate::jenkins::locale::Lang;
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
    why_in(Lang::English, version, agents, item)
}

fn why_in(lang: Lang, version: &str, agents: &[Agent], item: QueueItem) -> String {
    why_with_builtin(lang, version, 0, agents, item)
}

/// [`why_in`] on a Jenkins whose built-in node has `builtin_executors` idle executors.
fn why_with_builtin(
    lang: Lang,
    version: &str,
    builtin_executors: u32,
    agents: &[Agent],
    item: QueueItem,
) -> String {
    let version = JenkinsVersion::parse(version);
    let builtin = match lang {
        Lang::English => version.builtin_display_name(),
        Lang::German => "master",
    };
    let world = World {
        version,
        lang,
        label_memo: Default::default(),
        label_index: Default::default(),
        first_running: Default::default(),
        agents: agents.iter().map(Node::agent).collect(),
        builtin: Node {
            name: builtin,
            labels: vec!["built-in"],
            online: true,
        },
        builtin_idle_executors: builtin_executors,
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

/// No agents at all: `getCauseOfBlockage` drops the label. With 0 executors on the
/// built-in node (Jenkins' recommended set-up, and the state's default) nothing refused
/// the item, so the text names no label; with an idle built-in executor, its refusal.
#[test]
fn no_agents_at_all_names_no_label_unless_the_builtin_node_refuses() {
    let english =
        |version, executors, item| why_with_builtin(Lang::English, version, executors, &[], item);
    let german = |executors, item| why_with_builtin(Lang::German, "2.579", executors, &[], item);
    for version in ["2.579", "2.361.4", "2.100"] {
        assert_eq!(
            english(version, 0, labelled("chicken")),
            "Waiting for next available executor",
            "{version}"
        );
    }
    assert_eq!(
        german(0, labelled("chicken")),
        "Warte auf den n\u{e4}chsten freien Build-Prozessor"
    );
    assert_eq!(
        english("2.361.4", 2, labelled("chicken")),
        "\u{2018}Jenkins\u{2019} doesn\u{2019}t have label \u{2018}chicken\u{2019}"
    );
    assert_eq!(
        english("2.100", 1, labelled("chicken")),
        "Jenkins doesn't have label chicken"
    );
    assert_eq!(
        german(1, labelled("chicken")),
        "\u{201E}Jenkins\u{201C} hat nicht das Label \u{201E}chicken\u{201C}"
    );
    // The built-in node carries the label: nothing refuses it.
    assert_eq!(
        english("2.579", 1, labelled("built-in")),
        "Waiting for next available executor"
    );
    assert_eq!(
        english("2.579", 1, QueueItem::default()),
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
        "In the quiet period. Expires in 4,9 sec",
        "the number in the JVM's locale (German), the words in the request's"
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
    // (ms, English words, German words); numbers as a German JVM formats them.
    let cases: &[(u64, &str, &str)] = &[
        (50, "50 ms", "50 ms"),
        (120, "0,12 sec", "0,12 Sekunden"),
        (100, "0,1 sec", "0,1 Sekunden"),
        (1_000, "1 sec", "1 Sekunde"),
        (1_500, "1,5 sec", "1,5 Sekunden"),
        (4_900, "4,9 sec", "4,9 Sekunden"),
        (5_000, "5 sec", "5 Sekunden"),
        (12_000, "12 sec", "12 Sekunden"),
        (61_000, "1 min 1 sec", "1 Minute 1 Sekunde"),
        (192_000, "3 min 12 sec", "3 Minuten 12 Sekunden"),
        (23 * 60_000 + 5_000, "23 min", "23 Minuten"),
        (3_600_000 + 3 * 60_000, "1 hr 3 min", "1 Stunde 3 Minuten"),
        (2 * 86_400_000, "2 days 0 hr", "2 Tage 0 Stunden"),
        (86_400_000 + 3_600_000, "1 day 1 hr", "1 Tag 1 Stunde"),
        (40 * 86_400_000, "1 mo 10 days", "1 Monat 10 Tage"),
        (
            2 * 365 * 86_400_000 + 30 * 86_400_000,
            "2 yr 1 mo",
            "2 Jahre 1 Monat",
        ),
    ];
    for (ms, english, german) in cases {
        assert_eq!(time_span(*ms, Lang::English), *english, "{ms} ms");
        assert_eq!(time_span(*ms, Lang::German), *german, "{ms} ms");
    }
}

/// Every cause in Messages_de.properties wording (the keys are in the README), for a
/// request without Accept-Language; the same fleet as the English table.
#[test]
fn german_wording_table() {
    let fleet = [
        agent("l1", &["linux", "docker"], true),
        agent("l2", &["linux", "docker"], false),
        agent("w1", &["windows"], false),
        agent("w2", &["windows"], false),
        agent("m1", &["mac"], true),
        agent("a1", &["arm"], false),
    ];
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "2.579",
            None,
            "Warte auf den nächsten freien Build-Prozessor",
        ),
        (
            "2.579",
            Some("linux && docker"),
            "Warte auf den nächsten freien Build-Prozessor auf linux&&docker",
        ),
        (
            "2.579",
            Some("mac"),
            "Warte auf den nächsten freien Build-Prozessor auf m1",
        ),
        ("2.579", Some("l2"), "l2 ist offline"),
        (
            "2.579",
            Some("windows"),
            "Alle Knoten des Labels \u{201E}windows\u{201C} sind offline",
        ),
        (
            "2.579",
            Some("gpu"),
            "Es gibt keine Knoten mit dem Label \u{201E}gpu\u{201C}",
        ),
        (
            "2.579",
            Some("built-in"),
            "Warte auf den nächsten freien Build-Prozessor auf master",
        ),
        // German quotes did not change at 2.125.
        (
            "2.60.3",
            Some("windows"),
            "Alle Knoten des Labels \u{201E}windows\u{201C} sind offline",
        ),
    ];
    for (version, label, expected) in cases {
        let item = QueueItem {
            label: label.map(str::to_owned),
            ..labelled("x")
        };
        assert_eq!(
            why_in(Lang::German, version, &fleet, item),
            *expected,
            "{version} {label:?}"
        );
    }
    assert_eq!(
        why_in(Lang::German, "2.579", &[], labelled("chicken")),
        "Warte auf den n\u{e4}chsten freien Build-Prozessor"
    );
    let blocked = QueueItem {
        state: QueueState::Blocked,
        ..labelled("linux")
    };
    assert_eq!(
        why_in(Lang::German, "2.579", &[], blocked.clone()),
        "Build #41 ist bereits in Arbeit (ETA: 3 Minuten 12 Sekunden)"
    );
    let big = QueueItem {
        blocked_by_build: Some(3585),
        eta_ms: Some(52_000),
        ..blocked
    };
    assert_eq!(
        why_in(Lang::German, "2.150", &[], big.clone()),
        "Build #3.585 ist bereits in Arbeit (ETA:52 Sekunden)"
    );
    assert_eq!(
        why_in(Lang::English, "2.157", &[], big),
        "Build #3.585 is already in progress (ETA: 52 sec)",
        "an ETA space from 2.157; the number grouped by the JVM's (German) locale"
    );
    let waiting = QueueItem {
        state: QueueState::Waiting,
        ..labelled("linux")
    };
    assert_eq!(
        why_in(Lang::German, "2.579", &[], waiting.clone()),
        "In Ruhe-Periode. Endet in 4,9 Sekunden"
    );
    let done = QueueItem {
        quiet_remaining_ms: 0,
        ..waiting
    };
    assert_eq!(
        why_in(Lang::German, "2.579", &[], done),
        "Finished waiting",
        "Queue.FinishedWaiting has no German translation"
    );
    let composite = "verbatim; whatever the language";
    let item = QueueItem {
        why_override: Some(composite.into()),
        ..labelled("linux")
    };
    assert_eq!(why_in(Lang::German, "2.579", &[], item), composite);
}

/// ci-fleet reads English only: the German texts are demand it cannot attribute, which is
/// why it sends `Accept-Language: en`.
#[test]
fn ci_fleet_reads_the_english_not_the_german() {
    use rules::model::Demand;
    use rules::why::read_why;
    let fleet = [agent("l1", &["linux"], true), agent("l2", &["linux"], true)];
    let item = || labelled("linux");
    let english = read_why(&why_in(Lang::English, "2.579", &fleet, item()));
    assert_eq!(
        english.demand,
        Demand::Expression(LabelExpr::Atom("linux".into()))
    );
    let german = read_why(&why_in(Lang::German, "2.579", &fleet, item()));
    assert!(matches!(german.demand, Demand::Unknown(_)), "{german:?}");
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
        lang: Lang::English,
        label_memo: Default::default(),
        label_index: Default::default(),
        first_running: Default::default(),
        agents: fleet.iter().map(Node::agent).collect(),
        builtin: Node {
            name: "Built-In Node",
            labels: vec!["built-in"],
            online: true,
        },
        builtin_idle_executors: 0,
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
