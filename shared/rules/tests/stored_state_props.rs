//! State read back from S3 (a drain record, a retry history) and `RETRY_POLICY` from the
//! environment: whatever the store or the operator holds gives a value or an error, never
//! a panic; what is written reads back the same; and what is read is then used without a
//! panic, whatever its times and counts (anything can write into the bucket).
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset); tools/fuzz-all.sh sets it.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use rules::drain::{DrainAgent, DrainRecord, DrainStep, next_step};
use rules::retry::{FailureClass, History, MAX_RETRIES_LIMIT, RetryPolicy};
use serde_json::{Value, json};

/// Any instant chrono holds, with its two ends and today's decades drawn often.
fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    prop_oneof![
        (min.timestamp()..=max.timestamp(), 0u32..1_000_000_000)
            .prop_map(move |(s, n)| DateTime::from_timestamp(s, n).unwrap_or(max)),
        Just(min),
        Just(max),
        recent_time(),
    ]
}

/// Between 2000 and 2100: what a Lambda's clock says.
fn recent_time() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..4_102_444_800)
        .prop_map(|s| DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::UNIX_EPOCH))
}

fn class() -> impl Strategy<Value = FailureClass> + Clone {
    prop::sample::select(FailureClass::ALL.to_vec())
}

fn drain_record() -> impl Strategy<Value = DrainRecord> {
    (
        ("[ -~]{0,20}", "[ -~]{0,12}", "[ -~]{0,12}", "[ -~]{0,12}"),
        proptest::option::of("[ -~]{0,36}"),
        prop::collection::vec(".{0,20}", 0..4),
        (any_time(), any_time(), any_time()),
        prop_oneof![any::<u32>(), 0u32..7200],
    )
        .prop_map(
            |((instance_id, pool, group, hook), token, agent_names, times, timeout)| DrainRecord {
                instance_id,
                pool,
                group,
                hook,
                token,
                agent_names,
                started_at: times.0,
                deadline: times.1,
                heartbeat_timeout_seconds: timeout,
                last_heartbeat_at: times.2,
            },
        )
}

/// JSON shaped like a stored drain record, any field possibly of the wrong type or missing.
fn drain_json() -> impl Strategy<Value = Value> {
    let time = prop_oneof![
        any_time().prop_map(|t| json!(t)),
        "[0-9+:TZ-]{0,30}".prop_map(Value::String),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
    ];
    let text = |n: usize| prop::string::string_regex(&format!("[ -~]{{0,{n}}}")).expect("a regex");
    let field = prop_oneof![
        text(12).prop_map(|v| ("instance_id", json!(v))),
        text(12).prop_map(|v| ("pool", json!(v))),
        text(12).prop_map(|v| ("group", json!(v))),
        text(12).prop_map(|v| ("hook", json!(v))),
        proptest::option::of(text(12)).prop_map(|v| ("token", json!(v))),
        prop::collection::vec(text(8), 0..3).prop_map(|v| ("agent_names", json!(v))),
        time.clone().prop_map(|v| ("started_at", v)),
        time.clone().prop_map(|v| ("deadline", v)),
        time.prop_map(|v| ("last_heartbeat_at", v)),
        any::<i64>().prop_map(|v| ("heartbeat_timeout_seconds", json!(v))),
    ];
    (drain_record(), prop::collection::vec(field, 0..6)).prop_map(|(record, fields)| {
        let mut value = json!(record);
        for (name, field) in fields {
            value[name] = field;
        }
        value
    })
}

fn agent(n: u8) -> DrainAgent {
    [DrainAgent::Unknown, DrainAgent::Busy, DrainAgent::Done][usize::from(n % 3)]
}

fn history() -> impl Strategy<Value = History> {
    let count = prop_oneof![0u32..5, any::<u32>(), Just(u32::MAX)];
    let counts = prop::collection::btree_map(class(), count.clone(), 0..6);
    (count, counts.clone(), counts).prop_map(|(retries, retries_by_class, failures_by_class)| {
        History {
            retries,
            retries_by_class,
            failures_by_class,
        }
    })
}

