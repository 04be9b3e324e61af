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
//! (what each operation does to state), [`hooks`] (webhooks and callbacks, and what fires them),
//! [`lifecycle`] (states, transitions and outcomes chosen by the request, compiled into
//! [`rules`]), [`fingerprint`] (whether a resource stores the same way in two builds, for
//! reloads), [`generate`] (example values), [`errors`] (the API's own error shape). This file builds them into an [`Api`].
//!
//! May not touch: state, requests, the server. The model is what every request reads and nothing
//! writes, so it knows neither the store nor HTTP beyond header and method types.

pub mod compile;
pub mod complete;
pub mod errors;
pub mod fingerprint;
pub mod form;
pub mod generate;
pub mod hooks;
pub mod keep;
pub mod lifecycle;
pub mod links;
pub mod operation;
pub mod precheck;
pub mod resources;
pub mod router;
pub mod rules;
pub mod schema;

use crate::model::compile::{OpCtx, security, security_schemes};
use crate::model::errors::ErrorShape;
use crate::model::operation::{OpName, Operation, SchemeKind, SecurityScheme, Spec, join_route};
use crate::model::resources::plan::Resource;
use crate::model::router::{Match, ParamName, Router, Target};
use crate::model::schema::{BadKeyword, Compile, Location, SchemaCompiler};
use crate::spec::SpecDoc;
use crate::spec::error::SpecError;
use crate::spec::pointer::{Field, escape_pointer, lookup, resolve};
use serde_json::Value;
use std::sync::Arc;

/// The most unreadable schema keywords [`Api::build_lenient`] takes out of a spec (each costs a
/// build) before it refuses the spec instead.
pub const MAX_IGNORED_KEYWORDS: usize = 16;

/// Everything served: specs, their operations and resources, and the router.
pub struct Api {
    pub specs: Vec<Spec>,
    pub ops: Vec<Operation>,
    pub resources: Vec<Resource>,
    pub router: Router,
    /// Webhooks and callbacks, and the operations that fire them.
    pub hooks: hooks::Hooks,
    /// Resources' lifecycles (`x-specbox-lifecycle`), for the sandbox clock.
    pub lifecycles: Vec<lifecycle::Lifecycle>,
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
    /// lazy schemas, then one check per spec makes sure every schema handed out compiles
    /// ([`crate::model::precheck`] where it can vouch for them, else a single build that compiles
    /// each shared `$ref` target once). A spec with any problem at all (a failed
    /// check or any other error) is built again compiling every schema at once, as it always
    /// was, so the errors reported and their order do not depend on laziness: only broken specs
    /// pay for the second build.
    pub fn build(docs: Vec<SpecDoc>, opts: &BuildOptions) -> Result<Api, Vec<SpecError>> {
        Self::build_with(docs, opts, Compile::Lazy)
            .or_else(|failed| Self::build_with(failed.docs, opts, Compile::Eager))
            .map_err(|failed| failed.errors)
    }

