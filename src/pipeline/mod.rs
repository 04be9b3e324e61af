//! One request, start to finish.
//!
//! ```text
//! route ─► credentials → tenant ─► Prefer (forced status) ─► validate ─► act (state, or the
//! example/generated body) ─► shape (response schema; errors in the API's own shape)
//! ```
//!
//! Each stage is a function call with a plain value between stages; none reaches back. The
//! handler is `async` only because the store may wait (a Redis round trip): the in-memory store
//! never does, so its requests complete on their first poll. What takes time on purpose (delays,
//! network faults) is returned as [`crate::exchange::Directives`] for the server to carry out.
//!
//! Owns: one API request through the [`Engine`] (the model, the store, credentials, faults):
//! [`auth`], [`faults`], validation here, [`act`] for state. May not touch: the journal, the
//! recording, the proxy, the admin API or the server: those sit above and call [`handle`], which
//! is why the choice "admin path or API path" is made in the server, not here.

pub mod act;
pub mod auth;
pub mod faults;

use crate::exchange::parts::{cookie_pairs, form_pairs, form_pairs_borrowed, json_too_deep};
use crate::exchange::{Body, Directives, INJECTED_HEADER, Reply, Req, TenantName};
use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::form::{deep_object, parse_form, parse_multipart};
use crate::model::generate;
use crate::model::operation::{Operation, Spec, is_json_type};
use crate::model::router::{Match, ParamName, Target};
use crate::model::schema::{Location, Violation};
use crate::pipeline::act::ctx::{Ctx, Outcome, Validated};
use crate::pipeline::auth::{Auth, Credentials};
use crate::pipeline::faults::{Faults, Prefer, RequestFacts};
use crate::spec::pointer::lookup;
use crate::state::store::Store;
use bytes::Bytes;
use hyper::Method;
use serde_json::Value;
use std::borrow::Cow;

/// Process-wide settings the pipeline consults.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Deepest JSON nesting accepted in a request body.
    pub max_depth: usize,
    pub cors: bool,
    pub admin: bool,
    pub admin_token: Option<String>,
    /// Every answer is generated from its schema, as `Prefer: dynamic=true` asks (`--dynamic`,
    /// Prism's `-d`).
    pub dynamic: bool,
    /// An invalid request is answered from the spec anyway, its violations in an `sl-violations`
    /// header, as Prism does without `--errors` (`specbox mock`).
    pub lenient: bool,
}

/// Everything a request may touch: the immutable model and the shared state.
///
/// One engine serves one version of the specs. A reload (`--watch`) builds a new one and swaps it
/// in whole; what outlives the version is shared with the next: the fault rules (the same
/// `Arc`), issued tokens (see [`Auth::carry_tokens`]) and the collections kept by the store.
pub struct Engine {
    pub api: Api,
    pub store: Store,
    pub auth: Auth,
    pub faults: std::sync::Arc<Faults>,
    pub settings: Settings,
}

// Looked up by name on every request: a `HeaderName` is found without parsing the name again.
const PREFER: hyper::header::HeaderName = hyper::header::HeaderName::from_static("prefer");
const IDEMPOTENCY_KEY: hyper::header::HeaderName = hyper::header::HeaderName::from_static("idempotency-key");

/// Answers one API request (the server has already sent `/__specbox/` paths to the admin API).
pub async fn handle(app: &Engine, req: &Req) -> Reply {
    let mut reply = route(app, req).await;
    if app.settings.cors {
        add_cors(&mut reply, req);
    }
    reply
}

