//! Webhooks and callbacks, compiled: what specbox sends, when, and where the changed object goes.
//!
//! Sources: OpenAPI 3.1 `webhooks` (of any loaded document: a document that holds only webhooks
//! serves the API specs beside it) and `callbacks` on operations (3.0 and 3.1). Each becomes a
//! [`Hook`] holding everything a delivery needs, so the delivery side never looks at a spec: the
//! body's template (its example, else one generated from its schema), its schema (to validate
//! the payload), the places in the body where a resource's object goes, and its signature.
//!
//! When a webhook fires is decided here, once: from `x-specbox-event` on the webhook operation,
//! else from its name (`balancePlatform.accountHolder.created` fires after a create in the resource
//! whose singular name is `accountHolder`). [`Hooks::by_op`] lists, per operation, the hooks a
//! successful answer sets off, so a request whose operation fires nothing pays one index look-up.

use crate::model::lifecycle::Lifecycle;
use crate::model::operation::{Operation, Spec, join_route};
use crate::model::resources::plan::{Action, Resource};
use crate::model::schema::Schema;
use crate::model::{generate, operation};
use crate::spec::error::SpecError;
use crate::spec::pointer::{
    escape_pointer, lookup, operations, resolve, resolve_pointer_of, resolve_schema_pointer_of,
};
use hyper::Method;
use serde_json::Value;
use std::sync::Arc;

/// What changed an object: the verbs of `x-specbox-event.on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    Create,
    Update,
    Delete,
    Archive,
    Restore,
    /// A lifecycle transition (`x-specbox-lifecycle`), by an operation or the sandbox clock.
    Transition,
}

impl On {
    pub fn parse(s: &str) -> Option<On> {
        Some(match s {
            "create" | "created" => On::Create,
            "update" | "updated" => On::Update,
            "delete" | "deleted" => On::Delete,
            "archive" | "archived" => On::Archive,
            "restore" | "restored" => On::Restore,
            "transition" => On::Transition,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            On::Create => "create",
            On::Update => "update",
            On::Delete => "delete",
            On::Archive => "archive",
            On::Restore => "restore",
            On::Transition => "transition",
        }
    }

    /// What an operation's action does, as an event verb. A `DELETE` that archives (the resource
    /// can be restored) is both an archive and, to a client, a delete.
    fn of(op: &Operation) -> Vec<(On, usize)> {
        match &op.action {
            Action::Create { res, .. } => vec![(On::Create, *res)],
            Action::Update { res, .. } | Action::Replace { res, .. } => vec![(On::Update, *res)],
            Action::Delete { res, .. } => vec![(On::Delete, *res)],
            Action::Archive { res, .. } if op.method == Method::DELETE => {
                vec![(On::Archive, *res), (On::Delete, *res)]
            }
            Action::Archive { res, .. } => vec![(On::Archive, *res)],
            Action::Restore { res, .. } => vec![(On::Restore, *res)],
            Action::None | Action::Read { .. } | Action::List { .. } | Action::Act { .. } => Vec::new(),
        }
    }
}

/// When a webhook fires: after `on` in resource `res` (into state `to`, for transitions).
#[derive(Debug, Clone)]
pub struct Trigger {
    pub on: On,
    pub res: usize,
    pub to: Option<String>,
    /// Declared with `x-specbox-event` (else inferred from the webhook's name).
    pub declared: bool,
}

/// How a delivery is signed (`x-specbox-signature`), keyed with the subscription's secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The header that carries it.
    pub header: String,
    /// What is signed: `{body}` (the default), or a template such as `{timestamp}.{body}`.
    pub over: String,
    pub base64: bool,
    /// The header's value: `{signature}` (the default), or e.g. `t={timestamp},v1={signature}`.
    pub format: String,
}

/// Whether a hook is a webhook (sent to subscribers) or a callback (sent where the request said).
#[derive(Debug, Clone)]
pub enum Kind {
    Webhook,
    /// The callback's URL: a runtime expression (`{$request.body#/callbackUrl}`).
    Callback {
        url: String,
    },
}

/// A webhook or a callback, ready to be sent.
pub struct Hook {
    /// The webhook's name (without a leading `/`), or the callback's.
    pub name: String,
    pub kind: Kind,
    pub method: Method,
    pub spec: usize,
    /// JSON pointer of the hook's operation (for messages).
    pub pointer: String,
    pub content_type: String,
    /// The body before the changed object, ids and times go in.
    pub template: Option<Value>,
    pub schema: Option<Schema>,
    /// The document its pointers refer to (the spec's: replaced with it when startup cuts it to
    /// what requests read, see [`crate::model::keep`]).
    pub root: arc_swap::ArcSwap<Value>,
    /// Where each resource's object goes in the body (a JSON pointer; empty: the whole body).
    pub object_at: Vec<(usize, String)>,
    pub signature: Option<Signature>,
    pub triggers: Vec<Trigger>,
    /// `x-specbox-event.set`: places in the body (JSON pointers) and what goes there, with
    /// `{/pointer}` standing for a value of the changed object (`{/reference}`).
    pub set: Vec<(String, Value)>,
}

