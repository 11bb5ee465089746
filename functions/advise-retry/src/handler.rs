//! One webhook: authenticate it, read the build back from the CI server, classify the
//! failure from its status, a bounded log tail and the facts (an interruption record in
//! the checkpoint store, the agent's presence), apply the policy to the logical build's
//! history, and re-queue it or record why not.
//!
//! Status codes: 200 for every decision (retried, denied, ignored, duplicate); 400 for a
//! body that is no notification; 401 for unsigned, badly signed or replayed requests;
//! 404 for a build the CI server does not know; 405 for anything but POST; 413 for a body
//! over `RETRY_MAX_BODY_BYTES`; 502 when the CI server or S3 could not be read (nothing
//! was queued, so the sender may redeliver). Once a retry is queued the answer is 200
//! even if recording it failed (a redelivery must not queue it twice).

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rules::retry::{
    BuildStatus, Classification, Decision, FailureFacts, Verdict, classify, decide, instance_id_in,
};
use rules::{Datum, Unit};
use serde::Serialize;
use serde_json::Value;
use shared::checkpoint::{CheckpointKey, Interruption, layout, read_claims};
use shared::ci::CiKind;
use shared::ci::Problem;
use shared::config::Secret;
use shared::dry_run::WouldDo;
use shared::ports::builds::{
    AgentPresence, BuildControl, FinishedBuild, Queued, Requeue, is_not_found,
};
use shared::ports::metrics::MetricsSink;
use shared::ports::store::ObjectStore;
use shared::{Error, Result};

use crate::config::RetryConfig;
use crate::payload::{self, Notice};
use crate::record::{self, Entry, RetryRecord};
use crate::request::{FunctionUrlRequest, FunctionUrlResponse};
use crate::signature::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify};

/// An interruption record this close to the build's start or end matches it.
const INTERRUPTION_SLACK_MINUTES: i64 = 15;
/// Descriptions are for people; keep them short.
const MAX_DESCRIPTION_CHARS: usize = 4000;

pub struct Handler {
    pub config: RetryConfig,
    /// The webhook's HMAC key.
    pub key: Secret,
    pub builds: Arc<dyn BuildControl>,
    pub store: Arc<dyn ObjectStore>,
    pub metrics: Arc<dyn MetricsSink>,
    /// Set in a dry run: the wrapped ports record their writes here.
    pub would_do: Option<WouldDo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildSummary {
    pub kind: String,
    pub job: String,
    pub id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The JSON body of every answer.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// `retried`, `denied`, `ignored`, `duplicate`, `rejected`, `unknown-build` or `error`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build: Option<BuildSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logical_build: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// The parameters the retry was queued with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued: Option<Queued>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn answer(status: u16, outcome: &'static str, reason: impl Into<String>) -> (u16, Report) {
    (
        status,
        Report {
            outcome,
            reason: Some(reason.into()),
            ..Report::default()
        },
    )
}

#[async_trait::async_trait]
impl shared::runner::Function for Handler {
    async fn handle(&self, event: Value) -> Result<Value> {
        Handler::handle(self, event).await
    }
}

impl Handler {
    /// The Lambda entry: a Function URL request in, a Function URL response out. Only an
    /// event that is no Function URL request at all is an error.
    pub async fn handle(&self, event: Value) -> Result<Value> {
        let request: FunctionUrlRequest = serde_json::from_value(event).map_err(|e| {
            Error::Event(format!(
                "not a Lambda Function URL request (payload format 2.0): {e}"
            ))
        })?;
        let response = self.respond(&request, Utc::now()).await;
        serde_json::to_value(response).map_err(|e| Error::Failed(e.to_string()))
    }

    pub async fn respond(
        &self,
        request: &FunctionUrlRequest,
        now: DateTime<Utc>,
    ) -> FunctionUrlResponse {
        let (status, mut report) = self.answer(request, now).await;
        if let Some(would_do) = &self.would_do {
            report.dry_run = true;
            report.would_do = would_do.actions();
        }
        tracing::info!(
            status,
            outcome = report.outcome,
            build = ?report.build.as_ref().map(|b| format!("{} #{}", b.job, b.id)),
            class = ?report.classification.as_ref().map(|c| c.class),
            reason = ?report.reason,
            request_id = ?request.request_context.request_id,
            source_ip = ?request.request_context.http.source_ip,
            "webhook answered"
        );
        let body = serde_json::to_value(&report).unwrap_or(Value::Null);
        let mut response = FunctionUrlResponse::json(status, &body);
        if status == 405 {
            response.headers.insert("allow".into(), "POST".into());
        }
        response
    }

