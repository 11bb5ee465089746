//! TeamCity's REST entities, built in full from the state and annotated with the
//! `fields` metas (`$short`, `$long`, `$keep`, `$collection`) that decide what the
//! default views show.

use std::cell::OnceCell;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use crate::fields::{COLLECTION, KEEP, LONG, SHORT, Sel};
use crate::state::{Agent, Comment, FakeState, QueueItem, RunningBuild};

mod history;

pub struct Tc<'a> {
    pub state: &'a FakeState,
    /// `/httpAuth`, `/guestAuth` or empty: echoed into every href.
    pub prefix: &'a str,
    /// `http://host` for `webUrl`s.
    pub web: String,
    pub now_ms: i64,
    /// Pools numbered once per request (see [`Tc::pools`]).
    pool_list: OnceCell<Vec<(u64, String)>>,
    /// Each agent's pool id, by agent index: listings ask for it per agent and item.
    agent_pools: OnceCell<Vec<u64>>,
    /// Agent indices by pool id: a queue page asks each item for its pools' agents.
    pool_members: OnceCell<Vec<Vec<usize>>>,
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
    pub fn new(state: &'a FakeState, prefix: &'a str, web: String, now_ms: i64) -> Tc<'a> {
        Tc {
            state,
            prefix,
            web,
            now_ms,
            pool_list: OnceCell::new(),
            agent_pools: OnceCell::new(),
            pool_members: OnceCell::new(),
        }
    }

    pub fn href(&self, path: &str) -> String {
        format!("{}/app/rest/{path}", self.prefix)
    }

    pub fn agent_id(&self, index: usize) -> u64 {
        self.state.agents[index].id.unwrap_or(index as u64 + 1)
    }

    /// Pools by id: Default is 0, the others numbered in order of first mention.
    pub fn pools(&self) -> Vec<(u64, String)> {
        self.pool_list().to_vec()
    }

    /// [`Tc::pools`], computed once; a pool's id is its position.
    fn pool_list(&self) -> &[(u64, String)] {
        self.pool_list.get_or_init(|| {
            let mut pools = vec![(0, "Default".to_owned())];
            let mut seen: HashMap<&str, ()> = HashMap::from([("Default", ())]);
            let names = self.state.agents.iter().map(|a| &a.pool).chain(
                self.state
                    .queue
                    .iter()
                    .flat_map(|q| q.pools.iter().chain(q.pinned_pool.iter())),
            );
            for name in names {
                if !name.is_empty() && seen.insert(name, ()).is_none() {
                    pools.push((pools.len() as u64, name.clone()));
                }
            }
            pools
        })
    }

    /// The id of the pool named so, if there is one.
    fn pool_id(&self, name: &str) -> Option<u64> {
        self.pool_list()
            .iter()
            .find(|(_, n)| n == name)
            .map(|(id, _)| *id)
    }

    /// The pool of the agent at `index`, as [`Tc::pool_of`] names it.
    fn agent_pool(&self, index: usize) -> (u64, &str) {
        let ids = self.agent_pools.get_or_init(|| {
            let by_name: HashMap<&str, u64> = self
                .pool_list()
                .iter()
                .map(|(id, n)| (n.as_str(), *id))
                .collect();
            self.state
                .agents
                .iter()
                .map(|a| {
                    let name = if a.pool.is_empty() {
                        "Default"
                    } else {
                        &a.pool
                    };
                    by_name.get(name).copied().unwrap_or(0)
                })
                .collect()
        });
        let id = ids[index];
        (id, self.pool_list()[id as usize].1.as_str())
    }

    pub fn pool_of(&self, agent: &Agent) -> (u64, String) {
        let name = if agent.pool.is_empty() {
            "Default"
        } else {
            agent.pool.as_str()
        };
        match self.pool_id(name) {
            Some(id) => (id, name.to_owned()),
            None => (0, "Default".to_owned()),
        }
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
        self.agent_in(index, with_build, Sel::All)
    }

    /// An agent with only what `sel` can show (listings of thousands ask for a few fields).
    pub fn agent_in(&self, index: usize, with_build: bool, sel: Sel) -> Value {
        let agent = &self.state.agents[index];
        let id = self.agent_id(index);
        let mut obj = Map::new();
        let mut put = |key: &str, value: &dyn Fn() -> Value| {
            if sel.has(key) {
                obj.insert(key.to_owned(), value());
            }
        };
        put("id", &|| json!(id));
        put("name", &|| json!(agent.name));
        put("typeId", &|| json!(id));
        put("connected", &|| json!(agent.connected));
        put("enabled", &|| json!(agent.enabled));
        put("authorized", &|| json!(agent.authorized));
        put("uptodate", &|| json!(true));
        put("ip", &|| json!(agent_ip(id)));
        put("protocol", &|| json!("unidirectional"));
        put("version", &|| json!("186370"));
        put("href", &|| json!(self.href(&format!("agents/id:{id}"))));
        put("webUrl", &|| {
            json!(format!(
                "{}/agentDetails.html?id={id}&agentTypeId={id}&realAgentName={}",
                self.web, agent.name
            ))
        });
        put("enabledInfo", &|| self.flag_info(agent, Flag::Enabled));
        put("authorizedInfo", &|| {
            self.flag_info(agent, Flag::Authorized)
        });
        put("properties", &|| {
            collection("property", None, None, None, Vec::new())
        });
        put("pool", &|| {
            let (pool_id, pool_name) = self.agent_pool(index);
            self.pool_ref(pool_id, pool_name)
        });
        if with_build && let Some(build) = agent.running.first() {
            put("build", &|| self.running_build(index, build));
        }
        if !sel.views() {
            return Value::Object(obj);
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

    /// Ids of the pools a queued build can run in: the one it is pinned to, else its
    /// compatible ones (names no agent or item mentions match nothing).
    fn item_pools(&self, item: &QueueItem) -> Vec<u64> {
        match &item.pinned_pool {
            Some(pool) => self.pool_id(pool).into_iter().collect(),
            None => item.pools.iter().filter_map(|p| self.pool_id(p)).collect(),
        }
    }

    /// Connected, enabled, authorized agents in the item's pools.
    pub fn compatible(&self, item: &QueueItem) -> Vec<usize> {
        let mut agents = self.in_item_pools(item);
        agents.retain(|&i| {
            let agent = &self.state.agents[i];
            agent.connected && agent.enabled && agent.authorized
        });
        agents
    }

    /// Agents `compatible:(build:(id:N))` names: in the item's pools; the locator adds
    /// `connected:true` itself (enabled is not implied for build compatibility).
    /// In agent order.
    pub fn in_item_pools(&self, item: &QueueItem) -> Vec<usize> {
        let members = self.pool_members.get_or_init(|| {
            let mut members = vec![Vec::new(); self.pool_list().len()];
            for i in 0..self.state.agents.len() {
                members[self.agent_pool(i).0 as usize].push(i);
            }
            members
        });
        let mut pools = self.item_pools(item);
        pools.sort_unstable();
        pools.dedup();
        let mut agents: Vec<usize> = pools
            .iter()
            .flat_map(|&id| members[id as usize].iter().copied())
            .collect();
        if pools.len() > 1 {
            agents.sort_unstable();
        }
        agents
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

    /// A queued build. `agents` says what the agents listed in `compatibleAgents` need
    /// (see [`crate::fields::items_inside`]); `None`: nothing can show them, so the
    /// collection keeps its count and href and skips building them.
    pub fn queued(&self, item: &QueueItem, agents: Option<Sel>) -> Value {
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
        let agents = match agents {
            Some(sel) => compatible
                .iter()
                .map(|&i| self.agent_in(i, false, sel))
                .collect(),
            None => Vec::new(),
        };
        let Value::Object(mut compat) = collection(
            "agent",
            Some(self.href(&format!("agents?locator=compatible:(build:(id:{id}))"))),
            None,
            None,
            agents,
        ) else {
            unreachable!("collection builds an object")
        };
        compat.insert("count".into(), json!(compatible.len()));
        compat.insert(SHORT.into(), json!(["href"]));
        obj.insert("compatibleAgents".into(), Value::Object(compat));
        if let Some(pool) = &item.pinned_pool {
            let (pool_id, pool_name) = match self.pool_id(pool) {
                Some(id) => (id, pool.as_str()),
                None => (0, "Default"),
            };
            let mut agent = Map::new();
            agent.insert("pool".into(), self.pool_ref(pool_id, pool_name));
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
            .filter(|&i| self.agent_pool(i).0 == id)
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
