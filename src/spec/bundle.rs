//! Bundling: every `$ref` into another file is copied into the spec's own document (under
//! `/x-specbox-bundled/<n>`) and rewritten to a local pointer, so everything downstream deals with
//! one document and local pointers only.

use crate::spec::error::SpecError;
use crate::spec::pointer::*;
use crate::spec::read::read_value;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Largest file a `$ref` may bring in.
const MAX_REF_FILE: u64 = 64 * 1024 * 1024;

/// Where bundled external files live inside the document.
const BUNDLE_KEY: &str = "x-specbox-bundled";

/// Copies external files into the document and rewrites their `$ref`s to local pointers.
#[derive(Default)]
pub struct Bundler {
    /// Canonical path of an external file → its key under `/x-specbox-bundled`.
    keys: HashMap<PathBuf, String>,
    /// Bundled files' contents, by key (already rewritten).
    bundled: Map<String, Value>,
    /// Raw contents of each external file, kept for checking pointers into it.
    raw: HashMap<String, Value>,
}

impl Bundler {
    pub fn bundle_root(&mut self, path: &Path, mut root: Value) -> Result<Value, SpecError> {
        let mut refs = Vec::new();
        self.collect(path, "", &root, &root, None, &mut refs)?;
        apply(&mut root, &mut refs.into_iter());
        if !self.bundled.is_empty()
            && let Some(obj) = root.as_object_mut()
        {
            obj.insert(BUNDLE_KEY.into(), Value::Object(std::mem::take(&mut self.bundled)));
        }
        Ok(root)
    }

    /// Walks `value` (found at `at` in `file`, whose whole content is `file_root` and which lives
    /// in the bundle at `prefix`), checking every `$ref` and pushing, in walk order, what it must
    /// become (`None`: unchanged). The walk only reads: [`apply`] writes the changes afterwards,
    /// so the document is never copied to be looked into while it is rewritten, and a
    /// single-file spec, whose local `$ref`s stay as written, is not written at all.
    fn collect(
        &mut self,
        file: &Path,
        prefix: &str,
        file_root: &Value,
        value: &Value,
        at: Option<&At<'_>>,
        out: &mut Vec<Option<String>>,
    ) -> Result<(), SpecError> {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(self.rewrite_ref(file, prefix, file_root, r, at)?);
                }
                for (k, v) in map {
                    if is_literal(k, v) {
                        continue;
                    }
                    let child = At {
                        parent: at,
                        segment: Segment::Key(k),
                    };
                    self.collect(file, prefix, file_root, v, Some(&child), out)?;
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    let child = At {
                        parent: at,
                        segment: Segment::Index(i),
                    };
                    self.collect(file, prefix, file_root, v, Some(&child), out)?;
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
        file: &Path,
        prefix: &str,
        file_root: &Value,
        r: &str,
        at: Option<&At<'_>>,
    ) -> Result<Option<String>, SpecError> {
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
                return Err(SpecError::new(
                    file,
                    at(),
                    format!("cannot resolve $ref {r:?}: nothing at #{fragment}"),
                ));
            }
            // `#{prefix}{fragment}`, made only when it differs (a prefix, a percent-escape).
            let same = r.strip_prefix('#').and_then(|rest| rest.strip_prefix(prefix)) == Some(fragment.as_ref());
            return Ok((!same).then(|| format!("#{prefix}{fragment}")));
        }
        if target.contains("://") {
            return Err(SpecError::new(
                file,
                at(),
                format!("remote $ref {r:?} is not supported: download it beside the spec"),
            ));
        }
        let base = file.parent().unwrap_or_else(|| Path::new("."));
        let ext_path = base.join(percent_decode(target).as_ref());
        let canonical = ext_path.canonicalize().map_err(|e| {
            SpecError::new(
                file,
                at(),
                format!("cannot resolve $ref {r:?}: {}: {e}", ext_path.display()),
            )
        })?;
        // Only regular files: a `$ref` to /dev/zero or a FIFO would exhaust memory or hang (fuzzing).
        match std::fs::metadata(&canonical) {
            Ok(m) if m.is_file() && m.len() <= MAX_REF_FILE => {}
            Ok(m) if m.is_file() => {
                return Err(SpecError::new(
                    file,
                    at(),
                    format!("$ref {r:?}: {} is larger than {MAX_REF_FILE} bytes", ext_path.display()),
                ));
            }
            _ => {
                return Err(SpecError::new(
                    file,
                    at(),
                    format!("$ref {r:?}: {} is not a regular file", ext_path.display()),
                ));
            }
        }
        let key = match self.keys.get(&canonical) {
            Some(k) => k.clone(),
            None => {
                let key = self.keys.len().to_string();
                self.keys.insert(canonical.clone(), key.clone());
                let raw = read_value(&ext_path)?;
                let ext_prefix = format!("/{BUNDLE_KEY}/{key}");
                let mut refs = Vec::new();
                self.collect(&ext_path, &ext_prefix, &raw, &raw, None, &mut refs)?;
                let mut content = raw.clone();
                apply(&mut content, &mut refs.into_iter());
                self.bundled.insert(key.clone(), content);
                self.raw.insert(key.clone(), raw);
                key
            }
        };
        let exists = self.raw.get(&key).is_some_and(|raw| lookup(raw, &fragment).is_some());
        if !exists {
            return Err(SpecError::new(
                file,
                at(),
                format!(
                    "cannot resolve $ref {r:?}: nothing at #{fragment} in {}",
                    ext_path.display()
                ),
            ));
        }
        let new = format!("#/{BUNDLE_KEY}/{key}{fragment}");
        Ok((new != r).then_some(new))
    }
}

/// Literal values (examples, enums, defaults) may contain anything, including keys named `$ref`.
fn is_literal(key: &str, value: &Value) -> bool {
    matches!(key, "example" | "enum" | "const" | "default" | "value") || (key == "examples" && value.is_array())
}

/// Writes what [`Bundler::collect`] decided: `new` holds an entry per `$ref`, in the same walk order.
fn apply(value: &mut Value, new: &mut impl Iterator<Item = Option<String>>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get_mut("$ref")
                && let Some(Some(changed)) = new.next()
            {
                *r = changed;
            }
            for (k, v) in map.iter_mut() {
                if !is_literal(k, v) {
                    apply(v, new);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                apply(v, new);
            }
        }
        _ => {}
    }
}
