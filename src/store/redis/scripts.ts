/**
 * The Lua scripts of the Redis store. Every operation that reads and then writes, or writes several
 * keys that must change together, is one script: Redis runs a script alone, so it is a transaction.
 * A script cannot roll back, so each write script checks everything first and writes only after.
 *
 * Keys (P is the store's prefix; ARGV[1] of every script). Key names are built here from P only,
 * so every key of the store is under it (the test suite runs under an ACL user limited to P*).
 *   P req:UUID        hash of a request: id, ref, k (list member), c (createdAt), s (status),
 *                     u (updatedAt), t (templateRef), tr (traceId; layout 4: '' when it is the
 *                     request's own uuid without dashes), sa (scheduledAt), o (owner),
 *                     l (leaseExpiresAt), v (version), m (JSON array of the other fields,
 *                     record-codec.ts); '' is null
 *   P refs            hash ref -> uuid
 *   P idx:s:STATUS, P idx:t:TEMPLATE, P idx:tr:TRACE
 *                     list indexes: sorted sets of members "createdAt(16 digits):uuid", all of
 *                     score 0, so lexicographic order is (createdAt, uuid) and a cursor is a member;
 *                     a request whose trace id is its own uuid (tr '') is not in idx:tr; the list
 *                     of all requests merges the status indexes (layout 3 kept an idx:all too)
 *   P due             sorted set uuid by scheduledAt, of scheduled requests
 *   P rev:UUID:N      hash of a revision: v, i (JSON of the fields fixed when it is added),
 *                     m (JSON array of those a save changes: status, times, error, version)
 *   P req:UUID rn     (a field of the request's hash) the number of its latest revision;
 *                     revisions are numbered from 1, so reading them needs no index of its own
 *   P run:UUID        hash of a task run: v, i (its createdAt; layout 2: JSON of its identity),
 *                     m (JSON array of the fields a save changes, and taskRef, className, inputs),
 *                     g (layout 4: its first run of log lines when a save of the run wrote it,
 *                     "REQUEST first-last" or "REQUEST seq"; the others are in tlog)
 *   P rev:UUID:N r    (layout 4: a field of the revision's hash) the uuids of the task runs
 *                     created with the revision's request, in order, separated by spaces
 *   P runs:UUID:N     list of the task run uuids of a revision created after it (layout 3: all),
 *                     in creation order
 *   P log:UUID        list of a request's log lines, each the JSON array [task, ts, level, source,
 *                     message] (layout 2: an object); a line's seq is its position from 1
 *   P tlog:UUID:TASK  sorted set of one task run's lines but the run in its hash (g): a member
 *                     per run of consecutive ones, "first-last" ("seq" for one line, as layout 2
 *                     kept each), scored by last
 *   P schema          the version of this layout
 *   P templates       hash JSON [refName, version] -> JSON of a template record (never changed
 *                     once set: HSETNX, so no script is needed)
 */

import { REQUEST_STATUSES } from '../records.js';

