/**
 * The Lua behind RedisBatchStore: every state change that must be atomic across replicas is one
 * script, so it is one round trip and no other replica sees it half done.
 *
 * Key layout under the store prefix P (batch ids are [A-Za-z0-9_-], so ':' cannot collide):
 *   P batches:seq        counter giving each batch its insertion order
 *   P batches:list       zset id -> seq, every batch
 *   P batches:owner:<o>  zset id -> seq, the batches of owner o (listing and paging; o is '' in open mode)
 *   P batches:owners     set once batches stored before owners existed were given the open-mode owner
 *   P batches:open       zset id -> seq, batches in_progress (claim, oldest batch first)
 *   P batches:live       zset id -> seq, batches not ended (requeue, endIdle)
 *   P batches:expiry     zset id -> expiresAt, batches not ended (expire)
 *   P batches:webhooks   set of ended batches whose webhook is not sent yet
 *   P batch:<id>         hash, the batch record (see redis-store.ts)
 *   P batch:<id>:ids     list of custom_ids in submission order (results)
 *   P batch:<id>:idx     hash custom_id -> submission index (where a released request goes back)
 *   P batch:<id>:params  hash custom_id -> params JSON
 *   P batch:<id>:pending zset custom_id -> index, not yet handed out
 *   P batch:<id>:running hash custom_id -> replica id that claimed it
 *   P batch:<id>:result  hash custom_id -> result JSON; a request with a result is final
 *   P batch:<id>:counts  hash final state -> how many
 *
 * The scripts iterate batches, so they build keys from P (ARGV[1]) rather than declaring them in
 * KEYS; the one key they declare (P batches:live) routes them. On a Redis Cluster P carries the
 * hash tag `{shared}` (RedisStore.sharedPrefix), so every key they build is in that one slot.
 */
import { placeholderResult } from './shape.js';

const luaString = (text: string): string => JSON.stringify(text); // a JSON string literal is a valid Lua one here (ASCII, no escapes beyond \")

/** Shared helpers. ARGV[1] is the prefix and ARGV[2] the time (epoch ms) in every script. */
const PRELUDE = `
local P = ARGV[1]
local now = tonumber(ARGV[2])
local CANCELED = ${luaString(JSON.stringify(placeholderResult('canceled')))}
local EXPIRED = ${luaString(JSON.stringify(placeholderResult('expired')))}
local function k(id, part)
  if part then return P .. 'batch:' .. id .. ':' .. part end
  return P .. 'batch:' .. id
end
local function ownerIndex(owner) return P .. 'batches:owner:' .. owner end

-- Ends the batch when nothing is pending or running. Returns 1 when it ended now.
local function endIfDone(id)
  if redis.call('ZCARD', k(id, 'pending')) > 0 or redis.call('HLEN', k(id, 'running')) > 0 then return 0 end
  local status = redis.call('HGET', k(id), 'status')
  if not status or status == 'ended' then return 0 end
  redis.call('HSET', k(id), 'status', 'ended', 'endedAt', now)
  redis.call('ZREM', P .. 'batches:open', id)
  redis.call('ZREM', P .. 'batches:live', id)
  redis.call('ZREM', P .. 'batches:expiry', id)
  if (redis.call('HGET', k(id), 'webhookUrl') or '') ~= '' and (redis.call('HGET', k(id), 'webhookSentAt') or '') == '' then
    redis.call('SADD', P .. 'batches:webhooks', id)
  end
  return 1
end

-- Every pending request gets a placeholder result and the given final state.
local function closePending(id, state, result)
  local ids = redis.call('ZRANGE', k(id, 'pending'), 0, -1)
  for _, cid in ipairs(ids) do redis.call('HSET', k(id, 'result'), cid, result) end
  if #ids > 0 then redis.call('HINCRBY', k(id, 'counts'), state, #ids) end
  redis.call('DEL', k(id, 'pending'))
end

-- A request that left 'running' without an answer: pending again, or canceled in a batch being canceled.
local function putBack(id, cid)
  local status = redis.call('HGET', k(id), 'status')
  if status == 'in_progress' then
    redis.call('ZADD', k(id, 'pending'), tonumber(redis.call('HGET', k(id, 'idx'), cid)), cid)
  elseif status then
    redis.call('HSET', k(id, 'result'), cid, CANCELED)
    redis.call('HINCRBY', k(id, 'counts'), 'canceled', 1)
  end
end
`;

