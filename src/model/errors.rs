//! Errors in the API's own shape.
//!
//! Every failure inside specbox is an [`ApiError`]: a kind (what went wrong, in the engine's
//! words), a status, a message and the violations. Turning it into bytes is the job of an
//! [`ErrorTemplate`], which says where in the API's error body the code, message and violations
//! go. A template comes from the spec's `x-specbox-error` extension or is inferred once, at
//! startup, from the property names of the spec's error schema (`code`, `message`, `error.param`,
//! `validation_errors`, ...). A spec with no error schema gets RFC 9457 problem+json.
//!
//! Templates are built per schema pointer at startup, so the hot path only fills placeholders.

use crate::model::generate;
use crate::model::schema::Violation;
use crate::spec::pointer::{allows_null, lookup, resolve};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// What went wrong, in the engine's words. The spec maps these to its own codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    MalformedBody,
    UnsupportedMediaType,
    NotFound,
    RouteNotFound,
    MethodNotAllowed,
    Unauthorized,
    Forbidden,
    Conflict,
    InvalidState,
    IdempotencyMismatch,
    InvalidCursor,
    InvalidFilter,
    PayloadTooLarge,
    RateLimited,
    Injected,
    Internal,
    BadGateway,
    GatewayTimeout,
    /// The state store cannot be reached (503).
    Unavailable,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Validation => "validation",
            ErrorKind::MalformedBody => "malformed_body",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RouteNotFound => "route_not_found",
            ErrorKind::MethodNotAllowed => "method_not_allowed",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidState => "invalid_state",
            ErrorKind::IdempotencyMismatch => "idempotency_mismatch",
            ErrorKind::InvalidCursor => "invalid_cursor",
            ErrorKind::InvalidFilter => "invalid_filter",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Injected => "injected",
            ErrorKind::Internal => "internal",
            ErrorKind::BadGateway => "bad_gateway",
            ErrorKind::GatewayTimeout => "gateway_timeout",
            ErrorKind::Unavailable => "unavailable",
        }
    }

    /// The kind an injected or forced status stands for.
    pub fn for_status(status: u16) -> ErrorKind {
        match status {
            400 => ErrorKind::Validation,
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            405 => ErrorKind::MethodNotAllowed,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::PayloadTooLarge,
            415 => ErrorKind::UnsupportedMediaType,
            422 => ErrorKind::Validation,
            429 => ErrorKind::RateLimited,
            502 => ErrorKind::BadGateway,
            503 => ErrorKind::Unavailable,
            504 => ErrorKind::GatewayTimeout,
            _ => ErrorKind::Internal,
        }
    }
}

/// A failure on its way to the client.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub kind: ErrorKind,
    pub message: String,
    pub violations: Vec<Violation>,
    /// A code that overrides the spec's mapping (a uniqueness rule's own code, an injected code).
    pub code: Option<String>,
    /// Extra response headers (`Allow`, `WWW-Authenticate`, ...).
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: u16, kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            message: message.into(),
            violations: Vec::new(),
            code: None,
            headers: Vec::new(),
        }
    }

    pub fn with_violations(mut self, violations: Vec<Violation>) -> Self {
        self.violations = violations;
        self
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(404, ErrorKind::NotFound, format!("{what} not found"))
    }
}

/// How one API writes errors: a template per error schema, plus the code and type vocabularies.
#[derive(Debug, Clone, Default)]
pub struct ErrorShape {
    /// The schema most error responses use, when there is one.
    pub common: Option<String>,
    /// A template per schema pointer (the common one and every other error schema of the spec).
    pub templates: HashMap<String, ErrorTemplate>,
    codes: HashMap<String, String>,
    types: HashMap<String, String>,
    /// The declared `x-specbox-error.template`, which applies to the common schema.
    declared: Option<Value>,
}

