-- Shared by the bench/*.lua wrk scripts: prints one machine-readable summary line
-- that bench/run parses (latencies in microseconds).
local M = {}

function M.done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RTBENCH requests=%d duration_us=%d non2xx=%d socket_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end

return M
