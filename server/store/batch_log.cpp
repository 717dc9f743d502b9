#include "server/store/batch_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>

namespace rt {
namespace {

constexpr char kMagic[4] = {'R', 'T', 'B', 'L'};
constexpr size_t kHeaderSize = 4 + 4 + 8;
constexpr size_t kEventSize = 8 + 16 + 1;
constexpr size_t kTotalSize = 8 + 3 * 8;

uint64_t Fnv1a(const char* data, size_t size) {
  uint64_t hash = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<uint8_t>(data[i]);
    hash *= 1099511628211ull;
  }
  return hash;
}

void PutU64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutU32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
uint64_t GetU64(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}
uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(p[i]);
  return v;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::IoError(what + " " + path + ": " + std::strerror(errno));
}

// Reads one payload; false if it is not a well-formed record.
bool DecodePayload(const char* p, size_t size, BatchRequest& batch,
                   std::vector<SliceTotal>& totals) {
  const char* end = p + size;
  auto take_string = [&](std::string& out) {
    if (end - p < 4) return false;
    uint32_t len = GetU32(p);
    p += 4;
    if (static_cast<size_t>(end - p) < len) return false;
    out.assign(p, len);
    p += len;
    return true;
  };
  if (!take_string(batch.stream)) return false;
  if (end - p < 8) return false;
  batch.first_seq = GetU64(p);
  p += 8;
  if (!take_string(batch.key_id)) return false;
  if (end - p < 4) return false;
  uint32_t count = GetU32(p);
  p += 4;
  if (static_cast<size_t>(end - p) < count * kEventSize) return false;
  batch.events.resize(count);
  for (BatchEvent& event : batch.events) {
    event.slice = static_cast<int64_t>(GetU64(p));
    std::memcpy(event.key.bytes.data(), p + 8, UserKey::kSize);
    uint8_t action = static_cast<uint8_t>(p[24]);
    if (action > 1) return false;
    event.action = static_cast<Action>(action);
    p += kEventSize;
  }
  if (p == end) return true;  // a record without totals
  if (end - p < 4) return false;
  const uint32_t slices = GetU32(p);
  p += 4;
  if (static_cast<size_t>(end - p) != slices * kTotalSize) return false;
  totals.resize(slices);
  for (SliceTotal& total : totals) {
    total.first = static_cast<int64_t>(GetU64(p));
    total.second = {GetU64(p + 8), GetU64(p + 16), GetU64(p + 24)};
    p += kTotalSize;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<BatchLog>> BatchLog::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot open batch log", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Errno("cannot stat batch log", path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<BatchLog>(new BatchLog(path, fd, static_cast<uint64_t>(st.st_size)));
}

BatchLog::BatchLog(std::string path, int fd, uint64_t size)
    : path_(std::move(path)), fd_(fd), size_(size) {}

BatchLog::~BatchLog() { ::close(fd_); }

namespace {

// The record starting at `pos` of `data`, if it is complete and well formed; its
// size through `record_size`, its totals through `totals`.
std::optional<BatchRequest> RecordAt(const std::string& data, size_t pos, size_t& record_size,
                                     std::vector<SliceTotal>& totals) {
  if (data.size() - pos < kHeaderSize) return std::nullopt;
  const char* header = data.data() + pos;
  if (std::memcmp(header, kMagic, 4) != 0) return std::nullopt;
  const uint32_t payload_size = GetU32(header + 4);
  if (data.size() - pos - kHeaderSize < payload_size) return std::nullopt;
  const char* payload = header + kHeaderSize;
  if (Fnv1a(payload, payload_size) != GetU64(header + 8)) return std::nullopt;
  BatchRequest batch;
  totals.clear();
  if (!DecodePayload(payload, payload_size, batch, totals)) return std::nullopt;
  record_size = kHeaderSize + payload_size;
  return batch;
}

// The offset of the first good record after `pos`, if any.
std::optional<size_t> GoodRecordAfter(const std::string& data, size_t pos) {
  const std::string_view magic(kMagic, 4);
  for (size_t at = data.find(magic, pos + 1); at != std::string::npos;
       at = data.find(magic, at + 1)) {
    size_t size = 0;
    std::vector<SliceTotal> totals;
    if (RecordAt(data, at, size, totals)) return at;
  }
  return std::nullopt;
}

}  // namespace

Result<BatchLog::Contents> BatchLog::ReadAll() {
  std::string data(size_, '\0');
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read batch log", path_);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  Contents contents;
  size_t pos = 0;
  size_t record_size = 0;
  std::vector<SliceTotal> totals;
  while (auto batch = RecordAt(data, pos, record_size, totals)) {
    contents.batches.push_back(std::move(*batch));
    contents.totals.push_back(std::move(totals));
    pos += record_size;
  }
  if (pos == data.size()) return contents;
  if (const std::optional<size_t> good = GoodRecordAfter(data, pos)) {
    return Status::IoError(
        "batch log " + path_ + " is damaged at byte " + std::to_string(pos) + " (after record " +
        std::to_string(contents.batches.size()) + ") but holds a good record at byte " +
        std::to_string(*good) +
        ": refusing to start, since cutting it there would drop acknowledged batches; "
        "keep a copy, then truncate it to " +
        std::to_string(pos) + " bytes to start without the batches after the damage");
  }
  // A torn or garbled tail: it was never acknowledged.
  if (::ftruncate(fd_, static_cast<off_t>(pos)) != 0) {
    return Errno("cannot cut torn tail of batch log", path_);
  }
  contents.torn_tail_bytes = size_ - pos;
  size_ = pos;
  return contents;
}

void BatchLog::Append(std::string_view stream, uint64_t first_seq, std::string_view key_id,
                      std::span<const BatchEvent> events, std::span<const SliceTotal> totals) {
  size_t start = buffer_.size();
  buffer_.append(kHeaderSize, '\0');
  PutU32(buffer_, static_cast<uint32_t>(stream.size()));
  buffer_.append(stream);
  PutU64(buffer_, first_seq);
  PutU32(buffer_, static_cast<uint32_t>(key_id.size()));
  buffer_.append(key_id);
  PutU32(buffer_, static_cast<uint32_t>(events.size()));
  for (const BatchEvent& event : events) {
    PutU64(buffer_, static_cast<uint64_t>(event.slice));
    buffer_.append(reinterpret_cast<const char*>(event.key.bytes.data()), UserKey::kSize);
    buffer_.push_back(static_cast<char>(event.action));
  }
  if (!totals.empty()) {
    PutU32(buffer_, static_cast<uint32_t>(totals.size()));
    for (const auto& [slice, stats] : totals) {
      PutU64(buffer_, static_cast<uint64_t>(slice));
      PutU64(buffer_, stats.unique_users);
      PutU64(buffer_, stats.clicks);
      PutU64(buffer_, stats.impressions);
    }
  }
  size_t payload_size = buffer_.size() - start - kHeaderSize;
  std::string header(kMagic, 4);
  PutU32(header, static_cast<uint32_t>(payload_size));
  PutU64(header, Fnv1a(buffer_.data() + start + kHeaderSize, payload_size));
  buffer_.replace(start, kHeaderSize, header);
}

Status BatchLog::Flush() {
  size_t done = 0;
  while (done < buffer_.size()) {
    ssize_t n = ::write(fd_, buffer_.data() + done, buffer_.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot append to batch log", path_);
    done += static_cast<size_t>(n);
  }
  size_ += buffer_.size();
  buffer_.clear();
  if (::fdatasync(fd_) != 0) return Errno("cannot fsync batch log", path_);
  return Status::Ok();
}

Status BatchLog::Truncate() {
  buffer_.clear();
  if (size_ == 0) return Status::Ok();
  if (::ftruncate(fd_, 0) != 0) return Errno("cannot truncate batch log", path_);
  size_ = 0;
  return Status::Ok();
}

}  // namespace rt
