/**
 * The Lua scripts of the Redis backend. Each transition of a task or a
 * message is one script, so Redis runs it atomically: no other client sees a
 * half-made change, and two clients racing for one task are serialised by the
 * server. See docs/architecture.md, "The Redis backend", for the key layout.
 *
 * Calling convention (every script): KEYS[1] is a key of the team (it routes
 * the call to the team's hash slot; every key a script touches carries the
 * same `{namespace}` hash tag, so a cluster keeps a team on one node). ARGV:
 *
 *   1 prefix      `agent-team:{<namespace>}:`
 *   2 now         epoch ms from the caller's injected clock (scripts never read the server's clock)
 *   3 ts          the event timestamp, as JSON number text
 *   4 writer      the calling process's writer id (events)
 *   5 maxlen      approximate cap of the event stream
 *   6...          the script's own arguments
 *
 * Replies are arrays whose first element is a code: `OK`, `NONE`, `LOST`
 * (fencing refused the caller), `DONE` (a repeated call whose first run
 * succeeded), `NOTFOUND`, `STATE`, `DUP`, `UNKNOWNDEP`, `CYCLE`, `RETRY`.
 * Events are written to the stream inside the script, atomically with the
 * change they describe, and returned so the caller can notify in-process
 * listeners.
 */

/** The fields of a task hash that make up a record, in the order scripts return them. */
export const RECORD_FIELDS = [
  'spec',
  'status',
  'attempt',
  'owner',
  'leaseUntil',
  'errors',
  'reason',
  'feedback',
  'notBefore',
  'finishedAt',
  'extra',
  'result',
] as const;

const BASE = String.raw`
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local TS = ARGV[3]
local WRITER = ARGV[4]
local MAXLEN = ARGV[5]
local EVENTS = {}
local SETTLE = {}
local WAKE = false
local FINAL = { completed = true, failed = true, blocked = true, cancelled = true }
local REC = { 'spec', 'status', 'attempt', 'owner', 'leaseUntil', 'errors', 'reason', 'feedback', 'notBefore', 'finishedAt', 'extra' }
local REC_RESULT = { 'spec', 'status', 'attempt', 'owner', 'leaseUntil', 'errors', 'reason', 'feedback', 'notBefore', 'finishedAt', 'extra', 'result' }
`;

/**
 * Helper functions, each included only in the scripts that call it (directly
 * or through another helper): creating closures a script does not use costs
 * measurable time on every call.
 */
