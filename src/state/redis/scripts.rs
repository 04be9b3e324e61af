//! The Lua scripts: one per step of the store interface, so each step is one round trip and
//! atomic (Redis runs a script with nothing else in between). A script is the helpers it needs
//! (`read.lua`, and `write.lua` for one that writes) followed by its own body: Redis runs the whole
//! text on every call, so a read does not define the write helpers; `redis::Script` sends it by
//! its SHA1 (`EVALSHA`), and its text only the first time a server has not seen it.
//!
//! Arguments are all in ARGV (a sandbox runs on one Redis, not a cluster, so keys need not be
//! declared): the tenant's registration (`tc`, `tenants`, its name) first for the steps that may
//! copy the seed, then what the step needs. Every script answers an array whose first element
//! says what happened (`ok`, `none`, `parent`, `exists`, `taken`, `retry`, `same`).

use redis::Script;
use std::sync::LazyLock;

const READ: &str = include_str!("read.lua");
const WRITE: &str = include_str!("write.lua");

/// A script that only reads.
fn reading(body: &str) -> Script {
    Script::new(&format!("{READ}\n{body}"))
}

/// A script that may write (and copy the seed first).
fn writing(body: &str) -> Script {
    Script::new(&format!("{READ}\n{WRITE}\n{body}"))
}

/// ARGV: parents (count, then t, s, id each), t, s, id.
pub static GET: LazyLock<Script> = LazyLock::new(|| {
    reading(
        r"
local missing, a = missing_parent(1)
if missing then return {'parent', missing} end
local t, s, id = ARGV[a], ARGV[a + 1], ARGV[a + 2]
-- The tenant's own copy first (one command when it has one), else the seed's.
local rec = redis.call('HGET', t .. ':i', id)
if not rec and not is_init(t) then rec = redis.call('HGET', s .. ':i', id) end
if not rec then return {'none'} end
return {'ok', rec}
",
    )
});

