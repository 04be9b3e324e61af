//! Dropping what nothing reads once a document is loaded: prose (`description`, `summary`,
//! `externalDocs`) and vendor extensions (`x-*`, except specbox's own `x-specbox-*`).
//!
//! Validation ignores annotations, answers come from examples and schemas, errors name pointers,
//! and the engine reads no extension but its own (principle 1: an API's particulars reach it as
//! `x-specbox-*`). Yet prose is two fifths of a published spec's text, and vendor extensions carry
//! whole documents of their own: code samples in four languages per operation, documentation
//! navigation, generator hints. The document stays loaded for as long as specbox serves, so they go:
//! - in each file a `$ref` brings in whole as an object (an operation, a path item, a schema), as
//!   it is read, before its `$ref`s are followed, so that files only an extension names (one in
//!   the corpus: 1,340 code-sample files of 2,848) are never read at all ([`strip`]);
//! - in the finished document, once overlays (whose JSONPath filters may select by description or
//!   extension) are applied and every file is bundled: the spec's own file, and each part of a
//!   bundled file that a `$ref` names as an object or as a map of names
//!   ([`crate::spec::bundle::Bundler::drop_unread`]), which also drops the bundled files that
//!   nothing refers to any more (those only a dropped extension named, those every use of which
//!   was copied in place by [`crate::spec::inline`]).
//!
//! Only annotations go, never data or names: literal values (examples, enums, defaults, link
//! request bodies) are left as they are; below a key that holds a map of names (`properties`,
//! `paths`, `responses`, `headers`, a security requirement, ...) a name such as `description` or
//! `x-request-id` is a name; and nothing is dropped that holds the target of a `$ref`.

use crate::spec::inline::{is_literal, names_below};
use crate::spec::pointer::{local_refs, push_segment};
use std::fmt::Write;
use serde_json::Value;
use std::collections::BTreeSet;

/// What the keys of a map are, which decides whether any of them can go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Keys {
    /// Keywords of an OpenAPI or JSON Schema object: prose and vendor extensions among them go.
    Keywords,
    /// Names (of properties, paths, statuses, headers, security schemes): all stay.
    Names,
}

/// What the keys of the value under `key` in an object are.
pub fn keys_below(key: &str) -> Keys {
    // `components` and an OAuth `flows` object are objects of fixed keys, each a map of names.
    if names_below(key) && !matches!(key, "components" | "flows") {
        Keys::Names
    } else {
        Keys::Keywords
    }
}

/// A part of a bundled file that a `$ref` names, and as what: `/x-specbox-bundled/<key><fragment>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Site {
    pub key: String,
    pub fragment: String,
    pub keys: Keys,
}

/// Targets of `$ref`s (JSON pointers), which are never dropped, nor is anything that holds one.
#[derive(Default)]
pub struct Targets(BTreeSet<String>);

impl Targets {
    /// The local `$ref`s in `value` (`#/...`), as pointers.
    pub fn of(value: &Value) -> Targets {
        let mut refs = Vec::new();
        local_refs(value, &mut refs);
        Targets(refs.into_iter().collect())
    }

    /// Whether `pointer` is the target of a `$ref` or holds one.
    fn holds(&self, pointer: &str) -> bool {
        use std::ops::Bound::{Included, Unbounded};
        // Everything below `pointer` starts with `pointer/`; in order, those come together.
        let below = format!("{pointer}/");
        self.0.contains(pointer)
            || self
                .0
                .range::<str, _>((Included(below.as_str()), Unbounded))
                .next()
                .is_some_and(|t| t.starts_with(&below))
    }
}

