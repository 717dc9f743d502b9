#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/file_io.h"
#include "base/status.h"

namespace rt::spool {

// The spool's file-system operations: its segments' mappings, and (from base/file_io.h,
// named here as the spool's code always called them) the durable file writes.
using rt::EnsureDir;
using rt::ErrnoStatus;
using rt::ReadSmallFile;
using rt::SyncDir;
using rt::WriteFileAtomically;

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
