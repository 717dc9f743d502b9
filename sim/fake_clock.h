#pragma once

#include <atomic>
#include <cstdint>

#include "base/clock.h"

namespace rt {

// A Clock whose time only moves when told to: the simulator sets it to the
// simulated "now" of the traffic it is about to send, so days of event time pass in
// seconds of wall time. Thread-safe: readers (every node's I/O thread) and the one
// controlling thread may use it concurrently; a reader sees either the old or the
// new time, never a torn value.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 0) : now_ms_(now_ms) {}

  int64_t NowMillis() const override { return now_ms_.load(std::memory_order_acquire); }

  void Set(int64_t now_ms) { now_ms_.store(now_ms, std::memory_order_release); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms, std::memory_order_acq_rel); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace rt
