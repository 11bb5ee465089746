//! TeamCity's output shaping: the default views (short in lists, long for a single
//! resource, default-valued fields dropped) and `fields=` selection such as
//! `count,nextHref,agent(id,name,pool(id,name))`.
//!
//! Models are built in full with meta keys saying which fields each view shows:
//! `$short` and `$long` list field names, `$keep` lists fields shown even when they hold
//! a default value (an agent's `connected:false` in its single view), and `$collection`
//! names the item array of a collection (omitted when empty, always with `count`).

use serde_json::{Map, Value};

use crate::export::is_meta;

pub const SHORT: &str = "$short";
pub const LONG: &str = "$long";
pub const KEEP: &str = "$keep";
pub const COLLECTION: &str = "$collection";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub sub: Option<Vec<Field>>,
}

pub fn parse(text: &str) -> Result<Vec<Field>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut pos = 0;
    let fields = parse_list(&chars, &mut pos)?;
    if pos != chars.len() {
        return Err(format!(
            "Bad 'fields' syntax: unexpected '{}' at {pos} in '{text}'",
            chars[pos]
        ));
    }
    Ok(fields)
}

fn parse_list(chars: &[char], pos: &mut usize) -> Result<Vec<Field>, String> {
    let mut fields = Vec::new();
    loop {
        let start = *pos;
        while *pos < chars.len() && !matches!(chars[*pos], ',' | '(' | ')') {
            *pos += 1;
        }
        let name = chars[start..*pos]
            .iter()
            .collect::<String>()
            .trim()
            .to_owned();
        let mut sub = None;
        if chars.get(*pos) == Some(&'(') {
            *pos += 1;
            // `$locator(...)` holds a locator, not fields; skip it balanced.
            if name == "$locator" {
                skip_balanced(chars, pos)?;
            } else {
                sub = Some(parse_list(chars, pos)?);
                if chars.get(*pos) != Some(&')') {
                    return Err(format!("Bad 'fields' syntax: missing ')' at {}", *pos));
                }
                *pos += 1;
            }
        }
        if !name.is_empty() {
            fields.push(Field { name, sub });
        }
        if chars.get(*pos) == Some(&',') {
            *pos += 1;
        } else {
            return Ok(fields);
        }
    }
}

/// What an entity builder must produce for the response to come out the same: every
/// field (`All`: no selection, a default view, or `$short`/`$long`/`*`, which render
/// views) or only the fields a selection level names (`Only`). A field left out there
/// is one the rendering would never read.
#[derive(Debug, Clone, Copy)]
pub enum Sel<'f> {
    All,
    Only(&'f [Field]),
}

impl<'f> Sel<'f> {
    pub fn of(fields: &'f [Field]) -> Sel<'f> {
        if fields
            .iter()
            .any(|f| matches!(f.name.as_str(), "$short" | "$long" | "*"))
        {
            Sel::All
        } else {
            Sel::Only(fields)
        }
    }

    pub fn has(self, name: &str) -> bool {
        match self {
            Sel::All => true,
            Sel::Only(fields) => fields.iter().any(|f| f.name == name),
        }
    }

    /// What is needed inside the field `name`: named without a sub-selection it renders
    /// by its default view (all of it); named twice, the last one wins (build it all).
    pub fn child(self, name: &str) -> Sel<'f> {
        match self {
            Sel::All => Sel::All,
            Sel::Only(fields) => {
                let mut named = fields.iter().filter(|f| f.name == name);
                match (named.next(), named.next()) {
                    (Some(Field { sub: Some(sub), .. }), None) => Sel::of(sub),
                    _ => Sel::All,
                }
            }
        }
    }

    /// Whether the entity's view metas (`$short`, `$long`, `$keep`) can be read.
    pub fn views(self) -> bool {
        matches!(self, Sel::All)
    }
}

