//! The server's side of webhooks: handing an answered exchange's events over, and writing each
//! delivery attempt into the journal and the recording.
//!
//! The hand-off happens once the response is complete, before it is written: a `try_send` of
//! shared values, and only for operations the model marked as firing something. The delivery
//! itself goes out on another task and another connection, never delaying this response.

use crate::exchange::{Reply, Req};
use crate::http::Traffic;
use crate::pipeline::Engine;
use crate::startup::App;
use crate::traffic::journal::{Detail, JournalEntry};
use crate::traffic::record::{Exchange, Notes};
use crate::traffic::webhooks::delivery::Attempt;
use crate::traffic::webhooks::payload::Exchange as CallExchange;
use crate::traffic::webhooks::{Fired, Sink};
use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};
use std::sync::Arc;

/// Fires the webhooks and callbacks of a successful answer, if its operation has any.
pub fn hand_off(app: &App, engine: &Engine, request: &Req, reply: &Reply, host: &str, https: bool) {
    let Some(op) = reply.meta.operation else { return };
    if !(200..300).contains(&reply.status) {
        return;
    }
    let Some(hooks) = engine.api.hooks.for_op(op) else {
        return;
    };
    // A transition's event is about the item that moved (the operation's parent).
    let res = engine.api.ops.get(op).and_then(|o| {
        o.rules
            .as_ref()
            .and_then(|r| r.transition.as_ref())
            .map(|t| t.res)
            .or_else(|| o.action.resource())
    });
    // A webhook says what changed: without a stored change (an idempotent replay, a Prefer
    // example) only callbacks go out.
    let callbacks = hooks.iter().any(|h| h.is_callback());
    if reply.meta.changed.is_none() && !callbacks {
        return;
    }
    let hooks: Arc<[_]> = if reply.meta.changed.is_some() {
        hooks.clone()
    } else {
        hooks.iter().filter(|h| h.is_callback()).cloned().collect()
    };
    let exchange = callbacks.then(|| {
        let scheme = if https { "https" } else { "http" };
        let query = if request.query.is_empty() {
            String::new()
        } else {
            format!("?{}", request.query)
        };
        Box::new(CallExchange {
            method: request.method.clone(),
            url: format!("{scheme}://{host}{}{query}", request.path),
            query: request.query.clone(),
            request_headers: request.headers.clone(),
            request_body: request.body.clone(),
            status: reply.status,
            response_headers: reply.headers.clone(),
            response_body: reply.body.clone(),
        })
    });
    // The event happened at the tenant's sandbox clock time (real time until advanced).
    let at = reply.meta.tenant.as_ref().map(|t| {
        let ms = engine.store.now_ms(&engine.store.tenant(t));
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms)
    });
    app.webhooks.fire(Fired {
        hooks,
        res,
        object: reply.meta.changed.clone(),
        tenant: reply.meta.tenant.clone(),
        exchange,
        at,
    });
}

/// Where delivery attempts go: the journal (as entries with `webhook` set) and, with `--record`,
/// the recording (with `_webhook`).
pub fn sink(app: Arc<App>, traffic: Arc<Traffic>) -> Sink {
    Arc::new(move |a: &Attempt| {
        let (event, url, method, tenant) = {
            let d = a.delivery.lock();
            (d.event.clone(), d.url.clone(), d.method.clone(), d.tenant.clone())
        };
        let mut headers = HeaderMap::new();
        for (k, v) in a.request_headers {
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                headers.append(k, v);
            }
        }
        let status = a.status.unwrap_or(0);
        if let Some(recorder) = &traffic.recorder {
            let notes = Notes {
                webhook: Some((event.to_string(), url.clone())),
                ..Notes::default()
            };
            recorder.record(&Exchange {
                started: a.started,
                took: a.took,
                http_version: "HTTP/1.1",
                host: "",
                method: method.as_str(),
                path: &url,
                query: "",
                request_headers: &headers,
                request_body: a.body,
                status,
                response_headers: &[],
                response_body: a.response_body,
                operation_id: None,
                spec: None,
                tenant: tenant.as_deref(),
                injected: None,
                notes: &notes,
            });
        }
        if app.journal.capacity() > 0 {
            let entry = JournalEntry {
                seq: 0,
                time: a.started,
                method,
                path: Arc::from(url.as_str()),
                query: Arc::from(""),
                operation: None,
                tenant,
                status,
                injected: None,
                duration_ms: a.took.as_secs_f64() * 1000.0,
                webhook: Some(event),
            };
            let detail = Detail {
                request_headers: headers,
                request_body: a.body.clone(),
                request_body_size: a.body.len(),
                response_body: a.response_body.clone(),
                response_body_size: a.response_body.len(),
                ..Detail::default()
            };
            app.journal.record((entry, detail));
        }
    })
}
