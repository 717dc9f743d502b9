#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_set>
#include <vector>

namespace rt::http {

class Session;

// The open sessions of one server, by shard (the I/O thread a session runs on), so
// that Stop can close the idle ones and wait for the busy ones, and each I/O thread
// can close its own sessions whose deadline passed. Sessions register for their
// lifetime; nothing here is touched per request.
// Thread-safety: every member is thread-safe; CloseExpired(shard) must run on the
// shard's I/O thread (it reads the sessions' deadlines, which that thread writes).
class SessionRegistry {
 public:
  explicit SessionRegistry(std::size_t shards);

  void Add(Session* session, std::size_t shard);
  void Remove(Session* session, std::size_t shard);

  // Marks the server as stopping and asks every session to close once idle.
  void BeginStop();
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  // Waits until no session is open or `deadline` passes; true if none is open.
  bool WaitEmpty(std::chrono::steady_clock::time_point deadline);

  // Closes the sessions of `shard` whose deadline is before `now`.
  void CloseExpired(std::size_t shard, std::chrono::steady_clock::time_point now);

  // Sessions open now (registered and not yet destroyed).
  std::size_t open() const { return open_.load(std::memory_order_relaxed); }
  // Connections closed at accept because `open()` was at the server's cap.
  std::uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  void CountRefused() { refused_.fetch_add(1, std::memory_order_relaxed); }

 private:
  bool EmptyLocked() const;

  std::mutex mutex_;
  std::condition_variable empty_;
  std::vector<std::unordered_set<Session*>> shards_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> refused_{0};
};

}  // namespace rt::http
