#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/api/enqueue_result.h"
#include "server/api/forwarder.h"
#include "server/api/forwarder_metrics.h"
#include "server/api/spool/replica_spool.h"
#include "server/model/batch_codec.h"

namespace rt {

// The write side of one replica set of more than one worker (docs/design.md §14
// "Replica sets", Write path): an accepted event is appended once to the set's spool and each
// member's Forwarder (a replica member over its view of the spool) sends it on the
// set's one stream, so every member gets the same events under the same seqs.
//
// The set is writable while at least one member is delivering: a member that is
// down, refuses our key or is stale keeps its place in the spool (or is released by
// it, see ReplicaSpool) while the others take the events. A full spool first
// releases the laggards; if it is still full the POST gets 503 (counted on every
// member's rt_api_forward_queue_full_total and, on disk, rt_api_spool_full_total).
// Thread-safety: Enqueue and the accessors from any thread.
class ReplicaWriter {
 public:
  struct Member {
    std::shared_ptr<Forwarder> forwarder;
    ForwarderMetrics metrics;
  };

  ReplicaWriter(std::string key, std::shared_ptr<ReplicaSpool> spool, std::vector<Member> members,
                bool spool_on_disk, bool spool_fsync, std::function<void(const Status&)> on_fatal);

  ReplicaWriter(const ReplicaWriter&) = delete;
  ReplicaWriter& operator=(const ReplicaWriter&) = delete;

  // As Forwarder::Enqueue, for the whole set. The POST hot path: one encode into a
  // per-thread buffer, one Append, a wake-up per member.
  EnqueueOutcome Enqueue(const BatchEvent& event);
  // Why the set cannot be written now (no member delivering), nullopt if it can.
  std::optional<std::string> Undeliverable() const;
  // Why new traffic for the set should go elsewhere: no member both delivering and
  // not retrying, or more than `max_queued` events not yet acknowledged by every
  // member. nullopt when ready.
  std::optional<std::string> NotReady(uint64_t max_queued) const;
  // Stops accepting (Enqueue answers kQueueFull) and shuts the members down.
  void Shutdown();

  const std::string& key() const { return key_; }
  const std::vector<Member>& members() const { return members_; }
  // Events appended and not yet acknowledged by every member still held.
  uint64_t queued() const { return spool_->spool().events(); }

 private:
  const std::string key_;  // SetKey: "0+1"
  const std::shared_ptr<ReplicaSpool> spool_;
  const std::vector<Member> members_;
  const bool spool_on_disk_;
  const bool spool_fsync_;
  const std::function<void(const Status&)> on_fatal_;
  std::atomic<bool> shut_down_{false};
  std::atomic<bool> fatal_{false};

  void CountRefusal(Counter* ForwarderMetrics::*counter) const;
};

}  // namespace rt
