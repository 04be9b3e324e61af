//! The request journal: the most recent requests, for tests that check what a client did.
//!
//! A bounded ring of slots indexed by a global sequence number. Each slot has its own small lock,
//! so concurrent writers almost never meet, and nothing grows: the oldest entry is overwritten.
//! Readers copy the slots out and sort by sequence.

use crate::exchange::{Reply, Req};
use crate::model::Api;
use crate::model::operation::OpName;
use parking_lot::Mutex;
use serde_json::{Value, json};
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
}

impl JournalEntry {
    /// The entry for one exchange (its `seq` is given when it is recorded).
    /// `api` is the model that answered (its operation indices are the reply's).
    pub fn of(req: &Req, reply: &Reply, api: &Api, at: std::time::SystemTime, took: std::time::Duration) -> Self {
        JournalEntry {
            seq: 0,
            time: at,
            method: req.method.clone(),
            path: req.path.clone(),
            query: req.query.clone(),
            operation: reply
                .meta
                .operation
                .and_then(|i| api.ops.get(i))
                .map(|o| o.name.clone()),
            tenant: reply.meta.tenant.clone(),
            status: reply.status,
            injected: reply.meta.injected.clone(),
            duration_ms: took.as_secs_f64() * 1000.0,
        }
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
        })
    }
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
                "limit" => {}
                other => {
                    return Err(format!(
                        "{other}: unknown filter (operationId, method, path, status, tenant, injected, limit)"
                    ));
                }
            }
        }
        Ok(f)
    }

    fn keeps(&self, e: &JournalEntry) -> bool {
        let op_id = e.operation.as_deref().map(|o| o.id.as_str());
        self.operation_id.as_deref().is_none_or(|o| op_id == Some(o))
            && self.method.as_deref().is_none_or(|m| e.method.as_str() == m)
            && self.path.as_deref().is_none_or(|p| &*e.path == p)
            && self.status.is_none_or(|s| e.status == s)
            && self.tenant.as_deref().is_none_or(|t| e.tenant.as_deref() == Some(t))
            && self.injected.is_none_or(|i| e.injected.is_some() == i)
    }
}

pub struct Journal {
    slots: Vec<Mutex<Option<JournalEntry>>>,
    next: AtomicU64,
}

impl Journal {
    pub fn new(size: usize) -> Self {
        Journal {
            slots: (0..size).map(|_| Mutex::new(None)).collect(),
            next: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub fn record(&self, mut entry: JournalEntry) {
        if self.slots.is_empty() {
            return;
        }
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        entry.seq = seq;
        let slot = (seq % self.slots.len() as u64) as usize;
        if let Some(s) = self.slots.get(slot) {
            *s.lock() = Some(entry);
        }
    }

    /// Matching entries, newest first.
    pub fn query(&self, filter: &Filter) -> Vec<JournalEntry> {
        let mut out: Vec<JournalEntry> = self
            .slots
            .iter()
            .filter_map(|s| s.lock().clone())
            .filter(|e| filter.keeps(e))
            .collect();
        out.sort_by_key(|e| std::cmp::Reverse(e.seq));
        out
    }

    pub fn len(&self) -> usize {
        self.slots.iter().filter(|s| s.lock().is_some()).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&self) {
        for s in &self.slots {
            *s.lock() = None;
        }
    }
}
