//! Flattening: a schema with its `$ref`s and `allOf` parts merged into one set of keywords
//! ([`Flat`]), constraints intersected (the larger minimum, the smaller maximum, the common enum
//! members and types, a common `multipleOf`), property sets united.
//!
//! Its own file because merging is pure keyword algebra: it needs the document only to follow
//! `$ref`s and knows nothing of values, choices or checking, so it can be read (and its rules
//! extended) without the generator around it.

use crate::spec::pointer::Field;
use serde_json::{Map, Value};

use super::keywords::{json_eq, resolve, type_names};
use super::numbers::{float_value, is_multiple_of, snap};

/// A schema with its `$ref`s and `allOf` parts merged into one set of keywords.
///
/// `oneOf`/`anyOf` cannot be merged up front (only one branch has to hold), so they stay as
/// choices and are resolved one group at a time while generating.
#[derive(Clone, Default)]
pub(super) struct Flat {
    pub(super) keywords: Map<String, Value>,
    pub(super) choices: Vec<Vec<Value>>,
    /// Every `$ref` merged in, in order; also stops `allOf` cycles from being merged twice.
    pub(super) refs: Vec<String>,
    /// How many of `refs` are already on the generator's open-reference stack.
    pub(super) pushed: usize,
    /// The merged parts contradict each other (disjoint types, `false`, clashing `const`).
    pub(super) conflict: bool,
}

impl Flat {
    /// `schema` flattened, its `$ref`s resolved against `doc`.
    pub(super) fn of(doc: &Value, schema: &Value) -> Flat {
        let mut flat = Flat::default();
        flat.absorb(doc, schema, true);
        flat
    }

    /// Merges `schema` into these keywords, following `$ref` (siblings first, so they take precedence)
    /// and `allOf`. Example-like annotations are only taken from the schema itself and the
    /// `$ref`s it aliases: an `allOf` part's example usually describes just that part.
    pub(super) fn absorb(&mut self, doc: &Value, schema: &Value, annotations: bool) {
        let map = match schema {
            Value::Object(map) => map,
            Value::Bool(false) => {
                self.conflict = true;
                return;
            }
            _ => return,
        };
        for (key, value) in map {
            match key.as_str() {
                "$ref" | "allOf" => {}
                "oneOf" | "anyOf" => {
                    if let Some(branches) = value.as_array().filter(|b| !b.is_empty()) {
                        self.choices.push(branches.clone());
                    }
                }
                "examples" | "example" | "default" if !annotations => {}
                _ => merge_keyword(&mut self.keywords, key, value, &mut self.conflict),
            }
        }
        if let Some(reference) = map.field("$ref").and_then(Value::as_str) {
            // A `$ref` already merged adds nothing new; skipping it is what makes
            // `allOf`/`oneOf` cycles (Pet → Cat → allOf Pet) terminate.
            if !self.refs.iter().any(|r| r == reference) {
                self.refs.push(reference.to_owned());
                if let Some(target) = resolve(doc, reference) {
                    self.absorb(doc, target, annotations);
                }
            }
        }
        if let Some(parts) = map.field("allOf").and_then(Value::as_array) {
            for part in parts {
                self.absorb(doc, part, false);
            }
        }
    }
}

/// Merges one keyword of an `allOf` part (or `$ref` target) into the keywords gathered so far:
/// constraints are intersected, property sets united, and anything else keeps its first value.
fn merge_keyword(kw: &mut Map<String, Value>, key: &str, incoming: &Value, conflict: &mut bool) {
    let Some(existing) = kw.get_mut(key) else {
        kw.insert(key.to_owned(), incoming.clone());
        return;
    };
    match key {
        "type" => {
            let merged = intersect_types(existing, incoming);
            if merged.is_empty() {
                *conflict = true;
            } else {
                *existing = Value::Array(merged.into_iter().map(Value::from).collect());
            }
        }
        "properties" | "patternProperties" => {
            if let (Some(ours), Some(theirs)) = (existing.as_object_mut(), incoming.as_object()) {
                for (name, schema) in theirs {
                    let combined = match ours.get(name) {
                        Some(current) => combine_schemas(current, schema),
                        None => schema.clone(),
                    };
                    ours.insert(name.clone(), combined);
                }
            }
        }
        "required" => {
            if let (Some(ours), Some(theirs)) = (existing.as_array_mut(), incoming.as_array()) {
                for name in theirs {
                    if !ours.contains(name) {
                        ours.push(name.clone());
                    }
                }
            }
        }
        "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties" | "minContains" => {
            if let (Some(a), Some(b)) = (existing.as_f64(), incoming.as_f64())
                && b > a
            {
                *existing = incoming.clone();
            }
        }
        "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties" | "maxContains" => {
            if let (Some(a), Some(b)) = (existing.as_f64(), incoming.as_f64())
                && b < a
            {
                *existing = incoming.clone();
            }
        }
        "multipleOf" => {
            if let (Some(a), Some(b)) = (existing.as_f64(), incoming.as_f64())
                && b > 0.0
                && !is_multiple_of(a, b)
            {
                let combined = if is_multiple_of(b, a) { b } else { snap(a * b, a.min(b)) };
                *existing = float_value(combined);
            }
        }
        "enum" => {
            if let (Some(ours), Some(theirs)) = (existing.as_array_mut(), incoming.as_array()) {
                ours.retain(|member| theirs.iter().any(|other| json_eq(member, other)));
                if ours.is_empty() {
                    *conflict = true;
                }
            }
        }
        "const" if !json_eq(existing, incoming) => *conflict = true,
        "items"
        | "additionalItems"
        | "additionalProperties"
        | "unevaluatedProperties"
        | "propertyNames"
        | "contains" => *existing = combine_schemas(existing, incoming),
        "readOnly" | "writeOnly" | "uniqueItems" | "deprecated" if incoming == &Value::Bool(true) => {
            *existing = Value::Bool(true);
        }
        _ => {}
    }
}

/// Both schemas at once, without an `allOf` wrapper where a boolean schema makes it trivial.
fn combine_schemas(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Bool(false), _) | (_, Value::Bool(false)) => Value::Bool(false),
        (Value::Bool(true), other) | (other, Value::Bool(true)) => other.clone(),
        _ if a == b => a.clone(),
        _ => serde_json::json!({ "allOf": [a, b] }),
    }
}

/// Type sets intersected, with `integer` as the subset of `number` it is.
fn intersect_types<'a>(a: &'a Value, b: &'a Value) -> Vec<&'a str> {
    let (ours, theirs) = (type_names(a), type_names(b));
    let mut merged = Vec::new();
    for name in ours {
        let kept = if theirs.contains(&name) {
            Some(name)
        } else if (name == "number" && theirs.contains(&"integer")) || (name == "integer" && theirs.contains(&"number"))
        {
            Some("integer")
        } else {
            None
        };
        if let Some(kept) = kept.filter(|k| !merged.contains(k)) {
            merged.push(kept);
        }
    }
    merged
}
