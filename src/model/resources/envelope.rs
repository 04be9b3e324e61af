//! Envelopes: answers and bodies that carry the item inside a property of their own.
//!
//! Many APIs wrap one item (`{"customer": {...}}`, `{"data": {...}}`) or a request body
//! (`{"customer": {...}}`) in an object. The stored object is the inner one; the answer keeps the
//! envelope. This is read from the schemas alone: a property whose schema is the resource's
//! representation, or, where no representation is known yet, the one object-valued property named
//! like the resource (or `data`) in an object that has no key of its own.

use crate::model::operation::{Operation, item_properties, properties};
use crate::spec::pointer::{Field, escape_pointer, lookup, resolve, resolve_pointer};
use serde_json::Value;

/// A name folded for comparison across naming styles: `FriendlyName`, `friendly_name` and
/// `friendly-name` all fold to `friendlyname`.
pub fn fold(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The canonical pointer of a property's schema (its `$ref` target, followed to the end). A
/// property that the schema at `at` declares through `allOf` (or, for one of several shapes,
/// that the first shape declaring it does) is found there; one declared nowhere gets the
/// pointer where it would be, which names nothing.
pub fn property_pointer(root: &Value, at: &str, name: &str) -> String {
    let direct = resolve_pointer(root, format!("{at}/properties/{}", escape_pointer(name)));
    if lookup(root, &direct).is_some() {
        return direct;
    }
    declared_in_parts(root, &resolve_pointer(root, at.to_string()), name, 0).unwrap_or(direct)
}

/// The pointer of `name` as a part of the schema at `at` declares it. Parts are looked into as
/// values first, and a pointer is made only for a part that declares the name or has parts of
/// its own: most names asked about are declared nowhere.
fn declared_in_parts(root: &Value, at: &str, name: &str, depth: usize) -> Option<String> {
    if depth > 8 {
        return None;
    }
    let schema = lookup(root, at)?;
    ["allOf", "anyOf", "oneOf"].iter().find_map(|key| {
        let parts = schema.get(*key).and_then(Value::as_array)?;
        parts.iter().enumerate().find_map(|(i, part)| {
            let value = resolve(root, part);
            let declares = value.field("properties").is_some_and(|p| p.get(name).is_some());
            let composed = ["allOf", "anyOf", "oneOf"].iter().any(|k| value.get(*k).is_some());
            if !declares && !composed {
                return None;
            }
            let part = resolve_pointer(root, format!("{at}/{key}/{i}"));
            if declares {
                Some(resolve_pointer(
                    root,
                    format!("{part}/properties/{}", escape_pointer(name)),
                ))
            } else {
                declared_in_parts(root, &part, name, depth + 1)
            }
        })
    })
}

/// An object schema: typed so, declaring properties, or one of several shapes that all declare
/// some in common (see [`item_properties`]).
fn is_object_schema(root: &Value, schema: &Value) -> bool {
    let s = resolve(root, schema);
    s.field("type").and_then(Value::as_str) == Some("object") || !item_properties(root, s).is_empty()
}

/// A collection's name as a property naming its items would be written, folded (see [`fold`]):
/// `Calls.json` on `/Calls.json` is `calls`.
pub fn collection_name(name: &str) -> String {
    fold(name.split('.').next().unwrap_or(name))
}

/// Properties of a wrapper that travel beside the item rather than being it.
const BESIDE: &[&str] = &[
    "links",
    "_links",
    "meta",
    "pagination",
    "errors",
    "warnings",
    "problem",
    "problems",
];

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
    if props.is_empty() {
        // One of several answers (one item, or several: `{"widget": ...}` or `{"widgets": [...]}`):
        // the first alternative that wraps one item is the one a single create or read answers.
        let s = resolve(root, schema);
        return ["oneOf", "anyOf"].iter().find_map(|key| {
            let branches = s.get(*key).and_then(Value::as_array)?;
            (0..branches.len()).find_map(|i| item_envelope(root, &format!("{canon}/{key}/{i}"), rep, singular))
        });
    }
    if props.contains_key("id") {
        return None;
    }
    // A property whose schema is the representation's node itself (compared by place: a
    // pointer made for every property of every wrapper showed in profiles of large specs).
    if let Some(rep) = rep
        && let Some(rep_node) = lookup(root, rep)
    {
        for (name, s) in &props {
            if std::ptr::eq(resolve(root, s), rep_node) {
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

/// The envelope an answer's example shows where its schema shows none: the example wraps an
/// item in one property named like the resource, which the schema does not declare
/// (`{"prefix": {"uuid": ...}}` for a schema of `uuid`, `status`, `region`; `{"key": {...}}`
/// for a read whose schema declares only a list, `keys`). The example is the better account of the
/// answer's shape, and the wrapped answer still validates against the schema, which is checked
/// here: no top-level field is required and no undeclared one refused. Returns the wrapper's name
/// and the item's schema: the answer's own when the example's item has its fields, else the
/// resource's representation `rep` when it has them.
pub fn example_envelope(
    root: &Value,
    pointer: &str,
    example: &Value,
    rep: Option<&str>,
    singular: &str,
) -> Option<(String, String)> {
    let schema = resolve(root, lookup(root, pointer)?);
    let open = schema.field("additionalProperties") != Some(&Value::Bool(false))
        && schema
            .field("required")
            .and_then(Value::as_array)
            .is_none_or(|r| r.is_empty());
    let [(name, inner)] = example.as_object()?.iter().collect::<Vec<_>>()[..] else {
        return None;
    };
    let inner = inner.as_object()?;
    let props = properties(root, schema);
    if !open || props.contains_key(name) || fold(name) != fold(singular) {
        return None;
    }
    let describes = |p: &str| {
        let props = lookup(root, p).map(|s| properties(root, s)).unwrap_or_default();
        !props.is_empty() && inner.keys().any(|k| props.contains_key(k))
    };
    [Some(pointer), rep]
        .into_iter()
        .flatten()
        .find(|p| describes(p))
        .map(|p| (name.clone(), p.to_string()))
}

/// The envelope of `op`'s success answer for a resource (its representation at `rep`, named
/// `singular`): from the schema ([`item_envelope`]), else from the answer's example
/// ([`example_envelope`], the item then shaped by the answer's own schema). The wrapper's name
/// and the item's schema pointer.
pub fn answer_envelope(root: &Value, op: &Operation, rep: Option<&str>, singular: &str) -> Option<(String, String)> {
    let success = op.success()?;
    let p = success.schema_pointer.as_deref()?;
    item_envelope(root, p, rep, singular).or_else(|| {
        let example = success.first_example(root)?;
        example_envelope(root, p, example, rep, singular)
    })
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