const HELPERS = String.raw`
local function tk(id) return P .. 't:' .. id end
local function js(s) return cjson.encode(s) end
-- Integers as plain digits (tostring would switch to an exponent past 14 digits).
local function num(n) return string.format('%.0f', n) end

local function rec(id, withResult)
  return redis.call('HMGET', tk(id), unpack(withResult and REC_RESULT or REC))
end

local function ev(typ, id, extra)
  EVENTS[#EVENTS + 1] = ',"type":"' .. typ .. '","taskId":"' .. id .. '"' .. (extra or '')
end

-- Writes the collected events to the stream and returns them. The events of
-- one script share a stream entry (one field "e" per event, in order; up to
-- 1000 an entry), so a transition costs one XADD however many events it has.
-- Event seq numbers from scripts are even (a team-wide counter, doubled);
-- those a process appends itself are odd, so the two never collide.
local function flush()
  if WAKE then redis.call('PUBLISH', P .. 'wake:tasks', '1') end
  local n = #EVENTS
  if n == 0 then return {} end
  local last = redis.call('INCRBY', P .. 'evseq', n)
  local head = '{"ts":' .. TS .. ',"writer":' .. js(WRITER) .. ',"seq":'
  local out, fields = {}, {}
  for i = 1, n do
    local json = head .. num(2 * (last - n + i)) .. EVENTS[i] .. '}'
    out[i] = json
    fields[#fields + 1] = 'e'
    fields[#fields + 1] = json
    if #fields == 2000 or i == n then
      redis.call('XADD', P .. 'events', 'MAXLEN', '~', MAXLEN, '*', unpack(fields))
      fields = {}
    end
  end
  return out
end

local function append_json(arr, item)
  if not arr or arr == '' or arr == '[]' then return '[' .. item .. ']' end
  return string.sub(arr, 1, -2) .. ',' .. item .. ']'
end

-- The claim id is the part of a token after "<attempt>-".
local function cid_of(token)
  return string.match(token, '^%d+%-(.+)$') or token
end

local function drop_lane_if_empty(lane)
  if redis.call('ZCARD', P .. 'ready:' .. lane) == 0 then redis.call('SREM', P .. 'lanes', lane) end
end

-- Removes a task from the index of its current status.
local function unindex(id, status)
  if status == 'ready' then
    local f = redis.call('HMGET', tk(id), 'lane', 'rm')
    redis.call('ZREM', P .. 'ready:' .. f[1], f[2])
    drop_lane_if_empty(f[1])
  elseif status == 'delayed' then
    redis.call('ZREM', P .. 'delayed', id)
  elseif status == 'claimed' then
    redis.call('ZREM', P .. 'claimed', id)
    local token = redis.call('HGET', tk(id), 'token')
    if token and token ~= '' then redis.call('HDEL', P .. 'grants', cid_of(token)) end
  elseif status then
    redis.call('ZREM', P .. 'st:' .. status, id)
  end
end

-- Into its lane's ready index (the task hash's status is the caller's to set).
local function index_ready(lane, rm, prio)
  redis.call('ZADD', P .. 'ready:' .. lane, prio, rm)
  redis.call('SADD', P .. 'lanes', lane)
  WAKE = true
end

local function make_ready(id)
  local f = redis.call('HMGET', tk(id), 'lane', 'rm', 'prio')
  index_ready(f[1], f[2], f[3])
  redis.call('HSET', tk(id), 'status', 'ready', 'notBefore', '')
end

local function set_status(id, status)
  redis.call('ZADD', P .. 'st:' .. status, 0, id)
  redis.call('HSET', tk(id), 'status', status)
end

local function final_of(id)
  local s = redis.call('HGET', tk(id), 'status')
  if s and FINAL[s] then return s end
  return nil
end

local function block(id, reason)
  redis.call('ZREM', P .. 'st:pending', id)
  redis.call('HSET', tk(id), 'reason', reason, 'finishedAt', num(NOW), 'owner', '')
  set_status(id, 'blocked')
  ev('task.blocked', id, ',"reason":' .. js(reason))
  SETTLE[#SETTLE + 1] = id
end

-- A pending task's fate from its dependencies: ready, blocked, or still pending.
local function evaluate(id)
  local f = redis.call('HMGET', tk(id), 'status', 'deps', 'extra', 'allowFailed')
  if f[1] ~= 'pending' then return f[1] end
  local unfinished, failedDep, failedStatus = false, nil, nil
  for dep in string.gmatch(f[2] or '', '%S+') do
    local s = final_of(dep)
    if not s then
      unfinished = true
    elseif s ~= 'completed' and not failedDep then
      failedDep, failedStatus = dep, s
    end
  end
  -- A deferred task also waits for its continuation's dependencies, whatever their outcome.
  for dep in string.gmatch(f[3] or '', '%S+') do
    if not final_of(dep) then unfinished = true end
  end
  if failedDep and f[4] ~= '1' then
    block(id, 'dependency "' .. failedDep .. '" ' .. failedStatus)
    return 'blocked'
  end
  if unfinished then return 'pending' end
  redis.call('ZREM', P .. 'st:pending', id)
  make_ready(id)
  ev('task.ready', id)
  return 'ready'
end

-- Tasks that reached a final state: each pending dependent is evaluated
-- (through the reverse edges, never a scan). A queue, not recursion, so a
-- long chain of blocked tasks cannot overflow Lua's stack.
local function settle()
  local i = 1
  while i <= #SETTLE do
    local id = SETTLE[i]
    i = i + 1
    for _, child in ipairs(redis.call('SMEMBERS', P .. 'rdeps:' .. id)) do evaluate(child) end
  end
end

-- Exponential backoff with equal jitter, as backoffDelay() in queue/backoff.ts.
local function backoff(base, max, failures, rnd)
  if base <= 0 then return 0 end
  local exp = math.min(max, base * 2 ^ math.max(0, failures - 1))
  local half = exp / 2
  return math.floor(half + rnd * half + 0.5)
end

-- After a failed attempt (the task is already out of the claimed index):
-- retry after backoff while the budget lasts, else fail for good.
local function after_failed(id, attempt, kind, message, agent, retryable, rnd)
  local h = tk(id)
  local f = redis.call('HMGET', h, 'errors', 'budgetStart', 'maxAttempts', 'rbase', 'rmax')
  local entry = '{"attempt":' .. num(attempt) .. ',"message":' .. js(message)
  if agent ~= '' then entry = entry .. ',"agentId":' .. js(agent) end
  entry = entry .. ',"at":' .. num(NOW) .. ',"kind":' .. js(kind) .. '}'
  local errors = append_json(f[1], entry)
  local budgetStart = tonumber(f[2]) or 0
  local failures = 0
  for _, e in ipairs(cjson.decode(errors)) do
    if (tonumber(e.attempt) or 0) > budgetStart then failures = failures + 1 end
  end
  local maxAttempts = tonumber(f[3]) or 1
  redis.call('HSET', h, 'errors', errors, 'token', '', 'leaseUntil', '')
  if retryable and failures < maxAttempts then
    -- A lost lease says nothing about the task itself: it goes straight back to ready.
    local delay = 0
    if kind ~= 'lease_expired' then delay = backoff(tonumber(f[4]) or 0, tonumber(f[5]) or 0, failures, rnd) end
    local nextAttempt = attempt + 1
    redis.call('HSET', h, 'attempt', nextAttempt, 'owner', '')
    if delay > 0 then
      local due = NOW + delay
      redis.call('HSET', h, 'status', 'delayed', 'notBefore', num(due))
      redis.call('ZADD', P .. 'delayed', due, id)
    else
      make_ready(id)
    end
    if kind == 'lease_expired' then
      ev('task.requeued', id, ',"attempt":' .. num(nextAttempt) .. ',"delayMs":0,"error":' .. js(message)
        .. ',"reason":"lease expired","previousOwner":' .. (agent ~= '' and js(agent) or 'null'))
    else
      ev('task.retried', id, ',"attempt":' .. num(nextAttempt) .. ',"delayMs":' .. num(delay) .. ',"error":' .. js(message))
    end
    if delay > 0 then return 'delayed' end
    return 'ready'
  end
  local reason = message
  if retryable then
    reason = 'failed ' .. failures .. ' time' .. (failures == 1 and '' or 's') .. ' (maxAttempts ' .. maxAttempts .. '); last error: ' .. message
  end
  redis.call('HSET', h, 'reason', reason, 'finishedAt', num(NOW), 'owner', agent, 'notBefore', '')
  set_status(id, 'failed')
  local extra = ',"attempt":' .. num(attempt)
  if agent ~= '' then extra = extra .. ',"agentId":' .. js(agent) end
  ev('task.failed', id, extra .. ',"reason":' .. js(reason))
  SETTLE[#SETTLE + 1] = id
  return 'failed'
end

-- Fencing: the caller's token must be the current claim's. A repeated call
-- (its first reply was lost) whose first run succeeded answers DONE.
local function own(id, token, op)
  local f = redis.call('HMGET', tk(id), 'status', 'token', 'doneToken', 'doneOp', 'owner', 'attempt', 'spec', 'errors', 'feedback', 'extra')
  if f[1] == 'claimed' and f[2] == token then return f, nil end
  if f[3] == token and f[4] == op then return nil, { 'DONE' } end
  if not f[1] then return nil, { 'LOST', 'the task does not exist' } end
  if f[1] == 'cancelled' then return nil, { 'LOST', 'the task was cancelled' } end
  return nil, { 'LOST', 'the lease expired and the task was taken over' }
end

-- Ends the caller's claim (fencing already checked by own()).
local function finish_claim(id, token, op)
  redis.call('ZREM', P .. 'claimed', id)
  redis.call('HDEL', P .. 'grants', cid_of(token))
  redis.call('HSET', tk(id), 'token', '', 'leaseUntil', '', 'doneToken', token, 'doneOp', op)
end

local function split(s, sep)
  local out = {}
  if not s or s == '' then return out end
  for part in string.gmatch(s, '[^' .. sep .. ']+') do out[#out + 1] = part end
  return out
end

-- Lanes (type, or type@requirement) that a claim filter accepts, among the non-empty ones.
local function accepted_lanes(types, caps, acceptUnrequired)
  local typeSet = nil
  if types ~= '*' then
    typeSet = {}
    for _, t in ipairs(split(types, ',')) do typeSet[t] = true end
  end
  local capSet = {}
  for _, c in ipairs(split(caps, ',')) do capSet[c] = true end
  local out = {}
  for _, lane in ipairs(redis.call('SMEMBERS', P .. 'lanes')) do
    local at = string.find(lane, '@', 1, true)
    local typ, req = lane, nil
    if at then typ, req = string.sub(lane, 1, at - 1), string.sub(lane, at + 1) end
    if (typeSet == nil or typeSet[typ]) and ((req == nil and acceptUnrequired == '1') or (req ~= nil and capSet[req])) then
      out[#out + 1] = lane
    end
  end
  return out
end

-- Retries whose backoff elapsed become ready (a bounded batch per call).
local function promote_due()
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', NOW, 'LIMIT', 0, 100)) do
    redis.call('ZREM', P .. 'delayed', id)
    make_ready(id)
    ev('task.ready', id, ',"reason":"backoff elapsed"')
  end
end

-- Claims up to max ready tasks the filter accepts, best first (priority, then
-- first in first out, across lanes), in one pass: each lane's head is read
-- once and cut once. The claim arguments start at ARGV[a]: cid, agentId,
-- leaseMs, types, capabilities, acceptUnrequired, pid, host, max. Grant i is
-- recorded under the claim id "<cid>.<i>" (its token is "<attempt>-<cid>.<i>").
-- The same cid again means the first call's reply was lost: the grants it
-- made that still stand are handed back instead of claiming more tasks
-- (\`fresh\`: the caller knows this is the first run, so there is nothing to look for).
-- Returns a list of grants { id, record fields (RECORD_FIELDS order), lease ms, token }.
local function claim_ready(a, fresh, count)
  local cid, agent, defaultLms = ARGV[a], ARGV[a + 1], tonumber(ARGV[a + 2])
  local max = count or tonumber(ARGV[a + 8]) or 1
  local cids = {}
  for i = 1, max do cids[i] = cid .. '.' .. i end
  local out = {}
  if not fresh then
    local prev = redis.call('HMGET', P .. 'grants', unpack(cids))
    for i = 1, max do
      local id = prev[i]
      if id then
        local g = redis.call('HMGET', tk(id), 'token', 'status', 'lms')
        if g[2] == 'claimed' and g[1] and cid_of(g[1]) == cids[i] then out[#out + 1] = { id, rec(id, false), g[3], g[1] } end
      end
    end
    if #out > 0 then return out end
  end
  promote_due()
  local heads = {}
  for _, lane in ipairs(accepted_lanes(ARGV[a + 3], ARGV[a + 4], ARGV[a + 5])) do
    -- One more member than needed: whether taking them empties the lane comes for free.
    local head = redis.call('ZRANGE', P .. 'ready:' .. lane, 0, max, 'WITHSCORES')
    if head[1] then heads[#heads + 1] = { lane, head, 1, 0 } end
  end
  local members = {}
  while #members < max do
    local best, bestScore, bestMember = nil, nil, nil
    for _, l in ipairs(heads) do
      local m = l[2][l[3]]
      if m then
        local score = tonumber(l[2][l[3] + 1])
        if best == nil or score < bestScore or (score == bestScore and m < bestMember) then
          best, bestScore, bestMember = l, score, m
        end
      end
    end
    if not best then break end
    best[3] = best[3] + 2
    best[4] = best[4] + 1
    members[#members + 1] = bestMember
  end
  if #members == 0 then return out end
  for _, l in ipairs(heads) do
    if l[4] > 0 then
      redis.call('ZREMRANGEBYRANK', P .. 'ready:' .. l[1], 0, l[4] - 1)
      if l[4] * 2 == #l[2] then redis.call('SREM', P .. 'lanes', l[1]) end
    end
  end
  local leases, grantArgs = {}, {}
  local pid, host = ARGV[a + 6], ARGV[a + 7]
  for i, member in ipairs(members) do
    local id = string.sub(member, string.find(member, ':', 1, true) + 1)
    local h = tk(id)
    local f = redis.call('HMGET', h, 'attempt', 'leaseMs', 'spec', 'errors', 'reason', 'feedback', 'notBefore', 'finishedAt', 'extra')
    local lms = tonumber(f[2]) or defaultLms
    local leaseUntil = num(NOW + lms)
    local token = f[1] .. '-' .. cids[i]
    redis.call('HSET', h, 'status', 'claimed', 'owner', agent, 'token', token, 'leaseUntil', leaseUntil,
      'claimedAt', num(NOW), 'lms', num(lms), 'pid', pid, 'host', host)
    leases[#leases + 1] = leaseUntil
    leases[#leases + 1] = id
    grantArgs[#grantArgs + 1] = cids[i]
    grantArgs[#grantArgs + 1] = id
    ev('task.claimed', id, ',"agentId":' .. js(agent) .. ',"attempt":' .. f[1] .. ',"leaseUntil":' .. leaseUntil)
    -- The record fields, without reading them again.
    out[i] = { id, { f[3], 'claimed', f[1], agent, leaseUntil, f[4], f[5], f[6], f[7], f[8], f[9] }, num(lms), token }
  end
  redis.call('ZADD', P .. 'claimed', unpack(leases))
  redis.call('HSET', P .. 'grants', unpack(grantArgs))
  return out
end

-- Completes (or holds for review) a task the caller holds, fenced by its token:
-- the record fields in RECORD_FIELDS order, or nil and the refusal. A completed
-- task is queued for settle() (the caller runs it once, after all its completions).
local function complete_one(id, token, result, review)
  local f, refused = own(id, token, 'complete')
  if not f then return nil, refused end
  local status = review and 'review' or 'completed'
  -- The hot path, in as few calls as it takes: out of the claimed index, one write of the record, into the new index.
  redis.call('ZREM', P .. 'claimed', id)
  redis.call('HDEL', P .. 'grants', cid_of(token))
  redis.call('HSET', tk(id), 'status', status, 'token', '', 'leaseUntil', '', 'doneToken', token, 'doneOp', 'complete',
    'result', result, 'finishedAt', ARGV[2], 'reason', '')
  redis.call('ZADD', P .. 'st:' .. status, 0, id)
  ev(review and 'task.review' or 'task.completed', id, ',"agentId":' .. js(f[5]) .. ',"attempt":' .. f[6])
  if not review then SETTLE[#SETTLE + 1] = id end
  -- spec, status, attempt, owner, leaseUntil, errors, reason, feedback, notBefore, finishedAt, extra
  return { f[7], status, f[6], f[5], false, f[8], false, f[9], false, ARGV[2], f[10] }
end
`;

