//! TeamCity's REST entities, built in full from the state and annotated with the
//! `fields` metas (`$short`, `$long`, `$keep`, `$collection`) that decide what the
//! default views show.

use serde_json::{Map, Value, json};

use crate::fields::{COLLECTION, KEEP, LONG, SHORT};
use crate::state::{Agent, Comment, FakeState, QueueItem, RunningBuild};

pub struct Tc<'a> {
    pub state: &'a FakeState,
    /// `/httpAuth`, `/guestAuth` or empty: echoed into every href.
    pub prefix: &'a str,
    /// `http://host` for `webUrl`s.
    pub web: String,
    pub now_ms: i64,
}

/// Which agent flag an `…Info` endpoint talks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    Enabled,
    Authorized,
}

impl Flag {
    pub fn name(self) -> &'static str {
        match self {
            Flag::Enabled => "enabled",
            Flag::Authorized => "authorized",
        }
    }

    pub fn get(self, agent: &Agent) -> bool {
        match self {
            Flag::Enabled => agent.enabled,
            Flag::Authorized => agent.authorized,
        }
    }

    pub fn set(self, agent: &mut Agent, value: bool, comment: Comment) {
        match self {
            Flag::Enabled => {
                agent.enabled = value;
                agent.enabled_comment = Some(comment);
            }
            Flag::Authorized => {
                agent.authorized = value;
                agent.authorized_comment = Some(comment);
            }
        }
    }

    fn comment(self, agent: &Agent) -> Option<&Comment> {
        match self {
            Flag::Enabled => agent.enabled_comment.as_ref(),
            Flag::Authorized => agent.authorized_comment.as_ref(),
        }
    }
}

/// TeamCity's compact timestamp, `yyyyMMdd'T'HHmmssZ`.
pub fn tc_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%S%z")
        .to_string()
}

fn with_meta(
    mut obj: Map<String, Value>,
    short: &[&str],
    long: Option<&[&str]>,
    keep: &[&str],
) -> Value {
    obj.insert(SHORT.into(), json!(short));
    if let Some(long) = long {
        obj.insert(LONG.into(), json!(long));
    }
    if !keep.is_empty() {
        obj.insert(KEEP.into(), json!(keep));
    }
    Value::Object(obj)
}

pub fn collection(
    item_key: &str,
    href: Option<String>,
    next: Option<String>,
    prev: Option<String>,
    items: Vec<Value>,
) -> Value {
    let mut obj = Map::new();
    obj.insert("count".into(), json!(items.len()));
    if let Some(href) = href {
        obj.insert("href".into(), json!(href));
    }
    if let Some(next) = next {
        obj.insert("nextHref".into(), json!(next));
    }
    if let Some(prev) = prev {
        obj.insert("prevHref".into(), json!(prev));
    }
    obj.insert(item_key.into(), Value::Array(items));
    obj.insert(COLLECTION.into(), json!(item_key));
    with_meta(
        obj,
        &["count", "href", "nextHref", "prevHref", item_key],
        None,
        &[],
    )
}

impl<'a> Tc<'a> {
    pub fn href(&self, path: &str) -> String {
        format!("{}/app/rest/{path}", self.prefix)
    }

    pub fn agent_id(&self, index: usize) -> u64 {
        self.state.agents[index].id.unwrap_or(index as u64 + 1)
    }

    /// Pools by id: Default is 0, the others numbered in order of first mention.
    pub fn pools(&self) -> Vec<(u64, String)> {
        let mut pools = vec![(0, "Default".to_owned())];
        let names = self.state.agents.iter().map(|a| &a.pool).chain(
            self.state
                .queue
                .iter()
                .flat_map(|q| q.pools.iter().chain(q.pinned_pool.iter())),
        );
        for name in names {
            if !name.is_empty() && !pools.iter().any(|(_, n)| n == name) {
                pools.push((pools.len() as u64, name.clone()));
            }
        }
        pools
    }