// Shared by every script: the prefix, argument reading, stale errors and index upkeep.
const PRELUDE = `
local P = ARGV[1]
local at = 2
local function take()
  local value = ARGV[at]
  at = at + 1
  return value
end
local function stale(message)
  error({ err = 'O3STALE ' .. message })
end
local function free(o, l, owner, now)
  return o == '' or o == owner or l == '' or tonumber(l) <= now
end

-- Moves a request between the index sets when status, template, trace or schedule change. The
-- old values are those stored (false where missing); s is nil for a new request. Scores are
-- strings: a Lua number given to redis.call is formatted by sprintf, the costliest step of an
-- index update.
local function move(name, before, after, k)
  if before == after then return end
  if before then redis.call('ZREM', P .. name .. before, k) end
  redis.call('ZADD', P .. name .. after, '0', k)
end
-- A request whose trace id is its own uuid without dashes, as the engine makes one when none is
-- given, stores it as '' and is not in the trace index: listRequests finds a trace's first request
-- by its uuid. A trace of one request cost a key of its own, 3 % of Redis's instructions per W1
-- request.
local function reindex(uuid, k, news, newt, newtr, newsa, s, t, tr)
  move('idx:s:', s, news, k)
  move('idx:t:', t, newt, k)
  if tr ~= newtr then
    if tr and tr ~= '' then redis.call('ZREM', P .. 'idx:tr:' .. tr, k) end
    if newtr ~= '' then redis.call('ZADD', P .. 'idx:tr:' .. newtr, '0', k) end
  end
  if news == 'scheduled' and newsa ~= '' then
    redis.call('ZADD', P .. 'due', newsa, uuid)
  elseif s == 'scheduled' then
    redis.call('ZREM', P .. 'due', uuid)
  end
end

-- A record is the position of its first argument in ARGV: its fields are read where they lie, as
-- A[r + offset], not copied into a table of their own (a table per record cost a tenth of Redis's
-- instructions per W1 request). A record's arguments: identity, version and what every write
-- sets, then what only an insert (version '1') writes, which a save never changes and so never
-- sends. Offsets of a request's: uuid, version, status, updatedAt, templateRef, traceId,
-- scheduledAt, JSON, then ref, list member, createdAt, owner, lease; of a revision's: request,
-- number, version, JSON, then fixed JSON; of a task run's: uuid, request, revision, version,
-- JSON, then createdAt.
local A = ARGV
local function take_request()
  local r = at
  at = r + (A[r + 1] == '1' and 13 or 8)
  return r
end
local function take_revision()
  local r = at
  at = r + (A[r + 2] == '1' and 5 or 4)
  return r
end
local function take_run()
  local r = at
  at = r + (A[r + 3] == '1' and 6 or 5)
  return r
end
local function take_list(reader)
  local list = {}
  for j = 1, tonumber(take()) do list[j] = reader() end
  return list
end
-- Log lines come grouped by request: a count of groups, then per group the request, a count of
-- lines and each line's task run ('' for none) and JSON. A group is where its request lies in
-- ARGV: its lines follow, a task run then a JSON each, not copied line by line. Appends the groups
-- to \`groups\`.
local function take_logs(groups)
  for _ = 1, tonumber(take()) do
    groups[#groups + 1] = at
    at = at + 2 + 2 * tonumber(A[at + 1])
  end
  return groups
end
local function request_key(r) return P .. 'req:' .. A[r] end
local function revision_key(r) return P .. 'rev:' .. A[r] .. ':' .. A[r + 1] end
local function run_key(r) return P .. 'run:' .. A[r] end

-- Compare-and-set check of one record (a request, revision or run, as \`kind\` says): version v
-- needs v - 1 stored (none for 1). Versions are tracked across the change set, so a record given
-- twice must have consecutive versions. \`read\` is the stored version when the caller has just
-- read it (nil: read it here).
local seen = {}
local function describe(kind, r)
  if kind == 'request' then return 'request ' .. A[r] end
  if kind == 'revision' then return 'revision ' .. A[r + 1] .. ' of request ' .. A[r] end
  return 'task run ' .. A[r]
end
local function expect(kind, r, key, v, read)
  local stored = seen[key]
  if stored == nil then stored = tonumber(read or redis.call('HGET', key, 'v')) or 0 end
  if stored ~= v - 1 then
    local found = stored == 0 and 'none is stored' or ('version ' .. stored .. ' is stored')
    stale('Stale write of ' .. describe(kind, r) .. ': version ' .. v .. ' needs version ' .. (v - 1) .. ', but ' .. found .. '.')
  end
  seen[key] = v
end

-- A request save reads the version, owner and indexed fields it replaces in one HMGET, kept in
-- requests_read for the fencing check and the save (a record given twice is read once).
local refs = {}
local requests_read = {}
local function check_request(r)
  local uuid, v, key = A[r], tonumber(A[r + 1]), request_key(r)
  local read
  if v > 1 then
    local f = requests_read[uuid]
    if f == nil then
      f = redis.call('HMGET', key, 'v', 'o', 'k', 's', 't', 'tr')
      requests_read[uuid] = f
    end
    read = f[1]
  end
  expect('request', r, key, v, read)
  if v == 1 then
    local ref = A[r + 8]
    if refs[ref] or redis.call('HEXISTS', P .. 'refs', ref) == 1 then
      stale('Stale write of request ' .. uuid .. ': its ref ' .. ref .. ' is taken.')
    end
    refs[ref] = true
  end
end
local function check_revision(r)
  expect('revision', r, revision_key(r), tonumber(A[r + 2]))
end
local function check_run(r)
  expect('run', r, run_key(r), tonumber(A[r + 3]))
end
-- A commit's check of a run also reads whether its hash holds a run of lines (g): if not, the run's
-- save takes the first one this commit writes (unfolded marks those runs, folded holds the values).
local unfolded, folded = {}, {}
local function check_saved_run(r)
  local key = run_key(r)
  local read = nil
  if seen[key] == nil then
    local f = redis.call('HMGET', key, 'v', 'g')
    read = f[1] or ''
    if not f[2] then unfolded[key] = true end
  end
  expect('run', r, key, tonumber(A[r + 3]), read)
end

-- HSET of the fields given, and of \`field\` too when \`value\` is set: a field only some writes have.
local function hset_also(key, field, value, ...)
  if value then return redis.call('HSET', key, field, value, ...) end
  return redis.call('HSET', key, ...)
end

-- Writes, once every check passed. A request save keeps identity, owner and lease as stored, but
-- clears owner and lease when \`release\` is set (the committing node gives its lease up with it).
-- An insert given \`revision\` (the number of the revision created with it) records it as rn.
local function save_request(r, release, revision)
  local uuid, key = A[r], request_key(r)
  local s, t, tr, sa = A[r + 2], A[r + 4], A[r + 5], A[r + 6]
  if A[r + 1] == '1' then
    redis.call('HSET', key, 'id', uuid, 'ref', A[r + 8], 'k', A[r + 9], 'c', A[r + 10], 's', s,
      'u', A[r + 3], 't', t, 'tr', tr, 'sa', sa, 'o', A[r + 11], 'l', A[r + 12], 'v', '1',
      'm', A[r + 7], 'rn', revision or '0')
    redis.call('HSET', P .. 'refs', A[r + 8], uuid)
    reindex(uuid, A[r + 9], s, t, tr, sa)
  else
    local f = requests_read[uuid] or redis.call('HMGET', key, 'v', 'o', 'k', 's', 't', 'tr')
    -- Template and trace are written only when they change, which saves never do in practice.
    if t ~= f[5] or tr ~= f[6] then redis.call('HSET', key, 't', t, 'tr', tr) end
    if release then
      redis.call('HSET', key, 's', s, 'u', A[r + 3], 'sa', sa, 'v', A[r + 1], 'm', A[r + 7], 'o', '', 'l', '')
    else
      redis.call('HSET', key, 's', s, 'u', A[r + 3], 'sa', sa, 'v', A[r + 1], 'm', A[r + 7])
    end
    reindex(uuid, f[3], s, t, tr, sa, f[4], f[5], f[6])
    -- The next save of the same request in this change set replaces these.
    f[4], f[5], f[6] = s, t, tr
  end
end
-- A new revision raises its request's rn, unless the request's insert recorded it (\`counted\`).
-- \`listed\` is the uuids of the task runs created with it (createRequests), kept in its hash.
local function save_revision(r, counted, listed)
  local key = revision_key(r)
  if A[r + 2] == '1' then
    hset_also(key, 'r', listed, 'v', '1', 'i', A[r + 4], 'm', A[r + 3])
    if not counted then
      local req = P .. 'req:' .. A[r]
      local latest = tonumber(redis.call('HGET', req, 'rn')) or 0
      if latest < tonumber(A[r + 1]) then redis.call('HSET', req, 'rn', A[r + 1]) end
    end
  else
    redis.call('HSET', key, 'v', A[r + 2], 'm', A[r + 3])
  end
end
-- A new run joins its revision's list, unless the revision's hash lists it (\`listed\`).
local function save_run(r, listed)
  local key = run_key(r)
  local g = folded[key]
  if A[r + 3] == '1' then
    hset_also(key, 'g', g, 'v', '1', 'i', A[r + 5], 'm', A[r + 4])
    if not listed then redis.call('RPUSH', P .. 'runs:' .. A[r + 1] .. ':' .. A[r + 2], A[r]) end
  else
    hset_also(key, 'g', g, 'v', A[r + 3], 'm', A[r + 4])
  end
end
-- Appends log lines in their order: one RPUSH per run of lines of one request and one ZADD per run
-- of lines of one task run (in chunks, as unpack takes a bounded number of values); a line's seq is
-- its position in the request's list. take_logs reads a change set's lines grouped by request.
local CHUNK = 1000
local function push_all(command, key, values)
  local reply
  for first = 1, #values, CHUNK do
    reply = redis.call(command, key, unpack(values, first, math.min(first + CHUNK - 1, #values)))
  end
  return reply
end
-- Indexes \`count\` lines of one task run from seq on (none for the request's own lines): one member
-- per run of consecutive lines, "first-last" ("seq" for one line, as layout 2 kept every line),
-- scored by its last seq. A member per line cost 7 % of Redis's instructions per W1 request. The
-- first run of a task run saved in the same commit goes into its hash with the save (most tasks
-- write their lines with their end): no sorted set, so a key fewer per task run.
local function index_task_lines(req, task, seq, count)
  if task == '' then return end
  local last = tostring(seq + count - 1)
  local member = count == 1 and last or (tostring(seq) .. '-' .. last)
  local key = P .. 'run:' .. task
  if unfolded[key] then
    unfolded[key] = nil
    folded[key] = req .. ' ' .. member
  else
    redis.call('ZADD', P .. 'tlog:' .. req .. ':' .. task, last, member)
  end
end
local function append_logs(groups, from, to)
  for j = from or 1, to or #groups do
    local g = groups[j]
    local req, count, first = A[g], tonumber(A[g + 1]), g + 2
    local key = P .. 'log:' .. req
    local seq
    if count == 1 then
      seq = redis.call('RPUSH', key, A[first + 1])
    else
      local values = {}
      for i = 1, count do values[i] = A[first + 2 * i - 1] end
      seq = push_all('RPUSH', key, values) - count + 1
    end
    local i = 0
    while i < count do
      local task = A[first + 2 * i]
      local n = i
      while n + 1 < count and A[first + 2 * (n + 1)] == task do n = n + 1 end
      index_task_lines(req, task, seq + i, n - i + 1)
      i = n + 1
    end
  end
end
`;

