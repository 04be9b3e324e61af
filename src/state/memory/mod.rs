//! In-memory state: tenants, collections in creation order, unique indexes, idempotency records.
//!
//! State is partitioned by tenant (one per credential), and within a tenant by collection
//! (a resource, under one parent). Each collection has its own `RwLock`, so readers of one
//! collection never wait for writers of another and nothing takes a global lock. A tenant starts
//! from the fixtures by sharing them: its collections point at the seed's, and a collection is
//! copied only when the tenant first writes to it (`Arc::make_mut`), so a new credential costs
//! nothing even when the fixtures hold a million items.
//!
//! Items are kept as their JSON text, normalised to the resource's representation: several times
//! smaller than a parsed `Value` tree, and exactly what a read sends, so serving an item is a
//! copy of a reference-counted buffer.
//!
//! A collection keeps its items in slots in creation order (a deleted item leaves an empty slot,
//! so slot numbers are stable and make good cursors) with a Fenwick tree over "is listed"
//! (present and not archived). That gives the k-th listed item and the listed count in
//! O(log n), so a page costs the same in a list of ten thousand items or ten million, and a
//! cursor walk sees every item exactly once even while others append.

mod ops;

use crate::model::errors::ApiError;
use crate::model::resources::plan::Resource;
use crate::state::item::{Claim, Entry, claims_of, taken};
use dashmap::DashMap;
use parking_lot::RwLock;
use serde_json::Value;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The hasher of every map here. Keys are ids, unique values, tenant names: hashed on every
/// request, where SipHash (std's default) showed in profiles. foldhash is hashbrown's own
/// default, seeded per process, so keys chosen by a client cannot be aimed at one bucket ahead
/// of time (a local mock server needs no more resistance than that).
pub type Hasher = foldhash::fast::RandomState;
type Index<K, V> = HashMap<K, V, Hasher>;

/// Prefix sums over 0/1 flags with append, for O(log n) rank and select.
#[derive(Debug, Clone, Default)]
pub struct Fenwick {
    tree: Vec<u32>,
    /// Sum of all flags, kept as flags change: every page reports the count, and summing it
    /// from the tree reads one node per set bit of the length, scattered over the whole tree.
    total: usize,
}

impl Fenwick {
    pub fn push(&mut self, flag: bool) {
        // The new node covers (i - lowbit(i), i]: its own flag plus the sums of the nodes below.
        let i = self.tree.len() + 1;
        let low = i & i.wrapping_neg();
        let covered = self.prefix(i - 1) - self.prefix(i - low);
        self.tree.push(covered + u32::from(flag));
        self.total += usize::from(flag);
    }

    /// Sum of flags of slots `0..n`.
    pub fn prefix(&self, n: usize) -> u32 {
        let mut i = n.min(self.tree.len());
        let mut sum = 0;
        while i > 0 {
            sum += self.tree.get(i - 1).copied().unwrap_or(0);
            i &= i - 1;
        }
        sum
    }

    pub fn total(&self) -> usize {
        self.total
    }

    pub fn add(&mut self, slot: usize, delta: i32) {
        if slot >= self.tree.len() {
            return;
        }
        self.total = self.total.saturating_add_signed(delta as isize);
        let mut i = slot + 1;
        while i <= self.tree.len() {
            if let Some(node) = self.tree.get_mut(i - 1) {
                *node = node.wrapping_add_signed(delta);
            }
            i += i & i.wrapping_neg();
        }
    }

    /// The slot of the k-th (0-based) set flag.
    pub fn select(&self, k: usize) -> Option<usize> {
        let mut remaining = u32::try_from(k).ok()? + 1;
        let n = self.tree.len();
        let mut pos = 0;
        let mut step = n.checked_next_power_of_two().unwrap_or(n);
        while step > 0 {
            let next = pos + step;
            if let Some(node) = self.tree.get(next.wrapping_sub(1)).copied().filter(|_| next <= n)
                && node < remaining
            {
                pos = next;
                remaining -= node;
            }
            step >>= 1;
        }
        (pos < n).then_some(pos)
    }
}

/// Items in creation order, in fixed-size chunks. Appending never moves what is stored: one
/// `Vec` of a million items copied 40 MB each time it grew, under the collection's write lock.
#[derive(Debug, Clone, Default)]
pub struct Slots {
    /// Every chunk but the last is full.
    chunks: Vec<Vec<Option<Entry>>>,
}

