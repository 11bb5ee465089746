//! The build notifications advise-retry accepts. Only the build's identity (and the
//! sender's view of its status) is taken from them; everything the decision rests on is
//! read back from the CI server.
//!
//! - Jenkins Notification plugin (format JSON): `{"name","url","build":{"full_url",
//!   "number","queue_id","phase","status","url","scm",…,"parameters"}}`; acted on in
//!   phases `COMPLETED` and `FINALIZED` (the second of a pair is a duplicate).
//! - TeamCity webhooks (2023.05+, `teamcity.internal.webhooks.*`): `{"eventType":
//!   "BUILD_FINISHED"|"BUILD_INTERRUPTED", "payload": <REST build: id, buildTypeId,
//!   status, state, …>}`.
//! - tcWebHooks plugin, JSON payload: `{"build": {"buildId","buildTypeId","buildResult",
//!   "notifyType":"buildFinished"|"buildInterrupted",…}}` (or the same fields unwrapped).

use percent_encoding::percent_decode_str;
use rules::retry::BuildStatus;
use serde::Deserialize;
use serde_json::Value;
use shared::ci::CiKind;
use shared::ports::builds::BuildRef;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: CiKind,
    pub build: BuildRef,
    /// The sender's event name: a Jenkins phase, a TeamCity event type or notify type.
    pub event: String,
    /// The event says the build is over.
    pub finished: bool,
    /// The status the sender reported (used only while the server still says running).
    pub status: Option<BuildStatus>,
    /// Where a person sees the build.
    pub url: Option<String>,
}

pub fn parse(body: &[u8]) -> Result<Notice, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let build = value.get("build");
    if build.and_then(|b| b.get("phase")).is_some() {
        return jenkins(value);
    }
    if value.get("eventType").is_some() && value.get("payload").is_some() {
        return teamcity(value);
    }
    let flat = build
        .filter(|b| b.get("buildId").is_some())
        .or_else(|| value.get("buildId").is_some().then_some(&value));
    if let Some(flat) = flat {
        return tc_webhooks(flat.clone());
    }
    Err("neither a Jenkins Notification plugin payload (build.phase) nor a TeamCity webhook (eventType + payload, or tcWebHooks buildId)".into())
}

#[derive(Deserialize)]
struct JenkinsJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    url: Option<String>,
    build: JenkinsBuildJson,
}

#[derive(Deserialize)]
struct JenkinsBuildJson {
    number: u64,
    phase: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    full_url: Option<String>,
}

fn jenkins(value: Value) -> Result<Notice, String> {
    let json: JenkinsJson =
        serde_json::from_value(value).map_err(|e| format!("Jenkins notification: {e}"))?;
    let job = json
        .url
        .as_deref()
        .and_then(job_from_url)
        .or_else(|| {
            // `…/job/folder/job/app/41/` without the top-level url.
            let full = json.build.full_url.as_deref()?;
            job_from_url(&full[full.find("/job/")? + 1..])
        })
        .or(json.name)
        .filter(|j| !j.is_empty())
        .ok_or("Jenkins notification: no job name (name or url)")?;
    let phase = json.build.phase.to_ascii_uppercase();
    Ok(Notice {
        kind: CiKind::Jenkins,
        build: BuildRef {
            job,
            id: json.build.number,
        },
        finished: matches!(phase.as_str(), "COMPLETED" | "FINALIZED"),
        event: phase,
        status: json.build.status.as_deref().and_then(BuildStatus::parse),
        url: json.build.full_url,
    })
}

/// `job/folder/job/my%20app/` (or with a build number after it) → `folder/my app`.
fn job_from_url(url: &str) -> Option<String> {
    let segments: Vec<&str> = url.split('/').filter(|s| !s.is_empty()).collect();
    let mut names = Vec::new();
    let mut i = 0;
    while i + 1 < segments.len() && segments[i] == "job" {
        names.push(
            percent_decode_str(segments[i + 1])
                .decode_utf8_lossy()
                .into_owned(),
        );
        i += 2;
    }
    (!names.is_empty()).then(|| names.join("/"))
}

#[derive(Deserialize)]
struct TeamCityJson {
    #[serde(rename = "eventType")]
    event_type: String,
    payload: TeamCityBuildJson,
}

#[derive(Deserialize)]
struct TeamCityBuildJson {
    id: u64,
    #[serde(rename = "buildTypeId")]
    build_type_id: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(rename = "webUrl", default)]
    web_url: Option<String>,
}

fn teamcity(value: Value) -> Result<Notice, String> {
    let json: TeamCityJson =
        serde_json::from_value(value).map_err(|e| format!("TeamCity webhook: {e}"))?;
    let event = json.event_type.to_ascii_uppercase();
    let finished = matches!(event.as_str(), "BUILD_FINISHED" | "BUILD_INTERRUPTED")
        || json.payload.state.as_deref() == Some("finished");
    Ok(Notice {
        kind: CiKind::TeamCity,
        build: BuildRef {
            job: json.payload.build_type_id,
            id: json.payload.id,
        },
        event,
        finished,
        status: json.payload.status.as_deref().and_then(BuildStatus::parse),
        url: json.payload.web_url,
    })
}

