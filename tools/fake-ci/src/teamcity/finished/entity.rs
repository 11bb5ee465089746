//! The pieces of a build entity that a finished build and a freshly queued one share:
//! hrefs, the build type, properties (`own:true` on the build's own) and the metas that
//! make every other field `$long`.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::fields::{COLLECTION, LONG, SHORT};

pub fn meta(mut obj: Map<String, Value>, short: &[&str]) -> Value {
    let long: Vec<&str> = obj.keys().map(String::as_str).collect::<Vec<_>>();
    let long = json!(long);
    obj.insert(SHORT.into(), json!(short));
    obj.insert(LONG.into(), long);
    Value::Object(obj)
}

pub fn collection(item: &str, items: Vec<Value>) -> Value {
    let mut obj = Map::new();
    obj.insert("count".into(), json!(items.len()));
    obj.insert(item.into(), Value::Array(items));
    obj.insert(COLLECTION.into(), json!(item));
    Value::Object(obj)
}

pub fn href(prefix: &str, path: &str) -> String {
    format!("{prefix}/app/rest/{path}")
}

pub fn build_type(prefix: &str, web: &str, id: &str) -> Value {
    json!({
        "id": id, "name": id, "projectName": "ci-fleet", "projectId": "CiFleet",
        "href": href(prefix, &format!("buildTypes/id:{id}")),
        "webUrl": format!("{web}/viewType.html?buildTypeId={id}"),
    })
}

pub fn properties(own: &BTreeMap<String, String>, inherited: &BTreeMap<String, String>) -> Value {
    let mut all: Vec<Value> = inherited
        .iter()
        .filter(|(k, _)| !own.contains_key(*k))
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    all.extend(
        own.iter()
            .map(|(name, value)| json!({"name": name, "value": value, "own": true})),
    );
    all.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    collection("property", all)
}
