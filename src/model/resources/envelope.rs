//! Envelopes: answers and bodies that carry the item inside a property of their own.
//!
//! Many APIs wrap one item (`{"customer": {...}}`, `{"data": {...}}`) or a request body
//! (`{"customer": {...}}`) in an object. The stored object is the inner one; the answer keeps the
//! envelope. This is read from the schemas alone: a property whose schema is the resource's
//! representation, or, where no representation is known yet, the one object-valued property named
//! like the resource (or `data`) in an object that has no key of its own.

use crate::model::operation::properties;
use crate::spec::pointer::{escape_pointer, lookup, resolve, resolve_pointer};
use serde_json::Value;

/// A name folded for comparison across naming styles: `FriendlyName`, `friendly_name` and
/// `friendly-name` all fold to `friendlyname`.
pub fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The canonical pointer of a property's schema (its `$ref` target, followed to the end).
pub fn property_pointer(root: &Value, at: &str, name: &str) -> String {
    resolve_pointer(root, format!("{at}/properties/{}", escape_pointer(name)))
}

fn is_object_schema(root: &Value, schema: &Value) -> bool {
    let s = resolve(root, schema);
    s.get("type").and_then(Value::as_str) == Some("object") || !properties(root, s).is_empty()
}

/// Properties of a wrapper that travel beside the item rather than being it.
const BESIDE: &[&str] = &["links", "_links", "meta", "pagination", "errors", "warnings"];

/// The property of the object schema at `pointer` that holds one item, and that item's schema
/// pointer. `rep` is the representation's canonical pointer when known: a property whose schema
/// is exactly it wins. Otherwise, in a wrapper with no `id` of its own, the object property named
/// like the resource (`customer`, or ending so: `ssh_key` for keys, `device_code` for codes) or
/// `data`, else the only object property where everything beside it is an array or a known
/// companion (`links`, `meta`, `errors`).
pub fn item_envelope(root: &Value, pointer: &str, rep: Option<&str>, singular: &str) -> Option<(String, String)> {
    let canon = resolve_pointer(root, pointer.to_string());
    if rep == Some(canon.as_str()) {
        return None;
    }
    let schema = lookup(root, &canon)?;
    let props = properties(root, schema);
    if props.is_empty() || props.contains_key("id") {
        return None;
    }
    if let Some(rep) = rep {
        for name in props.keys() {
            if property_pointer(root, &canon, name) == rep {
                return Some((name.clone(), rep.to_string()));
            }
        }
    }
    let wanted = fold(singular);
    let objects: Vec<&String> = props
        .iter()
        .filter(|(name, s)| !BESIDE.contains(&name.as_str()) && is_object_schema(root, s))
        .map(|(name, _)| name)
        .collect();
    let named: Vec<&&String> = objects
        .iter()
        .filter(|name| {
            let f = fold(name);
            f == wanted || name.as_str() == "data" || (!wanted.is_empty() && f.ends_with(&wanted))
        })
        .collect();
    // Everything beside the candidate travels with an item (arrays, links, meta, errors): an
    // object with scalar fields of its own (`{title, body, data: {...}}`) is no wrapper.
    let only_companions = |chosen: &str| {
        props.iter().all(|(name, s)| {
            name == chosen
                || BESIDE.contains(&name.as_str())
                || crate::model::resources::shape::type_has(resolve(root, s), "array")
        })
    };
    // Named exactly like the resource, the property is the item whatever travels beside it
    // (`{"knowledge_base": {...}, "database_status": "ONLINE"}`); a weaker sign (`data`, a name
    // that only ends like the resource, the only object) needs companions alone beside it.
    let chosen = match (named.as_slice(), objects.as_slice()) {
        ([one], _) if fold(one) == wanted || only_companions(one) => Some((**one).clone()),
        ([], [only]) if only_companions(only) => Some((*only).clone()),
        _ => None,
    }?;
    let inner = property_pointer(root, &canon, &chosen);
    Some((chosen, inner))
}

/// The item inside an example of an envelope answer (the example itself when there is none).
pub fn unwrap<'v>(example: &'v Value, envelope: Option<&str>) -> Option<&'v Value> {
    match envelope {
        Some(field) => example.get(field),
        None => Some(example),
    }
}

/// A key as text (`1347`, `"cus_1"` → `cus_1`).
pub fn key_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
