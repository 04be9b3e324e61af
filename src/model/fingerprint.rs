//! What a resource is, for telling whether two builds of the model store its items the same way.
//!
//! A reload (`--watch`) keeps the stored items of every resource whose fingerprint did not change
//! and starts the others afresh. A resource is matched across builds by its [`identity`] (the
//! spec's file stem and the collection template, as fixtures name it), not by its index, which
//! moves when a path is added before it. Its fingerprint covers what the stored text and the
//! store's indexes depend on:
//!
//! - the item schema, with every `$ref` replaced by what it points at (so an edit to a shared
//!   component counts, and moving a schema to another name that says the same does not); object
//!   keys are taken in sorted order, so reordering properties is no change;
//! - the key field and whether it is an integer, the unique rules, the scope (ancestor ids) and
//!   whether DELETE archives;
//! - the parent's fingerprint: items under a parent that was started afresh would be orphans.
//!
//! Examples, descriptions and everything else in the schema are part of it too: they are in the
//! JSON, and telling an annotation from a constraint is not worth a wrong "kept".

use crate::model::Api;
use crate::model::resources::plan::Resource;
use crate::spec::pointer::lookup;
use serde_json::Value;
use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

/// `spec:/collection`: a resource's name across builds (the spec's file stem and the collection
/// template as written in the spec).
pub fn identity(api: &Api, res: &Resource) -> String {
    let spec = api.specs.get(res.spec).map_or("", |s| s.doc.name.as_str());
    format!("{spec}:{}", res.collection)
}

/// The fingerprint of every resource of `api`, by index.
pub fn fingerprints(api: &Api) -> Vec<u64> {
    let mut done: Vec<Option<u64>> = vec![None; api.resources.len()];
    for i in 0..api.resources.len() {
        fingerprint(api, i, &mut done, 0);
    }
    done.into_iter().map(Option::unwrap_or_default).collect()
}

fn fingerprint(api: &Api, i: usize, done: &mut [Option<u64>], depth: usize) -> u64 {
    if let Some(Some(f)) = done.get(i) {
        return *f;
    }
    let Some(res) = api.resources.get(i) else { return 0 };
    let mut h = DefaultHasher::new();
    identity(api, res).hash(&mut h);
    res.id_field.hash(&mut h);
    res.integer_id.hash(&mut h);
    res.scope_params.hash(&mut h);
    res.archivable.hash(&mut h);
    for u in &res.unique {
        (&u.field, u.case_insensitive).hash(&mut h);
    }
    // Parents form a tree; the depth bound only guards against a malformed one.
    match res.parent {
        Some(p) if depth < 64 => fingerprint(api, p, done, depth + 1).hash(&mut h),
        _ => 0u64.hash(&mut h),
    }
    let schema = res
        .schema_pointer
        .as_deref()
        .zip(api.specs.get(res.spec))
        .and_then(|(ptr, spec)| lookup(spec.root(), ptr).map(|v| (spec.root(), v)));
    match schema {
        Some((root, v)) => digest(root, v, &mut HashMap::new()).hash(&mut h),
        None => "no schema".hash(&mut h),
    }
    let f = h.finish();
    if let Some(slot) = done.get_mut(i) {
        *slot = Some(f);
    }
    f
}

/// The digest of `v` with local `$ref`s resolved. `memo` holds each target's digest once it is
/// known, and `None` while it is being computed: a `$ref` back into a schema being digested
/// (a recursive schema) stands for itself by its pointer.
fn digest(root: &Value, v: &Value, memo: &mut HashMap<String, Option<u64>>) -> u64 {
    let mut h = DefaultHasher::new();
    feed(root, v, memo, &mut h);
    h.finish()
}

fn feed(root: &Value, v: &Value, memo: &mut HashMap<String, Option<u64>>, h: &mut DefaultHasher) {
    match v {
        Value::Null => 0u8.hash(h),
        Value::Bool(b) => (1u8, b).hash(h),
        Value::Number(n) => (2u8, n.to_string()).hash(h),
        Value::String(s) => (3u8, s).hash(h),
        Value::Array(items) => {
            (4u8, items.len()).hash(h);
            for item in items {
                feed(root, item, memo, h);
            }
        }
        Value::Object(map) => {
            (5u8, map.len()).hash(h);
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            for k in keys {
                k.hash(h);
                let Some(x) = map.get(k) else { continue };
                match (k.as_str(), x.as_str().and_then(|r| r.strip_prefix('#'))) {
                    ("$ref", Some(ptr)) => target(root, ptr, memo).hash(h),
                    _ => feed(root, x, memo, h),
                }
            }
        }
    }
}

/// The digest of what a local `$ref` points at (see [`digest`] for recursion).
fn target(root: &Value, ptr: &str, memo: &mut HashMap<String, Option<u64>>) -> (u64, Option<String>) {
    match memo.get(ptr) {
        Some(Some(d)) => return (*d, None),
        Some(None) => return (0, Some(ptr.to_string())),
        None => {}
    }
    memo.insert(ptr.to_string(), None);
    // A `$ref` is a URI fragment: `{` and `}` of a path template come percent-encoded.
    let d = lookup(root, &crate::spec::pointer::percent_decode(ptr)).map_or(0, |t| digest(root, t, memo));
    memo.insert(ptr.to_string(), Some(d));
    (d, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn of(root: &Value, ptr: &str) -> u64 {
        digest(root, lookup(root, ptr).unwrap(), &mut HashMap::new())
    }

    #[test]
    fn refs_count_by_what_they_point_at_and_key_order_does_not() {
        let a = json!({"s": {"properties": {"x": {"$ref": "#/c/A"}, "y": {"type": "string"}}}, "c": {"A": {"type": "integer"}}});
        let renamed = json!({"s": {"properties": {"y": {"type": "string"}, "x": {"$ref": "#/c/B"}}}, "c": {"B": {"type": "integer"}}});
        let changed = json!({"s": {"properties": {"x": {"$ref": "#/c/A"}, "y": {"type": "string"}}}, "c": {"A": {"type": "number"}}});
        assert_eq!(of(&a, "/s"), of(&renamed, "/s"));
        assert_ne!(of(&a, "/s"), of(&changed, "/s"));
    }

    #[test]
    fn a_ref_into_a_templated_path_counts_by_its_target() {
        // `{` and `}` come percent-encoded in a `$ref` (a shared copy's original under a path).
        let of_min = |n: u64| {
            let doc = json!({
                "paths": {"/owners/{id}": {"get": {"schema": {"type": "string", "minLength": n}}}},
                "s": {"properties": {"owner": {"$ref": "#/paths/~1owners~1%7Bid%7D/get/schema"}}}
            });
            of(&doc, "/s")
        };
        assert_ne!(of_min(1), of_min(40));
    }

    #[test]
    fn recursive_schemas_have_a_digest() {
        let r = json!({"n": {"properties": {"next": {"$ref": "#/n"}, "v": {"type": "string"}}}});
        let r2 = json!({"n": {"properties": {"next": {"$ref": "#/n"}, "v": {"type": "integer"}}}});
        assert_eq!(of(&r, "/n"), of(&r.clone(), "/n"));
        assert_ne!(of(&r, "/n"), of(&r2, "/n"));
    }
}
