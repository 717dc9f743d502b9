#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "server/api/spool/event_spool.h"

namespace rt {

// The EventSpool of a node without --spool-dir: the records live in this process's
// memory and die with it (the behaviour before the spool). Bounded by `max_events`
// records not yet acknowledged: Append answers kUnavailable beyond it (the POST's
// 503 "queue full"). Records are durable as soon as they are appended (there is
// nothing to sync), so WhenDurable calls back at once.
//
// Layout: the payloads back to back in one string, and one end offset per record;
// acknowledged records are dropped from the front lazily (an index), and the
// buffers compacted once the dropped part is at least half of them, so that every
// byte is moved O(1) times and, in steady state, Append allocates nothing.
// Append times are kept per run of records appended in the same coarse millisecond
// (CLOCK_REALTIME_COARSE), enough for oldest_unacknowledged_ms at no clock cost per
// event.
// Thread-safety: as EventSpool; one mutex guards everything.
class MemorySpool final : public EventSpool {
 public:
  explicit MemorySpool(uint64_t max_events);

  [[nodiscard]] Result<uint64_t> Append(std::string_view payload) override;
  void WhenDurable(uint64_t seq, std::function<void()> done) override;
  size_t Read(uint64_t from, size_t max_records, size_t max_bytes, std::string& body) override;
  std::optional<Gap> GapAt(uint64_t seq) const override;
  void Acknowledge(uint64_t seq) override;
  Stream stream() const override;
  [[nodiscard]] Status StartNewStream(Stream stream) override;
  uint64_t next_seq() const override;
  uint64_t acknowledged() const override;
  uint64_t events() const override;
  uint64_t bytes() const override;
  int64_t oldest_unacknowledged_ms() const override;

 private:
  struct TimeMark {
    uint64_t first_seq;  // the first record appended at `ms`
    int64_t ms;
  };
  void Compact();  // REQUIRES: mutex_ held

  const uint64_t max_events_;
  mutable std::mutex mutex_;
  std::string data_;          // payloads of records first_seq_.. (and dropped ones before head_)
  std::vector<size_t> ends_;  // ends_[i]: end offset in data_ of record first_seq_ - head_ + i
  size_t head_ = 0;           // ends_[head_] belongs to record first_seq_
  uint64_t first_seq_ = 1;    // the oldest record not acknowledged (== next_seq_ when none)
  uint64_t next_seq_ = 1;
  std::vector<TimeMark> times_;  // ascending first_seq; times_[time_head_] covers first_seq_
  size_t time_head_ = 0;
  Stream stream_;
};

}  // namespace rt
