//! Identical parts of a document stored once: a schema, parameter, header, example, request body
//! or response written out again, word for word, becomes a `$ref` to its first copy.
//!
//! The document is kept for the life of the server, as `serde_json::Value`, at about a hundred
//! bytes per member of every object. Published specs repeat themselves: a generator writes the
//! same path parameter into every operation of a resource, the same response headers into every
//! response, and a spec split over files gives each response file its own copy of the same
//! headers. Each copy costs as much as the first.
//!
//! Only where OpenAPI allows a Reference Object, or JSON Schema a `$ref`, is a copy replaced, so
//! every reader, which already follows `$ref`s there, reads the same thing. Places are found by
//! walking the document's structure (a schema's `properties` are schemas, an operation's
//! `parameters` are parameters), following `$ref`s to learn what a bundled file holds. Never
//! replaced: a component itself (readers name them), a place some `$ref` points into (it must stay
//! where it is), anything inside a schema with an `$id` (its `$ref`s resolve against that id), and
//! copies too small to be worth a reference. Copies are compared member by member, in order, so
//! examples keep their key order.

use crate::spec::pointer::{Field, encode_fragment, local_refs, lookup, lookup_mut, percent_decode, push_segment};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// What a value is, which says what its members are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Doc,
    Components,
    /// A map of `role` (components' `schemas`, `properties`, `headers`, `responses`...).
    MapOf(Kind),
    /// A list of `role` (`allOf`, `parameters`).
    ListOf(Kind),
    One(Kind),
}

/// What may be shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    PathItem,
    Operation,
    Parameter,
    Header,
    RequestBody,
    Response,
    MediaType,
    Example,
    Schema,
}

impl Kind {
    /// Whether a copy of it may become a `$ref` (OpenAPI allows no Reference Object for a media
    /// type, and operations and path items are never copies of each other worth the risk).
    fn shareable(self) -> bool {
        !matches!(self, Kind::PathItem | Kind::Operation | Kind::MediaType)
    }
}

/// A copy must hold at least this many members and items (at any depth) to be replaced: a
/// reference is itself an object with one member.
const MIN_SIZE: usize = 3;

