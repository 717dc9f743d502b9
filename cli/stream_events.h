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
// a click with probability kMixedClickShare. Only std::mt19937_64's output, which
// the standard fixes, is used (no <random> distributions, whose algorithms vary by
// library), so a seed gives the same events with every compiler. Not thread-safe.
class StreamEvents {
 public:
  // The share of clicks in a stream that names neither --click nor --impression,
  // roughly what an ad server sees between impressions and clicks on them in a demo.
  static constexpr double kMixedClickShare = 0.3;

  // REQUIRES: users >= 1.
  StreamEvents(uint64_t seed, uint64_t users, std::string fixed_user, bool click, bool impression);

  StreamEvent Next();

 private:
  uint64_t PickUser();
  bool PickClick();

  std::mt19937_64 random_;
  uint64_t users_;
  std::string fixed_user_;
  bool click_;
  bool impression_;
};

}  // namespace rt::cli
