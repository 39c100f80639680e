import { CHARGED_ON_ARRIVAL, DAY_MS, DELIVERY_JITTER_MS, DIMENSION_INDEX, EPSILON, MINUTE_MS, PER_MINUTE_BURST_DIVISOR, SETTLE_BOUND_WAIT_MS } from '../quota/policy.js';
import { DIMENSIONS } from '../quota/types.js';
import { tenantScripts } from './redis-tenant-scripts.js';
import { WINDOW_LUA } from './redis-window.js';

/**
 * The quota engine's Lua scripts: the same bucket policy as src/quota/pool.ts and bucket.ts, run
 * inside Redis so that every replica's admissions and corrections are atomic against one state.
 *
 * Time is always passed in by the caller (ARGV), never read from Redis TIME, so tests can drive a
 * fake clock and a replica's own clock decides its own refill (replicas on one host agree).
 *
 * Layout, per key K of pool P (`{P}` is a cluster hash tag so one script's keys share a slot):
 *   <prefix>{P}:K       hash: per dimension d (0 rpm, 1 rpd, 2 itpm, 3 otpm, 4 tpm, 5 concurrency)
 *                       l<d> limit, c<d> burst capacity, v<d> level, t<d> last refill (ms),
 *                       u<d> in-flight amount the provider has not counted yet (see observe);
 *                       learn (1: no limit known yet), cool (ms), off (why the key rests
 *                       after the provider refused it), offp (when it may next be probed, ms), offn
 *                       (probes so far; see quota/rest.ts), miss,
 *                       n / si / so (in-flight count, input and output tokens), seen (admission
 *                       time of the request whose answer last corrected the key), dbt (bitmask:
 *                       dimensions whose last correction counted doubtful requests as unseen).
 *   <prefix>{P}:K:res   hash: reservation id → "mask,input,output,admitted at" (mask: buckets it took from).
 *   <prefix>{P}:K:exp   zset: reservation id by expiry, so a replica that died mid-request does
 *                       not hold capacity forever.
 *   <prefix>{P}!interactive-waiting   the id of a replica whose interactive requests wait for
 *                       the pool (short-lived, renewed while they wait): other replicas' batch
 *                       requests yield to them.
 * A key missing from Redis (first use, or a Redis restarted empty) is created from the limits the
 * caller passes in (configured, or learned while Redis was up).
 */

/** A TS number as Lua source: exact (shortest round-trip form) and never 'Infinity'. */
function lua(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`no Lua literal for ${value}`);
  return String(value);
}

const I = DIMENSION_INDEX;

/**
 * Shared definitions prepended to every script. Every number of the policy comes from
 * quota/policy.ts, as KeyPool's do.
 */
