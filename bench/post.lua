-- wrk: POST /analytics with random users (a pool of RT_BENCH_USERS, default 1e6),
-- 95% of events in the current hour and 5% in one of the ten hours before, one
-- click per ten events. Timestamps in milliseconds.
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

local users = tonumber(os.getenv("RT_BENCH_USERS") or "1000000")
local hour_ms = 3600 * 1000

function init(args)
  math.randomseed(os.time() * 1000 + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0) % 1000)
end

function request()
  local ts = os.time() * 1000 + math.random(0, 999)
  if math.random(100) <= 5 then ts = ts - math.random(1, 10) * hour_ms end
  local action = math.random(10) == 1 and "click" or "impression"
  return wrk.format("POST", "/analytics?timestamp=" .. ts .. "&user=u" .. math.random(users) ..
                    "&" .. action)
end

done = report.done
