//! `GET /__specbox/state` and `/state/items`: what each tenant holds, for the dashboard.
//!
//! Read-only views over [`crate::state::store::Store::snapshot`]: the overview counts items per
//! collection (no item is parsed), and the item listing parses only the page it returns, so a
//! collection of a million items costs the dashboard one page.

use crate::model::errors::ApiError;
use crate::pipeline::Engine;
use serde_json::{Value, json};

/// Every tenant (and the fixtures everyone starts from) with its collections and their counts.
pub async fn overview(engine: &Engine) -> Result<Value, ApiError> {
    let mut names = engine.store.tenant_names().await?;
    names.sort();
    let mut tenants: Vec<Value> = Vec::with_capacity(names.len());
    for t in &names {
        tenants.push(json!({ "name": t, "collections": collections(engine, Some(t)).await? }));
    }
    Ok(json!({ "fixtures": collections(engine, None).await?, "tenants": tenants }))
}

async fn collections(engine: &Engine, tenant: Option<&str>) -> Result<Vec<Value>, ApiError> {
    let api = &engine.api;
    Ok(engine
        .store
        .snapshot(tenant)
        .await?
        .iter()
        .map(|((resource, scope), c)| {
            let r = api.resources.get(*resource);
            json!({
                "resource": resource,
                "name": r.map(|r| r.name.as_str()),
                "collection": r.map(|r| r.collection.as_str()),
                "spec": r.and_then(|r| api.specs.get(r.spec)).map(|s| s.title.as_str()),
                "scope": scope,
                "count": c.len(),
                "listed": c.listed_count(),
            })
        })
        .collect())
}

/// One page of a collection's items, in creation order: `tenant` (absent: the fixtures),
/// `resource` (its index, as the overview gives it), `scope` (the ancestors' ids), `offset`, `limit`.
pub async fn items(engine: &Engine, query: &str) -> Result<Value, (u16, String)> {
    let mut tenant = None;
    let mut resource = None;
    let mut scope = String::new();
    let mut offset = 0usize;
    let mut limit = 50usize;
    for (k, v) in crate::exchange::parts::form_pairs(query.as_bytes()) {
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| (400, format!("{k}: {v:?} is not a number")))
        };
        match k.as_str() {
            "tenant" => tenant = Some(v),
            "resource" => resource = Some(number(&v)?),
            "scope" => scope = v,
            "offset" => offset = number(&v)?,
            "limit" => limit = number(&v)?.min(1000),
            other => {
                return Err((
                    400,
                    format!("{other}: unknown parameter (tenant, resource, scope, offset, limit)"),
                ));
            }
        }
    }
    let resource = resource.ok_or((400, "resource: required".to_string()))?;
    let r = engine
        .api
        .resources
        .get(resource)
        .ok_or((404, format!("no resource {resource}")))?;
    let snapshot = engine
        .store
        .snapshot(tenant.as_deref())
        .await
        .map_err(|e| (e.status, e.message))?;
    let Some((_, coll)) = snapshot.iter().find(|((i, s), _)| *i == resource && *s == scope) else {
        return Ok(json!({ "items": [], "total": 0, "id_field": r.id_field }));
    };
    let items: Vec<Value> = coll
        .slots
        .iter_from(0)
        .filter_map(|(_, e)| e.as_ref())
        .skip(offset)
        .take(limit)
        .map(|e| {
            let value = e.value();
            json!({
                "id": value.get(&r.id_field),
                "archived": e.archived,
                "value": value,
            })
        })
        .collect();
    Ok(json!({ "items": items, "total": coll.len(), "id_field": r.id_field }))
}
