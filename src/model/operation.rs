//! What one operation is, as compiled from its spec: parameters, bodies, responses, security, and
//! the document it came from.
//!
//! These are the model's nouns; [`crate::model::Api`] builds them, and the router, the resource
//! inference and every request stage read them. They sit below the build so that the router and
//! the resource inference can use them without importing the build that uses them.

use crate::model::errors::ErrorShape;
use crate::model::generate;
use crate::model::resources::plan::Action;
use crate::model::schema::{Coerce, Location, Schema, SchemaCompiler};
use crate::spec::SpecDoc;
use crate::spec::pointer::{Field, lookup, resolve};
use hyper::Method;
use regex::Regex;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// One mounted spec.
pub struct Spec {
    pub doc: SpecDoc,
    pub title: String,
    pub version: String,
    /// Path prefix, `/` or `/api/v1` (no trailing slash except for `/`).
    pub mount: String,
    pub errors: ErrorShape,
    pub schemes: Vec<SecurityScheme>,
    pub compiler: SchemaCompiler,
    /// OAuth2 client-credentials token endpoint (full path), when the spec declares one.
    pub token_route: Option<String>,
    /// The spec's server URLs, which answers' links leave for the sandbox's address.
    pub links: crate::model::links::ServerLinks,
}

impl Spec {
    pub fn root(&self) -> &Value {
        self.doc.root.as_ref()
    }
}

/// How a security scheme finds a credential in a request.
#[derive(Debug)]
pub enum SchemeKind {
    Bearer,
    Basic,
    ApiKey {
        location: Location,
        name: String,
    },
    /// OAuth2 with a client-credentials flow served by specbox: tokens must be ones it issued.
    OAuth2Issued,
    /// Other OAuth2 flows and OpenID Connect: any bearer token.
    OAuth2Any,
}

#[derive(Debug)]
pub struct SecurityScheme {
    pub name: String,
    pub kind: SchemeKind,
    /// `x-specbox-token-pattern`: what a credential must look like.
    pub pattern: Option<Regex>,
}

/// Alternatives (any one satisfies), each a set of schemes (all required). Empty: no security.
#[derive(Debug, Clone, Default)]
pub struct Security {
    pub alternatives: Vec<Vec<usize>>,
}

impl Security {
    /// True when some alternative needs nothing (`security: [{}]`) or there is no requirement.
    pub fn optional(&self) -> bool {
        self.alternatives.is_empty() || self.alternatives.iter().any(Vec::is_empty)
    }
}

/// One operation of one spec, with everything needed to serve it.
pub struct Operation {
    pub spec: usize,
    /// `operationId`, or `METHOD template` when the spec gives none.
    pub id: String,
    pub method: Method,
    /// The path template as written in the spec (`/pets/{petId}`).
    pub template: String,
    /// The full route (mount + template).
    pub route: String,
    /// JSON pointer of the operation object.
    pub pointer: String,
    pub params: Vec<Param>,
    pub body: Option<Body>,
    /// Declared responses, ordered: exact codes ascending, then ranges, then `default`.
    pub responses: Vec<Response>,
    pub security: Security,
    pub action: Action,
    /// Whether a successful answer sets off a webhook or a callback (see [`crate::model::hooks`]):
    /// only then does the pipeline keep the changed object for the event.
    pub fires: bool,
    /// What `x-specbox-lifecycle` and `x-specbox-outcomes` make of this operation (most have none).
    pub rules: Option<Box<crate::model::rules::OpRules>>,
    /// Its names, shared: what the journal keeps of it, valid after a reload has replaced the
    /// model (an index into `ops` would then name another operation).
    pub name: Arc<OpName>,
}

/// An operation's id and its spec's title.
#[derive(Debug, Default)]
pub struct OpName {
    pub id: String,
    pub spec: String,
}

