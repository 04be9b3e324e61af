//! From command-line options to a ready [`App`]: find the spec files, load, compile, seed.
//!
//! Startup is all-or-nothing: every problem in every file is collected and reported (file and
//! JSON pointer), and nothing is served half-loaded.
//!
//! Owns: [`cli`] (flags and `SPECBOX_*` variables) and [`App`], the engine plus what the server
//! and the admin API keep beside it (the journal, the in-flight count). May not touch: sockets or
//! the admin endpoints, which sit above and take an `App`.

pub mod cli;

use crate::model::{Api, BuildOptions};
use crate::pipeline::auth::Auth;
use crate::pipeline::faults::{ChaosConfig, Faults};
use crate::pipeline::{Engine, Settings};
use crate::spec;
use crate::spec::error::SpecError;
use crate::state::fixtures;
use crate::state::store::Store;
use crate::traffic::journal::Journal;
use std::path::{Path, PathBuf};

/// Expands directories into the OpenAPI documents directly inside them. Files named explicitly
/// are always loaded; in a directory, files that are not OpenAPI documents (shared fragments of
/// a multi-file spec) are skipped.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Vec<SpecError>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(p) {
                Ok(rd) => rd
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|f| f.is_file() && f.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"))
                    .collect(),
                Err(e) => {
                    errors.push(SpecError::new(p, "", format!("cannot read directory: {e}")));
                    continue;
                }
            };
            files.sort();
            files.retain(|f| looks_like_openapi(f));
            if files.is_empty() {
                errors.push(SpecError::new(
                    p,
                    "",
                    "no OpenAPI documents (*.yaml, *.yml, *.json) in this directory",
                ));
            }
            out.extend(files);
        } else if p.is_file() {
            out.push(p.clone());
        } else {
            errors.push(SpecError::new(p, "", "no such file or directory"));
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// A cheap look at the top of a file: does it declare `openapi:` or `swagger:`?
fn looks_like_openapi(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return true;
    };
    text.lines().take(200).any(|l| {
        let t = l.trim_start_matches(['{', ' ', '\t', '"', '\'']);
        t.starts_with("openapi") || t.starts_with("swagger")
    }) || text.contains("\"openapi\"")
}

/// Loads and compiles everything. Errors are collected across all files.
pub fn load_api(spec_paths: &[PathBuf], mounts: &[(String, String)]) -> Result<Api, Vec<SpecError>> {
    let files = discover(spec_paths)?;
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for f in &files {
        match spec::load(f) {
            Ok(d) => docs.push(d),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Api::build(
        docs,
        &BuildOptions {
            mounts: mounts.to_vec(),
        },
    )
}

/// The running application: the request engine, and what the server and the admin API keep
/// beside it (the journal of recent exchanges, the count of requests in flight).
pub struct App {
    pub engine: Engine,
    pub journal: Journal,
    /// API requests being served right now (admin requests excluded), for health and shutdown.
    pub in_flight: std::sync::atomic::AtomicUsize,
}

/// What the running application is configured with, beyond the specs.
pub struct AppOptions {
    pub settings: Settings,
    pub auth_enabled: bool,
    pub token_ttl: std::time::Duration,
    pub chaos: ChaosConfig,
    pub journal_size: usize,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            settings: Settings {
                max_depth: 64,
                cors: true,
                admin: true,
                admin_token: None,
            },
            auth_enabled: true,
            token_ttl: crate::pipeline::auth::DEFAULT_TOKEN_TTL,
            chaos: ChaosConfig::default(),
            journal_size: 1000,
        }
    }
}

/// Builds the running application: model, fixtures, state, credentials, faults, journal.
pub fn build_app(api: Api, fixtures_dir: &Path, opts: AppOptions) -> Result<(App, usize), Vec<SpecError>> {
    let dir = fixtures_dir.is_dir().then_some(fixtures_dir);
    let loaded = fixtures::load(&api, dir)?;
    let items = loaded.items;
    if loaded.from_examples > 0 {
        tracing::info!(
            "{} items from the specs' examples (resources without fixtures)",
            loaded.from_examples
        );
    }
    let auth = Auth::new(opts.auth_enabled, loaded.clients, opts.token_ttl);
    let app = App {
        engine: Engine {
            api,
            store: Store::new(loaded.seed),
            auth,
            faults: Faults::new(opts.chaos),
            settings: opts.settings,
        },
        journal: Journal::new(opts.journal_size),
        in_flight: Default::default(),
    };
    Ok((app, items))
}
