//! Reloading a running application from its files (`--watch`): a new engine, swapped in whole.
//!
//! A reload loads and compiles the specs and fixtures again exactly as startup does. Anything
//! refused (a YAML error, a `$ref` to a file that is gone, a spec or fixture the loader rejects)
//! leaves the running engine alone: the errors are logged with their file and pointer and
//! recorded. Otherwise the new engine is built beside the running one and swapped in with one
//! atomic store (see [`App::engine`]): requests that started on the old engine finish on it,
//! connections are never touched.
//!
//! What survives: the journal (it lives beside the engine), fault rules (shared), issued tokens
//! (shared, see [`Auth::carry_tokens`]), and the stored items of every resource that is kept. A
//! resource is kept when the new model has a resource of the same identity (spec file stem and
//! collection template) with the same fingerprint ([`crate::model::fingerprint`]: the item
//! schema with `$ref`s resolved, key, unique rules, scope, parent) and its fixture items are the
//! same. Any other resource starts from the new fixtures (or the spec's examples), in every
//! tenant: the items stored under the old schema may not be valid under the new one, and
//! changed fixtures are a request for new starting data.

use crate::model::fingerprint::{fingerprints, identity};
use crate::pipeline::Engine;
use crate::pipeline::auth::Auth;
use crate::spec::error::SpecError;
use crate::startup::{App, LoadOptions, load};
use crate::state::fixtures;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

/// What the application was loaded from: loaded again, the same way, on every reload.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub specs: Vec<PathBuf>,
    pub fixtures: PathBuf,
    pub load: LoadOptions,
}

/// One reload, as `GET /__specbox/reloads` lists it.
#[derive(Debug, Clone)]
pub struct Record {
    pub at: SystemTime,
    pub ok: bool,
    /// Every problem, one per line, each with its file and JSON pointer.
    pub error: Option<String>,
    /// The files whose change set it off.
    pub files: Vec<String>,
    /// Resources (`spec:/collection`) whose stored items were kept.
    pub kept: Vec<String>,
    /// Resources that were there before and start afresh from their fixtures or examples.
    pub reset: Vec<String>,
    /// Resources new in this version, and those gone from it.
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub took_ms: f64,
}

impl Record {
    pub fn to_json(&self) -> Value {
        let mut v = json!({
            "at": humantime::format_rfc3339_millis(self.at).to_string(),
            "ok": self.ok,
            "files": self.files,
            "kept": self.kept,
            "reset": self.reset,
            "added": self.added,
            "removed": self.removed,
            "took_ms": (self.took_ms * 10.0).round() / 10.0,
        });
        if let (Some(error), Some(obj)) = (&self.error, v.as_object_mut()) {
            obj.insert("error".into(), Value::String(error.clone()));
        }
        v
    }
}

/// The most recent reloads, oldest first.
#[derive(Default)]
pub struct Reloads {
    list: Mutex<VecDeque<Record>>,
}

/// How many reloads are remembered.
const KEPT_RECORDS: usize = 100;

impl Reloads {
    pub fn push(&self, record: Record) {
        let mut list = self.list.lock();
        if list.len() == KEPT_RECORDS {
            list.pop_front();
        }
        list.push_back(record);
    }

    /// Every remembered reload, oldest first.
    pub fn list(&self) -> Vec<Record> {
        self.list.lock().iter().cloned().collect()
    }
}

