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

use crate::model::generate;
use crate::model::operation::{Operation, Spec, properties, template_params};
use crate::model::schema::{Compile, Location, Schema};
use crate::spec::{SpecError, escape_pointer, lookup, resolve};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What an operation does.
#[derive(Debug, Clone)]
pub enum Action {
    /// Serve the example or generated response; no state.
    None,
    Create {
        res: usize,
        write: WritePlan,
        shape: Shape,
    },
    Read {
        res: usize,
        shape: Shape,
    },
    List {
        res: usize,
        plan: Box<ListPlan>,
    },
    Update {
        res: usize,
        write: WritePlan,
        shape: Shape,
    },
    Replace {
        res: usize,
        write: WritePlan,
        shape: Shape,
    },
    Delete {
        res: usize,
        shape: Option<Shape>,
    },
    Archive {
        res: usize,
        shape: Shape,
    },
    Restore {
        res: usize,
        shape: Shape,
    },
}

impl Action {
    pub fn resource(&self) -> Option<usize> {
        match self {
            Action::None => None,
            Action::Create { res, .. }
            | Action::Read { res, .. }
            | Action::List { res, .. }
            | Action::Update { res, .. }
            | Action::Replace { res, .. }
            | Action::Delete { res, .. }
            | Action::Archive { res, .. }
            | Action::Restore { res, .. } => Some(*res),
        }
    }

    pub fn writes(&self) -> bool {
        !matches!(self, Action::None | Action::Read { .. } | Action::List { .. })
    }
}

/// How ids are made.
#[derive(Debug, Clone)]
pub enum IdGen {
    /// A template with `{ulid}`, `{uuid}` or `{seq}`.
    Template(String),
    Uuid,
    Seq,
}

/// A business-rule uniqueness constraint.
#[derive(Debug, Clone)]
pub struct UniqueRule {
    pub field: String,
    pub case_insensitive: bool,
    pub status: u16,
    pub code: Option<String>,
    pub message: Option<String>,
}

/// A resource: a collection (possibly under a parent) of objects with ids.
#[derive(Debug)]
pub struct Resource {
    pub spec: usize,
    /// Last static segment of the collection path, for messages (`invoices`).
    pub name: String,
    /// The collection template as written in the spec (the fixture key).
    pub collection: String,
    /// Name of the item path's id parameter.
    pub item_param: Option<String>,
    pub parent: Option<usize>,
    /// Path parameters of the collection template (ancestor ids), in order.
    pub scope_params: Vec<String>,
    pub id_field: String,
    pub id_gen: IdGen,
    pub integer_id: bool,
    /// The representation schema (what a read returns).
    pub schema_pointer: Option<String>,
    pub schema: Option<Schema>,
    pub unique: Vec<UniqueRule>,
    pub created_field: Option<String>,
    pub updated_field: Option<String>,
    /// DELETE archives (the spec has a restore action) rather than removes.
    pub archivable: bool,
    /// Fields that refer to other resources.
    pub references: Vec<Reference>,
    /// The operation that creates items of this resource (for inline creation by a reference).
    pub create_op: Option<usize>,
    /// The representation's shape: how items are normalised when stored.
    pub rep_shape: Shape,
}

/// A field that refers to another resource: by id, or by an inline object that is matched on a
/// unique field and created when absent (`x-specbox-resource.references`).
#[derive(Debug, Clone)]
pub struct Reference {
    pub field: String,
    /// The referenced resource (a top-level collection of the same spec).
    pub target: usize,
    /// The field an inline object is matched on; `None` refuses inline objects.
    pub match_field: Option<String>,
    /// Copy these fields of the referenced item into this object under `into`.
    pub snapshot: Option<Snapshot>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub into: String,
    pub fields: Vec<String>,
}

impl Resource {
    /// `invoices` → `invoice`, `categories` → `category`, for messages.
    pub fn singular(&self) -> String {
        let n = self.name.as_str();
        if let Some(stem) = n.strip_suffix("ies") {
            format!("{stem}y")
        } else if let Some(stem) = n.strip_suffix('s') {
            stem.to_string()
        } else {
            n.to_string()
        }
    }
}

/// Which request fields are stored.
#[derive(Debug, Clone, Default)]
pub struct WritePlan {
    /// Declared, writable properties of the request schema; `None` stores every field.
    pub fields: Option<Vec<String>>,
    /// Defaults to apply to missing fields (from the request and representation schemas).
    pub defaults: Vec<(String, Value)>,
}

/// How a stored object is shaped into a response body.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    /// Declared properties of the response schema; empty with `keep_all` = pass through.
    pub props: Vec<ShapeProp>,
    pub keep_all: bool,
    /// The schema this shape was made from: when it is the resource's representation, a stored
    /// item (normalised to it at write time) is sent as stored.
    pub pointer: Option<String>,
    /// Each property's place in `props`, by name: a body's fields come in any order, and a
    /// schema can declare dozens of properties.
    index: HashMap<String, usize, foldhash::fast::RandomState>,
}

