//! Actions that change state: create (ids, defaults, timestamps, references resolved or created
//! inline), update and replace, archive and restore. Every check that guards a write runs under
//! the collection's write lock together with the write.

use crate::model::errors::{ApiError, ErrorKind};
use crate::model::lifecycle::OutcomeRule;
use crate::model::resources::plan::{Action, IdGen, Resource, Shape, WritePlan};
use crate::model::resources::write::rekey;
use crate::model::schema::{Location, Violation};
use crate::pipeline::act::ctx::{Ctx, Outcome, item_scope, moment, now, plan_of, resource, scope_for};
use crate::pipeline::act::lifecycle::{schedule, shape_new};
use crate::state::item::{Entry, claims_of, field_of, id_key, render, to_entry, unique_key};
use crate::state::store::{From, Insert, PageQuery, Prepared, Scope};
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

fn new_id(r: &Resource, seq: u64) -> Value {
    match &r.id_gen {
        IdGen::Seq => Value::from(seq),
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
            s = s.replace("{seq}", &seq.to_string());
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
    at_ms: u64,
) -> Map<String, Value> {
    let mut obj = fields_from_body(write, body);
    for (k, v) in &write.defaults {
        if field_of(&obj, k).is_none() {
            obj.insert(k.clone(), v.clone());
        }
    }
    // After the defaults: a request schema's default can break the answer's schema too (a
    // `""` where the answer wants a URI), and then the answer's own value stands.
    drop_unfit(r, write, &mut obj);
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
        obj.insert(f.clone(), moment(r.created_form, at_ms));
    }
    if let Some(f) = &r.updated_field {
        obj.insert(f.clone(), moment(r.updated_form, at_ms));
    }
    obj
}

/// Gives `obj` its id (the client's, else a new one from `seq`, the collection's next number)
/// and turns it into the item to store, changing nothing yet: the store checks the id and the
/// unique values are free when it inserts.
fn prepare(r: &Resource, mut obj: Map<String, Value>, seq: u64) -> (String, Map<String, Value>) {
    let id = match field_of(&obj, &r.id_field) {
        Some(client_id) if !client_id.is_null() => client_id.clone(),
        _ => new_id(r, seq),
    };
    let key = id_key(&id);
    // The id goes first: it is what people look for when they read a body. A declared
    // representation orders fields itself when the item is written (see `Resource::to_entry`);
    // only a free-form one keeps the object's own order, so only then is the id moved up front.
    if r.rep_shape.keep_all {
        obj.shift_insert(0, r.id_field.clone(), id);
    } else {
        obj.insert(r.id_field.clone(), id);
    }
    (key, obj)
}

fn prepared(r: &Resource, key: String, stored: Map<String, Value>) -> Prepared {
    let claims = claims_of(r, &stored);
    Prepared {
        key,
        entry: to_entry(r, stored),
        claims,
    }
}

