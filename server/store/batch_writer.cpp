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
  // Apply everything, then make the group durable with one log fsync, then answer:
  // an answer must never promise what a power loss could still take back.
  std::vector<Result<BatchOutcome>> batch_results;
  std::vector<Result<SliceStats>> single_results;
  std::vector<BatchRequest> single_logs;  // singles rewritten as the batches they became
  std::vector<const BatchRequest*> to_log;
  single_logs.reserve(group.size());
  for (Item& item : group) {
    if (auto* batch = std::get_if<BatchRequest>(&item.request)) {
      auto result = store_.ApplyBatch(*batch);
      if (result.ok() && result->applied > 0) to_log.push_back(batch);
      batch_results.push_back(std::move(result));
    } else {
      const auto& single = std::get<SingleRequest>(item.request);
      uint64_t seq = 0;
      auto result = store_.ApplySingle(single.slice, single.key, single.action, &seq);
      if (result.ok() && store_.fsync()) {
        single_logs.push_back({std::string(KcStore::kSingleStream),
                               seq,
                               "",
                               {BatchEvent{single.slice, single.key, single.action}}});
        to_log.push_back(&single_logs.back());
      }
      single_results.push_back(std::move(result));
    }
  }
  Status synced = store_.SyncLog(to_log);
  if (!synced.ok()) {
    synced = Status::Unavailable("the batch log failed: " + synced.message());
    {
      std::lock_guard lock(mu_);
      fatal_ = synced;
    }
    on_fatal_(synced);  // by default does not return
  }

  size_t next_batch = 0, next_single = 0;
  for (Item& item : group) {
    if (std::holds_alternative<BatchRequest>(item.request)) {
      auto& result = batch_results[next_batch++];
      item.batch_done(synced.ok() || !result.ok() ? std::move(result)
                                                  : Result<BatchOutcome>(synced));
    } else {
      auto& result = single_results[next_single++];
      item.single_done(synced.ok() || !result.ok() ? std::move(result)
                                                   : Result<SliceStats>(synced));
    }
  }
  std::lock_guard lock(mu_);
  ++stats_.groups;
  stats_.batches += batch_results.size();
  stats_.singles += single_results.size();
}

}  // namespace rt
