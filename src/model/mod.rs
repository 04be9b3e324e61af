//! The compiled, immutable model of everything specbox serves.
//!
//! [`Api::build`] turns loaded documents into operations with their validators, responses,
//! security requirements and resource actions, plus the router over all of them. It runs once at
//! startup; afterwards the `Api` is shared behind an `Arc` and only read. Anything a request
//! would otherwise recompute (a resolved `$ref`, a compiled schema, a generated example, an error
//! template) is computed here or, for rarely used pieces, once on first use behind a `OnceLock`.
//!
//! Files: [`operation`] (the nouns: an operation, its parameters, bodies, responses), [`router`]
//! (templates to operations), [`schema`] (compiled validators, coercion, violations), [`resources`]
//! (what each operation does to state), [`generate`] (example values), [`errors`] (the API's own
//! error shape). This file builds them into an [`Api`].
//!
//! May not touch: state, requests, the server. The model is what every request reads and nothing
//! writes, so it knows neither the store nor HTTP beyond header and method types.

pub mod errors;
pub mod generate;
pub mod operation;
pub mod resources;
pub mod router;
pub mod schema;

use crate::model::errors::ErrorShape;
use crate::model::operation::{
    Body, Media, Operation, Param, Response, SchemeKind, Security, SecurityScheme, Spec, StatusKey, is_json_type,
    join_route, template_params,
};
use crate::model::resources::plan::{Action, Resource};
use crate::model::router::{Router, Target};
use crate::model::schema::{Coerce, Compile, Location, Schema, SchemaCompiler};
use crate::spec::SpecDoc;
use crate::spec::error::SpecError;
use crate::spec::pointer::{METHODS, escape_pointer, lookup, resolve, resolve_pointer_of};
use hyper::Method;
use regex::Regex;
use serde_json::Value;
use std::sync::OnceLock;

/// Everything served: specs, their operations and resources, and the router.
pub struct Api {
    pub specs: Vec<Spec>,
    pub ops: Vec<Operation>,
    pub resources: Vec<Resource>,
    pub router: Router,
}
/// Options that change how specs are mounted.
#[derive(Debug, Default, Clone)]
pub struct BuildOptions {
    /// `NAME=/prefix` overrides, by spec file stem.
    pub mounts: Vec<(String, String)>,
}

impl Api {
    /// Compiles loaded documents into the served model. Every problem is collected, so a user
    /// with three mistakes sees three messages, not one per restart.
    ///
    /// Validators are compiled on first use (see [`crate::model::schema`]): the model is built with
    /// lazy schemas, then one check per spec compiles every schema handed out, in a single build
    /// that compiles each shared `$ref` target once. A spec with any problem at all (a failed
    /// check or any other error) is built again compiling every schema at once, as it always
    /// was, so the errors reported and their order do not depend on laziness: only broken specs
    /// pay for the second build.
    pub fn build(docs: Vec<SpecDoc>, opts: &BuildOptions) -> Result<Api, Vec<SpecError>> {
        Self::build_with(docs, opts, Compile::Lazy)
            .or_else(|failed| Self::build_with(failed.docs, opts, Compile::Eager))
            .map_err(|failed| failed.errors)
    }

