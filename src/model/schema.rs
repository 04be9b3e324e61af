//! Request validation: compiled validators per operation, and violations that say where.
//!
//! Every schema is compiled into a `jsonschema::Validator` (2020-12, formats asserted). To
//! resolve `#/components/...` the whole OpenAPI document is registered under a base URI and each
//! schema is compiled as a wrapper `{"$ref": "BASE#<pointer>"}`; compiling a sub-schema on its own
//! would lose every reference out of it. Validators are `Send + Sync` and shared by all requests;
//! nothing here re-parses a schema per request.
//!
//! Compiling is lazy: a [`Schema`] compiles its validator on first use, once (`OnceLock`), so a
//! large spec does not compile, at startup, validators for operations nobody calls. Each wrapper
//! compiles everything it reaches, so eager per-operation compiles of a spec whose schemas share
//! deep `$ref` chains cost seconds. What startup must still do is refuse a schema that does not
//! compile, naming it: [`SchemaCompiler::check`] compiles a set of schemas in one build, where
//! every location is compiled once however many schemas reach it, and callers fall back to
//! compiling each schema on its own (the precise error) only when that check fails.
//!
//! Violations carry a location (path, query, header, cookie or body), the JSON pointer into the
//! value, and a dotted `field` such as `billing_address.country`: the name an API's error body uses.
//! Map keys (additionalProperties) are user data, not field names, so a violation inside a map is
//! reported against the map (`metadata`, not `metadata.plan`).

use crate::spec::error::SpecError;
use crate::spec::pointer::{Field, lookup, lookup_mut, resolve};
use jsonschema::error::ValidationErrorKind;
use jsonschema::{Draft, Registry, Validator};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock};

const BASE: &str = "specbox://spec/doc.json";

/// Where in the request a violation was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Path,
    Query,
    Header,
    Cookie,
    Body,
}

impl Location {
    pub fn as_str(self) -> &'static str {
        match self {
            Location::Path => "path",
            Location::Query => "query",
            Location::Header => "header",
            Location::Cookie => "cookie",
            Location::Body => "body",
        }
    }
}

/// One thing wrong with a request.
#[derive(Debug, Clone)]
pub struct Violation {
    pub location: Location,
    /// Dotted field path (`billing_address.country`), or the parameter's name.
    pub field: String,
    /// JSON pointer into the body (empty for parameters).
    pub pointer: String,
    pub message: String,
}

/// When a schema's validator is compiled: on first use (after a startup [`SchemaCompiler::check`]),
/// or at once (to report which schema does not compile, once a check has failed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compile {
    Lazy,
    Eager,
}

/// Compiles schemas of one document against a registry that holds it (shared, see [`Self::new`]),
/// so a schema can be compiled on first use, once, without keeping a borrow of the document alive.
pub struct SchemaCompiler {
    shared: Arc<Registered>,
}

/// The registry and the file it came from, shared by the compiler and every lazy [`Schema`].
struct Registered {
    /// Replaced once, when startup is done and the document is cut to what requests read (see
    /// [`SchemaCompiler::rehome`]). Read only to compile a schema (once each), never to validate.
    held: RwLock<Arc<Held>>,
    file: PathBuf,
}

/// A document and the registry made from it.
struct Held {
    registry: Registry<'static>,
    /// The document the registry holds (for [`BadKeyword::of`]).
    root: Arc<Value>,
}

/// A schema and where it came from (kept for messages and for shaping). Its validator is
/// compiled on first use.
pub struct Schema {
    pub pointer: String,
    source: Arc<Registered>,
    validator: OnceLock<Option<Validator>>,
}

impl std::fmt::Debug for Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Schema({})", self.pointer)
    }
}

impl SchemaCompiler {
    pub fn new(root: &Arc<Value>, file: &Path) -> Result<Self, SpecError> {
        Ok(SchemaCompiler {
            shared: Arc::new(Registered {
                held: RwLock::new(Arc::new(Held::new(root, file)?)),
                file: file.to_path_buf(),
            }),
        })
    }