    async fn answer(&self, request: &FunctionUrlRequest, now: DateTime<Utc>) -> (u16, Report) {
        if !request
            .request_context
            .http
            .method
            .eq_ignore_ascii_case("POST")
        {
            return answer(405, "rejected", "advise-retry takes POST requests only");
        }
        let limit = self.config.max_body_bytes;
        let too_large = || {
            answer(
                413,
                "rejected",
                format!("the body is larger than {limit} bytes (RETRY_MAX_BODY_BYTES)"),
            )
        };
        if request.sent_len() > limit {
            return too_large();
        }
        let body = match request.body_bytes() {
            Ok(body) if body.len() > limit => return too_large(),
            Ok(body) => body,
            Err(e) => return answer(400, "rejected", e),
        };
        if let Err(rejection) = verify(
            self.key.expose().as_bytes(),
            request.header(TIMESTAMP_HEADER),
            request.header(SIGNATURE_HEADER),
            &body,
            now.timestamp(),
            self.config.window.as_secs(),
        ) {
            return answer(401, "rejected", rejection.to_string());
        }
        let notice = match payload::parse(&body) {
            Ok(notice) => notice,
            Err(e) => return answer(400, "rejected", e),
        };
        let mut report = Report {
            build: Some(BuildSummary {
                kind: notice.kind.to_string(),
                job: notice.build.job.clone(),
                id: notice.build.id,
                url: notice.url.clone(),
            }),
            ..Report::default()
        };
        if notice.kind != self.config.ci.kind {
            report.outcome = "rejected";
            report.reason = Some(format!(
                "this advise-retry serves {} (CI_KIND); the payload is from {}",
                self.config.ci.kind, notice.kind
            ));
            return (400, report);
        }
        if !notice.finished {
            report.outcome = "ignored";
            report.reason = Some(format!("{} is not a finished-build event", notice.event));
            return (200, report);
        }
        if notice.status == Some(BuildStatus::Success) {
            report.outcome = "ignored";
            report.reason = Some("the build succeeded".into());
            return (200, report);
        }
        let status = self.advise(&notice, now, &mut report).await;
        (status, report)
    }