const CHUNK: usize = 4096;

impl Slots {
    pub fn len(&self) -> usize {
        self.chunks
            .last()
            .map_or(0, |last| (self.chunks.len() - 1) * CHUNK + last.len())
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }

    pub fn get(&self, slot: usize) -> Option<&Option<Entry>> {
        self.chunks.get(slot / CHUNK)?.get(slot % CHUNK)
    }

    pub fn get_mut(&mut self, slot: usize) -> Option<&mut Option<Entry>> {
        self.chunks.get_mut(slot / CHUNK)?.get_mut(slot % CHUNK)
    }

    pub fn push(&mut self, entry: Option<Entry>) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK => chunk.push(entry),
            // The first chunk grows as a `Vec` does (to `CHUNK` at most, a power of two): most
            // collections hold a few items (those the spec's examples show), and a full chunk for
            // each cost megabytes for a spec with many resources. Later chunks are made full.
            None => self.chunks.push(vec![entry]),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(entry);
                self.chunks.push(chunk);
            }
        }
    }

    /// Slots `start..`, with their positions, in order.
    pub fn iter_from(&self, start: usize) -> impl Iterator<Item = (usize, &Option<Entry>)> {
        let first = start / CHUNK;
        self.chunks.iter().enumerate().skip(first).flat_map(move |(c, chunk)| {
            let skip = if c == first { start % CHUNK } else { 0 };
            chunk
                .iter()
                .enumerate()
                .skip(skip)
                .map(move |(i, e)| (c * CHUNK + i, e))
        })
    }

    /// Slots `..end`, with their positions, nearest first.
    pub fn iter_before(&self, end: usize) -> impl Iterator<Item = (usize, &Option<Entry>)> {
        let end = end.min(self.len());
        self.chunks
            .iter()
            .enumerate()
            .take(end.div_ceil(CHUNK))
            .rev()
            .flat_map(move |(c, chunk)| {
                let n = end.saturating_sub(c * CHUNK).min(chunk.len());
                chunk
                    .get(..n)
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                    .rev()
                    .map(move |(i, e)| (c * CHUNK + i, e))
            })
    }
}

/// A map from strings (ids, unique values) split into shards by hash, so that growing rehashes
/// one shard's keys, not all of them: with a million items in one map, one rehash held the
/// collection's write lock for about 200 ms.
#[derive(Debug, Clone)]
pub struct Sharded<V> {
    shards: Vec<Index<String, V>>,
    route: foldhash::fast::FixedState,
}

const SHARDS: usize = 16;

impl<V> Default for Sharded<V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Index::default()).collect(),
            route: foldhash::fast::FixedState::default(),
        }
    }
}

impl<V> Sharded<V> {
    fn shard(&self, key: &str) -> usize {
        use std::hash::BuildHasher;
        (self.route.hash_one(key) % SHARDS as u64) as usize
    }

    pub fn get(&self, key: &str) -> Option<&V> {
        self.shards.get(self.shard(key))?.get(key)
    }

    pub fn insert(&mut self, key: String, value: V) -> Option<V> {
        let i = self.shard(&key);
        self.shards.get_mut(i)?.insert(key, value)
    }

    pub fn remove(&mut self, key: &str) -> Option<V> {
        let i = self.shard(key);
        self.shards.get_mut(i)?.remove(key)
    }

    pub fn len(&self) -> usize {
        self.shards.iter().map(HashMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(HashMap::is_empty)
    }
}

/// One collection: items of one resource under one parent, for one tenant.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub slots: Slots,
    pub index: Sharded<usize>,
    pub listed: Fenwick,
    /// Per unique rule: normalised value → id.
    pub unique: Vec<Sharded<String>>,
    /// Highest integer id seen, for `{seq}` ids.
    pub max_seq: u64,
}

impl Collection {
    pub fn new(unique_rules: usize) -> Self {
        Collection {
            unique: (0..unique_rules).map(|_| Sharded::default()).collect(),
            ..Default::default()
        }
    }

