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

use bytes::Bytes;
use dashmap::DashMap;
use parking_lot::RwLock;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The hasher of every map here. Keys are ids, unique values, tenant names: hashed on every
/// request, where SipHash (std's default) showed in profiles. foldhash is hashbrown's own
/// default, seeded per process, so keys chosen by a client cannot be aimed at one bucket ahead
/// of time (a local mock server needs no more resistance than that).
pub type Hasher = foldhash::fast::RandomState;
type Index<K, V> = HashMap<K, V, Hasher>;

/// A stored object.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The object as JSON text.
    pub json: Bytes,
    pub archived: bool,
    /// The text is exactly the resource's representation (no fields beyond it), so a response
    /// with that schema can send it unchanged.
    pub plain: bool,
}

impl Entry {
    /// An entry holding `json`, which must be one JSON object's text.
    pub fn from_json(json: Vec<u8>, plain: bool) -> Entry {
        Entry {
            json: Bytes::from(json),
            archived: false,
            plain,
        }
    }

    /// The object, parsed (for writes, filters and shapes other than the representation).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

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

/// One collection: items of one resource under one parent, for one tenant.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    pub slots: Vec<Option<Entry>>,
    pub index: Index<String, usize>,
    pub listed: Fenwick,
    /// Per unique rule: normalised value → id.
    pub unique: Vec<Index<String, String>>,
    /// Highest integer id seen, for `{seq}` ids.
    pub max_seq: u64,
}

impl Collection {
    pub fn new(unique_rules: usize) -> Self {
        Collection {
            unique: vec![Index::default(); unique_rules],
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
            .iter()
            .enumerate()
            .skip(slot)
            .filter_map(|(i, e)| e.as_ref().filter(|e| !e.archived).map(|e| (i, e)))
    }

    /// Listed items before `slot` (descending: nearest first).
    pub fn listed_before(&self, slot: usize) -> impl Iterator<Item = (usize, &Entry)> {
        let end = slot.min(self.slots.len());
        self.slots
            .get(..end)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .rev()
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
    collections: DashMap<CollectionKey, SharedCollection, Hasher>,
    pub idempotency: DashMap<String, IdempotencyRecord, Hasher>,
}

/// The initial state every tenant starts from.
#[derive(Default)]
pub struct Seed {
    pub collections: HashMap<CollectionKey, Arc<Collection>>,
    /// Unique-rule count per resource, to make empty collections.
    pub unique_counts: Vec<usize>,
}

pub struct Store {
    tenants: DashMap<String, Arc<Tenant>, Hasher>,
    seed: Arc<Seed>,
}

/// How long an idempotency key is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 60 * 60);

impl Store {
    pub fn new(seed: Seed) -> Self {
        Store {
            tenants: DashMap::default(),
            seed: Arc::new(seed),
        }
    }

    pub fn tenant(&self, name: &str) -> Arc<Tenant> {
        if let Some(t) = self.tenants.get(name) {
            return t.clone();
        }
        self.tenants.entry(name.to_string()).or_default().clone()
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

    pub fn tenant_names(&self) -> Vec<String> {
        self.tenants.iter().map(|t| t.key().clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry::from_json(b"{}".to_vec(), true)
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
