#include "sim/sync_client.h"

#include <future>

namespace rt {

SyncHttpClient::SyncHttpClient(uint16_t port, std::chrono::milliseconds timeout)
    : work_(context_.get_executor()) {
  http::ClientOptions options;
  options.request_timeout = timeout;
  connection_ = http::ClientConnection::Create(context_, "127.0.0.1", port, options);
  thread_ = std::thread([this] { context_.run(); });
}

SyncHttpClient::~SyncHttpClient() {
  connection_->Close();
  work_.reset();
  thread_.join();  // returns once the close has run and no work is left
}

Result<http::Response> SyncHttpClient::Get(
    std::string target, const std::vector<std::pair<std::string, std::string>>& headers) {
  http::Request request{http::Verb::get, std::move(target), 11};
  for (const auto& [name, value] : headers) request.set(name, value);
  std::promise<Result<http::Response>> promise;
  auto future = promise.get_future();
  connection_->Send(std::move(request), [&promise](Status status, http::Response response) {
    if (status.ok()) {
      promise.set_value(std::move(response));
    } else {
      promise.set_value(std::move(status));
    }
  });
  // The connection's request timeout guarantees the callback.
  return future.get();
}

}  // namespace rt