    /// Compiles from now on against `root`, which must hold every schema this compiler handed
    /// out, at the same pointer (the document once cut to what requests read, see
    /// [`crate::model::keep`]). Validators already compiled are kept.
    pub fn rehome(&self, root: &Arc<Value>) -> Result<(), SpecError> {
        let held = Arc::new(Held::new(root, &self.shared.file)?);
        *self
            .shared
            .held
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = held;
        Ok(())
    }

    /// Compiles the schema found at `pointer` in the document, now.
    pub fn compile(&self, pointer: &str) -> Result<Schema, SpecError> {
        let validator = self.shared.build(pointer)?;
        Ok(Schema {
            pointer: pointer.to_string(),
            source: Arc::clone(&self.shared),
            validator: OnceLock::from(Some(validator)),
        })
    }

    /// The schema at `pointer`, compiled now or on first use.
    pub fn schema(&self, pointer: &str, when: Compile) -> Result<Schema, SpecError> {
        match when {
            Compile::Eager => self.compile(pointer),
            Compile::Lazy => Ok(self.lazy(pointer)),
        }
    }

    /// The schema at `pointer`, compiled on first use. Only for schemas that [`Self::check`] has
    /// passed: a schema that does not compile must stop startup, not be found by a request.
    pub fn lazy(&self, pointer: &str) -> Schema {
        Schema {
            pointer: pointer.to_string(),
            source: Arc::clone(&self.shared),
            validator: OnceLock::new(),
        }
    }

    /// Whether every schema at `pointers` compiles. Most specs are vouched for without a build
    /// ([`crate::model::precheck`]); the rest are built. One build of `{"allOf": [{"$ref": ...}, ...]}`
    /// compiles each location once, however many of the schemas reach it (a `$ref` target is
    /// compiled once per build), where separate builds would each compile all they reach. The
    /// build fails exactly when one of the schemas would fail on its own: a location compiles the
    /// same whichever reference reaches it. On an error, compile each schema with
    /// [`Self::compile`] to learn which one fails and why; the error names the keyword at fault
    /// where it is one of the document's (see [`BadKeyword`]).
    pub fn check<'p>(&self, pointers: impl IntoIterator<Item = &'p str>) -> Result<(), Option<BadKeyword>> {
        let pointers: Vec<&str> = pointers.into_iter().collect();
        if pointers.is_empty() {
            return Ok(());
        }
        let held = self.shared.held();
        if crate::model::precheck::surely_compiles(&held.root, &pointers) {
            return Ok(());
        }
        tracing::debug!(
            "{}: schemas not vouched for without compiling them; compiling",
            self.shared.file.display()
        );
        let refs: Vec<Value> = pointers
            .iter()
            .map(|p| serde_json::json!({ "$ref": reference(p) }))
            .collect();
        match held.options().build(&serde_json::json!({ "allOf": refs })) {
            Ok(_) => Ok(()),
            Err(e) => Err(BadKeyword::of(&self.shared.file, &held.root, &e)),
        }
    }
}

/// A keyword of the document that no validator can read (`exclusiveMinimum: true` in a 3.1
/// document, a `pattern` that is no regular expression, `minLength: "x"`): where it is, and why.
#[derive(Debug, Clone)]
pub struct BadKeyword {
    /// The keyword's pointer in the document (`/components/schemas/A/exclusiveMinimum`).
    pub pointer: String,
    pub file: PathBuf,
    pub message: String,
}

