//! Jenkins' exported objects, built from the state. Each object carries the export
//! annotations (`$vis`, `$inline`, `$raw`) that `export::render_depth` needs to reproduce
//! depth-0 pruning; `tree=` filters the same value. Builders that take a [`Want`] leave
//! out what the request's tree does not name (nobody could see it), so a large listing
//! costs what its response holds, not what the full objects would.

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use rules::label_expr::LabelExpr;
use serde_json::{Map, Value, json};

use super::version::JenkinsVersion;
use crate::export::{CLASS, INLINE, RAW, VIS};
use crate::http::escape_html;
use crate::state::{Agent, FakeState, QueueItem, QueueState, RunningBuild};
use crate::tree::Want;
use crate::why::{self, Node, World};

mod history;

const PLACEHOLDER_TASK: &str =
    "org.jenkinsci.plugins.workflow.support.steps.ExecutorStepExecution$PlaceholderTask";

pub struct Ctx<'a> {
    pub state: &'a FakeState,
    pub version: JenkinsVersion,
    /// Absolute root URL with trailing slash, as Jenkins renders `url` properties.
    pub root: String,
    pub now_ms: i64,
    /// Built once per response: rendering the queue consults it for every item.
    world: OnceCell<World<'a>>,
    /// Label-wide counts by expression, per response: every computer carries `linux`.
    label_stats: RefCell<HashMap<String, Rc<LabelStats>>>,
    /// Agent index by name, the first of a name winning (as a search would find it).
    agent_by_name: OnceCell<HashMap<&'a str, usize>>,
    /// Jobs with a running build (their colour animates).
    busy_jobs: OnceCell<HashSet<&'a str>>,
    /// Jobs queued as pipelines (`label_exposed: false`).
    pipeline_jobs: OnceCell<HashSet<&'a str>>,
}

/// Inserts a property unless the request's tree leaves it out; `value` runs only if needed.
fn put(obj: &mut Map<String, Value>, want: Want, key: &str, value: impl FnOnce() -> Value) {
    if want.has(key) {
        obj.insert(key.to_owned(), value());
    }
}

impl<'a> Ctx<'a> {
    pub fn new(state: &'a FakeState, host: &str, now_ms: i64) -> Ctx<'a> {
        Ctx {
            state,
            version: JenkinsVersion::parse(&state.jenkins_version),
            root: format!("http://{host}/"),
            now_ms,
            world: OnceCell::new(),
            label_stats: RefCell::default(),
            agent_by_name: OnceCell::new(),
            busy_jobs: OnceCell::new(),
            pipeline_jobs: OnceCell::new(),
        }
    }

    fn object(&self, class: &str) -> Map<String, Value> {
        let mut obj = Map::new();
        if self.state.class_fields {
            obj.insert(CLASS.to_owned(), json!(class));
        }
        obj
    }

    pub fn world(&self) -> &World<'a> {
        self.world.get_or_init(|| World {
            version: self.version.clone(),
            label_memo: Default::default(),
            label_index: Default::default(),
            first_running: Default::default(),
            agents: self.state.agents.iter().map(Node::agent).collect(),
            builtin: Node {
                name: self.version.builtin_display_name(),
                labels: vec![self.version.builtin_label()],
                online: true,
            },
            running: self
                .state
                .agents
                .iter()
                .flat_map(|a| a.running.iter().map(|r| (r.job.as_str(), r.number)))
                .collect(),
        })
    }

    pub fn job_url(&self, job: &str) -> String {
        let path: Vec<String> = job
            .split('/')
            .map(|p| format!("job/{}/", encode_segment(p)))
            .collect();
        format!("{}{}", self.root, path.concat())
    }

    fn build_ref(&self, build: &RunningBuild, want: Want) -> Value {
        let mut obj = self.object("hudson.model.FreeStyleBuild");
        put(&mut obj, want, "number", || json!(build.number));
        put(&mut obj, want, "url", || {
            json!(format!("{}{}/", self.job_url(&build.job), build.number))
        });
        if want.annotations() {
            obj.insert(VIS.into(), json!({"number": 999, "url": 999}));
        }
        Value::Object(obj)
    }

