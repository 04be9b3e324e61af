//! The `/__specbox/` endpoints: health, the route table, state (listing and reset), fault rules
//! and chaos, the journal, the reloads of `--watch`, webhook subscriptions, deliveries and
//! events on demand (`webhooks`), the sandbox clock (`clock`), and the dashboard page that shows them all (`ui`).
//!
//! They live under a prefix that no spec may claim (checked at startup), answer in plain JSON
//! (they belong to specbox, not to any API), and can be switched off or put behind a token.
//! The dashboard is static HTML, CSS and JavaScript compiled into the binary (no build step, no
//! network), which reads the same JSON endpoints as any other client.
//!
//! May not touch: the request pipeline's internals; it reads the application ([`App`]) and
//! answers in [`crate::exchange`] types. The server, not the pipeline, sends `/__specbox/` paths
//! here, so the admin API and the engine never import each other.

pub mod clock;
mod state;
mod ui;
mod webhooks;

use crate::exchange::{Reply, Req};
use crate::model::Api;
use crate::pipeline::Engine;
use crate::startup::App;
use hyper::Method;
use serde_json::{Value, json};

/// Whether a path belongs to the admin API (`/__specbox` or below it).
pub fn is_admin_path(path: &str) -> bool {
    path == "/__specbox" || path.starts_with("/__specbox/")
}

/// Answers an admin request. `engine` is the one the exchange loaded from `app` (the version of
/// the specs being served).
pub async fn handle(app: &App, engine: &Engine, req: &Req) -> Reply {
    if !engine.settings.admin {
        return problem(404, "the admin API is disabled (--no-admin)");
    }
    let path = req.path.trim_start_matches("/__specbox").trim_end_matches('/');
    if let Some(token) = &engine.settings.admin_token {
        // A browser cannot add a header when it navigates, so the page itself (only it) also takes
        // the token from its URL (`/__specbox/ui?token=...`); its scripts then send the header.
        let in_query = ui::is_page(path)
            && crate::exchange::parts::form_pairs(req.query.as_bytes()).any(|(k, v)| k == "token" && v == *token);
        let given = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "));
        let header = req.headers.get("x-specbox-admin-token").and_then(|v| v.to_str().ok());
        if !in_query && given != Some(token.as_str()) && header != Some(token.as_str()) {
            return problem(
                401,
                "admin token required (Authorization: Bearer <token> or X-Specbox-Admin-Token; for the dashboard, /__specbox/ui?token=<token>)",
            );
        }
    }
    if let Some(reply) = ui::serve(&req.method, path) {
        return reply;
    }
    if let Some(reply) = webhooks::serve(app, engine, req, path).await {
        return reply;
    }
    if let Some(reply) = clock::serve(app, engine, req, path).await {
        return reply;
    }
    match (&req.method, path) {
        (&Method::GET, "/health") => {
            // A store that cannot be reached makes the sandbox unhealthy: it cannot answer.
            let (ok, store) = engine.store.health().await;
            Reply::json(
                if ok { 200 } else { 503 },
                "application/json",
                &json!({
                    "status": if ok { "ok" } else { "unavailable" },
                    "in_flight": app.in_flight.load(std::sync::atomic::Ordering::Relaxed),
                    "store": store,
                    "specs": engine.api.specs.iter().map(|s| json!({"title": s.title, "version": s.version, "mount": s.mount})).collect::<Vec<_>>(),
                }),
            )
        }
        (&Method::GET, "/routes") => Reply::json(200, "application/json", &Value::Array(routes(&engine.api))),
        (&Method::POST, "/reset") => {
            let query: Vec<(String, String)> = crate::exchange::parts::form_pairs(req.query.as_bytes()).collect();
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            let tenant = query
                .iter()
                .find(|(k, _)| k == "tenant")
                .map(|(_, v)| v.clone())
                .or_else(|| body.get("tenant").and_then(Value::as_str).map(str::to_string));
            if let Err(e) = engine.store.reset(tenant.as_deref()).await {
                return problem(e.status, &e.message);
            }
            Reply::json(
                200,
                "application/json",
                &json!({ "reset": tenant.unwrap_or_else(|| "all".into()) }),
            )
        }
        (&Method::POST, "/faults") => {
            let body: serde_json::Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => return problem(400, &format!("the rule is not valid JSON: {e}")),
            };
            match engine.faults.add(&engine.store, &body).await {
                Ok(rule) => Reply::json(201, "application/json", &rule),
                Err(field) => problem(400, &format!("invalid fault rule: {field}")),
            }
        }
        (&Method::GET, "/faults") => Reply::json(
            200,
            "application/json",
            &json!({ "rules": engine.faults.list(&engine.store).await }),
        ),
        (&Method::DELETE, "/faults") => {
            engine.faults.clear(&engine.store).await;
            Reply::empty(204)
        }
        (&Method::GET, "/chaos") => Reply::json(200, "application/json", &chaos_json(&engine.faults.chaos())),
        (&Method::PUT, "/chaos") | (&Method::PATCH, "/chaos") => {
            let body: Value = match serde_json::from_slice(&req.body) {
                Ok(v) => v,
                Err(e) => return problem(400, &format!("the chaos settings are not valid JSON: {e}")),
            };
            match engine.faults.set_chaos(&body) {
                Ok(c) => Reply::json(200, "application/json", &chaos_json(&c)),
                Err(field) => problem(400, &format!("invalid chaos settings: {field}")),
            }
        }
        (&Method::GET, "/state") => match state::overview(engine).await {
            Ok(v) => Reply::json(200, "application/json", &v),
            Err(e) => problem(e.status, &e.message),
        },
        (&Method::GET, "/state/items") => match state::items(engine, &req.query).await {
            Ok(v) => Reply::json(200, "application/json", &v),
            Err((status, e)) => problem(status, &e),
        },
        (&Method::GET, p) if p.starts_with("/requests/") && p != "/requests/count" => {
            let seq = &p["/requests/".len()..];
            match seq.parse::<u64>().ok().and_then(|n| app.journal.get(n)) {
                Some((entry, detail)) => Reply::json(
                    200,
                    "application/json",
                    &crate::traffic::journal::detail_json(&entry, &detail),
                ),
                None => problem(
                    404,
                    &format!(
                        "no request {seq} in the journal (it keeps the last {})",
                        app.journal.capacity()
                    ),
                ),
            }
        }
        (&Method::DELETE, p) if p.starts_with("/faults/") => match p["/faults/".len()..].parse::<u64>() {
            Ok(id) if engine.faults.remove(&engine.store, id).await => Reply::empty(204),
            _ => problem(404, &format!("no fault rule {}", &p["/faults/".len()..])),
        },
        (&Method::GET, "/requests") | (&Method::GET, "/requests/count") => {
            let filter = match crate::traffic::journal::Filter::from_query(&req.query) {
                Ok(f) => f,
                Err(e) => return problem(400, &e),
            };
            let found = app.journal.query(&filter);
            if path.ends_with("/count") {
                return Reply::json(200, "application/json", &json!({ "count": found.len() }));
            }
            let limit = crate::exchange::parts::form_pairs(req.query.as_bytes())
                .find(|(k, _)| k == "limit")
                .and_then(|(_, v)| v.parse::<usize>().ok())
                .unwrap_or(usize::MAX);
            let requests: Vec<Value> = found.iter().take(limit).map(|e| e.to_json()).collect();
            Reply::json(
                200,
                "application/json",
                &json!({ "requests": requests, "capacity": app.journal.capacity(), "next_seq": app.journal.next_seq() }),
            )
        }
        (&Method::GET, "/reloads") => {
            let reloads: Vec<Value> = app.reloads.list().iter().map(|r| r.to_json()).collect();
            Reply::json(200, "application/json", &json!({ "reloads": reloads }))
        }
        (&Method::DELETE, "/requests") => {
            app.journal.clear();
            Reply::empty(204)
        }
        _ => problem(404, &format!("no admin endpoint {} {}", req.method, req.path)),
    }
}

