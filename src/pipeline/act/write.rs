//! Actions that change state: create (ids, defaults, timestamps, references resolved or created
//! inline), update and replace, archive and restore. Every check that guards a write runs under
//! the collection's write lock together with the write.

use crate::model::errors::{ApiError, ErrorKind};
use crate::model::lifecycle::OutcomeRule;
use crate::model::resources::plan::{Action, IdGen, Resource, Shape, WritePlan};
use crate::model::resources::write::rekey;
use crate::model::schema::{Location, Violation};
use crate::pipeline::act::ctx::{Ctx, Outcome, collection_for, item_collection, item_id, not_found, now, resource};
use crate::pipeline::act::lifecycle::{schedule, shape_new};
use crate::state::item::{check_unique, claim_unique, field_of, id_key, release_unique, render, to_entry, unique_key};
use crate::state::store::{Collection, Entry};
use serde_json::{Map, Value};
use std::sync::Arc;

/// The writable fields of the body (all of them for a free-form schema), in the body's order.
/// Fields are moved, not copied: the body is not needed once its fields are taken.
fn fields_from_body(write: &WritePlan, body: Option<Value>) -> Map<String, Value> {
    let body = match (&write.envelope, body) {
        (Some(field), Some(Value::Object(mut outer))) => outer.remove(field),
        (_, body) => body,
    };
    let Some(Value::Object(mut obj)) = body else {
        return Map::new();
    };
    if let Some(fields) = &write.fields {
        obj.retain(|k, _| fields.contains(k));
    }
    // Fields the representation names or types otherwise (most plans have none).
    for rename in &write.renames {
        if let Some(v) = obj.shift_remove(&rename.from) {
            let v = match &rename.convert {
                Some(to) => to.convert(v),
                None => v,
            };
            obj.insert(rename.to.clone(), v);
        }
    }
    obj
}

/// Drops a sent value the answer's schema would not take (see `WritePlan::checked`); a field
/// that refers to another resource is the reference's business, not this check's.
fn drop_unfit(r: &Resource, write: &WritePlan, obj: &mut Map<String, Value>) {
    for (field, schema) in &write.checked {
        if !r.references.iter().any(|x| x.field == *field) && obj.get(field).is_some_and(|v| !schema.is_valid(v)) {
            obj.shift_remove(field);
        }
    }
}

