#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/status.h"
#include "server/http/client_connection.h"
#include "server/http/types.h"

namespace rt {

// A blocking keep-alive client for one node on 127.0.0.1, for the simulator's
// final reads: a ClientConnection on its own io_context and thread, waited on.
// Thread-safety: one caller at a time.
class SyncHttpClient {
 public:
  SyncHttpClient(uint16_t port, std::chrono::milliseconds timeout);
  ~SyncHttpClient();
  SyncHttpClient(const SyncHttpClient&) = delete;
  SyncHttpClient& operator=(const SyncHttpClient&) = delete;

  // The response whatever its status; an error only when none arrived.
  [[nodiscard]] Result<http::Response> Get(
      std::string target, const std::vector<std::pair<std::string, std::string>>& headers = {});

 private:
  boost::asio::io_context context_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::shared_ptr<http::ClientConnection> connection_;
  std::thread thread_;
};

}  // namespace rt
