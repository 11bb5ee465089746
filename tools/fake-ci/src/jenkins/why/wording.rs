//! The `why` of a queue item, worded as Queue.BuildableItem's getCauseOfBlockage() and
//! hudson/model/Messages.properties word it, by state, version and the request's language
//! (Messages_de.properties; keys and sources in the README, "Language").

use super::labels::{label_name, label_nodes};
use super::time_span::time_span;
use super::world::World;
use crate::jenkins::locale::{Lang, jvm_integer};
use crate::jenkins::version::JenkinsVersion;
use crate::state::{QueueItem, QueueState};

pub fn why(item: &QueueItem, world: &World) -> String {
    if let Some(text) = &item.why_override {
        return text.clone();
    }
    let lang = world.lang;
    let q = Quotes::new(&world.version);
    match item.state {
        // Queue.FinishedWaiting has no German translation: English in both.
        QueueState::Waiting if item.quiet_remaining_ms == 0 => "Finished waiting".to_owned(),
        QueueState::Waiting => {
            let left = time_span(item.quiet_remaining_ms, lang);
            match lang {
                Lang::English => format!("In the quiet period. Expires in {left}"),
                Lang::German => format!("In Ruhe-Periode. Endet in {left}"),
            }
        }
        QueueState::Blocked => {
            let number = item
                .blocked_by_build
                .or_else(|| world.running_number(&item.job))
                .unwrap_or(1);
            // The build number is an int argument of MessageFormat: grouped as the JVM's
            // locale groups it.
            let number = jvm_integer(number);
            let eta = match item.eta_ms {
                Some(ms) if world.version.eta_space() => {
                    format!(" (ETA: {})", time_span(ms, lang))
                }
                Some(ms) => format!(" (ETA:{})", time_span(ms, lang)),
                None => String::new(),
            };
            match lang {
                Lang::English => format!("Build #{number} is already in progress{eta}"),
                Lang::German => format!("Build #{number} ist bereits in Arbeit{eta}"),
            }
        }
        QueueState::Buildable => match lang {
            Lang::English => buildable_why(item, world, &q),
            Lang::German => buildable_why_de(item, world),
        },
    }
}

fn buildable_why(item: &QueueItem, world: &World, q: &Quotes) -> String {
    let Some(label) = item.label.as_deref().filter(|l| !l.trim().is_empty()) else {
        return "Waiting for next available executor".to_owned();
    };
    let name = label_name(label);
    if world.agents.is_empty() {
        return match builtin_refuses(label, world) {
            true => format!(
                "{} doesn{}t have label {}",
                q.name("Jenkins"),
                q.apostrophe,
                q.name(&name)
            ),
            false => "Waiting for next available executor".to_owned(),
        };
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

/// With no agents at all (`Jenkins.getNodes()` empty) `BuildableItem.getCauseOfBlockage`
/// drops the label ("no master/agent. pointless to talk about nodes") and names only
/// what idle executors refused: with an idle executor on the built-in node, its
/// `Node.canTake` refusal, `Node.LabelMissing` with the node's display name, which for the
/// Jenkins instance is "Jenkins"; with none (0 executors, the default), no refusal at all,
/// hence `Queue.WaitingForNextAvailableExecutor` (core `hudson/model/Queue.java`).
fn builtin_refuses(label: &str, world: &World) -> bool {
    world.builtin_idle_executors > 0
        && !label_nodes(world, label)
            .iter()
            .any(|n| std::ptr::eq(*n, &world.builtin))
}

/// The same causes in Messages_de.properties: „ “ around labels and the refusing node
/// in every version, node names bare.
fn buildable_why_de(item: &QueueItem, world: &World) -> String {
    let Some(label) = item.label.as_deref().filter(|l| !l.trim().is_empty()) else {
        return "Warte auf den nächsten freien Build-Prozessor".to_owned();
    };
    let name = label_name(label);
    if world.agents.is_empty() {
        return match builtin_refuses(label, world) {
            true => format!("„Jenkins“ hat nicht das Label „{name}“"),
            false => "Warte auf den nächsten freien Build-Prozessor".to_owned(),
        };
    }
    let nodes = label_nodes(world, label);
    let offline = nodes.iter().all(|n| !n.online);
    match (offline, nodes.as_slice()) {
        (true, []) => format!("Es gibt keine Knoten mit dem Label „{name}“"),
        (true, [node]) => format!("{} ist offline", node.name),
        (true, _) => format!("Alle Knoten des Labels „{name}“ sind offline"),
        (false, [node]) => format!(
            "Warte auf den nächsten freien Build-Prozessor auf {}",
            node.name
        ),
        (false, _) => format!("Warte auf den nächsten freien Build-Prozessor auf {name}"),
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
