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
use crate::model::generate::Judge;
use crate::model::operation::{Operation, Param};
use crate::model::resources::envelope::{fold, key_text};
use crate::model::resources::plan::{Action, Resource};
use crate::model::schema::{Location, Schema, SchemaSet};
use crate::state::item::{id_key, to_entry};
use crate::state::memory::seed_unique;
use crate::state::memory::{Collection, Seed};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
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
        let Some(spec) = api.specs.get(op.spec) else { continue };
        let examples = success.examples(spec.root()).map(|(_, v)| v);
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
fn scope_value(root: &Value, item: &Value, op: &Operation, name: &str, own_key: &str) -> Option<String> {
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
        .and_then(|p| param_example(root, p))
        .map(|v| key_text(&v))
}

fn param_example(root: &Value, p: &Param) -> Option<Value> {
    let raw = p.raw(root);
    raw.get("example")
        .or_else(|| {
            raw.get("schema")
                .and_then(|s| crate::spec::pointer::resolve(root, s).get("example"))
        })
        .cloned()
}

/// Stores the items examples show for every resource `seed` has nothing for. Returns how many.
pub fn seed_from_examples(api: &Api, seed: &mut Seed) -> usize {
    let fixtured: HashSet<usize> = seed.collections.keys().map(|(res, _)| *res).collect();
    let mut added = 0;
    // Parents before children: resources are inferred parents first, and `shown` keeps their order
    // within each operation, so a child's parent is in the seed by the time the child is checked.
    let mut items = shown(api);
    items.retain(|s| !fixtured.contains(&s.res));
    items.sort_by_key(|s| api.resources.get(s.res).map_or(0, |r| r.scope_params.len()));
    let violations = first_violations(api, &items);
    for (Shown { res, op, item }, violation) in items.into_iter().zip(violations) {
        let Some(r) = api.resources.get(res) else { continue };
        match admit(api, seed, r, op, item, violation) {
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

/// For each item, the first way it breaks its resource's schema (`None`: it fits, or it is no
/// object with a key, which [`admit`] refuses first).
///
/// Most items fit, and the built-in checker says so without a compiled validator
/// ([`Judge`]): compiling the schemas of every resource an example shows was, for a large spec,
/// a seventh of startup (40 ms of the generated 13 MB spec's, for 400 items). The items it cannot
/// vouch for, those that do not fit and those whose schemas use what it does not judge as
/// jsonschema does, are judged by jsonschema, which also says why one does not fit.
fn first_violations(api: &Api, items: &[Shown<'_>]) -> Vec<Option<String>> {
    let mut judge = Judge::default();
    let sure: Vec<bool> = items.iter().map(|s| surely_fits(api, &mut judge, s)).collect();
    let doubtful: Vec<&Shown<'_>> = items
        .iter()
        .zip(&sure)
        .filter(|(_, sure)| !**sure)
        .map(|(s, _)| s)
        .collect();
    let mut judged = compiled_violations(api, &doubtful).into_iter();
    sure.iter()
        .map(|sure| if *sure { None } else { judged.next().flatten() })
        .collect()
}

/// Whether the item certainly fits its resource's schema, or is not judged at all (see
/// [`judged_against`]).
fn surely_fits(api: &Api, judge: &mut Judge, s: &Shown<'_>) -> bool {
    judged_against(api, s).is_none_or(|(root, schema)| schema.is_some_and(|at| judge.surely_valid(root, at, s.item)))
}

/// The document and the schema (`None` if it is not there) an item is judged against; `None`
/// for an item that is not judged: no object with a key ([`admit`] refuses it first), or a
/// resource without a schema.
fn judged_against<'a>(api: &'a Api, s: &Shown<'_>) -> Option<(&'a Value, Option<&'a Value>)> {
    let r = api.resources.get(s.res)?;
    if !s.item.is_object() || s.item.get(&r.id_field).is_none_or(Value::is_null) {
        return None;
    }
    let (schema, spec) = (r.schema.as_ref()?, api.specs.get(r.spec)?);
    Some((spec.root(), crate::spec::pointer::lookup(spec.root(), &schema.pointer)))
}

/// [`first_violations`] by compiled validators, for items that are judged (see
/// [`judged_against`]).
///
/// The schemas are compiled for this check only, each spec's in one [`SchemaSet`] (resources
/// share most of what their schemas reach: compiled one by one, each compiled it again), on a
/// thread of their own. A resource's own validator is compiled on first use: most resources an
/// example shows are never written to in a session, and keeping one per resource from startup
/// cost more memory than the document (20 MB for a 13 MB spec). Made on another thread, their
/// memory is in pages of its own, which go back to the system when it ends (see
/// `model::schemas_compile`).
fn compiled_violations(api: &Api, items: &[&Shown<'_>]) -> Vec<Option<String>> {
    if items.is_empty() {
        return Vec::new();
    }
    let check = || {
        // Per spec: the resources to check against, in the order met, and their set.
        let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
        for s in items {
            if let Some(r) = api.resources.get(s.res).filter(|r| r.schema.is_some()) {
                let list = members.entry(r.spec).or_default();
                if !list.contains(&s.res) {
                    list.push(s.res);
                }
            }
        }
        let sets: HashMap<usize, Option<SchemaSet>> = members
            .iter()
            .map(|(spec, resources)| {
                let pointers: Vec<&str> = resources
                    .iter()
                    .filter_map(|r| api.resources.get(*r)?.schema.as_ref())
                    .map(|schema| schema.pointer.as_str())
                    .collect();
                let set = api.specs.get(*spec).and_then(|s| s.compiler.set(&pointers).ok());
                (*spec, set)
            })
            .collect();
        // Where a set did not compile (the startup check makes that impossible), each schema alone.
        let mut alone: HashMap<usize, Schema> = HashMap::new();
        items
            .iter()
            .map(|s| {
                let r = api.resources.get(s.res)?;
                let spec = api.specs.get(r.spec)?;
                let schema = r.schema.as_ref()?;
                let violations = match sets.get(&r.spec) {
                    Some(Some(set)) => {
                        let i = members.get(&r.spec)?.iter().position(|m| *m == s.res)?;
                        set.violations(i, spec.root(), s.item, Location::Body, "")
                    }
                    _ => alone
                        .entry(s.res)
                        .or_insert_with(|| spec.compiler.lazy(&schema.pointer))
                        .violations(spec.root(), s.item, Location::Body, ""),
                };
                violations.first().map(|v| format!("{}: {}", v.pointer, v.message))
            })
            .collect()
    };
    std::thread::scope(|scope| match std::thread::Builder::new().spawn_scoped(scope, check) {
        Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
        Err(_) => check(),
    })
}

/// The item's scope (its ancestors' keys) if it can be stored as it is.
fn admit(
    api: &Api,
    seed: &Seed,
    r: &Resource,
    op: &Operation,
    item: &Value,
    violation: Option<String>,
) -> Result<String, String> {
    if !item.is_object() {
        return Err("not an object".into());
    }
    if item.get(&r.id_field).is_none_or(Value::is_null) {
        return Err(format!("no {:?}", r.id_field));
    }
    if let Some(violation) = violation {
        return Err(violation);
    }
    let root = api.specs.get(op.spec).map_or(&Value::Null, |s| s.root());
    let mut values = Vec::with_capacity(r.scope_params.len());
    for name in &r.scope_params {
        values.push(scope_value(root, item, op, name, &r.id_field).ok_or_else(|| format!("no value for {{{name}}}"))?);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    /// Every spec file under `dir` (not overlays, not the files a multi-file spec is split into).
    fn specs_under(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default()
                .to_string();
            if path.is_dir() {
                if !["resources", "examples", "shared", "fixtures"].contains(&name.as_str()) {
                    specs_under(&path, out);
                }
            } else if [".yaml", ".yml", ".json"].iter().any(|e| name.ends_with(e)) && !name.contains("overlay") {
                out.push(path);
            }
        }
    }

    /// On every spec of the repository (and of `SPECBOX_SPEC_DIRS`, `:`-separated), each example
    /// item the built-in checker is sure of is one its resource's compiled validator accepts.
    #[test]
    fn example_items_the_judge_is_sure_of_are_valid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["specs", "tests/specs", "tests/corpus"] {
            specs_under(&root.join(dir), &mut files);
        }
        for dir in std::env::var("SPECBOX_SPEC_DIRS")
            .unwrap_or_default()
            .split(':')
            .filter(|d| !d.is_empty())
        {
            specs_under(Path::new(dir), &mut files);
        }
        files.sort();
        let (mut sure, mut items) = (0, 0);
        for file in &files {
            let Ok(loaded) = crate::startup::load(std::slice::from_ref(file), &Default::default()) else {
                continue;
            };
            let api = loaded.api;
            let mut judge = Judge::default();
            for s in shown(&api) {
                items += 1;
                if judged_against(&api, &s).is_none() || !surely_fits(&api, &mut judge, &s) {
                    continue;
                }
                let Some(r) = api.resources.get(s.res) else { continue };
                let (Some(schema), Some(spec)) = (r.schema.as_ref(), api.specs.get(r.spec)) else {
                    continue;
                };
                sure += 1;
                let violations = schema.violations(spec.root(), s.item, Location::Body, "");
                assert!(
                    violations.is_empty(),
                    "{}: {} {:?}",
                    file.display(),
                    s.item,
                    violations.first()
                );
            }
        }
        // Not a test that judges nothing.
        assert!(sure > 100, "{sure} of {items} items");
    }
}
