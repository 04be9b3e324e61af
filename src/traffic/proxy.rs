//! Proxy mode: forward a spec's requests to the real API and check its answers against the spec.
//!
//! `--proxy NAME=URL` sends one spec's requests (by file stem) to an upstream, and the URL stands
//! for the spec's mount: with the mount `/api/v1` and `--proxy billing=https://h/v1`,
//! `/api/v1/invoices` goes to `https://h/v1/invoices`. `--proxy URL` sends every other spec's
//! requests to one upstream that serves them all, so the URL stands for the root and paths go
//! as they are (`https://h` + `/api/v1/invoices`): one server cannot put two specs at one mount.
//!
//! The upstream's status, headers and body are passed on unchanged; specbox only adds a header
//! when the answer breaks the contract (an undeclared status, a body that does not match the
//! declared schema), logs it, and notes it for the recording. That is the point of proxying
//! through a spec-aware sandbox: drift between an API and its spec shows up in the test run that
//! meets it. When the upstream cannot be reached or is too slow, the client gets a 502 or 504 in
//! the API's own error shape, as the API's own gateway would send.
//!
//! The client is hyper-util's pooled client over rustls (ring, compiled-in webpki roots), so
//! HTTPS works in a `scratch` image with no system OpenSSL or CA bundle.

use crate::exchange::{Reply, Req};
use crate::model::Api;
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::operation::{Operation, Spec, is_json_type};
use crate::model::router::{Match, Target};
use crate::model::schema::Location;
use crate::pipeline;
use crate::traffic::record::Notes;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::HeaderValue;
use hyper::{HeaderMap, Method, Uri};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// Header that summarises how an upstream response breaks the spec.
pub const VIOLATIONS_HEADER: &str = "x-specbox-contract-violations";

/// Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, not the message.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// An upstream as given on the command line: `URL` (every spec) or `NAME=URL` (one spec).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyTarget {
    pub spec: Option<String>,
    pub url: String,
}

/// Parses a `--proxy` value (clap's value parser).
pub fn parse_target(s: &str) -> Result<ProxyTarget, String> {
    let s = s.trim();
    let (spec, url) = if s.starts_with("http://") || s.starts_with("https://") {
        (None, s)
    } else {
        match s.split_once('=') {
            Some((name, url)) => (Some(name.trim().to_string()), url.trim()),
            None => return Err(format!("expected URL or NAME=URL, got {s:?}")),
        }
    };
    Upstream::parse(url, spec.is_some())?;
    Ok(ProxyTarget {
        spec,
        url: url.to_string(),
    })
}

/// Where one spec's requests go.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// `scheme://authority`.
    origin: String,
    /// The base path, without a trailing slash (empty for `/`).
    base: String,
    /// The base path replaces the spec's mount (`NAME=URL`), rather than prefixing the path.
    replaces_mount: bool,
}

impl Upstream {
    fn parse(url: &str, replaces_mount: bool) -> Result<Upstream, String> {
        let uri: Uri = url.parse().map_err(|e| format!("invalid upstream URL {url:?}: {e}"))?;
        let scheme = match uri.scheme_str() {
            Some(s @ ("http" | "https")) => s,
            _ => return Err(format!("upstream URL {url:?} must start with http:// or https://")),
        };
        let authority = uri
            .authority()
            .ok_or_else(|| format!("upstream URL {url:?} has no host"))?;
        if authority.as_str().contains('@') {
            return Err(format!(
                "upstream URL {url:?} carries credentials; send them as request headers instead"
            ));
        }
        if uri.query().is_some() {
            return Err(format!("upstream URL {url:?} must not have a query string"));
        }
        Ok(Upstream {
            origin: format!("{scheme}://{authority}"),
            base: uri.path().trim_end_matches('/').to_string(),
            replaces_mount,
        })
    }

