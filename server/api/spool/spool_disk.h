#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "server/metrics/metrics.h"

namespace rt {

class FileSpool;

// The node-wide side of the file spool (docs/design.md §13 "Spool"): owns --spool-dir,
// the byte budget shared by every worker's FileSpool, and the one background thread
// that does their slow work.
//
// DIR/lock is flock'ed for the life of the object, so two nodes can never write the
// same segments; DIR holds one subdirectory per worker id (spool_format.h).
//
// The thread, woken by a FileSpool when it has something to do, for each such spool:
//   * group fsync (fsync mode): msync of every range written since the last one, then
//     the WhenDurable completions it covers, in order. A group's sync starts
//     sync_window after its first WhenDurable, or when the previous sync ends if that
//     is later, so it covers whatever arrived meanwhile: a
//     sync costs about the same CPU whether it covers 1 record or 100 (~0.3 ms on the
//     benchmark VM), so groups of one would make it most of the POST's cost;
//   * unmaps segments that are full and not being read (RSS stays at about two
//     mapped segments per worker however long a worker is down);
//   * reclaims acknowledged segments: the cursor file first, then unlink;
//   * preallocates a stream's next segment once its current one is half full, so
//     that Append rarely waits for posix_fallocate.
//
// Budget: a spool may take one more segment while the node's allocated bytes stay
// <= max_bytes, or while it holds fewer than 2 segments with unacknowledged records,
// so that a healthy worker is not starved by a dead one's backlog (a fully acknowledged
// segment waiting to be deleted is no backlog: docs/design.md §13 "Spool", Bounds).
// Nothing is ever dropped to make room.
//
// Errors: anything but a full device at allocation (a failed write, msync, rename,
// unlink) means a promise may be broken: on_fatal gets a Status naming the file and
// strerror. The default prints it on one line to stderr and calls std::_Exit(1).
//
// Thread-safety: all public members from any thread. REQUIRES: every FileSpool on
// this disk is destroyed before it.
class SpoolDisk {
 public:
  static constexpr uint64_t kDefaultMaxBytes = uint64_t{8} << 30;
  static constexpr size_t kDefaultSegmentBytes = size_t{4} << 20;
  static constexpr size_t kMaxSegmentBytes = size_t{8} << 20;
  static constexpr size_t kMinSegmentBytes = 4096;
  // How long the first record of a group waits for others before its sync starts.
  // Within the "<= 2 ms of events per fsync" of docs/design.md §13.
  static constexpr std::chrono::microseconds kDefaultSyncWindow{2000};

  struct Options {
    std::string dir;
    uint64_t max_bytes = kDefaultMaxBytes;  // --spool-max-bytes
    size_t segment_bytes = kDefaultSegmentBytes;
    bool fsync = false;                                          // --spool-fsync
    std::chrono::microseconds sync_window = kDefaultSyncWindow;  // fsync mode; 0: at once
    Histogram* fsync_seconds = nullptr;                          // may be null
    std::function<void(const Status&)> on_fatal;                 // null: stderr + std::_Exit(1)
  };

  // Creates DIR if needed, locks it and lists the worker dirs; kConflict "spool DIR is
  // in use by another process" when another SpoolDisk holds the lock; kInvalidArgument
  // for a segment_bytes outside [kMinSegmentBytes, kMaxSegmentBytes].
  static Result<std::unique_ptr<SpoolDisk>> Open(Options options);
  ~SpoolDisk();  // stops the thread, unlocks
  SpoolDisk(const SpoolDisk&) = delete;
  SpoolDisk& operator=(const SpoolDisk&) = delete;

  const Options& options() const { return options_; }
  // The worker ids that had a spool directory at Open, sorted.
  const std::vector<std::string>& workers() const { return workers_; }
  uint64_t allocated_bytes() const;

  // Gives the spool up as a killed process would (the simulator's API-node crash,
  // docs/design.md §10): the thread stops after its current step, and FileSpools
  // destroyed from now on skip their clean-close work (final group sync, cursor
  // file). What Append wrote through the shared mappings stays in the files, as the
  // page cache keeps it after kill -9.
  void Abandon();
  bool abandoned() const;

 private:
  friend class FileSpool;

  SpoolDisk(Options options, int lock_fd, std::vector<std::string> workers);
  void Run();

  // Budget (see the class comment): reserves `bytes` for a spool holding
  // `held_segments`, or returns false. Counted (never refused) for segments found at
  // open by Count.
  bool TryAllocate(size_t bytes, size_t held_segments);
  void Count(uint64_t bytes);
  void Release(uint64_t bytes);
  void Fatal(const Status& status);
  // Asks the thread to run spool->Maintain() soon.
  void Wake(FileSpool* spool);
  // Asks the thread to run spool->Maintain() at `when` at the latest (sooner if a
  // Wake or an earlier WakeAt comes first).
  void WakeAt(FileSpool* spool, std::chrono::steady_clock::time_point when);
  // Forgets `spool` and waits until the thread is not running it.
  void Unregister(FileSpool* spool);

  const Options options_;
  const int lock_fd_;
  const std::vector<std::string> workers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // work queued or stopping
  std::condition_variable idle_cv_;  // running_ changed
  std::vector<FileSpool*> queued_;   // guarded by mu_
  // WakeAt requests not yet due; a spool at most once, at its earliest time.
  std::vector<std::pair<FileSpool*, std::chrono::steady_clock::time_point>> deferred_;  // mu_
  FileSpool* running_ = nullptr;  // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool abandoned_ = false;        // guarded by mu_
  uint64_t allocated_ = 0;        // guarded by mu_
  std::thread thread_;
};

}  // namespace rt
