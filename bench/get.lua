-- wrk: GET /analytics for the current hour (served from the API node's cache).
package.path = debug.getinfo(1, "S").source:match("^@(.*/)") .. "?.lua;" .. package.path
local report = require("report")

function request()
  return wrk.format("GET", "/analytics?timestamp=" .. os.time() * 1000)
end

done = report.done
