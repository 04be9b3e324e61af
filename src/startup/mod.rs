//! From command-line options to a ready [`App`]: find the spec files, load, compile, seed.
//!
//! Startup is all-or-nothing: every problem in every file is collected and reported (file and
//! JSON pointer), and nothing is served half-loaded.
//!
//! Owns: [`cli`] (flags and `SPECBOX_*` variables) and [`App`], the engine plus what the server
//! and the admin API keep beside it (the journal, the in-flight count, the reloads); [`reload`]
//! (loading again into a new engine that keeps what can be kept) and [`watch`] (`--watch`: the
//! files that set a reload off). May not touch: sockets or the admin endpoints, which sit above
//! and take an `App`.

pub mod cli;
pub mod reload;
pub mod watch;

use crate::model::{Api, BuildOptions};
use crate::pipeline::auth::Auth;
use crate::pipeline::faults::{ChaosConfig, Faults};
use crate::pipeline::{Engine, Settings};
use crate::spec;
use crate::spec::bundle::BUNDLE_KEY;
use crate::spec::error::SpecError;
use crate::spec::read::read_value;
use crate::spec::source::{Source, is_url};
use crate::spec::{Overlay, SpecDoc};
use crate::state::fixtures;
use crate::state::store::Store;
use crate::traffic::journal::Journal;
use crate::traffic::webhooks::{Options as WebhookOptions, Webhooks};
use arc_swap::ArcSwap;
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The spec documents and overlay files the command line names.
#[derive(Debug, Default)]
pub struct Discovered {
    pub specs: Vec<Source>,
    /// Overlay files named among the specs (directories' overlays are found beside their specs).
    pub overlays: Vec<PathBuf>,
}