async fn route(app: &Engine, req: &Req) -> Reply {
    let api = &app.api;
    let (target, params) = match api.route(&req.method, &req.path, &req.query) {
        Match::Found { target, params } => (target, params),
        Match::MethodNotAllowed { spec, allow } => {
            if app.settings.cors && req.method == Method::OPTIONS {
                return preflight(&allow);
            }
            let allow_text = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
            let err = ApiError::new(
                405,
                ErrorKind::MethodNotAllowed,
                format!("{} is not allowed on {}; allowed: {allow_text}", req.method, req.path),
            )
            .with_header("allow", allow_text);
            return render_error(api.specs.get(spec), None, &err);
        }
        Match::NotFound { spec } => {
            let err = ApiError::new(
                404,
                ErrorKind::RouteNotFound,
                format!("no route for {} {}", req.method, req.path),
            );
            return render_error(spec.and_then(|s| api.specs.get(s)), None, &err);
        }
    };
    let op_idx = match target {
        Target::Token(spec_idx) => {
            let (status, body) = app
                .auth
                .token(spec_idx, &req.headers, &req.body, app.store.shared_secret().as_ref());
            return Reply::json(status, "application/json", &body).header("cache-control", "no-store");
        }
        Target::Op(i) => i,
    };
    let Some(op) = api.ops.get(op_idx) else {
        return Reply::empty(500);
    };
    let Some(spec) = api.specs.get(op.spec) else {
        return Reply::empty(500);
    };
    let mut tenant = None;
    let mut reply = match serve(app, spec, op, req, params, &mut tenant).await {
        Ok(reply) => reply,
        Err(err) => {
            let mut reply = render_error(Some(spec), Some(op), &err);
            reply.meta.violations = violation_texts(&err);
            // A refused request still has a tenant when its credential was good.
            reply.meta.tenant = tenant;
            reply
        }
    };
    reply.meta.operation = Some(op_idx);
    reply
}