#[derive(Debug, Clone)]
pub struct ShapeProp {
    pub name: String,
    /// `"name":`, the name as JSON text with the colon: written before every stored value.
    json_key: Box<[u8]>,
    /// Missing values read back as `null` (the schema allows it and requires the field, or
    /// allows it and the API writes explicit nulls).
    pub null_if_missing: bool,
    /// A generated value for a required field the object does not have.
    pub fill: Option<Value>,
}

impl ShapeProp {
    pub fn new(name: &str, null_if_missing: bool, fill: Option<Value>) -> ShapeProp {
        ShapeProp {
            name: name.to_string(),
            json_key: json_key(name).into_boxed_slice(),
            null_if_missing,
            fill,
        }
    }
}

/// Writes one JSON value as serde_json would. A string that needs no escaping (nearly every
/// field of nearly every item) is copied as it is instead of going through serde's escaper byte
/// by byte, which was a third of writing an item.
pub fn write_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::String(s) => write_str(out, s),
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        _ => {
            let _ = serde_json::to_writer(&mut *out, v);
        }
    }
}

/// `s` as a JSON string: copied as it is unless it has something to escape (most text has not,
/// and serde_json's escaper goes a byte at a time through a table).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    if needs_escape(s.as_bytes()) {
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Whether JSON text for `s` needs escapes (a control character, `"` or `\\`). Eight bytes at a
/// time: each lane of a word is tested at once with the usual carry tricks (a lane below 0x20;
/// a lane equal to a byte, as a zero lane of the XOR), since this scan is most of the cost of
/// writing a stored item.
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero_lane = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut words = s.chunks_exact(8);
    for word in &mut words {
        let Ok(bytes) = <[u8; 8]>::try_from(word) else {
            return true;
        };
        let x = u64::from_le_bytes(bytes);
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if control | zero_lane(x ^ (ONES * u64::from(b'"'))) | zero_lane(x ^ (ONES * u64::from(b'\\'))) != 0 {
            return true;
        }
    }
    words.remainder().iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// `"key":` as JSON text.
fn json_key(key: &str) -> Vec<u8> {
    let mut out = serde_json::to_vec(key).unwrap_or_default();
    out.push(b':');
    out
}

impl Shape {
    /// A shape that sends objects as they are (a schema without declared properties).
    pub fn pass_through() -> Shape {
        Shape {
            keep_all: true,
            ..Shape::default()
        }
    }

    /// A shape with these declared properties (made from the schema at `pointer`, if any).
    pub fn declared(props: Vec<ShapeProp>, pointer: Option<String>) -> Shape {
        let index = props.iter().enumerate().map(|(i, p)| (p.name.clone(), i)).collect();
        Shape {
            props,
            keep_all: false,
            pointer,
            index,
        }
    }

    /// Writes `obj` as JSON text ordered as the schema orders it, with what a read would fill,
    /// and the fields the schema does not declare after the declared ones, in the order they
    /// came. Returns whether there were such extra fields.
    ///
    /// The text is written straight from `obj`: stored items are only ever read back as text,
    /// so building a reordered map first (a hash and an allocation per field) bought nothing.
    pub fn write_normalized(&self, obj: &Map<String, Value>, out: &mut Vec<u8>) -> bool {
        if self.keep_all {
            let _ = serde_json::to_writer(&mut *out, obj);
            return false;
        }
        // Each field's place among the declared ones. The scan starts after the previous
        // match, so an object already in schema order (a stored item) costs one comparison per
        // field; a body in another order costs at most one pass over the declared fields each.
        let mut slots: Vec<Option<&Value>> = vec![None; self.props.len()];
        let mut extra = false;
        let mut hint = 0;
        for (k, v) in obj {
            match self.position(k, hint) {
                Some(i) => {
                    if let Some(slot) = slots.get_mut(i) {
                        *slot = Some(v);
                    }
                    hint = i + 1;
                }
                None => extra = true,
            }
        }
        let mut first = true;
        let mut field = |out: &mut Vec<u8>, key: &[u8], v: &Value| {
            out.push(if first { b'{' } else { b',' });
            first = false;
            out.extend_from_slice(key);
            write_value(out, v);
        };
        for (p, slot) in self.props.iter().zip(&slots) {
            match (slot, &p.fill) {
                (Some(v), _) => field(out, &p.json_key, v),
                (None, _) if p.null_if_missing => field(out, &p.json_key, &Value::Null),
                (None, Some(fill)) => field(out, &p.json_key, fill),
                (None, None) => {}
            }
        }
        if extra {
            for (k, v) in obj {
                if self.position(k, 0).is_none() {
                    field(out, &json_key(k), v);
                }
            }
        }
        if first {
            out.push(b'{');
        }
        out.push(b'}');
        extra
    }