pub struct Param {
    pub name: String,
    pub location: Location,
    pub required: bool,
    pub coerce: Coerce,
    pub schema: Option<Schema>,
    /// Pointer of the parameter's schema (for filters and pagination defaults).
    pub schema_pointer: Option<String>,
    /// The raw parameter object (for `x-specbox-filter` and examples), where it is in the
    /// document: read it with [`Param::raw`], at startup only (the document kept for requests
    /// does not hold it, see [`crate::model::keep`]).
    pub(super) raw: InDoc,
}

impl Param {
    /// The raw parameter object (`null` for an undeclared path parameter).
    pub fn raw<'a>(&'a self, root: &'a Value) -> &'a Value {
        self.raw.get(root).unwrap_or(&Value::Null)
    }
}

/// A value of the document, held as its place in the document rather than as a copy: examples and
/// parameter objects are much of a published spec (an error response's example, `$ref`'d by every
/// operation, was copied into each of them), and the document stays loaded anyway.
#[derive(Debug)]
pub enum InDoc {
    /// Its JSON pointer in the document.
    At(String),
    /// A copy, where the value could not be pointed at (see [`InDoc::new`]); boxed, as few are
    /// (a `Value` is three times the size of a pointer's `String`).
    Copy(Box<Value>),
    /// No value (an undeclared path parameter has no parameter object).
    Nothing,
}

impl InDoc {
    /// `value`, found in `root` at `pointer`. The pointer is kept only if it leads to this very
    /// value; anything else keeps a copy, so what is read back is always what was found.
    pub fn new(root: &Value, value: &Value, pointer: String) -> InDoc {
        match lookup(root, &pointer) {
            Some(found) if std::ptr::eq(found, value) => InDoc::At(pointer),
            _ => InDoc::Copy(Box::new(value.clone())),
        }
    }

    /// The value, read from `root` (the document it was found in).
    pub fn get<'a>(&'a self, root: &'a Value) -> Option<&'a Value> {
        match self {
            InDoc::At(pointer) => lookup(root, pointer),
            InDoc::Copy(v) => Some(v),
            InDoc::Nothing => None,
        }
    }
}

pub struct Body {
    pub required: bool,
    pub media: Vec<Media>,
}

pub struct Media {
    /// Lowercased media type as declared (`application/json`, `application/*`, `*/*`).
    pub media_type: String,
    pub schema: Option<Schema>,
    pub schema_pointer: Option<String>,
}

impl Media {
    pub fn is_json(&self) -> bool {
        is_json_type(&self.media_type)
    }
    pub fn is_form(&self) -> bool {
        self.media_type == "application/x-www-form-urlencoded"
    }
    pub fn is_multipart(&self) -> bool {
        self.media_type == "multipart/form-data"
    }
    /// Whether a request's media type (without parameters) is this one; media types are
    /// compared without regard to case.
    pub fn matches(&self, content_type: &str) -> bool {
        let declared = self.media_type.as_str();
        declared.eq_ignore_ascii_case(content_type)
            || declared == "*/*"
            || declared.strip_suffix("/*").is_some_and(|major| {
                content_type
                    .split('/')
                    .next()
                    .is_some_and(|m| m.eq_ignore_ascii_case(major))
            })
    }
}