const ADD = String.raw`
-- ARGV[6] = count; then per task 13 fields:
-- id, spec, keyHash, deps, lane, prio, rm, allowFailed, maxAttempts, rbase, rmax, leaseMs, eventTail
local n = tonumber(ARGV[6])
local G = 13
local function arg(i, k) return ARGV[6 + (i - 1) * G + k] end
local inBatch = {}
for i = 1, n do inBatch[arg(i, 1)] = i end
local outcome = {}
-- Checks first: nothing is written unless the whole batch can be added.
for i = 1, n do
  local id, key = arg(i, 1), arg(i, 3)
  local existing = nil
  if key ~= '' then
    local other = redis.call('HGET', P .. 'idem', key)
    if other and other ~= id and redis.call('EXISTS', tk(other)) == 1 then existing = other end
  end
  if existing then
    -- Won by another adder a moment ago: if the batch refers to this task by
    -- its own id, the caller must resolve the mapping and try again.
    for j = 1, n do
      for dep in string.gmatch(arg(j, 4), '%S+') do
        if dep == id then return { 'RETRY' } end
      end
    end
    outcome[i] = { 'existing', existing }
  else
    local stored = redis.call('HGET', tk(id), 'spec')
    if stored then
      -- The same spec again: a repeated call whose first reply was lost.
      if stored ~= arg(i, 2) then return { 'DUP', id } end
      outcome[i] = { 'resent', id }
    else
      for dep in string.gmatch(arg(i, 4), '%S+') do
        if not inBatch[dep] and redis.call('EXISTS', tk(dep)) == 0 then return { 'UNKNOWNDEP', id, dep } end
      end
      outcome[i] = { 'new', id }
    end
  end
end
-- Index writes of tasks without dependencies are gathered and made once per
-- index (a lane's ready set, the set of all tasks): a batch of 100 costs a
-- few calls, not a few hundred.
local all, ready, readyLanes = {}, {}, {}
local function flush_index()
  if #all > 0 then redis.call('ZADD', P .. 'all', unpack(all)) end
  for lane, members in pairs(ready) do
    redis.call('ZADD', P .. 'ready:' .. lane, unpack(members))
    readyLanes[#readyLanes + 1] = lane
  end
  if #readyLanes > 0 then
    redis.call('SADD', P .. 'lanes', unpack(readyLanes))
    WAKE = true
  end
  all, ready, readyLanes = {}, {}, {}
end
local gathered = 0
for i = 1, n do
  if outcome[i][1] == 'new' then
    local id, deps = arg(i, 1), arg(i, 4)
    local h = tk(id)
    -- One write of the whole task, with the status it starts in.
    redis.call('HSET', h, 'spec', arg(i, 2), 'status', deps == '' and 'ready' or 'pending', 'attempt', 1, 'lane', arg(i, 5),
      'prio', arg(i, 6), 'rm', arg(i, 7), 'deps', deps, 'allowFailed', arg(i, 8), 'maxAttempts', arg(i, 9),
      'rbase', arg(i, 10), 'rmax', arg(i, 11), 'leaseMs', arg(i, 12), 'budgetStart', 0)
    if arg(i, 3) ~= '' then redis.call('HSET', P .. 'idem', arg(i, 3), id) end
    ev('task.added', id, arg(i, 13))
    if deps == '' then
      all[#all + 1] = 0
      all[#all + 1] = id
      local lane = arg(i, 5)
      local members = ready[lane]
      if not members then
        members = {}
        ready[lane] = members
      end
      members[#members + 1] = arg(i, 6)
      members[#members + 1] = arg(i, 7)
      gathered = gathered + 1
      -- Bounded, so unpack() stays far below Lua's limit on a large batch.
      if gathered == 1000 then
        flush_index()
        gathered = 0
      end
      ev('task.ready', id, ',"attempt":1')
    else
      -- A dependent is evaluated at once, so what it depends on must be indexed first.
      flush_index()
      gathered = 0
      redis.call('ZADD', P .. 'all', 0, id)
      for dep in string.gmatch(deps, '%S+') do redis.call('SADD', P .. 'rdeps:' .. dep, id) end
      redis.call('ZADD', P .. 'st:pending', 0, id)
      evaluate(id)
    end
  end
end
flush_index()
settle()
local reply = {}
for i = 1, n do
  local kind, id = outcome[i][1], outcome[i][2]
  if kind == 'new' and arg(i, 4) == '' then
    -- Nothing in this script moves a task without dependencies out of ready.
    reply[i] = { kind, id, 'ready' }
  elseif kind == 'new' then
    reply[i] = { kind, id, redis.call('HGET', tk(id), 'status') }
  else
    reply[i] = { kind, id, rec(id, true) }
  end
end
return { 'OK', reply, flush() }
`;