/**
 * commit: owner ('' for none), touched request uuids, then requests, revisions, task runs, logs
 * and released request uuids, each as a count and the fields of record-codec.ts (logs as
 * take_logs reads them). Fencing checks the owner of each touched request as stored (saves never
 * move it) or as inserted by this change set.
 */
const COMMIT = `
local owner = take()
local touched = take_list(take)
local requests = take_list(take_request)
local revisions = take_list(take_revision)
local runs = take_list(take_run)
local logs = take_logs({})
local releases = take_list(take)
for _, r in ipairs(requests) do check_request(r) end
for _, r in ipairs(revisions) do check_revision(r) end
for _, r in ipairs(runs) do check_saved_run(r) end
if owner ~= '' then
  local inserted = {}
  for _, r in ipairs(requests) do
    if A[r + 1] == '1' then inserted[A[r]] = A[r + 11] end
  end
  for _, uuid in ipairs(touched) do
    local f = requests_read[uuid]
    local current
    if f ~= nil then current = f[2] else current = redis.call('HGET', P .. 'req:' .. uuid, 'o') end
    current = current or inserted[uuid]
    if current == nil then stale('Request ' .. uuid .. ' does not exist.') end
    if current ~= owner then
      local held = current == '' and 'no node' or ('node ' .. current)
      stale('Request ' .. uuid .. ' is owned by ' .. held .. ', not by ' .. owner .. '; the lease was lost.')
    end
  end
end
-- Leases given up with the last writes (fenced commits only); one another node holds is left alone.
-- A request saved here is this node's (fencing just checked it): its save clears owner and lease.
local released = {}
if owner ~= '' then
  for _, uuid in ipairs(releases) do released[uuid] = true end
end
for _, r in ipairs(requests) do
  local release = A[r + 1] ~= '1' and released[A[r]] == true
  save_request(r, release)
  if release then released[A[r]] = 'done' end
end
for _, r in ipairs(revisions) do save_revision(r) end
-- Lines before the runs' saves, which take the first run of lines of a run that has none.
append_logs(logs)
for _, r in ipairs(runs) do save_run(r) end
for _, uuid in ipairs(releases) do
  if released[uuid] == true then
    local key = P .. 'req:' .. uuid
    if redis.call('HGET', key, 'o') == owner then redis.call('HSET', key, 'o', '', 'l', '') end
  end
end
return 1
`;

