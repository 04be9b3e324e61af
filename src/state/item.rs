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
use crate::state::store::{Collection, Entry};
use serde_json::{Map, Value};

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

/// Checks every unique rule for `obj` (ignoring the item `self_id`), without changing anything.
pub fn check_unique(
    coll: &Collection,
    r: &Resource,
    obj: &Map<String, Value>,
    self_id: Option<&str>,
) -> Result<(), ApiError> {
    for (i, rule) in r.unique.iter().enumerate() {
        let Some(key) = field_of(obj, &rule.field).and_then(|v| unique_key(rule.case_insensitive, v)) else {
            continue;
        };
        let taken = coll
            .unique
            .get(i)
            .and_then(|m| m.get(&key))
            .is_some_and(|owner| Some(owner.as_str()) != self_id);
        if taken {
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
                field: rule.field.clone(),
                pointer: format!("/{}", rule.field),
                message: format!("{} is already taken", rule.field),
            }]);
            if let Some(code) = &rule.code {
                err = err.with_code(code.clone());
            }
            return Err(err);
        }
    }
    Ok(())
}

pub fn claim_unique(coll: &mut Collection, r: &Resource, obj: &Map<String, Value>, id: &str) {
    for (i, rule) in r.unique.iter().enumerate() {
        if let (Some(key), Some(map)) = (
            field_of(obj, &rule.field).and_then(|v| unique_key(rule.case_insensitive, v)),
            coll.unique.get_mut(i),
        ) {
            map.insert(key, id.to_string());
        }
    }
}

pub fn release_unique(coll: &mut Collection, r: &Resource, value: &Value) {
    let Some(obj) = value.as_object() else { return };
    for (i, rule) in r.unique.iter().enumerate() {
        if let (Some(key), Some(map)) = (
            field_of(obj, &rule.field).and_then(|v| unique_key(rule.case_insensitive, v)),
            coll.unique.get_mut(i),
        ) {
            map.remove(&key);
        }
    }
}

/// Registers a fixture item's unique values (used when seeding).
pub fn seed_unique(coll: &mut Collection, r: &Resource, value: &Value, id: &str) -> Result<(), ApiError> {
    let obj = value.as_object().cloned().unwrap_or_default();
    check_unique(coll, r, &obj, Some(id))?;
    claim_unique(coll, r, &obj, id);
    Ok(())
}