    pub fn get(&self, id: &str) -> Option<&Entry> {
        self.index
            .get(id)
            .and_then(|s| self.slots.get(*s))
            .and_then(Option::as_ref)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Appends a new item (the caller has checked the id is free).
    pub fn insert(&mut self, id: String, entry: Entry) -> usize {
        if let Ok(n) = id.parse::<u64>() {
            self.max_seq = self.max_seq.max(n);
        }
        let slot = self.slots.len();
        self.listed.push(!entry.archived);
        self.slots.push(Some(entry));
        self.index.insert(id, slot);
        slot
    }

    pub fn replace(&mut self, id: &str, new: Entry) -> Option<&Entry> {
        let slot = *self.index.get(id)?;
        let entry = self.slots.get_mut(slot)?.as_mut()?;
        entry.json = new.json;
        entry.plain = new.plain;
        Some(entry)
    }

    pub fn set_archived(&mut self, id: &str, archived: bool) -> Option<&Entry> {
        let slot = *self.index.get(id)?;
        let entry = self.slots.get_mut(slot)?.as_mut()?;
        if entry.archived != archived {
            entry.archived = archived;
            self.listed.add(slot, if archived { -1 } else { 1 });
        }
        Some(entry)
    }

    pub fn remove(&mut self, id: &str) -> Option<Entry> {
        let slot = self.index.remove(id)?;
        let entry = self.slots.get_mut(slot)?.take()?;
        if !entry.archived {
            self.listed.add(slot, -1);
        }
        Some(entry)
    }

    /// Listed items from `slot` onwards (ascending).
    pub fn listed_from(&self, slot: usize) -> impl Iterator<Item = (usize, &Entry)> {
        self.slots
            .iter_from(slot)
            .filter_map(|(i, e)| e.as_ref().filter(|e| !e.archived).map(|e| (i, e)))
    }

    /// Listed items before `slot` (descending: nearest first).
    pub fn listed_before(&self, slot: usize) -> impl Iterator<Item = (usize, &Entry)> {
        self.slots
            .iter_before(slot)
            .filter_map(|(i, e)| e.as_ref().filter(|e| !e.archived).map(|e| (i, e)))
    }

    pub fn listed_count(&self) -> usize {
        self.listed.total()
    }

    /// Number of listed items in slots `0..slot`.
    pub fn rank(&self, slot: usize) -> usize {
        self.listed.prefix(slot) as usize
    }
}

/// A replayable response kept for an idempotency key.
#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    /// Method, path and body of the first request: a reuse with another request is an error.
    pub fingerprint: u64,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: bytes::Bytes,
    pub at: Instant,
    /// Still executing: a concurrent reuse is answered with a conflict.
    pub pending: bool,
}

/// Key of a collection: resource index and the ids of its ancestors, joined.
pub type CollectionKey = (usize, String);

/// A tenant's view of a collection: shared with the seed until the tenant first writes to it.
pub type SharedCollection = Arc<RwLock<Arc<Collection>>>;

#[derive(Default)]
pub struct Tenant {
    pub name: String,
    collections: DashMap<CollectionKey, SharedCollection, Hasher>,
    pub idempotency: DashMap<String, IdempotencyRecord, Hasher>,
    /// How far this tenant's sandbox clock is ahead of the store's, in milliseconds.
    ahead_ms: AtomicU64,
    /// Timed transitions waiting for the clock, soonest first. Only a write that puts an item in
    /// a state with a timed transition out of it takes this (per tenant) lock.
    pub timers: parking_lot::Mutex<BinaryHeap<Reverse<Timer>>>,
}

/// A timed transition waiting for the sandbox clock (`x-specbox-lifecycle`, `after:`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timer {
    /// When it falls due, in Unix milliseconds of the tenant's clock.
    pub due_ms: u64,
    /// Scheduling order, so timers due at the same time run in the order they were set.
    pub seq: u64,
    pub key: CollectionKey,
    pub id: String,
    pub from: String,
    pub to: String,
}

static TIMER_SEQ: AtomicU64 = AtomicU64::new(0);

impl Tenant {
    /// Sets a timer (see [`Timer`]); its `seq` is set here.
    pub fn schedule(&self, timer: Timer) {
        let seq = TIMER_SEQ.fetch_add(1, Ordering::Relaxed);
        self.timers.lock().push(Reverse(Timer { seq, ..timer }));
    }