/** ARGV[3..]: field, value pairs of the batch hash; ARGV[3] is 'id'. Gives the batch its seq and makes it visible. */
const CREATE = `${PRELUDE}
local id = ARGV[4]
local fields = {}
local status, expiresAt, owner
for i = 3, #ARGV, 2 do
  fields[#fields + 1] = ARGV[i]; fields[#fields + 1] = ARGV[i + 1]
  if ARGV[i] == 'status' then status = ARGV[i + 1] end
  if ARGV[i] == 'expiresAt' then expiresAt = tonumber(ARGV[i + 1]) end
  if ARGV[i] == 'owner' then owner = ARGV[i + 1] end
end
local seq = redis.call('INCR', P .. 'batches:seq')
redis.call('HSET', k(id), 'seq', seq, unpack(fields))
redis.call('ZADD', P .. 'batches:list', seq, id)
redis.call('ZADD', ownerIndex(owner), seq, id)
if status == 'in_progress' then redis.call('ZADD', P .. 'batches:open', seq, id) end
if status ~= 'ended' then
  redis.call('ZADD', P .. 'batches:live', seq, id)
  redis.call('ZADD', P .. 'batches:expiry', expiresAt, id)
end
return seq
`;

/**
 * ARGV[3]: batch. Removes the batch, its requests and its place in every index. Returns 1 when
 * there was such a batch. A script rather than MULTI because the owner's index is read from the batch.
 */
const DELETE = `${PRELUDE}
local id = ARGV[3]
local owner = redis.call('HGET', k(id), 'owner') or ''
local existed = redis.call('DEL', k(id))
for _, part in ipairs({ 'ids', 'idx', 'params', 'pending', 'running', 'result', 'counts', 'webhook-lease' }) do
  redis.call('DEL', k(id, part))
end
for _, index in ipairs({ 'list', 'open', 'live', 'expiry' }) do redis.call('ZREM', P .. 'batches:' .. index, id) end
redis.call('ZREM', ownerIndex(owner), id)
redis.call('SREM', P .. 'batches:webhooks', id)
return existed
`;

/**
 * Batches stored before owners existed get the open-mode owner (''), so a single-user gateway
 * keeps listing them after an upgrade. Runs in full once per Redis; after that it is one SET.
 */
const INDEX_OWNERS = `${PRELUDE}
if not redis.call('SET', P .. 'batches:owners', '1', 'NX') then return 0 end
local listed = redis.call('ZRANGE', P .. 'batches:list', 0, -1, 'WITHSCORES')
local n = 0
for i = 1, #listed, 2 do
  local id = listed[i]
  if redis.call('EXISTS', k(id)) == 1 and redis.call('HSETNX', k(id), 'owner', '') == 1 then
    redis.call('ZADD', ownerIndex(''), listed[i + 1], id)
    n = n + 1
  end
end
return n
`;

/** ARGV[3]: how many, ARGV[4]: the claiming replica. Returns flat [batchId, customId, params, ...]. */
const CLAIM = `${PRELUDE}
local limit = tonumber(ARGV[3])
local owner = ARGV[4]
local out = {}
local n = 0
for _, id in ipairs(redis.call('ZRANGE', P .. 'batches:open', 0, -1)) do
  if n >= limit then break end
  local popped = redis.call('ZPOPMIN', k(id, 'pending'), limit - n)
  for i = 1, #popped, 2 do
    local cid = popped[i]
    redis.call('HSET', k(id, 'running'), cid, owner)
    out[#out + 1] = id
    out[#out + 1] = cid
    out[#out + 1] = redis.call('HGET', k(id, 'params'), cid) or '{}'
    n = n + 1
  end
end
return out
`;

/**
 * ARGV[3]: batch, ARGV[4]: custom_id, ARGV[5]: final state, ARGV[6]: result JSON. Returns 1 when
 * the batch ended now. A request that already has a result is left alone (idempotent); one that a
 * presumed-dead replica's claim put back to pending is still recorded, so it is not sent again.
 */
const COMPLETE = `${PRELUDE}
local id, cid = ARGV[3], ARGV[4]
if redis.call('HEXISTS', k(id, 'result'), cid) == 1 then return 0 end
local was = redis.call('HDEL', k(id, 'running'), cid) + redis.call('ZREM', k(id, 'pending'), cid)
if was == 0 then return 0 end
redis.call('HSET', k(id, 'result'), cid, ARGV[6])
redis.call('HINCRBY', k(id, 'counts'), ARGV[5], 1)
return endIfDone(id)
`;

