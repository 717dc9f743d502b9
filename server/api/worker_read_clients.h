#pragma once

#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/http/client_connection.h"

namespace rt {

// The API node's read connections to the workers (GET /worker, /worker/slices),
// separate from the forwarders' write connections so that a GET never waits behind
// a large batch. Per worker a small pool of persistent connections, made from the
// worker's URL as reads need them: For() hands out the least loaded one (fewest
// requests outstanding) and opens another, up to `pool_size`, only when every open
// one is busy. So one slow read (a worker that hangs on it) does not hold up the
// reads behind it for its whole timeout; the connection's deadline, which starts at
// Send, bounds the wait of those that still queue (docs/design.md §4 "Read path and
// cache"). A worker whose URL changed in a reloaded config gets a new pool.
// Thread-safe.
class WorkerReadClients {
 public:
  static constexpr size_t kDefaultPoolSize = 4;

  // REQUIRES: pool_size >= 1.
  WorkerReadClients(boost::asio::io_context& ioc, http::ClientOptions options,
                    size_t pool_size = kDefaultPoolSize);
  ~WorkerReadClients();

  // The connection to use now for worker `id` at `url` (http://host:port/worker).
  [[nodiscard]] Result<std::shared_ptr<http::ClientConnection>> For(const std::string& id,
                                                                    const std::string& url);
  // The context the connections run on (for a read's own timers).
  boost::asio::io_context& io_context() { return ioc_; }

 private:
  struct Entry {
    std::string url;
    std::string host;
    uint16_t port = 0;
    std::vector<std::shared_ptr<http::ClientConnection>> pool;  // never empty
  };

  boost::asio::io_context& ioc_;
  http::ClientOptions options_;
  size_t pool_size_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace rt