    /// The index of the declared field `name`; `hint`, where the next field in schema order
    /// would be, is tried first (an object already in schema order costs one comparison a field).
    fn position(&self, name: &str, hint: usize) -> Option<usize> {
        if self.props.get(hint).is_some_and(|p| p.name == name) {
            return Some(hint);
        }
        self.index.get(name).copied()
    }

    pub fn apply(&self, item: &Value) -> Value {
        let Some(obj) = item.as_object() else {
            return item.clone();
        };
        if self.keep_all {
            return item.clone();
        }
        let mut out = Map::with_capacity(self.props.len());
        for p in &self.props {
            match obj.get(&p.name) {
                Some(v) => {
                    out.insert(p.name.clone(), v.clone());
                }
                None if p.null_if_missing => {
                    out.insert(p.name.clone(), Value::Null);
                }
                None => {
                    if let Some(fill) = &p.fill {
                        out.insert(p.name.clone(), fill.clone());
                    }
                }
            }
        }
        Value::Object(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `limit` + `after`/`before` cursors.
    Cursor,
    /// `page` + `per_page`.
    Page,
    /// `offset` + `limit`.
    Offset,
    /// Just a `limit` (the first N), or nothing: the whole list.
    First,
}

/// What one envelope field of a list response carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvField {
    StartCursor,
    EndCursor,
    HasNext,
    HasPrevious,
    HasMore,
    Page,
    PerPage,
    Total,
    TotalPages,
    Offset,
    Limit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    Exact,
    Contains,
    Prefix,
    Gte,
    Lte,
}

#[derive(Debug, Clone)]
pub struct Filter {
    pub param: String,
    pub field: String,
    pub kind: MatchKind,
    pub case_insensitive: bool,
}

/// How a list operation pages, filters and shapes.
#[derive(Debug, Clone)]
pub struct ListPlan {
    pub style: Style,
    /// The array property of the envelope; `None` when the response is a bare array.
    pub items_field: Option<String>,
    pub limit_param: Option<String>,
    pub after_param: Option<String>,
    pub before_param: Option<String>,
    pub page_param: Option<String>,
    pub offset_param: Option<String>,
    pub default_limit: usize,
    pub max_limit: Option<usize>,
    pub envelope: Vec<(String, EnvField)>,
    /// Other required envelope fields, with a generated value.
    pub envelope_fill: Vec<(String, Value)>,
    pub filters: Vec<Filter>,
    pub item_shape: Shape,
}

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
    items: HashMap<&'a str, &'a str>,
}

