#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

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
  // Open connections at most; a connection accepted beyond it gets a minimal 503 and
  // is closed at once. 0: DefaultMaxConnections() (from the descriptor limit).
  std::size_t max_connections = 0;
};

// The connection cap for a process whose soft RLIMIT_NOFILE is `fd_limit`: the limit
// less a reserve of 128 + 10% for everything else that needs a descriptor (Kyoto's
// files, the API node's connections to workers, logs, the listener), so that the cap,
// not EMFILE, is what a flood of connections meets. At least 16.
std::size_t MaxConnectionsForFdLimit(std::uint64_t fd_limit);
// MaxConnectionsForFdLimit of this process's soft RLIMIT_NOFILE (unlimited or unknown:
// 1,048,576).
std::size_t DefaultMaxConnections();

}  // namespace rt::http