/// A body with placeholders, plus what the schema allows where it allows only a few values.
#[derive(Debug, Clone)]
pub struct ErrorTemplate {
    pub body: Value,
    /// Fields whose schema has an `enum` (or `const`): the path to the field in the body and the
    /// values allowed there, the one to use when the filled value is not among them first. A field
    /// such as Anthropic's `"type": {"enum": ["error"]}` keeps `"error"` rather than take the error
    /// kind's type (`invalid_request_error`), and a `code` the API lists its own values for keeps one
    /// of them unless the engine's code (or the code `x-specbox-error.codes` maps it to) is listed.
    pub allowed: Vec<(Vec<String>, Vec<Value>)>,
}

impl ErrorTemplate {
    /// The template a schema's property names suggest (see [`infer_template`]).
    fn inferred(root: &Value, schema: &Value) -> ErrorTemplate {
        let mut allowed = Vec::new();
        let body = infer_template(root, schema, &mut Vec::new(), &mut allowed);
        ErrorTemplate { body, allowed }
    }

    /// The body for one error: placeholders filled, then every enumerated field that was filled
    /// with a value its schema does not list set to a value it does.
    fn fill(&self, ph: &Placeholders) -> Value {
        let mut body = fill(&self.body, ph);
        for (path, values) in &self.allowed {
            let mut at = Some(&mut body);
            for key in path {
                at = at.and_then(|v| v.get_mut(key.as_str()));
            }
            if let (Some(v), Some(first)) = (at, values.first())
                && !values.contains(v)
            {
                *v = first.clone();
            }
        }
        body
    }
}

impl ErrorShape {
    /// Reads `x-specbox-error` and picks the common error schema (the one most 4xx/5xx responses use).
    pub fn from_spec(root: &Value, error_schemas: &[String]) -> ErrorShape {
        let ext = root.get("x-specbox-error");
        let map = |key: &str| -> HashMap<String, String> {
            ext.and_then(|e| e.get(key))
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let declared_schema = ext
            .and_then(|e| e.get("schema"))
            .and_then(Value::as_str)
            .map(|s| s.trim_start_matches('#').to_string());
        let common = declared_schema.or_else(|| {
            let mut counts: Vec<(&String, usize)> = Vec::new();
            for s in error_schemas {
                match counts.iter_mut().find(|(p, _)| *p == s) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((s, 1)),
                }
            }
            counts.iter().max_by_key(|(_, n)| *n).map(|(p, _)| (*p).clone())
        });
        let mut shape = ErrorShape {
            common,
            templates: HashMap::new(),
            codes: map("codes"),
            types: map("types"),
            declared: ext.and_then(|e| e.get("template")).cloned(),
        };
        let mut all: Vec<String> = error_schemas.to_vec();
        all.extend(shape.common.clone());
        for pointer in all {
            if shape.templates.contains_key(&pointer) {
                continue;
            }
            let template = if Some(&pointer) == shape.common.as_ref() && shape.declared.is_some() {
                ErrorTemplate {
                    body: shape.declared.clone().unwrap_or(Value::Null),
                    allowed: Vec::new(),
                }
            } else {
                ErrorTemplate::inferred(root, lookup(root, &pointer).unwrap_or(&Value::Null))
            };
            shape.templates.insert(pointer, template);
        }
        shape
    }

    pub fn code_for(&self, err: &ApiError) -> String {
        if let Some(code) = &err.code {
            return code.clone();
        }
        self.codes
            .get(err.kind.as_str())
            .cloned()
            .unwrap_or_else(|| err.kind.as_str().to_string())
    }

    pub fn type_for(&self, err: &ApiError) -> String {
        if let Some(t) = self.types.get(err.kind.as_str()) {
            return t.clone();
        }
        if err.status >= 500 {
            "api_error".into()
        } else {
            "invalid_request_error".into()
        }
    }