async fn serve(
    app: &Engine,
    spec: &Spec,
    op: &Operation,
    req: &Req,
    params: Vec<(ParamName, String)>,
    tenant: &mut Option<TenantName>,
) -> Result<Reply, ApiError> {
    let creds = Credentials {
        headers: &req.headers,
        query: &req.query,
    };
    let tenant_name = app
        .auth
        .authenticate(op.spec, spec, op, &creds, app.store.shared_secret().as_ref())?;
    *tenant = Some(tenant_name.clone());

    // What to inject: the request's own Prefer wins over rules, rules over chaos.
    let prefer = Prefer::parse(req.headers.get_all(PREFER).iter().filter_map(|v| v.to_str().ok()));
    let facts = RequestFacts {
        operation_id: &op.id,
        method: op.method.as_str(),
        template: &op.route,
        path: &req.path,
        tenant: &tenant_name,
        responses: &op.responses,
    };
    let decision = app.faults.decide(&app.store, &facts).await;
    let mut labels = decision.labels;
    let forced = prefer.code.filter(|c| *c >= 400).or(decision.effect.status);
    let directives = Directives {
        delay: prefer.delay.or(decision.effect.delay),
        fault: prefer.fault.or(decision.effect.fault),
    };
    if let Some(d) = prefer.delay {
        labels.push(format!("delay={}", d.as_millis()));
    }
    if let Some(f) = prefer.fault {
        labels.push(format!("fault={}", f.as_str()));
    }
    let finish = |mut reply: Reply, mut labels: Vec<String>| {
        reply.directives = directives.clone();
        reply.meta.tenant = Some(tenant_name.clone());
        if let Some(d) = directives
            .delay
            .filter(|_| !labels.iter().any(|l| l.starts_with("delay")))
        {
            labels.push(format!("delay={}", d.as_millis()));
        }
        if let Some(f) = directives
            .fault
            .filter(|_| !labels.iter().any(|l| l.starts_with("fault")))
        {
            labels.push(format!("fault={}", f.as_str()));
        }
        if !labels.is_empty() {
            let text = labels.join(", ");
            reply.meta.injected = Some(text.clone());
            reply = reply.header(INJECTED_HEADER, text);
        }
        reply
    };

    // A forced error answers before anything runs, so it changes no state.
    if let Some(code) = forced {
        let kind = ErrorKind::for_status(code);
        let err = ApiError::new(
            code,
            kind,
            format!("injected {code} {} by specbox", crate::model::errors::reason(code)),
        )
        .with_code(format!("injected_{}", kind.as_str()));
        labels.insert(0, format!("status={code}"));
        return Ok(finish(render_error(Some(spec), Some(op), &err), labels));
    }

    let mut validated = match validate(&app.settings, spec, op, req, params) {
        Ok(v) => v,
        // Prism's mode without `--errors`: the violations are reported, the request answered.
        Err(err) if app.settings.lenient && err.kind == ErrorKind::Validation => {
            let response = op.success();
            let reply = outcome_reply(
                op,
                response.map_or(200, |r| r.code()),
                response.and_then(|r| r.default_bytes(spec.root())).map(Body::Raw),
            );
            let mut reply = reply.header(VIOLATIONS_HEADER, err.message.clone());
            reply.meta.violations = violation_texts(&err);
            return Ok(finish(reply, labels));
        }
        Err(err) => return Err(err),
    };

    // Prefer: a documented success status, an example by name, or a generated body.
    let forced_success = prefer.code.filter(|c| *c < 400 && op.documents(*c));
    let prefer = Prefer {
        dynamic: prefer.dynamic || app.settings.dynamic,
        ..prefer
    };
    if forced_success.is_some() || prefer.example.is_some() || prefer.dynamic {
        let response = forced_success.and_then(|c| op.response_for(c)).or_else(|| op.success());
        let status = forced_success.or_else(|| response.map(|r| r.code())).unwrap_or(200);
        let body = response.and_then(|r| {
            if prefer.dynamic {
                let schema = r.schema_pointer.as_ref().and_then(|p| lookup(spec.root(), p))?;
                // Judged by the response's compiled validator: nothing is compiled per request.
                let validator = r.validator(&spec.compiler);
                let accepts = |v: &Value| validator.is_none_or(|s| s.is_valid(v));
                Some(generate::generate_dynamic_with(
                    schema,
                    spec.root(),
                    rand::random(),
                    &accepts,
                ))
            } else if let Some(name) = &prefer.example {
                r.example(spec.root(), name)
                    .cloned()
                    .or_else(|| r.default_body(spec.root()).cloned())
            } else {
                r.default_body(spec.root()).cloned()
            }
        });
        if let Some(c) = forced_success {
            labels.push(format!("status={c}"));
        }
        if let Some(e) = &prefer.example {
            labels.push(format!("example={e}"));
        }
        if prefer.dynamic {
            labels.push("dynamic".into());
        }
        return Ok(finish(outcome_reply(op, status, body.map(Body::Value)), labels));
    }

    let tenant = app.store.tenant(&tenant_name);
    let key = idempotency_key(req, op);
    if let Some(key) = &key
        && let Some(replay) = idempotency::begin(&app.store, &tenant, key, fingerprint(req)).await?
    {
        return Ok(finish(replay, labels));
    }
    let body = validated.body.take();
    // What anyone may read is one set for everyone, whoever writes it (see `Resource::shared`):
    // it is kept in the shared tenant. The request is still its caller's (its idempotency key,
    // fault rules, journal entry).
    let acts_on = op.rules.as_ref().and_then(|r| r.transition.as_ref()).map(|t| t.res);
    let shared = acts_on
        .or_else(|| op.action.resource())
        .and_then(|r| app.api.resources.get(r))
        .is_some_and(|r| r.shared);
    let shared_tenant = shared.then(|| app.store.tenant(&app.auth.shared_tenant()));
    let ctx = Ctx {
        api: &app.api,
        store: &app.store,
        tenant: shared_tenant.as_ref().unwrap_or(&tenant),
        op,
        req: &validated,
    };
    let result = match act::act(&ctx, body).await {
        Ok(Some(Outcome { status, body, changed })) => {
            let mut reply = outcome_reply(op, status, body);
            reply.meta.changed = changed;
            Ok(reply)
        }
        Ok(None) => {
            let response = op.success();
            let status = response.map_or(200, |r| r.code());
            Ok(outcome_reply(
                op,
                status,
                response.and_then(|r| r.default_bytes(spec.root())).map(Body::Raw),
            ))
        }
        Err(err) => match documented(op, err) {
            Fitted::Error(err) => Err(err),
            // Nothing the operation documents fits a missing item (an API that documents only its
            // success): answer as the spec does, like a stateless mock, rather than with a status
            // the contract does not have. A header says so, for the client's logs and for tests.
            Fitted::AsSpecified(why) => {
                let response = op.success();
                let reply = outcome_reply(
                    op,
                    response.map_or(200, |r| r.code()),
                    response.and_then(|r| r.default_bytes(spec.root())).map(Body::Raw),
                );
                Ok(reply.header(
                    NOTE_HEADER,
                    format!("answered as the spec shows; nothing stored: {why}"),
                ))
            }
        },
    };
    if let Some(key) = &key {
        // Errors are replayed too (a retried bad request stays bad), except server errors.
        let rendered = match &result {
            Ok(r) => Some((r.status, r.header_value("content-type"), r.body.clone())),
            Err(e) if e.status < 500 => {
                let r = render_error(Some(spec), Some(op), e);
                Some((r.status, r.header_value("content-type"), r.body))
            }
            Err(_) => None,
        };
        app.store.idem_finish(&tenant, key, rendered).await;
    }
    Ok(finish(result?, labels))
}

