//! Dropping what nothing reads once a document is loaded: prose (`description`, `summary`,
//! `externalDocs`), vendor extensions (`x-*`, except specbox's own `x-specbox-*`), and the second
//! mention of a name in a schema's `required` list.
//!
//! Validation ignores annotations, answers come from examples and schemas, errors name pointers,
//! and the engine reads no extension but its own (principle 1: an API's particulars reach it as
//! `x-specbox-*`). Yet prose is two fifths of a published spec's text, and vendor extensions carry
//! whole documents of their own: code samples in four languages per operation, documentation
//! navigation, generator hints. The document stays loaded for as long as specbox serves, so they go:
//! - in each file a `$ref` brings in whole as an object (an operation, a path item, a schema), the
//!   `$ref`s inside vendor extensions are not followed, so that files only an extension names (one
//!   in the corpus: 1,340 code-sample files of 2,848) are never read at all
//!   ([`crate::spec::bundle`]); should a `$ref` name a place inside such an extension after all,
//!   its `$ref`s are followed then;
//! - in the root document, once overlays (whose JSONPath filters may select by description or
//!   extension) are applied and before its `$ref`s are followed, so that a `$ref` inside an
//!   extension that goes is never read (one may name a file not published with the spec);
//! - in the finished document, once overlays (whose JSONPath filters may select by description or
//!   extension) are applied and every file is bundled: the spec's own file, and each part of a
//!   bundled file that a `$ref` names as an object
//!   ([`crate::spec::bundle::Bundler::drop_unread`]), which also drops the bundled files that
//!   nothing refers to any more (those only a dropped extension named, those every use of which
//!   was copied in place by [`crate::spec::inline`]).
//!
//! Only annotations go, never data or names: literal values (examples, enums, defaults, link
//! request bodies) are left as they are; below a key that holds a map of names (`properties`,
//! `paths`, `responses`, `headers`, a security requirement, ...) a name such as `description` or
//! `x-request-id` is a name; and nothing is dropped that holds the target of a `$ref`. Where it
//! cannot be told whether a bundled file is an object or data (named as an example, or by a
//! `$ref` under a key that may be a name), nothing in it is dropped.

use crate::spec::inline::{is_literal, names_below};
use crate::spec::pointer::{local_refs, local_refs_outside, lookup, push_segment};
use serde_json::Value;
use std::collections::HashSet;
use std::fmt::Write;

/// Lists each name of a schema's `required` once (published specs list some twice). A second
/// mention is never read, and `jsonschema` judges such a list wrongly: it reports a listed
/// property missing from an object that has it.
fn once_each(names: &mut Vec<Value>) {
    let twice = |i: usize, n: &Value| names.iter().take(i).any(|m| m == n);
    if !names.iter().enumerate().any(|(i, n)| twice(i, n)) {
        return;
    }
    let mut seen: Vec<Value> = Vec::with_capacity(names.len());
    names.retain(|n| {
        let first = !seen.contains(n);
        if first {
            seen.push(n.clone());
        }
        first
    });
}

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

/// A part of a bundled file that a `$ref` names as an object: `/x-specbox-bundled/<key><fragment>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Site {
    pub key: String,
    pub fragment: String,
}

/// The places among `$ref` targets that a vendor extension holds (`/x-shared` for a `$ref` to
/// `#/x-shared/schemas/Id`): nothing there is dropped. Prose goes only where it is text, and no
/// `$ref` points at a description, so only extensions need this.
#[derive(Default)]
pub struct Kept(HashSet<String>);

impl Kept {
    /// No extension holds a `$ref` target.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The extensions that the local `$ref`s in `value` (`#/...`) point into: the `$ref`s that
    /// stay, outside vendor extensions, and those inside the extensions these keep, and so on. A
    /// `$ref` inside an extension that goes anyway keeps nothing (operations may name
    /// `#/components/x-policy/...` from an `x-policy-list` of their own).
    pub fn of(value: &Value) -> Kept {
        // Each segment, and the pointer up to its end (a target that is no pointer holds none).
        fn note(target: &str, kept: &mut HashSet<String>, fresh: &mut Vec<String>) {
            let Some(rest) = target.strip_prefix('/') else { return };
            let mut end = 0;
            for segment in rest.split('/') {
                end += 1 + segment.len();
                if is_vendor_extension(segment) && kept.insert(target[..end].to_string()) {
                    fresh.push(target[..end].to_string());
                }
            }
        }
        let mut kept = HashSet::new();
        let mut fresh: Vec<String> = Vec::new();
        local_refs_outside(value, &|k| is_vendor_extension(k), &mut |t| {
            note(t, &mut kept, &mut fresh)
        });
        while let Some(extension) = fresh.pop() {
            let mut found = Vec::new();
            if let Some(part) = lookup(value, &extension) {
                local_refs(part, &mut |t| note(t, &mut kept, &mut found));
            }
            fresh.extend(found);
        }
        Kept(kept)
    }
}

