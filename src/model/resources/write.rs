//! How a request's fields become a stored object: which fields are kept, under which name and
//! type, and what a new item starts from.
//!
//! Request and response schemas of real APIs rarely agree to the letter. A form body sends
//! `FriendlyName=x&Record=true` where the answer says `"friendly_name": "x", "record": true`; a body
//! wraps the object (`{"customer": {...}}`) where the answer does not. All of that is settled here,
//! once, into a [`WritePlan`] that a create or an update only follows.

use crate::model::operation::{Operation, Props, Spec, any_shape_properties, properties};
use crate::model::resources::envelope::{answer_envelope, fold, item_envelope, unwrap};
use crate::model::resources::plan::{Action, Rename, Resource, Write, WritePlan};
use crate::model::resources::shape::{required_of, type_has};
use crate::model::schema::Coerce;
use crate::spec::pointer::{Field, annotates, lookup, resolve};
use crate::spec::read::compact;
use serde_json::{Map, Value};

fn flag(root: &Value, schema: &Value, key: &str) -> bool {
    resolve(root, schema).get(key) == Some(&Value::Bool(true))
}

/// The schema kind a value is stored as, where a conversion can matter.
fn kind(root: &Value, schema: &Value) -> Option<Coerce> {
    match Coerce::for_schema(root, schema, true) {
        c @ (Coerce::String | Coerce::Integer | Coerce::Number | Coerce::Boolean) => Some(c),
        _ => None,
    }
}

/// Whether two schemas constrain a value alike, annotations aside (descriptions and examples
/// differ between a request's schema and an answer's without changing what they accept).
fn same_constraints(root: &Value, a: &Value, b: &Value) -> bool {
    // Compared in place, nothing copied: a large spec asks this for every field of every write.
    fn alike(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let kept = |m: &Map<String, Value>| m.keys().filter(|k| !annotates(k)).count();
                kept(x) == kept(y)
                    && x.iter()
                        .filter(|(k, _)| !annotates(k))
                        .all(|(k, v)| y.get(k).is_some_and(|w| alike(v, w)))
            }
            (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(v, w)| alike(v, w)),
            _ => a == b,
        }
    }
    let (a, b) = (resolve(root, a), resolve(root, b));
    std::ptr::eq(a, b) || alike(a, b)
}

/// The properties a request body may have: its own (through `allOf`), and those of every
/// `oneOf`/`anyOf` alternative (a body that is one of several shapes stores the fields of any).
///
/// Also says which of them every valid body has checked against its schema: those declared
/// outside `oneOf`/`anyOf`. A property of one branch only may come, unchecked, with a body that
/// matched another branch (which allows any further property).
fn body_properties<'a>(root: &'a Value, schema: &'a Value) -> (Props<'a>, Vec<String>) {
    let mut props = properties(root, schema);
    let always = props.keys().cloned().collect();
    let s = resolve(root, schema);
    for key in ["oneOf", "anyOf"] {
        for branch in s.get(key).and_then(Value::as_array).into_iter().flatten() {
            for (k, v) in properties(root, branch) {
                props.add(k, v);
            }
        }
    }
    (props, always)
}

/// Whether a value of schema `a` can stand where schema `b` is declared as far as its kind goes:
/// scalars convert into each other, but an object is no string and a list of objects no list of
/// strings.
fn same_shape(root: &Value, a: &Value, b: &Value) -> bool {
    fn kinds(c: &Coerce) -> (bool, Option<&Coerce>) {
        match c {
            Coerce::Json => (false, None),
            Coerce::Array(inner, _) => (true, Some(inner)),
            _ => (true, None),
        }
    }
    let (ca, cb) = (Coerce::for_schema(root, a, true), Coerce::for_schema(root, b, true));
    match (&ca, &cb) {
        (Coerce::Json, Coerce::Json) => true,
        (Coerce::Array(x, _), Coerce::Array(y, _)) => kinds(x).0 == kinds(y).0,
        (Coerce::Json, _) | (_, Coerce::Json) | (Coerce::Array(..), _) | (_, Coerce::Array(..)) => false,
        _ => true,
    }
}

impl Write {
    /// The plan of `op` (a create, update or replace of `res`, in `spec`), made now if no
    /// request has made it yet.
    pub fn plan(&self, spec: &Spec, op: &Operation, res: &Resource) -> &WritePlan {
        self.0
            .get_or_init(|| write_plan(spec, op, res, matches!(op.action, Action::Create { .. })))
    }

