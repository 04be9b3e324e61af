//! Carrying out a resource action on a tenant's state.
//!
//! Input: an operation's [`Action`] plan (decided at startup by [`crate::model::resources`]) and a
//! request that has passed validation. Output: an [`Outcome`] (status and body) or an
//! [`ApiError`]. Checks that must be atomic with the write they guard (uniqueness, id
//! collisions) happen under the collection's write lock, so 64 concurrent creates with the same
//! unique value give exactly one success.

use crate::exchange::Body;
use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::operation::Operation;
use crate::model::resources::plan::{
    Action, EnvField, Filter, IdGen, ListPlan, MatchKind, Resource, Shape, Style, WritePlan,
};
use crate::model::resources::shape::{write_str, write_value};
use crate::model::schema::{Location, Violation};
use crate::state::item::{check_unique, claim_unique, field_of, id_key, release_unique, render, to_entry, unique_key};
use crate::state::store::{Collection, CollectionKey, Entry, SharedCollection, Store, Tenant};
use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::Arc;

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
}

pub struct Ctx<'a> {
    pub api: &'a Api,
    pub store: &'a Store,
    pub tenant: &'a Tenant,
    pub op: &'a Operation,
    pub req: &'a Validated,
}

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
                    _ => None,
                },
            }
        }
        Action::Archive { res, shape } => set_archived(ctx, *res, shape, success, true)?,
        Action::Restore { res, shape } => set_archived(ctx, *res, shape, success, false)?,
    };
    Ok(Some(out))
}

fn not_found(r: &Resource, id: &str) -> ApiError {
    ApiError::not_found(&format!("{} {id:?}", r.singular()))
}

/// The collection an operation works on, after checking every ancestor in the path exists.
fn collection_for(ctx: &Ctx, res: usize) -> Result<(&'static str, CollectionKey), ApiError> {
    let r = resource(ctx, res)?;
    let values: Vec<&str> = r
        .scope_params
        .iter()
        .map(|p| ctx.req.path_param(p).unwrap_or(""))
        .collect();
    // Walk up: the last scope value is the parent's id, the rest its own scope.
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
        let coll = ctx.store.collection(ctx.tenant, key);
        if coll.read().get(parent_id).is_none() {
            return Err(not_found(parent, parent_id));
        }
        current = parent;
        depth = parent_depth;
    }
    Ok(("", (res, values.join("/"))))
}

fn resource<'a>(ctx: &Ctx<'a>, res: usize) -> Result<&'a Resource, ApiError> {
    ctx.api
        .resources
        .get(res)
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "resource missing from the model"))
}

fn item_collection<'a>(ctx: &Ctx<'a>, res: usize) -> Result<(&'a Resource, SharedCollection), ApiError> {
    let r = resource(ctx, res)?;
    let (_, key) = collection_for(ctx, res)?;
    Ok((r, ctx.store.collection(ctx.tenant, key)))
}

fn item_id<'a>(ctx: &Ctx<'a>, r: &Resource) -> Result<&'a str, ApiError> {
    r.item_param
        .as_ref()
        .and_then(|p| ctx.req.path_param(p))
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "item path without an id parameter"))
}

/// The current time as RFC 3339 text, to the second. Formatting is kept per thread for the
/// second it was made in: every create and update stamps one, and most share their second.
fn now() -> String {
    use std::cell::RefCell;
    use std::time::{SystemTime, UNIX_EPOCH};
    thread_local! {
        static LAST: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let t = SystemTime::now();
    let second = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    LAST.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = humantime::format_rfc3339_seconds(t).to_string();
        }
        text.clone()
    })
}

/// The writable fields of the body (all of them for a free-form schema), in the body's order.
/// Fields are moved, not copied: the body is not needed once its fields are taken.
fn fields_from_body(write: &WritePlan, body: Option<Value>) -> Map<String, Value> {
    let Some(Value::Object(mut obj)) = body else {
        return Map::new();
    };
    if let Some(fields) = &write.fields {
        obj.retain(|k, _| fields.contains(k));
    }
    obj
}

