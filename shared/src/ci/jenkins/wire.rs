//! Jenkins' JSON as the two poll requests answer it, and the snapshot made of it (separate
//! from HTTP so the parse cost can be measured and fuzzed on its own). Everything is
//! optional because Jenkins omits what a subclass does not export and old versions export
//! less (A1.5–A1.6).

use std::collections::HashSet;

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use rules::why::read_why;
use rules::{Agent, CiSnapshot, Demand, LabelExpr, QueuedBuild, Waiting};

/// Builds the snapshot from the two parsed responses (separate from HTTP so the parse
/// cost can be measured and fuzzed on its own).
pub fn into_snapshot(queue: QueueJson, computers: ComputerSetJson) -> CiSnapshot {
    let agents: Vec<Agent> = computers
        .computer
        .into_iter()
        .map(ComputerJson::into_agent)
        .collect();
    let nodes: HashSet<&str> = agents.iter().map(|a| a.name.as_str()).collect();
    let queue = (queue.items.into_iter())
        .map(|item| item.into_build(&nodes))
        .collect();
    CiSnapshot { agents, queue }
}

/// Parses raw `/queue/api/json` and `/computer/api/json` bodies.
pub fn parse_snapshot(queue: &[u8], computers: &[u8]) -> Result<CiSnapshot, serde_json::Error> {
    Ok(into_snapshot(
        serde_json::from_slice(queue)?,
        serde_json::from_slice(computers)?,
    ))
}

/// The fields ci-fleet reads; everything is optional because Jenkins omits what a
/// subclass does not export and old versions export less (A1.5–A1.6).
#[derive(Debug, Deserialize)]
pub struct QueueJson {
    #[serde(default)]
    pub items: Vec<ItemJson>,
}

#[derive(Debug, Deserialize)]
pub struct ItemJson {
    #[serde(rename = "_class", default)]
    pub class: Option<String>,
    pub id: u64,
    #[serde(default)]
    pub why: Option<String>,
    #[serde(default)]
    pub blocked: bool,
    #[serde(default)]
    pub buildable: bool,
    #[serde(default)]
    pub stuck: bool,
    #[serde(default)]
    pub pending: bool,
    #[serde(rename = "inQueueSince", default)]
    pub in_queue_since: Option<i64>,
    #[serde(default)]
    pub task: Option<TaskJson>,
}

#[derive(Debug, Deserialize)]
pub struct TaskJson {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(rename = "labelExpression", default)]
    pub label_expression: Option<String>,
}

