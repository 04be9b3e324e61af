//! The request journal: the most recent requests, for tests that check what a client did.
//!
//! A bounded ring of slots indexed by a global sequence number. Each slot has its own small lock,
//! so concurrent writers almost never meet, and nothing grows: the oldest entry is overwritten.
//! Readers copy the slots out and sort by sequence.

use parking_lot::Mutex;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone)]
pub struct JournalEntry {
    pub seq: u64,
    /// RFC 3339 with milliseconds.
    pub time: String,
    pub method: String,
    pub path: String,
    pub query: String,
    pub operation_id: Option<String>,
    pub spec: Option<String>,
    pub tenant: Option<String>,
    pub status: u16,
    pub injected: Option<String>,
    pub duration_ms: f64,
}

impl JournalEntry {
    pub fn to_json(&self) -> Value {
        json!({
            "seq": self.seq,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": if self.query.is_empty() { Value::Null } else { Value::String(self.query.clone()) },
            "operationId": self.operation_id,
            "spec": self.spec,
            "tenant": self.tenant,
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
        for (k, v) in crate::validate::form_pairs(query.as_bytes()) {
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
        self.operation_id
            .as_deref()
            .is_none_or(|o| e.operation_id.as_deref() == Some(o))
            && self.method.as_deref().is_none_or(|m| e.method == m)
            && self.path.as_deref().is_none_or(|p| e.path == p)
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
