//! A delivery as the log keeps it, and what the sending task is handed: shared by the
//! dispatcher ([`super`]) and the sender ([`super::send`]), which never import each other.

use crate::exchange::TenantName;
use crate::model::hooks::Signature;
use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How deliveries are retried.
#[derive(Debug, Clone)]
pub struct Retry {
    /// Attempts after the first.
    pub retries: u32,
    /// How long one attempt may take.
    pub timeout: Duration,
    /// The wait before the first retry; it doubles after each one (capped at a minute).
    pub backoff: Duration,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Pending,
    Retrying,
    Delivered,
    Failed,
    /// Its queue was full.
    Dropped,
    /// Its subscription was removed before it went out.
    Cancelled,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Retrying => "retrying",
            State::Delivered => "delivered",
            State::Failed => "failed",
            State::Dropped => "dropped",
            State::Cancelled => "cancelled",
        }
    }
}

/// One webhook or callback sent (or being sent) to one URL.
pub struct Delivery {
    pub id: String,
    pub event: Arc<str>,
    pub event_id: String,
    pub callback: bool,
    pub subscription: Option<String>,
    pub method: hyper::Method,
    pub url: String,
    pub content_type: String,
    pub tenant: Option<TenantName>,
    pub state: State,
    /// The last answer's status.
    pub status: Option<u16>,
    /// Why the last attempt got no answer.
    pub error: Option<String>,
    pub attempts: u32,
    pub payload: Value,
    /// What the payload breaks in the hook's schema (empty: it validates).
    pub violations: Vec<String>,
    pub created: SystemTime,
    pub updated: SystemTime,
}

impl Delivery {
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "event": &*self.event,
            "event_id": self.event_id,
            "kind": if self.callback { "callback" } else { "webhook" },
            "subscription": self.subscription,
            "method": self.method.as_str(),
            "url": self.url,
            "tenant": self.tenant.as_deref(),
            "state": self.state.as_str(),
            "status": self.status,
            "error": self.error,
            "attempts": self.attempts,
            "payload": self.payload,
            "violations": self.violations,
            "created": humantime::format_rfc3339_millis(self.created).to_string(),
            "updated": humantime::format_rfc3339_millis(self.updated).to_string(),
        })
    }
}

/// A delivery queued for sending.
pub struct Job {
    pub delivery: Shared,
    pub body: Bytes,
    pub secret: Option<String>,
    pub signature: Option<Signature>,
}

/// One attempt, as the journal and the recording see it.
pub struct Attempt<'a> {
    pub delivery: &'a Shared,
    pub request_headers: &'a [(String, String)],
    pub body: &'a Bytes,
    pub status: Option<u16>,
    pub response_body: &'a Bytes,
    pub started: SystemTime,
    pub took: Duration,
}

/// A delivery as the log keeps it: shared between the log and the task that sends it.
pub type Shared = Arc<Mutex<Delivery>>;
