#include "cli/token_bucket.h"

#include <algorithm>

namespace rt::cli {

TokenBucket::TokenBucket(double rate, double burst, Clock::time_point now)
    : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

TokenBucket::Clock::duration TokenBucket::Take(Clock::time_point now) {
  if (now > last_) {
    const double elapsed_s = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed_s * rate_);
    last_ = now;
  }
  tokens_ -= 1;
  if (tokens_ >= 0) return Clock::duration::zero();
  // Rounded, not truncated: a wait of 9.9999999 ms is 10 ms of float noise.
  return std::chrono::round<Clock::duration>(std::chrono::duration<double>(-tokens_ / rate_));
}

double DefaultBurst(double rate) { return std::max(1.0, rate * 0.05); }

}  // namespace rt::cli
