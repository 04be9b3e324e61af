//! Seed data: `fixtures/<spec file stem>/*.{yaml,json}`, validated and turned into the initial state.
//!
//! Fixtures are checked as strictly as requests: every item must validate against its resource's
//! schema, every child must name a parent that exists, and unique values must be unique. A bad
//! fixture stops startup with the file, the item and the JSON pointer, because a sandbox that
//! starts from invalid data would hand clients responses the real API never sends.

use crate::act::{id_key, seed_unique};
use crate::api::Api;
use crate::spec::{SpecError, escape_pointer, read_value};
use crate::store::{Collection, Seed};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Marks a fixture item as archived.
pub const ARCHIVED: &str = "x-specbox-archived";

/// OAuth2 client credentials accepted by a spec's token endpoint.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: String,
}

/// What the fixtures of all specs add up to.
#[derive(Default)]
pub struct Fixtures {
    pub seed: Seed,
    /// Per spec (by index).
    pub clients: Vec<Vec<Client>>,
    pub files: usize,
    pub items: usize,
}

/// Loads the fixtures of every spec from `dir` (a missing directory is no fixtures).
pub fn load(api: &Api, dir: Option<&Path>) -> Result<Fixtures, Vec<SpecError>> {
    let mut out = Fixtures {
        seed: Seed {
            unique_counts: api.resources.iter().map(|r| r.unique.len()).collect(),
            ..Default::default()
        },
        clients: vec![Vec::new(); api.specs.len()],
        ..Default::default()
    };
    let mut errors = Vec::new();
    let Some(dir) = dir else { return Ok(out) };
    let mut refs = Vec::new();
    for (spec_idx, spec) in api.specs.iter().enumerate() {
        let spec_dir = dir.join(&spec.doc.name);
        for file in fixture_files(&spec_dir) {
            out.files += 1;
            if let Err(e) = load_file(api, spec_idx, &file, &mut out, &mut refs) {
                errors.push(e);
            }
        }
    }
    // References are checked once every file is in: a payment may come before its customer.
    for r in refs {
        let found = out
            .seed
            .collections
            .get(&(r.target, String::new()))
            .and_then(|c| c.get(&r.id));
        match found {
            Some(e) if !e.archived => {}
            _ => {
                let what = api.resources.get(r.target).map(|t| t.singular()).unwrap_or_default();
                errors.push(SpecError::new(
                    &r.file,
                    r.pointer,
                    format!("refers to {what} {:?}, which is not in the fixtures", r.id),
                ));
            }
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

fn fixture_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// A reference found in a fixture item, checked after all files are loaded.
struct RefCheck {
    file: PathBuf,
    pointer: String,
    target: usize,
    id: String,
}

fn load_file(
    api: &Api,
    spec_idx: usize,
    file: &Path,
    out: &mut Fixtures,
    refs: &mut Vec<RefCheck>,
) -> Result<(), SpecError> {
    let doc = read_value(file)?;
    if let Some(clients) = doc.get("clients") {
        for (i, c) in clients.as_array().into_iter().flatten().enumerate() {
            let id = c.get("client_id").and_then(Value::as_str);
            let secret = c.get("client_secret").and_then(Value::as_str);
            match (id, secret) {
                (Some(id), Some(secret)) => {
                    if let Some(clients) = out.clients.get_mut(spec_idx) {
                        clients.push(Client {
                            id: id.into(),
                            secret: secret.into(),
                        });
                    }
                }
                _ => {
                    return Err(SpecError::new(
                        file,
                        format!("/clients/{i}"),
                        "a client needs client_id and client_secret strings",
                    ));
                }
            }
        }
    }
    let Some(resources) = doc.get("resources") else {
        return Ok(());
    };
    let Some(resources) = resources.as_object() else {
        return Err(SpecError::new(
            file,
            "/resources",
            "`resources` must map collection paths to items",
        ));
    };
    let Some(spec) = api.specs.get(spec_idx) else {
        return Ok(());
    };
    // Parents before children, whatever order the file lists them in.
    let mut keys: Vec<&String> = resources.keys().collect();
    keys.sort_by_key(|k| k.matches('/').count());
    for collection in keys {
        let at = format!("/resources/{}", escape_pointer(collection));
        let Some(res_idx) = api
            .resources
            .iter()
            .position(|r| r.spec == spec_idx && r.collection == *collection)
        else {
            let known: Vec<&str> = api
                .resources
                .iter()
                .filter(|r| r.spec == spec_idx)
                .map(|r| r.collection.as_str())
                .collect();
            return Err(SpecError::new(
                file,
                at,
                format!(
                    "{collection:?} is not a resource of {} (resources: {})",
                    spec.title,
                    known.join(", ")
                ),
            ));
        };
        let Some(r) = api.resources.get(res_idx) else { continue };
        let Some(value) = resources.get(collection.as_str()) else {
            continue;
        };
        // Top-level collections list their items; sub-collections map a parent's id to its items.
        let groups: Vec<(String, &Value, String)> = if r.scope_params.is_empty() {
            vec![(String::new(), value, at.clone())]
        } else {
            match value.as_object() {
                Some(m) => m
                    .iter()
                    .map(|(scope, items)| (scope.clone(), items, format!("{at}/{}", escape_pointer(scope))))
                    .collect(),
                None => {
                    return Err(SpecError::new(
                        file,
                        at,
                        "a sub-collection maps each parent's id to a list of items",
                    ));
                }
            }
        };
        for (scope, items, group_at) in groups {
            let Some(items) = items.as_array() else {
                return Err(SpecError::new(file, group_at, "expected a list of items"));
            };
            if let Some(parent_idx) = r.parent {
                let Some(parent) = api.resources.get(parent_idx) else {
                    continue;
                };
                let (parent_scope, parent_id) = match scope.rsplit_once('/') {
                    Some((s, id)) => (s.to_string(), id.to_string()),
                    None => (String::new(), scope.clone()),
                };
                let exists = out
                    .seed
                    .collections
                    .get(&(parent_idx, parent_scope))
                    .is_some_and(|c| c.get(&parent_id).is_some());
                if !exists {
                    return Err(SpecError::new(
                        file,
                        group_at,
                        format!("no {} with id {parent_id:?} in the fixtures", parent.singular()),
                    ));
                }
            }
            let unique_count = r.unique.len();
            for (i, item) in items.iter().enumerate() {
                let item_at = format!("{group_at}/{i}");
                let mut item = item.clone();
                let archived = item
                    .as_object_mut()
                    .and_then(|m| m.remove(ARCHIVED))
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false);
                let coll = Arc::make_mut(
                    out.seed
                        .collections
                        .entry((res_idx, scope.clone()))
                        .or_insert_with(|| Arc::new(Collection::new(unique_count))),
                );
                let Some(id) = item.get(&r.id_field).filter(|v| !v.is_null()).map(id_key) else {
                    return Err(SpecError::new(
                        file,
                        item_at,
                        format!("fixture item has no {:?}", r.id_field),
                    ));
                };
                if let Some(schema) = &r.schema
                    && let Some(v) = schema
                        .violations(spec.root(), &item, crate::validate::Location::Body, "")
                        .first()
                {
                    return Err(SpecError::new(
                        file,
                        format!("{item_at}{}", v.pointer),
                        format!("does not match {}: {}", schema.pointer, v.message),
                    ));
                }
                for reference in &r.references {
                    if let Some(v) = item.get(&reference.field).filter(|v| !v.is_null()) {
                        refs.push(RefCheck {
                            file: file.to_path_buf(),
                            pointer: format!("{item_at}/{}", escape_pointer(&reference.field)),
                            target: reference.target,
                            id: id_key(v),
                        });
                    }
                }
                if coll.get(&id).is_some() {
                    return Err(SpecError::new(file, item_at, format!("duplicate id {id:?}")));
                }
                seed_unique(coll, r, &item, &id).map_err(|e| SpecError::new(file, item_at.clone(), e.message))?;
                let Value::Object(obj) = item else {
                    return Err(SpecError::new(file, item_at, "a fixture item must be an object"));
                };
                let mut entry = r.to_entry(obj);
                entry.archived = archived;
                coll.insert(id, entry);
                out.items += 1;
            }
        }
    }
    Ok(())
}