fn outcome_reply(op: &Operation, status: u16, body: Option<Body>) -> Reply {
    let response = op.response_for(status);
    let content_type = response.and_then(|r| r.content_type.as_deref());
    match (body, content_type) {
        (Some(b), Some(ct)) => {
            if response.is_some_and(|r| r.is_json) {
                match response.and_then(|r| r.content_type_header.clone()) {
                    Some(value) => Reply::typed(status, value, b.into_bytes()),
                    None => Reply::bytes(status, ct, b.into_bytes()),
                }
            } else {
                // A text media type: a string example is sent as text, anything else as JSON.
                let value = match b {
                    Body::Value(v) => v,
                    Body::Raw(bytes) => serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                };
                let text = value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string());
                Reply::bytes(status, ct, Bytes::from(text))
            }
        }
        // A status the operation documents without content has none; one it does not document at
        // all (no responses declared) still shows what happened.
        (Some(b), None) if response.is_none() && status != 204 && status != 304 => {
            Reply::bytes(status, "application/json", b.into_bytes())
        }
        _ => Reply::empty(status),
    }
}

/// What an error from acting on state becomes under an operation's documented statuses.
enum Fitted {
    Error(ApiError),
    /// Answer as the spec shows, for this reason.
    AsSpecified(String),
}

/// Where a lenient server (`specbox mock` without `--errors`) lists what was wrong with a request
/// it answered anyway: Prism's header, so Prism users' tooling reads it.
pub const VIOLATIONS_HEADER: &str = "sl-violations";

/// Says that an answer came from the spec rather than from state (see [`documented`]).
pub const NOTE_HEADER: &str = "x-specbox-note";

/// The error with a status the operation documents, where one fits: a missing item is a 404,
/// else a 410, 422 or 400; a conflict a 409, else a 422 or 400 (a 4XX range or `default` covers
/// any of them). Where none fits, the status stays (a missing item answers as the spec does) and
/// the log says so once per operation and status.
fn documented(op: &Operation, mut err: ApiError) -> Fitted {
    use crate::model::operation::StatusKey;
    let covers = |status: u16| {
        op.responses.iter().any(|r| {
            r.status == StatusKey::Exact(status)
                || r.status == StatusKey::Range(status / 100)
                || r.status == StatusKey::Default
        })
    };
    let candidates: &[u16] = match err.kind {
        ErrorKind::NotFound => &[404, 410, 422, 400],
        ErrorKind::Conflict => &[409, 422, 400],
        _ => return Fitted::Error(err),
    };
    if covers(err.status) {
        return Fitted::Error(err);
    }
    if let Some(status) = candidates.iter().copied().find(|s| op.documents(*s)) {
        err.status = status;
        return Fitted::Error(err);
    }
    // Keyed by the operation's address (the model lives as long as the process): no allocation.
    static WARNED: std::sync::LazyLock<dashmap::DashSet<(usize, u16)>> = std::sync::LazyLock::new(Default::default);
    let key = (std::ptr::from_ref(op).addr(), err.status);
    if !WARNED.contains(&key) && WARNED.insert(key) {
        tracing::warn!(
            "{} {} documents no status for \"{}\" ({}); {}",
            op.method,
            op.route,
            err.message,
            err.status,
            if err.kind == ErrorKind::NotFound {
                "answering as the spec does"
            } else {
                "answering it anyway"
            }
        );
    }
    match err.kind {
        ErrorKind::NotFound => Fitted::AsSpecified(err.message),
        _ => Fitted::Error(err),
    }
}

