//! The store interface: every read and write of state the pipeline makes, as one atomic step
//! each, over two backends chosen at startup: in memory ([`crate::state::memory`], the default:
//! one process, no setup) and Redis ([`crate::state::redis`]: any number of processes act as one
//! sandbox, and a restart loses nothing). The pipeline calls [`Store`] and never learns which one
//! it talks to.
//!
//! Why the steps are shaped as they are: a check and the write it guards (a free id, a free unique
//! value, the state a transition starts from) must be one step in both backends, and in Redis a
//! step is one round trip (a Lua script). So what can be computed without the state (the new
//! object, its unique claims, its JSON text) is computed by the caller first and handed over, and
//! what depends on the state is a callback the backend calls inside the step: [`Insert::prepare`]
//! gets the collection's next sequence number (for `{seq}` ids), [`Store::update`] hands the
//! current item to a closure that returns its successor. The memory backend calls them under the
//! collection's write lock; the Redis one calls them before its script and makes the script check
//! that nothing changed meanwhile (and calls again if something did).
//!
//! Every method is `async`: the memory backend never waits, so its futures are ready when first
//! polled (the server polls them in place, see `crate::http`), and the Redis one awaits its round
//! trip. A failing Redis answers [`unavailable`] (a 503 in the API's own error shape).

use crate::model::errors::{ApiError, ErrorKind};
use crate::model::resources::plan::Resource;
pub use crate::state::item::{Claim, Entry};
use crate::state::memory::MemoryStore;
pub use crate::state::memory::{Collection, CollectionKey, Hasher, IDEMPOTENCY_TTL, Seed, Timer};
use crate::state::redis::RedisStore;
pub use crate::state::step::*;
use std::sync::Arc;

/// A tenant as the backend knows it (looked up once per request).
#[derive(Clone)]
pub enum TenantRef {
    Memory(Arc<crate::state::memory::Tenant>),
    Redis(crate::state::redis::Tenant),
}

impl TenantRef {
    pub fn name(&self) -> &str {
        match self {
            TenantRef::Memory(t) => &t.name,
            TenantRef::Redis(t) => &t.name,
        }
    }
}

pub enum Store {
    Memory(MemoryStore),
    Redis(RedisStore),
}

/// The backend of `$self` and the tenant given, or an internal error when they disagree (a tenant
/// is only ever looked up in the store that serves it).
macro_rules! backend {
    ($self:expr, $t:expr, $m:ident, $mt:ident => $mem:expr, $r:ident, $rt:ident => $red:expr) => {
        match ($self, $t) {
            (Store::Memory($m), TenantRef::Memory($mt)) => $mem,
            (Store::Redis($r), TenantRef::Redis($rt)) => $red,
            _ => Err(ApiError::new(500, ErrorKind::Internal, "tenant from another store")),
        }
    };
}

impl Store {
    pub fn memory(seed: Seed) -> Store {
        Store::Memory(MemoryStore::new(seed))
    }

    /// A store over Redis (`--store redis://...`); nothing is connected until [`Store::start`].
    pub fn redis(config: &crate::state::redis::Config, api: &crate::model::Api, seed: Seed) -> Result<Store, String> {
        Ok(Store::Redis(RedisStore::new(config, api, seed)?))
    }

    /// Connects a Redis store and writes the fixtures there (once per Redis), waiting up to
    /// `wait` for it; it goes on trying in the background (answering 503 meanwhile).
    pub async fn start(&self, wait: std::time::Duration) {
        if let Store::Redis(r) = self {
            r.start(wait).await;
        }
    }

    /// The store for the next version of the model (`--watch`): a fresh one in memory (what is
    /// kept is carried over, see [`Store::carry_over`]), the same Redis for Redis.
    pub fn successor(&self, api: &crate::model::Api, seed: Seed) -> Store {
        match self {
            Store::Memory(_) => Store::memory(seed),
            Store::Redis(r) => Store::Redis(r.successor(api, seed)),
        }
    }

    /// The key that signs OAuth2 tokens when they must be accepted by every process on one store
    /// (`None`: this process alone checks its tokens).
    pub fn shared_secret(&self) -> Option<[u8; 32]> {
        match self {
            Store::Memory(_) => None,
            Store::Redis(r) => r.secret(),
        }
    }

    /// How often the fault rules every process shares have changed (always 0 in memory: the
    /// rules are the process's own).
    pub fn rules_version(&self) -> u64 {
        match self {
            Store::Memory(_) => 0,
            Store::Redis(r) => r.rules_version(),
        }
    }

