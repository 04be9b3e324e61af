//! The store interface ([`crate::state::store::Store`]) over the in-memory collections: each
//! step runs under the collection's lock (a write lock for a write), so a check and the write it
//! guards are one step, and never waits for anything else.

use super::{Collection, CollectionKey, IDEMPOTENCY_TTL, IdempotencyRecord, MemoryStore, Tenant};
use super::{claim, first_taken, release};
use crate::model::errors::ApiError;
use crate::model::resources::plan::Resource;
use crate::state::item::{Entry, claims_of_entry, exists, not_found, taken};
use crate::state::step::{Claimed, From, Insert, Page, PageQuery, Prepared, Scope};
use std::sync::Arc;
use std::time::Instant;

type WriteGuard = parking_lot::ArcRwLockWriteGuard<parking_lot::RawRwLock, Arc<Collection>>;

impl MemoryStore {
    /// Every ancestor the scope names exists (and is not archived... as before: present).
    fn parents_exist(&self, t: &Tenant, scope: &Scope<'_>) -> Result<(), ApiError> {
        for p in &scope.parents {
            if self.collection(t, p.key.clone()).read().get(&p.id).is_none() {
                return Err(not_found(p.r, &p.id));
            }
        }
        Ok(())
    }

    pub fn get(&self, t: &Tenant, scope: &Scope<'_>, id: &str) -> Result<Option<Entry>, ApiError> {
        self.parents_exist(t, scope)?;
        let coll = self.collection(t, scope.key.clone());
        let guard = coll.read();
        Ok(guard.get(id).cloned())
    }

    pub fn slot_of(&self, t: &Tenant, scope: &Scope<'_>, id: &str) -> Result<Option<usize>, ApiError> {
        self.parents_exist(t, scope)?;
        let coll = self.collection(t, scope.key.clone());
        let guard = coll.read();
        Ok(guard.index.get(id).copied())
    }

    pub fn create(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        inserts: Vec<Insert<'_>>,
    ) -> Result<Vec<(String, Entry)>, ApiError> {
        self.parents_exist(t, scope)?;
        // Every collection this create touches is locked in key order, so two creates that touch
        // the same two collections cannot deadlock.
        let mut keys: Vec<CollectionKey> = inserts.iter().map(|i| i.key.clone()).collect();
        keys.sort();
        keys.dedup();
        let mut guards: Vec<(CollectionKey, WriteGuard)> = keys
            .into_iter()
            .map(|k| {
                let g = self.collection(t, k.clone()).write_arc();
                (k, g)
            })
            .collect();
        // Each item is checked against the collection and the items staged before it; nothing
        // is written until every one has passed.
        let mut staged: Vec<(usize, Prepared, &Resource)> = Vec::with_capacity(inserts.len());
        for ins in inserts {
            let g = guards.iter().position(|(k, _)| *k == ins.key).ok_or_else(|| {
                ApiError::new(500, crate::model::errors::ErrorKind::Internal, "collection not locked")
            })?;
            let coll: &Collection = guards.get(g).map(|(_, c)| &***c).ok_or_else(|| {
                ApiError::new(500, crate::model::errors::ErrorKind::Internal, "collection not locked")
            })?;
            let same: Vec<&Prepared> = staged.iter().filter(|(sg, _, _)| *sg == g).map(|(_, p, _)| p).collect();
            let max_seq = same
                .iter()
                .filter_map(|p| p.key.parse::<u64>().ok())
                .fold(coll.max_seq, u64::max);
            let p = (ins.prepare)(max_seq + 1)?;
            let prefix = ins.field_prefix.as_deref();
            if coll.get(&p.key).is_some_and(|e| !e.from_example) || same.iter().any(|s| s.key == p.key) {
                return Err(exists(ins.r, &p.key));
            }
            // A stand-in from the spec's examples with this key gives way: its values don't count.
            let stand_in = coll.get(&p.key).is_some().then_some(p.key.as_str());
            if let Some(rule) = first_taken(coll, &p.claims, stand_in) {
                return Err(taken(ins.r, rule, prefix));
            }
            if let Some(rule) = p
                .claims
                .iter()
                .find_map(|c| same.iter().any(|s| s.claims.contains(c)).then_some(c.0))
            {
                return Err(taken(ins.r, rule, prefix));
            }
            staged.push((g, p, ins.r));
        }
        let mut out = Vec::with_capacity(staged.len());
        for (g, p, r) in staged {
            let Some((_, guard)) = guards.get_mut(g) else { continue };
            let coll = Arc::make_mut(guard);
            if let Some(stand_in) = coll.remove(&p.key) {
                release(coll, &claims_of_entry(r, &stand_in), &p.key);
            }
            claim(coll, &p.claims, &p.key);
            coll.insert(p.key.clone(), p.entry.clone());
            out.push((p.key, p.entry));
        }
        Ok(out)
    }

