//! Jenkins' `tree=` query parameter (Stapler's NamedPathPruner): a comma list of property
//! names, each optionally followed by `[children]` and a range `{M,N}`, `{M,}`, `{,N}`
//! or `{N}` that slices an array property. It is applied as a filter over the full JSON
//! value, which is how the fake stays generic across every endpoint. Large listings ask
//! the model for only what the tree names ([`Want`]) so they never build (and then throw
//! away) the rest; the filter still runs over whatever was built.

use serde_json::Value;

use crate::export::{CLASS, is_meta};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub name: String,
    pub children: Option<Vec<TreeNode>>,
    pub range: Option<Range>,
}

/// Half-open slice `[start, end)` of an array property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: Option<usize>,
    pub end: Option<usize>,
}

impl Range {
    /// `(start, end)` clamped to an array of `len` items.
    fn bounds(&self, len: usize) -> (usize, usize) {
        let end = self.end.unwrap_or(len).min(len);
        let start = self.start.unwrap_or(0).min(end);
        (start, end)
    }
}

pub fn parse(text: &str) -> Result<Vec<TreeNode>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let nodes = parse_list(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!(
            "unexpected '{}' at {pos} in tree spec {text:?}",
            chars[pos]
        ));
    }
    Ok(nodes)
}

fn parse_list(chars: &[char], pos: &mut usize) -> Result<Vec<TreeNode>, String> {
    let mut nodes = Vec::new();
    loop {
        nodes.push(parse_node(chars, pos)?);
        if chars.get(*pos) == Some(&',') {
            *pos += 1;
        } else {
            return Ok(nodes);
        }
    }
}

fn parse_node(chars: &[char], pos: &mut usize) -> Result<TreeNode, String> {
    let start = *pos;
    while *pos < chars.len() && !matches!(chars[*pos], ',' | '[' | ']' | '{' | '}') {
        *pos += 1;
    }
    let name: String = chars[start..*pos]
        .iter()
        .collect::<String>()
        .trim()
        .to_owned();
    if name.is_empty() {
        return Err(format!("empty property name at {start}"));
    }
    let mut children = None;
    if chars.get(*pos) == Some(&'[') {
        *pos += 1;
        children = Some(parse_list(chars, pos)?);
        if chars.get(*pos) != Some(&']') {
            return Err(format!("missing ']' at {}", *pos));
        }
        *pos += 1;
    }
    let mut range = None;
    if chars.get(*pos) == Some(&'{') {
        *pos += 1;
        let close = chars[*pos..]
            .iter()
            .position(|&c| c == '}')
            .ok_or("missing '}'")?
            + *pos;
        let spec: String = chars[*pos..close].iter().collect();
        range = Some(parse_range(&spec)?);
        *pos = close + 1;
    }
    Ok(TreeNode {
        name,
        children,
        range,
    })
}

fn parse_range(spec: &str) -> Result<Range, String> {
    let number = |s: &str| -> Result<Option<usize>, String> {
        let s = s.trim();
        if s.is_empty() {
            Ok(None)
        } else {
            s.parse()
                .map(Some)
                .map_err(|_| format!("bad range bound {s:?}"))
        }
    };
    match spec.split_once(',') {
        Some((a, b)) => Ok(Range {
            start: number(a)?,
            end: number(b)?,
        }),
        None => {
            let n = number(spec)?.ok_or("empty range")?;
            Ok(Range {
                start: Some(n),
                end: Some(n + 1),
            })
        }
    }
}

/// What a model builder must produce for the response to come out the same: every
/// property (`All`, for `depth` rendering) or only those a tree level names (`Only`).
/// Leaving out what the filter would drop anyway changes nothing a client can see.
#[derive(Debug, Clone, Copy)]
pub enum Want<'t> {
    All,
    Only(&'t [TreeNode]),
}

impl<'t> Want<'t> {
    /// Whether the property may appear in the output.
    pub fn has(self, name: &str) -> bool {
        match self {
            Want::All => true,
            Want::Only(nodes) => nodes.iter().any(|n| n.name == name),
        }
    }

    /// What is wanted inside the property `name` (of an object, or of each element of an
    /// array). A property named twice is built in full: the filter decides.
    pub fn child(self, name: &str) -> Want<'t> {
        match self {
            Want::All => Want::All,
            Want::Only(nodes) => {
                let mut named = nodes.iter().filter(|n| n.name == name);
                match (named.next(), named.next()) {
                    (Some(node), None) => Want::Only(node.children.as_deref().unwrap_or(&[])),
                    _ => Want::All,
                }
            }
        }
    }

    /// Whether export annotations (`$vis`, `$inline`, `$raw`) are needed: only depth
    /// rendering reads them; the tree filter never copies them.
    pub fn annotations(self) -> bool {
        matches!(self, Want::All)
    }
}

/// Keeps only the named properties. `_class` survives, as it does in Jenkins; an object
/// named without children keeps only its `_class`.
pub fn filter(value: &Value, nodes: &[TreeNode]) -> Value {
    filter_owned(value.clone(), nodes)
}

/// [`filter`] consuming the value: objects are pruned in place, so what is kept is
/// neither copied nor re-inserted.
pub fn filter_owned(mut value: Value, nodes: &[TreeNode]) -> Value {
    filter_in_place(&mut value, nodes);
    value
}

