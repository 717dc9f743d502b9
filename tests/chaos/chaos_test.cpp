// The chaos test of replica sets (issue #14, docs/design.md §14 "Replica sets"): 2 API
// nodes with spools and 4 workers as [[0,1],[2,3]] under steady load from both nodes,
// while one node at a time, chosen at random, is killed -9 and restarted: any API node
// or worker, never both members of a set at once, and once a worker's data dir is
// wiped and reseeded from its peer. Throughout, every read must be a 200 never above
// the truth, or a 503; at the end every member and both API nodes must hold exactly
// what the clients were promised (every 202).
//
// RT_CHAOS_SECONDS (default 20, the short form ctest runs) sets how long the faults go
// on; `make chaos` runs 300. RT_CHAOS_SEED picks the faults (default: random, printed).
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/local_cluster.h"
#include "tests/support/replica_load.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

// One sending thread per API node. A sender can be paused, and says when its last
// POST has been answered: an API node is killed only while no POST to it is in
// flight, so that every event it took was answered (a 202 lost with the process would
// be an event counted but not promised).
struct Sender {
  std::atomic<bool> paused{false};
  std::atomic<bool> idle{false};
  std::thread thread;
};

}  // namespace

TEST_CASE(
    "chaos: single-node kill -9 of any node and a disk wipe under load, reads never "
    "above the truth, totals exact",
    "[chaos][replica]") {
  const uint64_t seconds = EnvOr("RT_CHAOS_SECONDS", 20);
  const uint64_t seed = EnvOr("RT_CHAOS_SEED", std::random_device{}());
  std::cout << "chaos: " << seconds << " s of faults, RT_CHAOS_SEED=" << seed << std::endl;
  std::mt19937_64 rng(seed);
  const auto uniform = [&rng](int lo, int hi) {
    return std::uniform_int_distribution<int>(lo, hi)(rng);
  };

  testing::TempDir spool;
  testing::LocalCluster cluster(testing::TwoSetsOfTwo(spool));
  REQUIRE(cluster.Start());
  const int k = cluster.AddApi({"--spool-dir", spool.Sub("spool1")});
  const std::vector<uint16_t> apis = {cluster.api_port(), cluster.extra_api_port(k)};
  const int64_t ts = cluster.clock().Middle(cluster.clock().now_slice);

  testing::Promised promised;
  std::atomic<bool> stop{false};
  std::vector<Sender> senders(2);
  for (size_t j = 0; j < senders.size(); ++j) {
    senders[j].thread = std::thread([&, j] {
      const auto deadline = Clock::now() + std::chrono::seconds(seconds + 120);
      uint64_t user = (j + 1) * 1'000'000'000ull;
      for (int n = 0; n < 1'000'000 && !stop && Clock::now() < deadline; ++n) {
        if (senders[j].paused) {
          senders[j].idle = true;
          std::this_thread::sleep_for(5ms);
          continue;
        }
        senders[j].idle = false;
        testing::SendOne(apis[j], ts, user++, promised);
      }
      senders[j].idle = true;
    });
  }
  // Reads go to the API nodes that are up (a read cut by a kill is no answer at all).
  std::atomic<bool> api_up[2] = {true, true};
  testing::ReadChecker reads;
  std::thread reader([&] {
    for (int i = 0; i < 200'000 && !stop; ++i) {
      const size_t j = static_cast<size_t>(i) % 2;
      if (!api_up[j]) continue;
      reads.ReadOnce(apis[j], ts, i % 4 == 0, promised, senders.size());
      std::this_thread::sleep_for(2ms);
    }
  });

  const auto pause = [](int lo_ms, int hi_ms, auto& uniform_ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(uniform_ms(lo_ms, hi_ms)));
  };
  const auto end = Clock::now() + std::chrono::seconds(seconds);
  bool wiped = false;
  int faults = 0;
  while (Clock::now() < end) {
    pause(300, 1000, uniform);
    const int node = uniform(0, 5);  // 0..3 a worker, 4..5 an API node
    ++faults;
    if (node >= 4) {
      const size_t j = static_cast<size_t>(node - 4);
      senders[j].paused = true;
      REQUIRE(testing::WaitFor([&] { return senders[j].idle.load(); }, 30s));
      api_up[j] = false;
      std::this_thread::sleep_for(50ms);  // reads in flight to it finish
      if (j == 0) {
        cluster.KillApi();
      } else {
        cluster.KillExtraApi(k);
      }
      pause(200, 1500, uniform);
      REQUIRE((j == 0 ? cluster.RestartApi() : cluster.RestartExtraApi(k)));
      api_up[j] = true;
      senders[j].paused = false;
      continue;
    }
    const int peer = node ^ 1;
    cluster.KillWorker(node);
    // Once, past the middle of the run, the worker's disk is lost: reseed from its peer.
    if (!wiped && Clock::now() > end - std::chrono::seconds(seconds / 2)) {
      wiped = true;
      std::filesystem::remove_all(cluster.worker_data_dir(node));
      const testing::RtctlRun reseed = testing::RunRtctl(
          {"reseed-worker", "--config", cluster.config_path(), "--node", std::to_string(node),
           "--data-dir", cluster.worker_data_dir(node), "--from", std::to_string(peer)},
          {"RT_WORKER_KEY=" + cluster.worker_key()});
      INFO(reseed.err);
      REQUIRE(reseed.code == 0);
      std::cout << "chaos: wiped worker " << node << " and reseeded it from " << peer << std::endl;
    }
    pause(200, 2000, uniform);
    REQUIRE(cluster.RestartWorker(node));
  }
  if (!wiped) {  // a run too short to reach the middle: the wipe happens at the end
    cluster.KillWorker(0);
    std::filesystem::remove_all(cluster.worker_data_dir(0));
    REQUIRE(testing::RunRtctl({"reseed-worker", "--config", cluster.config_path(), "--node", "0",
                               "--data-dir", cluster.worker_data_dir(0), "--from", "1"},
                              {"RT_WORKER_KEY=" + cluster.worker_key()})
                .code == 0);
    REQUIRE(cluster.RestartWorker(0));
  }

  stop = true;
  for (Sender& sender : senders) sender.thread.join();
  reader.join();
  std::cout << "chaos: " << faults << " faults, " << promised.accepted() << " events promised, "
            << reads.reads << " reads (" << reads.not_200 << " not 200)" << std::endl;
  CHECK(promised.accepted() > 0);
  CHECK(promised.failed == 0);  // no POST went to a node being killed
  CHECK(reads.reads > 0);
  CHECK(reads.above_truth == 0);
  CHECK(reads.not_503 == 0);  // every read that was not a 200 was a 503
  REQUIRE(testing::SpoolsDrain(apis));
  testing::CheckEveryMemberExact(cluster, cluster.clock().now_slice, promised);
  for (const uint16_t port : apis) CHECK(testing::ApiExact(port, ts, promised));
  CHECK(cluster.StopApi() == 0);
}

}  // namespace rt