    /// The shared fault rules (as given, with their `id`), for a process to copy.
    pub fn rules(&self) -> Vec<serde_json::Value> {
        match self {
            Store::Memory(_) => Vec::new(),
            Store::Redis(r) => r.rules(),
        }
    }

    /// The store shared by several processes, for what they must agree on beyond items (fault
    /// rules and their counts).
    pub fn shared(&self) -> Option<&RedisStore> {
        match self {
            Store::Memory(_) => None,
            Store::Redis(r) => Some(r),
        }
    }

    /// Whether every method answers without waiting (the server then polls in place).
    pub fn is_local(&self) -> bool {
        matches!(self, Store::Memory(_))
    }

    pub fn tenant(&self, name: &str) -> TenantRef {
        match self {
            Store::Memory(m) => TenantRef::Memory(m.tenant(name)),
            Store::Redis(r) => TenantRef::Redis(r.tenant(name)),
        }
    }

    pub async fn get(&self, t: &TenantRef, scope: &Scope<'_>, id: &str) -> Result<Option<Entry>, ApiError> {
        backend!(self, t, m, mt => m.get(mt, scope, id), r, rt => r.get(rt, scope, id).await)
    }

    /// Inserts every item or none: the last one's collection is `scope`'s (its ancestors must
    /// exist), the others are created inline by references. Returns each stored item's key and
    /// entry, in order.
    pub async fn create(
        &self,
        t: &TenantRef,
        scope: &Scope<'_>,
        inserts: Vec<Insert<'_>>,
    ) -> Result<Vec<(String, Entry)>, ApiError> {
        backend!(self, t, m, mt => m.create(mt, scope, inserts), r, rt => r.create(rt, scope, inserts).await)
    }

    /// Replaces item `id` with what `next` makes of it (`next` may refuse, and may be called again
    /// when another writer changed the item meanwhile). Returns the stored successor.
    pub async fn update(
        &self,
        t: &TenantRef,
        scope: &Scope<'_>,
        r: &Resource,
        id: &str,
        next: &mut (dyn FnMut(&Entry) -> Result<Prepared, ApiError> + Send),
    ) -> Result<Entry, ApiError> {
        backend!(self, t, m, mt => m.update(mt, scope, r, id, next), rs, rt => rs.update(rt, scope, r, id, next).await)
    }

    /// Removes item `id` (and its unique values); returns it as it was.
    pub async fn remove(&self, t: &TenantRef, scope: &Scope<'_>, r: &Resource, id: &str) -> Result<Entry, ApiError> {
        backend!(self, t, m, mt => m.remove(mt, scope, r, id), rs, rt => rs.remove(rt, scope, r, id).await)
    }

    /// Archives or restores item `id`; `None` when it already was.
    pub async fn set_archived(
        &self,
        t: &TenantRef,
        scope: &Scope<'_>,
        r: &Resource,
        id: &str,
        archived: bool,
    ) -> Result<Option<Entry>, ApiError> {
        backend!(self, t, m, mt => m.set_archived(mt, scope, r, id, archived), rs, rt => rs.set_archived(rt, scope, r, id, archived).await)
    }

    pub async fn page(&self, t: &TenantRef, scope: &Scope<'_>, q: &PageQuery<'_>) -> Result<Page, ApiError> {
        backend!(self, t, m, mt => m.page(mt, scope, q), r, rt => r.page(rt, scope, q).await)
    }

    /// Where the item `id` lies in its collection (the slot a cursor names), if it is there: a
    /// list cursor that is an item's key (`after=<key>`) pages from it.
    pub async fn slot_of(&self, t: &TenantRef, scope: &Scope<'_>, id: &str) -> Result<Option<usize>, ApiError> {
        backend!(self, t, m, mt => m.slot_of(mt, scope, id), r, rt => r.slot_of(rt, scope, id).await)
    }

    /// The item holding `value` under unique rule `rule`, if any.
    pub async fn find_unique(
        &self,
        t: &TenantRef,
        key: &CollectionKey,
        rule: usize,
        value: &str,
    ) -> Result<Option<Entry>, ApiError> {
        backend!(self, t, m, mt => Ok(m.find_unique(mt, key, rule, value)), r, rt => r.find_unique(rt, key, rule, value).await)
    }

    pub async fn idem_begin(&self, t: &TenantRef, key: &str, fingerprint: u64) -> Result<Claimed, ApiError> {
        backend!(self, t, m, mt => Ok(m.idem_begin(mt, key, fingerprint)), r, rt => r.idem_begin(rt, key, fingerprint).await)
    }