impl BadKeyword {
    /// The keyword a compile error names, if it names a member of an object of the document
    /// (an error about the wrapper that [`SchemaCompiler::check`] builds names none).
    fn of(file: &Path, root: &Value, e: &jsonschema::ValidationError<'_>) -> Option<BadKeyword> {
        let pointer = e.instance_path().as_str().to_string();
        let (parent, _) = pointer.rsplit_once('/')?;
        // The value there must be the one the error is about: a subschema with an `$id` of its own
        // reports paths from itself, which may name another place of the document.
        let is_member = lookup(root, parent).is_some_and(Value::is_object)
            && lookup(root, &pointer).is_some_and(|v| v == e.instance().as_ref());
        is_member.then(|| BadKeyword {
            pointer,
            file: file.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// Takes the keyword out of `root`; `false` if it is not there.
    pub fn remove_from(&self, root: &mut Value) -> bool {
        let Some((parent, key)) = self.pointer.rsplit_once('/') else {
            return false;
        };
        let key = key.replace("~1", "/").replace("~0", "~");
        lookup_mut(root, parent)
            .and_then(Value::as_object_mut)
            .is_some_and(|m| m.shift_remove(&key).is_some())
    }
}

/// Schemas of one document compiled in one build, where a `$ref` target they share is compiled
/// once, each checking a value as its own [`Schema`] would. For checking many values against many
/// schemas once (the spec's examples, at startup): compiled one by one, each schema compiled again
/// everything it shares with the others.
pub struct SchemaSet {
    /// `{"properties": {"0": {"$ref": <schema 0>}, "1": ...}}`: the value `{"<i>": v}` meets
    /// schema `i` alone, which judges `v` as it would on its own.
    validator: Validator,
    pointers: Vec<String>,
}

impl SchemaCompiler {
    /// The schemas at `pointers` as a [`SchemaSet`], compiled now.
    pub fn set(&self, pointers: &[&str]) -> Result<SchemaSet, SpecError> {
        let properties: Map<String, Value> = pointers
            .iter()
            .enumerate()
            .map(|(i, p)| (i.to_string(), serde_json::json!({ "$ref": reference(p) })))
            .collect();
        let validator = self
            .shared
            .held()
            .options()
            .build(&serde_json::json!({ "properties": properties }))
            .map_err(|e| SpecError::new(&self.shared.file, "", format!("invalid schema: {e}")))?;
        Ok(SchemaSet {
            validator,
            pointers: pointers.iter().map(|p| p.to_string()).collect(),
        })
    }
}

impl SchemaSet {
    /// [`Schema::violations`] of `value` against the set's schema `i` (none for an `i` beyond it).
    pub fn violations(
        &self,
        i: usize,
        root: &Value,
        value: &Value,
        location: Location,
        prefix: &str,
    ) -> Vec<Violation> {
        let Some(pointer) = self.pointers.get(i) else {
            return Vec::new();
        };
        let wrapped = Value::Object(Map::from_iter([(i.to_string(), value.clone())]));
        if self.validator.is_valid(&wrapped) {
            return Vec::new();
        }
        let schema = lookup(root, pointer).unwrap_or(&Value::Null);
        let mut out: Vec<Violation> = Vec::new();
        for err in self.validator.iter_errors(&wrapped) {
            // Paths in `wrapped` start with `/<i>`: the value's own paths follow.
            describe(root, schema, &err, location, prefix, &mut out, 0, 1);
        }
        out
    }
}

impl Held {
    fn new(root: &Arc<Value>, file: &Path) -> Result<Held, SpecError> {
        let registry = Registry::new().draft(Draft::Draft202012);
        // The registry shares the document rather than copying it. A shared document is read
        // under the registry's draft (2020-12), where a copy is read under the draft its
        // `$schema` names: share only when the two agree.
        let registry = if Draft::default().detect(root) == Draft::Draft202012 {
            registry.add(BASE, Arc::clone(root))
        } else {
            registry.add(BASE, jsonschema::Resource::from_contents(root.as_ref().clone()))
        };
        let registry = registry
            .and_then(|b| b.prepare())
            .map_err(|e| SpecError::new(file, "", format!("cannot index the document's schemas: {e}")))?;
        Ok(Held {
            registry,
            root: Arc::clone(root),
        })
    }

    fn options(&self) -> jsonschema::ValidationOptions<'_> {
        jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
    }
}

impl Registered {
    /// The document and registry compiled against now.
    fn held(&self) -> Arc<Held> {
        Arc::clone(&self.held.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    fn build(&self, pointer: &str) -> Result<Validator, SpecError> {
        let wrapper = serde_json::json!({ "$ref": reference(pointer) });
        self.held()
            .options()
            .build(&wrapper)
            .map_err(|e| SpecError::new(&self.file, pointer, format!("invalid schema: {e}")))
    }
}

/// `BASE#<pointer>`, the pointer escaped for a URI fragment.
fn reference(pointer: &str) -> String {
    format!("{BASE}#{}", crate::spec::pointer::encode_fragment(pointer))
}

impl Schema {
    /// The compiled validator (compiled now if this is its first use). `None` only if it does
    /// not compile, which startup rules out for every schema it hands out (see
    /// [`SchemaCompiler::check`]); such a schema then accepts everything, and says so in the log.
    fn validator(&self) -> Option<&Validator> {
        self.validator
            .get_or_init(|| match self.source.build(&self.pointer) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::error!("{e}; values are not checked against it");
                    None
                }
            })
            .as_ref()
    }

    pub fn is_valid(&self, value: &Value) -> bool {
        self.validator().is_none_or(|v| v.is_valid(value))
    }

    /// Validates `value` and describes every violation. `root` is the document, used to turn
    /// instance pointers into field names.
    pub fn violations(&self, root: &Value, value: &Value, location: Location, prefix: &str) -> Vec<Violation> {
        self.violations_as(root, value, location, prefix, false)
    }

    /// [`Self::violations`] of a request body: `readOnly` properties belong to the server, so a
    /// client need not send them even where they are `required`, and what it sends there is
    /// ignored rather than judged.
    pub fn request_violations(&self, root: &Value, value: &Value, location: Location, prefix: &str) -> Vec<Violation> {
        self.violations_as(root, value, location, prefix, true)
    }

    fn violations_as(
        &self,
        root: &Value,
        value: &Value,
        location: Location,
        prefix: &str,
        request: bool,
    ) -> Vec<Violation> {
        let Some(validator) = self.validator() else {
            return Vec::new();
        };
        // Most requests are valid: the boolean check is much cheaper than collecting errors.
        if validator.is_valid(value) {
            return Vec::new();
        }
        let schema = lookup(root, &self.pointer).unwrap_or(&Value::Null);
        let mut out: Vec<Violation> = Vec::new();
        for err in validator.iter_errors(value) {
            if request && read_only_at(root, schema, &err) {
                continue;
            }
            describe(root, schema, &err, location, prefix, &mut out, 0, 0);
        }
        out
    }
}

/// `pointer` without its first `skip` segments (`/0/a/b`, 1 → `/a/b`).
fn skip_segments(pointer: &str, skip: usize) -> &str {
    let mut rest = pointer;
    for _ in 0..skip {
        rest = match rest.strip_prefix('/') {
            Some(after) => after.find('/').map_or("", |i| &after[i..]),
            None => rest,
        };
    }
    rest
}

/// Turns one validation error into violations. A failed `oneOf`/`anyOf` is explained by the
/// branch whose type fits the value (an inline object is judged by the object branch), so a
/// client learns `owner.locale` is wrong rather than that `owner` matches no alternative.
/// `skip`: how many leading segments of the error's instance path lead to the value judged
/// (1 for a [`SchemaSet`]'s wrapped value).
#[allow(clippy::too_many_arguments)]
fn describe(
    root: &Value,
    schema: &Value,
    err: &jsonschema::ValidationError<'_>,
    location: Location,
    prefix: &str,
    out: &mut Vec<Violation>,
    depth: usize,
    skip: usize,
) {
    let pointer = skip_segments(err.instance_path().as_str(), skip).to_string();
    if depth < 8
        && let ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } = err.kind()
    {
        let fits = |branch: &&Vec<jsonschema::ValidationError<'static>>| {
            !branch.iter().any(|e| {
                skip_segments(e.instance_path().as_str(), skip) == pointer
                    && matches!(
                        e.kind(),
                        ValidationErrorKind::Type { .. }
                            | ValidationErrorKind::Constant { .. }
                            | ValidationErrorKind::Enum { .. }
                    )
            })
        };
        let mut candidates: Vec<&Vec<jsonschema::ValidationError<'static>>> = context.iter().filter(fits).collect();
        candidates.sort_by_key(|b| b.len());
        if let [best, ..] = candidates.as_slice()
            && !best.is_empty()
        {
            for inner in best.iter() {
                describe(root, schema, inner, location, prefix, out, depth + 1, skip);
            }
            return;
        }
    }
    let segments: Vec<String> = pointer
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    let mut field = field_path(root, schema, &segments);
    let message = match err.kind() {
        ValidationErrorKind::Required { property } => {
            let name = property
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| property.to_string());
            field = join_field(&field, &name);
            format!("{name} is required")
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            if let Some(first) = unexpected.first() {
                field = join_field(&field, first);
            }
            format!("unexpected field(s): {}", unexpected.join(", "))
        }
        _ => err.to_string(),
    };
    let field = match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field,
        (false, true) => prefix.to_string(),
        (false, false) => format!("{prefix}.{field}"),
    };
    // Several keywords may fail at one place: report the place once.
    if out.iter().any(|v| v.field == field && v.pointer == pointer) {
        return;
    }
    out.push(Violation {
        location,
        field,
        pointer,
        message,
    });
}