fn new_id(r: &Resource, coll: &Collection) -> Value {
    match &r.id_gen {
        IdGen::Seq => Value::from(coll.max_seq + 1),
        IdGen::Uuid => Value::String(new_uuid()),
        // Built from the key's schema (its pattern, format, length); the generator's own checks
        // suffice for a scalar, so no validator is compiled per create.
        IdGen::Generated(schema) => {
            crate::model::generate::generate_dynamic_with(schema, &Value::Null, rand::random(), &|_| true)
        }
        IdGen::Like(example) => Value::String(
            example
                .chars()
                .map(|c| match c {
                    '0'..='9' => char::from(b'0' + rand::random_range(0..10u8)),
                    'a'..='z' => char::from(b'a' + rand::random_range(0..26u8)),
                    'A'..='Z' => char::from(b'A' + rand::random_range(0..26u8)),
                    other => other,
                })
                .collect(),
        ),
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
/// `first`: an outcome's example fields, which take the place of the default example's.
fn new_object(
    r: &Resource,
    write: &WritePlan,
    body: Option<Value>,
    first: &[(String, Value)],
    stamp: String,
) -> Map<String, Value> {
    let mut obj = fields_from_body(write, body);
    drop_unfit(r, write, &mut obj);
    for (k, v) in &write.defaults {
        if field_of(&obj, k).is_none() {
            obj.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in first {
        if k != &r.id_field && field_of(&obj, k).is_none() {
            obj.insert(k.clone(), v.clone());
        }
    }
    // What the spec's example shows for the fields the server sets, under what the client sent
    // (an outcome's example, where one was chosen, instead of the default one).
    let base = if first.is_empty() { write.base.as_slice() } else { &[] };
    for (k, v) in base {
        if field_of(&obj, k).is_none() {
            obj.insert(k.clone(), v.clone());
        }
    }
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
    if coll.get(&key).is_some_and(|e| !e.from_example) {
        return Err(ApiError::new(
            409,
            ErrorKind::Conflict,
            format!("{} {key:?} already exists", r.singular()),
        ));
    }
    let replaces = coll.get(&key).is_some().then_some(key.as_str());
    check_unique(coll, r, &obj, replaces)?;
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
    // An item from the spec's examples with this key gives way (see `Entry::from_example`).
    if let Some(stand_in) = coll.remove(&key) {
        release_unique(coll, r, &stand_in.value());
    }
    claim_unique(coll, r, &stored, &key);
    let entry = to_entry(r, stored);
    coll.insert(key, entry.clone());
    entry
}

/// Links copied from the example (`.../issues/1347`) name the new item instead.
fn rekey_base(write: &WritePlan, key: &str, stored: &mut Map<String, Value>) {
    let Some(old) = write.base_key.as_deref().filter(|k| !k.is_empty()) else {
        return;
    };
    for k in &write.rekeyed {
        if let Some(Value::String(text)) = stored.get_mut(k)
            && let Some(new) = rekey(text, old, key)
        {
            *text = new;
        }
    }
}

/// A new item's lifecycle state, read before it is stored (`None`: no lifecycle).
fn state_of(ctx: &Ctx, obj: &Map<String, Value>) -> Option<String> {
    let (field, _) = ctx.op.rules.as_ref()?.initial.as_ref()?;
    obj.get(field).and_then(Value::as_str).map(str::to_string)
}

/// A new item in a lifecycle's state: the timers of the timed transitions out of it.
fn started(ctx: &Ctx, res: usize, key: &str, state: Option<String>) {
    if let Some(state) = state
        && let Ok((_, scope)) = collection_for(ctx, res)
    {
        schedule(ctx.api, ctx.tenant, scope, key, &state, ctx.store.now_ms(ctx.tenant));
    }
}

type WriteGuard = parking_lot::ArcRwLockWriteGuard<parking_lot::RawRwLock, Arc<Collection>>;

pub fn create(
    ctx: &Ctx,
    res: usize,
    write: &WritePlan,
    shape: &Shape,
    status: u16,
    body: Option<Value>,
    rule: Option<&OutcomeRule>,
) -> Result<Outcome, ApiError> {
    let (r, coll) = item_collection(ctx, res)?;
    let mut obj = new_object(r, write, body, rule.map_or(&[][..], |o| o.base.as_slice()), now(ctx));
    shape_new(rule, ctx.op.rules.as_ref().and_then(|x| x.initial.as_ref()), &mut obj);
    let state = state_of(ctx, &obj);
    // The parent's key, as the path gives it.
    for (param, field, kind) in &write.scope_fields {
        if let Some(v) = ctx.req.path_param(param) {
            obj.insert(field.clone(), kind.convert(Value::String(v.to_string())));
        }
    }
    if r.references.is_empty() {
        let mut guard = coll.write();
        let coll = Arc::make_mut(&mut guard);
        let (key, mut stored) = prepare(coll, r, obj)?;
        rekey_base(write, &key, &mut stored);
        let entry = commit(coll, r, key.clone(), stored);
        drop(guard);
        started(ctx, res, &key, state);
        return Ok(Outcome {
            status,
            body: Some(render(r, shape, &entry)),
            changed: ctx.op.fires.then(|| entry.json.clone()),
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
    let (key, mut stored) = prepare(&guards.get(own).ok_or_else(not_locked)?.1, r, obj)?;
    rekey_base(write, &key, &mut stored);
    for (g, key, item) in staged {
        let (target_idx, guard) = guards.get_mut(g).ok_or_else(not_locked)?;
        let target = resource(ctx, *target_idx)?;
        commit(Arc::make_mut(guard), target, key, item);
    }
    let entry = commit(
        Arc::make_mut(&mut guards.get_mut(own).ok_or_else(not_locked)?.1),
        r,
        key.clone(),
        stored,
    );
    drop(guards);
    started(ctx, res, &key, state);
    Ok(Outcome {
        status,
        body: Some(render(r, shape, &entry)),
        changed: ctx.op.fires.then(|| entry.json.clone()),
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
            let obj = new_object(target, &write, Some(Value::Object(inline.clone())), &[], now(ctx));
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

pub fn write_item(
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
    let mut changes = fields_from_body(write, body);
    drop_unfit(r, write, &mut changes);
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
        next.insert(f.clone(), Value::String(now(ctx)));
    }
    check_unique(guard, r, &next, Some(id))?;
    release_unique(guard, r, &Value::Object(current));
    claim_unique(guard, r, &next, id);
    let entry = to_entry(r, next);
    guard.replace(id, entry.clone());
    Ok(Outcome {
        status,
        body: Some(render(r, shape, &entry)),
        changed: ctx.op.fires.then(|| entry.json.clone()),
    })
}

pub fn set_archived(ctx: &Ctx, res: usize, shape: &Shape, status: u16, archive: bool) -> Result<Outcome, ApiError> {
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
        changed: ctx.op.fires.then(|| entry.json.clone()),
    })
}