/// Whether a keyword is a vendor extension (specbox's own are not: the engine reads them).
pub fn is_vendor_extension(key: &str) -> bool {
    key.starts_with("x-") && !key.starts_with("x-specbox-")
}

/// What the keys of `child`, the value of the member `key` of a map whose keys are `keys`, are;
/// for a list, what those of its items are.
pub fn child_keys(keys: Keys, key: &str, child: &Value) -> Keys {
    match keys {
        // The value of a name: an object (a schema, a response, a media type).
        Keys::Names => Keys::Keywords,
        // A security requirement's keys are the names of security schemes.
        Keys::Keywords if key == "security" && child.is_array() => Keys::Names,
        // The items of a list of names (`allOf`, `parameters`, `tags`) are objects.
        Keys::Keywords if child.is_array() => Keys::Keywords,
        Keys::Keywords => keys_below(key),
    }
}

/// Drops prose and vendor extensions from `value`, which sits at `at` (a JSON pointer) in a
/// document whose `$ref`s point into the extensions `kept`, and whose keys are `keys`.
pub fn strip(value: &mut Value, keys: Keys, at: &str, kept: &Kept) {
    let mut walk = Walk {
        kept,
        // The way to each value is followed only when some extension must stay: most documents
        // have none, and building a pointer at every step cost more than the walk.
        track: !kept.0.is_empty(),
        pointer: at.to_string(),
    };
    walk.value(value, keys);
}

struct Walk<'a> {
    kept: &'a Kept,
    track: bool,
    pointer: String,
}