/// What the `item` entries of a `container` collection need when only an explicit
/// `container(…item…)` selection can show them (a collection's default view does not):
/// `None` when no selection does, else the one selection's needs (all when several).
pub fn items_inside<'f>(fields: &'f [Field], container: &str, item: &str) -> Option<Sel<'f>> {
    fn collect<'f>(fields: &'f [Field], container: &str, item: &str, out: &mut Vec<&'f Field>) {
        for field in fields {
            if let Some(sub) = &field.sub {
                if field.name == container {
                    out.extend(sub.iter().filter(|f| f.name == item));
                }
                collect(sub, container, item, out);
            }
        }
    }
    let mut items = Vec::new();
    collect(fields, container, item, &mut items);
    match items.as_slice() {
        [] => None,
        [Field { sub: Some(sub), .. }] => Some(Sel::of(sub)),
        _ => Some(Sel::All),
    }
}

fn skip_balanced(chars: &[char], pos: &mut usize) -> Result<(), String> {
    let mut depth = 1;
    while *pos < chars.len() {
        match chars[*pos] {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    *pos += 1;
                    return Ok(());
                }
            }
            _ => {}
        }
        *pos += 1;
    }
    Err("Bad 'fields' syntax: unclosed '$locator('".to_owned())
}

fn names<'a>(obj: &'a Map<String, Value>, meta: &str) -> Option<Vec<&'a str>> {
    obj.get(meta)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
}