fn filter_in_place(value: &mut Value, nodes: &[TreeNode]) {
    match value {
        Value::Object(obj) => {
            let keep = |key: &String| {
                key == CLASS || (!is_meta(key) && nodes.iter().any(|n| n.name == *key))
            };
            // Objects built for this tree hold only what it names: a look is cheaper
            // than a retain pass.
            if !obj.keys().all(keep) {
                obj.retain(|key, _| keep(key));
            }
            for (key, child) in obj.iter_mut() {
                // A property named twice is rendered from its last mention.
                if let Some(node) = nodes.iter().rev().find(|n| n.name == *key) {
                    filter_child_in_place(child, node);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| filter_in_place(v, nodes)),
        _ => {}
    }
}

fn filter_child_in_place(value: &mut Value, node: &TreeNode) {
    let children = node.children.as_deref().unwrap_or(&[]);
    match value {
        Value::Array(items) => {
            if let Some(range) = node.range {
                let (start, end) = range.bounds(items.len());
                items.truncate(end);
                items.drain(..start);
            }
            items.iter_mut().for_each(|v| filter_in_place(v, children));
        }
        other => filter_in_place(other, children),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn node(name: &str) -> TreeNode {
        TreeNode {
            name: name.into(),
            children: None,
            range: None,
        }
    }

    #[test]
    fn parses_nested_lists_and_ranges() {
        let spec =
            parse("jobs[name,builds[number]{0,2}],views[name]{1,},x{,3},y{4}").expect("parses");
        assert_eq!(spec.len(), 4);
        assert_eq!(spec[0].name, "jobs");
        let jobs_children = spec[0].children.as_ref().expect("children");
        assert_eq!(jobs_children[0], node("name"));
        assert_eq!(
            jobs_children[1].range,
            Some(Range {
                start: Some(0),
                end: Some(2)
            })
        );
        assert_eq!(
            spec[1].range,
            Some(Range {
                start: Some(1),
                end: None
            })
        );
        assert_eq!(
            spec[2].range,
            Some(Range {
                start: None,
                end: Some(3)
            })
        );
        assert_eq!(
            spec[3].range,
            Some(Range {
                start: Some(4),
                end: Some(5)
            })
        );
    }

    #[test]
    fn rejects_malformed_specs() {
        for bad in ["", "a[b", "a,,b", "a{x}", "a]", "a{1"] {
            assert!(parse(bad).is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn filters_keeping_class_and_slicing() {
        let value = json!({
            "_class": "hudson.model.ComputerSet",
            "busyExecutors": 1,
            "computer": [
                {"_class": "S", "displayName": "a", "idle": true, "offlineCause": {"_class": "C", "description": "d"}},
                {"_class": "S", "displayName": "b", "idle": false, "offlineCause": null},
                {"_class": "S", "displayName": "c", "idle": true, "offlineCause": null}
            ]
        });
        let spec = parse("computer[displayName,offlineCause]{1,}").expect("parses");
        assert_eq!(
            filter(&value, &spec),
            json!({"_class": "hudson.model.ComputerSet", "computer": [
                {"_class": "S", "displayName": "b", "offlineCause": null},
                {"_class": "S", "displayName": "c", "offlineCause": null}
            ]})
        );
        let spec = parse("computer[offlineCause]{0}").expect("parses");
        assert_eq!(
            filter(&value, &spec),
            json!({"_class": "hudson.model.ComputerSet", "computer": [{"_class": "S", "offlineCause": {"_class": "C"}}]})
        );
    }

    #[test]
    fn a_property_named_twice_renders_from_its_last_mention() {
        let value = json!({"_class": "Q", "$vis": {"a": 2}, "a": {"x": 1, "y": 2}, "b": [1, 2, 3]});
        assert_eq!(
            filter(
                &value,
                &parse("a[x],b{1,},a[y],$vis,_class").expect("parses")
            ),
            json!({"_class": "Q", "a": {"y": 2}, "b": [2, 3]})
        );
        assert_eq!(
            filter(&value, &parse("b{5,},b{,1}").expect("parses")),
            json!({"_class": "Q", "b": [1]})
        );
    }

    #[test]
    fn want_names_what_the_filter_keeps() {
        let spec = parse("items[id,task[name]],items2,dup[a],dup[b]").expect("parses");
        let want = Want::Only(&spec);
        assert!(want.has("items") && !want.has("jobs") && !want.annotations());
        let items = want.child("items");
        assert!(items.has("id") && items.has("task") && !items.has("why"));
        assert!(items.child("task").has("name") && !items.child("task").has("url"));
        // Named without children: only `_class` survives, which builders always add.
        assert!(!want.child("items2").has("anything"));
        // Named twice: built in full, the filter picks.
        assert!(want.child("dup").has("c") && want.child("dup").annotations());
        assert!(Want::All.has("x") && Want::All.child("x").annotations());
    }

    #[test]
    fn missing_properties_are_omitted() {
        let value = json!({"a": 1});
        assert_eq!(
            filter(&value, &parse("a,b").expect("parses")),
            json!({"a": 1})
        );
    }
}
