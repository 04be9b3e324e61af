//! The spec's own examples as the starting state of resources that have no fixtures.
//!
//! A spec that shows `GET /repos/{owner}/{repo}` answering with a repository, or a list answering
//! with three customers, describes items that exist. A client that follows the spec's own example
//! ids should find them, and a list should not be empty out of the box. So every item that a read
//! or list example shows is stored, in every tenant, unless fixtures give the resource its items.
//!
//! Examples are data the spec's author wrote by hand, so they are taken only where they fit: an
//! item that does not validate against the resource's schema, has no key, or belongs under a parent
//! that is not there is passed over (and said so at debug level), never a reason to refuse a spec.

use crate::model::Api;
use crate::model::operation::{Operation, Param};
use crate::model::resources::envelope::{fold, key_text};
use crate::model::resources::plan::{Action, Resource};
use crate::model::schema::Location;
use crate::state::item::{id_key, seed_unique, to_entry};
use crate::state::store::{Collection, Seed};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::Arc;

/// An item an example shows, with the operation that showed it.
struct Shown<'a> {
    res: usize,
    op: &'a Operation,
    item: &'a Value,
}

/// Every item the read and list examples of `api` show, resource by resource.
fn shown(api: &Api) -> Vec<Shown<'_>> {
    let mut out = Vec::new();
    for op in &api.ops {
        let Some(success) = op.success() else { continue };
        let examples = success.examples.iter().map(|(_, v)| v);
        match &op.action {
            Action::Read { res, shape } => {
                for example in examples {
                    let item = match &shape.envelope {
                        Some(field) => example.get(field),
                        None => Some(example),
                    };
                    if let Some(item) = item {
                        out.push(Shown { res: *res, op, item });
                    }
                }
            }
            Action::List { res, plan } => {
                for example in examples {
                    let items = match &plan.items_field {
                        Some(field) => example.get(field),
                        None => Some(example),
                    };
                    for item in items.and_then(Value::as_array).into_iter().flatten() {
                        out.push(Shown { res: *res, op, item });
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The value of the scope parameter `name` for an item: the item's own field of that name in any
/// style (`AccountSid` is `account_sid`), else the parameter's example in the operation.
fn scope_value(item: &Value, op: &Operation, name: &str, own_key: &str) -> Option<String> {
    let folded = fold(name);
    // A parent's generic `{id}` is not the child's own `id`.
    if let Some(obj) = item.as_object()
        && let Some((_, v)) = obj
            .iter()
            .find(|(k, v)| fold(k) == folded && k.as_str() != own_key && !v.is_null())
    {
        return Some(key_text(v));
    }
    op.param(Location::Path, name)
        .and_then(param_example)
        .map(|v| key_text(&v))
}

fn param_example(p: &Param) -> Option<Value> {
    p.raw
        .get("example")
        .or_else(|| p.raw.get("schema").and_then(|s| s.get("example")))
        .cloned()
}

/// Stores the items examples show for every resource `seed` has nothing for. Returns how many.
pub fn seed_from_examples(api: &Api, seed: &mut Seed) -> usize {
    let fixtured: HashSet<usize> = seed.collections.keys().map(|(res, _)| *res).collect();
    let mut added = 0;
    // Parents before children: resources are inferred parents first, and `shown` keeps their order
    // within each operation, so a child's parent is in the seed by the time the child is checked.
    let mut items = shown(api);
    items.sort_by_key(|s| api.resources.get(s.res).map_or(0, |r| r.scope_params.len()));
    for Shown { res, op, item } in items {
        if fixtured.contains(&res) {
            continue;
        }
        let Some(r) = api.resources.get(res) else { continue };
        match admit(api, seed, r, op, item) {
            Ok(scope) => {
                let Some(obj) = item.as_object() else { continue };
                let Some(key) = obj.get(&r.id_field).map(id_key) else {
                    continue;
                };
                let coll = Arc::make_mut(
                    seed.collections
                        .entry((res, scope))
                        .or_insert_with(|| Arc::new(Collection::new(r.unique.len()))),
                );
                if coll.get(&key).is_some() || seed_unique(coll, r, item, &key).is_err() {
                    continue;
                }
                let mut entry = to_entry(r, obj.clone());
                entry.from_example = true;
                coll.insert(key, entry);
                added += 1;
            }
            Err(why) => tracing::debug!("{} example item passed over: {why}", op.id),
        }
    }
    added
}

/// The item's scope (its ancestors' keys) if it can be stored as it is.
fn admit(api: &Api, seed: &Seed, r: &Resource, op: &Operation, item: &Value) -> Result<String, String> {
    if !item.is_object() {
        return Err("not an object".into());
    }
    if item.get(&r.id_field).is_none_or(Value::is_null) {
        return Err(format!("no {:?}", r.id_field));
    }
    if let (Some(schema), Some(spec)) = (&r.schema, api.specs.get(r.spec))
        && let Some(v) = schema.violations(spec.root(), item, Location::Body, "").first()
    {
        return Err(format!("{}: {}", v.pointer, v.message));
    }
    let mut values = Vec::with_capacity(r.scope_params.len());
    for name in &r.scope_params {
        values.push(scope_value(item, op, name, &r.id_field).ok_or_else(|| format!("no value for {{{name}}}"))?);
    }
    if let (Some(parent), Some((parent_id, parent_scope))) = (r.parent, values.split_last()) {
        let present = seed
            .collections
            .get(&(parent, parent_scope.join("/")))
            .is_some_and(|c| c.get(parent_id).is_some());
        if !present {
            return Err(format!("its parent {parent_id:?} is not there"));
        }
    }
    Ok(values.join("/"))
}