    /// The plan, if a request has made it.
    pub fn made(&self) -> Option<&WritePlan> {
        self.0.get()
    }
}

/// The write plan of `op` on `res`. `create` adds what a new item starts from: the fields the
/// server sets, taken from the spec's example of the answer (else its generated body).
pub fn write_plan(spec: &Spec, op: &Operation, res: &Resource, create: bool) -> WritePlan {
    let root = spec.root();
    let body_pointer = op
        .body
        .as_ref()
        .and_then(|b| b.media.iter().find(|m| m.is_json()).or_else(|| b.media.first()))
        .and_then(|m| m.schema_pointer.clone());
    let envelope = body_pointer
        .as_deref()
        .and_then(|p| item_envelope(root, p, res.schema_pointer.as_deref(), &res.singular()));
    let body_schema = match &envelope {
        Some((_, inner)) => lookup(root, inner),
        None => body_pointer.as_deref().and_then(|p| lookup(root, p)),
    };
    let rep_props = res
        .schema_pointer
        .as_ref()
        .and_then(|p| lookup(root, p))
        .map(|rep| any_shape_properties(root, rep))
        .unwrap_or_default();

    let mut defaults = Vec::new();
    let mut renames = Vec::new();
    let mut shadowed: Vec<String> = Vec::new();
    let mut checked = Vec::new();
    // The object a create's answer holds (inside its envelope, if any).
    let answer_pointer = if create {
        op.success().and_then(|r| r.schema_pointer.as_deref()).map(|p| {
            match answer_envelope(root, op, res.schema_pointer.as_deref(), &res.singular()) {
                Some((_, inner)) => crate::spec::pointer::resolve_pointer(root, inner),
                None => crate::spec::pointer::resolve_pointer(root, p.to_string()),
            }
        })
    } else {
        None
    };
    let fields = body_schema.and_then(|s| {
        let (props, always_checked) = body_properties(root, s);
        for (k, v) in &props {
            if let Some(d) = resolve(root, v).field("default") {
                defaults.push((k.clone(), d.clone()));
            }
        }
        let writable: Vec<String> = props
            .iter()
            .filter(|(_, v)| !flag(root, v, "readOnly"))
            .map(|(k, _)| k.clone())
            .collect();
        for name in &writable {
            let Some(sent) = props.get(name) else { continue };
            // The representation's field: the same name, else the same name in another style.
            let target = if rep_props.contains_key(name) {
                Some(name.clone())
            } else {
                let folded = fold(name);
                rep_props.keys().find(|k| fold(k) == folded).cloned()
            };
            let stored_as = target.clone().unwrap_or_else(|| name.clone());
            // Checked against what the answer declares for it: the representation, and for a
            // create the answer's own schema, which may say more (a payment session echoes a
            // `dateOfBirth` sent as a date as a date-time).
            let declared = [res.schema_pointer.clone(), answer_pointer.clone()];
            for at in declared.iter().flatten() {
                let pointer = crate::model::resources::envelope::property_pointer(root, at, &stored_as);
                if let Some(answer) = lookup(root, &pointer)
                    && (!always_checked.contains(name) || !same_constraints(root, sent, answer))
                    && !checked
                        .iter()
                        .any(|(f, _): &(String, std::sync::Arc<_>)| *f == stored_as)
                {
                    checked.push((stored_as.clone(), std::sync::Arc::new(spec.compiler.lazy(&pointer))));
                }
            }
            let Some(target) = target else { continue };
            // The same name for another thing (a region's slug sent, a region object answered):
            // the answer's own value stands, and the sent one is not stored under that name.
            if let Some(rep) = rep_props.get(&target)
                && !same_shape(root, sent, rep)
            {
                shadowed.push(name.clone());
                continue;
            }
            let stored = rep_props.get(&target).map(|s| kind(root, s));
            let convert = match stored {
                Some(Some(to)) if kind(root, sent) != Some(to.clone()) => Some(to),
                _ => None,
            };
            if target != *name || convert.is_some() {
                renames.push(Rename {
                    from: name.clone(),
                    to: target,
                    convert,
                });
            }
        }
        // A free-form body (no declared properties) stores whatever it is given.
        (!props.is_empty()).then(|| {
            writable
                .into_iter()
                .filter(|f| !shadowed.contains(f))
                .collect::<Vec<_>>()
        })
    });
    for (k, v) in &rep_props {
        let s = resolve(root, v);
        if let Some(d) = s.field("default")
            && !defaults.iter().any(|(n, _)| n == k)
            && !flag(root, s, "readOnly")
        {
            defaults.push((k.clone(), d.clone()));
        }
    }
    // Defaults speak the request's names; stored, they take the representation's (and a
    // shadowed field's default is no more stored than the field).
    let defaults = defaults
        .into_iter()
        .filter(|(k, _)| !shadowed.contains(k))
        .map(|(k, v)| match renames.iter().find(|r| r.from == k) {
            Some(r) => (r.to.clone(), r.convert.as_ref().map_or(v.clone(), |c| c.convert(v))),
            None => (k, v),
        })
        .fold(Vec::<(String, Value)>::new(), |mut out, (k, v)| {
            if !out.iter().any(|(n, _)| *n == k) {
                out.push((k, v));
            }
            out
        });
    let scope_fields: Vec<(String, String, Coerce)> = res
        .scope_params
        .iter()
        .filter_map(|p| {
            let folded = fold(p);
            // A parent's generic `{id}` is not the child's own `id`; and a field that holds more
            // than a key (an `owner` object under `/x/{owner}/...`) is no place for the path's text.
            rep_props
                .iter()
                .find(|(k, _)| fold(k) == folded && **k != res.id_field)
                .filter(|(_, s)| !holds_structure(root, s, 0))
                .map(|(k, s)| (p.clone(), k.clone(), Coerce::for_schema(root, s, true)))
        })
        .collect();
    let (mut base, base_key) = if create {
        base_of(root, op, res, fields.as_deref(), &renames, &rep_props)
    } else {
        (Vec::new(), None)
    };
    base.retain(|(k, _)| !scope_fields.iter().any(|(_, f, _)| f == k));
    // The base fields that name the example's own item (found once here: searching every field
    // of every create for the key cost more than the rest of the create).
    let mut rekeyed = Vec::new();
    if let Some(old) = base_key.as_deref().filter(|k| !k.is_empty()) {
        for (k, v) in &base {
            links_to(v, old, &mut vec![k.clone()], &mut rekeyed);
        }
    }
    let merged = rep_props
        .iter()
        .filter(|(_, s)| free_form_map(root, s))
        .map(|(k, _)| k.clone())
        .collect();
    WritePlan {
        fields,
        defaults,
        envelope: envelope.map(|(field, _)| field),
        renames,
        base,
        base_key,
        rekeyed,
        scope_fields,
        checked,
        merged,
    }
}

