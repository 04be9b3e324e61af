//! Links that stay in the sandbox: a URL in an answer that starts with one of the spec's servers
//! (`https://api.example.com/repos/7`, a list's `next` page, a `Location`) points at the address
//! the request came to instead, at the spec's mount.
//!
//! Typed clients follow the links an API answers with, and many refuse a host other than the one
//! they called: a link to the real API would leave the sandbox (or fail). The examples and the
//! items built from them keep the spec's own URLs; an answer's are rewritten as it leaves, on its
//! bytes, because its body is JSON text by then (stored items are spliced in as they are kept).
//! Each server's prefix is searched with a `memmem` finder built once at startup, so an answer
//! with no link costs one vectorised scan per server; a server that no example or default of the
//! document names is not searched for at all.

use crate::spec::pointer::Field;
use memchr::memmem::Finder;
use serde_json::Value;

/// The spec's absolute server URLs, ready to be found in an answer.
#[derive(Default)]
pub struct ServerLinks {
    prefixes: Vec<Finder<'static>>,
}

impl std::fmt::Debug for ServerLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let texts: Vec<String> = self
            .prefixes
            .iter()
            .map(|p| String::from_utf8_lossy(p.needle()).into_owned())
            .collect();
        f.debug_struct("ServerLinks").field("prefixes", &texts).finish()
    }
}

