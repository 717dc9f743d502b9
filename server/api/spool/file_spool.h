#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/api/spool/event_spool.h"
#include "server/api/spool/spool_disk.h"
#include "server/api/spool/spool_io.h"

namespace rt {

// What FileSpool::Open found and repaired; one report may collect every worker's.
// `messages` are one line each, for the log; the counters are for metrics.
struct SpoolRecoveryReport {
  struct WorkerGap {
    std::string worker_id;
    EventSpool::Gap gap;
  };
  std::vector<std::string> messages;
  uint64_t segments = 0;          // segment files held after recovery
  uint64_t records = 0;           // records held and not acknowledged
  uint64_t torn_tails = 0;        // segments whose written end was torn and truncated
  uint64_t torn_bytes = 0;        // bytes dropped by those truncations
  uint64_t corrupt_segments = 0;  // segments moved aside to <worker dir>/corrupt/
  uint64_t lost_records = 0;      // records in `gaps`
  std::vector<WorkerGap> gaps;    // not acknowledged yet: reported at every open
};

// The EventSpool of one worker on disk (docs/design.md §13 "Spool"): the files of
// <spool dir>/<worker dir>/ (spool_format.h): `stream`, `cursor` and the segments.
//
// Append writes the record into the current segment through its shared mapping:
// once the memcpy is done a killed process loses nothing (the page cache has it);
// with SpoolDisk fsync, WhenDurable waits for the disk thread's group msync. The
// disk thread also preallocates the next segment, unmaps full segments not being
// read and deletes acknowledged ones (spool_disk.h, file_spool_maintain.cpp).
//
// Open recovers whatever a crash or a bad disk left (file_spool_open.cpp): it never
// fails on bad data, only on I/O errors (a directory it cannot create or read); what
// it found goes to the SpoolRecoveryReport.
//
// Thread-safety as EventSpool. The disk must outlive the spool.
class FileSpool final : public EventSpool {
 public:
  using NewStreamId = std::function<std::string()>;

  // Opens (creating if needed) the spool of `worker_id` on `disk`. A spool without a
  // `stream` file takes new_stream_id() with base 0 and persists it.
  static Result<std::unique_ptr<FileSpool>> Open(SpoolDisk& disk, const std::string& worker_id,
                                                 const NewStreamId& new_stream_id,
                                                 SpoolRecoveryReport& report);
  ~FileSpool() override;
  FileSpool(const FileSpool&) = delete;
  FileSpool& operator=(const FileSpool&) = delete;

  // kInvalidArgument for an empty payload or one larger than a segment can hold.
  [[nodiscard]] Result<uint64_t> Append(std::string_view payload) override;
  void WhenDurable(uint64_t seq, std::function<void()> done) override;
  void SettleWaiting() override;
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

  const std::string& dir() const { return dir_; }

 private:
  friend class SpoolDisk;

  // Every kIndexStride bytes of a segment, the first record there: Read seeks with it
  // (and walks at most kIndexStride bytes of record headers), and it dates the oldest
  // unacknowledged record (to within kIndexStride bytes of records, on the older side).
  static constexpr size_t kIndexStride = 16 * 1024;
  struct IndexEntry {
    uint64_t seq;
    size_t offset;
    int64_t appended_ms;
  };
  // One segment file: records first_seq .. end_seq-1, contiguous, in [header, end).
  struct Segment {
    uint64_t id = 0;
    std::string path;
    size_t size = 0;
    uint64_t first_seq = 0;
    uint64_t end_seq = 0;
    size_t end = 0;       // offset after the last record
    size_t synced = 0;    // fsync mode: [0, synced) is durable
    bool sealed = false;  // never appended to again
    bool pinned = false;  // the disk thread is syncing it without the lock
    spool::Mapping map;   // empty when unmapped
    std::vector<IndexEntry> index;
    void AddToIndex(uint64_t seq, size_t offset, int64_t ms);
  };

  FileSpool(SpoolDisk& disk, std::string worker_id, std::string dir);

  // file_spool_open.cpp
  Status Recover(const NewStreamId& new_stream_id, SpoolRecoveryReport& report);
  Status RecoverStream(const NewStreamId& new_stream_id, SpoolRecoveryReport& report);
  Status ScanSegments(std::vector<std::unique_ptr<Segment>>& found, SpoolRecoveryReport& report);
  Status RepairSegment(Segment& segment, std::vector<std::unique_ptr<Segment>>& out,
                       SpoolRecoveryReport& report);
  Status MoveAside(const std::string& path);
  // Walks the record headers of [kSegmentHeaderBytes, end) (no CRC: already checked)
  // and fills end_seq and the index.
  void IndexSegment(Segment& segment);

  // Called on the disk thread.
  void Maintain();
  void SyncWritten();
  void UnmapIdle();
  void Reclaim();
  void Preallocate();

  Segment* ActiveLocked();
  Status RollOverLocked(std::unique_lock<std::mutex>& lock);
  // A new segment file of options().segment_bytes, mapped, its header not yet written.
  Result<std::unique_ptr<Segment>> CreateSegment(uint64_t id);
  Segment* FindLocked(uint64_t seq) const;
  size_t OffsetOfLocked(const Segment& segment, uint64_t seq) const;
  void UpdateOldestLocked();
  // Segments holding a record above acknowledged_ (what the budget counts: an
  // acknowledged segment waiting for Reclaim is not a backlog).
  size_t UnacknowledgedSegmentsLocked() const;
  uint64_t LostLocked() const;
  void FatalLocked(const Status& status);

  SpoolDisk& disk_;
  const std::string worker_id_;
  const std::string dir_;
  const bool fsync_;

  mutable std::mutex mu_;
  // Held segments by first_seq; back() is the one appended to unless sealed.
  std::deque<std::unique_ptr<Segment>> segments_;
  std::unique_ptr<Segment> next_;  // preallocated, header not yet written
  bool prealloc_wanted_ = false;
  // The disk thread is creating next_ (with the next segment id): a rollover waits for
  // it on prealloc_cv_ rather than racing it, so that ids follow the seqs.
  bool prealloc_running_ = false;
  std::condition_variable prealloc_cv_;
  // fsync mode: a group is waiting for its sync, asked for first at group_since_;
  // syncing_: SyncWritten is between its snapshot and the completions.
  bool sync_wanted_ = false;
  std::chrono::steady_clock::time_point group_since_;
  bool syncing_ = false;
  bool failed_ = false;   // a fatal error happened: Append refuses
  bool closing_ = false;  // in the destructor: no more Wake
  uint64_t next_segment_id_ = 1;
  uint64_t next_seq_ = 1;
  uint64_t acknowledged_ = 0;
  uint64_t cursor_written_ = 0;  // the value of the cursor file
  uint64_t durable_seq_ = 0;     // fsync mode: every record <= it is synced
  uint64_t bytes_ = 0;           // of the segment files, next_ included
  int64_t oldest_ms_ = 0;        // of record acknowledged_+1, when held
  std::vector<Gap> gaps_;        // above acknowledged_, by seq
  Stream stream_;
  // fsync mode: the WhenDurable calls not completed, in order.
  struct Waiter {
    uint64_t seq;
    std::function<void()> done;
  };
  std::deque<Waiter> waiting_;
  // Where the last Read stopped: it resumes there without seeking.
  uint64_t reader_segment_ = 0;
  uint64_t reader_seq_ = 0;
  size_t reader_offset_ = 0;
};

}  // namespace rt
