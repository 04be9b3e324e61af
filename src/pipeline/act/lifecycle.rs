//! Lifecycles on a request and on the sandbox clock: an operation that moves its parent item to
//! another state, what an outcome (`x-specbox-outcomes`) does to a new item, and the timed
//! transitions the clock runs. The check of the current state and the move happen under the
//! collection's write lock, so two captures of one payment cannot both pass `from: Authorised`.

use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::lifecycle::{OutcomeRule, Transition, set_pointer};
use crate::pipeline::act::ctx::{Ctx, collection_for, not_found, resource, stamp};
use crate::state::item::to_entry;
use crate::state::store::{CollectionKey, Store, Tenant};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Moves the operation's parent item as `t` says; returns the item as stored afterwards.
pub fn transition(ctx: &Ctx, t: &Transition) -> Result<bytes::Bytes, ApiError> {
    let r = resource(ctx, t.res)?;
    let (_, key) = collection_for(ctx, t.res)?;
    let coll = ctx.store.collection(ctx.tenant, key.clone());
    let id = ctx
        .req
        .path_param(&t.param)
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "transition without its item's parameter"))?;
    let now_ms = ctx.store.now_ms(ctx.tenant);
    let json = {
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
            obj.insert(f.clone(), Value::String(stamp(now_ms)));
        }
        let entry = to_entry(r, obj);
        let json = entry.json.clone();
        guard.replace(id, entry);
        json
    };
    schedule(ctx.api, ctx.tenant, key, id, &t.to, now_ms);
    Ok(json)
}

/// The item an action on it names must exist (and not be archived): else a not-found error.
pub fn must_exist(ctx: &Ctx, res: usize, param: &str) -> Result<(), ApiError> {
    let r = resource(ctx, res)?;
    let (_, key) = collection_for(ctx, res)?;
    let id = ctx.req.path_param(param).unwrap_or("");
    let coll = ctx.store.collection(ctx.tenant, key);
    match coll.read().get(id) {
        Some(e) if !e.archived => Ok(()),
        _ => Err(not_found(r, id)),
    }
}

/// Sets the timers of the timed transitions out of `state` for an item that entered it at `since_ms`.
pub fn schedule(api: &Api, tenant: &Tenant, key: CollectionKey, id: &str, state: &str, since_ms: u64) {
    let Some(life) = api.lifecycles.iter().find(|l| l.res == key.0) else {
        return;
    };
    for t in life.timed.iter().filter(|t| t.from == state) {
        let after = u64::try_from(t.after.as_millis()).unwrap_or(u64::MAX);
        tenant.schedule(
            since_ms.saturating_add(after),
            key.clone(),
            id.to_string(),
            t.from.clone(),
            t.to.clone(),
        );
    }
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

/// An item a timed transition moved: what its webhooks need.
pub struct Moved {
    pub res: usize,
    pub id: String,
    pub from: String,
    pub to: String,
    /// When it moved, by the tenant's clock (Unix milliseconds).
    pub at_ms: u64,
    /// The item as stored afterwards.
    pub object: bytes::Bytes,
}

/// Runs every timed transition of `tenant` due by `until_ms`, in the order they fall due (a
/// transition that leads to a state with a timed transition of its own sets its timer from the
/// time it ran, so a chain `pending → processing → succeeded` runs whole when the clock jumps).
/// An item no longer in the state a timer expected (moved by a request meanwhile) is left alone.
pub fn run_due(api: &Api, store: &Store, tenant: &Tenant, until_ms: u64) -> Vec<Moved> {
    let mut out = Vec::new();
    while let Some(timer) = tenant.next_due(until_ms) {
        let Some(r) = api.resources.get(timer.key.0) else {
            continue;
        };
        let Some(life) = api.lifecycles.iter().find(|l| l.res == timer.key.0) else {
            continue;
        };
        let coll = store.collection(tenant, timer.key.clone());
        let object = {
            let mut shared = coll.write();
            let guard = Arc::make_mut(&mut shared);
            let Some(entry) = guard.get(&timer.id) else { continue };
            let mut obj = match entry.value() {
                Value::Object(m) => m,
                _ => continue,
            };
            if obj.get(&life.field).and_then(Value::as_str) != Some(timer.from.as_str()) {
                continue;
            }
            obj.insert(life.field.clone(), Value::String(timer.to.clone()));
            if let Some(f) = &r.updated_field {
                obj.insert(f.clone(), Value::String(stamp(timer.due_ms)));
            }
            let entry = to_entry(r, obj);
            let json = entry.json.clone();
            guard.replace(&timer.id, entry);
            json
        };
        schedule(api, tenant, timer.key.clone(), &timer.id, &timer.to, timer.due_ms);
        out.push(Moved {
            res: timer.key.0,
            id: timer.id,
            from: timer.from,
            to: timer.to,
            at_ms: timer.due_ms,
            object,
        });
    }
    out
}
