#pragma once

#include <algorithm>
#include <chrono>

namespace rt {

// The delay before a batch is resent: exponential from `initial` up to `max` while
// failures repeat, back to `initial` after a success. Problems that a quick resend
// cannot fix (a refused key id, an answer that should not happen) wait `max` at once
// so that a broken peer is not hammered.
// Thread-safety: none (the forwarder's strand).
class RetryBackoff {
 public:
  RetryBackoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max) {}

  // The delay for a transient failure: initial, then doubling up to max.
  std::chrono::milliseconds Next() {
    current_ = current_.count() == 0 ? initial_ : std::min(current_ * 2, max_);
    return current_;
  }
  // The delay for a problem only an operator (or a fixed peer) can solve.
  std::chrono::milliseconds Slow() {
    current_ = max_;
    return current_;
  }
  void Reset() { current_ = std::chrono::milliseconds(0); }

 private:
  const std::chrono::milliseconds initial_;
  const std::chrono::milliseconds max_;
  std::chrono::milliseconds current_{0};
};

}  // namespace rt