    fn running_build(&self, build: &RunningBuild, agent: &str, want: Want) -> Value {
        let Value::Object(mut obj) = self.build_ref(build, want) else {
            unreachable!("build_ref builds an object")
        };
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        put(&mut obj, want, "building", || json!(true));
        put(&mut obj, want, "builtOn", || json!(agent));
        put(&mut obj, want, "displayName", || {
            json!(format!("#{}", build.number))
        });
        put(&mut obj, want, "duration", || json!(0));
        put(&mut obj, want, "estimatedDuration", || json!(120_000));
        put(&mut obj, want, "executor", || json!({}));
        put(&mut obj, want, "fullDisplayName", || {
            json!(format!("{} #{}", build.job, build.number))
        });
        put(&mut obj, want, "id", || json!(build.number.to_string()));
        put(&mut obj, want, "queueId", || json!(build.build_id()));
        put(&mut obj, want, "result", || Value::Null);
        put(&mut obj, want, "timestamp", || json!(started));
        Value::Object(obj)
    }

    fn executors(&self, count: u32, running: &[RunningBuild], agent: &str, want: Want) -> Value {
        let slots = (count as usize).max(running.len());
        let executors: Vec<Value> = (0..slots)
            .map(|i| {
                let build = running.get(i);
                let mut obj = Map::new();
                put(&mut obj, want, "currentExecutable", || match build {
                    Some(build) => {
                        self.running_build(build, agent, want.child("currentExecutable"))
                    }
                    None => Value::Null,
                });
                put(&mut obj, want, "currentWorkUnit", || match build {
                    Some(_) => json!({}),
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

    /// A label object with label-wide counts (over every node carrying it).
    fn label_ref(&self, name: &str, want: Want) -> Value {
        let mut obj = Map::new();
        put(&mut obj, want, "name", || json!(name));
        let counts = [
            "busyExecutors",
            "idleExecutors",
            "totalExecutors",
            "offline",
        ];
        if counts.iter().any(|c| want.has(c)) {
            let stats = self.label_stats(name);
            put(&mut obj, want, "busyExecutors", || json!(stats.busy));
            put(&mut obj, want, "idleExecutors", || json!(stats.idle));
            put(&mut obj, want, "totalExecutors", || json!(stats.total));
            put(&mut obj, want, "offline", || json!(stats.offline));
        }
        if want.annotations() {
            obj.insert(VIS.into(), json!({"name": 2}));
        }
        Value::Object(obj)
    }

    fn agent_by_name(&self) -> &HashMap<&'a str, usize> {
        self.agent_by_name.get_or_init(|| {
            let mut by_name = HashMap::new();
            for (i, agent) in self.state.agents.iter().enumerate() {
                by_name.entry(agent.name.as_str()).or_insert(i);
            }
            by_name
        })
    }

    fn label_stats(&self, expression: &str) -> Rc<LabelStats> {
        if let Some(stats) = self.label_stats.borrow().get(expression) {
            return stats.clone();
        }
        let world = self.world();
        let nodes = why::label_indices(world, expression);
        let mut stats = LabelStats {
            offline: nodes.iter().all(|&i| !world.node(i).online),
            ..LabelStats::default()
        };
        for &i in nodes.iter() {
            let node = world.node(i);
            if !node.online {
                continue;
            }
            let (executors, busy) = match self.agent_by_name().get(node.name) {
                Some(&a) => {
                    let agent = &self.state.agents[a];
                    (agent.executors as usize, agent.running.len())
                }
                None => (self.state.builtin_executors as usize, 0),
            };
            stats.total += executors;
            stats.busy += busy;
            stats.idle += executors.saturating_sub(busy);
        }
        stats.all_nodes = nodes
            .iter()
            .map(|&i| world.node(i).name.to_owned())
            .collect();
        let stats = Rc::new(stats);
        self.label_stats
            .borrow_mut()
            .insert(expression.to_owned(), stats.clone());
        stats
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
            let description = if message.is_empty() {
                format!("Disconnected by {user}")
            } else {
                format!("Disconnected by {user} : {message}")
            };
            ("hudson.slaves.OfflineCause$UserCause", description)
        } else if message.is_empty() {
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
            json!(self.version.builtin_display_name())
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
        put(&mut obj, want, "idle", || json!(true));
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
        put(&mut obj, want, "oneOffExecutors", || json!([]));
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

    fn task(&self, item: &QueueItem, want: Want) -> Value {
        let pipeline = !item.label_exposed && self.version.exports_labels();
        let mut obj = self.object(if pipeline {
            PLACEHOLDER_TASK
        } else {
            "hudson.model.FreeStyleProject"
        });
        put(&mut obj, want, "name", || json!(item.job));
        put(&mut obj, want, "url", || json!(self.job_url(&item.job)));
        if !pipeline {
            put(&mut obj, want, "color", || json!(self.job_color(&item.job)));
        }
        if item.label_exposed && self.version.exports_labels() {
            put(&mut obj, want, "labelExpression", || json!(item.label));
        }
        if want.annotations() {
            obj.insert(VIS.into(), json!({"name": 999, "url": 999, "color": 2}));
        }
        Value::Object(obj)
    }

    fn job_color(&self, job: &str) -> &'static str {
        let busy = self.busy_jobs.get_or_init(|| {
            self.state
                .agents
                .iter()
                .flat_map(|a| a.running.iter().map(|r| r.job.as_str()))
                .collect()
        });
        if busy.contains(job) {
            "blue_anime"
        } else {
            "blue"
        }
    }

    fn running_of<'s>(
        &'s self,
        job: &'s str,
    ) -> impl Iterator<Item = (&'s Agent, &'s RunningBuild)> + 's {
        self.state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(move |r| (a, r)))
            .filter(move |(_, r)| r.job == job)
    }

    fn cause_actions(&self) -> Value {
        let mut cause = self.object("hudson.model.Cause$UserIdCause");
        cause.insert("shortDescription".into(), json!("Started by user ci"));
        cause.insert("userId".into(), json!("ci"));
        cause.insert("userName".into(), json!("ci"));
        let mut action = self.object("hudson.model.CauseAction");
        action.insert("causes".into(), json!([cause]));
        json!([action])
    }

    /// Whether Jenkins would call the item stuck: only buildable items can be, and an
    /// item whose label is offline always is.
    fn stuck(&self, item: &QueueItem) -> bool {
        if item.state != QueueState::Buildable {
            return false;
        }
        let label_offline = match item.label.as_deref().filter(|l| !l.trim().is_empty()) {
            Some(label) if !self.state.agents.is_empty() => why::label_offline(self.world(), label),
            _ => false,
        };
        item.stuck || label_offline
    }

    pub fn queue_item(&self, item: &QueueItem, want: Want) -> Value {
        let class = match item.state {
            QueueState::Buildable => "hudson.model.Queue$BuildableItem",
            QueueState::Blocked => "hudson.model.Queue$BlockedItem",
            QueueState::Waiting => "hudson.model.Queue$WaitingItem",
        };
        let mut obj = self.object(class);
        put(&mut obj, want, "actions", || self.cause_actions());
        put(&mut obj, want, "blocked", || {
            json!(item.state == QueueState::Blocked)
        });
        put(&mut obj, want, "buildable", || {
            json!(item.state == QueueState::Buildable)
        });
        put(&mut obj, want, "id", || json!(item.id));
        put(&mut obj, want, "inQueueSince", || json!(item.queued_at_ms));
        put(&mut obj, want, "params", || json!(""));
        put(&mut obj, want, "stuck", || json!(self.stuck(item)));
        put(&mut obj, want, "task", || {
            self.task(item, want.child("task"))
        });
        put(&mut obj, want, "url", || {
            json!(format!("queue/item/{}/", item.id))
        });
        put(&mut obj, want, "why", || {
            json!(why::why(item, self.world()))
        });
        match item.state {
            QueueState::Buildable => {
                put(&mut obj, want, "buildableStartMilliseconds", || {
                    json!(item.queued_at_ms + 1)
                });
                put(&mut obj, want, "pending", || json!(item.pending));
            }
            QueueState::Blocked => {
                put(&mut obj, want, "buildableStartMilliseconds", || {
                    json!(item.queued_at_ms + 1)
                });
            }
            QueueState::Waiting => {
                put(&mut obj, want, "timestamp", || {
                    json!(self.now_ms + item.quiet_remaining_ms as i64)
                });
            }
        }
        if want.annotations() {
            obj.insert(RAW.into(), json!(["actions"]));
        }
        Value::Object(obj)
    }

    /// The item a started build left behind at `/queue/item/N/` (Queue$LeftItem); only
    /// builds given an explicit `id` have one, so a removed queue item is simply gone.
    pub fn left_item(&self, id: u64) -> Option<Value> {
        let (_, build) = self
            .state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(move |r| (a, r)))
            .find(|(_, r)| r.id == Some(id))?;
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        let pseudo = QueueItem {
            id,
            job: build.job.clone(),
            queued_at_ms: started - 1_000,
            ..QueueItem::default()
        };
        let mut obj = self.object("hudson.model.Queue$LeftItem");
        obj.insert("actions".into(), self.cause_actions());
        obj.insert("blocked".into(), json!(false));
        obj.insert("buildable".into(), json!(false));
        obj.insert("id".into(), json!(id));
        obj.insert("inQueueSince".into(), json!(pseudo.queued_at_ms));
        obj.insert("params".into(), json!(""));
        obj.insert("stuck".into(), json!(false));
        obj.insert("task".into(), self.task(&pseudo, Want::All));
        obj.insert("url".into(), json!(format!("queue/item/{id}/")));
        obj.insert("why".into(), Value::Null);
        obj.insert("cancelled".into(), json!(false));
        obj.insert("executable".into(), self.build_ref(build, Want::All));
        obj.insert(RAW.into(), json!(["actions"]));
        Some(Value::Object(obj))
    }

