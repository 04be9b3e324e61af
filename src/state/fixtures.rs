//! Seed data: `fixtures/<spec file stem>/*.{yaml,json}`, validated and turned into the initial state.
//!
//! Fixtures are checked as strictly as requests: every item must validate against its resource's
//! schema, every child must name a parent that exists, every reference an item that exists, and
//! unique values must be unique. A bad fixture stops startup with the file, the item and the JSON
//! pointer, because a sandbox that starts from invalid data would hand clients responses the real
//! API never sends.
//!
//! JSON files are read as a stream, one item at a time, so a million-item fixture never exists
//! as a parsed tree: each item is checked and stored (compactly, see [`crate::state::store`]) before the
//! next is read. Parents and references are checked once every file is in, so their order within
//! and across files does not matter.

use crate::model::Api;
use crate::spec::error::SpecError;
use crate::spec::pointer::escape_pointer;
use crate::spec::read::read_value;
use crate::state::item::{id_key, to_entry};
use crate::state::memory::seed_unique;
use crate::state::memory::{Collection, Seed};
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
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
    /// Items taken from the spec's examples, for resources that have no fixtures.
    pub from_examples: usize,
}

/// Loads the fixtures of every spec from `dir` (a missing directory is no fixtures).
pub fn load(api: &Api, dir: Option<&Path>) -> Result<Fixtures, Vec<SpecError>> {
    let out = Fixtures {
        seed: Seed {
            unique_counts: api.resources.iter().map(|r| r.unique.len()).collect(),
            ..Default::default()
        },
        clients: vec![Vec::new(); api.specs.len()],
        ..Default::default()
    };
    let mut loader = Loader {
        api,
        out,
        links: Vec::new(),
        file: PathBuf::new(),
        spec: 0,
    };
    let mut errors = Vec::new();
    if let Some(dir) = dir {
        for (spec_idx, spec) in api.specs.iter().enumerate() {
            for file in fixture_files(&dir.join(&spec.doc.name)) {
                loader.out.files += 1;
                loader.spec = spec_idx;
                loader.file = file.clone();
                if let Err(e) = loader.load_file(&file) {
                    errors.push(e);
                }
            }
        }
    }
    errors.extend(loader.check_links());
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = loader.out;
    out.from_examples = crate::state::examples::seed_from_examples(api, &mut out.seed);
    Ok(out)
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

/// Something a fixture item points at, checked once every file is loaded.
struct Link {
    file: PathBuf,
    pointer: String,
    target: usize,
    scope: String,
    id: String,
    /// A reference must point at an active item; a parent may be archived.
    reference: bool,
}

struct Loader<'a> {
    api: &'a Api,
    out: Fixtures,
    links: Vec<Link>,
    /// The file and spec being loaded.
    file: PathBuf,
    spec: usize,
}