    async fn advise(&self, notice: &Notice, now: DateTime<Utc>, report: &mut Report) -> u16 {
        let kind = self.config.ci.kind;
        let policy = &self.config.policy;
        let build = match self.builds.finished_build(&notice.build).await {
            Ok(build) => build,
            Err(e) if is_not_found(&e) => {
                return fail(
                    report,
                    404,
                    "unknown-build",
                    format!("the CI server does not know build {}", notice.build),
                );
            }
            Err(e) => return fail(report, 502, "error", e.to_string()),
        };
        // A notification sent from the build's own last step arrives while it runs.
        let status = build
            .status
            .or(if build.running { notice.status } else { None });
        let Some(status) = status else {
            return fail(
                report,
                200,
                "ignored",
                "the build is still running and the notification carries no final status".into(),
            );
        };
        if matches!(status, BuildStatus::Success | BuildStatus::NotBuilt) {
            return fail(
                report,
                200,
                "ignored",
                format!("the build's result is {status:?}"),
            );
        }
        let this = format!("{} #{}", build.build.job, build.build.id);
        let key = match self.logical_build(kind, &build).await {
            Ok(key) => key,
            Err(e) => return fail(report, 502, "error", e.to_string()),
        };
        report.logical_build = Some(key.clone());
        let mut record = match record::load(self.store.as_ref(), &key).await {
            Ok(record) => record,
            Err(e) => return fail(report, 502, "error", e.to_string()),
        };
        if let Some(earlier) = record.entry_for(&this) {
            return fail(
                report,
                200,
                "duplicate",
                format!(
                    "already handled at {}: {} ({}): {}",
                    earlier.at.to_rfc3339(),
                    earlier.outcome,
                    earlier.class,
                    earlier.detail
                ),
            );
        }

        let log = match self
            .builds
            .log_tail(&build.build, self.config.log_tail_bytes)
            .await
        {
            Ok(tail) => tail.text,
            Err(e) if is_not_found(&e) || matches!(e.problem, Problem::TooLarge { .. }) => {
                report
                    .warnings
                    .push(format!("classified without the log: {e}"));
                String::new()
            }
            Err(e) => return fail(report, 502, "error", e.to_string()),
        };
        let interruption = match self.interruption(&build).await {
            Ok(found) => found,
            Err(e) => return fail(report, 502, "error", format!("checkpoint store: {e}")),
        };
        let agent_disconnected = match &build.agent {
            None => false,
            Some(agent) => match self.builds.agent_presence(agent).await {
                Ok(presence) => {
                    matches!(presence, AgentPresence::Disconnected | AgentPresence::Gone)
                }
                Err(e) => {
                    report
                        .warnings
                        .push(format!("agent {agent} presence unknown: {e}"));
                    false
                }
            },
        };
        let verdict = classify(&FailureFacts {
            status,
            log_tail: &log,
            status_text: &build.status_text,
            interruption: interruption.as_deref(),
            agent_disconnected,
            exit_code: None,
        });
        let classification = match verdict {
            Verdict::NotAFailure(reason) => return fail(report, 200, "ignored", reason.into()),
            Verdict::Failed(classification) => classification,
        };
        let class = classification.class;
        report.classification = Some(classification.clone());
        let decision = decide(policy, class, &build.parameters, &record.history);
        report.decision = Some(decision.clone());
        let (entry, note, metric) = match decision {
            Decision::Retry {
                overrides,
                explanation,
                attempt,
                max_retries,
            } => {
                let mut parameters = build.custom_parameters.clone();
                parameters.extend(overrides);
                // A Jenkins job without parameters refuses them; TeamCity takes any.
                if !parameters.is_empty() || kind == CiKind::TeamCity {
                    parameters.insert(policy.reason_parameter.clone(), class.to_string());
                    parameters.insert(policy.retry_of_parameter.clone(), key.clone());
                }
                let teamcity = kind == CiKind::TeamCity;
                let requeue = Requeue {
                    build: build.build.clone(),
                    parameters: parameters.clone(),
                    branch: build.branch.clone().filter(|_| teamcity),
                    revisions: if teamcity {
                        build.revisions.clone()
                    } else {
                        Vec::new()
                    },
                    comment: format!(
                        "ci-fleet retry {attempt}/{max_retries} of #{} ({class}): {explanation}",
                        build.build.id
                    ),
                };
                let queued = match self.builds.requeue(&requeue).await {
                    Ok(queued) => queued,
                    Err(e) => return fail(report, 502, "error", format!("re-queue failed: {e}")),
                };
                report.outcome = "retried";
                report.parameters = Some(parameters);
                if let Some(id) = queued.id
                    && let Err(e) = record::save_alias(self.store.as_ref(), kind, id, &key).await
                {
                    report.warnings.push(format!("retry alias not saved: {e}"));
                }
                let queued_id = queued.id;
                report.queued = Some(queued);
                let note = format!(
                    "ci-fleet: {class} → retried ({attempt}/{max_retries}): {explanation}{}. Evidence: {}",
                    queued_id
                        .map(|id| format!("; queued as {id}"))
                        .unwrap_or_default(),
                    classification.evidence
                );
                let entry = Entry {
                    build: this,
                    at: now,
                    class,
                    outcome: "retried".into(),
                    detail: explanation,
                    queued: queued_id,
                };
                (entry, note, "RetriesRequested")
            }
            Decision::Deny { reason } => {
                report.outcome = "denied";
                report.reason = Some(reason.clone());
                let note = format!(
                    "ci-fleet: {class} → not retried: {reason}. Evidence: {}",
                    classification.evidence
                );
                let entry = Entry {
                    build: this,
                    at: now,
                    class,
                    outcome: "denied".into(),
                    detail: reason,
                    queued: None,
                };
                (entry, note, "RetriesDenied")
            }
        };
        self.finish(&mut record, entry, &build, &note, metric, now, report)
            .await;
        200
    }

    /// After the decision: keep it, tell the build, count it. Failures here are warnings.
    #[allow(clippy::too_many_arguments)]
    async fn finish(
        &self,
        record: &mut RetryRecord,
        entry: Entry,
        build: &FinishedBuild,
        note: &str,
        metric: &'static str,
        now: DateTime<Utc>,
        report: &mut Report,
    ) {
        let class = entry.class;
        record.push(entry);
        if let Err(e) = record::save(self.store.as_ref(), record).await {
            tracing::error!(error = %e, key = %record.key, "retry record not saved");
            report.warnings.push(format!("retry record not saved: {e}"));
        }
        let description = describe(build.description.as_deref(), note);
        if let Err(e) = self.builds.annotate(&build.build, &description).await {
            report
                .warnings
                .push(format!("build description not set: {e}"));
        }
        let datum =
            Datum::new(metric, 1.0, Unit::Count, now).with_dimension("Reason", class.as_str());
        if let Err(e) = self.metrics.publish(&self.config.namespace, &[datum]).await {
            report.warnings.push(format!("metric not published: {e}"));
        }
    }

