//! Reading OpenAPI documents: files, external `$ref`s, and the 3.0 → JSON Schema 2020-12 normalisation.
//!
//! The model is deliberately thin: a document stays a `serde_json::Value`, and this module offers
//! the few typed views the engine needs (operations, parameters, `$ref` resolution). Typed OpenAPI
//! crates were tried and rejected: `openapiv3` cannot read 3.1 (`type: [string, "null"]`, numeric
//! `exclusiveMinimum`) and silently drops keywords it does not know, and the 3.1-only crates cannot
//! read 3.0. Keeping the raw JSON means nothing in a spec is ever lost on the way to the validator.
//!
//! Loading produces one self-contained document per spec: every `$ref` to another file is copied
//! under `/x-specbox-bundled/<n>` and rewritten to a local pointer, and every local `$ref` is checked
//! to resolve. Everything downstream (the validator registry, the generator, the router) therefore
//! deals with a single document and local pointers only. Errors name the file and the JSON pointer.

use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Largest file a `$ref` may bring in.
const MAX_REF_FILE: u64 = 64 * 1024 * 1024;

/// Where bundled external files live inside the document.
const BUNDLE_KEY: &str = "x-specbox-bundled";

/// A problem with a spec (or fixture) file: which file, where in it, and what.
#[derive(Debug, Clone)]
pub struct SpecError {
    pub file: PathBuf,
    /// JSON pointer into the file (empty for the whole file), or a `line N column M` position for parse errors.
    pub pointer: String,
    pub message: String,
}

impl SpecError {
    pub fn new(file: &Path, pointer: impl Into<String>, message: impl Into<String>) -> Self {
        SpecError {
            file: file.to_path_buf(),
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pointer.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else if self.pointer.starts_with('/') {
            write!(f, "{}#{}: {}", self.file.display(), self.pointer, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file.display(), self.pointer, self.message)
        }
    }
}

impl std::error::Error for SpecError {}

/// The OpenAPI major.minor line a document was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V30,
    V31,
}

/// A loaded, bundled and normalised OpenAPI document.
#[derive(Debug, Clone)]
pub struct SpecDoc {
    pub path: PathBuf,
    /// File stem, used to find the spec's fixtures (`fixtures/<name>/`) and in messages.
    pub name: String,
    pub version: Version,
    /// The document. Shared (not copied) with the schema registry that compiles validators
    /// against it: a copy of a large spec cost tens of milliseconds and as much memory again.
    pub root: Arc<Value>,
}

/// Parses a YAML or JSON file into JSON. YAML merge keys (`<<`) are applied.
pub fn read_value(path: &Path) -> Result<Value, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| SpecError::new(path, "", format!("cannot read file: {e}")))?;
    parse_text(path, &text)
}

/// Parses text as JSON when the file says so (or the text looks like it), else as YAML.
pub fn parse_text(path: &Path, text: &str) -> Result<Value, SpecError> {
    let is_json = path.extension().is_some_and(|e| e == "json")
        || (path.extension().is_none() && text.trim_start().starts_with('{'));
    if is_json {
        return serde_json::from_str(text).map_err(|e| {
            SpecError::new(
                path,
                format!("line {} column {}", e.line(), e.column()),
                format!("invalid JSON: {e}"),
            )
        });
    }
    let mut yaml: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| {
        let at = e
            .location()
            .map(|l| format!("line {} column {}", l.line(), l.column()))
            .unwrap_or_default();
        SpecError::new(path, at, format!("invalid YAML: {e}"))
    })?;
    yaml.apply_merge()
        .map_err(|e| SpecError::new(path, "", format!("invalid YAML merge key: {e}")))?;
    yaml_to_json(yaml).map_err(|m| SpecError::new(path, "", m))
}