/// Loads `inputs` again and, if everything loads, swaps the new engine in. `changed` is what set
/// it off (for the record). Returns the files the new version was loaded from (to watch), or
/// `None` when the running version was kept.
pub fn reload(app: &App, inputs: &Inputs, changed: &[PathBuf]) -> Option<Vec<PathBuf>> {
    let started = Instant::now();
    let files: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
    let fail = |errors: Vec<SpecError>| {
        for e in &errors {
            if e.warning {
                tracing::warn!("{e}");
            } else {
                tracing::error!("reload refused, still serving the previous version: {e}");
            }
        }
        let text: Vec<String> = errors
            .iter()
            .map(|e| {
                if e.warning {
                    format!("warning: {e}")
                } else {
                    e.to_string()
                }
            })
            .collect();
        app.reloads.push(Record {
            at: SystemTime::now(),
            ok: false,
            error: Some(text.join("\n")),
            files: files.clone(),
            kept: Vec::new(),
            reset: Vec::new(),
            added: Vec::new(),
            removed: Vec::new(),
            took_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
        None
    };
    let loaded = match load(&inputs.specs, &inputs.load) {
        Ok(l) => l,
        Err(errors) => return fail(errors),
    };
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    let mut api = loaded.api;
    let dir = inputs.fixtures.is_dir().then_some(inputs.fixtures.as_path());
    let seeded = match fixtures::load(&api, dir) {
        Ok(f) => f,
        Err(errors) => return fail(errors),
    };
    // As at startup (`build_app`), before the fingerprints, which read both builds' documents.
    crate::model::keep::keep_what_requests_read(&mut api);

    let old = app.engine.load_full();
    let old_prints = fingerprints(&old.api);
    let old_fixtures = old.store.seed().fixture_digests(old.api.resources.len());
    let new_prints = fingerprints(&api);
    let new_fixtures = seeded.seed.fixture_digests(api.resources.len());
    let new_by_identity: HashMap<String, usize> = api
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| (identity(&api, r), i))
        .collect();
    let (mut kept, mut reset, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    let mut kept_map: Vec<Option<usize>> = Vec::with_capacity(old.api.resources.len());
    for (i, r) in old.api.resources.iter().enumerate() {
        let name = identity(&old.api, r);
        let same =
            |new: &usize| old_prints.get(i) == new_prints.get(*new) && old_fixtures.get(i) == new_fixtures.get(*new);
        match new_by_identity.get(&name) {
            // A shared store (Redis) keeps every resource's state where it is: nothing restarts.
            Some(new) if same(new) || !old.store.is_local() => {
                kept_map.push(Some(*new));
                kept.push(name);
            }
            Some(_) => {
                kept_map.push(None);
                reset.push(name);
            }
            None => {
                kept_map.push(None);
                removed.push(name);
            }
        }
    }
    let before: std::collections::HashSet<String> = old.api.resources.iter().map(|r| identity(&old.api, r)).collect();
    let added: Vec<String> = api
        .resources
        .iter()
        .map(|r| identity(&api, r))
        .filter(|n| !before.contains(n))
        .collect();

    let spec_index: HashMap<&Path, usize> = api
        .specs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.doc.path.as_path(), i))
        .collect();
    let spec_map: Vec<Option<usize>> = old
        .api
        .specs
        .iter()
        .map(|s| spec_index.get(s.doc.path.as_path()).copied())
        .collect();
    let mut auth = Auth::new(old.auth.enabled(), seeded.clients, old.auth.token_ttl());
    auth.carry_tokens(&old.auth, &spec_map);
    drop(spec_index);

    // Last, right before the swap: what the old engine's requests write from here on to a
    // collection that was kept lands in the new store too (collections are shared).
    let mut store = old.store.successor(&api, seeded.seed);
    let collections = store.carry_over(&old.store, &kept_map);
    app.engine.store(Arc::new(Engine {
        api,
        store,
        auth,
        faults: old.faults.clone(),
        settings: old.settings.clone(),
    }));
    let took_ms = started.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        "reloaded in {took_ms:.0} ms after a change to {}: {} resource(s) kept ({collections} stored collection(s)), {} started afresh{}",
        files.join(", "),
        kept.len(),
        reset.len() + added.len(),
        if reset.is_empty() {
            String::new()
        } else {
            format!(" ({})", reset.join(", "))
        }
    );
    app.reloads.push(Record {
        at: SystemTime::now(),
        ok: true,
        error: None,
        files,
        kept,
        reset,
        added,
        removed,
        took_ms,
    });
    Some(loaded.files)
}
