#pragma once

#include <boost/asio/io_context.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"
#include "server/http/client_connection.h"

namespace rt {

// The API node's read connections to the workers (GET /worker, /worker/slices),
// separate from the forwarders' write connections so that a GET never waits behind
// a large batch. One persistent connection per worker, made on first use from the
// worker's URL; a worker whose URL changed in a reloaded config gets a new one.
// Thread-safe.
class WorkerReadClients {
 public:
  WorkerReadClients(boost::asio::io_context& ioc, http::ClientOptions options);
  ~WorkerReadClients();

  // The connection for worker `id` at `url` (http://host:port/worker).
  [[nodiscard]] Result<std::shared_ptr<http::ClientConnection>> For(const std::string& id,
                                                                    const std::string& url);

 private:
  struct Entry {
    std::string url;
    std::shared_ptr<http::ClientConnection> connection;
  };

  boost::asio::io_context& ioc_;
  http::ClientOptions options_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> entries_;
};

}  // namespace rt