impl Hook {
    pub fn is_callback(&self) -> bool {
        matches!(self.kind, Kind::Callback { .. })
    }

    /// A body generated from the schema (for when the example does not fit the schema).
    pub fn generated(&self) -> Option<Value> {
        let root = self.root.load();
        let schema = lookup(&root, &self.schema.as_ref()?.pointer)?;
        Some(generate::generate(schema, &root))
    }

    /// Where `res`'s object goes in this hook's body.
    pub fn object_pointer(&self, res: usize) -> Option<&str> {
        self.object_at.iter().find(|(r, _)| *r == res).map(|(_, p)| p.as_str())
    }
}

/// Every webhook and callback, and which operations set them off.
#[derive(Default)]
pub struct Hooks {
    pub webhooks: Vec<Arc<Hook>>,
    /// By operation index: the webhooks its successful answer fires, then its callbacks. Shared,
    /// so a request hands the list to the delivery side with one reference count.
    pub by_op: Vec<Arc<[Arc<Hook>]>>,
}

impl Hooks {
    /// Every hook: the webhooks, then each operation's (a webhook comes again there).
    pub fn every(&self) -> impl Iterator<Item = &Arc<Hook>> {
        self.webhooks.iter().chain(self.by_op.iter().flat_map(|h| h.iter()))
    }

    /// The hooks operation `op` sets off (none: an empty slice).
    pub fn for_op(&self, op: usize) -> Option<&Arc<[Arc<Hook>]>> {
        self.by_op.get(op).filter(|h| !h.is_empty())
    }

    /// The webhooks a transition of resource `res` into state `to` fires (the sandbox clock's
    /// transitions, which have no operation).
    pub fn for_transition(&self, res: usize, to: &str) -> Vec<Arc<Hook>> {
        self.webhooks
            .iter()
            .filter(|w| {
                w.triggers
                    .iter()
                    .any(|t| t.on == On::Transition && t.res == res && t.to.as_deref().is_none_or(|s| s == to))
            })
            .cloned()
            .collect()
    }

    /// A webhook by name (a leading `/`, as some specs write webhook names, may be left out).
    pub fn webhook(&self, name: &str) -> Option<&Arc<Hook>> {
        let name = name.trim_start_matches('/');
        self.webhooks.iter().find(|h| h.name == name)
    }

    /// Compiles every spec's webhooks and every operation's callbacks, and marks the operations
    /// that fire something (`Operation::fires`).
    pub fn build(
        specs: &[Spec],
        ops: &mut [Operation],
        resources: &[Resource],
        lifecycles: &[Lifecycle],
    ) -> Result<Hooks, Vec<SpecError>> {
        let mut errors = Vec::new();
        let mut webhooks = Vec::new();
        for (spec_idx, spec) in specs.iter().enumerate() {
            let root = spec.root();
            let doc_signature = signature(
                root.get("x-specbox-signature"),
                spec,
                "/x-specbox-signature",
                &mut errors,
            );
            let Some(map) = root.get("webhooks").and_then(Value::as_object) else {
                continue;
            };
            for (name, item) in map {
                let item_ptr = resolve_pointer_of(root, item, format!("/webhooks/{}", escape_pointer(name)));
                let item = resolve(root, item);
                for o in operations(item) {
                    let ptr = resolve_pointer_of(root, o.op, format!("{item_ptr}/{}", o.suffix));
                    let op = resolve(root, o.op);
                    let mut hook = hook(
                        spec_idx,
                        spec,
                        name.trim_start_matches('/'),
                        &o.method,
                        op,
                        &ptr,
                        resources,
                        specs,
                    );
                    let own = signature(
                        op.get("x-specbox-signature"),
                        spec,
                        &format!("{ptr}/x-specbox-signature"),
                        &mut errors,
                    );
                    hook.signature = own.or_else(|| doc_signature.clone());
                    let declared = op.get("x-specbox-event").or_else(|| item.get("x-specbox-event"));
                    hook.set = declared
                        .into_iter()
                        .flat_map(|d| d.as_array().cloned().unwrap_or_else(|| vec![d.clone()]))
                        .filter_map(|d| d.get("set").and_then(Value::as_object).cloned())
                        .flatten()
                        .collect();
                    hook.triggers = match declared {
                        Some(d) => {
                            declared_triggers(d, spec, &ptr, resources, specs, lifecycles, &hook.name, &mut errors)
                        }
                        None => inferred_triggers(&hook.name, resources, lifecycles),
                    };
                    webhooks.push(Arc::new(hook));
                }
            }
        }
        let mut by_op = Vec::with_capacity(ops.len());
        for op in ops.iter_mut() {
            let mut fired: Vec<Arc<Hook>> = Vec::new();
            let moved = op.rules.as_ref().and_then(|r| r.transition.as_ref());
            let mut ons = On::of(op);
            if let Some(t) = moved {
                ons.push((On::Transition, t.res));
            }
            for (on, res) in ons {
                for w in &webhooks {
                    // A transition's webhook names the state it fires for (or none: every one).
                    let hit = w.triggers.iter().any(|t| {
                        t.on == on
                            && t.res == res
                            && (on != On::Transition
                                || t.to.is_none()
                                || moved.is_some_and(|m| t.to.as_deref() == Some(m.to.as_str())))
                    });
                    if hit && !fired.iter().any(|f| Arc::ptr_eq(f, w)) {
                        fired.push(w.clone());
                    }
                }
            }
            let Some(spec) = specs.get(op.spec) else {
                by_op.push(Arc::from(fired));
                continue;
            };
            fired.extend(callbacks(op, spec, resources, specs));
            op.fires = !fired.is_empty();
            by_op.push(Arc::from(fired));
        }
        if errors.is_empty() {
            Ok(Hooks { webhooks, by_op })
        } else {
            Err(errors)
        }
    }
}

