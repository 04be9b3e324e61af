//! The Redis backend of the store interface (`--store redis://...`): every piece of state lives
//! in Redis (or Valkey), so any number of specbox processes on one Redis act as one sandbox, and
//! a restarted one picks up where it was.
//!
//! How it is laid out, and why:
//! - Each step of the interface is one Lua script ([`scripts`]): atomic, and one round trip. A
//!   read is one `EVALSHA`, a create one (two for `{seq}` ids: the number is taken first), an
//!   update a read and a compare-and-set (again, should another writer have changed the item).
//! - Keys live under `--store-prefix` (`specbox:` by default), so several sandboxes share one
//!   Redis; a resource's keys name its spec and collection (`s:` the seed, `t:` a tenant's), so
//!   they do not depend on the order of the specs on the command line. See `read.lua` for the
//!   keys of one collection.
//! - The fixtures (the seed) are written once per Redis, by the first process that finds a spec
//!   unseeded; a tenant's collection is a copy of the seed's made on its first write, and reads
//!   go to the seed until then. A restart therefore loads nothing and loses nothing.
//! - The connection is the `redis` crate's connection manager: one multiplexed connection that
//!   every request shares (their commands are pipelined on it) and that reconnects by itself.
//!   While Redis cannot be reached, each step fails within its timeouts and is answered 503 in
//!   the API's own error shape; nothing is acknowledged that Redis did not take.
//! - The sandbox clock's offsets are read from Redis in the background every 100 ms (and at
//!   once by the process that moves it), so a request never waits for them.

mod ops;
mod scripts;

use crate::model::Api;
use crate::model::errors::ApiError;
use crate::state::memory::{CollectionKey, Seed};
use crate::state::step::unavailable;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// A tenant as this backend names it: its name, and the names of its own keys.
#[derive(Clone)]
pub struct Tenant {
    pub name: Arc<str>,
    /// `{prefix}t:{len}:{name}:`, the start of its collections' keys.
    coll: Arc<str>,
}

/// What `--store redis://...` and `--store-prefix` say.
#[derive(Debug, Clone)]
pub struct Config {
    pub url: String,
    pub prefix: String,
    /// The CA (PEM) that signed a `rediss://` server's certificate, when it is not a public one.
    pub ca: Option<std::path::PathBuf>,
}

/// The connection and what every version of the model shares (a reload of `--watch` makes a new
/// [`RedisStore`] over the same connection).
struct Shared {
    client: redis::Client,
    /// Where it connects, without credentials, for messages.
    shown: String,
    /// `{prefix}:`.
    prefix: String,
    conn: OnceLock<ConnectionManager>,
    /// The runtime the connection lives on, for work started from other threads (a reload).
    runtime: OnceLock<tokio::runtime::Handle>,
    /// The fixtures are in Redis: requests may be served.
    ready: AtomicBool,
    /// Why the last attempt to connect or seed failed.
    last_error: parking_lot::Mutex<Option<String>>,
    /// Clock offsets in ms (`*`: every tenant), as last read from Redis.
    clock: parking_lot::RwLock<HashMap<String, u64>>,
    /// The fault rules every process shares (`{prefix}faults`), as last read, and how often they
    /// changed (processes compare it with the version their own copy is of).
    rules: parking_lot::RwLock<Vec<serde_json::Value>>,
    rules_version: std::sync::atomic::AtomicU64,
    /// The key the OAuth2 token endpoint signs its tokens with, kept in Redis so that every
    /// replica (and a restarted one) accepts every token.
    secret: OnceLock<[u8; 32]>,
}

/// A store over Redis for one version of the model (cheap to clone: two `Arc`s).
#[derive(Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
    model: Arc<Model>,
}

/// What the store knows of the model: how resources and specs are named in keys.
struct Model {
    /// Per resource (by index): the part of its keys that names it (`{spec}{collection}`).
    res_ids: Vec<String>,
    /// The other way round.
    res_index: HashMap<String, usize>,
    /// Per spec: its name in keys, and a digest of its fixtures (written once per Redis).
    specs: Vec<(String, String)>,
    /// Per resource (by index): its spec's index.
    res_specs: Vec<usize>,
    seed: Arc<Seed>,
}

