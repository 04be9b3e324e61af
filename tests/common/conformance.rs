//! The corpus conformance run: one published spec, a real specbox serving it, and for every
//! operation a valid request built from the spec and its answer checked against the spec.
//!
//! Checks, each reported under its name:
//! - `startup`: specbox serves the spec;
//! - `request`: the harness could build a valid request (a failure here is the harness's, or
//!   the spec's when nothing it allows can be sent);
//! - `status`: the answer's status is documented (exact, range or `default`); an operation that
//!   documents no responses must answer a valid request with a 2xx;
//! - `media`: the answer's Content-Type is documented for that status, a JSON one parses, and a
//!   status documented without content has none;
//! - `schema`: the body validates against the schema documented for that status and media type;
//! - `example-keys`: where that response documents an object example, the answer carries at least
//!   95% of its top-level keys (the best of its examples);
//! - `create-read`: for a collection `POST /x` with a `GET /x/{id}`, what the create answered can
//!   be read back under the same key (envelope and fields), and the scalar fields sent come back.
//!
//! Every failure of a spec is collected; the test fails at the end with the list. Spec
//! self-contradictions listed in `tests/corpus/EXCEPTIONS.md` are skipped, and only as far as the
//! spec's own examples break their own schemas in the same way (checked here, each run).

use super::instance::{Gen, example_of, type_of};
use super::openapi::{Docs, SchemaSrc, clip};
use super::operations::{Api, Media, Op, Param, Scheme, bare_media_type, is_json_media};
use super::{Resp, Server, root};
use base64::Engine;
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Characters escaped in a path parameter's value (RFC 3986 unreserved, `,`, `:` and `@` stay as they are).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b',')
    .remove(b':')
    .remove(b'@');
/// Characters escaped in a query name or value.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
/// Characters escaped in a template's literal text.
const LITERAL: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'#')
    .add(b'?')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^');

/// Where specbox looks for fixtures: nowhere, so only the spec counts.
const NO_FIXTURES: &str = "tests/corpus/no-fixtures";
const MULTIPART_BOUNDARY: &str = "corpus-boundary-7MA4YWxkTrZu0gW";

struct Failure {
    check: &'static str,
    op: String,
    detail: String,
}

struct Exception {
    op: String,
    check: String,
    reason: String,
}

/// A request ready to send, and what went into it.
struct Built {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<(String, Vec<u8>)>,
    /// The body as a value (before encoding).
    sent: Option<Value>,
    path_values: Vec<(String, String)>,
}

impl Built {
    fn describe(&self) -> String {
        let body = match &self.body {
            Some((ct, bytes)) => format!(" [{ct}] {}", clip(&String::from_utf8_lossy(bytes), 160)),
            None => String::new(),
        };
        format!("{} {}{body}", self.method, self.target)
    }
}

struct Run<'a> {
    spec: &'a str,
    docs: &'a Docs,
    api: &'a Api,
    server: Option<Server>,
    exceptions: Vec<Exception>,
    used: HashSet<usize>,
    failures: Vec<Failure>,
    tokens: HashMap<String, String>,
    records: Vec<Value>,
    pairs: Vec<Value>,
    /// Example key coverage of the answers that had examples: (present, total) each.
    coverage: Vec<(usize, usize)>,
}

/// Runs every check over one spec (`name` as EXCEPTIONS.md names it, `path` from the repo root)
/// and panics with every failure found.
pub fn check_spec(name: &str, path: &str) {
    check_spec_served(name, path, path);
}

/// [`check_spec`] with specbox serving another copy of the spec (`served`), e.g. one patched past
/// a startup refusal to see what fails next; the harness still reads `path`.
pub fn check_spec_served(name: &str, path: &str, served: &str) {
    let docs = Docs::load(&root().join(path)).unwrap_or_else(|e| panic!("the harness cannot read {path}: {e}"));
    let api = Api::read(&docs);
    let mut run = Run::new(name, &docs, &api, load_exceptions(name));
    run.verify_exceptions();
    match Server::try_start(&[served], &["--fixtures", NO_FIXTURES]) {
        Ok(s) => run.server = Some(s),
        Err(log) => {
            let problems: Vec<&str> = log
                .lines()
                .filter(|l| l.contains("error") || l.contains("problem"))
                .collect();
            let text = if problems.is_empty() {
                log.clone()
            } else {
                problems.join("\n")
            };
            run.fail(
                "startup",
                "(spec)",
                format!("specbox refused the spec:\n{}", strip_ansi(&text)),
            );
        }
    }
    if run.server.is_some() {
        if api.ops.is_empty() {
            run.listed();
        }
        for op in &api.ops {
            run.operation(op);
        }
        run.create_then_read();
    }
    run.finish(path);
}