/**
 * createRequests: a count, then per item a request, its revision, task runs and logs. Every item is
 * checked before anything is written, so the batch is all or nothing; a ref taken before, or by an
 * earlier item, answers the item with that request. Returns per item {1} (created) or {0, hash}.
 */
const CREATE_REQUESTS = `
-- Per item, where its request and revision lie, and the last of its runs and log groups in the
-- lists of all the items' runs and groups.
local reqs, revs, runs, run_ends, groups, group_ends = {}, {}, {}, {}, {}, {}
for j = 1, tonumber(take()) do
  reqs[j] = take_request()
  revs[j] = take_revision()
  for _ = 1, tonumber(take()) do runs[#runs + 1] = take_run() end
  run_ends[j] = #runs
  take_logs(groups)
  group_ends[j] = #groups
end
local taken, uuids, existing = {}, {}, {}
for j, r in ipairs(reqs) do
  local uuid, ref = A[r], A[r + 8]
  existing[j] = taken[ref] or redis.call('HGET', P .. 'refs', ref)
  if not existing[j] then
    if uuids[uuid] or redis.call('EXISTS', request_key(r)) == 1 then
      stale('A request with uuid ' .. uuid .. ' already exists under another ref.')
    end
    -- Its revision needs no check: the revision's key is the request's, which was just found free.
    for k = (run_ends[j - 1] or 0) + 1, run_ends[j] do check_run(runs[k]) end
    taken[ref] = uuid
    uuids[uuid] = true
  end
end
local out = {}
for j, r in ipairs(reqs) do
  if not existing[j] then
    save_request(r, false, A[revs[j] + 1])
    -- The revision's hash lists its runs created here: a list of their own cost a key and a
    -- command per request.
    local rev, listed, mine = revs[j], {}, {}
    for k = (run_ends[j - 1] or 0) + 1, run_ends[j] do
      local run = runs[k]
      mine[k] = A[run + 1] == A[rev] and A[run + 2] == A[rev + 1]
      if mine[k] then listed[#listed + 1] = A[run] end
    end
    save_revision(rev, true, #listed > 0 and table.concat(listed, ' ') or nil)
    for k = (run_ends[j - 1] or 0) + 1, run_ends[j] do save_run(runs[k], mine[k]) end
    append_logs(groups, (group_ends[j - 1] or 0) + 1, group_ends[j])
    out[j] = { 1 }
  end
end
for j in ipairs(reqs) do
  if existing[j] then out[j] = { 0, redis.call('HGETALL', P .. 'req:' .. existing[j]) } end
end
return out
`;

