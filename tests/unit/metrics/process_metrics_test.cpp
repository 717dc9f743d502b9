#include "server/metrics/process_metrics.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

namespace rt {
namespace {

// The value of the sample line `name ` in a rendered registry, or -1.
double SampleOf(const std::string& text, const std::string& name) {
  const size_t at = text.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + name.size() + 2));
}

}  // namespace

TEST_CASE("process metrics render with the standard names and build info", "[metrics]") {
  MetricsRegistry registry;
  RegisterProcessMetrics(registry);
  const std::string text = registry.Render();
  CHECK(text.find("# TYPE process_cpu_seconds_total counter\n") != std::string::npos);
  CHECK(text.find("# TYPE process_resident_memory_bytes gauge\n") != std::string::npos);
  CHECK(text.find("# TYPE process_open_fds gauge\n") != std::string::npos);
  CHECK(SampleOf(text, "process_resident_memory_bytes") > 0);
  CHECK(SampleOf(text, "process_open_fds") >= 3);  // stdin, stdout, stderr at least
  CHECK(SampleOf(text, "process_cpu_seconds_total") >= 0);
  // version from CMake's project(), revision from git or "unknown".
  CHECK_THAT(text, Catch::Contains("rt_build_info{version=\"0.1\",revision=\""));
  CHECK_THAT(text, Catch::Contains("\"} 1\n"));
}

TEST_CASE("process metrics follow open descriptors, resident memory and CPU time", "[metrics]") {
  const ProcessSample before = ReadProcessSample();
  REQUIRE(before.open_fds);
  REQUIRE(before.resident_bytes);
  REQUIRE(before.cpu_seconds);

  int fds[2];
  REQUIRE(pipe(fds) == 0);
  CHECK(*ReadProcessSample().open_fds == *before.open_fds + 2);
  close(fds[0]);
  close(fds[1]);
  CHECK(*ReadProcessSample().open_fds == *before.open_fds);

  // 64 MiB touched page by page is resident until freed.
  constexpr size_t kBytes = 64u << 20;
  auto block = std::make_unique<char[]>(kBytes);
  std::memset(block.get(), 1, kBytes);
  CHECK(*ReadProcessSample().resident_bytes >= *before.resident_bytes + kBytes / 2);

  // Burn CPU until the clock-tick counter moves (a tick is 10 ms); bounded in time.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  volatile uint64_t sink = 0;
  bool moved = false;
  while (!moved && std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 1'000'000; ++i) sink = sink + static_cast<uint64_t>(block[i % kBytes]);
    moved = *ReadProcessSample().cpu_seconds > *before.cpu_seconds;
  }
  CHECK(moved);
}

}  // namespace rt
