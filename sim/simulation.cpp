#include "sim/simulation.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <span>
#include <system_error>
#include <thread>

#include "config/replica_set.h"
#include "config/routing.h"
#include "config/utc_time.h"
#include "server/model/stats_records.h"
#include "sim/fake_clock.h"
#include "sim/fault_check.h"
#include "sim/in_process_cluster.h"
#include "sim/load_driver.h"
#include "sim/oracle.h"
#include "sim/sync_client.h"
#include "sim/traffic_model.h"

namespace rt {
namespace {

constexpr int64_t kSliceSeconds = 3600;
constexpr int64_t kSliceMs = kSliceSeconds * 1000;
constexpr int64_t kDefaultHours = 48;
constexpr std::chrono::milliseconds kDrainTimeout{60'000};
constexpr std::chrono::milliseconds kReadTimeout{20'000};

Status ValidateOptions(const SimulationOptions& o) {
  auto positive = [](const char* name, int64_t value) {
    return value >= 1 ? Status::Ok()
                      : Status::InvalidArgument(std::string(name) + " must be at least 1, not " +
                                                std::to_string(value));
  };
  for (const Status& s : {positive("--hours", o.hours),
                          positive("--events-per-hour", static_cast<int64_t>(o.events_per_hour)),
                          positive("--api-nodes", o.api_nodes), positive("--workers", o.workers),
                          positive("--users", static_cast<int64_t>(o.users)),
                          positive("--client-threads", o.client_threads),
                          positive("--chunks-per-hour", o.chunks_per_hour)}) {
    if (!s.ok()) return s;
  }
  if (o.users > (uint64_t{1} << 32)) return Status::InvalidArgument("--users must be <= 2^32");
  if (o.added_workers < 0) return Status::InvalidArgument("--added-workers must be >= 0");
  if (o.replicas < 1) return Status::InvalidArgument("--replicas must be >= 1");
  if (o.workers % o.replicas != 0 || o.added_workers % o.replicas != 0) {
    return Status::InvalidArgument("--workers and --added-workers must be multiples of --replicas");
  }
  return Status::Ok();
}

Result<std::string> MakeTempDir() {
  std::error_code ec;
  std::string pattern = (std::filesystem::temp_directory_path(ec) / "rt-simulate-XXXXXX").string();
  if (ec) return Status::IoError("no temporary directory: " + ec.message());
  if (mkdtemp(pattern.data()) == nullptr) {
    return Status::IoError("cannot create " + pattern + ": " + std::strerror(errno));
  }
  return pattern;
}

// Per-slice sums of the blocks of /analytics/perworker (all blocks of one slice:
// the sum over its workers) or /analytics/allslices.
Result<std::map<int64_t, SliceStats>> ParseSliceBlocks(std::string_view text) {
  Result<std::vector<StatsRecord>> records = ParseStatsRecords(text);
  if (!records.ok()) return records.status();
  return SumBySlice(*records);
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out;
}

std::string HourLabel(int64_t hour, int64_t first_slice_s) {
  return "hour " + std::to_string(hour) + " (" +
         FormatUtcTime(first_slice_s + hour * kSliceSeconds) + ")";
}

// The simulator's state for one run; RunSimulation's steps as methods.
class Run {
 public:
  Run(const SimulationOptions& options, int64_t first_slice_s, InProcessCluster& cluster,
      FakeClock& clock)
      : options_(options),
        hours_(ResolveScenarioHours(options)),
        first_slice_s_(first_slice_s),
        first_ms_(first_slice_s * 1000),
        cluster_(cluster),
        clock_(clock),
        driver_(oracle_, first_ms_, kSliceMs, LoadDriverOptions{.threads = options.client_threads}),
        model_(TrafficOptions{.seed = options.seed,
                              .users = options.users,
                              .events_per_hour = options.events_per_hour},
               first_ms_) {}

  void SendTraffic(SimReport& report) {
    for (int64_t hour = 0; hour < options_.hours; ++hour) {
      clock_.Set(first_ms_ + hour * kSliceMs);
      if (hour == hours_.add_workers) AddWorkers(hour, report);
      if (hour == hours_.add_api) AddApiNode(hour, report);
      if (hour == hours_.unsafe) TryUnsafeChange(hour, report);
      SendHour(hour, report);
    }
    driver_.CloseConnections();
  }

  void Check(SimReport& report) {
    const uint64_t undelivered = cluster_.StopApiNodes(kDrainTimeout);
    if (undelivered > 0) {
      report.failures.push_back(std::to_string(undelivered) +
                                " accepted events were not delivered to their workers when the "
                                "API nodes were drained");
    }
    const Result<uint16_t> port = cluster_.StartReader();
    if (!port.ok()) {
      report.failures.push_back("cannot start the reading API node: " + port.status().message());
      return;
    }
    SyncHttpClient client(*port, kReadTimeout);
    const std::vector<std::pair<std::string, std::string>> no_cache = {
        {"Cache-Control", "no-cache"}};

    std::set<int64_t> slices;
    for (int64_t s = 0; s < options_.hours; ++s) slices.insert(s);
    for (const auto& entry : oracle_.AllSlices()) slices.insert(entry.first);
    const auto all = client.Get("/analytics/allslices", no_cache);
    if (!all.ok() || all->result_int() != 200) {
      report.failures.push_back("GET /analytics/allslices failed: " + Describe(all));
    } else if (const auto parsed = ParseSliceBlocks(all->body()); !parsed.ok()) {
      report.failures.push_back("GET /analytics/allslices: " + parsed.status().message());
    } else {
      for (const auto& [slice, stats] : *parsed) {
        if (stats != SliceStats{} || oracle_.StatsFor(slice) != SliceStats{}) slices.insert(slice);
      }
    }

    std::map<int64_t, SliceStats> answers, perworker_sums;
    for (int64_t slice : slices) {
      SliceRow row;
      row.slice = slice;
      row.start_s = first_slice_s_ + slice * kSliceSeconds;
      row.oracle = oracle_.StatsFor(slice);
      row.slack = oracle_.SlackFor(slice);
      if (const auto* sets = SetsForSlice(cluster_.config(), slice)) row.workers = MembersOf(*sets);
      const std::string timestamp = std::to_string(row.start_s * 1000);

      const auto answer = client.Get("/analytics?timestamp=" + timestamp, no_cache);
      if (answer.ok() && answer->result_int() == 200) {
        if (const auto stats = ParseSliceStats(answer->body()); stats.ok()) {
          row.cluster = *stats;
          answers[slice] = *stats;
        } else {
          report.failures.push_back("slice " + std::to_string(slice) +
                                    ": GET /analytics: " + stats.status().message());
        }
      } else {
        report.failures.push_back("slice " + std::to_string(slice) +
                                  ": GET /analytics failed: " + Describe(answer));
      }

      const auto per = client.Get("/analytics/perworker?timestamp=" + timestamp, no_cache);
      if (per.ok() && per->result_int() == 200) {
        if (const auto sums = ParseSliceBlocks(per->body()); sums.ok()) {
          const auto it = sums->find(slice);
          row.perworker = it == sums->end() ? SliceStats{} : it->second;
          perworker_sums[slice] = *row.perworker;
        } else {
          report.failures.push_back("slice " + std::to_string(slice) +
                                    ": GET /analytics/perworker: " + sums.status().message());
        }
      } else {
        report.failures.push_back("slice " + std::to_string(slice) +
                                  ": GET /analytics/perworker failed: " + Describe(per));
      }
      report.slices.push_back(std::move(row));
    }

    // Mismatches first: they are what an operator looks for.
    std::vector<std::string> mismatches;
    for (const auto& m : oracle_.Compare(answers)) {
      if (m.actual) mismatches.push_back("GET /analytics " + m.Describe());
    }
    for (const auto& m : oracle_.Compare(perworker_sums)) {
      if (m.actual) mismatches.push_back("sum of /analytics/perworker " + m.Describe());
    }
    report.failures.insert(report.failures.begin(), mismatches.begin(), mismatches.end());
  }

  void AddTallyFailures(SimReport& report) const {
    report.rejected = total_.rejected + total_.unanswered + crash_unknown_;
    report.unknown = crash_unknown_;
    if (total_.rejected > 0) {
      report.failures.push_back(std::to_string(total_.rejected) +
                                " POSTs were not accepted (first: " + total_.problems.front() +
                                ")");
    }
    if (total_.unanswered > 0) {
      report.failures.push_back(std::to_string(total_.unanswered) +
                                " POSTs got no answer, so whether they count is unknown");
    }
  }

 private:
  template <typename T>
  static std::string Describe(const Result<T>& response) {
    if (!response.ok()) return response.status().message();
    std::string body = response->body().substr(0, response->body().find('\n'));
    return std::to_string(response->result_int()) + " " + body.substr(0, 200);
  }

  void SendHour(int64_t hour, SimReport& report) {
    const std::vector<SimRequest> requests = model_.GenerateHour(hour);
    const int chunks = options_.chunks_per_hour;
    const int64_t chunk_ms = kSliceMs / chunks;
    const int64_t hour_start = first_ms_ + hour * kSliceMs;
    // At the restart hour the worker is down for the first sixth of the hour.
    // With replica sets, at the wipe hour a worker is down as long and comes back
    // reseeded from its peer, its data dir lost.
    const bool wipe = options_.replicas > 1 && hour == hours_.wipe && hour != hours_.restart;
    const bool down_hour = hour == hours_.restart || wipe;
    const int restart_after_chunk = down_hour ? std::max(1, chunks / 6) : -1;
    // At the crash hour API node 0 crashes during the middle chunk.
    const int crash_chunk = hour == hours_.crash_api ? chunks / 2 : -1;
    std::string victim;
    if (down_hour) victim = StopWorker(hour, report);
    uint64_t gets_failed_while_down = 0;

    HourRow row;
    row.hour = hour;
    size_t begin = 0;
    for (int c = 0; c < chunks; ++c) {
      const int64_t chunk_end =
          c + 1 == chunks ? hour_start + kSliceMs : hour_start + (c + 1) * chunk_ms;
      size_t end = begin;
      while (end < requests.size() && requests[end].send_ms < chunk_end) ++end;
      // Every request of the chunk is sent at or before the clock's time.
      clock_.Set(chunk_end - 1);
      const std::span<const SimRequest> chunk(requests.data() + begin, end - begin);
      const SendTally tally = c == crash_chunk ? SendThroughCrash(hour, chunk, report)
                                               : driver_.Send(chunk, cluster_.ApiPorts());
      begin = end;
      row.posts += tally.posts;
      row.accepted += tally.accepted;
      row.gets += tally.gets;
      row.get_errors += tally.get_errors;
      if (c == crash_chunk) {
        // Cut off by the crash: the oracle holds them as unknown (its slack).
        crash_unknown_ += tally.unanswered;
        SendTally counted = tally;
        counted.unanswered = 0;
        total_ += counted;
      } else {
        total_ += tally;
      }
      if (c < restart_after_chunk && !victim.empty()) gets_failed_while_down += tally.get_errors;
      if (c + 1 == restart_after_chunk && !victim.empty()) {
        if (wipe) {
          ReseedWorker(hour, victim, report);
        } else {
          RestartWorker(hour, victim, report);
        }
      }
      if (options_.progress) {
        options_.progress(static_cast<double>(hour) + static_cast<double>(c + 1) / chunks,
                          options_.hours);
      }
    }
    // A set with one member up answers every read (docs/design.md §14).
    if (options_.replicas > 1 && gets_failed_while_down > 0) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) + ": " +
                                std::to_string(gets_failed_while_down) +
                                " GETs failed while worker " + victim +
                                " was down, though its replica set had a member up");
    }
    report.hours.push_back(row);
    if (!victim.empty() || crash_chunk >= 0) CheckOracleAfterFault(hour, report);
  }

