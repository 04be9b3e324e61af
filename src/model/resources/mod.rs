//! What each operation does to state, inferred from the spec.
//!
//! A collection path `/x` with an item path `/x/{id}` is a resource. The HTTP method and the path
//! shape say what an operation does (`POST /x` creates, `GET /x/{id}` reads, ...); the parameters
//! and the response schema say how a list pages and filters; the schemas say which fields are
//! stored and how a stored object is shaped on the way out. `x-specbox-*` extensions override any
//! of it. All of this is decided once, at startup, into plain data ([`Action`], [`ListPlan`],
//! [`Shape`]) so that a request only follows a plan.
//!
//! This module decides; [`crate::state::store`] keeps the data; [`crate::pipeline::act`] carries a request through.
//!
//! The plan's types are in [`plan`]; how a schema shapes a stored object in [`shape`]; how a
//! list pages and filters in [`list`]. This file finds the resources and picks each operation's
//! action.

pub mod envelope;
pub mod list;
pub mod plan;
pub mod shape;
pub mod write;

use crate::model::operation::{Operation, Props, Spec, item_properties, properties, template_params};
use crate::model::resources::envelope::{answer_envelope, collection_name, fold, item_envelope, unwrap};
use crate::model::resources::list::{leaves_members_free, list_items_pointer, list_plan};
use crate::model::resources::plan::singular;
use crate::model::resources::plan::*;
use crate::model::resources::shape::{Shapes, type_has};
use crate::model::schema::{Compile, Location};
use crate::spec::error::SpecError;
use crate::spec::pointer::{Field, escape_pointer, lookup, resolve};
use serde_json::Value;
use std::collections::HashMap;

/// The operations of one spec, indexed by path template (in spec order within a template), so
/// that inference asks "which operations are on `/x/{id}`?" without scanning every operation:
/// with one scan per collection, a spec with n paths took O(n²) (seconds for 600 paths).
struct SpecOps<'a> {
    spec_idx: usize,
    ops: &'a [Operation],
    /// Distinct templates, in the order their first operation appears.
    templates: Vec<&'a str>,
    by_template: HashMap<&'a str, Vec<usize>>,
    /// Collection template → the first item template `collection/{param}` (in spec order).
    items: HashMap<String, &'a str>,
}

impl<'a> SpecOps<'a> {
    fn new(ops: &'a [Operation], spec_idx: usize) -> Self {
        let mut templates = Vec::new();
        let mut by_template: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut items = HashMap::new();
        for (i, op) in ops.iter().enumerate().filter(|(_, o)| o.spec == spec_idx) {
            let t = op.path_template();
            let list = by_template.entry(t).or_default();
            if list.is_empty() {
                templates.push(t);
                // `t` is an item path of `parent` when its last segment is a single parameter.
                if let Some((collection, _)) = item_of(t) {
                    items.entry(collection).or_insert(t);
                }
            }
            list.push(i);
        }
        SpecOps {
            spec_idx,
            ops,
            templates,
            by_template,
            items,
        }
    }

    /// The operations on `template`, in spec order.
    fn on(&self, template: &str) -> impl Iterator<Item = (usize, &'a Operation)> + '_ {
        let ops = self.ops;
        self.by_template
            .get(template)
            .into_iter()
            .flatten()
            .filter_map(move |i| ops.get(*i).map(|o| (*i, o)))
    }

    fn find(&self, template: &str, method: &str) -> Option<&'a Operation> {
        self.on(template)
            .map(|(_, o)| o)
            .find(|o| o.method.as_str().eq_ignore_ascii_case(method))
    }

    fn has(&self, template: &str, method: &str) -> bool {
        self.find(template, method).is_some()
    }
}