/// ARGV: tc, tenants, tenant, parents, inserts (count, then for each: t, s, key, flags digit,
/// json, claims joined, claims count, claims...).
/// Checks every insert (id free or a stand-in from examples, unique values free, none twice in
/// the batch) before writing any; answers the slots given.
pub static CREATE: LazyLock<Script> = LazyLock::new(|| {
    writing(
        r"
local tenant = {ARGV[1], ARGV[2], ARGV[3]}
local missing, a = missing_parent(4)
if missing then return {'parent', missing} end
local n = tonumber(ARGV[a])
a = a + 1
local items = {}
local seen_keys = {}
local seen_claims = {}
for i = 1, n do
  local it = {t = ARGV[a], s = ARGV[a + 1], key = ARGV[a + 2], flags = ARGV[a + 3], json = ARGV[a + 4], joined = ARGV[a + 5]}
  local nc = tonumber(ARGV[a + 6])
  it.claims = {}
  for j = 1, nc do it.claims[j] = ARGV[a + 6 + j] end
  a = a + 7 + nc
  local b = base(it.t, it.s)
  local cur = redis.call('HGET', b .. ':i', it.key)
  if (cur and not has(flags_of(cur), 4)) or seen_keys[it.t .. '\0' .. it.key] then return {'exists', i} end
  -- (a missing field is false, not nil, inside a script)
  it.stand_in = cur and true or false
  for _, c in ipairs(it.claims) do
    local owner = redis.call('HGET', b .. ':u', c)
    if (owner and not (it.stand_in and owner == it.key)) or seen_claims[it.t .. '\0' .. c] then
      return {'taken', i, c}
    end
    seen_claims[it.t .. '\0' .. c] = true
  end
  seen_keys[it.t .. '\0' .. it.key] = true
  items[i] = it
end
local out = {'ok'}
for i = 1, n do
  local it = items[i]
  materialize(it.t, it.s, tenant)
  if it.stand_in then
    release(it.t, it.key)
    redis.call('ZREM', it.t .. ':l', it.key)
  end
  local slot = redis.call('HINCRBY', it.t .. ':m', 'n', 1) - 1
  redis.call('HSET', it.t .. ':i', it.key, it.flags .. slot .. ':' .. it.json)
  redis.call('ZADD', it.t .. ':l', slot, it.key)
  claim(it.t, it.key, it.claims, it.joined)
  -- An integer key raises the sequence (as the memory store's max_seq): only a plain one that a
  -- Lua number holds exactly (`007`, `1e20` and 2^63 leave it alone, as they would HINCRBY).
  if string.match(it.key, '^[1-9]%d*$') and #it.key <= 15 and tonumber(it.key) > tonumber(redis.call('HGET', it.t .. ':m', 'seq') or '0') then
    redis.call('HSET', it.t .. ':m', 'seq', it.key)
  end
  out[#out + 1] = slot
end
return out
",
    )
});

/// ARGV: tc, tenants, tenant, t, s. The collection's next sequence number, taken.
pub static RESERVE: LazyLock<Script> = LazyLock::new(|| {
    writing(
        r"
local tenant = {ARGV[1], ARGV[2], ARGV[3]}
materialize(ARGV[4], ARGV[5], tenant)
return {'ok', redis.call('HINCRBY', ARGV[4] .. ':m', 'seq', 1)}
",
    )
});

/// ARGV: tc, tenants, tenant, parents, t, s, id, the record read (expected), plain flag digit,
/// json, claims joined, claims count, claims... Replaces the item only if it is still what was
/// read (`retry` otherwise); keeps its slot, archived and from-examples flags.
pub static UPDATE: LazyLock<Script> = LazyLock::new(|| {
    writing(
        r"
local tenant = {ARGV[1], ARGV[2], ARGV[3]}
local missing, a = missing_parent(4)
if missing then return {'parent', missing} end
local t, s, id, expected, plain, json, joined = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6]
local nc = tonumber(ARGV[a + 7])
local claims = {}
for j = 1, nc do claims[j] = ARGV[a + 7 + j] end
local b = base(t, s)
local cur = redis.call('HGET', b .. ':i', id)
if not cur then return {'none'} end
if cur ~= expected then return {'retry'} end
for _, c in ipairs(claims) do
  local owner = redis.call('HGET', b .. ':u', c)
  if owner and owner ~= id then return {'taken', 1, c} end
end
materialize(t, s, tenant)
release(t, id)
claim(t, id, claims, joined)
local f = flags_of(cur)
local keep = (has(f, 1) and 1 or 0) + (has(f, 4) and 4 or 0)
local rec = (keep + tonumber(plain)) .. slot_of(cur) .. ':' .. json
redis.call('HSET', t .. ':i', id, rec)
return {'ok', rec}
",
    )
});

/// ARGV: tc, tenants, tenant, parents, t, s, id. Answers the record removed.
pub static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    writing(
        r"
local tenant = {ARGV[1], ARGV[2], ARGV[3]}
local missing, a = missing_parent(4)
if missing then return {'parent', missing} end
local t, s, id = ARGV[a], ARGV[a + 1], ARGV[a + 2]
if redis.call('HEXISTS', base(t, s) .. ':i', id) == 0 then return {'none'} end
materialize(t, s, tenant)
local cur = redis.call('HGET', t .. ':i', id)
if not cur then return {'none'} end
release(t, id)
redis.call('HDEL', t .. ':i', id)
redis.call('ZREM', t .. ':l', id)
return {'ok', cur}
",
    )
});

/// ARGV: tc, tenants, tenant, parents, t, s, id, '1' to archive or '0' to restore.
pub static ARCHIVE: LazyLock<Script> = LazyLock::new(|| {
    writing(
        r"
local tenant = {ARGV[1], ARGV[2], ARGV[3]}
local missing, a = missing_parent(4)
if missing then return {'parent', missing} end
local t, s, id, want = ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3] == '1'
local cur = redis.call('HGET', base(t, s) .. ':i', id)
if not cur then return {'none'} end
local f = flags_of(cur)
if has(f, 1) == want then return {'same', cur} end
materialize(t, s, tenant)
local slot = slot_of(cur)
local rec = (want and f + 1 or f - 1) .. slot .. ':' .. json_of(cur)
redis.call('HSET', t .. ':i', id, rec)
if want then redis.call('ZREM', t .. ':l', id) else redis.call('ZADD', t .. ':l', slot, id) end
return {'ok', rec}
",
    )
});