/// Links copied from the example (`.../issues/1347`) name the new item instead.
fn rekey_base(write: &WritePlan, key: &str, stored: &mut Map<String, Value>) {
    let Some(old) = write.base_key.as_deref().filter(|k| !k.is_empty()) else {
        return;
    };
    for path in &write.rekeyed {
        let Some((first, rest)) = path.split_first() else {
            continue;
        };
        let place = stored
            .get_mut(first)
            .and_then(|top| rest.iter().try_fold(top, |v, k| v.get_mut(k)));
        if let Some(Value::String(text)) = place
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
async fn started(ctx: &Ctx<'_>, scope: &str, res: usize, key: &str, state: Option<String>) -> Result<(), ApiError> {
    if let Some(state) = state {
        let now_ms = ctx.store.now_ms(ctx.tenant);
        schedule(
            ctx.api,
            ctx.store,
            ctx.tenant,
            (res, scope.to_string()),
            key,
            &state,
            now_ms,
        )
        .await?;
    }
    Ok(())
}

pub async fn create(
    ctx: &Ctx<'_>,
    res: usize,
    write: &WritePlan,
    shape: &Shape,
    status: u16,
    body: Option<Value>,
    rule: Option<&OutcomeRule>,
) -> Result<Outcome, ApiError> {
    let r = resource(ctx, res)?;
    let scope = scope_for(ctx, res)?;
    let mut obj = new_object(r, write, body, rule.map_or(&[][..], |o| o.base.as_slice()), now(ctx));
    shape_new(rule, ctx.op.rules.as_ref().and_then(|x| x.initial.as_ref()), &mut obj);
    let state = state_of(ctx, &obj);
    // The parent's key, as the path gives it.
    for (param, field, kind) in &write.scope_fields {
        if let Some(v) = ctx.req.path_param(param) {
            obj.insert(field.clone(), kind.convert(Value::String(v.to_string())));
        }
    }
    // A create with references resolves them, then stores everything in one step. Should another
    // request have stored the same new inline object in between (its unique value is taken now),
    // the references are resolved again and find that object: two creates naming one new
    // customer link to one customer, as when both ran under one lock.
    let inline = !r.references.is_empty();
    let mut tries = 0;
    let (entry, key) = loop {
        let this = if inline { obj.clone() } else { std::mem::take(&mut obj) };
        match store_new(ctx, r, &scope, write, this).await {
            Err(e) if inline && tries < 2 && inline_taken(r, &e) => tries += 1,
            done => break done?,
        }
    };
    started(ctx, &scope.key.1, res, &key, state).await?;
    Ok(Outcome {
        status,
        body: Some(render(r, shape, &entry)),
        changed: ctx.op.fires.then(|| entry.json.clone()),
    })
}

/// Whether `e` is a unique value of an object a reference was creating inline, taken meanwhile.
fn inline_taken(r: &Resource, e: &ApiError) -> bool {
    e.violations.iter().any(|v| {
        r.references.iter().any(|x| {
            v.field
                .strip_prefix(x.field.as_str())
                .is_some_and(|rest| rest.starts_with('.'))
        })
    })
}

/// Resolves `obj`'s references and stores it (with the objects they create inline) in one step;
/// the stored entry and its key.
async fn store_new(
    ctx: &Ctx<'_>,
    r: &Resource,
    scope: &Scope<'_>,
    write: &WritePlan,
    mut obj: Map<String, Value>,
) -> Result<(Entry, String), ApiError> {
    // References first: an existing item is looked up, an inline object that matches nothing is
    // created in the same step as this object (a create that fails creates nothing). Its id is
    // known only once the store gives it one, so this object's fields that name it are set when
    // this object is prepared, from `inline_ids`.
    let mut inserts: Vec<Insert> = Vec::new();
    let inline_ids: InlineIds = Arc::default();
    for reference in &r.references {
        let target = resource(ctx, reference.target)?;
        match resolve_reference(ctx, reference, target, obj.get(&reference.field)).await? {
            Resolved::Absent => {}
            Resolved::Existing(id, item) => {
                if let Some(snap) = &reference.snapshot {
                    let copy: Map<String, Value> = snap
                        .fields
                        .iter()
                        .map(|f| (f.clone(), item.get(f).cloned().unwrap_or(Value::Null)))
                        .collect();
                    obj.insert(snap.into.clone(), Value::Object(copy));
                }
                obj.insert(reference.field.clone(), id);
            }
            Resolved::Inline(item) => {
                let ids = inline_ids.clone();
                let field = reference.field.clone();
                let seq = target.id_gen.uses_seq() && field_of(&item, &target.id_field).is_none_or(Value::is_null);
                inserts.push(Insert {
                    r: target,
                    key: (reference.target, String::new()),
                    seq,
                    field_prefix: Some(field.clone()),
                    prepare: Box::new(move |seq| {
                        let (key, stored) = prepare(target, item, seq);
                        let id = stored
                            .get(&target.id_field)
                            .cloned()
                            .unwrap_or(Value::String(key.clone()));
                        ids.lock().push((field, id, stored.clone()));
                        Ok(prepared(target, key, stored))
                    }),
                });
            }
        }
    }
    let snapshots: Vec<(String, String, Vec<String>)> = r
        .references
        .iter()
        .filter_map(|x| {
            x.snapshot
                .as_ref()
                .map(|s| (x.field.clone(), s.into.clone(), s.fields.clone()))
        })
        .collect();
    let ids = inline_ids.clone();
    let seq = r.id_gen.uses_seq() && field_of(&obj, &r.id_field).is_none_or(Value::is_null);
    inserts.push(Insert {
        r,
        key: scope.key.clone(),
        seq,
        field_prefix: None,
        prepare: Box::new(move |seq| {
            for (field, id, item) in ids.lock().iter() {
                if let Some((_, into, fields)) = snapshots.iter().find(|(f, _, _)| f == field) {
                    let copy: Map<String, Value> = fields
                        .iter()
                        .map(|f| (f.clone(), item.get(f).cloned().unwrap_or(Value::Null)))
                        .collect();
                    obj.insert(into.clone(), Value::Object(copy));
                }
                obj.insert(field.clone(), id.clone());
            }
            let (key, mut stored) = prepare(r, obj, seq);
            rekey_base(write, &key, &mut stored);
            Ok(prepared(r, key, stored))
        }),
    });
    // The inline objects go first (their ids are set into this one); this object is the last.
    let entries = ctx.store.create(ctx.tenant, scope, inserts).await?;
    let (key, entry) = entries
        .into_iter()
        .last()
        .ok_or_else(|| ApiError::new(500, ErrorKind::Internal, "the store stored nothing"))?;
    Ok((entry, key))
}

/// The objects a create makes inline for its references, once stored: the reference field, the
/// new item's id, the item.
type InlineIds = Arc<parking_lot::Mutex<Vec<(String, Value, Map<String, Value>)>>>;

/// What a reference field names.
enum Resolved {
    /// Nothing (absent or null).
    Absent,
    /// An existing item: its id, and the item (for snapshots).
    Existing(Value, Map<String, Value>),
    /// A new item to create from an inline object.
    Inline(Map<String, Value>),
}

/// The item a reference field stands for, or the object to create for it. Errors name the field
/// (`owner`, `owner.locale`).
async fn resolve_reference(
    ctx: &Ctx<'_>,
    reference: &crate::model::resources::plan::Reference,
    target: &Resource,
    value: Option<&Value>,
) -> Result<Resolved, ApiError> {
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
    let top = Scope {
        key: (reference.target, String::new()),
        parents: Vec::new(),
    };
    let as_map = |e: &Entry| match e.value() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    match value {
        None | Some(Value::Null) => Ok(Resolved::Absent),
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
            if let Some(found) = find_by(ctx, &top, target, match_field, wanted).await? {
                let item = as_map(&found);
                let id = item.get(&target.id_field).cloned().unwrap_or(Value::Null);
                return Ok(Resolved::Existing(id, item));
            }
            let none = WritePlan::default();
            let write = match create_op.map(|o| (o, &o.action)) {
                Some((op, Action::Create { res, write, .. })) => plan_of(ctx, op, *res, write)?,
                _ => &none,
            };
            Ok(Resolved::Inline(new_object(
                target,
                write,
                Some(Value::Object(inline.clone())),
                &[],
                now(ctx),
            )))
        }
        Some(id) => {
            let key = id_key(id);
            match ctx.store.get(ctx.tenant, &top, &key).await? {
                Some(e) if !e.archived => {
                    let item = as_map(&e);
                    let id = item.get(&target.id_field).cloned().unwrap_or_else(|| id.clone());
                    Ok(Resolved::Existing(id, item))
                }
                Some(_) => Err(invalid(format!("{} {key:?} is archived", target.singular()), field)),
                None => Err(invalid(format!("no such {}: {key:?}", target.singular()), field)),
            }
        }
    }
}

/// The item whose `field` equals `wanted` (as its unique rule compares, else exactly).
async fn find_by(
    ctx: &Ctx<'_>,
    scope: &Scope<'_>,
    r: &Resource,
    field: &str,
    wanted: &Value,
) -> Result<Option<Entry>, ApiError> {
    if let Some(i) = r.unique.iter().position(|u| u.field == field) {
        let Some(key) = r.unique.get(i).and_then(|u| unique_key(u.case_insensitive, wanted)) else {
            return Ok(None);
        };
        return ctx.store.find_unique(ctx.tenant, &scope.key, i, &key).await;
    }
    let keep = |e: &Entry| e.value().get(field) == Some(wanted);
    let page = ctx
        .store
        .page(
            ctx.tenant,
            scope,
            &PageQuery {
                from: From::After(None),
                limit: 1,
                keep: Some(&keep),
                only: None,
                total: false,
            },
        )
        .await?;
    Ok(page.items.into_iter().next().map(|(_, e)| e))
}

pub async fn write_item(
    ctx: &Ctx<'_>,
    res: usize,
    write: &WritePlan,
    shape: &Shape,
    status: u16,
    replace: bool,
    body: Option<Value>,
) -> Result<Outcome, ApiError> {
    let (r, scope, id) = item_scope(ctx, res)?;
    let mut changes = fields_from_body(write, body);
    drop_unfit(r, write, &mut changes);
    let stamp = r.updated_field.as_ref().map(|_| moment(r.updated_form, now(ctx)));
    let mut next = |current: &Entry| {
        let current = match current.value() {
            Value::Object(m) => m,
            _ => Map::new(),
        };
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
            current
        };
        for (k, v) in &changes {
            if *k == r.id_field {
                continue;
            }
            // A free-form map (`metadata`) is merged into, key by key (into an empty one where
            // none is stored); a key sent as null goes.
            if !replace
                && write.merged.contains(k)
                && let Value::Object(sent) = v
            {
                let slot = next.entry(k.clone()).or_insert(Value::Null);
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(stored) = slot {
                    for (mk, mv) in sent {
                        match mv {
                            Value::Null => stored.shift_remove(mk),
                            _ => stored.insert(mk.clone(), mv.clone()),
                        };
                    }
                }
                continue;
            }
            next.insert(k.clone(), v.clone());
        }
        if let (Some(f), Some(stamp)) = (&r.updated_field, &stamp) {
            next.insert(f.clone(), stamp.clone());
        }
        Ok(prepared(r, id.to_string(), next))
    };
    let entry = ctx.store.update(ctx.tenant, &scope, r, id, &mut next).await?;
    Ok(Outcome {
        status,
        body: Some(render(r, shape, &entry)),
        changed: ctx.op.fires.then(|| entry.json.clone()),
    })
}

pub async fn set_archived(
    ctx: &Ctx<'_>,
    res: usize,
    shape: &Shape,
    status: u16,
    archive: bool,
) -> Result<Outcome, ApiError> {
    let (r, scope, id) = item_scope(ctx, res)?;
    let Some(entry) = ctx.store.set_archived(ctx.tenant, &scope, r, id, archive).await? else {
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
    };
    let has_body = ctx.op.success().is_some_and(|s| s.content_type.is_some());
    Ok(Outcome {
        status,
        body: has_body.then(|| render(r, shape, &entry)),
        changed: ctx.op.fires.then(|| entry.json.clone()),
    })
}