    pub fn queue(&self, want: Want) -> Value {
        let mut obj = self.object("hudson.model.Queue");
        put(&mut obj, want, "discoverableItems", || json!([]));
        put(&mut obj, want, "items", || {
            let want = want.child("items");
            self.state
                .queue
                .iter()
                .map(|i| self.queue_item(i, want))
                .collect()
        });
        if want.annotations() {
            obj.insert(INLINE.into(), json!(["items"]));
        }
        Value::Object(obj)
    }

    fn job_names(&self) -> Vec<&str> {
        let queued = self.state.queue.iter().map(|i| i.job.as_str());
        let running = self
            .state
            .agents
            .iter()
            .flat_map(|a| a.running.iter().map(|r| r.job.as_str()));
        let finished = self.state.builds.iter().map(|b| b.job.as_str());
        let mut seen = HashSet::new();
        queued
            .chain(running)
            .chain(finished)
            .filter(|n| seen.insert(*n) && !n.is_empty())
            .collect()
    }

    fn job_ref(&self, name: &str) -> Value {
        let mut obj = self.object(self.job_class(name));
        obj.insert("name".into(), json!(name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("color".into(), json!(self.job_color(name)));
        obj.insert(VIS.into(), json!({"name": 999, "url": 999, "color": 2}));
        Value::Object(obj)
    }

    fn job_class(&self, name: &str) -> &'static str {
        let pipelines = self.pipeline_jobs.get_or_init(|| {
            self.state
                .queue
                .iter()
                .filter(|i| !i.label_exposed)
                .map(|i| i.job.as_str())
                .collect()
        });
        let pipeline = pipelines.contains(name) && self.version.exports_labels();
        if pipeline {
            "org.jenkinsci.plugins.workflow.job.WorkflowJob"
        } else {
            "hudson.model.FreeStyleProject"
        }
    }

    /// Jobs exist in the fake only through the queue and running builds.
    pub fn job(&self, name: &str) -> Option<Value> {
        if !self.job_names().contains(&name) {
            return None;
        }
        let class = self.job_class(name);
        let queued = self.state.queue.iter().find(|i| i.job == name);
        let mut builds: Vec<&RunningBuild> = self.running_of(name).map(|(_, r)| r).collect();
        builds.sort_by_key(|b| std::cmp::Reverse(b.number));
        let last = builds
            .first()
            .map(|b| self.build_ref(b, Want::All))
            .unwrap_or(Value::Null);
        let next = builds.first().map_or(1, |b| b.number + 1);
        let short_name = name.rsplit('/').next().unwrap_or(name);
        let mut obj = self.object(class);
        obj.insert("actions".into(), json!([]));
        obj.insert("description".into(), json!(""));
        obj.insert("displayName".into(), json!(short_name));
        obj.insert("fullDisplayName".into(), json!(name.replace('/', " » ")));
        obj.insert("fullName".into(), json!(name));
        obj.insert("name".into(), json!(short_name));
        obj.insert("url".into(), json!(self.job_url(name)));
        obj.insert("buildable".into(), json!(true));
        obj.insert(
            "builds".into(),
            Value::Array(
                builds
                    .iter()
                    .map(|b| self.build_ref(b, Want::All))
                    .collect(),
            ),
        );
        obj.insert("color".into(), json!(self.job_color(name)));
        obj.insert("inQueue".into(), json!(queued.is_some()));
        obj.insert("lastBuild".into(), last);
        obj.insert("nextBuildNumber".into(), json!(next));
        obj.insert(
            "queueItem".into(),
            queued.map_or(Value::Null, |i| self.queue_item(i, Want::All)),
        );
        obj.insert("concurrentBuild".into(), json!(false));
        obj.insert("disabled".into(), json!(false));
        if class == "hudson.model.FreeStyleProject" && self.version.exports_labels() {
            obj.insert(
                "labelExpression".into(),
                json!(queued.and_then(|i| i.label.clone())),
            );
        }
        obj.insert(INLINE.into(), json!(["queueItem"]));
        Some(Value::Object(obj))
    }

    pub fn label(&self, expression: &str) -> Value {
        let class = match LabelExpr::parse(expression) {
            Ok(LabelExpr::Atom(_)) | Err(_) => "hudson.model.labels.LabelAtom",
            Ok(LabelExpr::And(..)) => "hudson.model.labels.LabelExpression$And",
            Ok(LabelExpr::Or(..)) => "hudson.model.labels.LabelExpression$Or",
            Ok(LabelExpr::Not(..)) => "hudson.model.labels.LabelExpression$Not",
            Ok(LabelExpr::Implies(..)) => "hudson.model.labels.LabelExpression$Implies",
            Ok(LabelExpr::Iff(..)) => "hudson.model.labels.LabelExpression$Iff",
        };
        let stats = self.label_stats(expression);
        let builtin = self.version.builtin_display_name();
        let nodes: Vec<Value> = stats
            .all_nodes
            .iter()
            .map(|n| {
                let (class, node_name) = if n == builtin {
                    ("hudson.model.Hudson", "")
                } else {
                    ("hudson.slaves.DumbSlave", n.as_str())
                };
                let mut obj = self.object(class);
                obj.insert("nodeName".into(), json!(node_name));
                obj.insert(VIS.into(), json!({"nodeName": 2}));
                Value::Object(obj)
            })
            .collect();
        let mut obj = self.object(class);
        obj.insert("actions".into(), json!([]));
        obj.insert("busyExecutors".into(), json!(stats.busy));
        obj.insert("clouds".into(), json!([]));
        obj.insert("description".into(), Value::Null);
        obj.insert("idleExecutors".into(), json!(stats.idle));
        obj.insert(
            "loadStatistics".into(),
            Value::Object(self.object("hudson.model.Label$1")),
        );
        obj.insert("name".into(), json!(why::label_name(expression)));
        obj.insert("nodes".into(), Value::Array(nodes));
        obj.insert("offline".into(), json!(stats.offline));
        obj.insert("tiedJobs".into(), json!([]));
        obj.insert("totalExecutors".into(), json!(stats.total));
        obj.insert("propertiesList".into(), json!([]));
        Value::Object(obj)
    }

    pub fn root(&self, csrf: bool) -> Value {
        let mut view = self.object("hudson.model.AllView");
        view.insert("name".into(), json!("all"));
        view.insert("url".into(), json!(self.root));
        view.insert(VIS.into(), json!({"name": 2, "url": 2}));
        let mut obj = self.object("hudson.model.Hudson");
        obj.insert(
            "assignedLabels".into(),
            json!([self.label_ref(self.version.builtin_label(), Want::All)]),
        );
        obj.insert("mode".into(), json!("NORMAL"));
        obj.insert(
            "nodeDescription".into(),
            json!("the Jenkins controller's built-in node"),
        );
        obj.insert("nodeName".into(), json!(""));
        obj.insert("numExecutors".into(), json!(self.state.builtin_executors));
        obj.insert("description".into(), Value::Null);
        obj.insert("jobs".into(), Value::Array(self.root_jobs()));
        obj.insert("overallLoad".into(), json!({}));
        obj.insert("primaryView".into(), Value::Object(view.clone()));
        obj.insert("quietDownReason".into(), Value::Null);
        obj.insert("quietingDown".into(), json!(false));
        obj.insert("slaveAgentPort".into(), json!(50000));
        obj.insert(
            "unlabeledLoad".into(),
            Value::Object(self.object("jenkins.model.UnlabeledLoadStatistics")),
        );
        obj.insert("url".into(), json!(self.root));
        obj.insert("useCrumbs".into(), json!(csrf));
        obj.insert("useSecurity".into(), json!(true));
        obj.insert("views".into(), json!([view]));
        Value::Object(obj)
    }

    pub fn crumb(&self, crumb: &str) -> Value {
        let mut obj = self.object("hudson.security.csrf.DefaultCrumbIssuer");
        obj.insert("crumb".into(), json!(crumb));
        obj.insert("crumbRequestField".into(), json!(crate::auth::CRUMB_FIELD));
        Value::Object(obj)
    }
}

#[derive(Debug, Default)]
struct LabelStats {
    busy: usize,
    idle: usize,
    total: usize,
    offline: bool,
    all_nodes: Vec<String>,
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

/// Percent-encodes what cannot appear raw in a URL path segment.
pub fn encode_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~()!$*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::{self, render_depth};
    use crate::state::RunningBuild;
    use crate::tree;