/// ARGV: parents, t, s, mode (`after`, `before`, `offset`, `scan`), its number, limit, '1' to
/// count. Answers: 'ok', has next, has previous, total (-1: not counted), then id, slot and
/// record of each item in order. `after` starts at the slot given (a cursor's slot + 1); `scan`
/// is `after` without the look-around, for filtered pages that read the collection in batches.
pub static PAGE: LazyLock<Script> = LazyLock::new(|| {
    reading(
        r"
local missing, a = missing_parent(1)
if missing then return {'parent', missing} end
local b = base(ARGV[a], ARGV[a + 1])
local mode, at, limit, count = ARGV[a + 2], tonumber(ARGV[a + 3]), tonumber(ARGV[a + 4]), ARGV[a + 5] == '1'
local l = b .. ':l'
local r
local has_next, has_prev, total = 0, 0, -1
if mode == 'after' or mode == 'scan' then
  local want = limit
  if mode == 'after' then want = limit + 1 end
  r = redis.call('ZRANGEBYSCORE', l, at, '+inf', 'WITHSCORES', 'LIMIT', 0, want)
  if mode == 'after' then
    if #r / 2 > limit then has_next = 1; r[#r] = nil; r[#r] = nil end
    local first = at
    if #r > 0 then first = tonumber(r[2]) end
    if redis.call('ZCOUNT', l, '-inf', '(' .. first) > 0 then has_prev = 1 end
  end
elseif mode == 'before' then
  local rev = redis.call('ZREVRANGEBYSCORE', l, '(' .. at, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 1)
  if #rev / 2 > limit then has_prev = 1; rev[#rev] = nil; rev[#rev] = nil end
  r = {}
  for i = #rev - 1, 1, -2 do r[#r + 1] = rev[i]; r[#r + 1] = rev[i + 1] end
  if redis.call('ZCOUNT', l, at, '+inf') > 0 then has_next = 1 end
else
  r = redis.call('ZRANGE', l, at, at + limit - 1, 'WITHSCORES')
  total = redis.call('ZCARD', l)
  if at + #r / 2 < total then has_next = 1 end
  if at > 0 then has_prev = 1 end
end
if count and total < 0 then total = redis.call('ZCARD', l) end
local out = {'ok', has_next, has_prev, total}
if #r == 0 then return out end
local ids = {}
for i = 1, #r, 2 do ids[#ids + 1] = r[i] end
-- In chunks: Lua's unpack takes a few thousand values at most.
local recs = {}
for i = 1, #ids, 1000 do
  local chunk = {}
  for j = i, math.min(i + 999, #ids) do chunk[#chunk + 1] = ids[j] end
  local got = redis.call('HMGET', b .. ':i', unpack(chunk))
  for j = 1, #got do recs[#recs + 1] = got[j] end
end
for i = 1, #ids do
  out[#out + 1] = ids[i]
  out[#out + 1] = r[2 * i]
  out[#out + 1] = recs[i] or ''
end
return out
",
    )
});

/// ARGV: t, s, claim. Answers the item holding the unique value: id and record.
pub static FIND_UNIQUE: LazyLock<Script> = LazyLock::new(|| {
    reading(
        r"
local b = base(ARGV[1], ARGV[2])
local id = redis.call('HGET', b .. ':u', ARGV[3])
if not id then return {'none'} end
local rec = redis.call('HGET', b .. ':i', id)
if not rec then return {'none'} end
return {'ok', id, rec}
",
    )
});

/// ARGV: records hash, key, tenants, tenant, the pending record, now (ms), time to live (ms).
/// Claims an idempotency key, or answers the record that holds it (`at|fingerprint|state|...`).
pub static IDEM_BEGIN: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local rec = redis.call('HGET', ARGV[1], ARGV[2])
if rec then
  local at = tonumber(string.match(rec, '^(%d+)|'))
  -- A claim still pending after a minute was given up (its request was cancelled, or Redis went
  -- away before the answer was kept): the key is free again.
  local pending = string.match(rec, '^%d+|%d+|P') ~= nil
  local lease = tonumber(ARGV[7])
  if pending then lease = math.min(lease, 60000) end
  if at and at + lease >= tonumber(ARGV[6]) then return {'found', rec} end
end
redis.call('HSET', ARGV[1], ARGV[2], ARGV[5])
redis.call('SADD', ARGV[3], ARGV[4])
return {'new'}
",
    )
});

/// ARGV: timers, timed, tenant, now (ms). Takes the first timer due, if any.
pub static NEXT_DUE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local r = redis.call('ZRANGEBYSCORE', ARGV[1], '-inf', ARGV[4], 'WITHSCORES', 'LIMIT', 0, 1)
if #r == 0 then
  if redis.call('ZCARD', ARGV[1]) == 0 then redis.call('SREM', ARGV[2], ARGV[3]) end
  return {'none'}
end
redis.call('ZREM', ARGV[1], r[1])
return {'ok', r[1], r[2]}
",
    )
});