    /// [`Self::build`], where a schema keyword that no validator can read (`exclusiveMinimum:
    /// true` in a 3.1 document, a `pattern` that is no regular expression) is taken out of the
    /// document and reported as a warning, naming its file and pointer, rather than refusing the
    /// spec: the schema keeps every other keyword. The check names one keyword a build, so a
    /// spec with several pays a build for each, up to [`MAX_IGNORED_KEYWORDS`]; past that, or
    /// for anything else, the spec is refused as [`Self::build`] refuses it.
    pub fn build_lenient(docs: Vec<SpecDoc>, opts: &BuildOptions) -> Result<(Api, Vec<SpecError>), Vec<SpecError>> {
        let mut warnings = Vec::new();
        let mut docs = docs;
        loop {
            let failed = match Self::build_with(docs, opts, Compile::Lazy) {
                Ok(api) => return Ok(with_router_warnings(api, warnings)),
                Err(failed) => failed,
            };
            let Failed {
                docs: mut back,
                errors,
                bad,
            } = failed;
            let removed = match bad.map(|b| *b) {
                Some((i, bad)) if errors.is_empty() && warnings.len() < MAX_IGNORED_KEYWORDS => back
                    .get_mut(i)
                    .is_some_and(|doc| bad.remove_from(Arc::make_mut(&mut doc.root)))
                    .then_some(bad),
                _ => None,
            };
            match removed {
                Some(bad) => {
                    let message = format!("{}; the keyword is ignored", bad.message);
                    warnings.push(SpecError::new(&bad.file, &bad.pointer, message));
                    docs = back;
                }
                None => {
                    return Self::build_with(back, opts, Compile::Eager)
                        .map(|api| with_router_warnings(api, warnings))
                        .map_err(|failed| failed.errors);
                }
            }
        }
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
            return Err(Failed {
                docs,
                errors,
                bad: None,
            });
        }
        // Every document built, so parts and documents pair up one to one.
        let specs: Vec<Spec> = docs.into_iter().zip(parts).map(|(doc, p)| p.with_doc(doc)).collect();
        let failed = |specs: Vec<Spec>, errors| Failed {
            docs: specs.into_iter().map(|s| s.doc).collect(),
            errors,
            bad: None,
        };
        // The operations' schemas are checked beside resource inference (the two take about as
        // long on a large spec), then whatever the resources add beside the rest of the build.
        // An eager build has compiled every schema already: nothing is left to check.
        let checking = when == Compile::Lazy;
        let of_ops = if checking {
            schema_pointers(&specs, &ops, &[])
        } else {
            Vec::new()
        };
        let (resources, ops_compile) = checked_beside(&specs, &of_ops, || {
            generate::memoised(|| resources::infer(&specs, &mut ops, when))
        });
        let resources = match resources {
            Ok(r) => r,
            Err(errors) => return Err(failed(specs, errors)),
        };
        let rest: Vec<Vec<String>> = if checking {
            schema_pointers(&specs, &ops, &resources)
                .into_iter()
                .zip(&of_ops)
                .map(|(all, done)| {
                    let done: std::collections::HashSet<&String> = done.iter().collect();
                    all.into_iter().filter(|p| !done.contains(p)).collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        let (built, rest_compile) = checked_beside(&specs, &rest, || {
            let lifecycles = lifecycle::build(&specs, &mut ops, &resources)?;
            let hooks = hooks::Hooks::build(&specs, &mut ops, &resources, &lifecycles)?;
            let router = Router::build(&specs, &ops)?;
            Ok((lifecycles, hooks, router))
        });
        if let Err(bad) = ops_compile.and(rest_compile) {
            let mut failed = failed(specs, Vec::new());
            failed.bad = bad;
            return Err(failed);
        }
        let (lifecycles, hooks, mut router) = match built {
            Ok(b) => b,
            Err(errors) => return Err(failed(specs, errors)),
        };
        router.order_alternates(|op| ops.get(op).is_some_and(|o| constrains_path(&specs, o)));
        for op in &mut ops {
            let spec = specs.get(op.spec).map(|s| s.title.clone()).unwrap_or_default();
            op.name = std::sync::Arc::new(OpName {
                id: op.id.clone(),
                spec,
            });
        }
        Ok(Api {
            specs,
            ops,
            resources,
            router,
            hooks,
            lifecycles,
        })
    }

    /// The route of a request, as [`Router::find_in`] finds it, except where a spec has two
    /// paths that differ only in their parameters' names (see [`Router::alternates`]): there the
    /// request goes to the first operation, in the order the build set (see
    /// [`constrains_path`]), whose path parameters it fits; fitting none, to the first in the
    /// spec.
    pub fn route(&self, method: &hyper::Method, path: &str, query: &str) -> Match {
        let mut found = self.router.find_in(method, path, query);
        if let Match::Found { target, params } = &mut found
            && let Target::Op(first) = *target
        {
            let fits = self.router.alternates(first).iter().find_map(|(op, names)| {
                let named: Vec<_> = names
                    .iter()
                    .cloned()
                    .zip(params.iter().map(|(_, v)| v.clone()))
                    .collect();
                self.path_params_fit(*op, &named).then_some((*op, named))
            });
            if let Some((op, named)) = fits {
                *target = Target::Op(op);
                *params = named;
            }
        }
        found
    }

    /// Whether path parameter values (by name) pass operation `op`'s path parameters' schemas.
    fn path_params_fit(&self, op: usize, params: &[(ParamName, String)]) -> bool {
        let Some(op) = self.ops.get(op) else { return false };
        let Some(spec) = self.specs.get(op.spec) else {
            return false;
        };
        let root = spec.root();
        op.params.iter().filter(|p| p.location == Location::Path).all(|p| {
            let raw: Vec<&str> = params
                .iter()
                .filter(|(n, _)| n.as_ref() == p.name)
                .map(|(_, v)| v.as_str())
                .collect();
            if raw.is_empty() {
                return !p.required;
            }
            let value = p.coerce.apply(&raw);
            p.schema
                .as_ref()
                .is_none_or(|s| s.violations(root, &value, p.location, &p.name).is_empty())
        })
    }

    pub fn op(&self, target: Target) -> Option<&Operation> {
        match target {
            Target::Op(i) => self.ops.get(i),
            Target::Token(_) => None,
        }
    }
}

/// A built API, with the router's warnings (see [`Router::take_shadowed`]) after `warnings`.
fn with_router_warnings(mut api: Api, mut warnings: Vec<SpecError>) -> (Api, Vec<SpecError>) {
    warnings.append(&mut api.router.take_shadowed());
    (api, warnings)
}

/// Whether some path parameter of `op` takes less than any text (a format, a pattern, listed
/// values, a length, a type other than string, a composed schema): of paths that differ only in
/// their parameters' names, a request tries these first (`/things/{thingId}`, a UUID, before
/// `/things/{name}`, any text, whichever the spec lists first).
fn constrains_path(specs: &[Spec], op: &Operation) -> bool {
    let Some(spec) = specs.get(op.spec) else {
        return false;
    };
    let root = spec.root();
    op.params.iter().filter(|p| p.location == Location::Path).any(|p| {
        let Some(s) = p.schema_pointer.as_deref().and_then(|at| lookup(root, at)) else {
            return false;
        };
        let s = resolve(root, s);
        [
            "format",
            "pattern",
            "enum",
            "const",
            "minLength",
            "maxLength",
            "allOf",
            "anyOf",
            "oneOf",
        ]
        .iter()
        .any(|k| s.field(k).is_some())
            || s.field("type").is_some_and(|t| t != "string")
    })
}

/// A build that did not produce an [`Api`]: its problems, and the documents back for another try.
struct Failed {
    docs: Vec<SpecDoc>,
    errors: Vec<SpecError>,
    /// A schema check failed over this keyword of this spec (see [`Api::build_lenient`]).
    bad: Option<Box<(usize, BadKeyword)>>,
}

/// The schemas the model hands out uncompiled (parameters, bodies, resources), per spec, each
/// once: operations share parameters and bodies (`$ref`s, path-level parameters).
fn schema_pointers(specs: &[Spec], ops: &[Operation], resources: &[Resource]) -> Vec<Vec<String>> {
    (0..specs.len())
        .map(|i| {
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
            let mut seen = std::collections::HashSet::new();
            of_ops
                .chain(of_resources)
                .map(|s| s.pointer.as_str())
                .filter(|p| seen.insert(*p))
                .map(str::to_string)
                .collect()
        })
        .collect()
}

/// `work`, done here while [`schemas_compile`] checks `pointers` on a thread of its own (on this
/// one when no thread can be had, at the cost of the memory), and whether they compiled. With
/// nothing to check, no thread is started. How long `work` then waited for the check is logged
/// at debug level: what the check adds to startup.
fn checked_beside<T>(specs: &[Spec], pointers: &[Vec<String>], work: impl FnOnce() -> T) -> (T, Checked) {
    if pointers.iter().all(Vec::is_empty) {
        return (work(), Ok(()));
    }
    let check = || schemas_compile(specs, pointers);
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new().spawn_scoped(scope, check);
        let done = work();
        let waiting = std::time::Instant::now();
        let compiled = match thread {
            Ok(thread) => thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(_) => check(),
        };
        tracing::debug!(
            "schema check: waited {:.1} ms for it",
            waiting.elapsed().as_secs_f64() * 1000.0
        );
        (done, compiled)
    })
}