    /// The base URL, as recorded in `_upstream`.
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.base)
    }

    /// The upstream URL of a request to `path` under `mount`.
    fn url_for(&self, mount: &str, path: &str, query: &str) -> String {
        let rest = if mount == "/" || !self.replaces_mount {
            path
        } else {
            path.strip_prefix(mount).unwrap_or(path)
        };
        let rest = if rest.is_empty() { "/" } else { rest };
        let mut url = format!("{}{}{}", self.origin, self.base, rest);
        if !query.is_empty() {
            url.push('?');
            url.push_str(query);
        }
        url
    }
}

/// The pooled HTTP and HTTPS client (also what sends webhooks).
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The configured upstreams and the client that reaches them.
pub struct Proxy {
    client: HttpClient,
    /// By spec index.
    upstreams: Vec<Option<Upstream>>,
    timeout: Duration,
}

impl Proxy {
    /// Assigns upstreams to specs. A `NAME=` that names no spec, or two catch-all URLs, is a
    /// configuration error (reported at startup).
    pub fn new(api: &Api, targets: &[ProxyTarget], timeout: Duration) -> Result<Proxy, Vec<String>> {
        let mut errors = Vec::new();
        let mut upstreams: Vec<Option<Upstream>> = vec![None; api.specs.len()];
        let catch_all: Vec<&ProxyTarget> = targets.iter().filter(|t| t.spec.is_none()).collect();
        if catch_all.len() > 1 {
            errors.push("--proxy: more than one URL for all specs; use NAME=URL for each spec".to_string());
        }
        for t in targets {
            let up = match Upstream::parse(&t.url, t.spec.is_some()) {
                Ok(u) => u,
                Err(e) => {
                    errors.push(format!("--proxy: {e}"));
                    continue;
                }
            };
            match &t.spec {
                None => {
                    for slot in upstreams.iter_mut().filter(|s| s.is_none()) {
                        *slot = Some(up.clone());
                    }
                }
                Some(name) => match api.specs.iter().position(|s| s.doc.name == *name) {
                    // A named upstream wins over the catch-all, whatever the order of the flags.
                    Some(i) => {
                        if let Some(slot) = upstreams.get_mut(i) {
                            *slot = Some(up);
                        }
                    }
                    None => {
                        let names: Vec<&str> = api.specs.iter().map(|s| s.doc.name.as_str()).collect();
                        errors.push(format!(
                            "--proxy {name}=...: no spec named {name:?} (specs: {})",
                            names.join(", ")
                        ));
                    }
                },
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let client = https_client();
        Ok(Proxy {
            client,
            upstreams,
            timeout,
        })
    }

    /// The spec and upstream for a request path, when that spec is proxied.
    pub fn upstream_for(&self, api: &Api, path: &str) -> Option<(usize, &Upstream)> {
        let spec = api.router.spec_for_path(path)?;
        self.upstreams.get(spec)?.as_ref().map(|u| (spec, u))
    }

    /// Every proxied spec and its upstream, for the startup log.
    pub fn routes<'a>(&'a self, api: &'a Api) -> impl Iterator<Item = (&'a str, String)> + 'a {
        api.specs
            .iter()
            .zip(&self.upstreams)
            .filter_map(|(s, u)| u.as_ref().map(|u| (s.mount.as_str(), u.url())))
    }

