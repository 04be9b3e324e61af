//! Bundling: every `$ref` into another document (a file, or a URL) is copied into the spec's own
//! document (under `/x-specbox-bundled/<n>`) and rewritten to a local pointer, so everything
//! downstream deals with one document and local pointers only.
//!
//! A `$ref` whose target does not exist (a pointer to nothing, in this document or another one that
//! loaded) is a warning, not an error: published specs have them (a schema renamed and one use
//! forgotten), and the rest of such a spec is worth serving. The `$ref` is pointed at
//! `/x-specbox-unresolved`, an empty schema, so what it stood for accepts anything; `--strict` turns
//! the warning into an error. A document that cannot be read, fetched or parsed is still an error:
//! then whole parts of the spec are missing, not one definition.

use crate::spec::error::SpecError;
use crate::spec::fetch::Fetcher;
use crate::spec::pointer::Field;
use crate::spec::pointer::*;
use crate::spec::prefetch::Prefetched;
use crate::spec::source::{Dirs, Source, real_path};
use crate::spec::unread::{self, Kept, Keys, Site};
use serde_json::{Map, Value};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Largest file a `$ref` may bring in.
pub(crate) const MAX_REF_FILE: u64 = 64 * 1024 * 1024;

/// Where bundled external files live inside the document.
pub const BUNDLE_KEY: &str = "x-specbox-bundled";

/// What a `$ref` to nothing is pointed at: an empty schema (`{}` accepts anything).
pub const UNRESOLVED_KEY: &str = "x-specbox-unresolved";

/// The bundler's hasher: its maps are asked once per `$ref` (thousands in a multi-file spec), by
/// paths and keys of the spec's own files, where SipHash showed in profiles.
type Fast = foldhash::fast::RandomState;

/// Copies external documents into the document and rewrites their `$ref`s to local pointers.
#[derive(Default)]
pub struct Bundler {
    /// Canonical source of an external document → its key under `/x-specbox-bundled`.
    keys: HashMap<Source, String, Fast>,
    /// Bundled files' contents, by key (already rewritten).
    bundled: Map<String, Value>,
    /// The keys of the files whose `$ref`s are all rewritten, whose pointers can be checked: a
    /// bundled file has its raw content's structure (only `$ref` strings change), so pointers
    /// into it are checked in `bundled`, and no raw copy is kept.
    done: HashSet<String, Fast>,
    /// Canonical form of each file a `$ref` named, by the path it was named as: a multi-file spec
    /// names the same files in thousands of `$ref`s (one in the corpus: 8,700 `$ref`s,
    /// 3,300 paths, 2,800 files), and canonicalising a path takes a system call per component.
    /// Keyed by the path's bytes: `Path`'s own hash reads it component by component.
    canonical: HashMap<std::ffi::OsString, Source, Fast>,
    /// Canonical form of each directory those paths are in (see [`real_path`]).
    dirs: Dirs,
    /// Files parsed ahead of the walk, by real path ([`crate::spec::prefetch`]); each is taken
    /// out when the walk first names it.
    pub prefetched: Prefetched,
    /// Where each bundled document came from, by key (the keys are 0, 1, 2, ...).
    pub sources: Vec<PathBuf>,
    /// `$ref`s to nothing, each with its file and pointer.
    pub warnings: Vec<SpecError>,
    /// Applied to each external document as it is read, before its `$ref`s are followed (the
    /// Swagger 2.0 converter's fragment half, for the files of a Swagger 2.0 spec).
    pub fragment: Option<fn(&Value) -> Value>,
    /// The HTTP client, made on the first `$ref` to a URL.
    fetcher: Option<Fetcher>,
    /// The parts of bundled files that `$ref`s name as objects, whose prose and
    /// vendor extensions go once the document is finished ([`unread::drop_unread`]).
    pub sites: HashSet<Site, Fast>,
    /// Bundled files that a `$ref` names as literal data (an example), or from where it is not
    /// known what they are: nothing in them is dropped.
    pub untouched: HashSet<String>,
    /// Vendor extensions of files named whole as objects, whose `$ref`s were not followed (JSON
    /// pointers in the file, by the file's key). Dropped with the prose at the end, unless a
    /// `$ref` names a place inside one: then its `$ref`s are followed after all ([`Self::reach`]).
    skipped: HashMap<String, Vec<String>, Fast>,
}

