#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <variant>

#include "base/status.h"
#include "server/model/action.h"
#include "server/model/user_key.h"
#include "server/store/batch_request.h"
#include "server/store/kc_store.h"

namespace rt {

// The single writer of a KcStore, with group commit.
//
// Its thread takes everything queued at once and hands it to the store as one group
// (KcStore::WriteGroup): in fsync mode the store plans every batch, logs them all
// with one fsync, and only then writes them to Kyoto; each completion is called
// afterwards, on the writer thread. So with --fsync no batch is acknowledged before
// it is durable, and one fsync serves every batch that arrived while the previous
// group was being written.
//
// Without fsync there is nothing to group, so a submission that finds the writer
// idle (running, nothing queued, no group in progress) is applied on the
// submitting thread and its completion called before Submit* returns: that saves
// two thread hand-offs per batch. Order is kept: whatever is queued or in
// progress is never overtaken, and only one thread applies at a time.
//
// The queue is bounded in events (a batch counts its events, a single event one):
// a submission that would take it past max_queued_events is not taken, so a worker
// whose disk is slower than its senders answers 503 instead of growing its memory
// without bound. An empty queue takes any batch, however large (it could never go
// through otherwise; the HTTP body limit bounds it).
//
// A failed log append or fsync (fsync mode) is fatal: the group's batches are not
// durable, and after a failed fsync nothing the kernel says about the log can be
// trusted any more. So none of them is acknowledged: the writer calls
// `on_fatal` (default: one line on stderr, then _exit(1) at once: no destructor runs
// that could flush or answer anything), answers the group with the error if
// `on_fatal` returns (tests), and refuses everything afterwards. The next start
// replays the log and hard-syncs Kyoto (KcStore::Open); the senders resend.
//
// Completions must be quick and must not block (post the response to the
// session's executor). Thread-safe: Submit* may be called from any thread.
// The store must outlive the writer.
class BatchWriter {
 public:
  using BatchDone = std::function<void(Result<BatchOutcome>)>;
  using SingleDone = std::function<void(Result<SliceStats>)>;
  using FatalHandler = std::function<void(const Status&)>;

  struct Stats {
    uint64_t groups = 0;   // drains of the queue (fsyncs in fsync mode)
    uint64_t batches = 0;  // batches completed (ok or not)
    uint64_t singles = 0;  // single events completed
  };

  // The default bound of the queue: ~75 bytes per queued event (the event and its
  // request's body line), so ~75 MiB; some 250 full batches of an API node.
  static constexpr size_t kDefaultMaxQueuedEvents = 1'000'000;

  // Starts the writer thread unless `start_paused` (then call Start); paused is
  // for tests that need to queue several batches before the first drain.
  // REQUIRES: max_queued_events > 0. `on_fatal`: see the class comment; null for
  // the default (exit 1).
  explicit BatchWriter(KcStore& store, bool start_paused = false,
                       size_t max_queued_events = kDefaultMaxQueuedEvents,
                       FatalHandler on_fatal = nullptr);
  ~BatchWriter();  // Stop()
  BatchWriter(const BatchWriter&) = delete;
  BatchWriter& operator=(const BatchWriter&) = delete;

  void Start();
  // Finishes all queued work, then joins the thread. Later submissions complete
  // at once with Unavailable. Idempotent.
  void Stop();

  // Applies or queues the work and later calls `done` once. Returns false, without
  // calling `done`, when the queue is full (see the class comment): the caller
  // answers 503.
  bool Submit(BatchRequest request, BatchDone done);
  bool SubmitSingle(int64_t slice, const UserKey& key, Action action, SingleDone done);

  size_t QueueDepth() const;  // batches and single events queued
  size_t QueuedEvents() const;
  Stats GetStats() const;

 private:
  struct SingleRequest {
    int64_t slice;
    UserKey key;
    Action action;
  };
  struct Item {
    std::variant<BatchRequest, SingleRequest> request;
    BatchDone batch_done;
    SingleDone single_done;
  };

  void Run();
  void ProcessGroup(std::deque<Item>& group);
  // Claims the store for the calling thread if the writer is idle (see the class
  // comment); then the caller must apply and call FinishInline.
  bool ClaimInline();
  void FinishInline(uint64_t batches, uint64_t singles);
  // Whether `events` more fit the queue. REQUIRES: mu_ held.
  bool HasRoomLocked(size_t events) const {
    return queue_.empty() || queued_events_ + events <= max_queued_events_;
  }

  KcStore& store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  const size_t max_queued_events_;
  std::deque<Item> queue_;    // guarded by mu_
  size_t queued_events_ = 0;  // in queue_; guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  bool stopped_ = false;      // guarded by mu_
  bool started_ = false;      // guarded by mu_
  bool busy_ = false;         // a group or an inline item is being applied; guarded by mu_
  Status fatal_;              // set once the log failed (class comment); guarded by mu_
  FatalHandler on_fatal_;
  Stats stats_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace rt