/// Replaces copies with `$ref`s to their first occurrence; returns how many were replaced.
pub fn share(root: &mut Value) -> usize {
    let mut targets: BTreeSet<String> = BTreeSet::new();
    local_refs(root, &mut |p| {
        targets.insert(p.to_string());
    });
    let places = places(root);
    let mut first: HashMap<u64, Vec<String>> = HashMap::new();
    // (copy, original)
    let mut replace: Vec<(String, String)> = Vec::new();
    let mut replaced: HashSet<String> = HashSet::new();
    for (pointer, component) in places {
        if ancestors(&pointer).any(|a| replaced.contains(a)) {
            continue;
        }
        let Some(value) = lookup(root, &pointer) else { continue };
        if size(value) < MIN_SIZE || has_id(value) {
            continue;
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        hash(value, &mut h);
        let originals = first.entry(h.finish()).or_default();
        let original = originals
            .iter()
            .find(|o| lookup(root, o).is_some_and(|v| same(v, value)))
            .cloned();
        match original {
            Some(original) if !component && !holds_target(&targets, &pointer) => {
                replaced.insert(pointer.clone());
                replace.push((pointer, original));
            }
            Some(_) => {}
            None => originals.push(pointer),
        }
    }
    let n = replace.len();
    for (copy, original) in replace {
        if let Some(slot) = lookup_mut(root, &copy) {
            let mut reference = Map::new();
            reference.insert("$ref".into(), Value::String(format!("#{}", encode_fragment(&original))));
            *slot = Value::Object(reference);
        }
    }
    n
}

/// Every place of the document that holds a shareable item, once each, in walk order (the
/// components, the paths, then what `$ref`s lead to), and whether it is a component (kept, but
/// an original).
fn places(root: &Value) -> Vec<(String, bool)> {
    let mut w = Walker::default();
    let mut pointer = String::new();
    w.walk(root, Role::Doc, false, &mut pointer);
    let mut next = 0;
    while let Some((target, item)) = w.queue.get(next).cloned() {
        next += 1;
        if let Some(v) = lookup(root, &target) {
            let mut pointer = target;
            w.walk(v, Role::One(item), true, &mut pointer);
        }
    }
    w.out
}

#[derive(Default)]
struct Walker {
    out: Vec<(String, bool)>,
    /// Places walked: a place reached again (a component a `$ref` leads to) is not walked twice.
    seen: HashSet<String>,
    /// Where `$ref`s lead, and what they expect to find there.
    queue: Vec<(String, Kind)>,
}

impl Walker {
    /// Walks `v` in `role`; `component` marks an original that must stay (a component, or a
    /// place a `$ref` leads to).
    fn walk(&mut self, v: &Value, role: Role, component: bool, pointer: &mut String) {
        match (role, v) {
            (Role::Doc, Value::Object(m)) => {
                for key in ["components", "paths", "webhooks"] {
                    let role = if key == "components" {
                        Role::Components
                    } else {
                        Role::MapOf(Kind::PathItem)
                    };
                    if let Some(child) = m.field(key) {
                        self.member(key, child, role, pointer);
                    }
                }
            }
            (Role::Components, Value::Object(m)) => {
                for (k, child) in m {
                    let item = match k.as_str() {
                        "schemas" => Kind::Schema,
                        "parameters" => Kind::Parameter,
                        "headers" => Kind::Header,
                        "responses" => Kind::Response,
                        "requestBodies" => Kind::RequestBody,
                        "examples" => Kind::Example,
                        "pathItems" => Kind::PathItem,
                        _ => continue,
                    };
                    let Value::Object(members) = child else { continue };
                    let len = pointer.len();
                    push_segment(pointer, k);
                    for (name, member) in members {
                        let inner = pointer.len();
                        push_segment(pointer, name);
                        self.walk(member, Role::One(item), true, pointer);
                        pointer.truncate(inner);
                    }
                    pointer.truncate(len);
                }
            }
            (Role::MapOf(item), Value::Object(m)) => {
                for (k, child) in m {
                    self.member(k, child, Role::One(item), pointer);
                }
            }
            (Role::ListOf(item), Value::Array(items)) => {
                for (i, child) in items.iter().enumerate() {
                    self.member(&i.to_string(), child, Role::One(item), pointer);
                }
            }
            (Role::One(item), Value::Object(m)) => {
                if !self.seen.insert(pointer.clone()) {
                    return;
                }
                if let Some(Value::String(r)) = m.field("$ref")
                    && let Some(fragment) = r.strip_prefix('#')
                {
                    self.queue.push((percent_decode(fragment).into_owned(), item));
                }
                if item == Kind::Schema && m.field("$id").is_some() {
                    return;
                }
                if item.shareable() {
                    self.out.push((pointer.clone(), component));
                }
                for (k, child) in m {
                    if let Some(role) = member_role(item, k, child) {
                        self.member(k, child, role, pointer);
                    }
                }
            }
            _ => {}
        }
    }

    fn member(&mut self, key: &str, child: &Value, role: Role, pointer: &mut String) {
        let len = pointer.len();
        push_segment(pointer, key);
        self.walk(child, role, false, pointer);
        pointer.truncate(len);
    }
}

/// What the member `key` of an `item` is, where it holds something shareable.
fn member_role(item: Kind, key: &str, value: &Value) -> Option<Role> {
    use Kind::*;
    let object_examples = || value.is_object().then_some(Role::MapOf(Example));
    match (item, key) {
        (PathItem, "parameters") | (Operation, "parameters") => Some(Role::ListOf(Parameter)),
        (PathItem, "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace" | "query") => {
            Some(Role::One(Operation))
        }
        (PathItem, "additionalOperations") => Some(Role::MapOf(Operation)),
        (Operation, "requestBody") => Some(Role::One(RequestBody)),
        (Operation, "responses") => Some(Role::MapOf(Response)),
        (Parameter | Header, "schema") | (MediaType, "schema" | "itemSchema") => Some(Role::One(Schema)),
        (Parameter | Header | MediaType, "examples") => object_examples(),
        (Parameter | Header | RequestBody | Response, "content") => Some(Role::MapOf(MediaType)),
        (Response, "headers") => Some(Role::MapOf(Header)),
        (Schema, "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas") => {
            Some(Role::MapOf(Schema))
        }
        (Schema, "allOf" | "anyOf" | "oneOf" | "prefixItems") => Some(Role::ListOf(Schema)),
        (Schema, "items") if value.is_array() => Some(Role::ListOf(Schema)),
        (
            Schema,
            "items"
            | "additionalProperties"
            | "not"
            | "contains"
            | "propertyNames"
            | "if"
            | "then"
            | "else"
            | "unevaluatedProperties"
            | "unevaluatedItems"
            | "additionalItems"
            | "contentSchema",
        ) if value.is_object() => Some(Role::One(Schema)),
        _ => None,
    }
}

/// `pointer` and every pointer it is inside (`/a/b`: `/a/b`, `/a`).
fn ancestors(pointer: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(Some(pointer), |p| p.rfind('/').filter(|i| *i > 0).map(|i| &p[..i]))
}

/// Whether some `$ref` points at `pointer` or inside it.
fn holds_target(targets: &BTreeSet<String>, pointer: &str) -> bool {
    // Everything inside starts with `pointer/`, and sorts between that and `pointer0` ('0'
    // follows '/').
    targets.contains(pointer)
        || targets
            .range(format!("{pointer}/")..format!("{pointer}0"))
            .next()
            .is_some()
}

/// Members and items at any depth.
fn size(v: &Value) -> usize {
    match v {
        Value::Object(m) => m.values().map(|c| 1 + size(c)).sum(),
        Value::Array(items) => items.iter().map(|c| 1 + size(c)).sum(),
        _ => 0,
    }
}

/// Whether a schema keyword that changes how `$ref`s inside resolve appears anywhere in `v`.
fn has_id(v: &Value) -> bool {
    match v {
        Value::Object(m) => m
            .iter()
            .any(|(k, c)| matches!(k.as_str(), "$id" | "$anchor" | "$dynamicAnchor" | "$recursiveAnchor") || has_id(c)),
        Value::Array(items) => items.iter().any(has_id),
        _ => false,
    }
}

/// A hash that sees members in order.
fn hash(v: &Value, h: &mut impl Hasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n.to_string()).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(items) => {
            (4u8, items.len()).hash(h);
            items.iter().for_each(|c| hash(c, h));
        }
        Value::Object(m) => {
            (5u8, m.len()).hash(h);
            for (k, c) in m {
                k.hash(h);
                hash(c, h);
            }
        }
    }
}

