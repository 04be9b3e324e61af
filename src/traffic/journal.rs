//! The request journal: the most recent requests, for tests that check what a client did.
//!
//! A bounded ring of slots indexed by a global sequence number. Each slot has its own small lock,
//! so concurrent writers almost never meet, and nothing grows: the oldest entry is overwritten.
//! Readers copy the slots out and sort by sequence.
//!
//! Beside each entry the slot keeps the exchange itself ([`Detail`]: headers, bodies, violations)
//! for the dashboard, which opens one entry at a time. It costs the request almost nothing: the
//! request's headers are moved in (the request is done with them), bodies are reference-counted
//! buffers shared with the response, and only the reply's short header list is copied. Lists copy
//! out entries without their detail; bodies beyond [`BODY_KEPT`] are kept cut short, so a full
//! journal stays bounded whatever clients send.

use crate::exchange::{Meta, Reply, Req};
use crate::model::Api;
use crate::model::operation::OpName;
use bytes::Bytes;
use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// One request as the journal keeps it. Cheap to record (names and times are resolved when the
/// journal is read, not on every request).
#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub seq: u64,
    pub time: std::time::SystemTime,
    pub method: hyper::Method,
    pub path: std::sync::Arc<str>,
    pub query: std::sync::Arc<str>,
    /// The matched operation's names (shared with the model, so they stay right after a reload).
    pub operation: Option<std::sync::Arc<OpName>>,
    pub tenant: Option<crate::exchange::TenantName>,
    pub status: u16,
    pub injected: Option<String>,
    pub duration_ms: f64,
    /// For a webhook or callback specbox sent (not a request it served): the event's name.
    pub webhook: Option<std::sync::Arc<str>>,
}

/// Largest body the journal keeps whole; a longer one is kept cut to this length.
pub const BODY_KEPT: usize = 64 * 1024;

/// What the journal keeps of an exchange beyond its summary, for the dashboard's detail view.
#[derive(Debug, Clone, Default)]
pub struct Detail {
    pub request_headers: HeaderMap,
    pub request_body: Bytes,
    pub request_body_size: usize,
    pub response_headers: Vec<(HeaderName, HeaderValue)>,
    pub response_body: Bytes,
    pub response_body_size: usize,
    pub violations: Vec<String>,
}

/// A body as the journal keeps it: shared when short, a copy of its start when long (a slice
/// would keep the whole buffer alive).
fn kept(body: &Bytes) -> Bytes {
    match body.get(..BODY_KEPT) {
        Some(start) if body.len() > BODY_KEPT => Bytes::copy_from_slice(start),
        _ => body.clone(),
    }
}

impl JournalEntry {
    /// The entry for one exchange (its `seq` is given when it is recorded), and its detail. The
    /// request is consumed (its headers move into the detail); the reply's `meta` is taken. `api`
    /// is the model that answered (its operation indices are the reply's).
    pub fn of(
        req: Req,
        reply: &mut Reply,
        api: &Api,
        at: std::time::SystemTime,
        took: std::time::Duration,
    ) -> (Self, Detail) {
        let Meta {
            operation,
            tenant,
            injected,
            violations,
            ..
        } = std::mem::take(&mut reply.meta);
        let detail = Detail {
            request_body: kept(&req.body),
            request_body_size: req.body.len(),
            request_headers: req.headers,
            response_headers: reply.headers.clone(),
            response_body: kept(&reply.body),
            response_body_size: reply.body.len(),
            violations,
        };
        let entry = JournalEntry {
            seq: 0,
            time: at,
            method: req.method,
            path: req.path,
            query: req.query,
            operation: operation.and_then(|i| api.ops.get(i)).map(|o| o.name.clone()),
            tenant,
            status: reply.status,
            injected,
            duration_ms: took.as_secs_f64() * 1000.0,
            webhook: None,
        };
        (entry, detail)
    }

    pub fn to_json(&self) -> Value {
        let op = self.operation.as_deref();
        json!({
            "seq": self.seq,
            "time": humantime::format_rfc3339_millis(self.time).to_string(),
            "method": self.method.as_str(),
            "path": &*self.path,
            "query": if self.query.is_empty() { Value::Null } else { Value::String(self.query.to_string()) },
            "operationId": op.map(|o| o.id.as_str()),
            "spec": op.map(|o| o.spec.as_str()),
            "tenant": self.tenant.as_deref(),
            "status": self.status,
            "injected": self.injected,
            "duration_ms": (self.duration_ms * 1000.0).round() / 1000.0,
            "webhook": self.webhook.as_deref(),
        })
    }
}

/// An entry with its detail, as `GET /__specbox/requests/{seq}` shows it: the summary, then the
/// request and the response with their headers and bodies (as text), and the violations.
/// Credentials are redacted as in a recording: a dashboard is looked at over shoulders and in
/// screenshots, and the tenant column already says whose request it was.
pub fn detail_json(entry: &JournalEntry, detail: &Detail) -> Value {
    let redactor = crate::traffic::redact::Redactor::default();
    let request_headers: Vec<(String, String)> = detail
        .request_headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let response_headers: Vec<(String, String)> = detail
        .response_headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let headers = |list: &[(String, String)]| -> Value {
        Value::Array(list.iter().map(|(k, v)| json!([k, redactor.header(k, v)])).collect())
    };
    let body = |list: &[(String, String)], bytes: &Bytes, size: usize| -> Value {
        let content_type = list
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        let (text, _) = redactor.body(content_type, bytes);
        json!({
            "text": String::from_utf8_lossy(&text),
            "size": size,
            "truncated": size > bytes.len(),
        })
    };
    let mut out = entry.to_json();
    if let Some(map) = out.as_object_mut() {
        map.insert(
            "request".into(),
            json!({
                "headers": headers(&request_headers),
                "body": body(&request_headers, &detail.request_body, detail.request_body_size),
            }),
        );
        map.insert(
            "response".into(),
            json!({
                "headers": headers(&response_headers),
                "body": body(&response_headers, &detail.response_body, detail.response_body_size),
            }),
        );
        map.insert("violations".into(), json!(detail.violations));
    }
    out
}

