#pragma once

#include <cstdint>
#include <optional>

#include "server/metrics/metrics.h"

namespace rt {

// What the standard Prometheus process collector reports, read from /proc/self when
// /metrics is rendered (never on a hot path). nullopt where /proc cannot be read
// (not Linux, or a sandbox without /proc).
struct ProcessSample {
  std::optional<double> cpu_seconds;       // user + system, /proc/self/stat
  std::optional<uint64_t> resident_bytes;  // /proc/self/statm
  std::optional<uint64_t> open_fds;        // entries of /proc/self/fd
};
ProcessSample ReadProcessSample();

// Registers on `registry`, for either kind of node:
//   rt_build_info{version,revision} 1  (CMake's project version; the git revision at
//                                       configure time, "unknown" outside a checkout)
//   process_cpu_seconds_total, process_resident_memory_bytes, process_open_fds
// A value /proc cannot give renders as NaN, so a scrape never fails on it.
void RegisterProcessMetrics(MetricsRegistry& registry);

}  // namespace rt