    /// Renders `err` as a body for the schema at `schema_pointer` (or the common schema when
    /// `None`). Returns the content type and body; problem+json when the API has no error schema.
    /// `example` is the documented example of this error response, if any: the fields it shows
    /// that the template does not fill come from it, so an error carries what the spec's own error
    /// example carries.
    pub fn render(
        &self,
        root: &Value,
        schema_pointer: Option<&str>,
        example: Option<&Value>,
        err: &ApiError,
    ) -> (&'static str, Value) {
        let pointer = schema_pointer.map(str::to_string).or_else(|| self.common.clone());
        let Some(pointer) = pointer else {
            return ("application/problem+json", self.problem(err));
        };
        let placeholders = self.placeholders(err);
        let mut body = match self.templates.get(&pointer) {
            Some(t) => t.fill(&placeholders),
            None => ErrorTemplate::inferred(root, lookup(root, &pointer).unwrap_or(&Value::Null)).fill(&placeholders),
        };
        if let (Value::Object(out), Some(Value::Object(shown))) = (&mut body, example) {
            for (k, v) in shown {
                if !out.contains_key(k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        ("application/json", body)
    }

    fn placeholders(&self, err: &ApiError) -> Placeholders {
        let mut violations = Map::new();
        let mut list = Vec::new();
        for v in &err.violations {
            let field = if v.field.is_empty() {
                v.location.as_str().to_string()
            } else {
                v.field.clone()
            };
            violations
                .entry(field.clone())
                .or_insert_with(|| Value::String(v.message.clone()));
            list.push(
                json!({ "field": field, "message": v.message, "location": v.location.as_str(), "pointer": v.pointer }),
            );
        }
        Placeholders {
            code: self.code_for(err),
            message: err.message.clone(),
            kind_type: self.type_for(err),
            param: err
                .violations
                .first()
                .map(|v| v.field.clone())
                .filter(|f| !f.is_empty()),
            status: err.status,
            violations: Value::Object(violations),
            violations_list: Value::Array(list),
            has_violations: !err.violations.is_empty(),
        }
    }

    /// RFC 9457 problem details.
    pub fn problem(&self, err: &ApiError) -> Value {
        let mut body = json!({
            "type": "about:blank",
            "title": reason(err.status),
            "status": err.status,
            "detail": err.message,
            "code": self.code_for(err),
        });
        if let (false, Some(obj)) = (err.violations.is_empty(), body.as_object_mut()) {
            obj.insert("errors".into(), Value::Array(
                err.violations
                    .iter()
                    .map(|v| json!({ "field": v.field, "in": v.location.as_str(), "pointer": v.pointer, "message": v.message }))
                    .collect(),
            ));
        }
        body
    }
}

struct Placeholders {
    code: String,
    message: String,
    kind_type: String,
    param: Option<String>,
    status: u16,
    violations: Value,
    violations_list: Value,
    has_violations: bool,
}

impl Placeholders {
    fn get(&self, name: &str) -> Option<Value> {
        Some(match name {
            "code" => Value::String(self.code.clone()),
            "message" => Value::String(self.message.clone()),
            "type" => Value::String(self.kind_type.clone()),
            "param" => Value::String(self.param.clone()?),
            "status" => Value::from(self.status),
            "title" => Value::String(reason(self.status).to_string()),
            "violations" if self.has_violations => self.violations.clone(),
            "violations_list" if self.has_violations => self.violations_list.clone(),
            _ => return None,
        })
    }
}

/// Replaces placeholders; a key whose placeholder has no value is dropped (is `null`, for a
/// placeholder written `{name?}`).
fn fill(template: &Value, ph: &Placeholders) -> Value {
    match template {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                if let Some(name) = placeholder(v) {
                    // `{param?}`: null when there is no value, rather than left out.
                    let (name, or_null) = match name.strip_suffix('?') {
                        Some(name) => (name, true),
                        None => (name, false),
                    };
                    if let Some(value) = ph.get(name).or(or_null.then_some(Value::Null)) {
                        out.insert(k.clone(), value);
                    }
                } else {
                    out.insert(k.clone(), fill(v, ph));
                }
            }
            Value::Object(out)
        }
        Value::String(s) if s.contains('{') => {
            let mut text = s.clone();
            for name in ["code", "message", "type", "param", "status", "title"] {
                let token = format!("{{{name}}}");
                if text.contains(&token) {
                    let value = ph
                        .get(name)
                        .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
                    text = text.replace(&token, &value.unwrap_or_default());
                }
            }
            Value::String(text)
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| fill(v, ph)).collect()),
        other => other.clone(),
    }
}

