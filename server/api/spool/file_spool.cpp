#include "server/api/spool/file_spool.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "server/api/spool/spool_format.h"

namespace rt {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

void FileSpool::Segment::AddToIndex(uint64_t seq, size_t offset, int64_t ms) {
  if (index.empty() || offset / kIndexStride != index.back().offset / kIndexStride) {
    index.push_back({seq, offset, ms});
  }
}

FileSpool::FileSpool(SpoolDisk& disk, std::string worker_id, std::string dir)
    : disk_(disk),
      worker_id_(std::move(worker_id)),
      dir_(std::move(dir)),
      fsync_(disk.options().fsync) {}

FileSpool::~FileSpool() {
  disk_.Unregister(this);
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  if (disk_.abandoned()) {  // a simulated crash: only what Append wrote remains
    disk_.Release(bytes_);
    return;
  }
  // Nothing else runs now: finish the work the disk thread would have done.
  if (fsync_) SyncWritten();
  if (acknowledged_ > cursor_written_) {
    // A hint only (the worker's mark is the real cursor): a failure is not fatal.
    (void)spool::WriteFileAtomically(dir_, "cursor", std::to_string(acknowledged_) + "\n");
  }
  disk_.Release(bytes_);
}

FileSpool::Segment* FileSpool::ActiveLocked() {
  if (segments_.empty() || segments_.back()->sealed) return nullptr;
  return segments_.back().get();
}

void FileSpool::FatalLocked(const Status& status) {
  failed_ = true;
  disk_.Fatal(status);
}

// The hot path: a lock, a CRC and a memcpy into the mapping. A system call only when
// the segment rolls over without a preallocated successor.
Result<uint64_t> FileSpool::Append(std::string_view payload) {
  const size_t need = spool::RecordBytes(payload.size());
  if (payload.empty() || need > disk_.options().segment_bytes - spool::kSegmentHeaderBytes) {
    return Status::InvalidArgument("spool record of " + std::to_string(payload.size()) +
                                   " bytes: empty or larger than a segment");
  }
  const int64_t now_ms = NowMs();
  std::unique_lock lock(mu_);
  if (failed_) return Status::IoError("spool for worker " + worker_id_ + " failed");
  Segment* segment = ActiveLocked();
  if (segment == nullptr || segment->end + need > segment->size) {
    if (Status s = RollOverLocked(lock); !s.ok()) return s;
    segment = ActiveLocked();
  }
  const uint64_t seq = next_seq_++;
  spool::WriteRecord(segment->map.data() + segment->end, seq, now_ms, payload);
  segment->AddToIndex(seq, segment->end, now_ms);
  segment->end += need;
  segment->end_seq = next_seq_;
  if (seq == acknowledged_ + 1) oldest_ms_ = now_ms;
  if (!prealloc_wanted_ && next_ == nullptr && segment->end > segment->size / 2) {
    prealloc_wanted_ = true;
    disk_.Wake(this);
  }
  return seq;
}

Status FileSpool::RollOverLocked(std::unique_lock<std::mutex>& lock) {
  prealloc_cv_.wait(lock, [&] { return !prealloc_running_; });
  if (failed_) return Status::IoError("spool for worker " + worker_id_ + " failed");
  std::unique_ptr<Segment> fresh = std::move(next_);
  if (fresh == nullptr) {
    const size_t size = disk_.options().segment_bytes;
    if (!disk_.TryAllocate(size, UnacknowledgedSegmentsLocked())) {
      return Status::Unavailable("spool for worker " + worker_id_ + " is full (" +
                                 std::to_string(bytes_) + " bytes)");
    }
    auto created = CreateSegment(next_segment_id_++);
    if (!created.ok()) {
      disk_.Release(size);
      if (created.status().code() != Status::Code::kUnavailable) FatalLocked(created.status());
      return created.status();
    }
    fresh = std::move(created).value();
    bytes_ += fresh->size;
  }
  fresh->first_seq = next_seq_;
  fresh->end_seq = next_seq_;
  spool::EncodeSegmentHeader({fresh->id, next_seq_}, fresh->map.data());
  fresh->end = spool::kSegmentHeaderBytes;
  if (!segments_.empty() && !segments_.back()->sealed) {
    segments_.back()->sealed = true;
    disk_.Wake(this);  // to unmap it once synced and not being read
  }
  segments_.push_back(std::move(fresh));
  prealloc_wanted_ = false;
  return Status::Ok();
}

Result<std::unique_ptr<FileSpool::Segment>> FileSpool::CreateSegment(uint64_t id) {
  auto segment = std::make_unique<Segment>();
  segment->id = id;
  segment->path = dir_ + "/" + spool::SegmentFileName(id);
  segment->size = disk_.options().segment_bytes;
  auto map = spool::CreateSegmentFile(segment->path, segment->size);
  if (!map.ok()) return map.status();
  segment->map = std::move(map).value();
  // The new name must survive a power cut as well as its blocks.
  if (Status s = spool::SyncDir(dir_); !s.ok()) return s;
  segment->index.reserve(segment->size / kIndexStride + 1);
  return segment;
}

// In fsync mode `done` always runs on the disk thread (as event_spool.h says), even for
// a record an earlier group already covered: callers need not expect it inline.
void FileSpool::WhenDurable(uint64_t seq, std::function<void()> done) {
  if (!fsync_) {
    done();
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mu_);
  waiting_.push_back({seq, std::move(done)});
  if (!sync_wanted_) {
    // The first of a group: its sync starts a window later, covering the others that
    // come meanwhile (spool_disk.h); during a sync, SyncWritten schedules it.
    sync_wanted_ = true;
    group_since_ = now;
    if (!syncing_) disk_.WakeAt(this, now + disk_.options().sync_window);
  }
}

void FileSpool::SettleWaiting() {
  if (!fsync_) return;  // WhenDurable ran every callback at once
  // Not while the disk thread syncs this spool: two syncs at once would race on the
  // segments' pins. Nothing wakes it for this spool again (see REQUIRES).
  disk_.Unregister(this);
  if (disk_.abandoned()) {
    std::deque<Waiter> dropped;
    {
      std::lock_guard lock(mu_);
      dropped.swap(waiting_);
    }
    return;  // destroyed here, never run: a crashed node answers nothing
  }
  SyncWritten();
}

FileSpool::Segment* FileSpool::FindLocked(uint64_t seq) const {
  auto it =
      std::upper_bound(segments_.begin(), segments_.end(), seq,
                       [](uint64_t s, const auto& segment) { return s < segment->first_seq; });
  if (it == segments_.begin()) return nullptr;
  Segment* segment = std::prev(it)->get();
  return seq < segment->end_seq ? segment : nullptr;
}

size_t FileSpool::OffsetOfLocked(const Segment& segment, uint64_t seq) const {
  if (segment.id == reader_segment_ && seq == reader_seq_) return reader_offset_;
  auto it = std::upper_bound(segment.index.begin(), segment.index.end(), seq,
                             [](uint64_t s, const IndexEntry& e) { return s < e.seq; });
  // The index always has the segment's first record, and seq >= first_seq.
  size_t offset = std::prev(it)->offset;
  for (uint64_t s = std::prev(it)->seq; s < seq; ++s) {
    offset += spool::RecordBytes(spool::PayloadLenAt(segment.map.data(), offset));
  }
  return offset;
}

size_t FileSpool::Read(uint64_t from, size_t max_records, size_t max_bytes, std::string& body) {
  std::lock_guard lock(mu_);
  size_t count = 0;
  size_t payload_bytes = 0;
  uint64_t seq = from;
  while (count < max_records) {
    Segment* segment = FindLocked(seq);
    if (segment == nullptr) break;  // the end, a gap, or acknowledged and reclaimed
    if (!segment->map) {
      auto map = spool::MapExistingFile(segment->path);
      if (!map.ok()) {
        FatalLocked(map.status());
        break;
      }
      segment->map = std::move(map).value();
    }
    const char* data = segment->map.data();
    size_t offset = OffsetOfLocked(*segment, seq);
    bool full = false;
    while (count < max_records && seq < segment->end_seq) {
      const uint32_t len = spool::PayloadLenAt(data, offset);
      if (count > 0 && payload_bytes + len > max_bytes) {
        full = true;
        break;
      }
      body.append(data + offset + spool::kRecordHeaderBytes, len);
      payload_bytes += len;
      offset += spool::RecordBytes(len);
      ++seq;
      ++count;
    }
    reader_segment_ = segment->id;
    reader_seq_ = seq;
    reader_offset_ = offset;
    if (seq == segment->end_seq && segment->sealed) {
      // Read past: drop the mapping now unless the disk thread is syncing it (then
      // UnmapIdle does, since the reader has moved on).
      if (!segment->pinned && (!fsync_ || segment->synced >= segment->end)) segment->map.Reset();
      reader_segment_ = 0;
    }
    if (full) break;
  }
  return count;
}

std::optional<EventSpool::Gap> FileSpool::GapAt(uint64_t seq) const {
  std::lock_guard lock(mu_);
  for (const Gap& gap : gaps_) {
    if (gap.first <= seq && seq <= gap.last) return Gap{seq, gap.last};
  }
  return std::nullopt;
}

void FileSpool::Acknowledge(uint64_t seq) {
  std::lock_guard lock(mu_);
  seq = std::min(seq, next_seq_ - 1);
  if (seq <= acknowledged_) return;
  acknowledged_ = seq;
  std::erase_if(gaps_, [&](const Gap& gap) { return gap.last <= seq; });
  for (Gap& gap : gaps_) gap.first = std::max(gap.first, seq + 1);
  UpdateOldestLocked();
  if (segments_.size() > 1 && segments_.front()->end_seq - 1 <= seq) disk_.Wake(this);
}

void FileSpool::UpdateOldestLocked() {
  oldest_ms_ = 0;
  for (const auto& segment : segments_) {
    if (segment->end_seq <= acknowledged_ + 1 || segment->index.empty()) continue;
    const uint64_t want = std::max(acknowledged_ + 1, segment->first_seq);
    auto it = std::upper_bound(segment->index.begin(), segment->index.end(), want,
                               [](uint64_t s, const IndexEntry& e) { return s < e.seq; });
    oldest_ms_ = std::prev(it)->appended_ms;
    return;
  }
}

EventSpool::Stream FileSpool::stream() const {
  std::lock_guard lock(mu_);
  return stream_;
}

Status FileSpool::StartNewStream(Stream stream) {
  // Only the reader calls this, so the file needs no lock; Append is not held up by
  // the fsyncs.
  Status s = spool::WriteFileAtomically(dir_, "stream",
                                        stream.id + "\n" + std::to_string(stream.base) + "\n");
  std::lock_guard lock(mu_);
  if (!s.ok()) {
    FatalLocked(s);
    return s;
  }
  stream_ = std::move(stream);
  return Status::Ok();
}

uint64_t FileSpool::next_seq() const {
  std::lock_guard lock(mu_);
  return next_seq_;
}

uint64_t FileSpool::acknowledged() const {
  std::lock_guard lock(mu_);
  return acknowledged_;
}

size_t FileSpool::UnacknowledgedSegmentsLocked() const {
  size_t count = 0;
  for (const auto& segment : segments_) {
    if (segment->end_seq - 1 > acknowledged_ || segment.get() == segments_.back().get()) ++count;
  }
  return count;
}

uint64_t FileSpool::LostLocked() const {
  uint64_t lost = 0;
  for (const Gap& gap : gaps_) lost += gap.last - gap.first + 1;
  return lost;
}

uint64_t FileSpool::events() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1 - acknowledged_ - LostLocked();
}

uint64_t FileSpool::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

int64_t FileSpool::oldest_unacknowledged_ms() const {
  std::lock_guard lock(mu_);
  return next_seq_ - 1 > acknowledged_ ? oldest_ms_ : 0;
}

}  // namespace rt
