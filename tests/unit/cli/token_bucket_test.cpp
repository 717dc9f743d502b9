#include "cli/token_bucket.h"

#include <catch2/catch.hpp>

namespace rt::cli {
namespace {

using std::chrono::milliseconds;
using Clock = TokenBucket::Clock;

TEST_CASE("a full bucket grants its burst at once, then one token per 1/rate",
          "[cli][token_bucket]") {
  const Clock::time_point start{};
  TokenBucket bucket(/*rate=*/100, /*burst=*/3, start);
  for (int i = 0; i < 3; ++i) CHECK(bucket.Take(start) == Clock::duration::zero());
  CHECK(bucket.Take(start) == milliseconds(10));
  CHECK(bucket.Take(start) == milliseconds(20));
}

TEST_CASE("tokens refill with time but never beyond the burst", "[cli][token_bucket]") {
  const Clock::time_point start{};
  TokenBucket bucket(/*rate=*/10, /*burst=*/2, start);
  CHECK(bucket.Take(start) == Clock::duration::zero());
  CHECK(bucket.Take(start) == Clock::duration::zero());
  CHECK(bucket.Take(start + milliseconds(50)) == milliseconds(50));
  // An hour idle refills only the burst.
  const Clock::time_point later = start + std::chrono::hours(1);
  CHECK(bucket.Take(later) == Clock::duration::zero());
  CHECK(bucket.Take(later) == Clock::duration::zero());
  CHECK(bucket.Take(later) == milliseconds(100));
}

TEST_CASE("a caller that sleeps exactly as told achieves the rate", "[cli][token_bucket]") {
  Clock::time_point now{};
  TokenBucket bucket(/*rate=*/1000, /*burst=*/1, now);
  constexpr int kEvents = 10000;
  const Clock::time_point start = now;
  for (int i = 0; i < kEvents; ++i) now += bucket.Take(now);
  // The first token is free, the remaining 9999 arrive 1 ms apart.
  const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(now - start);
  CHECK(elapsed.count() >= 9998900);
  CHECK(elapsed.count() <= 9999100);
}

TEST_CASE("an oversleeping caller is not slowed twice", "[cli][token_bucket]") {
  const Clock::time_point start{};
  TokenBucket bucket(/*rate=*/100, /*burst=*/5, start);
  for (int i = 0; i < 5; ++i) REQUIRE(bucket.Take(start) == Clock::duration::zero());
  // Told to wait 10 ms, the caller wakes after 30 ms: two more tokens are due at once.
  CHECK(bucket.Take(start) == milliseconds(10));
  const Clock::time_point woke = start + milliseconds(30);
  CHECK(bucket.Take(woke) == Clock::duration::zero());
  CHECK(bucket.Take(woke) == Clock::duration::zero());
  CHECK(bucket.Take(woke) == milliseconds(10));
}

TEST_CASE("the default burst is 50 ms of events, at least one", "[cli][token_bucket]") {
  CHECK(DefaultBurst(1) == 1.0);
  CHECK(DefaultBurst(1000) == 50.0);
}

}  // namespace
}  // namespace rt::cli