/// The callbacks of one operation (`callbacks: {name: {expression: {post: ...}}}`).
fn callbacks(op: &Operation, spec: &Spec, resources: &[Resource], specs: &[Spec]) -> Vec<Arc<Hook>> {
    let root = spec.root();
    let mut out = Vec::new();
    let Some(map) = lookup(root, &op.pointer)
        .and_then(|o| o.get("callbacks"))
        .map(|c| resolve(root, c))
        .and_then(Value::as_object)
    else {
        return out;
    };
    for (name, cb) in map {
        let Some(exprs) = resolve(root, cb).as_object() else {
            continue;
        };
        for (url, item) in exprs {
            let item_ptr = resolve_pointer_of(
                root,
                item,
                format!(
                    "{}/callbacks/{}/{}",
                    op.pointer,
                    escape_pointer(name),
                    escape_pointer(url)
                ),
            );
            let item = resolve(root, item);
            for o in operations(item) {
                let ptr = resolve_pointer_of(root, o.op, format!("{item_ptr}/{}", o.suffix));
                let cb_op = resolve(root, o.op);
                let mut h = hook(op.spec, spec, name, &o.method, cb_op, &ptr, resources, specs);
                h.kind = Kind::Callback { url: url.clone() };
                out.push(Arc::new(h));
            }
        }
    }
    out
}

/// A hook's body: its template, schema and the places resources' objects go.
#[allow(clippy::too_many_arguments)]
fn hook(
    spec_idx: usize,
    spec: &Spec,
    name: &str,
    method: &str,
    op: &Value,
    ptr: &str,
    resources: &[Resource],
    specs: &[Spec],
) -> Hook {
    let root = spec.root();
    let body_ptr = format!("{ptr}/requestBody");
    let body = op
        .get("requestBody")
        .map(|b| (resolve_pointer_of(root, b, body_ptr.clone()), resolve(root, b)));
    let content = body
        .as_ref()
        .and_then(|(_, b)| b.get("content"))
        .and_then(Value::as_object);
    let chosen = content.and_then(|c| {
        c.iter()
            .find(|(mt, _)| operation::is_json_type(mt))
            .or_else(|| c.iter().next())
    });
    let (content_type, schema_ptr, example) = match (chosen, &body) {
        (Some((mt, media)), Some((bp, _))) => {
            let schema_ptr = media
                .get("schema")
                .map(|s| resolve_schema_pointer_of(root, s, format!("{bp}/content/{}/schema", escape_pointer(mt))));
            let example = media.get("example").map(|v| resolve(root, v).clone()).or_else(|| {
                media
                    .get("examples")
                    .and_then(Value::as_object)
                    .and_then(|m| m.values().next())
                    .and_then(|ex| resolve(root, ex).get("value"))
                    .map(|v| resolve(root, v).clone())
            });
            (mt.clone(), schema_ptr, example)
        }
        _ => ("application/json".to_string(), None, None),
    };
    let schema_value = schema_ptr.as_deref().and_then(|p| lookup(root, p));
    let template = example.or_else(|| schema_value.map(|s| generate::generate(s, root)));
    let object_at = schema_value
        .map(|s| placements(root, s, spec_idx, resources, specs))
        .unwrap_or_default();
    Hook {
        name: name.to_string(),
        kind: Kind::Webhook,
        method: Method::from_bytes(method.as_bytes()).unwrap_or(Method::POST),
        spec: spec_idx,
        pointer: ptr.to_string(),
        content_type,
        template,
        schema: schema_ptr.map(|p| spec.compiler.lazy(&p)),
        root: arc_swap::ArcSwap::new(spec.doc.root.clone()),
        object_at,
        signature: None,
        triggers: Vec::new(),
        set: Vec::new(),
    }
}