impl<'a> SpecOps<'a> {
    fn new(ops: &'a [Operation], spec_idx: usize) -> Self {
        let mut templates = Vec::new();
        let mut by_template: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut items = HashMap::new();
        for (i, op) in ops.iter().enumerate().filter(|(_, o)| o.spec == spec_idx) {
            let t = op.template.as_str();
            let list = by_template.entry(t).or_default();
            if list.is_empty() {
                templates.push(t);
                // `t` is an item path of `parent` when its last segment is a single parameter.
                if let Some((parent, seg)) = t.rsplit_once('/')
                    && is_single_param(seg)
                {
                    items.entry(parent).or_insert(t);
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
                .get(t)
                .map(|it| (it.to_string(), template_params(it).pop().unwrap_or_default()));
            let explicit = index.on(t).any(|(_, o)| op_ext(root, o).is_some_and(|a| a != "none"));
            // `POST /x/{id}/restore` alone (no GET, no items below) is an action on an item,
            // not a sub-collection.
            let action_on_item = item.is_none()
                && !index.has(t, "get")
                && t.rsplit_once('/')
                    .is_some_and(|(parent, _)| last_segment_is_param(parent));
            if explicit || (!action_on_item && (item.is_some() || index.has(t, "post"))) {
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
                .filter_map(|(i, _)| child_prefixes.get(&collection[..=i]).copied())
                .max_by_key(|r| resources[*r].collection.len());
            match build_resource(spec, &index, collection, item.as_ref(), parent, when, &mut shapes) {
                Ok(r) => {
                    if let Some(ip) = &r.item_param {
                        child_prefixes.insert(format!("{}/{{{ip}}}/", r.collection), res_idx);
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
            }
            for t in &on_paths {
                for (i, op) in index.on(t) {
                    if let Some(a) = action_for(spec, &resources[res_idx], res_idx, op, collection, item_t, &mut shapes)
                    {
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
    if errors.is_empty() { Ok(resources) } else { Err(errors) }
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
            let field = raw.get("field").and_then(Value::as_str);
            let target = raw.get("collection").and_then(Value::as_str);
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
            let snapshot = raw.get("snapshot").and_then(|s| {
                Some(Snapshot {
                    into: s.get("into")?.as_str()?.to_string(),
                    fields: s
                        .get("fields")?
                        .as_array()?
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect(),
                })
            });
            if raw.get("snapshot").is_some() && snapshot.is_none() {
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
                match_field: raw.get("match").and_then(Value::as_str).map(str::to_string),
                snapshot,
            });
        }
        resources[idx].references = refs;
    }
}

fn last_segment_is_param(t: &str) -> bool {
    t.rsplit('/')
        .next()
        .is_some_and(|s| s.starts_with('{') && s.ends_with('}'))
}

fn is_single_param(seg: &str) -> bool {
    seg.starts_with('{') && seg.ends_with('}') && seg.matches('{').count() == 1 && !seg.contains('/')
}

fn op_ext<'a>(root: &'a Value, op: &Operation) -> Option<&'a str> {
    lookup(root, &op.pointer)?.get("x-specbox-action")?.as_str()
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

    // The representation: what a read returns, else what a create returns, else a list's items.
    let mut schema_pointer = item.and_then(|(t, _)| find(t, "get")).and_then(success_schema);
    if schema_pointer.is_none() {
        schema_pointer = find(collection, "post").and_then(success_schema);
    }
    if schema_pointer.is_none()
        && let Some(list) = find(collection, "get").and_then(success_schema)
    {
        schema_pointer = list_items_pointer(root, &list);
    }
    let schema_pointer = schema_pointer.map(|p| crate::spec::resolve_pointer(root, p));
    let rep = schema_pointer
        .as_ref()
        .and_then(|p| lookup(root, p))
        .cloned()
        .unwrap_or(Value::Null);
    let props = properties(root, &rep);

    let ext = lookup(
        root,
        &format!("/paths/{}/x-specbox-resource", escape_pointer(collection)),
    )
    .cloned()
    .unwrap_or(Value::Null);
    let ext_ptr = format!("/paths/{}/x-specbox-resource", escape_pointer(collection));

    let item_param = item.map(|(_, p)| p.clone());
    let id_field = if props.contains_key("id") || props.is_empty() {
        "id".to_string()
    } else if let Some(p) = item_param.as_ref().filter(|p| props.contains_key(*p)) {
        p.clone()
    } else {
        props
            .keys()
            .find(|k| k.ends_with("_id") || k.ends_with("Id"))
            .cloned()
            .unwrap_or_else(|| "id".into())
    };
    let id_schema = props
        .get(&id_field)
        .map(|s| resolve(root, s).clone())
        .unwrap_or(Value::Null);
    let path_id_integer = item
        .and_then(|(t, p)| {
            find(t, "get")
                .or_else(|| find(t, "delete"))
                .and_then(|o| o.param(Location::Path, p))
        })
        .is_some_and(|p| matches!(p.coerce, crate::model::schema::Coerce::Integer));
    let integer_id = type_has(&id_schema, "integer") || (id_schema.is_null() && path_id_integer);
    let id_gen = match ext
        .get("id")
        .and_then(|v| v.as_str().or_else(|| v.get("template").and_then(Value::as_str)))
    {
        Some(t) => IdGen::Template(t.to_string()),
        None if integer_id => IdGen::Seq,
        None => id_from_schema(&id_schema),
    };

    let mut unique = Vec::new();
    for (i, u) in ext
        .get("unique")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let field = u.as_str().or_else(|| u.get("field").and_then(Value::as_str));
        let Some(field) = field else {
            return Err(SpecError::new(
                file,
                format!("{ext_ptr}/unique/{i}/field"),
                "a unique rule needs a field",
            ));
        };
        unique.push(UniqueRule {
            field: field.to_string(),
            case_insensitive: u.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false),
            status: u
                .get("status")
                .and_then(Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(409),
            code: u.get("code").and_then(Value::as_str).map(str::to_string),
            message: u.get("message").and_then(Value::as_str).map(str::to_string),
        });
    }
    let field_ext = |key: &str, default: &str| -> Option<String> {
        match ext.get(key) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Bool(false)) | Some(Value::Null) if ext.get(key).is_some() => None,
            _ => props.contains_key(default).then(|| default.to_string()),
        }
    };
    let created_field = field_ext("created_field", "created_at");
    let updated_field = field_ext("updated_field", "updated_at");

    let name = collection
        .rsplit('/')
        .find(|s| !s.is_empty() && !s.starts_with('{'))
        .unwrap_or("items")
        .to_string();
    let schema = match &schema_pointer {
        Some(p) => Some(spec.compiler.schema(p, when)?),
        None => None,
    };
    Ok(Resource {
        references: Vec::new(),
        create_op: None,
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
        created_field,
        updated_field,
        archivable: ext.get("archive").and_then(Value::as_bool).unwrap_or(false),
    })
}

fn type_has(schema: &Value, t: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(a)) => a.iter().any(|x| x == t),
        _ => false,
    }
}

