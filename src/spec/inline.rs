//! `$ref`s where OpenAPI and JSON Schema allow none: a whole map or list written as a reference.
//!
//! Specs split over many files use `$ref` as a JSON Reference, which may stand for any value: a
//! schema's whole `properties` map (`properties: {$ref: 'attributes.yml#/widget_ids'}`), a
//! response's `headers`, an operation's `parameters` list. A Reference Object is allowed only where
//! one object (a schema, a parameter, a response) is expected, and a JSON Schema validator reads
//! such a `properties` as one property named `$ref`. So after bundling, where a map of named things
//! or a list is expected and a `$ref` stands instead, the `$ref` is replaced by a copy of what it
//! points at (siblings of the `$ref` are kept, and win). Every other `$ref` stays: schemas keep
//! their references (recursion, and one compiled validator per target), and the model resolves
//! the rest.

use crate::spec::pointer::{Field, lookup, percent_decode};
use serde_json::Value;

/// Keys whose value is a map of names (or a list), never a single object that a `$ref` could be.
const MAP_KEYS: &[&str] = &[
    // JSON Schema
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependentRequired",
    "dependencies",
    "allOf",
    "anyOf",
    "oneOf",
    "prefixItems",
    "required",
    // OpenAPI
    "paths",
    "webhooks",
    "components",
    "schemas",
    "responses",
    "parameters",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "pathItems",
    "content",
    "encoding",
    "variables",
    "servers",
    "security",
    "tags",
    "mapping",
    "flows",
    "scopes",
    "additionalOperations",
    "examples",
];

/// Literal values (examples, enums, defaults) may contain anything, including keys named `$ref`.
pub(crate) fn is_literal(key: &str, value: &Value) -> bool {
    matches!(key, "example" | "enum" | "const" | "default" | "value") || (key == "examples" && value.is_array())
}

/// The keys whose value, when it is a map, holds names rather than keywords (so that a property
/// called `content` is not taken for a media type map).
pub(crate) fn names_below(key: &str) -> bool {
    MAP_KEYS.contains(&key)
}

/// Replaces the `$ref`s that stand for a whole map or list by what they point at. The document
/// is read first, each replacement made (and expanded in turn) from the document as it was, and
/// then written in: no copy of the whole document is needed to read from while it changes.
pub fn inline_map_refs(root: &mut Value) {
    if !needs(root, false) {
        return;
    }
    let mut found = Vec::new();
    find(root, root, false, &mut Vec::new(), &mut Vec::new(), &mut found);
    for (path, replacement) in found {
        if let Some(at) = at_path(root, &path) {
            *at = replacement;
        }
    }
}

/// A step from a value to one inside it.
#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn at_path<'a>(mut v: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    for step in path {
        v = match (v, step) {
            (Value::Object(map), Step::Key(k)) => map.get_mut(k)?,
            (Value::Array(items), Step::Index(i)) => items.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(v)
}

/// The replacement for the `$ref` `child` (a value under a map key) stands for: a copy of its
/// target with `child`'s siblings of the `$ref` (which win), expanded in turn. `None`: it stays.
fn replacement(snapshot: &Value, child: &Value, stack: &mut Vec<String>) -> Option<Value> {
    let r = child.field("$ref").and_then(Value::as_str)?;
    if stack.iter().any(|s| s == r) {
        return None;
    }
    let t = target(snapshot, r)?;
    let mut replacement = t.clone();
    if let (Value::Object(into), Value::Object(siblings)) = (&mut replacement, child) {
        for (sk, sv) in siblings {
            if sk != "$ref" {
                into.insert(sk.clone(), sv.clone());
            }
        }
    }
    stack.push(r.to_string());
    expand(snapshot, &mut replacement, true, stack);
    stack.pop();
    Some(replacement)
}

/// [`expand`] for the document itself, which is read, not changed: each replacement is pushed to
/// `found` with the path to the value it replaces.
fn find(
    snapshot: &Value,
    v: &Value,
    named: bool,
    stack: &mut Vec<String>,
    path: &mut Vec<Step>,
    found: &mut Vec<(Vec<Step>, Value)>,
) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                path.push(Step::Key(k.clone()));
                if named {
                    find(snapshot, child, false, stack, path, found);
                } else if !is_literal(k, child) {
                    let below = names_below(k);
                    match below.then(|| replacement(snapshot, child, stack)).flatten() {
                        Some(replaced) => found.push((path.clone(), replaced)),
                        None => find(snapshot, child, below, stack, path, found),
                    }
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                find(snapshot, item, false, stack, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether `v` (a keyword object, or a map of names when `named`) has a `$ref` in a map position.
fn needs(v: &Value, named: bool) -> bool {
    match v {
        Value::Object(map) => map.iter().any(|(k, child)| {
            if named {
                return needs(child, false);
            }
            if is_literal(k, child) {
                return false;
            }
            let below = names_below(k);
            (below && child.field("$ref").is_some_and(Value::is_string)) || needs(child, below)
        }),
        Value::Array(items) => items.iter().any(|i| needs(i, false)),
        _ => false,
    }
}

/// Where a local `$ref` leads, following chains (bounded).
fn target<'a>(root: &'a Value, r: &str) -> Option<&'a Value> {
    let mut r = r.to_string();
    for _ in 0..32 {
        let t = lookup(root, &percent_decode(r.strip_prefix('#')?))?;
        match t.field("$ref").and_then(Value::as_str) {
            Some(next) if t.as_object().is_some_and(|m| m.len() == 1) => r = next.to_string(),
            _ => return Some(t),
        }
    }
    None
}

/// Replaces, inside `v` (a copy being made), the `$ref`s that stand for a map or a list, reading
/// their targets in `snapshot`, the document as it was.
fn expand(snapshot: &Value, v: &mut Value, named: bool, stack: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if named {
                    expand(snapshot, child, false, stack);
                    continue;
                }
                if is_literal(k, child) {
                    continue;
                }
                let below = names_below(k);
                if below && let Some(replaced) = replacement(snapshot, child, stack) {
                    *child = replaced;
                    continue;
                }
                expand(snapshot, child, below, stack);
            }
        }
        Value::Array(items) => {
            for item in items {
                expand(snapshot, item, false, stack);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_ref_standing_for_a_map_or_list_is_replaced_by_its_target() {
        let mut doc = json!({
            "attrs": {"ids": {"ids": {"type": "array"}}, "list": [{"name": "a", "in": "query"}]},
            "s": {"type": "object", "properties": {"$ref": "#/attrs/ids", "extra": {"type": "string"}}},
            "op": {"parameters": {"$ref": "#/attrs/list"}},
            "p": {"properties": {"content": {"$ref": "#/attrs/ids/ids"}}},
            "loop": {"properties": {"$ref": "#/loop/properties"}},
            "ex": {"example": {"properties": {"$ref": "#/attrs/ids"}}},
        });
        inline_map_refs(&mut doc);
        assert_eq!(
            doc["s"]["properties"],
            json!({"ids": {"type": "array"}, "extra": {"type": "string"}})
        );
        assert_eq!(doc["op"]["parameters"], json!([{"name": "a", "in": "query"}]));
        // A property named like a map keyword keeps its schema reference.
        assert_eq!(doc["p"]["properties"]["content"], json!({"$ref": "#/attrs/ids/ids"}));
        // A reference to itself is left alone rather than expanded forever; examples are data.
        assert_eq!(doc["loop"]["properties"], json!({"$ref": "#/loop/properties"}));
        assert_eq!(doc["ex"]["example"]["properties"], json!({"$ref": "#/attrs/ids"}));
    }
}
