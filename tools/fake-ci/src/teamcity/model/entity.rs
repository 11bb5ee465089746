//! What every entity shares: TeamCity's compact dates, the `fields` metas that decide the
//! default views, and collections (`count`, `href`, page links, items).

use serde_json::{Map, Value, json};

use crate::fields::{COLLECTION, KEEP, LONG, SHORT};

/// TeamCity's compact timestamp, `yyyyMMdd'T'HHmmssZ`.
pub fn tc_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%S%z")
        .to_string()
}

pub(super) fn with_meta(
    mut obj: Map<String, Value>,
    short: &[&str],
    long: Option<&[&str]>,
    keep: &[&str],
) -> Value {
    obj.insert(SHORT.into(), json!(short));
    if let Some(long) = long {
        obj.insert(LONG.into(), json!(long));
    }
    if !keep.is_empty() {
        obj.insert(KEEP.into(), json!(keep));
    }
    Value::Object(obj)
}

pub fn collection(
    item_key: &str,
    href: Option<String>,
    next: Option<String>,
    prev: Option<String>,
    items: Vec<Value>,
) -> Value {
    let mut obj = Map::new();
    obj.insert("count".into(), json!(items.len()));
    if let Some(href) = href {
        obj.insert("href".into(), json!(href));
    }
    if let Some(next) = next {
        obj.insert("nextHref".into(), json!(next));
    }
    if let Some(prev) = prev {
        obj.insert("prevHref".into(), json!(prev));
    }
    obj.insert(item_key.into(), Value::Array(items));
    obj.insert(COLLECTION.into(), json!(item_key));
    with_meta(
        obj,
        &["count", "href", "nextHref", "prevHref", item_key],
        None,
        &[],
    )
}
