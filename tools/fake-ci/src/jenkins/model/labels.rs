//! Labels (`hudson.model.Label`): the label objects computers and the root carry, with
//! label-wide executor counts over every node that has the label, and `/label/EXPR/`.

use std::collections::HashMap;
use std::rc::Rc;

use rules::label_expr::LabelExpr;
use serde_json::{Map, Value, json};

use super::context::{Ctx, LabelStats, put};
use crate::export::VIS;
use crate::jenkins::why;
use crate::tree::Want;

impl<'a> Ctx<'a> {
    /// A label object with label-wide counts (over every node carrying it).
    pub(super) fn label_ref(&self, name: &str, want: Want) -> Value {
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
        let builtin = self.builtin_display_name();
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
}
