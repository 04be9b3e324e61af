//! What an action works with: the validated request, the tenant's store, the operation, and
//! the few look-ups every action starts with (its resource, its collection, the item's id).

use crate::exchange::Body;
use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::operation::Operation;
use crate::model::resources::plan::{Resource, TimeForm};
use crate::state::store::{Parent, Scope, Store, TenantRef};
use serde_json::Value;

/// A request that passed validation.
#[derive(Debug, Default)]
pub struct Validated {
    /// Decoded path parameters by name.
    pub path: Vec<(crate::model::router::ParamName, String)>,
    /// Query parameters coerced to their declared types, by name (a handful at most: a list
    /// finds one faster than a map hashes its name).
    pub query: Vec<(String, Value)>,
    pub body: Option<Value>,
}

impl Validated {
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path
            .iter()
            .find(|(n, _)| n.as_ref() == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query_param(&self, name: &str) -> Option<&Value> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// What an action produced.
#[derive(Debug)]
pub struct Outcome {
    pub status: u16,
    pub body: Option<Body>,
    /// The object as stored after the change (before, for a delete), kept only when the
    /// operation fires a webhook or callback ([`crate::model::operation::Operation::fires`]).
    pub changed: Option<bytes::Bytes>,
}

pub struct Ctx<'a> {
    pub api: &'a Api,
    pub store: &'a Store,
    pub tenant: &'a TenantRef,
    pub op: &'a Operation,
    pub req: &'a Validated,
}

pub use crate::state::item::not_found;

/// The collection an operation works on, with the ancestors its path names (the store checks
/// that each exists, in the same step as the action).
pub fn scope_for<'a>(ctx: &Ctx<'a>, res: usize) -> Result<Scope<'a>, ApiError> {
    let r = resource(ctx, res)?;
    let values: Vec<&str> = r
        .scope_params
        .iter()
        .map(|p| ctx.req.path_param(p).unwrap_or(""))
        .collect();
    // Walk up: the last scope value is the parent's id, the rest its own scope.
    let mut parents = Vec::new();
    let mut current = r;
    let mut depth = values.len();
    while let Some(parent_idx) = current.parent {
        let parent = resource(ctx, parent_idx)?;
        let parent_id = values.get(depth.saturating_sub(1)).copied().unwrap_or("");
        let parent_depth = parent.scope_params.len();
        let key = (
            parent_idx,
            values.get(..parent_depth).map(|v| v.join("/")).unwrap_or_default(),
        );
        parents.push(Parent {
            r: parent,
            key,
            id: parent_id.to_string(),
        });
        current = parent;
        depth = parent_depth;
    }
    Ok(Scope {
        key: (res, values.join("/")),
        parents,
    })
}

pub fn resource<'a>(ctx: &Ctx<'a>, res: usize) -> Result<&'a Resource, ApiError> {
    ctx.api
        .resources
        .get(res)
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "resource missing from the model"))
}

/// The resource an item operation works on, its collection, and the item's id.
pub fn item_scope<'a>(ctx: &Ctx<'a>, res: usize) -> Result<(&'a Resource, Scope<'a>, &'a str), ApiError> {
    let r = resource(ctx, res)?;
    let scope = scope_for(ctx, res)?;
    Ok((r, scope, item_id(ctx, r)?))
}

pub fn item_id<'a>(ctx: &Ctx<'a>, r: &Resource) -> Result<&'a str, ApiError> {
    r.item_param
        .as_ref()
        .and_then(|p| ctx.req.path_param(p))
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "item path without an id parameter"))
}

/// A time of the sandbox clock (Unix milliseconds) as RFC 3339 text, to the second. Formatting is
/// kept per thread for the second it was made in: every create and update stamps one, and most
/// share their second.
pub fn stamp(at_ms: u64) -> String {
    use std::cell::RefCell;
    use std::time::{Duration, UNIX_EPOCH};
    thread_local! {
        static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let second = at_ms / 1000;
    LAST.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(second)).to_string();
        }
        text.clone()
    })
}

/// The tenant's sandbox clock now (Unix milliseconds): what the engine writes in `created_at`...
pub fn now(ctx: &Ctx) -> u64 {
    ctx.store.now_ms(ctx.tenant)
}

/// A time of the sandbox clock (Unix milliseconds) as a field of `form` writes it.
pub fn moment(form: TimeForm, at_ms: u64) -> Value {
    match form {
        TimeForm::Text => Value::String(stamp(at_ms)),
        TimeForm::Date => Value::String(stamp(at_ms).chars().take(10).collect()),
        TimeForm::UnixSeconds => Value::from(at_ms / 1000),
        TimeForm::UnixMillis => Value::from(at_ms),
    }
}
