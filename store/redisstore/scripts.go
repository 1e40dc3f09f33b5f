package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts. Every script receives the data key as KEYS[1] and its
// sidecar as KEYS[2]: both hash to one slot, so the scripts run on any
// topology, cluster included. Expiry instants arrive as absolute
// milliseconds (PXAT), decided by the Go side: see the package
// documentation on clocks.
//
// Each Store wraps them in redis.Script values; Script.Run and RunRO send
// EVALSHA and fall back to EVAL when the server answers NOSCRIPT (after a
// restart, failover or SCRIPT FLUSH), so the scripts need no explicit
// loading.

// luaPrelude holds the helpers shared by the write scripts.
//
// Versions stay strings: Lua numbers are float64 and would round versions
// above 2^53, so cmpver compares canonical decimals by length, then byte by
// byte (string.byte, not '<', which follows the server's collation locale).
// sidecar mirrors decodeSidecar in sidecar.go exactly; it returns 'x' for a
// value that does not decode.
const luaPrelude = `
local function cmpver(a, b)
  if #a ~= #b then
    if #a < #b then return -1 end
    return 1
  end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  return 0
end

local function sidecar(key)
  local v = redis.call('GET', key)
  if not v then return nil end
  local kind, n = string.match(v, '^([dt])([0-9]+)$')
  if not kind or (#n > 1 and string.byte(n, 1) == 48) or #n > 20 or
     (#n == 20 and cmpver(n, '18446744073709551615') > 0) then
    return 'x'
  end
  return kind, n
end

-- above returns the version a latest write at v stores: v, unless the
-- sidecar holds v or more, then that plus one. Versions are decimal strings,
-- so the increment is done digit by digit. nil: the version space is
-- exhausted (the sidecar holds 2^64-1).
local function above(kind, ver, v)
  if not kind or cmpver(ver, v) < 0 then return v end
  if ver == '18446744073709551615' then return nil end
  local out, carry = {}, 1
  for i = #ver, 1, -1 do
    local d = string.byte(ver, i) - 48 + carry
    carry = 0
    if d == 10 then d, carry = 0, 1 end
    out[i] = string.char(48 + d)
  end
  local r = table.concat(out)
  if carry == 1 then r = '1' .. r end
  return r
end

-- blocked reports whether a write at version v must not replace what is
-- stored: a tombstone at v or above (a delete wins a tie), or a live record
-- above v. tieBlocks is false for DeleteVersion, which replaces a tombstone
-- at its own version.
local function blocked(kind, ver, v, tieBlocks, dataKey)
  if kind == 't' then
    local c = cmpver(ver, v)
    return c > 0 or (c == 0 and tieBlocks)
  end
  if kind == 'd' and cmpver(ver, v) > 0 then
    return redis.call('EXISTS', dataKey) == 1
  end
  return false
end
`

// Script results.
const (
	resultApplied int64 = 1
	resultSkipped int64 = 0
	resultCorrupt int64 = -1
)

// setVersionedLua is a versioned Set. ARGV: data, version, expiry in Unix
// ms or "" for a past expiry (compare-and-delete, leaving no tombstone).
const setVersionedLua = luaPrelude + `
local kind, ver = sidecar(KEYS[2])
if kind == 'x' then return -1 end
if blocked(kind, ver, ARGV[2], true, KEYS[1]) then return 0 end
if ARGV[3] == '' then
  redis.call('DEL', KEYS[1], KEYS[2])
else
  redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
  redis.call('SET', KEYS[2], 'd' .. ARGV[2], 'PXAT', ARGV[3])
end
return 1
`

// setManyVersionedLua is setVersionedLua over many entries in one call:
// KEYS are data/sidecar pairs, ARGV data/version/expiry triples, and it
// returns one result per entry. Its keys span slots, so it only runs where
// scripts may touch any key (not on a cluster); SetMany decides.
const setManyVersionedLua = luaPrelude + `
local res = {}
for i = 1, #KEYS / 2 do
  local dk, sk = KEYS[2 * i - 1], KEYS[2 * i]
  local data, v, px = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local kind, ver = sidecar(sk)
  if kind == 'x' then
    res[i] = -1
  elseif blocked(kind, ver, v, true, dk) then
    res[i] = 0
  elseif px == '' then
    redis.call('DEL', dk, sk)
    res[i] = 1
  else
    redis.call('SET', dk, data, 'PXAT', px)
    redis.call('SET', sk, 'd' .. v, 'PXAT', px)
    res[i] = 1
  end
end
return res
`