/// `text` as a header value: printable ASCII kept, anything else a `?`, at most 200 bytes.
fn header_text(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| if c == ' ' || c.is_ascii_graphic() { c } else { '?' })
        .collect()
}

/// An error's violations as the journal shows them (`body billing_address.country: ...`), or its
/// message when it has none (a missing credential, a conflict).
fn violation_texts(err: &ApiError) -> Vec<String> {
    if err.violations.is_empty() {
        return vec![err.message.clone()];
    }
    err.violations
        .iter()
        .map(|v| format!("{} {}: {}", v.location.as_str(), v.field, v.message))
        .collect()
}

/// Renders an error in the shape the operation declares for its status, else the API's common
/// error shape, else problem+json.
pub fn render_error(spec: Option<&Spec>, op: Option<&Operation>, err: &ApiError) -> Reply {
    // A status the operation documents with no content (`404: {description: Not found}`, or a
    // `default` or `4XX` response that covers it with none) is answered with none: the contract
    // has no body there, and clients and contract checks hold the server to it. The note header
    // and the journal say why.
    if let Some(r) = op.and_then(|o| o.response_for(err.status))
        && r.content_type.is_none()
        && r.schema_pointer.is_none()
    {
        let mut reply = Reply::empty(err.status).header(NOTE_HEADER, header_text(&err.message));
        for (k, v) in &err.headers {
            reply.push_header(k, v.as_str());
        }
        return reply;
    }
    let (content_type, body) = match spec {
        Some(spec) => {
            // The response the operation documents for this status (exact, a range, or `default`).
            let documented = op.and_then(|o| o.response_for(err.status));
            let declared = documented.and_then(|r| r.schema_pointer.as_deref());
            let example = documented.and_then(|r| r.first_example(spec.root()));
            let (ct, body) = spec.errors.render(spec.root(), declared, example, err);
            let ct = op
                .and_then(|o| o.response_for(err.status))
                .and_then(|r| r.content_type.clone())
                .filter(|c| declared.is_some() && is_json_type(c))
                .unwrap_or_else(|| ct.to_string());
            (ct, body)
        }
        None => (
            "application/problem+json".to_string(),
            crate::model::errors::ErrorShape::default().problem(err),
        ),
    };
    let mut reply = Reply::json(err.status, &content_type, &body);
    for (k, v) in &err.headers {
        reply.push_header(k, v.as_str());
    }
    reply
}

/// The `Idempotency-Key` of a request that changes state (POST and PATCH, as the IETF draft says).
fn idempotency_key(req: &Req, op: &Operation) -> Option<String> {
    if !(req.method == Method::POST || req.method == Method::PATCH) {
        return None;
    }
    let key = req.headers.get(IDEMPOTENCY_KEY)?.to_str().ok()?.trim();
    (!key.is_empty()).then(|| format!("{} {key}", op.spec))
}

/// What makes two requests "the same" for an idempotency key: method, path, query and body.
fn fingerprint(req: &Req) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    req.method.as_str().hash(&mut h);
    req.path.hash(&mut h);
    let mut query: Vec<(String, String)> = form_pairs(req.query.as_bytes()).collect();
    query.sort();
    query.hash(&mut h);
    // Equal JSON with other whitespace or key order is the same request.
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(v) => crate::spec::pointer::canonical_json(&v).hash(&mut h),
        Err(_) => req.body.hash(&mut h),
    }
    h.finish()
}

mod idempotency {
    //! Idempotency records: the first response to a key is kept (per tenant, 24 hours) and
    //! replayed for the same request; a different request with the same key is refused.

    use super::Reply;
    use crate::model::errors::{ApiError, ErrorKind};
    use crate::state::store::{Claimed, Store, TenantRef};

    /// Header marking a replayed response.
    pub const REPLAYED_HEADER: &str = "idempotent-replayed";