/// Whether every schema at `pointers` (per spec, from [`schema_pointers`]) compiles: one
/// [`SchemaCompiler::check`] per spec.
///
/// Callers run it on a thread of its own. Its validator is the largest thing startup builds
/// (more than the document for some specs) and is dropped at once; built on the main thread,
/// its blocks were reused by the long-lived values made after it, so its pages stayed resident
/// (an idle specbox kept about 40 MB of them for a 13 MB spec). A thread's blocks come from
/// pages of its own, which are whole and free when it ends, and go back to the system.
fn schemas_compile(specs: &[Spec], pointers: &[Vec<String>]) -> Checked {
    for (i, (spec, pointers)) in specs.iter().zip(pointers).enumerate() {
        spec.compiler
            .check(pointers.iter().map(String::as_str))
            .map_err(|bad| bad.map(|b| Box::new((i, b))))?;
    }
    Ok(())
}

/// What a schema check found: nothing, or a failure and (where it is one) the keyword of which
/// spec that no validator reads.
type Checked = Result<(), Option<Box<(usize, BadKeyword)>>>;

/// Everything of a [`Spec`] but its document, which the spec takes once all documents built.
struct SpecParts {
    title: String,
    version: String,
    mount: String,
    errors: ErrorShape,
    schemes: Vec<SecurityScheme>,
    compiler: SchemaCompiler,
    token_route: Option<String>,
    links: links::ServerLinks,
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
            links: self.links,
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
        shared_responses: Default::default(),
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
            links: links::ServerLinks::of(root),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::schema::{Location, Violation};
    use crate::spec::Version;
    use crate::spec::read::parse_text;
    use hyper::Method;
    use std::path::Path;
    use std::sync::Arc;

