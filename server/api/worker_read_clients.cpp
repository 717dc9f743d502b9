#include "server/api/worker_read_clients.h"

#include "config/node_url.h"

namespace rt {

WorkerReadClients::WorkerReadClients(boost::asio::io_context& ioc, http::ClientOptions options)
    : ioc_(ioc), options_(options) {}

WorkerReadClients::~WorkerReadClients() {
  std::lock_guard lock(mutex_);
  for (auto& [id, entry] : entries_) entry.connection->Close();
}

Result<std::shared_ptr<http::ClientConnection>> WorkerReadClients::For(const std::string& id,
                                                                       const std::string& url) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it != entries_.end() && it->second.url == url) return it->second.connection;

  Result<NodeUrl> parsed = ParseNodeUrl(url);
  if (!parsed.ok()) return parsed.status().WithContext("worker " + id);
  auto connection = http::ClientConnection::Create(ioc_, parsed->host, parsed->port, options_);
  if (it != entries_.end()) {
    it->second.connection->Close();
    it->second = Entry{url, connection};
  } else {
    entries_.emplace(id, Entry{url, connection});
  }
  return connection;
}

}  // namespace rt