const GET_REQUEST_BY_REF = `
local uuid = redis.call('HGET', P .. 'refs', take())
if not uuid then return {} end
return redis.call('HGETALL', P .. 'req:' .. uuid)
`;

/**
 * getRevisions: i and m of each revision, oldest first: 1 to the request's rn, or, for a request
 * stored by layout 1 (no rn), the numbers in its revs:UUID sorted set.
 */
const GET_REVISIONS = `
local req = take()
local rn = redis.call('HGET', P .. 'req:' .. req, 'rn')
local numbers
if rn then
  numbers = {}
  for n = 1, tonumber(rn) do numbers[n] = n end
else
  numbers = redis.call('ZRANGE', P .. 'revs:' .. req, 0, -1)
end
local out = {}
for _, n in ipairs(numbers) do
  local f = redis.call('HMGET', P .. 'rev:' .. req .. ':' .. n, 'i', 'm')
  if f[1] then
    out[#out + 1] = f[1]
    out[#out + 1] = f[2]
  end
end
return out
`;

/**
 * getTaskRuns: uuid, i and m of each task run of a revision, in creation order: those its hash
 * lists (created with it), then those of its list.
 */
const GET_TASK_RUNS = `
local req, n = take(), take()
local uuids = {}
local listed = redis.call('HGET', P .. 'rev:' .. req .. ':' .. n, 'r')
if listed then
  for uuid in string.gmatch(listed, '%S+') do uuids[#uuids + 1] = uuid end
end
for _, uuid in ipairs(redis.call('LRANGE', P .. 'runs:' .. req .. ':' .. n, 0, -1)) do
  uuids[#uuids + 1] = uuid
end
local out = {}
for _, uuid in ipairs(uuids) do
  local f = redis.call('HMGET', P .. 'run:' .. uuid, 'i', 'm')
  out[#out + 1] = uuid
  out[#out + 1] = f[1]
  out[#out + 1] = f[2]
end
return out
`;

