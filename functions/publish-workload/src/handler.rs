//! One invocation: poll the CI server every interval for the window, publish each poll's
//! metrics as it is read (alarms see data within seconds, not at the end of the window).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use rules::{Datum, PoolWorkload, QueueClock, Unit, compute_workloads};
use serde::Serialize;
use serde_json::Value;
use shared::ci::{CiError, Problem};
use shared::ports::CiServer;
use shared::ports::metrics::MetricsSink;
use shared::runner::Function;
use shared::{Error, Result};
use tokio::time::Instant;

use crate::config::PublishConfig;

pub struct Publisher {
    pub config: PublishConfig,
    pub ci: Arc<dyn CiServer>,
    pub metrics: Arc<dyn MetricsSink>,
    pub dry_run: bool,
    /// When each queued build was first seen waiting for an executor, across the polls of
    /// an invocation and the invocations of a warm container (a cold start begins again,
    /// which ages builds less, never more).
    pub clock: Mutex<QueueClock>,
}

#[derive(Debug, Serialize)]
pub struct Response {
    pub dry_run: bool,
    pub namespace: String,
    pub polls: Vec<PollReport>,
    pub put_metric_data_calls: usize,
    /// In a dry run: what would have been published.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_publish: Vec<Datum>,
}

#[derive(Debug, Serialize)]
pub struct PollReport {
    pub at: DateTime<Utc>,
    pub ci_server_up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub pools: Vec<PoolWorkload>,
    pub unattributed_builds: u32,
}

#[async_trait::async_trait]
impl Function for Publisher {
    async fn handle(&self, event: Value) -> Result<Value> {
        check_event(&event)?;
        let response = self.run().await?;
        serde_json::to_value(response).map_err(|e| Error::Failed(e.to_string()))
    }
}

impl Publisher {
    #[tracing::instrument(name = "publish_workload", skip_all, fields(dry_run = self.dry_run))]
    async fn run(&self) -> Result<Response> {
        let start = Instant::now();
        let polls = self.config.polls_per_invocation();
        let mut response = Response {
            dry_run: self.dry_run,
            namespace: self.config.namespace.clone(),
            polls: Vec::new(),
            put_metric_data_calls: 0,
            would_publish: Vec::new(),
        };
        let mut failures = Vec::new();
        // A user who may see no job sees an empty queue: that is unknown, not "no demand".
        // Checked once an invocation; a CI server that is down is the polls' to report.
        let blind = match self.ci.check_visibility().await {
            Err(e) if matches!(e.problem, Problem::Refused(_)) => Some(e),
            _ => None,
        };
        for n in 0..polls {
            // Scheduled from the start, not from the previous poll's end, so polls do not drift.
            tokio::time::sleep_until(start + self.config.poll_interval * n).await;
            let (report, datums) = self.poll_once(blind.as_ref()).await;
            if let Some(error) = &report.error {
                failures.push(error.clone());
            }
            match self.metrics.publish(&self.config.namespace, &datums).await {
                Ok(calls) => response.put_metric_data_calls += calls,
                Err(e) => {
                    tracing::error!(error = %e, "could not publish metrics");
                    failures.push(e.to_string());
                }
            }
            if self.dry_run {
                response.would_publish.extend(datums);
            }
            response.polls.push(report);
        }
        match failures.last() {
            None => Ok(response),
            // Fail visibly (the function's Errors metric) once every poll has been published.
            Some(last) => Err(Error::Failed(format!(
                "{} of {} polls failed; last: {last}",
                failures.len(),
                polls
            ))),
        }
    }