/// TeamCity's ValueWithDefault: null, false, 0 and empty collections are "default".
fn is_default(value: &Value) -> bool {
    match value {
        Value::Null | Value::Bool(false) => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Ids and counts are data even when zero (the Default pool is id 0).
fn always_kept(obj: &Map<String, Value>, key: &str) -> bool {
    key == "id" || key == "count" || names(obj, KEEP).is_some_and(|k| k.contains(&key))
}

/// The view without `fields`: `top` is the resource the URL names (long view).
pub fn render_default(value: &Value, top: bool) -> Value {
    match value {
        Value::Object(obj) => {
            let all: Vec<&str> = obj
                .keys()
                .map(String::as_str)
                .filter(|k| !is_meta(k))
                .collect();
            let keys = if top {
                names(obj, LONG).or_else(|| names(obj, SHORT))
            } else {
                names(obj, SHORT)
            }
            .unwrap_or(all);
            let mut out = Map::new();
            for key in keys {
                let Some(child) = obj.get(key) else { continue };
                let rendered = render_default(child, false);
                if is_default(&rendered) && !always_kept(obj, key) {
                    continue;
                }
                out.insert(key.to_owned(), rendered);
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_default(v, false)).collect())
        }
        other => other.clone(),
    }
}

/// The view `fields=` asks for. Named fields appear even when default-valued, except a
/// collection's empty item array; unknown names are ignored, as TeamCity does.
pub fn render_fields(value: &Value, fields: &[Field]) -> Value {
    match value {
        Value::Object(obj) => {
            let collection = obj.get(COLLECTION).and_then(Value::as_str);
            let mut out = Map::new();
            if collection.is_some()
                && let Some(count) = obj.get("count")
            {
                out.insert("count".to_owned(), count.clone());
            }
            for field in fields {
                match field.name.as_str() {
                    "$short" => merge(&mut out, render_default(value, false)),
                    "$long" | "*" => merge(&mut out, render_default(value, true)),
                    name if is_meta(name) => {}
                    name => {
                        let Some(child) = obj.get(name).filter(|c| !c.is_null()) else {
                            continue;
                        };
                        if collection == Some(name) && child.as_array().is_some_and(Vec::is_empty) {
                            continue;
                        }
                        let rendered = match &field.sub {
                            Some(sub) => render_fields(child, sub),
                            None => render_default(child, false),
                        };
                        out.insert(name.to_owned(), rendered);
                    }
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(|v| render_fields(v, fields)).collect())
        }
        other => other.clone(),
    }
}

fn merge(out: &mut Map<String, Value>, extra: Value) {
    if let Value::Object(extra) = extra {
        for (k, v) in extra {
            out.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn agent(id: u64, enabled: bool) -> Value {
        json!({
            "id": id, "name": format!("a{id}"), "typeId": id, "connected": true, "enabled": enabled,
            "authorized": true, "href": format!("/app/rest/agents/id:{id}"),
            "pool": {"id": 0, "name": "Default", "href": "/app/rest/agentPools/id:0"},
            SHORT: ["id", "name", "typeId", "href"],
            LONG: ["id", "name", "typeId", "connected", "enabled", "authorized", "href", "pool"],
            KEEP: ["connected", "enabled", "authorized"],
        })
    }

    fn agents(items: Vec<Value>) -> Value {
        json!({"count": items.len(), "href": "/app/rest/agents", "agent": items, SHORT: ["count", "href", "agent"], COLLECTION: "agent"})
    }

    #[test]
    fn selections_say_what_builders_need() {
        let fields = parse("count,agent(id,pool(id),enabledInfo)").expect("parses");
        let agent = Sel::of(&fields).child("agent");
        assert!(agent.has("id") && agent.has("pool") && !agent.has("name") && !agent.views());
        assert!(!agent.child("pool").has("name"));
        // Without a sub-selection a field renders by its default view: all of it.
        assert!(agent.child("enabledInfo").views());
        for views in ["agent($short)", "agent(id,*)", "agent($long)"] {
            let fields = parse(views).expect("parses");
            assert!(Sel::of(&fields).child("agent").views(), "{views}");
        }

        let inside = |text: &str| {
            let fields = parse(text).expect("parses");
            items_inside(&fields, "compatibleAgents", "agent").map(|sel| match sel {
                Sel::All => vec!["*".to_owned()],
                Sel::Only(f) => f.iter().map(|f| f.name.clone()).collect(),
            })
        };
        assert_eq!(inside("build(id,compatibleAgents)"), None);
        assert_eq!(inside("build(compatibleAgents($long,count))"), None);
        assert_eq!(
            inside("count,build(id,compatibleAgents(agent(id)))"),
            Some(vec!["id".to_owned()])
        );
        assert_eq!(
            inside("compatibleAgents(agent)"),
            Some(vec!["*".to_owned()])
        );
        assert_eq!(
            inside("build(compatibleAgents(agent(id))),compatibleAgents(agent(name))"),
            Some(vec!["*".to_owned()])
        );
    }

    #[test]
    fn parses_nested_fields() {
        let fields =
            parse("count,nextHref,agent(id,name,pool(id,name)),build($locator(running:true),id)")
                .expect("parses");
        assert_eq!(fields.len(), 4);
        let agent = fields[2].sub.as_ref().expect("sub");
        assert_eq!(agent[2].name, "pool");
        assert_eq!(agent[2].sub.as_ref().map(Vec::len), Some(2));
        let build = fields[3].sub.as_ref().expect("sub");
        assert_eq!(
            build.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            vec!["$locator", "id"]
        );
        assert!(parse("agent(id").is_err());
        assert!(parse("a)").is_err());
    }

    #[test]
    fn default_views_drop_defaults_but_keep_single_agent_flags() {
        let list = render_default(&agents(vec![agent(1, false)]), true);
        assert_eq!(
            list,
            json!({"count": 1, "href": "/app/rest/agents", "agent": [{"id": 1, "name": "a1", "typeId": 1, "href": "/app/rest/agents/id:1"}]})
        );
        let single = render_default(&agent(1, false), true);
        assert_eq!(single["enabled"], json!(false));
        assert_eq!(
            single["pool"],
            json!({"id": 0, "name": "Default", "href": "/app/rest/agentPools/id:0"})
        );
        let empty = render_default(&agents(vec![]), true);
        assert_eq!(empty, json!({"count": 0, "href": "/app/rest/agents"}));
    }

    #[test]
    fn fields_select_and_keep_requested_defaults() {
        let fields = parse("count,agent(id,enabled,pool(id),missing)").expect("parses");
        let rendered = render_fields(&agents(vec![agent(2, false)]), &fields);
        assert_eq!(
            rendered,
            json!({"count": 1, "agent": [{"id": 2, "enabled": false, "pool": {"id": 0}}]})
        );
        let rendered = render_fields(&agents(vec![]), &fields);
        assert_eq!(rendered, json!({"count": 0}));
        let rendered = render_fields(
            &agents(vec![agent(3, true)]),
            &parse("agent(pool)").expect("parses"),
        );
        assert_eq!(
            rendered["agent"][0]["pool"],
            json!({"id": 0, "name": "Default", "href": "/app/rest/agentPools/id:0"})
        );
    }
}
