/**
 * Lua scripts for what tenants share across replicas (issue 16): their ceilings, their budgets,
 * and the fair share of each pool. Built on the pool scripts' prelude (redis-scripts.ts passes it
 * in), so a ceiling's buckets are refilled, waited for and laid out exactly as a key's are.
 *
 * Layout (`{tenant-T}` and `{P}` are cluster hash tags: one tenant's keys share a slot, a pool's
 * fair-share keys sit beside its keys):
 *   <prefix>{tenant-T}:ceiling:<limits>   hash: a key's bucket fields (redis-scripts.ts) for T's
 *                       `limits`; the limits are in the name, so a change of limits starts a bucket
 *                       of its own, and replicas with the same limits share one.
 *   <prefix>{tenant-T}:budget:<window>:<start>   hash: spent (USD settled in the window), held (USD
 *                       reserved in flight), r:<id> (each reservation's expected cost).
 *   <prefix>{tenant-T}:budget:<window>:<start>:exp   zset: reservation id by expiry, so a replica
 *                       that died mid-request does not hold budget for the rest of the window.
 *   <prefix>{P}!fair:<class>   hash: t:<tenant> (its service on the pool: admissions / weight, fleet-wide),
 *                       !v (virtual time: the least service among the tenants waiting).
 *   <prefix>{P}!fair:<class>:waiting   zset: "<tenant>|<replica>" by expiry, one per replica with
 *                       requests of that tenant waiting for the pool.
 * Times come from the caller (ARGV), as in the pool scripts.
 */

/**
 * A tenant's ceiling. KEYS = the ceiling hash. ARGV = now, op ('wait', 'take', 'settle', 'refund'), input,
 * output tokens, usage known (1/0), used input, used output, then six limits (rpm, rpd, itpm, otpm,
 * tpm, concurrency; '' when absent). 'wait': ms until the demand fits (TenantCeiling.waitFor);
 * 'take': takes it, below zero if need be (replicas that checked at once both take: the debt is
 * repaid by the refill, so the rate over time stays the limit); 'settle': the concurrency slot and
 * unused tokens come back (TenantCeiling.settle); 'refund': all but the concurrency slot comes back
 * (TenantCeiling.refund). Returns {wait, then limit, capacity, level per
 * configured dimension as "d:l:c:v"} for the answer's headroom headers.
 */
const CEILING = (prelude: string) => `${prelude}
local now, op = tonumber(ARGV[1]), ARGV[2]
local i, o = tonumber(ARGV[3]), tonumber(ARGV[4])
local s = load(KEYS[1], 8, now)
local wait = 0
if op == 'wait' then
  wait = keyWait(s, i, o, now)
elseif op == 'take' then
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b then
      refill(b, d, now)
      b.v = b.v - amount(d, i, o)
    end
  end
elseif op == 'settle' then
  local known, ui, uo = ARGV[5] == '1', tonumber(ARGV[6]), tonumber(ARGV[7])
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b then
      local back = 0
      if d == CONC then back = 1
      elseif known and d == ITPM then back = i - ui
      elseif known and d == OTPM then back = o - uo
      elseif known and d == TPM then back = i + o - ui - uo end
      if back ~= 0 then
        refill(b, d, now)
        b.v = math.min(b.c, b.v + back)
      end
    end
  end
elseif op == 'refund' then
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b and d ~= CONC then
      refill(b, d, now)
      b.v = math.min(b.c, b.v + amount(d, i, o))
    end
  end
end
save(KEYS[1], s)
redis.call('PEXPIRE', KEYS[1], 2 * 86400000)
local out = { tostring(wait) }
for d = 0, ND - 1 do
  local b = s.b[d]
  if b then out[#out + 1] = d .. ':' .. b.l .. ':' .. b.c .. ':' .. refill(b, d, now) end
end
return out
`;

/** Drops a window's reservations that outlived their ttl (their replica is gone). */
const EXPIRE_HOLDS = `
local function expireHolds(h, exp, now)
  local ids = redis.call('ZRANGEBYSCORE', exp, '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do
    local amt = tonumber(redis.call('HGET', h, 'r:' .. id))
    if amt then
      redis.call('HINCRBYFLOAT', h, 'held', -amt)
      redis.call('HDEL', h, 'r:' .. id)
    end
    redis.call('ZREM', exp, id)
  end
end
local function num(h, field) return tonumber(redis.call('HGET', h, field)) or 0 end
`;

/**
 * Budget reservation, the shared form of BudgetLedger.reserve: refused once what a window has spent
 * plus what it holds reaches its limit. KEYS = per window (daily, monthly, as configured): hash,
 * expiry zset. ARGV = now, reservation id, expected USD, ttl ms, then per window: limit USD, the
 * window's end (ms). Returns {1, spent per window} or {0, index of the window refused (1-based),
 * its spent}.
 */