    /// Sends the request upstream and answers with what came back (or a 502/504).
    pub async fn forward(&self, api: &Api, spec_idx: usize, upstream: &Upstream, req: &Req) -> (Reply, Notes) {
        let mut notes = Notes {
            upstream: Some(upstream.url()),
            ..Notes::default()
        };
        let spec = api.specs.get(spec_idx);
        let found = api.route(&req.method, &req.path, &req.query);
        let op_idx = match &found {
            Match::Found {
                target: Target::Op(i), ..
            } => Some(*i),
            _ => None,
        };
        let op = op_idx.and_then(|i| api.ops.get(i));
        let mount = spec.map_or("/", |s| s.mount.as_str());
        let url = upstream.url_for(mount, &req.path, &req.query);
        let request = match build_request(req, &url) {
            Ok(r) => r,
            Err(e) => {
                let err = ApiError::new(502, ErrorKind::BadGateway, format!("cannot forward the request: {e}"));
                return (error_reply(spec, op, op_idx, &err), notes);
            }
        };
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| describe(&e))?;
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| describe(&e))?.to_bytes();
            Ok::<_, String>((parts, body))
        };
        let (parts, body) = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                tracing::warn!(
                    "upstream {} failed for {} {}: {e}",
                    upstream.url(),
                    req.method,
                    req.path
                );
                let err = ApiError::new(
                    502,
                    ErrorKind::BadGateway,
                    format!("the upstream API at {} could not be reached: {e}", upstream.url()),
                );
                return (error_reply(spec, op, op_idx, &err), notes);
            }
            Err(_) => {
                tracing::warn!(
                    "upstream {} did not answer {} {} within {:?}",
                    upstream.url(),
                    req.method,
                    req.path,
                    self.timeout
                );
                notes.timeout = true;
                let err = ApiError::new(
                    504,
                    ErrorKind::GatewayTimeout,
                    format!(
                        "the upstream API at {} did not answer within {}",
                        upstream.url(),
                        humantime::format_duration(self.timeout)
                    ),
                );
                return (error_reply(spec, op, op_idx, &err), notes);
            }
        };
        let status = parts.status.as_u16();
        let mut headers = Vec::with_capacity(parts.headers.len() + 1);
        let dropped = connection_listed(&parts.headers);
        for (k, v) in &parts.headers {
            let name = k.as_str();
            if HOP_BY_HOP.contains(&name) || name == "content-length" || dropped.iter().any(|d| d == name) {
                continue;
            }
            headers.push((k.clone(), v.clone()));
        }
        let content_type = parts
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        notes.contract_violations = contract_violations(api, &found, req, status, content_type.as_deref(), &body);
        let mut reply = Reply::empty(status);
        reply.headers = headers;
        if !notes.contract_violations.is_empty() {
            tracing::warn!(
                "contract drift: {} {} answered {status}: {}",
                req.method,
                req.path,
                notes.contract_violations.join("; ")
            );
            reply.push_header(VIOLATIONS_HEADER, summary(&notes.contract_violations));
        }
        reply.body = body;
        reply.meta.operation = op_idx;
        (reply, notes)
    }
}

/// A 502/504 in the API's own error shape, attributed to the operation.
fn error_reply(spec: Option<&Spec>, op: Option<&Operation>, op_idx: Option<usize>, err: &ApiError) -> Reply {
    let mut reply = pipeline::render_error(spec, op, err);
    reply.meta.operation = op_idx;
    reply
}

/// The upstream request: same method, headers (less hop-by-hop ones) and body.
fn build_request(req: &Req, url: &str) -> Result<hyper::Request<Full<Bytes>>, String> {
    let mut builder = hyper::Request::builder().method(req.method.clone()).uri(url);
    let dropped = connection_listed(&req.headers);
    if let Some(headers) = builder.headers_mut() {
        for (k, v) in &req.headers {
            let name = k.as_str();
            // Host names the upstream now (the client sets it from the URL); the length is
            // recomputed from the body; and an identity body is asked for, because a compressed
            // one could be neither checked against the spec nor recorded readably.
            if HOP_BY_HOP.contains(&name)
                || matches!(name, "host" | "content-length" | "accept-encoding")
                || dropped.iter().any(|d| d == name)
            {
                continue;
            }
            headers.append(k.clone(), v.clone());
        }
    }
    builder.body(Full::new(req.body.clone())).map_err(|e| e.to_string())
}

