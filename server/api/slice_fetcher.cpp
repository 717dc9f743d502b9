#include "server/api/slice_fetcher.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <limits>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "config/replica_set.h"
#include "config/routing.h"
#include "server/api/member_choice.h"
#include "server/api/request_signing.h"
#include "server/model/worker_protocol.h"

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

Status WorkerError(const std::string& id, const std::string& url, const std::string& why) {
  return Status::Unavailable("worker " + id + " (" + url + ") " + why);
}

std::string UrlOf(const ClusterConfig& config, const std::string& worker) {
  const auto url = config.worker_nodes.find(worker);
  return url == config.worker_nodes.end() ? "" : url->second;
}

// The marks of a set's streams (ids ending "@tag") out of every stream's.
ReplicaMarks MarksOfSet(const std::vector<std::pair<std::string, uint64_t>>& all,
                        const std::string& suffix, bool sealed) {
  ReplicaMarks marks;
  marks.sealed = sealed;
  for (const auto& entry : all) {
    if (entry.first.ends_with(suffix)) marks.streams.push_back(entry);
  }
  return marks;
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

void SliceFetcher::Get(const std::string& id, const std::string& url, const std::string& target,
                       std::function<void(Status, http::Response)> done) {
  auto connection = clients_.For(id, url);
  if (!connection.ok()) {
    done(WorkerError(id, url, "is not usable: " + connection.status().message()), {});
    return;
  }
  (*connection)
      ->Send(
          MakeGet(target),
          [id, url, done = std::move(done)](Status status, http::Response response) {
            if (!status.ok()) {
              done(WorkerError(id, url, "did not answer: " + status.message()), {});
              return;
            }
            if (response.result() != http::StatusCode::ok) {
              done(WorkerError(id, url,
                               "answered " + std::to_string(response.result_int()) + ": " +
                                   response.body().substr(0, 200)),
                   {});
              return;
            }
            done(Status::Ok(), std::move(response));
          },
          timeout_);
}

void SliceFetcher::FetchMember(const std::string& id, const std::string& url,
                               const std::string& target, MemberDone done) {
  Get(id, url, target, [id, url, done = std::move(done)](Status status, http::Response response) {
    if (!status.ok()) return done(std::move(status), {}, {});
    Result<SliceStats> stats = ParseSliceStats(response.body());
    if (!stats.ok()) {
      return done(WorkerError(id, url, "answered garbage: " + stats.status().message()), {}, {});
    }
    ReplicaMarks marks;
    // A worker that sends no marks (an older version) is a member with marks 0.
    if (const auto header = response.find(kMarksHeader); header != response.end()) {
      Result<ReplicaMarks> parsed = ParseReplicaMarks(header->value());
      if (!parsed.ok()) {
        return done(WorkerError(id, url, "answered garbage: " + parsed.status().message()), {}, {});
      }
      marks = std::move(*parsed);
    }
    done(Status::Ok(), *stats, std::move(marks));
  });
}

void SliceFetcher::FetchSet(const ClusterConfig& config, int64_t slice, const ReplicaSet& set,
                            SetDone done) {
  // Shared by the members' requests and the grace timer; everything under `mutex`.
  // The first of "every member answered" and "the grace passed after a good answer"
  // answers the read; later answers still refresh the cache.
  struct Answers {
    Answers(boost::asio::io_context& ioc, std::string set_key, SetDone on_done)
        : grace(ioc), key(std::move(set_key)), done(std::move(on_done)) {}
    std::mutex mutex;
    boost::asio::steady_timer grace;
    bool grace_armed = false;
    bool answered = false;
    size_t remaining = 0;
    std::vector<std::optional<std::pair<SliceStats, ReplicaMarks>>> answers;
    std::vector<std::string> errors;
    const std::string key;
    SetDone done;

    // REQUIRES: `mutex` held and not `answered`. Marks the read answered and returns
    // the call of `done` (moved into it: there is only one) to make outside the lock.
    std::function<void()> Finish() {
      answered = true;
      grace.cancel();
      std::vector<MemberAnswer> present;
      std::vector<size_t> members;
      for (size_t i = 0; i < answers.size(); ++i) {
        if (!answers[i]) continue;
        present.push_back({&answers[i]->first, &answers[i]->second});
        members.push_back(i);
      }
      if (present.empty()) {
        std::string why = "replica set " + key + " has no member that answers:";
        for (const std::string& error : errors) {
          if (!error.empty()) why += " " + error + ";";
        }
        why.pop_back();
        return [done = std::move(done), why] { done(Status::Unavailable(why), 0, {}); };
      }
      const size_t chosen = ChooseMember(present);
      return [done = std::move(done), member = members[chosen], stats = *present[chosen].stats] {
        done(Status::Ok(), member, stats);
      };
    }
  };
  auto gather = std::make_shared<Answers>(clients_.io_context(), SetKey(set), std::move(done));
  gather->answers.resize(set.size());
  gather->errors.resize(set.size());
  gather->remaining = set.size();
  const std::string target = "/worker?slice=" + std::to_string(slice) + "&marks=" + SetTag(set);
  for (size_t m = 0; m < set.size(); ++m) {
    const std::string& id = set[m];
    FetchMember(id, UrlOf(config, id), target,
                [this, gather, slice, m, id](Status status, SliceStats stats, ReplicaMarks marks) {
                  if (status.ok()) cache_.Put(id, slice, stats, &marks);
                  std::function<void()> answer;
                  {
                    std::lock_guard lock(gather->mutex);
                    --gather->remaining;
                    if (gather->answered) return;
                    if (status.ok()) {
                      gather->answers[m].emplace(stats, std::move(marks));
                    } else {
                      gather->errors[m] = status.message();
                    }
                    if (gather->remaining == 0) {
                      answer = gather->Finish();
                    } else if (status.ok() && !gather->grace_armed) {
                      gather->grace_armed = true;
                      gather->grace.expires_after(kMemberGrace);
                      gather->grace.async_wait([gather](const boost::system::error_code& error) {
                        if (error) return;  // cancelled: every member answered first
                        std::function<void()> late;
                        {
                          std::lock_guard late_lock(gather->mutex);
                          if (gather->answered) return;
                          late = gather->Finish();
                        }
                        late();
                      });
                    }
                  }
                  if (answer) answer();
                });
  }
}

void SliceFetcher::FetchSlice(const ClusterConfig& config, int64_t slice,
                              const std::vector<ReplicaSet>& sets, bool use_cache, StatsDone done) {
  auto gather = std::make_shared<Gather<std::vector<WorkerStats>>>();
  gather->value.resize(sets.size());
  std::vector<size_t> misses;
  for (size_t i = 0; i < sets.size(); ++i) {
    std::optional<StatsCache::Part> cached;
    if (use_cache) cached = cache_.GetPart(slice, sets[i]);
    if (cached) {
      WorkerStats& slot = gather->value[i];
      slot.worker = sets[i][cached->member];
      slot.url = UrlOf(config, slot.worker);
      slot.stats = cached->stats;
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

  for (size_t i : misses) {
    const ReplicaSet& set = sets[i];
    if (set.size() > 1) {
      FetchSet(config, slice, set,
               [gather, finish_one, i, set, urls = config.worker_nodes](
                   Status status, size_t member, SliceStats stats) {
                 if (status.ok()) {
                   WorkerStats& slot = gather->value[i];  // each set owns its own slot
                   slot.worker = set[member];
                   const auto url = urls.find(slot.worker);
                   slot.url = url == urls.end() ? "" : url->second;
                   slot.stats = stats;
                 }
                 finish_one(std::move(status));
               });
      continue;
    }
    const std::string& id = set.front();
    WorkerStats& slot = gather->value[i];
    slot.worker = id;
    slot.url = UrlOf(config, id);
    FetchMember(
        id, slot.url, "/worker?slice=" + std::to_string(slice),
        [this, gather, finish_one, i, id, slice](Status status, SliceStats stats, ReplicaMarks) {
          if (status.ok()) {
            cache_.Put(id, slice, stats);
            gather->value[i].stats = stats;  // each request owns its own slot
          }
          finish_one(std::move(status));
        });
  }
}

void SliceFetcher::FetchAllSlices(const ClusterConfig& config, AllSlicesDone done) {
  if (config.worker_nodes.empty()) {
    done(Status::Ok(), {});
    return;
  }
  struct Answers {
    std::mutex mutex;
    std::map<std::string, WorkerSlices> answers;  // by worker id; the ones that answered
    std::map<std::string, std::string> errors;
    std::atomic<size_t> remaining{0};
  };
  auto gather = std::make_shared<Answers>();
  gather->remaining = config.worker_nodes.size();
  auto routing = std::make_shared<const ClusterConfig>(config);
  auto finish_one = [gather, done, routing](const std::string& worker, Status status,
                                            WorkerSlices* answer) {
    {
      std::lock_guard lock(gather->mutex);
      if (answer != nullptr) {
        gather->answers.emplace(worker, std::move(*answer));
      } else {
        gather->errors.emplace(worker, status.message());
      }
    }
    if (gather->remaining.fetch_sub(1) != 1) return;
    // The last answer: no other thread touches `gather` any more.
    Result<std::map<int64_t, SliceStats>> merged =
        MergeWorkerSlices(*routing, gather->answers, gather->errors);
    if (!merged.ok()) return done(merged.status(), {});
    done(Status::Ok(), std::move(*merged));
  };

  for (const auto& [id, url] : config.worker_nodes) {
    Get(id, url, "/worker/slices?marks=1",
        [finish_one, id = id, url = url](Status status, http::Response response) {
          if (!status.ok()) return finish_one(id, std::move(status), nullptr);
          Result<WorkerSlices> slices = ParseWorkerSlicesWithMarks(response.body());
          if (!slices.ok()) {
            return finish_one(
                id, WorkerError(id, url, "answered garbage: " + slices.status().message()),
                nullptr);
          }
          finish_one(id, Status::Ok(), &*slices);
        });
  }
}

Result<std::map<int64_t, SliceStats>> MergeWorkerSlices(
    const ClusterConfig& config, const std::map<std::string, WorkerSlices>& answers,
    const std::map<std::string, std::string>& errors) {
  // A set no member of which answered: its share of any slice of its entry is unknown.
  for (const RoutingEntry& entry : config.routing) {
    for (const ReplicaSet& set : entry.nodes) {
      const bool answered = std::any_of(set.begin(), set.end(), [&answers](const std::string& m) {
        return answers.find(m) != answers.end();
      });
      if (answered) continue;
      std::string why;
      for (const std::string& member : set) {
        const auto error = errors.find(member);
        why += (why.empty() ? "" : "; ") +
               (error == errors.end() ? "worker " + member + " is not configured" : error->second);
      }
      if (set.size() > 1)
        why = "replica set " + SetKey(set) + " has no member that answers: " + why;
      return Status::Unavailable(why);
    }
  }
  std::set<int64_t> slices;
  for (const auto& [worker, answer] : answers) {
    for (const auto& entry : answer.slices) slices.insert(entry.first);
  }
  std::map<int64_t, SliceStats> out;
  for (const int64_t slice : slices) {
    SliceStats& total = out[slice];
    const std::vector<ReplicaSet>* sets = SetsForSlice(config, slice);
    const auto stats_of = [slice](const WorkerSlices& answer) {
      const auto it = answer.slices.find(slice);
      return it == answer.slices.end() ? SliceStats{} : it->second;
    };
    // Workers outside the slice's routing count as they answer (as before sets).
    for (const auto& [worker, answer] : answers) {
      if (sets == nullptr || !HasMember(*sets, worker)) total += stats_of(answer);
    }
    if (sets == nullptr) continue;
    for (const ReplicaSet& set : *sets) {
      if (set.size() == 1) {
        total += stats_of(answers.at(set.front()));  // it answered: checked above
        continue;
      }
      std::vector<SliceStats> stats;
      std::vector<ReplicaMarks> marks;
      const std::string suffix = "@" + SetTag(set);
      for (const std::string& member : set) {
        const auto answer = answers.find(member);
        if (answer == answers.end()) continue;
        stats.push_back(stats_of(answer->second));
        marks.push_back(
            MarksOfSet(answer->second.marks, suffix, slice < answer->second.sealed_before));
      }
      std::vector<MemberAnswer> choice;
      for (size_t i = 0; i < stats.size(); ++i) choice.push_back({&stats[i], &marks[i]});
      total += stats[ChooseMember(choice)];  // not empty: checked above
    }
  }
  return out;
}

namespace {

// nlohmann's get<> of a float out of range is undefined behaviour, and of -1 as
// uint64_t a huge count: the numbers must have the integer type they stand for.
uint64_t UnsignedAt(const nlohmann::json& item, const char* name, uint64_t max) {
  const nlohmann::json& value = item.at(name);
  if (!value.is_number_unsigned() || value.get<uint64_t>() > max) {
    throw nlohmann::json::type_error::create(
        302, std::string(name) + " is not an integer 0.." + std::to_string(max), &value);
  }
  return value.get<uint64_t>();
}

constexpr auto kMaxCount = std::numeric_limits<uint64_t>::max();
constexpr auto kMaxSlice = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

std::map<int64_t, SliceStats> SlicesOf(const nlohmann::json& doc) {
  const nlohmann::json& list = doc.is_array() ? doc : doc.at("slices");
  std::map<int64_t, SliceStats> out;
  for (const nlohmann::json& item : list) {
    SliceStats& stats = out[static_cast<int64_t>(UnsignedAt(item, "slice", kMaxSlice))];
    stats.unique_users = UnsignedAt(item, "unique_users", kMaxCount);
    stats.clicks = UnsignedAt(item, "clicks", kMaxCount);
    stats.impressions = UnsignedAt(item, "impressions", kMaxCount);
  }
  return out;
}

}  // namespace

Result<std::map<int64_t, SliceStats>> ParseWorkerSlices(std::string_view json) {
  try {
    return SlicesOf(nlohmann::json::parse(json));
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad /worker/slices JSON: ") + e.what());
  }
}

// A worker that sends no marks (an older version) has marks 0 and nothing sealed.
Result<WorkerSlices> ParseWorkerSlicesWithMarks(std::string_view json) {
  try {
    const nlohmann::json doc = nlohmann::json::parse(json);
    WorkerSlices out;
    out.slices = SlicesOf(doc);
    if (doc.is_object() && doc.contains("sealed_before")) {
      out.sealed_before = static_cast<int64_t>(UnsignedAt(doc, "sealed_before", kMaxSlice));
    }
    if (doc.is_object() && doc.contains("marks")) {
      for (const auto& [stream, mark] : doc.at("marks").items()) {
        if (!mark.is_number_unsigned()) {
          return Status::InvalidArgument("bad /worker/slices JSON: the mark of \"" + stream +
                                         "\" is not an unsigned integer");
        }
        out.marks.emplace_back(stream, mark.get<uint64_t>());
      }
      std::sort(out.marks.begin(), out.marks.end());
    }
    return out;
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("bad /worker/slices JSON: ") + e.what());
  }
}

}  // namespace rt
