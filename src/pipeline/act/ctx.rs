//! What an action works with: the validated request, the tenant's store, the operation, and
//! the few look-ups every action starts with (its resource, its collection, the item's id).

use crate::exchange::Body;
use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::operation::Operation;
use crate::model::resources::plan::{Resource, TimeForm, Write, WritePlan};
use crate::state::store::{Entry, Parent, Scope, Store, TenantRef};
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

/// The write plan of `op` on resource `res`, made by the first request that needs it (see
/// [`Write`]).
pub fn plan_of<'a>(ctx: &Ctx<'a>, op: &'a Operation, res: usize, write: &'a Write) -> Result<&'a WritePlan, ApiError> {
    let spec = ctx
        .api
        .specs
        .get(op.spec)
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "spec missing from the model"))?;
    Ok(write.plan(spec, op, resource(ctx, res)?))
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

/// The key of a stored item, as its representation holds it (a string or a number).
pub fn key_of(r: &Resource, e: &Entry) -> Option<Value> {
    match e.value() {
        Value::Object(mut item) => item.swap_remove(&r.id_field),
        _ => None,
    }
}

/// `Mon, 07 Dec 2026 06:20:00 +0000`: a Unix time (milliseconds) in RFC 2822, in GMT.
pub fn rfc2822(at_ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = at_ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // The civil date of a day count (Howard Hinnant's algorithm), 1970-01-01 being a Thursday.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        DAYS.get((days % 7) as usize).copied().unwrap_or_default(),
        MONTHS
            .get(month.saturating_sub(1) as usize)
            .copied()
            .unwrap_or_default(),
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
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
        TimeForm::Rfc2822 => Value::String(rfc2822(at_ms)),
        TimeForm::UnixSeconds => Value::from(at_ms / 1000),
        TimeForm::UnixMillis => Value::from(at_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::rfc2822;

    #[test]
    fn rfc2822_dates_name_the_weekday_and_month_in_gmt() {
        assert_eq!(rfc2822(0), "Thu, 01 Jan 1970 00:00:00 +0000");
        assert_eq!(rfc2822(1_438_286_400_000), "Thu, 30 Jul 2015 20:00:00 +0000");
        assert_eq!(rfc2822(1_709_210_096_999), "Thu, 29 Feb 2024 12:34:56 +0000");
        assert_eq!(rfc2822(4_102_444_799_000), "Thu, 31 Dec 2099 23:59:59 +0000");
    }
}
