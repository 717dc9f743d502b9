// rt_netfault: network faults (blackhole, partition, loss, flapping) injected with
// nftables into a real cluster running in a private network namespace, and the
// promises of docs/failure-modes.md checked on the client's history of every
// request. See tests/netfault/README.md.
//
//   rt_netfault [--short] [--scenario NAME]...
//
// Exit 0: every promise kept; 1: a promise broken or the cluster failed; 2: usage;
// 77: this machine cannot create the namespace (the reason is printed).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/netfault/client_history.h"
#include "tests/netfault/fault_cluster.h"
#include "tests/netfault/nft_faults.h"
#include "tests/netfault/private_network.h"
#include "tests/netfault/promises.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace rt::netfault {
namespace {

using namespace std::chrono_literals;

struct Timing {
  std::chrono::milliseconds before, fault, after, flap_period;
};
constexpr Timing kShort{1000ms, 5000ms, 1000ms, 1000ms};
constexpr Timing kFull{5000ms, 35000ms, 5000ms, 3000ms};
// A whole scenario, starting and settling included; the alarm kills it past this.
constexpr std::chrono::seconds kScenarioLimit{90};
// How long healing may take until the counts are exact: the forwarders' retry
// backoff and the spools' resend, with room for a loaded machine.
constexpr auto kSettleLimit = 20s;

constexpr int kBlackholedWorker = 1;
constexpr int kPartitionedWorker = 3;
constexpr int kLossyWorker = 2;
constexpr int kFlappingWorker = 0;

struct Scenario {
  std::string name;
  std::string what;
  int replicas;                 // members per replica set: 1 (four sets of one) or 2 ([0+1, 2+3])
  std::set<int> affected_sets;  // indexes in the routing
  std::set<int> reads_must_answer_api;
  // Runs the fault for the timing's `fault` length.
  std::function<bool(NftFaults&, const Timing&)> inject;
};

using Inject = std::function<bool(NftFaults&, const Timing&)>;

bool Hold(bool applied, std::chrono::milliseconds length) {
  std::this_thread::sleep_for(length);
  return applied;
}

// The steady faults: applied once and held for the fault's length.
Inject Blackholed(std::initializer_list<int> workers) {
  std::vector<uint16_t> ports;
  for (const int w : workers) ports.push_back(FaultCluster::WorkerPort(w));
  return [ports](NftFaults& nft, const Timing& t) { return Hold(nft.Blackhole(ports), t.fault); };
}
Inject PartitionedFromApiOne(int worker) {
  return [worker](NftFaults& nft, const Timing& t) {
    return Hold(nft.Partition(FaultCluster::kApiOneUid, FaultCluster::WorkerPort(worker)), t.fault);
  };
}
Inject ThreeTenthsLost(int worker) {
  return [worker](NftFaults& nft, const Timing& t) {
    return Hold(nft.Lossy(FaultCluster::WorkerPort(worker), 3), t.fault);
  };
}

// Blackholed and healed in turn, every flap period.
Inject Flapping(int worker) {
  return [worker](NftFaults& nft, const Timing& t) {
    const std::vector<uint16_t> ports = {FaultCluster::WorkerPort(worker)};
    const auto end = std::chrono::steady_clock::now() + t.fault;
    bool down = false;
    while (std::chrono::steady_clock::now() < end) {
      down = !down;
      if (!(down ? nft.Blackhole(ports) : nft.Heal())) return false;
      std::this_thread::sleep_until(
          std::min(end, std::chrono::steady_clock::now() + t.flap_period));
    }
    return true;
  };
}

std::vector<Scenario> Scenarios() {
  return {
      {"blackhole",
       "worker 1's packets dropped both ways",
       1,
       {kBlackholedWorker},
       {},
       Blackholed({kBlackholedWorker})},
      {"partition",
       "API node 1 cut from worker 3 (API node 0 reaches it)",
       1,
       {kPartitionedWorker},
       {0},
       PartitionedFromApiOne(kPartitionedWorker)},
      {"lossy",
       "30% of worker 2's packets dropped, each direction",
       1,
       {kLossyWorker},
       {},
       ThreeTenthsLost(kLossyWorker)},
      {"flap",
       "worker 0 blackholed and healed in turn",
       1,
       {kFlappingWorker},
       {},
       Flapping(kFlappingWorker)},
      // Replica sets [0+1, 2+3] (docs/design.md §14): one member out of reach changes
      // nothing a client sees, but latency; both members out make the set's reads 503.
      {"member-blackhole",
       "replica sets: worker 1 (of set 0+1) blackholed both ways, worker 0 reachable",
       2,
       {},
       {0, 1},
       Blackholed({kBlackholedWorker})},
      {"member-partition",
       "replica sets: API node 1 cut from worker 3 (of set 2+3), worker 2 reachable",
       2,
       {},
       {0, 1},
       PartitionedFromApiOne(kPartitionedWorker)},
      {"member-lossy",
       "replica sets: 30% of worker 2's packets (of set 2+3) dropped, each direction",
       2,
       {},
       {0, 1},
       ThreeTenthsLost(kLossyWorker)},
      {"set-blackhole",
       "replica sets: both members of set 0+1 blackholed both ways",
       2,
       {0},
       {},
       Blackholed({0, 1})},
  };
}

// A no-cache read through `api` that answers 200 with exactly `want`; false when the
// limit passes first (`last` holds the last 200's numbers).
bool ReadsExactly(ClientHistory& history, int api, const SliceStats& want, SliceStats& last,
                  std::chrono::seconds limit) {
  return testing::WaitFor(
      [&] {
        const Record r = history.ReadOnce(api, /*no_cache=*/true);
        if (r.status == 200) last = r.stats;
        return r.status == 200 && r.stats == want;
      },
      limit, 50ms);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

SliceStats Accepted(const std::vector<Record>& records) {
  SliceStats s;
  for (const Record& r : records) {
    if (r.kind == Record::Kind::kPost && r.status == 202) {
      (r.click ? s.clicks : s.impressions) += 1;
      ++s.unique_users;
    }
  }
  return s;
}

int RunScenario(const Scenario& scenario, const Timing& timing, const std::string& dir) {
  std::printf("== %s: %s; %lld s of fault\n", scenario.name.c_str(), scenario.what.c_str(),
              static_cast<long long>(timing.fault.count() / 1000));
  std::fflush(stdout);
  const auto begun = std::chrono::steady_clock::now();
  FaultCluster cluster(dir, "netfault-cluster-secret", scenario.replicas);
  NftFaults nft;
  if (!nft.Install() || !cluster.Start()) return 1;
  ClientHistory::Options options;
  for (int i = 0; i < FaultCluster::kApiNodes; ++i) {
    options.api_ports.push_back(FaultCluster::ApiPort(i));
  }
  options.timestamp_ms = cluster.timestamp_ms();
  options.slice = cluster.slice();
  options.secret = cluster.secret();
  options.sets = cluster.sets();
  ClientHistory history(options);

  // Preload: events on every worker, counted exactly through both API nodes before
  // the load starts, so that any later 200 below them is a partial sum.
  ScenarioFacts facts;
  facts.name = scenario.name;
  facts.affected_sets = scenario.affected_sets;
  facts.reads_must_answer_api = scenario.reads_must_answer_api;
  {
    std::optional<testing::HttpTestConnection> connection;
    for (int n = 0; n < 200; ++n) {
      if (n % 100 == 0) connection.reset();
      history.PostOnce(n / 100, "p-" + std::to_string(n), n % 3 == 0, connection);
    }
  }
  facts.preload = Accepted(history.Snapshot());
  for (int api = 0; api < FaultCluster::kApiNodes; ++api) {
    SliceStats last;
    if (!ReadsExactly(history, api, facts.preload, last, kSettleLimit)) {
      std::cerr << scenario.name << ": the preload was never counted exactly through API node "
                << api << " (last read " << last.clicks << " clicks " << last.impressions
                << " impressions of " << facts.preload.clicks << " and "
                << facts.preload.impressions << ")\n";
      return 1;
    }
  }

  std::printf("  cluster up and preload counted after %.1f s\n", Seconds(begun));
  history.Start();
  std::this_thread::sleep_for(timing.before);
  facts.fault_start_us = history.NowUs();
  const bool injected = scenario.inject(nft, timing);
  const bool healed = nft.Heal();
  facts.fault_end_us = history.NowUs();
  std::this_thread::sleep_for(timing.after);
  history.Stop();
  std::printf("  load stopped after %.1f s\n", Seconds(begun));
  if (!injected || !healed) return 1;
  facts.reads_not_sent = history.reads_not_sent();

  // After healing every accepted event must show, exactly once, through every node.
  const SliceStats accepted = Accepted(history.records());
  const auto settle_start = std::chrono::steady_clock::now();
  for (int api = 0; api < FaultCluster::kApiNodes; ++api) {
    SliceStats last;
    ReadsExactly(history, api, accepted, last, kSettleLimit);
    facts.final_by_api.push_back(last);
  }
  std::printf(
      "  healed: counts exact after %.1f s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - settle_start).count());
  const int broken = CheckPromises(history.records(), facts);
  cluster.Stop();
  if (std::getenv("RT_NETFAULT_DUMP") != nullptr) {
    std::fflush(stdout);
    [[maybe_unused]] const int du = std::system(("du -sh " + dir + "/*").c_str());
  }
  return broken == 0 ? 0 : 1;
}

int Usage(const char* why) {
  std::cerr << "rt_netfault: " << why
            << " (usage: rt_netfault [--short] [--scenario NAME]...; scenarios: blackhole, "
               "partition, lossy, flap, member-blackhole, member-partition, member-lossy, "
               "set-blackhole)\n";
  return 2;
}

int Main(int argc, char** argv) {
  Timing timing = kFull;
  std::vector<std::string> wanted;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--short") {
      timing = kShort;
    } else if (arg == "--scenario" && i + 1 < argc) {
      wanted.push_back(argv[++i]);
    } else {
      return Usage(("unknown argument " + arg).c_str());
    }
  }
  std::vector<Scenario> run;
  for (Scenario& s : Scenarios()) {
    if (wanted.empty() || std::find(wanted.begin(), wanted.end(), s.name) != wanted.end()) {
      run.push_back(std::move(s));
    }
  }
  if (run.empty() || (!wanted.empty() && run.size() != wanted.size())) {
    return Usage("unknown scenario");
  }
  int failed = 0;
  for (const Scenario& scenario : run) {
    // The data lives outside the namespace's processes, so it is removed here even
    // when the scenario was killed.
    const testing::TempDir dir;
    const auto started = std::chrono::steady_clock::now();
    const int code = RunInPrivateNetwork([&] { return RunScenario(scenario, timing, dir.path()); },
                                         kScenarioLimit);
    if (code == kSkipped) return kSkipped;
    std::printf("  %s took %.1f s\n", scenario.name.c_str(), Seconds(started));
    if (code != 0) {
      std::printf("%s: FAILED\n", scenario.name.c_str());
      ++failed;
    }
  }
  std::printf("netfault: %zu scenarios, %d failed\n", run.size(), failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace rt::netfault

int main(int argc, char** argv) { return rt::netfault::Main(argc, argv); }