// deleteVersionLua is DeleteVersion. ARGV: version, tombstone expiry in
// Unix ms or "" for a past until (no tombstone).
const deleteVersionLua = luaPrelude + `
local kind, ver = sidecar(KEYS[2])
if kind == 'x' then return -1 end
if blocked(kind, ver, ARGV[1], false, KEYS[1]) then return 0 end
redis.call('DEL', KEYS[1])
if ARGV[2] == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], 't' .. ARGV[1], 'PXAT', ARGV[2])
end
return 1
`

// setLatestLua is SetLatest: the record is stored above whatever version
// the sidecar holds, and the script returns the version it stored (a
// decimal string). ARGV: data, version, expiry in Unix ms (in the future:
// the Go side refuses anything else).
const setLatestLua = luaPrelude + `
local kind, ver = sidecar(KEYS[2])
if kind == 'x' then return -1 end
local v = above(kind, ver, ARGV[2])
if not v then return -2 end
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[3])
redis.call('SET', KEYS[2], 'd' .. v, 'PXAT', ARGV[3])
return v
`

// deleteLatestLua is DeleteLatest: a tombstone above whatever version the
// sidecar holds; it returns the version (a decimal string). ARGV: version,
// tombstone expiry in Unix ms, "auto" for the deleted record's own expiry,
// or "" for no tombstone; then the fallback expiry for "auto" when no record
// is stored ("" for none).
const deleteLatestLua = luaPrelude + `
local kind, ver = sidecar(KEYS[2])
if kind == 'x' then return -1 end
local v = above(kind, ver, ARGV[1])
if not v then return -2 end
local px = ARGV[2]
if px == 'auto' then
  px = ARGV[3]
  if kind == 'd' then
    local e = redis.call('PEXPIRETIME', KEYS[1])
    if e > 0 then px = e end
  end
end
redis.call('DEL', KEYS[1])
if px == '' then
  redis.call('DEL', KEYS[2])
else
  redis.call('SET', KEYS[2], 't' .. v, 'PXAT', px)
end
return v
`

// setLua is an unversioned Set with a future expiry: it overwrites
// unconditionally and clears the sidecar, so the stored version is 0.
// ARGV: data, expiry in Unix ms.
const setLua = `
redis.call('SET', KEYS[1], ARGV[1], 'PXAT', ARGV[2])
redis.call('DEL', KEYS[2])
return 1
`

// getLua reads a record atomically: data, sidecar and the data key's
// absolute expiry in Unix ms (-2 if the key is gone, -1 if it has no
// expiry). Store.Get runs it with EVALSHA_RO, so it may run on replicas
// too. It has no "#!lua flags=no-writes" line: EVAL_RO needs none, and
// embedded Redis implementations used for demos and fast tests (miniredis)
// cannot parse one.
const getLua = `return {redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2]), redis.call('PEXPIRETIME', KEYS[1])}
`

// scripts are the compiled forms of the scripts above, one set per Store so
// that no state is shared between stores.
type scripts struct {
	setVersioned, deleteVersion, set, get, setManyVersioned *redis.Script
	setLatest, deleteLatest                                 *redis.Script
}

func newScripts() scripts {
	return scripts{
		setVersioned:     redis.NewScript(setVersionedLua),
		deleteVersion:    redis.NewScript(deleteVersionLua),
		set:              redis.NewScript(setLua),
		get:              redis.NewScript(getLua),
		setManyVersioned: redis.NewScript(setManyVersionedLua),
		setLatest:        redis.NewScript(setLatestLua),
		deleteLatest:     redis.NewScript(deleteLatestLua),
	}
}