fn placeholder(v: &Value) -> Option<&str> {
    let s = v.as_str()?;
    let inner = s.strip_prefix('{')?.strip_suffix('}')?;
    (!inner.contains(['{', '}', ' '])).then_some(inner)
}

/// Infers a template from an error schema's property names. Properties it cannot place are
/// filled with a generated value when required, so the body still validates. `path` is where
/// `schema` is in the body; the values an enumerated property allows go to `allowed`.
fn infer_template(
    root: &Value,
    schema: &Value,
    path: &mut Vec<String>,
    allowed: &mut Vec<(Vec<String>, Vec<Value>)>,
) -> Value {
    let depth = path.len();
    let s = resolve(root, schema);
    if depth == 0 && accepts_anything(s) {
        // Any body is valid, so the body says what RFC 9457 would: an object, not a bare string.
        // (A `$ref` to a response object where a schema belongs reads as such a schema.)
        return json!({
            "type": "about:blank",
            "title": "{title}",
            "status": "{status}",
            "detail": "{message}",
            "code": "{code}",
            "errors": "{violations_list}",
        });
    }
    let Some(props) = merged_properties(root, s) else {
        return json!("{message}");
    };
    let required: Vec<&str> = s
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let has = |name: &str| props.iter().any(|(k, _)| k == name);
    let mut out = Map::new();
    for (name, prop) in &props {
        let p = resolve(root, prop);
        let ty = type_of(root, p);
        let lower = name.to_ascii_lowercase();
        let ph = match (lower.as_str(), ty) {
            ("code" | "error_code" | "errorcode", "integer" | "number") => Some("{status}"),
            ("status" | "status_code" | "statuscode" | "http_status", "integer" | "number") => Some("{status}"),
            ("code" | "error_code" | "errorcode" | "reason", _) => Some("{code}"),
            ("error", "string") => Some("{code}"),
            ("message" | "msg" | "error_description" | "error_message", _) => Some("{message}"),
            ("detail" | "details" | "description", "string") => Some("{message}"),
            ("title", _) if has("detail") => Some("{title}"),
            ("title", _) => Some("{message}"),
            ("type", "string") if p.get("format").and_then(Value::as_str) == Some("uri") || has("title") => None,
            ("type", "string") => Some("{type}"),
            ("param" | "field" | "parameter", "string") => Some("{param}"),
            (_, "object") if is_map(p) && is_violation_name(&lower) => Some("{violations}"),
            (_, "array") if is_violation_name(&lower) => Some("{violations_list}"),
            _ => None,
        };
        if let Some(values) = enumerated(p) {
            let mut at = path.clone();
            at.push(name.clone());
            allowed.push((at, values));
        }
        if let Some(ph) = ph {
            // A required field that may be null is null when its value is missing (no `param`
            // for an unknown route): left out, the body would break its schema.
            let ph = if required.contains(&name.as_str()) && allows_null(root, p) {
                format!("{}?}}", ph.trim_end_matches('}'))
            } else {
                ph.to_string()
            };
            out.insert(name.clone(), Value::String(ph));
        } else if ty == "object"
            && !is_map(p)
            && depth < 3
            && (lower == "error" || required.contains(&name.as_str()))
            && let Some(object) = object_shape(root, p)
        {
            path.push(name.clone());
            out.insert(name.clone(), infer_template(root, object, path, allowed));
            path.pop();
        } else if required.contains(&name.as_str()) {
            let value = if lower == "type" {
                json!("about:blank")
            } else {
                generate::generate(p, root)
            };
            out.insert(name.clone(), value);
        }
    }
    Value::Object(out)
}

