//! From a recording to fixtures: the resources a recorded session saw, as seed data.
//!
//! The recording is replayed against the model, not against a store: each successful JSON
//! exchange is routed to its operation, and the operation's [`Action`] says what the response
//! body means for state. A create, read, update, replace or restore answer is the resource's
//! current state; an archive answer is too, plus the archived mark; a delete removes the item; a
//! list answer states each item it holds. The last word about an item wins, so the fixtures
//! describe the state the session ended in.
//!
//! The output goes through the same checks the fixture loader applies (the resource schema, an
//! existing parent for every child, business-rule uniqueness), and an item that would fail them
//! is left out with a warning, so the fixtures written always load. Every tenant of the
//! recording is merged into one set, because fixtures seed every tenant alike.

use crate::model::Api;
use crate::model::resources::plan::{Action, Resource};
use crate::model::router::{Match, Target};
use crate::model::schema::Location;
use crate::state::fixtures::ARCHIVED;
use crate::state::item::id_key;
use crate::traffic::record::Recorded;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One collection's items in first-seen order, with deletions as holes.
#[derive(Default)]
struct Items {
    slots: Vec<Option<(Value, bool)>>,
    by_id: HashMap<String, usize>,
}

impl Items {
    fn upsert(&mut self, id: String, value: Value, archived: Option<bool>) {
        match self.by_id.get(&id).and_then(|i| self.slots.get_mut(*i)) {
            Some(slot) => {
                // Without a word about archiving (a read, an update), an item keeps its mark.
                let keep = slot.as_ref().is_some_and(|(_, a)| *a);
                *slot = Some((value, archived.unwrap_or(keep)));
            }
            None => {
                self.by_id.insert(id, self.slots.len());
                self.slots.push(Some((value, archived.unwrap_or(false))));
            }
        }
    }

    fn archive(&mut self, id: &str) {
        if let Some(Some((_, archived))) = self.by_id.get(id).and_then(|i| self.slots.get_mut(*i)) {
            *archived = true;
        }
    }

    fn remove(&mut self, id: &str) {
        if let Some(i) = self.by_id.remove(id)
            && let Some(slot) = self.slots.get_mut(i)
        {
            *slot = None;
        }
    }
}

/// What `specbox fixtures` produced for one spec.
pub struct SpecFixtures {
    /// The spec's file stem (the fixture directory's name).
    pub spec: String,
    /// `{"resources": {...}}`, ready to write.
    pub document: Value,
    /// Items per collection template, for the summary.
    pub counts: Vec<(String, usize)>,
}

/// The outcome: fixtures per spec, and why some recorded items were left out.
pub struct Harvest {
    pub specs: Vec<SpecFixtures>,
    pub warnings: Vec<String>,
    /// Exchanges that said something about state.
    pub used: usize,
}