impl Bundler {
    /// A bundler whose fetches (if any) go through `fetcher`.
    pub fn with_fetcher(fetcher: Option<Fetcher>) -> Bundler {
        Bundler {
            fetcher,
            ..Bundler::default()
        }
    }

    /// The root document (read from `source`) with every external document it reaches bundled.
    pub fn bundle_root(&mut self, source: &Source, mut root: Value) -> Result<Value, SpecError> {
        let mut refs = Vec::new();
        self.collect(source, "", &root, &root, None, None, &mut refs)?;
        // What was parsed ahead and never named (a file only an extension names) goes now.
        self.prefetched = Prefetched::default();
        apply(&mut root, None, &mut refs.into_iter());
        if let Some(obj) = root.as_object_mut() {
            if !self.bundled.is_empty() {
                obj.insert(BUNDLE_KEY.into(), Value::Object(std::mem::take(&mut self.bundled)));
            }
            if !self.warnings.is_empty() {
                obj.insert(UNRESOLVED_KEY.into(), Value::Object(Map::new()));
            }
        }
        Ok(root)
    }

    /// A `$ref` to nothing: a warning, and the `$ref` pointed at the empty schema.
    fn dangling(&mut self, file: &Source, at: String, message: String) -> Option<String> {
        self.warnings.push(SpecError::new(
            &file.path(),
            at,
            format!("{message}; what it refers to accepts anything"),
        ));
        Some(format!("#/{UNRESOLVED_KEY}"))
    }