/// Where each resource's object goes in a body of schema `schema`: the shallowest property whose
/// schema is the resource's (the same `$ref` in the same document, or a component of the same
/// name in another one: a vendor may publish its webhooks and its API as two documents).
fn placements(
    root: &Value,
    schema: &Value,
    spec_idx: usize,
    resources: &[Resource],
    specs: &[Spec],
) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    // Breadth first, so the shallowest place wins; bounded, as schemas may nest without end.
    let mut queue: Vec<(&Value, String, usize)> = vec![(schema, String::new(), 0)];
    let mut next = 0;
    while let Some((s, at, depth)) = queue.get(next).cloned() {
        next += 1;
        if let Some(target) = s
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
            .map(crate::spec::pointer::percent_decode)
        {
            let target = target.as_ref();
            for (i, r) in resources.iter().enumerate() {
                let Some(rp) = r.schema_pointer.as_deref() else {
                    continue;
                };
                let same = (r.spec == spec_idx && rp == target)
                    || (rp.starts_with("/components/schemas/")
                        && target.starts_with("/components/schemas/")
                        && rp.rsplit('/').next() == target.rsplit('/').next()
                        && specs.get(r.spec).is_some());
                if same && !out.iter().any(|(o, _)| *o == i) {
                    out.push((i, at.clone()));
                }
            }
        }
        if depth >= 5 || queue.len() > 2000 {
            continue;
        }
        let resolved = resolve(root, s);
        if let Some(items) = resolved.get("items") {
            queue.push((items, format!("{at}/0"), depth + 1));
        }
        // `properties` reads through `allOf` but gives copies; the borrowed one keeps its `$ref`.
        for name in operation::properties(root, resolved).keys() {
            if let Some(prop) = find_property(root, resolved, name) {
                queue.push((prop, format!("{at}/{}", escape_pointer(name)), depth + 1));
            }
        }
    }
    out
}

/// A property's schema as written (through `allOf` and `$ref`s), borrowed from the document.
fn find_property<'a>(root: &'a Value, schema: &'a Value, name: &str) -> Option<&'a Value> {
    let schema = resolve(root, schema);
    if let Some(p) = schema.get("properties").and_then(|p| p.get(name)) {
        return Some(p);
    }
    schema
        .get("allOf")
        .and_then(Value::as_array)?
        .iter()
        .find_map(|branch| find_property(root, branch, name))
}

/// Triggers from a webhook's name: `…<singular>.<verb>` (`customer.created`, `platform.accountHolder.updated`),
/// or `…<singular>.<state>` for a state of the resource's lifecycle (`charge.succeeded`).
fn inferred_triggers(name: &str, resources: &[Resource], lifecycles: &[Lifecycle]) -> Vec<Trigger> {
    let mut parts = name.rsplit('.');
    let (Some(verb), Some(noun)) = (parts.next(), parts.next()) else {
        return Vec::new();
    };
    let key = fold(noun);
    let crud = ["created", "updated", "deleted", "archived", "restored"].contains(&verb);
    let states: Vec<Trigger> = lifecycles
        .iter()
        .filter(|l| resources.get(l.res).is_some_and(|r| fold(&r.singular()) == key))
        .filter_map(|l| {
            let state = l.states.iter().find(|s| fold(s) == fold(verb))?;
            Some(Trigger {
                on: On::Transition,
                res: l.res,
                to: Some(state.clone()),
                declared: false,
            })
        })
        .collect();
    if !crud {
        return states;
    }
    let Some(on) = ["created", "updated", "deleted", "archived", "restored"]
        .contains(&verb)
        .then(|| On::parse(verb))
        .flatten()
    else {
        return Vec::new();
    };
    resources
        .iter()
        .enumerate()
        .filter(|(_, r)| fold(&r.singular()) == key)
        .map(|(res, _)| Trigger {
            on,
            res,
            to: None,
            declared: false,
        })
        .collect()
}

