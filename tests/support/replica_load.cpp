#include "tests/support/replica_load.h"

#include <catch2/catch.hpp>
#include <chrono>

#include "tests/support/http_test_client.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/wait_for.h"
#include "tests/support/worker_signing.h"

namespace rt::testing {
namespace {

namespace bhttp = boost::beast::http;
using namespace std::chrono_literals;

// The API node on `port` has sent every event of both sets to every member.
bool SpoolEmpty(uint16_t port) {
  auto empty = [&](const std::string& set) {
    const auto events = FetchMetric(port, "rt_api_spool_events{worker=\"" + set + "\"}");
    return events && *events == 0;
  };
  return empty("0+1") && empty("2+3");
}

}  // namespace

bool SendOne(uint16_t port, int64_t ts, uint64_t user, Promised& promised) {
  const bool click = user % 4 == 0;
  const auto response = HttpFetch(port, bhttp::verb::post,
                                  "/analytics?timestamp=" + std::to_string(ts) + "&user=u" +
                                      std::to_string(user) + (click ? "&click" : "&impression"));
  if (response && response->result() == bhttp::status::accepted) {
    (click ? promised.clicks : promised.impressions)++;
    return true;
  }
  if (response && response->result() == bhttp::status::service_unavailable) {
    promised.refused++;
    return true;
  }
  promised.failed++;
  return false;
}

void Send(uint16_t port, int64_t ts, uint64_t first, uint64_t count, Promised& promised) {
  for (uint64_t user = first; user < first + count; ++user) SendOne(port, ts, user, promised);
}

std::optional<SliceStats> MemberStats(uint16_t port, int64_t slice) {
  const auto response =
      SignedFetch(port, bhttp::verb::get, "/worker?slice=" + std::to_string(slice));
  if (!response || response->result() != bhttp::status::ok) return std::nullopt;
  Result<SliceStats> stats = ParseSliceStats(response->body());
  if (!stats.ok()) return std::nullopt;
  return *stats;
}

bool SpoolsDrain(const std::vector<uint16_t>& api_ports) {
  return WaitFor(
      [&] {
        for (const uint16_t port : api_ports) {
          if (!SpoolEmpty(port)) return false;
        }
        return true;
      },
      30s);
}

std::optional<SliceStats> ApiStats(uint16_t port, int64_t ts, bool fresh, int* status) {
  std::vector<std::pair<std::string, std::string>> headers;
  if (fresh) headers.emplace_back("Cache-Control", "no-cache");
  const auto response =
      HttpFetch(port, bhttp::verb::get, "/analytics?timestamp=" + std::to_string(ts), "", headers);
  if (status != nullptr) *status = response ? static_cast<int>(response->result_int()) : 0;
  if (!response || response->result() != bhttp::status::ok) return std::nullopt;
  Result<SliceStats> stats = ParseSliceStats(response->body());
  if (!stats.ok()) return std::nullopt;
  return *stats;
}

bool ApiExact(uint16_t port, int64_t ts, const Promised& promised) {
  const auto stats = ApiStats(port, ts, true);
  return stats && stats->clicks == promised.clicks && stats->impressions == promised.impressions &&
         stats->unique_users == promised.accepted();
}

void ReadChecker::ReadOnce(uint16_t port, int64_t ts, bool fresh, const Promised& promised,
                           uint64_t senders) {
  int status = 0;
  const auto stats = ApiStats(port, ts, fresh, &status);
  const uint64_t bound = promised.accepted() + senders;
  reads++;
  if (!stats) {
    not_200++;
    if (status != 503) not_503++;
    return;
  }
  if (stats->clicks + stats->impressions > bound || stats->unique_users > bound) above_truth++;
}

void ReadChecker::Run(const std::vector<uint16_t>& ports, int64_t ts, const Promised& promised,
                      uint64_t senders) {
  for (int i = 0; i < 20000 && !stop; ++i) {
    ReadOnce(ports[static_cast<size_t>(i) % ports.size()], ts, i % 3 == 0, promised, senders);
  }
}

// Each member of each set holds exactly its set's share, the members of a set the
// same numbers, and the two sets together exactly what the client was promised.
void CheckEveryMemberExact(LocalCluster& cluster, int64_t slice, const Promised& promised) {
  std::optional<SliceStats> stats[4];
  for (int i = 0; i < 4; ++i) {
    stats[i] = MemberStats(cluster.worker_port(i), slice);
    REQUIRE(stats[i].has_value());
  }
  CHECK(*stats[0] == *stats[1]);
  CHECK(*stats[2] == *stats[3]);
  const SliceStats total = *stats[0] + *stats[2];
  CHECK(total.clicks == promised.clicks);
  CHECK(total.impressions == promised.impressions);
  CHECK(total.unique_users == promised.accepted());
  CHECK(stats[0]->unique_users > 0);  // both sets got a share
  CHECK(stats[2]->unique_users > 0);
}

// 4 workers as [[0,1],[2,3]] and an API node with its spool in `spool`/spool0 (tests
// add a second with AddApi).
LocalCluster::Options TwoSetsOfTwo(const TempDir& spool) {
  LocalCluster::Options options;
  options.workers = 4;
  options.routing_json = kTwoSetsOfTwo;
  options.api_args = {"--spool-dir", spool.Sub("spool0")};
  return options;
}

}  // namespace rt::testing