/// Infers resources and sets each operation's action. Resource schemas are compiled as `when`
/// says ([`crate::model::Api::build`] checks lazy ones before serving).
// Startup only (never on a request path): indices are positions in the vectors built here.
#[allow(clippy::indexing_slicing)]
pub fn infer(specs: &[Spec], ops: &mut [Operation], when: Compile) -> Result<Vec<Resource>, Vec<SpecError>> {
    let mut resources: Vec<Resource> = Vec::new();
    let mut errors = Vec::new();
    // Actions are decided from the operations as built (never from an action set here), so they
    // are collected first and applied afterwards, in order: a later collection's action for an
    // operation overrides an earlier one's.
    let mut actions: Vec<(usize, Action)> = Vec::new();
    for (spec_idx, spec) in specs.iter().enumerate() {
        let root = spec.root();
        let index = SpecOps::new(ops, spec_idx);
        let mut shapes = Shapes {
            root,
            known: HashMap::new(),
        };

        // Collections: a template whose last segment is static, with an item path beside it or a POST.
        let mut collections: Vec<(String, Option<(String, String)>)> = Vec::new();
        for t in &index.templates {
            if last_segment_is_param(t) {
                continue;
            }
            let item = index
                .items
                .get(*t)
                .map(|it| (it.to_string(), template_params(it).pop().unwrap_or_default()));
            // A lifecycle is state kept on items: its path is a collection even with no read.
            let lifecycle = root
                .field("paths")
                .and_then(|p| p.get(*t))
                .is_some_and(|item| resolve(root, item).field("x-specbox-lifecycle").is_some());
            let explicit = lifecycle || index.on(t).any(|(_, o)| op_ext(root, o).is_some_and(|a| a != "none"));
            // `POST /x/{id}/restore` alone (no GET, no items below) is an action on an item,
            // not a sub-collection.
            let action_on_item = item.is_none()
                && !index.has(t, "get")
                && t.rsplit_once('/')
                    .is_some_and(|(parent, _)| last_segment_is_param(parent));
            // A `POST` alone, with neither a list nor an item path beside it, is a call (`/payments/details`,
            // `/accounts/get`): it answers from the spec and keeps nothing.
            if explicit || (!action_on_item && (item.is_some() || index.has(t, "post") && index.has(t, "get"))) {
                collections.push((t.to_string(), item));
            }
        }
        // Parents first, so a child can find its parent's index.
        collections.sort_by_key(|(c, _)| c.matches('/').count());
        // `parent/{id}/` → the parent resource, for the resources of this spec built so far.
        let mut child_prefixes: HashMap<String, usize> = HashMap::new();
        for (collection, item) in &collections {
            let res_idx = resources.len();
            // The parent is the resource with the longest collection whose item path prefixes
            // this collection; every `/`-terminated prefix of the collection is a candidate.
            let parent = collection
                .match_indices('/')
                .filter_map(|(i, _)| child_prefixes.get(&blank_params(&collection[..=i])).copied())
                .max_by_key(|r| resources[*r].collection.len());
            match build_resource(spec, &index, collection, item.as_ref(), parent, when, &mut shapes) {
                Ok(r) => {
                    if let Some((item_t, _)) = item {
                        // Children name the parent's parameter as they like (`/Accounts/{Sid}.json`,
                        // `/Accounts/{AccountSid}/Calls.json`), so prefixes are compared with names blanked.
                        let stem = item_t.rsplit_once('}').map_or(item_t.as_str(), |(stem, _)| stem);
                        child_prefixes.insert(blank_params(&format!("{stem}}}/")), res_idx);
                    }
                    resources.push(r);
                }
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
            // Actions for the operations on this resource's paths: the collection, the item, and
            // the item's restore/unarchive/archive actions (no other template gets one).
            let item_t = item.as_ref().map(|(t, _)| t.as_str());
            let mut on_paths = vec![collection.clone()];
            if let Some(it) = item_t {
                on_paths.extend(["", "/restore", "/unarchive", "/archive"].map(|s| format!("{it}{s}")));
                // Other actions on the item (`POST /things/{id}/confirm`): answered with the
                // item where their answer is the item (see `action_for`). A path that can be
                // read is something of its own (a collection below the item), not an action.
                let actions = index
                    .templates
                    .iter()
                    .filter(|t| item_action(t, it).is_some() && !index.has(t, "get"));
                on_paths.extend(actions.map(|t| t.to_string()));
            }
            // A POST to the item is its update where nothing else updates it (`POST
            // /things/{id}`, `POST /Things/{Sid}.json`: APIs of form bodies update so).
            let item = Item {
                template: item_t,
                post_updates: item_t.is_some_and(|it| !index.has(it, "patch") && !index.has(it, "put")),
            };
            for t in &on_paths {
                for (i, op) in index.on(t) {
                    if let Some(a) = action_for(spec, &resources[res_idx], res_idx, op, collection, item, &mut shapes) {
                        actions.push((i, a));
                    }
                }
            }
        }
    }
    for (i, a) in actions {
        ops[i].action = a;
    }
    resolve_references(specs, &mut resources, &mut errors);
    for (i, op) in ops.iter().enumerate() {
        if let Action::Create { res, .. } = op.action
            && let Some(r) = resources.get_mut(res)
            && r.create_op.is_none()
        {
            r.create_op = Some(i);
        }
    }
    // Archive where the spec can restore.
    for op in ops.iter() {
        if let Action::Restore { res, .. } = op.action
            && let Some(r) = resources.get_mut(res)
        {
            r.archivable = true;
        }
    }
    for op in ops.iter_mut() {
        if let Action::Delete { res, shape } = &op.action
            && resources.get(*res).is_some_and(|r| r.archivable)
        {
            // A body-less DELETE (204) archives too; the shape is then unused.
            let shape = shape.clone().unwrap_or_else(Shape::pass_through);
            op.action = Action::Archive { res: *res, shape };
        }
    }
    mark_shared(ops, &mut resources);
    if errors.is_empty() { Ok(resources) } else { Err(errors) }
}

/// Whether the schema's example is written as an RFC 3339 date-time (`2024-03-20T09:13:37+00:00`,
/// `2024-03-20T09:13:37.5Z`): its shape only, which is all that tells a timestamp's text from
/// other text. (The `time` crate's parser says this and more, but its parsing feature added
/// 30 kB to the binary for this one question, and the smallest specs' idle memory, most of it
/// the binary's own pages, sits at its line.)
fn shows_a_date_time(schema: &Value) -> bool {
    let example = schema
        .field("example")
        .or_else(|| schema.field("examples").and_then(|e| e.get(0)))
        .and_then(Value::as_str);
    example.is_some_and(|t| {
        let b = t.as_bytes();
        let digits = |from: usize, to: usize| b.get(from..to).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
        let at = |i: usize, any: &[u8]| b.get(i).is_some_and(|x| any.contains(x));
        let date_and_time = digits(0, 4)
            && at(4, b"-")
            && digits(5, 7)
            && at(7, b"-")
            && digits(8, 10)
            && at(10, b"Tt")
            && digits(11, 13)
            && at(13, b":")
            && digits(14, 16)
            && at(16, b":")
            && digits(17, 19);
        // Seconds' fraction, if any: a point and at least one digit.
        let fraction = b
            .get(20..)
            .map_or(0, |f| f.iter().take_while(|d| d.is_ascii_digit()).count());
        let zone_at = if at(19, b".") { 20 + fraction } else { 19 };
        let zone = match b.get(zone_at..) {
            Some([z]) => matches!(z, b'Z' | b'z'),
            Some(offset) => {
                offset.len() == 6
                    && at(zone_at, b"+-")
                    && digits(zone_at + 1, zone_at + 3)
                    && at(zone_at + 3, b":")
                    && digits(zone_at + 4, zone_at + 6)
            }
            None => false,
        };
        date_and_time && (!at(19, b".") || fraction > 0) && zone
    })
}

/// The form a time field's schema (resolved) asks for (see [`TimeForm`]). An integer is
/// milliseconds when its format says so (`unix-ms`, `timestamp-millis`) or its example is one
/// (past the year 5138 in seconds).
fn time_form(schema: &Value) -> TimeForm {
    // A nullable one written `anyOf: [{type: integer}, {type: null}]` is its typed branch's.
    if schema.field("type").is_none()
        && let Some(branch) = ["anyOf", "oneOf"]
            .iter()
            .filter_map(|k| schema.get(*k).and_then(Value::as_array))
            .flatten()
            .find(|b| b.field("type").is_some_and(|t| t != "null"))
    {
        return time_form(branch);
    }
    let format = schema.field("format").and_then(Value::as_str).unwrap_or("");
    let example = schema
        .field("example")
        .or_else(|| schema.field("examples").and_then(|e| e.get(0)))
        .and_then(Value::as_f64);
    if type_has(schema, "integer") || type_has(schema, "number") {
        let millis = format.contains("ms") || format.contains("milli") || example.is_some_and(|e| e >= 1e11);
        if millis {
            TimeForm::UnixMillis
        } else {
            TimeForm::UnixSeconds
        }
    } else if format == "date" {
        TimeForm::Date
    } else if format.contains("2822") || format.contains("1123") {
        TimeForm::Rfc2822
    } else {
        TimeForm::Text
    }
}

/// Whether an inferred action's answer is made of stored items: a create that answers a list
/// (a `POST` that answers every address of an account) keeps no one item, and a list of plain
/// values (template names, where a read answers an object) lists no stored ones. Such an
/// operation answers from the spec instead.
fn answers_items(root: &Value, kind: &str, success: Option<&str>, name: &str) -> bool {
    let Some(pointer) = success else {
        return true;
    };
    let schema = lookup(root, pointer).map(|s| resolve(root, s)).unwrap_or(&Value::Null);
    match kind {
        "create" => !type_has(schema, "array"),
        "list" => {
            let items = list_items_pointer(root, pointer, name).and_then(|p| lookup(root, &p));
            let plain = |s: &Value| {
                ["string", "integer", "number", "boolean"]
                    .iter()
                    .any(|t| type_has(s, t))
            };
            !items
                .map(|s| resolve(root, s))
                .is_some_and(|s| plain(s) && !type_has(s, "object"))
        }
        _ => true,
    }
}

/// Whether a `POST` to a collection sends and answers the collection's list (`{"things":
/// [...]}` on `/things`, both ways: an array property named like the collection, in the body's
/// schema and in the answer's): a batch of creates and updates, answered from the spec. Taken for one create,
/// the wrapper would be stored as an item that has none of an item's fields.
fn is_batch(root: &Value, op: &Operation, name: &str) -> bool {
    let own = collection_name(name);
    let holds_the_list = |pointer: &str| {
        lookup(root, pointer).is_some_and(|s| {
            properties(root, resolve(root, s))
                .iter()
                .any(|(k, v)| fold(k) == own && type_has(resolve(root, v), "array"))
        })
    };
    let answer = op.success().and_then(|r| r.schema_pointer.as_deref());
    let body = op
        .body
        .iter()
        .flat_map(|b| &b.media)
        .find_map(|m| m.schema.as_ref().map(|s| s.pointer.as_str()));
    answer.is_some_and(holds_the_list) && body.is_some_and(holds_the_list)
}

/// Marks as shared (see [`Resource::shared`]) the top-level resources that anyone may read (by
/// key and as a list, where it has either) but only a credential may write: public data that
/// accounts write. A per-account list beside public reads by key is no public collection. Where
/// writes need no credential either (`security: [{}, {key: []}]` everywhere), a credential still
/// picks a tenant of its own.
/// Parents come before their children in `resources`, so one pass hands a shared parent's mark
/// down.
fn mark_shared(ops: &[Operation], resources: &mut [Resource]) {
    /// What the operations on one resource allow, gathered in one pass over them.
    #[derive(Default, Clone, Copy)]
    struct Access {
        read: Option<bool>,
        list: Option<bool>,
        guarded_write: bool,
    }
    let mut access = vec![Access::default(); resources.len()];
    for op in ops {
        let Some(a) = op.action.resource().and_then(|r| access.get_mut(r)) else {
            continue;
        };
        let anonymous = op.security.optional();
        match op.action {
            // Any read of either kind that needs no credential makes that kind public.
            Action::Read { .. } => a.read = Some(a.read.unwrap_or(false) || anonymous),
            Action::List { .. } => a.list = Some(a.list.unwrap_or(false) || anonymous),
            _ if op.action.writes() && !anonymous => a.guarded_write = true,
            _ => {}
        }
    }
    for i in 0..resources.len() {
        // A child lives where its parent does: shared under a shared parent, never under a
        // private one (its parent would not be found there).
        let shared = match resources.get(i).and_then(|r| r.parent) {
            Some(p) => resources.get(p).is_some_and(|p| p.shared),
            None => access.get(i).is_some_and(|a| {
                let public = (a.read.is_some() || a.list.is_some()) && a.read != Some(false) && a.list != Some(false);
                public && a.guarded_write
            }),
        };
        if let Some(r) = resources.get_mut(i) {
            r.shared = shared;
        }
    }
}

/// Reads `x-specbox-resource.references` now that every resource of the spec is known.
// Startup only (never on a request path): indices are positions in the vectors built here.
#[allow(clippy::indexing_slicing)]
fn resolve_references(specs: &[Spec], resources: &mut [Resource], errors: &mut Vec<SpecError>) {
    for idx in 0..resources.len() {
        let (spec_idx, collection) = (resources[idx].spec, resources[idx].collection.clone());
        let Some(spec) = specs.get(spec_idx) else { continue };
        let ext_ptr = format!("/paths/{}/x-specbox-resource/references", escape_pointer(&collection));
        let Some(list) = lookup(spec.root(), &ext_ptr).and_then(Value::as_array) else {
            continue;
        };
        let mut refs = Vec::new();
        for (i, raw) in list.iter().enumerate() {
            let at = format!("{ext_ptr}/{i}");
            let field = raw.field("field").and_then(Value::as_str);
            let target = raw.field("collection").and_then(Value::as_str);
            let (Some(field), Some(target)) = (field, target) else {
                errors.push(SpecError::new(
                    &spec.doc.path,
                    at,
                    "a reference needs `field` and `collection`",
                ));
                continue;
            };
            let Some(t) = resources
                .iter()
                .position(|r| r.spec == spec_idx && r.collection == target)
            else {
                errors.push(SpecError::new(
                    &spec.doc.path,
                    format!("{at}/collection"),
                    format!("{target:?} is not a resource of this spec"),
                ));
                continue;
            };
            if t == idx || !resources[t].scope_params.is_empty() {
                errors.push(SpecError::new(
                    &spec.doc.path,
                    format!("{at}/collection"),
                    "a reference must name another, top-level collection",
                ));
                continue;
            }
            let snapshot = raw.field("snapshot").and_then(|s| {
                Some(Snapshot {
                    into: s.field("into")?.as_str()?.to_string(),
                    fields: s
                        .field("fields")?
                        .as_array()?
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                })
            });
            if raw.field("snapshot").is_some() && snapshot.is_none() {
                errors.push(SpecError::new(
                    &spec.doc.path,
                    format!("{at}/snapshot"),
                    "a snapshot needs `into` and a list of `fields`",
                ));
                continue;
            }
            refs.push(Reference {
                field: field.to_string(),
                target: t,
                match_field: raw.field("match").and_then(Value::as_str).map(str::to_string),
                snapshot,
            });
        }
        resources[idx].references = refs;
    }
}

/// Whether the last segment of `t` holds a parameter (`/x/{id}`, `/x/{Sid}.json`).
fn last_segment_is_param(t: &str) -> bool {
    t.rsplit('/').next().is_some_and(|s| s.contains('{'))
}

/// The collection an item template belongs to, and its parameter: `/x/{id}` → `/x`, and with a
/// suffix after the parameter, `/x/{Sid}.json` → `/x.json` (the list beside it carries the suffix too).
fn item_of(t: &str) -> Option<(String, &str)> {
    let (parent, seg) = t.rsplit_once('/')?;
    let rest = seg.strip_prefix('{')?;
    let (param, suffix) = rest.split_once('}')?;
    if param.is_empty() || param.contains('{') || suffix.contains(['{', '}']) {
        return None;
    }
    Some((format!("{parent}{suffix}"), param))
}

/// `t` with every parameter name blanked (`/a/{x}/b` → `/a/{}/b`).
fn blank_params(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut in_param = false;
    for c in t.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push(c);
            }
            '}' => {
                in_param = false;
                out.push(c);
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn op_ext<'a>(root: &'a Value, op: &Operation) -> Option<&'a str> {
    lookup(root, &op.pointer)?.field("x-specbox-action")?.as_str()
}

