//! Compiling one operation from its spec: parameters with their coercion and validators, the
//! request body by media type, responses by status, and the security it requires. [`crate::model::Api`]
//! builds every spec's operations through here.

use crate::model::operation::{
    Body, InDoc, Media, Operation, Param, Response, ResponseContent, SchemeKind, Security, SecurityScheme, StatusKey,
    is_json_type, join_route, template_params,
};
use crate::model::resources::plan::Action;
use crate::model::schema::{Coerce, Compile, Location, Schema, SchemaCompiler};
use crate::spec::bundle::UNRESOLVED_KEY;
use crate::spec::error::SpecError;
use crate::spec::pointer::{
    Field, escape_pointer, follow_lone_refs, lookup, operations, resolve, resolve_pointer_of, resolve_schema_pointer_of,
};
use hyper::Method;
use regex::Regex;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

pub fn security_schemes(root: &Value, file: &std::path::Path, errors: &mut Vec<SpecError>) -> Vec<SecurityScheme> {
    let mut out = Vec::new();
    let Some(map) = root.pointer("/components/securitySchemes").and_then(Value::as_object) else {
        return out;
    };
    for (name, raw) in map {
        let s = resolve(root, raw);
        let ptr = format!("/components/securitySchemes/{}", escape_pointer(name));
        let kind = match s.field("type").and_then(Value::as_str) {
            Some("http") => match s
                .field("scheme")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("basic") => SchemeKind::Basic,
                _ => SchemeKind::Bearer,
            },
            Some("apiKey") => {
                let location = match s.field("in").and_then(Value::as_str) {
                    Some("query") => Location::Query,
                    Some("cookie") => Location::Cookie,
                    _ => Location::Header,
                };
                let name = s
                    .field("name")
                    .and_then(Value::as_str)
                    .unwrap_or("X-Api-Key")
                    .to_string();
                SchemeKind::ApiKey { location, name }
            }
            Some("oauth2") if s.pointer("/flows/clientCredentials/tokenUrl").is_some() => SchemeKind::OAuth2Issued,
            Some("oauth2") | Some("openIdConnect") => SchemeKind::OAuth2Any,
            // mutualTLS and unknown types cannot be checked by a mock: treat as bearer.
            _ => SchemeKind::Bearer,
        };
        let pattern = match s.field("x-specbox-token-pattern").and_then(Value::as_str) {
            Some(p) => match Regex::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    errors.push(SpecError::new(
                        file,
                        format!("{ptr}/x-specbox-token-pattern"),
                        format!("invalid regex: {e}"),
                    ));
                    None
                }
            },
            None => None,
        };
        out.push(SecurityScheme {
            name: name.clone(),
            kind,
            pattern,
        });
    }
    out
}

pub fn security(
    raw: Option<&Value>,
    schemes: &[SecurityScheme],
    file: &std::path::Path,
    at: &str,
    errors: &mut Vec<SpecError>,
) -> Security {
    let mut alternatives = Vec::new();
    for (i, alt) in raw.and_then(Value::as_array).into_iter().flatten().enumerate() {
        let mut all = Vec::new();
        for name in alt.as_object().into_iter().flat_map(|m| m.keys()) {
            match schemes.iter().position(|s| &s.name == name) {
                Some(idx) => all.push(idx),
                None => errors.push(SpecError::new(
                    file,
                    format!("{at}/{i}/{}", escape_pointer(name)),
                    format!("unknown security scheme {name:?}"),
                )),
            }
        }
        alternatives.push(all);
    }
    Security { alternatives }
}

/// Where an operation is: its path template and mount, its path item (resolved) and the pointers
/// to both (the operation's is where it is defined, past any `$ref`).
#[derive(Clone, Copy)]
struct Place<'a> {
    template: &'a str,
    mount: &'a str,
    item: &'a Value,
    item_ptr: &'a str,
    op_ptr: &'a str,
}

pub struct OpCtx<'a> {
    pub root: &'a Value,
    pub compiler: &'a SchemaCompiler,
    pub file: &'a std::path::Path,
    pub schemes: &'a [SecurityScheme],
    /// Whether parameter and body validators are compiled now or on first use.
    pub when: Compile,
    /// The responses made so far from response objects that operations `$ref`, by pointer.
    pub shared_responses: RefCell<HashMap<String, Arc<ResponseContent>>>,
}