/// YAML allows keys that JSON does not (numbers, booleans); OpenAPI's `200:` must become `"200"`.
fn yaml_to_json(v: yaml_serde::Value) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .ok_or_else(|| format!("number {n} cannot be represented in JSON"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(seq) => Value::Array(seq.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".to_string(),
                    other => return Err(format!("unsupported YAML mapping key: {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// Loads one OpenAPI document: parse, check the version, bundle external `$ref`s, check local
/// `$ref`s, and normalise 3.0 schemas to 2020-12.
pub fn load(path: &Path) -> Result<SpecDoc, SpecError> {
    let root = read_value(path)?;
    let Some(obj) = root.as_object() else {
        return Err(SpecError::new(
            path,
            "",
            "an OpenAPI document must be a mapping at the top level",
        ));
    };
    if obj.contains_key("swagger") {
        return Err(SpecError::new(
            path,
            "/swagger",
            "Swagger 2.0 is not supported: convert the document to OpenAPI 3 (e.g. with swagger2openapi)",
        ));
    }
    let version = match obj.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") => Version::V30,
        Some(v) if v.starts_with("3.1") || v.starts_with("3.2") => Version::V31,
        Some(v) => {
            return Err(SpecError::new(
                path,
                "/openapi",
                format!("unsupported OpenAPI version {v:?} (3.0.x and 3.1.x are)"),
            ));
        }
        None => {
            return Err(SpecError::new(path, "/openapi", "missing `openapi` version field"));
        }
    };
    if let Some(p) = obj.get("paths")
        && !p.is_object()
    {
        return Err(SpecError::new(path, "/paths", "`paths` must be a mapping"));
    }

    let mut bundler = Bundler::default();
    let mut root = bundler.bundle_root(path, root)?;
    if version == Version::V30 {
        normalise_30(&mut root);
    }
    Ok(SpecDoc {
        path: path.to_path_buf(),
        name: path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "spec".into()),
        version,
        root: Arc::new(root),
    })
}

/// Copies external files into the document and rewrites their `$ref`s to local pointers.
#[derive(Default)]
struct Bundler {
    /// Canonical path of an external file → its key under `/x-specbox-bundled`.
    keys: HashMap<PathBuf, String>,
    /// Bundled files' contents, by key (already rewritten).
    bundled: Map<String, Value>,
    /// Raw contents of each external file, kept for checking pointers into it.
    raw: HashMap<String, Value>,
}

impl Bundler {
    fn bundle_root(&mut self, path: &Path, mut root: Value) -> Result<Value, SpecError> {
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

/// Where the bundler is in a file: a path of segments on the stack, made a JSON pointer only
/// when a message needs one.
struct At<'a> {
    parent: Option<&'a At<'a>>,
    segment: Segment<'a>,
}

enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

impl At<'_> {
    fn pointer(at: Option<&At<'_>>) -> String {
        let mut segments = Vec::new();
        let mut current = at;
        while let Some(a) = current {
            segments.push(&a.segment);
            current = a.parent;
        }
        let mut out = String::new();
        for s in segments.iter().rev() {
            out.push('/');
            match s {
                Segment::Key(k) => out.push_str(&escape_pointer(k)),
                Segment::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }
}

/// Looks a JSON pointer up (`""` is the whole document), exactly as `Value::pointer` does but
/// without its two string allocations per segment: startup resolves tens of thousands of
/// pointers into a large document, and those allocations were most of the cost.
pub fn lookup<'a>(root: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.is_empty() {
        return Some(root);
    }
    let rest = pointer.strip_prefix('/')?;
    rest.split('/').try_fold(root, |target, raw| {
        let token: Cow<'_, str> = if raw.contains('~') {
            Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(raw)
        };
        match target {
            Value::Object(map) => map.get(token.as_ref()),
            Value::Array(list) => array_index(&token).and_then(|i| list.get(i)),
            _ => None,
        }
    })
}

/// An array index token as `Value::pointer` reads it: no sign, no leading zero.
fn array_index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

/// JSON text with object keys sorted at every level: equal values give equal text, whatever the
/// key order (documents keep insertion order), so requests can be compared and fingerprinted.
pub fn canonical_json(v: &Value) -> String {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| {
                    format!(
                        "{}:{}",
                        Value::String(k.clone()),
                        map.get(k).map_or_else(String::new, canonical_json)
                    )
                })
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical_json).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// Escapes one JSON pointer segment.
pub fn escape_pointer(segment: &str) -> String {
    if segment.contains(['~', '/']) {
        segment.replace('~', "~0").replace('/', "~1")
    } else {
        segment.to_string()
    }
}

/// Percent-decodes `s` (invalid UTF-8 becomes U+FFFD). Text without a `%` is returned as it is,
/// skipping the decoder's byte-by-byte scan and UTF-8 re-validation: path parameters, `$ref`s and
/// credentials rarely need decoding, and path parameters are decoded on every request.
pub fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    percent_encoding::percent_decode_str(s).decode_utf8_lossy()
}