#[derive(Deserialize)]
struct TcWebHooksJson {
    #[serde(rename = "buildId")]
    build_id: Value,
    #[serde(rename = "buildTypeId")]
    build_type_id: String,
    #[serde(rename = "notifyType", default)]
    notify_type: Option<String>,
    #[serde(rename = "buildResult", default)]
    build_result: Option<String>,
    #[serde(rename = "buildStatusUrl", default)]
    build_status_url: Option<String>,
}

fn tc_webhooks(value: Value) -> Result<Notice, String> {
    let json: TcWebHooksJson =
        serde_json::from_value(value).map_err(|e| format!("tcWebHooks payload: {e}"))?;
    // tcWebHooks sends ids as strings.
    let id = match &json.build_id {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or("tcWebHooks payload: buildId is not a build id")?;
    let event = json.notify_type.unwrap_or_default();
    Ok(Notice {
        kind: CiKind::TeamCity,
        build: BuildRef {
            job: json.build_type_id,
            id,
        },
        finished: matches!(event.as_str(), "buildFinished" | "buildInterrupted"),
        event,
        status: json.build_result.as_deref().and_then(BuildStatus::parse),
        url: json.build_status_url,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{}/events/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
    }

    #[test]
    fn reads_each_sender() {
        let jenkins = parse(&fixture("jenkins-notification.json")).expect("parses");
        assert_eq!(
            jenkins,
            Notice {
                kind: CiKind::Jenkins,
                build: BuildRef {
                    job: "platform/app".into(),
                    id: 41
                },
                event: "FINALIZED".into(),
                finished: true,
                status: Some(BuildStatus::Failure),
                url: Some("https://jenkins.example.com/job/platform/job/app/41/".into()),
            }
        );
        let native = parse(&fixture("teamcity-webhook.json")).expect("parses");
        assert_eq!(
            (native.kind, &native.build, native.finished, native.status),
            (
                CiKind::TeamCity,
                &BuildRef {
                    job: "Platform_App_Test".into(),
                    id: 5001
                },
                true,
                Some(BuildStatus::Failure)
            )
        );
        let plugin = parse(&fixture("tcwebhooks-payload.json")).expect("parses");
        assert_eq!(
            (&plugin.build, plugin.event.as_str(), plugin.finished),
            (
                &BuildRef {
                    job: "Platform_App_Test".into(),
                    id: 5001
                },
                "buildFinished",
                true
            )
        );
    }

    #[test]
    fn phases_names_and_garbage() {
        let started =
            parse(br#"{"name":"app","url":"job/app/","build":{"number":3,"phase":"STARTED"}}"#)
                .expect("parses");
        assert!(!started.finished);
        let named = parse(
            br#"{"name":"my app","build":{"number":3,"phase":"COMPLETED","status":"ABORTED"}}"#,
        )
        .expect("parses");
        assert_eq!(
            (named.build.job.as_str(), named.finished, named.status),
            ("my app", true, Some(BuildStatus::Aborted))
        );
        let from_full_url = parse(br#"{"build":{"number":3,"phase":"FINALIZED","full_url":"http://ci/jenkins/job/a/job/b%20c/3/"}}"#)
            .expect("parses");
        assert_eq!(from_full_url.build.job, "a/b c");
        let flat = parse(br#"{"buildId":"17","buildTypeId":"X","notifyType":"buildStarted"}"#)
            .expect("parses");
        assert_eq!((flat.build.id, flat.finished), (17, false));
        for (body, error) in [
            (&b"not json"[..], "the body is not JSON"),
            (br#"{"hello":"world"}"#, "neither a Jenkins"),
            (
                br#"{"build":{"phase":"FINALIZED"}}"#,
                "missing field `number`",
            ),
            (
                br#"{"build":{"number":1,"phase":"FINALIZED"}}"#,
                "no job name",
            ),
            (
                br#"{"eventType":"BUILD_FINISHED","payload":{"id":"x"}}"#,
                "TeamCity webhook",
            ),
            (
                br#"{"buildId":"seven","buildTypeId":"X"}"#,
                "not a build id",
            ),
        ] {
            let got = parse(body).expect_err(error);
            assert!(got.contains(error), "{got}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_body_is_a_notice_or_an_error(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256), job in "[ -~]{0,20}", number in proptest::prelude::any::<u64>()) {
            let _ = parse(&body);
            let shaped = serde_json::json!({"url": format!("job/{job}/"), "build": {"number": number, "phase": job}}).to_string();
            let _ = parse(shaped.as_bytes());
        }
    }

    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    use proptest::prelude::*;
    use serde_json::json;

    /// A value where a sender puts an id: a number, a string (tcWebHooks), or garbage.
    fn id_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<u64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(format!(" {n}\n"))),
            any::<i64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            "[0-9a-z+ -]{0,22}".prop_map(Value::String),
            Just(Value::Null),
            Just(json!({"id": 1})),
        ]
    }

    fn text() -> impl Strategy<Value = Value> {
        prop_oneof![
            ".{0,16}".prop_map(Value::String),
            Just(Value::Null),
            any::<i64>().prop_map(|n| json!(n)),
        ]
    }

    fn one_of(words: &[&'static str]) -> impl Strategy<Value = Value> {
        prop_oneof![
            prop::sample::select(words.to_vec()).prop_map(|w| json!(w)),
            text(),
        ]
    }

    /// What the id reads as, if anything: the parser's rule for each sender.
    fn id_of(value: &Value, strings_too: bool) -> Option<u64> {
        match value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) if strings_too => s.trim().parse().ok(),
            _ => None,
        }
    }

    proptest! {
        // No regressions file in the tree: a failure prints its minimal input instead.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn job_urls_give_back_the_job_names(
            names in prop::collection::vec(".{1,12}", 1..4),
            number in proptest::option::of(any::<u64>()),
            lead in prop::sample::select(vec!["", "/", "//"]),
            root in "[a-z]{0,8}",
            noise in ".{0,60}",
        ) {
            let path: String = names
                .iter()
                .map(|n| format!("job/{}/", utf8_percent_encode(n, NON_ALPHANUMERIC)))
                .collect();
            let build = number.map(|n| format!("{n}/")).unwrap_or_default();
            let url = format!("{lead}{path}{build}");
            prop_assert_eq!(job_from_url(&url), Some(names.join("/")));
            // Without the top-level url, the job comes from the build's full URL.
            let body = json!({"build": {"number": 3, "phase": "FINALIZED", "full_url": format!("http://ci/r{root}/{path}3/")}});
            let notice = parse(body.to_string().as_bytes()).expect("a Jenkins notification");
            prop_assert_eq!(notice.build.job, names.join("/"));
            if let Some(job) = job_from_url(&noise) {
                prop_assert!(!job.is_empty() && noise.contains("job/"));
            }
        }

        #[test]
        fn teamcity_webhooks_name_their_build_or_are_refused(
            event in one_of(&["BUILD_FINISHED", "BUILD_INTERRUPTED", "BUILD_STARTED", "build_finished", "CHANGES_LOADED"]),
            id in id_value(),
            build_type in text(),
            status in one_of(&["SUCCESS", "FAILURE", "UNKNOWN", "failure"]),
            state in one_of(&["finished", "running", "queued"]),
            drop in proptest::option::of(prop::sample::select(vec!["id", "buildTypeId", "status", "state", "webUrl"])),
        ) {
            let mut payload = json!({"id": id, "buildTypeId": build_type, "status": status, "state": state, "webUrl": "https://tc/b"});
            if let (Some(field), Some(object)) = (drop, payload.as_object_mut()) {
                object.remove(field);
            }
            let body = json!({"eventType": event, "payload": payload});
            let readable = event.is_string()
                && build_type.is_string()
                && drop != Some("id")
                && drop != Some("buildTypeId")
                && (drop == Some("status") || !status.is_number())
                && (drop == Some("state") || !state.is_number())
                && id_of(&id, false).is_some();
            match parse(body.to_string().as_bytes()) {
                Ok(notice) => {
                    prop_assert!(readable, "{notice:?}");
                    prop_assert_eq!(notice.kind, CiKind::TeamCity);
                    prop_assert_eq!(Some(notice.build.id), id_of(&id, false));
                    prop_assert_eq!(Some(notice.build.job.as_str()), build_type.as_str());
                    let event = event.as_str().unwrap_or_default().to_ascii_uppercase();
                    let finished = matches!(event.as_str(), "BUILD_FINISHED" | "BUILD_INTERRUPTED")
                        || (drop != Some("state") && state.as_str() == Some("finished"));
                    prop_assert_eq!(notice.finished, finished);
                }
                Err(e) => prop_assert!(!readable && e.starts_with("TeamCity webhook"), "{e}"),
            }
        }

        #[test]
        fn tcwebhooks_payloads_name_their_build_or_are_refused(
            id in id_value(),
            build_type in text(),
            notify in one_of(&["buildFinished", "buildInterrupted", "buildStarted", "BUILDFINISHED"]),
            result in one_of(&["success", "failure", "FAILURE"]),
            wrapped in any::<bool>(),
        ) {
            let build = json!({"buildId": id, "buildTypeId": build_type, "notifyType": notify, "buildResult": result});
            let body = if wrapped { json!({"build": build}) } else { build };
            let readable = build_type.is_string()
                && !(notify.is_number() || result.is_number())
                && id_of(&id, true).is_some();
            match parse(body.to_string().as_bytes()) {
                Ok(notice) => {
                    prop_assert!(readable, "{notice:?}");
                    prop_assert_eq!(Some(notice.build.id), id_of(&id, true));
                    prop_assert_eq!(Some(notice.build.job.as_str()), build_type.as_str());
                    let finished = matches!(notify.as_str(), Some("buildFinished" | "buildInterrupted"));
                    prop_assert_eq!(notice.finished, finished);
                }
                Err(e) => prop_assert!(!readable && e.starts_with("tcWebHooks payload"), "{e}"),
            }
        }
    }
}
