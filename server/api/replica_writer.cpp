#include "server/api/replica_writer.h"

#include <iostream>
#include <utility>

namespace rt {

ReplicaWriter::ReplicaWriter(std::string key, std::shared_ptr<ReplicaSpool> spool,
                             std::vector<Member> members, bool spool_on_disk, bool spool_fsync,
                             std::function<void(const Status&)> on_fatal)
    : key_(std::move(key)),
      spool_(std::move(spool)),
      members_(std::move(members)),
      spool_on_disk_(spool_on_disk),
      spool_fsync_(spool_fsync),
      on_fatal_(std::move(on_fatal)) {}

void ReplicaWriter::CountRefusal(Counter* ForwarderMetrics::*counter) const {
  for (const Member& member : members_) (member.metrics.*counter)->Inc();
}

EnqueueOutcome ReplicaWriter::Enqueue(const BatchEvent& event) {
  if (shut_down_.load(std::memory_order_relaxed)) {
    CountRefusal(&ForwarderMetrics::queue_full);
    return {EnqueueResult::kQueueFull};
  }
  bool deliverable = false;
  for (const Member& member : members_) {
    deliverable |= member.forwarder->delivery() == Forwarder::Delivery::kDelivering;
  }
  if (!deliverable || fatal_.load(std::memory_order_relaxed)) {
    CountRefusal(&ForwarderMetrics::undeliverable);
    return {EnqueueResult::kUndeliverable};
  }
  thread_local std::string line;  // reused: no allocation in steady state
  line.clear();
  AppendBatchLine(line, event);
  EventSpool& spool = spool_->spool();
  Result<uint64_t> seq = spool.Append(line);
  if (!seq.ok() && seq.status().code() == Status::Code::kUnavailable && spool_->ReleaseLaggards()) {
    seq = spool.Append(line);  // a MemorySpool has room at once; a FileSpool once reclaimed
  }
  if (!seq.ok()) {
    if (seq.status().code() == Status::Code::kUnavailable) {
      CountRefusal(&ForwarderMetrics::queue_full);
      if (spool_on_disk_) CountRefusal(&ForwarderMetrics::spool_full);
      return {EnqueueResult::kQueueFull};
    }
    if (!fatal_.exchange(true)) {
      const Status failed = seq.status().WithContext("spool of worker set " + key_);
      if (on_fatal_) {
        on_fatal_(failed);
      } else {
        std::cerr << "ERROR " << failed.message() << "\n";
      }
    }
    CountRefusal(&ForwarderMetrics::undeliverable);
    return {EnqueueResult::kUndeliverable};
  }
  for (const Member& member : members_) member.forwarder->Appended(*seq);
  return {EnqueueResult::kQueued, *seq, spool_fsync_ ? &spool : nullptr};
}

std::optional<std::string> ReplicaWriter::Undeliverable() const {
  std::optional<std::string> first;
  for (const Member& member : members_) {
    std::optional<std::string> why = member.forwarder->Undeliverable();
    if (!why) return std::nullopt;
    if (!first) first = std::move(why);
  }
  return "no member of worker set " + key_ + " can be served (" + first.value_or("") + ")";
}

std::optional<std::string> ReplicaWriter::NotReady(uint64_t max_queued) const {
  bool ready = false;
  for (const Member& member : members_) {
    ready |= !member.forwarder->Undeliverable() && !member.forwarder->retrying();
  }
  if (!ready) {
    return "no member of worker set " + key_ +
           " is reachable and delivering: their last batches failed or they cannot be served";
  }
  if (const uint64_t held = queued(); held > max_queued) {
    return "forwarding queue of worker set " + key_ + " holds " + std::to_string(held) +
           " events (threshold " + std::to_string(max_queued) + ")";
  }
  return std::nullopt;
}

void ReplicaWriter::Shutdown() {
  shut_down_.store(true, std::memory_order_relaxed);
  for (const Member& member : members_) member.forwarder->Shutdown();
}

}  // namespace rt
