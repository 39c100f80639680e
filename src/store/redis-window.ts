import { MINUTE_MS, periodOf } from '../quota/policy.js';
import { DIMENSIONS } from '../quota/types.js';

/**
 * Windowed limits in Redis: the same policy as src/quota/window.ts, as Lua appended to the
 * admission and settle scripts (redis-scripts.ts, whose PRELUDE it builds on).
 *
 * Layout, per key K of pool P:
 *   <prefix>{P}:K:win   zset: "reservation id,input,output" by the latest time the request can
 *                       have reached the provider (its answer's), the requests the provider's
 *                       window may still count; "?" before the id while unanswered, scored by its
 *                       admission. Settle rewrites a member to the real usage, or removes it when
 *                       the provider never counted the request.
 * A key's window ('sliding' | 'fixed' and its length) comes with each admission, as its limits do.
 */
const WINDOWED = DIMENSIONS.flatMap((dimension, d) => (periodOf(dimension) === MINUTE_MS ? [d] : []));

export const WINDOW_LUA = `
local MINUTE = ${MINUTE_MS}
local WINDOWED = { ${WINDOWED.join(', ')} }

-- The earliest arrival that counts in the provider's window in force at t (window.ts countsFrom).
local function winFrom(win, t)
  if win.type == 'sliding' then return t - win.len + 1 end
  return math.floor(t / win.len) * win.len - JITTER_MS
end

-- Whether an entry counts in the window in force at t, seen from now: an unanswered one ('?'
-- member, scored by its admission) may still arrive until it is answered.
local function winCounts(win, e, t, now)
  local from = winFrom(win, t)
  return e.at >= from or (e.pending and now >= from)
end

-- Forgets answered entries no window from now on can count (and unanswered ones whose reservation
-- has expired), and reads the rest in order of score.
local function winEntries(wkey, win, now, ttl)
  local from = winFrom(win, now)
  local flat = redis.call('ZRANGE', wkey, 0, -1, 'WITHSCORES')
  local list = {}
  for j = 1, #flat, 2 do
    local member, at = flat[j], tonumber(flat[j + 1])
    local pending = string.sub(member, 1, 1) == '?'
    if (not pending and at < from) or (pending and ttl and at < now - ttl) then
      redis.call('ZREM', wkey, member)
    else
      local ri, ro = string.match(member, ',([^,]+),([^,]+)$')
      list[#list + 1] = { at = at, pending = pending, i = tonumber(ri), o = tonumber(ro) }
    end
  end
  return list
end

local function winUsed(win, list, d, t, now)
  local used = 0
  for _, e in ipairs(list) do if winCounts(win, e, t, now) then used = used + amount(d, e.i, e.o) end end
  return used
end
local function winFits(used, a, allowance) return used + math.min(a, allowance) <= allowance + EPS end
local function winAllowance(win, s, d)
  local b = s.b[d]
  if not b then return nil end
  return b.l * win.len / MINUTE
end

local function winDimWait(win, list, d, a, allowance, now)
  local used = winUsed(win, list, d, now, now)
  if winFits(used, a, allowance) then return 0 end
  if win.type == 'fixed' then
    local nxt = math.floor(now / win.len) * win.len + win.len
    if winFits(winUsed(win, list, d, nxt, now), a, allowance) then return nxt - now end
    return nxt + win.len - now
  end
  for _, e in ipairs(list) do
    if not e.pending then
      used = used - amount(d, e.i, e.o)
      if winFits(used, a, allowance) then return math.max(0, e.at + win.len - now) end
    end
  end
  return win.len
end

-- ms until the key's window admits the demand (0: now).
local function winWait(s, i, o, now)
  local w = 0
  for _, d in ipairs(WINDOWED) do
    local allowance = winAllowance(s.win, s, d)
    local a = amount(d, i, o)
    if allowance and a > 0 then w = math.max(w, winDimWait(s.win, s.wlist, d, a, allowance, now)) end
  end
  return w
end

-- Share of the window left after the demand.
local function winHeadroom(s, i, o, now)
  local h = 1
  for _, d in ipairs(WINDOWED) do
    local allowance = winAllowance(s.win, s, d)
    if allowance and allowance > 0 then h = math.min(h, (allowance - winUsed(s.win, s.wlist, d, now, now) - amount(d, i, o)) / allowance) end
  end
  return h
end

-- Reads the key's window (ARGV type and length; type '' for none) beside its state. A windowed
-- limit's bucket holds one window's allowance (KeyPool's initialCapacity), full when the key is new.
local function winLoad(s, wkey, wtype, wlen, created, now, ttl)
  if wtype == '' then return end
  s.win = { type = wtype, len = tonumber(wlen) }
  for _, d in ipairs(WINDOWED) do
    local b = s.b[d]
    if b then
      local c = math.min(b.l, math.max(b.l * s.win.len / MINUTE, 1))
      if b.c < c then
        b.c = c
        if created then b.v = c end
        s.dirty = true
      end
    end
  end
  s.wlist = winEntries(wkey, s.win, now, ttl)
end

-- Counted unanswered; kept while its reservation may live.
local function winRecord(wkey, s, rid, i, o, now, ttl)
  redis.call('ZADD', wkey, now, '?' .. rid .. ',' .. i .. ',' .. o)
  redis.call('PEXPIRE', wkey, math.max(2 * s.win.len + JITTER_MS, ttl))
end

-- The request's answer came at 'at' (window.ts arrivedBy): it arrived no later.
local function winArrived(wkey, rid, ri, ro, at)
  local member = rid .. ',' .. ri .. ',' .. ro
  local was = tonumber(redis.call('ZSCORE', wkey, '?' .. member))
  if was then
    redis.call('ZREM', wkey, '?' .. member)
    redis.call('ZADD', wkey, math.max(was, at), member)
  end
end

-- Settled at 'now' (window.ts correct): the window counts the real usage, from its answer (or
-- now, if none was seen), or nothing if the provider never counted the request.
local function winCorrect(wkey, rid, ri, ro, now, hasUsage, ui, uo)
  local member = rid .. ',' .. ri .. ',' .. ro
  local at = tonumber(redis.call('ZSCORE', wkey, member))
  local was = tonumber(redis.call('ZSCORE', wkey, '?' .. member))
  if not at and not was then return end
  redis.call('ZREM', wkey, member, '?' .. member)
  if hasUsage then redis.call('ZADD', wkey, at or math.max(was, now), rid .. ',' .. ui .. ',' .. uo) end
end
`;