    pub fn pool_of(&self, agent: &Agent) -> (u64, String) {
        let name = if agent.pool.is_empty() {
            "Default"
        } else {
            agent.pool.as_str()
        };
        self.pools()
            .into_iter()
            .find(|(_, n)| n == name)
            .unwrap_or((0, "Default".to_owned()))
    }

    pub fn pool_ref(&self, id: u64, name: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("name".into(), json!(name));
        obj.insert(
            "href".into(),
            json!(self.href(&format!("agentPools/id:{id}"))),
        );
        with_meta(obj, &["id", "name", "href"], None, &[])
    }

    fn user(&self, username: &str) -> Value {
        json!({"username": username, "id": 1, "href": self.href("users/id:1")})
    }

    pub fn flag_info(&self, agent: &Agent, flag: Flag) -> Value {
        let mut obj = Map::new();
        obj.insert("status".into(), json!(flag.get(agent)));
        if let Some(comment) = flag.comment(agent) {
            let mut c = Map::new();
            c.insert("user".into(), self.user(&comment.user));
            c.insert("timestamp".into(), json!(tc_date(comment.timestamp_ms)));
            if let Some(text) = &comment.text {
                c.insert("text".into(), json!(text));
            }
            obj.insert("comment".into(), Value::Object(c));
        }
        with_meta(obj, &["status", "comment"], None, &["status"])
    }

    pub fn agent(&self, index: usize, with_build: bool) -> Value {
        let agent = &self.state.agents[index];
        let id = self.agent_id(index);
        let (pool_id, pool_name) = self.pool_of(agent);
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("name".into(), json!(agent.name));
        obj.insert("typeId".into(), json!(id));
        obj.insert("connected".into(), json!(agent.connected));
        obj.insert("enabled".into(), json!(agent.enabled));
        obj.insert("authorized".into(), json!(agent.authorized));
        obj.insert("uptodate".into(), json!(true));
        obj.insert("ip".into(), json!(agent_ip(id)));
        obj.insert("protocol".into(), json!("unidirectional"));
        obj.insert("version".into(), json!("186370"));
        obj.insert("href".into(), json!(self.href(&format!("agents/id:{id}"))));
        obj.insert(
            "webUrl".into(),
            json!(format!(
                "{}/agentDetails.html?id={id}&agentTypeId={id}&realAgentName={}",
                self.web, agent.name
            )),
        );
        obj.insert("enabledInfo".into(), self.flag_info(agent, Flag::Enabled));
        obj.insert(
            "authorizedInfo".into(),
            self.flag_info(agent, Flag::Authorized),
        );
        obj.insert(
            "properties".into(),
            collection("property", None, None, None, Vec::new()),
        );
        obj.insert("pool".into(), self.pool_ref(pool_id, &pool_name));
        if with_build && let Some(build) = agent.running.first() {
            obj.insert("build".into(), self.running_build(index, build));
        }
        with_meta(
            obj,
            &["id", "name", "typeId", "href", "webUrl"],
            Some(&[
                "id",
                "name",
                "typeId",
                "connected",
                "enabled",
                "authorized",
                "uptodate",
                "ip",
                "protocol",
                "version",
                "href",
                "webUrl",
                "build",
                "enabledInfo",
                "authorizedInfo",
                "properties",
                "pool",
            ]),
            &["connected", "enabled", "authorized"],
        )
    }

    fn build_type(&self, id: &str) -> Value {
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("name".into(), json!(id));
        obj.insert("projectName".into(), json!("ci-fleet"));
        obj.insert("projectId".into(), json!("CiFleet"));
        obj.insert(
            "href".into(),
            json!(self.href(&format!("buildTypes/id:{id}"))),
        );
        obj.insert(
            "webUrl".into(),
            json!(format!("{}/viewType.html?buildTypeId={id}", self.web)),
        );
        Value::Object(obj)
    }