    /// Walks `value` (found at `at` in `file`, whose whole content is `file_root` and which lives
    /// in the bundle at `prefix`), checking every `$ref` and pushing, in walk order, what it must
    /// become (`None`: unchanged). The walk only reads: [`apply`] writes the changes afterwards,
    /// so the document is never copied to be looked into while it is rewritten, and a
    /// single-file spec, whose local `$ref`s stay as written, is not written at all.
    ///
    /// `keys` says what the keys of `value` (or of its items) are, where that is known (a file
    /// named whole as an object): vendor extensions among keywords are then not walked, and
    /// their pointers are kept in `skipped` instead (see [`crate::spec::unread`]).
    #[allow(clippy::too_many_arguments)]
    fn collect(
        &mut self,
        file: &Source,
        prefix: &str,
        file_root: &Value,
        value: &Value,
        keys: Option<Keys>,
        at: Option<&At<'_>>,
        out: &mut Vec<Option<String>>,
    ) -> Result<(), SpecError> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.field("$ref") {
                    out.push(self.rewrite_ref(file, prefix, file_root, r, at)?);
                }
                for (k, v) in map {
                    if is_data(k, v) {
                        continue;
                    }
                    let child = At {
                        parent: at,
                        segment: Segment::Key(k),
                    };
                    if keys == Some(Keys::Keywords) && unread::is_vendor_extension(k) {
                        let key = prefix.rsplit('/').next().unwrap_or_default().to_string();
                        self.skipped.entry(key).or_default().push(At::pointer(Some(&child)));
                        continue;
                    }
                    let below = keys.map(|keys| unread::child_keys(keys, k, v));
                    self.collect(file, prefix, file_root, v, below, Some(&child), out)?;
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let child = At {
                        parent: at,
                        segment: Segment::Index(i),
                    };
                    self.collect(file, prefix, file_root, v, keys, Some(&child), out)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// What the `$ref` `r` (in the object at `at`) becomes in the bundle (`None`: it stays as
    /// written), checking that its target exists and bundling the file it names.
    fn rewrite_ref(
        &mut self,
        file: &Source,
        prefix: &str,
        file_root: &Value,
        r: &str,
        at: Option<&At<'_>>,
    ) -> Result<Option<String>, SpecError> {
        let object = names_an_object(at);
        // Formatted only for a message.
        let at = || format!("{}/$ref", At::pointer(at));
        let (target, fragment) = match r.split_once('#') {
            Some((t, f)) => (t, f),
            None => (r, ""),
        };
        let fragment = percent_decode(fragment);
        if target.is_empty() {
            // A local reference inside this file.
            if lookup(file_root, &fragment).is_none() {
                return Ok(self.dangling(file, at(), format!("cannot resolve $ref {r:?}: nothing at #{fragment}")));
            }
            // `#{prefix}{fragment}`, made only when it differs (a prefix, a percent-escape).
            let same = r.strip_prefix('#').and_then(|rest| rest.strip_prefix(prefix)) == Some(fragment.as_ref());
            return Ok((!same).then(|| format!("#{prefix}{fragment}")));
        }
        let ext = file.join(target);
        let canonical = match &ext {
            Source::File(path) => match self.canonical.get(path.as_os_str()) {
                Some(c) => c.clone(),
                None => {
                    let c = self
                        .canonical_file(path)
                        .map_err(|e| SpecError::new(&file.path(), at(), format!("cannot resolve $ref {r:?}: {e}")))?;
                    self.canonical.insert(path.as_os_str().to_owned(), c.clone());
                    c
                }
            },
            Source::Url(_) => ext.clone(),
        };
        let key = match self.keys.get(&canonical) {
            Some(k) => k.clone(),
            None => {
                if let Source::File(path) = &canonical {
                    // Only regular files: a `$ref` to /dev/zero or a FIFO would exhaust memory or
                    // hang (fuzzing). Checked when the file is first named (a failure stops loading).
                    match std::fs::metadata(path) {
                        Ok(m) if m.is_file() && m.len() <= MAX_REF_FILE => {}
                        Ok(m) if m.is_file() => {
                            return Err(SpecError::new(
                                &file.path(),
                                at(),
                                format!("$ref {r:?}: {} is larger than {MAX_REF_FILE} bytes", path.display()),
                            ));
                        }
                        _ => {
                            return Err(SpecError::new(
                                &file.path(),
                                at(),
                                format!("$ref {r:?}: {} is not a regular file", path.display()),
                            ));
                        }
                    }
                }
                let key = self.keys.len().to_string();
                self.keys.insert(canonical.clone(), key.clone());
                self.sources.push(ext.path());
                let prefetched = match &canonical {
                    Source::File(real) => self.prefetched.remove(real),
                    Source::Url(_) => None,
                };
                let read = || ext.read(&mut self.fetcher);
                let mut raw = prefetched.map_or_else(read, Ok).map_err(|mut e| {
                    // Say which `$ref` led to the document that failed.
                    e.message = format!(
                        "{} (reached by $ref {r:?} at {}#{})",
                        e.message,
                        file.path().display(),
                        at()
                    );
                    e
                })?;
                if let Some(convert) = self.fragment {
                    raw = convert(&raw);
                }
                // In a whole file named as an object, the `$ref`s in vendor extensions are not
                // followed: files that only an extension names are never read.
                let keys = (fragment.is_empty() && object).then_some(Keys::Keywords);
                let ext_prefix = format!("/{BUNDLE_KEY}/{key}");
                let mut refs = Vec::new();
                self.collect(&ext, &ext_prefix, &raw, &raw, keys, None, &mut refs)?;
                apply(&mut raw, keys, &mut refs.into_iter());
                // Unless the file's own `$ref`s point into one.
                if self.skipped.contains_key(&key) {
                    let mut inside = Vec::new();
                    local_refs(&raw, &mut |target| inside.push(target.to_string()));
                    for target in inside {
                        self.reach(&ext, &key, &ext_prefix, &mut raw, &target)?;
                    }
                }
                self.bundled.insert(key.clone(), raw);
                self.done.insert(key.clone());
                key
            }
        };
        if self.skipped.get(&key).is_some_and(|s| !s.is_empty())
            && let Some(mut content) = self.bundled.get_mut(&key).map(std::mem::take)
        {
            let reached = self.reach(&ext, &key, &format!("/{BUNDLE_KEY}/{key}"), &mut content, &fragment);
            self.bundled.insert(key.clone(), content);
            reached?;
        }
        let exists = self.done.contains(&key)
            && self
                .bundled
                .get(&key)
                .is_some_and(|content| lookup(content, &fragment).is_some());
        if !exists {
            let message = format!(
                "cannot resolve $ref {r:?}: nothing at #{fragment} in {}",
                ext.path().display()
            );
            return Ok(self.dangling(file, at(), message));
        }
        if object {
            self.sites.insert(Site {
                key: key.clone(),
                fragment: fragment.to_string(),
            });
        } else {
            self.untouched.insert(key.clone());
        }
        let new = format!("#/{BUNDLE_KEY}/{key}{fragment}");
        Ok((new != r).then_some(new))
    }
}

impl Bundler {
    /// Follows, after all, the `$ref`s of each skipped extension of the file `key` (whose content
    /// is `content`, from `ext`, in the bundle at `prefix`) that holds `target`, a pointer into
    /// the file: a `$ref` names a place inside it, so it stays and must resolve.
    fn reach(
        &mut self,
        ext: &Source,
        key: &str,
        prefix: &str,
        content: &mut Value,
        target: &str,
    ) -> Result<(), SpecError> {
        let Some(skipped) = self.skipped.get_mut(key) else {
            return Ok(());
        };
        let holds = |p: &String| target == p || target.strip_prefix(p.as_str()).is_some_and(|r| r.starts_with('/'));
        let found: Vec<String> = skipped.iter().filter(|p| holds(p)).cloned().collect();
        skipped.retain(|p| !holds(p));
        for pointer in found {
            let mut refs = Vec::new();
            if let Some(part) = lookup(content, &pointer) {
                self.collect(ext, prefix, content, part, None, None, &mut refs)?;
            }
            if let Some(part) = lookup_mut(content, &pointer) {
                apply(part, None, &mut refs.into_iter());
            }
        }
        Ok(())
    }
}

impl Bundler {
    /// The real path of the file at `path` ([`real_path`]: each directory resolved once, each
    /// file one `lstat`), the key a file's content is bundled and prefetched under.
    fn canonical_file(&mut self, path: &Path) -> Result<Source, String> {
        real_path(path, &mut self.dirs).map(Source::File)
    }