impl Walk<'_> {
    fn value(&mut self, value: &mut Value, keys: Keys) {
        match value {
            Value::Object(map) => {
                if keys == Keys::Keywords {
                    map.retain(|k, v| {
                        let unread = match k.as_str() {
                            "description" | "summary" => v.is_string(),
                            "externalDocs" => v.is_object(),
                            k => is_vendor_extension(k),
                        };
                        !unread || (self.track && self.holds(k))
                    });
                    if let Some(Value::Array(names)) = map.get_mut("required") {
                        once_each(names);
                    }
                }
                for (k, child) in map.iter_mut() {
                    if keys == Keys::Keywords
                        && (is_literal(k, child)
                            || k.starts_with("x-")
                            || matches!(k.as_str(), "links" | "dataValue" | "serializedValue"))
                    {
                        continue;
                    }
                    let below = child_keys(keys, k, child);
                    let len = self.pointer.len();
                    if self.track {
                        push_segment(&mut self.pointer, k);
                    }
                    match child {
                        Value::Array(items) => self.items(items, below),
                        _ => self.value(child, below),
                    }
                    self.pointer.truncate(len);
                }
            }
            Value::Array(items) => self.items(items, Keys::Keywords),
            _ => {}
        }
    }

    fn items(&mut self, items: &mut [Value], keys: Keys) {
        for (i, item) in items.iter_mut().enumerate() {
            let len = self.pointer.len();
            if self.track {
                let _ = write!(self.pointer, "/{i}");
            }
            self.value(item, keys);
            self.pointer.truncate(len);
        }
    }

    /// Whether the member `key` of the object at the current pointer holds a `$ref`'s target.
    fn holds(&self, key: &str) -> bool {
        let mut at = self.pointer.clone();
        push_segment(&mut at, key);
        self.kept.0.contains(&at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn drop_all(doc: &mut Value) {
        let kept = Kept::of(doc);
        strip(doc, Keys::Keywords, "", &kept);
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

/// Loading specs split over files: what is dropped never depends on which `$ref` came first, and
/// nothing a `$ref` needs goes.
#[cfg(test)]
mod loading {
    use crate::spec::{load_source, source::Source};
    use serde_json::{Value, json};

    /// Writes `files` into a directory of their own and loads `api.yaml`: the document and the
    /// warnings.
    fn load(name: &str, files: &[(&str, &str)]) -> (Value, Vec<String>) {
        let dir = std::env::temp_dir().join(format!("specbox-unread-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (file, text) in files {
            std::fs::write(dir.join(file), text).unwrap();
        }
        let loaded = load_source(&Source::File(dir.join("api.yaml")), &[]).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let warnings = loaded.warnings.iter().map(|w| w.to_string()).collect();
        (loaded.doc.root.as_ref().clone(), warnings)
    }

    const API: &str = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\n";

    #[test]
    fn an_object_under_a_name_that_looks_like_a_map_key_is_left_whole() {
        let files = [
            (
                "api.yaml",
                &*format!(
                    "{API}paths: {{}}\ncomponents:\n  schemas:\n    Doc:\n      type: object\n      properties:\n        content: {{$ref: 'content.yml'}}\n"
                ),
            ),
            (
                "content.yml",
                "type: object\nproperties: {x-id: {type: integer}, name: {type: string}}\nrequired: [x-id]\nexample: {description: literal, x-trace: 1}\nenum: [{description: a, x-id: 1}]\n",
            ),
        ];
        let (doc, warnings) = load("names", &files);
        assert!(warnings.is_empty(), "{warnings:?}");
        let content = doc["x-specbox-bundled"]["0"].clone();
        assert_eq!(content["properties"]["x-id"], json!({"type": "integer"}), "{content:#}");
        assert_eq!(
            content["example"],
            json!({"description": "literal", "x-trace": 1}),
            "{content:#}"
        );
        assert_eq!(content["enum"], json!([{"description": "a", "x-id": 1}]), "{content:#}");
    }

    #[test]
    fn a_ref_into_an_extension_of_a_file_named_whole_first_resolves() {
        let files = [
            (
                "api.yaml",
                &*format!(
                    "{API}paths:\n  /w: {{$ref: 'item.yml'}}\ncomponents:\n  schemas:\n    Shared: {{$ref: 'item.yml#/x-shared/Id'}}\n"
                ),
            ),
            (
                "item.yml",
                "get:\n  x-codeSamples: [{$ref: 'missing.yml'}]\n  responses: {'200': {description: ok}}\nx-shared:\n  Id: {$ref: 'id.yml'}\n  Local: {$ref: '#/x-local'}\nx-local: {type: string}\n",
            ),
            ("id.yml", "type: string\nformat: uuid\n"),
        ];
        let (doc, warnings) = load("reach", &files);
        assert!(warnings.is_empty(), "{warnings:?}");
        let shared = &doc["components"]["schemas"]["Shared"]["$ref"];
        let target = crate::spec::pointer::lookup(&doc, shared.as_str().unwrap().trim_start_matches('#')).unwrap();
        // The extension stays (a `$ref` points into it), and its own `$ref` leads to the file.
        let id = target["$ref"].as_str().unwrap().trim_start_matches('#');
        assert_eq!(
            crate::spec::pointer::lookup(&doc, id),
            Some(&json!({"type": "string", "format": "uuid"}))
        );
        // The code samples went, unread.
        assert!(!doc.to_string().contains("x-codeSamples"), "{doc:#}");
    }

    #[test]
    fn a_file_named_as_an_object_and_as_an_example_keeps_its_data() {
        let files = [
            (
                "api.yaml",
                &*format!(
                    "{API}paths: {{}}\ncomponents:\n  schemas:\n    Pet:\n      type: object\n      properties:\n        pet: {{$ref: 'pet.yml'}}\n      example: {{$ref: 'pet.yml'}}\n"
                ),
            ),
            ("pet.yml", "type: object\ndescription: A pet.\nx-kind: dog\n"),
        ];
        let (doc, _) = load("literal", &files);
        assert_eq!(
            doc["x-specbox-bundled"]["0"],
            json!({"type": "object", "description": "A pet.", "x-kind": "dog"})
        );
    }

    #[test]
    fn a_fragment_that_is_no_pointer_is_a_warning_not_a_panic() {
        let files = [
            ("api.yaml", &*format!("{API}paths:\n  /w: {{$ref: 'item.yml'}}\n")),
            (
                "item.yml",
                "get:\n  responses:\n    '200':\n      description: ok\n      content: {application/json: {schema: {$ref: '#€€/x-a'}}}\n",
            ),
        ];
        let (_, warnings) = load("fragment", &files);
        assert!(warnings.iter().any(|w| w.contains("€€")), "{warnings:?}");
    }
}
