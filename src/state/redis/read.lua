-- specbox's Redis store: the helpers of the scripts that read (src/state/redis/scripts.rs joins
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