/// The paths, from `path` down through objects (a few members deep, as HAL's
/// `_links.self.href`), of the text in `v` that names the item keyed `old` (see [`rekey`]).
fn links_to(v: &Value, old: &str, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    const DEPTH: usize = 4;
    match v {
        Value::String(t) if rekey(t, old, "\u{0}").is_some() => out.push(path.clone()),
        Value::Object(m) if path.len() < DEPTH => {
            for (k, child) in m {
                path.push(k.clone());
                links_to(child, old, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Whether a schema is (or may be, through `allOf`/`anyOf`/`oneOf`) an object or an array:
/// a field that holds more than one scalar value.
fn holds_structure(root: &Value, schema: &Value, depth: usize) -> bool {
    let s = resolve(root, schema);
    if type_has(s, "object") || type_has(s, "array") || s.field("properties").is_some() {
        return true;
    }
    depth < 8
        && ["allOf", "anyOf", "oneOf"]
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_array))
            .flatten()
            .any(|part| holds_structure(root, part, depth + 1))
}

/// The fields a new item starts from: what the example of the create's answer shows (else the
/// read's, else a generated body) for the representation's fields that the client does not send,
/// less the key and the timestamps, which the server sets anew. Fields the client could have sent
/// but did not are left to defaults: the example's phone number is nobody's phone number.
fn base_of(
    root: &Value,
    op: &Operation,
    res: &Resource,
    sent: Option<&[String]>,
    renames: &[Rename],
    rep_props: &Props<'_>,
) -> (Vec<(String, Value)>, Option<String>) {
    let Some(success) = op.success() else {
        return (Vec::new(), None);
    };
    let envelope = answer_envelope(root, op, res.schema_pointer.as_deref(), &res.singular());
    let body = success.planning_body(root);
    let Some(example) = body
        .as_deref()
        .and_then(|b| unwrap(b, envelope.as_ref().map(|(field, _)| field.as_str())))
        .and_then(Value::as_object)
    else {
        return (Vec::new(), None);
    };
    let writable = |k: &str| sent.is_some_and(|s| s.iter().any(|f| f == k)) || renames.iter().any(|r| r.to == k);
    let server_set = |k: &str| {
        k == res.id_field || Some(k) == res.created_field.as_deref() || Some(k) == res.updated_field.as_deref()
    };
    // The answer's own schema says which fields it has (it may show more than a read does).
    let answer_props = envelope
        .as_ref()
        .map(|(_, inner)| inner.as_str())
        .or(success.schema_pointer.as_deref())
        .and_then(|p| lookup(root, p))
        .map(|s| properties(root, s))
        .unwrap_or_default();
    let schema_of = |k: &str| answer_props.get(k).or_else(|| rep_props.get(k));
    // A body generated from the schema (the spec shows no example) invents every optional field:
    // a discount, a shipping address, metadata, a list's first item. Of those, a new item has
    // only what its schema must give it: null where allowed, else an empty map for a free-form
    // one and an empty list where a list may be empty.
    // A field whose own schema shows a value (an example, a default, a constant) was not
    // invented: the generator took the spec's value.
    let generated = success.first_example(root).is_none();
    let shows_value = |s: &Value| {
        ["example", "examples", "default", "const"]
            .iter()
            .any(|k| s.field(k).is_some())
    };
    let unset = |s: &Value| {
        if crate::spec::pointer::allows_null(root, s) {
            Some(Value::Null)
        } else if !generated || shows_value(s) {
            None
        } else if free_form_map(root, s) {
            Some(Value::Object(Map::new()))
        } else {
            let may_be_empty = s.field("minItems").and_then(Value::as_u64).is_none_or(|n| n == 0);
            (type_has(s, "array") && may_be_empty).then(|| Value::Array(Vec::new()))
        }
    };
    let mut base: Vec<(String, Value)> = example
        .iter()
        .filter(|(k, _)| !server_set(k))
        .filter(|(k, _)| schema_of(k).is_none_or(|s| !flag(root, s, "writeOnly")))
        .map(|(k, v)| {
            let s = schema_of(k).map(|s| resolve(root, s));
            if !writable(k) {
                let invented = generated
                    .then(|| s.filter(|s| !shows_value(s)).and_then(unset))
                    .flatten();
                return (k.clone(), invented.unwrap_or_else(|| compact(v)));
            }
            // A field the client may send but did not: its default, else null where allowed (an
            // empty map, in a generated body), else what the example shows (a boolean must be
            // something). One the answer's schema does not declare, as the example shows it.
            let Some(s) = s else {
                return (k.clone(), compact(v));
            };
            match s.field("default") {
                Some(d) => (k.clone(), compact(d)),
                None => (k.clone(), unset(s).unwrap_or_else(|| compact(v))),
            }
        })
        .collect();
    // Kept for the life of the server, one per create.
    base.shrink_to_fit();
    let key = example
        .get(&res.id_field)
        .map(crate::model::resources::envelope::key_text);
    (base, key)
}

/// Whether `schema` is an object of free keys only (`metadata`: `additionalProperties` and no
/// declared or required properties, here or in an `allOf` part), which an empty object
/// satisfies. An object of `type: object` built with `allOf` (a page of tracks, with required
/// fields of its own) is none.
fn free_form_map(root: &Value, schema: &Value) -> bool {
    let s = resolve(root, schema);
    type_has(s, "object")
        && properties(root, s).is_empty()
        && required_of(root, s).is_empty()
        && !["anyOf", "oneOf"].iter().any(|k| s.field(k).is_some())
        && s.field("minProperties").and_then(Value::as_u64).is_none_or(|n| n == 0)
}

/// `text` with the example's key, where it stands as a path segment (a link to the example's
/// own item), replaced by the new item's key.
pub fn rekey(text: &str, old: &str, new: &str) -> Option<String> {
    if !text.contains(old) {
        return None;
    }
    let mut out = String::new();
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find(old) {
        let before = rest.get(..i).unwrap_or_default();
        let after = rest.get(i + old.len()..).unwrap_or_default();
        let whole = before.ends_with('/') && (after.is_empty() || after.starts_with(['/', '.', '?', '#']));
        out.push_str(before);
        out.push_str(if whole { new } else { old });
        changed |= whole;
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(out)
}
