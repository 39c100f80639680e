import { MINUTE_MS, periodOf, WINDOW_ARRIVAL_MS } from '../quota/policy.js';
import { DIMENSIONS } from '../quota/types.js';

/**
 * Windowed limits in Redis: the same policy as src/quota/window.ts, as Lua appended to the
 * admission and settle scripts (redis-scripts.ts, whose PRELUDE it builds on).
 *
 * Layout, per key K of pool P:
 *   <prefix>{P}:K:win   zset: "reservation id,input,output" by admission time (ms), the requests
 *                       the provider's window may still count; settle rewrites a member to the
 *                       real usage, or removes it when the provider never counted the request.
 * A key's window ('sliding' | 'fixed' and its length) comes with each admission, as its limits do.
 */
const WINDOWED = DIMENSIONS.flatMap((dimension, d) => (periodOf(dimension) === MINUTE_MS ? [d] : []));

export const WINDOW_LUA = `
local MINUTE = ${MINUTE_MS}
local ARRIVAL_MS = ${WINDOW_ARRIVAL_MS}
local WINDOWED = { ${WINDOWED.join(', ')} }

-- The earliest admission time that counts in the provider's window at t (window.ts countsFrom).
local function winFrom(win, t)
  if win.type == 'sliding' then return t - win.len - JITTER_MS end
  return math.floor(t / win.len) * win.len - JITTER_MS
end

-- Forgets what no window from now on can count, and reads the rest.
local function winEntries(wkey, win, now)
  redis.call('ZREMRANGEBYSCORE', wkey, '-inf', '(' .. (now - win.len - JITTER_MS))
  local flat = redis.call('ZRANGE', wkey, 0, -1, 'WITHSCORES')
  local list = {}
  for j = 1, #flat, 2 do
    local ri, ro = string.match(flat[j], ',([^,]+),([^,]+)$')
    list[#list + 1] = { at = tonumber(flat[j + 1]), i = tonumber(ri), o = tonumber(ro) }
  end
  return list
end

local function winUsed(list, d, from)
  local used = 0
  for _, e in ipairs(list) do if e.at >= from then used = used + amount(d, e.i, e.o) end end
  return used
end
local function winFits(used, a, allowance) return used + math.min(a, allowance) <= allowance + EPS end
local function winAllowance(win, s, d)
  local b = s.b[d]
  if not b then return nil end
  return b.l * win.len / MINUTE
end

local function winDimWait(win, list, d, a, allowance, now)
  local from = winFrom(win, now)
  local used = winUsed(list, d, from)
  if winFits(used, a, allowance) then return 0 end
  if win.type == 'fixed' then
    local nxt = math.floor(now / win.len) * win.len + win.len
    if winFits(winUsed(list, d, nxt - JITTER_MS), a, allowance) then return nxt - now end
    return nxt + win.len - now
  end
  for _, e in ipairs(list) do
    if e.at >= from then
      used = used - amount(d, e.i, e.o)
      if winFits(used, a, allowance) then return math.ceil(e.at + win.len + JITTER_MS - now) end
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
  local from = winFrom(s.win, now)
  for _, d in ipairs(WINDOWED) do
    local allowance = winAllowance(s.win, s, d)
    if allowance and allowance > 0 then h = math.min(h, (allowance - winUsed(s.wlist, d, from) - amount(d, i, o)) / allowance) end
  end
  return h
end

-- Reads the key's window (ARGV type and length; type '' for none) beside its state. A windowed
-- limit's bucket holds one window's allowance (KeyPool's initialCapacity), full when the key is new.
local function winLoad(s, wkey, wtype, wlen, created, now)
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
  s.wlist = winEntries(wkey, s.win, now)
end

local function winRecord(wkey, s, rid, i, o, now)
  redis.call('ZADD', wkey, now, rid .. ',' .. i .. ',' .. o)
  redis.call('PEXPIRE', wkey, 2 * s.win.len + JITTER_MS)
end

-- The request reached the provider by 'at' (window.ts arrivedBy): counted from then.
local function winArrived(wkey, rid, ri, ro, at)
  local member = rid .. ',' .. ri .. ',' .. ro
  local was = tonumber(redis.call('ZSCORE', wkey, member))
  if was and was < at then redis.call('ZADD', wkey, at, member) end
end

-- Settled: the window counts the real usage, or nothing if the provider never counted the request.
local function winCorrect(wkey, rid, ri, ro, at, hasUsage, ui, uo)
  if redis.call('ZREM', wkey, rid .. ',' .. ri .. ',' .. ro) == 1 and hasUsage then
    redis.call('ZADD', wkey, at, rid .. ',' .. ui .. ',' .. uo)
  end
end
`;
