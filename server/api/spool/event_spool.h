#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt {

// Where one worker's accepted events wait, on an API node, until that worker
// acknowledges them (docs/design.md §13 "Spool"). A Forwarder appends on the POST
// path and reads batches from it on its strand; nothing else holds the events.
//
// Records. One per event; the payload is the event's batch line (AppendBatchLine),
// so a batch body is the concatenation of consecutive payloads. Record seqs are the
// spool's own numbering: contiguous from 1 for the life of the spool (64-bit, never
// reused), except across a *gap* (records lost to corruption, found by FileSpool at
// start-up).
//
// Streams. The worker dedups by (stream id, wire seq). The wire seq of a record is
// `record seq - stream().base`: a new stream (StartNewStream) continues the same
// records under a fresh id, from wire seq 1, e.g. after a gap or after the worker
// lost acknowledged events. A spool that survives a restart (FileSpool) keeps its
// stream, so the restarted node resumes the same stream where the worker's mark is.
//
// Two implementations: MemorySpool (no --spool-dir: a bounded in-memory sequence,
// lost with the process, the behaviour before the spool) and FileSpool (append-only
// segment files under --spool-dir: survives kill -9, and with --spool-fsync a power
// cut).
//
// Thread-safety: Append, WhenDurable and the accessors from any thread; Read,
// GapAt, Acknowledge and StartNewStream from one reader at a time (the Forwarder's
// strand).
class EventSpool {
 public:
  struct Stream {
    std::string id;
    uint64_t base = 0;  // wire seq = record seq - base
  };
  struct Gap {  // record seqs first..last (inclusive) are lost
    uint64_t first = 0;
    uint64_t last = 0;
  };

  virtual ~EventSpool() = default;

  // Appends one record and returns its seq. kUnavailable when the spool is full
  // (its byte or event bound, or no space left on the device): the caller answers
  // 503 with Retry-After and nothing was appended. Any other error means the spool
  // can no longer keep its promise; the caller treats it as fatal. The POST hot path:
  // no allocation and no system call in the common case.
  [[nodiscard]] virtual Result<uint64_t> Append(std::string_view payload) = 0;

  // Calls `done` exactly once, when record `seq` (returned by Append) is durable: at
  // once on the calling thread unless the spool fsyncs, else on the spool's sync
  // thread after the group fsync that covers it. `done` must not block.
  virtual void WhenDurable(uint64_t seq, std::function<void()> done) = 0;
  // Runs every WhenDurable callback still waiting, on the calling thread, after the
  // sync that covers it (or drops them, not run, when the spool was given up as in
  // a crash), and returns once none is running elsewhere. The owner calls it at
  // shutdown while what the callbacks refer to (the handler, the server) is alive;
  // a callback run later, by the disk thread or the destructor, would touch freed
  // memory. REQUIRES: no Append or WhenDurable concurrently or after.
  virtual void SettleWaiting() {}

  // Appends to `body` the payloads of up to `max_records` consecutive records from
  // record seq `from` (and at most `max_bytes` of payload, but at least one
  // record), stopping before a gap and after the last appended record. Returns how
  // many it read; 0 when `from` is at the end or at a gap.
  virtual size_t Read(uint64_t from, size_t max_records, size_t max_bytes, std::string& body) = 0;
  // The gap that starts at `seq`, if record `seq` is lost; nullopt otherwise.
  virtual std::optional<Gap> GapAt(uint64_t seq) const = 0;

  // The worker has every record <= seq: their space may be reclaimed. Cheap and
  // non-blocking (a FileSpool writes its cursor file and deletes whole segments on
  // its own thread, cursor first).
  virtual void Acknowledge(uint64_t seq) = 0;

  virtual Stream stream() const = 0;
  // Records after `stream.base` go on `stream.id` from now on; persisted before it
  // returns (FileSpool: temp file, fsync, rename), so a restart resumes it.
  [[nodiscard]] virtual Status StartNewStream(Stream stream) = 0;

  virtual uint64_t next_seq() const = 0;      // the seq the next Append returns
  virtual uint64_t acknowledged() const = 0;  // highest seq acknowledged (at open: the cursor)
  // Records <= released() may be gone for this reader (a replica member's view: the
  // set's spool let them go while this member lagged, see ReplicaSpool); for a spool
  // with one reader, what it acknowledged itself.
  virtual uint64_t released() const { return acknowledged(); }
  // The highest seq some reader of this spool is known to have delivered (a replica
  // member's view: the greatest acknowledgement of any member); for a spool with one
  // reader, acknowledged().
  virtual uint64_t confirmed() const { return acknowledged(); }
  virtual uint64_t events() const = 0;  // records appended and not acknowledged
  virtual uint64_t bytes() const = 0;   // bytes held (FileSpool: of its segment files)
  // When the oldest record not acknowledged was appended (system clock, ms since the
  // epoch); 0 when there is none.
  virtual int64_t oldest_unacknowledged_ms() const = 0;
};

}  // namespace rt
