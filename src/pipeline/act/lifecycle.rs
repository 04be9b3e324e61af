//! Lifecycles on a request: an operation that moves its parent item to another state, and what
//! an outcome (`x-specbox-outcomes`) does to a new item. The check of the current state and the
//! move happen under the collection's write lock, so two captures of one payment cannot both
//! pass a `from: Authorised`.

use crate::model::errors::{ApiError, ErrorKind};
use crate::model::lifecycle::{OutcomeRule, Transition, set_pointer};
use crate::pipeline::act::ctx::{Ctx, collection_for, not_found, resource};
use crate::pipeline::act::write::now;
use crate::state::item::to_entry;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Moves the operation's parent item as `t` says; returns the item as stored afterwards.
pub fn transition(ctx: &Ctx, t: &Transition) -> Result<bytes::Bytes, ApiError> {
    let r = resource(ctx, t.res)?;
    let (_, key) = collection_for(ctx, t.res)?;
    let coll = ctx.store.collection(ctx.tenant, key);
    let id = ctx
        .req
        .path_param(&t.param)
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "transition without its item's parameter"))?;
    let mut shared = coll.write();
    let guard = Arc::make_mut(&mut shared);
    let entry = guard.get(id).ok_or_else(|| not_found(r, id))?;
    if entry.archived {
        return Err(not_found(r, id));
    }
    let mut obj = match entry.value() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let current = obj.get(&t.field).and_then(Value::as_str).unwrap_or("");
    if !t.from.is_empty() && !t.from.iter().any(|f| f == current) {
        let state = if current.is_empty() { "in no state" } else { current };
        return Err(ApiError::new(
            t.status,
            ErrorKind::InvalidState,
            format!(
                "{} {id:?} is {state}; {} {} needs it to be {}",
                r.singular(),
                ctx.op.method,
                ctx.op.route,
                t.from.join(" or ")
            ),
        ));
    }
    obj.insert(t.field.clone(), Value::String(t.to.clone()));
    if let Some(f) = &r.updated_field {
        obj.insert(f.clone(), Value::String(now()));
    }
    let entry = to_entry(r, obj);
    let json = entry.json.clone();
    guard.replace(id, entry);
    Ok(json)
}

/// What an outcome and a lifecycle make of a new object: fields `set`, and the state.
pub fn shape_new(rule: Option<&OutcomeRule>, initial: Option<&(String, Option<String>)>, obj: &mut Map<String, Value>) {
    if let Some(rule) = rule
        && !rule.set.is_empty()
    {
        let mut v = Value::Object(std::mem::take(obj));
        for (ptr, value) in &rule.set {
            set_pointer(&mut v, ptr, value.clone());
        }
        if let Value::Object(m) = v {
            *obj = m;
        }
    }
    if let Some((field, initial)) = initial {
        let state = rule.and_then(|r| r.state.clone()).or_else(|| initial.clone());
        if let Some(state) = state {
            obj.insert(field.clone(), Value::String(state));
        }
    }
}