const CLAIM = String.raw`
-- ARGV: 6 cid, 7 agentId, 8 leaseMs, 9 types ('*' = any), 10 capabilities, 11 acceptUnrequired, 12 pid, 13 host, 14 max
local grants = claim_ready(6)
local code = 'OK'
if #grants == 0 then code = 'NONE' end
return { code, grants, flush() }
`;

const HEARTBEAT = String.raw`
-- ARGV: 6 taskId, 7 token, 8 leaseMs
local id, token = ARGV[6], ARGV[7]
local f = redis.call('HMGET', tk(id), 'status', 'token')
if f[1] ~= 'claimed' or f[2] ~= token then
  if f[1] == 'cancelled' then return { 'LOST', 'the task was cancelled' } end
  return { 'LOST', 'the lease expired and the task was taken over' }
end
local leaseUntil = NOW + tonumber(ARGV[8])
redis.call('HSET', tk(id), 'leaseUntil', num(leaseUntil))
redis.call('ZADD', P .. 'claimed', leaseUntil, id)
return { 'OK', num(leaseUntil) }
`;

const COMPLETE = String.raw`
-- ARGV: 6 taskId, 7 token, 8 result (JSON), 9 review ('1'/'0'), then optionally the
-- claim arguments of the next tasks (10 cid ... 18 max, as claim_ready reads them):
-- complete-and-claim-next, one round trip per task in steady state.
local nextClaim = ARGV[10] ~= nil
local record, refused = complete_one(ARGV[6], ARGV[7], ARGV[8], ARGV[9] == '1')
if not record then
  -- A repeated call whose first run succeeded hands back the grants that run made.
  if refused[1] == 'DONE' and nextClaim then
    local again = claim_ready(10)
    return { 'DONE', false, flush(), again }
  end
  return refused
end
settle()
-- Claimed after the dependents settled, so a task this completion made ready can be among them.
-- The completion just happened, so this is the first run of the call: no earlier grants to look for.
local grants = {}
if nextClaim then grants = claim_ready(10, true) end
return { 'OK', record, flush(), grants }
`;