/**
 * readLogs of one task run: request, task, afterSeq, limit (-1: all); returns seq, line pairs. Each
 * run of the task's lines past afterSeq is one LRANGE of the request's log; as every run holds a
 * line at least, \`limit\` runs are enough. The run in the task run's hash (g), of the request
 * read, joins those of the sorted set where its seqs place it.
 */
const READ_TASK_LOGS = `
local req = take()
local task = take()
local after = tonumber(take())
local limit = tonumber(take())
local range = { P .. 'tlog:' .. req .. ':' .. task, '(' .. after, '+inf' }
if limit >= 0 then
  range[4] = 'LIMIT'
  range[5] = 0
  range[6] = limit
end
local function bounds(member)
  local dash = string.find(member, '-', 1, true)
  if not dash then
    local seq = tonumber(member)
    return seq, seq
  end
  return tonumber(string.sub(member, 1, dash - 1)), tonumber(string.sub(member, dash + 1))
end
local members = redis.call('ZRANGEBYSCORE', unpack(range))
local g = redis.call('HGET', P .. 'run:' .. task, 'g')
if g and string.sub(g, 1, #req + 1) == req .. ' ' then
  local member = string.sub(g, #req + 2)
  local _, last = bounds(member)
  if last > after then
    local at = #members + 1
    for j, other in ipairs(members) do
      local _, other_last = bounds(other)
      if other_last > last then
        at = j
        break
      end
    end
    table.insert(members, at, member)
  end
end
local log = P .. 'log:' .. req
local out = {}
local left = limit
for _, member in ipairs(members) do
  local first, last = bounds(member)
  if first <= after then first = after + 1 end
  if left >= 0 and last - first + 1 > left then last = first + left - 1 end
  for k, line in ipairs(redis.call('LRANGE', log, first - 1, last - 1)) do
    out[#out + 1] = tostring(first + k - 1)
    out[#out + 1] = line
  end
  if left >= 0 then
    left = left - (last - first + 1)
    if left <= 0 then break end
  end
end
return out
`;

/**
 * listRequests: filter pairs (count, then field s/t/tr and value), cursor member ('' for none),
 * and how many to return. Without filters, merges a page of each status index. Else walks the
 * smallest matching index newest first, checking the other filters on each request, and stops as
 * soon as it has enough. A trace's index leaves out the request whose uuid the trace id is
 * (reindex): walking it, that request joins where its member falls.
 */
