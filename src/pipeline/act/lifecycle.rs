//! Lifecycles on a request and on the sandbox clock: an operation that moves its parent item to
//! another state, what an outcome (`x-specbox-outcomes`) does to a new item, and the timed
//! transitions the clock runs. The check of the current state and the move happen under the
//! collection's write lock, so two captures of one payment cannot both pass `from: Authorised`.

use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::lifecycle::{OutcomeRule, Transition, set_pointer};
use crate::pipeline::act::ctx::{Ctx, moment, not_found, resource, scope_for};
use crate::state::item::{Entry, claims_of, to_entry};
use crate::state::store::{CollectionKey, Prepared, Scope, Store, TenantRef, Timer};
use serde_json::{Map, Value};

/// Moves the operation's parent item as `t` says; returns the item as stored afterwards.
pub async fn transition(ctx: &Ctx<'_>, t: &Transition) -> Result<bytes::Bytes, ApiError> {
    let r = resource(ctx, t.res)?;
    let scope = scope_for(ctx, t.res)?;
    let id = ctx
        .req
        .path_param(&t.param)
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "transition without its item's parameter"))?;
    let now_ms = ctx.store.now_ms(ctx.tenant);
    let mut next = |entry: &Entry| {
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
            obj.insert(f.clone(), moment(r.updated_form, now_ms));
        }
        let claims = claims_of(r, &obj);
        Ok(Prepared {
            key: id.to_string(),
            entry: to_entry(r, obj),
            claims,
        })
    };
    // The timers out of the new state are set first: should the update then fail (or the request
    // be cancelled), a timer finds its item in another state and does nothing, while a move made
    // without its timers would leave the item in that state for good.
    schedule(ctx.api, ctx.store, ctx.tenant, scope.key.clone(), id, &t.to, now_ms).await?;
    let entry = ctx.store.update(ctx.tenant, &scope, r, id, &mut next).await?;
    Ok(entry.json)
}

/// The item an action on it names must exist (and not be archived): else a not-found error.
pub async fn must_exist(ctx: &Ctx<'_>, res: usize, param: &str) -> Result<(), ApiError> {
    let r = resource(ctx, res)?;
    let scope = scope_for(ctx, res)?;
    let id = ctx.req.path_param(param).unwrap_or("");
    match ctx.store.get(ctx.tenant, &scope, id).await? {
        Some(e) if !e.archived => Ok(()),
        _ => Err(not_found(r, id)),
    }
}

/// Sets the timers of the timed transitions out of `state` for an item that entered it at `since_ms`.
pub async fn schedule(
    api: &Api,
    store: &Store,
    tenant: &TenantRef,
    key: CollectionKey,
    id: &str,
    state: &str,
    since_ms: u64,
) -> Result<(), ApiError> {
    let Some(life) = api.lifecycles.iter().find(|l| l.res == key.0) else {
        return Ok(());
    };
    for t in life.timed.iter().filter(|t| t.from == state) {
        let after = u64::try_from(t.after.as_millis()).unwrap_or(u64::MAX);
        let timer = Timer {
            due_ms: since_ms.saturating_add(after),
            seq: 0,
            key: key.clone(),
            id: id.to_string(),
            from: t.from.clone(),
            to: t.to.clone(),
        };
        store.schedule(tenant, timer).await?;
    }
    Ok(())
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
pub async fn run_due(api: &Api, store: &Store, tenant: &TenantRef, until_ms: u64) -> Result<Vec<Moved>, ApiError> {
    let mut out = Vec::new();
    while let Some(timer) = store.next_due(tenant, until_ms).await? {
        let Some(r) = api.resources.get(timer.key.0) else {
            continue;
        };
        let Some(life) = api.lifecycles.iter().find(|l| l.res == timer.key.0) else {
            continue;
        };
        let scope = Scope {
            key: timer.key.clone(),
            parents: Vec::new(),
        };
        let mut next = |entry: &Entry| {
            let mut obj = match entry.value() {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            if obj.get(&life.field).and_then(Value::as_str) != Some(timer.from.as_str()) {
                // Moved meanwhile: nothing to do (an error the caller below ignores).
                return Err(ApiError::new(409, ErrorKind::InvalidState, "moved meanwhile"));
            }
            obj.insert(life.field.clone(), Value::String(timer.to.clone()));
            if let Some(f) = &r.updated_field {
                obj.insert(f.clone(), moment(r.updated_form, timer.due_ms));
            }
            let claims = claims_of(r, &obj);
            Ok(Prepared {
                key: timer.id.clone(),
                entry: to_entry(r, obj),
                claims,
            })
        };
        let object = match store.update(tenant, &scope, r, &timer.id, &mut next).await {
            Ok(entry) => entry.json,
            Err(e) if e.status == 503 => return Err(e),
            Err(_) => continue,
        };
        schedule(
            api,
            store,
            tenant,
            timer.key.clone(),
            &timer.id,
            &timer.to,
            timer.due_ms,
        )
        .await?;
        out.push(Moved {
            res: timer.key.0,
            id: timer.id,
            from: timer.from,
            to: timer.to,
            at_ms: timer.due_ms,
            object,
        });
    }
    Ok(out)
}