/// A name compared without case or separators (`account_holder` = `accountHolder`).
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// `x-specbox-event: {on, collection, to}` (or a list of them).
#[allow(clippy::too_many_arguments)]
fn declared_triggers(
    value: &Value,
    spec: &Spec,
    ptr: &str,
    resources: &[Resource],
    specs: &[Spec],
    lifecycles: &[Lifecycle],
    name: &str,
    errors: &mut Vec<SpecError>,
) -> Vec<Trigger> {
    let at = format!("{ptr}/x-specbox-event");
    let list: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        v => vec![v],
    };
    let mut out = Vec::new();
    for (i, d) in list.into_iter().enumerate() {
        let at = if value.is_array() {
            format!("{at}/{i}")
        } else {
            at.clone()
        };
        let Some(on) = d.get("on").and_then(Value::as_str).and_then(On::parse) else {
            errors.push(SpecError::new(
                &spec.doc.path,
                &at,
                "x-specbox-event: `on` must be one of create, update, delete, archive, restore, transition",
            ));
            continue;
        };
        let to = d.get("to").and_then(Value::as_str).map(str::to_string);
        let found: Vec<usize> = match d.get("collection").and_then(Value::as_str) {
            // As the spec writes it, or with its spec's mount (`/v71/payments`).
            Some(c) => {
                let c = c.trim_end_matches('/');
                resources
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| {
                        r.collection == c
                            || specs
                                .get(r.spec)
                                .is_some_and(|s| join_route(&s.mount, &r.collection) == c)
                    })
                    .map(|(i, _)| i)
                    .collect()
            }
            // No collection: the resource the webhook's name names.
            None => resources
                .iter()
                .enumerate()
                .filter(|(_, r)| name.split('.').any(|p| fold(p) == fold(&r.singular())))
                .map(|(i, _)| i)
                .collect(),
        };
        if found.is_empty() {
            let known: Vec<&str> = resources.iter().map(|r| r.collection.as_str()).collect();
            errors.push(SpecError::new(
                &spec.doc.path,
                &at,
                format!(
                    "x-specbox-event: no resource collection {:?} (collections: {})",
                    d.get("collection").and_then(Value::as_str).unwrap_or(name),
                    known.join(", ")
                ),
            ));
        }
        for res in found {
            // A transition names a state of the collection's lifecycle.
            if on == On::Transition {
                let life = lifecycles.iter().find(|l| l.res == res);
                let problem = match (life, &to) {
                    (None, _) => Some("the collection has no x-specbox-lifecycle".to_string()),
                    (Some(l), Some(state)) if !l.states.contains(state) => Some(format!(
                        "{state:?} is no state of the collection's lifecycle (states: {})",
                        l.states.join(", ")
                    )),
                    _ => None,
                };
                if let Some(problem) = problem {
                    errors.push(SpecError::new(
                        &spec.doc.path,
                        &at,
                        format!("x-specbox-event: on: transition: {problem}"),
                    ));
                    continue;
                }
            }
            if !out.iter().any(|t: &Trigger| t.res == res && t.on == on && t.to == to) {
                out.push(Trigger {
                    on,
                    res,
                    to: to.clone(),
                    declared: true,
                });
            }
        }
    }
    out
}

/// `x-specbox-signature: {header, over, encoding: hex|base64, format}`.
fn signature(value: Option<&Value>, spec: &Spec, at: &str, errors: &mut Vec<SpecError>) -> Option<Signature> {
    let v = value?;
    let header = v.get("header").and_then(Value::as_str);
    let encoding = v.get("encoding").and_then(Value::as_str).unwrap_or("hex");
    let Some(header) = header.filter(|h| hyper::header::HeaderName::from_bytes(h.as_bytes()).is_ok()) else {
        errors.push(SpecError::new(
            &spec.doc.path,
            at,
            "x-specbox-signature: `header` must name a header",
        ));
        return None;
    };
    if !matches!(encoding, "hex" | "base64") {
        errors.push(SpecError::new(
            &spec.doc.path,
            at,
            "x-specbox-signature: `encoding` is hex or base64",
        ));
        return None;
    }
    Some(Signature {
        header: header.to_string(),
        over: v.get("over").and_then(Value::as_str).unwrap_or("{body}").to_string(),
        base64: encoding == "base64",
        format: v
            .get("format")
            .and_then(Value::as_str)
            .unwrap_or("{signature}")
            .to_string(),
    })
}
