-- Adds one flush's sums to the usage hashes of one hash tag (one tenant, or the fleet), atomically.
-- KEYS: the hashes. ARGV, per key in order:
--   ttlMs   relative expiry set after the update (PEXPIRE), or -1 for none
--   nIncr   how many field/delta pairs follow for HINCRBY (integer deltas)
--   nSet    how many field/value pairs follow those for HSET
--   then nIncr pairs, then nSet pairs
-- Returns the number of keys updated. A key of another type fails the call before anything is
-- written, so a call is all or nothing and a retry never counts twice.
for _, key in ipairs(KEYS) do
  local kind = redis.call('TYPE', key)['ok']
  if kind ~= 'hash' and kind ~= 'none' then
    return redis.error_reply('WRONGTYPE usage key ' .. key .. ' holds a ' .. kind .. ', not a hash')
  end
end
local a = 1
for _, key in ipairs(KEYS) do
  local ttl = tonumber(ARGV[a])
  local nIncr = tonumber(ARGV[a + 1])
  local nSet = tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, nIncr do
    redis.call('HINCRBY', key, ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  for _ = 1, nSet do
    redis.call('HSET', key, ARGV[a], ARGV[a + 1])
    a = a + 2
  end
  if ttl > 0 then
    redis.call('PEXPIRE', key, ttl)
  end
end
return #KEYS