    /// Reads the CI server once. On any failure (`blind`: the user can see no job) the
    /// state is unknown: `CiServerUp=0` and no pool metrics at all, so nothing downstream
    /// mistakes "unknown" for "idle".
    async fn poll_once(&self, blind: Option<&CiError>) -> (PollReport, Vec<Datum>) {
        let high_resolution = self.config.high_resolution();
        let snapshot = match blind {
            Some(blind) => Err(blind.clone()),
            None => self.ci.snapshot().await,
        };
        let at = Utc::now();
        let up = |value: f64| {
            Datum::new("CiServerUp", value, Unit::Count, at).high_resolution(high_resolution)
        };
        match snapshot {
            Ok(mut snapshot) => {
                if let Ok(mut clock) = self.clock.lock() {
                    clock.stamp(&mut snapshot, at);
                }
                let workloads = compute_workloads(&self.config.pools, &snapshot, at);
                for w in &workloads.pools {
                    tracing::info!(
                        pool = %w.pool, queued = w.queued_builds, busy = w.busy_executors, idle = w.idle_executors,
                        online = w.online_executors, offline_agents = w.offline_agents, workload = w.total_workload,
                        desired = w.desired_instances, "pool workload"
                    );
                }
                if workloads.unattributed_builds > 0 {
                    tracing::warn!(
                        builds = workloads.unattributed_builds,
                        "queued builds wait for labels no configured pool serves"
                    );
                }
                let mut datums: Vec<Datum> = workloads
                    .pools
                    .iter()
                    .flat_map(|w| w.datums(at, high_resolution))
                    .collect();
                datums.push(up(1.0));
                let report = PollReport {
                    at,
                    ci_server_up: true,
                    error: None,
                    pools: workloads.pools,
                    unattributed_builds: workloads.unattributed_builds,
                };
                (report, datums)
            }
            Err(e) => {
                tracing::error!(error = %e, "CI server state unknown; publishing CiServerUp=0 and no pool metrics");
                let report = PollReport {
                    at,
                    ci_server_up: false,
                    error: Some(e.to_string()),
                    pools: Vec::new(),
                    unattributed_builds: 0,
                };
                (report, vec![up(0.0)])
            }
        }
    }
}

