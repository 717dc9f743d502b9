#include "server/api/spool/memory_spool.h"

#include <time.h>

#include <algorithm>

namespace rt {

namespace {

int64_t CoarseNowMs() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

}  // namespace

MemorySpool::MemorySpool(uint64_t max_events) : max_events_(max_events) {}

Result<uint64_t> MemorySpool::Append(std::string_view payload) {
  const int64_t now = CoarseNowMs();
  std::lock_guard lock(mutex_);
  if (next_seq_ - first_seq_ >= max_events_) {
    return Status::Unavailable("the spool holds " + std::to_string(max_events_) +
                               " events, its limit");
  }
  const uint64_t seq = next_seq_++;
  data_.append(payload);
  ends_.push_back(data_.size());
  if (times_.size() == time_head_ || times_.back().ms != now) times_.push_back({seq, now});
  return seq;
}

void MemorySpool::WhenDurable(uint64_t, std::function<void()> done) { done(); }

size_t MemorySpool::Read(uint64_t from, size_t max_records, size_t max_bytes, std::string& body) {
  std::lock_guard lock(mutex_);
  if (from < first_seq_ || from >= next_seq_) return 0;
  const size_t first = head_ + static_cast<size_t>(from - first_seq_);
  const size_t start = first == 0 ? 0 : ends_[first - 1];
  size_t last = first;  // one past the last record taken
  const size_t limit = std::min(ends_.size(), first + std::max<size_t>(max_records, 1));
  while (last < limit && (last == first || ends_[last] - start <= max_bytes)) ++last;
  body.append(data_, start, ends_[last - 1] - start);
  return last - first;
}

std::optional<EventSpool::Gap> MemorySpool::GapAt(uint64_t) const { return std::nullopt; }

void MemorySpool::Acknowledge(uint64_t seq) {
  std::lock_guard lock(mutex_);
  if (seq < first_seq_) return;
  seq = std::min(seq, next_seq_ - 1);
  head_ += static_cast<size_t>(seq + 1 - first_seq_);
  first_seq_ = seq + 1;
  while (time_head_ + 1 < times_.size() && times_[time_head_ + 1].first_seq <= first_seq_) {
    ++time_head_;
  }
  if (first_seq_ == next_seq_) {  // empty: restart the buffers at no cost
    data_.clear();
    ends_.clear();
    head_ = 0;
    times_.clear();
    time_head_ = 0;
  } else if (head_ >= ends_.size() / 2) {
    Compact();
  }
}

// Moves the records not acknowledged to the front. Called when at least half of
// ends_ is dropped, so the move costs at most what the dropped appends cost.
void MemorySpool::Compact() {
  const size_t dropped_bytes = ends_[head_ - 1];
  data_.erase(0, dropped_bytes);
  ends_.erase(ends_.begin(), ends_.begin() + static_cast<ptrdiff_t>(head_));
  for (size_t& end : ends_) end -= dropped_bytes;
  head_ = 0;
  times_.erase(times_.begin(), times_.begin() + static_cast<ptrdiff_t>(time_head_));
  time_head_ = 0;
}

EventSpool::Stream MemorySpool::stream() const {
  std::lock_guard lock(mutex_);
  return stream_;
}

Status MemorySpool::StartNewStream(Stream stream) {
  std::lock_guard lock(mutex_);
  stream_ = std::move(stream);
  return Status::Ok();
}

uint64_t MemorySpool::next_seq() const {
  std::lock_guard lock(mutex_);
  return next_seq_;
}

uint64_t MemorySpool::acknowledged() const {
  std::lock_guard lock(mutex_);
  return first_seq_ - 1;
}

uint64_t MemorySpool::events() const {
  std::lock_guard lock(mutex_);
  return next_seq_ - first_seq_;
}

uint64_t MemorySpool::bytes() const {
  std::lock_guard lock(mutex_);
  return ends_.empty() || head_ == ends_.size()
             ? 0
             : data_.size() - (head_ == 0 ? 0 : ends_[head_ - 1]);
}

int64_t MemorySpool::oldest_unacknowledged_ms() const {
  std::lock_guard lock(mutex_);
  return first_seq_ == next_seq_ ? 0 : times_[time_head_].ms;
}

}  // namespace rt