const PRELUDE = `
local EPS = ${lua(EPSILON)}
local JITTER_MS = ${lua(DELIVERY_JITTER_MS)}
local ND = ${lua(DIMENSIONS.length)}
local RPM, RPD, ITPM, OTPM, TPM, CONC = ${[I.rpm, I.rpd, I.itpm, I.otpm, I.tpm, I.concurrency].map(lua).join(', ')}
-- Counted by the provider on arrival, never below zero there (KeyPool's CHARGED_ON_ARRIVAL).
local ON_ARRIVAL = { ${CHARGED_ON_ARRIVAL.map((d) => lua(I[d])).join(', ')} }
local SETTLE_WAIT = ${lua(SETTLE_BOUND_WAIT_MS)}
local BURST_DIVISOR = ${lua(PER_MINUTE_BURST_DIVISOR)}
-- How long a batch request waits before trying again while another replica's interactive ones wait.
local YIELD_MS = 50

local function period(d)
  if d == RPD then return ${lua(DAY_MS)} elseif d == CONC then return 0 end
  return ${lua(MINUTE_MS)}
end
local function rate(d, limit)
  local p = period(d)
  if p == 0 then return 0 end
  return limit / p
end
local function amount(d, i, o)
  if d == ITPM then return i elseif d == OTPM then return o elseif d == TPM then return i + o end
  return 1
end
local function initialCap(d, limit)
  if d == RPD or d == CONC then return limit end
  return math.min(limit, math.max(limit / BURST_DIVISOR, 1))
end
local function bitOf(d) return bit.lshift(1, d) end
-- A key with a window (redis-window.ts) admits its per-minute limits by the window alone.
local function gates(s, d) return not (s.win and period(d) == ${lua(MINUTE_MS)}) end

-- limits: ARGV values from index 'at' on, one per dimension, '' when absent.
local function newState(at, now)
  local s = { b = {}, cool = 0, learn = 1, miss = 0, seen = 0, dbt = 0, n = 0, si = 0, so = 0, dirty = true }
  for d = 0, ND - 1 do
    local l = tonumber(ARGV[at + d])
    if l then
      local c = initialCap(d, l)
      s.b[d] = { l = l, c = math.min(c, l), v = math.min(c, l), t = now, u = 0 }
      s.learn = 0
    end
  end
  return s
end

local function load(hkey, at, now)
  local flat = redis.call('HGETALL', hkey)
  local h = {}
  for j = 1, #flat, 2 do h[flat[j]] = flat[j + 1] end
  if h.learn == nil then return newState(at, now) end
  local s = { b = {}, cool = tonumber(h.cool), learn = tonumber(h.learn), miss = tonumber(h.miss),
    seen = tonumber(h.seen) or 0, dbt = tonumber(h.dbt) or 0, n = tonumber(h.n), si = tonumber(h.si), so = tonumber(h.so),
    off = h.off, offp = tonumber(h.offp) or 0, offn = tonumber(h.offn) or 0, dirty = false }
  for d = 0, ND - 1 do
    local l = h['l' .. d]
    if l then
      s.b[d] = { l = tonumber(l), c = tonumber(h['c' .. d]), v = tonumber(h['v' .. d]), t = tonumber(h['t' .. d]), u = tonumber(h['u' .. d]) }
    end
  end
  return s
end

local function save(hkey, s)
  local args = { 'cool', s.cool, 'learn', s.learn, 'miss', s.miss, 'seen', s.seen or 0, 'dbt', s.dbt or 0, 'n', s.n, 'si', s.si, 'so', s.so }
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b then
      for _, f in ipairs({ 'l', 'c', 'v', 't', 'u' }) do
        args[#args + 1] = f .. d
        args[#args + 1] = b[f]
      end
    end
  end
  redis.call('HSET', hkey, unpack(args))
  if s.off then redis.call('HSET', hkey, 'off', s.off, 'offp', s.offp, 'offn', s.offn) else redis.call('HDEL', hkey, 'off', 'offp', 'offn') end
end

local function refill(b, d, now)
  local elapsed = now - b.t
  if elapsed > 0 then
    local r = rate(d, b.l)
    if r > 0 and b.v < b.c then b.v = math.min(b.c, b.v + elapsed * r) end
    b.t = now
  end
  return b.v
end
-- As in quota/bucket.ts: what a demand needs, and the refill a bucket near its capacity loses
-- while a request is on its way (policy.ts's DELIVERY_JITTER_MS).
local function needed(b, d, a) return math.min(a, b.c) end
local function lostToCap(b, d, v) return math.max(0, v + rate(d, b.l) * JITTER_MS - b.c) end

-- A reservation record: "mask,input,output,admitted at".
local function parseRecord(rec)
  local m, i, o, at = string.match(rec, '^(%d+),([^,]+),([^,]+),([^,]+)$')
  return tonumber(m), tonumber(i), tonumber(o), tonumber(at)
end
local function record(m, i, o, at) return m .. ',' .. i .. ',' .. o .. ',' .. at end

-- Closes one reservation: its in-flight share leaves, and what it did not use goes back.
-- hasUsage false: the provider never counted it. expired: its replica vanished; assume it was counted.
local function release(s, rec, hasUsage, ui, uo, now, expired)
  local m, ri, ro, admitted = parseRecord(rec)
  -- The provider counted it: a later answer is fresh only a delivery margin after it (see observe).
  if hasUsage and not expired then s.seen = math.max(s.seen or 0, admitted) end
  s.n = math.max(0, s.n - 1)
  s.si = math.max(0, s.si - ri)
  s.so = math.max(0, s.so - ro)
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b and bit.band(m, bitOf(d)) ~= 0 then
      b.u = b.u - amount(d, ri, ro)
      if s.n == 0 or b.u < 0 then b.u = 0 end -- float noise must not outlive the reservations
      local back = 0
      if d == CONC then back = 1
      elseif expired then back = 0
      elseif not hasUsage then back = amount(d, ri, ro)
      elseif d == ITPM then back = ri - ui
      elseif d == OTPM then back = ro - uo
      elseif d == TPM then back = ri + ro - ui - uo end
      if back ~= 0 then
        refill(b, d, now)
        b.v = math.min(b.c, b.v + back)
      end
    end
  end
  -- A correction may have counted as unseen requests the provider had in fact seen (they overtook
  -- the answered one on the way); as they settle, the provider's own floor of zero applies.
  for _, d in ipairs(ON_ARRIVAL) do
    local b = s.b[d]
    if b and bit.band(s.dbt, bitOf(d)) ~= 0 and refill(b, d, now) < -b.u then b.v = math.min(b.c, -b.u) end
  end
  if s.n == 0 then s.dbt = 0 end
  s.dirty = true
end

local function expire(s, hres, hexp, now)
  local ids = redis.call('ZRANGEBYSCORE', hexp, '-inf', now, 'LIMIT', 0, 100)
  for _, id in ipairs(ids) do
    local rec = redis.call('HGET', hres, id)
    if rec then release(s, rec, false, 0, 0, now, true) end
    redis.call('HDEL', hres, id)
    redis.call('ZREM', hexp, id)
  end
end

-- The smallest share of a limit left after the demand, or nil if it does not fit now.
local function score(s, i, o, now)
  if s.cool > now then return nil end
  if s.learn == 1 and s.n > 0 then return nil end
  local sc = 1
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b and gates(s, d) then
      local a = amount(d, i, o)
      if refill(b, d, now) + EPS < needed(b, d, a) then return nil end
      local h = (b.v - a) / b.l
      if h < sc then sc = h end
    end
  end
  return sc
end

local function keyWait(s, i, o, now)
  local w = math.max(0, s.cool - now)
  if s.learn == 1 and s.n > 0 then w = math.max(w, SETTLE_WAIT) end
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b and gates(s, d) then
      local missing = needed(b, d, amount(d, i, o)) - refill(b, d, now)
      if missing > EPS then
        local r = rate(d, b.l)
        if r > 0 then w = math.max(w, math.ceil(missing / r)) else w = math.max(w, SETTLE_WAIT) end
      end
    end
  end
  return w
end
`;

