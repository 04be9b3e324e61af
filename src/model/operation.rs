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
use crate::spec::pointer::{lookup, resolve};
use hyper::Method;
use regex::Regex;
use serde_json::{Map, Value};
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
    /// The raw parameter object (for `x-specbox-filter`).
    pub raw: Value,
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

pub struct Response {
    pub status: StatusKey,
    /// The media type the body is sent as (JSON preferred), if the response has content.
    pub content_type: Option<String>,
    /// `content_type` as a header, made once.
    pub content_type_header: Option<hyper::header::HeaderValue>,
    /// Whether `content_type` is a JSON type (known at startup, asked on every response).
    pub is_json: bool,
    pub schema_pointer: Option<String>,
    /// Named examples (`examples:` of the media type), in order; the media type's single
    /// `example` is named `default`; schema-level examples come last.
    pub examples: Vec<(String, Value)>,
    pub(super) validator: OnceLock<Option<Schema>>,
    pub(super) generated: OnceLock<Value>,
    /// `default_body` as JSON text, made once: a static answer costs a buffer copy per request.
    pub(super) default_bytes: OnceLock<Option<bytes::Bytes>>,
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

    /// The body served when nothing more specific applies: the first example, else a value
    /// generated from the schema (computed once).
    pub fn default_body(&self, root: &Value) -> Option<&Value> {
        self.content_type.as_ref()?;
        if let Some((_, v)) = self.examples.first() {
            return Some(v);
        }
        let pointer = self.schema_pointer.as_ref()?;
        Some(self.generated.get_or_init(|| {
            let schema = lookup(root, pointer).unwrap_or(&Value::Null);
            generate::generate(schema, root)
        }))
    }

    pub fn default_bytes(&self, root: &Value) -> Option<bytes::Bytes> {
        self.default_bytes
            .get_or_init(|| {
                self.default_body(root)
                    .map(|v| bytes::Bytes::from(serde_json::to_vec(v).unwrap_or_default()))
            })
            .clone()
    }

    pub fn example(&self, name: &str) -> Option<&Value> {
        self.examples.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The compiled response schema (compiled on first use).
    pub fn validator(&self, compiler: &SchemaCompiler) -> Option<&Schema> {
        self.validator
            .get_or_init(|| self.schema_pointer.as_ref().and_then(|p| compiler.compile(p).ok()))
            .as_ref()
    }
}

impl Operation {
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

/// The declared properties of an object schema (following `$ref` and `allOf`), in order.
pub fn properties(root: &Value, schema: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    collect_props(root, schema, &mut out, 0);
    out
}

fn collect_props(root: &Value, schema: &Value, out: &mut Map<String, Value>, depth: usize) {
    if depth > 16 {
        return;
    }
    let s = resolve(root, schema);
    if let Some(p) = s.get("properties").and_then(Value::as_object) {
        for (k, v) in p {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    for key in ["allOf"] {
        for part in s.get(key).and_then(Value::as_array).into_iter().flatten() {
            collect_props(root, part, out, depth + 1);
        }
    }
}