impl OpCtx<'_> {
    /// Every operation of the spec, the problems found, and the schema pointers of its error
    /// responses (4xx, 5xx, default).
    pub fn operations(
        &self,
        spec_idx: usize,
        mount: &str,
        default_security: &Security,
    ) -> (Vec<Operation>, Vec<SpecError>, Vec<String>) {
        let root = self.root;
        let mut ops = Vec::new();
        let mut errors = Vec::new();
        let mut error_schemas = Vec::new();
        let Some(paths) = root.field("paths").and_then(Value::as_object) else {
            return (ops, errors, error_schemas);
        };
        for (template, item) in paths {
            let item_ptr = resolve_pointer_of(root, item, format!("/paths/{}", escape_pointer(template)));
            let item = resolve(root, item);
            for o in operations(item) {
                // An operation may be a `$ref` (to another file, bundled): its pointer is where it
                // is defined, which is where extensions on it and problems in it are looked up.
                let op_ptr = resolve_pointer_of(root, o.op, format!("{item_ptr}/{}", o.suffix));
                let op = resolve(root, o.op);
                let at = Place {
                    template,
                    mount,
                    item,
                    item_ptr: &item_ptr,
                    op_ptr: &op_ptr,
                };
                match self.operation(spec_idx, &o.method, &at, op, default_security) {
                    Ok(o) => {
                        for r in &o.responses {
                            let is_error = match r.status {
                                StatusKey::Exact(c) => c >= 400,
                                StatusKey::Range(c) => c >= 4,
                                StatusKey::Default => true,
                            };
                            if is_error {
                                error_schemas.extend(r.schema_pointer.clone());
                            }
                        }
                        ops.push(o);
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
        }
        (ops, errors, error_schemas)
    }

    /// The schema at `pointer`, compiled as `self.when` says.
    fn schema(&self, pointer: &str) -> Result<Schema, SpecError> {
        self.compiler.schema(pointer, self.when)
    }

    fn operation(
        &self,
        spec: usize,
        method: &str,
        at: &Place<'_>,
        op: &Value,
        default_security: &Security,
    ) -> Result<Operation, Vec<SpecError>> {
        let Place {
            template,
            mount,
            item,
            item_ptr,
            op_ptr,
        } = *at;
        let mut errors = Vec::new();
        let id = op
            .field("operationId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{method} {template}"));

        // Path-level parameters, overridden by operation-level ones with the same name and location.
        let mut params: Vec<Param> = Vec::new();
        for (list, base) in [
            (item.field("parameters"), format!("{item_ptr}/parameters")),
            (op.field("parameters"), format!("{op_ptr}/parameters")),
        ] {
            for (i, raw) in list.and_then(Value::as_array).into_iter().flatten().enumerate() {
                match self.param(raw, &format!("{base}/{i}")) {
                    Ok(Some(p)) => {
                        params.retain(|q| !(q.name == p.name && q.location == p.location));
                        params.push(p);
                    }
                    Ok(None) => {}
                    Err(e) => errors.push(e),
                }
            }
        }
        for name in template_params(template) {
            if !params.iter().any(|p| p.location == Location::Path && p.name == name) {
                // Undeclared path parameters are common in hand-written specs: accept any string.
                params.push(Param {
                    name,
                    location: Location::Path,
                    required: true,
                    coerce: Coerce::String,
                    schema: None,
                    schema_pointer: None,
                    raw: InDoc::Nothing,
                });
            }
        }

        let body = match op.field("requestBody") {
            Some(rb) => match self.body(rb, &format!("{op_ptr}/requestBody")) {
                Ok(b) => Some(b),
                Err(e) => {
                    errors.push(e);
                    None
                }
            },
            None => None,
        };

        let mut responses = Vec::new();
        if let Some(map) = op.field("responses").and_then(Value::as_object) {
            for (code, raw) in map {
                let ptr = format!("{op_ptr}/responses/{}", escape_pointer(code));
                let status = match parse_status(code) {
                    Some(s) => s,
                    None => {
                        errors.push(SpecError::new(
                            self.file,
                            ptr,
                            format!("invalid response status {code:?}"),
                        ));
                        continue;
                    }
                };
                responses.push(self.response(status, raw, &ptr));
            }
        }
        responses.sort_by_key(|r| r.status);

        let security = match op.field("security") {
            Some(raw) => security(
                Some(raw),
                self.schemes,
                self.file,
                &format!("{op_ptr}/security"),
                &mut errors,
            ),
            None => default_security.clone(),
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        // Kept for the life of the server: at their size, not at the room pushing left.
        params.shrink_to_fit();
        responses.shrink_to_fit();
        let Ok(method) = Method::from_bytes(method.as_bytes()) else {
            return Err(vec![SpecError::new(
                self.file,
                op_ptr,
                format!("{method:?} is not an HTTP method name"),
            )]);
        };
        Ok(Operation {
            spec,
            id,
            method,
            template: template.to_string(),
            route: join_route(mount, template),
            pointer: op_ptr.to_string(),
            params,
            body,
            responses,
            security,
            action: Action::None,
            fires: false,
            rules: None,
            // Named once the spec's title is known (`Api::build`).
            name: Default::default(),
        })
    }

    fn param(&self, raw: &Value, ptr: &str) -> Result<Option<Param>, SpecError> {
        let ptr = resolve_pointer_of(self.root, raw, ptr.to_string());
        // A `$ref` to nothing (already a warning) leaves no parameter to check.
        if ptr.strip_prefix('/') == Some(UNRESOLVED_KEY) {
            return Ok(None);
        }
        let p = resolve(self.root, raw);
        let Some(name) = p.field("name").and_then(Value::as_str) else {
            return Err(SpecError::new(self.file, ptr, "parameter without a name"));
        };
        let location = match p.field("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => Location::Cookie,
            // OpenAPI 3.2: the whole query string as one value, described by `content`. Accepted,
            // not validated: the engine validates query parameters one by one.
            Some("querystring") => return Ok(None),
            other => {
                return Err(SpecError::new(
                    self.file,
                    format!("{ptr}/in"),
                    format!("invalid parameter location {other:?}"),
                ));
            }
        };
        // OpenAPI: these headers are described elsewhere and their parameters are ignored.
        if location == Location::Header
            && ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str())
        {
            return Ok(None);
        }
        let (schema_pointer, coerce) = if p.field("schema").is_some() {
            let sp = format!("{ptr}/schema");
            let explode = p
                .field("explode")
                .and_then(Value::as_bool)
                .unwrap_or(p.field("style").and_then(Value::as_str).is_none_or(|s| s == "form"));
            let coerce = Coerce::for_schema(self.root, p.field("schema").unwrap_or(&Value::Null), explode);
            (Some(sp), coerce)
        } else if let Some((mt, _)) = p
            .field("content")
            .and_then(Value::as_object)
            .and_then(|c| c.iter().next())
        {
            (
                Some(format!("{ptr}/content/{}/schema", escape_pointer(mt))),
                Coerce::Json,
            )
        } else {
            (None, Coerce::String)
        };
        // Compiled where a lone `$ref` leads: the document kept for requests then needs no
        // wrapper around it (see `model::keep`).
        let schema_pointer = schema_pointer.map(|sp| follow_lone_refs(self.root, sp));
        let schema = match &schema_pointer {
            Some(sp) if lookup(self.root, sp).is_some() => Some(self.schema(sp)?),
            _ => None,
        };
        Ok(Some(Param {
            name: if location == Location::Header {
                name.to_ascii_lowercase()
            } else {
                name.to_string()
            },
            location,
            required: location == Location::Path || p.field("required").and_then(Value::as_bool).unwrap_or(false),
            coerce,
            schema,
            schema_pointer,
            raw: InDoc::new(self.root, p, ptr),
        }))
    }

    fn body(&self, raw: &Value, ptr: &str) -> Result<Body, SpecError> {
        let ptr = resolve_pointer_of(self.root, raw, ptr.to_string());
        let b = resolve(self.root, raw);
        let mut media = Vec::new();
        for (mt, m) in b.field("content").and_then(Value::as_object).into_iter().flatten() {
            let sp = format!("{ptr}/content/{}/schema", escape_pointer(mt));
            let schema = m.field("schema");
            media.push(Media {
                media_type: mt.split(';').next().unwrap_or(mt).trim().to_ascii_lowercase(),
                schema: if schema.is_some() {
                    Some(self.schema(&follow_lone_refs(self.root, sp.clone()))?)
                } else {
                    None
                },
                schema_pointer: schema.map(|s| resolve_schema_pointer_of(self.root, s, sp)),
            });
        }
        media.shrink_to_fit();
        Ok(Body {
            required: b.field("required").and_then(Value::as_bool).unwrap_or(false),
            media,
        })
    }

    /// The response at `ptr` (`raw`, possibly a `$ref`), answering with `status`. A response
    /// object reached through a `$ref` is made once, however many operations name it.
    fn response(&self, status: StatusKey, raw: &Value, ptr: &str) -> Response {
        let ptr = resolve_pointer_of(self.root, raw, ptr.to_string());
        let shared = raw.field("$ref").is_some();
        if shared && let Some(content) = self.shared_responses.borrow().get(&ptr) {
            return Response {
                status,
                content: Arc::clone(content),
            };
        }
        let content = Arc::new(self.response_content(raw, &ptr));
        if shared {
            self.shared_responses.borrow_mut().insert(ptr, Arc::clone(&content));
        }
        Response { status, content }
    }

    fn response_content(&self, raw: &Value, ptr: &str) -> ResponseContent {
        let r = resolve(self.root, raw);
        let content = r.field("content").and_then(Value::as_object);
        // Prefer a JSON media type; otherwise the first declared one.
        let chosen = content.and_then(|c| c.iter().find(|(mt, _)| is_json_type(mt)).or_else(|| c.iter().next()));
        let mut examples = Vec::new();
        let (content_type, schema_pointer) = match chosen {
            Some((mt, m)) => {
                // Examples are kept as places in the document (see `InDoc`), not copied.
                let media_ptr = format!("{ptr}/content/{}", escape_pointer(mt));
                if let Some(map) = m.field("examples").and_then(Value::as_object) {
                    for (name, ex) in map {
                        if let Some(v) = resolve(self.root, ex).field("value") {
                            let at = format!("{media_ptr}/examples/{}", escape_pointer(name));
                            let at = format!("{}/value", resolve_pointer_of(self.root, ex, at));
                            let at = resolve_pointer_of(self.root, v, at);
                            examples.push((name.clone(), InDoc::new(self.root, resolve(self.root, v), at)));
                        }
                    }
                }
                // An example may be a `$ref` to one (see `spec::bundle`).
                if let Some(v) = m.field("example") {
                    let at = resolve_pointer_of(self.root, v, format!("{media_ptr}/example"));
                    examples.insert(0, ("default".into(), InDoc::new(self.root, resolve(self.root, v), at)));
                }
                let sp = m
                    .field("schema")
                    .map(|s| resolve_schema_pointer_of(self.root, s, format!("{media_ptr}/schema")));
                if let Some((p, schema)) = sp.as_ref().and_then(|p| Some((p, lookup(self.root, p)?))) {
                    let at = resolve_pointer_of(self.root, schema, p.clone());
                    let schema = resolve(self.root, schema);
                    if let Some(list) = schema.field("examples").and_then(Value::as_array) {
                        for (i, v) in list.iter().enumerate() {
                            examples.push((
                                format!("schema-{i}"),
                                InDoc::new(self.root, v, format!("{at}/examples/{i}")),
                            ));
                        }
                    } else if let Some(v) = schema.field("example") {
                        // OpenAPI 3.0's single example (3.1 deprecates it for `examples`).
                        examples.push(("schema-0".into(), InDoc::new(self.root, v, format!("{at}/example"))));
                    }
                }
                (Some(mt.clone()), sp)
            }
            None => (None, None),
        };
        ResponseContent {
            content_type_header: content_type
                .as_deref()
                .and_then(|c| hyper::header::HeaderValue::from_str(c).ok()),
            is_json: content_type.as_deref().is_some_and(is_json_type),
            content_type,
            schema_pointer,
            examples,
            made: OnceLock::new(),
        }
    }
}

fn parse_status(code: &str) -> Option<StatusKey> {
    if code.eq_ignore_ascii_case("default") {
        return Some(StatusKey::Default);
    }
    let upper = code.to_ascii_uppercase();
    if upper.len() == 3 && upper.ends_with("XX") {
        return upper[..1]
            .parse::<u16>()
            .ok()
            .filter(|c| (1..=5).contains(c))
            .map(StatusKey::Range);
    }
    code.parse::<u16>()
        .ok()
        .filter(|c| (100..600).contains(c))
        .map(StatusKey::Exact)
}
