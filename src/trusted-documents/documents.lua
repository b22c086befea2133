-- A tenant's trusted documents and what they take, changed atomically, so that several gateway
-- instances registering at once never pass a cap and the size never disagrees with the documents.
-- KEYS[1]  td:{tenant}       hash: sha256 -> the document's JSON
-- KEYS[2]  td:size:{tenant}  hash: count, bytes (sum of the JSON's byte lengths) of KEYS[1]
-- ARGV[1]  'put' or 'remove'
-- put:    ARGV[2] maxDocuments, ARGV[3] maxBytes, then sha256, json pairs. Stores every pair (a hash
--         already there is replaced and counts once; the last of a repeated hash wins, as HSET),
--         or none if the tenant would pass a cap and grow (caps.ts `admits`).
--         Returns {stored 1|0, count, bytes, countAfter, bytesAfter}.
-- remove: ARGV[2..] sha256s. Returns how many were registered.
local docs, size = KEYS[1], KEYS[2]

-- The size as kept, unless it is missing (documents written before it was kept, an evicted key)
-- or names another count (an older instance wrote meanwhile): then summed from the documents.
local count = redis.call('HLEN', docs)
local bytes = 0
if count > 0 then
  local kept = redis.call('HMGET', size, 'count', 'bytes')
  if tonumber(kept[1]) == count and tonumber(kept[2]) then
    bytes = tonumber(kept[2])
  else
    for _, sha in ipairs(redis.call('HKEYS', docs)) do
      bytes = bytes + redis.call('HSTRLEN', docs, sha)
    end
  end
end

local function keep(newCount, newBytes)
  if newCount == 0 then
    redis.call('DEL', size)
  else
    redis.call('HSET', size, 'count', newCount, 'bytes', newBytes)
  end
end

if ARGV[1] == 'put' then
  local maxDocuments, maxBytes = tonumber(ARGV[2]), tonumber(ARGV[3])
  local latest, order = {}, {}
  for i = 4, #ARGV, 2 do
    if latest[ARGV[i]] == nil then order[#order + 1] = ARGV[i] end
    latest[ARGV[i]] = ARGV[i + 1]
  end
  local countAfter, bytesAfter = count, bytes
  for _, sha in ipairs(order) do
    -- A stored JSON is never empty: 0 means not registered.
    local old = redis.call('HSTRLEN', docs, sha)
    if old == 0 then countAfter = countAfter + 1 end
    bytesAfter = bytesAfter - old + string.len(latest[sha])
  end
  local over = (countAfter > maxDocuments and countAfter > count) or (bytesAfter > maxBytes and bytesAfter > bytes)
  if over or #order == 0 then
    return {over and 0 or 1, count, bytes, countAfter, bytesAfter}
  end
  -- One HSET per document: unpack() of a whole batch could pass Lua's stack limit.
  for _, sha in ipairs(order) do
    redis.call('HSET', docs, sha, latest[sha])
  end
  keep(countAfter, bytesAfter)
  return {1, count, bytes, countAfter, bytesAfter}
end

if ARGV[1] == 'remove' then
  local removed = 0
  for i = 2, #ARGV do
    local old = redis.call('HSTRLEN', docs, ARGV[i])
    if old > 0 then
      redis.call('HDEL', docs, ARGV[i])
      removed = removed + 1
      bytes = bytes - old
    end
  end
  keep(count - removed, bytes)
  return removed
end

return redis.error_reply('ERR trusted documents script: unknown mode ' .. tostring(ARGV[1]))
