#pragma once

#include <chrono>

namespace rt::cli {

// Paces `rtctl send --rate R`: a bucket that refills at `rate` tokens per second
// up to `burst` tokens and starts full. Take() always grants the token but
// returns how long the caller must wait before using it; the bucket goes into
// debt meanwhile, so a caller whose sleep overshoots is not slowed twice and the
// long-run rate stays R. Time is passed in, so tests need no clock or sleeps.
// Not thread-safe.
class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: rate > 0, burst >= 1.
  TokenBucket(double rate, double burst, Clock::time_point now);

  // Takes one token at `now`; returns the wait until it is due (zero if at once).
  Clock::duration Take(Clock::time_point now);

  double tokens() const { return tokens_; }

 private:
  double rate_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

// The burst `rtctl send` uses for a rate: 50 ms worth of events, at least one,
// so that sleep granularity does not cap high rates.
double DefaultBurst(double rate);

}  // namespace rt::cli
