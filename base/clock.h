#pragma once

#include <chrono>
#include <cstdint>

namespace rt {

// Where every rt component reads the wall-clock time, so that the simulator can
// replace it with a fake clock and run days of traffic in seconds. Only the event
// time line (timestamps, slices, "now" for validation and safe-change checks) goes
// through it; timeouts and lingers use the steady clock of the I/O runtime.
// Thread-safe: implementations may be read from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowMillis() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace rt
