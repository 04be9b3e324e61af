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

use crate::spec::pointer::{
    Field, Subschemas, encode_fragment, local_refs, lookup, lookup_mut, percent_decode, push_segment, subschemas,
};
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
    let replace = copies(root);
    let n = replace.len();
    // Many copies of one original: its reference is written once.
    let mut written: HashMap<String, String, foldhash::fast::RandomState> = HashMap::default();
    for (copy, original) in replace {
        let target = written
            .entry(original)
            .or_insert_with_key(|original| format!("#{}", encode_fragment(original)))
            .clone();
        if let Some(slot) = lookup_mut(root, &copy) {
            let mut reference = Map::new();
            reference.insert("$ref".into(), Value::String(target));
            *slot = Value::Object(reference);
        }
    }
    n
}

/// The copies to replace, each with the pointer of its original.
fn copies(root: &Value) -> Vec<(String, String)> {
    let mut targets: BTreeSet<String> = BTreeSet::new();
    local_refs(root, &mut |p| {
        targets.insert(p.to_string());
    });
    let places = places(root);
    let mut first: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut replace = Vec::new();
    let mut i = 0;
    while let Some(place) = places.get(i) {
        i += 1;
        if place.sum.size < MIN_SIZE || place.sum.id {
            continue;
        }
        let originals = first.entry(place.sum.hash).or_default();
        let original = originals
            .iter()
            .filter_map(|o| places.get(*o))
            .find(|o| same(o.value, place.value));
        match original {
            Some(original) if !place.component && !holds_target(&targets, &place.pointer) => {
                replace.push((place.pointer.clone(), original.pointer.clone()));
                // What is inside a copy goes with it.
                i = place.end;
            }
            Some(_) => {}
            None => originals.push(i - 1),
        }
    }
    replace
}

/// A place that holds a shareable item.
struct Place<'a> {
    pointer: String,
    value: &'a Value,
    sum: Sum,
    /// A component, or a place a `$ref` leads to: kept, but an original.
    component: bool,
    /// The index, among places, just past the places inside this one.
    end: usize,
}

/// What a value holds, summed up bottom-up in one pass (not again for each place around it).
#[derive(Debug, Clone, Copy, Default)]
struct Sum {
    /// A hash that sees members in order.
    hash: u64,
    /// Members and items at any depth.
    size: usize,
    /// Whether a keyword that changes how `$ref`s inside resolve (`$id`, an anchor) is inside.
    id: bool,
}

/// Every place of the document that holds a shareable item, once each, in walk order (the
/// components, the paths, then what `$ref`s lead to; a place before what is inside it).
fn places(root: &Value) -> Vec<Place<'_>> {
    let mut w = Walker::default();
    let mut pointer = String::new();
    w.walk(root, Some(Role::Doc), false, false, &mut pointer);
    let mut next = 0;
    while let Some((target, kind)) = w.queue.get(next).cloned() {
        next += 1;
        let Some(v) = lookup(root, &target) else { continue };
        // Most `$ref`s lead to a place walked already (a component): asked first, as cheaply.
        if w.seen.contains(&(v as *const Value)) || within_id(root, &target) {
            continue;
        }
        let mut pointer = target;
        w.walk(v, Some(Role::One(kind)), true, false, &mut pointer);
    }
    w.out
}

#[derive(Default)]
struct Walker<'a> {
    out: Vec<Place<'a>>,
    /// Places walked (by address: the document does not move while it is walked): a place
    /// reached again (a component a `$ref` leads to) is not walked twice.
    seen: HashSet<*const Value, foldhash::fast::RandomState>,
    /// Where `$ref`s lead, and what they expect to find there.
    queue: Vec<(String, Kind)>,
}

impl<'a> Walker<'a> {
    /// Walks `v` in `role` (`None`: it holds nothing shareable, and is only summed up).
    /// `inside`: `v` is inside a place, whose sum needs `v`'s; outside every place, what holds
    /// nothing shareable is not looked at.
    fn walk(&mut self, v: &'a Value, role: Option<Role>, component: bool, inside: bool, pointer: &mut String) -> Sum {
        if role.is_none() && !inside {
            return Sum::default();
        }
        let mut h = hasher();
        let (size, id) = match v {
            Value::Object(m) => return self.object(v, m, role, component, inside, pointer),
            Value::Array(items) => {
                (4u8, items.len()).hash(&mut h);
                let item = match role {
                    Some(Role::ListOf(kind)) => Some(Role::One(kind)),
                    _ => None,
                };
                let (mut size, mut id) = (0, false);
                for (i, child) in items.iter().enumerate() {
                    let sum = match item {
                        Some(_) => self.member(itoa::Buffer::new().format(i), child, item, false, inside, pointer),
                        None => self.walk(child, None, false, inside, pointer),
                    };
                    sum.hash.hash(&mut h);
                    size += 1 + sum.size;
                    id |= sum.id;
                }
                (size, id)
            }
            scalar => {
                match scalar {
                    Value::Bool(b) => (1u8, b).hash(&mut h),
                    Value::Number(n) => (2u8, n.as_str()).hash(&mut h),
                    Value::String(s) => (3u8, s).hash(&mut h),
                    _ => 0u8.hash(&mut h),
                }
                (0, false)
            }
        };
        Sum {
            hash: h.finish(),
            size,
            id,
        }
    }

