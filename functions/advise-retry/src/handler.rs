//! One webhook, in five steps: receive it (authenticate, parse the notification), gather
//! the facts (the build read back from the CI server, its retry chain, a bounded log tail,
//! an interruption record in the checkpoint store, the agent's presence), decide by the
//! rules, act (re-queue it or not, keep the decision, note it on the build, count it) and
//! report. The status codes are in [`crate::report`].

use std::sync::Arc;

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use chrono::{DateTime, Utc};
use serde_json::Value;
use shared::config::Secret;
use shared::dry_run::WouldDo;
use shared::ports::builds::BuildControl;
use shared::ports::metrics::MetricsSink;
use shared::ports::store::ObjectStore;
use shared::{Error, Result};

use crate::act::Act;
use crate::config::RetryConfig;
use crate::report::{self, BuildSummary, Ended, Findings, Report, Stop};
use crate::{decide, facts, receive};

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
        let request: LambdaFunctionUrlRequest = serde_json::from_value(event).map_err(|e| {
            Error::Event(format!(
                "not a Lambda Function URL request (payload format 2.0): {e}"
            ))
        })?;
        let response = self.respond(&request, Utc::now()).await;
        serde_json::to_value(response).map_err(|e| Error::Failed(e.to_string()))
    }

    pub async fn respond(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
    ) -> LambdaFunctionUrlResponse {
        let mut found = Findings::default();
        let (status, ended) = match self.advise(request, now, &mut found).await {
            Ok(ended) => (200, ended),
            Err(stop) => (
                stop.status,
                Ended {
                    outcome: stop.outcome,
                    reason: Some(stop.reason),
                },
            ),
        };
        let report = Report::new(ended, found, self.would_do.as_ref());
        log_answer(status, &report, request);
        report::response(status, &report)
    }

    /// receive → facts → decide → act; what is found on the way goes into `found`.
    async fn advise(
        &self,
        request: &LambdaFunctionUrlRequest,
        now: DateTime<Utc>,
        found: &mut Findings,
    ) -> Result<Ended, Stop> {
        let config = &self.config;
        let notice = receive::notice(request, config, self.key.expose().as_bytes(), now)?;
        found.build = Some(BuildSummary::of(&notice));
        receive::worth_advising(&notice, config.ci.kind)?;

        let (builds, store) = (self.builds.as_ref(), self.store.as_ref());
        let failed = facts::failed_build(builds, &notice).await?;
        let retry_of = &config.policy.retry_of_parameter;
        let key = facts::logical_build(store, config.ci.kind, retry_of, &failed.build).await?;
        found.logical_build = Some(key.clone());
        let record = facts::unhandled_record(store, &key, &failed.build).await?;
        let evidence = facts::evidence(
            builds,
            store,
            &failed.build,
            config.log_tail_bytes,
            &mut found.warnings,
        )
        .await?;

        let plan = decide::plan(&config.policy, &failed, &evidence, &record.history, &key)?;
        found.classification = Some(plan.classification.clone());
        found.decision = Some(plan.decision.clone());

        let act = self.act();
        let settled = act
            .carry_out(&plan, &key, &failed.build, now, found)
            .await?;
        Ok(act
            .keep(record, settled, &failed.build, now, &mut found.warnings)
            .await)
    }

    fn act(&self) -> Act<'_> {
        Act {
            builds: self.builds.as_ref(),
            store: self.store.as_ref(),
            metrics: self.metrics.as_ref(),
            namespace: &self.config.namespace,
            kind: self.config.ci.kind,
        }
    }
}

fn log_answer(status: u16, report: &Report, request: &LambdaFunctionUrlRequest) {
    tracing::info!(
        status,
        outcome = report.outcome.as_str(),
        build = ?report.build.as_ref().map(|b| format!("{} #{}", b.job, b.id)),
        class = ?report.classification.as_ref().map(|c| c.class),
        reason = ?report.reason,
        request_id = ?request.request_context.request_id,
        source_ip = ?request.request_context.http.source_ip,
        "webhook answered"
    );
}

#[cfg(test)]
mod tests;