  // The oracle check after a fault's hour, the cluster running on (sim/fault_check.h).
  void CheckOracleAfterFault(int64_t hour, SimReport& report) {
    const std::vector<std::string> problems =
        CheckAfterFault(cluster_, oracle_, first_slice_s_, kSliceSeconds, kDrainTimeout);
    for (const std::string& problem : problems) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) + ": after the fault, " + problem);
    }
    if (problems.empty()) {
      report.changes.push_back(HourLabel(hour, first_slice_s_) +
                               ": after the fault, every member of every replica set held the "
                               "oracle's numbers, and so did every API node's reads");
    }
  }

  // Sends `chunk` while API node 0 crashes once half of the chunk's POSTs to it (at
  // most) were answered 202, and restarts on its spool; the clients go on throughout.
  SendTally SendThroughCrash(int64_t hour, std::span<const SimRequest> chunk, SimReport& report) {
    const std::vector<uint16_t> ports = cluster_.ApiPorts();
    size_t posts_to_node0 = 0;
    for (const SimRequest& r : chunk) {
      posts_to_node0 += r.kind == SimRequest::Kind::kPost && r.route % ports.size() == 0;
    }
    const uint64_t trigger = driver_.accepted() + posts_to_node0 / 2;
    SendTally tally;
    std::thread sender([&] { tally = driver_.Send(chunk, ports); });
    // Bounded: the chunk's traffic ends on its own, and the wait with it.
    const auto give_up = std::chrono::steady_clock::now() + kDrainTimeout;
    while (driver_.accepted() < trigger && std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const Result<uint64_t> spooled = cluster_.CrashApiNode("0");
    driver_.Reconnect();
    sender.join();
    if (!spooled.ok()) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) +
                                ": crashing API node 0 failed: " + spooled.status().message());
      return tally;
    }
    report.changes.push_back(
        HourLabel(hour, first_slice_s_) +
        ": API node 0 crashed (no drain, its memory lost) with traffic "
        "going on, and restarted on its spool: " +
        std::to_string(*spooled) +
        " events past its cursor files, resent unless a worker's mark has them; " +
        std::to_string(tally.unanswered) + " POSTs in flight got no answer (outcome unknown)");
    return tally;
  }

  void AddWorkers(int64_t hour, SimReport& report) {
    if (options_.added_workers == 0) return;
    const auto added = cluster_.AddWorkers(options_.added_workers, hour + 1);
    if (!added.ok()) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) +
                                ": adding workers failed: " + added.status().message());
      return;
    }
    report.changes.push_back(HourLabel(hour, first_slice_s_) + ": workers " + Join(*added) +
                             " added for slices from " + std::to_string(hour + 1) +
                             " on (safe change applied by every API node)");
  }

  void AddApiNode(int64_t hour, SimReport& report) {
    const auto id = cluster_.AddApiNode();
    if (!id.ok()) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) +
                                ": adding an API node failed: " + id.status().message());
      return;
    }
    report.changes.push_back(HourLabel(hour, first_slice_s_) + ": API node " + *id +
                             " joined; POSTs are spread over " +
                             std::to_string(cluster_.ApiPorts().size()) + " API nodes");
  }

  std::string StopWorker(int64_t hour, SimReport& report) {
    const auto* sets = SetsForSlice(cluster_.config(), hour);
    const std::vector<std::string> nodes = sets ? MembersOf(*sets) : std::vector<std::string>{};
    const std::string victim = nodes.size() > 1 ? nodes[1] : !nodes.empty() ? nodes[0] : "";
    if (victim.empty()) return victim;
    if (const Status s = cluster_.StopWorker(victim); !s.ok()) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) + ": stopping worker " + victim +
                                " failed: " + s.message());
      return "";
    }
    return victim;
  }

  void RestartWorker(int64_t hour, const std::string& victim, SimReport& report) {
    if (const Status s = cluster_.RestartWorker(victim); !s.ok()) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) + ": restarting worker " + victim +
                                " failed: " + s.message());
      return;
    }
    report.changes.push_back(HourLabel(hour, first_slice_s_) + ": worker " + victim +
                             " stopped and restarted on its data dir while traffic went on");
  }

  void ReseedWorker(int64_t hour, const std::string& victim, SimReport& report) {
    const std::string peer = PeerOf(hour, victim);
    const Result<uint64_t> copied = cluster_.WipeAndReseedWorker(victim, peer);
    if (!copied.ok()) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) + ": reseeding worker " + victim +
                                " from " + peer + " failed: " + copied.status().message());
      return;
    }
    report.changes.push_back(HourLabel(hour, first_slice_s_) + ": worker " + victim +
                             " lost its data dir while traffic went on and was reseeded from " +
                             peer + " (" + std::to_string(*copied) + " bytes)");
  }

  // Another member of `victim`'s replica set in the hour's routing.
  std::string PeerOf(int64_t hour, const std::string& victim) const {
    if (const auto* sets = SetsForSlice(cluster_.config(), hour)) {
      for (const ReplicaSet& set : *sets) {
        for (const std::string& member : set) {
          if (member != victim && HasMember({set}, victim)) return member;
        }
      }
    }
    return "";
  }

  // Re-routes the current slice (its node list reversed), or with a single worker
  // changes the slice length: either would move data that already exists.
  void TryUnsafeChange(int64_t hour, SimReport& report) {
    ClusterConfig next = cluster_.config();
    const auto* nodes = SetsForSlice(next, hour);
    std::string what;
    if (nodes && nodes->size() > 1) {
      std::vector<ReplicaSet> reversed(nodes->rbegin(), nodes->rend());
      what = "re-routing slice " + std::to_string(hour) + " to " + JoinNodes(&reversed);
      auto it = std::find_if(next.routing.begin(), next.routing.end(),
                             [hour](const RoutingEntry& e) { return e.slice >= hour; });
      if (it != next.routing.end() && it->slice == hour) {
        it->nodes = reversed;
      } else {
        next.routing.insert(it, RoutingEntry{hour, reversed});
        // The slice after keeps its old list, so only the current one changes.
        auto after = std::find_if(next.routing.begin(), next.routing.end(),
                                  [hour](const RoutingEntry& e) { return e.slice > hour; });
        if (after == next.routing.end() || after->slice != hour + 1) {
          next.routing.insert(after,
                              RoutingEntry{hour + 1, *SetsForSlice(cluster_.config(), hour + 1)});
        }
      }
    } else {
      what = "changing length-of-time-slice to " + std::to_string(2 * next.slice_length_s);
      next.slice_length_s *= 2;
    }
    const std::vector<Status> answers = cluster_.OfferConfig(next);
    size_t accepted = 0;
    std::string reason;
    for (const Status& s : answers) {
      if (s.ok()) {
        ++accepted;
      } else if (reason.empty()) {
        reason = s.message();
      }
    }
    if (accepted > 0) {
      report.failures.push_back(HourLabel(hour, first_slice_s_) + ": the unsafe change (" + what +
                                ") was accepted by " + std::to_string(accepted) + " of " +
                                std::to_string(answers.size()) + " API nodes");
      return;
    }
    report.changes.push_back(HourLabel(hour, first_slice_s_) + ": unsafe change (" + what +
                             ") refused by every API node: " + reason);
  }

  const SimulationOptions& options_;
  const ScenarioHours hours_;
  const int64_t first_slice_s_;
  const int64_t first_ms_;
  InProcessCluster& cluster_;
  FakeClock& clock_;
  Oracle oracle_;
  LoadDriver driver_;
  TrafficModel model_;
  SendTally total_;
  uint64_t crash_unknown_ = 0;  // POSTs the crash cut off (not in total_.unanswered)
};

}  // namespace