fn build_resource(
    spec: &Spec,
    index: &SpecOps<'_>,
    collection: &str,
    item: Option<&(String, String)>,
    parent: Option<usize>,
    when: Compile,
    shapes: &mut Shapes<'_>,
) -> Result<Resource, SpecError> {
    let root = spec.root();
    let file = &spec.doc.path;
    let find = |t: &str, m: &str| index.find(t, m);
    let success_schema = |o: &Operation| o.success().and_then(|r| r.schema_pointer.clone());

    let name = collection
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .unwrap_or("items")
        .to_string();
    let singular = singular(&name);
    // The stored object is the one inside an envelope answer (`{"customer": {...}}`). A read
    // whose schema holds nothing but lists (its example shows one item: the spec contradicts
    // itself) describes no item, and the next source is asked.
    let item_of = |p: String| {
        let p = crate::spec::pointer::resolve_pointer(root, p);
        let p = item_envelope(root, &p, None, &singular).map_or(p, |(_, inner)| inner);
        let props = lookup(root, &p).map(|s| properties(root, s)).unwrap_or_default();
        let only_lists = !props.is_empty() && props.values().all(|s| type_has(resolve(root, s), "array"));
        (!only_lists).then_some(p)
    };
    // The representation: what a read returns, else what a create returns, else a list's items.
    let mut schema_pointer = item
        .and_then(|(t, _)| find(t, "get"))
        .and_then(success_schema)
        .and_then(&item_of);
    if schema_pointer.is_none() {
        schema_pointer = find(collection, "post").and_then(success_schema).and_then(&item_of);
    }
    if schema_pointer.is_none()
        && let Some(list) = find(collection, "get").and_then(success_schema)
    {
        schema_pointer = list_items_pointer(root, &list, &name)
            .map(|p| crate::spec::pointer::resolve_pointer(root, p))
            .map(|p| item_envelope(root, &p, None, &singular).map_or(p, |(_, inner)| inner));
    }
    let props = match schema_pointer.as_ref().and_then(|p| lookup(root, p)) {
        Some(rep) => item_properties(root, rep),
        None => Props::default(),
    };

    let ext = lookup(
        root,
        &format!("/paths/{}/x-specbox-resource", escape_pointer(collection)),
    )
    .cloned()
    .unwrap_or(Value::Null);
    let ext_ptr = format!("/paths/{}/x-specbox-resource", escape_pointer(collection));

    let item_param = item.map(|(_, p)| p.clone());
    let id_field = match ext.field("key").and_then(Value::as_str) {
        Some(declared) => declared.to_string(),
        None => key_field(&props, item_param.as_deref(), &singular),
    };
    let mut id_schema = props
        .get(&id_field)
        .map(|s| resolve(root, s).clone())
        .unwrap_or(Value::Null);
    // A key schema that shows no value of its own, and says nothing else of its look (pattern,
    // length, format), looks like the key the answers' examples show (`"id": "item_8f3a2b"` in a
    // read's example): new keys take its prefix or look.
    if let Value::Object(schema) = &mut id_schema
        && ["example", "examples", "pattern", "maxLength", "format"]
            .iter()
            .all(|k| !schema.contains_key(*k))
    {
        let answers = [
            item.and_then(|(t, _)| find(t, "get")),
            find(collection, "post"),
            find(collection, "get"),
        ];
        let shown = answers
            .into_iter()
            .flatten()
            .filter_map(|o| o.success()?.first_example(root))
            .find_map(|e| example_key(e, &id_field));
        if let Some(key) = shown {
            schema.insert("example".into(), Value::String(key.to_string()));
        }
    }
    let path_id_integer = item
        .and_then(|(t, p)| {
            find(t, "get")
                .or_else(|| find(t, "delete"))
                .and_then(|o| o.param(Location::Path, p))
        })
        .is_some_and(|p| matches!(p.coerce, crate::model::schema::Coerce::Integer));
    let integer_id = type_has(&id_schema, "integer") || (id_schema.is_null() && path_id_integer);
    let id_gen = match ext
        .field("id")
        .and_then(|v| v.as_str().or_else(|| v.field("template").and_then(Value::as_str)))
    {
        Some(t) => IdGen::Template(t.to_string()),
        None if integer_id => IdGen::Seq,
        None => id_from_schema(&id_schema),
    };

    let mut unique = Vec::new();
    for (i, u) in ext
        .field("unique")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = u.as_str().or_else(|| u.field("field").and_then(Value::as_str));
        let Some(field) = field else {
            return Err(SpecError::new(
                file,
                format!("{ext_ptr}/unique/{i}/field"),
                "a unique rule needs a field",
            ));
        };
        unique.push(UniqueRule {
            field: field.to_string(),
            case_insensitive: u.field("case_insensitive").and_then(Value::as_bool).unwrap_or(false),
            status: u
                .field("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(409),
            code: u.field("code").and_then(Value::as_str).map(str::to_string),
            message: u.field("message").and_then(Value::as_str).map(str::to_string),
        });
    }
    let field_ext = |key: &str, default: &str| -> Option<String> {
        match ext.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Bool(false)) | Some(Value::Null) if ext.get(key).is_some() => None,
            _ => props.contains_key(default).then(|| default.to_string()),
        }
    };
    // Other names for the timestamps, used when the schema says they are moments: date-times
    // (RFC 3339, or RFC 2822 where the format says so; text of no format whose example is an
    // RFC 3339 date-time, such as a `createdAt` of `2024-03-20T09:13:37+00:00`), or Unix times (`created`: an integer of
    // format `unix-time`). A `date_created` in another format keeps what the example shows.
    let stamp_named = |names: &[&str]| {
        names
            .iter()
            .find(|n| {
                props.get(n).is_some_and(|s| {
                    let s = resolve(root, s);
                    let format = s.field("format").and_then(Value::as_str).unwrap_or("");
                    format == "date-time"
                        || (format.is_empty() && type_has(s, "string") && shows_a_date_time(s))
                        || time_form(s) == TimeForm::Rfc2822
                        || (time_form(s).is_unix() && (format.contains("unix") || format.contains("timestamp")))
                })
            })
            .map(|n| n.to_string())
    };
    let created_field = field_ext("created_field", "created_at").or_else(|| {
        ext.field("created_field")
            .is_none_or(|v| v.is_string())
            .then(|| {
                stamp_named(&[
                    "createdAt",
                    "created",
                    "date_created",
                    "dateCreated",
                    "creationDate",
                    "creation_date",
                    "created_time",
                    "createdTime",
                ])
            })
            .flatten()
    });
    let updated_field = field_ext("updated_field", "updated_at").or_else(|| {
        ext.field("updated_field")
            .is_none_or(|v| v.is_string())
            .then(|| {
                stamp_named(&[
                    "updatedAt",
                    "updated",
                    "date_updated",
                    "dateUpdated",
                    "modified_at",
                    "modifiedAt",
                    "lastModified",
                    "last_modified",
                ])
            })
            .flatten()
    });

    let form_of = |field: &Option<String>| {
        field
            .as_ref()
            .and_then(|f| props.get(f.as_str()))
            .map_or(TimeForm::Text, |s| time_form(resolve(root, s)))
    };
    let schema = match &schema_pointer {
        Some(p) => Some(spec.compiler.schema(p, when)?),
        None => None,
    };
    Ok(Resource {
        references: Vec::new(),
        create_op: None,
        shared: false,
        rep_shape: schema_pointer
            .as_deref()
            .map(|p| shapes.get(p))
            .unwrap_or_else(Shape::pass_through),
        spec: index.spec_idx,
        name,
        collection: collection.to_string(),
        item_param,
        parent,
        scope_params: template_params(collection),
        id_field,
        id_gen,
        integer_id,
        schema_pointer,
        schema,
        unique,
        created_form: form_of(&created_field),
        updated_form: form_of(&updated_field),
        created_field,
        updated_field,
        archivable: ext.field("archive").and_then(Value::as_bool).unwrap_or(false),
    })
}

