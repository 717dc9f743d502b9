#pragma once

#include <cstdint>

#include "base/clock.h"

namespace rt::testing {

// A clock that always reads `now_ms`, for code under test that asks for "now".
class FixedClock final : public Clock {
 public:
  explicit FixedClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMillis() const override { return now_ms_; }

 private:
  int64_t now_ms_;
};

}  // namespace rt::testing