const COMPLETE_MANY = String.raw`
-- Several complete-and-claims of one process at once (a worker's slots finishing
-- together), each fenced on its own: one refused completion refuses only itself.
-- ARGV: 6 count k; per item 5 fields: taskId, token, result (JSON), review ('1'/'0'),
-- next tasks wanted; then the claim arguments (cid, agentId, leaseMs, types,
-- capabilities, acceptUnrequired, pid, host, unused). Reply: { per-item outcome
-- ({ 'OK', record } or a refusal), events, grants (for the items that completed, in order) }.
local k = tonumber(ARGV[6])
local outcomes = {}
local want, repeated = 0, false
for i = 1, k do
  local b = 6 + (i - 1) * 5
  local record, refused = complete_one(ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4] == '1')
  if record then
    outcomes[i] = { 'OK', record }
    want = want + tonumber(ARGV[b + 5])
  else
    outcomes[i] = refused
    -- Completed by a first run of this call whose reply was lost: its grants stand.
    if refused[1] == 'DONE' then
      repeated = true
      want = want + tonumber(ARGV[b + 5])
    end
  end
end
settle()
local grants = {}
if want > 0 then grants = claim_ready(7 + k * 5, not repeated, want) end
return { outcomes, flush(), grants }
`;

const FAIL = String.raw`
-- ARGV: 6 taskId, 7 token, 8 message, 9 kind, 10 retryable ('1'/'0'), 11 random in [0, 1)
local id, token = ARGV[6], ARGV[7]
local f, refused = own(id, token, 'fail')
if not f then return refused end
finish_claim(id, token, 'fail')
after_failed(id, tonumber(f[6]), ARGV[9], ARGV[8], f[5], ARGV[10] == '1', tonumber(ARGV[11]))
settle()
return { 'OK', rec(id, false), flush() }
`;

