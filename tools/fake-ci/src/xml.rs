//! TeamCity's default representation: XML where scalars are attributes, objects are
//! child elements named after their field, arrays repeat the element, and a few
//! free-text fields (dates, reasons, comment text) are text elements as in real output.

use serde_json::Value;

const TEXT_ELEMENTS: &[&str] = &[
    "queuedDate",
    "startDate",
    "finishDate",
    "startEstimate",
    "waitReason",
    "text",
    "timestamp",
    "statusText",
    "statusSwitchTime",
];

pub fn render(root: &str, value: &Value) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>");
    element(&mut out, root, value);
    out
}

fn element(out: &mut String, name: &str, value: &Value) {
    match value {
        Value::Object(obj) => {
            out.push('<');
            out.push_str(name);
            for (key, child) in obj {
                if is_attribute(key, child) {
                    out.push_str(&format!(" {key}=\"{}\"", escape(&scalar(child))));
                }
            }
            let children: Vec<(&String, &Value)> =
                obj.iter().filter(|(k, v)| !is_attribute(k, v)).collect();
            if children.is_empty() {
                out.push_str("/>");
                return;
            }
            out.push('>');
            for (key, child) in children {
                match child {
                    Value::Array(items) => items.iter().for_each(|item| element(out, key, item)),
                    other => element(out, key, other),
                }
            }
            out.push_str(&format!("</{name}>"));
        }
        Value::Array(items) => items.iter().for_each(|item| element(out, name, item)),
        Value::Null => {}
        scalar_value => out.push_str(&format!(
            "<{name}>{}</{name}>",
            escape(&scalar(scalar_value))
        )),
    }
}

fn is_attribute(key: &str, value: &Value) -> bool {
    !matches!(value, Value::Object(_) | Value::Array(_) | Value::Null)
        && !TEXT_ELEMENTS.contains(&key)
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars_become_attributes_and_arrays_repeat() {
        let value = json!({
            "count": 2, "href": "/app/rest/agents?locator=a&b",
            "agent": [{"id": 1, "name": "x", "pool": {"id": 0}}, {"id": 2, "name": "y<"}]
        });
        assert_eq!(
            render("agents", &value),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
             <agents count=\"2\" href=\"/app/rest/agents?locator=a&amp;b\">\
             <agent id=\"1\" name=\"x\"><pool id=\"0\"/></agent><agent id=\"2\" name=\"y&lt;\"/></agents>"
        );
    }

    #[test]
    fn free_text_fields_are_elements() {
        let value = json!({"status": false, "comment": {"text": "maintenance", "user": {"username": "ci"}}});
        assert_eq!(
            render("enabledInfo", &value),
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\
             <enabledInfo status=\"false\"><comment><text>maintenance</text><user username=\"ci\"/></comment></enabledInfo>"
        );
    }
}