/// Equal, with members in the same order (`==` on maps ignores order).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param() -> Value {
        json!({"name": "AccountSid", "in": "path", "required": true, "schema": {"type": "string", "minLength": 34}})
    }

    #[test]
    fn a_repeated_parameter_and_header_become_references_to_the_first() {
        let headers = json!({"X-Rate": {"schema": {"type": "integer"}, "example": 5}});
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {
                "/a/{AccountSid}": {"get": {"parameters": [param()], "responses": {"200": {"description": "ok", "headers": headers.clone()}}}},
                "/b/{AccountSid}": {"get": {"parameters": [param()], "responses": {"200": {"description": "ok", "headers": headers.clone()}}}},
            }
        });
        assert!(share(&mut doc) >= 2);
        let b = &doc["paths"]["/b/{AccountSid}"]["get"];
        assert_eq!(
            b["parameters"][0],
            json!({"$ref": "#/paths/~1a~1%7BAccountSid%7D/get/parameters/0"})
        );
        // The whole response was a copy: it is the reference now.
        assert_eq!(
            b["responses"]["200"],
            json!({"$ref": "#/paths/~1a~1%7BAccountSid%7D/get/responses/200"})
        );
        let first = &doc["paths"]["/a/{AccountSid}"]["get"];
        assert_eq!(first["parameters"][0], param());
        assert_eq!(crate::spec::pointer::resolve(&doc, &b["parameters"][0]), &param());
    }

    #[test]
    fn examples_data_components_and_referenced_places_stay() {
        let schema = json!({"type": "object", "properties": {"id": {"type": "string"}, "n": {"type": "integer"}}});
        let mut doc = json!({
            "openapi": "3.1.0",
            "components": {"schemas": {"A": schema.clone(), "B": schema.clone()}},
            "paths": {"/x": {"post": {
                "requestBody": {"content": {"application/json": {"schema": schema.clone(), "example": schema.clone()}}},
                "responses": {"201": {"description": "ok", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/B"},
                    "examples": {"one": {"value": {"a": 1, "b": 2, "c": 3}}, "two": {"value": {"a": 1, "b": 2, "c": 3}}}
                }}}}
            }}}
        });
        share(&mut doc);
        // Components are kept as written; the inline copy refers to the first.
        assert_eq!(doc["components"]["schemas"]["B"], schema);
        let media = &doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(media["schema"], json!({"$ref": "#/components/schemas/A"}));
        // An example's value is data, even where it looks like a schema.
        assert_eq!(media["example"], schema);
        // Example objects are shareable.
        let examples = &doc["paths"]["/x"]["post"]["responses"]["201"]["content"]["application/json"]["examples"];
        assert_eq!(
            examples["two"]["$ref"],
            "#/paths/~1x/post/responses/201/content/application~1json/examples/one"
        );
    }

    #[test]
    fn key_order_and_ids_keep_copies_apart() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "components": {"schemas": {
                "A": {"type": "object", "properties": {"p": {"enum": [1, 2, 3]}, "q": {"enum": [1, 2, 3]}}},
                "B": {"$id": "https://example.com/b", "properties": {"p": {"enum": [1, 2, 3]}}},
                "C": {"properties": {"r": {"enum": [3, 2, 1]}, "s": {"const": {"b": 1, "a": 2, "c": 3}}, "t": {"const": {"a": 2, "b": 1, "c": 3}}}}
            }}
        });
        share(&mut doc);
        let s = &doc["components"]["schemas"];
        assert_eq!(s["A"]["properties"]["q"]["$ref"], "#/components/schemas/A/properties/p");
        assert_eq!(s["B"]["properties"]["p"]["enum"], json!([1, 2, 3]));
        assert_eq!(s["C"]["properties"]["r"]["enum"], json!([3, 2, 1]));
        assert!(s["C"]["properties"]["t"].get("$ref").is_none());
    }
}
