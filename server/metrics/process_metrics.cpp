#include "server/metrics/process_metrics.h"

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include "server/metrics/build_info.h"

namespace rt {
namespace {

// utime and stime, fields 14 and 15 of /proc/self/stat (proc(5)), in clock ticks.
// The command name (field 2) may hold spaces and parentheses, so fields are counted
// from after its closing ')'.
std::optional<double> ReadCpuSeconds() {
  std::ifstream in("/proc/self/stat");
  const std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 1));
  std::string field;
  // After ')': field 3 (state) is the first; utime is field 14.
  for (int i = 3; i < 14; ++i) fields >> field;
  uint64_t utime = 0;
  uint64_t stime = 0;
  if (!(fields >> utime >> stime)) return std::nullopt;
  const long ticks = sysconf(_SC_CLK_TCK);
  if (ticks <= 0) return std::nullopt;
  return static_cast<double>(utime + stime) / static_cast<double>(ticks);
}

// The second field of /proc/self/statm: resident pages.
std::optional<uint64_t> ReadResidentBytes() {
  std::ifstream in("/proc/self/statm");
  uint64_t size_pages = 0;
  uint64_t resident_pages = 0;
  if (!(in >> size_pages >> resident_pages)) return std::nullopt;
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0) return std::nullopt;
  return resident_pages * static_cast<uint64_t>(page);
}

// Counts the entries of /proc/self/fd, less the one the listing itself holds open.
std::optional<uint64_t> ReadOpenFds() {
  std::error_code ec;
  std::filesystem::directory_iterator it("/proc/self/fd", ec);
  if (ec) return std::nullopt;
  uint64_t count = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) return std::nullopt;
    ++count;
  }
  return count > 0 ? count - 1 : 0;
}

double OrNan(std::optional<double> v) { return v ? *v : std::nan(""); }
double OrNan(std::optional<uint64_t> v) { return v ? static_cast<double>(*v) : std::nan(""); }

}  // namespace

ProcessSample ReadProcessSample() {
  return ProcessSample{ReadCpuSeconds(), ReadResidentBytes(), ReadOpenFds()};
}

void RegisterProcessMetrics(MetricsRegistry& registry) {
  registry
      .AddGauge("rt_build_info", "Always 1; the labels say which build runs",
                "version=\"" + std::string(BuildVersion()) + "\",revision=\"" +
                    std::string(BuildRevision()) + "\"")
      .Set(1);
  registry.AddCallbackCounter("process_cpu_seconds_total", "User and system CPU time spent",
                              [] { return OrNan(ReadCpuSeconds()); });
  registry.AddCallbackGauge("process_resident_memory_bytes", "Resident memory size",
                            [] { return OrNan(ReadResidentBytes()); });
  registry.AddCallbackGauge("process_open_fds", "Open file descriptors",
                            [] { return OrNan(ReadOpenFds()); });
}

}  // namespace rt
