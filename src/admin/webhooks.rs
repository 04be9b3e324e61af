//! `/__specbox/webhooks` (subscriptions), `/deliveries` (what was sent) and `/events` (the
//! webhooks the specs define, and firing one on demand).

use crate::admin::problem;
use crate::exchange::{Reply, Req, TenantName};
use crate::model::operation::join_route;
use crate::pipeline::Engine;
use crate::startup::App;
use crate::traffic::webhooks::{Fired, Webhooks};
use hyper::Method;
use serde_json::{Value, json};
use std::sync::Arc;

/// Answers the webhook endpoints; `None` for any other path.
pub async fn serve(app: &App, engine: &Engine, req: &Req, path: &str) -> Option<Reply> {
    let hooks = &app.webhooks;
    Some(match (&req.method, path) {
        (&Method::GET, "/webhooks") => Reply::json(200, "application/json", &hooks.subscriptions_json()),
        (&Method::POST, "/webhooks") => subscribe(hooks, &req.body),
        (&Method::DELETE, p) if p.starts_with("/webhooks/") => {
            let id = p.trim_start_matches("/webhooks/");
            if hooks.unsubscribe(id) {
                Reply::empty(204)
            } else {
                problem(404, &format!("no webhook subscription {id:?}"))
            }
        }
        (&Method::GET, "/deliveries") => match hooks.deliveries_json(&req.query) {
            Ok(v) => Reply::json(200, "application/json", &v),
            Err(e) => problem(400, &e),
        },
        (&Method::GET, "/events") => Reply::json(200, "application/json", &events(engine)),
        (&Method::POST, "/events") => fire(app, engine, &req.body).await,
        _ => return None,
    })
}

/// `{"url", "events": [...], "tenant", "secret"}` → 201 with the subscription's `id`.
fn subscribe(hooks: &Webhooks, body: &[u8]) -> Reply {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return problem(400, &format!("the subscription is not valid JSON: {e}")),
    };
    let Some(url) = v.get("url").and_then(Value::as_str) else {
        return problem(400, "url: required (the receiver's http:// or https:// URL)");
    };
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.parse::<hyper::Uri>().is_err() {
        return problem(400, &format!("url: {url:?} is not an http:// or https:// URL"));
    }
    let events = match v.get("events") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) if list.iter().all(Value::is_string) => {
            list.iter().filter_map(Value::as_str).map(str::to_string).collect()
        }
        Some(_) => {
            return problem(
                400,
                "events: a list of event names or patterns (`name`, `prefix.*`, `*`)",
            );
        }
    };
    for k in ["tenant", "secret"] {
        if v.get(k).is_some_and(|x| !x.is_string() && !x.is_null()) {
            return problem(400, &format!("{k}: must be a string"));
        }
    }
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (tenant, secret) = (text("tenant"), text("secret"));
    let sub = hooks.subscribe(url.to_string(), events, tenant, secret);
    Reply::json(201, "application/json", &Webhooks::subscription_json(&sub))
}

/// The webhooks the specs define and what fires each.
fn events(engine: &Engine) -> Value {
    let api = &engine.api;
    let list: Vec<Value> = api
        .hooks
        .webhooks
        .iter()
        .map(|h| {
            let triggers: Vec<Value> = h
                .triggers
                .iter()
                .map(|t| {
                    json!({
                        "on": t.on.as_str(),
                        "collection": api.resources.get(t.res).map(|r| r.collection.as_str()),
                        "to": t.to,
                        "declared": t.declared,
                    })
                })
                .collect();
            json!({
                "event": h.name,
                "method": h.method.as_str(),
                "spec": api.specs.get(h.spec).map(|s| s.title.as_str()),
                "triggers": triggers,
                "signed": h.signature.is_some(),
            })
        })
        .collect();
    json!({ "events": list })
}

/// `{"event", "collection", "id", "tenant"}`: fires a webhook now, for that object.
async fn fire(app: &App, engine: &Engine, body: &[u8]) -> Reply {
    let v: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return problem(400, &format!("the event is not valid JSON: {e}")),
    };
    let Some(name) = v.get("event").and_then(Value::as_str) else {
        return problem(
            400,
            "event: required (a webhook's name, as GET /__specbox/events lists them)",
        );
    };
    let api = &engine.api;
    let Some(hook) = api.hooks.webhook(name) else {
        let known: Vec<&str> = api.hooks.webhooks.iter().take(20).map(|h| h.name.as_str()).collect();
        return problem(404, &format!("no webhook {name:?} (webhooks: {})", known.join(", ")));
    };
    let tenant = v.get("tenant").and_then(Value::as_str);
    let collection = v
        .get("collection")
        .and_then(Value::as_str)
        .map(|c| c.trim_end_matches('/'));
    let res = match collection {
        Some(c) => match api.resources.iter().position(|r| {
            r.collection == c
                || api
                    .specs
                    .get(r.spec)
                    .is_some_and(|s| join_route(&s.mount, &r.collection) == c)
        }) {
            Some(i) => Some(i),
            None => return problem(404, &format!("collection: no resource collection {c:?}")),
        },
        None => hook.triggers.first().map(|t| t.res),
    };
    let id = match v.get("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    let object = match (res, &id) {
        (Some(res), Some(id)) => {
            let key = (res, String::new());
            let found = match tenant {
                // No tenant: the fixtures' item.
                None => engine
                    .store
                    .seed()
                    .collections
                    .get(&key)
                    .and_then(|coll| coll.get(id).map(|e| e.json.clone())),
                Some(t) => {
                    let scope = crate::state::store::Scope {
                        key,
                        parents: Vec::new(),
                    };
                    match engine.store.get(&engine.store.tenant(t), &scope, id).await {
                        Ok(found) => found.map(|e| e.json),
                        Err(e) => return problem(e.status, &e.message),
                    }
                }
            };
            match found {
                Some(json) => Some(json),
                None => {
                    return problem(
                        404,
                        &format!("id: no item {id:?} in {}", collection.unwrap_or("the collection")),
                    );
                }
            }
        }
        (None, Some(_)) => return problem(400, "collection: required with id"),
        _ => None,
    };
    let ids = app.webhooks.dispatch(Fired {
        hooks: Arc::from(vec![hook.clone()]),
        res,
        object,
        tenant: tenant.map(TenantName::from),
        exchange: None,
        at: None,
    });
    Reply::json(
        202,
        "application/json",
        &json!({ "event": hook.name, "deliveries": ids }),
    )
}