/**
 * Admission: KEYS = (hash, res, exp) per key of the pool, in pool order, then each key's window log
 * (redis-window.ts), then the pool's interactive-waiting flag. ARGV = now, input, output, reservation
 * id, reservation ttl ms, reserve (1) or estimate only (0), the replica id for a batch request ('' for
 * an interactive one), then per key: id, six limits, window type ('' for none) and length.
 * Returns {1, keyId} or {0, waitMs} (waitMs "inf": no key can serve).
 * A batch request yields while another replica has interactive requests waiting for the pool.
 */
export const RESERVE = `${PRELUDE}${WINDOW_LUA}
local now, i, o = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local rid, ttl, reserve = ARGV[4], tonumber(ARGV[5]), ARGV[6] == '1'
local batchOf = ARGV[7]
local nk = (#KEYS - 1) / 4
if reserve and batchOf ~= '' then
  local waiting = redis.call('GET', KEYS[#KEYS])
  if waiting and waiting ~= batchOf then return { 0, tostring(YIELD_MS) } end
end
local states = {}
local best, bestScore = nil, -math.huge
local minWait = math.huge
for k = 1, nk do
  local at = 8 + (k - 1) * 9
  local hkey, hres, hexp = KEYS[3 * k - 2], KEYS[3 * k - 1], KEYS[3 * k]
  local created = redis.call('EXISTS', hkey) == 0
  local s = load(hkey, at + 1, now)
  if reserve then expire(s, hres, hexp, now) end
  winLoad(s, KEYS[3 * nk + k], ARGV[at + 7], ARGV[at + 8], created, now, ttl)
  states[k] = s
  if not s.off then
    local sc = score(s, i, o, now)
    if sc ~= nil and s.win then
      if winWait(s, i, o, now) > 0 then sc = nil else sc = math.min(sc, winHeadroom(s, i, o, now)) end
    end
    if sc == nil then
      local w = keyWait(s, i, o, now)
      if s.win then w = math.max(w, winWait(s, i, o, now)) end
      minWait = math.min(minWait, w)
    elseif sc > bestScore then
      best, bestScore = k, sc
    end
  end
end
if not reserve then
  if best then return { 0, '0' } end
  return { 0, tostring(minWait) }
end
if best then
  local s = states[best]
  local mask = 0
  for d = 0, ND - 1 do
    local b = s.b[d]
    if b then
      local a = amount(d, i, o)
      local v = refill(b, d, now)
      b.v = v - a - lostToCap(b, d, v)
      b.u = b.u + a
      mask = bit.bor(mask, bitOf(d))
    end
  end
  s.n, s.si, s.so = s.n + 1, s.si + i, s.so + o
  s.dirty = true
  redis.call('HSET', KEYS[3 * best - 1], rid, record(mask, i, o, now))
  redis.call('ZADD', KEYS[3 * best], now + ttl, rid)
  if s.win then winRecord(KEYS[3 * nk + best], s, rid, i, o, now, ttl) end
end
for k = 1, nk do
  if states[k].dirty then save(KEYS[3 * k - 2], states[k]) end
end
if best then return { 1, ARGV[8 + (best - 1) * 9] } end
return { 0, tostring(minWait) }
`;