    fn object(
        &mut self,
        v: &'a Value,
        m: &'a Map<String, Value>,
        role: Option<Role>,
        component: bool,
        inside: bool,
        pointer: &mut String,
    ) -> Sum {
        let mut place = None;
        if let Some(Role::One(kind)) = role {
            if !self.seen.insert(v as *const Value) {
                return self.walk(v, None, false, inside, pointer);
            }
            if let Some(Value::String(r)) = m.field("$ref")
                && let Some(fragment) = r.strip_prefix('#')
            {
                self.queue.push((percent_decode(fragment).into_owned(), kind));
            }
            if kind.shareable() && !(kind == Kind::Schema && m.field("$id").is_some()) {
                place = Some(self.out.len());
                self.out.push(Place {
                    pointer: pointer.clone(),
                    value: v,
                    sum: Sum::default(),
                    component,
                    end: 0,
                });
            }
        }
        // Inside a schema with an `$id`, nothing is a place.
        let walk_inside = !matches!(role, Some(Role::One(Kind::Schema))) || m.field("$id").is_none();
        let inside = inside || place.is_some();
        let mut h = hasher();
        (5u8, m.len()).hash(&mut h);
        let (mut size, mut id) = (0, false);
        for (k, child) in m {
            let below = match role {
                _ if !walk_inside => None,
                Some(Role::Doc) => match k.as_str() {
                    "components" => Some(Role::Components),
                    "paths" | "webhooks" => Some(Role::MapOf(Kind::PathItem)),
                    _ => None,
                },
                Some(Role::Components) => component_kind(k).map(Role::MapOf),
                Some(Role::MapOf(kind)) => Some(Role::One(kind)),
                // A discriminator may name a branch by its `$ref`'s last segment: branches
                // written out stay written out.
                Some(Role::One(Kind::Schema))
                    if matches!(k.as_str(), "oneOf" | "anyOf") && m.field("discriminator").is_some() =>
                {
                    None
                }
                Some(Role::One(kind)) => member_role(kind, k, child),
                Some(Role::ListOf(_)) | None => None,
            };
            // A component is an original that stays, whatever copies it: the members of
            // `components` and of the maps in it are walked as such.
            let child_component = match role {
                Some(Role::Components) => true,
                Some(Role::MapOf(_)) => component,
                _ => false,
            };
            let sum = match below {
                Some(_) => self.member(k, child, below, child_component, inside, pointer),
                None => self.walk(child, None, false, inside, pointer),
            };
            k.hash(&mut h);
            sum.hash.hash(&mut h);
            size += 1 + sum.size;
            id |= sum.id || matches!(k.as_str(), "$id" | "$anchor" | "$dynamicAnchor" | "$recursiveAnchor");
        }
        let sum = Sum {
            hash: h.finish(),
            size,
            id,
        };
        if let Some(i) = place {
            let end = self.out.len();
            if let Some(p) = self.out.get_mut(i) {
                p.sum = sum;
                p.end = end;
            }
        }
        sum
    }

    /// Walks the member `key` of the value at `pointer`.
    fn member(
        &mut self,
        key: &str,
        child: &'a Value,
        role: Option<Role>,
        component: bool,
        inside: bool,
        pointer: &mut String,
    ) -> Sum {
        let len = pointer.len();
        push_segment(pointer, key);
        let sum = self.walk(child, role, component, inside, pointer);
        pointer.truncate(len);
        sum
    }
}

/// Whether an object with an `$id` holds the place at `pointer` (a `$ref` may lead into one):
/// `$ref`s inside it resolve against that id, so nothing in it is shared.
fn within_id(root: &Value, pointer: &str) -> bool {
    let mut at = pointer;
    loop {
        if lookup(root, at).and_then(|v| v.field("$id")).is_some() {
            return true;
        }
        match at.rfind('/') {
            Some(i) => at = at.get(..i).unwrap_or_default(),
            None => return false,
        }
    }
}

/// The hasher of sums: fast, and the same in every run (a match is confirmed by comparing).
fn hasher() -> impl Hasher {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::default().build_hasher()
}

/// What a member of `components` holds.
fn component_kind(key: &str) -> Option<Kind> {
    Some(match key {
        "schemas" => Kind::Schema,
        "parameters" => Kind::Parameter,
        "headers" => Kind::Header,
        "responses" => Kind::Response,
        "requestBodies" => Kind::RequestBody,
        "examples" => Kind::Example,
        "pathItems" => Kind::PathItem,
        _ => return None,
    })
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
        (Schema, _) => match subschemas(key)? {
            Subschemas::Map => Some(Role::MapOf(Schema)),
            Subschemas::List => Some(Role::ListOf(Schema)),
            // An older draft's list of `items`.
            Subschemas::One if key == "items" && value.is_array() => Some(Role::ListOf(Schema)),
            Subschemas::One => value.is_object().then_some(Role::One(Schema)),
        },
        _ => None,
    }
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

    #[test]
    fn branches_beside_a_discriminator_and_places_under_an_id_stay_written_out() {
        let b = json!({"type": "object", "properties": {"kind": {"type": "string"}, "a": {"type": "integer"}}, "required": ["kind", "a"]});
        let first = json!({"type": "string", "minLength": 1, "maxLength": 50});
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {
                "/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": b.clone()}}}}}},
                "/b": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                    "oneOf": [b.clone(), {"type": "object", "properties": {"kind": {"type": "string"}, "b": {"type": "boolean"}}}],
                    "discriminator": {"propertyName": "kind"}
                }}}}}}},
                "/c": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": first.clone()}}}}}},
                "/d": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet/properties/name"}}}}}}}
            },
            "components": {"schemas": {"Pet": {"$id": "https://example.com/pet", "properties": {"name": {"properties": {"first": first.clone()}}}}}}
        });
        share(&mut doc);
        // A discriminator may name a branch by its reference's last segment.
        assert_eq!(
            doc["paths"]["/b"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["oneOf"][0],
            b
        );
        // Reached through a `$ref`, a place under an `$id` is still under it.
        assert_eq!(
            doc["components"]["schemas"]["Pet"]["properties"]["name"]["properties"]["first"],
            first
        );
    }
}
