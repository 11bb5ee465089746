//! The nodes as the queue sees them (name, labels, online), with the running builds that
//! block items, built once per response and indexed by label on first use.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::jenkins::locale::Lang;
use crate::jenkins::version::JenkinsVersion;
use crate::state::Agent;

/// A node as the queue sees it: its name, whether it carries a label, whether it is online.
pub struct Node<'a> {
    pub name: &'a str,
    pub labels: Vec<&'a str>,
    pub online: bool,
}

impl<'a> Node<'a> {
    pub fn agent(agent: &'a Agent) -> Node<'a> {
        let mut labels: Vec<&str> = agent.labels.iter().map(String::as_str).collect();
        labels.push(&agent.name);
        Node {
            name: &agent.name,
            labels,
            online: !agent.offline(),
        }
    }
}

pub struct World<'a> {
    pub version: JenkinsVersion,
    /// The language the request asked for (`Accept-Language`), German when none.
    pub lang: Lang,
    /// Agents only; Jenkins' `getNodes()` does not include the built-in node.
    pub agents: Vec<Node<'a>>,
    pub builtin: Node<'a>,
    /// Idle executors of the built-in node (the fake runs no build on them: Pipeline runs
    /// take one-off executors). Only an idle executor refuses an item with a reason.
    pub builtin_idle_executors: u32,
    /// Running builds as (job, number), to name the build that blocks an item.
    pub running: Vec<(&'a str, u64)>,
    /// Label expression → indices of the nodes it selects (agents, then the built-in
    /// node). A queue of thousands of items names a few dozen labels: evaluate each once.
    pub label_memo: RefCell<HashMap<String, Rc<Vec<usize>>>>,
    /// Label → indices of the nodes carrying it, built on first use: a computer listing
    /// asks about every node's own name, and a single label is a look-up, not a scan.
    pub label_index: OnceCell<HashMap<&'a str, Vec<usize>>>,
    /// Job → number of its first running build (what `running` would find first).
    pub first_running: OnceCell<HashMap<&'a str, u64>>,
}

impl<'a> World<'a> {
    /// The node at an index of `label_memo`: agents first, then the built-in node.
    pub fn node(&self, index: usize) -> &Node<'a> {
        self.agents.get(index).unwrap_or(&self.builtin)
    }

    pub(super) fn nodes_with(&self, label: &str) -> Vec<usize> {
        let index = self.label_index.get_or_init(|| {
            let mut index: HashMap<&'a str, Vec<usize>> = HashMap::new();
            let nodes = self.agents.iter().chain(std::iter::once(&self.builtin));
            for (i, node) in nodes.enumerate() {
                for label in &node.labels {
                    let carriers = index.entry(*label).or_default();
                    if carriers.last() != Some(&i) {
                        carriers.push(i);
                    }
                }
            }
            index
        });
        index.get(label).cloned().unwrap_or_default()
    }

    pub(super) fn running_number(&self, job: &str) -> Option<u64> {
        let first = self.first_running.get_or_init(|| {
            let mut first = HashMap::new();
            for (job, number) in &self.running {
                first.entry(*job).or_insert(*number);
            }
            first
        });
        first.get(job).copied()
    }
}