/**
 * Settle: KEYS = hash, res, exp, window log of the reservation's key. ARGV = now, reservation id,
 * usage known (1/0), input used, output used, then six limits. Unknown ids (already settled,
 * expired, or lost with a Redis restart) change nothing.
 */
export const SETTLE = `${PRELUDE}${WINDOW_LUA}
local now = tonumber(ARGV[1])
local rec = redis.call('HGET', KEYS[2], ARGV[2])
if not rec then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[2])
local s = load(KEYS[1], 6, now)
release(s, rec, ARGV[3] == '1', tonumber(ARGV[4]), tonumber(ARGV[5]), now, false)
local _, ri, ro = parseRecord(rec)
winCorrect(KEYS[4], ARGV[2], ri, ro, now, ARGV[3] == '1', tonumber(ARGV[4]), tonumber(ARGV[5]))
save(KEYS[1], s)
return 1
`;

/**
 * Observe: KEYS = hash, res, exp, window log. ARGV = now, answered reservation id ('' if none), six limits,
 * then limit and remaining ('' when absent) for rpm, itpm, otpm and tpm (the caller already decided
 * whether Anthropic's combined tokens limit counts), the answered reservation's admission time and
 * when its request was sent ('' when unknown), '1' if the answer was a 429. Mirrors KeyPool.observe/learn.
 */
