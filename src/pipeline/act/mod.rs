//! Carrying out a resource action on a tenant's state.
//!
//! Input: an operation's [`Action`] plan (decided at startup by [`crate::model::resources`]) and a
//! request that has passed validation. Output: an [`Outcome`] (status and body) or an
//! [`ApiError`]. Checks that must be atomic with the write they guard (uniqueness, id
//! collisions) happen under the collection's write lock, so 64 concurrent creates with the same
//! unique value give exactly one success.
//!
//! [`ctx`] holds what every action works with (and the sandbox clock's time); [`write`] the
//! actions that change state; [`list`] pages; [`lifecycle`] moves items between states (an
//! operation's transition, the clock's timed ones). This file picks the action, after the
//! operation's [`crate::model::rules::OpRules`] (most have none: one branch) chose an outcome and
//! moved or checked the item the path names.

pub mod ctx;
pub mod lifecycle;
pub mod list;
pub mod write;

use crate::exchange::Body;
use crate::model::errors::ApiError;
use crate::model::resources::plan::{Action, Resource};
use crate::pipeline::act::ctx::{Ctx, Outcome, item_scope, key_of, not_found, plan_of};
use crate::pipeline::act::list::list;
use crate::pipeline::act::write::{create, set_archived, write_item};
use crate::state::item::{Entry, render};
use serde_json::Value;

/// An answer's top-level text field named like the path parameter of the item, set to its id.
/// A body as a value to change (a spec's answer is kept as JSON text).
fn parsed(body: &Body) -> Option<Value> {
    match body {
        Body::Value(v) => Some(v.clone()),
        Body::Raw(bytes) => serde_json::from_slice::<Value>(bytes).ok(),
    }
}

fn name_item(body: Body, param: &str, id: &str) -> Body {
    let parsed = parsed(&body);
    match parsed {
        Some(Value::Object(mut m)) if m.get(param).is_some_and(Value::is_string) => {
            m.insert(param.to_string(), Value::String(id.to_string()));
            Body::Value(Value::Object(m))
        }
        _ => body,
    }
}

/// `body` with the top-level fields it shares with the request's set to what was sent (same JSON
/// kind only), if the result validates against the answer's schema; else `body` unchanged.
fn echo_sent(ctx: &Ctx, status: u16, body: Body, sent: &serde_json::Map<String, Value>) -> Body {
    let parsed = parsed(&body);
    let Some(Value::Object(mut answer)) = parsed else {
        return body;
    };
    let kind = |v: &Value| std::mem::discriminant(v);
    let mut changed = false;
    for (k, v) in sent {
        if let Some(slot) = answer.get_mut(k)
            && kind(slot) == kind(v)
            && slot != v
        {
            *slot = v.clone();
            changed = true;
        }
    }
    let answer = Value::Object(answer);
    let valid = ctx.api.specs.get(ctx.op.spec).is_some_and(|spec| {
        ctx.op
            .response_for(status)
            .and_then(|r| r.validator(&spec.compiler))
            .is_none_or(|v| v.is_valid(&answer))
    });
    if changed && valid { Body::Value(answer) } else { body }
}