/// The field an item is keyed by: the one its path parameter names. `{Sid}` is `sid`,
/// `{customer_id}` on customers is `id`, `{issue_number}` on issues is `number`,
/// `{orderReference}` on orders is `reference`; names compare across styles. Without a
/// match, `id`, else the first `*_id` field.
fn key_field(props: &Props<'_>, param: Option<&str>, singular: &str) -> String {
    if props.is_empty() {
        return "id".into();
    }
    // Only a scalar can be a key.
    let scalar = |k: &String| {
        props.get(k).is_some_and(|s| {
            let t = s.field("type");
            t.is_none() || type_has(s, "string") || type_has(s, "integer")
        })
    };
    let find = |wanted: &str| {
        let folded = fold(wanted);
        props.keys().find(|k| fold(k) == folded && scalar(k)).cloned()
    };
    if let Some(p) = param {
        // The resource's own name in front of the parameter is redundant (`customer_id` → `id`).
        let folded = fold(p);
        let own = fold(singular);
        // A parameter that just names the resource (`{user}` on users): its `id` where it has one.
        if folded == own && props.contains_key("id") {
            return "id".into();
        }
        if let Some(rest) = folded.strip_prefix(own.as_str()).filter(|r| !r.is_empty())
            && let Some(k) = find(rest)
        {
            return k;
        }
        if let Some(k) = find(p) {
            return k;
        }
        // Without an `id`: the field the parameter's name ends with (`{api_key_uuid}` is `uuid`,
        // `{floating_ip}` is `ip`), the longest such.
        if !props.contains_key("id")
            && let Some(k) = props
                .keys()
                .filter(|k| fold(k).len() >= 2 && folded.ends_with(&fold(k)) && scalar(k))
                .max_by_key(|k| k.len())
        {
            return k.clone();
        }
    }
    if props.contains_key("id") {
        return "id".into();
    }
    props
        .keys()
        .find(|k| k.ends_with("_id") || k.ends_with("Id"))
        .cloned()
        .unwrap_or_else(|| "id".into())
}