/// Follows a chain of local `$ref`s (bounded, so a reference loop cannot hang).
pub fn resolve<'a>(root: &'a Value, mut value: &'a Value) -> &'a Value {
    for _ in 0..32 {
        match value.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => match lookup(root, &percent_decode(&r[1..])) {
                Some(target) => value = target,
                None => return value,
            },
            _ => return value,
        }
    }
    value
}

/// The pointer a (possibly `$ref`) value finally resolves to, given the pointer it was found at.
pub fn resolve_pointer(root: &Value, mut pointer: String) -> String {
    for _ in 0..32 {
        match lookup(root, &pointer)
            .and_then(|v| v.get("$ref"))
            .and_then(Value::as_str)
        {
            Some(r) if r.starts_with('#') => pointer = percent_decode(&r[1..]).into_owned(),
            _ => break,
        }
    }
    pointer
}

/// [`resolve_pointer`] given `value`, the value at `pointer`, which the caller already holds: the
/// document is walked only when `value` is itself a `$ref` (otherwise the pointer stays).
pub fn resolve_pointer_of(root: &Value, value: &Value, pointer: String) -> String {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) if r.starts_with('#') => resolve_pointer(root, pointer),
        _ => pointer,
    }
}

// ---------------------------------------------------------------------------------------------
// OpenAPI 3.0 → JSON Schema 2020-12
// ---------------------------------------------------------------------------------------------

/// Rewrites every schema of a 3.0 document in place so that a 2020-12 validator reads it as 3.0
/// meant it: `nullable` becomes a `null` type, boolean `exclusiveMinimum`/`exclusiveMaximum`
/// become numeric ones, `example` becomes `examples`, and `$ref` siblings (ignored by 3.0) go.
fn normalise_30(root: &mut Value) {
    let mut found = HashSet::new();
    collect_schema_positions(root, &mut found);
    for pointer in found {
        if let Some(Value::Object(schema)) = root.pointer_mut(&pointer) {
            normalise_schema_30(schema);
        }
    }
}

fn normalise_schema_30(s: &mut Map<String, Value>) {
    if s.contains_key("$ref") {
        s.retain(|k, _| k == "$ref" || k == "description" || k == "summary");
        return;
    }
    if let Some(example) = s.remove("example") {
        s.entry("examples").or_insert_with(|| Value::Array(vec![example]));
    }
    for (bound, flag) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
        match s.get(flag) {
            Some(Value::Bool(true)) => {
                if let Some(limit) = s.remove(bound) {
                    s.insert(flag.into(), limit);
                } else {
                    s.remove(flag);
                }
            }
            Some(Value::Bool(false)) => {
                s.remove(flag);
            }
            _ => {}
        }
    }
    if s.remove("nullable") == Some(Value::Bool(true)) {
        match s.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                s.insert("type".into(), serde_json::json!([t, "null"]));
            }
            Some(Value::Array(types)) => {
                if !types.iter().any(|t| t == "null") {
                    types.push("null".into());
                }
            }
            _ => {
                // No type to widen (a bare allOf/oneOf): allow null beside the whole schema.
                let inner = Value::Object(std::mem::take(s));
                s.insert("anyOf".into(), serde_json::json!([inner, {"type": "null"}]));
                return;
            }
        }
        if let Some(Value::Array(values)) = s.get_mut("enum")
            && !values.iter().any(Value::is_null)
        {
            values.push(Value::Null);
        }
    }
}