/// Whether a media type is JSON (`application/json`, `…+json`, or a wildcard that allows it),
/// in any case and with or without parameters (`; charset=utf-8`).
pub fn is_json_type(mt: &str) -> bool {
    let mt = mt.split(';').next().unwrap_or(mt).trim();
    let is = |name: &str| mt.eq_ignore_ascii_case(name);
    is("application/json")
        || is("*/*")
        || is("application/*")
        || mt
            .get(mt.len().saturating_sub(5)..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StatusKey {
    Exact(u16),
    /// `2XX` and friends: the class digit.
    Range(u16),
    Default,
}

/// A documented response: its status, and what it sends.
pub struct Response {
    pub status: StatusKey,
    /// What the response sends (read through `Deref`). Operations that `$ref` the same response
    /// object (an API's common 400, 401, 404 and 429) share one: a large spec declared thousands
    /// of copies of a handful, and each compiled its own validator and made its own body.
    pub(super) content: Arc<ResponseContent>,
}

/// What a response sends: media type, schema, examples, and what is made from them on first use.
pub struct ResponseContent {
    /// The media type the body is sent as (JSON preferred), if the response has content.
    pub content_type: Option<String>,
    /// `content_type` as a header, made once.
    pub content_type_header: Option<hyper::header::HeaderValue>,
    /// Whether `content_type` is a JSON type (known at startup, asked on every response).
    pub is_json: bool,
    pub schema_pointer: Option<String>,
    /// Named examples (`examples:` of the media type), in order; the media type's single
    /// `example` is named `default`; schema-level examples come last. Read them with
    /// [`ResponseContent::examples`].
    pub(super) examples: Vec<(String, InDoc)>,
    /// What is made from them on first use, in a box of its own made then: most responses of a
    /// published spec are never sent (errors, rare statuses), and the room for what they would
    /// make was idle memory (about 0.1 MB for a published spec of 650 operations).
    pub(super) made: OnceLock<Box<Made>>,
}

/// What a response's content makes on first use (see [`ResponseContent::made`]).
#[derive(Default)]
pub(super) struct Made {
    pub(super) validator: OnceLock<Option<Schema>>,
    pub(super) generated: OnceLock<Value>,
    /// The first example with the required fields it leaves out, where it leaves some out.
    pub(super) completed: OnceLock<Option<Value>>,
    /// `default_body` as JSON text, made once: a static answer costs a buffer copy per request.
    pub(super) default_bytes: OnceLock<Option<bytes::Bytes>>,
}

impl std::ops::Deref for Response {
    type Target = ResponseContent;
    fn deref(&self) -> &ResponseContent {
        &self.content
    }
}

impl Response {
    /// The concrete status to send for this response.
    pub fn code(&self) -> u16 {
        match self.status {
            StatusKey::Exact(c) => c,
            StatusKey::Range(class) => class * 100,
            StatusKey::Default => 200,
        }
    }
}

impl ResponseContent {
    fn made(&self) -> &Made {
        self.made.get_or_init(Box::default)
    }

    /// The response schema's validator, if it has been compiled.
    pub(super) fn validator_made(&self) -> Option<&Schema> {
        self.made.get()?.validator.get()?.as_ref()
    }

    /// The named examples, in order (the media type's `example` first, as `default`, then its
    /// `examples`, then the schema's), read from `root`, the spec's document.
    pub fn examples<'a>(&'a self, root: &'a Value) -> impl Iterator<Item = (&'a str, &'a Value)> + 'a {
        self.examples
            .iter()
            .filter_map(move |(name, v)| Some((name.as_str(), v.get(root)?)))
    }

    /// The first example, if any.
    pub fn first_example<'a>(&'a self, root: &'a Value) -> Option<&'a Value> {
        self.examples(root).next().map(|(_, v)| v)
    }

    /// The body served when nothing more specific applies: the first example, else a value
    /// generated from the schema (computed once).
    pub fn default_body<'a>(&'a self, root: &'a Value) -> Option<&'a Value> {
        self.content_type.as_ref()?;
        if let Some(v) = self.first_example(root) {
            // An example that leaves out required fields is completed, once (see
            // `model::complete`); one that does not is served from the document as it is.
            let Some(pointer) = self.schema_pointer.as_ref() else {
                return Some(v);
            };
            let completed = self.made().completed.get_or_init(|| {
                let schema = lookup(root, pointer).unwrap_or(&Value::Null);
                crate::model::complete::complete(v, schema, root)
            });
            return Some(completed.as_ref().unwrap_or(v));
        }
        let pointer = self.schema_pointer.as_ref()?;
        Some(self.made().generated.get_or_init(|| {
            let schema = lookup(root, pointer).unwrap_or(&Value::Null);
            generate::generate(schema, root)
        }))
    }

    /// [`Self::default_body`], for startup's planning: a generated body is made for the caller
    /// and not kept. The model keeps only what a plan takes from it; the body itself is made again
    /// (the same, generation is seeded) and kept once a request needs it.
    pub fn planning_body<'a>(&'a self, root: &'a Value) -> Option<std::borrow::Cow<'a, Value>> {
        if let Some(body) = self.made.get().and_then(|m| m.generated.get()) {
            return Some(std::borrow::Cow::Borrowed(body));
        }
        if self.first_example(root).is_some() {
            return self.default_body(root).map(std::borrow::Cow::Borrowed);
        }
        self.content_type.as_ref()?;
        let schema = lookup(root, self.schema_pointer.as_ref()?).unwrap_or(&Value::Null);
        Some(std::borrow::Cow::Owned(generate::generate(schema, root)))
    }

    pub fn default_bytes(&self, root: &Value) -> Option<bytes::Bytes> {
        self.made()
            .default_bytes
            .get_or_init(|| {
                self.default_body(root)
                    .map(|v| bytes::Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
            })
            .clone()
    }

    pub fn example<'a>(&'a self, root: &'a Value, name: &str) -> Option<&'a Value> {
        self.examples(root).find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The compiled response schema (compiled on first use).
    pub fn validator(&self, compiler: &SchemaCompiler) -> Option<&Schema> {
        self.made()
            .validator
            .get_or_init(|| self.schema_pointer.as_ref().and_then(|p| compiler.compile(p).ok()))
            .as_ref()
    }
}

impl Operation {
    /// The path template without the query a path key may carry (`/things?beta=true` is on
    /// `/things`): what resources are inferred from.
    pub fn path_template(&self) -> &str {
        self.template
            .split_once('?')
            .map_or(self.template.as_str(), |(path, _)| path)
    }

    /// The response declared for `status`: exact, else its range (`4XX`), else `default`.
    pub fn response_for(&self, status: u16) -> Option<&Response> {
        self.responses
            .iter()
            .find(|r| r.status == StatusKey::Exact(status))
            .or_else(|| {
                self.responses
                    .iter()
                    .find(|r| r.status == StatusKey::Range(status / 100))
            })
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Default))
    }

    /// The lowest declared 2xx response (what a successful call answers with); for an operation
    /// that documents no 2xx, its lowest 3xx (a redirect is its success), then `default`.
    pub fn success(&self) -> Option<&Response> {
        let exact = |range: std::ops::Range<u16>| {
            self.responses
                .iter()
                .find(move |r| matches!(r.status, StatusKey::Exact(c) if range.contains(&c)))
        };
        exact(200..300)
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Range(2)))
            .or_else(|| exact(300..400))
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Range(3)))
            // An operation that documents only failures (a retired endpoint's 410): the one that
            // is about the operation itself, not about credentials, limits or the server.
            .or_else(|| {
                self.responses.iter().find(
                    |r| matches!(r.status, StatusKey::Exact(c) if (400..500).contains(&c) && ![401, 403, 429].contains(&c)),
                )
            })
            .or_else(|| self.responses.iter().find(|r| r.status == StatusKey::Default))
    }

    pub fn documents(&self, status: u16) -> bool {
        self.responses.iter().any(|r| r.status == StatusKey::Exact(status))
    }

    pub fn param(&self, location: Location, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.location == location && p.name == name)
    }
}

