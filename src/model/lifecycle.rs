//! Lifecycles and outcomes, compiled: states an item moves through, and answers a request's body
//! chooses.
//!
//! `x-specbox-lifecycle` on a collection's path item names the state field, the initial state and
//! the transitions: an operation below the item path (`POST /payments/{id}/captures`) moves the
//! item `from` some states `to` one, and a timed transition (`after: 2s`) moves it on the sandbox
//! clock. `x-specbox-outcomes` on an operation is an ordered list of rules; the first whose `when`
//! matches the request body decides the status, the example, fields set and the initial state.
//!
//! Everything is checked here, at startup, with the file and the JSON pointer of what is wrong:
//! a state's status must be documented, a named example must exist, and the answer an outcome
//! makes must validate. A request then only follows an [`OpRules`] hung on its operation.

use crate::model::operation::{Operation, Spec};
use crate::model::resources::plan::{Action, Resource};
pub use crate::model::rules::*;
use crate::spec::error::SpecError;
use crate::spec::pointer::{escape_pointer, lookup, resolve};
use serde_json::Value;

fn states(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// Compiles every lifecycle and outcome, hanging [`OpRules`] on the operations they concern.
pub fn build(specs: &[Spec], ops: &mut [Operation], resources: &[Resource]) -> Result<Vec<Lifecycle>, Vec<SpecError>> {
    let mut errors = Vec::new();
    let mut lifecycles = Vec::new();
    let mut rules: Vec<Option<OpRules>> = ops.iter().map(|_| None).collect();
    for (res_idx, r) in resources.iter().enumerate() {
        let Some(spec) = specs.get(r.spec) else { continue };
        let root = spec.root();
        let at = format!("/paths/{}/x-specbox-lifecycle", escape_pointer(&r.collection));
        let Some(ext) = lookup(root, &format!("/paths/{}", escape_pointer(&r.collection)))
            .map(|item| resolve(root, item))
            .and_then(|item| item.get("x-specbox-lifecycle"))
        else {
            continue;
        };
        let err = |errors: &mut Vec<SpecError>, ptr: String, msg: String| {
            errors.push(SpecError::new(
                &spec.doc.path,
                ptr,
                format!("x-specbox-lifecycle: {msg}"),
            ));
        };
        let Some(field) = ext.get("field").and_then(Value::as_str) else {
            err(&mut errors, at.clone(), "`field` (the state field) is required".into());
            continue;
        };
        let initial = ext.get("initial").and_then(Value::as_str).map(str::to_string);
        let mut life = Lifecycle {
            res: res_idx,
            field: field.to_string(),
            initial: initial.clone(),
            timed: Vec::new(),
            states: initial.iter().cloned().collect(),
        };
        let list = ext
            .get("transitions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (i, t) in list.iter().enumerate() {
            let tp = format!("{at}/transitions/{i}");
            let from = states(t.get("from"));
            let Some(to) = t.get("to").and_then(Value::as_str).map(str::to_string) else {
                err(&mut errors, tp, "a transition needs `to`".into());
                continue;
            };
            for s in from.iter().chain(std::iter::once(&to)) {
                if !life.states.contains(s) {
                    life.states.push(s.clone());
                }
            }
            if let Some(after) = t.get("after") {
                match (parse_duration(after), from.as_slice()) {
                    (Some(after), [_, ..]) => {
                        for f in &from {
                            life.timed.push(Timed {
                                from: f.clone(),
                                to: to.clone(),
                                after,
                            });
                        }
                    }
                    (None, _) => err(
                        &mut errors,
                        format!("{tp}/after"),
                        "`after` is a duration such as 2s or 3d".into(),
                    ),
                    (_, []) => err(&mut errors, tp, "a timed transition needs `from`".into()),
                }
                continue;
            }
            let Some(name) = t.get("operation").and_then(Value::as_str) else {
                err(
                    &mut errors,
                    tp,
                    "a transition needs `operation` (an operationId or `METHOD /path`) or `after`".into(),
                );
                continue;
            };
            let found = ops.iter().position(|o| {
                o.spec == r.spec
                    && (o.id == name || {
                        let (m, p) = name.split_once(' ').unwrap_or(("", name));
                        o.method.as_str().eq_ignore_ascii_case(m) && (o.template == p.trim() || o.route == p.trim())
                    })
            });
            let Some(op_idx) = found else {
                err(
                    &mut errors,
                    format!("{tp}/operation"),
                    format!("no operation {name:?} in this spec"),
                );
                continue;
            };
            let Some(op) = ops.get(op_idx) else { continue };
            // The operation sits below the item path: `collection/{param}/...`.
            let param = op
                .template
                .strip_prefix(&format!("{}/{{", r.collection))
                .and_then(|rest| rest.split_once('}'))
                .map(|(p, _)| p.to_string());
            let Some(param) = param else {
                err(
                    &mut errors,
                    format!("{tp}/operation"),
                    format!("{} {} is not below {}/{{id}}", op.method, op.template, r.collection),
                );
                continue;
            };
            let status = match t.get("status").and_then(Value::as_u64) {
                Some(s) => {
                    let s = u16::try_from(s).unwrap_or(0);
                    if !op.documents(s) {
                        err(
                            &mut errors,
                            format!("{tp}/status"),
                            format!("{} {} does not document status {s}", op.method, op.template),
                        );
                    }
                    s
                }
                None => [409, 422, 400].into_iter().find(|s| op.documents(*s)).unwrap_or(409),
            };
            if let Some(slot) = rules.get_mut(op_idx) {
                slot.get_or_insert_with(OpRules::default).transition = Some(Transition {
                    res: res_idx,
                    param,
                    field: field.to_string(),
                    from,
                    to,
                    status,
                });
            }
        }
        // Creates in this resource start in the initial state.
        for (i, op) in ops.iter().enumerate() {
            if matches!(op.action, Action::Create { res, .. } if res == res_idx)
                && let Some(slot) = rules.get_mut(i)
            {
                slot.get_or_insert_with(OpRules::default).initial = Some((field.to_string(), initial.clone()));
            }
        }
        lifecycles.push(life);
    }
    // Actions on an item (`POST /x/{id}/captures`, one static segment below a resource's item
    // path) that keep no state still need their item.
    for (i, op) in ops.iter().enumerate() {
        if !matches!(op.action, Action::None) || op.method != hyper::Method::POST {
            continue;
        }
        let parent = resources.iter().enumerate().find_map(|(res, r)| {
            let param = r.item_param.as_ref()?;
            let rest = op
                .template
                .strip_prefix(r.collection.as_str())?
                .strip_prefix(&format!("/{{{param}}}/"))?;
            (r.spec == op.spec && !rest.is_empty() && !rest.contains(['/', '{'])).then(|| (res, param.clone()))
        });
        if let (Some(p), Some(slot)) = (parent, rules.get_mut(i)) {
            slot.get_or_insert_with(OpRules::default).parent = Some(p);
        }
    }
    for (i, op) in ops.iter().enumerate() {
        let Some(spec) = specs.get(op.spec) else { continue };
        let root = spec.root();
        let Some(ext) = lookup(root, &op.pointer).and_then(|o| o.get("x-specbox-outcomes")) else {
            continue;
        };
        let at = format!("{}/x-specbox-outcomes", op.pointer);
        let has_state = rules
            .get(i)
            .and_then(Option::as_ref)
            .is_some_and(|r| r.initial.is_some());
        let outcomes = outcomes(spec, op, ext, &at, has_state, &mut errors);
        if let Some(slot) = rules.get_mut(i) {
            slot.get_or_insert_with(OpRules::default).outcomes = outcomes;
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    for (op, r) in ops.iter_mut().zip(rules) {
        op.rules = r.map(Box::new);
    }
    Ok(lifecycles)
}

fn outcomes(
    spec: &Spec,
    op: &Operation,
    ext: &Value,
    at: &str,
    has_state: bool,
    errors: &mut Vec<SpecError>,
) -> Vec<OutcomeRule> {
    let root = spec.root();
    let mut out = Vec::new();
    let Some(list) = ext.as_array() else {
        errors.push(SpecError::new(
            &spec.doc.path,
            at,
            "x-specbox-outcomes: a list of {when, status, example, set, state}",
        ));
        return out;
    };
    let is_create = matches!(op.action, Action::Create { .. });
    for (i, o) in list.iter().enumerate() {
        let p = format!("{at}/{i}");
        let err = |errors: &mut Vec<SpecError>, ptr: String, msg: String| {
            errors.push(SpecError::new(
                &spec.doc.path,
                ptr,
                format!("x-specbox-outcomes: {msg}"),
            ));
        };
        let mut when = Vec::new();
        if let Some(w) = o.get("when") {
            let Some(map) = w.as_object() else {
                err(
                    errors,
                    format!("{p}/when"),
                    "`when` maps JSON pointers to values".into(),
                );
                continue;
            };
            for (ptr, v) in map {
                if !(ptr.is_empty() || ptr.starts_with('/')) {
                    err(
                        errors,
                        format!("{p}/when/{}", escape_pointer(ptr)),
                        format!("{ptr:?} is not a JSON pointer (it starts with /)"),
                    );
                    continue;
                }
                let m = match v.get("pattern").and_then(Value::as_str) {
                    Some(re) if v.as_object().is_some_and(|m| m.len() == 1) => match regex::Regex::new(re) {
                        Ok(re) => Matcher::Pattern(re),
                        Err(e) => {
                            err(
                                errors,
                                format!("{p}/when/{}/pattern", escape_pointer(ptr)),
                                format!("bad pattern: {e}"),
                            );
                            continue;
                        }
                    },
                    _ => Matcher::Equals(v.clone()),
                };
                when.push((ptr.clone(), m));
            }
        }
        let status = match o.get("status") {
            None => None,
            Some(s) => match s
                .as_u64()
                .and_then(|s| u16::try_from(s).ok())
                .or_else(|| s.as_str()?.parse().ok())
            {
                Some(s) if op.documents(s) => Some(s),
                Some(s) => {
                    err(
                        errors,
                        format!("{p}/status"),
                        format!("{} {} does not document status {s}", op.method, op.template),
                    );
                    continue;
                }
                None => {
                    err(errors, format!("{p}/status"), "`status` is an HTTP status".into());
                    continue;
                }
            },
        };
        let code = status.or_else(|| op.success().map(|r| r.code())).unwrap_or(200);
        let response = op.response_for(code);
        let example = match o.get("example").and_then(Value::as_str) {
            Some(name) => match response.and_then(|r| r.example(spec.root(), name)) {
                Some(v) => Some(v.clone()),
                None => {
                    let known: Vec<&str> = response
                        .map(|r| r.examples(spec.root()).map(|(n, _)| n).collect())
                        .unwrap_or_default();
                    err(
                        errors,
                        format!("{p}/example"),
                        format!(
                            "the {code} answer has no example {name:?} (examples: {})",
                            known.join(", ")
                        ),
                    );
                    continue;
                }
            },
            None => None,
        };
        let mut set = Vec::new();
        if let Some(s) = o.get("set") {
            let Some(map) = s.as_object() else {
                err(errors, format!("{p}/set"), "`set` maps JSON pointers to values".into());
                continue;
            };
            for (ptr, v) in map {
                if !ptr.starts_with('/') {
                    err(
                        errors,
                        format!("{p}/set/{}", escape_pointer(ptr)),
                        format!("{ptr:?} is not a JSON pointer (it starts with /)"),
                    );
                    continue;
                }
                set.push((ptr.clone(), v.clone()));
            }
        }
        let state = o.get("state").and_then(Value::as_str).map(str::to_string);
        if state.is_some() && !has_state {
            err(
                errors,
                format!("{p}/state"),
                format!(
                    "{} {} creates nothing with a lifecycle (x-specbox-lifecycle on its collection)",
                    op.method, op.template
                ),
            );
            continue;
        }
        // The answer this outcome makes must be one the contract allows.
        let mut answer = example
            .clone()
            .or_else(|| response.and_then(|r| r.default_body(root)).cloned());
        // A create stores fields its answer does not declare and never sends them: only the
        // declared ones are in the answer checked here.
        let declared: Option<Vec<String>> = is_create.then(|| {
            response
                .and_then(|r| r.schema_pointer.as_deref())
                .and_then(|p| lookup(root, p))
                .map(|schema| {
                    crate::model::operation::properties(root, schema)
                        .keys()
                        .cloned()
                        .collect()
                })
                .unwrap_or_default()
        });
        if let Some(a) = answer.as_mut() {
            for (ptr, v) in &set {
                let top = ptr
                    .split('/')
                    .nth(1)
                    .unwrap_or("")
                    .replace("~1", "/")
                    .replace("~0", "~");
                if declared.as_ref().is_none_or(|d| d.contains(&top)) {
                    set_pointer(a, ptr, v.clone());
                }
            }
            if let Some(schema) = response.and_then(|r| r.validator(&spec.compiler)) {
                let violations = schema.violations(root, a, crate::model::schema::Location::Body, "");
                if let Some(v) = violations.first() {
                    err(
                        errors,
                        p.clone(),
                        format!(
                            "the {code} answer it makes does not validate: {} {}",
                            v.field, v.message
                        ),
                    );
                    continue;
                }
            }
        }
        let base = match (&example, is_create) {
            (Some(Value::Object(m)), true) => m.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            _ => Vec::new(),
        };
        out.push(OutcomeRule {
            when,
            status,
            body: (!is_create).then_some(answer).flatten(),
            base,
            set,
            state,
        });
    }
    out
}