fn id_from_schema(s: &Value) -> IdGen {
    if s.get("format").and_then(Value::as_str) == Some("uuid") {
        return IdGen::Uuid;
    }
    // A prefixed example (`pm_123abc`) or pattern (`^cus_[0-9A-Za-z]+$`) keeps its prefix.
    let example = s
        .get("examples")
        .and_then(|e| e.get(0))
        .or_else(|| s.get("example"))
        .and_then(Value::as_str);
    if let Some((prefix, _)) = example.and_then(|e| e.split_once('_'))
        && !prefix.is_empty()
        && prefix.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return IdGen::Template(format!("{prefix}_{{ulid}}"));
    }
    if let Some(p) = s.get("pattern").and_then(Value::as_str) {
        let lit: String = p
            .trim_start_matches('^')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if lit.ends_with('_') && lit.len() > 1 {
            return IdGen::Template(format!("{lit}{{ulid}}"));
        }
    }
    IdGen::Uuid
}

/// The pointer of a list response's item schema (the items of the array or of its array property).
fn list_items_pointer(root: &Value, list_ptr: &str) -> Option<String> {
    let list_ptr = crate::spec::resolve_pointer(root, list_ptr.to_string());
    let s = lookup(root, &list_ptr)?;
    if type_has(s, "array") || s.get("items").is_some() {
        return Some(crate::spec::resolve_pointer(root, format!("{list_ptr}/items")));
    }
    let field = items_field(root, s, None)?;
    let prop_ptr = crate::spec::resolve_pointer(root, format!("{list_ptr}/properties/{}", escape_pointer(&field)));
    Some(crate::spec::resolve_pointer(root, format!("{prop_ptr}/items")))
}

/// The array property of a list envelope: declared, else `data`/`items`/`results`/..., else the only array.
fn items_field(root: &Value, envelope: &Value, declared: Option<&str>) -> Option<String> {
    if let Some(d) = declared {
        return Some(d.to_string());
    }
    let props = properties(root, envelope);
    let arrays: Vec<&String> = props
        .iter()
        .filter(|(_, v)| type_has(resolve(root, v), "array"))
        .map(|(k, _)| k)
        .collect();
    for name in [
        "data", "items", "results", "records", "entries", "list", "values", "content",
    ] {
        if arrays.iter().any(|a| *a == name) {
            return Some(name.to_string());
        }
    }
    match arrays.as_slice() {
        [only] => Some((*only).clone()),
        _ => None,
    }
}

fn action_for(
    spec: &Spec,
    res: &Resource,
    res_idx: usize,
    op: &Operation,
    collection: &str,
    item: Option<&str>,
    shapes: &mut Shapes<'_>,
) -> Option<Action> {
    let root = spec.root();
    let method = op.method.as_str();
    let declared = op_ext(root, op);
    let restore_path = item.map(|i| format!("{i}/restore"));
    let unarchive_path = item.map(|i| format!("{i}/unarchive"));
    let archive_path = item.map(|i| format!("{i}/archive"));
    let on_collection = op.template == collection;
    let on_item = item.is_some_and(|i| op.template == i);
    let kind = match declared {
        Some("none") => return (on_collection || on_item).then_some(Action::None),
        Some(k)
            if on_collection
                || on_item
                || restore_path.as_deref() == Some(&op.template)
                || archive_path.as_deref() == Some(&op.template) =>
        {
            k
        }
        Some(_) => return None,
        None => match (method, on_collection, on_item) {
            ("POST", true, _) => "create",
            ("GET", true, _) => "list",
            ("GET", _, true) => "read",
            ("PATCH", _, true) => "update",
            ("PUT", _, true) => "replace",
            ("DELETE", _, true) => "delete",
            ("POST", false, false)
                if Some(op.template.as_str()) == restore_path.as_deref()
                    || Some(op.template.as_str()) == unarchive_path.as_deref() =>
            {
                "restore"
            }
            ("POST", false, false) if Some(op.template.as_str()) == archive_path.as_deref() => "archive",
            _ => return None,
        },
    };
    let success_schema = op.success().and_then(|r| r.schema_pointer.clone());
    let mut shape = || {
        success_schema
            .as_ref()
            .map(|p| shapes.get(p))
            .unwrap_or_else(Shape::pass_through)
    };
    let write = || write_plan(root, op, res);
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
        "delete" => Action::Delete {
            res: res_idx,
            shape: success_schema.as_ref().map(|p| shapes.get(p)),
        },
        "archive" => Action::Archive {
            res: res_idx,
            shape: shape(),
        },
        "restore" => Action::Restore {
            res: res_idx,
            shape: shape(),
        },
        "list" => Action::List {
            res: res_idx,
            plan: Box::new(list_plan(root, op, res, success_schema.as_deref(), shapes)),
        },
        _ => return None,
    })
}