    /// The next timer due at or before `now_ms`, taken off the queue.
    pub fn next_due(&self, now_ms: u64) -> Option<Timer> {
        let mut timers = self.timers.lock();
        if timers.peek().is_some_and(|Reverse(t)| t.due_ms <= now_ms) {
            return timers.pop().map(|Reverse(t)| t);
        }
        None
    }
}

/// The initial state every tenant starts from.
#[derive(Default)]
pub struct Seed {
    pub collections: HashMap<CollectionKey, Arc<Collection>>,
    /// Unique-rule count per resource, to make empty collections.
    pub unique_counts: Vec<usize>,
}

pub struct MemoryStore {
    tenants: DashMap<String, Arc<Tenant>, Hasher>,
    seed: Arc<Seed>,
    /// How far every tenant's sandbox clock is ahead of real time, in milliseconds. Shared with
    /// the store of the next version after a reload (see [`MemoryStore::carry_clock`]).
    ahead_ms: Arc<AtomicU64>,
}

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

impl MemoryStore {
    pub fn new(seed: Seed) -> Self {
        MemoryStore {
            tenants: DashMap::default(),
            seed: Arc::new(seed),
            ahead_ms: Arc::default(),
        }
    }

    /// How far the clock is ahead of real time: for every tenant, and for `tenant` alone.
    pub fn ahead(&self, tenant: Option<&Tenant>) -> (u64, u64) {
        (
            self.ahead_ms.load(Ordering::Relaxed),
            tenant.map_or(0, |t| t.ahead_ms.load(Ordering::Relaxed)),
        )
    }

    /// Moves the clock of one tenant, or of all, forward by `ms`.
    pub fn advance(&self, tenant: Option<&str>, ms: u64) {
        match tenant {
            Some(t) => {
                self.tenant(t).ahead_ms.fetch_add(ms, Ordering::Relaxed);
            }
            None => {
                self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
            }
        }
    }

    /// Every tenant that has timers waiting.
    pub fn timed_tenants(&self) -> Vec<Arc<Tenant>> {
        self.tenants
            .iter()
            .filter(|t| !t.value().timers.lock().is_empty())
            .map(|t| t.value().clone())
            .collect()
    }

    /// Keeps the clock of `old` (a reload swaps the store; time does not go back).
    pub fn carry_clock(&mut self, old: &MemoryStore) {
        self.ahead_ms = old.ahead_ms.clone();
    }

