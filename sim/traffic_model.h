#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "server/model/action.h"

namespace rt {

// The shape of the simulated traffic (docs/design.md §10 "Simulator").
struct TrafficOptions {
  uint64_t seed = 1;
  uint64_t users = 50'000;            // size of the user pool
  uint64_t events_per_hour = 20'000;  // POSTs per simulated hour
  // Users are drawn with weight 1/(rank+1)^s: a few heavy hitters, a long tail.
  double zipf_exponent = 1.0;
  double historic_share = 0.05;  // POSTs (and GETs) for one of the previous hours
  double click_share = 0.30;
  double get_share = 0.10;  // GETs among all requests
  int64_t history_hours = 24;
};

// One request of the simulated traffic.
struct SimRequest {
  enum class Kind : uint8_t { kPost, kGet };

  Kind kind = Kind::kPost;
  Action action = Action::kClick;  // kPost only
  bool historic = false;           // timestamp in an hour before the current one
  uint32_t user = 0;               // index into the pool (kPost only); see UserName
  uint32_t route = 0;              // random; the API node is route % (nodes running)
  int64_t send_ms = 0;             // simulated time at which it is sent (epoch ms)
  int64_t timestamp_ms = 0;        // the event's or the query's timestamp (epoch ms)
};

// Draws indexes 0..n-1 with probability proportional to 1/(i+1)^exponent, by binary
// search in a precomputed table of cumulative weights. Written here rather than
// taken from <random> so that a seed gives the same traffic on every standard
// library. Immutable after construction: thread-safe.
class ZipfSampler {
 public:
  // REQUIRES: n >= 1, exponent >= 0.
  ZipfSampler(uint64_t n, double exponent);
  // `unit` is uniform in [0, 1).
  uint32_t Sample(double unit) const;
  uint64_t size() const { return cumulative_.size(); }

 private:
  std::vector<double> cumulative_;  // normalized, last element 1
};

// Deterministic synthetic traffic: hour h is the hour starting at start_ms + h·3600 s
// (the simulation's first slice is hour 0). Per hour:
//   * exactly events_per_hour POSTs; ~historic_share of them with a timestamp in
//     one of the previous history_hours hours (never before start_ms; in hour 0
//     every event is current), the others in the current hour at or a little
//     before their send time;
//   * ~click_share clicks, users from the Zipf pool;
//   * GETs interleaved, ~get_share of all requests, (1 - historic_share) of them
//     for the current hour;
//   * send times spread evenly over the hour, in order.
// An hour's requests depend only on the options and the hour (each hour has its
// own generator seeded from (seed, hour)), so a run is reproducible whatever the
// order in which hours are generated. Immutable after construction: thread-safe.
class TrafficModel {
 public:
  static constexpr int64_t kHourMs = 3'600'000;

  // REQUIRES: options.users in 1..2^32, events_per_hour >= 1.
  TrafficModel(TrafficOptions options, int64_t start_ms);

  std::vector<SimRequest> GenerateHour(int64_t hour) const;

  // The username of pool index `user`: "user-123"; every 97th one has a space and
  // a non-ASCII letter ("zoë 194") so that percent-encoding is exercised.
  static std::string UserName(uint32_t user);

  const TrafficOptions& options() const { return options_; }
  int64_t start_ms() const { return start_ms_; }

 private:
  TrafficOptions options_;
  int64_t start_ms_;
  ZipfSampler users_;
};

}  // namespace rt
