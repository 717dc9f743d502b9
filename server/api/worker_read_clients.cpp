#include "server/api/worker_read_clients.h"

#include <algorithm>

#include "config/node_url.h"

namespace rt {

WorkerReadClients::WorkerReadClients(boost::asio::io_context& ioc, http::ClientOptions options,
                                     size_t pool_size)
    : ioc_(ioc), options_(options), pool_size_(std::max<size_t>(pool_size, 1)) {}

WorkerReadClients::~WorkerReadClients() {
  std::lock_guard lock(mutex_);
  for (auto& [id, entry] : entries_) {
    for (auto& connection : entry.pool) connection->Close();
  }
}

Result<std::shared_ptr<http::ClientConnection>> WorkerReadClients::For(const std::string& id,
                                                                       const std::string& url) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.url != url) {
    Result<NodeUrl> parsed = ParseNodeUrl(url);
    if (!parsed.ok()) return parsed.status().WithContext("worker " + id);
    Entry fresh{url, parsed->host, parsed->port, {}};
    fresh.pool.push_back(http::ClientConnection::Create(ioc_, fresh.host, fresh.port, options_));
    if (it != entries_.end()) {
      for (auto& connection : it->second.pool) connection->Close();
      it->second = std::move(fresh);
    } else {
      it = entries_.emplace(id, std::move(fresh)).first;
    }
  }
  Entry& entry = it->second;
  // The first idle connection keeps reads on as few sockets as the load needs; the
  // count is read without the connection's strand, so two concurrent reads may pick
  // the same one: that costs a little queueing, never correctness.
  auto least = std::min_element(
      entry.pool.begin(), entry.pool.end(),
      [](const auto& a, const auto& b) { return a->outstanding() < b->outstanding(); });
  if ((*least)->outstanding() > 0 && entry.pool.size() < pool_size_) {
    entry.pool.push_back(http::ClientConnection::Create(ioc_, entry.host, entry.port, options_));
    return entry.pool.back();
  }
  return *least;
}

}  // namespace rt
