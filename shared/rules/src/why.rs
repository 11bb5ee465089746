//! Reading Jenkins' queue `why` text: the only place a queued item names the label or
//! node it waits for when the job does not export `labelExpression` (pipelines, Jenkins
//! before 2.94). Wording and quoting follow hudson/model/Messages.properties: U+2018/U+2019
//! quotes since 2.125, bare names before; composite reasons are joined with "; ".

use super::label_expr::LabelExpr;
use super::model::{Demand, Waiting};

/// What a `why` text says about a queued item.
#[derive(Debug, Clone, PartialEq)]
pub struct WhyReading {
    pub waiting: Waiting,
    pub demand: Demand,
}

pub fn read_why(why: &str) -> WhyReading {
    let for_executor = |demand| WhyReading {
        waiting: Waiting::ForExecutor,
        demand,
    };
    let mut labels = Vec::new();
    let mut nodes = Vec::new();
    let mut any = false;
    for reason in why.split("; ").map(str::trim).filter(|r| !r.is_empty()) {
        match read_reason(reason) {
            Reason::Waiting(waiting) => {
                return WhyReading {
                    waiting,
                    demand: Demand::Any,
                };
            }
            Reason::AnyExecutor => any = true,
            Reason::Label(label) => labels.push(label),
            Reason::Node(node) => nodes.push(node),
            Reason::Silent => {}
        }
    }
    let names = if labels.is_empty() { nodes } else { labels };
    let demand = match names
        .into_iter()
        .map(|name| as_expression(&name))
        .reduce(|a, b| LabelExpr::Or(Box::new(a), Box::new(b)))
    {
        Some(expr) => Demand::Expression(expr),
        None if any => Demand::Any,
        None => Demand::Unknown(why.to_owned()),
    };
    for_executor(demand)
}

/// A name from `why` is a label expression as the job wrote it, or a node's display
/// name; display names may hold spaces ("Built-In Node"), which are no expression.
fn as_expression(name: &str) -> LabelExpr {
    LabelExpr::parse(name).unwrap_or_else(|_| LabelExpr::Atom(name.to_owned()))
}

#[derive(Debug, PartialEq)]
enum Reason {
    Waiting(Waiting),
    AnyExecutor,
    Label(String),
    Node(String),
    /// A refusal that names neither the label nor a node that could take the item.
    Silent,
}

fn read_reason(reason: &str) -> Reason {
    const EXECUTOR_ON: &str = "Waiting for next available executor on ";
    if reason == "Waiting for next available executor" {
        return Reason::AnyExecutor;
    }
    if let Some(rest) = reason.strip_prefix(EXECUTOR_ON) {
        return Reason::Label(unquote(rest).to_owned());
    }
    if reason.starts_with("In the quiet period") || reason == "Finished waiting" {
        return Reason::Waiting(Waiting::QuietPeriod);
    }
    if reason.contains("is about to shut down") {
        return Reason::Waiting(Waiting::ServerShuttingDown);
    }
    if reason.starts_with("Build #") && reason.contains("is already in progress")
        || reason.starts_with("Blocked by ")
        || reason.contains("is already in progress")
        || reason.starts_with("Upstream project ")
        || reason.starts_with("Downstream project ")
    {
        return Reason::Waiting(Waiting::Blocked);
    }
    if let Some(label) = between(reason, "All nodes of label ", " are offline") {
        return Reason::Label(unquote(label).to_owned());
    }
    if let Some(label) = reason.strip_prefix("There are no nodes with the label ") {
        return Reason::Label(unquote(label).to_owned());
    }
    for doesnt in [" doesn\u{2019}t have label ", " doesn't have label "] {
        if let Some((_, label)) = reason.split_once(doesnt) {
            return Reason::Label(unquote(label).to_owned());
        }
    }
    if reason.ends_with(" is reserved for jobs with matching label expression")
        || reason.contains(" lacks permission to run on ")
    {
        return Reason::Silent;
    }
    for suffix in [" is offline", " is not accepting tasks"] {
        if let Some(node) = reason.strip_suffix(suffix) {
            return Reason::Node(unquote(node).to_owned());
        }
    }
    Reason::Silent
}