    /// The retry chain the build belongs to: the parameter a retry carries, else the alias
    /// its queue id left, else the build itself starts one.
    async fn logical_build(&self, kind: CiKind, build: &FinishedBuild) -> Result<String> {
        if let Some(key) = build
            .parameters
            .get(&self.config.policy.retry_of_parameter)
            .map(|k| k.trim())
            .filter(|k| !k.is_empty() && k.len() <= 512)
        {
            return Ok(key.to_owned());
        }
        if let Some(queue_id) = build.queue_id
            && let Some(key) = record::load_alias(self.store.as_ref(), kind, queue_id).await?
        {
            return Ok(key);
        }
        Ok(format!("{kind}:{}#{}", build.build.job, build.build.id))
    }

    /// The interruption record handle-interruption sealed for the build's instance, when
    /// its time fits the build: any executor's claim of the instance will do, since the
    /// instance was interrupted under all of them. The agent name must contain the
    /// instance id.
    async fn interruption(&self, build: &FinishedBuild) -> Result<Option<String>> {
        let Some(instance) = build.agent.as_deref().and_then(instance_id_in) else {
            return Ok(None);
        };
        let store = self.store.as_ref();
        let slack = chrono::Duration::minutes(INTERRUPTION_SLACK_MINUTES);
        for claim in read_claims(store, instance).await? {
            let key = CheckpointKey::parse(&claim.key)?;
            let object = layout::interruption(&key, claim.attempt);
            let Some(body) = store.get(&object).await? else {
                continue;
            };
            let record: Interruption = match serde_json::from_slice(&body) {
                Ok(record) => record,
                Err(e) => {
                    tracing::warn!(object = %object, error = %e, "corrupt interruption record ignored");
                    continue;
                }
            };
            let fits = record.instance_id == instance
                && build.started_at.is_none_or(|s| record.at >= s - slack)
                && build.finished_at.is_none_or(|f| record.at <= f + slack);
            if fits {
                return Ok(Some(format!(
                    "interruption record: {instance} interrupted at {} (checkpoint {:?} attempt {}, {} tests kept)",
                    record.at.to_rfc3339(),
                    record.key,
                    record.attempt,
                    record.passed
                )));
            }
        }
        Ok(None)
    }
}

fn fail(report: &mut Report, status: u16, outcome: &'static str, reason: String) -> u16 {
    report.outcome = outcome;
    report.reason = Some(reason);
    status
}

/// The build's description with ci-fleet's line replaced (other lines kept).
pub fn describe(existing: Option<&str>, note: &str) -> String {
    let mut lines: Vec<&str> = existing
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("ci-fleet:"))
        .collect();
    lines.push(note);
    let text = lines.join("\n");
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        text
    } else {
        text.chars().take(MAX_DESCRIPTION_CHARS).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use async_trait::async_trait;
    use chrono::TimeZone;
    use rules::retry::RetryPolicy;
    use shared::aws::metrics::RecordingMetrics;
    use shared::checkpoint::Claim;
    use shared::ci::CiError;
    use shared::config::{CiConfig, CredentialSource};
    use shared::dry_run::{DryRunBuilds, DryRunStore};
    use shared::ports::builds::{BuildRef, LogTail};
    use shared::testing::MemoryStore;

    use super::*;
    use crate::config::KeySource;
    use crate::signature::sign;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0)
            .single()
            .expect("valid")
    }

    #[derive(Default)]
    struct FakeBuilds {
        builds: Vec<FinishedBuild>,
        logs: BTreeMap<u64, String>,
        presence: BTreeMap<String, AgentPresence>,
        down: bool,
        requeued: Mutex<Vec<Requeue>>,
        annotated: Mutex<Vec<(BuildRef, String)>>,
    }

    fn ci_error(problem: Problem) -> CiError {
        CiError {
            kind: CiKind::Jenkins,
            method: "GET",
            url: "http://ci".into(),
            problem,
        }
    }

    #[async_trait]
    impl BuildControl for FakeBuilds {
        async fn finished_build(&self, build: &BuildRef) -> Result<FinishedBuild, CiError> {
            if self.down {
                return Err(ci_error(Problem::ServerError {
                    status: 503,
                    snippet: "down".into(),
                }));
            }
            self.builds
                .iter()
                .find(|b| b.build == *build)
                .cloned()
                .ok_or_else(|| ci_error(Problem::NotFound(build.to_string())))
        }
        async fn log_tail(&self, build: &BuildRef, max: usize) -> Result<LogTail, CiError> {
            let text = self.logs.get(&build.id).cloned().unwrap_or_default();
            assert!(text.len() <= max, "the fake log fits the tail");
            Ok(LogTail {
                text,
                truncated: false,
            })
        }
        async fn agent_presence(&self, agent: &str) -> Result<AgentPresence, CiError> {
            Ok(self
                .presence
                .get(agent)
                .copied()
                .unwrap_or(AgentPresence::Connected))
        }
        async fn requeue(&self, request: &Requeue) -> Result<Queued, CiError> {
            let mut requeued = self.requeued.lock().expect("lock");
            requeued.push(request.clone());
            Ok(Queued {
                id: Some(900 + requeued.len() as u64),
                url: None,
            })
        }
        async fn annotate(&self, build: &BuildRef, text: &str) -> Result<(), CiError> {
            self.annotated
                .lock()
                .expect("lock")
                .push((build.clone(), text.to_owned()));
            Ok(())
        }
    }

    fn build(id: u64, parameters: &[(&str, &str)]) -> FinishedBuild {
        let parameters: BTreeMap<String, String> = parameters
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        FinishedBuild {
            build: BuildRef {
                job: "platform/app".into(),
                id,
            },
            status: Some(BuildStatus::Failure),
            running: false,
            status_text: String::new(),
            agent: Some("i-0a1b2c3d4e5f67890".into()),
            started_at: Some(now() - chrono::Duration::minutes(20)),
            finished_at: Some(now() - chrono::Duration::minutes(1)),
            queue_id: Some(id + 1000),
            custom_parameters: parameters.clone(),
            parameters,
            branch: Some("main".into()),
            revisions: vec![],
            description: Some("nightly".into()),
            url: None,
        }
    }

    struct Setup {
        handler: Handler,
        builds: Arc<FakeBuilds>,
        store: Arc<MemoryStore>,
        metrics: Arc<RecordingMetrics>,
    }

    fn setup(builds: FakeBuilds, dry_run: bool) -> Setup {
        let policy = RetryPolicy::parse(
            r#"{"memory_ladder":{"parameter":"AGENT_LABEL","steps":["linux-8g","linux-16g","linux-32g"]}}"#,
        )
        .expect("policy");
        let config = RetryConfig {
            ci: CiConfig {
                kind: CiKind::Jenkins,
                url: "http://ci".into(),
                credentials: CredentialSource::Anonymous,
                timeout: Duration::from_secs(5),
                max_response_bytes: 1 << 20,
                page_size: 100,
            },
            namespace: "CIFleetTest".into(),
            bucket: "b".into(),
            policy,
            key: KeySource::Inline(Secret::new(KEY)),
            window: Duration::from_secs(300),
            max_body_bytes: 256 * 1024,
            log_tail_bytes: 64 * 1024,
        };
        let builds = Arc::new(builds);
        let store = Arc::new(MemoryStore::default());
        let metrics = Arc::new(RecordingMetrics::default());
        let would_do = dry_run.then(WouldDo::default);
        let (ci, objects): (Arc<dyn BuildControl>, Arc<dyn ObjectStore>) = match &would_do {
            Some(w) => (
                Arc::new(DryRunBuilds {
                    inner: builds.clone(),
                    would_do: w.clone(),
                }),
                Arc::new(DryRunStore {
                    inner: store.clone(),
                    would_do: w.clone(),
                }),
            ),
            None => (builds.clone(), store.clone()),
        };
        Setup {
            handler: Handler {
                config,
                key: Secret::new(KEY),
                builds: ci,
                store: objects,
                metrics: metrics.clone(),
                would_do,
            },
            builds,
            store,
            metrics,
        }
    }

    fn notification(number: u64, phase: &str) -> String {
        serde_json::json!({
            "name": "app", "url": "job/platform/job/app/",
            "build": {"number": number, "phase": phase, "status": "FAILURE",
                      "full_url": format!("https://ci/job/platform/job/app/{number}/")}
        })
        .to_string()
    }

    fn request(body: &str, signed_at: i64, method: &str) -> FunctionUrlRequest {
        let mut event: FunctionUrlRequest =
            serde_json::from_str(include_str!("../events/function-url-jenkins.json"))
                .expect("fixture");
        event.body = Some(body.to_owned());
        event.request_context.http.method = method.into();
        event
            .headers
            .insert(TIMESTAMP_HEADER.into(), signed_at.to_string());
        event.headers.insert(
            SIGNATURE_HEADER.into(),
            sign(KEY.as_bytes(), signed_at, body.as_bytes()),
        );
        event
    }

    async fn post(s: &Setup, body: &str) -> (u16, Value) {
        let response = s
            .handler
            .respond(&request(body, now().timestamp(), "POST"), now())
            .await;
        let body = serde_json::from_str(&response.body).expect("JSON answer");
        (response.status_code, body)
    }

    fn metric_reasons(s: &Setup) -> Vec<(String, String)> {
        s.metrics
            .recorded()
            .into_iter()
            .map(|d| (d.name.to_owned(), d.dimensions[0].1.clone()))
            .collect()
    }

    #[tokio::test]
    async fn oom_climbs_the_ladder_within_one_logical_build_until_the_top() {
        let oom = "java.lang.OutOfMemoryError: Java heap space\nFinished: FAILURE\n";
        let first = build(41, &[("AGENT_LABEL", "linux-8g"), ("MODULE", "core")]);
        // The retry (#42) carries the chain's name; the next (#43) lost it, but its
        // queue id is the alias #42's retry left.
        let second = build(
            42,
            &[
                ("AGENT_LABEL", "linux-16g"),
                ("MODULE", "core"),
                ("CI_FLEET_RETRY_OF", "jenkins:platform/app#41"),
            ],
        );
        let mut third = build(43, &[("AGENT_LABEL", "linux-32g"), ("MODULE", "core")]);
        third.queue_id = Some(902);
        let s = setup(
            FakeBuilds {
                builds: vec![first, second, third],
                logs: [(41, oom.into()), (42, oom.into()), (43, oom.into())].into(),
                ..FakeBuilds::default()
            },
            false,
        );

        let (status, answer) = post(&s, &notification(41, "FINALIZED")).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (200, Some("retried")),
            "{answer:#}"
        );
        assert_eq!(answer["classification"]["class"], "oom");
        assert_eq!(answer["logical_build"], "jenkins:platform/app#41");
        {
            let requeued = s.builds.requeued.lock().expect("lock");
            assert_eq!(
                requeued[0].parameters,
                BTreeMap::from([
                    ("AGENT_LABEL".to_owned(), "linux-16g".to_owned()),
                    ("MODULE".to_owned(), "core".to_owned()),
                    ("CI_FLEET_RETRY_REASON".to_owned(), "oom".to_owned()),
                    (
                        "CI_FLEET_RETRY_OF".to_owned(),
                        "jenkins:platform/app#41".to_owned()
                    ),
                ])
            );
            assert_eq!(
                requeued[0].branch, None,
                "Jenkins queues the job, not a branch"
            );
        }
        let (_, described) = s.builds.annotated.lock().expect("lock")[0].clone();
        assert!(
            described.starts_with("nightly\nci-fleet: oom → retried (1/3): one step up the memory ladder: AGENT_LABEL linux-8g → linux-16g; queued as 901. Evidence: java.lang.OutOfMemoryError"),
            "{described}"
        );

        // The same notification again (COMPLETED then FINALIZED, or a redelivery).
        let (status, again) = post(&s, &notification(41, "COMPLETED")).await;
        assert_eq!(
            (status, again["outcome"].as_str()),
            (200, Some("duplicate"))
        );
        assert_eq!(s.builds.requeued.lock().expect("lock").len(), 1);

        let (_, second) = post(&s, &notification(42, "FINALIZED")).await;
        assert_eq!(second["outcome"], "retried", "{second:#}");
        assert_eq!(second["decision"]["attempt"], 2);
        assert_eq!(second["parameters"]["AGENT_LABEL"], "linux-32g");

        let (_, third) = post(&s, &notification(43, "FINALIZED")).await;
        assert_eq!(
            third["logical_build"], "jenkins:platform/app#41",
            "{third:#}"
        );
        assert_eq!(third["outcome"], "denied");
        assert_eq!(
            third["reason"],
            "oom: already at the top of the memory ladder (AGENT_LABEL=linux-32g)"
        );
        assert_eq!(s.builds.requeued.lock().expect("lock").len(), 2);
        let record = record::load(s.store.as_ref(), "jenkins:platform/app#41")
            .await
            .expect("record");
        assert_eq!(record.history.retries, 2);
        assert_eq!(record.builds.len(), 3);
        assert_eq!(
            metric_reasons(&s),
            vec![
                ("RetriesRequested".to_owned(), "oom".to_owned()),
                ("RetriesRequested".to_owned(), "oom".to_owned()),
                ("RetriesDenied".to_owned(), "oom".to_owned()),
            ]
        );
    }

    #[tokio::test]
    async fn deterministic_failures_are_denied_and_the_reason_kept() {
        let s = setup(
            FakeBuilds {
                builds: vec![build(7, &[("MODULE", "core")])],
                logs: [(
                    7,
                    "[ERROR] Tests run: 12, Failures: 2\n[INFO] BUILD FAILURE\n".into(),
                )]
                .into(),
                ..FakeBuilds::default()
            },
            false,
        );
        let (status, answer) = post(&s, &notification(7, "FINALIZED")).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (200, Some("denied")),
            "{answer:#}"
        );
        assert_eq!(answer["classification"]["class"], "deterministic");
        assert!(s.builds.requeued.lock().expect("lock").is_empty());
        let (_, described) = s.builds.annotated.lock().expect("lock")[0].clone();
        assert!(
            described.contains("ci-fleet: deterministic → not retried: deterministic: a retry would fail the same way"),
            "{described}"
        );
        let record = record::load(s.store.as_ref(), "jenkins:platform/app#7")
            .await
            .expect("record");
        assert_eq!(record.builds[0].outcome, "denied");
        assert_eq!(
            metric_reasons(&s),
            vec![("RetriesDenied".to_owned(), "deterministic".to_owned())]
        );
    }

    #[tokio::test]
    async fn a_sealed_interruption_of_the_agent_is_a_spot_retry_with_the_same_parameters() {
        let s = setup(
            FakeBuilds {
                builds: vec![build(8, &[("AGENT_LABEL", "linux-8g")])],
                logs: [(8, "FATAL: command execution failed\nhudson.remoting.ChannelClosedException: Channel \"hudson.remoting.Channel@1:i-0a1b2c3d4e5f67890\": Remote call failed\n".into())].into(),
                ..FakeBuilds::default()
            },
            false,
        );
        let key = CheckpointKey::parse("app@9cf121f0#shard-1").expect("key");
        let claim = Claim {
            instance_id: "i-0a1b2c3d4e5f67890".into(),
            slot: "0".into(),
            key: key.as_str().into(),
            attempt: 1,
            claimed_at: now() - chrono::Duration::minutes(19),
        };
        let interruption = Interruption {
            instance_id: claim.instance_id.clone(),
            key: claim.key.clone(),
            attempt: 1,
            at: now() - chrono::Duration::minutes(3),
            reason: "spot interruption: i-0a1b2c3d4e5f67890 terminates at 2026-11-22 11:59:00 UTC"
                .into(),
            passed: 212,
        };
        for (object, value) in [
            (
                layout::claim(&claim.instance_id, &claim.slot),
                serde_json::to_vec(&claim),
            ),
            (
                layout::interruption(&key, 1),
                serde_json::to_vec(&interruption),
            ),
        ] {
            s.store
                .put(&object, value.expect("serialises"))
                .await
                .expect("puts");
        }
        let (_, answer) = post(&s, &notification(8, "FINALIZED")).await;
        assert_eq!(answer["outcome"], "retried", "{answer:#}");
        assert_eq!(answer["classification"]["class"], "spot-interruption");
        assert!(
            answer["classification"]["evidence"]
                .as_str()
                .is_some_and(|e| e.contains("212 tests kept")),
            "{answer:#}"
        );
        let requeued = s.builds.requeued.lock().expect("lock");
        assert_eq!(requeued[0].parameters["AGENT_LABEL"], "linux-8g");
        assert_eq!(
            requeued[0].parameters["CI_FLEET_RETRY_REASON"],
            "spot-interruption"
        );
    }

    #[tokio::test]
    async fn a_disconnected_agent_is_agent_lost() {
        let mut presence = BTreeMap::new();
        presence.insert("i-0a1b2c3d4e5f67890".to_owned(), AgentPresence::Gone);
        let s = setup(
            FakeBuilds {
                builds: vec![build(9, &[])],
                logs: [(9, "+ make test\n".into())].into(),
                presence,
                ..FakeBuilds::default()
            },
            false,
        );
        let (_, answer) = post(&s, &notification(9, "FINALIZED")).await;
        assert_eq!(
            answer["classification"]["class"], "agent-lost",
            "{answer:#}"
        );
        let requeued = s.builds.requeued.lock().expect("lock");
        assert!(
            requeued[0].parameters.is_empty(),
            "a job without parameters is queued without any (Jenkins refuses them)"
        );
    }

    #[tokio::test]
    async fn refuses_what_is_not_an_authentic_fresh_notification() {
        let s = setup(
            FakeBuilds {
                builds: vec![build(41, &[])],
                logs: [(41, "java.lang.OutOfMemoryError\n".into())].into(),
                ..FakeBuilds::default()
            },
            false,
        );
        let body = notification(41, "FINALIZED");
        let mut unsigned = request(&body, now().timestamp(), "POST");
        unsigned.headers.remove(SIGNATURE_HEADER);
        let mut tampered = request(&body, now().timestamp(), "POST");
        tampered.body = Some(body.replace("41", "42"));
        let replayed = request(&body, now().timestamp() - 301, "POST");
        let huge = "x".repeat(5 * 1024 * 1024);
        let garbage = "{\"not\": \"a notification\"}";
        let cases = [
            ("unsigned", unsigned, 401, "unsigned request"),
            ("tampered", tampered, 401, "bad signature"),
            ("replayed", replayed, 401, "outside the 300 s replay window"),
            (
                "5 MB",
                request(&huge, now().timestamp(), "POST"),
                413,
                "larger than 262144 bytes",
            ),
            (
                "GET",
                request(&body, now().timestamp(), "GET"),
                405,
                "POST requests only",
            ),
            (
                "signed garbage",
                request(garbage, now().timestamp(), "POST"),
                400,
                "neither a Jenkins",
            ),
            (
                "a TeamCity payload at a Jenkins advise-retry",
                request(
                    r#"{"eventType":"BUILD_FINISHED","payload":{"id":1,"buildTypeId":"X"}}"#,
                    now().timestamp(),
                    "POST",
                ),
                400,
                "serves jenkins",
            ),
            (
                "unknown build",
                request(&notification(404, "FINALIZED"), now().timestamp(), "POST"),
                404,
                "does not know build platform/app #404",
            ),
        ];
        for (name, request, status, reason) in cases {
            let response = s.handler.respond(&request, now()).await;
            let body: Value = serde_json::from_str(&response.body).expect("JSON");
            assert_eq!(response.status_code, status, "{name}: {body:#}");
            assert!(
                body["reason"].as_str().is_some_and(|r| r.contains(reason)),
                "{name}: {body:#}"
            );
            assert_eq!(
                response.headers.get("content-type").map(String::as_str),
                Some("application/json")
            );
        }
        assert!(s.builds.requeued.lock().expect("lock").is_empty());
        assert!(s.store.keys().is_empty(), "{:?}", s.store.keys());
    }

    #[tokio::test]
    async fn ignores_what_is_not_a_failure_and_fails_visibly_when_the_ci_is_down() {
        let mut success = build(5, &[]);
        success.status = Some(BuildStatus::Success);
        let s = setup(
            FakeBuilds {
                builds: vec![success],
                ..FakeBuilds::default()
            },
            false,
        );
        let (status, started) = post(&s, &notification(5, "STARTED")).await;
        assert_eq!(
            (status, started["outcome"].as_str()),
            (200, Some("ignored"))
        );
        let (_, done) = post(&s, &notification(5, "FINALIZED")).await;
        assert_eq!(done["outcome"], "ignored", "the server's SUCCESS wins");
        assert!(s.builds.requeued.lock().expect("lock").is_empty());

        let down = setup(
            FakeBuilds {
                down: true,
                ..FakeBuilds::default()
            },
            false,
        );
        let (status, answer) = post(&down, &notification(5, "FINALIZED")).await;
        assert_eq!((status, answer["outcome"].as_str()), (502, Some("error")));
        assert!(down.store.keys().is_empty());
    }

    #[tokio::test]
    async fn a_dry_run_classifies_and_reports_the_retry_it_would_make() {
        let s = setup(
            FakeBuilds {
                builds: vec![build(41, &[("AGENT_LABEL", "linux-8g")])],
                logs: [(41, "Out of memory: Killed process 4242 (java)\n".into())].into(),
                ..FakeBuilds::default()
            },
            true,
        );
        let (status, answer) = post(&s, &notification(41, "FINALIZED")).await;
        assert_eq!(
            (status, answer["outcome"].as_str()),
            (200, Some("retried")),
            "{answer:#}"
        );
        assert_eq!(answer["dry_run"], true);
        let would_do: Vec<String> =
            serde_json::from_value(answer["would_do"].clone()).expect("list");
        assert!(
            would_do[0].starts_with("queue platform/app again with parameters [AGENT_LABEL=linux-16g, CI_FLEET_RETRY_OF=jenkins:platform/app#41, CI_FLEET_RETRY_REASON=oom]"),
            "{would_do:?}"
        );
        assert!(
            would_do
                .iter()
                .any(|w| w.starts_with("write s3 object retries/"))
        );
        assert!(
            would_do
                .iter()
                .any(|w| w.starts_with("set the description of platform/app #41"))
        );
        assert!(s.builds.requeued.lock().expect("lock").is_empty());
        assert!(s.builds.annotated.lock().expect("lock").is_empty());
        assert!(s.store.keys().is_empty());
    }

    #[test]
    fn descriptions_keep_other_lines_and_replace_ours() {
        assert_eq!(describe(None, "ci-fleet: x"), "ci-fleet: x");
        assert_eq!(
            describe(Some("nightly\nci-fleet: old"), "ci-fleet: new"),
            "nightly\nci-fleet: new"
        );
        assert_eq!(
            describe(Some(&"d".repeat(5000)), "ci-fleet: x")
                .chars()
                .count(),
            MAX_DESCRIPTION_CHARS
        );
    }
}
