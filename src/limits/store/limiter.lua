-- Atomic, all-or-nothing, multi-dimension limiter: one call checks every dimension and charges
-- them all only if all allow. The algorithm and its error bound: ALGORITHM.md. memory-store.ts
-- implements the same semantics in process; keep the two in step.
--
-- The script touches only the KEYS it is given (cluster-safe when they share a hash tag), and
-- reads the clock from Redis TIME, never from the gateway.
--
-- KEYS     A adjustments first, then one per dimension (consume, peek; none for adjust)
-- ARGV[1]  mode: 'consume' | 'peek' (reads dimensions only) | 'adjust'
-- ARGV[2]  '' = use Redis TIME; else an epoch-ms clock override, sent only by the test-only factory
-- ARGV[3]  A: how many of the KEYS are adjustments, applied first (a check carries the settle of
--          earlier requests: one round trip instead of two; adjust mode: every key)
-- adjustments, 6 ARGV per key from ARGV[4]:
--          kind ('s' | 'c'), then windowMs, buckets (sliding) or period, utcOffsetMinutes (calendar),
--          at (epoch ms), delta, placement ('a': the sub-bucket or period of `at` | 'n': the current one)
-- consume / peek, then 6 ARGV per dimension key:
--          kind ('s' sliding | 'c' calendar), limit, amount, checkOnly ('1' | '0'),
--          sliding: windowMs, buckets    calendar: period ('day' | 'month'), utcOffsetMinutes
-- A sliding key is a hash: field '<id>' = '<amount charged in sub-bucket id>:<ms from the
-- sub-bucket's start to its last charge>' (a sub-bucket counts while that charge is in the window).
-- Reply    consume / peek: { now, allowed (1 | 0), then per dimension: allowed, used, resetAt, retryAfterMs }
--          adjust: { now }
-- All numbers are integers well below 2^53, so Lua's doubles hold them exactly.

-- Writes after TIME need effects replication: the default since Redis 5, opt-in before.
if redis.replicate_commands then redis.replicate_commands() end

local DAY_MS = 86400000
local MINUTE_MS = 60000
-- Calendar keys live this long past the end of their period.
local CALENDAR_TTL_SLACK_MS = 1000