export const OBSERVE = `${PRELUDE}${WINDOW_LUA}
local now = tonumber(ARGV[1])
local answered = ARGV[2]
local answeredAt = tonumber(ARGV[17])
local sentAt = tonumber(ARGV[18]) or answeredAt
-- A 429: no refill credited, everything in flight unseen (see KeyPool.observe).
local refused = ARGV[19] == '1'
local s = load(KEYS[1], 3, now)
-- The answer to a request admitted a delivery margin after every request answered so far is the
-- newest word on the key and may raise the level; any other may only lower it (see Answer in quota/pool.ts).
local fresh = answeredAt ~= nil and answeredAt - JITTER_MS >= (s.seen or 0)
-- The provider has refilled since the answered request reached it: at most a delivery margin after it was sent.
local since = 0
if fresh and not refused then since = math.max(0, now - math.max(answeredAt, sentAt) - JITTER_MS) end
s.learn = 0
local counted = nil
if answered ~= '' and redis.call('HEXISTS', KEYS[2], answered) == 1 then counted = answered end

local function totalOf(d)
  if d == ITPM then return s.si elseif d == OTPM then return s.so elseif d == TPM then return s.si + s.so end
  return s.n
end

-- In flight, per dimension counted on arrival: what was admitted before 'seenBefore' (the provider
-- has counted it), and whether any was admitted between that and the answered request (doubtful:
-- counted as unseen). One pass over the reservations for all those dimensions. A dimension with no
-- bucket yet counts everything: a bucket created by this answer takes in all that is in flight.
local function inFlightBefore(seenBefore)
  local seen, doubtful = {}, {}
  for _, d in ipairs(ON_ARRIVAL) do seen[d], doubtful[d] = 0, false end
  local all = redis.call('HGETALL', KEYS[2])
  for j = 1, #all, 2 do
    local m, ri, ro, admitted = parseRecord(all[j + 1])
    for _, d in ipairs(ON_ARRIVAL) do
      if not s.b[d] or bit.band(m, bitOf(d)) ~= 0 then
        if admitted < seenBefore then seen[d] = seen[d] + amount(d, ri, ro)
        elseif admitted < answeredAt then doubtful[d] = true end
      end
    end
  end
  return seen, doubtful
end

local function learn(d, limit, remaining, countedId, before)
  local b = s.b[d]
  -- A new or changed limit makes our level meaningless: take the provider's word outright.
  local resync = false
  if limit and limit > 0 then
    resync = (not b) or b.l ~= limit
    if not b then
      local c = math.min(limit, initialCap(d, limit))
      b = { l = limit, c = c, v = c, t = now, u = totalOf(d) }
      s.b[d] = b
      -- What is in flight counts against the new bucket too, and settle gives it back there.
      local all = redis.call('HGETALL', KEYS[2])
      for j = 1, #all, 2 do
        local m, ri, ro, at = parseRecord(all[j + 1])
        redis.call('HSET', KEYS[2], all[j], record(bit.bor(m, bitOf(d)), ri, ro, at))
      end
    elseif b.l ~= limit then
      refill(b, d, now)
      b.l = limit
      b.c = math.min(limit, math.max(b.c, initialCap(d, limit)))
      b.v = math.min(b.v, b.c)
    end
  end
  if not b or remaining == nil then return end
  refill(b, d, now)
  -- A burst larger than we assumed is room we did not know of. For an answer to a known request the
  -- level grows only as far as the correction below shows it; without one, with the capacity.
  local grown = math.max(0, math.min(b.l, remaining) - b.c)
  b.c = b.c + grown
  if answeredAt == nil then b.v = b.v + grown end
  local rec = countedId and redis.call('HGET', KEYS[2], countedId)
  local m, ri, ro, rat
  if rec then m, ri, ro, rat = parseRecord(rec) end
  local counted = rec and bit.band(m, bitOf(d)) ~= 0
  local unseen = b.u
  if counted then unseen = unseen - amount(d, ri, ro) end
  local seen, doubtful = 0, false
  if before then seen, doubtful = before.seen[d], before.doubtful[d] end
  -- The provider's bucket stops at its capacity while refilling; what is still on the way comes off
  -- after, and may find it full (lostToCap).
  local onWay = math.max(0, unseen - seen)
  local function after(v)
    if onWay > 0 then return v - onWay - lostToCap(b, d, v) end
    return v
  end
  local credited = after(math.min(b.c, remaining + rate(d, b.l) * since))
  if credited >= b.v and not resync and not fresh then return end
  -- The refill credited may lower the level less, but the level rises on the provider's figures alone.
  local truth = credited
  if credited > b.v then truth = math.max(b.v, after(math.min(b.c, remaining))) end
  b.v = math.min(b.c, truth)
  if doubtful then s.dbt = bit.bor(s.dbt, bitOf(d)) end
  if counted then
    -- Already in 'remaining' at its real size: settle must not give the estimate's excess back here.
    redis.call('HSET', KEYS[2], countedId, record(bit.band(m, bit.bnot(bitOf(d))), ri, ro, rat))
    b.u = math.max(0, b.u - amount(d, ri, ro))
  end
  if before and before.seen[d] > 0 then
    -- So are those admitted before it by more than the delivery margin.
    local all = redis.call('HGETALL', KEYS[2])
    for j = 1, #all, 2 do
      local om, oi, oo, oat = parseRecord(all[j + 1])
      if not refused and oat < answeredAt - JITTER_MS and bit.band(om, bitOf(d)) ~= 0 then
        redis.call('HSET', KEYS[2], all[j], record(bit.band(om, bit.bnot(bitOf(d))), oi, oo, oat))
        b.u = math.max(0, b.u - amount(d, oi, oo))
      end
    end
  end
end

-- Requests overtake each other on the way by some milliseconds: those admitted within a delivery
-- margin before the answered one count as not yet seen (see KeyPool's Answer).
local before = nil
if answeredAt then
  local seen, doubtful = inFlightBefore(refused and -math.huge or answeredAt - JITTER_MS)
  before = { seen = seen, doubtful = doubtful }
end
learn(RPM, tonumber(ARGV[9]), tonumber(ARGV[10]), counted, before)
learn(ITPM, tonumber(ARGV[11]), tonumber(ARGV[12]), counted, before)
learn(OTPM, tonumber(ARGV[13]), tonumber(ARGV[14]), nil)
learn(TPM, tonumber(ARGV[15]), tonumber(ARGV[16]), nil)
if answeredAt then s.seen = math.max(s.seen or 0, answeredAt) end
if counted then
  local _, ri, ro = parseRecord(redis.call('HGET', KEYS[2], counted))
  winArrived(KEYS[4], counted, ri, ro, now)
end
save(KEYS[1], s)
return 1
`;