ScenarioHours ResolveScenarioHours(const SimulationOptions& options) {
  auto scaled = [&](const std::optional<int64_t>& given, int64_t default_hour) {
    return given ? *given : default_hour * options.hours / kDefaultHours;
  };
  return ScenarioHours{scaled(options.add_workers_at, 12), scaled(options.add_api_at, 20),
                       scaled(options.restart_at, 30),     scaled(options.unsafe_at, 40),
                       scaled(options.crash_api_at, 25),   scaled(options.wipe_at, 35)};
}

std::vector<std::string> ChangesOutsideRun(const SimulationOptions& options) {
  const ScenarioHours hours = ResolveScenarioHours(options);
  std::vector<std::string> skipped;
  if (options.added_workers > 0 && hours.add_workers + 1 >= options.hours) {
    skipped.push_back("workers join at hour " + std::to_string(hours.add_workers) +
                      " (for slices from " + std::to_string(hours.add_workers + 1) + ")");
  }
  if (hours.add_api >= options.hours) {
    skipped.push_back("an API node joins at hour " + std::to_string(hours.add_api));
  }
  if (hours.restart >= options.hours) {
    skipped.push_back("a worker restarts at hour " + std::to_string(hours.restart));
  }
  if (hours.unsafe >= options.hours) {
    skipped.push_back("an unsafe change is tried at hour " + std::to_string(hours.unsafe));
  }
  if (hours.crash_api >= options.hours) {
    skipped.push_back("an API node crashes at hour " + std::to_string(hours.crash_api));
  }
  if (options.replicas > 1 && hours.wipe >= options.hours) {
    skipped.push_back("a worker loses its disk at hour " + std::to_string(hours.wipe));
  } else if (options.replicas > 1 && hours.wipe == hours.restart) {
    skipped.push_back("a worker loses its disk at hour " + std::to_string(hours.wipe) +
                      ", the restart hour (set --wipe-at to another hour)");
  }
  return skipped;
}