const RELEASE = String.raw`
-- ARGV: 6 taskId, 7 token, 8 has feedback ('1'/'0'), 9 feedback
local id, token = ARGV[6], ARGV[7]
local f, refused = own(id, token, 'release')
if not f then return refused end
finish_claim(id, token, 'release')
local extra = ',"agentId":' .. js(f[5]) .. ',"attempt":' .. f[6]
if ARGV[8] == '1' then
  redis.call('HSET', tk(id), 'feedback', append_json(redis.call('HGET', tk(id), 'feedback'), js(ARGV[9])))
  extra = extra .. ',"feedback":' .. js(ARGV[9])
end
redis.call('HSET', tk(id), 'owner', '')
make_ready(id)
ev('task.released', id, extra)
return { 'OK', rec(id, false), flush() }
`;

const DEFER = String.raw`
-- ARGV: 6 taskId, 7 token, 8 dependencies (space-separated), 9 dependencies as a JSON array
local id, token = ARGV[6], ARGV[7]
local deps = split(ARGV[8], ' ')
for _, dep in ipairs(deps) do
  if redis.call('EXISTS', tk(dep)) == 0 then return { 'UNKNOWNDEP', id, dep } end
end
-- Would a dependency lead back to this task? (Only its ancestors are visited.)
local seen, stack = {}, {}
for _, dep in ipairs(deps) do stack[#stack + 1] = { dep, { id, dep } } end
while #stack > 0 do
  local top = table.remove(stack)
  local cur, path = top[1], top[2]
  if cur == id then return { 'CYCLE', cjson.encode(path) } end
  if not seen[cur] then
    seen[cur] = true
    local g = redis.call('HMGET', tk(cur), 'deps', 'extra')
    for _, list in ipairs({ g[1] or '', g[2] or '' }) do
      for dep in string.gmatch(list, '%S+') do
        local nextPath = {}
        for i, v in ipairs(path) do nextPath[i] = v end
        nextPath[#nextPath + 1] = dep
        stack[#stack + 1] = { dep, nextPath }
      end
    end
  end
end
local f, refused = own(id, token, 'defer')
if not f then return refused end
finish_claim(id, token, 'defer')
local extra = split(redis.call('HGET', tk(id), 'extra') or '', ' ')
local have = {}
for _, dep in ipairs(extra) do have[dep] = true end
for _, dep in ipairs(deps) do
  if not have[dep] then
    extra[#extra + 1] = dep
    have[dep] = true
  end
  redis.call('SADD', P .. 'rdeps:' .. dep, id)
end
redis.call('HSET', tk(id), 'extra', table.concat(extra, ' '), 'owner', '')
set_status(id, 'pending')
ev('task.deferred', id, ',"agentId":' .. js(f[5]) .. ',"attempt":' .. f[6] .. ',"dependencies":' .. ARGV[9])
evaluate(id)
settle()
return { 'OK', rec(id, false), flush() }
`;

const REVIEW = String.raw`
-- ARGV: 6 action (approve | reopen | reject), 7 taskId, 8 agentId / feedback / reason
local action, id, text = ARGV[6], ARGV[7], ARGV[8]
local h = tk(id)
local f = redis.call('HMGET', h, 'status', 'owner', 'attempt', 'feedback')
if not f[1] then return { 'NOTFOUND' } end
if f[1] ~= 'review' then return { 'STATE', f[1], 'it is not waiting for review' } end
redis.call('ZREM', P .. 'st:review', id)
if action == 'approve' then
  redis.call('HSET', h, 'finishedAt', num(NOW))
  local extra = ''
  if f[2] and f[2] ~= '' then extra = ',"agentId":' .. js(f[2]) end
  extra = extra .. ',"attempt":' .. f[3]
  if text ~= '' then
    redis.call('HSET', h, 'approvedBy', text)
    extra = extra .. ',"approvedBy":' .. js(text)
  end
  set_status(id, 'completed')
  ev('task.completed', id, extra)
  SETTLE[#SETTLE + 1] = id
elseif action == 'reopen' then
  local attempt = tonumber(f[3]) + 1
  redis.call('HSET', h, 'attempt', attempt, 'feedback', append_json(f[4], js(text)), 'owner', '', 'finishedAt', '', 'reason', '')
  redis.call('HDEL', h, 'result')
  make_ready(id)
  ev('task.reopened', id, ',"attempt":' .. num(attempt) .. ',"feedback":' .. js(text))
else
  redis.call('HSET', h, 'reason', text, 'finishedAt', num(NOW))
  redis.call('HDEL', h, 'result')
  set_status(id, 'failed')
  ev('task.failed', id, ',"attempt":' .. f[3] .. ',"reason":' .. js(text))
  SETTLE[#SETTLE + 1] = id
end
settle()
return { 'OK', rec(id, true), flush() }
`;