    fn state() -> FakeState {
        let agent = |name: &str, labels: &[&str], running: usize, connected: bool| Agent {
            name: name.into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            executors: 2,
            running: (0..running)
                .map(|n| RunningBuild {
                    job: format!("job-{n}"),
                    number: 7 + n as u64,
                    started_at_ms: Some(1_000),
                    ..RunningBuild::default()
                })
                .collect(),
            connected,
            offline_since_ms: Some(5),
            ..Agent::default()
        };
        let item = |id: u64, label: &str, state: QueueState, exposed: bool| QueueItem {
            id,
            job: format!("job-{}", id % 3),
            label: Some(label.into()),
            state,
            queued_at_ms: 100,
            label_exposed: exposed,
            ..QueueItem::default()
        };
        FakeState {
            agents: vec![
                agent("a1", &["linux", "docker"], 1, true),
                agent("a2", &["linux"], 3, false),
                agent("a1", &["mac"], 0, true),
            ],
            queue: vec![
                item(1, "linux && docker", QueueState::Buildable, true),
                item(2, "mac", QueueState::Blocked, false),
                item(3, "gpu", QueueState::Waiting, true),
                item(4, "linux", QueueState::Buildable, false),
            ],
            builtin_executors: 1,
            ..FakeState::default()
        }
    }

