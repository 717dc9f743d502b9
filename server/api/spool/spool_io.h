#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace rt::spool {

// The few file-system operations of the spool, each returning a Status whose message
// names the file and strerror, so that a fatal error says exactly what failed.

// "<what> <path>: <strerror(err)>"
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// Writes `content` to dir/name atomically: a temp file, fsync, rename over the name,
// fsync of the directory. A reader (or a restart) sees the old content or the new.
Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           const std::string& content);
// The whole content of a small file; kNotFound when it does not exist.
Result<std::string> ReadSmallFile(const std::string& path);
Status SyncDir(const std::string& dir);
// mkdir unless it exists (then fsync of the parent so that the entry is durable).
Status EnsureDir(const std::string& dir);

// A file's shared read-write mapping. Move-only; unmaps when destroyed.
class Mapping {
 public:
  Mapping() = default;
  Mapping(char* data, size_t size) : data_(data), size_(size) {}
  ~Mapping() { Reset(); }
  Mapping(Mapping&& other) noexcept : data_(other.data_), size_(other.size_) {
    other.data_ = nullptr;
    other.size_ = 0;
  }
  Mapping& operator=(Mapping&& other) noexcept;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;

  char* data() const { return data_; }
  size_t size() const { return size_; }
  explicit operator bool() const { return data_ != nullptr; }
  void Reset();
  // msync(MS_SYNC) of [begin, end), widened to pages: on Linux this is an fdatasync of
  // that range of the file, metadata (the unwritten-extent conversion) included.
  Status Sync(size_t begin, size_t end, const std::string& path) const;

 private:
  char* data_ = nullptr;
  size_t size_ = 0;
};

// Creates `path` (which must not exist) with `bytes` allocated by posix_fallocate and
// maps it. A full device (ENOSPC, EDQUOT, or EFBIG past RLIMIT_FSIZE) is kUnavailable
// and leaves no file behind; any other failure is kIoError.
Result<Mapping> CreateSegmentFile(const std::string& path, size_t bytes);
// Maps an existing file whole; kIoError if it cannot be opened or is empty.
Result<Mapping> MapExistingFile(const std::string& path);

}  // namespace rt::spool