/// [`shape_for`], computed once per schema pointer of a spec: a resource's representation is
/// shaped for its reads, writes and lists alike, and each time the example generator runs for
/// every required field.
struct Shapes<'a> {
    root: &'a Value,
    known: HashMap<String, Shape>,
}

impl Shapes<'_> {
    fn get(&mut self, pointer: &str) -> Shape {
        if let Some(known) = self.known.get(pointer) {
            return known.clone();
        }
        let shape = shape_for(self.root, pointer);
        self.known.insert(pointer.to_string(), shape.clone());
        shape
    }
}

/// How a response schema shapes a stored object.
pub fn shape_for(root: &Value, pointer: &str) -> Shape {
    let schema = lookup(root, pointer).map(|s| resolve(root, s)).unwrap_or(&Value::Null);
    let props = properties(root, schema);
    if props.is_empty() {
        return Shape::pass_through();
    }
    let required: Vec<String> = required_of(root, schema);
    let props = props
        .iter()
        .map(|(name, s)| {
            let is_required = required.contains(name);
            let nullable = allows_null(root, s);
            ShapeProp::new(
                name,
                nullable && is_required,
                (is_required && !nullable).then(|| generate::generate(s, root)),
            )
        })
        .collect();
    Shape::declared(props, Some(pointer.to_string()))
}

fn required_of(root: &Value, schema: &Value) -> Vec<String> {
    let s = resolve(root, schema);
    let mut out: Vec<String> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    for part in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
        out.extend(required_of(root, part));
    }
    out
}

/// Whether `null` is a valid value for the schema (type array with null, a null branch, ...).
pub fn allows_null(root: &Value, schema: &Value) -> bool {
    let s = resolve(root, schema);
    if type_has(s, "null") {
        return true;
    }
    for key in ["anyOf", "oneOf"] {
        if s.get(key)
            .and_then(Value::as_array)
            .is_some_and(|b| b.iter().any(|x| allows_null(root, x)))
        {
            return true;
        }
    }
    false
}

fn write_plan(root: &Value, op: &Operation, res: &Resource) -> WritePlan {
    let body_schema = op
        .body
        .as_ref()
        .and_then(|b| b.media.iter().find(|m| m.is_json()).or_else(|| b.media.first()))
        .and_then(|m| m.schema_pointer.as_ref())
        .and_then(|p| lookup(root, p));
    let mut defaults = Vec::new();
    let fields = body_schema.and_then(|s| {
        let props = properties(root, s);
        for (k, v) in &props {
            if let Some(d) = resolve(root, v).get("default") {
                defaults.push((k.clone(), d.clone()));
            }
        }
        let writable: Vec<String> = props
            .iter()
            .filter(|(_, v)| resolve(root, v).get("readOnly") != Some(&Value::Bool(true)))
            .map(|(k, _)| k.clone())
            .collect();
        // A free-form body (no declared properties) stores whatever it is given.
        (!props.is_empty()).then_some(writable)
    });
    if let Some(rep) = res.schema_pointer.as_ref().and_then(|p| lookup(root, p)) {
        for (k, v) in properties(root, rep) {
            let s = resolve(root, &v);
            if let Some(d) = s.get("default")
                && !defaults.iter().any(|(n, _)| *n == k)
                && s.get("readOnly") != Some(&Value::Bool(true))
            {
                defaults.push((k, d.clone()));
            }
        }
    }
    WritePlan { fields, defaults }
}