const CANCEL = String.raw`
-- ARGV: 6 taskId, 7 reason
local id, reason = ARGV[6], ARGV[7]
local h = tk(id)
local f = redis.call('HMGET', h, 'status', 'owner')
if not f[1] then return { 'NOTFOUND' } end
if FINAL[f[1]] then return { 'STATE', f[1], 'it is already ' .. f[1] } end
local holder = ''
if f[1] == 'claimed' then holder = f[2] or '' end
local owner = ''
if f[1] == 'claimed' or f[1] == 'review' then owner = f[2] or '' end
unindex(id, f[1])
redis.call('HSET', h, 'reason', reason, 'finishedAt', num(NOW), 'owner', owner, 'token', '', 'leaseUntil', '', 'notBefore', '')
redis.call('HDEL', h, 'result')
set_status(id, 'cancelled')
local extra = ',"reason":' .. js(reason)
if holder ~= '' then extra = extra .. ',"agentId":' .. js(holder) end
ev('task.cancelled', id, extra)
SETTLE[#SETTLE + 1] = id
settle()
return { 'OK', rec(id, false), flush() }
`;

const RETRY = String.raw`
-- ARGV: 6 taskId
local id = ARGV[6]
local function retry_one(tid)
  local h = tk(tid)
  local f = redis.call('HMGET', h, 'status', 'attempt', 'deps')
  if f[1] ~= 'failed' and f[1] ~= 'blocked' and f[1] ~= 'cancelled' then return nil end
  redis.call('ZREM', P .. 'st:' .. f[1], tid)
  local attempt = tonumber(f[2]) + 1
  -- A fresh set of attempts: failures before this point no longer count.
  redis.call('HSET', h, 'attempt', attempt, 'budgetStart', f[2], 'notBefore', '', 'reason', '', 'finishedAt', '',
    'owner', '', 'extra', '', 'token', '', 'leaseUntil', '')
  redis.call('HDEL', h, 'result')
  ev('task.retried', tid, ',"attempt":' .. num(attempt) .. ',"manual":true')
  if (f[3] or '') == '' then
    make_ready(tid)
    ev('task.ready', tid, ',"attempt":' .. num(attempt))
    return 'ready'
  end
  set_status(tid, 'pending')
  return evaluate(tid)
end
local status = redis.call('HGET', tk(id), 'status')
if not status then return { 'NOTFOUND' } end
if not retry_one(id) then
  return { 'STATE', status, 'it is ' .. status .. '; only failed, blocked or cancelled tasks can be retried' }
end
-- Dependents blocked because of this task get another chance too.
local queue, i = { id }, 1
while i <= #queue do
  local cur = queue[i]
  i = i + 1
  for _, child in ipairs(redis.call('SMEMBERS', P .. 'rdeps:' .. cur)) do
    if redis.call('HGET', tk(child), 'status') == 'blocked' then
      retry_one(child)
      queue[#queue + 1] = child
    end
  end
end
settle()
return { 'OK', rec(id, false), flush() }
`;

const REAP = String.raw`
-- ARGV: 6 batch size
local expired = redis.call('ZRANGEBYSCORE', P .. 'claimed', '-inf', NOW, 'LIMIT', 0, tonumber(ARGV[6]))
local requeued, failed = {}, {}
for _, id in ipairs(expired) do
  local f = redis.call('HMGET', tk(id), 'owner', 'attempt', 'pid', 'host')
  unindex(id, 'claimed')
  local holder = f[1] or ''
  local message = 'lease expired: the claimer died before recording who it was'
  if holder ~= '' then
    message = 'lease expired: agent "' .. holder .. '" (pid ' .. (f[3] or '?') .. ' on ' .. (f[4] or '?') .. ') stopped heartbeating'
  end
  local attempt = tonumber(f[2]) or 1
  local status = after_failed(id, attempt, 'lease_expired', message, holder, true, 0)
  if status == 'failed' then
    failed[#failed + 1] = id
  else
    requeued[#requeued + 1] = { id, attempt + 1, holder }
  end
end
settle()
return { 'OK', requeued, failed, flush(), #expired }
`;

const HAS_WORK = String.raw`
-- ARGV: 6 types ('*' = any), 7 capabilities, 8 acceptUnrequired
promote_due()
local ready = '0'
for _, lane in ipairs(accepted_lanes(ARGV[6], ARGV[7], ARGV[8])) do
  if redis.call('ZCARD', P .. 'ready:' .. lane) > 0 then
    ready = '1'
    break
  end
end
local due = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
return { ready, due[2] or '', flush() }
`;

const COUNTS = String.raw`
local ready = 0
for _, lane in ipairs(redis.call('SMEMBERS', P .. 'lanes')) do ready = ready + redis.call('ZCARD', P .. 'ready:' .. lane) end
return {
  redis.call('ZCARD', P .. 'st:pending'), ready, redis.call('ZCARD', P .. 'delayed'), redis.call('ZCARD', P .. 'claimed'),
  redis.call('ZCARD', P .. 'st:review'), redis.call('ZCARD', P .. 'st:completed'), redis.call('ZCARD', P .. 'st:failed'),
  redis.call('ZCARD', P .. 'st:blocked'), redis.call('ZCARD', P .. 'st:cancelled'), redis.call('ZCARD', P .. 'all'),
}
`;

// ---------------------------------------------------------------- messages