/// The values a property's schema allows, when it lists them (`const`, or a non-empty `enum`): its
/// `default` or example first where that is one of them, so a fallback is the value the spec shows.
fn enumerated(s: &Value) -> Option<Vec<Value>> {
    let shown = |k: &str| match k {
        "examples" => s.get("examples").and_then(|e| e.get(0)),
        _ => s.get(k),
    };
    let mut values = match (s.get("const"), s.get("enum")) {
        (Some(c), _) => vec![c.clone()],
        (None, Some(Value::Array(values))) if !values.is_empty() => values.clone(),
        _ => return None,
    };
    if let Some(i) = ["default", "example", "examples"]
        .iter()
        .find_map(|k| shown(k).and_then(|shown| values.iter().position(|v| v == shown)))
    {
        let preferred = values.remove(i);
        values.insert(0, preferred);
    }
    Some(values)
}

fn is_violation_name(name: &str) -> bool {
    matches!(
        name,
        "errors"
            | "validation_errors"
            | "validationerrors"
            | "violations"
            | "details"
            | "fields"
            | "invalid_params"
            | "field_errors"
            | "invalid-params"
    )
}

/// Whether a schema asserts nothing about a value's type or shape (`{}`, or an object with no
/// keyword a validator reads, such as a response object named where a schema belongs).
fn accepts_anything(s: &Value) -> bool {
    const ASSERTING: [&str; 15] = [
        "type",
        "properties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "not",
        "enum",
        "const",
        "$ref",
        "required",
        "additionalProperties",
        "patternProperties",
        "prefixItems",
        "if",
    ];
    match s {
        Value::Object(m) => !ASSERTING.iter().any(|k| m.contains_key(*k)),
        Value::Bool(b) => *b,
        _ => false,
    }
}

fn is_map(s: &Value) -> bool {
    s.get("properties").is_none() && s.get("additionalProperties").is_some_and(|a| a != &Value::Bool(false))
}

/// A schema's type, its non-null one where it allows null too (`["string", "null"]`, or
/// `anyOf: [{type: string}, {type: null}]`).
fn type_of<'a>(root: &'a Value, s: &'a Value) -> &'a str {
    match s.get("type") {
        Some(Value::String(t)) => t,
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if s.get("properties").is_some() => "object",
        _ => ["anyOf", "oneOf"]
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_array))
            .flatten()
            .map(|branch| type_of(root, resolve(root, branch)))
            .find(|t| !t.is_empty() && *t != "null")
            .unwrap_or(""),
    }
}

/// The object schema that declares what `p` holds: `p` itself, or the object branch of a
/// nullable `anyOf: [{type: object, ...}, {type: null}]`; `None` when no branch declares
/// properties (the field is then generated whole, which validates).
fn object_shape<'a>(root: &'a Value, p: &'a Value) -> Option<&'a Value> {
    if merged_properties(root, p).is_some_and(|props| !props.is_empty()) {
        return Some(p);
    }
    ["anyOf", "oneOf"]
        .iter()
        .filter_map(|k| p.get(*k).and_then(Value::as_array))
        .flatten()
        .map(|b| resolve(root, b))
        .find(|b| merged_properties(root, b).is_some_and(|props| !props.is_empty()))
}

