//! Reading a schema's keywords the way every other part of the generator needs them: local
//! `$ref`s resolved against the document, declared types, whole-number keywords (`minLength`,
//! `maxItems`, ...) and JSON Schema equality.
//!
//! These are the lowest pieces of the generator: flattening, checking and building all read
//! keywords, and none of them should own the reading for the others.

use serde_json::{Map, Value};

use crate::spec::pointer::{Field, lookup, percent_decode};

/// The JSON types a schema can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Null,
    Boolean,
    Integer,
    Number,
    String,
    Array,
    Object,
}

impl Kind {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "null" => Self::Null,
            "boolean" => Self::Boolean,
            "integer" => Self::Integer,
            "number" => Self::Number,
            "string" => Self::String,
            "array" => Self::Array,
            "object" => Self::Object,
            _ => return None,
        })
    }
}

/// Resolves a local `$ref` (`#/components/schemas/Name`), undoing percent-encoding and the JSON
/// pointer escapes `~1` and `~0`. Anything else is not resolvable from the document alone.
pub(super) fn resolve<'d>(doc: &'d Value, reference: &str) -> Option<&'d Value> {
    lookup(doc, &percent_decode(reference.strip_prefix('#')?))
}

/// The type names of a `type` keyword (a string or a list of them).
pub(super) fn type_names(value: &Value) -> Vec<&str> {
    match value {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

pub(super) fn declared_types(kw: &Map<String, Value>) -> Option<Vec<Kind>> {
    kw.field("type")
        .map(|t| type_names(t).into_iter().filter_map(Kind::parse).collect())
}

pub(super) fn usize_keyword(kw: &Map<String, Value>, key: &str) -> Option<usize> {
    let value = kw.field(key)?;
    let whole = value.as_u64().or_else(|| {
        value
            .as_f64()
            .filter(|x| x.fract() == 0.0 && *x >= 0.0)
            .map(|x| x as u64)
    })?;
    Some(usize::try_from(whole).unwrap_or(usize::MAX))
}

/// JSON Schema equality: `1` equals `1.0`, object key order does not matter.
pub(super) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.field(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}
