#pragma once

#include <chrono>
#include <cstddef>

namespace rt::http {

// Limits and timeouts of an HttpServer. The defaults are the production values;
// tests shorten the timeouts.
struct ServerOptions {
  // I/O threads; 0 means one per hardware thread.
  int threads = 0;
  // An idle keep-alive connection (no byte of a next request yet) is closed after this.
  std::chrono::milliseconds idle_timeout{60'000};
  // Once the first byte of a request arrived, its header must be complete within this.
  std::chrono::milliseconds header_timeout{10'000};
  // Deadline for reading a body and for writing a response.
  std::chrono::milliseconds io_timeout{30'000};
  // Requests with a larger header get 431.
  std::size_t header_limit = 8 * 1024;
  // How long Stop waits for in-flight requests before closing everything.
  std::chrono::milliseconds drain_timeout{5'000};
};

}  // namespace rt::http
