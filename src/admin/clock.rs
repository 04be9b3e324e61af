//! `/__specbox/clock`: the sandbox clock, and the timed transitions it runs.
//!
//! The clock is real time until advanced: `POST /__specbox/clock` with `{"advance": "3d"}` moves
//! it forward for every tenant (or, with `"tenant"`, for one) and runs every timed transition
//! that fell due, in order, as payment providers' test clocks do; each fires its webhooks. [`tick`] runs
//! what falls due in real time (the server calls it from a background task): it looks only at
//! tenants with timers waiting, and takes no lock a request takes except a tenant's timer queue.

use crate::admin::problem;
use crate::exchange::{Reply, Req, TenantName};
use crate::model::errors::ApiError;
use crate::model::lifecycle::parse_duration;
use crate::pipeline::Engine;
use crate::pipeline::act::lifecycle::{Moved, run_due};
use crate::startup::App;
use crate::state::store::{TenantRef, real_ms};
use crate::traffic::webhooks::Fired;
use hyper::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// Held while due transitions run, so the ticker and an advance never run them at once (each
/// would list, and fire, part of them). Requests never take it.
static RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Answers the clock endpoints; `None` for any other path.
pub async fn serve(app: &App, engine: &Engine, req: &Req, path: &str) -> Option<Reply> {
    if path != "/clock" {
        return None;
    }
    Some(match req.method {
        Method::GET => {
            let tenant = crate::exchange::parts::form_pairs(req.query.as_bytes())
                .find(|(k, _)| k == "tenant")
                .map(|(_, v)| v);
            Reply::json(200, "application/json", &now_json(engine, tenant.as_deref(), None))
        }
        Method::POST => advance(app, engine, &req.body).await,
        _ => problem(405, "the clock takes GET and POST"),
    })
}

fn now_json(engine: &Engine, tenant: Option<&str>, moved: Option<Vec<Value>>) -> Value {
    let t = tenant.map(|t| engine.store.tenant(t));
    let (all, own) = engine.store.ahead(t.as_ref());
    let now_ms = real_ms() + all + own;
    let text = humantime::format_rfc3339_millis(std::time::UNIX_EPOCH + std::time::Duration::from_millis(now_ms));
    let mut v = json!({
        "now": text.to_string(),
        "unix_ms": now_ms,
        "ahead_ms": all + own,
        "tenant": tenant,
    });
    if let (Some(m), Some(obj)) = (moved, v.as_object_mut()) {
        obj.insert("transitions".into(), Value::Array(m));
    }
    v
}

/// `{"advance": "3d", "tenant": optional}`: moves the clock and runs what fell due.
async fn advance(app: &App, engine: &Engine, body: &[u8]) -> Reply {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return problem(400, &format!("the clock change is not valid JSON: {e}")),
    };
    let Some(by) = v.get("advance").and_then(parse_duration) else {
        return problem(
            400,
            "advance: required, a duration such as \"90s\", \"2h\" or \"3d\" (or seconds)",
        );
    };
    let tenant = match v.get("tenant") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(_) => return problem(400, "tenant: a tenant's name, as the journal shows it"),
    };
    let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
    // Moving the clock and running what fell due is one step: the real-time ticker waits.
    let _running = RUNNING.lock().await;
    if let Err(e) = engine.store.advance(tenant, ms).await {
        return problem(e.status, &e.message);
    }
    let tenants = match tenant {
        Some(t) => Ok(vec![engine.store.tenant(t)]),
        None => engine.store.timed_tenants().await,
    };
    let mut moved = Vec::new();
    let ran = async {
        for t in tenants? {
            moved.extend(run_tenant(app, engine, &t).await?);
        }
        Ok::<(), crate::model::errors::ApiError>(())
    };
    if let Err(e) = ran.await {
        return problem(e.status, &e.message);
    }
    Reply::json(200, "application/json", &now_json(engine, tenant, Some(moved)))
}

/// Runs one tenant's due transitions and fires their webhooks; describes each.
async fn run_tenant(app: &App, engine: &Engine, tenant: &TenantRef) -> Result<Vec<Value>, ApiError> {
    let name = tenant.name();
    let moved = run_due(&engine.api, &engine.store, tenant, engine.store.now_ms(tenant)).await?;
    let out = moved.iter().map(|m| describe(engine, name, m)).collect();
    fire(app, engine, name, moved);
    Ok(out)
}

fn describe(engine: &Engine, tenant: &str, m: &Moved) -> Value {
    let collection = engine.api.resources.get(m.res).map(|r| r.collection.as_str());
    json!({
        "tenant": tenant,
        "collection": collection,
        "id": m.id,
        "from": m.from,
        "to": m.to,
        "at": humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_millis(m.at_ms)).to_string(),
    })
}

/// Fires the webhooks of each move, in order (one event each, handed off like a request's).
fn fire(app: &App, engine: &Engine, tenant: &str, moved: Vec<Moved>) {
    for m in moved {
        let hooks = engine.api.hooks.for_transition(m.res, &m.to);
        if hooks.is_empty() {
            continue;
        }
        app.webhooks.fire(Fired {
            hooks: Arc::from(hooks),
            res: Some(m.res),
            object: Some(m.object),
            tenant: Some(TenantName::from(tenant)),
            exchange: None,
            at: Some(std::time::UNIX_EPOCH + std::time::Duration::from_millis(m.at_ms)),
        });
    }
}

/// Runs every timed transition that has fallen due in real time (called by the server, often).
pub async fn tick(app: &App) {
    let engine = app.engine.load_full();
    if engine.api.lifecycles.iter().all(|l| l.timed.is_empty()) {
        return;
    }
    // A clock being advanced runs what falls due itself, and lists it.
    let Ok(_running) = RUNNING.try_lock() else {
        return;
    };
    // A store that cannot be reached is tried again at the next tick.
    let Ok(tenants) = engine.store.timed_tenants().await else {
        return;
    };
    for tenant in tenants {
        if run_tenant(app, &engine, &tenant).await.is_err() {
            return;
        }
    }
}