/// Header names a `Connection` header lists (they are hop-by-hop too).
fn connection_listed(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all("connection")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

/// hyper-util's pooled client over rustls: HTTP and HTTPS, h2 by ALPN, compiled-in roots.
pub fn https_client() -> HttpClient {
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(crate::spec::fetch::https_connector())
}

/// An error and its causes (`client error (Connect): tcp connect error: Connection refused`).
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// How an upstream response breaks the spec: a route or status the spec does not declare, a
/// body of the wrong type, or a body that does not validate.
fn contract_violations(
    api: &Api,
    found: &Match,
    req: &Req,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    let op = match found {
        Match::Found {
            target: Target::Op(i), ..
        } => match api.ops.get(*i) {
            Some(op) => op,
            None => return Vec::new(),
        },
        // The token endpoint is specbox's stand-in for the spec's tokenUrl; nothing to check.
        Match::Found { .. } => return Vec::new(),
        Match::MethodNotAllowed { .. } | Match::NotFound { .. } => {
            return vec![format!("the spec has no operation for {} {}", req.method, req.path)];
        }
    };
    let Some(spec) = api.specs.get(op.spec) else {
        return Vec::new();
    };
    let Some(declared) = op.response_for(status) else {
        return vec![format!("status {status} is not declared by {}", op.id)];
    };
    let Some(schema) = declared.validator(&spec.compiler) else {
        return Vec::new();
    };
    let declared_json = declared.content_type.as_deref().is_some_and(is_json_type);
    if !declared_json || req.method == Method::HEAD || status == 204 || status == 304 {
        return Vec::new();
    }
    let actual = content_type
        .and_then(|c| c.split(';').next())
        .map(|c| c.trim().to_ascii_lowercase());
    if let Some(actual) = &actual
        && !is_json_type(actual)
    {
        return vec![format!(
            "content type {actual}, but {} {status} declares {}",
            op.id,
            declared.content_type.as_deref().unwrap_or("")
        )];
    }
    let value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) if body.is_empty() => return vec![format!("empty body, but {} {status} declares one", op.id)],
        Err(e) => return vec![format!("the body is not JSON: {e}")],
    };
    schema
        .violations(spec.root(), &value, Location::Body, "")
        .into_iter()
        .map(|v| {
            if v.field.is_empty() {
                v.message
            } else {
                format!("{}: {}", v.field, v.message)
            }
        })
        .collect()
}

/// A short, header-safe summary: the count and the first violation.
fn summary(violations: &[String]) -> String {
    let first = violations.first().map(String::as_str).unwrap_or("");
    let text = format!("{} violation(s); {first}", violations.len());
    // Visible ASCII only (a header value must not carry control characters), and short.
    let mut clean: String = text
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '?' })
        .take(240)
        .collect();
    if text.chars().count() > 240 {
        clean.push_str("...");
    }
    match HeaderValue::from_str(&clean) {
        Ok(_) => clean,
        Err(_) => format!("{} violation(s)", violations.len()),
    }
}

/// True for headers that describe one connection (replayed responses drop them too).
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP.iter().any(|h| h.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("http://127.0.0.1:9/api").expect("url"),
            ProxyTarget {
                spec: None,
                url: "http://127.0.0.1:9/api".into()
            }
        );
        assert_eq!(
            parse_target("billing=https://h/api/v1").expect("named").spec.as_deref(),
            Some("billing")
        );
        assert!(parse_target("ftp://h").is_err());
        assert!(parse_target("name").is_err());
        assert!(parse_target("http://u:p@h/").is_err());
    }

    #[test]
    fn the_mount_is_replaced_by_the_upstream_base() {
        let up = Upstream::parse("http://h:9/api/v1/", true).expect("parse");
        assert_eq!(
            up.url_for("/api/v1", "/api/v1/invoices", "a=1"),
            "http://h:9/api/v1/invoices?a=1"
        );
        assert_eq!(up.url_for("/api/v1", "/api/v1", ""), "http://h:9/api/v1/");
        let named_root = Upstream::parse("https://h", true).expect("parse");
        assert_eq!(named_root.url_for("/", "/invoices", ""), "https://h/invoices");
        assert_eq!(named_root.url_for("/api", "/api/x", ""), "https://h/x");
        // One upstream for every spec serves them at their own mounts.
        let shared = Upstream::parse("https://h/base", false).expect("parse");
        assert_eq!(shared.url_for("/api", "/api/x", ""), "https://h/base/api/x");
    }

    #[test]
    fn summaries_are_header_safe() {
        let s = summary(&["id: \"ü\" does not match\n".into(), "b".into()]);
        assert!(s.starts_with("2 violation(s); id: \"?\" does not match?"), "{s}");
    }
}
