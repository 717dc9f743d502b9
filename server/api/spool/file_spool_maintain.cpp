// FileSpool's slow work, on the SpoolDisk's thread (spool_disk.h): group sync,
// unmapping, reclaiming and preallocating. Each step takes the spool's lock only to
// look and to publish, never across a system call that may wait for the disk.

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>

#include "server/api/spool/file_spool.h"

namespace rt {

void FileSpool::Maintain() {
  if (fsync_) SyncWritten();
  UnmapIdle();
  Reclaim();
  Preallocate();
}

// One group: everything written when it starts, synced without the lock (Append goes
// on meanwhile), then the completions it covers, in the order they were asked for.
void FileSpool::SyncWritten() {
  struct Range {
    Segment* segment;
    size_t begin;
    size_t end;
  };
  std::vector<Range> ranges;
  uint64_t covered = 0;
  {
    std::lock_guard lock(mu_);
    sync_wanted_ = false;
    syncing_ = true;
    covered = next_seq_ - 1;
    for (auto& segment : segments_) {
      if (segment->map && segment->synced < segment->end) {
        segment->pinned = true;
        ranges.push_back({segment.get(), segment->synced, segment->end});
      }
    }
  }
  const auto start = std::chrono::steady_clock::now();
  Status status;
  for (const Range& range : ranges) {
    status = range.segment->map.Sync(range.begin, range.end, range.segment->path);
    if (!status.ok()) break;
  }
  Histogram* histogram = disk_.options().fsync_seconds;
  if (histogram != nullptr && !ranges.empty()) {
    histogram->ObserveSeconds(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::vector<std::function<void()>> done;
  {
    std::lock_guard lock(mu_);
    for (const Range& range : ranges) {
      range.segment->pinned = false;
      if (status.ok()) range.segment->synced = range.end;
    }
    if (!status.ok()) {
      FatalLocked(status);
      return;
    }
    durable_seq_ = std::max(durable_seq_, covered);
    while (!waiting_.empty() && waiting_.front().seq <= durable_seq_) {
      done.push_back(std::move(waiting_.front().done));
      waiting_.pop_front();
    }
    syncing_ = false;
    // Asked for during this sync: the next group, a window after the first of them
    // asked (at once if that is past). Not at once in any case: that would split a
    // closed loop of clients into two cohorts that alternate, each sync covering half
    // of them; the window lets the clients just answered join the next group.
    if (sync_wanted_ && !closing_) {
      disk_.WakeAt(this, group_since_ + disk_.options().sync_window);
    }
  }
  for (auto& callback : done) callback();
}

void FileSpool::UnmapIdle() {
  std::vector<spool::Mapping> unmap;
  {
    std::lock_guard lock(mu_);
    for (auto& segment : segments_) {
      if (segment->sealed && segment->map && !segment->pinned && segment->id != reader_segment_ &&
          (!fsync_ || segment->synced >= segment->end)) {
        unmap.push_back(std::move(segment->map));
      }
    }
  }
  // munmap outside the lock
}

// The cursor file first, then the segments wholly at or below it: a restart never
// finds a hole below its cursor that it would report as lost.
void FileSpool::Reclaim() {
  uint64_t cursor = 0;
  {
    std::lock_guard lock(mu_);
    if (segments_.size() < 2 || segments_.front()->end_seq - 1 > acknowledged_) return;
    cursor = acknowledged_;
  }
  if (cursor > cursor_written_) {
    Status s = spool::WriteFileAtomically(dir_, "cursor", std::to_string(cursor) + "\n");
    if (!s.ok()) {
      std::lock_guard lock(mu_);
      FatalLocked(s);
      return;
    }
    std::lock_guard lock(mu_);
    cursor_written_ = cursor;
  }
  std::vector<std::unique_ptr<Segment>> reclaimed;
  {
    std::lock_guard lock(mu_);
    while (segments_.size() > 1 && segments_.front()->end_seq - 1 <= cursor &&
           !segments_.front()->pinned) {
      if (segments_.front()->id == reader_segment_) reader_segment_ = 0;
      bytes_ -= segments_.front()->size;
      reclaimed.push_back(std::move(segments_.front()));
      segments_.pop_front();
    }
  }
  for (auto& segment : reclaimed) {
    segment->map.Reset();
    if (::unlink(segment->path.c_str()) != 0 && errno != ENOENT) {
      std::lock_guard lock(mu_);
      FatalLocked(spool::ErrnoStatus("unlink", segment->path, errno));
      return;
    }
    disk_.Release(segment->size);
  }
}

void FileSpool::Preallocate() {
  uint64_t id = 0;
  size_t held = 0;
  {
    std::lock_guard lock(mu_);
    if (!prealloc_wanted_ || next_ != nullptr || failed_) return;
    id = next_segment_id_++;
    held = UnacknowledgedSegmentsLocked();
    prealloc_running_ = true;
  }
  const size_t size = disk_.options().segment_bytes;
  if (!disk_.TryAllocate(size, held)) {  // Append will find the spool full
    std::lock_guard lock(mu_);
    prealloc_running_ = false;
    prealloc_cv_.notify_all();
    return;
  }
  auto created = CreateSegment(id);
  if (created.ok()) {
    // Appends store into a shared file mapping, so the first store into each page
    // faults (page cache, then page_mkwrite): one fault per 4 KiB, most of Append's
    // time in spool_bench. Storing a zero into each page of the (all-zero, unused)
    // segment takes those faults here, on the disk thread, instead.
    static const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    char* data = (*created)->map.data();
    for (size_t offset = 0; offset < size; offset += page) {
      std::atomic_ref<char>(data[offset]).store(0, std::memory_order_relaxed);
    }
  }
  std::lock_guard lock(mu_);
  prealloc_running_ = false;
  prealloc_cv_.notify_all();
  if (!created.ok()) {
    disk_.Release(size);
    // A full device is Append's to report (kUnavailable); anything else is fatal.
    if (created.status().code() != Status::Code::kUnavailable) FatalLocked(created.status());
    return;
  }
  bytes_ += size;
  next_ = std::move(created).value();
}

}  // namespace rt