fn new_id(r: &Resource, coll: &Collection) -> Value {
    match &r.id_gen {
        IdGen::Seq => Value::from(coll.max_seq + 1),
        IdGen::Uuid => Value::String(new_uuid()),
        IdGen::Template(t) => {
            let mut s = t.replace("{ulid}", &ulid::Ulid::generate().to_string());
            s = s.replace("{uuid}", &new_uuid());
            s = s.replace("{seq}", &(coll.max_seq + 1).to_string());
            if r.integer_id
                && let Ok(n) = s.parse::<u64>()
            {
                return Value::from(n);
            }
            Value::String(s)
        }
    }
}

/// A random (v4) UUID as text, from the thread's generator (`Uuid::new_v4` asks the kernel,
/// a `getrandom(2)` system call on every create), encoded without the formatting machinery.
fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_string()
}

/// A new object from a request body: writable fields, defaults, timestamps.
fn new_object(r: &Resource, write: &WritePlan, body: Option<Value>) -> Map<String, Value> {
    let mut obj = fields_from_body(write, body);
    for (k, v) in &write.defaults {
        if field_of(&obj, k).is_none() {
            obj.insert(k.clone(), v.clone());
        }
    }
    let stamp = now();
    if let Some(f) = &r.created_field {
        obj.insert(f.clone(), Value::String(stamp.clone()));
    }
    if let Some(f) = &r.updated_field {
        obj.insert(f.clone(), Value::String(stamp));
    }
    obj
}

/// Gives `obj` its id and checks it can be inserted (id free, unique values free), changing nothing.
fn prepare(coll: &Collection, r: &Resource, obj: Map<String, Value>) -> Result<(String, Map<String, Value>), ApiError> {
    let id = match field_of(&obj, &r.id_field) {
        Some(client_id) if !client_id.is_null() => client_id.clone(),
        _ => new_id(r, coll),
    };
    let key = id_key(&id);
    if coll.get(&key).is_some() {
        return Err(ApiError::new(
            409,
            ErrorKind::Conflict,
            format!("{} {key:?} already exists", r.singular()),
        ));
    }
    check_unique(coll, r, &obj, None)?;
    // The id goes first: it is what people look for when they read a body. A declared
    // representation orders fields itself when the item is written (see `Resource::to_entry`);
    // only a free-form one keeps the object's own order, so only then is the id moved up front.
    let mut stored = obj;
    if r.rep_shape.keep_all {
        stored.shift_insert(0, r.id_field.clone(), id);
    } else {
        stored.insert(r.id_field.clone(), id);
    }
    Ok((key, stored))
}

fn commit(coll: &mut Collection, r: &Resource, key: String, stored: Map<String, Value>) -> Entry {
    claim_unique(coll, r, &stored, &key);
    let entry = to_entry(r, stored);
    coll.insert(key, entry.clone());
    entry
}

type WriteGuard = parking_lot::ArcRwLockWriteGuard<parking_lot::RawRwLock, Arc<Collection>>;