impl Loader<'_> {
    fn error(&self, pointer: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError::new(&self.file, pointer, message)
    }

    fn load_file(&mut self, file: &Path) -> Result<(), SpecError> {
        if file.extension().is_some_and(|e| e == "json") {
            return self.stream_json(file);
        }
        let doc = read_value(file)?;
        let Value::Object(mut top) = doc else {
            return Err(self.error("", "a fixture file is a mapping with `resources` (and `clients`)"));
        };
        if let Some(clients) = top.remove("clients") {
            self.clients(&clients)?;
        }
        match top.remove("resources") {
            None => Ok(()),
            Some(Value::Object(resources)) => {
                for (collection, value) in resources {
                    self.collection(&collection, value)?;
                }
                Ok(())
            }
            Some(_) => Err(self.error("/resources", "`resources` must map collection paths to items")),
        }
    }

    fn clients(&mut self, clients: &Value) -> Result<(), SpecError> {
        for (i, c) in clients.as_array().into_iter().flatten().enumerate() {
            let id = c.get("client_id").and_then(Value::as_str);
            let secret = c.get("client_secret").and_then(Value::as_str);
            let (Some(id), Some(secret)) = (id, secret) else {
                return Err(self.error(
                    format!("/clients/{i}"),
                    "a client needs client_id and client_secret strings",
                ));
            };
            if let Some(list) = self.out.clients.get_mut(self.spec) {
                list.push(Client {
                    id: id.into(),
                    secret: secret.into(),
                });
            }
        }
        Ok(())
    }

    /// The resource a collection key names, and whether it is a sub-collection.
    fn resource(&self, collection: &str) -> Result<(usize, bool), SpecError> {
        let at = format!("/resources/{}", escape_pointer(collection));
        let spec = self.spec;
        match self
            .api
            .resources
            .iter()
            .position(|r| r.spec == spec && r.collection == collection)
        {
            Some(i) => Ok((i, self.api.resources.get(i).is_some_and(|r| !r.scope_params.is_empty()))),
            None => {
                let known: Vec<&str> = self
                    .api
                    .resources
                    .iter()
                    .filter(|r| r.spec == spec)
                    .map(|r| r.collection.as_str())
                    .collect();
                let title = self.api.specs.get(spec).map(|s| s.title.as_str()).unwrap_or_default();
                Err(self.error(
                    at,
                    format!(
                        "{collection:?} is not a resource of {title} (resources: {})",
                        known.join(", ")
                    ),
                ))
            }
        }
    }

    /// A collection from a parsed document: a list, or (for a sub-collection) parent id → list.
    fn collection(&mut self, collection: &str, value: Value) -> Result<(), SpecError> {
        let at = format!("/resources/{}", escape_pointer(collection));
        let (res, nested) = self.resource(collection)?;
        let groups: Vec<(String, Value)> = match (nested, value) {
            (false, v) => vec![(String::new(), v)],
            (true, Value::Object(m)) => m.into_iter().collect(),
            (true, _) => return Err(self.error(at, "a sub-collection maps each parent's id to a list of items")),
        };
        for (scope, items) in groups {
            let group_at = if nested {
                format!("{at}/{}", escape_pointer(&scope))
            } else {
                at.clone()
            };
            let Value::Array(items) = items else {
                return Err(self.error(group_at, "expected a list of items"));
            };
            for (i, item) in items.into_iter().enumerate() {
                self.item(res, &scope, item, &format!("{group_at}/{i}"))?;
            }
        }
        Ok(())
    }

    /// Checks one item and adds it to the seed.
    fn item(&mut self, res_idx: usize, scope: &str, mut item: Value, at: &str) -> Result<(), SpecError> {
        let api = self.api;
        let Some(r) = api.resources.get(res_idx) else {
            return Ok(());
        };
        let archived = item
            .as_object_mut()
            .and_then(|m| m.remove(ARCHIVED))
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let Some(id) = item.get(&r.id_field).filter(|v| !v.is_null()).map(id_key) else {
            return Err(self.error(at, format!("fixture item has no {:?}", r.id_field)));
        };
        if let (Some(schema), Some(spec)) = (&r.schema, api.specs.get(self.spec))
            && let Some(v) = schema
                .violations(spec.root(), &item, crate::model::schema::Location::Body, "")
                .first()
        {
            return Err(self.error(
                format!("{at}{}", v.pointer),
                format!("does not match {}: {}", schema.pointer, v.message),
            ));
        }
        if let Some(parent) = r.parent {
            let (parent_scope, parent_id) = match scope.rsplit_once('/') {
                Some((s, id)) => (s.to_string(), id.to_string()),
                None => (String::new(), scope.to_string()),
            };
            let group = at.rsplit_once('/').map_or(at, |(g, _)| g).to_string();
            self.link(group, parent, parent_scope, parent_id, false);
        }
        for reference in &r.references {
            if let Some(v) = item.get(&reference.field).filter(|v| !v.is_null()) {
                let pointer = format!("{at}/{}", escape_pointer(&reference.field));
                self.link(pointer, reference.target, String::new(), id_key(v), true);
            }
        }
        let Value::Object(obj) = item else {
            return Err(self.error(at, "a fixture item must be an object"));
        };
        let coll = Arc::make_mut(
            self.out
                .seed
                .collections
                .entry((res_idx, scope.to_string()))
                .or_insert_with(|| Arc::new(Collection::new(r.unique.len()))),
        );
        if coll.get(&id).is_some() {
            return Err(SpecError::new(&self.file, at, format!("duplicate id {id:?}")));
        }
        let value = Value::Object(obj);
        seed_unique(coll, r, &value, &id).map_err(|e| SpecError::new(&self.file, at, e.message))?;
        let Value::Object(obj) = value else { return Ok(()) };
        let mut entry = to_entry(r, obj);
        entry.archived = archived;
        coll.insert(id, entry);
        self.out.items += 1;
        Ok(())
    }

    fn link(&mut self, pointer: String, target: usize, scope: String, id: String, reference: bool) {
        // A parent is named once per group of children: one check is enough.
        if !reference
            && self
                .links
                .last()
                .is_some_and(|l| l.pointer == pointer && l.file == self.file)
        {
            return;
        }
        self.links.push(Link {
            file: self.file.clone(),
            pointer,
            target,
            scope,
            id,
            reference,
        });
    }

    fn check_links(&self) -> Vec<SpecError> {
        let mut errors = Vec::new();
        for l in &self.links {
            let found = self
                .out
                .seed
                .collections
                .get(&(l.target, l.scope.clone()))
                .and_then(|c| c.get(&l.id));
            let ok = match found {
                Some(e) => !l.reference || !e.archived,
                None => false,
            };
            if !ok {
                let what = self
                    .api
                    .resources
                    .get(l.target)
                    .map(|t| t.singular())
                    .unwrap_or_default();
                let message = if l.reference {
                    format!("refers to {what} {:?}, which is not in the fixtures", l.id)
                } else {
                    format!("no {what} with id {:?} in the fixtures", l.id)
                };
                errors.push(SpecError::new(&l.file, l.pointer.clone(), message));
            }
        }
        errors
    }

    /// Reads a JSON fixture file item by item.
    fn stream_json(&mut self, file: &Path) -> Result<(), SpecError> {
        let reader = std::fs::File::open(file)
            .map(std::io::BufReader::new)
            .map_err(|e| self.error("", format!("cannot read file: {e}")))?;
        let mut de = serde_json::Deserializer::from_reader(reader);
        let mut failure = None;
        let result = FileSeed {
            loader: self,
            failure: &mut failure,
        }
        .deserialize(&mut de)
        .and_then(|()| de.end());
        match (failure, result) {
            (Some(e), _) => Err(e),
            (None, Ok(())) => Ok(()),
            (None, Err(e)) => Err(self.error(
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Streaming: serde visitors that hand each item to the loader as soon as it is parsed. A check
// that fails stores its SpecError and aborts the parse with a placeholder serde error.
// ---------------------------------------------------------------------------------------------

struct FileSeed<'l, 'a> {
    loader: &'l mut Loader<'a>,
    failure: &'l mut Option<SpecError>,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a fixture file: an object with `resources` and `clients`")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "clients" => {
                    let clients: Value = map.next_value()?;
                    fail(self.failure, self.loader.clients(&clients))?;
                }
                "resources" => map.next_value_seed(ResourcesSeed {
                    loader: &mut *self.loader,
                    failure: &mut *self.failure,
                })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn fail<E: serde::de::Error>(slot: &mut Option<SpecError>, r: Result<(), SpecError>) -> Result<(), E> {
    r.map_err(|e| {
        *slot = Some(e);
        E::custom("fixture check failed")
    })
}

struct ResourcesSeed<'l, 'a> {
    loader: &'l mut Loader<'a>,
    failure: &'l mut Option<SpecError>,
}

impl<'de> DeserializeSeed<'de> for ResourcesSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ResourcesSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`resources`: collection paths mapped to items")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(collection) = map.next_key::<String>()? {
            let (res, nested) = match self.loader.resource(&collection) {
                Ok(found) => found,
                Err(e) => return fail(self.failure, Err(e)),
            };
            let at = format!("/resources/{}", escape_pointer(&collection));
            let items = ItemsSeed {
                loader: &mut *self.loader,
                failure: &mut *self.failure,
                res,
                scope: String::new(),
                at,
            };
            if nested {
                map.next_value_seed(GroupsSeed(items))?;
            } else {
                map.next_value_seed(items)?;
            }
        }
        Ok(())
    }
}

/// A sub-collection: parent id → list of items.
struct GroupsSeed<'l, 'a>(ItemsSeed<'l, 'a>);

impl<'de> DeserializeSeed<'de> for GroupsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for GroupsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sub-collection: each parent's id mapped to a list of items")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let GroupsSeed(items) = self;
        while let Some(scope) = map.next_key::<String>()? {
            let at = format!("{}/{}", items.at, escape_pointer(&scope));
            map.next_value_seed(ItemsSeed {
                loader: &mut *items.loader,
                failure: &mut *items.failure,
                res: items.res,
                scope,
                at,
            })?;
        }
        Ok(())
    }
}

struct ItemsSeed<'l, 'a> {
    loader: &'l mut Loader<'a>,
    failure: &'l mut Option<SpecError>,
    res: usize,
    scope: String,
    at: String,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of items")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut i = 0usize;
        while let Some(item) = seq.next_element::<Value>()? {
            let at = format!("{}/{i}", self.at);
            fail(self.failure, self.loader.item(self.res, &self.scope, item, &at))?;
            i += 1;
        }
        Ok(())
    }
}