/// The harness's own checks, applied to an answer made up by the caller (no server): the checks
/// that `operation_id` of the spec at `path` would report for it, as `(check, detail)`. For
/// testing that the harness does fail on what it must.
pub fn judge(
    path: &str,
    operation_id: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> Vec<(String, String)> {
    let docs = Docs::load(&root().join(path)).unwrap_or_else(|e| panic!("the harness cannot read {path}: {e}"));
    let api = Api::read(&docs);
    let mut run = Run::new("judge", &docs, &api, Vec::new());
    let op = api
        .ops
        .iter()
        .find(|o| o.id == operation_id)
        .unwrap_or_else(|| panic!("no operation {operation_id}"));
    let built = Built {
        method: op.method.clone(),
        target: api.route(&op.template),
        headers: Vec::new(),
        body: None,
        sent: None,
        path_values: Vec::new(),
    };
    let resp = Resp {
        status,
        headers: content_type
            .map(|ct| vec![("content-type".to_string(), ct.to_string())])
            .unwrap_or_default(),
        body: body.as_bytes().to_vec(),
        method: built.method.clone(),
        path: built.target.clone(),
    };
    run.check_response(op, &built, &resp, &mut Map::new());
    run.failures
        .into_iter()
        .map(|f| (f.check.to_string(), f.detail))
        .collect()
}

impl<'a> Run<'a> {
    fn new(spec: &'a str, docs: &'a Docs, api: &'a Api, exceptions: Vec<Exception>) -> Run<'a> {
        Run {
            spec,
            docs,
            api,
            server: None,
            exceptions,
            used: HashSet::new(),
            failures: Vec::new(),
            tokens: HashMap::new(),
            records: Vec::new(),
            pairs: Vec::new(),
            coverage: Vec::new(),
        }
    }

    fn fail(&mut self, check: &'static str, op: &str, detail: String) {
        self.failures.push(Failure {
            check,
            op: op.to_string(),
            detail,
        });
    }

    /// A spec without operations (webhooks only) is still one specbox serves: its health lists it.
    fn listed(&mut self) {
        let title = self
            .docs
            .root()
            .pointer("/info/title")
            .and_then(Value::as_str)
            .unwrap_or("");
        let health = self.server().get("/__specbox/health").try_send();
        let listed = health
            .as_ref()
            .ok()
            .and_then(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .is_some_and(|h| {
                h["specs"]
                    .as_array()
                    .is_some_and(|specs| specs.iter().any(|s| s["title"] == title))
            });
        if !listed {
            let got = health.map(|r| r.text()).unwrap_or_else(|e| e.to_string());
            self.fail(
                "startup",
                "(spec)",
                format!("/__specbox/health does not list {title:?}: {}", clip(&got, 200)),
            );
        }
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("a running server")
    }

    fn exception(&mut self, op: &Op, check: &str) -> Option<usize> {
        let i = self.exceptions.iter().position(|e| e.op == op.id && e.check == check)?;
        Some(i)
    }

    /// An exception stands only where the spec's own examples break their own schemas.
    fn verify_exceptions(&mut self) {
        let mut problems = Vec::new();
        for e in &self.exceptions {
            if e.check != "schema" && e.check != "example-keys" {
                problems.push(format!(
                    "{} {}: only `schema` and `example-keys` can be excused (a spec contradiction the harness can verify)",
                    e.op, e.check
                ));
                continue;
            }
            if e.reason.trim().is_empty() {
                problems.push(format!("{} {}: no reason given", e.op, e.check));
            }
            let Some(op) = self.api.ops.iter().find(|o| o.id == e.op) else {
                problems.push(format!("{} {}: no such operation in the spec", e.op, e.check));
                continue;
            };
            let broken: usize = op
                .responses
                .iter()
                .flat_map(|r| &r.media)
                .map(|m| self.example_signatures(m).len())
                .sum();
            if broken == 0 {
                problems.push(format!(
                    "{} {}: the spec's response examples all validate against their schemas, so there is no contradiction to excuse",
                    e.op, e.check
                ));
            }
        }
        for p in problems {
            self.fail("exceptions", "EXCEPTIONS.md", p);
        }
    }

    /// How the documented examples of a response media break its schema (signatures).
    fn example_signatures(&self, media: &Media) -> HashSet<String> {
        let mut out = HashSet::new();
        let Some(schema) = &media.schema else {
            return out;
        };
        for ex in self.examples_of(media) {
            if let Ok(vs) = self.docs.violations(schema, &ex) {
                out.extend(vs.iter().map(|v| v.signature()));
            }
        }
        out
    }

    /// The examples a media documents: its own, then the schema's (JSON text read as JSON).
    fn examples_of(&self, media: &Media) -> Vec<Value> {
        let mut out: Vec<Value> = media.examples.iter().map(|(_, v)| v.clone()).collect();
        if let Some(schema) = &media.schema
            && let Some((file, s)) = self.docs.schema_value(schema)
        {
            out.extend(example_of(self.docs, file, s));
            if let Some(Value::Array(more)) = s.get("examples") {
                out.extend(more.iter().skip(1).map(|e| self.docs.literal(file, e)));
            }
        }
        if is_json_media(&media.media_type) || media.media_type.contains('*') {
            for v in &mut out {
                if let Value::String(text) = v
                    && let Ok(parsed @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(text)
                {
                    *v = parsed;
                }
            }
        }
        out
    }

    fn operation(&mut self, op: &Op) {
        let mut record = Map::new();
        record.insert("op".into(), json!(op.label()));
        let built = match self.build(op, "corpus", &[]) {
            Ok(b) => b,
            Err(why) => {
                record.insert("unchecked".into(), json!(why));
                self.records.push(Value::Object(record));
                self.fail("request", &op.label(), why);
                return;
            }
        };
        record.insert("request".into(), json!(built.describe()));
        let resp = match self.send(&built) {
            Ok(r) => r,
            Err(e) => {
                self.fail(
                    "transport",
                    &op.label(),
                    format!("no HTTP answer to {}: {e}", built.describe()),
                );
                self.records.push(Value::Object(record));
                return;
            }
        };
        record.insert("status".into(), json!(resp.status));
        record.insert("content_type".into(), json!(resp.header("content-type")));
        record.insert("body".into(), json!(clip(&resp.text(), 300)));
        let before = self.failures.len();
        self.check_response(op, &built, &resp, &mut record);
        let failures: Vec<Value> = self.failures[before..]
            .iter()
            .map(|f| json!({"check": f.check, "detail": f.detail}))
            .collect();
        record.insert("failures".into(), Value::Array(failures));
        self.records.push(Value::Object(record));
    }

    fn check_response(&mut self, op: &Op, built: &Built, resp: &Resp, record: &mut Map<String, Value>) {
        let label = op.label();
        let asked = built.describe();
        let status = resp.status;
        if op.responses.is_empty() {
            if !(200..300).contains(&status) {
                self.fail(
                    "status",
                    &label,
                    format!(
                        "answered {status} to {asked}; the operation documents no responses, so a valid request should get a 2xx: {}",
                        clip(&resp.text(), 200)
                    ),
                );
            }
            return;
        }
        let Some(documented) = op.response_for(status) else {
            let keys: Vec<&str> = op.responses.iter().map(|r| r.key.as_str()).collect();
            self.fail(
                "status",
                &label,
                format!(
                    "answered {status} (documented: {}) to {asked}: {}",
                    keys.join(", "),
                    clip(&resp.text(), 200)
                ),
            );
            return;
        };
        record.insert("documented_as".into(), json!(documented.key));
        let ct = resp.header("content-type").map(bare_media_type);
        if op.method == "HEAD" {
            return;
        }
        if documented.media.is_empty() {
            if !resp.body.is_empty() {
                self.fail(
                    "media",
                    &label,
                    format!(
                        "{status}: a {} body where the spec documents none: {}",
                        ct.as_deref().unwrap_or("(untyped)"),
                        clip(&resp.text(), 200)
                    ),
                );
            }
            return;
        }
        let documented_types: Vec<&str> = documented.media.iter().map(|m| m.media_type.as_str()).collect();
        let Some(ct) = ct else {
            self.fail(
                "media",
                &label,
                format!(
                    "{status}: no Content-Type ({} bytes); documented: {}",
                    resp.body.len(),
                    documented_types.join(", ")
                ),
            );
            return;
        };
        let Some(media) = find_media(&documented.media, &ct) else {
            self.fail(
                "media",
                &label,
                format!("{status}: answered {ct}; documented: {}", documented_types.join(", ")),
            );
            return;
        };
        let value = if is_json_media(&ct) {
            match serde_json::from_slice::<Value>(&resp.body) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.fail(
                        "media",
                        &label,
                        format!("{status} {ct}: the body is not JSON ({e}): {}", clip(&resp.text(), 200)),
                    );
                    return;
                }
            }
        } else if ct.starts_with("text/") {
            Some(Value::String(resp.text()))
        } else {
            None
        };
        if let (Some(v), Some(schema)) = (&value, &media.schema) {
            let is_text = !is_json_media(&ct);
            let string_schema = self
                .docs
                .schema_value(schema)
                .is_some_and(|(_, s)| type_of(s).as_deref() == Some("string"));
            if !is_text || string_schema {
                self.check_schema(op, status, &ct, media, schema, v, record);
            }
        }
        let objects: Vec<Value> = self.examples_of(media).into_iter().filter(Value::is_object).collect();
        if !objects.is_empty() {
            let got = value.as_ref().and_then(Value::as_object);
            let (present, total, missing) = objects
                .iter()
                .map(|ex| {
                    let keys: Vec<&String> = ex.as_object().map(|o| o.keys().collect()).unwrap_or_default();
                    // A list's next-page cursor is there only when there is a next page: an
                    // example showing one describes a longer list than the sandbox holds.
                    let paging = |k: &str| {
                        op.method == "GET"
                            && matches!(
                                k,
                                "cursor" | "next_cursor" | "nextCursor" | "next_page_token" | "nextPageToken" | "next"
                            )
                    };
                    let missing: Vec<String> = keys
                        .iter()
                        .filter(|k| !got.is_some_and(|g| g.contains_key(k.as_str())) && !paging(k))
                        .map(|k| k.to_string())
                        .collect();
                    (keys.len() - missing.len(), keys.len(), missing)
                })
                .max_by(|a, b| (a.0 * b.1).cmp(&(b.0 * a.1)))
                .unwrap_or_default();
            record.insert("coverage".into(), json!([present, total]));
            self.coverage.push((present, total));
            if total > 0 && present * 100 < total * 95 {
                let excused = self
                    .exception(op, "example-keys")
                    .filter(|_| documented.media.iter().any(|m| !self.example_signatures(m).is_empty()));
                match excused {
                    Some(i) => {
                        self.used.insert(i);
                    }
                    None => self.fail(
                        "example-keys",
                        &label,
                        format!(
                            "{status}: carries {present}/{total} of the example's top-level keys; missing: {}",
                            clip(&missing.join(", "), 200)
                        ),
                    ),
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_schema(
        &mut self,
        op: &Op,
        status: u16,
        ct: &str,
        media: &Media,
        schema: &SchemaSrc,
        value: &Value,
        record: &mut Map<String, Value>,
    ) {
        let label = op.label();
        match self.docs.violations(schema, value) {
            Err(e) => self.fail("schema", &label, format!("{status} {ct}: cannot validate: {e}")),
            Ok(vs) if vs.is_empty() => {}
            Ok(vs) => {
                let exception = self.exception(op, "schema");
                let excused = match exception {
                    Some(_) => self.example_signatures(media),
                    None => HashSet::new(),
                };
                let rest: Vec<_> = vs.iter().filter(|v| !excused.contains(&v.signature())).collect();
                if rest.len() < vs.len()
                    && let Some(i) = exception
                {
                    self.used.insert(i);
                }
                if rest.is_empty() {
                    return;
                }
                record.insert(
                    "violations".into(),
                    json!(rest.iter().map(|v| v.signature()).collect::<Vec<_>>()),
                );
                let shown: Vec<String> = rest.iter().take(4).map(|v| v.to_string()).collect();
                self.fail(
                    "schema",
                    &label,
                    format!(
                        "{status} {ct}: {} violation(s): {}{}",
                        rest.len(),
                        shown.join("; "),
                        if rest.len() > 4 { "; …" } else { "" }
                    ),
                );
            }
        }
    }

    fn send(&self, b: &Built) -> Result<Resp, String> {
        let mut r = self.server().request(&b.method, &b.target);
        for (k, v) in &b.headers {
            r = r.header(k, v);
        }
        if let Some((ct, bytes)) = &b.body {
            r = r.raw(ct, bytes);
        }
        r.try_send().map_err(|e| e.to_string())
    }

    /// A valid request for `op`, as the tenant `tenant`; `overrides` fix path parameter values.
    fn build(&mut self, op: &Op, tenant: &str, overrides: &[(String, String)]) -> Result<Built, String> {
        let mut headers = Vec::new();
        let mut query: Vec<(String, String)> = Vec::new();
        let mut cookies = Vec::new();
        let mut path_values = Vec::new();
        let mut path = String::new();
        // A query in the path key (`/responses?beta=true`) is sent as a query.
        let (template, key_query) = match op.template.split_once('?') {
            Some((template, query)) => (template, Some(query)),
            None => (op.template.as_str(), None),
        };
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let Some(close) = rest[open..].find('}').map(|c| open + c) else {
                break;
            };
            path.push_str(&utf8_percent_encode(&rest[..open], LITERAL).to_string());
            let name = &rest[open + 1..close];
            let value = match overrides.iter().find(|(k, _)| k == name) {
                Some((_, v)) => v.clone(),
                None => {
                    // A parameter the operation does not declare (Twilio leaves some out) takes the
                    // value another operation's declaration of the same name gives.
                    let api = self.api;
                    let declared = op
                        .params
                        .iter()
                        .find(|p| p.location == "path" && p.name == name)
                        .or_else(|| {
                            api.ops
                                .iter()
                                .flat_map(|o| o.params.iter())
                                .find(|p| p.location == "path" && p.name == name)
                        });
                    match declared {
                        Some(p) => serialize_simple(p, &self.param_value(p)?),
                        None => "corpus".to_string(),
                    }
                }
            };
            path.push_str(&utf8_percent_encode(&value, SEGMENT).to_string());
            path_values.push((name.to_string(), value));
            rest = &rest[close + 1..];
        }
        path.push_str(&utf8_percent_encode(rest, LITERAL).to_string());
        for p in op.params.iter().filter(|p| p.required && p.location != "path") {
            let v = self.param_value(p)?;
            match p.location.as_str() {
                "query" => query.extend(serialize_query(p, &v)),
                "header" => {
                    let lower = p.name.to_ascii_lowercase();
                    if !["accept", "content-type", "authorization"].contains(&lower.as_str()) {
                        headers.push((p.name.clone(), serialize_simple(p, &v)));
                    }
                }
                "cookie" => cookies.push(format!("{}={}", p.name, serialize_simple(p, &v))),
                _ => {}
            }
        }
        self.credentials(op, tenant, &mut headers, &mut query, &mut cookies)?;
        if !cookies.is_empty() {
            headers.push(("Cookie".into(), cookies.join("; ")));
        }
        let (body, sent) = match self.body(op)? {
            Some((ct, bytes, v)) => (Some((ct, bytes)), Some(v)),
            None => (None, None),
        };
        let mut target = self.api.route(&path);
        let q: Vec<String> = key_query
            .map(str::to_string)
            .into_iter()
            .chain(
                query
                    .iter()
                    .map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY))),
            )
            .collect();
        if !q.is_empty() {
            target = format!("{target}?{}", q.join("&"));
        }
        Ok(Built {
            method: op.method.clone(),
            target,
            headers,
            body,
            sent,
            path_values,
        })
    }

    /// A value for a parameter that its schema accepts: its examples, its schema's, then made up.
    fn param_value(&self, p: &Param) -> Result<Value, String> {
        let mut candidates = p.examples.clone();
        if let Some(schema) = &p.schema {
            if let Some((file, s)) = self.docs.schema_value(schema) {
                candidates.extend(example_of(self.docs, file, s));
                candidates.extend(s.get("default").cloned());
                if let Some(Value::Array(e)) = s.get("enum") {
                    candidates.extend(e.iter().filter(|v| !v.is_null()).cloned());
                }
            }
            candidates.push(Gen::new(self.docs).value(schema));
            candidates.push(
                Gen {
                    examples: false,
                    ..Gen::new(self.docs)
                }
                .value(schema),
            );
        } else {
            candidates.push(json!("corpus"));
        }
        let usable =
            |v: &Value| !(p.location == "path" && matches!(v, Value::Null | Value::String(_) if scalar(v).is_empty()));
        let mut last = None;
        for c in candidates.into_iter().filter(usable) {
            match &p.schema {
                Some(schema) => match self.docs.violations(schema, &c) {
                    Ok(vs) if vs.is_empty() => return Ok(c),
                    Ok(vs) => last = Some(format!("{c} breaks it: {}", vs[0])),
                    Err(e) => last = Some(e),
                },
                None => return Ok(c),
            }
        }
        Err(format!(
            "no valid value for {} parameter {:?}: {}",
            p.location,
            p.name,
            last.unwrap_or_default()
        ))
    }

    fn credentials(
        &mut self,
        op: &Op,
        tenant: &str,
        headers: &mut Vec<(String, String)>,
        query: &mut Vec<(String, String)>,
        cookies: &mut Vec<String>,
    ) -> Result<(), String> {
        if op.security.is_empty() || op.security.iter().any(Vec::is_empty) {
            return Ok(());
        }
        let cost = |alt: &Vec<String>| -> usize {
            alt.iter()
                .map(|n| match self.api.scheme(n) {
                    None => 1000,
                    Some(Scheme::MutualTls) => 100,
                    Some(Scheme::OAuth2Issued { .. }) => 10,
                    Some(_) => 1,
                })
                .sum()
        };
        let mut alts: Vec<&Vec<String>> = op.security.iter().collect();
        alts.sort_by_key(|a| cost(a));
        'alt: for alt in alts {
            let mut h = Vec::new();
            let mut q = Vec::new();
            let mut c = Vec::new();
            for name in alt {
                let secret = format!("corpus-{tenant}");
                let (k, v) = match self.api.scheme(name).cloned() {
                    None => continue 'alt,
                    Some(Scheme::Basic) => (
                        "Authorization".to_string(),
                        format!(
                            "Basic {}",
                            base64::engine::general_purpose::STANDARD.encode(format!("{tenant}:secret"))
                        ),
                    ),
                    Some(Scheme::Bearer | Scheme::OAuth2Any | Scheme::MutualTls) => {
                        ("Authorization".to_string(), format!("Bearer {secret}"))
                    }
                    Some(Scheme::OAuth2Issued { token_path }) => (
                        "Authorization".to_string(),
                        format!("Bearer {}", self.token(tenant, &token_path)?),
                    ),
                    Some(Scheme::ApiKey { location, name }) => match location.as_str() {
                        "query" => {
                            q.push((name, secret));
                            continue;
                        }
                        "cookie" => {
                            c.push(format!("{name}={secret}"));
                            continue;
                        }
                        _ => (name, secret),
                    },
                };
                if h.iter().any(|(x, _): &(String, String)| x.eq_ignore_ascii_case(&k)) {
                    continue 'alt;
                }
                h.push((k, v));
            }
            headers.extend(h);
            query.extend(q);
            cookies.extend(c);
            return Ok(());
        }
        Err(format!(
            "no security alternative the harness can satisfy: {:?}",
            op.security
        ))
    }

    /// An access token from specbox's token endpoint for a client-credentials scheme.
    fn token(&mut self, tenant: &str, token_path: &str) -> Result<String, String> {
        if let Some(t) = self.tokens.get(tenant) {
            return Ok(t.clone());
        }
        let body = format!("grant_type=client_credentials&client_id={tenant}&client_secret=secret");
        let resp = self
            .server()
            .post(&self.api.route(token_path))
            .raw("application/x-www-form-urlencoded", body.as_bytes())
            .try_send()
            .map_err(|e| e.to_string())?;
        let token = serde_json::from_slice::<Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("access_token").and_then(Value::as_str).map(str::to_string))
            .ok_or_else(|| {
                format!(
                    "the token endpoint answered {}: {}",
                    resp.status,
                    clip(&resp.text(), 200)
                )
            })?;
        self.tokens.insert(tenant.to_string(), token.clone());
        Ok(token)
    }

    /// A valid body for the operation's preferred media type: the spec's examples, the schema's,
    /// then made-up values. `None`: no body (none documented, or an optional one nothing fits).
    #[allow(clippy::type_complexity)]
    fn body(&self, op: &Op) -> Result<Option<(String, Vec<u8>, Value)>, String> {
        let Some(body) = &op.body else {
            return Ok(None);
        };
        let Some(media) = body.media.iter().min_by_key(|m| media_rank(&m.media_type)) else {
            return Ok(None);
        };
        let mt = media.media_type.as_str();
        let json_like = is_json_media(mt) || mt.contains('*');
        let mut candidates: Vec<Value> = media.examples.iter().map(|(_, v)| v.clone()).collect();
        if let Some(schema) = &media.schema {
            if let Some((file, s)) = self.docs.schema_value(schema) {
                candidates.extend(example_of(self.docs, file, s));
            }
            let g = Gen::new(self.docs);
            candidates.push(g.value(schema));
            candidates.push(Gen { examples: false, ..g }.value(schema));
            candidates.push(Gen { optional_depth: 0, ..g }.value(schema));
            for branch in 1..4 {
                candidates.push(Gen { branch, ..g }.value(schema));
            }
        } else if candidates.is_empty() {
            candidates.push(if json_like { json!({}) } else { json!("corpus") });
        }
        let mut last = None;
        for mut c in candidates {
            if json_like
                && let Value::String(text) = &c
                && let Ok(parsed @ (Value::Object(_) | Value::Array(_))) = serde_json::from_str::<Value>(text)
            {
                c = parsed;
            }
            if let Some(schema) = &media.schema {
                match self.docs.violations(schema, &c) {
                    Ok(vs) if vs.is_empty() => {}
                    Ok(vs) => {
                        last = Some(format!("{}: {}", clip(&c.to_string(), 120), vs[0]));
                        continue;
                    }
                    Err(e) => {
                        last = Some(e);
                        continue;
                    }
                }
            }
            let (ct, bytes) = encode_body(mt, &c);
            return Ok(Some((ct, bytes, c)));
        }
        if !body.required {
            return Ok(None);
        }
        Err(format!("no valid {mt} body: {}", last.unwrap_or_default()))
    }

    /// `POST /x` then `GET /x/{id}` with the id the create answered.
    fn create_then_read(&mut self) {
        let api = self.api;
        for (n, (create, read, id_param, envelope, id_key)) in self.collections().into_iter().enumerate() {
            let create = &api.ops[create];
            let read = &api.ops[read];
            let label = format!("{} → {}", create.id, read.id);
            let tenant = format!("pair{n}");
            let outcome = self.pair(create, read, &id_param, envelope.as_deref(), &id_key, &tenant);
            match outcome {
                Ok(skipped) => self.pairs.push(json!({"pair": label, "ok": true, "skipped": skipped})),
                Err(why) => {
                    self.pairs.push(json!({"pair": label, "ok": false, "detail": why}));
                    self.fail("create-read", &label, why);
                }
            }
        }
    }

    fn pair(
        &mut self,
        create: &Op,
        read: &Op,
        id_param: &str,
        envelope: Option<&str>,
        id_key: &str,
        tenant: &str,
    ) -> Result<Option<String>, String> {
        // The ancestors' keys as the read takes them, so the create goes under a parent the read
        // can name too (Twilio's create accepts a conference's name where its read wants a SID).
        let mut scope = self.build(read, tenant, &[])?.path_values;
        scope.retain(|(k, _)| k != id_param);
        let built = self.build(create, tenant, &scope)?;
        let resp = self.send(&built)?;
        if !(200..300).contains(&resp.status) {
            // Refused (the parent of a nested collection does not exist, say): whether that status
            // is documented is the per-operation check's business; there is nothing to read back.
            return Ok(Some(format!("the create answered {}", resp.status)));
        }
        // specbox answered from the spec without storing (a parent the request names is not
        // there, and the operation documents no status for that): nothing to read back.
        if let Some(note) = resp.header("x-specbox-note") {
            return Ok(Some(format!("the create stored nothing: {note}")));
        }
        let body: Value = serde_json::from_slice(&resp.body)
            .map_err(|e| format!("the create answered {} with a body that is not JSON: {e}", resp.status))?;
        let created = match envelope {
            Some(e) => body.get(e),
            None => Some(&body),
        }
        .and_then(Value::as_object)
        .ok_or_else(|| {
            format!(
                "the create's answer has no `{}` object: {}",
                envelope.unwrap_or(""),
                clip(&body.to_string(), 200)
            )
        })?;
        let id = match created.get(id_key) {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            Some(v @ Value::Number(_)) => v.to_string(),
            other => {
                return Err(format!(
                    "the created object's `{id_key}` is {}: {}",
                    other.map_or("missing".to_string(), Value::to_string),
                    clip(&body.to_string(), 200)
                ));
            }
        };
        let mut overrides = built.path_values.clone();
        overrides.retain(|(k, _)| k != id_param);
        overrides.push((id_param.to_string(), id.clone()));
        let read_req = self.build(read, tenant, &overrides)?;
        let got = self.send(&read_req)?;
        if !(200..300).contains(&got.status) {
            return Err(format!(
                "created {id_key}={id}, then {} answered {}: {}",
                read_req.describe(),
                got.status,
                clip(&got.text(), 200)
            ));
        }
        let got_body: Value = serde_json::from_slice(&got.body)
            .map_err(|e| format!("the read answered {} with a body that is not JSON: {e}", got.status))?;
        // The read may wrap the item under another name than the create (Square: `catalog_object`
        // from the upsert, `object` from the read): its own schema says where the key is.
        let read_envelope = self
            .id_in_create(read, id_param)
            .map_or(envelope.map(str::to_string), |(e, _)| e);
        let envelope = read_envelope.as_deref();
        let read_obj = match envelope {
            Some(e) => got_body.get(e),
            None => Some(&got_body),
        }
        .and_then(Value::as_object)
        .ok_or_else(|| {
            format!(
                "the read's answer has no `{}` object: {}",
                envelope.unwrap_or(""),
                clip(&got_body.to_string(), 200)
            )
        })?;
        // Only what the read documents can be expected back (a read may return another view).
        let readable: Vec<String> = read
            .success()
            .and_then(|r| {
                r.media
                    .iter()
                    .find(|m| is_json_media(&m.media_type) || m.media_type.contains('*'))
            })
            .and_then(|m| m.schema.as_ref())
            .map(|schema| {
                let g = Gen::new(self.docs);
                let top = g.properties(schema);
                match envelope.and_then(|e| top.iter().find(|(n, _)| n == e)) {
                    Some((_, inner)) => g.properties(inner).into_iter().map(|(n, _)| n).collect(),
                    None => top.into_iter().map(|(n, _)| n).collect(),
                }
            })
            .unwrap_or_default();
        let expected = |k: &str| readable.is_empty() || readable.iter().any(|r| r == k);
        let mut differ = Vec::new();
        for (k, v) in created.iter().filter(|(k, _)| expected(k)) {
            match read_obj.get(k) {
                Some(w) if w == v => {}
                Some(w) => differ.push(format!(
                    "{k}: created {} / read {}",
                    clip(&v.to_string(), 60),
                    clip(&w.to_string(), 60)
                )),
                None => differ.push(format!("{k}: created {} / read (absent)", clip(&v.to_string(), 60))),
            }
        }
        let sent = built.sent.as_ref().map(|s| match envelope.and_then(|e| s.get(e)) {
            Some(inner @ Value::Object(_)) => inner,
            _ => s,
        });
        for (k, v) in sent
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(k, _)| expected(k))
        {
            if let Some(w) = read_obj.get(k)
                && same_scalar_type(v, w)
                && v != w
            {
                differ.push(format!(
                    "{k}: sent {} / read {}",
                    clip(&v.to_string(), 60),
                    clip(&w.to_string(), 60)
                ));
            }
        }
        if differ.is_empty() {
            return Ok(None);
        }
        Err(format!(
            "{} field(s) differ between the create's answer (or request) and {}: {}",
            differ.len(),
            read_req.describe(),
            clip(&differ.join("; "), 400)
        ))
    }

    /// Collections: a `POST` on a path and a `GET` on that path plus `/{param}` (a suffix such as
    /// `.json` kept after it), where the create's success schema names the id, at its top level
    /// or in one object property (an envelope such as `{"customer": {...}}`).
    #[allow(clippy::type_complexity)]
    fn collections(&self) -> Vec<(usize, usize, String, Option<String>, String)> {
        let ops = &self.api.ops;
        let mut out = Vec::new();
        for (ci, c) in ops.iter().enumerate().filter(|(_, o)| o.method == "POST") {
            let (stem, ext) = match c.template.strip_suffix(".json") {
                Some(s) => (s, ".json"),
                None => (c.template.as_str(), ""),
            };
            let stem = stem.trim_end_matches('/');
            for (ri, r) in ops.iter().enumerate().filter(|(_, o)| o.method == "GET") {
                let Some(param) = r
                    .template
                    .strip_prefix(stem)
                    .and_then(|t| t.strip_prefix("/{"))
                    .and_then(|t| t.strip_suffix(ext))
                    .and_then(|t| t.strip_suffix('}'))
                    .filter(|p| !p.contains(['/', '{', '}']))
                else {
                    continue;
                };
                if let Some((envelope, key)) = self.id_in_create(c, param) {
                    out.push((ci, ri, param.to_string(), envelope, key));
                }
            }
        }
        out
    }

    fn id_in_create(&self, create: &Op, param: &str) -> Option<(Option<String>, String)> {
        let media = create
            .success()?
            .media
            .iter()
            .find(|m| is_json_media(&m.media_type) || m.media_type.contains('*'))?;
        let schema = media.schema.as_ref()?;
        let g = Gen::new(self.docs);
        let top = g.properties(schema);
        let scalar = |s: &SchemaSrc| {
            self.docs.schema_value(s).is_some_and(|(_, v)| {
                matches!(type_of(v).as_deref(), Some("string" | "integer" | "number"))
                    || (v.get("type").is_none() && v.get("properties").is_none() && v.get("allOf").is_none())
            })
        };
        let names: Vec<String> = top.iter().filter(|(_, s)| scalar(s)).map(|(n, _)| n.clone()).collect();
        if let Some(k) = id_key(&names, param) {
            // A flat schema whose example wraps the item in one undeclared property
            // (`{"byoip_prefix": {"uuid": ...}}`): the answer is shaped as the example shows.
            let wrapper = media.examples.iter().find_map(|(_, e)| match e.as_object() {
                Some(o) if o.len() == 1 => o
                    .iter()
                    .next()
                    .filter(|(n, v)| v.get(&k).is_some() && !top.iter().any(|(t, _)| t == *n))
                    .map(|(n, _)| n.clone()),
                _ => None,
            });
            return Some((wrapper, k));
        }
        let mut envelopes = Vec::new();
        for (name, s) in &top {
            let inner: Vec<String> = g
                .properties(s)
                .into_iter()
                .filter(|(_, s)| scalar(s))
                .map(|(n, _)| n)
                .collect();
            if let Some(k) = id_key(&inner, param) {
                envelopes.push((name.clone(), k));
            }
        }
        let wanted = norm(param);
        if let Some(e) = envelopes.iter().find(|(n, _)| wanted.starts_with(&norm(n))) {
            return Some((Some(e.0.clone()), e.1.clone()));
        }
        (envelopes.len() == 1).then(|| (Some(envelopes[0].0.clone()), envelopes[0].1.clone()))
    }

    fn finish(&mut self, path: &str) {
        let unused: Vec<String> = self
            .exceptions
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.used.contains(i))
            .map(|(_, e)| format!("{} {}", e.op, e.check))
            .collect();
        let (present, total) = self.coverage.iter().fold((0, 0), |(p, t), (a, b)| (p + a, t + b));
        let full = self.coverage.iter().filter(|(p, t)| p * 100 >= t * 95).count();
        if let Ok(dir) = std::env::var("CORPUS_OUT") {
            // Where the spec's own response examples break its own schemas (for EXCEPTIONS.md).
            let mut contradictions = Vec::new();
            for op in &self.api.ops {
                for r in &op.responses {
                    for m in &r.media {
                        let mut sigs: Vec<String> = self.example_signatures(m).into_iter().collect();
                        sigs.sort();
                        if !sigs.is_empty() {
                            contradictions
                                .push(json!({"id": op.id, "status": r.key, "media": m.media_type, "signatures": sigs}));
                        }
                    }
                }
            }
            let out = json!({
                "contradictions": contradictions,
                "spec": self.spec,
                "path": path,
                "operations": self.api.ops.len(),
                "failures": self.failures.iter().map(|f| json!({"check": f.check, "op": f.op, "detail": f.detail})).collect::<Vec<_>>(),
                "records": self.records,
                "pairs": self.pairs,
                "coverage": {"answers": self.coverage.len(), "at_95": full, "keys_present": present, "keys_total": total},
                "dangling": self.docs.dangling,
                "unused_exceptions": unused,
            });
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::write(
                std::path::Path::new(&dir).join(format!("{}.json", self.spec)),
                serde_json::to_vec_pretty(&out).unwrap_or_default(),
            );
        }
        if !unused.is_empty() && self.server.is_some() {
            eprintln!(
                "{}: {} of {} exception(s) not needed this run",
                self.spec,
                unused.len(),
                self.exceptions.len()
            );
        }
        // Engine gaps written down in tests/corpus/GAPS.md are reported, not failed, while they
        // still fail; a row whose failure is gone fails the test, so the list only shrinks honestly.
        let gaps = load_gaps(self.spec);
        let mut seen = vec![false; gaps.len()];
        self.failures.retain(|f| {
            let hit = gaps
                .iter()
                .position(|(op, check, _)| f.check == check.as_str() && label_names(&f.op, op));
            match hit {
                Some(i) => {
                    if let Some(s) = seen.get_mut(i) {
                        *s = true;
                    }
                    eprintln!(
                        "{}: known gap (GAPS.md): {} {}: {}",
                        self.spec,
                        f.check,
                        f.op,
                        clip(&f.detail, 200)
                    );
                    false
                }
                None => true,
            }
        });
        for ((op, check, _), seen) in gaps.iter().zip(seen) {
            if !seen {
                self.fail(
                    "gaps",
                    "GAPS.md",
                    format!("{op} {check} no longer fails: remove its row from tests/corpus/GAPS.md"),
                );
            }
        }
        if self.failures.is_empty() {
            return;
        }
        let mut by_check: BTreeMap<&str, Vec<&Failure>> = BTreeMap::new();
        for f in &self.failures {
            by_check.entry(f.check).or_default().push(f);
        }
        let counts: Vec<String> = by_check.iter().map(|(c, fs)| format!("{c} {}", fs.len())).collect();
        let mut msg = format!(
            "{} ({path}): {} failure(s) over {} operation(s) [{}]; example keys: {full}/{} answers with examples carry ≥95% ({present}/{total} keys)\n",
            self.spec,
            self.failures.len(),
            self.api.ops.len(),
            counts.join(", "),
            self.coverage.len(),
        );
        for (check, fs) in by_check {
            msg.push_str(&format!("\n== {check} ({})\n", fs.len()));
            for f in fs {
                msg.push_str(&format!("- {}: {}\n", f.op, f.detail));
            }
        }
        panic!("{msg}");
    }
}