/// The key `id_field` holds in an example answer: the item's own, one envelope down
/// (`{"customer": {...}}`), or a list's first item's (`{"data": [{...}]}`, or a bare list).
fn example_key<'a>(example: &'a Value, id_field: &str) -> Option<&'a str> {
    let own = |v: &'a Value| v.get(id_field).and_then(Value::as_str);
    let first = |v: &'a Value| v.as_array().and_then(|a| a.first());
    own(example).or_else(|| first(example).and_then(own)).or_else(|| {
        let members = example.as_object()?;
        members
            .values()
            .find_map(|v| if v.is_object() { own(v) } else { first(v).and_then(own) })
    })
}

fn id_from_schema(s: &Value) -> IdGen {
    if s.field("format").and_then(Value::as_str) == Some("uuid") {
        return IdGen::Uuid;
    }
    // A prefixed example (`pm_123abc`, `doc-abc123`) or pattern (`^itm_[0-9A-Za-z]+$`) keeps
    // its prefix.
    let example = s
        .field("examples")
        .and_then(|e| e.get(0))
        .or_else(|| s.field("example"))
        .and_then(Value::as_str);
    if let Some(prefix) = example.and_then(key_prefix) {
        return IdGen::Template(format!("{prefix}{{ulid}}"));
    }
    if let Some(p) = s.field("pattern").and_then(Value::as_str) {
        let lit: String = p
            .trim_start_matches('^')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if lit.ends_with('_') && lit.len() > 1 {
            return IdGen::Template(format!("{lit}{{ulid}}"));
        }
        // Any other pattern (`^AC[0-9a-fA-F]{32}$`): a random value that matches it.
        return IdGen::Generated(Box::new(s.clone()));
    }
    // Too short for a UUID (`maxLength: 32`): a random value that fits.
    if s.field("maxLength").and_then(Value::as_u64).is_some_and(|m| m < 36) {
        return IdGen::Generated(Box::new(s.clone()));
    }
    // Another format (`ipv4`, `email`): a random value of it.
    if s.field("format").and_then(Value::as_str).is_some() {
        return IdGen::Generated(Box::new(s.clone()));
    }
    // An example that is a UUID: UUIDs (whatever the schema forgot to say).
    if example.is_some_and(|e| uuid::Uuid::parse_str(e).is_ok()) {
        return IdGen::Uuid;
    }
    // An example with no pattern (`993617895204576J`): random text of the same look, where that
    // leaves room for many keys (`"1"` would give ten).
    let random = |e: &str| e.chars().filter(char::is_ascii_alphanumeric).count();
    if let Some(e) = example.filter(|e| e.chars().any(|c| c.is_ascii_digit()) && random(e) >= 8) {
        return IdGen::Like(e.to_string());
    }
    IdGen::Uuid
}

