//! The corpus harness's own reading of an OpenAPI document (Swagger 2.0, OpenAPI 3.0, 3.1, 3.2):
//! its files, `$ref`s within and across files, and JSON Schema validation against its schemas.
//!
//! Deliberately independent of specbox's internals: a conformance check must not share the
//! engine's reading of a spec (nor break when the engine's modules are renamed). Every file a
//! document reaches is registered with `jsonschema` under its own `file://` URI, so a `$ref` to
//! `../models/x.yml#/y` resolves the way JSON Schema says, relative to the file it is written in.

use jsonschema::{Draft, Registry, Validator};
use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};
use serde_json::{Map, Value, json};
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    Swagger2,
    V30,
    /// 3.1 and 3.2: schemas are JSON Schema 2020-12.
    V31,
}

/// A place in the documents: a file (index into [`Docs`]) and a JSON pointer into it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Loc {
    pub file: usize,
    pub ptr: String,
}

impl Loc {
    pub fn new(file: usize, ptr: impl Into<String>) -> Loc {
        Loc { file, ptr: ptr.into() }
    }
    pub fn child(&self, key: &str) -> Loc {
        Loc {
            file: self.file,
            ptr: format!("{}/{}", self.ptr, escape(key)),
        }
    }
    pub fn index(&self, i: usize) -> Loc {
        Loc {
            file: self.file,
            ptr: format!("{}/{i}", self.ptr),
        }
    }
}

/// A schema: one written in a document, or one the harness made (Swagger 2.0 parameters, whose
/// schema keywords sit on the parameter itself), read in the context of a file.
#[derive(Clone, Debug)]
pub enum SchemaSrc {
    At(Loc),
    Inline(usize, Value),
}

/// One way a value breaks a schema.
#[derive(Clone, Debug)]
pub struct Violation {
    /// JSON pointer into the value.
    pub path: String,
    /// The failing JSON Schema keyword (`type`, `required`, `oneOf`, ...).
    pub keyword: String,
    pub message: String,
}

impl Violation {
    /// Where and what, with array indices folded (`/items/*/id required`): two values that break
    /// a schema the same way have the same signature.
    pub fn signature(&self) -> String {
        let path: Vec<&str> = self
            .path
            .split('/')
            .map(|s| {
                if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                    "*"
                } else {
                    s
                }
            })
            .collect();
        format!("{} {}", path.join("/"), self.keyword)
    }
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() { "(root)" } else { &self.path };
        write!(f, "{at}: {} [{}]", clip(&self.message, 160), self.keyword)
    }
}

pub struct Docs {
    pub version: Version,
    /// Normalised absolute paths; the root document is file 0.
    files: Vec<PathBuf>,
    index: HashMap<PathBuf, usize>,
    raw: Vec<Value>,
    registry: Registry<'static>,
    validators: RefCell<HashMap<String, Rc<Validator>>>,
    /// `$ref`s that lead nowhere (file: pointer -> reference); schema validation reads them as `{}`.
    pub dangling: Vec<String>,
}

