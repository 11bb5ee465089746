//! The context every exported object is built in: the state, the version it plays, the
//! root URL and the clock, with the look-ups a large response would otherwise repeat per
//! item (computed once per response, on first use).

use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use serde_json::{Map, Value, json};

use crate::auth::Identity;
use crate::export::CLASS;
use crate::jenkins::locale::Lang;
use crate::jenkins::version::JenkinsVersion;
use crate::jenkins::why::{Node, World};
use crate::state::{FakeState, JobRead};
use crate::tree::Want;

pub struct Ctx<'a> {
    pub state: &'a FakeState,
    pub version: JenkinsVersion,
    /// The request's language (`Accept-Language`): `why`, offline causes and the
    /// built-in node's name are worded in it.
    pub lang: Lang,
    /// Absolute root URL with trailing slash, as Jenkins renders `url` properties.
    pub root: String,
    pub now_ms: i64,
    /// The caller's Job/Read: what of the queue, jobs and executors it sees.
    pub job_read: &'a JobRead,
    /// Built once per response: rendering the queue consults it for every item.
    pub(super) world: OnceCell<World<'a>>,
    /// Label-wide counts by expression, per response: every computer carries `linux`.
    pub(super) label_stats: RefCell<HashMap<String, Rc<LabelStats>>>,
    /// Agent index by name, the first of a name winning (as a search would find it).
    pub(super) agent_by_name: OnceCell<HashMap<&'a str, usize>>,
    /// Jobs with a running build (their colour animates).
    pub(super) busy_jobs: OnceCell<HashSet<&'a str>>,
    /// Jobs queued as pipelines (`label_exposed: false`).
    pub(super) pipeline_jobs: OnceCell<HashSet<&'a str>>,
}

/// Inserts a property unless the request's tree leaves it out; `value` runs only if needed.
pub(super) fn put(
    obj: &mut Map<String, Value>,
    want: Want,
    key: &str,
    value: impl FnOnce() -> Value,
) {
    if want.has(key) {
        obj.insert(key.to_owned(), value());
    }
}

impl<'a> Ctx<'a> {
    pub fn new(state: &'a FakeState, host: &str, now_ms: i64, lang: Lang) -> Ctx<'a> {
        Ctx {
            state,
            version: JenkinsVersion::parse(&state.jenkins_version),
            lang,
            root: format!("http://{host}/"),
            now_ms,
            job_read: &EVERY_JOB,
            world: OnceCell::new(),
            label_stats: RefCell::default(),
            agent_by_name: OnceCell::new(),
            busy_jobs: OnceCell::new(),
            pipeline_jobs: OnceCell::new(),
        }
    }

    /// The same context for a request by `identity`: a state user's `job_read`; anonymous
    /// (let in by `anonymous_read`) reads every job.
    pub fn reading_as(mut self, identity: &Identity) -> Ctx<'a> {
        self.job_read = job_read(self.state, identity);
        self
    }

    /// Whether the caller holds Job/Read on the job or folder `full_name` (what filters the
    /// queue, `Queue.getItems`, and executors, `Executor.getCurrentExecutableForApi`).
    pub fn can_read(&self, full_name: &str) -> bool {
        self.job_read.can_read(full_name)
    }

    /// Whether the caller reaches `full_name` by URL or sees it in a listing: Job/Read on it
    /// and on every folder around it (`Jenkins.getItem`, `getItems`).
    pub fn can_reach(&self, full_name: &str) -> bool {
        self.job_read.can_reach(full_name)
    }

    pub(super) fn object(&self, class: &str) -> Map<String, Value> {
        let mut obj = Map::new();
        if self.state.class_fields {
            obj.insert(CLASS.to_owned(), json!(class));
        }
        obj
    }

    pub fn world(&self) -> &World<'a> {
        self.world.get_or_init(|| World {
            version: self.version.clone(),
            lang: self.lang,
            label_memo: Default::default(),
            label_index: Default::default(),
            first_running: Default::default(),
            agents: self.state.agents.iter().map(Node::agent).collect(),
            builtin: Node {
                name: self.builtin_display_name(),
                labels: vec![self.version.builtin_label()],
                online: true,
            },
            builtin_idle_executors: self.state.builtin_executors,
            running: self
                .state
                .agents
                .iter()
                .flat_map(|a| a.running.iter().map(|r| (r.job.as_str(), r.number)))
                .collect(),
        })
    }

    /// `Hudson.Computer.DisplayName` of hudson/model/Messages*.properties (MasterComputer's
    /// getDisplayName): German has kept `master` while English became `Built-In Node`.
    pub fn builtin_display_name(&self) -> &'static str {
        match self.lang {
            Lang::English => self.version.builtin_display_name(),
            Lang::German => "master",
        }
    }

    pub fn job_url(&self, job: &str) -> String {
        let path: Vec<String> = job
            .split('/')
            .map(|p| format!("job/{}/", encode_segment(p)))
            .collect();
        format!("{}{}", self.root, path.concat())
    }
}

static EVERY_JOB: JobRead = JobRead::All(true);

/// The Job/Read of a request's caller (see [`Ctx::reading_as`]).
pub fn job_read<'a>(state: &'a FakeState, identity: &Identity) -> &'a JobRead {
    identity
        .user()
        .and_then(|user| state.auth.users.iter().find(|u| u.user == user))
        .map_or(&EVERY_JOB, |user| &user.job_read)
}

/// Percent-encodes what cannot appear raw in a URL path segment.
pub(super) fn encode_segment(text: &str) -> String {
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

/// Label-wide executor counts of one label expression, cached per response.
#[derive(Debug, Default)]
pub(super) struct LabelStats {
    pub(super) busy: usize,
    pub(super) idle: usize,
    pub(super) total: usize,
    pub(super) offline: bool,
    pub(super) all_nodes: Vec<String>,
}
