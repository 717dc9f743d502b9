#include "server/store/batch_writer.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace rt {

namespace {

[[noreturn]] void ExitOnFatal(const Status& status) {
  std::fprintf(stderr,
               "rt-worker: FATAL: %s: exiting without acknowledging the batches of this "
               "group; the next start replays the batch log\n",
               status.message().c_str());
  std::fflush(stderr);
  ::_exit(1);
}

}  // namespace

BatchWriter::BatchWriter(KcStore& store, bool start_paused, size_t max_queued_events,
                         FatalHandler on_fatal)
    : store_(store),
      max_queued_events_(max_queued_events),
      on_fatal_(on_fatal ? std::move(on_fatal) : FatalHandler(ExitOnFatal)) {
  if (!start_paused) Start();
}

BatchWriter::~BatchWriter() { Stop(); }

void BatchWriter::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopped_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
}

void BatchWriter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
    if (!thread_.joinable()) {  // never started: run what is queued here
      thread_ = std::thread([this] { Run(); });
    }
  }
  cv_.notify_all();
  thread_.join();
  std::lock_guard lock(mu_);
  stopped_ = true;
}

bool BatchWriter::ClaimInline() {
  if (store_.fsync()) return false;  // group commit needs the queue
  std::lock_guard lock(mu_);
  if (!started_ || stopping_ || busy_ || !queue_.empty()) return false;
  busy_ = true;
  return true;
}

void BatchWriter::FinishInline(uint64_t batches, uint64_t singles) {
  std::lock_guard lock(mu_);
  busy_ = false;
  ++stats_.groups;
  stats_.batches += batches;
  stats_.singles += singles;
  // What was queued meanwhile waited for this item.
  if (!queue_.empty() || stopping_) cv_.notify_one();
}

bool BatchWriter::Submit(BatchRequest request, BatchDone done) {
  if (ClaimInline()) {
    auto result = store_.ApplyBatch(request);
    FinishInline(1, 0);
    done(std::move(result));
    return true;
  }
  {
    std::unique_lock lock(mu_);
    if (!fatal_.ok()) {
      Status refused = fatal_;
      lock.unlock();
      done(refused);
      return true;
    }
    if (!stopping_) {
      const size_t events = request.events.size();
      if (!HasRoomLocked(events)) return false;
      queued_events_ += events;
      queue_.push_back({std::move(request), std::move(done), nullptr});
      cv_.notify_one();
      return true;
    }
  }
  done(Status::Unavailable("worker is shutting down"));
  return true;
}

bool BatchWriter::SubmitSingle(int64_t slice, const UserKey& key, Action action, SingleDone done) {
  if (ClaimInline()) {
    auto result = store_.ApplySingle(slice, key, action);
    FinishInline(0, 1);
    done(std::move(result));
    return true;
  }
  {
    std::unique_lock lock(mu_);
    if (!fatal_.ok()) {
      Status refused = fatal_;
      lock.unlock();
      done(refused);
      return true;
    }
    if (!stopping_) {
      if (!HasRoomLocked(1)) return false;
      ++queued_events_;
      queue_.push_back({SingleRequest{slice, key, action}, nullptr, std::move(done)});
      cv_.notify_one();
      return true;
    }
  }
  done(Status::Unavailable("worker is shutting down"));
  return true;
}

size_t BatchWriter::QueueDepth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

size_t BatchWriter::QueuedEvents() const {
  std::lock_guard lock(mu_);
  return queued_events_;
}

BatchWriter::Stats BatchWriter::GetStats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void BatchWriter::Run() {
  std::deque<Item> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !busy_ && (stopping_ || !queue_.empty()); });
      if (queue_.empty()) return;  // stopping and drained
      group.swap(queue_);
      queued_events_ = 0;
      busy_ = true;
    }
    ProcessGroup(group);
    group.clear();
    std::lock_guard lock(mu_);
    busy_ = false;
  }
}

void BatchWriter::ProcessGroup(std::deque<Item>& group) {
  // With --fsync the store plans the group, makes it durable with one log fsync, and
  // only then writes it: an answer must never promise what a power loss could still
  // take back.
  std::vector<KcStore::GroupWrite> writes(group.size());
  for (size_t i = 0; i < group.size(); ++i) {
    if (const auto* batch = std::get_if<BatchRequest>(&group[i].request)) {
      writes[i].batch = batch;
    } else {
      const auto& single = std::get<SingleRequest>(group[i].request);
      writes[i].single = BatchEvent{single.slice, single.key, single.action};
    }
  }
  Status synced = store_.WriteGroup(writes);
  if (!synced.ok()) {
    synced = Status::Unavailable("the batch log failed: " + synced.message());
    {
      std::lock_guard lock(mu_);
      fatal_ = synced;
    }
    on_fatal_(synced);  // by default does not return
  }

  uint64_t batches = 0, singles = 0;
  for (size_t i = 0; i < group.size(); ++i) {
    Item& item = group[i];
    Result<BatchOutcome>& result = writes[i].outcome;
    if (!synced.ok()) result = synced;
    if (std::holds_alternative<BatchRequest>(item.request)) {
      ++batches;
      item.batch_done(std::move(result));
    } else {
      ++singles;
      item.single_done(result.ok() ? Result<SliceStats>(result->touched.front().second)
                                   : Result<SliceStats>(result.status()));
    }
  }
  std::lock_guard lock(mu_);
  ++stats_.groups;
  stats_.batches += batches;
  stats_.singles += singles;
}

}  // namespace rt
