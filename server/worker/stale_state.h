#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"

namespace rt {

// Whether this worker is a stale replica member (docs/design.md §14 "Replica sets",
// Stale members): an API node told it (POST /worker/stale) that its spool of the
// worker's set no longer holds events the worker lacks. Such a worker can never
// catch up by itself, so it stops answering reads and batches until an operator
// reseeds its data dir from a peer (rtctl reseed-worker).
//
// The state is durable: a file STALE in the data dir holding the one-line reason,
// written atomically (temp, fsync, rename, fsync of the dir) before the 200 that
// confirms it, so that a restart stays stale. A reseeded data dir has no STALE file.
//
// Thread-safety: stale() is one relaxed atomic load (the batch path checks it);
// Record and Line may be called from any thread.
class StaleState {
 public:
  static constexpr const char* kFileName = "STALE";

  // Reads <data_dir>/STALE if it exists. Fails only if it exists and cannot be read.
  [[nodiscard]] static Result<std::unique_ptr<StaleState>> Load(std::string data_dir,
                                                                std::string node_id);

  bool stale() const { return stale_.load(std::memory_order_relaxed); }
  // "worker N is stale: <reason>; reseed it (rtctl reseed-worker)"; nullopt while not
  // stale.
  std::optional<std::string> Line() const;
  // Makes the state durable with `reason` (one line). Idempotent: a worker already
  // stale keeps its first reason. An I/O error is returned and nothing changes.
  Status Record(const std::string& reason);

 private:
  StaleState(std::string data_dir, std::string node_id)
      : data_dir_(std::move(data_dir)), node_id_(std::move(node_id)) {}

  const std::string data_dir_;
  const std::string node_id_;
  std::atomic<bool> stale_{false};
  mutable std::mutex mutex_;
  std::string reason_;  // guarded by mutex_
};

}  // namespace rt