/// Properties of a schema including those of its `allOf` parts.
fn merged_properties(root: &Value, s: &Value) -> Option<Vec<(String, Value)>> {
    let mut out: Vec<(String, Value)> = Vec::new();
    if let Some(p) = s.get("properties").and_then(Value::as_object) {
        out.extend(p.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
        for part in parts {
            if let Some(more) = merged_properties(root, resolve(root, part)) {
                out.extend(more);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The reason phrase of a status code.
pub fn reason(status: u16) -> &'static str {
    hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(error: Value) -> (Value, ErrorShape) {
        let root = json!({"components": {"schemas": {"Error": error}}});
        let shape = ErrorShape::from_spec(&root, &["/components/schemas/Error".to_string()]);
        (root, shape)
    }

    #[test]
    fn a_status_field_whose_integer_branch_is_a_ref_is_the_status() {
        let root = json!({"components": {"schemas": {
            "Code": {"type": "integer", "minimum": 100, "maximum": 599},
            "Error": {
                "type": "object",
                "required": ["status", "message"],
                "properties": {
                    "status": {"anyOf": [{"$ref": "#/components/schemas/Code"}, {"type": "null"}]},
                    "message": {"type": "string"}
                }
            }
        }}});
        let shape = ErrorShape::from_spec(&root, &["/components/schemas/Error".to_string()]);
        let (_, body) = shape.render(&root, None, None, &ApiError::not_found("thing"));
        assert_eq!(body["status"], json!(404), "{body}");
    }

    #[test]
    fn an_enumerated_field_keeps_a_value_its_schema_lists() {
        // An error envelope whose `type` allows only one value (a published spec's POST /v1/messages answers 400 with it).
        let (root, shape) = shape(json!({
            "type": "object",
            "required": ["type", "error"],
            "properties": {
                "type": {"type": "string", "enum": ["error"]},
                "error": {
                    "type": "object",
                    "required": ["type", "message"],
                    "properties": {"type": {"type": "string"}, "message": {"type": "string"}}
                }
            }
        }));
        let err = ApiError::new(400, ErrorKind::Validation, "max_tokens must be positive");
        let (_, body) = shape.render(&root, None, None, &err);
        assert_eq!(
            body,
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens must be positive"}})
        );
    }

    #[test]
    fn a_nullable_error_object_and_a_nullable_param_are_filled_as_their_schema_allows() {
        let nullable = |s: Value| json!({"anyOf": [s, {"type": "null"}]});
        let (root, shape) = shape(json!({
            "type": "object",
            "required": ["error"],
            "properties": {"error": nullable(json!({
                "type": "object",
                "required": ["message", "param"],
                "properties": {"message": {"type": "string"}, "param": nullable(json!({"type": "string"}))}
            }))}
        }));
        let err = ApiError::new(404, ErrorKind::NotFound, "no such thing");
        let (_, body) = shape.render(&root, None, None, &err);
        assert_eq!(body, json!({"error": {"message": "no such thing", "param": null}}));
    }

    #[test]
    fn an_enumerated_code_is_the_engines_where_listed_else_the_one_the_schema_shows() {
        let (root, shape) = shape(json!({
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "enum": ["not_found", "bad_input", "other"], "example": "bad_input"},
                "message": {"type": "string"},
                "kind": {"const": "failure"}
            }
        }));
        let code = |err: &ApiError| shape.render(&root, None, None, err).1["code"].clone();
        assert_eq!(code(&ApiError::not_found("customer")), json!("not_found"));
        assert_eq!(
            code(&ApiError::new(400, ErrorKind::Validation, "bad")),
            json!("bad_input")
        );
        // An optional field the template does not fill stays out of the body.
        let body = shape.render(&root, None, None, &ApiError::not_found("customer")).1;
        assert!(body.get("kind").is_none(), "{body}");
    }

    #[test]
    fn a_required_type_with_a_const_is_that_const() {
        let (root, shape) = shape(json!({
            "type": "object",
            "required": ["type", "title", "detail"],
            "properties": {
                "type": {"type": "string", "const": "validation-error"},
                "title": {"type": "string"},
                "detail": {"type": "string"}
            }
        }));
        let body = shape
            .render(&root, None, None, &ApiError::new(400, ErrorKind::Validation, "bad"))
            .1;
        assert_eq!(body["type"], json!("validation-error"), "{body}");
        assert_eq!(body["detail"], json!("bad"), "{body}");
    }
}