pub fn join_route(mount: &str, template: &str) -> String {
    let t = if template.starts_with('/') {
        template.to_string()
    } else {
        format!("/{template}")
    };
    if mount == "/" { t } else { format!("{mount}{t}") }
}

/// Names of the `{params}` in a path template, in order.
pub fn template_params(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        out.push(rest[start + 1..start + end].to_string());
        rest = &rest[start + end + 1..];
    }
    out
}

/// The declared properties of an object schema (following `$ref` and `allOf`), in order; of a
/// name declared twice, the first.
pub fn properties<'a>(root: &'a Value, schema: &'a Value) -> Props<'a> {
    let mut out = Props::default();
    collect_props(root, schema, &mut out.0, 0);
    out
}

/// [`properties`], or for a schema that is one of several shapes (`anyOf`/`oneOf` of objects,
/// a membership of one of several kinds), the properties every shape declares, as the first
/// declares them: what an item has whichever shape it takes (its key among them).
pub fn item_properties<'a>(root: &'a Value, schema: &'a Value) -> Props<'a> {
    let own = properties(root, schema);
    let shapes = shape_properties(root, schema, &own);
    let Some((first, rest)) = shapes.split_first().filter(|_| shapes.len() > 1) else {
        return own;
    };
    let mut common = Props::default();
    for (name, schema) in first.iter() {
        if rest.iter().all(|p| p.contains_key(name)) {
            common.add(name, schema);
        }
    }
    common
}