const MESSAGE_HELPERS = String.raw`
local function unref(id)
  if redis.call('HINCRBY', P .. 'm:ref', id, -1) <= 0 then
    redis.call('HDEL', P .. 'm:msg', id)
    redis.call('HDEL', P .. 'm:ref', id)
  end
end
-- Acked messages past retention, and the oldest past the per-reader cap, are dropped.
local function prune(agent, cutoff, cap, limit)
  local key = P .. 'm:ack:' .. agent
  local dropped = 0
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', '(' .. num(cutoff), 'LIMIT', 0, limit)) do
    redis.call('ZREM', key, id)
    unref(id)
    dropped = dropped + 1
  end
  local excess = redis.call('ZCARD', key) - cap
  if excess > 0 then
    local popped = redis.call('ZPOPMIN', key, math.min(excess, limit))
    for i = 1, #popped, 2 do
      unref(popped[i])
      dropped = dropped + 1
    end
  end
  return dropped
end
`;

const SEND = String.raw`
-- ARGV: 6 id, 7 message JSON, 8 from, 9 to, 10 ts
local id, from, to, ts = ARGV[6], ARGV[8], ARGV[9], ARGV[10]
local recipients = {}
if to == '*' then
  for _, member in ipairs(redis.call('ZRANGE', P .. 'm:members', 0, -1)) do
    if member ~= from then recipients[#recipients + 1] = member end
  end
else
  recipients[1] = to
end
-- The same message again (a repeated call whose first reply was lost): deliver nothing twice.
if redis.call('HEXISTS', P .. 'm:msg', id) == 1 then return { 'DONE', recipients } end
if to ~= '*' then
  -- As with the file backend, an agent with an inbox is a member.
  redis.call('ZADD', P .. 'm:members', 'NX', 0, to)
end
if #recipients > 0 then
  redis.call('HSET', P .. 'm:msg', id, ARGV[7])
  redis.call('HSET', P .. 'm:ref', id, #recipients)
  for _, agent in ipairs(recipients) do redis.call('ZADD', P .. 'm:in:' .. agent, ts, id) end
  redis.call('PUBLISH', P .. 'wake:messages', '1')
end
return { 'OK', recipients }
`;

const RECEIVE = String.raw`
-- ARGV: 6 agentId, 7 limit (0 = all)
local limit = tonumber(ARGV[7])
local ids = redis.call('ZRANGE', P .. 'm:in:' .. ARGV[6], 0, limit > 0 and limit - 1 or -1)
local out = {}
for _, id in ipairs(ids) do
  local body = redis.call('HGET', P .. 'm:msg', id)
  if body then out[#out + 1] = body end
end
return out
`;

const ACK = String.raw`
-- ARGV: 6 agentId, 7 retention cutoff (epoch ms), 8 per-reader cap, 9... message ids
local agent = ARGV[6]
local acked = 0
for i = 9, #ARGV do
  local id = ARGV[i]
  if redis.call('ZREM', P .. 'm:in:' .. agent, id) == 1 then
    -- Message ids start with their send time in base 36.
    redis.call('ZADD', P .. 'm:ack:' .. agent, tonumber(string.match(id, '^[^-]+'), 36) or 0, id)
    acked = acked + 1
  end
end
if acked > 0 then prune(agent, tonumber(ARGV[7]), tonumber(ARGV[8]), 100) end
return acked
`;

const COMPACT = String.raw`
-- ARGV: 6 agentId, 7 retention cutoff, 8 per-reader cap
return prune(ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), 10000)
`;

const HISTORY = String.raw`
-- ARGV: 6 agentId, 7 since (epoch ms)
local out = {}
for _, key in ipairs({ 'm:ack:', 'm:in:' }) do
  for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. key .. ARGV[6], '(' .. ARGV[7], '+inf')) do
    local body = redis.call('HGET', P .. 'm:msg', id)
    if body then out[#out + 1] = body end
  end
end
return out
`;

interface Helper {
  name: string;
  code: string;
}

/** Splits helper source into one chunk per `local function` (with the comment lines above it). */
function splitHelpers(source: string): Helper[] {
  const chunks = source.split(/\n(?=(?:--[^\n]*\n)*local function )/);
  const out: Helper[] = [];
  for (const code of chunks) {
    const name = /local function (\w+)\(/.exec(code)?.[1];
    if (name) out.push({ name, code: `${code}\n` });
  }
  return out;
}

const ALL_HELPERS = splitHelpers(HELPERS + MESSAGE_HELPERS);

/** A script: the shared variables, the helpers its body needs (transitively, in declaration order), the body. */
function build(body: string): string {
  const needed = new Set<string>();
  const visit = (code: string) => {
    for (const helper of ALL_HELPERS) {
      if (!needed.has(helper.name) && new RegExp(`\\b${helper.name}\\(`).test(code)) {
        needed.add(helper.name);
        visit(helper.code);
      }
    }
  };
  visit(body);
  return BASE + ALL_HELPERS.filter((helper) => needed.has(helper.name)).map((helper) => helper.code).join('') + body;
}

/** Every script, by the command name ioredis defines for it. */
export const SCRIPTS = {
  atAdd: build(ADD),
  atClaim: build(CLAIM),
  atHeartbeat: build(HEARTBEAT),
  atComplete: build(COMPLETE),
  atCompleteMany: build(COMPLETE_MANY),
  atFail: build(FAIL),
  atRelease: build(RELEASE),
  atDefer: build(DEFER),
  atReview: build(REVIEW),
  atCancel: build(CANCEL),
  atRetry: build(RETRY),
  atReap: build(REAP),
  atHasWork: build(HAS_WORK),
  atCounts: build(COUNTS),
  atSend: build(SEND),
  atReceive: build(RECEIVE),
  atAck: build(ACK),
  atCompact: build(COMPACT),
  atHistory: build(HISTORY),
} as const;

export type ScriptName = keyof typeof SCRIPTS;