/// `RETRY_POLICY` as an operator might write it: the known fields with good and bad
/// values, unknown fields, wrong types.
fn policy_json() -> impl Strategy<Value = Value> {
    let parameter = prop_oneof![
        "[A-Z_]{1,12}",
        "[ -~]{0,12}",
        Just(String::new()),
        "[A-Z]{250,260}",
    ];
    let number = prop_oneof![
        (0i64..15).prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        Just(json!(1.5)),
        Just(json!("3")),
    ];
    let class_name = prop::sample::select(vec![
        "spot-interruption",
        "agent-lost",
        "oom",
        "timeout",
        "infrastructure",
        "deterministic",
        "flaky",
    ]);
    let retries =
        prop::collection::btree_map(class_name.prop_map(str::to_owned), number.clone(), 0..7)
            .prop_map(|m| Value::Object(m.into_iter().collect()));
    let step = prop_oneof![
        prop::sample::select(vec!["8g", "16g", "32g", "64g"]).prop_map(str::to_owned),
        "[ -~]{0,4}",
    ];
    let ladder = prop_oneof![
        (parameter.clone(), prop::collection::vec(step, 0..5))
            .prop_map(|(p, steps)| json!({"parameter": p, "steps": steps})),
        Just(json!({"parameter": "MEM", "steps": ["8g", "16g"], "extra": 1})),
        Just(Value::Null),
    ];
    let on_demand = prop_oneof![
        (
            proptest::option::of(number.clone()),
            parameter.clone(),
            "[ -~]{0,8}"
        )
            .prop_map(|(after, p, v)| {
                let mut o = json!({"parameter": p, "value": v});
                if let Some(after) = after {
                    o["after_spot_interruptions"] = after;
                }
                o
            }),
        Just(Value::Null),
    ];
    let field = prop_oneof![
        number.clone().prop_map(|v| ("max_retries", v)),
        retries.prop_map(|v| ("retries", v)),
        ladder.prop_map(|v| ("memory_ladder", v)),
        on_demand.prop_map(|v| ("on_demand", v)),
        parameter
            .clone()
            .prop_map(|v| ("reason_parameter", json!(v))),
        parameter.prop_map(|v| ("retry_of_parameter", json!(v))),
        number.prop_map(|v| ("max_retry", v)),
    ];
    prop::collection::vec(field, 0..7).prop_map(|fields| {
        Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    })
}

fn parameter_ok(p: &str) -> bool {
    !p.trim().is_empty()
        && p.len() <= 255
        && !p.contains(|c: char| c.is_whitespace() || c == '=' || c == '&')
}