/// How long one step may wait for Redis before it is answered 503.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

impl RedisStore {
    /// A store over Redis at `config.url`; nothing is connected until [`RedisStore::start`].
    pub fn new(config: &Config, api: &Api, seed: Seed) -> Result<RedisStore, String> {
        let client = match &config.ca {
            None => redis::Client::open(config.url.as_str()),
            Some(ca) => {
                let pem = std::fs::read(ca).map_err(|e| format!("--store-ca {}: {e}", ca.display()))?;
                redis::Client::build_with_tls(
                    config.url.as_str(),
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
        }
        .map_err(|e| format!("--store {}: not a Redis URL ({e})", shown(&config.url)))?;
        let prefix = if config.prefix.ends_with(':') {
            config.prefix.clone()
        } else {
            format!("{}:", config.prefix)
        };
        let shared = Arc::new(Shared {
            client,
            shown: shown(&config.url),
            prefix,
            conn: OnceLock::new(),
            runtime: OnceLock::new(),
            ready: AtomicBool::new(false),
            last_error: parking_lot::Mutex::new(Some("not connected yet".into())),
            clock: Default::default(),
            rules: Default::default(),
            rules_version: Default::default(),
            secret: OnceLock::new(),
        });
        Ok(RedisStore::over(shared, api, seed))
    }

    fn over(shared: Arc<Shared>, api: &Api, seed: Seed) -> RedisStore {
        let mut slugs: Vec<String> = Vec::new();
        for s in &api.specs {
            let mut slug = slug(&s.title);
            if slugs.contains(&slug) {
                slug = format!("{slug}-{}", slugs.len());
            }
            slugs.push(slug);
        }
        let res_ids: Vec<String> = api
            .resources
            .iter()
            .map(|r| {
                let spec = slugs.get(r.spec).map_or("", String::as_str);
                format!("{spec}{}", r.collection).replace(['|', ' '], "_")
            })
            .collect();
        let res_index = res_ids.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect();
        let digests = seed.fixture_digests(api.resources.len());
        let specs = slugs
            .into_iter()
            .enumerate()
            .map(|(i, slug)| {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                for (r, d) in api.resources.iter().zip(&digests) {
                    if r.spec == i {
                        (&r.collection, d).hash(&mut h);
                    }
                }
                (slug, format!("{:016x}", h.finish()))
            })
            .collect();
        RedisStore {
            shared,
            model: Arc::new(Model {
                res_specs: api.resources.iter().map(|r| r.spec).collect(),
                res_ids,
                res_index,
                specs,
                seed: Arc::new(seed),
            }),
        }
    }

    /// The store for the next version of the model (a reload): the same connection; specs that
    /// were not in Redis yet are seeded.
    pub fn successor(&self, api: &Api, seed: Seed) -> RedisStore {
        let next = RedisStore::over(self.shared.clone(), api, seed);
        // A reload runs on the watcher's thread: the seeding goes to the server's runtime.
        if let (Some(conn), Some(runtime)) = (self.shared.conn.get(), self.shared.runtime.get()) {
            let mut conn = conn.clone();
            let seeding = RedisStore::over(self.shared.clone(), api, Seed::default());
            let seed = next.model.seed.clone();
            runtime.spawn(async move {
                if let Err(e) = seeding.seed_all(&mut conn, &seed).await {
                    tracing::warn!("Redis store: seeding after the reload failed: {e}");
                }
            });
        }
        next
    }

    /// Connects and writes the fixtures (once per Redis); keeps trying in the background when
    /// Redis cannot be reached yet, for up to `wait` here. Then reads the clock every 100 ms.
    pub async fn start(&self, wait: Duration) {
        let _ = self.shared.runtime.set(tokio::runtime::Handle::current());
        if self.shared.conn.get().is_none() {
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(500));
            match ConnectionManager::new_lazy_with_config(self.shared.client.clone(), config) {
                Ok(c) => {
                    let _ = self.shared.conn.set(c);
                }
                Err(e) => {
                    *self.shared.last_error.lock() = Some(e.to_string());
                    tracing::error!("Redis store at {}: {e}", self.shared.shown);
                    return;
                }
            }
        }
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let me = self.clone();
        tokio::spawn(async move {
            let mut done = Some(done_tx);
            let mut delay = Duration::from_millis(100);
            let mut warned = false;
            loop {
                match me.prepare().await {
                    Ok(()) => {
                        me.shared.ready.store(true, Ordering::Release);
                        *me.shared.last_error.lock() = None;
                        tracing::info!("state in Redis at {} (prefix {:?})", me.shared.shown, me.shared.prefix);
                        break;
                    }
                    Err(e) => {
                        if !warned {
                            tracing::warn!(
                                "Redis store at {} not reachable yet ({e}); answering 503 until it is",
                                me.shared.shown
                            );
                            warned = true;
                        }
                        *me.shared.last_error.lock() = Some(e);
                        if let Some(tx) = done.take() {
                            let _ = tx.send(());
                        }
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(2));
                    }
                }
            }
            if let Some(tx) = done.take() {
                let _ = tx.send(());
            }
            // The clock and the fault rules, as other processes change them; the fixtures again
            // should Redis have lost them (a restart without persistence).
            let mut every = tokio::time::interval(Duration::from_millis(100));
            let mut ticks = 0u64;
            loop {
                every.tick().await;
                let _ = me.read_clock().await;
                let _ = me.read_rules().await;
                ticks += 1;
                if ticks.is_multiple_of(20)
                    && let Ok(mut conn) = me.conn()
                    && let Err(e) = me.seed_all(&mut conn, &me.model.seed).await
                {
                    tracing::warn!("Redis store: the fixtures could not be written again: {e}");
                }
            }
        });
        let _ = tokio::time::timeout(wait, done_rx).await;
    }

