//! The Redis backend (stub while the interface settles).

use crate::model::errors::ApiError;
use crate::model::resources::plan::Resource;
use crate::state::item::Entry;
use crate::state::memory::{Collection, CollectionKey, Seed, Timer};
use crate::state::step::{Claimed, Insert, Page, PageQuery, Prepared, Scope, unavailable};
use std::sync::Arc;

#[derive(Clone)]
pub struct Tenant {
    pub name: Arc<str>,
}

pub struct RedisStore {
    seed: Seed,
}

impl RedisStore {
    pub fn tenant(&self, name: &str) -> Tenant {
        Tenant { name: Arc::from(name) }
    }
    pub async fn get(&self, _t: &Tenant, _s: &Scope<'_>, _id: &str) -> Result<Option<Entry>, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn create(&self, _t: &Tenant, _s: &Scope<'_>, _i: Vec<Insert<'_>>) -> Result<Vec<Entry>, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn update(
        &self,
        _t: &Tenant,
        _s: &Scope<'_>,
        _r: &Resource,
        _id: &str,
        _next: &mut (dyn FnMut(&Entry) -> Result<Prepared, ApiError> + Send),
    ) -> Result<Entry, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn remove(&self, _t: &Tenant, _s: &Scope<'_>, _r: &Resource, _id: &str) -> Result<Entry, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn set_archived(
        &self,
        _t: &Tenant,
        _s: &Scope<'_>,
        _r: &Resource,
        _id: &str,
        _a: bool,
    ) -> Result<Option<Entry>, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn page(&self, _t: &Tenant, _s: &Scope<'_>, _q: &PageQuery<'_>) -> Result<Page, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn find_unique(
        &self,
        _t: &Tenant,
        _k: &CollectionKey,
        _rule: usize,
        _v: &str,
    ) -> Result<Option<Entry>, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn idem_begin(&self, _t: &Tenant, _k: &str, _f: u64) -> Result<Claimed, ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn idem_finish(&self, _t: &Tenant, _k: &str, _a: Option<(u16, Option<String>, bytes::Bytes)>) {}
    pub fn ahead(&self, _t: Option<&str>) -> (u64, u64) {
        (0, 0)
    }
    pub async fn advance(&self, _t: Option<&str>, _ms: u64) -> Result<(), ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn schedule(&self, _t: &Tenant, _timer: Timer) -> Result<(), ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn next_due(&self, _t: &Tenant, _now: u64) -> Result<Option<Timer>, ApiError> {
        Ok(None)
    }
    pub async fn timed_tenants(&self) -> Result<Vec<Tenant>, ApiError> {
        Ok(Vec::new())
    }
    pub async fn reset(&self, _t: Option<&str>) -> Result<(), ApiError> {
        Err(unavailable("stub"))
    }
    pub async fn tenant_names(&self) -> Result<Vec<String>, ApiError> {
        Ok(Vec::new())
    }
    pub async fn snapshot(&self, _t: Option<&str>) -> Result<Vec<(CollectionKey, Arc<Collection>)>, ApiError> {
        Ok(Vec::new())
    }
    pub fn seed(&self) -> &Seed {
        &self.seed
    }
    pub async fn health(&self) -> (bool, serde_json::Value) {
        (false, serde_json::json!({"kind": "redis"}))
    }
}