    pub fn update(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        r: &Resource,
        id: &str,
        next: &mut (dyn FnMut(&Entry) -> Result<Prepared, ApiError> + Send),
    ) -> Result<Entry, ApiError> {
        self.parents_exist(t, scope)?;
        let coll = self.collection(t, scope.key.clone());
        let mut shared = coll.write();
        let guard = Arc::make_mut(&mut shared);
        let current = guard.get(id).ok_or_else(|| not_found(r, id))?;
        let old_claims = claims_of_entry(r, current);
        let p = next(current)?;
        if let Some(rule) = first_taken(guard, &p.claims, Some(id)) {
            return Err(taken(r, rule, None));
        }
        release(guard, &old_claims, id);
        claim(guard, &p.claims, id);
        guard.replace(id, p.entry.clone());
        Ok(p.entry)
    }

    pub fn remove(&self, t: &Tenant, scope: &Scope<'_>, r: &Resource, id: &str) -> Result<Entry, ApiError> {
        self.parents_exist(t, scope)?;
        let coll = self.collection(t, scope.key.clone());
        let mut shared = coll.write();
        let guard = Arc::make_mut(&mut shared);
        let entry = guard.remove(id).ok_or_else(|| not_found(r, id))?;
        release(guard, &claims_of_entry(r, &entry), id);
        Ok(entry)
    }

    pub fn set_archived(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        r: &Resource,
        id: &str,
        archived: bool,
    ) -> Result<Option<Entry>, ApiError> {
        self.parents_exist(t, scope)?;
        let coll = self.collection(t, scope.key.clone());
        let mut shared = coll.write();
        let guard = Arc::make_mut(&mut shared);
        let entry = guard.get(id).ok_or_else(|| not_found(r, id))?;
        if entry.archived == archived {
            return Ok(None);
        }
        Ok(guard.set_archived(id, archived).cloned())
    }

    pub fn find_unique(&self, t: &Tenant, key: &CollectionKey, rule: usize, value: &str) -> Option<Entry> {
        let coll = self.collection(t, key.clone());
        let guard = coll.read();
        let id = guard.unique.get(rule)?.get(value)?;
        guard.get(id).cloned()
    }

