-- wrk's announces for benches/bench-tracker:
--
--   wrk ... -s benches/tracker-announce.lua http://HOST:PORT/announce -- HASHES [close|keep-alive]
--
-- HASHES is a file of info-hashes, 40 hex digits a line. Each request is a
-- compact announce (BEP 3, BEP 23) of a random one of them, from a random
-- peer id and port, numwant=50, a quarter of them seeders (left=0).
-- `close` (the default) sends `Connection: close`: one announce per
-- connection.

local hashes = {}
local chars = "abcdefghijklmnopqrstuvwxyz0123456789"
local threads = 0

function setup(thread)
   threads = threads + 1
   thread:set("number", threads)
end

function init(args)
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      if #line == 40 then
         -- Every byte percent-encoded: "%b6%58...".
         hashes[#hashes + 1] = line:gsub("..", "%%%0")
      end
   end
   file:close()
   assert(#hashes > 0, "no info-hashes in " .. args[1])
   if args[2] ~= "keep-alive" then
      wrk.headers["Connection"] = "close"
   end
   math.randomseed(os.time() * 1000 + (number or 0))
end

function request()
   local id = {}
   for i = 1, 12 do
      local k = math.random(#chars)
      id[i] = chars:sub(k, k)
   end
   local left = "1000000"
   if math.random(4) == 1 then
      left = "0"
   end
   local path = "/announce?info_hash=" .. hashes[math.random(#hashes)]
      .. "&peer_id=-WK0001-" .. table.concat(id)
      .. "&port=" .. math.random(1024, 65535)
      .. "&uploaded=0&downloaded=0&left=" .. left
      .. "&compact=1&numwant=50"
   return wrk.format("GET", path)
end