fn list_plan(
    root: &Value,
    op: &Operation,
    res: &Resource,
    schema_ptr: Option<&str>,
    shapes: &mut Shapes<'_>,
) -> ListPlan {
    let ext = lookup(root, &op.pointer)
        .and_then(|o| o.get("x-specbox-pagination"))
        .cloned()
        .unwrap_or(Value::Null);
    let ext_str = |k: &str| ext.get(k).and_then(Value::as_str).map(str::to_string);
    let query: Vec<&str> = op
        .params
        .iter()
        .filter(|p| p.location == Location::Query)
        .map(|p| p.name.as_str())
        .collect();
    let has = |n: &str| query.contains(&n);
    let pick = |declared: Option<String>, names: &[&str]| {
        declared.or_else(|| names.iter().find(|n| has(n)).map(|n| n.to_string()))
    };

    let after_param = pick(
        ext_str("after"),
        &["after", "starting_after", "cursor", "page_token", "pageToken", "next"],
    );
    let before_param = pick(ext_str("before"), &["before", "ending_before"]);
    let page_param = pick(ext_str("page"), &["page", "page_number"]);
    let offset_param = pick(ext_str("offset"), &["offset", "skip"]);
    let limit_param = pick(
        ext_str("limit").or_else(|| ext_str("per_page")),
        if page_param.is_some() {
            &["per_page", "page_size", "pageSize", "limit", "size"]
        } else {
            &["limit", "per_page", "page_size", "pageSize", "size", "count"]
        },
    );
    let style = match ext_str("style").as_deref() {
        Some("cursor") => Style::Cursor,
        Some("page") => Style::Page,
        Some("offset") => Style::Offset,
        Some(_) => Style::First,
        None if after_param.is_some() || before_param.is_some() => Style::Cursor,
        None if page_param.is_some() => Style::Page,
        None if offset_param.is_some() => Style::Offset,
        None => Style::First,
    };
    let limit_schema = limit_param
        .as_ref()
        .and_then(|n| op.param(Location::Query, n))
        .and_then(|p| p.schema_pointer.as_ref())
        .and_then(|p| lookup(root, p))
        .map(|s| resolve(root, s));
    let default_limit = limit_schema
        .and_then(|s| s.get("default"))
        .and_then(Value::as_u64)
        .map_or(if limit_param.is_some() { 20 } else { usize::MAX }, |d| d as usize);
    let max_limit = limit_schema
        .and_then(|s| s.get("maximum"))
        .and_then(Value::as_u64)
        .map(|m| m as usize);

    let envelope_schema = schema_ptr
        .and_then(|p| lookup(root, p))
        .map(|s| resolve(root, s))
        .unwrap_or(&Value::Null);
    let bare = type_has(envelope_schema, "array");
    let items_field = if bare {
        None
    } else {
        items_field(root, envelope_schema, ext_str("items").as_deref())
    };
    let item_ptr = schema_ptr.and_then(|p| list_items_pointer(root, p));
    let item_shape = item_ptr
        .as_deref()
        .or(res.schema_pointer.as_deref())
        .map(|p| shapes.get(p))
        .unwrap_or_else(Shape::pass_through);

    let mut envelope = Vec::new();
    let mut envelope_fill = Vec::new();
    if !bare {
        let required = required_of(root, envelope_schema);
        for (name, s) in properties(root, envelope_schema) {
            if Some(&name) == items_field.as_ref() {
                continue;
            }
            let field = match name.as_str() {
                "start_cursor" | "startCursor" | "prev_cursor" | "previous_cursor" | "before_cursor" => {
                    Some(EnvField::StartCursor)
                }
                "end_cursor" | "endCursor" | "next_cursor" | "nextCursor" | "after_cursor" | "next_page_token"
                | "nextPageToken" | "cursor" => Some(EnvField::EndCursor),
                "has_next_page" | "hasNextPage" | "has_next" => Some(EnvField::HasNext),
                "has_previous_page" | "hasPreviousPage" | "has_prev" | "has_previous" => Some(EnvField::HasPrevious),
                "has_more" | "hasMore" | "more" => Some(EnvField::HasMore),
                "page" | "page_number" | "current_page" => Some(EnvField::Page),
                "per_page" | "page_size" | "pageSize" | "perPage" => Some(EnvField::PerPage),
                "total_count" | "total" | "totalCount" | "count" | "total_items" | "totalItems" => {
                    Some(EnvField::Total)
                }
                "total_pages" | "totalPages" | "pages" => Some(EnvField::TotalPages),
                "offset" | "skip" => Some(EnvField::Offset),
                "limit" => Some(EnvField::Limit),
                _ => None,
            };
            match field {
                Some(f) => envelope.push((name, f)),
                None if required.contains(&name) => envelope_fill.push((name.clone(), generate::generate(&s, root))),
                None => {}
            }
        }
    }

    let paging: Vec<Option<&String>> = vec![
        limit_param.as_ref(),
        after_param.as_ref(),
        before_param.as_ref(),
        page_param.as_ref(),
        offset_param.as_ref(),
    ];
    let rep_props = res
        .schema_pointer
        .as_ref()
        .and_then(|p| lookup(root, p))
        .map(|s| properties(root, s))
        .unwrap_or_default();
    let mut filters = Vec::new();
    for p in op.params.iter().filter(|p| p.location == Location::Query) {
        if paging.contains(&Some(&p.name)) {
            continue;
        }
        let ext = p.raw.get("x-specbox-filter");
        if ext == Some(&Value::Bool(false)) {
            continue;
        }
        let ext_kind = ext
            .and_then(|e| e.get("match"))
            .and_then(Value::as_str)
            .map(|m| match m {
                "contains" => MatchKind::Contains,
                "prefix" => MatchKind::Prefix,
                "gte" => MatchKind::Gte,
                "lte" => MatchKind::Lte,
                _ => MatchKind::Exact,
            });
        let ci = ext
            .and_then(|e| e.get("case_insensitive"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let ext_field = ext
            .and_then(|e| e.get("field"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let (field, kind) = if let Some(f) = ext_field {
            (f, ext_kind.unwrap_or(MatchKind::Exact))
        } else if rep_props.contains_key(&p.name) {
            (p.name.clone(), ext_kind.unwrap_or(MatchKind::Exact))
        } else if let Some((f, k)) = range_filter(&p.name, &rep_props) {
            (f, ext_kind.unwrap_or(k))
        } else if ext.is_some() {
            (p.name.clone(), ext_kind.unwrap_or(MatchKind::Exact))
        } else {
            continue;
        };
        filters.push(Filter {
            param: p.name.clone(),
            field,
            kind,
            case_insensitive: ci,
        });
    }

    ListPlan {
        style,
        items_field,
        limit_param,
        after_param,
        before_param,
        page_param,
        offset_param,
        default_limit,
        max_limit,
        envelope,
        envelope_fill,
        filters,
        item_shape,
    }
}

/// `created_at_start` → (`created_at`, Gte); `_end`/`_from`/`_to`/`_gte`/`_lte`/`_after`/`_before` likewise.
fn range_filter(name: &str, props: &Map<String, Value>) -> Option<(String, MatchKind)> {
    for (suffix, kind) in [
        ("_start", MatchKind::Gte),
        ("_from", MatchKind::Gte),
        ("_gte", MatchKind::Gte),
        ("_after", MatchKind::Gte),
        ("_end", MatchKind::Lte),
        ("_to", MatchKind::Lte),
        ("_lte", MatchKind::Lte),
        ("_before", MatchKind::Lte),
    ] {
        if let Some(field) = name.strip_suffix(suffix)
            && props.contains_key(field)
        {
            return Some((field.to_string(), kind));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape() -> Shape {
        let prop = ShapeProp::new;
        Shape::declared(
            vec![
                prop("id", false, None),
                prop("name", false, Some(json!("filled"))),
                prop("note", true, None),
                prop("email", false, None),
            ],
            Some("/components/schemas/Thing".into()),
        )
    }

    fn written(shape: &Shape, obj: Value) -> (String, bool) {
        let mut out = Vec::new();
        let extra = shape.write_normalized(obj.as_object().unwrap(), &mut out);
        (String::from_utf8(out).unwrap(), extra)
    }

    #[test]
    fn needs_escape_finds_every_byte_json_escapes_in_any_lane() {
        for len in 0..20 {
            let plain = "a".repeat(len);
            assert!(!needs_escape(plain.as_bytes()), "{plain:?}");
            for at in 0..len {
                for bad in [b'"', b'\\', 0x00, 0x01, 0x1f] {
                    let mut bytes = plain.clone().into_bytes();
                    bytes[at] = bad;
                    assert!(needs_escape(&bytes), "{bytes:?}");
                }
                // Near misses: the bytes around the special ones, and UTF-8 continuation bytes.
                for fine in [b' ', b'!', b'#', b'[', b']', 0x7f, 0x80, 0xff] {
                    let mut bytes = plain.clone().into_bytes();
                    bytes[at] = fine;
                    assert!(!needs_escape(&bytes), "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn write_value_writes_what_serde_json_writes() {
        for v in [
            json!("plain"),
            json!(""),
            json!("quote \" and backslash \\"),
            json!("tab\tnewline\n\u{1} and \u{7f}"),
            json!("naïve – 東京 \u{2028}"),
            json!(null),
            json!(12.5),
            json!(-3),
            json!(true),
            json!(false),
            json!({"a": ["b", {"c": "d\"e"}]}),
        ] {
            let mut out = Vec::new();
            write_value(&mut out, &v);
            assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&v).unwrap());
        }
    }

    #[test]
    fn write_normalized_orders_fills_and_keeps_extras_in_their_order() {
        let s = shape();
        // Out of order, with two undeclared fields: declared first (schema order), missing
        // required ones filled or null, then the extras as they came.
        let (text, extra) = written(&s, json!({"zeta": 1, "email": "a@b.c", "id": "x1", "alpha": [2]}));
        assert_eq!(
            text,
            r#"{"id":"x1","name":"filled","note":null,"email":"a@b.c","zeta":1,"alpha":[2]}"#
        );
        assert!(extra);
        // Already in order, nothing extra.
        let (text, extra) = written(&s, json!({"id": 7, "name": "n", "note": "t", "email": null}));
        assert_eq!(text, r#"{"id":7,"name":"n","note":"t","email":null}"#);
        assert!(!extra);
        // Keys that need escaping, and an empty result.
        let empty = Shape::declared(Vec::new(), None);
        assert_eq!(written(&empty, json!({})), ("{}".to_string(), false));
        assert_eq!(written(&empty, json!({"a\"b": 1})), (r#"{"a\"b":1}"#.to_string(), true));
        // A free-form schema keeps the object as it is.
        let (text, extra) = written(&Shape::pass_through(), json!({"b": 1, "a": 2}));
        assert_eq!((text.as_str(), extra), (r#"{"b":1,"a":2}"#, false));
    }
}