fn between<'a>(text: &'a str, prefix: &str, suffix: &str) -> Option<&'a str> {
    text.strip_prefix(prefix)?.strip_suffix(suffix)
}

/// Strips ‘fancy’ quotes (Jenkins ≥ 2.125) or 'ASCII' ones (hand-typed captures).
fn unquote(name: &str) -> &str {
    let name = name.trim();
    for (open, close) in [('\u{2018}', '\u{2019}'), ('\'', '\'')] {
        if let Some(inner) = name.strip_prefix(open).and_then(|n| n.strip_suffix(close)) {
            return inner;
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(s: &str) -> Demand {
        Demand::Expression(LabelExpr::parse(s).expect("test expression parses"))
    }

    fn atom(s: &str) -> Demand {
        Demand::Expression(LabelExpr::Atom(s.to_owned()))
    }

    #[test]
    fn reads_why_as_servers_of_each_version_write_it() {
        let ready = Waiting::ForExecutor;
        let cases: Vec<(&str, Waiting, Demand)> = vec![
            // 2.125 and later: fancy quotes around the label expression as written
            (
                "Waiting for next available executor on \u{2018}linux&&docker\u{2019}",
                ready,
                expr("linux&&docker"),
            ),
            (
                "Waiting for next available executor on \u{2018}mxnetlinux-cpu\u{2019}",
                ready,
                expr("mxnetlinux-cpu"),
            ),
            // a one-node label shows the node instead
            (
                "Waiting for next available executor on \u{2018}i-0a1b2c3d\u{2019}",
                ready,
                expr("i-0a1b2c3d"),
            ),
            // before 2.125: no quotes
            (
                "Waiting for next available executor on cislaveora-25",
                ready,
                expr("cislaveora-25"),
            ),
            ("Waiting for next available executor", ready, Demand::Any),
            (
                "All nodes of label \u{2018}gpu\u{2019} are offline",
                ready,
                expr("gpu"),
            ),
            ("All nodes of label gpu are offline", ready, expr("gpu")),
            (
                "There are no nodes with the label \u{2018}windows&&vs2022\u{2019}",
                ready,
                expr("windows&&vs2022"),
            ),
            (
                "There are no nodes with the label windows",
                ready,
                expr("windows"),
            ),
            ("\u{2018}gpu-1\u{2019} is offline", ready, expr("gpu-1")),
            ("gpu-1 is offline", ready, expr("gpu-1")),
            // no agents at all: the built-in node's refusal names the label (ASCII quotes typed by hand)
            (
                "'Jenkins' doesn't have label 'chicken'",
                ready,
                expr("chicken"),
            ),
            (
                "\u{2018}Built-In Node\u{2019} doesn\u{2019}t have label \u{2018}linux\u{2019}",
                ready,
                expr("linux"),
            ),
            // composite reasons name nodes only: the item can run on either
            (
                "\u{2018}Jenkins\u{2019} is reserved for jobs with matching label expression; \u{2018}ubu2\u{2019} is offline; \u{2018}ubu\u{2019} is offline",
                ready,
                expr("ubu2 || ubu"),
            ),
            (
                "\u{2018}Built-In Node\u{2019} is offline",
                ready,
                atom("Built-In Node"),
            ),
            (
                "In the quiet period. Expires in 4.9 sec",
                Waiting::QuietPeriod,
                Demand::Any,
            ),
            ("Finished waiting", Waiting::QuietPeriod, Demand::Any),
            (
                "Build #475 is already in progress (ETA: 23 min)",
                Waiting::Blocked,
                Demand::Any,
            ),
            (
                "Blocked by \u{2018}deploy-prod\u{2019}",
                Waiting::Blocked,
                Demand::Any,
            ),
            (
                "Jenkins is about to shut down",
                Waiting::ServerShuttingDown,
                Demand::Any,
            ),
            (
                "Something new in Jenkins 3.0",
                ready,
                Demand::Unknown("Something new in Jenkins 3.0".into()),
            ),
        ];
        for (why, waiting, demand) in cases {
            assert_eq!(read_why(why), WhyReading { waiting, demand }, "{why}");
        }
    }
}