/** ARGV[3]: batch, ARGV[4]: custom_id. */
const RELEASE = `${PRELUDE}
local id, cid = ARGV[3], ARGV[4]
if redis.call('HDEL', k(id, 'running'), cid) == 0 then return 0 end
putBack(id, cid)
return endIfDone(id)
`;

/** ARGV[3]: batch. Returns 1 when the batch ended now. */
const CANCEL = `${PRELUDE}
local id = ARGV[3]
if redis.call('HGET', k(id), 'status') ~= 'in_progress' then return 0 end
redis.call('HSET', k(id), 'status', 'canceling', 'cancelInitiatedAt', now)
redis.call('ZREM', P .. 'batches:open', id)
closePending(id, 'canceled', CANCELED)
return endIfDone(id)
`;

/** Returns the ids of batches that ended. */
const EXPIRE = `${PRELUDE}
local ended = {}
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'batches:expiry', '-inf', now)) do
  closePending(id, 'expired', EXPIRED)
  if endIfDone(id) == 1 then ended[#ended + 1] = id end
end
return ended
`;

/**
 * ARGV[3]: the replica heartbeat zset (member: replica id, score: when its heartbeat lapses).
 * Running requests whose owner is missing or lapsed go back; a live replica's are never touched.
 */
const REQUEUE = `${PRELUDE}
local replicas = ARGV[3]
local alive = {}
local n = 0
for _, id in ipairs(redis.call('ZRANGE', P .. 'batches:live', 0, -1)) do
  local running = redis.call('HGETALL', k(id, 'running'))
  local moved = false
  for i = 1, #running, 2 do
    local cid, owner = running[i], running[i + 1]
    if alive[owner] == nil then
      local lapses = redis.call('ZSCORE', replicas, owner)
      alive[owner] = lapses ~= false and tonumber(lapses) > now
    end
    if not alive[owner] then
      redis.call('HDEL', k(id, 'running'), cid)
      putBack(id, cid)
      n = n + 1
      moved = true
    end
  end
  if moved then endIfDone(id) end
end
return n
`;

const END_IDLE = `${PRELUDE}
local ended = {}
for _, id in ipairs(redis.call('ZRANGE', P .. 'batches:live', 0, -1)) do
  if endIfDone(id) == 1 then ended[#ended + 1] = id end
end
return ended
`;

/** ARGV[3]: batch. Returns [pending, running, succeeded, errored, canceled, expired]. */
const COUNTS = `${PRELUDE}
local id = ARGV[3]
local final = redis.call('HMGET', k(id, 'counts'), 'succeeded', 'errored', 'canceled', 'expired')
local out = { redis.call('ZCARD', k(id, 'pending')), redis.call('HLEN', k(id, 'running')) }
for i = 1, 4 do out[#out + 1] = tonumber(final[i] or 0) end
return out
`;

/**
 * ARGV[3]: lease in ms. Ended batches whose webhook is due and not being sent by another replica:
 * each gets a lease so only one replica sends it; a failed send is retried once the lease lapses.
 */
const WEBHOOKS_DUE = `${PRELUDE}
local lease = tonumber(ARGV[3])
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. 'batches:webhooks')) do
  if redis.call('SET', k(id, 'webhook-lease'), '1', 'NX', 'PX', lease) then out[#out + 1] = id end
end
return out
`;

export const BATCH_SCRIPTS = {
  spillwayBatchCreate: CREATE,
  spillwayBatchDelete: DELETE,
  spillwayBatchIndexOwners: INDEX_OWNERS,
  spillwayBatchClaim: CLAIM,
  spillwayBatchComplete: COMPLETE,
  spillwayBatchRelease: RELEASE,
  spillwayBatchCancel: CANCEL,
  spillwayBatchExpire: EXPIRE,
  spillwayBatchRequeue: REQUEUE,
  spillwayBatchEndIdle: END_IDLE,
  spillwayBatchCounts: COUNTS,
  spillwayBatchWebhooksDue: WEBHOOKS_DUE,
} as const;

export type BatchScriptName = keyof typeof BATCH_SCRIPTS;