/// The schedule sends a Scheduled Event; a person may invoke with `{}`. Anything else is a mistake worth naming.
fn check_event(event: &Value) -> Result<()> {
    let Some(object) = event.as_object() else {
        return Err(Error::Event(format!(
            "expected a JSON object (a Scheduled Event), got {event}"
        )));
    };
    match object.get("detail-type").and_then(Value::as_str) {
        None | Some("Scheduled Event") => Ok(()),
        Some(other) => Err(Error::Event(format!(
            "publish-workload runs on a schedule; it does not handle {other:?} events"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_trait::async_trait;
    use rules::{Agent, CiSnapshot, Pool, PoolSpec};
    use shared::aws::metrics::RecordingMetrics;
    use shared::ci::CiKind;
    use shared::ci::{CiError, Problem};
    use shared::config::{CiConfig, CredentialSource};
    use shared::ports::ci::{OfflineChange, OnlineChange};

    use super::*;

    /// Answers each poll from a script: a snapshot or an outage. `.1`: the user sees no job.
    struct ScriptedCi(Mutex<Vec<Option<CiSnapshot>>>, bool);

    #[async_trait]
    impl CiServer for ScriptedCi {
        async fn check_visibility(&self) -> Result<(), CiError> {
            match self.1 {
                false => Ok(()),
                true => Err(CiError {
                    kind: CiKind::Jenkins,
                    method: "GET",
                    url: "/api/json?tree=jobs%5Bname%5D%7B0,1%7D".into(),
                    problem: Problem::Refused("the CI user sees no job at all".into()),
                }),
            }
        }

        async fn snapshot(&self) -> Result<CiSnapshot, CiError> {
            let next = self.0.lock().expect("lock").remove(0);
            next.ok_or(CiError {
                kind: CiKind::Jenkins,
                method: "GET",
                url: "http://ci/queue/api/json".into(),
                problem: Problem::Timeout(Duration::from_secs(8)),
            })
        }

        async fn take_offline(&self, _: &str, _: &str) -> Result<OfflineChange, CiError> {
            unreachable!("publish-workload never writes to the CI server")
        }

        async fn bring_online(&self, _: &str, _: &str) -> Result<OnlineChange, CiError> {
            unreachable!("publish-workload never writes to the CI server")
        }

        async fn remove_agent(&self, _: &str) -> Result<(), CiError> {
            unreachable!("publish-workload never writes to the CI server")
        }

        async fn recent_builds(&self) -> Result<Vec<rules::health::FinishedBuild>, CiError> {
            unreachable!("publish-workload never reads build history")
        }
    }

    fn publisher(script: Vec<Option<CiSnapshot>>, metrics: Arc<RecordingMetrics>) -> Publisher {
        let pool = Pool::jenkins(PoolSpec {
            name: "linux".into(),
            ci_label: "linux".into(),
            asg: "ci-linux".into(),
            executors_per_instance: 2,
            max_builds_per_agent: None,
        })
        .expect("valid");
        let config = PublishConfig {
            ci: CiConfig {
                kind: CiKind::Jenkins,
                url: "http://ci".into(),
                credentials: CredentialSource::Anonymous,
                timeout: Duration::from_secs(8),
                max_response_bytes: 1 << 20,
                page_size: 1000,
            },
            pools: vec![pool],
            namespace: "CIFleet".into(),
            poll_interval: Duration::from_secs(10),
            poll_window: Duration::from_secs(20),
        };
        Publisher {
            config,
            ci: Arc::new(ScriptedCi(Mutex::new(script), false)),
            metrics,
            dry_run: false,
            clock: Mutex::default(),
        }
    }

    fn busy_pool() -> CiSnapshot {
        let agent = Agent {
            name: "i-1".into(),
            labels: vec!["linux".into()],
            executors: 2,
            busy_executors: 1,
            connected: true,
            accepting_tasks: true,
            offline_reason: String::new(),
            runs: vec![],
        };
        CiSnapshot {
            agents: vec![agent],
            queue: vec![],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn polls_across_the_window_and_publishes_each_poll() {
        let metrics = Arc::new(RecordingMetrics::default());
        let started = Instant::now();
        let response = publisher(
            vec![Some(busy_pool()), Some(busy_pool()), Some(busy_pool())],
            metrics.clone(),
        )
        .run()
        .await
        .expect("succeeds");
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(20),
            "polls at 0, 10 and 20 s"
        );
        assert_eq!(
            (response.polls.len(), response.put_metric_data_calls),
            (3, 3)
        );
        let recorded = metrics.recorded();
        assert_eq!(
            recorded.len(),
            3 * 11,
            "ten pool metrics and CiServerUp per poll"
        );
        let busy: Vec<f64> = recorded
            .iter()
            .filter(|d| d.name == "BusyExecutors")
            .map(|d| d.value)
            .collect();
        assert_eq!(busy, vec![1.0, 1.0, 1.0]);
        assert!(recorded.iter().all(|d| d.storage_resolution == 1));
    }

    /// Jenkins answers a user without Job/Read an empty queue with HTTP 200: that is a
    /// named failure and CiServerUp=0, never zeros that read as "no demand".
    #[tokio::test(start_paused = true)]
    async fn a_user_who_sees_no_job_is_a_named_failure_not_an_empty_queue() {
        let metrics = Arc::new(RecordingMetrics::default());
        let mut blind = publisher(vec![Some(busy_pool()); 3], metrics.clone());
        blind.ci = Arc::new(ScriptedCi(Mutex::new(vec![Some(busy_pool()); 3]), true));
        let error = blind.run().await.expect_err("fails visibly");
        assert!(error.to_string().contains("sees no job at all"), "{error}");
        let recorded = metrics.recorded();
        assert!(
            recorded
                .iter()
                .all(|d| d.name == "CiServerUp" && d.value == 0.0),
            "no pool metric, CiServerUp 0: {recorded:?}"
        );
        assert_eq!(recorded.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn an_outage_publishes_server_down_and_no_pool_zeros_then_fails() {
        let metrics = Arc::new(RecordingMetrics::default());
        let error = publisher(
            vec![Some(busy_pool()), None, Some(busy_pool())],
            metrics.clone(),
        )
        .run()
        .await
        .expect_err("fails visibly");
        assert_eq!(
            error.to_string(),
            "1 of 3 polls failed; last: jenkins GET http://ci/queue/api/json: no answer within 8 s"
        );
        let recorded = metrics.recorded();
        let up: Vec<f64> = recorded
            .iter()
            .filter(|d| d.name == "CiServerUp")
            .map(|d| d.value)
            .collect();
        assert_eq!(
            up,
            vec![1.0, 0.0, 1.0],
            "every poll publishes CiServerUp, kept polling after the outage"
        );
        assert_eq!(
            recorded
                .iter()
                .filter(|d| d.name == "BusyExecutors")
                .count(),
            2,
            "the failed poll published no pool metric"
        );
    }

    #[test]
    fn accepts_schedules_and_empty_objects_only() {
        assert!(check_event(&serde_json::json!({})).is_ok());
        assert!(check_event(&serde_json::json!({"detail-type": "Scheduled Event"})).is_ok());
        assert_eq!(
            check_event(
                &serde_json::json!({"detail-type": "EC2 Spot Instance Interruption Warning"})
            )
            .expect_err("wrong event")
            .to_string(),
            "malformed event: publish-workload runs on a schedule; it does not handle \"EC2 Spot Instance Interruption Warning\" events"
        );
        assert!(check_event(&serde_json::json!("hello")).is_err());
    }
}