const BUDGET_RESERVE = `${EXPIRE_HOLDS}
local now, id, expected, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local n = #KEYS / 2
local spent = {}
for w = 1, n do
  local h, exp = KEYS[2 * w - 1], KEYS[2 * w]
  expireHolds(h, exp, now)
  spent[w] = num(h, 'spent')
  if spent[w] + math.max(0, num(h, 'held')) >= tonumber(ARGV[3 + 2 * w]) then return { 0, w, tostring(spent[w]) } end
end
local out = { 1 }
for w = 1, n do
  local h, exp = KEYS[2 * w - 1], KEYS[2 * w]
  local keep = tonumber(ARGV[4 + 2 * w]) + 86400000
  redis.call('HINCRBYFLOAT', h, 'held', expected)
  redis.call('HSET', h, 'r:' .. id, expected)
  redis.call('ZADD', exp, now + ttl, id)
  redis.call('PEXPIREAT', h, keep)
  redis.call('PEXPIREAT', exp, keep)
  out[#out + 1] = tostring(spent[w])
end
return out
`;

/**
 * Budget settle, the shared form of BudgetLedger.settle. KEYS = the reservation's windows (hash,
 * expiry zset each; none for spend made while Redis was away), then the current windows' hashes.
 * ARGV = reservation id, actual USD, how many reservation windows, then each current window's end.
 * A reservation already dropped (expired, or its window ended) releases nothing.
 */
const BUDGET_SETTLE = `
local id, actual, nr = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
for w = 1, nr do
  local h, exp = KEYS[2 * w - 1], KEYS[2 * w]
  local amt = tonumber(redis.call('HGET', h, 'r:' .. id))
  if amt then
    local held = tonumber(redis.call('HINCRBYFLOAT', h, 'held', -amt))
    if held < 0 then redis.call('HSET', h, 'held', 0) end
    redis.call('HDEL', h, 'r:' .. id)
  end
  redis.call('ZREM', exp, id)
end
local out = {}
for w = 2 * nr + 1, #KEYS do
  local h = KEYS[w]
  out[#out + 1] = redis.call('HINCRBYFLOAT', h, 'spent', actual)
  redis.call('PEXPIREAT', h, tonumber(ARGV[3 + w - 2 * nr]) + 86400000)
end
return out
`;

/**
 * Fair share of one pool and priority class across replicas. KEYS = the service hash, the waiting
 * zset. ARGV = now, replica id, ttl ms, then per tenant this replica reports: name, weight, waiting
 * here (1/0), admissions here since its last report. A tenant that starts waiting (none of the
 * fleet had it waiting) starts at the virtual time: it banks nothing from idle time and pays
 * nothing for service while no one else waited. Returns {virtual time, then name, service of
 * each tenant waiting anywhere}.
 */
const FAIR_SYNC = `
local now, rid, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local svc, waiting = KEYS[1], KEYS[2]
redis.call('ZREMRANGEBYSCORE', waiting, '-inf', now)
local function activeTenants()
  local set = {}
  for _, member in ipairs(redis.call('ZRANGE', waiting, 0, -1)) do
    local t = string.match(member, '^(.*)|[^|]*$')
    if t then set[t] = true end
  end
  return set
end
local function serviceOf(t, v) return tonumber(redis.call('HGET', svc, 't:' .. t)) or v end
local function leastOf(set, v)
  local least = nil
  for t in pairs(set) do
    local s = serviceOf(t, v)
    if least == nil or s < least then least = s end
  end
  return least
end
local v = tonumber(redis.call('HGET', svc, '!v')) or 0
local active = activeTenants()
v = leastOf(active, v) or v
for j = 4, #ARGV, 4 do
  local t, weight, here, admitted = ARGV[j], tonumber(ARGV[j + 1]), ARGV[j + 2] == '1', tonumber(ARGV[j + 3])
  if here and not active[t] then
    redis.call('HSET', svc, 't:' .. t, v)
    active[t] = true
  end
  if admitted > 0 then redis.call('HINCRBYFLOAT', svc, 't:' .. t, admitted / weight) end
  if here then redis.call('ZADD', waiting, now + ttl, t .. '|' .. rid) else redis.call('ZREM', waiting, t .. '|' .. rid) end
end
active = activeTenants()
v = leastOf(active, v) or v
redis.call('HSET', svc, '!v', v)
redis.call('PEXPIRE', svc, 86400000)
redis.call('PEXPIRE', waiting, 86400000)
local out = { tostring(v) }
for t in pairs(active) do
  out[#out + 1] = t
  out[#out + 1] = tostring(serviceOf(t, v))
end
return out
`;

export function tenantScripts(prelude: string) {
  return {
    spillwayCeiling: CEILING(prelude),
    spillwayBudgetReserve: BUDGET_RESERVE,
    spillwayBudgetSettle: BUDGET_SETTLE,
    spillwayFairSync: FAIR_SYNC,
  } as const;
}