impl Gen<'_> {
    /// The top-level properties of an object schema (through `allOf`, first `oneOf` branch).
    pub fn properties(&self, schema: &SchemaSrc) -> Vec<(String, SchemaSrc)> {
        let mut out = Vec::new();
        if let Some((file, s)) = self.docs.schema_value(schema) {
            self.props_of(file, s, &mut out, 0);
        }
        out
    }

    fn props_of(&self, file: usize, s: &Value, out: &mut Vec<(String, SchemaSrc)>, depth: usize) {
        let Some((file, s)) = self.docs.deref_value(file, s) else {
            return;
        };
        if depth > 8 {
            return;
        }
        for (k, v) in s.get("properties").and_then(Value::as_object).into_iter().flatten() {
            if !out.iter().any(|(n, _)| n == k) {
                out.push((k.clone(), SchemaSrc::Inline(file, v.clone())));
            }
        }
        for sub in s.get("allOf").and_then(Value::as_array).into_iter().flatten() {
            self.props_of(file, sub, out, depth + 1);
        }
        if let Some(first) = s
            .get("oneOf")
            .or_else(|| s.get("anyOf"))
            .and_then(Value::as_array)
            .and_then(|a| a.first())
        {
            self.props_of(file, first, out, depth + 1);
        }
    }
}

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The property that holds the id a `{param}` names: same name, else one the parameter's name
/// ends with (`{floating_ip}` → `ip`), else `id`, else `sid`.
fn id_key(names: &[String], param: &str) -> Option<String> {
    let p = norm(param);
    names
        .iter()
        .find(|n| norm(n) == p)
        // The parameter's own last word (`{replica_name}` is the `name`, `{issue_number}` the
        // `number`), before a generic `id` the item may also have.
        .or_else(|| names.iter().find(|n| norm(n).len() >= 2 && p.ends_with(&norm(n))))
        .or_else(|| names.iter().find(|n| *n == "id"))
        .or_else(|| names.iter().find(|n| *n == "sid"))
        .cloned()
}