/// ARGV: prefix, tenant ('' with '1' next: every tenant). Forgets what the tenant wrote: its
/// collections (back to the seed), idempotency records, timers and clock.
pub static RESET: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local p = ARGV[1]
local function drop(name)
  local tp = #name .. ':' .. name
  local tc = p .. 'tc:' .. tp
  for _, b in ipairs(redis.call('SMEMBERS', tc)) do
    redis.call('DEL', b .. ':i', b .. ':l', b .. ':m', b .. ':u', b .. ':c')
  end
  redis.call('DEL', tc, p .. 'ti:' .. tp, p .. 'tt:' .. tp)
  redis.call('SREM', p .. 'tenants', name)
  redis.call('SREM', p .. 'timed', name)
  redis.call('HDEL', p .. 'clock', name)
end
if ARGV[3] == '1' then
  for _, name in ipairs(redis.call('SMEMBERS', p .. 'tenants')) do drop(name) end
  local all = redis.call('HGET', p .. 'clock', '*')
  redis.call('DEL', p .. 'clock')
  if all then redis.call('HSET', p .. 'clock', '*', all) end
else
  drop(ARGV[2])
end
return {'ok'}
",
    )
});

/// ARGV: records hash, key, the record's tail (`|D|status|content type|body`). Keeps the answer
/// under the time and fingerprint the claim was made with.
pub static IDEM_FINISH: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local rec = redis.call('HGET', ARGV[1], ARGV[2])
if not rec then return {'none'} end
local head = string.match(rec, '^(%d+|%d+)|')
if not head then return {'none'} end
redis.call('HSET', ARGV[1], ARGV[2], head .. ARGV[3])
return {'ok'}
",
    )
});

/// ARGV: counters hash, then for each rule that matches, in order: id, skip, times (-1: no
/// limit), '1' when it fires with a probability. Counts the request against each rule until one
/// fires by its counts (`fire`), or until one with a probability must roll (`maybe`, with its
/// count: the caller rolls, and asks again with the rules after it if the roll says no).
pub static FAULT_PICK: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local h = ARGV[1]
local i = 2
while i <= #ARGV do
  local id, skip, times, prob = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]), ARGV[i + 3]
  i = i + 4
  local n = redis.call('HINCRBY', h, id .. ':m', 1) - 1
  if not (n < skip or (times >= 0 and n >= skip + times)) then
    if prob == '1' then return {'maybe', id, n} end
    redis.call('HINCRBY', h, id .. ':f', 1)
    return {'fire', id}
  end
end
return {'none'}
",
    )
});