/// Expands directories into the OpenAPI documents directly inside them. Files and URLs named
/// explicitly are always loaded; in a directory, files that are not OpenAPI documents (shared
/// fragments of a multi-file spec) are skipped. Overlay files (`NAME.overlay.yaml`, `.yml`, `.json`)
/// are never loaded as specs: in a directory they are left for their spec to find, and named
/// explicitly they are used as if given with `--overlay`.
pub fn discover(paths: &[PathBuf]) -> Result<Discovered, Vec<SpecError>> {
    let mut out = Discovered::default();
    let mut errors = Vec::new();
    for p in paths {
        if p.to_str().is_some_and(is_url) {
            out.specs.push(Source::from_arg(p));
        } else if p.is_dir() {
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
            files.retain(|f| overlay_stem(f).is_none() && looks_like_openapi(f));
            if files.is_empty() {
                errors.push(SpecError::new(
                    p,
                    "",
                    "no OpenAPI documents (*.yaml, *.yml, *.json) in this directory",
                ));
            }
            out.specs.extend(files.into_iter().map(Source::File));
        } else if p.is_file() {
            if overlay_stem(p).is_some() {
                out.overlays.push(p.clone());
            } else {
                out.specs.push(Source::File(p.clone()));
            }
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

/// The extensions an overlay file may have, in the order a spec's own overlay is looked for.
const OVERLAY_EXTENSIONS: [&str; 3] = ["yaml", "yml", "json"];

/// `petstore` for `petstore.overlay.yaml`; `None` for a file that is not named as an overlay.
fn overlay_stem(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    OVERLAY_EXTENSIONS
        .iter()
        .find_map(|ext| name.strip_suffix(&format!(".overlay.{ext}")))
        .filter(|stem| !stem.is_empty())
        .map(str::to_string)
}

/// How specs are loaded.
#[derive(Debug, Default, Clone)]
pub struct LoadOptions {
    /// `NAME=/prefix` overrides, by spec name.
    pub mounts: Vec<(String, String)>,
    /// Every warning is an error.
    pub strict: bool,
    /// Overlay files given with `--overlay`, in order.
    pub overlays: Vec<PathBuf>,
}

/// The compiled API and the warnings met on the way (each with its file and pointer).
pub struct Loaded {
    pub api: Api,
    pub warnings: Vec<SpecError>,
    /// Every local file that went into the API: specs, the files their `$ref`s led to, overlays
    /// (what `--watch` watches).
    pub files: Vec<PathBuf>,
}

/// Loads and compiles everything, with no overlay but those beside the specs, warnings logged
/// (not fatal).
pub fn load_api(spec_paths: &[PathBuf], mounts: &[(String, String)]) -> Result<Api, Vec<SpecError>> {
    let opts = LoadOptions {
        mounts: mounts.to_vec(),
        ..LoadOptions::default()
    };
    let loaded = load(spec_paths, &opts)?;
    for w in &loaded.warnings {
        tracing::warn!("{w}");
    }
    Ok(loaded.api)
}

/// Finds, loads and compiles every spec with its overlays. Errors are collected across all files;
/// with `strict`, warnings are errors too.
pub fn load(spec_paths: &[PathBuf], opts: &LoadOptions) -> Result<Loaded, Vec<SpecError>> {
    let found = discover(spec_paths)?;
    let mut explicit = found.overlays;
    explicit.extend(opts.overlays.iter().cloned());
    let overlays = assign_overlays(&found.specs, &explicit)?;
    let mut files: Vec<PathBuf> = found
        .specs
        .iter()
        .filter_map(|s| match s {
            Source::File(p) => Some(p.clone()),
            Source::Url(_) => None,
        })
        .collect();
    files.extend(overlays.iter().flatten().map(|o| o.file.clone()));
    let mut docs: Vec<SpecDoc> = Vec::new();
    let mut bundled: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    for (source, overlays) in found.specs.iter().zip(&overlays) {
        let overlays: Vec<&Overlay> = overlays.iter().collect();
        match spec::load_source(source, &overlays) {
            Ok(loaded) => {
                warnings.extend(loaded.warnings);
                let local = loaded.bundled.iter().filter(|f| !f.to_str().is_some_and(is_url));
                files.extend(local.cloned());
                bundled.push((loaded.doc.path.clone(), loaded.bundled));
                docs.push(loaded.doc);
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if opts.strict {
        errors.extend(as_errors(warnings.drain(..)));
    }
    if !errors.is_empty() {
        return Err(with_warnings(warnings, errors));
    }
    let (api, ignored) = Api::build_lenient(
        docs,
        &BuildOptions {
            mounts: opts.mounts.clone(),
        },
    )
    .map_err(|errors| {
        let errors = errors.into_iter().map(|e| in_bundled_file(e, &bundled)).collect();
        with_warnings(std::mem::take(&mut warnings), errors)
    })?;
    let ignored: Vec<SpecError> = ignored.into_iter().map(|e| in_bundled_file(e, &bundled)).collect();
    if opts.strict && !ignored.is_empty() {
        return Err(as_errors(ignored.into_iter()).collect());
    }
    warnings.extend(ignored);
    // By bytes: `Path`'s order compares component by component, which for the 1,500 files of
    // a multi-file spec cost 1% of its startup. (The order only makes the list stable.)
    files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    files.dedup();
    Ok(Loaded { api, warnings, files })
}

/// The errors that refuse the specs, after the warnings met before them, which may say why (a
/// `$ref` to nothing that the failing part used): a refused spec hides no warning.
fn with_warnings(warnings: Vec<SpecError>, errors: Vec<SpecError>) -> Vec<SpecError> {
    warnings.into_iter().map(SpecError::as_warning).chain(errors).collect()
}

/// Warnings as `--strict` reports them: errors that say why.
fn as_errors(warnings: impl Iterator<Item = SpecError>) -> impl Iterator<Item = SpecError> {
    warnings.map(|mut w| {
        w.message.push_str(" (an error with --strict)");
        w
    })
}

/// A problem found in the compiled document at `/x-specbox-bundled/<n>/...` is in the file (or URL)
/// that was bundled there: reported there, where it can be fixed.
fn in_bundled_file(mut e: SpecError, bundled: &[(PathBuf, Vec<PathBuf>)]) -> SpecError {
    let Some(rest) = e.pointer.strip_prefix(&format!("/{BUNDLE_KEY}/")) else {
        return e;
    };
    let (key, inner) = rest.split_once('/').map_or((rest, ""), |(k, r)| (k, r));
    let file = bundled
        .iter()
        .find(|(spec, _)| *spec == e.file)
        .and_then(|(_, files)| files.get(key.parse::<usize>().ok()?));
    if let Some(file) = file {
        e.pointer = if inner.is_empty() {
            String::new()
        } else {
            format!("/{inner}")
        };
        e.file = file.clone();
    }
    e
}

/// Which overlays apply to which spec, in order: the spec's own (`NAME.overlay.yaml` beside
/// `NAME.yaml`), then the explicit ones, each given to the spec its `extends` names (by file
/// name), else to the spec whose name the overlay's file name starts with (`NAME.overlay.*`), else
/// to the only spec loaded. An overlay that fits none of these is an error.
fn assign_overlays(specs: &[Source], explicit: &[PathBuf]) -> Result<Vec<Vec<Overlay>>, Vec<SpecError>> {
    let mut out: Vec<Vec<Overlay>> = specs.iter().map(|_| Vec::new()).collect();
    let mut errors = Vec::new();
    let mut used = HashSet::new();
    let read = |file: &Path, errors: &mut Vec<SpecError>| match read_value(file) {
        Ok(doc) => Some(Overlay {
            file: file.to_path_buf(),
            doc,
        }),
        Err(e) => {
            errors.push(e);
            None
        }
    };
    for (spec, list) in specs.iter().zip(out.iter_mut()) {
        let (Source::File(path), Some(stem)) = (spec, spec.stem()) else {
            continue;
        };
        let dir = path.parent().unwrap_or_else(|| Path::new(""));
        for ext in OVERLAY_EXTENSIONS {
            let candidate = dir.join(format!("{stem}.overlay.{ext}"));
            if candidate.is_file() {
                used.insert(candidate.canonicalize().unwrap_or_else(|_| candidate.clone()));
                list.extend(read(&candidate, &mut errors));
            }
        }
    }
    for file in explicit {
        if !used.insert(file.canonicalize().unwrap_or_else(|_| file.clone())) {
            continue;
        }
        let Some(overlay) = read(file, &mut errors) else {
            continue;
        };
        match target_of(&overlay, file, specs) {
            Ok(i) => {
                if let Some(list) = out.get_mut(i) {
                    list.push(overlay);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// The index of the spec an explicitly given overlay applies to (see [`assign_overlays`]).
fn target_of(overlay: &Overlay, file: &Path, specs: &[Source]) -> Result<usize, SpecError> {
    let only = |matches: Vec<usize>| match matches.as_slice() {
        [one] => Some(*one),
        _ => None,
    };
    let extends = overlay.doc.get("extends").and_then(Value::as_str);
    if let Some(name) = extends.and_then(|e| Source::from_arg(Path::new(e)).file_name()) {
        let matching = (0..specs.len())
            .filter(|&i| specs.get(i).and_then(Source::file_name).as_deref() == Some(name.as_str()))
            .collect();
        if let Some(i) = only(matching) {
            return Ok(i);
        }
    }
    if let Some(stem) = overlay_stem(file) {
        let matching = (0..specs.len())
            .filter(|&i| specs.get(i).and_then(Source::stem).as_deref() == Some(stem.as_str()))
            .collect();
        if let Some(i) = only(matching) {
            return Ok(i);
        }
    }
    if specs.len() == 1 {
        return Ok(0);
    }
    let names: Vec<String> = specs.iter().filter_map(Source::file_name).collect();
    Err(SpecError::new(
        file,
        if extends.is_some() { "/extends" } else { "" },
        format!(
            "cannot tell which spec this overlay applies to{}: name it <spec>.overlay.yaml or set `extends` to one of {}",
            extends
                .map(|e| format!(" (`extends: {e}` names none of the specs loaded)"))
                .unwrap_or_default(),
            names.join(", ")
        ),
    ))
}

/// The running application: the request engine, and what the server and the admin API keep
/// beside it (the journal of recent exchanges, the count of requests in flight, the reloads).
pub struct App {
    /// The engine serving now. A reload (`--watch`) swaps in a new one whole; a request loads it
    /// once (no lock: `arc-swap`) and finishes on the version it started with.
    pub engine: ArcSwap<Engine>,
    pub journal: Journal,
    /// API requests being served right now (admin requests excluded), for health and shutdown.
    pub in_flight: std::sync::atomic::AtomicUsize,
    /// What each reload did (`GET /__specbox/reloads`).
    pub reloads: reload::Reloads,
    /// Webhook subscriptions and deliveries: kept across reloads, like the journal.
    pub webhooks: std::sync::Arc<Webhooks>,
}

/// What the running application is configured with, beyond the specs.
pub struct AppOptions {
    pub settings: Settings,
    pub auth_enabled: bool,
    pub token_ttl: std::time::Duration,
    pub chaos: ChaosConfig,
    pub journal_size: usize,
    pub webhooks: WebhookOptions,
    /// State in Redis (`--store redis://...`); `None`: in memory.
    pub store: Option<crate::state::redis::Config>,
}

impl Default for AppOptions {
    fn default() -> Self {
        AppOptions {
            settings: Settings {
                max_depth: 64,
                cors: true,
                admin: true,
                admin_token: None,
                dynamic: false,
                lenient: false,
            },
            auth_enabled: true,
            token_ttl: crate::pipeline::auth::DEFAULT_TOKEN_TTL,
            chaos: ChaosConfig::default(),
            journal_size: 1000,
            webhooks: WebhookOptions::default(),
            store: None,
        }
    }
}

/// Builds the running application: model, fixtures, state, credentials, faults, journal.
pub fn build_app(mut api: Api, fixtures_dir: &Path, opts: AppOptions) -> Result<(App, usize), Vec<SpecError>> {
    let dir = fixtures_dir.is_dir().then_some(fixtures_dir);
    let loaded = fixtures::load(&api, dir)?;
    // The store is seeded: from here on only requests read the documents.
    crate::model::keep::keep_what_requests_read(&mut api);
    let items = loaded.items;
    if loaded.from_examples > 0 {
        tracing::info!(
            "{} items from the specs' examples (resources without fixtures)",
            loaded.from_examples
        );
    }
    let auth = Auth::new(opts.auth_enabled, loaded.clients, opts.token_ttl);
    let store = match &opts.store {
        None => Store::memory(loaded.seed),
        Some(config) => {
            Store::redis(config, &api, loaded.seed).map_err(|e| vec![SpecError::new(Path::new("--store"), "", e)])?
        }
    };
    let app = App {
        engine: ArcSwap::from_pointee(Engine {
            api,
            store,
            auth,
            faults: std::sync::Arc::new(Faults::new(opts.chaos)),
            settings: opts.settings,
        }),
        journal: Journal::new(opts.journal_size),
        in_flight: Default::default(),
        reloads: Default::default(),
        webhooks: std::sync::Arc::new(Webhooks::new(opts.webhooks)),
    };
    Ok((app, items))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_in_bundled_documents_are_reported_in_their_own_file() {
        let bundled = vec![(
            PathBuf::from("specs/api.yaml"),
            vec![PathBuf::from("specs/a.yaml"), PathBuf::from("specs/paths/b.yaml")],
        )];
        let at = |file: &str, pointer: &str| in_bundled_file(SpecError::new(Path::new(file), pointer, "m"), &bundled);
        let e = at("specs/api.yaml", "/x-specbox-bundled/1/responses/200");
        assert_eq!(
            (e.file.to_str(), e.pointer.as_str()),
            (Some("specs/paths/b.yaml"), "/responses/200")
        );
        let e = at("specs/api.yaml", "/x-specbox-bundled/0");
        assert_eq!((e.file.to_str(), e.pointer.as_str()), (Some("specs/a.yaml"), ""));
        let e = at("specs/api.yaml", "/paths/~1a/get");
        assert_eq!(
            (e.file.to_str(), e.pointer.as_str()),
            (Some("specs/api.yaml"), "/paths/~1a/get")
        );
        let e = at("specs/other.yaml", "/x-specbox-bundled/0/x");
        assert_eq!(e.file.to_str(), Some("specs/other.yaml"));
    }

    #[test]
    fn overlays_find_their_spec_by_extends_then_file_name_then_the_only_spec() {
        let specs = [
            Source::File(PathBuf::from("specs/shop.yaml")),
            Source::Url("https://h/v1/pets.json".into()),
        ];
        let overlay = |doc: Value| Overlay {
            file: PathBuf::from("o.yaml"),
            doc,
        };
        let ext = overlay(serde_json::json!({"extends": "https://elsewhere/pets.json"}));
        assert_eq!(target_of(&ext, Path::new("x.yaml"), &specs).ok(), Some(1));
        let none = overlay(serde_json::json!({}));
        assert_eq!(
            target_of(&none, Path::new("dir/shop.overlay.json"), &specs).ok(),
            Some(0)
        );
        let e = target_of(&none, Path::new("x.yaml"), &specs).unwrap_err();
        assert!(e.message.contains("shop.yaml, pets.json"), "{e}");
        assert_eq!(target_of(&none, Path::new("x.yaml"), &specs[..1]).ok(), Some(0));
        assert_eq!(overlay_stem(Path::new("a/shop.overlay.yml")).as_deref(), Some("shop"));
        assert_eq!(overlay_stem(Path::new("a/.overlay.yml")), None);
        assert_eq!(overlay_stem(Path::new("a/shop.yaml")), None);
    }
}