    fn doc(name: &str, yaml: &str) -> SpecDoc {
        let path = Path::new(name);
        SpecDoc {
            path: path.to_path_buf(),
            name: name.trim_end_matches(".yaml").to_string(),
            version: Version::V31,
            root: Arc::new(parse_text(path, yaml).unwrap()),
            heap: None,
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
        // A body's schema written as a lone `$ref` is compiled, and reported, where it is.
        assert!(errors[2].starts_with("bad.yaml#/components/schemas/Bad: invalid schema"));
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

    /// A response schema's single `example` (OpenAPI 3.0's, or 3.1's deprecated one) is the
    /// response's example `schema-0`, as the first of an `examples` list is.
    #[test]
    fn a_response_schemas_example_is_an_example_of_the_response() {
        for schema in [
            "{type: object, example: {id: a_1}}",
            "{type: object, examples: [{id: a_1}]}",
        ] {
            let yaml = format!(
                "openapi: 3.1.0\ninfo: {{title: ex, version: '1'}}\npaths:\n  /things:\n    get:\n      \
                 responses: {{'200': {{description: ok, content: {{application/json: {{schema: {schema}}}}}}}}}\n"
            );
            let api = Api::build(vec![doc("ex.yaml", &yaml)], &BuildOptions::default()).unwrap();
            let (root, response) = (api.specs[0].root(), &api.ops[0].responses[0]);
            let shown = serde_json::json!({"id": "a_1"});
            assert_eq!(response.example(root, "schema-0"), Some(&shown), "{schema}");
            assert_eq!(response.default_body(root), Some(&shown), "{schema}");
        }
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

    /// A schema of a set judges a value as the schema compiled alone does, violation for violation.
    #[test]
    fn a_schema_set_judges_as_each_schema_alone() {
        let yaml = r#"
openapi: 3.1.0
info: {title: set, version: "1"}
paths: {}
components:
  schemas:
    Address: {type: object, additionalProperties: false, properties: {country: {type: string, pattern: "^[A-Z]{2}$"}}}
    Thing:
      type: object
      required: [name]
      properties:
        name: {type: string, maxLength: 3}
        address: {$ref: '#/components/schemas/Address'}
        owner: {anyOf: [{type: string}, {type: object, properties: {locale: {enum: [de, fr]}}}]}
        tags: {type: array, items: {type: integer}}
    Other: {type: object, properties: {address: {$ref: '#/components/schemas/Address'}}}
"#;
        let api = Api::build(vec![doc("set.yaml", yaml)], &BuildOptions::default()).unwrap();
        let spec = &api.specs[0];
        let root = spec.root();
        let pointers = ["/components/schemas/Thing", "/components/schemas/Other"];
        let set = spec.compiler.set(&pointers).unwrap();
        let values = [
            serde_json::json!({"name": "ok"}),
            serde_json::json!({}),
            serde_json::json!({"name": "too long", "address": {"country": "Switzerland", "x": 1}}),
            serde_json::json!({"name": "a", "owner": {"locale": "it"}, "tags": [1, "two"]}),
            serde_json::json!({"address": {"country": 5}}),
            serde_json::json!("not an object"),
        ];
        let text = |vs: Vec<Violation>| -> Vec<String> {
            vs.iter()
                .map(|v| format!("{} {} {}", v.pointer, v.field, v.message))
                .collect()
        };
        let mut found = 0;
        for (i, pointer) in pointers.iter().enumerate() {
            let alone = spec.compiler.compile(pointer).unwrap();
            for value in &values {
                let expected = text(alone.violations(root, value, Location::Body, "p"));
                found += expected.len();
                assert_eq!(
                    text(set.violations(i, root, value, Location::Body, "p")),
                    expected,
                    "{pointer} {value}"
                );
            }
        }
        assert!(found > 10, "{found}");
        assert!(set.violations(2, root, &values[1], Location::Body, "").is_empty());
    }
}
