#include "sim/reconfig_property.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <utility>

#include "config/replica_set.h"
#include "config/slice_math.h"
#include "server/api/slice_fetcher.h"
#include "server/auth/request_signature.h"
#include "server/auth/worker_key.h"
#include "sim/fake_clock.h"
#include "sim/in_process_cluster.h"
#include "sim/load_driver.h"
#include "sim/oracle.h"
#include "sim/sync_client.h"
#include "sim/traffic_model.h"

namespace rt {
namespace {

constexpr int64_t kFirstSliceS = 1577836800;  // 2020-01-01T00:00:00Z
constexpr int64_t kSliceS = 10;
constexpr uint32_t kUsers = 8;

// A small deterministic generator (SplitMix64): the same seed gives the same run on
// every standard library.
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi].
  int64_t Between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }
  template <typename T>
  const T& Pick(const std::vector<T>& values) {
    return values[Next() % values.size()];
  }

 private:
  uint64_t state_;
};

// A temporary directory removed at the end of the run.
struct TempRoot {
  std::filesystem::path path;
  ~TempRoot() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

ClusterConfig RandomChange(const ClusterConfig& running, int64_t now_slice, Random& random) {
  ClusterConfig next = running;
  const int64_t what = random.Between(0, 3);
  if (what == 0 || what == 3) next.max_future_s = random.Pick<int64_t>({2, 10, 40, 120, 300});
  if (what == 1 || what == 3) next.reload_interval_s = random.Pick<int64_t>({1, 5, 20});
  if (what == 2 || what == 3 || random.Between(0, 1) == 0) {
    std::vector<std::string> workers;
    for (const auto& [id, url] : running.worker_nodes) workers.push_back(id);
    for (size_t i = workers.size(); i > 1; --i) {
      std::swap(workers[i - 1], workers[random.Next() % i]);
    }
    workers.resize(static_cast<size_t>(random.Between(1, static_cast<int64_t>(workers.size()))));
    const int64_t slice = std::max<int64_t>(1, now_slice + random.Between(-3, 35));
    std::erase_if(next.routing, [slice](const RoutingEntry& e) { return e.slice == slice; });
    next.routing.push_back({slice, SetsOfOne(workers)});
    std::sort(next.routing.begin(), next.routing.end(),
              [](const RoutingEntry& a, const RoutingEntry& b) { return a.slice < b.slice; });
  }
  return next;
}

std::vector<SimRequest> RandomEvents(const ClusterConfig& running, int64_t now_ms, int count,
                                     Random& random) {
  std::vector<SimRequest> events;
  for (int i = 0; i < count; ++i) {
    SimRequest r;
    r.kind = SimRequest::Kind::kPost;
    r.action = random.Between(0, 1) == 0 ? Action::kClick : Action::kImpression;
    r.user = static_cast<uint32_t>(random.Between(0, kUsers - 1));
    r.send_ms = now_ms;
    r.timestamp_ms = now_ms + random.Between(-20'000, running.max_future_s * 1000);
    events.push_back(r);
  }
  return events;
}

// Every slice's stats summed over every worker, asked directly (not through the
// routing, which may no longer name a worker that holds data), with requests signed
// by `signer` as the API nodes sign theirs.
Result<std::map<int64_t, SliceStats>> SumOverWorkers(const std::vector<uint16_t>& ports,
                                                     const RequestSigner& signer) {
  std::map<int64_t, SliceStats> sum;
  for (uint16_t port : ports) {
    SyncHttpClient client(port, std::chrono::seconds(10));
    SignedRequest parts;
    parts.method = "GET";
    parts.target = "/worker/slices";
    const std::string empty_body_hash = Sha256HexOf("");
    parts.body_sha256_hex = empty_body_hash;
    const Signature signature = signer.Sign(parts);
    Result<http::Response> response =
        client.Get("/worker/slices", {{std::string(kTimestampHeader), signature.timestamp},
                                      {std::string(kSignatureHeader), signature.signature}});
    if (!response.ok())
      return response.status().WithContext("worker on port " + std::to_string(port));
    Result<std::map<int64_t, SliceStats>> slices = ParseWorkerSlices(response->body());
    if (!slices.ok()) return slices.status();
    for (const auto& [slice, stats] : *slices) sum[slice] += stats;
  }
  return sum;
}

}  // namespace

Result<ReconfigPropertyReport> RunReconfigProperty(const ReconfigPropertyOptions& options) {
  TempRoot root;
  std::error_code ec;
  root.path = std::filesystem::temp_directory_path(ec) /
              ("rt-reconfig-" + std::to_string(options.seed) + "-" +
               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  if (ec || !std::filesystem::create_directories(root.path, ec)) {
    return Status::IoError("cannot create a temporary dir: " + ec.message());
  }
  Random random(options.seed);
  FakeClock clock((kFirstSliceS + 1000 * kSliceS) * 1000 + 3500);

  InProcessClusterOptions cluster_options;
  cluster_options.api_nodes = 1;
  cluster_options.workers = 3;
  cluster_options.first_slice_s = kFirstSliceS;
  cluster_options.slice_length_s = kSliceS;
  cluster_options.data_root = root.path.string();
  Result<std::unique_ptr<InProcessCluster>> started =
      InProcessCluster::Start(cluster_options, clock);
  if (!started.ok()) return started.status();
  InProcessCluster& cluster = **started;

  Oracle oracle;
  ReconfigPropertyReport report;
  {
    LoadDriverOptions driver_options;
    driver_options.threads = 1;
    driver_options.window = 4;
    LoadDriver driver(oracle, kFirstSliceS * 1000, kSliceS * 1000, driver_options);
    const std::vector<uint16_t> ports = cluster.ApiPorts();
    for (int step = 0; step < options.steps; ++step) {
      const std::vector<SimRequest> events =
          RandomEvents(cluster.config(), clock.NowMillis(), options.events_per_step, random);
      report.events_accepted += driver.Send(events, ports).accepted;
      clock.Advance(random.Between(0, 12'000));
      const Result<int64_t> now_slice = SliceOfEpochMillis(cluster.config(), clock.NowMillis());
      if (!now_slice.ok()) return now_slice.status();
      const ClusterConfig next = RandomChange(cluster.config(), *now_slice, random);
      ++report.offers;
      if (const Status s = cluster.ApplyConfig(next); s.ok()) {
        ++report.accepted;
      } else if (report.refusals.size() < 5) {
        report.refusals.push_back(s.message());
      }
    }
    driver.CloseConnections();
  }
  report.undelivered = cluster.StopApiNodes(std::chrono::seconds(20));

  const SystemClock signing_clock;  // signatures are wall-clock timed (InProcessCluster)
  const Result<std::map<int64_t, SliceStats>> held =
      SumOverWorkers(cluster.WorkerPorts(),
                     RequestSigner(WorkerKey::Derive(cluster_options.secret), signing_clock));
  if (!held.ok()) return held.status();
  for (const SliceMismatch& mismatch : oracle.Compare(*held)) {
    report.failures.push_back(mismatch.Describe());
  }
  return report;
}

}  // namespace rt