Result<SimReport> RunSimulation(const SimulationOptions& options) {
  if (Status s = ValidateOptions(options); !s.ok()) return s;
  const Result<int64_t> first_slice_s = ParseUtcTime(options.first_slice);
  if (!first_slice_s.ok()) return first_slice_s.status().WithContext("--first-slice");
  const Result<std::string> data_root = MakeTempDir();
  if (!data_root.ok()) return data_root.status();
  const auto wall_start = std::chrono::steady_clock::now();

  SimReport report;
  report.seed = options.seed;
  report.simulated_hours = options.hours;
  report.api_nodes = options.api_nodes;
  report.workers = options.workers;
  Status failed;
  {
    FakeClock clock(*first_slice_s * 1000);
    InProcessClusterOptions cluster_options;
    cluster_options.api_nodes = options.api_nodes;
    cluster_options.workers = options.workers;
    cluster_options.replicas = options.replicas;
    cluster_options.first_slice_s = *first_slice_s;
    cluster_options.slice_length_s = kSliceSeconds;
    cluster_options.data_root = *data_root;
    auto cluster = InProcessCluster::Start(cluster_options, clock);
    if (!cluster.ok()) {
      failed = cluster.status();
    } else {
      Run run(options, *first_slice_s, **cluster, clock);
      run.SendTraffic(report);
      run.Check(report);
      run.AddTallyFailures(report);
    }
  }
  report.wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  if (options.keep_data) {
    report.data_dir = *data_root;
  } else {
    std::error_code ec;
    std::filesystem::remove_all(*data_root, ec);
  }
  if (!failed.ok()) return failed;
  return report;
}

}  // namespace rt