fn same_scalar_type(a: &Value, b: &Value) -> bool {
    matches!(
        (a, b),
        (Value::String(_), Value::String(_)) | (Value::Number(_), Value::Number(_)) | (Value::Bool(_), Value::Bool(_))
    )
}

/// JSON first, then forms, then anything else.
fn media_rank(mt: &str) -> u8 {
    if is_json_media(mt) {
        0
    } else if mt == "*/*" || mt == "application/*" {
        1
    } else if mt == "application/x-www-form-urlencoded" {
        2
    } else if mt == "multipart/form-data" {
        3
    } else if mt.starts_with("text/") {
        4
    } else {
        5
    }
}

fn find_media<'m>(media: &'m [Media], ct: &str) -> Option<&'m Media> {
    let major = ct.split('/').next().unwrap_or("");
    media
        .iter()
        .find(|m| m.media_type == ct)
        .or_else(|| media.iter().find(|m| m.media_type == format!("{major}/*")))
        .or_else(|| media.iter().find(|m| m.media_type == "*/*"))
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// `simple` style (path and header parameters), `label` and `matrix` for paths.
fn serialize_simple(p: &Param, v: &Value) -> String {
    if p.json {
        return v.to_string();
    }
    let joined = match v {
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| {
                if p.explode {
                    format!("{k}={}", scalar(x))
                } else {
                    format!("{k},{}", scalar(x))
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        other => scalar(other),
    };
    match p.style.as_str() {
        "label" => format!(".{joined}"),
        "matrix" => format!(";{}={joined}", p.name),
        _ => joined,
    }
}

fn serialize_query(p: &Param, v: &Value) -> Vec<(String, String)> {
    if p.json {
        return vec![(p.name.clone(), v.to_string())];
    }
    let sep = match p.style.as_str() {
        "spaceDelimited" => " ",
        "pipeDelimited" => "|",
        _ => ",",
    };
    match v {
        Value::Array(items) if p.explode => items.iter().map(|x| (p.name.clone(), scalar(x))).collect(),
        Value::Array(items) => vec![(p.name.clone(), items.iter().map(scalar).collect::<Vec<_>>().join(sep))],
        Value::Object(m) if p.style == "deepObject" => {
            m.iter().map(|(k, x)| (format!("{}[{k}]", p.name), scalar(x))).collect()
        }
        Value::Object(m) if p.explode => m.iter().map(|(k, x)| (k.clone(), scalar(x))).collect(),
        Value::Object(m) => vec![(
            p.name.clone(),
            m.iter()
                .flat_map(|(k, x)| [k.clone(), scalar(x)])
                .collect::<Vec<_>>()
                .join(","),
        )],
        other => vec![(p.name.clone(), scalar(other))],
    }
}

fn encode_body(mt: &str, v: &Value) -> (String, Vec<u8>) {
    if is_json_media(mt) || mt == "*/*" || mt == "application/*" {
        let ct = if mt.contains('*') { "application/json" } else { mt };
        return (ct.to_string(), serde_json::to_vec(v).unwrap_or_default());
    }
    let fields = |v: &Value| -> Vec<(String, Value)> {
        v.as_object()
            .map(|m| m.iter().map(|(k, x)| (k.clone(), x.clone())).collect())
            .unwrap_or_default()
    };
    match mt {
        "application/x-www-form-urlencoded" => {
            let mut pairs = Vec::new();
            for (k, x) in fields(v) {
                let values = match x {
                    Value::Null => continue,
                    Value::Array(items) => items.iter().map(form_scalar).collect(),
                    other => vec![form_scalar(&other)],
                };
                for val in values {
                    pairs.push(format!(
                        "{}={}",
                        utf8_percent_encode(&k, QUERY),
                        utf8_percent_encode(&val, QUERY)
                    ));
                }
            }
            (mt.to_string(), pairs.join("&").into_bytes())
        }
        "multipart/form-data" => {
            let mut out = String::new();
            for (k, x) in fields(v) {
                out.push_str(&format!(
                    "--{MULTIPART_BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{}\r\n",
                    form_scalar(&x)
                ));
            }
            out.push_str(&format!("--{MULTIPART_BOUNDARY}--\r\n"));
            (
                format!("multipart/form-data; boundary={MULTIPART_BOUNDARY}"),
                out.into_bytes(),
            )
        }
        _ => {
            let ct = if mt.contains('*') {
                "application/octet-stream"
            } else {
                mt
            };
            let text = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (ct.to_string(), text.into_bytes())
        }
    }
}

fn form_scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(_) | Value::Array(_) => v.to_string(),
        other => scalar(other),
    }
}