fn create(
    ctx: &Ctx,
    res: usize,
    write: &WritePlan,
    shape: &Shape,
    status: u16,
    body: Option<Value>,
) -> Result<Outcome, ApiError> {
    let (r, coll) = item_collection(ctx, res)?;
    let mut obj = new_object(r, write, body);
    if r.references.is_empty() {
        let mut guard = coll.write();
        let coll = Arc::make_mut(&mut guard);
        let (key, stored) = prepare(coll, r, obj)?;
        let entry = commit(coll, r, key, stored);
        return Ok(Outcome {
            status,
            body: Some(render(r, shape, &entry)),
        });
    }

    // Every collection this create touches is locked in resource order (so two resources that
    // refer to each other cannot deadlock), and an inline referenced object is inserted only
    // once this object's own checks have passed: a create that fails creates nothing.
    let mut keys: Vec<usize> = r.references.iter().map(|x| x.target).collect();
    keys.push(res);
    keys.sort_unstable();
    keys.dedup();
    let mut guards: Vec<(usize, WriteGuard)> = Vec::new();
    for k in keys {
        let c = if k == res {
            coll.clone()
        } else {
            ctx.store.collection(ctx.tenant, (k, String::new()))
        };
        guards.push((k, c.write_arc()));
    }
    let mut staged: Vec<(usize, String, Map<String, Value>)> = Vec::new();
    for reference in &r.references {
        let target = resource(ctx, reference.target)?;
        let Some(g) = guards.iter().position(|(k, _)| *k == reference.target) else {
            continue;
        };
        let Some((_, target_guard)) = guards.get(g) else {
            continue;
        };
        let (id, item) = resolve_reference(ctx, reference, target, target_guard, obj.get(&reference.field), &staged)?;
        if let Some(item) = item {
            staged.push((g, id_key(&id), item));
        }
        if obj.contains_key(&reference.field) {
            if let Some(snap) = &reference.snapshot {
                let source = staged
                    .iter()
                    .find(|(_, key, _)| *key == id_key(&id))
                    .map(|(_, _, m)| Value::Object(m.clone()))
                    .or_else(|| target_guard.get(&id_key(&id)).map(Entry::value))
                    .unwrap_or(Value::Null);
                let copy: Map<String, Value> = snap
                    .fields
                    .iter()
                    .map(|f| (f.clone(), source.get(f).cloned().unwrap_or(Value::Null)))
                    .collect();
                obj.insert(snap.into.clone(), Value::Object(copy));
            }
            obj.insert(reference.field.clone(), id);
        }
    }
    let not_locked = || ApiError::new(500, ErrorKind::Internal, "collection not locked");
    let own = guards.iter().position(|(k, _)| *k == res).ok_or_else(not_locked)?;
    let (key, stored) = prepare(&guards.get(own).ok_or_else(not_locked)?.1, r, obj)?;
    for (g, key, item) in staged {
        let (target_idx, guard) = guards.get_mut(g).ok_or_else(not_locked)?;
        let target = resource(ctx, *target_idx)?;
        commit(Arc::make_mut(guard), target, key, item);
    }
    let entry = commit(
        Arc::make_mut(&mut guards.get_mut(own).ok_or_else(not_locked)?.1),
        r,
        key,
        stored,
    );
    Ok(Outcome {
        status,
        body: Some(render(r, shape, &entry)),
    })
}

/// The id a reference field stands for, and a new referenced object to insert when an inline
/// object matched nothing. Errors name the field (`owner`, `owner.locale`).
fn resolve_reference(
    ctx: &Ctx,
    reference: &crate::model::resources::plan::Reference,
    target: &Resource,
    coll: &Collection,
    value: Option<&Value>,
    staged: &[(usize, String, Map<String, Value>)],
) -> Result<(Value, Option<Map<String, Value>>), ApiError> {
    let field = &reference.field;
    let invalid = |message: String, at: &str| {
        ApiError::new(422, ErrorKind::Validation, format!("invalid request: {at}: {message}")).with_violations(vec![
            Violation {
                location: Location::Body,
                field: at.to_string(),
                pointer: format!("/{}", at.replace('.', "/")),
                message,
            },
        ])
    };
    match value {
        None | Some(Value::Null) => Ok((Value::Null, None)),
        Some(Value::Object(inline)) => {
            let Some(match_field) = &reference.match_field else {
                return Err(invalid(format!("must be the id of a {}", target.singular()), field));
            };
            let create_op = target.create_op.and_then(|i| ctx.api.ops.get(i));
            // The inline object obeys the referenced resource's own create rules.
            if let Some(op) = create_op {
                let spec = ctx.api.specs.get(op.spec).map(|s| s.root()).unwrap_or(&Value::Null);
                if let Some(schema) = op
                    .body
                    .as_ref()
                    .and_then(|b| b.media.iter().find(|m| m.is_json()))
                    .and_then(|m| m.schema.as_ref())
                {
                    let violations = schema.violations(spec, &Value::Object(inline.clone()), Location::Body, field);
                    if let Some(first) = violations.first() {
                        let message = format!("invalid request: {}: {}", first.field, first.message);
                        return Err(ApiError::new(422, ErrorKind::Validation, message).with_violations(violations));
                    }
                }
            }
            let wanted = inline.get(match_field).ok_or_else(|| {
                invalid(
                    format!("{match_field} is required to match a {}", target.singular()),
                    &format!("{field}.{match_field}"),
                )
            })?;
            if let Some(id) = find_by(coll, target, match_field, wanted) {
                return Ok((id, None));
            }
            let write = match create_op.map(|o| &o.action) {
                Some(Action::Create { write, .. }) => write.clone(),
                _ => WritePlan::default(),
            };
            let obj = new_object(target, &write, Some(Value::Object(inline.clone())));
            let (key, stored) = prepare(coll, target, obj).map_err(|mut e| {
                for v in &mut e.violations {
                    v.field = format!("{field}.{}", v.field);
                }
                e
            })?;
            if staged.iter().any(|(_, k, _)| *k == key) {
                return Err(invalid("the same object is given twice".into(), field));
            }
            let id = stored.get(&target.id_field).cloned().unwrap_or(Value::String(key));
            Ok((id, Some(stored)))
        }
        Some(id) => {
            let key = id_key(id);
            match coll.get(&key) {
                Some(e) if !e.archived => Ok((
                    e.value().get(&target.id_field).cloned().unwrap_or_else(|| id.clone()),
                    None,
                )),
                Some(_) => Err(invalid(format!("{} {key:?} is archived", target.singular()), field)),
                None => Err(invalid(format!("no such {}: {key:?}", target.singular()), field)),
            }
        }
    }
}