impl ServerLinks {
    /// The absolute URLs of the document's `servers` (server variables at their defaults), without
    /// a trailing `/`. A relative server (`/v1`) already points wherever the client called.
    pub fn of(root: &Value) -> ServerLinks {
        let mut prefixes: Vec<String> = Vec::new();
        for server in root.field("servers").and_then(Value::as_array).into_iter().flatten() {
            let Some(url) = server.field("url").and_then(Value::as_str) else {
                continue;
            };
            let url = with_defaults(url, server.field("variables"));
            let url = url.trim_end_matches('/');
            let absolute = url
                .split_once("://")
                .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty() && !rest.contains('{'));
            if absolute && !prefixes.iter().any(|p| p == url) {
                prefixes.push(url.to_string());
            }
        }
        // Only servers that the document names anywhere else (in an example, a default): an
        // answer holds no other link to them but what a client sent, so an API whose examples
        // link nowhere pays nothing per answer.
        prefixes.retain(|p| names_elsewhere(root, p));
        // The longest first: of `https://h/v1` and `https://h`, a link under `/v1` is the first's.
        prefixes.sort_by_key(|p| std::cmp::Reverse(p.len()));
        ServerLinks {
            prefixes: prefixes
                .into_iter()
                .map(|p| Finder::new(p.as_bytes()).into_owned())
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// `text` with each link to a server starting at `base()` instead (`http://127.0.0.1:4010`,
    /// and the mount when it is not `/`), or `None` when it holds none (and `base` is not asked).
    /// A prefix counts where a path, query, fragment or the end of the text or of a JSON string
    /// follows it, so `https://api.example.com` is not found in `https://api.example.community`.
    pub fn rewrite(&self, text: &[u8], base: impl FnOnce() -> String) -> Option<Vec<u8>> {
        let mut found: Vec<(usize, std::cmp::Reverse<usize>)> = Vec::new();
        for finder in &self.prefixes {
            let len = finder.needle().len();
            for at in finder.find_iter(text) {
                if matches!(text.get(at + len), None | Some(b'/' | b'?' | b'#' | b'"' | b'\\')) {
                    found.push((at, std::cmp::Reverse(len)));
                }
            }
        }
        if found.is_empty() {
            return None;
        }
        // In order, the longest first where two start together; one that overlaps the last
        // taken is a shorter server's match inside a longer one's, and is passed over.
        found.sort_unstable();
        let base = base();
        let mut out = Vec::with_capacity(text.len() + found.len() * base.len());
        let mut from = 0;
        for (at, std::cmp::Reverse(len)) in found {
            if at < from {
                continue;
            }
            out.extend_from_slice(text.get(from..at)?);
            out.extend_from_slice(base.as_bytes());
            from = at + len;
        }
        out.extend_from_slice(text.get(from..)?);
        Some(out)
    }
}

/// Whether some text of the document outside its top-level `servers` holds `url`. A walk of the
/// whole document where nothing names it (most specs): `memmem` on each string, not `contains`,
/// which cost more than the walk on a 13 MB spec.
fn names_elsewhere(root: &Value, url: &str) -> bool {
    fn holds(v: &Value, url: &Finder<'_>, depth: usize) -> bool {
        match v {
            Value::String(s) => s.len() >= url.needle().len() && url.find(s.as_bytes()).is_some(),
            Value::Array(items) => depth < 256 && items.iter().any(|i| holds(i, url, depth + 1)),
            Value::Object(m) => depth < 256 && m.values().any(|i| holds(i, url, depth + 1)),
            _ => false,
        }
    }
    let finder = Finder::new(url.as_bytes());
    match root {
        Value::Object(m) => m.iter().any(|(k, v)| k != "servers" && holds(v, &finder, 1)),
        _ => false,
    }
}

/// A server URL with each `{variable}` replaced by its default.
fn with_defaults(url: &str, variables: Option<&Value>) -> String {
    let mut out = url.to_string();
    for (name, var) in variables.and_then(Value::as_object).into_iter().flatten() {
        if let Some(default) = var.field("default").and_then(Value::as_str) {
            out = out.replace(&format!("{{{name}}}"), default);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The servers' links, for a document whose examples name every server.
    fn links(servers: Value) -> ServerLinks {
        let named: Vec<Value> = servers
            .as_array()
            .unwrap()
            .iter()
            .map(|s| json!(format!("{}/x", s["url"].as_str().unwrap().replace("{region}", "eu"))))
            .collect();
        ServerLinks::of(&json!({ "servers": servers, "x-examples": named }))
    }

    fn rewritten(l: &ServerLinks, text: &str) -> Option<String> {
        l.rewrite(text.as_bytes(), || "http://127.0.0.1:4010/v1".to_string())
            .map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn links_to_a_server_point_at_the_sandbox_and_nothing_else_moves() {
        let l = links(json!([
            {"url": "https://api.example.com/v1/"},
            {"url": "https://{region}.example.com", "variables": {"region": {"default": "eu"}}},
            {"url": "/relative"}
        ]));
        let text = r#"{"url":"https://api.example.com/v1/things/7","next":"https://api.example.com/v1?page=2","home":"https://api.example.com/v1","web":"https://api.example.community/x","other":"https://eu.example.com/y","text":"see https://api.example.com/v1/a."}"#;
        assert_eq!(
            rewritten(&l, text).unwrap(),
            r#"{"url":"http://127.0.0.1:4010/v1/things/7","next":"http://127.0.0.1:4010/v1?page=2","home":"http://127.0.0.1:4010/v1","web":"https://api.example.community/x","other":"http://127.0.0.1:4010/v1/y","text":"see http://127.0.0.1:4010/v1/a."}"#
        );
        assert_eq!(rewritten(&l, r#"{"web":"https://www.example.org/profile"}"#), None);
        assert!(links(json!([{"url": "/v1"}])).is_empty());
        assert!(ServerLinks::of(&json!({})).is_empty());
        // A server that nothing else in the document names: no answer links to it.
        assert!(ServerLinks::of(&json!({"servers": [{"url": "https://api.example.com"}]})).is_empty());
    }

    #[test]
    fn the_longest_server_wins_where_one_prefixes_another() {
        let l = links(json!([{"url": "https://h.example"}, {"url": "https://h.example/v2"}]));
        assert_eq!(
            rewritten(&l, r#"["https://h.example/v2/a","https://h.example/b"]"#).unwrap(),
            r#"["http://127.0.0.1:4010/v1/a","http://127.0.0.1:4010/v1/b"]"#
        );
    }
}
