//! Computers (`/computer/`): agents and the built-in node with their executors, offline
//! causes and node monitors, and the ComputerSet that lists them.

use serde_json::{Map, Value, json};

use super::context::{Ctx, put};
use super::job_index::WORKFLOW_RUN;
use crate::export::{INLINE, RAW};
use crate::http::escape_html;
use crate::jenkins::locale::Lang;
use crate::state::{Agent, RunningBuild};
use crate::tree::Want;

impl Ctx<'_> {
    /// A computer's `executors`: Executor exports `currentExecutable` (through
    /// `getCurrentExecutableForApi`), `idle`, `likelyStuck`, `number` and `progress`
    /// (core `hudson/model/Executor.java`; `currentWorkUnit` is not exported).
    fn executors(&self, count: u32, running: &[RunningBuild], agent: &str, want: Want) -> Value {
        let slots = (count as usize).max(running.len());
        let executors: Vec<Value> = (0..slots)
            .map(|i| {
                let build = running.get(i);
                let mut obj = Map::new();
                put(&mut obj, want, "currentExecutable", || match build {
                    Some(build) => {
                        self.current_executable(build, agent, want.child("currentExecutable"))
                    }
                    None => Value::Null,
                });
                put(&mut obj, want, "idle", || json!(build.is_none()));
                put(&mut obj, want, "likelyStuck", || json!(false));
                put(&mut obj, want, "number", || json!(i));
                put(&mut obj, want, "progress", || match build {
                    Some(build) => json!(build.progress()),
                    None => json!(-1),
                });
                Value::Object(obj)
            })
            .collect();
        Value::Array(executors)
    }

    /// The Pipeline runs in progress, each once (a run with `node` blocks on several
    /// agents is one run), in the order the agents list them.
    fn running_pipeline_runs(&self) -> Vec<&RunningBuild> {
        let mut seen = std::collections::HashSet::new();
        self.state
            .agents
            .iter()
            .flat_map(|a| a.running.iter())
            .filter(|r| self.is_pipeline(&r.job) && seen.insert((r.job.as_str(), r.number)))
            .collect()
    }

    /// The built-in node's `oneOffExecutors`: a `WorkflowJob` is a `Queue.FlyweightTask`
    /// whose assigned label is the built-in node's self-label (workflow-job-plugin
    /// `WorkflowJob.getAssignedLabel`), so `Queue.makeFlyWeightTaskBuildable` runs each
    /// `WorkflowRun` on a `OneOffExecutor` of the built-in computer (number -1, core
    /// `hudson/model/OneOffExecutor.java`), whatever its executor count. Its
    /// `currentExecutable` is the `WorkflowRun` itself, `null` without Job/Read.
    fn one_off_executors(&self, want: Want) -> Value {
        self.running_pipeline_runs()
            .into_iter()
            .map(|build| {
                let mut obj = Map::new();
                put(&mut obj, want, "currentExecutable", || {
                    if self.can_read(&build.job) {
                        self.running_build(build, "", WORKFLOW_RUN, want.child("currentExecutable"))
                    } else {
                        Value::Null
                    }
                });
                put(&mut obj, want, "idle", || json!(false));
                put(&mut obj, want, "likelyStuck", || json!(false));
                put(&mut obj, want, "number", || json!(-1));
                put(&mut obj, want, "progress", || json!(build.progress()));
                Value::Object(obj)
            })
            .collect()
    }

    pub fn computer(&self, agent: &Agent, want: Want) -> Value {
        let mut obj = self.object("hudson.slaves.SlaveComputer");
        put(&mut obj, want, "actions", || json!([]));
        if self.version.exports_labels() {
            put(&mut obj, want, "assignedLabels", || {
                let want = want.child("assignedLabels");
                agent
                    .labels
                    .iter()
                    .chain(std::iter::once(&agent.name))
                    .map(|l| self.label_ref(l, want))
                    .collect()
            });
        }
        put(&mut obj, want, "description", || json!(""));
        put(&mut obj, want, "displayName", || json!(agent.name));
        put(&mut obj, want, "executors", || {
            self.executors(
                agent.executors,
                &agent.running,
                &agent.name,
                want.child("executors"),
            )
        });
        let offline = agent.offline();
        let icon = if offline {
            "symbol-computer-offline"
        } else {
            "symbol-computer"
        };
        put(&mut obj, want, "icon", || json!(icon));
        put(&mut obj, want, "iconClassName", || json!(icon));
        put(&mut obj, want, "idle", || json!(agent.running.is_empty()));
        put(&mut obj, want, "jnlpAgent", || json!(true));
        put(&mut obj, want, "launchSupported", || json!(false));
        put(&mut obj, want, "loadStatistics", || {
            Value::Object(self.object("hudson.model.Label$1"))
        });
        put(&mut obj, want, "manualLaunchAllowed", || json!(true));
        put(&mut obj, want, "monitorData", || {
            monitor_data(agent.connected)
        });
        put(&mut obj, want, "numExecutors", || json!(agent.executors));
        put(&mut obj, want, "offline", || json!(offline));
        put(&mut obj, want, "offlineCause", || self.offline_cause(agent));
        put(&mut obj, want, "offlineCauseReason", || {
            json!(offline_cause_reason(agent))
        });
        put(&mut obj, want, "oneOffExecutors", || json!([]));
        put(&mut obj, want, "temporarilyOffline", || {
            json!(agent.temporarily_offline)
        });
        put(&mut obj, want, "absoluteRemotePath", || {
            if agent.connected {
                json!("/home/jenkins/agent")
            } else {
                Value::Null
            }
        });
        if want.annotations() {
            obj.insert(RAW.into(), json!(["monitorData"]));
        }
        Value::Object(obj)
    }

    fn offline_cause(&self, agent: &Agent) -> Value {
        if !agent.offline() {
            return Value::Null;
        }
        let timestamp = agent.offline_since_ms.unwrap_or(self.now_ms);
        let message = agent.offline_message.trim();
        let (class, description) = if agent.temporarily_offline || agent.offline_by.is_some() {
            let user = agent.offline_by.as_deref().unwrap_or("ci");
            // SlaveComputer.DisconnectedBy={0}{1}, {1} being " : " and the message.
            let disconnected_by = match self.lang {
                Lang::English => "Disconnected by",
                Lang::German => "Getrennt durch Benutzer",
            };
            let description = if message.is_empty() {
                format!("{disconnected_by} {user}")
            } else {
                format!("{disconnected_by} {user} : {message}")
            };
            ("hudson.slaves.OfflineCause$UserCause", description)
        } else if message.is_empty() {
            // OfflineCause.connection_was_broken_simple has no German translation.
            (
                "hudson.slaves.OfflineCause$ChannelTermination",
                "Connection was broken".to_owned(),
            )
        } else {
            (
                "hudson.slaves.OfflineCause$SimpleOfflineCause",
                message.to_owned(),
            )
        };
        let mut obj = self.object(class);
        obj.insert("description".into(), json!(description));
        obj.insert("timestamp".into(), json!(timestamp));
        Value::Object(obj)
    }

    pub fn builtin_computer(&self, want: Want) -> Value {
        let mut obj = self.object("hudson.model.Hudson$MasterComputer");
        put(&mut obj, want, "actions", || json!([]));
        if self.version.exports_labels() {
            put(&mut obj, want, "assignedLabels", || {
                json!([self.label_ref(self.version.builtin_label(), want.child("assignedLabels"))])
            });
        }
        put(&mut obj, want, "description", || {
            json!("the Jenkins controller's built-in node")
        });
        put(&mut obj, want, "displayName", || {
            json!(self.builtin_display_name())
        });
        put(&mut obj, want, "executors", || {
            self.executors(
                self.state.builtin_executors,
                &[],
                "",
                want.child("executors"),
            )
        });
        put(&mut obj, want, "icon", || json!("symbol-computer"));
        put(&mut obj, want, "iconClassName", || json!("symbol-computer"));
        // Computer.isIdle: false while any one-off executor exists.
        put(&mut obj, want, "idle", || {
            json!(self.running_pipeline_runs().is_empty())
        });
        put(&mut obj, want, "jnlpAgent", || json!(false));
        put(&mut obj, want, "launchSupported", || json!(true));
        put(&mut obj, want, "loadStatistics", || {
            Value::Object(self.object("hudson.model.Label$1"))
        });
        put(&mut obj, want, "manualLaunchAllowed", || json!(true));
        put(&mut obj, want, "monitorData", || monitor_data(true));
        put(&mut obj, want, "numExecutors", || {
            json!(self.state.builtin_executors)
        });
        put(&mut obj, want, "offline", || json!(false));
        put(&mut obj, want, "offlineCause", || Value::Null);
        put(&mut obj, want, "offlineCauseReason", || json!(""));
        put(&mut obj, want, "oneOffExecutors", || {
            self.one_off_executors(want.child("oneOffExecutors"))
        });
        put(&mut obj, want, "temporarilyOffline", || json!(false));
        if want.annotations() {
            obj.insert(RAW.into(), json!(["monitorData"]));
        }
        Value::Object(obj)
    }

    /// ComputerSet: busy and total executors count online computers only.
    pub fn computer_set(&self, want: Want) -> Value {
        let online: Vec<&Agent> = self.state.agents.iter().filter(|a| !a.offline()).collect();
        let busy: usize = online.iter().map(|a| a.running.len()).sum();
        let total: u32 =
            online.iter().map(|a| a.executors).sum::<u32>() + self.state.builtin_executors;
        let mut obj = self.object("hudson.model.ComputerSet");
        put(&mut obj, want, "busyExecutors", || json!(busy));
        put(&mut obj, want, "computer", || {
            let want = want.child("computer");
            let mut computers = Vec::with_capacity(self.state.agents.len() + 1);
            computers.push(self.builtin_computer(want));
            computers.extend(self.state.agents.iter().map(|a| self.computer(a, want)));
            Value::Array(computers)
        });
        put(&mut obj, want, "displayName", || json!("Nodes"));
        put(&mut obj, want, "totalExecutors", || json!(total));
        if want.annotations() {
            obj.insert(INLINE.into(), json!(["computer"]));
        }
        Value::Object(obj)
    }
}

