//! The parsers face whatever a CI server or an event source sends: garbage must give an
//! error or a reading, never a panic.

use proptest::prelude::*;
use rules::LabelExpr;
use rules::why::read_why;
use serde_json::{Value, json};
use shared::ci::jenkins::parse_snapshot;
use shared::ci::teamcity::wire::AgentIndex;
use shared::ci::teamcity::{AgentsJson, QueueJson};

/// JSON values biased towards the keys the adapters read, so the search reaches deep paths.
fn json_value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "items",
        "computer",
        "id",
        "why",
        "blocked",
        "buildable",
        "stuck",
        "pending",
        "inQueueSince",
        "task",
        "labelExpression",
        "displayName",
        "offline",
        "temporarilyOffline",
        "idle",
        "numExecutors",
        "assignedLabels",
        "name",
        "executors",
        "offlineCauseReason",
        "_class",
        "agent",
        "build",
        "pool",
        "connected",
        "enabled",
        "authorized",
        "nextHref",
        "queuedDate",
        "waitReason",
        "compatibleAgents",
        "state",
        "jobs",
        "builds",
        "result",
        "builtOn",
        "timestamp",
        "duration",
        "status",
        "statusText",
        "finishDate",
        "buildTypeId",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn why_reading_never_panics(why in ".{0,200}") {
        let _ = read_why(&why);
    }

    #[test]
    fn why_with_quotes_and_separators_never_panics(parts in prop::collection::vec(prop::sample::select(vec![
        "\u{2018}", "\u{2019}", "'", "; ", "Waiting for next available executor on ", "All nodes of label ", " are offline",
        "There are no nodes with the label ", " doesn\u{2019}t have label ", " is offline", "&&", "(", "linux", "!",
    ]), 0..12)) {
        let _ = read_why(&parts.concat());
    }

    #[test]
    fn label_expressions_parse_or_fail_cleanly(source in "[a-z&|!()<>\\-\" \\\\]{0,40}") {
        if let Ok(expr) = LabelExpr::parse(&source) {
            // What parses prints back to an expression that parses to the same tree.
            prop_assert_eq!(LabelExpr::parse(&expr.to_string()).ok(), Some(expr));
        }
    }

    #[test]
    fn jenkins_bodies_never_panic(queue in json_value(), computers in json_value()) {
        let _ = parse_snapshot(queue.to_string().as_bytes(), computers.to_string().as_bytes());
    }

    #[test]
    fn jenkins_raw_bytes_never_panic(queue in prop::collection::vec(any::<u8>(), 0..256), computers in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_snapshot(&queue, &computers);
    }

    #[test]
    fn teamcity_bodies_never_panic(agents in json_value(), queue in json_value(), compatible in prop::collection::vec(0u64..8, 0..8)) {
        let mut index = AgentIndex::default();
        if let Ok(page) = serde_json::from_value::<AgentsJson>(agents) {
            index = AgentIndex::of(&page.agent);
            let _: Vec<_> = page.agent.into_iter().map(|a| a.into_agent()).collect();
        }
        if let Ok(page) = serde_json::from_value::<QueueJson>(queue) {
            let _: Vec<_> = page.build.into_iter().map(|b| b.into_build(&compatible, &index)).collect();
        }
    }

    #[test]
    fn build_history_bodies_never_panic(run_url in ".{0,80}", ledger in json_value(), teamcity in json_value()) {
        use shared::ci::teamcity::history::{TeamCityBuildJson, TeamCityBuildsJson};
        let _ = (rules::ledger::job_of_run(&run_url), rules::ledger::number_of_run(&run_url));
        if let Ok(ledger) = serde_json::from_value::<rules::ledger::RunLedger>(ledger) {
            let _ = ledger.finished_builds();
        }
        if let Ok(page) = serde_json::from_value::<TeamCityBuildsJson>(teamcity) {
            let _: Vec<_> = page.build.into_iter().filter_map(TeamCityBuildJson::into_finished).collect();
        }
    }

    #[test]
    fn events_never_panic(event in json_value()) {
        let _ = serde_json::from_value::<shared::events::ScheduledEvent>(event);
    }
}