/// The id of the item whose `field` equals `wanted` (as its unique rule compares, else exactly).
fn find_by(coll: &Collection, r: &Resource, field: &str, wanted: &Value) -> Option<Value> {
    let rule = r.unique.iter().position(|u| u.field == field);
    let id = match rule {
        Some(i) => {
            let key = unique_key(r.unique.get(i)?.case_insensitive, wanted)?;
            coll.unique.get(i)?.get(&key)?.clone()
        }
        None => coll
            .listed_from(0)
            .find(|(_, e)| e.value().get(field) == Some(wanted))
            .map(|(_, e)| id_key(e.value().get(&r.id_field).unwrap_or(&Value::Null)))?,
    };
    coll.get(&id).and_then(|e| e.value().get(&r.id_field).cloned())
}

fn write_item(
    ctx: &Ctx,
    res: usize,
    write: &WritePlan,
    shape: &Shape,
    status: u16,
    replace: bool,
    body: Option<Value>,
) -> Result<Outcome, ApiError> {
    let (r, coll) = item_collection(ctx, res)?;
    let id = item_id(ctx, r)?;
    let mut shared = coll.write();
    let guard = Arc::make_mut(&mut shared);
    let current = guard.get(id).ok_or_else(|| not_found(r, id))?.value();
    let current = current.as_object().cloned().unwrap_or_default();
    let changes = fields_from_body(write, body);
    let mut next = if replace {
        // Keep what the server owns: the id and the creation time.
        let mut kept = Map::new();
        for f in std::iter::once(&r.id_field).chain(r.created_field.iter()) {
            if let Some(v) = current.get(f) {
                kept.insert(f.clone(), v.clone());
            }
        }
        for (k, v) in &write.defaults {
            kept.insert(k.clone(), v.clone());
        }
        kept
    } else {
        current.clone()
    };
    for (k, v) in changes {
        if k != r.id_field {
            next.insert(k, v);
        }
    }
    if let Some(f) = &r.updated_field {
        next.insert(f.clone(), Value::String(now()));
    }
    check_unique(guard, r, &next, Some(id))?;
    release_unique(guard, r, &Value::Object(current));
    claim_unique(guard, r, &next, id);
    let entry = to_entry(r, next);
    guard.replace(id, entry.clone());
    Ok(Outcome {
        status,
        body: Some(render(r, shape, &entry)),
    })
}

fn set_archived(ctx: &Ctx, res: usize, shape: &Shape, status: u16, archive: bool) -> Result<Outcome, ApiError> {
    let (r, coll) = item_collection(ctx, res)?;
    let id = item_id(ctx, r)?;
    let mut shared = coll.write();
    let guard = Arc::make_mut(&mut shared);
    let entry = guard.get(id).ok_or_else(|| not_found(r, id))?;
    if entry.archived == archive {
        let state = if archive { "already archived" } else { "not archived" };
        let code = if ctx.op.documents(400) || !ctx.op.documents(409) {
            400
        } else {
            409
        };
        return Err(ApiError::new(
            code,
            ErrorKind::InvalidState,
            format!("{} {id:?} is {state}", r.singular()),
        ));
    }
    let entry = guard
        .set_archived(id, archive)
        .cloned()
        .ok_or_else(|| not_found(r, id))?;
    let has_body = ctx.op.success().is_some_and(|s| s.content_type.is_some());
    Ok(Outcome {
        status,
        body: has_body.then(|| render(r, shape, &entry)),
    })
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

const CURSOR_PREFIX: &str = "sbx1:";

pub fn encode_cursor(slot: usize) -> String {
    // Two per list page: plain concatenation and one base64 pass, no formatting machinery.
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(slot);
    let mut text = Vec::with_capacity(CURSOR_PREFIX.len() + digits.len());
    text.extend_from_slice(CURSOR_PREFIX.as_bytes());
    text.extend_from_slice(digits.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

pub fn decode_cursor(raw: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw.trim_end_matches('='))
        .ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?.parse().ok()
}

fn field_value<'v>(item: &'v Value, field: &str) -> Option<&'v Value> {
    if let Some(v) = item.get(field) {
        return Some(v);
    }
    field.split('.').try_fold(item, |v, seg| v.get(seg))
}