    /// Everything to do before serving: the signing key, the fixtures, the clock.
    async fn prepare(&self) -> Result<(), String> {
        let mut conn = self.conn().map_err(|e| e.message)?;
        let _: () = redis::cmd("PING")
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        let key = format!("{}secret", self.shared.prefix);
        let fresh: [u8; 32] = rand::random();
        let _: bool = redis::cmd("SET")
            .arg(&key)
            .arg(&fresh[..])
            .arg("NX")
            .query_async(&mut conn)
            .await
            .map(|v: Option<String>| v.is_some())
            .map_err(|e| e.to_string())?;
        let secret: Vec<u8> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .map_err(|e| e.to_string())?;
        if let Ok(s) = <[u8; 32]>::try_from(secret.as_slice()) {
            let _ = self.shared.secret.set(s);
        }
        self.seed_all(&mut conn, &self.model.seed).await?;
        self.read_clock().await.map_err(|e| e.message)?;
        self.read_rules().await.map_err(|e| e.message)?;
        Ok(())
    }

    /// The key OAuth2 tokens are signed with (the same for every process on this Redis), once
    /// connected.
    pub fn secret(&self) -> Option<[u8; 32]> {
        self.shared.secret.get().copied()
    }

    pub(crate) fn conn(&self) -> Result<ConnectionManager, ApiError> {
        self.shared
            .conn
            .get()
            .cloned()
            .ok_or_else(|| unavailable(format!("Redis at {} not connected yet", self.shared.shown)))
    }

    /// A connection for a request: only once the fixtures are in.
    pub(crate) fn ready_conn(&self) -> Result<ConnectionManager, ApiError> {
        if !self.shared.ready.load(Ordering::Acquire) {
            let why = self.shared.last_error.lock().clone().unwrap_or_default();
            return Err(unavailable(format!("Redis at {}: {why}", self.shared.shown)));
        }
        self.conn()
    }