impl Docs {
    pub fn load(root: &Path) -> Result<Docs, String> {
        let root = normalise(&std::env::current_dir().map_err(|e| e.to_string())?.join(root));
        let mut files = vec![root.clone()];
        let mut index = HashMap::from([(root, 0usize)]);
        let mut raw: Vec<Value> = Vec::new();
        let mut missing = Vec::new();
        let mut i = 0;
        while i < files.len() {
            let path = files[i].clone();
            let value = match read(&path) {
                Ok(v) => v,
                Err(e) if i == 0 => return Err(e),
                Err(e) => {
                    missing.push(e);
                    Value::Null
                }
            };
            let mut refs = Vec::new();
            collect_refs(&value, "", &mut refs);
            for (_, r) in refs {
                let file_part = r.split('#').next().unwrap_or("");
                if file_part.is_empty() || file_part.contains("://") {
                    continue;
                }
                let target = normalise(&path.parent().unwrap_or(Path::new("/")).join(decode(file_part)));
                if !index.contains_key(&target) {
                    index.insert(target.clone(), files.len());
                    files.push(target);
                }
            }
            raw.push(value);
            i += 1;
        }
        let version = match (raw[0].get("swagger"), raw[0].get("openapi").and_then(Value::as_str)) {
            (Some(_), _) => Version::Swagger2,
            (_, Some(v)) if v.starts_with("3.0") => Version::V30,
            (_, Some(_)) => Version::V31,
            _ => return Err("neither `openapi` nor `swagger` at the top".into()),
        };
        let mut docs = Docs {
            version,
            files,
            index,
            raw,
            registry: Registry::new().prepare().map_err(|e| e.to_string())?,
            validators: RefCell::new(HashMap::new()),
            dangling: missing,
        };
        docs.inline_referenced_maps();
        // Every reference that leads nowhere, then the copies the validator reads.
        let mut dangling_at: Vec<HashSet<String>> = vec![HashSet::new(); docs.raw.len()];
        for (f, value) in docs.raw.iter().enumerate() {
            let mut refs = Vec::new();
            collect_refs(value, "", &mut refs);
            for (at, r) in refs {
                if r.contains("://") && !r.starts_with("file://") {
                    continue;
                }
                let ok = docs.target(f, &r).is_some_and(|l| docs.get(&l).is_some());
                if !ok {
                    docs.dangling
                        .push(format!("{}#{at}: $ref {r:?} leads nowhere", docs.name(f)));
                    dangling_at[f].insert(at);
                }
            }
        }
        let mut resources = Vec::new();
        for (f, value) in docs.raw.iter().enumerate() {
            let mut copy = value.clone();
            for at in &dangling_at[f] {
                if let Some(v) = copy.pointer_mut(at) {
                    *v = json!({});
                }
            }
            if version != Version::V31 {
                normalise_schemas(&mut copy, false);
            }
            resources.push((file_uri(&docs.files[f]), copy));
        }
        docs.registry = Registry::new()
            .draft(Draft::Draft202012)
            .extend(resources)
            .and_then(|b| b.prepare())
            .map_err(|e| format!("cannot index the documents' schemas: {e}"))?;
        Ok(docs)
    }

    /// DigitalOcean writes a whole `properties` map as a `$ref` (`properties: {$ref: attrs.yml#/x}`),
    /// which its Redocly toolchain reads as a JSON Reference to the map. JSON Schema would read a
    /// property named `$ref`, so such maps are replaced by what they name, their own references
    /// made absolute (they are written relative to the file they come from).
    fn inline_referenced_maps(&mut self) {
        for _ in 0..4 {
            let mut found = Vec::new();
            for (f, value) in self.raw.iter().enumerate() {
                let mut refs = Vec::new();
                collect_refs(value, "", &mut refs);
                for (at, r) in refs {
                    let is_map = at.rsplit('/').next() == Some("properties")
                        && value
                            .pointer(&at)
                            .and_then(Value::as_object)
                            .is_some_and(|m| m.len() == 1);
                    if is_map && let Some(target) = self.target(f, &r) {
                        found.push((f, at, target));
                    }
                }
            }
            if found.is_empty() {
                return;
            }
            for (f, at, target) in found {
                let Some(mut map) = self.get(&target).cloned() else {
                    continue;
                };
                self.absolutise(target.file, &mut map);
                if let Some(slot) = self.raw[f].pointer_mut(&at) {
                    *slot = map;
                }
            }
        }
    }