/// Only the user's message: Jenkins strips the "Disconnected by <user> : " prefix and
/// HTML-escapes user text; other causes are shown as the state gives them.
fn offline_cause_reason(agent: &Agent) -> String {
    if !agent.offline() {
        return String::new();
    }
    let message = agent.offline_message.trim();
    if agent.offline_by.is_some() {
        escape_html(message)
    } else {
        message.to_owned()
    }
}

/// Node monitors: values while connected, `null` while the channel is down.
fn monitor_data(connected: bool) -> Value {
    if !connected {
        return json!({
            "hudson.node_monitors.SwapSpaceMonitor": null,
            "hudson.node_monitors.TemporarySpaceMonitor": null,
            "hudson.node_monitors.DiskSpaceMonitor": null,
            "hudson.node_monitors.ArchitectureMonitor": null,
            "hudson.node_monitors.ResponseTimeMonitor": {"average": 5000},
            "hudson.node_monitors.ClockMonitor": null,
        });
    }
    json!({
        "hudson.node_monitors.SwapSpaceMonitor": {
            "availablePhysicalMemory": 6_442_450_944_u64, "availableSwapSpace": 0,
            "totalPhysicalMemory": 16_106_127_360_u64, "totalSwapSpace": 0
        },
        "hudson.node_monitors.TemporarySpaceMonitor": {"path": "/tmp", "size": 42_949_672_960_u64},
        "hudson.node_monitors.DiskSpaceMonitor": {"path": "/home/jenkins/agent", "size": 85_899_345_920_u64},
        "hudson.node_monitors.ArchitectureMonitor": "Linux (amd64)",
        "hudson.node_monitors.ResponseTimeMonitor": {"average": 38},
        "hudson.node_monitors.ClockMonitor": {"diff": 2},
    })
}
