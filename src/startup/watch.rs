//! `--watch`: reload when a spec, an overlay, a file a spec's `$ref` read, or a fixture changes.
//!
//! Directories are watched, not files: editors save by writing a new file and renaming it over
//! the old one, and a watch on the old file would see it deleted and then nothing. The watched
//! directories are those of every local file that went into the load, the spec directories
//! named on the command line (a new spec dropped there counts) and the fixture directory, with
//! its subdirectories. Specs given by URL are not watched.
//!
//! Events are debounced (150 ms after the last one; an editor's save is a burst of them), those
//! on files that cannot matter are dropped, and the rest checked against a snapshot of each file's modification time and length: inotify also
//! reports files being opened, which every reload does to all of them, and a reload must not set
//! off the next. Only a file whose stamp changed (or that appeared or went) sets off a reload,
//! and it is named in the record.
//!
//! Reloads run one at a time on the watcher's thread; changes made during one are seen after it.

use crate::startup::App;
use crate::startup::reload::{Inputs, reload};
use notify_debouncer_mini::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_mini::{DebounceEventResult, Debouncer, new_debouncer};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How long after the last event of a burst a reload starts.
const DEBOUNCE: Duration = Duration::from_millis(150);

/// What is watched, and each watched file's stamp when last looked at.
struct Watched {
    /// Files that went into the load (canonical paths).
    files: BTreeSet<PathBuf>,
    /// Directories named as specs: every `*.yaml`, `*.yml`, `*.json` in them counts.
    spec_dirs: Vec<PathBuf>,
    fixtures: PathBuf,
    /// Directories with a watch on them (recursive: the fixture directory).
    dirs: BTreeSet<(PathBuf, bool)>,
    stamps: BTreeMap<PathBuf, (SystemTime, u64)>,
}

/// A path as comparable with event paths: canonical, or its directory canonical when it is gone.
fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (p.parent().and_then(|d| d.canonicalize().ok()), p.file_name()) {
        (Some(dir), Some(name)) => dir.join(name),
        _ => p.to_path_buf(),
    }
}

fn is_document(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
}

impl Watched {
    fn new(inputs: &Inputs, files: &[PathBuf]) -> Watched {
        let mut w = Watched {
            files: BTreeSet::new(),
            spec_dirs: inputs
                .specs
                .iter()
                .filter(|p| p.is_dir())
                .map(|p| canonical(p))
                .collect(),
            fixtures: canonical(&inputs.fixtures),
            dirs: BTreeSet::new(),
            stamps: BTreeMap::new(),
        };
        w.set_files(files);
        w.stamps = w.snapshot();
        w
    }

    fn set_files(&mut self, files: &[PathBuf]) {
        self.files = files.iter().map(|f| canonical(f)).collect();
    }

    /// Directories that should have a watch: `(dir, recursive)`.
    fn wanted_dirs(&self) -> BTreeSet<(PathBuf, bool)> {
        let mut dirs: BTreeSet<(PathBuf, bool)> = self
            .files
            .iter()
            .filter_map(|f| f.parent())
            .chain(self.spec_dirs.iter().map(PathBuf::as_path))
            .map(|d| (d.to_path_buf(), false))
            .collect();
        if self.fixtures.is_dir() {
            dirs.insert((self.fixtures.clone(), true));
        } else if let Some(parent) = self.fixtures.parent().filter(|p| p.is_dir()) {
            // Not there yet: its creation is seen in its parent.
            dirs.insert((parent.to_path_buf(), false));
        }
        dirs
    }