/// Filters of `GET /__specbox/requests` and `/count`.
#[derive(Debug, Default)]
pub struct Filter {
    pub operation_id: Option<String>,
    pub method: Option<String>,
    pub path: Option<String>,
    pub status: Option<u16>,
    pub tenant: Option<String>,
    pub injected: Option<bool>,
    /// Only entries after this sequence number (the dashboard's polling cursor).
    pub since: Option<u64>,
}

impl Filter {
    pub fn from_query(query: &str) -> Result<Filter, String> {
        let mut f = Filter::default();
        for (k, v) in crate::exchange::parts::form_pairs(query.as_bytes()) {
            match k.as_str() {
                "operationId" | "operation_id" => f.operation_id = Some(v),
                "method" => f.method = Some(v.to_ascii_uppercase()),
                "path" => f.path = Some(v),
                "status" => f.status = Some(v.parse().map_err(|_| format!("status: {v:?} is not a status code"))?),
                "tenant" => f.tenant = Some(v),
                "injected" => f.injected = Some(v == "true"),
                "since" => {
                    f.since = Some(
                        v.parse()
                            .map_err(|_| format!("since: {v:?} is not a sequence number"))?,
                    )
                }
                "limit" => {}
                other => {
                    return Err(format!(
                        "{other}: unknown filter (operationId, method, path, status, tenant, injected, since, limit)"
                    ));
                }
            }
        }
        Ok(f)
    }

    fn keeps(&self, e: &JournalEntry) -> bool {
        let op_id = e.operation.as_deref().map(|o| o.id.as_str());
        self.since.is_none_or(|s| e.seq > s)
            && self.operation_id.as_deref().is_none_or(|o| op_id == Some(o))
            && self.method.as_deref().is_none_or(|m| e.method.as_str() == m)
            && self.path.as_deref().is_none_or(|p| &*e.path == p)
            && self.status.is_none_or(|s| e.status == s)
            && self.tenant.as_deref().is_none_or(|t| e.tenant.as_deref() == Some(t))
            && self.injected.is_none_or(|i| e.injected.is_some() == i)
    }
}

/// One request's entry and detail, in place in its slot.
type Slot = Option<(JournalEntry, Detail)>;

/// Slots come in chunks of this many, each made on its first use: an idle server's journal
/// (1,000 slots by default) is a few empty cells, not the 390 kB that 1,000 slots laid out in
/// place take (every one written when made). A request pays one atomic load for this, where a
/// box per entry (tried) cost an allocation and a copy of the entry, 2% of a GET.
const CHUNK: usize = 64;

pub struct Journal {
    chunks: Vec<OnceLock<Box<[Mutex<Slot>]>>>,
    size: usize,
    next: AtomicU64,
}

impl Journal {
    pub fn new(size: usize) -> Self {
        Journal {
            chunks: (0..size.div_ceil(CHUNK)).map(|_| OnceLock::new()).collect(),
            size,
            next: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.size
    }

    /// The slot of sequence number `seq`, its chunk made if `make`; `None` for a slot not made
    /// yet (which holds nothing), or in an empty journal.
    fn slot(&self, seq: u64, make: bool) -> Option<&Mutex<Slot>> {
        let at = usize::try_from(seq % self.size.max(1) as u64).ok()?;
        let chunk = self.chunks.get(at / CHUNK)?;
        let slots = if make {
            chunk.get_or_init(|| {
                let len = CHUNK.min(self.size - at / CHUNK * CHUNK);
                (0..len).map(|_| Mutex::new(None)).collect()
            })
        } else {
            chunk.get()?
        };
        slots.get(at % CHUNK)
    }

    /// Every slot made so far.
    fn slots(&self) -> impl Iterator<Item = &Mutex<Slot>> {
        self.chunks.iter().filter_map(OnceLock::get).flat_map(|c| c.iter())
    }

    pub fn record(&self, (mut entry, detail): (JournalEntry, Detail)) {
        if self.size == 0 {
            return;
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        entry.seq = seq;
        if let Some(s) = self.slot(seq, true) {
            // The entry it replaces is dropped after the lock is released.
            let _old = s.lock().replace((entry, detail));
        }
    }

    /// The entry with this sequence number and its detail, while the journal still holds it.
    pub fn get(&self, seq: u64) -> Option<(JournalEntry, Detail)> {
        let slot = self.slot(seq, false)?;
        slot.lock().as_ref().filter(|(e, _)| e.seq == seq).cloned()
    }

    /// The sequence number the next entry will get.
    pub fn next_seq(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
    }

    /// Matching entries, newest first.
    pub fn query(&self, filter: &Filter) -> Vec<JournalEntry> {
        let mut out: Vec<JournalEntry> = self
            .slots()
            .filter_map(|s| {
                s.lock()
                    .as_ref()
                    .filter(|(e, _)| filter.keeps(e))
                    .map(|(e, _)| e.clone())
            })
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.seq));
        out
    }

    pub fn len(&self) -> usize {
        self.slots().filter(|s| s.lock().is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        for s in self.slots() {
            *s.lock() = None;
        }
    }
}
