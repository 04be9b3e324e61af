//! Items as the store keeps them, and the keys that must stay unique.
//!
//! A stored item is JSON text normalised to its resource's representation (see
//! [`Resource::rep_shape`]); rendering it through another shape gives a response body. The id and
//! unique-field indexes are claimed and released here, under the collection's write lock that
//! the caller holds, so that a check and the write it guards are one step.

use crate::exchange::Body;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::resources::plan::{Resource, Shape};
use crate::model::resources::shape::write_str;
use crate::model::schema::{Location, Violation};
use bytes::Bytes;
use serde_json::{Map, Value};

/// A stored object.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The object as JSON text.
    pub json: Bytes,
    pub archived: bool,
    /// The text is exactly the resource's representation (no fields beyond it), so a response
    /// with that schema can send it unchanged.
    pub plain: bool,
    /// Stored from the spec's examples: a stand-in that a create with the same key replaces
    /// (a client sending the spec's own example must not be told it already exists).
    pub from_example: bool,
}

impl Entry {
    /// An entry holding `json`, which must be one JSON object's text.
    pub fn from_json(json: Vec<u8>, plain: bool) -> Entry {
        Entry {
            json: Bytes::from(json),
            archived: false,
            plain,
            from_example: false,
        }
    }

    /// The object, parsed (for writes, filters and shapes other than the representation).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// An object as `r` stores it: normalised to the representation.
pub fn to_entry(r: &Resource, obj: Map<String, Value>) -> Entry {
    let mut json = Vec::with_capacity(256);
    let extra = r.rep_shape.write_normalized(&obj, &mut json);
    Entry::from_json(json, !extra)
}

/// What `shape` makes of a stored item: the stored text itself when the shape is the
/// representation's, else a re-shaped value; inside the answer's envelope when it has one.
pub fn render(r: &Resource, shape: &Shape, entry: &Entry) -> Body {
    let body = if entry.plain && shape.sends_stored(&r.rep_shape) {
        Body::Raw(entry.json.clone())
    } else {
        Body::Value(shape.apply(&entry.value()))
    };
    match &shape.envelope {
        None => body,
        Some(field) => {
            let mut out = Vec::with_capacity(entry.json.len() + field.len() + 8);
            out.push(b'{');
            write_str(&mut out, field);
            out.push(b':');
            body.write_to(&mut out);
            for (k, v) in &shape.beside {
                out.push(b',');
                write_str(&mut out, k);
                out.push(b':');
                let _ = serde_json::to_writer(&mut out, v);
            }
            out.push(b'}');
            Body::Raw(bytes::Bytes::from(out))
        }
    }
}

/// A field of an object, found by comparing names: serde_json's maps hash every lookup with
/// SipHash, which costs more than a few comparisons for the handful of fields a body has.
pub fn field_of<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    if obj.len() > 16 {
        return obj.get(name);
    }
    obj.iter().find(|(k, _)| *k == name).map(|(_, v)| v)
}

/// An id as the index keys it (`1` and `"1"` are the same item).
pub fn id_key(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn unique_key(rule_ci: bool, v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) if rule_ci => Some(s.to_lowercase()),
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A unique value an item holds: the rule's index in [`Resource::unique`], the normalised value.
pub type Claim = (usize, String);

/// The unique values `obj` holds, one per unique rule of `r` it has a value for.
pub fn claims_of(r: &Resource, obj: &Map<String, Value>) -> Vec<Claim> {
    if r.unique.is_empty() {
        return Vec::new();
    }
    r.unique
        .iter()
        .enumerate()
        .filter_map(|(i, rule)| {
            field_of(obj, &rule.field)
                .and_then(|v| unique_key(rule.case_insensitive, v))
                .map(|k| (i, k))
        })
        .collect()
}

/// The unique values of a stored item.
pub fn claims_of_entry(r: &Resource, entry: &Entry) -> Vec<Claim> {
    if r.unique.is_empty() {
        return Vec::new();
    }
    match entry.value() {
        Value::Object(obj) => claims_of(r, &obj),
        _ => Vec::new(),
    }
}

/// The error for a value of unique rule `rule` that another item holds.
pub fn taken(r: &Resource, rule: usize, field_prefix: Option<&str>) -> ApiError {
    let Some(rule) = r.unique.get(rule) else {
        return ApiError::new(
            409,
            ErrorKind::Conflict,
            format!("a {} with this value already exists", r.singular()),
        );
    };
    let field = match field_prefix {
        Some(p) => format!("{p}.{}", rule.field),
        None => rule.field.clone(),
    };
    let message = rule
        .message
        .clone()
        .unwrap_or_else(|| format!("a {} with this {} already exists", r.singular(), rule.field));
    let kind = if rule.status == 409 {
        ErrorKind::Conflict
    } else {
        ErrorKind::Validation
    };
    let mut err = ApiError::new(rule.status, kind, message).with_violations(vec![Violation {
        location: Location::Body,
        pointer: format!("/{}", field.replace('.', "/")),
        message: format!("{} is already taken", rule.field),
        field,
    }]);
    if let Some(code) = &rule.code {
        err = err.with_code(code.clone());
    }
    err
}

/// The error for an id that another item has.
pub fn exists(r: &Resource, key: &str) -> ApiError {
    ApiError::new(
        409,
        ErrorKind::Conflict,
        format!("{} {key:?} already exists", r.singular()),
    )
}

pub fn not_found(r: &Resource, id: &str) -> ApiError {
    ApiError::not_found(&format!("{} {id:?}", r.singular()))
}