    /// The stamp of every file that counts, as it is now.
    fn snapshot(&self) -> BTreeMap<PathBuf, (SystemTime, u64)> {
        let mut out = BTreeMap::new();
        let mut stamp = |p: &Path| {
            if let Ok(m) = std::fs::metadata(p) {
                out.insert(
                    p.to_path_buf(),
                    (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()),
                );
            }
        };
        for f in &self.files {
            stamp(f);
        }
        for dir in &self.spec_dirs {
            for f in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                if is_document(&f.path()) {
                    stamp(&f.path());
                }
            }
        }
        let mut pending = vec![self.fixtures.clone()];
        while let Some(dir) = pending.pop() {
            for f in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let p = f.path();
                if p.is_dir() {
                    pending.push(p);
                } else if is_document(&p) {
                    stamp(&p);
                }
            }
        }
        out
    }

    /// Whether an event on `path` may matter: a file of the load, a document in a spec directory
    /// or under the fixture directory. Other events, such as the directories being opened to
    /// take a snapshot, must not set off another look (that would loop).
    fn relevant(&self, path: &Path) -> bool {
        let path = canonical(path);
        self.files.contains(&path)
            || (is_document(&path)
                && (path.starts_with(&self.fixtures)
                    || path.parent().is_some_and(|d| self.spec_dirs.iter().any(|s| s == d))))
    }

    /// Files whose stamp differs from the last snapshot (changed, new or gone), and the new
    /// snapshot.
    fn changes(&self) -> (Vec<PathBuf>, BTreeMap<PathBuf, (SystemTime, u64)>) {
        let now = self.snapshot();
        let keys: BTreeSet<&PathBuf> = now.keys().chain(self.stamps.keys()).collect();
        let changed = keys
            .into_iter()
            .filter(|k| now.get(*k) != self.stamps.get(*k))
            .cloned()
            .collect();
        (changed, now)
    }
}

/// Adds a watch on every directory that should have one and has none yet.
fn rewatch(watched: &mut Watched, debouncer: &mut Debouncer<RecommendedWatcher>) {
    for (dir, recursive) in watched.wanted_dirs() {
        if watched.dirs.contains(&(dir.clone(), recursive)) {
            continue;
        }
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        match debouncer.watcher().watch(&dir, mode) {
            Ok(()) => {
                watched.dirs.insert((dir, recursive));
            }
            Err(e) => tracing::warn!("cannot watch {}: {e}", dir.display()),
        }
    }
}

/// Starts watching what `app` was loaded from (`files`: [`crate::startup::Loaded::files`]).
/// The watcher lives on its own thread for the rest of the process.
pub fn start(app: Arc<App>, inputs: Inputs, files: &[PathBuf]) -> Result<(), String> {
    let (tx, rx) = std::sync::mpsc::channel::<DebounceEventResult>();
    let mut debouncer = new_debouncer(DEBOUNCE, tx).map_err(|e| format!("cannot watch files: {e}"))?;
    let mut watched = Watched::new(&inputs, files);
    rewatch(&mut watched, &mut debouncer);
    if inputs
        .specs
        .iter()
        .any(|s| s.to_str().is_some_and(crate::spec::source::is_url))
    {
        tracing::info!("--watch: specs given by URL are not watched");
    }
    tracing::info!(
        "watching {} file(s) in {} director(ies) for changes",
        watched.stamps.len(),
        watched.dirs.len()
    );
    std::thread::Builder::new()
        .name("specbox-watch".into())
        .spawn(move || {
            for batch in rx {
                let events = match batch {
                    Ok(events) => events,
                    Err(e) => {
                        tracing::warn!("file watching: {e}");
                        continue;
                    }
                };
                if !events.iter().any(|e| watched.relevant(&e.path)) {
                    continue;
                }
                let (changed, now) = watched.changes();
                if changed.is_empty() {
                    continue;
                }
                watched.stamps = now;
                if let Some(files) = reload(&app, &inputs, &changed) {
                    watched.set_files(&files);
                    rewatch(&mut watched, &mut debouncer);
                    // Files new to the load (a new `$ref` target) are stamped from now on; the
                    // others keep the stamp from before the reload, so that a change made while
                    // it ran is still a change.
                    for (file, stamp) in watched.snapshot() {
                        watched.stamps.entry(file).or_insert(stamp);
                    }
                }
            }
        })
        .map_err(|e| format!("cannot start the watcher thread: {e}"))?;
    Ok(())
}