    /// Building only what a tree wants renders exactly what filtering the full object does.
    #[test]
    fn wanted_builds_render_like_full_ones() {
        let state = state();
        let ctx = Ctx::new(&state, "h", 10_000);
        let trees = [
            "items[_class,id,why,blocked,buildable,stuck,pending,inQueueSince,task[name,labelExpression]]",
            "items[*],discoverableItems",
            "items[task,actions[causes[shortDescription]],url,timestamp]{1,3}",
            "items[task[*]],items[id]",
            "computer[_class,displayName,offline,temporarilyOffline,idle,numExecutors,offlineCauseReason,assignedLabels[name],executors[idle]]",
            "computer[executors[currentExecutable[url,number,id,queueId,executor]],offlineCause[*],monitorData]",
            "computer[assignedLabels[name,busyExecutors,idleExecutors,totalExecutors,offline]]{1,}",
            "computer[assignedLabels],computer[executors[*]],busyExecutors,totalExecutors",
        ];
        for text in trees {
            let nodes = tree::parse(text).expect("parses");
            let (full, wanted) = if text.starts_with("items") {
                (ctx.queue(Want::All), ctx.queue(Want::Only(&nodes)))
            } else {
                (
                    ctx.computer_set(Want::All),
                    ctx.computer_set(Want::Only(&nodes)),
                )
            };
            assert_eq!(
                tree::filter(&full, &nodes),
                tree::filter_owned(wanted, &nodes),
                "{text}"
            );
        }
        for depth in 0..3 {
            assert_eq!(
                render_depth(&ctx.computer_set(Want::All), depth),
                export::render_depth_owned(ctx.computer_set(Want::All), depth)
            );
        }
    }
}