/// Collects the JSON pointers of every schema in the document, following `$ref`s from
/// non-schema positions (parameters, responses, ...) to what they point at.
fn collect_schema_positions(root: &Value, out: &mut HashSet<String>) {
    let mut w = SchemaWalker {
        root,
        out,
        seen: HashSet::new(),
    };
    if let Some(schemas) = lookup(root, "/components/schemas").and_then(Value::as_object) {
        for k in schemas.keys() {
            w.schema(&format!("/components/schemas/{}", escape_pointer(k)));
        }
    }
    for (section, kind) in [
        ("parameters", Kind::Parameter),
        ("headers", Kind::Parameter),
        ("requestBodies", Kind::Content),
        ("responses", Kind::Response),
    ] {
        if let Some(m) = lookup(root, &format!("/components/{section}")).and_then(Value::as_object) {
            for k in m.keys() {
                w.visit(kind, &format!("/components/{section}/{}", escape_pointer(k)));
            }
        }
    }
    if let Some(paths) = root.get("paths").and_then(Value::as_object) {
        for k in paths.keys() {
            w.visit(Kind::PathItem, &format!("/paths/{}", escape_pointer(k)));
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    PathItem,
    Parameter,
    Content,
    Response,
}

struct SchemaWalker<'a> {
    root: &'a Value,
    out: &'a mut HashSet<String>,
    seen: HashSet<String>,
}

impl<'a> SchemaWalker<'a> {
    fn follow(&self, pointer: &str) -> Option<(String, &'a Value)> {
        let root: &'a Value = self.root;
        let v = lookup(root, pointer)?;
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) if r.starts_with('#') => {
                let target = percent_decode(&r[1..]).into_owned();
                lookup(root, &target).map(|t| (target, t))
            }
            _ => Some((pointer.to_string(), v)),
        }
    }

    fn visit(&mut self, kind: Kind, pointer: &str) {
        let Some((pointer, value)) = self.follow(pointer) else {
            return;
        };
        if !self.seen.insert(format!("{}{pointer}", kind as u8)) {
            return;
        }
        let Some(obj) = value.as_object() else { return };
        match kind {
            Kind::PathItem => {
                if obj.contains_key("parameters") {
                    self.list(Kind::Parameter, &format!("{pointer}/parameters"));
                }
                for m in METHODS {
                    if let Some(op) = obj.get(*m).and_then(Value::as_object) {
                        let op_ptr = format!("{pointer}/{m}");
                        if op.contains_key("parameters") {
                            self.list(Kind::Parameter, &format!("{op_ptr}/parameters"));
                        }
                        if op.contains_key("requestBody") {
                            self.visit(Kind::Content, &format!("{op_ptr}/requestBody"));
                        }
                        if let Some(responses) = op.get("responses").and_then(Value::as_object) {
                            for code in responses.keys() {
                                self.visit(Kind::Response, &format!("{op_ptr}/responses/{}", escape_pointer(code)));
                            }
                        }
                    }
                }
            }
            Kind::Parameter => {
                if obj.contains_key("schema") {
                    self.schema(&format!("{pointer}/schema"));
                }
                self.content(obj, &pointer);
            }
            Kind::Content => self.content(obj, &pointer),
            Kind::Response => {
                self.content(obj, &pointer);
                if let Some(headers) = obj.get("headers").and_then(Value::as_object) {
                    for h in headers.keys() {
                        self.visit(Kind::Parameter, &format!("{pointer}/headers/{}", escape_pointer(h)));
                    }
                }
            }
        }
    }

    fn list(&mut self, kind: Kind, pointer: &str) {
        let root: &'a Value = self.root;
        let n = lookup(root, pointer).and_then(Value::as_array).map_or(0, Vec::len);
        for i in 0..n {
            self.visit(kind, &format!("{pointer}/{i}"));
        }
    }

    fn content(&mut self, obj: &Map<String, Value>, pointer: &str) {
        if let Some(content) = obj.get("content").and_then(Value::as_object) {
            for (mt, media) in content {
                if media.get("schema").is_some() {
                    self.schema(&format!("{pointer}/content/{}/schema", escape_pointer(mt)));
                }
            }
        }
    }

    fn schema(&mut self, pointer: &str) {
        let root: &'a Value = self.root;
        let Some(value) = lookup(root, pointer) else {
            return;
        };
        if !self.out.insert(pointer.to_string()) {
            return;
        }
        let Some(obj) = value.as_object() else { return };
        if let Some(r) = obj.get("$ref").and_then(Value::as_str)
            && let Some(target) = r.strip_prefix('#')
        {
            self.schema(&percent_decode(target));
        }
        for (k, v) in obj {
            let child = format!("{pointer}/{}", escape_pointer(k));
            match k.as_str() {
                "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                    if let Some(m) = v.as_object() {
                        for name in m.keys() {
                            self.schema(&format!("{child}/{}", escape_pointer(name)));
                        }
                    }
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    for i in 0..v.as_array().map_or(0, Vec::len) {
                        self.schema(&format!("{child}/{i}"));
                    }
                }
                "items" if v.is_array() => {
                    for i in 0..v.as_array().map_or(0, Vec::len) {
                        self.schema(&format!("{child}/{i}"));
                    }
                }
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "propertyNames"
                | "contains"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalItems"
                    if v.is_object() =>
                {
                    self.schema(&child);
                }
                _ => {}
            }
        }
    }
}