fn matches_filter(f: &Filter, wanted: &Value, item: &Value) -> bool {
    let Some(actual) = field_value(item, &f.field) else {
        return false;
    };
    let as_text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let (a, w) = if f.case_insensitive {
        (as_text(actual).to_lowercase(), as_text(wanted).to_lowercase())
    } else {
        (as_text(actual), as_text(wanted))
    };
    match f.kind {
        MatchKind::Exact => a == w,
        MatchKind::Contains => a.contains(&w),
        MatchKind::Prefix => a.starts_with(&w),
        MatchKind::Gte => compare(actual, wanted).is_some_and(|o| o.is_ge()),
        MatchKind::Lte => compare(actual, wanted).is_some_and(|o| o.is_le()),
    }
}

/// Orders numbers as numbers and timestamps as instants; other strings lexically.
fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::String(x), Value::String(y)) => match (parse_timestamp(x), parse_timestamp(y)) {
            (Some(tx), Some(ty)) => Some(tx.cmp(&ty)),
            _ => Some(x.as_str().cmp(y.as_str())),
        },
        (Value::Number(x), Value::String(y)) => x.as_f64()?.partial_cmp(&y.parse::<f64>().ok()?),
        _ => None,
    }
}

/// An RFC 3339 timestamp (any offset) or a plain date, as nanoseconds since the epoch.
/// `humantime` accepts only UTC (`Z`), and a filter such as `created_at_start=...-05:00` must
/// compare as the instant it names, not as text.
pub fn parse_timestamp(s: &str) -> Option<i128> {
    let b = s.trim().as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let days = era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468;
    let mut nanos = i128::from(days) * 86_400_000_000_000;
    if b.len() == 10 {
        return Some(nanos);
    }
    if !matches!(b.get(10), Some(b'T' | b't' | b' ')) || b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    let (h, m, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    nanos += i128::from(h * 3600 + m * 60 + sec) * 1_000_000_000;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let frac = b.get(start..i.min(start + 9))?;
        if frac.is_empty() {
            return None;
        }
        let digits: i128 = std::str::from_utf8(frac).ok()?.parse().ok()?;
        nanos += digits * 10i128.pow(9 - frac.len() as u32);
    }
    match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => Some(nanos),
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b.get(i + 3) == Some(&b':') => {
            let offset = i128::from(num(i + 1..i + 3)? * 3600 + num(i + 4..i + 6)? * 60) * 1_000_000_000;
            Some(if *sign == b'+' { nanos - offset } else { nanos + offset })
        }
        _ => None,
    }
}