/// Turns recorded exchanges into fixture documents.
pub fn harvest(api: &Api, entries: &[Recorded]) -> Harvest {
    let mut state: BTreeMap<(usize, String), Items> = BTreeMap::new();
    let mut warnings = Vec::new();
    let mut used = 0;
    for e in entries {
        if !(200..300).contains(&e.status) {
            continue;
        }
        let Ok(method) = hyper::Method::from_bytes(e.method.as_bytes()) else {
            continue;
        };
        let Match::Found {
            target: Target::Op(op_idx),
            params,
        } = api.route(&method, &e.path, "")
        else {
            continue;
        };
        let Some(op) = api.ops.get(op_idx) else { continue };
        let Some(res_idx) = op.action.resource() else {
            continue;
        };
        let Some(r) = api.resources.get(res_idx) else { continue };
        let param = |name: &str| params.iter().find(|(n, _)| n.as_ref() == name).map(|(_, v)| v.clone());
        let scope = r
            .scope_params
            .iter()
            .map(|p| param(p).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("/");
        let path_id = r.item_param.as_deref().and_then(param);
        let body = e.response_json();
        let items = state.entry((res_idx, scope)).or_default();
        let before = used;
        match &op.action {
            Action::None => {}
            Action::Create { .. }
            | Action::Read { .. }
            | Action::Update { .. }
            | Action::Replace { .. }
            | Action::Act { .. } => {
                if let Some(v) = body.filter(Value::is_object)
                    && let Some(id) = item_id(r, &v).or(path_id)
                {
                    items.upsert(id, v, None);
                    used += 1;
                }
            }
            Action::Restore { .. } => {
                if let Some(v) = body.filter(Value::is_object)
                    && let Some(id) = item_id(r, &v).or(path_id)
                {
                    items.upsert(id, v, Some(false));
                    used += 1;
                }
            }
            Action::Archive { .. } => match (body.filter(Value::is_object), path_id) {
                (Some(v), path_id) => {
                    if let Some(id) = item_id(r, &v).or(path_id) {
                        items.upsert(id, v, Some(true));
                        used += 1;
                    }
                }
                // No body (204): mark what we know.
                (None, Some(id)) => {
                    items.archive(&id);
                    used += 1;
                }
                (None, None) => {}
            },
            Action::Delete { .. } => {
                if let Some(id) = path_id {
                    items.remove(&id);
                    used += 1;
                }
            }
            Action::List { plan, .. } => {
                let list = match (&plan.items_field, body) {
                    (Some(field), Some(mut v)) => v.get_mut(field).map(Value::take),
                    (None, v) => v,
                    (Some(_), None) => None,
                };
                for item in list
                    .and_then(|l| match l {
                        Value::Array(a) => Some(a),
                        _ => None,
                    })
                    .into_iter()
                    .flatten()
                {
                    if let Some(id) = item_id(r, &item) {
                        items.upsert(id, item, None);
                    }
                }
                used += 1;
            }
        }
        if used == before && !matches!(op.action, Action::None) {
            warnings.push(format!(
                "entry {}: {} {} ({}) says nothing usable about a {}",
                e.index,
                e.method,
                e.path,
                op.id,
                r.singular()
            ));
        }
    }
    let specs = assemble(api, state, &mut warnings);
    Harvest { specs, warnings, used }
}

fn item_id(r: &Resource, item: &Value) -> Option<String> {
    item.get(&r.id_field).filter(|v| !v.is_null()).map(id_key)
}

/// One spec's kept items: collection template → (scope, items) groups.
type Collections = BTreeMap<String, Vec<(String, Vec<Value>)>>;

/// Checks every item as the fixture loader would and builds one document per spec.
fn assemble(api: &Api, state: BTreeMap<(usize, String), Items>, warnings: &mut Vec<String>) -> Vec<SpecFixtures> {
    // Parents before children, so a child is kept only when its parent was.
    let depth = |mut res: usize| {
        let mut d = 0;
        while let Some(p) = api.resources.get(res).and_then(|r| r.parent) {
            d += 1;
            res = p;
            if d > 32 {
                break;
            }
        }
        d
    };
    let mut keys: Vec<(usize, String)> = state.keys().cloned().collect();
    keys.sort_by_key(|(res, scope)| (depth(*res), *res, scope.clone()));
    let mut kept: HashMap<(usize, String), HashSet<String>> = HashMap::new();
    let mut docs: BTreeMap<usize, Collections> = BTreeMap::new();
    for key in keys {
        let Some(items) = state.get(&key) else { continue };
        let (res_idx, scope) = &key;
        let Some(r) = api.resources.get(*res_idx) else { continue };
        let Some(spec) = api.specs.get(r.spec) else { continue };
        if let Some(parent_idx) = r.parent {
            let (parent_scope, parent_id) = match scope.rsplit_once('/') {
                Some((s, id)) => (s.to_string(), id.to_string()),
                None => (String::new(), scope.clone()),
            };
            let exists = kept
                .get(&(parent_idx, parent_scope))
                .is_some_and(|ids| ids.contains(&parent_id));
            if !exists {
                let n = items.slots.iter().flatten().count();
                if n > 0 {
                    let parent = api.resources.get(parent_idx).map_or("parent".into(), |p| p.singular());
                    warnings.push(format!(
                        "{} {}: skipped {n} item(s): their {parent} {parent_id:?} is not in the recording",
                        spec.doc.name, r.collection
                    ));
                }
                continue;
            }
        }
        let mut seen_unique: Vec<HashSet<String>> = vec![HashSet::new(); r.unique.len()];
        let mut out = Vec::new();
        for (value, archived) in items.slots.iter().flatten() {
            let id = item_id(r, value).unwrap_or_default();
            if let Some(schema) = &r.schema
                && let Some(v) = schema.violations(spec.root(), value, Location::Body, "").first()
            {
                let field = if v.field.is_empty() {
                    String::new()
                } else {
                    format!("{}: ", v.field)
                };
                warnings.push(format!(
                    "{} {}: skipped {id:?}: {field}{} (does not match {})",
                    spec.doc.name, r.collection, v.message, schema.pointer
                ));
                continue;
            }
            let clash = r.unique.iter().zip(seen_unique.iter()).find_map(|(rule, seen)| {
                let v = value.get(&rule.field).filter(|v| !v.is_null())?;
                let k = unique_text(v, rule.case_insensitive);
                seen.contains(&k).then(|| rule.field.clone())
            });
            if let Some(field) = clash {
                warnings.push(format!(
                    "{} {}: skipped {id:?}: another item has the same {field}",
                    spec.doc.name, r.collection
                ));
                continue;
            }
            for (rule, seen) in r.unique.iter().zip(seen_unique.iter_mut()) {
                if let Some(v) = value.get(&rule.field).filter(|v| !v.is_null()) {
                    seen.insert(unique_text(v, rule.case_insensitive));
                }
            }
            kept.entry(key.clone()).or_default().insert(id);
            let mut item = value.clone();
            if *archived && let Some(obj) = item.as_object_mut() {
                obj.insert(ARCHIVED.into(), Value::Bool(true));
            }
            out.push(item);
        }
        if !out.is_empty() {
            docs.entry(r.spec)
                .or_default()
                .entry(r.collection.clone())
                .or_default()
                .push((scope.clone(), out));
        }
    }
    docs.into_iter()
        .filter_map(|(spec_idx, collections)| {
            let spec = api.specs.get(spec_idx)?;
            let mut resources = Map::new();
            let mut counts = Vec::new();
            for (collection, groups) in collections {
                let top_level = api
                    .resources
                    .iter()
                    .find(|r| r.spec == spec_idx && r.collection == collection)
                    .is_some_and(|r| r.scope_params.is_empty());
                let n = groups.iter().map(|(_, items)| items.len()).sum();
                counts.push((collection.clone(), n));
                let value = if top_level {
                    Value::Array(groups.into_iter().flat_map(|(_, items)| items).collect())
                } else {
                    Value::Object(
                        groups
                            .into_iter()
                            .map(|(scope, items)| (scope, Value::Array(items)))
                            .collect(),
                    )
                };
                resources.insert(collection, value);
            }
            let mut document = Map::new();
            document.insert("resources".into(), Value::Object(resources));
            Some(SpecFixtures {
                spec: spec.doc.name.clone(),
                document: Value::Object(document),
                counts,
            })
        })
        .collect()
}

fn unique_text(v: &Value, case_insensitive: bool) -> String {
    match v {
        Value::String(s) if case_insensitive => s.to_lowercase(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Writes `DIR/<spec file stem>/recorded.json` for each spec; returns the files written.
pub fn write(out: &Path, harvest: &Harvest) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for s in &harvest.specs {
        let dir = out.join(&s.spec);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let file = dir.join("recorded.json");
        let mut text = serde_json::to_string_pretty(&s.document).map_err(|e| e.to_string())?;
        text.push('\n');
        std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
        files.push(file);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_last_word_about_an_item_wins_and_order_is_kept() {
        let mut items = Items::default();
        items.upsert("a".into(), json!({"id": "a", "v": 1}), None);
        items.upsert("b".into(), json!({"id": "b"}), None);
        items.archive("a");
        // A read says nothing about archiving: the mark stays.
        items.upsert("a".into(), json!({"id": "a", "v": 2}), None);
        items.remove("b");
        items.upsert("c".into(), json!({"id": "c"}), Some(true));
        items.upsert("c".into(), json!({"id": "c"}), Some(false));
        let left: Vec<(Value, bool)> = items.slots.into_iter().flatten().collect();
        assert_eq!(
            left,
            vec![(json!({"id": "a", "v": 2}), true), (json!({"id": "c"}), false)]
        );
    }
}
