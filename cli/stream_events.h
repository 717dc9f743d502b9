#pragma once

#include <cstdint>
#include <random>
#include <string>

namespace rt::cli {

// One event of a `rtctl send --count` stream.
struct StreamEvent {
  std::string user;
  bool click = false;
};

// The seeded sequence of users and event kinds that `rtctl send --count N --seed S`
// sends, as a pure generator: the same seed, pool and flags give the same events,
// so a test (or an operator) can compute the exact totals a stream produces.
// Users are drawn uniformly from user0..user<users-1> unless `fixed_user` is set;
// an event is a click with `click`, an impression with `impression`, and otherwise
// a click with probability kMixedClickShare. Not thread-safe.
class StreamEvents {
 public:
  // The share of clicks in a stream that names neither --click nor --impression,
  // roughly what an ad server sees between impressions and clicks on them in a demo.
  static constexpr double kMixedClickShare = 0.3;

  // REQUIRES: users >= 1.
  StreamEvents(uint64_t seed, uint64_t users, std::string fixed_user, bool click, bool impression);

  StreamEvent Next();

 private:
  std::mt19937_64 random_;
  std::uniform_int_distribution<uint64_t> pick_user_;
  std::bernoulli_distribution pick_click_;
  std::string fixed_user_;
  bool click_;
  bool impression_;
};

}  // namespace rt::cli