    /// Rewrites every `$ref` in `v` (written in `file`) as an absolute `file://` reference.
    fn absolutise(&self, file: usize, v: &mut Value) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref")
                    && !r.contains("://")
                    && let Some(l) = self.target(file, r)
                {
                    let abs = format!("{}#{}", file_uri(&self.files[l.file]), fragment(&l.ptr));
                    m.insert("$ref".into(), Value::String(abs));
                }
                for child in m.values_mut() {
                    self.absolutise(file, child);
                }
            }
            Value::Array(a) => {
                for child in a {
                    self.absolutise(file, child);
                }
            }
            _ => {}
        }
    }

    pub fn root(&self) -> &Value {
        &self.raw[0]
    }

    /// The file's path relative to the root document's folder (for messages).
    pub fn name(&self, file: usize) -> String {
        let base = self.files[0].parent().unwrap_or(Path::new("/"));
        let p = &self.files[file];
        p.strip_prefix(base).unwrap_or(p).display().to_string()
    }

    pub fn get(&self, loc: &Loc) -> Option<&Value> {
        let doc = self.raw.get(loc.file)?;
        if loc.ptr.is_empty() {
            Some(doc)
        } else {
            doc.pointer(&loc.ptr)
        }
    }

    /// Where a `$ref` written in `file` leads.
    pub fn target(&self, file: usize, reference: &str) -> Option<Loc> {
        let (file_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file_part.is_empty() {
            file
        } else if let Some(abs) = file_part.strip_prefix("file://") {
            *self.index.get(&normalise(Path::new(&decode(abs))))?
        } else {
            let base = self.files[file].parent().unwrap_or(Path::new("/"));
            *self.index.get(&normalise(&base.join(decode(file_part))))?
        };
        let ptr = decode(fragment);
        if !ptr.is_empty() && !ptr.starts_with('/') {
            return None;
        }
        Some(Loc::new(file, ptr))
    }

    /// Follows `$ref`s from `loc` to the object they finally name.
    pub fn deref(&self, loc: &Loc) -> Option<(Loc, &Value)> {
        let mut loc = loc.clone();
        for _ in 0..64 {
            let v = self.get(&loc)?;
            match v.get("$ref").and_then(Value::as_str) {
                Some(r) => loc = self.target(loc.file, r)?,
                None => return Some((loc, v)),
            }
        }
        None
    }

    /// Like [`Self::deref`] for a value held in hand, read in the context of `file`.
    pub fn deref_value<'a>(&'a self, file: usize, v: &'a Value) -> Option<(usize, &'a Value)> {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => {
                let (l, v) = self.deref(&self.target(file, r)?)?;
                Some((l.file, v))
            }
            None => Some((file, v)),
        }
    }

    /// An example value as written, or what it names when it is a whole `{$ref: ...}` (read as a
    /// JSON Reference, as DigitalOcean's toolchain does; OpenAPI itself would take it literally).
    pub fn literal(&self, file: usize, v: &Value) -> Value {
        match v {
            Value::Object(m) if m.len() == 1 && m.get("$ref").is_some_and(Value::is_string) => self
                .deref_value(file, v)
                .map(|(_, t)| t.clone())
                .unwrap_or_else(|| v.clone()),
            _ => v.clone(),
        }
    }

    fn validator(&self, schema: &SchemaSrc) -> Result<Rc<Validator>, String> {
        let (key, wrapper) = match schema {
            SchemaSrc::At(loc) => {
                let r = format!("{}#{}", file_uri(&self.files[loc.file]), fragment(&loc.ptr));
                (r.clone(), json!({ "$ref": r }))
            }
            SchemaSrc::Inline(file, v) => {
                let mut v = v.clone();
                if self.version != Version::V31 {
                    normalise_schemas(&mut v, false);
                }
                (format!("{}#inline:{v}", file_uri(&self.files[*file])), v)
            }
        };
        if let Some(v) = self.validators.borrow().get(&key) {
            return Ok(v.clone());
        }
        let mut options = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true);
        if let SchemaSrc::Inline(file, _) = schema {
            options = options.with_base_uri(file_uri(&self.files[*file]));
        }
        let validator = Rc::new(
            options
                .build(&wrapper)
                .map_err(|e| format!("the schema does not compile: {}", clip(&e.to_string(), 300)))?,
        );
        self.validators.borrow_mut().insert(key, validator.clone());
        Ok(validator)
    }

    /// Every way `value` breaks `schema` (empty: it is valid).
    pub fn violations(&self, schema: &SchemaSrc, value: &Value) -> Result<Vec<Violation>, String> {
        let v = self.validator(schema)?;
        if v.is_valid(value) {
            return Ok(Vec::new());
        }
        let mut out: Vec<Violation> = Vec::new();
        for e in v.iter_errors(value) {
            let found = Violation {
                path: e.instance_path().to_string(),
                keyword: e.kind().keyword().to_string(),
                message: e.to_string(),
            };
            // The same error reached through several `allOf` branches is one violation.
            if !out.iter().any(|o| o.path == found.path && o.message == found.message) {
                out.push(found);
            }
        }
        Ok(out)
    }

    pub fn is_valid(&self, schema: &SchemaSrc, value: &Value) -> bool {
        self.validator(schema).is_ok_and(|v| v.is_valid(value))
    }

    /// The schema's own value (following `$ref`s), with the file it is read in.
    pub fn schema_value<'a>(&'a self, schema: &'a SchemaSrc) -> Option<(usize, &'a Value)> {
        match schema {
            SchemaSrc::At(loc) => self.deref(loc).map(|(l, v)| (l.file, v)),
            SchemaSrc::Inline(f, v) => self.deref_value(*f, v),
        }
    }
}

/// Reads YAML or JSON. A YAML integer too wide for 64 bits (DigitalOcean's `maximum:
/// 18446744073709552000`) is read as the float it denotes: the parser refuses it otherwise.
fn read(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if path.extension().is_some_and(|e| e == "json") {
        return serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()));
    }
    let parsed = match yaml_serde::from_str::<yaml_serde::Value>(&text) {
        Ok(v) => Ok(v),
        Err(_) => yaml_serde::from_str::<yaml_serde::Value>(&widen_big_integers(&text)),
    };
    let mut yaml = parsed.map_err(|e| format!("{}: {e}", path.display()))?;
    yaml.apply_merge().map_err(|e| format!("{}: {e}", path.display()))?;
    yaml_to_json(yaml).map_err(|e| format!("{}: {e}", path.display()))
}