/// The chaos settings as JSON (`latency` in the flag's own `20ms..200ms` form).
fn chaos_json(c: &crate::pipeline::faults::ChaosConfig) -> Value {
    json!({
        "rate": c.rate,
        "latency": c.latency.map(|(lo, hi)| format!("{}ms..{}ms", lo.as_millis(), hi.as_millis())),
        "seed": c.seed,
    })
}

/// The route table, as `specbox check` prints it and `GET /__specbox/routes` returns it.
pub fn routes(api: &Api) -> Vec<Value> {
    api.ops
        .iter()
        .map(|op| {
            json!({
                "method": op.method.as_str(),
                "path": op.route,
                "operationId": op.id,
                "spec": api.specs.get(op.spec).map(|s| s.title.as_str()),
                "action": action_name(&op.action),
            })
        })
        .collect()
}

pub fn action_name(a: &crate::model::resources::plan::Action) -> &'static str {
    use crate::model::resources::plan::Action::*;
    match a {
        None => "example",
        Create { .. } => "create",
        Read { .. } => "read",
        List { .. } => "list",
        Update { .. } => "update",
        Replace { .. } => "replace",
        Delete { .. } => "delete",
        Archive { .. } => "archive",
        Restore { .. } => "restore",
        Act { .. } => "act",
    }
}

pub fn problem(status: u16, detail: &str) -> Reply {
    Reply::json(
        status,
        "application/problem+json",
        &json!({
            "type": "about:blank",
            "title": crate::model::errors::reason(status),
            "status": status,
            "detail": detail,
        }),
    )
}