fn join_field(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}.{name}")
    }
}

/// Whether an error is about a `readOnly` property: a missing required one, or a value at or
/// below one.
fn read_only_at(root: &Value, schema: &Value, err: &jsonschema::ValidationError<'_>) -> bool {
    let is_read_only = |s: &Value| resolve(root, s).field("readOnly") == Some(&Value::Bool(true));
    let mut current = schema;
    for seg in err.instance_path().as_str().split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        match child_schema(root, current, &seg, 0) {
            Some((child, true)) if is_read_only(child) => return true,
            Some((child, true)) => current = child,
            _ => return false,
        }
    }
    match err.kind() {
        ValidationErrorKind::Required { property } => property
            .as_str()
            .and_then(|name| child_schema(root, current, name, 0))
            .is_some_and(|(child, _)| is_read_only(child)),
        _ => false,
    }
}

/// The dotted field name for an instance path, stopping at map keys.
pub fn field_path(root: &Value, schema: &Value, segments: &[String]) -> String {
    let mut names: Vec<&str> = Vec::new();
    let mut current = Some(schema);
    for seg in segments {
        let Some(s) = current else { break };
        match child_schema(root, s, seg, 0) {
            Some((child, true)) => {
                names.push(seg);
                current = Some(child);
            }
            _ => break,
        }
    }
    names.join(".")
}

