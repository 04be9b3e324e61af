//! Replay: answer requests with the responses a recording holds.
//!
//! A request matches a recorded one on method, path, query (order-insensitive) and, for POST,
//! PUT and PATCH, the body (canonical JSON when it parses, raw bytes otherwise). Headers are not
//! compared: recorded credentials are redacted, and a replay should not depend on which key a
//! test happens to use. Several recordings of the same request are served in recorded order, and
//! the last one repeats, so a create-then-read sequence plays back as it happened.
//!
//! Both sides go through the same redaction before they are compared, which is what lets a live
//! request (with its real `client_secret`) match its redacted recording. A recorded response
//! whose body lost a secret to redaction (a token endpoint's answer) is not served: handing out
//! `[REDACTED]` as an access token would break the client. Such requests, and everything not
//! recorded, fall through to the stateful engine.

use crate::exchange::{Reply, Req};
use crate::model::Api;
use crate::model::router::{Match, Target};
use crate::spec::pointer::canonical_json;
use crate::traffic::record::Recorded;
use crate::traffic::redact::{MARKER, Redactor};
use bytes::Bytes;
use hyper::Method;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Header marking a replayed response.
pub const REPLAYED_HEADER: &str = "x-specbox-replayed";

/// What identifies a request for replay.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    method: String,
    path: String,
    /// Decoded, redacted, sorted pairs.
    query: Vec<(String, String)>,
    /// Canonical body for methods that carry one that matters.
    body: Option<Vec<u8>>,
}

struct Canned {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

struct Answers {
    responses: Vec<Canned>,
    served: AtomicUsize,
}

/// The recorded responses, by request.
pub struct Replay {
    by_key: HashMap<Key, Answers>,
    redactor: Redactor,
    /// Entries left out because redaction changed their response.
    pub skipped: usize,
}

impl Replay {
    pub fn load(path: &Path, redactor: Redactor) -> Result<Replay, String> {
        let entries = crate::traffic::record::read(path)?;
        Ok(Replay::from_entries(entries, redactor))
    }

    pub fn from_entries(entries: Vec<Recorded>, redactor: Redactor) -> Replay {
        let mut by_key: HashMap<Key, Answers> = HashMap::new();
        let mut skipped = 0;
        for e in entries {
            if e.response_redacted() || e.status < 100 {
                skipped += 1;
                continue;
            }
            let key = key(
                &redactor,
                &e.method,
                &e.path,
                &e.query,
                e.request_type.as_deref(),
                &e.request_body,
            );
            let headers = e
                .response_headers
                .into_iter()
                // The length is recomputed; a redacted header has nothing left to say.
                .filter(|(k, v)| {
                    !crate::traffic::proxy::is_hop_by_hop(k)
                        && !k.eq_ignore_ascii_case("content-length")
                        && !k.eq_ignore_ascii_case("date")
                        && v != MARKER
                })
                .collect();
            by_key
                .entry(key)
                .or_insert_with(|| Answers {
                    responses: Vec::new(),
                    served: AtomicUsize::new(0),
                })
                .responses
                .push(Canned {
                    status: e.status,
                    headers,
                    body: Bytes::from(e.response_body),
                });
        }
        Replay {
            by_key,
            redactor,
            skipped,
        }
    }

    /// How many distinct requests can be answered.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// The recorded answer to this request, if there is one.
    pub fn answer(&self, api: &Api, req: &Req) -> Option<Reply> {
        let content_type = req.headers.get("content-type").and_then(|v| v.to_str().ok());
        let key = key(
            &self.redactor,
            req.method.as_str(),
            &req.path,
            &req.query,
            content_type,
            &req.body,
        );
        let answers = self.by_key.get(&key)?;
        let n = answers.served.fetch_add(1, Ordering::Relaxed);
        let canned = answers.responses.get(n).or_else(|| answers.responses.last())?;
        let mut reply = Reply::empty(canned.status);
        for (k, v) in &canned.headers {
            reply.push_header(k, v.as_str());
        }
        reply.push_header(REPLAYED_HEADER, "true");
        reply.body = canned.body.clone();
        if let Match::Found {
            target: Target::Op(i), ..
        } = api.route(&req.method, &req.path, &req.query)
        {
            reply.meta.operation = Some(i);
        }
        Some(reply)
    }
}

fn key(redactor: &Redactor, method: &str, path: &str, query: &str, content_type: Option<&str>, body: &[u8]) -> Key {
    let method = method.to_ascii_uppercase();
    let (query, _) = redactor.form(query);
    let mut pairs: Vec<(String, String)> = crate::exchange::parts::form_pairs(query.as_bytes()).collect();
    pairs.sort();
    let has_body = [Method::POST, Method::PUT, Method::PATCH]
        .iter()
        .any(|m| m.as_str() == method);
    let body = has_body.then(|| {
        let (redacted, _) = redactor.body(content_type, body);
        match serde_json::from_slice::<Value>(&redacted) {
            Ok(v) => canonical_json(&v).into_bytes(),
            Err(_) => redacted,
        }
    });
    Key {
        method,
        path: path.to_string(),
        query: pairs,
        body,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": {"y": [1, {"d": 2, "c": 3}], "x": null}}"#).expect("a");
        let b: Value = serde_json::from_str(r#"{"a":{"x":null,"y":[1,{"c":3,"d":2}]},"b":1}"#).expect("b");
        assert_eq!(canonical_json(&a), canonical_json(&b));
    }

    #[test]
    fn keys_ignore_query_order_and_secrets() {
        let r = Redactor::default();
        let form = Some("application/x-www-form-urlencoded");
        let recorded = key(&r, "post", "/t", "b=2&a=1", form, b"client_secret=%5BREDACTED%5D&x=1");
        let live = key(&r, "POST", "/t", "a=1&b=2", form, b"client_secret=real&x=1");
        assert_eq!(recorded, live);
        assert_ne!(live, key(&r, "POST", "/t", "a=1&b=2", form, b"client_secret=real&x=2"));
        // A GET's body does not count.
        assert_eq!(
            key(&r, "GET", "/t", "", None, b"x"),
            key(&r, "GET", "/t", "", None, b"")
        );
    }
}
