//! Completing a spec's example that leaves out what its schema requires.
//!
//! Published specs show answers whose examples lack required fields (an example `{"ok": true}`
//! where four more fields are required). An answer starts from the example and must validate,
//! so each required property the example leaves out, at any depth where the schema declares the
//! object's properties, is added with a generated value. What the
//! example shows stays as it is: a field it carries that breaks the schema is the spec's own
//! contradiction, not something to guess about.

use crate::model::generate::generate;
use crate::spec::pointer::{Field, resolve};
use serde_json::{Map, Value};

/// Nested objects looked into, at most (examples are data: this bounds a hostile one).
const MAX_DEPTH: usize = 16;

/// `example` with every required property it leaves out added, or `None` when it leaves out none.
pub fn complete(example: &Value, schema: &Value, doc: &Value) -> Option<Value> {
    let mut out = example.clone();
    fill(&mut out, schema, doc, 0).then_some(out)
}

/// Adds what `value` lacks for `schema`; whether it added anything.
fn fill(value: &mut Value, schema: &Value, doc: &Value, depth: usize) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let s = resolve(doc, schema);
    match value {
        Value::Object(map) => {
            let (props, required) = declared(doc, s, 0);
            let mut added = false;
            for name in &required {
                if !map.contains_key(name.as_str())
                    && let Some(p) = props.get(name.as_str())
                {
                    map.insert(name.clone(), generate(p, doc));
                    added = true;
                }
            }
            for (name, v) in map.iter_mut() {
                if let Some(p) = props.get(name.as_str()) {
                    added |= fill(v, p, doc, depth + 1);
                }
            }
            added
        }
        Value::Array(items) => match s.field("items") {
            Some(item) => items
                .iter_mut()
                .fold(false, |added, v| fill(v, item, doc, depth + 1) | added),
            None => false,
        },
        _ => false,
    }
}

/// The properties a schema declares and those it requires, its `allOf` parts' included (a
/// `oneOf`/`anyOf` branch is the value's to choose, and is not guessed at).
fn declared<'a>(doc: &'a Value, s: &'a Value, depth: usize) -> (Map<String, Value>, Vec<String>) {
    let mut props = Map::new();
    let mut required = Vec::new();
    if depth > MAX_DEPTH {
        return (props, required);
    }
    if let Some(p) = s.field("properties").and_then(Value::as_object) {
        for (k, v) in p {
            props.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    for r in s.field("required").and_then(Value::as_array).into_iter().flatten() {
        if let Some(r) = r.as_str() {
            required.push(r.to_string());
        }
    }
    for part in s.field("allOf").and_then(Value::as_array).into_iter().flatten() {
        let (p, r) = declared(doc, resolve(doc, part), depth + 1);
        for (k, v) in p {
            props.entry(k).or_insert(v);
        }
        required.extend(r);
    }
    (props, required)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn required_fields_an_example_leaves_out_are_added_and_the_rest_stays() {
        let doc = json!({"components": {"schemas": {"Msg": {
            "type": "object",
            "required": ["user", "text"],
            "properties": {"user": {"type": "string", "examples": ["U1"]}, "text": {"type": "string"}}
        }}}});
        let schema = json!({
            "allOf": [{"type": "object", "required": ["ok"], "properties": {"ok": {"type": "boolean"}}}],
            "type": "object",
            "required": ["enabled", "message"],
            "properties": {
                "enabled": {"type": "boolean"},
                "message": {"$ref": "#/components/schemas/Msg"},
                "list": {"type": "array", "items": {"$ref": "#/components/schemas/Msg"}}
            }
        });
        let example = json!({"ok": true, "message": {"text": "hi"}, "list": [{"user": "U2"}], "extra": 1});
        let done = complete(&example, &schema, &doc).unwrap();
        assert_eq!(done["ok"], true);
        assert!(done["enabled"].is_boolean(), "{done}");
        assert_eq!(done["message"], json!({"text": "hi", "user": "U1"}));
        assert_eq!(done["list"][0]["user"], "U2");
        assert!(done["list"][0]["text"].is_string(), "{done}");
        assert_eq!(done["extra"], 1);
        // Nothing left out: nothing to add.
        assert_eq!(complete(&done, &schema, &doc), None);
    }
}