    pub fn tenant(&self, name: &str) -> Arc<Tenant> {
        if let Some(t) = self.tenants.get(name) {
            return t.clone();
        }
        self.tenants
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(Tenant {
                    name: name.to_string(),
                    ..Tenant::default()
                })
            })
            .clone()
    }

    pub fn collection(&self, tenant: &Tenant, key: CollectionKey) -> SharedCollection {
        if let Some(c) = tenant.collections.get(&key) {
            return c.clone();
        }
        let seed_key = key.clone();
        tenant
            .collections
            .entry(key)
            .or_insert_with(|| {
                let initial = self.seed.collections.get(&seed_key).cloned().unwrap_or_else(|| {
                    Arc::new(Collection::new(
                        self.seed.unique_counts.get(seed_key.0).copied().unwrap_or(0),
                    ))
                });
                Arc::new(RwLock::new(initial))
            })
            .clone()
    }

    /// Forgets a tenant's changes (or everyone's): the next request starts from the fixtures.
    pub fn reset(&self, tenant: Option<&str>) {
        match tenant {
            Some(t) => {
                self.tenants.remove(t);
            }
            None => self.tenants.clear(),
        }
    }

    /// The state every tenant starts from.
    pub fn seed(&self) -> &Seed {
        &self.seed
    }

    pub fn tenant_names(&self) -> Vec<String> {
        self.tenants.iter().map(|t| t.key().clone()).collect()
    }

    /// What a tenant sees, collection by collection (the fixtures' own collections when `tenant`
    /// is `None` or has sent nothing yet), sorted by key: for the dashboard, never for requests.
    /// Each collection is a snapshot (its `Arc`, taken under its read lock for a moment), and a
    /// tenant that does not exist is not created.
    pub fn snapshot(&self, tenant: Option<&str>) -> Vec<(CollectionKey, Arc<Collection>)> {
        let mut out: HashMap<CollectionKey, Arc<Collection>> = self.seed.collections.clone();
        if let Some(t) = tenant.and_then(|t| self.tenants.get(t)) {
            for c in t.collections.iter() {
                out.insert(c.key().clone(), c.value().read().clone());
            }
        }
        let mut out: Vec<_> = out.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Takes over, from the store of the previous model (a reload), what its tenants wrote to
    /// the resources that are kept: `kept[old resource index]` is the resource's index in the new
    /// model, or `None` to start it from the new seed. Returns how many collections were kept.
    ///
    /// A collection a tenant wrote to is shared, not copied (the same `Arc<RwLock<..>>`), so a
    /// write that the previous engine finishes during the swap lands in the state the new one
    /// serves. One a tenant never wrote to still points at the old seed: it is left behind, and
    /// the tenant reads the new seed (which may carry changed examples). Idempotency records are
    /// copied. Tenants that appear in the old store after this ran are not taken over.
    pub fn carry_over(&self, old: &MemoryStore, kept: &[Option<usize>]) -> usize {
        let mut carried = 0;
        for old_tenant in &old.tenants {
            let tenant = self.tenant(old_tenant.key());
            for record in &old_tenant.idempotency {
                tenant.idempotency.insert(record.key().clone(), record.value().clone());
            }
            // The tenant's clock, and the timers of resources that were kept.
            tenant
                .ahead_ms
                .store(old_tenant.ahead_ms.load(Ordering::Relaxed), Ordering::Relaxed);
            let timers: Vec<Timer> = old_tenant
                .timers
                .lock()
                .iter()
                .filter_map(|Reverse(t)| {
                    let new_res = kept.get(t.key.0).copied().flatten()?;
                    Some(Timer {
                        key: (new_res, t.key.1.clone()),
                        ..t.clone()
                    })
                })
                .collect();
            tenant.timers.lock().extend(timers.into_iter().map(Reverse));
            for c in &old_tenant.collections {
                let (res, scope) = c.key();
                let Some(new_res) = kept.get(*res).copied().flatten() else {
                    continue;
                };
                let untouched = old
                    .seed
                    .collections
                    .get(c.key())
                    .is_some_and(|seeded| Arc::ptr_eq(seeded, &c.value().read()));
                if !untouched {
                    tenant.collections.insert((new_res, scope.clone()), c.value().clone());
                    carried += 1;
                }
            }
        }
        carried
    }
}

impl Seed {
    /// Per resource (by index, `resources` of them): a digest of the items the fixtures give it
    /// (the items from the spec's examples excepted), to tell whether its fixtures changed.
    pub fn fixture_digests(&self, resources: usize) -> Vec<u64> {
        use std::hash::{Hash, Hasher};
        let mut keys: Vec<&CollectionKey> = self.collections.keys().collect();
        keys.sort();
        let mut hashers: Vec<std::collections::hash_map::DefaultHasher> =
            (0..resources).map(|_| Default::default()).collect();
        for key in keys {
            let (Some(h), Some(c)) = (hashers.get_mut(key.0), self.collections.get(key)) else {
                continue;
            };
            for (_, entry) in c.slots.iter_from(0) {
                if let Some(e) = entry.as_ref().filter(|e| !e.from_example) {
                    (&key.1, &e.json[..], e.archived).hash(h);
                }
            }
        }
        hashers.iter().map(Hasher::finish).collect()
    }
}

/// The first claim of `claims` that another item than `self_id` holds in `coll`.
pub fn first_taken(coll: &Collection, claims: &[Claim], self_id: Option<&str>) -> Option<usize> {
    claims.iter().find_map(|(rule, key)| {
        coll.unique
            .get(*rule)
            .and_then(|m| m.get(key))
            .is_some_and(|owner| Some(owner.as_str()) != self_id)
            .then_some(*rule)
    })
}

pub fn claim(coll: &mut Collection, claims: &[Claim], id: &str) {
    for (rule, key) in claims {
        if let Some(map) = coll.unique.get_mut(*rule) {
            map.insert(key.clone(), id.to_string());
        }
    }
}

pub fn release(coll: &mut Collection, claims: &[Claim], id: &str) {
    for (rule, key) in claims {
        if let Some(map) = coll.unique.get_mut(*rule)
            && map.get(key).is_some_and(|owner| owner == id)
        {
            map.remove(key);
        }
    }
}

