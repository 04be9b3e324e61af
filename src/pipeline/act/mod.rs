//! Carrying out a resource action on a tenant's state.
//!
//! Input: an operation's [`Action`] plan (decided at startup by [`crate::model::resources`]) and a
//! request that has passed validation. Output: an [`Outcome`] (status and body) or an
//! [`ApiError`]. Checks that must be atomic with the write they guard (uniqueness, id
//! collisions) happen under the collection's write lock, so 64 concurrent creates with the same
//! unique value give exactly one success.
//!
//! [`ctx`] holds what every action works with; [`write`] the actions that change state; [`list`]
//! pages. This file only picks the action.

pub mod ctx;
pub mod list;
pub mod write;

use crate::exchange::Body;
use crate::model::errors::ApiError;
use crate::model::resources::plan::Action;
use crate::pipeline::act::ctx::{Ctx, Outcome, item_collection, item_id, not_found};
use crate::pipeline::act::list::list;
use crate::pipeline::act::write::{create, set_archived, write_item};
use crate::state::item::{release_unique, render};
use serde_json::Value;
use std::sync::Arc;

/// Runs the operation's action. `Ok(None)` means the operation keeps no state.
///
/// `body` is the validated request body, given by value (not left in [`Validated`]) so a write
/// moves its fields into the stored object instead of copying each one.
pub fn act(ctx: &Ctx, body: Option<Value>) -> Result<Option<Outcome>, ApiError> {
    let success = ctx.op.success().map_or(200, |r| r.code());
    let out = match &ctx.op.action {
        Action::None => return Ok(None),
        Action::Create { res, write, shape } => create(ctx, *res, write, shape, success, body)?,
        Action::Read { res, shape } => {
            let (r, coll) = item_collection(ctx, *res)?;
            let id = item_id(ctx, r)?;
            let guard = coll.read();
            let entry = guard.get(id).ok_or_else(|| not_found(r, id))?;
            Outcome {
                status: success,
                body: Some(render(r, shape, entry)),
                changed: None,
            }
        }
        Action::List { res, plan } => list(ctx, *res, plan, success)?,
        Action::Update { res, write, shape } => write_item(ctx, *res, write, shape, success, false, body)?,
        Action::Replace { res, write, shape } => write_item(ctx, *res, write, shape, success, true, body)?,
        Action::Delete { res, shape } => {
            let (r, coll) = item_collection(ctx, *res)?;
            let id = item_id(ctx, r)?;
            let mut guard = coll.write();
            let coll = Arc::make_mut(&mut guard);
            let entry = coll.remove(id).ok_or_else(|| not_found(r, id))?;
            release_unique(coll, r, &entry.value());
            let has_body = ctx.op.success().is_some_and(|s| s.content_type.is_some());
            Outcome {
                status: success,
                body: match (has_body, shape) {
                    (true, Some(shape)) => Some(render(r, shape, &entry)),
                    // An answer that is not the item (a status object): as the spec shows it.
                    (true, None) => {
                        let root = ctx.api.specs.get(ctx.op.spec).map(|s| s.root());
                        root.and_then(|root| ctx.op.success()?.default_bytes(root))
                            .map(Body::Raw)
                    }
                    _ => None,
                },
                changed: ctx.op.fires.then(|| entry.json.clone()),
            }
        }
        Action::Archive { res, shape } => set_archived(ctx, *res, shape, success, true)?,
        Action::Restore { res, shape } => set_archived(ctx, *res, shape, success, false)?,
    };
    Ok(Some(out))
}
