-- Atomic, all-or-nothing, multi-dimension limiter: one call checks every dimension and charges
-- them all only if all allow. The algorithm and its error bound: ALGORITHM.md.
--
-- The arithmetic is defined once, in TypeScript: sliding-window.ts (sub-buckets, the window,
-- counting, resetAt and retryAfter), calendar.ts (periods) and verdict.ts (fits); the memory store
-- runs it. This script, which cannot import it, is its one mirror: each function below that has a
-- twin there says so ("TS: ..."), and the twin names it back. Change both together;
-- test/limits/store/random-steps.test.ts runs the memory store and this script on the same random
-- steps and fails on the first decision where they disagree. The storage layout (the 't', 'o',
-- 'n' fields, eviction) has no twin: the memory store sums its sub-buckets. A lease's grant does
-- (lease-grant.ts), which the memory store runs in a lease mode only the tests call.
--
-- The script touches only the KEYS it is given (cluster-safe when they share a hash tag), and
-- reads the clock from Redis TIME, never from the gateway.
--
-- KEYS     A adjustments first, then one per dimension (consume, peek; none for adjust), the
--          shadow group's if any (below), and last the call counter of the keys' hash tag
--          (TS: call-sequence.ts sequenceKeyOf), INCRed by every call: the reply's `seq`
--          (redis-store.ts builds these KEYS and ARGV: each kind's parameters by
--          TS: sliding-window.ts pushSlidingParams and TS: calendar.ts pushCalendarParams, the
--          default placement by TS: placement.ts placementOf)
-- ARGV[1]  mode: 'consume' | 'peek' (reads dimensions only) | 'adjust' | 'lease' (a consume that
--          may also reserve tokens for this instance's next requests: ALGORITHM.md, "Leases")
-- ARGV[2]  '' = use Redis TIME; else an epoch-ms clock override, sent only by the test-only factory
-- ARGV[3]  A: how many of the KEYS are adjustments, applied first (a check carries the settle of
--          earlier requests: one round trip instead of two; adjust mode: every key)
-- adjustments, 6 ARGV per key from ARGV[4]:
--          kind ('s' | 'c'), then windowMs, buckets (sliding) or period, utcOffsetMinutes (calendar),
--          at (epoch ms), delta, placement ('a': the sub-bucket or period of `at` | 'n': the current one)
-- consume / peek, then 8 ARGV per dimension key:
--          kind ('s' sliding | 'c' calendar), limit, amount, checkOnly ('1' | '0'),
--          sliding: windowMs, buckets    calendar: period ('day' | 'month'), utcOffsetMinutes
--          then its burst zone: burst amount, maxDelayMs ('0', '0': none; ALGORITHM.md, "Graduated
--          throttling"), by TS: sliding-window.ts pushBurstParams
-- lease, then 4 ARGV: most tokens wanted, lifetime (ms: the whole charge is placed at now + it),
--          permille of each limit that must stay unreserved, permille of each limit one lease may hold,
--          and a 5th (absent from V6 callers: '0'): bytes reserved per request on each check-only
--          dimension (a response-byte budget; 0: none, and a check-only dimension gets no lease)
-- shadow   optional, after all of the above: a group of shadow dimensions and a record key (their
--          KEYS after the dimensions'), the ARGV tail ending in 'shadow', S: see "Shadow limits" below
-- A sliding key is a hash: field '<id>' = '<amount charged in sub-bucket id>:<ms from the
-- sub-bucket's start to its last charge>' (a sub-bucket counts while that charge is in the window),
-- and fields 't', 'o', 'n' (total, oldest, newest: see load_sliding) so that a check reads O(1)
-- fields, not every sub-bucket.
-- Reply    consume / peek: { now, allowed (1 | 0), heldMs (> 0: a held request, to run then, charged
--          at now + heldMs), seq, then per dimension: allowed, used, resetAt, retryAfterMs }
--          lease: the same, then tokens granted (0: none, charged as consume), where the charge was placed
--          adjust: { now, seq }
-- All numbers are integers well below 2^53, so Lua's doubles hold them exactly.

-- Writes after TIME need effects replication: the default since Redis 5, opt-in before.
if redis.replicate_commands then redis.replicate_commands() end

local DAY_MS = 86400000
local MINUTE_MS = 60000
-- A hash tag's call counter lives this long past its last call. TS: call-sequence.ts SEQUENCE_TTL_MS.
local SEQUENCE_TTL_MS = 60000
-- Calendar keys live this long past the end of their period. TS: calendar.ts CALENDAR_TTL_SLACK_MS.
local CALENDAR_TTL_SLACK_MS = 1000

local mode = ARGV[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local time = redis.call('TIME') -- { seconds, microseconds }
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- This call's number among the calls of its hash tag (a tenant): the request record orders a
-- tenant's calls by it within a millisecond (src/replay/REPLAY.md). The counter is the last key,
-- so every other index below counts KEYS without it.
local key_count = #KEYS - 1
local seq = redis.call('INCR', KEYS[#KEYS])
redis.call('PEXPIRE', KEYS[#KEYS], SEQUENCE_TTL_MS)

-- floor(a / b) for integers, corrected should the double quotient round up to an integer. (TS uses
-- Math.floor: for epoch ms, far below 2^53, the quotient never rounds up to an integer.)
local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

local function field(n)
  return string.format('%d', n)
end

-- Civil date <-> days since 1970-01-01 (Howard Hinnant's algorithms).
-- TS: calendar.ts civilFromDays.
local function civil_from_days(days)
  local z = days + 719468
  local era = floor_div(z, 146097)
  local doe = z - era * 146097
  local yoe = floor_div(doe - floor_div(doe, 1460) + floor_div(doe, 36524) - floor_div(doe, 146096), 365)
  local doy = doe - (365 * yoe + floor_div(yoe, 4) - floor_div(yoe, 100))
  local mp = floor_div(5 * doy + 2, 153)
  local d = doy - floor_div(153 * mp + 2, 5) + 1
  local m
  if mp < 10 then m = mp + 3 else m = mp - 9 end
  local y = yoe + era * 400
  if m <= 2 then y = y + 1 end
  return y, m, d
end

-- TS: calendar.ts daysFromCivil.
local function days_from_civil(year, m, d)
  local y = year
  if m <= 2 then y = y - 1 end
  local era = floor_div(y, 400)
  local yoe = y - era * 400
  local mp
  if m > 2 then mp = m - 3 else mp = m + 9 end
  local doy = floor_div(153 * mp + 2, 5) + d - 1
  local doe = yoe * 365 + floor_div(yoe, 4) - floor_div(yoe, 100) + doy
  return era * 146097 + doe - 719468
end

-- The period containing `t`: id, first instant, next period's first instant (epoch ms).
-- TS: calendar.ts calendarPeriod.
local function calendar_period(t, period, offset_minutes)
  local offset = offset_minutes * MINUTE_MS
  local day = floor_div(t + offset, DAY_MS)
  local y, m, d = civil_from_days(day)
  if period == 'day' then
    return field(y * 10000 + m * 100 + d), day * DAY_MS - offset, (day + 1) * DAY_MS - offset
  end
  local next_first
  if m == 12 then next_first = days_from_civil(y + 1, 1, 1) else next_first = days_from_civil(y, m + 1, 1) end
  return field(y * 100 + m), days_from_civil(y, m, 1) * DAY_MS - offset, next_first * DAY_MS - offset
end

-- Whether an adjustment applies to the current period `current`: one placed now always, one placed
-- at `at` only if `at` falls in it. TS: calendar.ts calendarApplies.
local function calendar_applies(place, at, current, period, offset_minutes)
  return place ~= 'a' or calendar_period(at, period, offset_minutes) == current
end

-- A calendar key's expiry after a charge (ms from now): past its period's end.
-- TS: calendar.ts calendarKeyTtlMs.
local function calendar_ttl(ends)
  return ends - now + CALENDAR_TTL_SLACK_MS
end

-- Whether the request fits on top of `used`. TS: verdict.ts fits.
local function fits(d, used)
  if d.check_only then return used < d.limit end
  return used + d.amount <= d.limit
end

-- Whether it can never fit (its retry-after is then the whole window or period).
-- TS: verdict.ts neverFits.
local function never_fits(d)
  if d.check_only then return d.limit <= 0 end
  return d.amount > d.limit
end

-- Whether a request that does not fit may be held in the dimension's burst zone (burst > 0 only
-- for a sliding dimension that declares one). TS: verdict.ts withinBurst.
local function within_burst(d, used)
  if d.kind ~= 's' or d.burst <= 0 or d.check_only or d.amount <= 0 then return false end
  return not never_fits(d) and used + d.amount <= d.limit + d.burst
end

-- g = ceil(W / N) ms, so that N sub-buckets span at least the window. TS: sliding-window.ts subBucketMs.
local function sub_bucket_ms(window, buckets)
  return math.ceil(window / buckets)
end

-- The sub-bucket `t` falls in. TS: sliding-window.ts subBucketOf.
local function sub_bucket_of(t, g)
  return floor_div(t, g)
end

-- The window at now is (now - W, now]: `t` counts iff t > now - W. TS: sliding-window.ts inWindow.
local function in_window(t, window)
  return t > now - window
end

-- The sub-bucket holding now - W. TS: sliding-window.ts windowEdge.
local function window_edge(window, g)
  return sub_bucket_of(now - window, g)
end

-- The last charge of sub-bucket `id` from its field value '<sum>:<ms since the sub-bucket's start
-- of its last charge>'; a bare '<sum>' (written by an older script), or an unreadable offset,
-- counts as charged at the end of its span: conservative. (TS keeps the last charge as epoch ms,
-- SubBucket.last in sliding-window.ts; the offset is this script's storage format.)
local function last_charge(id, value, g)
  local colon = string.find(value, ':', 1, true)
  local offset = colon and tonumber(string.sub(value, colon + 1))
  if offset == nil then return (id + 1) * g - 1 end
  return id * g + offset
end

-- The last charge of sub-bucket `id` (field value `value`, nil if not stored) after a charge at
-- `at`: it never moves back. TS: sliding-window.ts laterCharge.
local function later_charge(id, value, at, g)
  if value ~= nil then
    local last = last_charge(id, value, g)
    if last > at then return last end
  end
  return at
end

-- The time whose sub-bucket an adjustment changes ('a': the sub-bucket of `at`, except an addition
-- from the future counts from now; 'n': now). TS: sliding-window.ts adjustmentTime.
local function adjustment_time(place, at, delta)
  if place == 'a' and (at < now or delta < 0) then return at end
  return now
end

-- The amount of a sub-bucket field value '<sum>:<offset>' (or a bare '<sum>'); nil if unreadable.
local function sum_of(value)
  local colon = string.find(value, ':', 1, true)
  if colon ~= nil then return tonumber(string.sub(value, 1, colon - 1)) end
  return tonumber(value)
end

-- A sliding key, besides its sub-bucket fields, holds three fields that let a check read O(1)
-- fields instead of every sub-bucket (ALGORITHM.md, "Storage"):
--   't' the sum of every stored sub-bucket (= used, once the expired ones are evicted),
--   'o' '<id>:<offset>': the oldest stored sub-bucket (every stored one is >= id) and its last
--       charge as in its own field, so that a check needs neither that field (unless the
--       sub-bucket is evicted) nor any other to decide and to compute resetAt,
--   'n' an id >= every stored one (the newest written), which bounds a walk forward from 'o'.
-- A key without 't' (written by rateLimiterV3, which deletes these fields whenever it writes, or
-- out of step) is read whole once and the three fields written.
--
-- The state of a sliding key in this call, kept in step with what the call writes: a check that
-- carries a settle on one of its own keys (response bytes, a cost refund) does not read it again.
-- vals[id]: the field value, false if absent, nil if not read (complete: nothing unread is stored).
local states = {}

local function value_of(st, key, id)
  local v = st.vals[id]
  if v == nil then
    if st.complete then return nil end
    v = redis.call('HGET', key, field(id))
    st.vals[id] = v
  end
  return v or nil
end

-- The first stored id in [from, to], reading unread fields 8 at a time (one HMGET each).
local function next_stored(st, key, from, to)
  local id = from
  while id <= to do
    local upto = math.min(to, id + 7)
    if not st.complete then
      local names = {}
      for k = id, upto do
        if st.vals[k] == nil then names[#names + 1] = field(k) end
      end
      if #names > 0 then
        local got = redis.call('HMGET', key, unpack(names))
        for j = 1, #names do st.vals[tonumber(names[j])] = got[j] end
      end
    end
    for k = id, upto do
      if st.vals[k] then return k end
    end
    id = upto + 1
  end
  return nil
end

-- A sub-bucket leaves the window with its last charge: one before `edge` (the sub-bucket holding
-- now - W) has, one after it has not, `edge` itself is read. TS: sliding-window.ts expired.
local function expired(st, id, value)
  return id < st.edge or (id == st.edge and not in_window(last_charge(id, value, st.g), st.window))
end

-- The 'o' field's value: the oldest sub-bucket's id and last charge.
local function oldest_field(st)
  return field(st.o) .. ':' .. field(st.olast - st.o * st.g)
end

-- The key read whole (HGETALL): expired or unreadable sub-buckets deleted, the three fields
-- (re)computed and written. The only way a key of the previous layout is read.
local function rebuild(st, key)
  local raw = redis.call('HGETALL', key)
  st.vals, st.complete, st.t, st.o, st.n = {}, true, 0, nil, nil
  local gone = {}
  for j = 1, #raw, 2 do
    local name, value = raw[j], raw[j + 1]
    local id = tonumber(name)
    local sum = nil
    if id ~= nil and id == math.floor(id) and field(id) == name then
      sum = sum_of(value)
      -- A sum <= 0 is written by no script (a refund to 0 deletes the field); one of 0 counts
      -- nothing, so dropping it decides the same.
      if sum ~= nil and (sum <= 0 or expired(st, id, value)) then sum = nil end
    elseif name == 't' or name == 'o' or name == 'n' then
      name = nil -- rewritten below
    end
    if sum ~= nil then
      st.vals[id] = value
      st.t = st.t + sum
      if st.o == nil or id < st.o then st.o = id end
      if st.n == nil or id > st.n then st.n = id end
    elseif name ~= nil then
      gone[#gone + 1] = name
    end
  end
  if st.o == nil then
    if #raw > 0 then redis.call('DEL', key) end
    st.t = 0
    return
  end
  st.olast = last_charge(st.o, st.vals[st.o], st.g)
  if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  redis.call('HSET', key, 't', field(st.t), 'o', oldest_field(st), 'n', field(st.n))
end

-- Moves 'o' to the first stored sub-bucket from `from` on (nil when none is left).
local function advance_oldest(st, key, from)
  st.o = next_stored(st, key, from, st.n)
  if st.o ~= nil then st.olast = last_charge(st.o, st.vals[st.o], st.g) end
end

-- Writes a removal of sub-buckets `names` (already taken out of st): the key goes when none is
-- left, so its 't', 'o', 'n' never outlive its sub-buckets.
local function write_removal(st, key, names)
  if st.o == nil then
    redis.call('DEL', key)
    st.t, st.n, st.vals, st.complete = 0, nil, {}, true
  else
    redis.call('HDEL', key, unpack(names))
    redis.call('HSET', key, 't', field(st.t), 'o', oldest_field(st))
  end
end

-- Deletes the sub-buckets that left the window, oldest first from 'o': amortised O(1) per check
-- (each sub-bucket is evicted once); no sub-bucket field is read while the oldest still counts.
local function evict(st, key)
  -- n - o <= N + 1 after every call of this script (o >= the edge and n <= the current sub-bucket
  -- when it wrote); more means the fields are not this layout's: read the key whole.
  -- (Holds and leases charge ahead of now, at most one window: n may then be up to N + 1 further.)
  if st.n - st.o > 2 * st.buckets + 2 then return rebuild(st, key) end
  local gone = {}
  -- The rule of `expired`, on the last charge 'o' records (that of the sub-bucket's own field).
  while st.o ~= nil and (st.o < st.edge or (st.o == st.edge and not in_window(st.olast, st.window))) do
    local value = value_of(st, key, st.o)
    local sum = value and sum_of(value)
    if sum == nil then return rebuild(st, key) end -- out of step with 'o'
    st.t = st.t - sum
    gone[#gone + 1] = field(st.o)
    st.vals[st.o] = false
    advance_oldest(st, key, st.o + 1)
  end
  if #gone == 0 then return end
  write_removal(st, key, gone)
end

-- A sliding key's state at `now`, expired sub-buckets evicted: one HMGET of the three fields and
-- the current sub-bucket (a charge adds to it); other sub-buckets are read only to evict them.
-- What counts is then every stored sub-bucket, used = 't', the oldest 'o'.
-- TS: sliding-window.ts countAt (which the memory store runs on all its sub-buckets).
local function load_sliding(key, window, buckets)
  local g = sub_bucket_ms(window, buckets)
  local st = states[key]
  if st ~= nil and st.window == window and st.g == g then return st end
  st = { window = window, g = g, buckets = buckets, edge = window_edge(window, g), vals = {}, complete = false }
  states[key] = st
  local b = sub_bucket_of(now, g)
  local got = redis.call('HMGET', key, 't', 'o', 'n', field(b))
  -- HMGET answers false for a missing field.
  st.t = got[1] and tonumber(got[1]) or nil
  st.n = got[3] and tonumber(got[3]) or nil
  if got[2] then
    local colon = string.find(got[2], ':', 1, true)
    st.o = colon and tonumber(string.sub(got[2], 1, colon - 1))
    local offset = colon and tonumber(string.sub(got[2], colon + 1))
    if st.o ~= nil and offset ~= nil then st.olast = st.o * g + offset else st.o = nil end
  end
  st.vals[b] = got[4]
  if st.t == nil or st.o == nil or st.n == nil then rebuild(st, key) else evict(st, key) end
  return st
end

-- Sets sub-bucket `id` to `sum` (it held `old`), last charged at `at`, and the key's three fields,
-- in one HSET. With `later_charge`: a charge, TS: sliding-window.ts charge; with the sub-bucket's
-- own last charge: a partial refund, TS: sliding-window.ts refund.
local function write_bucket(st, key, id, sum, at, old)
  local value = field(sum) .. ':' .. field(at - id * st.g)
  st.vals[id] = value
  st.t = st.t + sum - old
  local args = { field(id), value, 't', field(st.t) }
  if st.o == nil or id <= st.o then
    st.o = id
    st.olast = at
    args[#args + 1] = 'o'
    args[#args + 1] = oldest_field(st)
  end
  if st.n == nil or id > st.n then
    st.n = id
    args[#args + 1] = 'n'
    args[#args + 1] = field(id)
  end
  redis.call('HSET', key, unpack(args))
end

-- The key's expiry after a charge: its newest sub-bucket `n` counts until at most (n + 1) * g + W.
-- (N + 1) * g covers the current sub-bucket; a lease's sub-bucket lies ahead of it, and a later
-- charge of the current one must not shorten the key's life below what that one needs.
-- TS: sliding-window.ts keyTtlMs.
local function keep_alive(st, key)
  redis.call('PEXPIRE', key, math.max((st.buckets + 1) * st.g, (st.n + 1) * st.g + st.window - now))
end

-- Deletes sub-bucket `id` (holding `sum`), refunded to 0. TS: sliding-window.ts refund.
local function remove_bucket(st, key, id, sum)
  st.t = st.t - sum
  st.vals[id] = false
  if id == st.o then advance_oldest(st, key, id + 1) end
  write_removal(st, key, { field(id) })
end

local function delete_fields(key, names)
  if #names > 0 then redis.call('HDEL', key, unpack(names)) end
end

local adjustments = tonumber(ARGV[3])
-- Shadow limits (src/shadow/SHADOW.md): when the last two ARGV are 'shadow', S, the check carries a
-- group of S shadow dimensions (their KEYS after the dimensions', then the record key): see below.
local shadows, shadow_keys = 0, 0
if ARGV[#ARGV - 1] == 'shadow' then
  shadows = tonumber(ARGV[#ARGV])
  shadow_keys = shadows + 1
end
-- Adjustments first: a check that carries earlier requests' settle decides on top of it.
for i = 1, adjustments do
  local base = 3 + (i - 1) * 6
  local key = KEYS[i]
  local kind = ARGV[base + 1]
  local at = tonumber(ARGV[base + 4])
  local delta = tonumber(ARGV[base + 5])
  local place = ARGV[base + 6]
  if kind == 's' then
    local window = tonumber(ARGV[base + 2])
    local buckets = tonumber(ARGV[base + 3])
    local st = load_sliding(key, window, buckets)
    -- An addition with `at` in the future (clock skew) lands in the current sub-bucket; a refund
    -- goes where its charge is, which a lease placed ahead of now.
    local when = adjustment_time(place, at, delta)
    local id = sub_bucket_of(when, st.g)
    -- In the window, `id` >= the edge: if stored, it is live (the expired ones were evicted).
    if delta ~= 0 and in_window(when, window) then
      local value = value_of(st, key, id)
      local sum = value and sum_of(value)
      if delta > 0 then
        write_bucket(st, key, id, (sum or 0) + delta, later_charge(id, value, when, st.g), sum or 0)
        keep_alive(st, key)
      elseif sum ~= nil then
        -- A refund, never below 0 (TS: sliding-window.ts refund).
        if sum + delta <= 0 then
          remove_bucket(st, key, id, sum)
        else
          write_bucket(st, key, id, sum + delta, last_charge(id, value, st.g), sum)
        end
      end
    end
  else
    local period, starts, ends = calendar_period(now, ARGV[base + 2], tonumber(ARGV[base + 3]))
    if delta ~= 0 and calendar_applies(place, at, period, ARGV[base + 2], tonumber(ARGV[base + 3])) then
      local raw = redis.call('HGETALL', key)
      local used = 0
      local stale = {}
      for j = 1, #raw, 2 do
        if raw[j] == period then used = tonumber(raw[j + 1]) else stale[#stale + 1] = raw[j] end
      end
      delete_fields(key, stale)
      if delta > 0 then
        redis.call('HINCRBY', key, period, delta)
        redis.call('PEXPIRE', key, calendar_ttl(ends))
      elseif used > 0 then
        -- A refund, never below 0.
        if used + delta <= 0 then redis.call('HDEL', key, period) else redis.call('HSET', key, period, field(used + delta)) end
      end
    end
  end
end
if mode == 'adjust' then return { now, seq } end

-- consume / peek: read every dimension, decide, then charge all or nothing.
local dims = {}
local all_allowed = true
for i = 1, key_count - adjustments - shadow_keys do
  local base = 3 + adjustments * 6 + (i - 1) * 8
  local d = {
    key = KEYS[adjustments + i],
    kind = ARGV[base + 1],
    limit = tonumber(ARGV[base + 2]),
    amount = tonumber(ARGV[base + 3]),
    check_only = ARGV[base + 4] == '1',
    burst = tonumber(ARGV[base + 7]),
    max_delay = tonumber(ARGV[base + 8]),
  }
  if d.kind == 's' then
    d.window = tonumber(ARGV[base + 5])
    d.buckets = tonumber(ARGV[base + 6])
    -- Sub-buckets of g = ceil(W / N) ms; one counts while its last charge is in (now - W, now].
    d.st = load_sliding(d.key, d.window, d.buckets)
    d.used = d.st.t
    d.stale = {}
  else
    d.field, d.starts, d.ends = calendar_period(now, ARGV[base + 5], tonumber(ARGV[base + 6]))
    local raw = redis.call('HGETALL', d.key)
    d.used = 0
    d.stale = {}
    for j = 1, #raw, 2 do
      if raw[j] == d.field then d.used = tonumber(raw[j + 1]) else d.stale[#d.stale + 1] = raw[j] end
    end
  end
  d.allowed = fits(d, d.used)
  if not d.allowed then all_allowed = false end
  dims[i] = d
end

-- A refused sliding dimension's wait: oldest first until enough has left the window for the
-- request to fit (reads only the sub-buckets it passes); W if it never can.
-- TS: sliding-window.ts slidingRetryAfterMs.
local function sliding_retry_after(d)
  if never_fits(d) then return d.window end
  local st = d.st
  local left = d.used
  local id = st.o
  while id ~= nil do
    local value = value_of(st, d.key, id)
    left = left - sum_of(value)
    if fits(d, left) then return last_charge(id, value, st.g) + d.window - now end
    id = next_stored(st, d.key, id + 1, st.n)
  end
  return d.window
end

-- When a request held in a burst zone runs: the earliest time it fits, counting every stored
-- sub-bucket, those charged ahead of now by earlier holds (and leases) included.
-- TS: sliding-window.ts holdUntil.
local function hold_until(d)
  return now + sliding_retry_after(d)
end

-- When a consume that does not fit now runs, or nil to refuse it: every dimension of `group` (the
-- enforced dims, or a shadow group) that does not fit holds it within its burst and no more than
-- its max delay from now; it runs at the latest of those times, and not in a later calendar period
-- than now's. TS: hold.ts holdAt.
local function hold_at(group)
  local run_at = now
  for _, d in ipairs(group) do
    if not d.allowed then
      if not within_burst(d, d.used) then return nil end
      local at = hold_until(d)
      if at - now > d.max_delay then return nil end
      if at > run_at then run_at = at end
    end
  end
  for _, d in ipairs(group) do
    if d.kind == 'c' and run_at >= d.ends then return nil end
  end
  return run_at
end

-- What one request of a lease takes of dimension `d`: its amount, or on a check-only dimension (a
-- response-byte budget) the bytes reserved per request (0: such a dimension cannot be leased).
-- TS: lease-grant.ts leaseAmount.
local function lease_amount(d, per_request)
  if d.check_only then return per_request end
  return d.amount
end

-- A lease: how many more of this request's amounts fit while every dimension keeps `keep`
-- permille of its limit unreserved and one lease holds at most `share` permille of it; placed at
-- now + lifetime (every token is used before then), so none leaves a window before its request
-- would have. None across a calendar period's end, none with a check-only dimension unless bytes
-- are reserved for it (then its request and every token reserve `per_request` bytes there), none
-- without a counted dimension. TS: lease-grant.ts leaseGrant.
local function lease_grant(wanted, lifetime, keep, share, per_request)
  local granted = wanted
  local charged = false
  for _, d in ipairs(dims) do
    local amount = lease_amount(d, per_request)
    if d.check_only and amount <= 0 then granted = 0 end
    if d.kind == 'c' and now + lifetime >= d.ends then granted = 0 end
    if not d.check_only and d.amount > 0 then charged = true end
    if amount > 0 then
      local free = d.limit - math.ceil(d.limit * keep / 1000) - d.used
      local cap = math.min(floor_div(d.limit * share, 1000 * amount), floor_div(free, amount)) - 1
      if cap < granted then granted = cap end
    end
  end
  if not charged or granted < 1 then return 0 end
  return granted
end

local granted = 0
local charge_at = now
local per_request = 0

-- What a charge takes of `d` per request: its amount; on a check-only dimension nothing, or the
-- bytes a granted lease reserves per request. TS: lease-grant.ts leaseCharge.
local function lease_charge(d, lease_granted)
  if not d.check_only then return d.amount end
  if lease_granted > 0 then return per_request end
  return 0
end

if mode == 'lease' and all_allowed then
  local base = 3 + adjustments * 6 + (key_count - adjustments - shadow_keys) * 8
  local wanted, lifetime = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local keep, share = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  per_request = tonumber(ARGV[base + 5] or '0') or 0
  granted = lease_grant(wanted, lifetime, keep, share, per_request)
  if granted > 0 then charge_at = now + lifetime end
end

-- Graduated throttling: one that does not fit now may be held, charged where it will run (no lease
-- then: it is granted only to a request that fits now).
local held = 0
if (mode == 'consume' or mode == 'lease') and not all_allowed then
  local run_at = hold_at(dims)
  if run_at ~= nil then
    all_allowed = true
    charge_at = run_at
    held = run_at - now
    for _, d in ipairs(dims) do d.allowed = true end
  end
end

if mode == 'consume' or mode == 'lease' then
  for _, d in ipairs(dims) do
    delete_fields(d.key, d.stale)
    local each = lease_charge(d, granted)
    if all_allowed and each > 0 then
      local amount = each * (1 + granted)
      d.used = d.used + amount
      if d.kind == 's' then
        -- A sub-bucket leaves the window by (b + 1) * g + W: its first charge sets the key's
        -- expiry past that, later charges to it need not push it again.
        local b = sub_bucket_of(charge_at, d.st.g)
        local value = value_of(d.st, d.key, b)
        local sum = value and sum_of(value) or 0
        -- A sub-bucket's last charge never moves back: a lease may have charged it ahead of now.
        write_bucket(d.st, d.key, b, sum + amount, later_charge(b, value, charge_at, d.st.g), sum)
        if value == nil then keep_alive(d.st, d.key) end
      else
        redis.call('HINCRBY', d.key, d.field, amount)
        -- Once per period: the first charge of a period sets the key's expiry past its end.
        if d.used == amount then redis.call('PEXPIRE', d.key, calendar_ttl(d.ends)) end
      end
    end
  end
end

-- When `used` next decreases: one window after the last charge of the oldest counted sub-bucket, at
-- most W from now. The oldest stored one ('o') is the oldest counted: every stored one counts after
-- eviction. TS: sliding-window.ts slidingResetAt.
local function sliding_reset_at(st)
  if st.o ~= nil then return st.olast + st.window end
  return now
end

-- A refused calendar dimension's wait: to the next period (its whole length if it never fits).
-- TS: calendar.ts calendarRetryAfterMs.
local function calendar_retry_after(d)
  if never_fits(d) then return d.ends - d.starts end
  return d.ends - now
end

local reply = { now, all_allowed and 1 or 0, held, seq }
for _, d in ipairs(dims) do
  local reset_at, retry_after
  if d.kind == 's' then
    reset_at = sliding_reset_at(d.st)
    retry_after = 0
    if not d.allowed then retry_after = sliding_retry_after(d) end
  else
    reset_at = d.ends
    retry_after = 0
    if not d.allowed then retry_after = calendar_retry_after(d) end
  end
  reply[#reply + 1] = d.allowed and 1 or 0
  reply[#reply + 1] = d.used
  reply[#reply + 1] = reset_at
  reply[#reply + 1] = retry_after
end
if mode == 'lease' then
  reply[#reply + 1] = granted
  reply[#reply + 1] = charge_at
end

-- Shadow limits: a group of dimensions on their own counters (their own keys), decided as a consume
-- of its own after the enforced ones, whatever those decided: all or nothing, burst zones
-- included, so its verdicts are those of the same limits enforced. It never changes the enforced
-- verdict, charge or reply above; its results go after them. A refusal (or `forced`: refused
-- without a check, by the shadow's single-operation maximum) is counted in the record hash:
-- '<subject>|<policy>|n' refusals, '|f' the first and '|l' the latest (epoch ms).
-- ARGV tail: 9 per shadow dimension (the 8 of a dimension, then its policy name), subject, forced
-- ('' none), record lifetime (ms), 'shadow', S.
-- Reply tail: per shadow dimension allowed, used; then the group's allowed (1 | 0), heldMs.
local function shadow_dimension(key, at)
  local d = {
    key = key,
    kind = ARGV[at + 1],
    limit = tonumber(ARGV[at + 2]),
    amount = tonumber(ARGV[at + 3]),
    check_only = ARGV[at + 4] == '1',
    burst = tonumber(ARGV[at + 7]),
    max_delay = tonumber(ARGV[at + 8]),
    name = ARGV[at + 9],
    stale = {},
  }
  if d.kind == 's' then
    d.window = tonumber(ARGV[at + 5])
    d.buckets = tonumber(ARGV[at + 6])
    d.st = load_sliding(d.key, d.window, d.buckets)
    d.used = d.st.t
  else
    d.field, d.starts, d.ends = calendar_period(now, ARGV[at + 5], tonumber(ARGV[at + 6]))
    local raw = redis.call('HGETALL', d.key)
    d.used = 0
    for j = 1, #raw, 2 do
      if raw[j] == d.field then d.used = tonumber(raw[j + 1]) else d.stale[#d.stale + 1] = raw[j] end
    end
  end
  d.allowed = fits(d, d.used)
  return d
end

-- Charges an admitted shadow group at `at`, as the enforced charge above does.
local function shadow_charge(group, at)
  for _, d in ipairs(group) do
    delete_fields(d.key, d.stale)
    if not d.check_only and d.amount > 0 then
      d.used = d.used + d.amount
      if d.kind == 's' then
        local b = sub_bucket_of(at, d.st.g)
        local value = value_of(d.st, d.key, b)
        local sum = value and sum_of(value) or 0
        write_bucket(d.st, d.key, b, sum + d.amount, later_charge(b, value, at, d.st.g), sum)
        if value == nil then keep_alive(d.st, d.key) end
      else
        redis.call('HINCRBY', d.key, d.field, d.amount)
        if d.used == d.amount then redis.call('PEXPIRE', d.key, calendar_ttl(d.ends)) end
      end
    end
  end
end

if shadow_keys > 0 then
  local tail = #ARGV - 5 - 9 * shadows
  local first_key = key_count - shadows
  local subject, forced, lifetime = ARGV[#ARGV - 4], ARGV[#ARGV - 3], tonumber(ARGV[#ARGV - 2])
  local group = {}
  local refused_by = nil
  local decides = mode == 'consume' or mode == 'lease'
  if forced ~= '' and decides then refused_by = forced end
  local held_ms = 0
  if refused_by == nil and decides then
    for i = 1, shadows do
      local d = shadow_dimension(KEYS[first_key + i - 1], tail + (i - 1) * 9)
      group[i] = d
      if not d.allowed and refused_by == nil then refused_by = d.name end
    end
    local run_at = now
    if refused_by ~= nil then run_at = hold_at(group) end
    if run_at ~= nil then
      refused_by = nil
      held_ms = run_at - now
      for _, d in ipairs(group) do d.allowed = true end
      shadow_charge(group, run_at)
    end
  end
  if refused_by ~= nil then
    local record, name = KEYS[key_count], subject .. '|' .. refused_by
    redis.call('HINCRBY', record, name .. '|n', 1)
    redis.call('HSETNX', record, name .. '|f', field(now))
    redis.call('HSET', record, name .. '|l', field(now))
    redis.call('PEXPIRE', record, lifetime)
  end
  for i = 1, shadows do
    local d = group[i]
    reply[#reply + 1] = (d and d.allowed) and 1 or 0
    reply[#reply + 1] = d and d.used or 0
  end
  reply[#reply + 1] = refused_by == nil and 1 or 0
  reply[#reply + 1] = held_ms
end
return reply