const LIST_REQUESTS = `
local filters = {}
local count = tonumber(take())
for _ = 1, count do
  local field = take()
  filters[field] = take()
end
local cursor = take()
local want = tonumber(take())
local max = cursor == '' and '+' or ('(' .. cursor)
-- Every request is in one status index, so the newest \`want\` of all are among the newest \`want\`
-- of each: no index of all requests to keep, a command per request fewer.
if count == 0 then
  local members = {}
  for _, status in ipairs({ ${REQUEST_STATUSES.map((status) => `'${status}'`).join(', ')} }) do
    local page = redis.call('ZREVRANGEBYLEX', P .. 'idx:s:' .. status, max, '-', 'LIMIT', 0, want)
    for _, member in ipairs(page) do members[#members + 1] = member end
  end
  table.sort(members, function(a, b) return a > b end)
  local out = {}
  for j = 1, math.min(want, #members) do
    out[j] = redis.call('HGETALL', P .. 'req:' .. string.sub(members[j], 18))
  end
  return out
end
local index, size = nil, nil
for field, value in pairs(filters) do
  local key = P .. 'idx:' .. field .. ':' .. value
  local n = redis.call('ZCARD', key)
  if size == nil or n < size then index, size = key, n end
end
-- The member of the request that started the trace, if the walk is the trace's index and it lies
-- before the cursor.
local first = nil
local tr = filters.tr
if tr and index == P .. 'idx:tr:' .. tr and #tr == 32 and not string.find(tr, '[^0-9a-f]') then
  local uuid = string.sub(tr, 1, 8) .. '-' .. string.sub(tr, 9, 12) .. '-' .. string.sub(tr, 13, 16)
    .. '-' .. string.sub(tr, 17, 20) .. '-' .. string.sub(tr, 21)
  local f = redis.call('HMGET', P .. 'req:' .. uuid, 'tr', 'k')
  if f[1] == '' and (cursor == '' or f[2] < cursor) then first = f[2] end
end
local out = {}
-- Adds the request of a member if it passes the other filters; true once there are enough.
local function take_member(member)
  local key = P .. 'req:' .. string.sub(member, 18)
  local keep = true
  if count > 1 then
    local f = redis.call('HMGET', key, 's', 't', 'tr')
    local trace = f[3]
    if trace == '' then trace = string.gsub(string.sub(member, 18), '-', '') end
    keep = (filters.s == nil or filters.s == f[1]) and (filters.t == nil or filters.t == f[2])
      and (filters.tr == nil or filters.tr == trace)
  end
  if keep then out[#out + 1] = redis.call('HGETALL', key) end
  return #out == want
end
local chunk = count > 1 and math.max(want, 100) or want
local done = false
while not done do
  local members = redis.call('ZREVRANGEBYLEX', index, max, '-', 'LIMIT', 0, chunk)
  for _, member in ipairs(members) do
    if first and first > member then
      done = take_member(first)
      first = nil
      if done then break end
    end
    done = take_member(member)
    if done then break end
  end
  if #members == 0 then
    if first then take_member(first) end
    done = true
  else
    max = '(' .. members[#members]
  end
end
return out
`;

/**
 * claimRequests: owner, now, lease expiry, limit; oldest unfinished requests whose lease is free.
 * Walks the pending, running and canceling indexes together, oldest first, a page of each at a
 * time: the members of the pages up to the smallest last member of a full page are all the
 * unfinished ones in that range, in order. (Members have one fixed format, so Lua's string order
 * is Redis's byte order for them.) Its cost grows with the requests it passes over: those held
 * under other nodes' live leases. Thousands cost milliseconds; a set of leases by expiry would be
 * the next step if clusters ever hold far more.
 */
