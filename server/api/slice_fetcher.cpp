#include "server/api/slice_fetcher.h"

#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "config/routing.h"
#include "server/api/request_signing.h"

namespace rt {
namespace {

// Shared by the concurrent requests of one read; the last one to finish answers.
template <typename Value>
struct Gather {
  std::mutex mutex;
  Status first_error;
  Value value;
  std::atomic<size_t> remaining{0};
};

// False when `worker` is a member of one of the slice's replica sets but not its first:
// its numbers are the set's, already read from the first member.
bool ReadsSetOf(const ClusterConfig& config, int64_t slice, const std::string& worker) {
  const std::vector<ReplicaSet>* sets = SetsForSlice(config, slice);
  if (sets == nullptr) return true;
  for (const ReplicaSet& set : *sets) {
    for (size_t i = 1; i < set.size(); ++i) {
      if (set[i] == worker) return false;
    }
  }
  return true;
}

Status WorkerError(const std::string& id, const std::string& url, const std::string& why) {
  return Status::Unavailable("worker " + id + " (" + url + ") " + why);
}

}  // namespace

SliceFetcher::SliceFetcher(WorkerReadClients& clients, StatsCache& cache,
                           std::chrono::milliseconds timeout,
                           std::shared_ptr<const RequestSigner> signer)
    : clients_(clients), cache_(cache), timeout_(timeout), signer_(std::move(signer)) {}

http::Request SliceFetcher::MakeGet(std::string target) const {
  http::Request request{http::Verb::get, std::move(target), 11};
  if (signer_) SignRequest(*signer_, request, EmptyBodySha256());
  return request;
}

void SliceFetcher::FetchSlice(const ClusterConfig& config, int64_t slice,
                              const std::vector<ReplicaSet>& sets, bool use_cache, StatsDone done) {
  auto gather = std::make_shared<Gather<std::vector<WorkerStats>>>();
  gather->value.resize(sets.size());
  std::vector<size_t> misses;
  for (size_t i = 0; i < sets.size(); ++i) {
    const std::string& worker = sets[i].front();
    WorkerStats& slot = gather->value[i];
    slot.worker = worker;
    const auto url = config.worker_nodes.find(worker);
    slot.url = url == config.worker_nodes.end() ? "" : url->second;
    std::optional<SliceStats> cached;
    if (use_cache) cached = cache_.Get(worker, slice);
    if (cached) {
      slot.stats = *cached;
    } else {
      misses.push_back(i);
    }
  }
  if (misses.empty()) {
    done(Status::Ok(), std::move(gather->value));
    return;
  }

  gather->remaining = misses.size();
  auto finish_one = [gather, done](Status status) {
    if (!status.ok()) {
      std::lock_guard lock(gather->mutex);
      if (gather->first_error.ok()) gather->first_error = std::move(status);
    }
    if (gather->remaining.fetch_sub(1) != 1) return;
    if (!gather->first_error.ok()) {
      done(gather->first_error, {});
    } else {
      done(Status::Ok(), std::move(gather->value));
    }
  };

  const std::string target = "/worker?slice=" + std::to_string(slice);
  for (size_t i : misses) {
    const std::string id = gather->value[i].worker;
    const std::string url = gather->value[i].url;
    auto connection = clients_.For(id, url);
    if (!connection.ok()) {
      finish_one(WorkerError(id, url, "is not usable: " + connection.status().message()));
      continue;
    }
    (*connection)
        ->Send(
            MakeGet(target),
            [this, gather, finish_one, i, id, url, slice](Status status, http::Response response) {
              if (!status.ok()) {
                finish_one(WorkerError(id, url, "did not answer: " + status.message()));
                return;
              }
              if (response.result() != http::StatusCode::ok) {
                finish_one(WorkerError(id, url,
                                       "answered " + std::to_string(response.result_int()) + ": " +
                                           response.body().substr(0, 200)));
                return;
              }
              Result<SliceStats> stats = ParseSliceStats(response.body());
              if (!stats.ok()) {
                finish_one(WorkerError(id, url, "answered garbage: " + stats.status().message()));
                return;
              }
              cache_.Put(id, slice, *stats);
              gather->value[i].stats = *stats;  // each request owns its own slot
              finish_one(Status::Ok());
            },
            timeout_);
  }
}

void SliceFetcher::FetchAllSlices(const ClusterConfig& config, AllSlicesDone done) {
  auto gather = std::make_shared<Gather<std::map<int64_t, SliceStats>>>();
  gather->remaining = config.worker_nodes.size();
  if (config.worker_nodes.empty()) {
    done(Status::Ok(), {});
    return;
  }
  // Every member of a replica set holds the set's events: a slice counts once per set,
  // from the set's first member (as FetchSlice reads it), never once per member.
  auto routing = std::make_shared<const ClusterConfig>(config);
  auto finish_one = [gather, done, routing](Status status,
                                            const std::map<int64_t, SliceStats>* part,
                                            const std::string& worker) {
    {
      std::lock_guard lock(gather->mutex);
      if (!status.ok() && gather->first_error.ok()) gather->first_error = std::move(status);
      if (part != nullptr) {
        for (const auto& [slice, stats] : *part) {
          if (!ReadsSetOf(*routing, slice, worker)) continue;
          gather->value[slice] += stats;
        }
      }
    }
    if (gather->remaining.fetch_sub(1) != 1) return;
    if (!gather->first_error.ok()) {
      done(gather->first_error, {});
    } else {
      done(Status::Ok(), std::move(gather->value));
    }
  };

  for (const auto& [id, url] : config.worker_nodes) {
    auto connection = clients_.For(id, url);
    if (!connection.ok()) {
      finish_one(WorkerError(id, url, "is not usable: " + connection.status().message()), nullptr,
                 id);
      continue;
    }
    (*connection)
        ->Send(
            MakeGet("/worker/slices"),
            [finish_one, id = id, url = url](Status status, http::Response response) {
              if (!status.ok()) {
                finish_one(WorkerError(id, url, "did not answer: " + status.message()), nullptr,
                           id);
                return;
              }
              if (response.result() != http::StatusCode::ok) {
                finish_one(WorkerError(id, url,
                                       "answered " + std::to_string(response.result_int()) + ": " +
                                           response.body().substr(0, 200)),
                           nullptr, id);
                return;
              }
              Result<std::map<int64_t, SliceStats>> slices = ParseWorkerSlices(response.body());
              if (!slices.ok()) {
                finish_one(WorkerError(id, url, "answered garbage: " + slices.status().message()),
                           nullptr, id);
                return;
              }
              finish_one(Status::Ok(), &*slices, id);
            },
            timeout_);
  }
}

Result<std::map<int64_t, SliceStats>> ParseWorkerSlices(std::string_view json) {
  // nlohmann's get<> of a float out of range is undefined behaviour, and of -1 as
  // uint64_t a huge count: the numbers must have the integer type they stand for.
  const auto number = [](const nlohmann::json& item, const char* name, uint64_t max) {
    const nlohmann::json& value = item.at(name);
    if (!value.is_number_unsigned() || value.get<uint64_t>() > max) {
      throw nlohmann::json::type_error::create(
          302, std::string(name) + " is not an integer 0.." + std::to_string(max), &value);
    }
    return value.get<uint64_t>();
  };
  constexpr auto kMaxCount = std::numeric_limits<uint64_t>::max();
  constexpr auto kMaxSlice = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  try {
    const nlohmann::json doc = nlohmann::json::parse(json);
    const nlohmann::json& list = doc.is_array() ? doc : doc.at("slices");
    std::map<int64_t, SliceStats> out;
    for (const nlohmann::json& item : list) {
      SliceStats& stats = out[static_cast<int64_t>(number(item, "slice", kMaxSlice))];
      stats.unique_users = number(item, "unique_users", kMaxCount);
      stats.clicks = number(item, "clicks", kMaxCount);
      stats.impressions = number(item, "impressions", kMaxCount);
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad /worker/slices JSON: ") + e.what());
  }
}

}  // namespace rt