/// Drops prose and vendor extensions from `value`, which sits at `pointer` in a document whose
/// `$ref` targets are `targets`, and whose keys are `keys`.
pub fn strip(value: &mut Value, keys: Keys, pointer: &mut String, targets: &Targets) {
    match value {
        Value::Object(map) => {
            if keys == Keys::Keywords {
                map.retain(|k, v| {
                    let unread = match k.as_str() {
                        "description" | "summary" => v.is_string(),
                        "externalDocs" => v.is_object(),
                        _ => k.starts_with("x-") && !k.starts_with("x-specbox-"),
                    };
                    !unread || {
                        let len = pointer.len();
                        push_segment(pointer, k);
                        let held = targets.holds(pointer);
                        pointer.truncate(len);
                        held
                    }
                });
            }
            for (k, child) in map.iter_mut() {
                let below = match keys {
                    Keys::Names => Keys::Keywords,
                    _ if is_literal(k, child)
                        || k.starts_with("x-")
                        || matches!(k.as_str(), "links" | "dataValue" | "serializedValue") =>
                    {
                        continue;
                    }
                    // A security requirement's keys are the names of security schemes.
                    _ if k == "security" && child.is_array() => Keys::Names,
                    _ => keys_below(k),
                };
                let len = pointer.len();
                push_segment(pointer, k);
                match child {
                    // The items of a list of names (`allOf`, `parameters`, `tags`) are objects, but
                    // those of `security` are maps of names.
                    Value::Array(items) => {
                        let item_keys = if below == Keys::Names && k != "security" {
                            Keys::Keywords
                        } else {
                            below
                        };
                        each(items, item_keys, pointer, targets);
                    }
                    _ => strip(child, below, pointer, targets),
                }
                pointer.truncate(len);
            }
        }
        Value::Array(items) => each(items, Keys::Keywords, pointer, targets),
        _ => {}
    }
}

fn each(items: &mut [Value], keys: Keys, pointer: &mut String, targets: &Targets) {
    for (i, item) in items.iter_mut().enumerate() {
        let len = pointer.len();
        let _ = write!(pointer, "/{i}");
        strip(item, keys, pointer, targets);
        pointer.truncate(len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn drop_all(doc: &mut Value) {
        let targets = Targets::of(doc);
        strip(doc, Keys::Keywords, &mut String::new(), &targets);
    }

    #[test]
    fn prose_and_extensions_go_names_literals_and_own_extensions_stay() {
        let mut doc = json!({
            "info": {"title": "t", "description": "about", "version": "1", "x-logo": {"url": "l.png"}},
            "externalDocs": {"url": "https://x"},
            "x-tagGroups": [{"name": "g", "tags": ["a"]}],
            "security": [{"x-api-key": []}],
            "paths": {"/a": {"get": {
                "summary": "s", "description": "d", "x-codeSamples": [{"lang": "curl", "source": "curl /a"}],
                "parameters": [{"name": "q", "in": "query", "description": "d", "example": {"description": "kept", "x-kept": 1}}],
                "responses": {"200": {"description": "ok",
                    "headers": {"x-request-id": {"schema": {"type": "string", "x-internal": true}}},
                    "content": {"application/json": {
                    "schema": {"type": "object", "description": "d", "x-go-type": "T", "properties": {
                        "description": {"type": "string", "description": "d", "default": {"summary": "kept"}},
                        "x-count": {"enum": [{"description": "kept"}]}
                    }, "dependentRequired": {"x-count": ["description"]}},
                    "examples": {"one": {"summary": "s", "value": {"description": "kept", "x-kept": "kept"}}}
                }}}}
            }}},
            "x-specbox-thing": {"description": "kept", "x-kept": 1},
            "components": {"schemas": {"description": {"description": 5}, "x-named": {"type": "string"}}}
        });
        drop_all(&mut doc);
        assert_eq!(
            doc,
            json!({
                "info": {"title": "t", "version": "1"},
                "security": [{"x-api-key": []}],
                "paths": {"/a": {"get": {
                    "parameters": [{"name": "q", "in": "query", "example": {"description": "kept", "x-kept": 1}}],
                    "responses": {"200": {
                        "headers": {"x-request-id": {"schema": {"type": "string"}}},
                        "content": {"application/json": {
                        "schema": {"type": "object", "properties": {
                            "description": {"type": "string", "default": {"summary": "kept"}},
                            "x-count": {"enum": [{"description": "kept"}]}
                        }, "dependentRequired": {"x-count": ["description"]}},
                        "examples": {"one": {"value": {"description": "kept", "x-kept": "kept"}}}
                    }}}}
                }}},
                "x-specbox-thing": {"description": "kept", "x-kept": 1},
                "components": {"schemas": {"description": {"description": 5}, "x-named": {"type": "string"}}}
            })
        );
    }

    #[test]
    fn what_a_ref_points_into_stays() {
        let mut doc = json!({
            "x-shared": {"schemas": {"Id": {"type": "string"}}},
            "x-unused": {"type": "string"},
            "paths": {"/a": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {
                "schema": {"$ref": "#/x-shared/schemas/Id"}
            }}}}}}}
        });
        drop_all(&mut doc);
        assert!(doc.get("x-shared").is_some());
        assert!(doc.get("x-unused").is_none());
    }
}