/** Cool down: KEYS = hash. ARGV = now, until (ms), six limits. Counts a prediction miss. */
export const COOL_DOWN = `${PRELUDE}
local s = load(KEYS[1], 3, tonumber(ARGV[1]))
s.cool = math.max(s.cool, tonumber(ARGV[2]))
s.miss = s.miss + 1
save(KEYS[1], s)
return 1
`;

/**
 * Rest (quota/rest.ts startRest): KEYS = hash. ARGV = now, reason, six limits. The first probe is
 * due at once. Returns 1 when this call took the key out of service, 0 if it already rested.
 */
export const REST = `${PRELUDE}
local now = tonumber(ARGV[1])
local s = load(KEYS[1], 3, now)
if s.off then return 0 end
s.off, s.offp, s.offn = ARGV[2], now, 0
save(KEYS[1], s)
return 1
`;

/**
 * Claim a due probe (quota/rest.ts claimProbe): KEYS = hash. ARGV = now, first and longest wait
 * between probes (ms). Returns 1 when the caller may probe; the next probe is scheduled now.
 */
export const CLAIM_PROBE = `
local now, first, longest = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('HEXISTS', KEYS[1], 'off') == 0 then return 0 end
if (tonumber(redis.call('HGET', KEYS[1], 'offp')) or 0) > now then return 0 end
local probes = (tonumber(redis.call('HGET', KEYS[1], 'offn')) or 0) + 1
redis.call('HSET', KEYS[1], 'offn', probes, 'offp', now + math.min(longest, first * 2 ^ (probes - 1)))
return 1
`;

/** Back in service: KEYS = hash. Returns 1 when this call brought the key back. */
export const ENABLE = `
return redis.call('HDEL', KEYS[1], 'off', 'offp', 'offn') > 0 and 1 or 0
`;

/**
 * After an outage: KEYS = hash. ARGV = now, six limits. While replicas spent their local shares the
 * shared buckets refilled in Redis (or Redis restarted full): empty them, and let the next
 * answer's headers say what is really left.
 */
export const DRAIN = `${PRELUDE}
local now = tonumber(ARGV[1])
local s = load(KEYS[1], 2, now)
for d = 0, ND - 1 do
  local b = s.b[d]
  if b and d ~= CONC then
    refill(b, d, now)
    b.v = math.min(b.v, 0)
  end
end
save(KEYS[1], s)
return 1
`;

/**
 * Replica heartbeat: KEYS = the replicas zset. ARGV = now, replica id, ttl ms (0: leave).
 * Returns how many replicas are alive, which is each one's share of the limits when Redis is gone.
 */
export const HEARTBEAT = `
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ttl > 0 then redis.call('ZADD', KEYS[1], now + ttl, ARGV[2]) else redis.call('ZREM', KEYS[1], ARGV[2]) end
redis.call('PEXPIRE', KEYS[1], math.max(ttl, 1000) * 10)
return redis.call('ZCARD', KEYS[1])
`;

/**
 * A key's window just learned (window-learn.ts): KEYS = res, window log. ARGV = now, reservation
 * ttl ms, window length, then the times the answered requests count from. The log starts with the
 * key's reservations in flight, unanswered, and those answered ones (as KeyPool.switchWindow).
 */
export const WINDOW_SEED = `${PRELUDE}
local now, ttl, len = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local open = redis.call('HGETALL', KEYS[1])
for j = 1, #open, 2 do
  local _, ri, ro, at = parseRecord(open[j + 1])
  if at then redis.call('ZADD', KEYS[2], 'NX', at, '?' .. open[j] .. ',' .. ri .. ',' .. ro) end
end
for j = 4, #ARGV do redis.call('ZADD', KEYS[2], tonumber(ARGV[j]), 'seed:' .. now .. ':' .. j .. ',0,0') end
redis.call('PEXPIRE', KEYS[2], math.max(2 * len + JITTER_MS, ttl))
return 1
`;

export const SCRIPTS = {
  spillwayWindowSeed: WINDOW_SEED,
  spillwayReserve: RESERVE,
  spillwaySettle: SETTLE,
  spillwayObserve: OBSERVE,
  spillwayCoolDown: COOL_DOWN,
  spillwayRest: REST,
  spillwayClaimProbe: CLAIM_PROBE,
  spillwayEnable: ENABLE,
  spillwayDrain: DRAIN,
  spillwayHeartbeat: HEARTBEAT,
  ...tenantScripts(PRELUDE),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
