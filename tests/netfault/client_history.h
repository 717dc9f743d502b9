#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/cluster_config.h"
#include "server/model/slice_stats.h"
#include "server/model/user_keyer.h"
#include "tests/support/http_test_client.h"

namespace rt::netfault {

// One request as the client saw it: when it was sent and answered (microseconds
// since the history's start), and the answer. status 0: no answer at all (the
// connection failed or the client's own 10 s timeout passed).
struct Record {
  enum class Kind { kPost, kRead };
  Kind kind = Kind::kPost;
  int api = 0;  // which API node
  int64_t sent_us = 0;
  int64_t done_us = 0;
  int status = 0;
  // POST: the event and the replica set its user routes to (its index in the
  // routing; with sets of one, the worker's id).
  bool click = false;
  int set = -1;
  // Read: with Cache-Control: no-cache; the numbers of a 200; the first line of another
  // answer.
  bool no_cache = false;
  SliceStats stats;
  std::string reason;
};

// A steady, bounded load on the cluster and the record of every request of it:
// one writer thread per API node posting an event every `post_interval` (each with a
// user of its own, so unique_users always equals clicks + impressions), and a read
// sent every `read_interval` whatever became of the earlier ones (each on its own
// thread and connection, so reads to a hung worker overlap as a client's retries
// would), in turn to each API node, alternately cached and no-cache. All of one slice
// (the cluster's timestamp). Bounded in count (`max_posts` per writer, at most
// kMaxReadsInFlight reads open: one more is counted as not sent) and in time (the
// caller's Stop). Thread-safe.
class ClientHistory {
 public:
  static constexpr int kMaxReadsInFlight = 64;

  struct Options {
    std::vector<uint16_t> api_ports;
    int64_t timestamp_ms = 0;
    int64_t slice = 0;
    std::string secret;  // to know which set each user routes to
    std::vector<ReplicaSet> sets;
    std::chrono::milliseconds post_interval{5};
    std::chrono::milliseconds read_interval{100};
    int max_posts = 20000;
  };

  explicit ClientHistory(Options options);
  ~ClientHistory();

  void Start();
  // Stops sending and waits for every answer (at most the client timeout).
  void Stop();
  // Microseconds since the history started, on the same clock as the records.
  int64_t NowUs() const;

  // One POST of user `user` through API node `api` on `connection` (opened or reopened
  // as needed), recorded like the load's.
  void PostOnce(int api, const std::string& user, bool click,
                std::optional<testing::HttpTestConnection>& connection);
  // One read through API node `api`; not recorded (the caller decides).
  Record ReadOnce(int api, bool no_cache);
  // REQUIRES: stopped.
  const std::vector<Record>& records() const { return records_; }
  // A copy of the records so far, at any time.
  std::vector<Record> Snapshot();
  int reads_not_sent() const { return reads_not_sent_.load(); }

 private:
  void Write(int api);
  void ScheduleReads();
  void Add(Record record);

  Options options_;
  UserKeyer keyer_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> stop_{false};
  std::atomic<int> reads_in_flight_{0};
  std::atomic<int> reads_not_sent_{0};
  std::vector<std::thread> writers_;
  std::thread scheduler_;
  std::mutex mutex_;
  std::vector<std::thread> readers_;  // guarded by mutex_
  std::vector<Record> records_;       // guarded by mutex_
};

}  // namespace rt::netfault
