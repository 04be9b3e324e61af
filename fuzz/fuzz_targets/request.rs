//! The whole synchronous request pipeline (routing, credentials, Prefer, validation, state,
//! idempotency, errors, the admin API) on structured requests built from the bundled specs'
//! routes, parameters and fields, mixed with arbitrary bytes.
//!
//! An input is a short sequence of requests (so a create can be followed by a read, or a fault
//! rule by the request it hits); the state, fault rules and journal are reset after each input
//! so that a crash reproduces from its input alone.
//!
//! Inputs are either bytes decoded with `arbitrary` or, for readable seeds, the text format of
//! [`parse_text`] (first line `#req`).
//!
//! Invariants (`specbox_fuzz::check_reply`): no panic, a valid HTTP status, valid header names
//! and values, a JSON body whenever the content type says JSON, no body on 204/304.
#![no_main]

use arbitrary::Arbitrary;
use bytes::Bytes;
use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use specbox::exchange::Req;
use specbox::http::dispatch as handle;
use specbox_fuzz::{FIXTURE_IDS, check_reply, fixture};

/// Field and parameter names of the bundled specs, fault-rule fields and filter names.
const KEYS: &[&str] = &[
    "id",
    "name",
    "email",
    "phone",
    "locale",
    "external_id",
    "metadata",
    "billing_address",
    "delivery_address",
    "line1",
    "line2",
    "city",
    "postal_code",
    "state",
    "country",
    "date_of_birth",
    "created_at",
    "amount",
    "currency",
    "customer",
    "customer_details",
    "description",
    "status",
    "legal_name",
    "ein",
    "customer_integration_id",
    "default_payment_method_id",
    "street_address",
    "sub_premise",
    "first_name",
    "last_name",
    "job_title",
    "type",
    "brand",
    "last4",
    "exp_month",
    "exp_year",
    "default",
    "limit",
    "after",
    "before",
    "company_name",
    "created_at_start",
    "created_at_end",
    "page",
    "per_page",
    "method_id",
    "operationId",
    "method",
    "path",
    "tenant",
    "delay",
    "delay_ms",
    "fault",
    "skip",
    "times",
    "count",
    "probability",
    "match",
    "action",
    "grant_type",
    "client_id",
    "client_secret",
    "scope",
    "injected",
    "x-specbox-archived",
];

const WORDS: &[&str] = &[
    "users",
    "payment-methods",
    "restore",
    "requests",
    "count",
    "faults",
    "reset",
    "health",
    "routes",
    "token",
    "customers",
    "payments",
    "api",
    "v1",
    "oauth",
    "1",
    "..",
    ".",
    "%2F",
    "%00",
    "{id}",
    "",
];

const STRINGS: &[&str] = &[
    "",
    "CHF",
    "EUR",
    "US",
    "CH",
    "de-CH",
    "succeeded",
    "a@example.com",
    "2026-01-01",
    "2026-01-12T15:02:37Z",
    "client_credentials",
    "sandbox_client",
    "sandbox_secret",
    "reset",
    "empty",
    "malformed",
    "2s",
    "GET",
    "POST",
    "/customers",
    "/customers/{id}",
    "createCustomer",
    "listCustomers",
    "sk_test_x",
    "true",
    "false",
    "null",
    "-1",
    "18446744073709551616",
    "1e400",
    "NaN",
];

const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "application/x-www-form-urlencoded",
    "APPLICATION/JSON",
    "application/merge-patch+json",
    "application/problem+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/",
    ";",
    "json",
];

