//! Two kinds of outside input shared reads: a finished build as the CI server describes it
//! (Jenkins' and TeamCity's build JSON, Jenkins' queue `Location`, TeamCity's timestamps),
//! and the checkpoint objects agents write into the bucket (claims, parts, pass lists,
//! interruption records, and the object keys they live under). Any of it gives a value or
//! an error, never a panic; times stay in order; keys round-trip.
//!
//! Cases: `PROPTEST_CASES` (proptest's default, 256, when unset); tools/fuzz-all.sh sets it.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use shared::checkpoint::{
    CheckpointKey, Claim, Interruption, MAX_KEY_BYTES, Part, PassList, layout,
};
use shared::ci::jenkins::builds::{BuildJson as JenkinsBuildJson, queue_item_id};
use shared::ci::teamcity::builds::BuildJson as TeamCityBuildJson;
use shared::ci::teamcity::parse_teamcity_time;
use shared::ports::builds::{BuildRef, FinishedBuild};

/// JSON values biased towards the keys the build and checkpoint readers look for.
fn json_value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "number",
        "result",
        "building",
        "duration",
        "timestamp",
        "builtOn",
        "queueId",
        "url",
        "description",
        "actions",
        "parameters",
        "name",
        "value",
        "lastBuiltRevision",
        "SHA1",
        "branch",
        "id",
        "buildTypeId",
        "status",
        "state",
        "statusText",
        "startDate",
        "finishDate",
        "agent",
        "canceledInfo",
        "text",
        "revisions",
        "revision",
        "version",
        "properties",
        "property",
        "own",
        "instance_id",
        "slot",
        "key",
        "attempt",
        "claimed_at",
        "written_at",
        "tests",
        "parts",
        "updated_at",
        "at",
        "reason",
        "passed",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        any_time().prop_map(|t| json!(t)),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Any instant chrono holds, with its two ends and today's decades drawn often.
fn any_time() -> impl Strategy<Value = DateTime<Utc>> {
    let (min, max) = (DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC);
    prop_oneof![
        (min.timestamp()..=max.timestamp(), 0u32..1_000_000_000)
            .prop_map(move |(s, n)| DateTime::from_timestamp(s, n).unwrap_or(max)),
        Just(min),
        Just(max),
        (946_684_800i64..4_102_444_800)
            .prop_map(move |s| DateTime::from_timestamp(s, 0).unwrap_or(min)),
    ]
}

/// Milliseconds as Jenkins sends them, from the whole `i64` range.
fn millis() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MAX),
        Just(i64::MIN),
        -1_000i64..1_000,
        0i64..4_102_444_800_000,
        // Around chrono's limits, where an addition crosses them.
        (-8_210_298_412_800_000i64..-8_210_298_412_700_000),
        (8_210_266_876_700_000i64..8_210_266_876_800_000),
    ]
}

fn build_result() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "SUCCESS",
            "UNSTABLE",
            "FAILURE",
            "ABORTED",
            "NOT_BUILT",
            "UNKNOWN",
            "success",
        ])
        .prop_map(str::to_owned),
        ".{0,10}",
    ]
}

fn jenkins_action() -> impl Strategy<Value = Value> {
    let parameter_value = prop_oneof![
        ".{0,12}".prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
        Just(json!({"nested": 1})),
    ];
    let parameter = (".{0,8}", proptest::option::of(parameter_value)).prop_map(|(name, value)| {
        let mut p = json!({"_class": "hudson.model.StringParameterValue", "name": name});
        if let Some(value) = value {
            p["value"] = value;
        }
        p
    });
    prop_oneof![
        prop::collection::vec(parameter, 0..4).prop_map(|ps| {
            json!({"_class": "hudson.model.ParametersAction", "parameters": ps})
        }),
        (
            proptest::option::of("[0-9a-f]{0,40}"),
            prop::collection::vec(".{0,12}", 0..2)
        )
            .prop_map(|(sha, branches)| {
                let branch: Vec<Value> = branches.iter().map(|b| json!({"name": b})).collect();
                json!({"lastBuiltRevision": {"SHA1": sha, "branch": branch}})
            }),
        Just(json!({})),
        Just(Value::Null),
        json_value(),
    ]
}