/// [`properties`], or for a schema that is one of several shapes, every property some shape
/// declares, as the first to declare it does: what an item of any shape may hold.
pub fn any_shape_properties<'a>(root: &'a Value, schema: &'a Value) -> Props<'a> {
    let mut out = properties(root, schema);
    for shape in shape_properties(root, schema, &out) {
        for (name, schema) in shape.iter() {
            out.add(name, schema);
        }
    }
    out
}

/// The properties of each `anyOf`/`oneOf` branch of a schema that declares none of its own
/// (`own`); none for one that does.
fn shape_properties<'a>(root: &'a Value, schema: &'a Value, own: &Props<'a>) -> Vec<Props<'a>> {
    if !own.is_empty() {
        return Vec::new();
    }
    let s = resolve(root, schema);
    ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| s.get(*k).and_then(Value::as_array))
        .flatten()
        .map(|b| properties(root, b))
        .collect()
}

/// Properties' names and schemas, as [`properties`] finds them: borrowed from the document, not
/// copied (startup asks for the properties of each schema several times per operation).
#[derive(Debug, Default, Clone)]
pub struct Props<'a>(Vec<(&'a String, &'a Value)>);

impl<'a> Props<'a> {
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.0.iter().find(|(k, _)| k.as_str() == name).map(|(_, v)| *v)
    }
    pub fn contains_key(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k.as_str() == name)
    }
    pub fn keys(&self) -> impl Iterator<Item = &'a String> + '_ {
        self.0.iter().map(|(k, _)| *k)
    }
    pub fn values(&self) -> impl Iterator<Item = &'a Value> + '_ {
        self.0.iter().map(|(_, v)| *v)
    }
    pub fn iter(&self) -> std::iter::Copied<std::slice::Iter<'_, (&'a String, &'a Value)>> {
        self.0.iter().copied()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    /// Adds a property not already there (a name declared twice keeps its first schema).
    pub fn add(&mut self, name: &'a String, schema: &'a Value) {
        if !self.contains_key(name) {
            self.0.push((name, schema));
        }
    }
}

impl<'a, 'p> IntoIterator for &'p Props<'a> {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::iter::Copied<std::slice::Iter<'p, (&'a String, &'a Value)>>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a> IntoIterator for Props<'a> {
    type Item = (&'a String, &'a Value);
    type IntoIter = std::vec::IntoIter<(&'a String, &'a Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

fn collect_props<'a>(root: &'a Value, schema: &'a Value, out: &mut Vec<(&'a String, &'a Value)>, depth: usize) {
    if depth > 16 {
        return;
    }
    let s = resolve(root, schema);
    if let Some(p) = s.field("properties").and_then(Value::as_object) {
        for (k, v) in p {
            if !out.iter().any(|(known, _)| *known == k) {
                out.push((k, v));
            }
        }
    }
    for key in ["allOf"] {
        for part in s.get(key).and_then(Value::as_array).into_iter().flatten() {
            collect_props(root, part, out, depth + 1);
        }
    }
}
