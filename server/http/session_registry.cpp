#include "server/http/session_registry.h"

#include <memory>

#include "server/http/session.h"

namespace rt::http {

SessionRegistry::SessionRegistry(std::size_t shards) : shards_(shards) {}

void SessionRegistry::Add(Session* session, std::size_t shard) {
  std::lock_guard lock(mutex_);
  shards_[shard].insert(session);
  open_.fetch_add(1, std::memory_order_relaxed);
}

void SessionRegistry::Remove(Session* session, std::size_t shard) {
  std::lock_guard lock(mutex_);
  shards_[shard].erase(session);
  open_.fetch_sub(1, std::memory_order_relaxed);
  if (EmptyLocked()) empty_.notify_all();
}

void SessionRegistry::BeginStop() {
  stopping_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<Session>> alive;
  {
    std::lock_guard lock(mutex_);
    // A session whose destructor waits for this lock yields an empty pointer.
    for (const auto& shard : shards_) {
      for (Session* session : shard) {
        if (auto s = session->weak_from_this().lock()) alive.push_back(std::move(s));
      }
    }
  }
  // Outside the lock: dropping the last reference runs ~Session, which takes it.
  for (auto& session : alive) session->OnServerStop();
}

bool SessionRegistry::WaitEmpty(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  return empty_.wait_until(lock, deadline, [this] { return EmptyLocked(); });
}

bool SessionRegistry::EmptyLocked() const {
  for (const auto& shard : shards_) {
    if (!shard.empty()) return false;
  }
  return true;
}

void SessionRegistry::CloseExpired(std::size_t shard, std::chrono::steady_clock::time_point now) {
  std::vector<std::shared_ptr<Session>> expired;
  {
    std::lock_guard lock(mutex_);
    for (Session* session : shards_[shard]) {
      if (!session->ExpiredAt(now)) continue;
      if (auto s = session->weak_from_this().lock()) expired.push_back(std::move(s));
    }
  }
  for (auto& session : expired) session->OnDeadline();
}

}  // namespace rt::http