/// The sub-schema for `seg` under `schema`, and whether `seg` is a named field (a declared
/// property or an array index) rather than a map key.
fn child_schema<'a>(root: &'a Value, schema: &'a Value, seg: &str, depth: usize) -> Option<(&'a Value, bool)> {
    if depth > 16 {
        return None;
    }
    let s = resolve(root, schema);
    if let Some(p) = s.field("properties").and_then(|p| p.get(seg)) {
        return Some((p, true));
    }
    if seg.parse::<usize>().is_ok()
        && let Some(items) = s.field("items")
    {
        return Some((items, true));
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(branches) = s.get(key).and_then(Value::as_array) {
            for b in branches {
                if let Some(found) = child_schema(root, b, seg, depth + 1)
                    && found.1
                {
                    return Some(found);
                }
            }
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Parameters: strings on the wire, typed values for the schema.
// ---------------------------------------------------------------------------------------------

/// How a parameter's raw string(s) become a JSON value, decided once from its schema.
#[derive(Debug, Clone, PartialEq)]
pub enum Coerce {
    String,
    Integer,
    Number,
    Boolean,
    /// An array of the inner kind; `explode: false` values are comma-separated.
    Array(Box<Coerce>, bool),
    /// JSON text (a `content: application/json` parameter) or an object we do not decompose.
    Json,
}

impl Coerce {
    /// Decides from a (resolved) parameter schema.
    pub fn for_schema(root: &Value, schema: &Value, explode: bool) -> Coerce {
        Coerce::for_schema_at(root, schema, explode, 0)
    }

    /// `depth` bounds the walk: a schema may refer to itself (`L: {items: {$ref: L}}`), found by fuzzing.
    fn for_schema_at(root: &Value, schema: &Value, explode: bool, depth: usize) -> Coerce {
        if depth > 16 {
            return Coerce::String;
        }
        let s = resolve(root, schema);
        let types: Vec<&str> = match s.field("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => {
                // A composed schema: look at the first branch that names a type.
                for key in ["allOf", "anyOf", "oneOf"] {
                    if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|b| {
                        b.iter()
                            .find(|x| resolve(root, x).field("type").is_some_and(|t| t != "null"))
                    }) {
                        return Coerce::for_schema_at(root, first, explode, depth + 1);
                    }
                }
                vec![]
            }
        };
        if types.contains(&"array") {
            let inner = s
                .field("items")
                .map_or(Coerce::String, |i| Coerce::for_schema_at(root, i, true, depth + 1));
            return Coerce::Array(Box::new(inner), explode);
        }
        if types.contains(&"integer") {
            Coerce::Integer
        } else if types.contains(&"number") {
            Coerce::Number
        } else if types.contains(&"boolean") {
            Coerce::Boolean
        } else if types.contains(&"object") {
            Coerce::Json
        } else {
            Coerce::String
        }
    }

    /// Turns the raw values of one parameter into JSON. A value that does not parse stays a
    /// string, so the validator reports it as the wrong type (`limit=abc` → "not of type integer").
    pub fn apply(&self, raw: &[&str]) -> Value {
        match self {
            Coerce::Array(inner, explode) => {
                let parts: Vec<&str> = if !explode || raw.len() == 1 {
                    raw.iter()
                        .flat_map(|r| r.split(','))
                        .filter(|s| !s.is_empty())
                        .collect()
                } else {
                    raw.to_vec()
                };
                Value::Array(parts.iter().map(|p| inner.scalar(p)).collect())
            }
            _ => raw.first().map_or(Value::Null, |r| self.scalar(r)),
        }
    }

    /// `v` as this kind, where it was sent as another: a form's `"true"` stored as a boolean, a
    /// number stored as text. A value that does not convert is kept as it is.
    pub fn convert(&self, v: Value) -> Value {
        match (self, v) {
            (Coerce::String, Value::Number(n)) => Value::String(n.to_string()),
            (Coerce::String, Value::Bool(b)) => Value::String(b.to_string()),
            (Coerce::Integer | Coerce::Number | Coerce::Boolean, Value::String(s)) => self.scalar(&s),
            (Coerce::Integer, Value::Number(n)) if n.is_f64() => n
                .as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map_or(Value::Number(n), |f| Value::from(f as i64)),
            (_, v) => v,
        }
    }

    fn scalar(&self, raw: &str) -> Value {
        match self {
            Coerce::Integer => raw
                .parse::<i64>()
                .map(Value::from)
                .or_else(|_| raw.parse::<u64>().map(Value::from))
                .ok()
                .or_else(|| big_integer(raw))
                .unwrap_or_else(|| Value::String(raw.into())),
            Coerce::Number => raw
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .and_then(serde_json::Number::from_f64)
                .map(|n| {
                    // Keep integers integral so `minimum`/`multipleOf` behave as the client meant.
                    raw.parse::<i64>().map(Value::from).unwrap_or(Value::Number(n))
                })
                .unwrap_or_else(|| Value::String(raw.into())),
            Coerce::Boolean => match raw {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => Value::String(raw.into()),
            },
            Coerce::Json => serde_json::from_str(raw).unwrap_or_else(|_| Value::String(raw.into())),
            Coerce::String | Coerce::Array(..) => Value::String(raw.into()),
        }
    }
}

/// An integer too large for 64 bits is still an integer to JSON Schema: keep it as a number.
fn big_integer(raw: &str) -> Option<Value> {
    let digits = raw.strip_prefix('-').unwrap_or(raw);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    raw.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
}