/// The prefix of a key such as `itm_Nf3rFeUfNV2Hib`, `sub_item_1Mo` or `job-run-abc123`: the
/// letters and separators (`_`, `-`) it starts with, up to the last separator among them, where
/// what follows holds a digit (`Hello-World` is a name, not a prefixed key); else what comes
/// before a first `_` (`req_abcdef`). A UUID has none.
fn key_prefix(key: &str) -> Option<&str> {
    if uuid::Uuid::parse_str(key).is_ok() {
        return None;
    }
    let lead = key
        .find(|c: char| !(c.is_ascii_alphabetic() || c == '_' || c == '-'))
        .unwrap_or(key.len());
    let starts_alpha = |p: &str| p.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if let Some(end) = key[..lead].rfind(['_', '-']).map(|i| i + 1)
        && starts_alpha(&key[..end])
        && key[end..].chars().any(|c| c.is_ascii_digit())
    {
        return Some(&key[..end]);
    }
    let (prefix, _) = key.split_once('_')?;
    (!prefix.is_empty() && prefix.chars().all(|c| c.is_ascii_alphanumeric())).then(|| &key[..=prefix.len()])
}

/// The action's name where `template` is an action on the item at `item`: one static segment
/// below it (`/things/{id}/confirm`), other than the archive and restore actions, which are
/// actions of their own.
fn item_action<'t>(template: &'t str, item: &str) -> Option<&'t str> {
    let name = template.strip_prefix(item)?.strip_prefix('/')?;
    let plain = !name.is_empty() && !name.contains(['/', '{']);
    (plain && !matches!(name, "restore" | "unarchive" | "archive")).then_some(name)
}

