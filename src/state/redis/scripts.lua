-- specbox's Redis store: the helpers every script starts with (src/state/redis/scripts.rs joins
-- this file with each script's own text).
--
-- A collection at base B is five keys: B:i (hash: id -> record), B:l (sorted set: the listed
-- ids, scored by slot), B:m (hash: n = next slot, seq = highest integer id, init = copied),
-- B:u (hash: "rule:value" -> id) and B:c (hash: id -> its claims, joined by NUL).
-- A record is a flags digit (1 archived, 2 plain, 4 from the spec's examples), the slot, a colon
-- and the item's JSON text.
--
-- A tenant's collection starts as the seed's (the fixtures): reads go to the seed until the
-- tenant first writes, and the first write copies the seed (materialize).

local function is_init(b)
  return redis.call('HEXISTS', b .. ':m', 'init') == 1
end

local function base(t, s)
  if is_init(t) then return t end
  return s
end

local function flags_of(rec)
  return tonumber(string.sub(rec, 1, 1))
end

local function slot_of(rec)
  local colon = string.find(rec, ':', 2, true)
  return tonumber(string.sub(rec, 2, colon - 1))
end

local function json_of(rec)
  local colon = string.find(rec, ':', 2, true)
  return string.sub(rec, colon + 1)
end

local function has(flags, bit)
  return math.floor(flags / bit) % 2 == 1
end

local function copy_hash(from, to)
  local all = redis.call('HGETALL', from)
  for i = 1, #all, 2000 do
    local chunk = {}
    for j = i, math.min(i + 1999, #all) do chunk[#chunk + 1] = all[j] end
    redis.call('HSET', to, unpack(chunk))
  end
end

-- Copies the seed's collection s into the tenant's t, once; registers t with its tenant.
-- tenant = {tc, tenants, name}
local function materialize(t, s, tenant)
  if is_init(t) then return end
  copy_hash(s .. ':i', t .. ':i')
  copy_hash(s .. ':u', t .. ':u')
  copy_hash(s .. ':c', t .. ':c')
  local z = redis.call('ZRANGE', s .. ':l', 0, -1, 'WITHSCORES')
  for i = 1, #z, 2000 do
    local chunk = {}
    for j = i, math.min(i + 1999, #z), 2 do
      chunk[#chunk + 1] = z[j + 1]
      chunk[#chunk + 1] = z[j]
    end
    redis.call('ZADD', t .. ':l', unpack(chunk))
  end
  local n = redis.call('HGET', s .. ':m', 'n') or '0'
  local seq = redis.call('HGET', s .. ':m', 'seq') or '0'
  redis.call('HSET', t .. ':m', 'init', '1', 'n', n, 'seq', seq)
  redis.call('SADD', tenant[1], t)
  redis.call('SADD', tenant[2], tenant[3])
end

-- The ancestors a path names must exist. ARGV from `at`: count, then (t, s, id) each.
-- Returns the index of the first missing one (or nil) and the next ARGV position.
local function missing_parent(at)
  local n = tonumber(ARGV[at])
  local a = at + 1
  for i = 1, n do
    local b = base(ARGV[a], ARGV[a + 1])
    if redis.call('HEXISTS', b .. ':i', ARGV[a + 2]) == 0 then return i, a end
    a = a + 3
  end
  return nil, a
end

local function split_claims(joined)
  local out = {}
  if not joined or joined == '' then return out end
  for c in string.gmatch(joined, '([^%z]+)') do out[#out + 1] = c end
  return out
end

-- Gives up the unique values item `id` holds in t.
local function release(t, id)
  for _, c in ipairs(split_claims(redis.call('HGET', t .. ':c', id))) do
    if redis.call('HGET', t .. ':u', c) == id then redis.call('HDEL', t .. ':u', c) end
  end
  redis.call('HDEL', t .. ':c', id)
end

local function claim(t, id, claims, joined)
  for _, c in ipairs(claims) do redis.call('HSET', t .. ':u', c, id) end
  if joined ~= '' then redis.call('HSET', t .. ':c', id, joined) end
end
