//! Jenkins' exporter without `tree`: `depth=N` (default 0) prunes nested beans by the
//! `@Exported(visibility)` of their properties. Models are built once in full, annotated
//! with meta keys that say how Stapler would prune them; this module applies `depth`
//! (and strips the annotations) so every endpoint gets the same behaviour.
//!
//! Stapler's rule (TreePruner.ByDepth): the top object keeps properties with
//! visibility >= 1 - depth; each nesting level raises that bar by one, except for
//! properties exported `inline`. Default visibility is 1, so at depth 0 a nested bean
//! shows only its visibility-2 properties (a label's `name`, a build's `number`/`url`)
//! and an executor shows nothing: `{}`.

use serde_json::{Map, Value};

pub const CLASS: &str = "_class";
/// Object of property name → visibility, for properties whose visibility is not 1.
pub const VIS: &str = "$vis";
/// Array of property names exported inline (no extra nesting level).
pub const INLINE: &str = "$inline";
/// Array of property names rendered verbatim at any depth (maps such as `monitorData`).
pub const RAW: &str = "$raw";

pub fn is_meta(key: &str) -> bool {
    key.starts_with('$')
}

pub fn render_depth(value: &Value, depth: u32) -> Value {
    render_depth_owned(value.clone(), depth)
}

/// [`render_depth`] consuming the value, so what is kept moves instead of being copied.
pub fn render_depth_owned(value: Value, depth: u32) -> Value {
    prune(value, 1 - i64::from(depth))
}

fn names(meta: Option<Value>) -> Vec<String> {
    match meta {
        Some(Value::Array(items)) => items
            .into_iter()
            .filter_map(|k| match k {
                Value::String(k) => Some(k),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn prune(value: Value, bar: i64) -> Value {
    match value {
        Value::Object(mut obj) => {
            let vis = obj.remove(VIS);
            let vis = vis.as_ref().and_then(Value::as_object);
            let raw = names(obj.remove(RAW));
            let inline = names(obj.remove(INLINE));
            let mut out = Map::new();
            for (key, child) in obj {
                if is_meta(&key) {
                    continue;
                }
                let visibility = vis
                    .and_then(|v| v.get(&key))
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                if key != CLASS && visibility < bar {
                    continue;
                }
                let rendered = if raw.contains(&key) {
                    strip_meta_owned(child)
                } else if inline.contains(&key) {
                    prune(child, bar)
                } else {
                    prune(child, bar + 1)
                };
                out.insert(key, rendered);
            }
            Value::Object(out)
        }
        // Array elements sit at the nesting level of the property that holds them.
        Value::Array(items) => Value::Array(items.into_iter().map(|v| prune(v, bar)).collect()),
        other => other,
    }
}

fn strip_meta_owned(value: Value) -> Value {
    match value {
        Value::Object(obj) => Value::Object(
            obj.into_iter()
                .filter(|(k, _)| !is_meta(k))
                .map(|(k, v)| (k, strip_meta_owned(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_meta_owned).collect()),
        other => other,
    }
}

pub fn strip_meta(value: &Value) -> Value {
    match value {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .filter(|(k, _)| !is_meta(k))
                .map(|(k, v)| (k.clone(), strip_meta(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_meta).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn computer_set() -> Value {
        json!({
            "_class": "hudson.model.ComputerSet",
            "busyExecutors": 1,
            "$inline": ["computer"],
            "computer": [{
                "_class": "hudson.slaves.SlaveComputer",
                "displayName": "a",
                "$raw": ["monitorData"],
                "monitorData": {"m": {"deep": {"x": 1}}},
                "assignedLabels": [{"name": "a", "busyExecutors": 0, "$vis": {"name": 2}}],
                "offlineCause": {"_class": "hudson.slaves.OfflineCause$UserCause", "description": "d", "timestamp": 1},
                "executors": [{
                    "idle": false, "progress": 10,
                    "currentExecutable": {"_class": "hudson.model.FreeStyleBuild", "number": 3, "url": "u", "building": true, "$vis": {"number": 2, "url": 2}}
                }]
            }]
        })
    }

    #[test]
    fn depth_zero_empties_nested_beans() {
        assert_eq!(
            render_depth(&computer_set(), 0),
            json!({
                "_class": "hudson.model.ComputerSet",
                "busyExecutors": 1,
                "computer": [{
                    "_class": "hudson.slaves.SlaveComputer",
                    "displayName": "a",
                    "monitorData": {"m": {"deep": {"x": 1}}},
                    "assignedLabels": [{"name": "a"}],
                    "offlineCause": {"_class": "hudson.slaves.OfflineCause$UserCause"},
                    "executors": [{}]
                }]
            })
        );
    }

    #[test]
    fn depth_one_opens_one_more_level() {
        let rendered = render_depth(&computer_set(), 1);
        assert_eq!(
            rendered["computer"][0]["executors"][0],
            json!({"idle": false, "progress": 10, "currentExecutable": {"_class": "hudson.model.FreeStyleBuild", "number": 3, "url": "u"}})
        );
        assert_eq!(
            rendered["computer"][0]["assignedLabels"][0],
            json!({"name": "a", "busyExecutors": 0})
        );
    }
}
