//! Fetching a spec, or a file a `$ref` names, over http(s) at startup.
//!
//! It uses the HTTP client the proxy uses (hyper-util's pooled client over rustls with built-in web
//! PKI roots, so no OpenSSL or CA bundle is needed), on a small runtime of its own: loading is
//! synchronous and happens before the server's runtime exists, and one fetcher serves every fetch of
//! one spec, so a spec whose hundreds of `$ref`s lead to one host reuses its connections.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::{Request, StatusCode, header};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// Largest document fetched (as for files a `$ref` names).
pub const MAX_DOCUMENT: usize = 64 * 1024 * 1024;
/// How long one fetch (connection, redirects and body) may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up (a document host often redirects once or twice).
const MAX_REDIRECTS: usize = 10;

/// An HTTP(S) client for startup, with its own runtime.
/// HTTP and HTTPS over rustls with compiled-in roots (no system OpenSSL, no CA bundle), h2 by
/// ALPN: the connector of every outgoing client (spec fetching here, the proxy and webhooks).
pub fn https_connector() -> HttpsConnector<HttpConnector> {
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_webpki_roots()
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build()
}

pub struct Fetcher {
    runtime: tokio::runtime::Runtime,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl Fetcher {
    pub fn new() -> Result<Fetcher, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start a runtime to fetch with: {e}"))?;
        let client = Client::builder(TokioExecutor::new()).build(https_connector());
        Ok(Fetcher { runtime, client })
    }

    /// The body of `url` as text, following redirects; any status but 2xx is an error.
    pub fn get_text(&self, url: &str) -> Result<String, String> {
        let fetch = async {
            match tokio::time::timeout(TIMEOUT, self.follow(url)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no answer within {}s", TIMEOUT.as_secs())),
            }
        };
        // Called from inside a runtime (a test harness, an embedding), `block_on` would panic:
        // the fetch then runs on a thread of its own.
        let bytes = if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                s.spawn(|| self.runtime.block_on(fetch))
                    .join()
                    .unwrap_or_else(|_| Err("the fetching thread failed".into()))
            })?
        } else {
            self.runtime.block_on(fetch)?
        };
        String::from_utf8(bytes.to_vec()).map_err(|_| "the document is not UTF-8 text".to_string())
    }

    async fn follow(&self, url: &str) -> Result<Bytes, String> {
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let req = Request::get(current.as_str())
                .header(header::ACCEPT, "application/json, application/yaml, text/yaml, */*")
                .header(header::USER_AGENT, concat!("specbox/", env!("CARGO_PKG_VERSION")))
                .body(Empty::new())
                .map_err(|e| format!("invalid URL: {e}"))?;
            let resp = self.client.request(req).await.map_err(|e| describe(&e))?;
            let status = resp.status();
            if status.is_redirection()
                && let Some(location) = resp.headers().get(header::LOCATION).and_then(|l| l.to_str().ok())
            {
                current = join_url(&current, location);
                continue;
            }
            if !status.is_success() {
                return Err(format!("HTTP {}", status_text(status)));
            }
            let body = Limited::new(resp.into_body(), MAX_DOCUMENT)
                .collect()
                .await
                .map_err(|e| format!("reading the body: {e}"))?;
            return Ok(body.to_bytes());
        }
        Err(format!("more than {MAX_REDIRECTS} redirects"))
    }
}

fn status_text(s: StatusCode) -> String {
    match s.canonical_reason() {
        Some(r) => format!("{} {r}", s.as_u16()),
        None => s.as_u16().to_string(),
    }
}

/// The client's error with its causes (hyper-util's own message is only "client error (Connect)").
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}

/// Resolves a relative reference against an absolute http(s) URL (RFC 3986 section 5.2, for the
/// forms a `$ref` takes: network-path `//h/x`, absolute-path `/x`, relative `x`, `../x`, `?q`).
pub fn join_url(base: &str, reference: &str) -> String {
    // An absolute URL (a redirect to another host, a `$ref` into another site) stands as it is.
    if reference.starts_with("http://") || reference.starts_with("https://") {
        return reference.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    let (authority, base_path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let base_path = base_path.split(['?', '#']).next().unwrap_or("");
    if let Some(net) = reference.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    if reference.is_empty() {
        return base.split('#').next().unwrap_or(base).to_string();
    }
    if reference.starts_with('?') {
        return format!("{scheme}://{authority}{base_path}{reference}");
    }
    let (ref_path, query) = match reference.find('?') {
        Some(i) => reference.split_at(i),
        None => (reference, ""),
    };
    let merged = if ref_path.starts_with('/') {
        ref_path.to_string()
    } else {
        let dir = base_path.rfind('/').map_or("/", |i| base_path.get(..=i).unwrap_or("/"));
        format!("{dir}{ref_path}")
    };
    format!("{scheme}://{authority}{}{query}", remove_dot_segments(&merged))
}

/// RFC 3986 section 5.2.4: `a/./b/../c` → `a/c`, never above the root.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').collect();
    let last = segments.len().saturating_sub(1);
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => {
                if i == last {
                    out.push("");
                }
            }
            ".." => {
                if out.len() > 1 {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let joined = out.join("/");
    if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_as_rfc_3986_says() {
        let base = "https://h.example/api/v1/openapi.yaml?x=1";
        assert_eq!(
            join_url(base, "schemas/a.yaml"),
            "https://h.example/api/v1/schemas/a.yaml"
        );
        assert_eq!(join_url(base, "./a.yaml"), "https://h.example/api/v1/a.yaml");
        assert_eq!(join_url(base, "../../shared/b.yaml"), "https://h.example/shared/b.yaml");
        assert_eq!(join_url(base, "../../../../c.yaml"), "https://h.example/c.yaml");
        assert_eq!(join_url(base, "/root.yaml?v=2"), "https://h.example/root.yaml?v=2");
        assert_eq!(join_url(base, "//other.example/d.json"), "https://other.example/d.json");
        // A redirect or `$ref` to another site is absolute and stands as it is.
        assert_eq!(
            join_url(base, "https://cdn.example/x.yaml"),
            "https://cdn.example/x.yaml"
        );
        assert_eq!(join_url(base, "http://plain.example/y"), "http://plain.example/y");
        assert_eq!(
            join_url("http://127.0.0.1:8080", "a.yaml"),
            "http://127.0.0.1:8080/a.yaml"
        );
        assert_eq!(join_url("http://h/a/b/", "c/./d/../e"), "http://h/a/b/c/e");
    }
}