impl ItemJson {
    /// `nodes`: the names of the computers, to tell a `why` that names a node from one
    /// that names a label.
    pub fn into_build(self, nodes: &HashSet<&str>) -> QueuedBuild {
        let why = self.why.as_deref().unwrap_or("");
        let reading = read_why(why);
        let class = self.class.as_deref().unwrap_or("");
        let waiting = if self.blocked || class.ends_with("$BlockedItem") {
            Waiting::Blocked
        } else if class.ends_with("$WaitingItem")
            || (!self.buildable && class.is_empty() && reading.waiting == Waiting::QuietPeriod)
        {
            Waiting::QuietPeriod
        } else if class.ends_with("$LeftItem") {
            // Left the queue between our read and its removal: not demand.
            Waiting::Pending
        } else if self.pending {
            Waiting::Pending
        } else {
            reading.waiting
        };
        // The label `why` names is the one Jenkins waits for: a label parameter (or a
        // Pipeline's `node` label) overrides the job's configured `labelExpression`. But
        // when the label has one node, `why` names the node (Queue.java `BecauseNodeIsBusy`,
        // `BecauseNodeIsOffline`), which says nothing about the label: then, as when `why`
        // names nothing (blocked items, old Jenkins), the configured one decides.
        let configured = self
            .task
            .as_ref()
            .and_then(|t| t.label_expression.as_deref())
            .map(str::trim)
            .filter(|label| !label.is_empty());
        let names_a_node =
            |expr: &LabelExpr| matches!(expr, LabelExpr::Atom(a) if nodes.contains(a.as_str()));
        let demand = match (reading.demand, configured) {
            (Demand::Expression(expr), Some(label)) if names_a_node(&expr) => {
                match LabelExpr::parse(label) {
                    Ok(configured) => Demand::Expression(configured),
                    Err(_) => Demand::Expression(expr),
                }
            }
            (Demand::Expression(expr), _) => Demand::Expression(expr),
            (_, Some(label)) => match LabelExpr::parse(label) {
                Ok(expr) => Demand::Expression(expr),
                Err(e) => Demand::Unknown(e.to_string()),
            },
            (from_why, None) => from_why,
        };
        QueuedBuild {
            id: self.id.to_string(),
            demand,
            waiting,
            stuck: self.stuck,
            queued_since: self
                .in_queue_since
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
                .filter(|t: &DateTime<Utc>| t.timestamp() > 0),
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ComputerSetJson {
    #[serde(default)]
    pub computer: Vec<ComputerJson>,
}

#[derive(Debug, Deserialize)]
pub struct ComputerJson {
    #[serde(rename = "displayName")]
    pub display_name: String,
    #[serde(default)]
    pub offline: bool,
    #[serde(rename = "temporarilyOffline", default)]
    pub temporarily_offline: bool,
    /// Required: a computer without `idle` makes the answer malformed (the CI state
    /// unknown), never an idle agent (reliability review R16).
    pub idle: bool,
    #[serde(rename = "numExecutors", default)]
    pub num_executors: u32,
    #[serde(rename = "offlineCauseReason", default)]
    pub offline_cause_reason: Option<String>,
    #[serde(rename = "assignedLabels", default)]
    pub assigned_labels: Vec<LabelJson>,
    #[serde(default)]
    pub executors: Vec<ExecutorJson>,
}

#[derive(Debug, Deserialize)]
pub struct LabelJson {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ExecutorJson {
    #[serde(default)]
    pub idle: Option<bool>,
    #[serde(rename = "currentExecutable", default)]
    pub current_executable: Option<ExecutableJson>,
}

#[derive(Debug, Deserialize)]
pub struct ExecutableJson {
    #[serde(default)]
    pub url: Option<String>,
}

impl ComputerJson {
    pub fn into_agent(self) -> Agent {
        let reported_busy = self
            .executors
            .iter()
            .filter(|e| e.idle == Some(false))
            .count() as u32;
        let knows_executors = self.executors.iter().any(|e| e.idle.is_some());
        // `idle:false` without executor detail still means a build is running.
        let busy_executors = if knows_executors {
            reported_busy
        } else {
            u32::from(!self.idle)
        };
        let runs = (self.executors.iter())
            .filter_map(|e| e.current_executable.as_ref()?.url.clone())
            .filter(|url| !url.is_empty())
            .collect();
        Agent {
            labels: self
                .assigned_labels
                .into_iter()
                .filter_map(|l| l.name)
                .filter(|n| *n != self.display_name)
                .collect(),
            name: self.display_name,
            executors: self.num_executors,
            busy_executors,
            // `offline` = temporarilyOffline || no channel (A3.3); a node marked
            // offline by hand hides whether it is connected, and either way it is no capacity.
            connected: !self.offline || self.temporarily_offline,
            accepting_tasks: !self.temporarily_offline,
            offline_reason: self.offline_cause_reason.unwrap_or_default(),
            runs,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label parameter overrides the job's configured label: Jenkins waits for the label
    /// `why` names, so that one is the demand; the configured one only when `why` names none.
    #[test]
    fn the_label_why_names_wins_over_the_configured_one() {
        let item = |why: &str| -> ItemJson {
            serde_json::from_value(serde_json::json!({
                "_class": "hudson.model.Queue$BuildableItem", "id": 1, "buildable": true,
                "why": why, "task": {"name": "app", "labelExpression": "linux"}
            }))
            .expect("an item")
        };
        let nodes = HashSet::from(["linux-2"]);
        let demand = |why: &str| item(why).into_build(&nodes).demand;
        assert_eq!(
            demand("Waiting for next available executor on \u{2018}linux-16g\u{2019}"),
            Demand::Expression(LabelExpr::parse("linux-16g").expect("a label"))
        );
        assert_eq!(
            demand("Waiting for next available executor"),
            Demand::Expression(LabelExpr::parse("linux").expect("a label"))
        );
        assert_eq!(
            demand("Waiting for next available executor on \u{2018}linux-2\u{2019}"),
            Demand::Expression(LabelExpr::parse("linux").expect("a label")),
            "a one-node label's why names the node: the configured label decides"
        );
    }

    /// A computer that does not say whether it is idle is not idle: the whole answer is
    /// malformed, and the CI state unknown (R16).
    #[test]
    fn a_computer_without_idle_is_malformed_not_idle() {
        let without: Result<ComputerSetJson, _> = serde_json::from_str(
            r#"{"computer":[{"displayName":"a","offline":false,"numExecutors":2}]}"#,
        );
        assert!(without.is_err());
        let with: ComputerSetJson = serde_json::from_str(
            r#"{"computer":[{"displayName":"a","idle":false,"numExecutors":2}]}"#,
        )
        .expect("parses");
        let agent = with.computer.into_iter().next().expect("one").into_agent();
        assert_eq!(
            agent.busy_executors, 1,
            "idle:false without executors is busy"
        );
    }
}