/// A Jenkins build document in the shape `tree=` asks for, every field drawn from its
/// type's whole range, some fields left out.
fn jenkins_build() -> impl Strategy<Value = Value> {
    (
        any::<u64>(),
        proptest::option::of(build_result()),
        any::<bool>(),
        (
            proptest::option::of(millis()),
            proptest::option::of(millis()),
        ),
        proptest::option::of("[ -~]{0,12}"),
        proptest::option::of(any::<u64>()),
        proptest::option::of(".{0,20}"),
        prop::collection::vec(jenkins_action(), 0..4),
    )
        .prop_map(
            |(
                number,
                result,
                building,
                (timestamp, duration),
                built_on,
                queue_id,
                description,
                actions,
            )| {
                json!({
                    "_class": "hudson.model.FreeStyleBuild",
                    "number": number,
                    "result": result,
                    "building": building,
                    "timestamp": timestamp,
                    "duration": duration,
                    "builtOn": built_on,
                    "queueId": queue_id,
                    "description": description,
                    "url": "http://ci/job/app/1/",
                    "actions": actions,
                })
            },
        )
}

/// TeamCity's `yyyyMMdd'T'HHmmssZ` for an instant, in a zone of whole minutes.
fn teamcity_time(at: DateTime<Utc>, offset_minutes: i32) -> Option<String> {
    let zone = FixedOffset::east_opt(offset_minutes * 60)?;
    Some(
        at.with_timezone(&zone)
            .format("%Y%m%dT%H%M%S%z")
            .to_string(),
    )
}

fn teamcity_date() -> impl Strategy<Value = Value> {
    prop_oneof![
        (any_time(), -1439i32..=1439).prop_map(|(t, z)| json!(teamcity_time(t, z))),
        "[0-9T+-]{0,24}".prop_map(Value::String),
        Just(Value::Null),
        any::<i64>().prop_map(|n| json!(n.to_string())),
    ]
}

/// A TeamCity build document in the shape `fields=` asks for.
fn teamcity_build() -> impl Strategy<Value = Value> {
    let text = || proptest::option::of(".{0,12}");
    let property = (".{0,8}", proptest::option::of(".{0,8}"), any::<bool>())
        .prop_map(|(name, value, own)| json!({"name": name, "value": value, "own": own}));
    let revision = (".{0,10}", text(), text()).prop_map(|(version, branch, root)| {
        json!({"version": version, "vcsBranchName": branch, "vcs-root-instance": {"vcs-root-id": root}})
    });
    (
        (any::<u64>(), text()),
        (
            proptest::option::of(build_result()),
            proptest::option::of(prop_oneof![
                Just("finished".to_owned()),
                Just("running".to_owned()),
                Just("queued".to_owned()),
                ".{0,8}",
            ]),
        ),
        (text(), text(), text(), text()),
        (teamcity_date(), teamcity_date()),
        prop::collection::vec(property, 0..4),
        prop::collection::vec(revision, 0..3),
    )
        .prop_map(
            |(
                (id, build_type),
                (status, state),
                (status_text, agent, comment, cancel),
                (start, finish),
                properties,
                revisions,
            )| {
                json!({
                    "id": id,
                    "buildTypeId": build_type,
                    "status": status,
                    "state": state,
                    "statusText": status_text,
                    "startDate": start,
                    "finishDate": finish,
                    "agent": {"name": agent},
                    "comment": {"text": comment},
                    "canceledInfo": {"text": cancel},
                    "properties": {"property": properties},
                    "revisions": {"revision": revisions},
                })
            },
        )
}