    /// Keeps the answer for the key (`None`: releases it, nothing to replay).
    pub async fn idem_finish(&self, t: &TenantRef, key: &str, answer: Option<(u16, Option<String>, bytes::Bytes)>) {
        let _ = backend!(self, t, m, mt => { m.idem_finish(mt, key, answer); Ok(()) }, r, rt => { r.idem_finish(rt, key, answer).await; Ok(()) });
    }

    /// The sandbox clock of `tenant` (real time until advanced), in Unix milliseconds.
    pub fn now_ms(&self, t: &TenantRef) -> u64 {
        let (all, own) = self.ahead(Some(t));
        real_ms() + all + own
    }

    /// How far the clock is ahead of real time: for every tenant, and for `t` alone.
    pub fn ahead(&self, t: Option<&TenantRef>) -> (u64, u64) {
        match self {
            Store::Memory(m) => m.ahead(t.and_then(|t| match t {
                TenantRef::Memory(t) => Some(t.as_ref()),
                TenantRef::Redis(_) => None,
            })),
            Store::Redis(r) => r.ahead(t.map(TenantRef::name)),
        }
    }

    /// Moves the clock of one tenant, or of all, forward by `ms`.
    pub async fn advance(&self, tenant: Option<&str>, ms: u64) -> Result<(), ApiError> {
        match self {
            Store::Memory(m) => {
                m.advance(tenant, ms);
                Ok(())
            }
            Store::Redis(r) => r.advance(tenant, ms).await,
        }
    }

    /// Sets a timer of a timed transition.
    pub async fn schedule(&self, t: &TenantRef, timer: Timer) -> Result<(), ApiError> {
        backend!(self, t, _m, mt => { mt.schedule(timer); Ok(()) }, r, rt => r.schedule(rt, timer).await)
    }

    /// The next timer of `t` due at or before `now_ms`, taken off its queue (by one process only).
    pub async fn next_due(&self, t: &TenantRef, now_ms: u64) -> Result<Option<Timer>, ApiError> {
        backend!(self, t, _m, mt => Ok(mt.next_due(now_ms)), r, rt => r.next_due(rt, now_ms).await)
    }

    /// Every tenant that has timers waiting.
    pub async fn timed_tenants(&self) -> Result<Vec<TenantRef>, ApiError> {
        match self {
            Store::Memory(m) => Ok(m.timed_tenants().into_iter().map(TenantRef::Memory).collect()),
            Store::Redis(r) => Ok(r.timed_tenants().await?.into_iter().map(TenantRef::Redis).collect()),
        }
    }

    /// Forgets a tenant's changes (or everyone's): the next request starts from the fixtures.
    pub async fn reset(&self, tenant: Option<&str>) -> Result<(), ApiError> {
        match self {
            Store::Memory(m) => {
                m.reset(tenant);
                Ok(())
            }
            Store::Redis(r) => r.reset(tenant).await,
        }
    }

    pub async fn tenant_names(&self) -> Result<Vec<String>, ApiError> {
        match self {
            Store::Memory(m) => Ok(m.tenant_names()),
            Store::Redis(r) => r.tenant_names().await,
        }
    }

    /// What a tenant sees, collection by collection (the fixtures when `tenant` is `None`), for
    /// the dashboard: never for requests.
    pub async fn snapshot(&self, tenant: Option<&str>) -> Result<Vec<(CollectionKey, Arc<Collection>)>, ApiError> {
        match self {
            Store::Memory(m) => Ok(m.snapshot(tenant)),
            Store::Redis(r) => r.snapshot(tenant).await,
        }
    }

    /// The state every tenant starts from.
    pub fn seed(&self) -> &Seed {
        match self {
            Store::Memory(m) => m.seed(),
            Store::Redis(r) => r.seed(),
        }
    }

    /// After a reload: takes over what the previous store held (see
    /// [`MemoryStore::carry_over`]). A Redis store keeps everything in Redis: nothing to carry.
    pub fn carry_over(&mut self, old: &Store, kept: &[Option<usize>]) -> usize {
        match (self, old) {
            (Store::Memory(new), Store::Memory(old)) => {
                new.carry_clock(old);
                new.carry_over(old, kept)
            }
            _ => 0,
        }
    }

    /// How the store is doing, for `/__specbox/health`: `(healthy, description)`.
    pub async fn health(&self) -> (bool, serde_json::Value) {
        match self {
            Store::Memory(_) => (true, serde_json::json!({ "kind": "memory" })),
            Store::Redis(r) => r.health().await,
        }
    }
}
