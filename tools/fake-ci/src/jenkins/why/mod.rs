//! Jenkins queue `why` texts, generated from the state the way Queue.BuildableItem's
//! getCauseOfBlockage() and hudson/model/Messages.properties produce them. Clients parse
//! these strings with regexes, so the wording, quoting and the "one node → node name"
//! rule must be exact.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use rules::label_expr::LabelExpr;

use crate::jenkins::version::JenkinsVersion;
use crate::state::{Agent, QueueItem, QueueState};

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
    /// Agents only; Jenkins' `getNodes()` does not include the built-in node.
    pub agents: Vec<Node<'a>>,
    pub builtin: Node<'a>,
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

    fn nodes_with(&self, label: &str) -> Vec<usize> {
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

    fn running_number(&self, job: &str) -> Option<u64> {
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

/// The label as Jenkins names it: `Label.getName()` of the parsed expression, which
/// keeps the user's parentheses but drops whitespace (`linux && docker` → `linux&&docker`).
pub fn label_name(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut quoted = false;
    let mut escaped = false;
    for c in expression.trim().chars() {
        if quoted {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                quoted = false;
            }
        } else if c == '"' {
            quoted = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

/// Nodes a label expression selects: every node whose labels (self-label included) satisfy it.
pub fn label_nodes<'w, 'a>(world: &'w World<'a>, expression: &str) -> Vec<&'w Node<'a>> {
    label_indices(world, expression)
        .iter()
        .map(|&i| world.node(i))
        .collect()
}

/// [`label_nodes`] as indices for [`World::node`], memoised per expression.
pub fn label_indices(world: &World, expression: &str) -> Rc<Vec<usize>> {
    if let Some(cached) = world.label_memo.borrow().get(expression) {
        return cached.clone();
    }
    let found = match LabelExpr::parse(expression) {
        Ok(LabelExpr::Atom(label)) => world.nodes_with(&label),
        Ok(expr) => world
            .agents
            .iter()
            .chain(std::iter::once(&world.builtin))
            .enumerate()
            .filter(|(_, node)| expr.matches(|l| node.labels.contains(&l)))
            .map(|(i, _)| i)
            .collect(),
        // Jenkins would refuse to save such a job; treat the text as one atom.
        Err(_) => world.nodes_with(expression.trim()),
    };
    let found = Rc::new(found);
    world
        .label_memo
        .borrow_mut()
        .insert(expression.to_owned(), found.clone());
    found
}

/// Whether every node of the label is offline, which Jenkins also says of an empty label.
pub fn label_offline(world: &World, expression: &str) -> bool {
    label_indices(world, expression)
        .iter()
        .all(|&i| !world.node(i).online)
}

pub fn why(item: &QueueItem, world: &World) -> String {
    if let Some(text) = &item.why_override {
        return text.clone();
    }
    let q = Quotes::new(&world.version);
    match item.state {
        QueueState::Waiting if item.quiet_remaining_ms == 0 => "Finished waiting".to_owned(),
        QueueState::Waiting => format!(
            "In the quiet period. Expires in {}",
            time_span(item.quiet_remaining_ms)
        ),
        QueueState::Blocked => {
            let number = item
                .blocked_by_build
                .or_else(|| world.running_number(&item.job))
                .unwrap_or(1);
            let eta = match item.eta_ms {
                Some(ms) if world.version.fancy_quotes() => format!(" (ETA: {})", time_span(ms)),
                Some(ms) => format!(" (ETA:{})", time_span(ms)),
                None => String::new(),
            };
            format!("Build #{number} is already in progress{eta}")
        }
        QueueState::Buildable => buildable_why(item, world, &q),
    }
}

fn buildable_why(item: &QueueItem, world: &World, q: &Quotes) -> String {
    let Some(label) = item.label.as_deref().filter(|l| !l.trim().is_empty()) else {
        return "Waiting for next available executor".to_owned();
    };
    let name = label_name(label);
    // With no agents at all Jenkins ignores the label and reports the built-in node's
    // refusal; the node's display name there is the Jenkins instance's, "Jenkins".
    if world.agents.is_empty() {
        return format!(
            "{} doesn{}t have label {}",
            q.name("Jenkins"),
            q.apostrophe,
            q.name(&name)
        );
    }
    let nodes = label_nodes(world, label);
    let offline = nodes.iter().all(|n| !n.online);
    match (offline, nodes.as_slice()) {
        (true, []) => format!("There are no nodes with the label {}", q.label(&name)),
        (true, [node]) => format!("{} is offline", q.name(node.name)),
        (true, _) => format!("All nodes of label {} are offline", q.label(&name)),
        (false, [node]) => format!(
            "Waiting for next available executor on {}",
            q.name(node.name)
        ),
        (false, _) => format!("Waiting for next available executor on {}", q.name(&name)),
    }
}

/// Quoting by version: since 2.125 (commit 91ddc6fca7) names and labels sit in U+2018 and
/// U+2019. Before, node names were bare while the label-offline messages used ASCII
/// quotes (`All nodes of label 'foo' are offline`, jenkinsci/jenkins#1252).
struct Quotes {
    fancy: bool,
    apostrophe: &'static str,
}

impl Quotes {
    fn new(version: &JenkinsVersion) -> Quotes {
        let fancy = version.fancy_quotes();
        Quotes {
            fancy,
            apostrophe: if fancy { "\u{2019}" } else { "'" },
        }
    }

    fn name(&self, name: &str) -> String {
        if self.fancy {
            format!("\u{2018}{name}\u{2019}")
        } else {
            name.to_owned()
        }
    }

    fn label(&self, label: &str) -> String {
        if self.fancy {
            format!("\u{2018}{label}\u{2019}")
        } else {
            format!("'{label}'")
        }
    }
}

/// hudson.Util.getTimeSpanString: the two largest units, the second only when the first
/// is below 10; seconds under 10 with one decimal.
pub fn time_span(ms: u64) -> String {
    const SEC: u64 = 1000;
    const MIN: u64 = 60 * SEC;
    const HOUR: u64 = 60 * MIN;
    const DAY: u64 = 24 * HOUR;
    const MONTH: u64 = 30 * DAY;
    const YEAR: u64 = 365 * DAY;
    let years = ms / YEAR;
    let months = ms % YEAR / MONTH;
    let days = ms % YEAR % MONTH / DAY;
    let hours = ms % DAY / HOUR;
    let minutes = ms % HOUR / MIN;
    let seconds = ms % MIN / SEC;
    let millis = ms % SEC;
    let day = |n: u64| format!("{n} {}", if n == 1 { "day" } else { "days" });
    let pair = |big: u64, big_label: String, small_label: String| {
        if big < 10 {
            format!("{big_label} {small_label}")
        } else {
            big_label
        }
    };
    if years > 0 {
        pair(years, format!("{years} yr"), format!("{months} mo"))
    } else if months > 0 {
        pair(months, format!("{months} mo"), day(days))
    } else if days > 0 {
        pair(days, day(days), format!("{hours} hr"))
    } else if hours > 0 {
        pair(hours, format!("{hours} hr"), format!("{minutes} min"))
    } else if minutes > 0 {
        pair(minutes, format!("{minutes} min"), format!("{seconds} sec"))
    } else if seconds >= 10 {
        format!("{seconds} sec")
    } else if seconds >= 1 {
        decimal_seconds(seconds * 10 + millis / 100, 10)
    } else if millis >= 100 {
        decimal_seconds(millis / 10, 100)
    } else {
        format!("{millis} ms")
    }
}

/// Formats `scaled / divisor` seconds the way java.text.NumberFormat prints a float:
/// no trailing zeros, no decimal point for whole numbers.
fn decimal_seconds(scaled: u64, divisor: u64) -> String {
    let whole = scaled / divisor;
    let frac = scaled % divisor;
    if frac == 0 {
        return format!("{whole} sec");
    }
    let width = if divisor == 10 { 1 } else { 2 };
    let digits = format!("{frac:0width$}");
    format!("{whole}.{} sec", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(name: &str, labels: &[&str], online: bool) -> Agent {
        Agent {
            name: name.into(),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            connected: online,
            ..Agent::default()
        }
    }

    fn why_for(version: &str, agents: &[Agent], item: QueueItem) -> String {
        let version = JenkinsVersion::parse(version);
        let world = World {
            version,
            label_memo: Default::default(),
            label_index: Default::default(),
            first_running: Default::default(),
            agents: agents.iter().map(Node::agent).collect(),
            builtin: Node {
                name: "Built-In Node",
                labels: vec!["built-in"],
                online: true,
            },
            running: vec![("app", 41)],
        };
        why(&item, &world)
    }

    fn labelled(label: &str) -> QueueItem {
        QueueItem {
            id: 1,
            job: "app".into(),
            label: Some(label.into()),
            ..QueueItem::default()
        }
    }

    #[test]
    fn buildable_wording_table() {
        let fleet = [
            agent("l1", &["linux", "docker"], true),
            agent("l2", &["linux", "docker"], false),
            agent("w1", &["windows"], false),
            agent("w2", &["windows"], false),
            agent("m1", &["mac"], true),
            agent("a1", &["arm"], false),
        ];
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("2.579", None, "Waiting for next available executor"),
            (
                "2.579",
                Some("linux"),
                "Waiting for next available executor on \u{2018}linux\u{2019}",
            ),
            (
                "2.579",
                Some("linux && docker"),
                "Waiting for next available executor on \u{2018}linux&&docker\u{2019}",
            ),
            (
                "2.579",
                Some("(linux || mac) && !arm"),
                "Waiting for next available executor on \u{2018}(linux||mac)&&!arm\u{2019}",
            ),
            (
                "2.579",
                Some("mac"),
                "Waiting for next available executor on \u{2018}m1\u{2019}",
            ),
            ("2.579", Some("l2"), "\u{2018}l2\u{2019} is offline"),
            (
                "2.579",
                Some("windows"),
                "All nodes of label \u{2018}windows\u{2019} are offline",
            ),
            (
                "2.579",
                Some("gpu"),
                "There are no nodes with the label \u{2018}gpu\u{2019}",
            ),
            ("2.579", Some("arm"), "\u{2018}a1\u{2019} is offline"),
            (
                "2.60.3",
                Some("linux"),
                "Waiting for next available executor on linux",
            ),
            (
                "2.60.3",
                Some("mac"),
                "Waiting for next available executor on m1",
            ),
            ("2.60.3", Some("l2"), "l2 is offline"),
            (
                "2.60.3",
                Some("windows"),
                "All nodes of label 'windows' are offline",
            ),
            (
                "2.60.3",
                Some("gpu"),
                "There are no nodes with the label 'gpu'",
            ),
            (
                "2.125",
                Some("gpu"),
                "There are no nodes with the label \u{2018}gpu\u{2019}",
            ),
        ];
        for (version, label, expected) in cases {
            let item = QueueItem {
                label: label.map(str::to_owned),
                ..labelled("x")
            };
            assert_eq!(
                why_for(version, &fleet, item),
                *expected,
                "{version} {label:?}"
            );
        }
    }

    #[test]
    fn no_agents_at_all_reports_the_builtin_refusal() {
        assert_eq!(
            why_for("2.361.4", &[], labelled("chicken")),
            "\u{2018}Jenkins\u{2019} doesn\u{2019}t have label \u{2018}chicken\u{2019}"
        );
        assert_eq!(
            why_for("2.100", &[], labelled("chicken")),
            "Jenkins doesn't have label chicken"
        );
        assert_eq!(
            why_for("2.579", &[], QueueItem::default()),
            "Waiting for next available executor"
        );
    }

    #[test]
    fn blocked_waiting_and_override() {
        let blocked = QueueItem {
            state: QueueState::Blocked,
            ..labelled("linux")
        };
        assert_eq!(
            why_for("2.579", &[], blocked.clone()),
            "Build #41 is already in progress (ETA: 3 min 12 sec)"
        );
        let no_eta = QueueItem {
            eta_ms: None,
            blocked_by_build: Some(7),
            ..blocked.clone()
        };
        assert_eq!(
            why_for("2.579", &[], no_eta),
            "Build #7 is already in progress"
        );
        let old = QueueItem {
            eta_ms: Some(52_000),
            ..blocked
        };
        assert_eq!(
            why_for("2.60", &[], old),
            "Build #41 is already in progress (ETA:52 sec)"
        );
        let waiting = QueueItem {
            state: QueueState::Waiting,
            ..labelled("linux")
        };
        assert_eq!(
            why_for("2.579", &[], waiting.clone()),
            "In the quiet period. Expires in 4.9 sec"
        );
        let done = QueueItem {
            quiet_remaining_ms: 0,
            ..waiting
        };
        assert_eq!(why_for("2.579", &[], done), "Finished waiting");
        let composite = "\u{2018}Jenkins\u{2019} is reserved for jobs with matching label expression; \u{2018}ubu\u{2019} is offline";
        let item = QueueItem {
            why_override: Some(composite.into()),
            ..labelled("linux")
        };
        assert_eq!(why_for("2.579", &[], item), composite);
    }

    #[test]
    fn time_spans_like_hudson_util() {
        let cases: &[(u64, &str)] = &[
            (50, "50 ms"),
            (120, "0.12 sec"),
            (100, "0.1 sec"),
            (4_900, "4.9 sec"),
            (5_000, "5 sec"),
            (12_000, "12 sec"),
            (192_000, "3 min 12 sec"),
            (23 * 60_000 + 5_000, "23 min"),
            (3_600_000 + 3 * 60_000, "1 hr 3 min"),
            (2 * 86_400_000, "2 days 0 hr"),
            (86_400_000 + 3_600_000, "1 day 1 hr"),
        ];
        for (ms, expected) in cases {
            assert_eq!(time_span(*ms), *expected, "{ms} ms");
        }
    }

    #[test]
    fn label_lookups_agree_with_evaluating_every_node() {
        let fleet = [
            agent("l1", &["linux", "docker", "linux"], true),
            agent("l2", &["linux", "l2"], false),
            agent("w1", &["windows"], true),
            agent("l1", &["mac"], true),
        ];
        let world = World {
            version: JenkinsVersion::parse("2.579"),
            label_memo: Default::default(),
            label_index: Default::default(),
            first_running: Default::default(),
            agents: fleet.iter().map(Node::agent).collect(),
            builtin: Node {
                name: "Built-In Node",
                labels: vec!["built-in"],
                online: true,
            },
            running: vec![],
        };
        for expression in [
            "linux",
            " linux ",
            "l1",
            "l2",
            "built-in",
            "gpu",
            "linux && !docker",
            "mac || windows",
            "bad &&",
            "",
        ] {
            let expected: Vec<usize> = (0..=fleet.len())
                .filter(|&i| {
                    let node = world.node(i);
                    match LabelExpr::parse(expression) {
                        Ok(expr) => expr.matches(|l| node.labels.contains(&l)),
                        Err(_) => node.labels.contains(&expression.trim()),
                    }
                })
                .collect();
            assert_eq!(
                *label_indices(&world, expression),
                expected,
                "{expression:?}"
            );
            // Memoised: the second answer is the first.
            assert_eq!(
                *label_indices(&world, expression),
                expected,
                "{expression:?}"
            );
        }
        assert!(label_offline(&world, "l2") && !label_offline(&world, "linux"));
        assert!(label_offline(&world, "gpu"));
    }

    #[test]
    fn label_names_drop_whitespace_but_not_quoted_text() {
        assert_eq!(label_name(" linux  &&  docker "), "linux&&docker");
        assert_eq!(label_name("\"two words\" || x"), "\"two words\"||x");
    }
}