fn strip_ansi(s: &str) -> String {
    let re = regex::Regex::new("\x1b\\[[0-9;]*m").unwrap();
    re.replace_all(s, "").into_owned()
}

/// Whether a failure's label (`POST /x (createX)`, `createX → getX`) names the operation `id`.
fn label_names(label: &str, id: &str) -> bool {
    label
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .any(|word| word == id)
}

/// Rows of `tests/corpus/GAPS.md` for one spec: `| spec | operationId | check | what |`.
fn load_gaps(spec: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(root().join("tests/corpus/GAPS.md")).unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect();
            match cells.as_slice() {
                [s, op, check, what, ..] if s == spec => Some((op.clone(), check.clone(), what.clone())),
                _ => None,
            }
        })
        .collect()
}

/// Rows of `tests/corpus/EXCEPTIONS.md` for one spec: `| spec | operationId | check | reason |`.
fn load_exceptions(spec: &str) -> Vec<Exception> {
    let text = std::fs::read_to_string(root().join("tests/corpus/EXCEPTIONS.md")).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| l.starts_with('|')) {
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().trim_matches('`').to_string())
            .collect();
        if cells.len() < 4 || cells[0] == "spec" || cells[0].starts_with("---") {
            continue;
        }
        if cells[0] == spec {
            out.push(Exception {
                op: cells[1].clone(),
                check: cells[2].clone(),
                reason: cells[3..].join("|"),
            });
        }
    }
    out
}