fn list(ctx: &Ctx, res: usize, plan: &ListPlan, status: u16) -> Result<Outcome, ApiError> {
    let (r, coll) = item_collection(ctx, res)?;
    let q = |name: &str| ctx.req.query_param(name);
    // Integers beyond usize (JSON Schema sets no bound) saturate; negatives count as 0.
    let int = |name: &Option<String>| {
        let v = name.as_deref().and_then(q)?;
        v.as_u64()
            .map(|u| usize::try_from(u).unwrap_or(usize::MAX))
            .or_else(|| v.as_i64().map(|_| 0))
            .or_else(|| v.as_f64().map(|f| if f >= 1.0 { usize::MAX } else { 0 }))
    };
    // At least one item a page: an empty page that says "more" would loop a client forever.
    let mut limit = int(&plan.limit_param).unwrap_or(plan.default_limit).max(1);
    if let Some(max) = plan.max_limit {
        limit = limit.min(max);
    }
    // An empty filter value filters nothing (`?name=` is how some clients send "no filter").
    let active: Vec<(&Filter, &Value)> = plan
        .filters
        .iter()
        .filter_map(|f| q(&f.param).filter(|v| v.as_str() != Some("")).map(|v| (f, v)))
        .collect();
    for (f, v) in &active {
        let is_range = matches!(f.kind, MatchKind::Gte | MatchKind::Lte);
        if let (true, Some(text)) = (is_range, v.as_str())
            && parse_timestamp(text).is_none()
            && text.parse::<f64>().is_err()
        {
            return Err(ApiError::new(
                400,
                ErrorKind::InvalidFilter,
                format!("{}: {text:?} is not a date-time or number", f.param),
            )
            .with_violations(vec![Violation {
                location: Location::Query,
                field: f.param.clone(),
                pointer: String::new(),
                message: "expected an RFC 3339 date-time (e.g. 2026-01-31T00:00:00Z)".into(),
            }]));
        }
    }
    // Filters read fields, so a filtered scan parses each item it looks at: except for an exact
    // match on a unique field, which the unique index answers without looking at any item.
    let guard = coll.read();
    let by_index: Option<Option<&Entry>> = match active.as_slice() {
        [(f, wanted)] if f.kind == MatchKind::Exact => r
            .unique
            .iter()
            .position(|u| u.field == f.field && u.case_insensitive == f.case_insensitive)
            .map(|i| {
                unique_key(f.case_insensitive, wanted)
                    .and_then(|key| guard.unique.get(i).and_then(|m| m.get(&key)))
                    .and_then(|id| guard.get(id))
            }),
        _ => None,
    };
    let keep = |e: &Entry| match by_index {
        Some(found) => found.is_some_and(|x| std::ptr::eq(x, e)),
        None => {
            active.is_empty() || {
                let v = e.value();
                active.iter().all(|(f, w)| matches_filter(f, w, &v))
            }
        }
    };
    let cursor = |name: &Option<String>| -> Result<Option<usize>, ApiError> {
        match name.as_ref().and_then(|n| q(n).map(|v| (n, v))) {
            None => Ok(None),
            Some((_, Value::String(s))) if s.is_empty() => Ok(None),
            Some((n, v)) => v.as_str().and_then(decode_cursor).map(Some).ok_or_else(|| {
                ApiError::new(
                    400,
                    ErrorKind::InvalidCursor,
                    format!("{n} is not a cursor this server issued"),
                )
                .with_violations(vec![Violation {
                    location: Location::Query,
                    field: n.clone(),
                    pointer: String::new(),
                    message: "malformed cursor".into(),
                }])
            }),
        }
    };

    let mut page: Vec<(usize, &Entry)> = Vec::new();
    let (has_next, has_prev);
    let mut page_no = 1usize;
    let mut offset = 0usize;
    let want_total = plan
        .envelope
        .iter()
        .any(|(_, f)| matches!(f, EnvField::Total | EnvField::TotalPages));
    let mut total: Option<usize> = None;

    match plan.style {
        Style::Cursor => {
            let after = cursor(&plan.after_param)?;
            let before = cursor(&plan.before_param)?;
            if let Some(b) = before.filter(|_| after.is_none()) {
                let mut found: Vec<(usize, &Entry)> = guard
                    .listed_before(b)
                    .filter(|(_, e)| keep(e))
                    .take(limit.saturating_add(1))
                    .collect();
                has_prev = found.len() > limit;
                found.truncate(limit);
                found.reverse();
                page = found;
                has_next = guard.listed_from(b).any(|(_, e)| keep(e));
            } else {
                // A cursor past every slot (found by fuzzing: usize::MAX) is an empty page, not a wrap.
                let start = after.map_or(0, |a| a.saturating_add(1));
                let mut it = guard.listed_from(start).filter(|(_, e)| keep(e));
                page.extend(it.by_ref().take(limit));
                has_next = it.next().is_some();
                let first = page.first().map_or(start, |(s, _)| *s);
                has_prev = if active.is_empty() {
                    guard.rank(first) > 0
                } else {
                    guard.listed_before(first).any(|(_, e)| keep(e))
                };
            }
        }
        Style::Page | Style::Offset | Style::First => {
            if plan.style == Style::Page {
                page_no = int(&plan.page_param).unwrap_or(1).max(1);
                offset = (page_no - 1).saturating_mul(limit);
            } else if plan.style == Style::Offset {
                offset = int(&plan.offset_param).unwrap_or(0);
            }
            if active.is_empty() {
                // The k-th listed item in O(log n): no scan of the items before the page.
                if let Some(start) = guard.listed.select(offset) {
                    page.extend(guard.listed_from(start).take(limit));
                }
                let count = guard.listed_count();
                total = Some(count);
                has_next = offset.saturating_add(page.len()) < count;
            } else {
                let mut count = 0;
                for (slot, e) in guard.listed_from(0) {
                    if keep(e) {
                        if count >= offset && page.len() < limit {
                            page.push((slot, e));
                        }
                        count += 1;
                    }
                }
                total = Some(count);
                has_next = offset.saturating_add(page.len()) < count;
            }
            has_prev = offset > 0;
        }
    }
    if want_total && total.is_none() {
        total = Some(if active.is_empty() {
            guard.listed_count()
        } else {
            guard.listed_from(0).filter(|(_, e)| keep(e)).count()
        });
    }

    // Items that are stored as the page shows them are spliced in as they are: a page of twenty
    // costs twenty buffer copies, not twenty parses and serialisations.
    let items: Vec<Body> = page.iter().map(|(_, e)| render(r, &plan.item_shape, e)).collect();
    // Room for the envelope too (its names, plus up to 32 bytes for a cursor or count each): an
    // estimate a few bytes short grows the buffer after the last item, copying the whole page.
    let envelope_len = plan.items_field.as_ref().map_or(0, |f| f.len() + 8)
        + plan.envelope.iter().map(|(name, _)| name.len() + 36).sum::<usize>()
        + plan
            .envelope_fill
            .iter()
            .map(|(name, _)| name.len() + 68)
            .sum::<usize>();
    let mut out: Vec<u8> = Vec::with_capacity(
        8 + envelope_len
            + items
                .iter()
                .map(|b| if let Body::Raw(r) = b { r.len() + 1 } else { 256 })
                .sum::<usize>(),
    );
    let write_items = |out: &mut Vec<u8>| {
        out.push(b'[');
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_to(out);
        }
        out.push(b']');
    };
    let Some(items_field) = &plan.items_field else {
        write_items(&mut out);
        return Ok(Outcome {
            status,
            body: Some(Body::Raw(Bytes::from(out))),
        });
    };
    // Cursors only for the envelope fields that carry them.
    let wants = |f: EnvField| plan.envelope.iter().any(|(_, e)| *e == f);
    let first_cursor = page
        .first()
        .filter(|_| wants(EnvField::StartCursor))
        .map(|(s, _)| encode_cursor(*s));
    let last_cursor = page
        .last()
        .filter(|_| wants(EnvField::EndCursor))
        .map(|(s, _)| encode_cursor(*s));
    let mut fields: Vec<(&str, Value)> = Vec::with_capacity(plan.envelope.len() + plan.envelope_fill.len());
    for (name, field) in &plan.envelope {
        let v = match field {
            EnvField::StartCursor => first_cursor.clone().map(Value::String),
            EnvField::EndCursor => last_cursor.clone().map(Value::String),
            EnvField::HasNext | EnvField::HasMore => Some(Value::Bool(has_next)),
            EnvField::HasPrevious => Some(Value::Bool(has_prev)),
            EnvField::Page => Some(Value::from(page_no)),
            EnvField::PerPage | EnvField::Limit => Some(Value::from(limit.min(u32::MAX as usize))),
            EnvField::Total => total.map(Value::from),
            EnvField::TotalPages => total.map(|t| Value::from(if limit == 0 { 0 } else { t.div_ceil(limit) })),
            EnvField::Offset => Some(Value::from(offset)),
        };
        if let Some(v) = v {
            fields.push((name, v));
        }
    }
    out.push(b'{');
    for (name, v) in &fields {
        write_str(&mut out, name);
        out.push(b':');
        write_value(&mut out, v);
        out.push(b',');
    }
    write_str(&mut out, items_field);
    out.push(b':');
    write_items(&mut out);
    for (name, v) in &plan.envelope_fill {
        out.push(b',');
        write_str(&mut out, name);
        out.push(b':');
        write_value(&mut out, v);
    }
    out.push(b'}');
    Ok(Outcome {
        status,
        body: Some(Body::Raw(Bytes::from(out))),
    })
}