fn widen_big_integers(text: &str) -> String {
    let re = regex::Regex::new(r"(?m)^(\s*(?:-\s+)?[^\s#'][^:#]*:\s+|\s*-\s+)(-?[0-9]{19,})(\s*(?:#.*)?)$").unwrap();
    re.replace_all(text, |c: &regex::Captures| {
        let n = &c[2];
        if n.parse::<i64>().is_ok() || n.parse::<u64>().is_ok() {
            c[0].to_string()
        } else {
            format!("{}{n}.0{}", &c[1], &c[3])
        }
    })
    .into_owned()
}

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
                    .ok_or_else(|| format!("number {n} has no JSON form"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(s) => Value::Array(s.into_iter().map(yaml_to_json).collect::<Result<_, _>>()?),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => "null".into(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value)?,
    })
}

/// Every `$ref` string in a value, with the pointer of the object that holds it.
fn collect_refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref") {
                out.push((at.to_string(), r.clone()));
            }
            for (k, child) in m {
                collect_refs(child, &format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                collect_refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// What Swagger 2.0 and OpenAPI 3.0 schemas mean, said in JSON Schema 2020-12: `nullable`
/// (`x-nullable`) adds `null` to an explicit `type`; boolean `exclusiveMinimum`/`Maximum` make
/// the bound exclusive; a `$ref`'s siblings are ignored. Values (`enum`, `example`, `default`...)
/// are left alone; maps of names (`properties`...) are descended into without being read as
/// schemas themselves.
fn normalise_schemas(v: &mut Value, names: bool) {
    match v {
        Value::Object(m) => {
            if !names {
                normalise_one(m);
            }
            for (k, child) in m.iter_mut() {
                if !names
                    && matches!(
                        k.as_str(),
                        "enum" | "const" | "example" | "examples" | "default" | "x-examples"
                    )
                {
                    continue;
                }
                let child_names = !names
                    && matches!(
                        k.as_str(),
                        "properties" | "patternProperties" | "definitions" | "$defs" | "schemas"
                    );
                normalise_schemas(child, child_names);
            }
        }
        Value::Array(a) => {
            for child in a {
                normalise_schemas(child, false);
            }
        }
        _ => {}
    }
}

fn normalise_one(s: &mut Map<String, Value>) {
    if matches!(s.get("$ref"), Some(Value::String(_))) {
        s.retain(|k, _| k == "$ref");
        return;
    }
    for (bound, flag) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
        match s.get(flag) {
            Some(Value::Bool(true)) => match s.remove(bound) {
                Some(limit) => {
                    s.insert(flag.into(), limit);
                }
                None => {
                    s.remove(flag);
                }
            },
            Some(Value::Bool(false)) => {
                s.remove(flag);
            }
            _ => {}
        }
    }
    let nullable = [s.remove("nullable"), s.remove("x-nullable")]
        .into_iter()
        .any(|n| n == Some(Value::Bool(true)));
    if nullable {
        let widened = match s.get_mut("type") {
            Some(Value::String(t)) => {
                let t = std::mem::take(t);
                s.insert("type".into(), json!([t, "null"]));
                true
            }
            Some(Value::Array(types)) => {
                if !types.iter().any(|t| t == "null") {
                    types.push("null".into());
                }
                true
            }
            _ => false,
        };
        if widened
            && let Some(Value::Array(values)) = s.get_mut("enum")
            && !values.iter().any(Value::is_null)
        {
            values.push(Value::Null);
        }
    }
}

/// `/a/b/../c` → `/a/c`, without touching the file system (as URI resolution does).
pub fn normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

const PATH_SET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'[')
    .add(b']')
    .add(b'\\')
    .add(b'^')
    .add(b'|');

fn file_uri(p: &Path) -> String {
    format!("file://{}", utf8_percent_encode(&p.to_string_lossy(), PATH_SET))
}

fn fragment(ptr: &str) -> String {
    utf8_percent_encode(ptr, PATH_SET).to_string()
}

fn decode(s: &str) -> String {
    percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// One JSON pointer segment.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// At most `n` characters, marked when cut.
pub fn clip(s: &str, n: usize) -> String {
    let one_line = s.replace(['\n', '\r'], " ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        format!("{}…", one_line.chars().take(n).collect::<String>())
    }
}