const CLAIM_REQUESTS = `
local owner, now, till, limit = take(), tonumber(take()), take(), tonumber(take())
local PAGE = 100
local out = {}
local min = '-'
while #out < limit do
  local members, bound = {}, nil
  for _, status in ipairs({ 'pending', 'running', 'canceling' }) do
    local page = redis.call('ZRANGEBYLEX', P .. 'idx:s:' .. status, min, '+', 'LIMIT', 0, PAGE)
    for _, member in ipairs(page) do members[#members + 1] = member end
    if #page == PAGE and (bound == nil or page[PAGE] < bound) then bound = page[PAGE] end
  end
  if #members == 0 then break end
  table.sort(members)
  for _, member in ipairs(members) do
    if bound ~= nil and member > bound then break end
    min = '(' .. member
    local key = P .. 'req:' .. string.sub(member, 18)
    local f = redis.call('HMGET', key, 'o', 'l')
    if free(f[1], f[2], owner, now) then
      redis.call('HSET', key, 'o', owner, 'l', till)
      out[#out + 1] = redis.call('HGETALL', key)
      if #out == limit then break end
    end
  end
end
return out
`;

/**
 * claimDueSchedules: owner, now, lease expiry, limit. Fires due schedules whose lease is free as
 * pending under the lease, bumping version and updatedAt; a fired one leaves the due set, so the
 * next page starts after the ones skipped.
 */
const CLAIM_DUE_SCHEDULES = `
local owner, nows, till, limit = take(), take(), take(), tonumber(take())
local now = tonumber(nows)
local out = {}
local skipped = 0
while #out < limit do
  local uuids = redis.call('ZRANGEBYSCORE', P .. 'due', '-inf', nows, 'LIMIT', skipped, 100)
  if #uuids == 0 then break end
  for _, uuid in ipairs(uuids) do
    local key = P .. 'req:' .. uuid
    local f = redis.call('HMGET', key, 'o', 'l', 'k', 't', 'tr', 'sa', 'v')
    if free(f[1], f[2], owner, now) then
      redis.call('HSET', key, 's', 'pending', 'u', nows, 'o', owner, 'l', till, 'v', tonumber(f[7]) + 1)
      reindex(uuid, f[3], 'pending', f[4], f[5], f[6], 'scheduled', f[4], f[5])
      out[#out + 1] = redis.call('HGETALL', key)
      if #out == limit then break end
    else
      skipped = skipped + 1
    end
  end
end
return out
`;

/** renewLeases: owner, lease expiry, uuids; returns the uuids still held. Version is left alone. */
const RENEW_LEASES = `
local owner, till = take(), take()
local out = {}
for j = at, #ARGV do
  local key = P .. 'req:' .. ARGV[j]
  if redis.call('HGET', key, 'o') == owner then
    redis.call('HSET', key, 'l', till)
    out[#out + 1] = ARGV[j]
  end
end
return out
`;

/** releaseLease: owner, uuid. */
const RELEASE_LEASE = `
local owner, uuid = take(), take()
local key = P .. 'req:' .. uuid
if redis.call('HGET', key, 'o') == owner then redis.call('HSET', key, 'o', '', 'l', '') end
return 1
`;

/** The scripts by name, each with the prelude. */
export const SCRIPTS = {
  commit: PRELUDE + COMMIT,
  createRequests: PRELUDE + CREATE_REQUESTS,
  getRequestByRef: PRELUDE + GET_REQUEST_BY_REF,
  getRevisions: PRELUDE + GET_REVISIONS,
  getTaskRuns: PRELUDE + GET_TASK_RUNS,
  readTaskLogs: PRELUDE + READ_TASK_LOGS,
  listRequests: PRELUDE + LIST_REQUESTS,
  claimRequests: PRELUDE + CLAIM_REQUESTS,
  claimDueSchedules: PRELUDE + CLAIM_DUE_SCHEDULES,
  renewLeases: PRELUDE + RENEW_LEASES,
  releaseLease: PRELUDE + RELEASE_LEASE,
} as const;

/** The name of a script. */
export type ScriptName = keyof typeof SCRIPTS;
