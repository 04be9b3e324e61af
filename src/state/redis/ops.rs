//! The store interface's steps over Redis: arguments for each script, and what its answer means.

use super::{RedisStore, Tenant, entry, scripts};
use crate::model::errors::{ApiError, ErrorKind};
use crate::model::resources::plan::Resource;
use crate::state::item::{Entry, exists, not_found, taken};
use crate::state::memory::{Collection, CollectionKey, IDEMPOTENCY_TTL, Timer};
use crate::state::step::{Claimed, From, Insert, Page, PageQuery, Prepared, Scope};
use redis::Value as R;
use std::sync::Arc;

/// How many times an update is tried again when another writer changed the item meanwhile.
const CAS_TRIES: usize = 32;
/// Items read per round trip by a filtered page (which reads the whole collection).
const SCAN_BATCH: usize = 500;

fn bytes(v: &R) -> Option<&[u8]> {
    match v {
        R::BulkString(b) => Some(b),
        R::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn int(v: &R) -> Option<i64> {
    match v {
        R::Int(i) => Some(*i),
        other => std::str::from_utf8(bytes(other)?).ok()?.parse().ok(),
    }
}

/// A script's answer: its status word and the rest.
fn answer(v: R) -> (String, Vec<R>) {
    match v {
        R::Array(mut items) if !items.is_empty() => {
            let head = items.remove(0);
            let word = bytes(&head)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            (word, items)
        }
        _ => (String::new(), Vec::new()),
    }
}

fn odd(what: &str) -> ApiError {
    ApiError::new(
        500,
        ErrorKind::Internal,
        format!("unexpected answer from the Redis store ({what})"),
    )
}

/// A claim as the scripts key it: `rule:value`.
fn claim_texts(p: &Prepared) -> Vec<String> {
    p.claims.iter().map(|(rule, value)| format!("{rule}:{value}")).collect()
}

/// An item to write, as the create and update scripts take it: its plain flag, its JSON text,
/// its claims joined, their count, each claim.
fn item_args(call: &mut redis::ScriptInvocation<'_>, p: &Prepared) {
    let claims = claim_texts(p);
    call.arg(if p.entry.plain { "2" } else { "0" })
        .arg(&p.entry.json[..])
        .arg(claims.join("\0"))
        .arg(claims.len());
    for c in &claims {
        call.arg(c);
    }
}

/// The rule of a claim text.
fn rule_of(v: Option<&R>) -> usize {
    v.and_then(bytes)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(|s| s.split_once(':'))
        .and_then(|(rule, _)| rule.parse().ok())
        .unwrap_or(0)
}

impl RedisStore {
    fn tenant_args(&self, call: &mut redis::ScriptInvocation<'_>, t: &Tenant) {
        call.arg(self.tenant_key("tc", t))
            .arg(format!("{}tenants", self.prefix()))
            .arg(&*t.name);
    }

    fn parent_args(&self, call: &mut redis::ScriptInvocation<'_>, t: &Tenant, scope: &Scope<'_>) {
        call.arg(scope.parents.len());
        for p in &scope.parents {
            let (tb, sb) = self.bases(t, &p.key);
            call.arg(tb).arg(sb).arg(&p.id);
        }
    }

    fn missing_parent(scope: &Scope<'_>, rest: &[R]) -> ApiError {
        let i = rest.first().and_then(int).unwrap_or(1);
        usize::try_from(i - 1)
            .ok()
            .and_then(|i| scope.parents.get(i))
            .map_or_else(|| odd("parent"), |p| not_found(p.r, &p.id))
    }

    async fn run(&self, call: &redis::ScriptInvocation<'_>) -> Result<(String, Vec<R>), ApiError> {
        let mut conn = self.ready_conn()?;
        let v: R = call.invoke_async(&mut conn).await.map_err(|e| self.failed(&e))?;
        Ok(answer(v))
    }

    pub async fn get(&self, t: &Tenant, scope: &Scope<'_>, id: &str) -> Result<Option<Entry>, ApiError> {
        Ok(self.get_call(t, scope, id).await?.map(|(_, e)| e))
    }

    /// The slot of item `id` (read with the item, which is stored with its slot).
    pub async fn slot_of(&self, t: &Tenant, scope: &Scope<'_>, id: &str) -> Result<Option<usize>, ApiError> {
        Ok(self.get_call(t, scope, id).await?.map(|(slot, _)| slot))
    }

    /// One call of the get script: the item `id` and its slot.
    async fn get_call(&self, t: &Tenant, scope: &Scope<'_>, id: &str) -> Result<Option<(usize, Entry)>, ApiError> {
        let (tb, sb) = self.bases(t, &scope.key);
        let mut call = scripts::GET.prepare_invoke();
        self.parent_args(&mut call, t, scope);
        call.arg(tb).arg(sb).arg(id);
        match self.run(&call).await? {
            (w, rest) if w == "ok" => Ok(rest.first().and_then(bytes).and_then(entry)),
            (w, _) if w == "none" => Ok(None),
            (w, rest) if w == "parent" => Err(Self::missing_parent(scope, &rest)),
            (w, _) => Err(odd(&w)),
        }
    }

    /// The collection's next sequence number, taken (for a `{seq}` id).
    async fn reserve(&self, t: &Tenant, key: &CollectionKey) -> Result<u64, ApiError> {
        let (tb, sb) = self.bases(t, key);
        let mut call = scripts::RESERVE.prepare_invoke();
        self.tenant_args(&mut call, t);
        call.arg(tb).arg(sb);
        let (_, rest) = self.run(&call).await?;
        rest.first()
            .and_then(int)
            .and_then(|n| u64::try_from(n).ok())
            .ok_or_else(|| odd("reserve"))
    }

    pub async fn create(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        inserts: Vec<Insert<'_>>,
    ) -> Result<Vec<(String, Entry)>, ApiError> {
        let mut staged: Vec<(&Resource, CollectionKey, Prepared, Option<String>)> = Vec::with_capacity(inserts.len());
        for ins in inserts {
            let seq = if ins.seq { self.reserve(t, &ins.key).await? } else { 0 };
            let p = (ins.prepare)(seq)?;
            staged.push((ins.r, ins.key, p, ins.field_prefix));
        }
        let mut call = scripts::CREATE.prepare_invoke();
        self.tenant_args(&mut call, t);
        self.parent_args(&mut call, t, scope);
        call.arg(staged.len());
        for (_, key, p, _) in &staged {
            let (tb, sb) = self.bases(t, key);
            call.arg(tb).arg(sb).arg(&p.key);
            item_args(&mut call, p);
        }
        let (word, rest) = self.run(&call).await?;
        let which = |rest: &[R]| {
            rest.first()
                .and_then(int)
                .and_then(|i| usize::try_from(i - 1).ok())
                .and_then(|i| staged.get(i))
        };
        match word.as_str() {
            "ok" => Ok(staged.into_iter().map(|(_, _, p, _)| (p.key, p.entry)).collect()),
            "exists" => Err(which(&rest).map_or_else(|| odd("exists"), |(r, _, p, _)| exists(r, &p.key))),
            "taken" => Err(which(&rest).map_or_else(
                || odd("taken"),
                |(r, _, _, prefix)| taken(r, rule_of(rest.get(1)), prefix.as_deref()),
            )),
            "parent" => Err(Self::missing_parent(scope, &rest)),
            other => Err(odd(other)),
        }
    }

    pub async fn update(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        r: &Resource,
        id: &str,
        next: &mut (dyn FnMut(&Entry) -> Result<Prepared, ApiError> + Send),
    ) -> Result<Entry, ApiError> {
        let (tb, sb) = self.bases(t, &scope.key);
        for _ in 0..CAS_TRIES {
            let mut read = scripts::GET.prepare_invoke();
            self.parent_args(&mut read, t, scope);
            read.arg(&tb).arg(&sb).arg(id);
            let rec = match self.run(&read).await? {
                (w, mut rest) if w == "ok" => match rest.pop() {
                    Some(R::BulkString(b)) => b,
                    _ => return Err(odd("read")),
                },
                (w, _) if w == "none" => return Err(not_found(r, id)),
                (w, rest) if w == "parent" => return Err(Self::missing_parent(scope, &rest)),
                (w, _) => return Err(odd(&w)),
            };
            let (_, current) = entry(&rec).ok_or_else(|| odd("record"))?;
            let p = next(&current)?;
            let mut call = scripts::UPDATE.prepare_invoke();
            self.tenant_args(&mut call, t);
            self.parent_args(&mut call, t, scope);
            call.arg(&tb).arg(&sb).arg(id).arg(&rec[..]);
            item_args(&mut call, &p);
            match self.run(&call).await? {
                (w, rest) if w == "ok" => {
                    return rest
                        .first()
                        .and_then(bytes)
                        .and_then(entry)
                        .map(|(_, e)| e)
                        .ok_or_else(|| odd("update"));
                }
                (w, _) if w == "retry" => continue,
                (w, _) if w == "none" => return Err(not_found(r, id)),
                (w, rest) if w == "taken" => return Err(taken(r, rule_of(rest.get(1)), None)),
                (w, rest) if w == "parent" => return Err(Self::missing_parent(scope, &rest)),
                (w, _) => return Err(odd(&w)),
            }
        }
        Err(ApiError::new(
            409,
            ErrorKind::Conflict,
            format!("{} {id:?} is being changed by other requests; retry", r.singular()),
        ))
    }

    pub async fn remove(&self, t: &Tenant, scope: &Scope<'_>, r: &Resource, id: &str) -> Result<Entry, ApiError> {
        let (tb, sb) = self.bases(t, &scope.key);
        let mut call = scripts::REMOVE.prepare_invoke();
        self.tenant_args(&mut call, t);
        self.parent_args(&mut call, t, scope);
        call.arg(tb).arg(sb).arg(id);
        match self.run(&call).await? {
            (w, rest) if w == "ok" => rest
                .first()
                .and_then(bytes)
                .and_then(entry)
                .map(|(_, e)| e)
                .ok_or_else(|| odd("remove")),
            (w, _) if w == "none" => Err(not_found(r, id)),
            (w, rest) if w == "parent" => Err(Self::missing_parent(scope, &rest)),
            (w, _) => Err(odd(&w)),
        }
    }

    pub async fn set_archived(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        r: &Resource,
        id: &str,
        archived: bool,
    ) -> Result<Option<Entry>, ApiError> {
        let (tb, sb) = self.bases(t, &scope.key);
        let mut call = scripts::ARCHIVE.prepare_invoke();
        self.tenant_args(&mut call, t);
        self.parent_args(&mut call, t, scope);
        call.arg(tb).arg(sb).arg(id).arg(if archived { "1" } else { "0" });
        match self.run(&call).await? {
            (w, rest) if w == "ok" => Ok(rest.first().and_then(bytes).and_then(entry).map(|(_, e)| e)),
            (w, _) if w == "same" => Ok(None),
            (w, _) if w == "none" => Err(not_found(r, id)),
            (w, rest) if w == "parent" => Err(Self::missing_parent(scope, &rest)),
            (w, _) => Err(odd(&w)),
        }
    }

    /// One call of the page script: has next, has previous, total, items.
    async fn page_call(
        &self,
        t: &Tenant,
        scope: &Scope<'_>,
        mode: &str,
        at: usize,
        limit: usize,
        count: bool,
    ) -> Result<(bool, bool, Option<usize>, Vec<(usize, Entry)>), ApiError> {
        let (tb, sb) = self.bases(t, &scope.key);
        let mut call = scripts::PAGE.prepare_invoke();
        self.parent_args(&mut call, t, scope);
        // Lua numbers are doubles: a slot beyond 2^53 (a fuzzer's cursor) is past every item.
        let at = at.min(1 << 52);
        call.arg(tb)
            .arg(sb)
            .arg(mode)
            .arg(at)
            .arg(limit.min(1 << 20))
            .arg(if count { "1" } else { "0" });
        let (word, rest) = self.run(&call).await?;
        match word.as_str() {
            "ok" => {}
            "parent" => return Err(Self::missing_parent(scope, &rest)),
            other => return Err(odd(other)),
        }
        let flag = |i: usize| rest.get(i).and_then(int).is_some_and(|v| v != 0);
        let total = rest.get(2).and_then(int).and_then(|t| usize::try_from(t).ok());
        let mut items = Vec::with_capacity(rest.len().saturating_sub(3) / 3);
        for chunk in rest.get(3..).unwrap_or_default().chunks(3) {
            if let Some((slot, e)) = chunk.get(2).and_then(bytes).and_then(entry) {
                items.push((slot, e));
            }
        }
        Ok((flag(0), flag(1), total, items))
    }

    pub async fn page(&self, t: &Tenant, scope: &Scope<'_>, q: &PageQuery<'_>) -> Result<Page, ApiError> {
        if q.keep.is_none() && q.only.is_none() {
            let (mode, at) = match q.from {
                From::After(a) => ("after", a.map_or(0, |a| a.saturating_add(1))),
                From::Before(b) => ("before", b),
                From::Offset(n) => ("offset", n),
            };
            let (has_next, has_prev, total, items) = self.page_call(t, scope, mode, at, q.limit, q.total).await?;
            return Ok(Page {
                items,
                has_next,
                has_prev,
                total,
            });
        }
        // Filters look at each item: the listed items are read in batches and kept here.
        let mut candidates: Vec<(usize, Entry)> = Vec::new();
        if let Some((rule, value)) = &q.only {
            // The parents are checked by an empty read, the candidate found by its index.
            self.page_call(t, scope, "scan", 0, 0, false).await?;
            if let Some(e) = self.find_unique_slot(t, &scope.key, *rule, value).await?
                && !e.1.archived
            {
                candidates.push(e);
            }
        } else {
            let keep = q.keep.unwrap_or(&|_| true);
            let mut at = 0usize;
            loop {
                let (_, _, _, batch) = self.page_call(t, scope, "scan", at, SCAN_BATCH, false).await?;
                let done = batch.len() < SCAN_BATCH;
                if let Some((last, _)) = batch.last() {
                    at = last + 1;
                }
                candidates.extend(batch.into_iter().filter(|(_, e)| keep(e)));
                if done {
                    break;
                }
            }
        }
        Ok(page_of(candidates, q))
    }

    async fn find_unique_slot(
        &self,
        t: &Tenant,
        key: &CollectionKey,
        rule: usize,
        value: &str,
    ) -> Result<Option<(usize, Entry)>, ApiError> {
        let (tb, sb) = self.bases(t, key);
        let mut call = scripts::FIND_UNIQUE.prepare_invoke();
        call.arg(tb).arg(sb).arg(format!("{rule}:{value}"));
        match self.run(&call).await? {
            (w, rest) if w == "ok" => Ok(rest.get(1).and_then(bytes).and_then(entry)),
            _ => Ok(None),
        }
    }

    pub async fn find_unique(
        &self,
        t: &Tenant,
        key: &CollectionKey,
        rule: usize,
        value: &str,
    ) -> Result<Option<Entry>, ApiError> {
        Ok(self.find_unique_slot(t, key, rule, value).await?.map(|(_, e)| e))
    }

    pub async fn idem_begin(&self, t: &Tenant, key: &str, fingerprint: u64) -> Result<Claimed, ApiError> {
        let now = crate::state::step::real_ms();
        let mut call = scripts::IDEM_BEGIN.prepare_invoke();
        call.arg(self.tenant_key("ti", t))
            .arg(key)
            .arg(format!("{}tenants", self.prefix()))
            .arg(&*t.name)
            .arg(format!("{now}|{fingerprint}|P"))
            .arg(now)
            .arg(u64::try_from(IDEMPOTENCY_TTL.as_millis()).unwrap_or(u64::MAX));
        let (word, rest) = self.run(&call).await?;
        if word == "new" {
            return Ok(Claimed::New);
        }
        let rec = rest.first().and_then(bytes).ok_or_else(|| odd("idempotency"))?;
        // `at|fingerprint|state|status|content type|body`
        let mut parts = rec.splitn(6, |b| *b == b'|');
        let _at = parts.next();
        let fp = parts
            .next()
            .and_then(|b| std::str::from_utf8(b).ok()?.parse::<u64>().ok());
        let state = parts.next();
        if fp != Some(fingerprint) {
            return Ok(Claimed::Mismatch);
        }
        if state != Some(b"D") {
            return Ok(Claimed::Pending);
        }
        let status = parts
            .next()
            .and_then(|b| std::str::from_utf8(b).ok()?.parse::<u16>().ok())
            .unwrap_or(200);
        let content_type = parts
            .next()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .filter(|c| !c.is_empty());
        let body = bytes::Bytes::copy_from_slice(parts.next().unwrap_or_default());
        Ok(Claimed::Replay {
            status,
            content_type,
            body,
        })
    }

    pub async fn idem_finish(&self, t: &Tenant, key: &str, answer: Option<(u16, Option<String>, bytes::Bytes)>) {
        let Ok(mut conn) = self.ready_conn() else { return };
        let hash = self.tenant_key("ti", t);
        let done: Result<(), redis::RedisError> = match answer {
            Some((status, content_type, body)) => {
                let mut call = scripts::IDEM_FINISH.prepare_invoke();
                let mut tail = format!("|D|{status}|{}|", content_type.unwrap_or_default()).into_bytes();
                tail.extend_from_slice(&body);
                call.arg(&hash).arg(key).arg(tail);
                call.invoke_async(&mut conn).await
            }
            None => redis::cmd("HDEL").arg(&hash).arg(key).query_async(&mut conn).await,
        };
        if let Err(e) = done {
            // The key stays pending: a retry with it is told to wait, not run twice.
            tracing::warn!("Redis store: the answer for an idempotency key was not kept: {e}");
        }
    }

    pub async fn schedule(&self, t: &Tenant, timer: Timer) -> Result<(), ApiError> {
        let mut conn = self.ready_conn()?;
        let res = self.model.res_ids.get(timer.key.0).cloned().unwrap_or_default();
        let member = serde_json::json!([
            ulid::Ulid::generate().to_string(),
            res,
            timer.key.1,
            timer.id,
            timer.from,
            timer.to
        ])
        .to_string();
        let _: () = redis::pipe()
            .atomic()
            .cmd("ZADD")
            .arg(self.tenant_key("tt", t))
            .arg(timer.due_ms)
            .arg(member)
            .ignore()
            .cmd("SADD")
            .arg(format!("{}timed", self.prefix()))
            .arg(&*t.name)
            .ignore()
            .cmd("SADD")
            .arg(format!("{}tenants", self.prefix()))
            .arg(&*t.name)
            .ignore()
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))?;
        Ok(())
    }

    pub async fn next_due(&self, t: &Tenant, now_ms: u64) -> Result<Option<Timer>, ApiError> {
        loop {
            let mut call = scripts::NEXT_DUE.prepare_invoke();
            call.arg(self.tenant_key("tt", t))
                .arg(format!("{}timed", self.prefix()))
                .arg(&*t.name)
                .arg(now_ms);
            let (word, rest) = self.run(&call).await?;
            if word != "ok" {
                return Ok(None);
            }
            let member: Option<serde_json::Value> = rest
                .first()
                .and_then(bytes)
                .and_then(|b| serde_json::from_slice(b).ok());
            let due = rest
                .get(1)
                .and_then(int)
                .and_then(|d| u64::try_from(d).ok())
                .unwrap_or(now_ms);
            let text = |i: usize| {
                member
                    .as_ref()
                    .and_then(|m| m.get(i))
                    .and_then(|v| v.as_str())
                    .map(str::to_string)
            };
            // A timer of a resource the model no longer has is dropped.
            let Some(res) = text(1).and_then(|r| self.model.res_index.get(&r).copied()) else {
                continue;
            };
            return Ok(Some(Timer {
                due_ms: due,
                seq: 0,
                key: (res, text(2).unwrap_or_default()),
                id: text(3).unwrap_or_default(),
                from: text(4).unwrap_or_default(),
                to: text(5).unwrap_or_default(),
            }));
        }
    }

    pub async fn timed_tenants(&self) -> Result<Vec<Tenant>, ApiError> {
        let mut conn = self.ready_conn()?;
        let names: Vec<String> = redis::cmd("SMEMBERS")
            .arg(format!("{}timed", self.prefix()))
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed(&e))?;
        Ok(names.iter().map(|n| self.tenant(n)).collect())
    }

    /// What a tenant sees (the fixtures for `None`), for the dashboard: its own collections read
    /// whole from Redis, the others the seed's.
    pub async fn snapshot(&self, tenant: Option<&str>) -> Result<Vec<(CollectionKey, Arc<Collection>)>, ApiError> {
        let mut out: std::collections::HashMap<CollectionKey, Arc<Collection>> = self.model.seed.collections.clone();
        if let Some(name) = tenant {
            let t = self.tenant(name);
            let mut conn = self.ready_conn()?;
            let bases: Vec<String> = redis::cmd("SMEMBERS")
                .arg(self.tenant_key("tc", &t))
                .query_async(&mut conn)
                .await
                .map_err(|e| self.failed(&e))?;
            for b in bases {
                let Some(key) = self.key_of(&t, &b) else { continue };
                let all: Vec<(String, Vec<u8>)> = redis::cmd("HGETALL")
                    .arg(format!("{b}:i"))
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| self.failed(&e))?;
                let mut items: Vec<(usize, String, Entry)> = all
                    .into_iter()
                    .filter_map(|(id, rec)| entry(&rec).map(|(slot, e)| (slot, id, e)))
                    .collect();
                items.sort_by_key(|(slot, _, _)| *slot);
                let unique = self.model.seed.unique_counts.get(key.0).copied().unwrap_or(0);
                let mut coll = Collection::new(unique);
                for (_, id, e) in items {
                    coll.insert(id, e);
                }
                out.insert(key, Arc::new(coll));
            }
        }
        let mut out: Vec<_> = out.into_iter().collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

/// A page of `candidates` (the listed items that pass the page's filters, in slot order), with
/// the same meaning of cursors, offsets and look-around as the memory store's.
fn page_of(candidates: Vec<(usize, Entry)>, q: &PageQuery<'_>) -> Page {
    let len = candidates.len();
    let mut page = Page::default();
    let (from, to) = match q.from {
        From::After(a) => {
            let start = a.map_or(0, |a| a.saturating_add(1));
            let i = candidates.partition_point(|(s, _)| *s < start);
            let end = i.saturating_add(q.limit).min(len);
            page.has_next = end < len;
            page.has_prev = i > 0;
            (i, end)
        }
        From::Before(b) => {
            let i = candidates.partition_point(|(s, _)| *s < b);
            let lo = i.saturating_sub(q.limit);
            page.has_prev = lo > 0;
            page.has_next = i < len;
            (lo, i)
        }
        From::Offset(n) => {
            let lo = n.min(len);
            let end = lo.saturating_add(q.limit).min(len);
            page.has_next = end < len;
            page.has_prev = n > 0;
            page.total = Some(len);
            (lo, end)
        }
    };
    if q.total {
        page.total = Some(len);
    }
    page.items = candidates.into_iter().skip(from).take(to - from).collect();
    page
}