    /// Claims `key` for this request, or answers with the replay (or a refusal).
    pub async fn begin(
        store: &Store,
        tenant: &TenantRef,
        key: &str,
        fingerprint: u64,
    ) -> Result<Option<Reply>, ApiError> {
        match store.idem_begin(tenant, key, fingerprint).await? {
            Claimed::New => Ok(None),
            Claimed::Mismatch => Err(ApiError::new(
                422,
                ErrorKind::IdempotencyMismatch,
                "this Idempotency-Key was already used with a different request; use a new key",
            )),
            Claimed::Pending => Err(ApiError::new(
                409,
                ErrorKind::Conflict,
                "a request with this Idempotency-Key is still being processed; retry later",
            )),
            Claimed::Replay {
                status,
                content_type,
                body,
            } => {
                let mut reply = Reply {
                    status,
                    headers: Vec::new(),
                    body,
                    directives: Default::default(),
                    meta: Default::default(),
                };
                if let Some(ct) = &content_type {
                    reply.push_header("content-type", ct.as_str());
                }
                Ok(Some(reply.header(REPLAYED_HEADER, "true")))
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation of one request against its operation
// ---------------------------------------------------------------------------------------------

fn validate(
    settings: &Settings,
    spec: &Spec,
    op: &Operation,
    req: &Req,
    path: Vec<(ParamName, String)>,
) -> Result<Validated, ApiError> {
    let root = spec.root();
    let mut violations: Vec<Violation> = Vec::new();
    let mut query = Vec::new();
    let query_pairs: Vec<(Cow<str>, Cow<str>)> = form_pairs_borrowed(req.query.as_bytes()).collect();
    // The names sent bracketed (`when` of `when[gte]=1`): parameters that may be `deepObject`s.
    let bracketed: Vec<&str> = query_pairs
        .iter()
        .filter(|(n, _)| n.ends_with(']'))
        .filter_map(|(n, _)| n.split_once('[').map(|(base, _)| base))
        .collect();
    let cookies: Vec<(&str, &str)> = cookie_pairs(&req.headers).collect();

    for p in &op.params {
        let raw: Vec<&str> = match p.location {
            Location::Path => path
                .iter()
                .filter(|(n, _)| n.as_ref() == p.name)
                .map(|(_, v)| v.as_str())
                .collect(),
            Location::Query => query_pairs
                .iter()
                .filter(|(n, _)| *n == p.name)
                .map(|(_, v)| v.as_ref())
                .collect(),
            Location::Header => req
                .headers
                .get_all(p.name.as_str())
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect(),
            Location::Cookie => cookies.iter().filter(|(n, _)| *n == p.name).map(|(_, v)| *v).collect(),
            Location::Body => Vec::new(),
        };
        // An object parameter sent as `name[key]=value` pairs (OpenAPI's `deepObject`).
        let deep = (raw.is_empty() && p.location == Location::Query && bracketed.contains(&p.name.as_str()))
            .then(|| {
                let schema = p.schema_pointer.as_deref().and_then(|s| lookup(root, s));
                let pairs = query_pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()));
                deep_object(root, &p.name, schema, pairs)
            })
            .flatten();
        let value = match deep {
            Some(value) => value,
            None if raw.is_empty() => {
                if p.required {
                    violations.push(Violation {
                        location: p.location,
                        field: p.name.clone(),
                        pointer: String::new(),
                        message: "is required".into(),
                    });
                }
                continue;
            }
            None => p.coerce.apply(&raw),
        };
        if let Some(schema) = &p.schema {
            violations.extend(schema.violations(root, &value, p.location, &p.name));
        }
        if p.location == Location::Query {
            query.push((p.name.clone(), value));
        }
    }

    let body = match &op.body {
        None => None,
        Some(decl) => {
            let content_type = req
                .headers
                .get(hyper::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(|c| c.split(';').next().unwrap_or("").trim());
            if req.body.is_empty() {
                if decl.required {
                    violations.push(Violation {
                        location: Location::Body,
                        field: String::new(),
                        pointer: String::new(),
                        message: "request body is required".into(),
                    });
                }
                None
            } else {
                let media = match content_type {
                    Some(ct) => decl.media.iter().find(|m| m.matches(ct)),
                    // No Content-Type: read it as the first JSON type declared, if any.
                    None => decl.media.iter().find(|m| m.is_json()),
                };
                let Some(media) = media else {
                    let declared: Vec<&str> = decl.media.iter().map(|m| m.media_type.as_str()).collect();
                    return Err(ApiError::new(
                        415,
                        ErrorKind::UnsupportedMediaType,
                        format!(
                            "unsupported content type {}; this operation accepts {}",
                            content_type.unwrap_or("(none)"),
                            declared.join(", ")
                        ),
                    ));
                };
                // Only a form needs the schema itself (to type its string values).
                let schema_value = || media.schema_pointer.as_ref().and_then(|p| lookup(root, p));
                let parsed = if media.is_form() {
                    Some(parse_form(root, schema_value(), &req.body))
                } else if media.is_multipart() {
                    let full_type = req
                        .headers
                        .get(hyper::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok());
                    let parts = full_type.and_then(|ct| parse_multipart(root, schema_value(), ct, &req.body));
                    Some(parts.ok_or_else(|| {
                        ApiError::new(
                            400,
                            ErrorKind::MalformedBody,
                            "request body is not multipart/form-data with the boundary its Content-Type names",
                        )
                    })?)
                } else if media.is_json() || content_type.is_some_and(is_json_type) {
                    if json_too_deep(&req.body, settings.max_depth) {
                        return Err(ApiError::new(
                            400,
                            ErrorKind::MalformedBody,
                            format!("request body nests deeper than {} levels", settings.max_depth),
                        ));
                    }
                    match serde_json::from_slice::<Value>(&req.body) {
                        Ok(v) => Some(v),
                        Err(e) => {
                            return Err(ApiError::new(
                                400,
                                ErrorKind::MalformedBody,
                                format!("request body is not valid JSON: {e}"),
                            )
                            .with_violations(vec![Violation {
                                location: Location::Body,
                                field: String::new(),
                                pointer: String::new(),
                                message: format!("invalid JSON at line {} column {}", e.line(), e.column()),
                            }]));
                        }
                    }
                } else {
                    None
                };
                if let (Some(value), Some(schema)) = (&parsed, &media.schema) {
                    violations.extend(schema.request_violations(root, value, Location::Body, ""));
                }
                parsed
            }
        }
    };

    if !violations.is_empty() {
        let status = if op.documents(422) { 422 } else { 400 };
        let describe = |v: &Violation| match (v.location, v.field.is_empty()) {
            (_, true) => v.message.clone(),
            (Location::Body, false) => format!("{}: {}", v.field, v.message),
            (loc, false) => format!("{} parameter {}: {}", loc.as_str(), v.field, v.message),
        };
        let summary = match violations.as_slice() {
            [one] => format!("invalid request: {}", describe(one)),
            many => format!(
                "invalid request: {} problems; first, {}",
                many.len(),
                many.first().map(describe).unwrap_or_default()
            ),
        };
        return Err(ApiError::new(status, ErrorKind::Validation, summary).with_violations(violations));
    }
    Ok(Validated { path, query, body })
}

// ---------------------------------------------------------------------------------------------
// CORS
// ---------------------------------------------------------------------------------------------

fn preflight(allow: &[Method]) -> Reply {
    let methods = allow.iter().map(Method::as_str).collect::<Vec<_>>().join(", ");
    Reply::empty(204)
        .header("access-control-allow-methods", methods)
        .header("access-control-allow-headers", "*, authorization")
        .header("access-control-max-age", "600")
}

/// CORS headers matter to browsers, which always send `Origin`; other clients get none.
fn add_cors(reply: &mut Reply, req: &Req) {
    let Some(origin) = req.headers.get(hyper::header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return;
    };
    reply.push_header("access-control-allow-origin", origin);
    reply.push_header("vary", "Origin");
    reply.push_header("access-control-allow-credentials", "true");
    reply.push_header("access-control-expose-headers", "*");
}