    /// Every field of the hash `<prefix><name>` (the clock's offsets, the fault rules, their counts).
    async fn whole_hash<T: redis::FromRedisValue>(
        &self,
        mut conn: ConnectionManager,
        name: &str,
    ) -> Result<T, ApiError> {
        redis::cmd("HGETALL")
            .arg(format!("{}{name}", self.prefix()))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))
    }

    /// What a failed step answers: 503 while Redis cannot be reached or is too slow (retrying
    /// helps), 500 for an error of the step itself (a script that failed: retrying does not).
    pub(crate) fn failed(&self, e: &redis::RedisError) -> ApiError {
        let unreachable = e.is_io_error()
            || e.is_timeout()
            || e.is_connection_refusal()
            || e.is_connection_dropped()
            || e.is_unrecoverable_error();
        if unreachable {
            unavailable(format!("Redis at {}: {e}", self.shared.shown))
        } else {
            tracing::error!("Redis store: a step failed: {e}");
            ApiError::new(
                500,
                crate::model::errors::ErrorKind::Internal,
                format!("the sandbox's state store failed this step: {e}"),
            )
        }
    }

    pub fn tenant(&self, name: &str) -> Tenant {
        Tenant {
            name: Arc::from(name),
            coll: Arc::from(format!("{}t:{}:{name}:", self.shared.prefix, name.len())),
        }
    }

    fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// The keys of a tenant's own registries: `tc` (its collections), `ti` (idempotency), `tt`
    /// (timers).
    fn tenant_key(&self, kind: &str, t: &Tenant) -> String {
        format!("{}{kind}:{}:{}", self.prefix(), t.name.len(), t.name)
    }

    /// The base of a collection's keys: the tenant's, and the seed's.
    fn bases(&self, t: &Tenant, key: &CollectionKey) -> (String, String) {
        let res = self.model.res_ids.get(key.0).map_or("", String::as_str);
        (
            format!("{}{res}|{}", t.coll, key.1),
            format!("{}s:{res}|{}", self.prefix(), key.1),
        )
    }

    /// The collection a tenant's key base names (the inverse of [`RedisStore::bases`]).
    fn key_of(&self, t: &Tenant, base: &str) -> Option<CollectionKey> {
        let rest = base.strip_prefix(&*t.coll)?;
        let (res, scope) = rest.split_once('|')?;
        Some((*self.model.res_index.get(res)?, scope.to_string()))
    }

    pub fn seed(&self) -> &Seed {
        &self.model.seed
    }

    pub fn ahead(&self, tenant: Option<&str>) -> (u64, u64) {
        let clock = self.shared.clock.read();
        (
            clock.get("*").copied().unwrap_or(0),
            tenant.and_then(|t| clock.get(t)).copied().unwrap_or(0),
        )
    }

    async fn read_clock(&self) -> Result<(), ApiError> {
        let all: HashMap<String, u64> = self.whole_hash(self.conn()?, "clock").await?;
        *self.shared.clock.write() = all;
        Ok(())
    }

    /// Reads the shared fault rules; a change bumps [`RedisStore::rules_version`].
    pub(crate) async fn read_rules(&self) -> Result<(), ApiError> {
        let all: HashMap<u64, String> = self.whole_hash(self.conn()?, "faults").await?;
        let mut ids: Vec<&u64> = all.keys().collect();
        ids.sort();
        let rules: Vec<serde_json::Value> = ids
            .into_iter()
            .filter_map(|id| {
                let mut v: serde_json::Value = serde_json::from_str(all.get(id)?).ok()?;
                v.as_object_mut()?.insert("id".into(), serde_json::Value::from(*id));
                Some(v)
            })
            .collect();
        let changed = *self.shared.rules.read() != rules;
        if changed {
            *self.shared.rules.write() = rules;
            self.shared.rules_version.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    pub fn rules_version(&self) -> u64 {
        self.shared.rules_version.load(Ordering::Acquire)
    }

    pub fn rules(&self) -> Vec<serde_json::Value> {
        self.shared.rules.read().clone()
    }

    /// Adds a fault rule for every process; returns its id.
    pub async fn rule_add(&self, rule: &serde_json::Value) -> Result<u64, ApiError> {
        let mut conn = self.ready_conn()?;
        let id: u64 = redis::cmd("INCR")
            .arg(format!("{}faultid", self.prefix()))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))?;
        let _: () = redis::cmd("HSET")
            .arg(format!("{}faults", self.prefix()))
            .arg(id)
            .arg(rule.to_string())
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))?;
        self.read_rules().await?;
        Ok(id)
    }

    /// Removes one rule (`Some(id)`) or all, for every process; whether there was one.
    pub async fn rule_remove(&self, id: Option<u64>) -> Result<bool, ApiError> {
        let mut conn = self.ready_conn()?;
        let (faults, counts) = (format!("{}faults", self.prefix()), format!("{}faultn", self.prefix()));
        let removed: u64 = match id {
            Some(id) => redis::pipe()
                .atomic()
                .cmd("HDEL")
                .arg(&faults)
                .arg(id)
                .cmd("HDEL")
                .arg(&counts)
                .arg(format!("{id}:m"))
                .arg(format!("{id}:f"))
                .ignore()
                .query_async::<(u64,)>(&mut conn)
                .await
                .map(|(n,)| n),
            None => redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(&faults)
                .cmd("DEL")
                .arg(&counts)
                .ignore()
                .query_async::<(u64,)>(&mut conn)
                .await
                .map(|(n,)| n),
        }
        .map_err(|e| self.failed(&e))?;
        self.read_rules().await?;
        Ok(removed > 0)
    }

    /// Counts a request against the rules that match it (`(id, skip, times, probabilistic)`, in
    /// order), shared by every process: the rule that fires, and for a probabilistic one the
    /// count to roll with (see `scripts::FAULT_PICK`).
    pub async fn rule_pick(
        &self,
        matching: &[(u64, u64, Option<u64>, bool)],
    ) -> Result<Option<(u64, Option<u64>)>, ApiError> {
        let mut call = scripts::FAULT_PICK.prepare_invoke();
        call.arg(format!("{}faultn", self.prefix()));
        for (id, skip, times, prob) in matching {
            call.arg(id)
                .arg(skip)
                .arg(times.map_or(-1, |t| i64::try_from(t).unwrap_or(i64::MAX)))
                .arg(if *prob { "1" } else { "0" });
        }
        let mut conn = self.ready_conn()?;
        let v: redis::Value = call.invoke_async(&mut conn).await.map_err(|e| self.failed(&e))?;
        let num = |v: Option<&redis::Value>| match v {
            Some(redis::Value::Int(i)) => u64::try_from(*i).ok(),
            Some(redis::Value::BulkString(b)) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        };
        match v {
            redis::Value::Array(items) => {
                let word = match items.first() {
                    Some(redis::Value::BulkString(b)) => b.as_slice(),
                    _ => b"",
                };
                match word {
                    b"fire" => Ok(num(items.get(1)).map(|id| (id, None))),
                    b"maybe" => Ok(num(items.get(1)).map(|id| (id, num(items.get(2))))),
                    _ => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    /// A probabilistic rule's roll said yes: count it as fired.
    pub async fn rule_fired(&self, id: u64) -> Result<(), ApiError> {
        let mut conn = self.ready_conn()?;
        let _: i64 = redis::cmd("HINCRBY")
            .arg(format!("{}faultn", self.prefix()))
            .arg(format!("{id}:f"))
            .arg(1)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))?;
        Ok(())
    }

    /// Every rule's counts, as `id → (matched, fired)`.
    pub async fn rule_counts(&self) -> Result<HashMap<u64, (u64, u64)>, ApiError> {
        let all: HashMap<String, u64> = self.whole_hash(self.ready_conn()?, "faultn").await?;
        let mut out: HashMap<u64, (u64, u64)> = HashMap::new();
        for (k, n) in all {
            let Some((id, which)) = k.split_once(':') else { continue };
            let Ok(id) = id.parse::<u64>() else { continue };
            let slot = out.entry(id).or_default();
            if which == "m" {
                slot.0 = n;
            } else {
                slot.1 = n;
            }
        }
        Ok(out)
    }

    pub async fn advance(&self, tenant: Option<&str>, ms: u64) -> Result<(), ApiError> {
        let mut conn = self.ready_conn()?;
        let field = tenant.unwrap_or("*");
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("HINCRBY")
            .arg(format!("{}clock", self.prefix()))
            .arg(field)
            .arg(ms);
        if let Some(t) = tenant {
            pipe.cmd("SADD")
                .arg(format!("{}tenants", self.prefix()))
                .arg(t)
                .ignore();
        }
        let (_,): (u64,) = pipe.query_async(&mut conn).await.map_err(|e| self.failed(&e))?;
        self.read_clock().await
    }

    /// How Redis is doing: reachable (a PING within the timeout) and seeded.
    pub async fn health(&self) -> (bool, serde_json::Value) {
        let ping = match self.conn() {
            Ok(mut conn) => {
                let pinged: Result<(), redis::RedisError> = redis::cmd("PING").query_async(&mut conn).await;
                pinged.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.message),
        };
        let ready = self.shared.ready.load(Ordering::Acquire);
        let ok = ping.is_ok() && ready;
        let mut v = serde_json::json!({
            "kind": "redis",
            "ok": ok,
            "url": self.shared.shown,
            "prefix": self.shared.prefix,
        });
        let error = match ping {
            Err(e) => Some(e),
            Ok(()) if !ready => self.shared.last_error.lock().clone(),
            Ok(()) => None,
        };
        if let (Some(e), Some(obj)) = (error, v.as_object_mut()) {
            obj.insert("error".into(), serde_json::Value::String(e));
        }
        (ok, v)
    }

    /// Writes each spec's fixtures into Redis, unless a process did already (its marker says
    /// so). A marker left `loading` by a process that died expires, and the next one writes.
    async fn seed_all(&self, conn: &mut ConnectionManager, seed: &Seed) -> Result<(), String> {
        for (i, (slug, digest)) in self.model.specs.iter().enumerate() {
            let marker = format!("{}seeded:{slug}", self.prefix());
            let mut waited = 0;
            loop {
                let claimed: Option<String> = redis::cmd("SET")
                    .arg(&marker)
                    .arg("loading")
                    .arg("NX")
                    .arg("PX")
                    .arg(60_000)
                    .query_async(conn)
                    .await
                    .map_err(|e| e.to_string())?;
                if claimed.is_some() {
                    self.write_seed(conn, seed, i).await.map_err(|e| e.to_string())?;
                    let _: () = redis::cmd("SET")
                        .arg(&marker)
                        .arg(format!("done {digest}"))
                        .query_async(conn)
                        .await
                        .map_err(|e| e.to_string())?;
                    break;
                }
                let state: Option<String> = redis::cmd("GET")
                    .arg(&marker)
                    .query_async(conn)
                    .await
                    .map_err(|e| e.to_string())?;
                match state.as_deref() {
                    Some("loading") if waited < 600 => {
                        // Another process is writing them: wait for it (bounded: 60 s).
                        waited += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Some(s) if s.starts_with("done") => {
                        if s != format!("done {digest}") {
                            tracing::warn!(
                                "Redis store: the fixtures of {slug} in Redis were written from other fixtures; \
                                 they are kept (delete the keys under {:?} to load these)",
                                self.prefix()
                            );
                        }
                        break;
                    }
                    _ => {
                        return Err(format!(
                            "the fixtures of {slug} are still being written by another process"
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    async fn write_seed(
        &self,
        conn: &mut ConnectionManager,
        seed: &Seed,
        spec: usize,
    ) -> Result<(), redis::RedisError> {
        let api_res: Vec<usize> = (0..self.model.res_ids.len()).collect();
        let mut keys: Vec<&CollectionKey> = seed.collections.keys().collect();
        keys.sort();
        let mut count = 0usize;
        for key in keys {
            let Some(coll) = seed.collections.get(key) else {
                continue;
            };
            if !api_res.contains(&key.0) || self.spec_of(key.0) != Some(spec) {
                continue;
            }
            let base = format!(
                "{}s:{}|{}",
                self.prefix(),
                self.model.res_ids.get(key.0).map_or("", String::as_str),
                key.1
            );
            let mut pipe = redis::pipe();
            let mut in_pipe = 0;
            let mut ids_by_slot: HashMap<usize, String> = HashMap::new();
            for (id, slot) in coll.index.iter() {
                ids_by_slot.insert(*slot, id.clone());
            }
            for (slot, entry) in coll.slots.iter_from(0) {
                let (Some(e), Some(id)) = (entry.as_ref(), ids_by_slot.get(&slot)) else {
                    continue;
                };
                pipe.cmd("HSET")
                    .arg(format!("{base}:i"))
                    .arg(id)
                    .arg(record(e, slot))
                    .ignore();
                if !e.archived {
                    pipe.cmd("ZADD").arg(format!("{base}:l")).arg(slot).arg(id).ignore();
                }
                in_pipe += 1;
                count += 1;
                if in_pipe >= 1000 {
                    let _: () = pipe.query_async(conn).await?;
                    pipe = redis::pipe();
                    in_pipe = 0;
                }
            }
            // Unique values, and which item holds which (to release them when it changes).
            let mut held: HashMap<&String, Vec<String>> = HashMap::new();
            for (rule, values) in coll.unique.iter().enumerate() {
                for (value, id) in values.iter() {
                    let c = format!("{rule}:{value}");
                    pipe.cmd("HSET").arg(format!("{base}:u")).arg(&c).arg(id).ignore();
                    held.entry(id).or_default().push(c);
                }
            }
            for (id, claims) in held {
                pipe.cmd("HSET")
                    .arg(format!("{base}:c"))
                    .arg(id)
                    .arg(claims.join("\0"))
                    .ignore();
            }
            pipe.cmd("HSET")
                .arg(format!("{base}:m"))
                .arg("n")
                .arg(coll.slots.len())
                .arg("seq")
                .arg(coll.max_seq)
                .ignore();
            let _: () = pipe.query_async(conn).await?;
        }
        tracing::info!("Redis store: wrote {count} fixture item(s) of spec {}", spec);
        Ok(())
    }

    fn spec_of(&self, res: usize) -> Option<usize> {
        self.model.res_specs.get(res).copied()
    }

    pub async fn reset(&self, tenant: Option<&str>) -> Result<(), ApiError> {
        let mut conn = self.ready_conn()?;
        let mut call = scripts::RESET.prepare_invoke();
        call.arg(self.prefix())
            .arg(tenant.unwrap_or(""))
            .arg(if tenant.is_none() { "1" } else { "0" });
        let _: redis::Value = call.invoke_async(&mut conn).await.map_err(|e| self.failed(&e))?;
        self.read_clock().await
    }

    pub async fn tenant_names(&self) -> Result<Vec<String>, ApiError> {
        let mut conn = self.ready_conn()?;
        redis::cmd("SMEMBERS")
            .arg(format!("{}tenants", self.prefix()))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))
    }
}

/// The flags digit of an entry (see `read.lua`).
fn flags(e: &crate::state::item::Entry) -> u8 {
    u8::from(e.archived) + 2 * u8::from(e.plain) + 4 * u8::from(e.from_example)
}

/// An entry as a record: flags, slot, `:`, JSON.
fn record(e: &crate::state::item::Entry, slot: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(e.json.len() + 12);
    out.push(b'0' + flags(e));
    out.extend_from_slice(itoa::Buffer::new().format(slot).as_bytes());
    out.push(b':');
    out.extend_from_slice(&e.json);
    out
}

/// A record as an entry, with its slot.
fn entry(rec: &[u8]) -> Option<(usize, crate::state::item::Entry)> {
    let flags = rec.first()?.checked_sub(b'0')?;
    let colon = rec.iter().position(|b| *b == b':')?;
    let slot: usize = std::str::from_utf8(rec.get(1..colon)?).ok()?.parse().ok()?;
    let json = bytes::Bytes::copy_from_slice(rec.get(colon + 1..)?);
    Some((
        slot,
        crate::state::item::Entry {
            json,
            archived: flags & 1 != 0,
            plain: flags & 2 != 0,
            from_example: flags & 4 != 0,
        },
    ))
}

/// A spec's title as a key part: lower case, runs of anything else than letters and digits as `-`.
fn slug(title: &str) -> String {
    let mut out = String::new();
    for c in title.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "api".into() } else { out }
}

/// A Redis URL without its password.
fn shown(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}