    /// Brings path items and operations that a Swagger 2.0 spec writes in other files into the
    /// document itself, before conversion: the converter must see them to convert them (bundling
    /// copies a file as it is, and only the caller of a `$ref` knows it holds a path item). Their
    /// own `$ref`s are rewritten to name, from the spec's place, what they named from the file's.
    pub fn pull_in_paths(&mut self, source: &Source, root: &mut Value) -> Result<(), SpecError> {
        let Some(paths) = root.get_mut("paths").and_then(Value::as_object_mut) else {
            return Ok(());
        };
        for (template, item) in paths.iter_mut() {
            let at = format!("/paths/{}", escape_pointer(template));
            self.pull_in(source, item, &at)?;
            if let Some(item) = item.as_object_mut() {
                for (method, op) in item.iter_mut() {
                    if METHODS.contains(&method.as_str()) {
                        self.pull_in(source, op, &format!("{at}/{method}"))?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Replaces `value`, if it is a `$ref` into another document, by what it points at (rebased).
    fn pull_in(&mut self, source: &Source, value: &mut Value, at: &str) -> Result<(), SpecError> {
        let Some(r) = value.field("$ref").and_then(Value::as_str).map(str::to_string) else {
            return Ok(());
        };
        let (target, fragment) = r.split_once('#').unwrap_or((r.as_str(), ""));
        if target.is_empty() {
            return Ok(());
        }
        let file = source.join(target);
        let doc = file.read(&mut self.fetcher).map_err(|mut e| {
            e.message = format!(
                "{} (reached by $ref {r:?} at {}#{at})",
                e.message,
                source.path().display()
            );
            e
        })?;
        let Some(found) = lookup(&doc, &percent_decode(fragment)) else {
            return Err(SpecError::new(
                &source.path(),
                format!("{at}/$ref"),
                format!(
                    "cannot resolve $ref {r:?}: nothing at #{fragment} in {}",
                    file.path().display()
                ),
            ));
        };
        let mut found = found.clone();
        rebase(&mut found, &file, source);
        *value = found;
        Ok(())
    }
}

/// Rewrites the `$ref`s of a value taken from `from` so that they mean the same from `to`'s place:
/// a local one names `from` itself, a relative one is resolved against `from`.
fn rebase(value: &mut Value, from: &Source, to: &Source) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = member_mut(map, "$ref") {
                let (target, fragment) = r.split_once('#').unwrap_or((r.as_str(), ""));
                let named = match from.join(target) {
                    Source::File(p) => relative_to(&p, to).to_string_lossy().into_owned(),
                    Source::Url(u) => u,
                };
                let named = if target.is_empty() {
                    match from {
                        Source::File(p) => relative_to(p, to).to_string_lossy().into_owned(),
                        Source::Url(u) => u.clone(),
                    }
                } else {
                    named
                };
                *r = format!("{named}#{fragment}");
            }
            for (k, v) in map.iter_mut() {
                if !is_data(k, v) {
                    rebase(v, from, to);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rebase(v, from, to)),
        _ => {}
    }
}

/// `path` as a `$ref` from `to` may name it: relative to `to`'s directory when `to` is a file and
/// `path` lies below that directory, else as it is.
fn relative_to(path: &Path, to: &Source) -> PathBuf {
    match to {
        Source::File(spec) => {
            let dir = spec.parent().unwrap_or_else(|| Path::new(""));
            path.strip_prefix(dir)
                .map(Path::to_path_buf)
                .unwrap_or_else(|_| path.to_path_buf())
        }
        Source::Url(_) => path.to_path_buf(),
    }
}

impl Bundler {
    /// Drops what nothing reads from the finished document `root` (see [`crate::spec::unread`]):
    /// prose and vendor extensions in the spec's own file and in each part of a bundled file that
    /// a `$ref` named as an object (not in files also named as literal data or unknown),
    /// then every bundled file that no `$ref` reaches any more. With nothing bundled, the spec's
    /// own file is all there is, and [`crate::spec::load_source`] stripped it before bundling: it
    /// is not walked again (a second walk of a 13 MB document cost a tenth of its startup).
    pub fn drop_unread(&self, root: &mut Value) {
        if root.get(BUNDLE_KEY).is_none() && self.sites.is_empty() {
            return;
        }
        let kept = Kept::of(root);
        unread::strip(root, Keys::Keywords, "", &kept);
        for site in &self.sites {
            if self.untouched.contains(&site.key) {
                continue;
            }
            let at = format!("/{BUNDLE_KEY}/{}{}", site.key, site.fragment);
            if let Some(part) = lookup_mut(root, &at) {
                unread::strip(part, Keys::Keywords, &at, &kept);
            }
        }
        drop_unreached(root);
    }
}

/// Removes the bundled files that no `$ref` reaches from the spec's own file, directly or through
/// other bundled files.
fn drop_unreached(root: &mut Value) {
    let Some(Value::Object(bundled)) = root.as_object_mut().and_then(|m| m.remove(BUNDLE_KEY)) else {
        return;
    };
    let prefix = format!("/{BUNDLE_KEY}/");
    let mut queue = Vec::new();
    let keys_of = |value: &Value, queue: &mut Vec<String>| {
        local_refs(value, &mut |target| {
            if let Some(rest) = target.strip_prefix(&prefix) {
                queue.push(rest.split('/').next().unwrap_or(rest).to_string());
            }
        })
    };
    keys_of(root, &mut queue);
    let mut reached = HashSet::new();
    while let Some(key) = queue.pop() {
        if reached.contains(&key) {
            continue;
        }
        if let Some(file) = bundled.get(&key) {
            keys_of(file, &mut queue);
        }
        reached.insert(key);
    }
    let kept: Map<String, Value> = bundled.into_iter().filter(|(k, _)| reached.contains(k)).collect();
    if !kept.is_empty()
        && let Some(map) = root.as_object_mut()
    {
        map.insert(BUNDLE_KEY.into(), Value::Object(kept));
    }
}

/// Whether the target of a `$ref` found in the object at `at` is an object there (a schema, an
/// operation, a response), rather than literal data or something unknown, left as it is.
fn names_an_object(at: Option<&At<'_>>) -> bool {
    let Some(at) = at else { return false };
    // Inside an extension, what anything is is the extension's business.
    let mut up = at.parent;
    while let Some(a) = up {
        if matches!(a.segment, Segment::Key(k) if k.starts_with("x-")) {
            return false;
        }
        up = a.parent;
    }
    match &at.segment {
        Segment::Key("example" | "value") => false,
        // A map of names, or a list (`security`: of maps of names) written as a `$ref`, or an
        // object under a name that only looks like one of those keys (a property `content`):
        // which, the walk here does not know, so it is left as it is. (A map or list `$ref` is
        // copied in place by `inline`, where it is stripped with what holds it.)
        Segment::Key(k) if unread::keys_below(k) == Keys::Names => false,
        Segment::Index(_) => !matches!(at.parent.map(|p| &p.segment), Some(Segment::Key("security"))),
        Segment::Key(_) => true,
    }
}

/// Writes what [`Bundler::collect`] decided: `new` holds an entry per `$ref`, in the same walk order.
fn apply(value: &mut Value, keys: Option<Keys>, new: &mut impl Iterator<Item = Option<String>>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = member_mut(map, "$ref")
                && let Some(Some(changed)) = new.next()
            {
                *r = changed;
            }
            for (k, v) in map.iter_mut() {
                if is_data(k, v) || (keys == Some(Keys::Keywords) && unread::is_vendor_extension(k)) {
                    continue;
                }
                let below = keys.map(|keys| unread::child_keys(keys, k, v));
                apply(v, below, new);
            }
        }
        Value::Array(items) => {
            for v in items {
                apply(v, keys, new);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bundled_parts_are_stripped_as_named_and_unreached_files_go() {
        let mut doc = json!({
            "paths": {"/a": {"$ref": "#/x-specbox-bundled/0"}},
            "x-specbox-bundled": {
                "0": {"get": {"description": "d", "x-codeSamples": [{"$ref": "#/x-specbox-bundled/1"}],
                    "responses": {"200": {"$ref": "#/x-specbox-bundled/2/ok"}}}},
                "1": {"lang": "curl", "source": "curl /a"},
                "2": {"ok": {"description": "ok", "x-internal": true,
                    "headers": {"x-rate": {"schema": {"type": "integer"}}}}, "x-named": {"description": "kept?"}},
                "3": {"description": "a file nothing names"}
            }
        });
        let sites = [
            Site {
                key: "0".into(),
                fragment: String::new(),
            },
            Site {
                key: "2".into(),
                fragment: "/ok".into(),
            },
        ];
        bundler(&sites, &[]).drop_unread(&mut doc);
        assert_eq!(
            doc["x-specbox-bundled"],
            json!({
                "0": {"get": {"responses": {"200": {"$ref": "#/x-specbox-bundled/2/ok"}}}},
                "2": {"ok": {"headers": {"x-rate": {"schema": {"type": "integer"}}}}, "x-named": {"description": "kept?"}}
            })
        );
    }

    /// A file parsed ahead is taken from [`Bundler::prefetched`] by its real path, not read
    /// again (the marker is only in the prefetched copy), and the rest is dropped.
    #[test]
    fn prefetched_files_are_taken_by_their_real_path() {
        let d = std::env::temp_dir().join(format!("specbox-bundle-prefetched-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/a.yaml"), "k: on disk\n").unwrap();
        let mut bundler = Bundler::default();
        let real = d.join("sub/a.yaml").canonicalize().unwrap();
        bundler.prefetched.insert(real, json!({"k": "prefetched"}));
        bundler.prefetched.insert(d.join("unnamed.yaml"), json!({}));
        let root = json!({"x": {"$ref": "sub/./a.yaml"}});
        let bundled = bundler.bundle_root(&Source::File(d.join("root.yaml")), root).unwrap();
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(bundled["x-specbox-bundled"]["0"], json!({"k": "prefetched"}));
        assert!(bundler.prefetched.is_empty());
    }

    #[test]
    fn files_named_as_literal_data_are_untouched() {
        let mut doc = json!({
            "paths": {"/a": {"$ref": "#/x-specbox-bundled/0"}},
            "x-specbox-bundled": {"0": {"description": "data", "x-data": 1}}
        });
        let sites = [Site {
            key: "0".into(),
            fragment: String::new(),
        }];
        bundler(&sites, &["0"]).drop_unread(&mut doc);
        assert_eq!(
            doc["x-specbox-bundled"]["0"],
            json!({"description": "data", "x-data": 1})
        );
    }

    fn bundler(sites: &[Site], untouched: &[&str]) -> Bundler {
        Bundler {
            sites: sites.iter().cloned().collect(),
            untouched: untouched.iter().map(|k| k.to_string()).collect(),
            ..Bundler::default()
        }
    }
}