    fn build_with(docs: Vec<SpecDoc>, opts: &BuildOptions, when: Compile) -> Result<Api, Failed> {
        let mut parts = Vec::new();
        let mut ops = Vec::new();
        let mut errors = Vec::new();
        for doc in &docs {
            let spec_idx = parts.len();
            match build_spec(doc, spec_idx, opts, when) {
                Ok((spec, spec_ops)) => {
                    parts.push(spec);
                    ops.extend(spec_ops);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if !errors.is_empty() {
            return Err(Failed { docs, errors });
        }
        // Every document built, so parts and documents pair up one to one.
        let specs: Vec<Spec> = docs.into_iter().zip(parts).map(|(doc, p)| p.with_doc(doc)).collect();
        let failed = |specs: Vec<Spec>, errors| Failed {
            docs: specs.into_iter().map(|s| s.doc).collect(),
            errors,
        };
        let resources = match resources::infer(&specs, &mut ops, when) {
            Ok(r) => r,
            Err(errors) => return Err(failed(specs, errors)),
        };
        if when == Compile::Lazy && !schemas_compile(&specs, &ops, &resources) {
            return Err(failed(specs, Vec::new()));
        }
        let router = match Router::build(&specs, &ops) {
            Ok(r) => r,
            Err(errors) => return Err(failed(specs, errors)),
        };
        Ok(Api {
            specs,
            ops,
            resources,
            router,
        })
    }

    pub fn op(&self, target: Target) -> Option<&Operation> {
        match target {
            Target::Op(i) => self.ops.get(i),
            Target::Token(_) => None,
        }
    }
}

/// A build that did not produce an [`Api`]: its problems, and the documents back for another try.
struct Failed {
    docs: Vec<SpecDoc>,
    errors: Vec<SpecError>,
}

/// Whether every schema the model handed out uncompiled (parameters, bodies, resources)
/// compiles: one [`SchemaCompiler::check`] per spec.
fn schemas_compile(specs: &[Spec], ops: &[Operation], resources: &[Resource]) -> bool {
    specs.iter().enumerate().all(|(i, spec)| {
        let of_ops = ops.iter().filter(|o| o.spec == i).flat_map(|o| {
            let params = o.params.iter().filter_map(|p| p.schema.as_ref());
            let media = o
                .body
                .iter()
                .flat_map(|b| b.media.iter().filter_map(|m| m.schema.as_ref()));
            params.chain(media)
        });
        let of_resources = resources
            .iter()
            .filter(|r| r.spec == i)
            .filter_map(|r| r.schema.as_ref());
        spec.compiler
            .check(of_ops.chain(of_resources).map(|s| s.pointer.as_str()))
    })
}

/// Everything of a [`Spec`] but its document, which the spec takes once all documents built.
struct SpecParts {
    title: String,
    version: String,
    mount: String,
    errors: ErrorShape,
    schemes: Vec<SecurityScheme>,
    compiler: SchemaCompiler,
    token_route: Option<String>,
}

impl SpecParts {
    fn with_doc(self, doc: SpecDoc) -> Spec {
        Spec {
            doc,
            title: self.title,
            version: self.version,
            mount: self.mount,
            errors: self.errors,
            schemes: self.schemes,
            compiler: self.compiler,
            token_route: self.token_route,
        }
    }
}

fn build_spec(
    doc: &SpecDoc,
    spec_idx: usize,
    opts: &BuildOptions,
    when: Compile,
) -> Result<(SpecParts, Vec<Operation>), Vec<SpecError>> {
    let root: &Value = &doc.root;
    let file = doc.path.clone();
    let info = root.get("info");
    let title = info
        .and_then(|i| i.get("title"))
        .and_then(Value::as_str)
        .unwrap_or(&doc.name)
        .to_string();
    let version = info
        .and_then(|i| i.get("version"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let mount = opts
        .mounts
        .iter()
        .find(|(name, _)| *name == doc.name)
        .map(|(_, m)| m.clone())
        .or_else(|| root.get("x-specbox-mount").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| mount_from_servers(root));
    let mount = normalise_mount(&mount);

    let compiler = SchemaCompiler::new(&doc.root, &file).map_err(|e| vec![e])?;
    let mut errors = Vec::new();
    let schemes = security_schemes(root, &file, &mut errors);
    let default_security = security(root.get("security"), &schemes, &file, "/security", &mut errors);
    let token_route = schemes
        .iter()
        .find(|s| matches!(s.kind, SchemeKind::OAuth2Issued))
        .and_then(|s| {
            let url = root
                .pointer(&format!(
                    "/components/securitySchemes/{}/flows/clientCredentials/tokenUrl",
                    escape_pointer(&s.name)
                ))
                .and_then(Value::as_str)?;
            Some(join_route(&mount, &url_path(url)))
        });

    let ctx = OpCtx {
        root,
        compiler: &compiler,
        file: &file,
        schemes: &schemes,
        when,
    };
    let (ops, mut op_errors, error_schemas) = ctx.operations(spec_idx, &mount, &default_security);
    errors.append(&mut op_errors);
    if !errors.is_empty() {
        return Err(errors);
    }
    let errors_shape = ErrorShape::from_spec(root, &error_schemas);
    Ok((
        SpecParts {
            title,
            version,
            mount,
            errors: errors_shape,
            schemes,
            compiler,
            token_route,
        },
        ops,
    ))
}

fn mount_from_servers(root: &Value) -> String {
    root.pointer("/servers/0/url")
        .and_then(Value::as_str)
        .map(url_path)
        .unwrap_or_else(|| "/".into())
}

/// The path part of a URL (`https://h/api/v1` → `/api/v1`; `/v2` → `/v2`). Server variables
/// keep their default values.
fn url_path(url: &str) -> String {
    let rest = match url.split_once("://") {
        Some((_, after)) => after.find('/').map_or("", |i| &after[i..]),
        None => url,
    };
    rest.split(['?', '#']).next().unwrap_or("").to_string()
}

fn normalise_mount(m: &str) -> String {
    let trimmed = m.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        "/".into()
    } else if trimmed.starts_with('/') {
        trimmed.into()
    } else {
        format!("/{trimmed}")
    }
}

fn security_schemes(root: &Value, file: &std::path::Path, errors: &mut Vec<SpecError>) -> Vec<SecurityScheme> {
    let mut out = Vec::new();
    let Some(map) = root.pointer("/components/securitySchemes").and_then(Value::as_object) else {
        return out;
    };
    for (name, raw) in map {
        let s = resolve(root, raw);
        let ptr = format!("/components/securitySchemes/{}", escape_pointer(name));
        let kind = match s.get("type").and_then(Value::as_str) {
            Some("http") => match s
                .get("scheme")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("basic") => SchemeKind::Basic,
                _ => SchemeKind::Bearer,
            },
            Some("apiKey") => {
                let location = match s.get("in").and_then(Value::as_str) {
                    Some("query") => Location::Query,
                    Some("cookie") => Location::Cookie,
                    _ => Location::Header,
                };
                let name = s.get("name").and_then(Value::as_str).unwrap_or("X-Api-Key").to_string();
                SchemeKind::ApiKey { location, name }
            }
            Some("oauth2") if s.pointer("/flows/clientCredentials/tokenUrl").is_some() => SchemeKind::OAuth2Issued,
            Some("oauth2") | Some("openIdConnect") => SchemeKind::OAuth2Any,
            // mutualTLS and unknown types cannot be checked by a mock: treat as bearer.
            _ => SchemeKind::Bearer,
        };
        let pattern = match s.get("x-specbox-token-pattern").and_then(Value::as_str) {
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

fn security(
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

struct OpCtx<'a> {
    root: &'a Value,
    compiler: &'a SchemaCompiler,
    file: &'a std::path::Path,
    schemes: &'a [SecurityScheme],
    /// Whether parameter and body validators are compiled now or on first use.
    when: Compile,
}

impl OpCtx<'_> {
    /// Every operation of the spec, the problems found, and the schema pointers of its error
    /// responses (4xx, 5xx, default).
    fn operations(
        &self,
        spec_idx: usize,
        mount: &str,
        default_security: &Security,
    ) -> (Vec<Operation>, Vec<SpecError>, Vec<String>) {
        let root = self.root;
        let mut ops = Vec::new();
        let mut errors = Vec::new();
        let mut error_schemas = Vec::new();
        let Some(paths) = root.get("paths").and_then(Value::as_object) else {
            return (ops, errors, error_schemas);
        };
        for (template, item) in paths {
            let item_ptr = resolve_pointer_of(root, item, format!("/paths/{}", escape_pointer(template)));
            let item = resolve(root, item);
            for m in METHODS {
                let Some(op) = item.get(*m) else { continue };
                let op_ptr = format!("{item_ptr}/{m}");
                match self.operation(spec_idx, m, template, mount, item, op, &op_ptr, default_security) {
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

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &self,
        spec: usize,
        method: &str,
        template: &str,
        mount: &str,
        item: &Value,
        op: &Value,
        op_ptr: &str,
        default_security: &Security,
    ) -> Result<Operation, Vec<SpecError>> {
        let mut errors = Vec::new();
        let id = op
            .get("operationId")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| format!("{} {template}", method.to_ascii_uppercase()));

        // Path-level parameters, overridden by operation-level ones with the same name and location.
        let mut params: Vec<Param> = Vec::new();
        let item_ptr = op_ptr.rsplit_once('/').map_or("", |(p, _)| p).to_string();
        for (list, base) in [
            (item.get("parameters"), format!("{item_ptr}/parameters")),
            (op.get("parameters"), format!("{op_ptr}/parameters")),
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
                    raw: Value::Null,
                });
            }
        }

        let body = match op.get("requestBody") {
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
        if let Some(map) = op.get("responses").and_then(Value::as_object) {
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

        let security = match op.get("security") {
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
        let method = Method::from_bytes(method.to_ascii_uppercase().as_bytes()).unwrap_or(Method::GET);
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
        })
    }

    fn param(&self, raw: &Value, ptr: &str) -> Result<Option<Param>, SpecError> {
        let ptr = resolve_pointer_of(self.root, raw, ptr.to_string());
        let p = resolve(self.root, raw);
        let Some(name) = p.get("name").and_then(Value::as_str) else {
            return Err(SpecError::new(self.file, ptr, "parameter without a name"));
        };
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some("header") => Location::Header,
            Some("cookie") => Location::Cookie,
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
        let (schema_pointer, coerce) = if p.get("schema").is_some() {
            let sp = format!("{ptr}/schema");
            let explode = p
                .get("explode")
                .and_then(Value::as_bool)
                .unwrap_or(p.get("style").and_then(Value::as_str).is_none_or(|s| s == "form"));
            let coerce = Coerce::for_schema(self.root, p.get("schema").unwrap_or(&Value::Null), explode);
            (Some(sp), coerce)
        } else if let Some((mt, _)) = p
            .get("content")
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
            required: location == Location::Path || p.get("required").and_then(Value::as_bool).unwrap_or(false),
            coerce,
            schema,
            schema_pointer,
            raw: p.clone(),
        }))
    }

    fn body(&self, raw: &Value, ptr: &str) -> Result<Body, SpecError> {
        let ptr = resolve_pointer_of(self.root, raw, ptr.to_string());
        let b = resolve(self.root, raw);
        let mut media = Vec::new();
        for (mt, m) in b.get("content").and_then(Value::as_object).into_iter().flatten() {
            let sp = format!("{ptr}/content/{}/schema", escape_pointer(mt));
            let schema = m.get("schema");
            media.push(Media {
                media_type: mt.split(';').next().unwrap_or(mt).trim().to_ascii_lowercase(),
                schema: if schema.is_some() {
                    Some(self.schema(&sp)?)
                } else {
                    None
                },
                schema_pointer: schema.map(|s| resolve_pointer_of(self.root, s, sp)),
            });
        }
        Ok(Body {
            required: b.get("required").and_then(Value::as_bool).unwrap_or(false),
            media,
        })
    }

    fn response(&self, status: StatusKey, raw: &Value, ptr: &str) -> Response {
        let ptr = resolve_pointer_of(self.root, raw, ptr.to_string());
        let r = resolve(self.root, raw);
        let content = r.get("content").and_then(Value::as_object);
        // Prefer a JSON media type; otherwise the first declared one.
        let chosen = content.and_then(|c| c.iter().find(|(mt, _)| is_json_type(mt)).or_else(|| c.iter().next()));
        let mut examples = Vec::new();
        let (content_type, schema_pointer) = match chosen {
            Some((mt, m)) => {
                if let Some(map) = m.get("examples").and_then(Value::as_object) {
                    for (name, ex) in map {
                        if let Some(v) = resolve(self.root, ex).get("value") {
                            examples.push((name.clone(), v.clone()));
                        }
                    }
                }
                if let Some(v) = m.get("example") {
                    examples.insert(0, ("default".into(), v.clone()));
                }
                let sp = m
                    .get("schema")
                    .map(|s| resolve_pointer_of(self.root, s, format!("{ptr}/content/{}/schema", escape_pointer(mt))));
                if let Some(schema) = sp.as_ref().and_then(|p| lookup(self.root, p)) {
                    let schema = resolve(self.root, schema);
                    if let Some(list) = schema.get("examples").and_then(Value::as_array) {
                        for (i, v) in list.iter().enumerate() {
                            examples.push((format!("schema-{i}"), v.clone()));
                        }
                    }
                }
                (Some(mt.clone()), sp)
            }
            None => (None, None),
        };
        Response {
            status,
            content_type_header: content_type
                .as_deref()
                .and_then(|c| hyper::header::HeaderValue::from_str(c).ok()),
            is_json: content_type.as_deref().is_some_and(is_json_type),
            content_type,
            schema_pointer,
            examples,
            validator: OnceLock::new(),
            generated: OnceLock::new(),
            default_bytes: OnceLock::new(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Version;
    use crate::spec::read::parse_text;
    use std::path::Path;
    use std::sync::Arc;

    fn doc(name: &str, yaml: &str) -> SpecDoc {
        let path = Path::new(name);
        SpecDoc {
            path: path.to_path_buf(),
            name: name.trim_end_matches(".yaml").to_string(),
            version: Version::V31,
            root: Arc::new(parse_text(path, yaml).unwrap()),
        }
    }

    fn messages(errors: Vec<SpecError>) -> Vec<String> {
        errors.iter().map(ToString::to_string).collect()
    }

    /// Lazy building must report what compiling every schema at once reports: the same
    /// problems, in the same order.
    fn same_errors_as_eager(docs: Vec<SpecDoc>) -> Vec<String> {
        let eager = match Api::build_with(docs.clone(), &BuildOptions::default(), Compile::Eager) {
            Ok(_) => panic!("the eager build should fail"),
            Err(failed) => messages(failed.errors),
        };
        let lazy = match Api::build(docs, &BuildOptions::default()) {
            Ok(_) => panic!("the build should fail"),
            Err(errors) => messages(errors),
        };
        assert_eq!(lazy, eager);
        lazy
    }

    const BAD_REQUEST_SCHEMAS: &str = r#"
openapi: 3.1.0
info: {title: bad, version: "1"}
paths:
  /things:
    get:
      parameters:
        - {name: q, in: query, schema: {type: string, pattern: "(unclosed"}}
        - {name: ok, in: query, schema: {type: string}}
        - {name: r, in: query, schema: {type: 5}}
      responses: {"200": {description: ok}}
    post:
      requestBody:
        content:
          application/json: {schema: {$ref: '#/components/schemas/Bad'}}
      responses: {"201": {description: ok}, "9000": {description: not a status}}
components:
  schemas:
    Bad: {type: object, properties: {name: {type: string, pattern: "[z-a]"}}}
"#;

    #[test]
    fn invalid_parameter_and_body_schemas_still_stop_startup() {
        let errors = same_errors_as_eager(vec![doc("bad.yaml", BAD_REQUEST_SCHEMAS)]);
        assert_eq!(errors.len(), 4, "{errors:#?}");
        assert!(errors[0].starts_with("bad.yaml#/paths/~1things/get/parameters/0/schema: invalid schema"));
        assert!(errors[1].starts_with("bad.yaml#/paths/~1things/get/parameters/2/schema: invalid schema"));
        assert!(errors[2].starts_with("bad.yaml#/paths/~1things/post/requestBody/content/application~1json/schema"));
        assert!(errors[3].ends_with("invalid response status \"9000\""));
    }

    #[test]
    fn invalid_resource_schemas_still_stop_startup() {
        let yaml = r#"
openapi: 3.1.0
info: {title: bad resource, version: "1"}
paths:
  /things:
    post:
      responses: {"201": {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}}
  /things/{id}:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}}
  /others:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {type: array, items: {$ref: '#/components/schemas/Other'}}}}}}
    post:
      responses: {"201": {description: ok}}
components:
  schemas:
    Thing: {type: object, properties: {id: {type: string}, name: {type: string, minLength: "x"}}}
    Other: {type: object, properties: {id: {type: string, pattern: "(("}}}
"#;
        let errors = same_errors_as_eager(vec![doc("res.yaml", yaml)]);
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(errors[0].starts_with("res.yaml#/components/schemas/Thing: invalid schema"));
        assert!(errors[1].starts_with("res.yaml#/components/schemas/Other: invalid schema"));
    }

    #[test]
    fn schema_errors_are_reported_with_other_specs_problems() {
        let clash = r#"
openapi: 3.1.0
info: {title: clash, version: "1"}
paths:
  /__specbox/x:
    get: {responses: {"200": {description: ok}}}
"#;
        let errors = same_errors_as_eager(vec![doc("bad.yaml", BAD_REQUEST_SCHEMAS), doc("clash.yaml", clash)]);
        assert_eq!(errors.len(), 4, "{errors:#?}");
        let errors = same_errors_as_eager(vec![doc("clash.yaml", clash)]);
        assert_eq!(errors.len(), 1, "{errors:#?}");
    }

    #[test]
    fn an_invalid_response_schema_does_not_stop_startup() {
        // Response schemas were never compiled at startup (only on first use, errors ignored).
        let yaml = r#"
openapi: 3.1.0
info: {title: response only, version: "1"}
paths:
  /things:
    get:
      responses: {"200": {description: ok, content: {application/json: {schema: {type: object, properties: {x: {type: string, pattern: "(("}}}}}}}
"#;
        let api = Api::build(vec![doc("resp.yaml", yaml)], &BuildOptions::default()).unwrap();
        let op = &api.ops[0];
        assert!(op.responses[0].validator(&api.specs[0].compiler).is_none());
    }

    #[test]
    fn lazy_validators_validate_and_name_the_field() {
        let yaml = r#"
openapi: 3.1.0
info: {title: ok, version: "1"}
paths:
  /things:
    get:
      parameters:
        - {name: limit, in: query, schema: {type: integer, maximum: 10}}
      responses: {"200": {description: ok}}
    post:
      requestBody:
        content:
          application/json: {schema: {$ref: '#/components/schemas/Thing'}}
      responses: {"201": {description: ok, content: {application/json: {schema: {$ref: '#/components/schemas/Thing'}}}}}
components:
  schemas:
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string}
        address: {type: object, properties: {country: {type: string, pattern: "^[A-Z]{2}$"}}}
"#;
        let api = Api::build(vec![doc("ok.yaml", yaml)], &BuildOptions::default()).unwrap();
        let root = api.specs[0].root();
        let get = api.ops.iter().find(|o| o.method == Method::GET).unwrap();
        let limit = get.params[0].schema.as_ref().unwrap();
        assert!(limit.is_valid(&serde_json::json!(5)));
        assert!(!limit.is_valid(&serde_json::json!(11)));
        let post = api.ops.iter().find(|o| o.method == Method::POST).unwrap();
        let body = post.body.as_ref().unwrap().media[0].schema.as_ref().unwrap();
        let bad = serde_json::json!({"name": "x", "address": {"country": "Switzerland"}});
        let violations = body.violations(root, &bad, Location::Body, "");
        assert_eq!(violations.len(), 1);
        assert_eq!(violations[0].field, "address.country");
        assert!(
            body.violations(root, &serde_json::json!({"name": "x"}), Location::Body, "")
                .is_empty()
        );
        // The resource schema (what a read returns) is lazy too.
        let resource = api.resources[0].schema.as_ref().unwrap();
        assert!(!resource.is_valid(&serde_json::json!({"address": {}})));
    }
}