/// Runs the operation's action. `Ok(None)` means the operation keeps no state.
///
/// `body` is the validated request body, given by value (not left in [`Validated`]) so a write
/// moves its fields into the stored object instead of copying each one.
pub async fn act(ctx: &Ctx<'_>, body: Option<Value>) -> Result<Option<Outcome>, ApiError> {
    let rules = ctx.op.rules.as_deref();
    // The first outcome whose `when` matches the body decides the status (and more, below).
    let rule = rules.and_then(|r| r.outcome(body.as_ref()));
    // What an action's answer echoes (kept only where the operation moves its parent; a create
    // takes the body by value).
    let transition_only =
        rules.is_some_and(|r| r.transition.is_some()) && matches!(ctx.op.action, Action::None | Action::Act { .. });
    let sent = if transition_only { body.clone() } else { None };
    let success = rule
        .and_then(|o| o.status)
        .or_else(|| ctx.op.success().map(|r| r.code()))
        .unwrap_or(200);
    // A transition moves the parent first: an operation the state does not allow does nothing.
    let moved = match rules.and_then(|r| r.transition.as_ref()) {
        Some(t) => Some(lifecycle::transition(ctx, t).await?),
        None => None,
    };
    if let Some((res, param)) = rules.and_then(|r| r.parent.as_ref())
        && moved.is_none()
    {
        lifecycle::must_exist(ctx, *res, param).await?;
    }
    let mut out = match &ctx.op.action {
        Action::None if rule.is_none() && moved.is_none() => return Ok(None),
        Action::None => from_spec(ctx, rule, success, moved.is_some(), sent.as_ref()),
        Action::Act { res, shape } => {
            let (r, entry) = stored(ctx, *res).await?;
            match rule.and_then(|o| o.body.as_ref()) {
                // An outcome's own answer (its example, its fields) stands, as for any action.
                Some(_) => from_spec(ctx, rule, success, moved.is_some(), sent.as_ref()),
                None => Outcome {
                    status: success,
                    body: Some(render(r, shape, &entry)),
                    changed: None,
                },
            }
        }
        Action::Create { res, write, shape } => {
            let write = plan_of(ctx, ctx.op, *res, write)?;
            create(ctx, *res, write, shape, success, body, rule).await?
        }
        Action::Read { res, shape } => {
            let (r, entry) = stored(ctx, *res).await?;
            Outcome {
                status: success,
                body: Some(render(r, shape, &entry)),
                changed: None,
            }
        }
        Action::List { res, plan } => list(ctx, *res, plan, success).await?,
        Action::Update { res, write, shape } => {
            let write = plan_of(ctx, ctx.op, *res, write)?;
            write_item(ctx, *res, write, shape, success, false, body).await?
        }
        Action::Replace { res, write, shape } => {
            let write = plan_of(ctx, ctx.op, *res, write)?;
            write_item(ctx, *res, write, shape, success, true, body).await?
        }
        Action::Delete { res, shape } => {
            let (r, scope, id) = item_scope(ctx, *res)?;
            let entry = ctx.store.remove(ctx.tenant, &scope, r, id).await?;
            let has_body = ctx.op.success().is_some_and(|s| s.content_type.is_some());
            Outcome {
                status: success,
                body: match (has_body, shape) {
                    (true, Some(shape)) => Some(render(r, shape, &entry)),
                    // An answer that is not the item (a status object such as `{"id", "deleted":
                    // true}`): as the spec shows it, naming the removed item where it has a field
                    // of the item's key.
                    (true, None) => {
                        let root = ctx.api.specs.get(ctx.op.spec).map(|s| s.root());
                        root.and_then(|root| ctx.op.success()?.default_bytes(root))
                            .map(|shown| Body::Raw(naming_removed(r, &entry, shown)))
                    }
                    _ => None,
                },
                changed: ctx.op.fires.then(|| entry.json.clone()),
            }
        }
        Action::Archive { res, shape } => set_archived(ctx, *res, shape, success, true).await?,
        Action::Restore { res, shape } => set_archived(ctx, *res, shape, success, false).await?,
    };
    // The event of a transition is about the item that moved.
    if moved.is_some() && ctx.op.fires {
        out.changed = moved;
    }
    Ok(Some(out))
}

/// The item the path names, as stored; a not-found error in the API's shape when there is none.
async fn stored<'c>(ctx: &Ctx<'c>, res: usize) -> Result<(&'c Resource, Entry), ApiError> {
    let (r, scope, id) = item_scope(ctx, res)?;
    let entry = ctx.store.get(ctx.tenant, &scope, id).await?;
    entry.map(|e| (r, e)).ok_or_else(|| not_found(r, id))
}

/// The answer of an action that keeps no state of its own, as the spec gives it: the outcome's
/// body if one matched, else the documented answer; naming the item that `moved` as the path does,
/// and echoing what was `sent` where the answer has the same field.
fn from_spec(
    ctx: &Ctx<'_>,
    rule: Option<&crate::model::lifecycle::OutcomeRule>,
    success: u16,
    moved: bool,
    sent: Option<&Value>,
) -> Outcome {
    let rules = ctx.op.rules.as_deref();
    let root = ctx.api.specs.get(ctx.op.spec).map(|s| s.root());
    let mut body = match rule.and_then(|o| o.body.as_ref()) {
        Some(v) => Some(Body::Value(v.clone())),
        None => root
            .and_then(|root| ctx.op.response_for(success)?.default_bytes(root))
            .map(Body::Raw),
    };
    // An answer about the item that moved names it as the path does
    // (`orderReference` of `/orders/{orderReference}/captures`).
    // (A plain `{id}` is not: an answer's `id` is its own.)
    if let Some(t) = rules.and_then(|r| r.transition.as_ref())
        && t.param != "id"
        && let Some(id) = ctx.req.path_param(&t.param)
    {
        body = body.map(|b| name_item(b, &t.param, id));
    }
    // An action's answer (a capture, a refund) echoes what the request said where the
    // answer has the same field (`amount`, `reference`), as long as it still validates.
    if moved && let Some(Value::Object(sent)) = sent {
        body = body.map(|b| echo_sent(ctx, success, b, sent));
    }
    Outcome {
        status: success,
        body,
        changed: None,
    }
}

/// A delete's status object (`shown`) with the removed item's key in the field of the item's key,
/// where it has one (a status object names the item it is about); else `shown` as it is.
fn naming_removed(r: &Resource, removed: &Entry, shown: bytes::Bytes) -> bytes::Bytes {
    let Ok(Value::Object(mut status)) = serde_json::from_slice::<Value>(&shown) else {
        return shown;
    };
    match (status.get_mut(&r.id_field), key_of(r, removed)) {
        (Some(slot), Some(key)) if *slot != key => {
            *slot = key;
            serde_json::to_vec(&Value::Object(status)).map_or(shown, bytes::Bytes::from)
        }
        _ => shown,
    }
}
