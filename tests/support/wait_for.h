#pragma once

#include <chrono>
#include <functional>

namespace rt::testing {

// The tests' one way to wait for something another thread or process does: polls
// `done` every `poll` until it holds or `timeout` passes, and returns its last value
// (so a caller REQUIREs the result and a missed deadline fails the test instead of
// hanging it). Never a substitute for a condition the code under test can report:
// wait on observable state (a counter, /healthz, /metrics, a query's answer).
// Runs `done` on the calling thread only.
bool WaitFor(const std::function<bool()>& done,
             std::chrono::milliseconds timeout = std::chrono::seconds(10),
             std::chrono::milliseconds poll = std::chrono::milliseconds(2));

}  // namespace rt::testing
