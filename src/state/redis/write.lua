-- specbox's Redis store: the helpers of the scripts that write (after read.lua's; see there).

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
