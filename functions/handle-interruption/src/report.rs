//! The report of one event: the JSON response, the counts published as metrics, and the
//! errors that fail the invocation so EventBridge retries it.

use std::fmt;

use chrono::Utc;
use rules::{Datum, Pool, Unit};
use serde::{Serialize, Serializer};
use serde_json::Value;
use shared::ports::Ports;
use shared::{Error, Result};

use crate::agent::{Offline, OfflineOutcome};
use crate::checkpoint::{CheckpointReport, Sealed};
use crate::lifecycle::LifecycleOutcome;
use crate::lifecycle::Step;

#[derive(Debug, Default, Serialize)]
pub struct Response {
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// The pool the instance belongs to; none means not ours (acknowledged, nothing done).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline: Option<OfflineOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointReport>,
    /// The runs on the agent at a spot warning, each recorded as interrupted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub interrupted_runs: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<LifecycleOutcome>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<Ignored>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_do: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// Why an event was acknowledged without acting on it. The response shows the sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored {
    NotInPool {
        group: Option<String>,
    },
    /// `REBALANCE_ACTION=ignore`.
    ByRebalanceAction,
    /// Another hook's lifecycle action: its owner completes it.
    NotOurHook {
        hook: String,
    },
    NotHandled {
        source: String,
    },
}

impl fmt::Display for Ignored {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ignored::NotInPool { group } => write!(
                f,
                "instance is in no configured pool (group {})",
                group.as_deref().unwrap_or("none")
            ),
            Ignored::ByRebalanceAction => f.write_str("REBALANCE_ACTION=ignore"),
            Ignored::NotOurHook { hook } => {
                write!(f, "another hook's action ({hook}): left to its owner")
            }
            Ignored::NotHandled { source } => write!(f, "not handled (source {source})"),
        }
    }
}

impl Serialize for Ignored {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The response being written, and the counts to publish with it.
#[derive(Debug, Default)]
pub struct Report {
    pub response: Response,
    pub datums: Vec<Datum>,
}

impl Report {
    pub fn new(event: &str) -> Report {
        let response = Response {
            event: event.to_owned(),
            ..Response::default()
        };
        Report {
            response,
            datums: vec![],
        }
    }

    pub fn instance(&mut self, instance_id: &str) {
        self.response.instance_id = Some(instance_id.to_owned());
    }

    pub fn pool(&mut self, pool: &Pool) {
        self.response.pool = Some(pool.name().to_owned());
    }

    pub fn ignore(&mut self, why: Ignored) {
        self.response.ignored = Some(why);
    }

    pub fn interrupted_runs(&mut self, runs: Vec<String>) {
        self.response.interrupted_runs = runs;
    }

    pub fn error(&mut self, error: String) {
        self.response.errors.push(error);
    }

    /// One more of metric `name` for the pool.
    pub fn count(&mut self, name: &'static str, pool: &Pool) {
        self.datums.push(
            Datum::new(name, 1.0, Unit::Count, Utc::now()).with_dimension("Pool", pool.name()),
        );
    }

    /// A drain that ended as it began: the agent was idle.
    pub fn drained_at_once(&mut self, pool: &Pool) {
        self.count("DrainsCompleted", pool);
        self.datums.push(
            Datum::new("DrainSeconds", 0.0, Unit::Seconds, Utc::now())
                .with_dimension("Pool", pool.name()),
        );
    }

    pub fn offline(&mut self, offline: Offline) {
        match offline {
            Offline::Agent { name, outcome } => {
                self.response.agent = Some(name);
                self.response.offline = Some(outcome);
            }
            Offline::NoAgent => self.response.offline = Some(OfflineOutcome::NoAgent),
            Offline::Unknown(error) => self.error(error),
        }
    }

    /// The seal's record, its errors, and one `CheckpointsSealed` per build sealed now.
    pub fn checkpoint(&mut self, sealed: Sealed, pool: &Pool) {
        for _ in 0..sealed.sealed_now {
            self.count("CheckpointsSealed", pool);
        }
        self.response.checkpoint = sealed.report;
        self.response.errors.extend(sealed.errors);
    }

    pub fn lifecycle(&mut self, step: Step) {
        match step {
            Ok(outcome) => self.response.lifecycle = Some(outcome),
            Err(error) => self.error(error),
        }
    }

    /// Publishes the counts (a failure is one more error; nothing done is undone) and
    /// answers: the response, or the errors, which fail the invocation so EventBridge
    /// retries it (every step is idempotent, so the repeat is harmless).
    pub async fn finish(self, ports: &Ports, namespace: &str) -> Result<Value> {
        let Report {
            mut response,
            datums,
        } = self;
        response.would_do = ports
            .finish_run(namespace, &datums, &mut response.errors)
            .await;
        if response.errors.is_empty() {
            return serde_json::to_value(&response).map_err(|e| Error::Failed(e.to_string()));
        }
        Err(Error::Failed(format!(
            "{} for {}: {}",
            response.event,
            response.instance_id.as_deref().unwrap_or("?"),
            response.errors.join("; ")
        )))
    }
}