fn requested() -> BuildRef {
    BuildRef {
        job: "folder/app".into(),
        id: 1,
    }
}

/// What holds of every build read, from either server.
fn well_formed(build: &FinishedBuild) -> Result<(), TestCaseError> {
    if let (Some(start), Some(finish)) = (build.started_at, build.finished_at) {
        prop_assert!(
            finish >= start,
            "finished {finish} before it started {start}"
        );
    }
    if build.running {
        prop_assert_eq!(build.status, None);
    }
    Ok(())
}

/// The bytes a checkpoint key's encoding stands for: `!XX` is one byte, anything else itself.
fn decode(encoded: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = encoded.bytes();
    while let Some(b) = bytes.next() {
        if b == b'!' {
            let hex: Vec<u8> = bytes.by_ref().take(2).collect();
            let hex = std::str::from_utf8(&hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// Keys as builds give them: job, commit and shard, with separators, spaces, non-ASCII,
/// surrounding whitespace, and now and then far too long.
fn raw_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9/_.!#: -]{0,40}",
        "\\s{0,2}.{0,30}\\s{0,2}",
        "[.]{1,3}",
        "k{250,260}",
        ".{0,300}",
    ]
}

fn claim() -> impl Strategy<Value = Claim> {
    (
        "[a-z0-9-]{0,20}",
        "[0-9]{1,3}",
        raw_key(),
        any::<u32>(),
        any_time(),
    )
        .prop_map(|(instance_id, slot, key, attempt, claimed_at)| Claim {
            instance_id,
            slot,
            key,
            attempt,
            claimed_at,
        })
}

fn tests() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(".{0,30}", 0..6)
}

proptest! {
    // No regressions file in the tree: a failure prints its minimal input instead.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn jenkins_builds_keep_their_times_in_order(body in jenkins_build()) {
        let json: JenkinsBuildJson = serde_json::from_value(body.clone()).expect("the shape reads");
        let (timestamp, duration, building) = (json.timestamp, json.duration, json.building);
        let build = json.into_build(requested());
        well_formed(&build)?;
        prop_assert_eq!(build.running, building);
        prop_assert!(build.agent.as_deref() != Some(""), "\"\" is the built-in node");
        prop_assert_eq!(build.build.id, body["number"].as_u64().expect("a number"));
        prop_assert_eq!(build.queue_id, body["queueId"].as_u64());
        // The finish is the start plus the duration (a negative one counts as none),
        // when both are known, the build is over, and the sum is a time chrono holds.
        let expected = match (timestamp, duration) {
            (Some(start), Some(duration)) if !building => start
                .checked_add(duration.max(0))
                .and_then(|end| Utc.timestamp_millis_opt(end).single()),
            _ => None,
        };
        prop_assert_eq!(build.finished_at, expected);
    }

    #[test]
    fn any_jenkins_build_document_reads_or_fails_cleanly(body in json_value()) {
        if let Ok(json) = serde_json::from_value::<JenkinsBuildJson>(body) {
            well_formed(&json.into_build(requested()))?;
        }
    }

    #[test]
    fn queue_item_ids_come_back_from_their_location(
        base in "(https?://[a-z0-9.:]{0,20})?(/[a-z]{1,8}){0,2}",
        id in any::<u64>(),
        tail in prop::sample::select(vec!["", "/", "//", "/api/json"]),
        noise in ".{0,60}",
    ) {
        prop_assert_eq!(queue_item_id(&format!("{base}/queue/item/{id}{tail}")), Some(id));
        if queue_item_id(&noise).is_some() {
            prop_assert!(noise.contains("/queue/item/"));
        }
    }

    #[test]
    fn teamcity_builds_keep_their_times_in_order(body in teamcity_build()) {
        let json: TeamCityBuildJson = serde_json::from_value(body.clone()).expect("the shape reads");
        let build = json.into_build(requested());
        well_formed(&build)?;
        prop_assert_eq!(build.queue_id, body["id"].as_u64());
        let state = body["state"].as_str();
        prop_assert_eq!(build.running, state.is_some_and(|s| s != "finished"));
        let job = body["buildTypeId"].as_str().unwrap_or("folder/app");
        prop_assert_eq!(build.build.job.as_str(), job);
    }

    #[test]
    fn any_teamcity_build_document_reads_or_fails_cleanly(body in json_value()) {
        if let Ok(json) = serde_json::from_value::<TeamCityBuildJson>(body) {
            well_formed(&json.into_build(requested()))?;
        }
    }

    #[test]
    fn teamcity_times_read_back_to_the_second(at in any_time(), zone in -1439i32..=1439, noise in "[0-9T+ -]{0,24}", text in ".{0,30}") {
        let written = teamcity_time(at, zone).expect("a zone of whole minutes");
        let whole_seconds = DateTime::from_timestamp(at.timestamp(), 0).expect("a time");
        // Past chrono's range in the sender's zone there is nothing to read; otherwise the instant.
        if let Some(read) = parse_teamcity_time(&written) {
            prop_assert_eq!(read, whole_seconds, "{}", written);
        } else {
            prop_assert!(written.starts_with('+') || written.starts_with('-'), "{written}");
        }
        for raw in [noise.as_str(), text.as_str()] {
            if let Some(read) = parse_teamcity_time(raw) {
                let again = teamcity_time(read, 0).expect("UTC");
                prop_assert_eq!(parse_teamcity_time(&again), Some(read));
            }
        }
    }

    #[test]
    fn checkpoint_keys_encode_one_to_one_into_one_segment(raw in raw_key()) {
        let trimmed = raw.trim();
        match CheckpointKey::parse(&raw) {
            Err(_) => prop_assert!(trimmed.is_empty() || trimmed.len() > MAX_KEY_BYTES),
            Ok(key) => {
                prop_assert_eq!(key.as_str(), trimmed);
                let encoded = key.encoded();
                prop_assert!(
                    encoded.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!".contains(&b)),
                    "{encoded:?}");
                prop_assert!(!encoded.starts_with('.') && encoded.len() <= 3 * trimmed.len());
                // Decodable, hence one-to-one: two keys never share a segment.
                prop_assert_eq!(decode(encoded), Some(trimmed.as_bytes().to_vec()));
                prop_assert_eq!(CheckpointKey::parse(key.as_str()).ok(), Some(key.clone()));
            }
        }
    }

    #[test]
    fn checkpoint_objects_name_their_attempt_and_only_their_key(
        a in raw_key(),
        b in raw_key(),
        attempt in any::<u32>(),
        seq in any::<u32>(),
        writer in "[a-z0-9-]{1,24}",
        tail in "[a-z0-9/.+-]{0,24}",
    ) {
        let (Ok(a), Ok(b)) = (CheckpointKey::parse(&a), CheckpointKey::parse(&b)) else {
            return Ok(());
        };
        let part = layout::part(&a, attempt, seq, &writer);
        prop_assert_eq!(layout::part_attempt(&a, &part), Some(attempt));
        prop_assert_eq!(layout::attempt_of(&a, &part), Some(attempt));
        for other in [layout::started(&a, attempt), layout::interruption(&a, attempt)] {
            prop_assert_eq!(layout::attempt_of(&a, &other), Some(attempt));
            prop_assert_eq!(layout::part_attempt(&a, &other), None);
        }
        prop_assert_eq!(layout::attempt_of(&a, &layout::passed(&a)), None);
        if a != b {
            for object in [layout::part(&b, attempt, seq, &writer), layout::started(&b, attempt), layout::passed(&b)] {
                prop_assert_eq!(layout::attempt_of(&a, &object), None);
                prop_assert_eq!(layout::part_attempt(&a, &object), None);
            }
        }
        // Whatever else an agent lists under the key: a part is named only in the layout's form.
        let listed = format!("{}{tail}", layout::attempts_prefix(&a));
        if let Some(n) = layout::part_attempt(&a, &listed) {
            prop_assert!(listed.starts_with(&layout::parts_prefix(&a, n)) && listed.ends_with(".json"));
            prop_assert!(!listed[layout::parts_prefix(&a, n).len()..].contains('/'));
            prop_assert_eq!(layout::attempt_of(&a, &listed), Some(n));
        }
    }

    #[test]
    fn checkpoint_documents_read_back(
        claim in claim(),
        tests in tests(),
        at in any_time(),
        reason in ".{0,20}",
        passed in any::<usize>(),
    ) {
        let back: Claim = serde_json::from_str(&serde_json::to_string(&claim).expect("writes")).expect("reads");
        prop_assert_eq!(&back, &claim);
        let part = Part { instance_id: claim.instance_id.clone(), attempt: claim.attempt, written_at: at, tests: tests.clone() };
        let back: Part = serde_json::from_str(&serde_json::to_string(&part).expect("writes")).expect("reads");
        prop_assert_eq!(&back, &part);
        let list = PassList {
            key: claim.key.clone(),
            tests: tests.iter().cloned().collect(),
            parts: tests.iter().map(|t| format!("{t}.json")).collect(),
            updated_at: Some(at),
        };
        let back: PassList = serde_json::from_str(&serde_json::to_string(&list).expect("writes")).expect("reads");
        prop_assert_eq!(&back, &list);
        let record = Interruption { instance_id: claim.instance_id, key: claim.key, attempt: claim.attempt, at, reason, passed };
        let back: Interruption = serde_json::from_str(&serde_json::to_string(&record).expect("writes")).expect("reads");
        prop_assert_eq!(&back, &record);
    }

    #[test]
    fn any_checkpoint_document_reads_or_fails_cleanly(body in json_value(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = body.to_string();
        for raw in [text.as_bytes(), bytes.as_slice()] {
            if let Ok(claim) = serde_json::from_slice::<Claim>(raw) {
                // What the seal does first with a claim read back.
                let _ = CheckpointKey::parse(&claim.key).map(|k| layout::interruption(&k, claim.attempt));
            }
            let _ = serde_json::from_slice::<Part>(raw);
            let _ = serde_json::from_slice::<PassList>(raw);
            let _ = serde_json::from_slice::<Interruption>(raw);
        }
        // A legacy claim (before slots) names slot 0.
        let legacy = json!({"instance_id": "i-1", "key": "k", "attempt": 1, "claimed_at": "2026-11-22T12:00:00Z"});
        let legacy: Claim = serde_json::from_value(legacy).expect("reads");
        prop_assert_eq!(legacy.slot.as_str(), "0");
    }
}

/// Found by `jenkins_builds_keep_their_times_in_order`: a negative `duration` gave a
/// finish before the start.
#[test]
fn a_negative_jenkins_duration_finishes_at_the_start() {
    let json: JenkinsBuildJson = serde_json::from_value(json!({
        "number": 7, "building": false, "result": "FAILURE",
        "timestamp": 1_795_000_000_000i64, "duration": -60_000,
    }))
    .expect("reads");
    let build = json.into_build(requested());
    assert_eq!(build.finished_at, build.started_at);
    assert!(build.finished_at.is_some());
}

/// Found by `teamcity_builds_keep_their_times_in_order`: a `finishDate` before the
/// `startDate` was kept as it came.
#[test]
fn a_teamcity_finish_before_the_start_is_read_as_the_start() {
    let json: TeamCityBuildJson = serde_json::from_value(json!({
        "id": 7, "state": "finished", "status": "FAILURE",
        "startDate": "20261122T120000+0000", "finishDate": "20261122T115900+0000",
    }))
    .expect("reads");
    let build = json.into_build(requested());
    assert_eq!(build.finished_at, build.started_at);
    assert_eq!(
        build.started_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2026-11-22T12:00:00+00:00")
    );
}