    pub fn running_builds(&self) -> Vec<(usize, &'a RunningBuild)> {
        self.state
            .agents
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.running.iter().map(move |r| (i, r)))
            .collect()
    }

    pub fn running_build(&self, agent_index: usize, build: &RunningBuild) -> Value {
        let id = build.build_id();
        let started = build.started_at_ms.unwrap_or(self.now_ms - 60_000);
        let progress = build.progress();
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("buildTypeId".into(), json!(build.job));
        obj.insert("number".into(), json!(build.number.to_string()));
        obj.insert("status".into(), json!("SUCCESS"));
        obj.insert("state".into(), json!("running"));
        obj.insert("percentageComplete".into(), json!(progress));
        obj.insert("href".into(), json!(self.href(&format!("builds/id:{id}"))));
        obj.insert(
            "webUrl".into(),
            json!(format!(
                "{}/viewLog.html?buildId={id}&buildTypeId={}",
                self.web, build.job
            )),
        );
        obj.insert("statusText".into(), json!("Running"));
        obj.insert("buildType".into(), self.build_type(&build.job));
        obj.insert("queuedDate".into(), json!(tc_date(started - 5_000)));
        obj.insert("startDate".into(), json!(tc_date(started)));
        obj.insert("agent".into(), self.agent(agent_index, false));
        let elapsed = (self.now_ms - started).max(0) / 1000;
        obj.insert(
            "running-info".into(),
            json!({
                "percentageComplete": progress,
                "elapsedSeconds": elapsed,
                "estimatedTotalSeconds": if progress > 0 { elapsed * 100 / i64::from(progress) } else { 0 },
                "currentStageText": "Running build steps",
                "outdated": false,
                "probablyHanging": false,
            }),
        );
        with_meta(
            obj,
            &[
                "id",
                "buildTypeId",
                "number",
                "status",
                "state",
                "percentageComplete",
                "href",
                "webUrl",
            ],
            Some(&[
                "id",
                "buildTypeId",
                "number",
                "status",
                "state",
                "percentageComplete",
                "href",
                "webUrl",
                "statusText",
                "buildType",
                "queuedDate",
                "startDate",
                "agent",
            ]),
            &[],
        )
    }

    /// Pools a queued build can run in: the one it is pinned to, else its compatible ones.
    fn item_pools(&self, item: &QueueItem) -> Vec<String> {
        match &item.pinned_pool {
            Some(pool) => vec![pool.clone()],
            None => item.pools.clone(),
        }
    }

    /// Connected, enabled, authorized agents in the item's pools.
    pub fn compatible(&self, item: &QueueItem) -> Vec<usize> {
        let pools = self.item_pools(item);
        (0..self.state.agents.len())
            .filter(|&i| {
                let agent = &self.state.agents[i];
                agent.connected
                    && agent.enabled
                    && agent.authorized
                    && pools.contains(&self.pool_of(agent).1)
            })
            .collect()
    }

    /// Agents `compatible:(build:(id:N))` names: in the item's pools; the locator adds
    /// `connected:true` itself (enabled is not implied for build compatibility).
    pub fn in_item_pools(&self, item: &QueueItem) -> Vec<usize> {
        let pools = self.item_pools(item);
        (0..self.state.agents.len())
            .filter(|&i| pools.contains(&self.pool_of(&self.state.agents[i]).1))
            .collect()
    }

    fn wait_reason(&self, item: &QueueItem, compatible: &[usize]) -> String {
        if let Some(reason) = &item.wait_reason {
            return reason.clone();
        }
        if compatible.is_empty() {
            "There are no compatible agents which can run this build".to_owned()
        } else {
            "There are no idle compatible agents which can run this build".to_owned()
        }
    }

    pub fn queued(&self, item: &QueueItem) -> Value {
        let id = item.id;
        let compatible = self.compatible(item);
        let mut obj = Map::new();
        obj.insert("id".into(), json!(id));
        obj.insert("buildTypeId".into(), json!(item.job));
        obj.insert("state".into(), json!("queued"));
        obj.insert(
            "href".into(),
            json!(self.href(&format!("buildQueue/id:{id}"))),
        );
        obj.insert(
            "webUrl".into(),
            json!(format!("{}/viewQueued.html?itemId={id}", self.web)),
        );
        obj.insert("buildType".into(), self.build_type(&item.job));
        obj.insert("queuedDate".into(), json!(tc_date(item.queued_at_ms)));
        obj.insert(
            "waitReason".into(),
            json!(self.wait_reason(item, &compatible)),
        );
        let agents = compatible.iter().map(|&i| self.agent(i, false)).collect();
        let Value::Object(mut compat) = collection(
            "agent",
            Some(self.href(&format!("agents?locator=compatible:(build:(id:{id}))"))),
            None,
            None,
            agents,
        ) else {
            unreachable!("collection builds an object")
        };
        compat.insert(SHORT.into(), json!(["href"]));
        obj.insert("compatibleAgents".into(), Value::Object(compat));
        if let Some(pool) = &item.pinned_pool {
            let (pool_id, pool_name) = self
                .pools()
                .into_iter()
                .find(|(_, n)| n == pool)
                .unwrap_or((0, "Default".to_owned()));
            let mut agent = Map::new();
            agent.insert("pool".into(), self.pool_ref(pool_id, &pool_name));
            obj.insert("agent".into(), with_meta(agent, &["pool"], None, &[]));
        }
        with_meta(
            obj,
            &["id", "buildTypeId", "state", "href", "webUrl"],
            Some(&[
                "id",
                "buildTypeId",
                "state",
                "href",
                "webUrl",
                "buildType",
                "queuedDate",
                "compatibleAgents",
                "agent",
            ]),
            &[],
        )
    }

    pub fn pool(&self, id: u64, name: &str) -> Value {
        let Value::Object(mut obj) = self.pool_ref(id, name) else {
            unreachable!("pool_ref builds an object")
        };
        let members: Vec<Value> = (0..self.state.agents.len())
            .filter(|&i| self.pool_of(&self.state.agents[i]).0 == id)
            .map(|i| self.agent(i, false))
            .collect();
        obj.insert("maxAgents".into(), json!(-1));
        obj.insert(
            "projects".into(),
            collection("project", None, None, None, Vec::new()),
        );
        obj.insert(
            "agents".into(),
            collection(
                "agent",
                Some(self.href(&format!("agents?locator=pool:(id:{id})"))),
                None,
                None,
                members,
            ),
        );
        obj.insert(
            LONG.into(),
            json!(["id", "name", "href", "maxAgents", "projects", "agents"]),
        );
        Value::Object(obj)
    }

    pub fn server(&self, started_ms: i64) -> Value {
        let mut obj = Map::new();
        obj.insert("version".into(), json!("2025.03.3 (build 186370)"));
        obj.insert("versionMajor".into(), json!(2025));
        obj.insert("versionMinor".into(), json!(3));
        obj.insert("startTime".into(), json!(tc_date(started_ms)));
        obj.insert("currentTime".into(), json!(tc_date(self.now_ms)));
        obj.insert("buildNumber".into(), json!("186370"));
        obj.insert("buildDate".into(), json!("20250630T000000+0000"));
        obj.insert(
            "internalId".into(),
            json!("0f1c2d3e-4a5b-6c7d-8e9f-a0b1c2d3e4f5"),
        );
        obj.insert("role".into(), json!("main_node"));
        obj.insert("webUrl".into(), json!(self.web));
        for (key, path) in [
            ("projects", "projects"),
            ("vcsRoots", "vcs-roots"),
            ("builds", "builds"),
            ("users", "users"),
            ("userGroups", "userGroups"),
            ("agents", "agents"),
            ("buildQueue", "buildQueue"),
            ("agentPools", "agentPools"),
            ("investigations", "investigations"),
            ("mutes", "mutes"),
            ("nodes", "server/nodes"),
        ] {
            obj.insert(key.into(), json!({"href": self.href(path)}));
        }
        Value::Object(obj)
    }
}

fn agent_ip(id: u64) -> String {
    format!("10.0.{}.{}", id / 250, id % 250 + 1)
}