/// Registers a fixture item's unique values (used when seeding).
pub fn seed_unique(coll: &mut Collection, r: &Resource, value: &Value, id: &str) -> Result<(), ApiError> {
    let obj = value.as_object().cloned().unwrap_or_default();
    let claims = claims_of(r, &obj);
    if let Some(rule) = first_taken(coll, &claims, Some(id)) {
        return Err(taken(r, rule, None));
    }
    claim(coll, &claims, id);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry::from_json(b"{}".to_vec(), true)
    }

    /// Chunked slots and the sharded index behave as one `Vec` and one map would, across chunk
    /// boundaries: lookups, removals, and both iteration directions from any position.
    #[test]
    fn chunked_slots_and_sharded_index_match_plain_collections() {
        let n = 2 * CHUNK + 17;
        let mut c = Collection::new(1);
        let mut plain: Vec<Option<String>> = Vec::new();
        for i in 0..n {
            let id = format!("id-{i}");
            c.insert(
                id.clone(),
                Entry::from_json(format!("{{\"i\":{i}}}").into_bytes(), true),
            );
            plain.push(Some(id));
        }
        for i in (0..n).step_by(3) {
            assert!(c.remove(&format!("id-{i}")).is_some());
            if let Some(p) = plain.get_mut(i) {
                *p = None;
            }
        }
        assert_eq!(c.len(), plain.iter().flatten().count());
        assert_eq!(c.slots.len(), n);
        for (i, id) in plain.iter().enumerate() {
            match id {
                Some(id) => assert_eq!(
                    c.get(id).map(|e| e.json.clone()),
                    Some(format!("{{\"i\":{i}}}").into()),
                    "{id}"
                ),
                None => assert!(c.get(&format!("id-{i}")).is_none()),
            }
        }
        let present: Vec<usize> = (0..n).filter(|i| plain.get(*i).is_some_and(Option::is_some)).collect();
        for start in [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, n - 1, n, n + 5] {
            let forward: Vec<usize> = c.listed_from(start).map(|(s, _)| s).collect();
            let expected: Vec<usize> = present.iter().copied().filter(|s| *s >= start).collect();
            assert_eq!(forward, expected, "from {start}");
            let backward: Vec<usize> = c.listed_before(start).map(|(s, _)| s).collect();
            let expected: Vec<usize> = present.iter().rev().copied().filter(|s| *s < start).collect();
            assert_eq!(backward, expected, "before {start}");
        }
        let mut unique = Sharded::default();
        assert!(unique.is_empty());
        unique.insert("a@b.c".to_string(), "1".to_string());
        assert_eq!(unique.get("a@b.c").map(String::as_str), Some("1"));
        assert_eq!(unique.remove("a@b.c").as_deref(), Some("1"));
        assert!(unique.get("a@b.c").is_none() && unique.is_empty());
        assert_eq!(unique.len(), 0);
    }

    /// The kept total, rank and select agree with a plain scan after appends, archives, restores
    /// and removals (the total is no longer summed from the tree).
    #[test]
    fn fenwick_total_rank_select_match_a_scan() {
        let mut c = Collection::new(0);
        for i in 0..300 {
            c.insert(i.to_string(), entry());
        }
        for i in (0..300).step_by(7) {
            c.set_archived(&i.to_string(), true);
        }
        for i in (0..300).step_by(14) {
            c.set_archived(&i.to_string(), false);
        }
        for i in (0..300).step_by(5) {
            c.remove(&i.to_string());
        }
        // Repeated changes are no-ops.
        c.set_archived("1", true);
        c.set_archived("1", true);
        assert!(c.remove("0").is_none());
        for i in 300..310 {
            c.insert(i.to_string(), entry());
        }
        let listed: Vec<usize> = c.listed_from(0).map(|(slot, _)| slot).collect();
        assert_eq!(c.listed_count(), listed.len());
        for (k, slot) in listed.iter().enumerate() {
            assert_eq!(c.listed.select(k), Some(*slot));
            assert_eq!(c.rank(*slot), k);
        }
        assert_eq!(c.listed.select(listed.len()), None);
        assert_eq!(c.rank(c.slots.len()), listed.len());
    }
}