/// The HTTP methods an OpenAPI path item may hold, in the order they are reported.
pub const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_reads_pointers_as_value_pointer_does() {
        let doc = serde_json::json!({
            "paths": {"/a/{id}": {"get": {"x": 1}}, "a~b": [10, 11, {"c": 3}]},
            "": {"empty": true},
            "01": "zero-one",
        });
        for p in [
            "",
            "/",
            "/paths",
            "/paths/~1a~1{id}/get/x",
            "/paths/a~0b/1",
            "/paths/a~0b/2/c",
            "/paths/a~0b/01",
            "/paths/a~0b/+1",
            "/paths/a~0b/3",
            "/paths/a~01b",
            "/01",
            "//empty",
            "paths",
            "/missing/x",
        ] {
            assert_eq!(lookup(&doc, p), doc.pointer(p), "{p}");
        }
    }

    #[test]
    fn escape_pointer_escapes_only_what_it_must() {
        assert_eq!(escape_pointer("plain"), "plain");
        assert_eq!(escape_pointer("/a~b/"), "~1a~0b~1");
    }

    #[test]
    fn bundling_keeps_local_refs_and_decodes_escaped_ones() {
        let path = Path::new("inline.yaml");
        let root: Value = serde_json::json!({
            "a": {"$ref": "#/components/schemas/A"},
            "b": {"$ref": "#/components/schemas/A%20B"},
            "c": {"example": {"$ref": "not checked"}},
            "components": {"schemas": {"A": {"type": "string"}, "A B": {"type": "integer"}}},
        });
        let bundled = Bundler::default().bundle_root(path, root.clone()).unwrap();
        let mut expected = root;
        expected["b"]["$ref"] = "#/components/schemas/A B".into();
        assert_eq!(bundled, expected);

        let broken = serde_json::json!({"x": [{"y~z": {"$ref": "#/nope"}}]});
        let err = Bundler::default().bundle_root(path, broken).unwrap_err();
        assert_eq!(err.pointer, "/x/0/y~0z/$ref");
    }
}