local mode = ARGV[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local time = redis.call('TIME') -- { seconds, microseconds }
  now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
end

-- floor(a / b) for integers, corrected should the double quotient round up to an integer.
local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end

local function field(n)
  return string.format('%d', n)
end

-- Civil date <-> days since 1970-01-01 (Howard Hinnant's algorithms); twin of calendar.ts.
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

-- The last charge of sub-bucket `id` from its field value '<sum>:<ms since the sub-bucket's start
-- of its last charge>'; a bare '<sum>' (written by an older script), or an unreadable offset,
-- counts as charged at the end of its span: conservative.
local function last_charge(id, value, g)
  local colon = string.find(value, ':', 1, true)
  local offset = colon and tonumber(string.sub(value, colon + 1))
  if offset == nil then return (id + 1) * g - 1 end
  return id * g + offset
end

-- A sliding key's sub-buckets at `now`: the ids still in the window (now - W, now], unsorted, with
-- their sums and last-charge times, and the field names to delete (sub-buckets that left the
-- window). Only the sums are read on every check: a sub-bucket after the one straddling the
-- window's start (`edge`) is in the window whatever its offset, one before it has left, so only
-- `edge`'s own last charge is read here; the others' are read from `last` when asked for (the
-- oldest, for resetAt; a refusal's walk). With 30 sub-buckets per key under steady traffic this
-- is most of the script's work.
local function load_buckets(key, window, g)
  local raw = redis.call('HGETALL', key)
  local ids, sums, values, stale = {}, {}, {}, {}
  local edge = floor_div(now - window, g)
  for j = 1, #raw, 2 do
    local id = tonumber(raw[j])
    local sum = nil
    if id ~= nil and id >= edge then
      local value = raw[j + 1]
      local colon = string.find(value, ':', 1, true)
      if colon ~= nil then sum = tonumber(string.sub(value, 1, colon - 1)) else sum = tonumber(value) end
      if sum ~= nil and id == edge and last_charge(id, value, g) <= now - window then sum = nil end
      values[id] = value
    end
    if sum == nil then
      stale[#stale + 1] = raw[j]
    else
      ids[#ids + 1] = id
      sums[id] = sum
    end
  end
  local last = setmetatable({}, {
    __index = function(cache, id)
      local value = values[id]
      if value == nil or sums[id] == nil then return nil end
      local at = last_charge(id, value, g)
      rawset(cache, id, at)
      return at
    end,
  })
  return ids, sums, last, stale
end

local function delete_fields(key, names)
  if #names > 0 then redis.call('HDEL', key, unpack(names)) end
end

-- Sets sliding sub-bucket `id` to `sum`, last charged at `at`, in one HSET; `expire_ms` (when
-- given) pushes the key's expiry. Expiries are always now + (N + 1) * g, so a later one never
-- shortens an earlier one.
local function set_sliding(key, id, g, sum, at, expire_ms)
  redis.call('HSET', key, field(id), field(sum) .. ':' .. field(at - id * g))
  if expire_ms ~= nil then redis.call('PEXPIRE', key, expire_ms) end
end

-- Sliding keys this call has read (their stale fields already deleted), kept in step with what it
-- writes: a check that carries a settle on one of its own keys (response bytes, a cost refund)
-- does not read that key again.
local loaded = {}
local function load_sliding(key, window, g)
  local cached = loaded[key]
  if cached ~= nil and cached.window == window and cached.g == g then return cached.ids, cached.sums, cached.last, {} end
  local ids, sums, last, stale = load_buckets(key, window, g)
  loaded[key] = { window = window, g = g, ids = ids, sums = sums, last = last }
  return ids, sums, last, stale
end

local adjustments = tonumber(ARGV[3])
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
    local g = math.ceil(window / buckets)
    local ids, sums, last, stale = load_sliding(key, window, g)
    delete_fields(key, stale)
    -- An `at` in the future (clock skew) lands in the current sub-bucket.
    local when = now
    if place == 'a' and at < now then when = at end
    local id = floor_div(when, g)
    local in_window = when > now - window
    if delta > 0 and in_window then
      local later = last[id]
      if later == nil or later < when then later = when end
      if sums[id] == nil then ids[#ids + 1] = id end
      sums[id] = (sums[id] or 0) + delta
      rawset(last, id, later)
      set_sliding(key, id, g, sums[id], later, (buckets + 1) * g)
    elseif delta < 0 and in_window then
      local sum = sums[id]
      if sum ~= nil then
        if sum + delta <= 0 then
          redis.call('HDEL', key, field(id))
          sums[id] = nil
          for k = 1, #ids do
            if ids[k] == id then table.remove(ids, k) break end
          end
        else
          sums[id] = sum + delta
          set_sliding(key, id, g, sums[id], last[id], nil)
        end
      end
    end
  else
    local period, starts, ends = calendar_period(now, ARGV[base + 2], tonumber(ARGV[base + 3]))
    local same = place ~= 'a' or calendar_period(at, ARGV[base + 2], tonumber(ARGV[base + 3])) == period
    if same and delta ~= 0 then
      local raw = redis.call('HGETALL', key)
      local used = 0
      local stale = {}
      for j = 1, #raw, 2 do
        if raw[j] == period then used = tonumber(raw[j + 1]) else stale[#stale + 1] = raw[j] end
      end
      delete_fields(key, stale)
      if delta > 0 then
        redis.call('HINCRBY', key, period, delta)
        redis.call('PEXPIRE', key, ends - now + CALENDAR_TTL_SLACK_MS)
      elseif used > 0 then
        if used + delta <= 0 then redis.call('HDEL', key, period) else redis.call('HSET', key, period, field(used + delta)) end
      end
    end
  end
end
if mode == 'adjust' then return { now } end

-- consume / peek: read every dimension, decide, then charge all or nothing.
local dims = {}
local all_allowed = true
for i = 1, #KEYS - adjustments do
  local base = 3 + adjustments * 6 + (i - 1) * 6
  local d = {
    key = KEYS[adjustments + i],
    kind = ARGV[base + 1],
    limit = tonumber(ARGV[base + 2]),
    amount = tonumber(ARGV[base + 3]),
    check_only = ARGV[base + 4] == '1',
  }
  if d.kind == 's' then
    d.window = tonumber(ARGV[base + 5])
    d.buckets = tonumber(ARGV[base + 6])
    -- Sub-buckets of g = ceil(W / N) ms; one counts while its last charge is in (now - W, now].
    d.g = math.ceil(d.window / d.buckets)
    d.b = floor_div(now, d.g)
    d.ids, d.sums, d.last, d.stale = load_sliding(d.key, d.window, d.g)
    d.used = 0
    for _, id in ipairs(d.ids) do d.used = d.used + d.sums[id] end
  else
    d.field, d.starts, d.ends = calendar_period(now, ARGV[base + 5], tonumber(ARGV[base + 6]))
    local raw = redis.call('HGETALL', d.key)
    d.used = 0
    d.stale = {}
    for j = 1, #raw, 2 do
      if raw[j] == d.field then d.used = tonumber(raw[j + 1]) else d.stale[#d.stale + 1] = raw[j] end
    end
  end
  if d.check_only then d.allowed = d.used < d.limit else d.allowed = d.used + d.amount <= d.limit end
  if not d.allowed then all_allowed = false end
  dims[i] = d
end

if mode == 'consume' then
  for _, d in ipairs(dims) do
    delete_fields(d.key, d.stale)
    if all_allowed and not d.check_only and d.amount > 0 then
      d.used = d.used + d.amount
      if d.kind == 's' then
        -- The newest sub-bucket leaves the window by (b + 1) * g + W <= now + (N + 1) * g: its
        -- first charge sets that expiry, later charges to it need not push it again.
        local expire_ms = nil
        if d.sums[d.b] == nil then
          expire_ms = (d.buckets + 1) * d.g
          d.ids[#d.ids + 1] = d.b
          d.sums[d.b] = 0
        end
        d.sums[d.b] = d.sums[d.b] + d.amount
        set_sliding(d.key, d.b, d.g, d.sums[d.b], now, expire_ms)
        d.last[d.b] = now
      else
        redis.call('HINCRBY', d.key, d.field, d.amount)
        -- Once per period: the first charge of a period sets the key's expiry past its end.
        if d.used == d.amount then redis.call('PEXPIRE', d.key, d.ends - now + CALENDAR_TTL_SLACK_MS) end
      end
    end
  end
end

local reply = { now, all_allowed and 1 or 0 }
for _, d in ipairs(dims) do
  local reset_at, retry_after
  local never_fits = (d.check_only and d.limit <= 0) or (not d.check_only and d.amount > d.limit)
  if d.kind == 's' then
    -- A sub-bucket stops counting one window after its last charge: at most W from now. Ids
    -- are sorted only for a refusal's retry time, off the common path.
    reset_at = now
    local oldest = nil
    for _, id in ipairs(d.ids) do
      if d.sums[id] > 0 and (oldest == nil or id < oldest) then oldest = id end
    end
    if oldest ~= nil then reset_at = d.last[oldest] + d.window end
    retry_after = 0
    if not d.allowed then
      retry_after = d.window
      if not never_fits then
        table.sort(d.ids)
        local left = d.used
        for _, id in ipairs(d.ids) do
          left = left - d.sums[id]
          local fits
          if d.check_only then fits = left < d.limit else fits = left + d.amount <= d.limit end
          if fits then retry_after = d.last[id] + d.window - now; break end
        end
      end
    end
  else
    reset_at = d.ends
    retry_after = 0
    if not d.allowed then
      if never_fits then retry_after = d.ends - d.starts else retry_after = d.ends - now end
    end
  end
  reply[#reply + 1] = d.allowed and 1 or 0
  reply[#reply + 1] = d.used
  reply[#reply + 1] = reset_at
  reply[#reply + 1] = retry_after
end
return reply
