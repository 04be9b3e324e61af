//! The values every stage passes along: a request, its reply, a response body, a tenant's name,
//! and what the transport must do besides answering (wait, or break the connection).
//!
//! They live below every stage so that the server, the request pipeline, the admin API, the
//! journal, the recorder, the proxy and the replayer can all speak them without importing each
//! other. Nothing here knows the OpenAPI model or the store: these are plain data with a few
//! constructors.

pub mod parts;

use bytes::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{HeaderMap, Method};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// A tenant's name: shared, so a request hands it to the store, the journal and the recording
/// without copying it.
pub type TenantName = Arc<str>;

/// Header that says what specbox injected into a response.
pub const INJECTED_HEADER: &str = "x-specbox-injected";

/// A request as the pipeline sees it (body already read, within limits).
pub struct Req {
    pub method: Method,
    /// Shared, so the journal keeps them without a copy.
    pub path: std::sync::Arc<str>,
    pub query: std::sync::Arc<str>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// A response on its way out.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// As hyper takes them: a declared content type is made into a `HeaderValue` once, at
    /// startup, and each response shares it instead of copying and checking the text again.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub directives: Directives,
    /// What the journal and the recording want to know about the exchange.
    pub meta: Meta,
}

/// Facts about an exchange, gathered along the pipeline.
#[derive(Debug, Default, Clone)]
pub struct Meta {
    pub operation: Option<usize>,
    pub tenant: Option<TenantName>,
    pub injected: Option<String>,
    /// What was wrong with the request (`body.email: ...`), when it was refused or, in Prism's
    /// lenient mode, answered anyway. Empty (no allocation) on the usual path.
    pub violations: Vec<String>,
    /// The object a write changed (JSON text as stored), when its operation fires a webhook.
    pub changed: Option<Bytes>,
}

impl Reply {
    pub fn json(status: u16, content_type: &str, body: &Value) -> Reply {
        Reply::bytes(
            status,
            content_type,
            Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
        )
    }

    pub fn bytes(status: u16, content_type: &str, body: Bytes) -> Reply {
        let ct = HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
        Reply::typed(status, ct, body)
    }

    /// A body with its content type ready as a header value.
    pub fn typed(status: u16, content_type: HeaderValue, body: Bytes) -> Reply {
        Reply {
            status,
            headers: vec![(CONTENT_TYPE, content_type)],
            body,
            directives: Directives::default(),
            meta: Meta::default(),
        }
    }

    pub fn empty(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            directives: Directives::default(),
            meta: Meta::default(),
        }
    }

    pub fn header_value(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.to_str().ok())
            .map(str::to_string)
    }

    /// Adds a header; one that is not a valid header (from a spec or a recording) is left out.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.push_header(name, value);
        self
    }

    pub fn push_header(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(&value)) {
            (Ok(name), Ok(value)) => self.headers.push((name, value)),
            _ => tracing::warn!("left out a response header that HTTP cannot carry: {name:?}: {value:?}"),
        }
    }

    /// The headers as text, for the recording.
    pub fn header_texts(&self) -> Vec<(String, String)> {
        self.headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect()
    }
}

/// A transport-level failure, for testing a client's handling of broken connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetFault {
    /// Reset the connection (TCP RST) instead of answering.
    Reset,
    /// Close the connection without writing anything.
    Empty,
    /// Write bytes that are not HTTP, then close.
    Malformed,
}

impl NetFault {
    pub fn parse(s: &str) -> Option<NetFault> {
        match s {
            "reset" | "connection_reset" => Some(NetFault::Reset),
            "empty" | "empty_response" | "close" => Some(NetFault::Empty),
            "malformed" | "garbage" => Some(NetFault::Malformed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            NetFault::Reset => "reset",
            NetFault::Empty => "empty",
            NetFault::Malformed => "malformed",
        }
    }
}

/// What the pipeline must do on top of answering: wait, or break the connection.
#[derive(Debug, Clone, Default)]
pub struct Directives {
    pub delay: Option<Duration>,
    pub fault: Option<NetFault>,
}

/// A response body: a value to serialise, or JSON text that is ready as it is (a stored item).
#[derive(Debug)]
pub enum Body {
    Value(Value),
    Raw(Bytes),
}

impl Body {
    /// The body as JSON text.
    pub fn into_bytes(self) -> Bytes {
        match self {
            Body::Raw(b) => b,
            Body::Value(v) => Bytes::from(serde_json::to_vec(&v).unwrap_or_default()),
        }
    }
    /// Appends the body as JSON text (a list envelope writes its items this way).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        match self {
            Body::Raw(b) => out.extend_from_slice(b),
            Body::Value(v) => {
                let _ = serde_json::to_writer(&mut *out, v);
            }
        }
    }
}