    /// A page found by rank in the collection's Fenwick index (never by scanning), unless a filter
    /// must look at each candidate.
    pub fn page(&self, t: &Tenant, scope: &Scope<'_>, q: &PageQuery<'_>) -> Result<Page, ApiError> {
        self.parents_exist(t, scope)?;
        let coll = self.collection(t, scope.key.clone());
        let guard = coll.read();
        // An exact match on a unique field: the index names the only candidate.
        let only: Option<Option<usize>> = q.only.as_ref().map(|(rule, value)| {
            guard
                .unique
                .get(*rule)
                .and_then(|m| m.get(value))
                .and_then(|id| guard.index.get(id).copied())
        });
        let filtered = only.is_some() || q.keep.is_some();
        let keep = |slot: usize, e: &Entry| match only {
            Some(found) => found == Some(slot),
            None => q.keep.is_none_or(|k| k(e)),
        };
        let limit = q.limit;
        let mut page = Page::default();
        match q.from {
            From::Before(b) => {
                let mut found: Vec<(usize, &Entry)> = guard
                    .listed_before(b)
                    .filter(|(s, e)| keep(*s, e))
                    .take(limit.saturating_add(1))
                    .collect();
                page.has_prev = found.len() > limit;
                found.truncate(limit);
                found.reverse();
                page.items = found.into_iter().map(|(s, e)| (s, e.clone())).collect();
                page.has_next = guard.listed_from(b).any(|(s, e)| keep(s, e));
            }
            From::After(after) => {
                // A cursor past every slot (found by fuzzing: usize::MAX) is an empty page, not a wrap.
                let start = after.map_or(0, |a| a.saturating_add(1));
                let mut it = guard.listed_from(start).filter(|(s, e)| keep(*s, e));
                page.items.extend(it.by_ref().take(limit).map(|(s, e)| (s, e.clone())));
                page.has_next = it.next().is_some();
                let first = page.items.first().map_or(start, |(s, _)| *s);
                page.has_prev = if filtered {
                    guard.listed_before(first).any(|(s, e)| keep(s, e))
                } else {
                    guard.rank(first) > 0
                };
            }
            From::Offset(offset) => {
                if filtered {
                    let mut count = 0;
                    for (slot, e) in guard.listed_from(0) {
                        if keep(slot, e) {
                            if count >= offset && page.items.len() < limit {
                                page.items.push((slot, e.clone()));
                            }
                            count += 1;
                        }
                    }
                    page.total = Some(count);
                    page.has_next = offset.saturating_add(page.items.len()) < count;
                } else {
                    // The k-th listed item in O(log n): no scan of the items before the page.
                    if let Some(start) = guard.listed.select(offset) {
                        page.items
                            .extend(guard.listed_from(start).take(limit).map(|(s, e)| (s, e.clone())));
                    }
                    let count = guard.listed_count();
                    page.total = Some(count);
                    page.has_next = offset.saturating_add(page.items.len()) < count;
                }
                page.has_prev = offset > 0;
            }
        }
        if q.total && page.total.is_none() {
            page.total = Some(if filtered {
                guard.listed_from(0).filter(|(s, e)| keep(*s, e)).count()
            } else {
                guard.listed_count()
            });
        }
        Ok(page)
    }

    pub fn idem_begin(&self, t: &Tenant, key: &str, fingerprint: u64) -> Claimed {
        use dashmap::mapref::entry::Entry as Slot;
        let pending = IdempotencyRecord {
            fingerprint,
            status: 0,
            content_type: None,
            body: bytes::Bytes::new(),
            at: Instant::now(),
            pending: true,
        };
        match t.idempotency.entry(key.to_string()) {
            Slot::Vacant(v) => {
                v.insert(pending);
                Claimed::New
            }
            Slot::Occupied(mut o) => {
                let rec = o.get();
                if rec.at.elapsed() > IDEMPOTENCY_TTL {
                    o.insert(pending);
                    return Claimed::New;
                }
                if rec.fingerprint != fingerprint {
                    return Claimed::Mismatch;
                }
                if rec.pending {
                    return Claimed::Pending;
                }
                Claimed::Replay {
                    status: rec.status,
                    content_type: rec.content_type.clone(),
                    body: rec.body.clone(),
                }
            }
        }
    }

    pub fn idem_finish(&self, t: &Tenant, key: &str, answer: Option<(u16, Option<String>, bytes::Bytes)>) {
        match answer {
            Some((status, content_type, body)) => {
                if let Some(mut rec) = t.idempotency.get_mut(key) {
                    rec.status = status;
                    rec.content_type = content_type;
                    rec.body = body;
                    rec.pending = false;
                }
            }
            None => {
                t.idempotency.remove(key);
            }
        }
    }
}