/// A resource's item path, as [`action_for`] reads it.
#[derive(Clone, Copy)]
struct Item<'a> {
    template: Option<&'a str>,
    /// A POST to the item path is an update (no PATCH or PUT there).
    post_updates: bool,
}

fn action_for(
    spec: &Spec,
    res: &Resource,
    res_idx: usize,
    op: &Operation,
    collection: &str,
    item: Item<'_>,
    shapes: &mut Shapes<'_>,
) -> Option<Action> {
    let Item {
        template: item,
        post_updates,
    } = item;
    let root = spec.root();
    let method = op.method.as_str();
    let declared = op_ext(root, op);
    let restore_path = item.map(|i| format!("{i}/restore"));
    let unarchive_path = item.map(|i| format!("{i}/unarchive"));
    let archive_path = item.map(|i| format!("{i}/archive"));
    let on_collection = op.path_template() == collection;
    let on_item = item.is_some_and(|i| op.path_template() == i);
    let kind = match declared {
        Some("none") => return (on_collection || on_item).then_some(Action::None),
        Some(k)
            if on_collection
                || on_item
                || restore_path.as_deref() == Some(op.path_template())
                || archive_path.as_deref() == Some(op.path_template()) =>
        {
            k
        }
        Some(_) => return None,
        None => match (method, on_collection, on_item) {
            ("POST", true, _) => "create",
            ("GET", true, _) => "list",
            ("GET", _, true) => "read",
            ("PATCH", _, true) => "update",
            ("POST", _, true) if post_updates => "update",
            ("PUT", _, true) => "replace",
            ("DELETE", _, true) => "delete",
            ("POST", false, false)
                if Some(op.path_template()) == restore_path.as_deref()
                    || Some(op.path_template()) == unarchive_path.as_deref() =>
            {
                "restore"
            }
            ("POST", false, false) if Some(op.path_template()) == archive_path.as_deref() => "archive",
            ("POST", false, false) if item.is_some_and(|i| item_action(op.path_template(), i).is_some()) => "act",
            _ => return None,
        },
    };
    let success_schema = op.success().and_then(|r| r.schema_pointer.clone());
    if declared.is_none()
        && (!answers_items(root, kind, success_schema.as_deref(), &res.name)
            || kind == "create" && is_batch(root, op, &res.name))
    {
        return Some(Action::None);
    }
    // An answer that wraps the item (`{"customer": {...}}`) is shaped as the item, then wrapped.
    let envelope = answer_envelope(root, op, res.schema_pointer.as_deref(), &res.singular());
    // What the wrapper shows beside the item in the spec's example of this answer, else the
    // fields beside it that the wrapper requires, generated (`{"kind": "...", "parent": {...},
    // "role": <the item>}` answers its `kind` and `parent` too). Only those: generating
    // the whole body would generate the item too, for nothing.
    let beside = || {
        let Some((field, _)) = &envelope else {
            return Vec::new();
        };
        if let Some(Value::Object(e)) = op.success().and_then(|r| r.first_example(root)) {
            return e
                .iter()
                .filter(|(k, _)| *k != field)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        let Some(wrapper) = success_schema.as_deref().and_then(|p| lookup(root, p)) else {
            return Vec::new();
        };
        let props = properties(root, wrapper);
        crate::model::resources::shape::required_of(root, wrapper)
            .into_iter()
            .filter(|k| k != field)
            .filter_map(|k| {
                let schema = props.get(&k)?;
                let value = crate::model::generate::generate(schema, root);
                Some((k, value))
            })
            .collect()
    };
    // The fields the answer's example shows that its item's schema does not declare, where the
    // schema leaves other members free: the answer carries them as the item holds them (the
    // item starts from the example, see `write::base_of`).
    let extras = |pointer: &str| -> Vec<String> {
        let Some(written) = lookup(root, pointer) else {
            return Vec::new();
        };
        let schema = resolve(root, written);
        let shown = op
            .success()
            .and_then(|r| r.first_example(root))
            .and_then(|e| unwrap(e, envelope.as_ref().map(|(field, _)| field.as_str())))
            .and_then(Value::as_object);
        let Some(shown) = shown.filter(|_| leaves_members_free(root, written, 0)) else {
            return Vec::new();
        };
        let declared = properties(root, schema);
        shown.keys().filter(|k| !declared.contains_key(k)).cloned().collect()
    };
    let mut shape = || match (&envelope, &success_schema) {
        (Some((field, inner)), _) => shapes
            .get(inner)
            .showing(extras(inner))
            .wrapped(Some(field.clone()), beside()),
        (None, Some(p)) => shapes.get(p).showing(extras(p)),
        (None, None) => Shape::pass_through(),
    };
    let write = || Box::<Write>::default();
    // Whether the answer is the item: its representation, or an envelope around it (a delete's
    // and an action's answer may be something else: a status object, a capture).
    let answers_the_item = || {
        envelope.is_some()
            || success_schema.as_deref().is_some_and(|p| {
                res.schema_pointer.as_deref() == Some(&crate::spec::pointer::resolve_pointer(root, p.to_string()))
            })
    };
    Some(match kind {
        "create" => Action::Create {
            res: res_idx,
            write: write(),
            shape: shape(),
        },
        "read" => Action::Read {
            res: res_idx,
            shape: shape(),
        },
        "update" => Action::Update {
            res: res_idx,
            write: write(),
            shape: shape(),
        },
        "replace" => Action::Replace {
            res: res_idx,
            write: write(),
            shape: shape(),
        },
        // A delete's answer is the deleted item only where it is the representation or wraps
        // it; a status object (`{"status": "DELETED"}`) is answered as the spec shows it.
        "delete" => Action::Delete {
            res: res_idx,
            shape: answers_the_item().then(shape),
        },
        "archive" => Action::Archive {
            res: res_idx,
            shape: shape(),
        },
        // Another action on the item (`POST /things/{id}/confirm`) whose answer is the item (or
        // wraps it) answers the item as stored, after whatever transition a lifecycle gives the
        // action: not the spec's example, an item of another key. It writes nothing of what is
        // sent (an action is no update). An answer that is created (a 201: a copy, a duplicate)
        // is another item, and any other answer (a capture, a status object) is the spec's: the
        // action then only needs its item.
        "act" => {
            if !answers_the_item() || op.success().is_some_and(|r| r.code() == 201) {
                return None;
            }
            Action::Act {
                res: res_idx,
                shape: shape(),
            }
        }
        "restore" => Action::Restore {
            res: res_idx,
            shape: shape(),
        },
        // A `GET` on a collection path whose answer holds no list (a status object) answers from
        // the spec.
        "list" => {
            let plan = list_plan(root, op, res, success_schema.as_deref(), shapes);
            let answers_a_list = success_schema.as_deref().is_none_or(|p| {
                let s = lookup(root, p).map(|s| resolve(root, s)).unwrap_or(&Value::Null);
                type_has(s, "array") || s.field("items").is_some() || plan.items_field.is_some()
            });
            if !answers_a_list {
                return Some(Action::None);
            }
            Action::List {
                res: res_idx,
                plan: Box::new(plan),
            }
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{example_key, key_prefix, shows_a_date_time};
    use serde_json::json;

    #[test]
    fn an_example_of_rfc_3339_shape_makes_a_formatless_field_a_date_time() {
        for (text, yes) in [
            ("2024-03-20T09:13:37+00:00", true),
            ("2024-03-20T09:13:37Z", true),
            ("2024-03-20t09:13:37.123456z", true),
            ("2024-03-20T09:13:37.5-07:30", true),
            ("2024-03-20T09:13:37", false),
            ("2024-03-20T09:13:37.Z", false),
            ("2024-03-20 09:13:37Z", false),
            ("2024-03-20", false),
            ("2024-03-20T09:13:37+0000", false),
            ("/Date(1552327126164)/", false),
            ("obj_j8NvRAM2WNZtsykpLEX8J", false),
        ] {
            assert_eq!(
                shows_a_date_time(&json!({"type": "string", "example": text})),
                yes,
                "{text}"
            );
        }
        assert!(!shows_a_date_time(&json!({"type": "string"})));
    }

    #[test]
    fn a_keys_prefix_is_its_leading_letters_and_separators() {
        assert_eq!(key_prefix("itm_Nf3rFeUfNV2Hib"), Some("itm_"));
        assert_eq!(key_prefix("sub_item_1MowQVLkdoddaL"), Some("sub_item_"));
        assert_eq!(key_prefix("job-run-abc123"), Some("job-run-"));
        assert_eq!(key_prefix("doc-abc123"), Some("doc-"));
        assert_eq!(key_prefix("pm_123abc"), Some("pm_"));
        assert_eq!(key_prefix("req_abcdef"), Some("req_"));
        // A name, a UUID, a number: no prefix.
        assert_eq!(key_prefix("Hello-World"), None);
        assert_eq!(key_prefix("abcdefab-1234-4321-8abc-0123456789ab"), None);
        assert_eq!(key_prefix("993617895204576J"), None);
    }

    #[test]
    fn an_examples_key_is_found_in_the_item_its_envelope_or_its_lists_first_item() {
        let item = json!({"id": "item_8f3a2b", "name": "x"});
        assert_eq!(example_key(&item, "id"), Some("item_8f3a2b"));
        assert_eq!(example_key(&json!({"thing": item}), "id"), Some("item_8f3a2b"));
        assert_eq!(
            example_key(&json!({"object": "list", "data": [item]}), "id"),
            Some("item_8f3a2b")
        );
        assert_eq!(example_key(&json!([item]), "id"), Some("item_8f3a2b"));
        assert_eq!(example_key(&json!({"id": 7}), "id"), None);
    }
}