#[derive(Arbitrary, Debug)]
enum FMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Prefix {
    Customers,
    ApiV1Customers,
    ApiV1Payments,
    CustomerUsers,
    CustomerPaymentMethods,
    CustomerRestore,
    AdminRequests,
    AdminFaults,
    AdminReset,
    AdminOther,
    OAuthToken,
    Root,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Seg {
    FixtureId(u8),
    Word(u8),
    Raw(String),
    /// Percent-encodes every byte, as a client encoding an odd id would.
    Encoded(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct FPath {
    prefix: Prefix,
    fixture: u8,
    segs: Vec<Seg>,
    trailing_slash: bool,
}

#[derive(Arbitrary, Debug)]
enum QVal {
    Known(u8),
    Int(i64),
    /// A cursor of a slot that exists in small collections.
    SmallCursor(u8),
    /// A well-formed cursor of any slot.
    Cursor(usize),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum FQuery {
    None,
    Raw(Vec<u8>),
    Pairs(Vec<(u8, QVal)>),
}

#[derive(Arbitrary, Debug)]
enum FAuth {
    None,
    /// A token of the SwissPay pattern (`sk_test_...`).
    SwissPay,
    /// The access token issued at start-up by the Alternative Payments token endpoint.
    OAuth,
    /// `Basic base64(client:secret)`, as the token endpoint accepts.
    Basic,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Leaf {
    Null,
    Bool(bool),
    Int(i64),
    /// Integers past i64 (counts, sizes, ids): where `u64` arithmetic can overflow.
    Big(u64),
    Float(f64),
    Known(u8),
    Str(String),
}

#[derive(Arbitrary, Debug)]
enum Inner {
    Leaf(Leaf),
    Arr(Vec<Leaf>),
    Obj(Vec<(u8, Leaf)>),
}

#[derive(Arbitrary, Debug)]
enum JVal {
    Leaf(Leaf),
    Arr(Vec<Inner>),
    Obj(Vec<(u8, Inner)>),
}

#[derive(Arbitrary, Debug)]
enum FBody {
    Empty,
    Json(Vec<(u8, Option<String>, JVal)>),
    JsonScalar(JVal),
    Form(Vec<(u8, String)>),
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
struct FReq {
    method: FMethod,
    path: FPath,
    query: FQuery,
    content_type: Option<u8>,
    raw_content_type: Option<String>,
    auth: FAuth,
    prefer: Option<String>,
    idempotency_key: Option<u8>,
    /// A few more headers (cookie, origin, x-api-key, another prefer, ...), raw bytes.
    extra: Vec<(u8, Vec<u8>)>,
    body: FBody,
}

#[derive(Arbitrary, Debug)]
struct Input {
    reqs: Vec<FReq>,
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list.get(usize::from(i) % list.len()).copied().unwrap_or_default()
}

fn key(i: u8, custom: Option<String>) -> String {
    custom.unwrap_or_else(|| pick(KEYS, i).to_string())
}

fn leaf(l: Leaf) -> Value {
    match l {
        Leaf::Null => Value::Null,
        Leaf::Bool(b) => Value::Bool(b),
        Leaf::Int(i) => Value::from(i),
        Leaf::Big(u) => Value::from(u),
        Leaf::Float(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        Leaf::Known(i) => Value::String(pick(STRINGS, i).into()),
        Leaf::Str(s) => Value::String(s),
    }
}

fn inner(v: Inner) -> Value {
    match v {
        Inner::Leaf(l) => leaf(l),
        Inner::Arr(items) => Value::Array(items.into_iter().map(leaf).collect()),
        Inner::Obj(fields) => Value::Object(fields.into_iter().map(|(k, v)| (key(k, None), leaf(v))).collect()),
    }
}

fn jval(v: JVal) -> Value {
    match v {
        JVal::Leaf(l) => leaf(l),
        JVal::Arr(items) => Value::Array(items.into_iter().map(inner).collect()),
        JVal::Obj(fields) => Value::Object(fields.into_iter().map(|(k, v)| (key(k, None), inner(v))).collect()),
    }
}

fn percent_encode_all(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn form_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn build_path(p: FPath) -> String {
    let id = pick(FIXTURE_IDS, p.fixture);
    let mut path = match p.prefix {
        Prefix::Customers => "/customers".to_string(),
        Prefix::ApiV1Customers => "/api/v1/customers".to_string(),
        Prefix::ApiV1Payments => "/api/v1/payments".to_string(),
        Prefix::CustomerUsers => format!("/customers/{id}/users"),
        Prefix::CustomerPaymentMethods => format!("/customers/{id}/payment-methods"),
        Prefix::CustomerRestore => format!("/customers/{id}/restore"),
        Prefix::AdminRequests => "/__specbox/requests".to_string(),
        Prefix::AdminFaults => "/__specbox/faults".to_string(),
        Prefix::AdminReset => "/__specbox/reset".to_string(),
        Prefix::AdminOther => "/__specbox".to_string(),
        Prefix::OAuthToken => "/oauth/token".to_string(),
        Prefix::Root => String::new(),
        Prefix::Raw(s) => s,
    };
    for seg in p.segs.into_iter().take(4) {
        path.push('/');
        match seg {
            Seg::FixtureId(i) => path.push_str(pick(FIXTURE_IDS, i)),
            Seg::Word(i) => path.push_str(pick(WORDS, i)),
            Seg::Raw(s) => path.push_str(&s),
            Seg::Encoded(b) => path.push_str(&percent_encode_all(&b)),
        }
    }
    if p.trailing_slash || path.is_empty() {
        path.push('/');
    }
    path
}

fn build_query(q: FQuery) -> String {
    match q {
        FQuery::None => String::new(),
        FQuery::Raw(b) => String::from_utf8_lossy(&b).into_owned(),
        FQuery::Pairs(pairs) => pairs
            .into_iter()
            .take(8)
            .map(|(k, v)| {
                let v = match v {
                    QVal::Known(i) => pick(STRINGS, i).to_string(),
                    QVal::Int(i) => i.to_string(),
                    QVal::SmallCursor(slot) => specbox::pipeline::act::list::encode_cursor(usize::from(slot % 32)),
                    QVal::Cursor(slot) => specbox::pipeline::act::list::encode_cursor(slot),
                    QVal::Raw(s) => s,
                };
                format!("{}={}", form_escape(pick(KEYS, k)), form_escape(&v))
            })
            .collect::<Vec<_>>()
            .join("&"),
    }
}

fn insert(headers: &mut HeaderMap, name: &str, value: &[u8]) {
    if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value)) {
        headers.append(n, v);
    }
}

const EXTRA_HEADERS: &[&str] = &[
    "cookie",
    "origin",
    "x-api-key",
    "prefer",
    "content-type",
    "authorization",
    "idempotency-key",
    "x-specbox-admin-token",
    "accept",
];

fn build(r: FReq, oauth: &str) -> Req {
    let method = match r.method {
        FMethod::Get => Method::GET,
        FMethod::Post => Method::POST,
        FMethod::Put => Method::PUT,
        FMethod::Patch => Method::PATCH,
        FMethod::Delete => Method::DELETE,
        FMethod::Head => Method::HEAD,
        FMethod::Options => Method::OPTIONS,
        FMethod::Other(s) => Method::from_bytes(s.as_bytes()).unwrap_or(Method::TRACE),
    };
    let mut headers = HeaderMap::new();
    if let Some(ct) = r.raw_content_type {
        insert(&mut headers, "content-type", ct.as_bytes());
    } else if let Some(i) = r.content_type {
        insert(&mut headers, "content-type", pick(CONTENT_TYPES, i).as_bytes());
    }
    match r.auth {
        FAuth::None => {}
        FAuth::SwissPay => insert(&mut headers, "authorization", b"Bearer sk_test_x"),
        FAuth::OAuth => insert(&mut headers, "authorization", format!("Bearer {oauth}").as_bytes()),
        // sandbox_client:sandbox_secret
        FAuth::Basic => insert(
            &mut headers,
            "authorization",
            b"Basic c2FuZGJveF9jbGllbnQ6c2FuZGJveF9zZWNyZXQ=",
        ),
        FAuth::Raw(s) => insert(&mut headers, "authorization", s.as_bytes()),
    }
    if let Some(p) = r.prefer {
        insert(&mut headers, "prefer", p.as_bytes());
    }
    if let Some(k) = r.idempotency_key {
        // Few distinct keys, so that reuse (replay or mismatch) happens.
        insert(&mut headers, "idempotency-key", format!("key-{}", k % 4).as_bytes());
    }
    for (name, value) in r.extra.into_iter().take(4) {
        insert(&mut headers, pick(EXTRA_HEADERS, name), &value);
    }
    let body = match r.body {
        FBody::Empty => Bytes::new(),
        FBody::Json(fields) => {
            let obj: Map<String, Value> = fields
                .into_iter()
                .map(|(k, custom, v)| (key(k, custom), jval(v)))
                .collect();
            Bytes::from(Value::Object(obj).to_string())
        }
        FBody::JsonScalar(v) => Bytes::from(jval(v).to_string()),
        FBody::Form(fields) => Bytes::from(
            fields
                .into_iter()
                .map(|(k, v)| format!("{}={}", form_escape(pick(KEYS, k)), form_escape(&v)))
                .collect::<Vec<_>>()
                .join("&"),
        ),
        FBody::Raw(b) => Bytes::from(b),
    };
    Req {
        method,
        path: build_path(r.path).into(),
        query: build_query(r.query).into(),
        headers,
        body,
    }
}

/// The readable seed format: `#req` on the first line, then requests separated by `---` lines,
/// each `METHOD /path?query`, header lines, a blank line and the body. `{oauth}` in a header
/// stands for the start-up access token.
fn parse_text(text: &str, oauth: &str) -> Vec<Req> {
    text.split("\n---\n")
        .take(4)
        .filter_map(|chunk| {
            let (head, body) = chunk.split_once("\n\n").unwrap_or((chunk, ""));
            let mut lines = head.lines();
            let (method, target) = lines.next()?.split_once(' ')?;
            let (path, query) = target.split_once('?').unwrap_or((target, ""));
            let mut headers = HeaderMap::new();
            for line in lines {
                if let Some((k, v)) = line.split_once(':') {
                    insert(&mut headers, k.trim(), v.trim().replace("{oauth}", oauth).as_bytes());
                }
            }
            Some(Req {
                method: Method::from_bytes(method.as_bytes()).ok()?,
                path: path.into(),
                query: query.into(),
                headers,
                body: Bytes::from(body.to_string()),
            })
        })
        .collect()
}

/// `SPECBOX_FUZZ_TRACE=1`: print each request and its status (to see what a corpus reaches).
fn trace() -> bool {
    static TRACE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("SPECBOX_FUZZ_TRACE").is_some())
}

fuzz_target!(|data: &[u8]| {
    let fx = fixture();
    let app = &fx.app;
    let reqs: Vec<Req> = match data.strip_prefix(b"#req\n") {
        Some(rest) => parse_text(&String::from_utf8_lossy(rest), &fx.oauth_token),
        None => {
            let u = arbitrary::Unstructured::new(data);
            let Ok(input) = <Input as Arbitrary>::arbitrary_take_rest(u) else {
                return;
            };
            input
                .reqs
                .into_iter()
                .take(4)
                .map(|r| build(r, &fx.oauth_token))
                .collect()
        }
    };
    for req in reqs {
        let reply = handle(app, &req);
        if trace() {
            eprintln!("{} {}?{} -> {}", req.method, req.path, req.query, reply.status);
        }
        check_reply(&req, &reply);
        // As the server does after each exchange, so the journal filters see real entries.
        app.journal.record(specbox::traffic::journal::JournalEntry::of(
            &req,
            &reply,
            std::time::SystemTime::UNIX_EPOCH,
            std::time::Duration::from_micros(500),
        ));
    }
    app.engine.store.reset(None);
    app.engine.faults.clear();
    app.journal.clear();
});