proptest! {
    // No regressions file in the tree: a failure prints its minimal input instead.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn drain_records_read_back_and_decide_at_any_time(
        record in drain_record(),
        n in any::<u8>(),
        now in recent_time(),
        run_every in 0u64..86_400,
    ) {
        let text = serde_json::to_string(&record).expect("serialises");
        let back: DrainRecord = serde_json::from_str(&text).expect("reads back");
        prop_assert_eq!(&back, &record);
        let step = next_step(&back, agent(n), now, Duration::from_secs(run_every));
        if now >= record.deadline {
            prop_assert_eq!(step, DrainStep::CompleteTimedOut);
        } else if matches!(agent(n), DrainAgent::Done) {
            prop_assert_eq!(step, DrainStep::Complete);
        } else {
            // Never completed on a busy or unknown agent before the deadline.
            prop_assert!(matches!(step, DrainStep::Heartbeat | DrainStep::Wait), "{step:?}");
        }
    }

    #[test]
    fn any_stored_drain_document_reads_or_fails_cleanly(value in drain_json(), n in any::<u8>(), now in recent_time()) {
        if let Ok(record) = serde_json::from_value::<DrainRecord>(value) {
            let _ = next_step(&record, agent(n), now, Duration::from_secs(60));
        }
    }

    #[test]
    fn retry_histories_read_back_and_counts_only_grow(history in history(), class in class(), retried in any::<bool>()) {
        let text = serde_json::to_string(&history).expect("serialises");
        let back: History = serde_json::from_str(&text).expect("reads back");
        prop_assert_eq!(&back, &history);
        let mut counted = back.clone();
        counted.count(class, retried);
        let of = |h: &History, c| h.failures_by_class.get(&c).copied().unwrap_or(0);
        prop_assert!(of(&counted, class) >= of(&back, class).max(1));
        prop_assert!(counted.retries >= back.retries);
        if retried {
            prop_assert!(counted.retries >= 1);
        }
    }

    #[test]
    fn any_retry_policy_parses_within_its_limits_and_reads_back(json in policy_json()) {
        let Ok(policy) = RetryPolicy::parse(&json.to_string()) else {
            return Ok(());
        };
        prop_assert!(policy.max_retries <= MAX_RETRIES_LIMIT);
        prop_assert!(parameter_ok(&policy.reason_parameter) && parameter_ok(&policy.retry_of_parameter));
        if let Some(ladder) = &policy.memory_ladder {
            prop_assert!(parameter_ok(&ladder.parameter));
            let distinct: std::collections::BTreeSet<_> = ladder.steps.iter().collect();
            prop_assert!(ladder.steps.len() >= 2 && distinct.len() == ladder.steps.len());
        }
        if let Some(on_demand) = &policy.on_demand {
            prop_assert!(parameter_ok(&on_demand.parameter) && on_demand.after_spot_interruptions >= 1);
        }
        // What a policy prints is a policy that parses to itself.
        let printed = serde_json::to_string(&policy).expect("serialises");
        prop_assert_eq!(RetryPolicy::parse(&printed), Ok(policy));
    }

    #[test]
    fn any_text_as_a_retry_policy_never_panics(text in ".{0,120}", tail in "[{}\\[\\]\":,0-9a-z_ ]{0,60}") {
        let _ = RetryPolicy::parse(&text);
        let _ = RetryPolicy::parse(&format!("{{\"max_retries\":{tail}"));
    }
}

/// Found by `retry_histories_read_back_and_counts_only_grow`: a stored count at `u32::MAX`
/// panicked on the next failure in a debug build and wrapped to 0 in release, which
/// resets the retry budget of the logical build.
#[test]
fn a_count_at_its_limit_stays_there() {
    let mut history = History {
        retries: u32::MAX,
        retries_by_class: BTreeMap::from([(FailureClass::Oom, u32::MAX)]),
        failures_by_class: BTreeMap::from([(FailureClass::Oom, u32::MAX)]),
    };
    history.count(FailureClass::Oom, true);
    assert_eq!(
        (
            history.retries,
            history.retries_by_class[&FailureClass::Oom],
            history.failures_by_class[&FailureClass::Oom]
        ),
        (u32::MAX, u32::MAX, u32::MAX)
    );
}

/// Found by `drain_records_read_back_and_decide_at_any_time`: a stored heartbeat time
/// near chrono's last instant overflowed `last_heartbeat_at + half` and panicked, every
/// protect-busy-agents run, before any drain was kept alive.
#[test]
fn a_heartbeat_at_the_end_of_time_is_never_due() {
    let now = DateTime::from_timestamp(1_795_000_000, 0).expect("a time");
    let record = DrainRecord {
        instance_id: "i-1".into(),
        pool: "linux".into(),
        group: "ci-linux".into(),
        hook: "ci-fleet-drain".into(),
        token: None,
        agent_names: vec!["i-1".into()],
        started_at: now,
        deadline: DateTime::<Utc>::MAX_UTC,
        heartbeat_timeout_seconds: 600,
        last_heartbeat_at: DateTime::<Utc>::MAX_UTC,
    };
    assert_eq!(
        next_step(&record, DrainAgent::Busy, now, Duration::from_secs(60)),
        DrainStep::Wait
    );
}
