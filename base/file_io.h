#pragma once

#include <string>

#include "base/status.h"

namespace rt {

// The few durable file-system operations rt needs in several layers (the spool, a
// worker's STALE file, rtctl reseed-worker), each returning a Status whose message
// names the file and strerror, so that a fatal error says exactly what failed.

// A file descriptor closed when it goes out of scope.
class UniqueFd {
 public:
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd();
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// "<what> <path>: <strerror(err)>"
Status ErrnoStatus(const std::string& what, const std::string& path, int err);

// Writes all of `content` to `fd` (retrying short writes and EINTR).
Status WriteAll(int fd, const std::string& content, const std::string& path);
// Writes `content` to dir/name atomically: a temp file, fsync, rename over the name,
// fsync of the directory. A reader (or a restart) sees the old content or the new.
Status WriteFileAtomically(const std::string& dir, const std::string& name,
                           const std::string& content);
// The whole content of a small file (up to 1 MiB); kNotFound when it does not exist.
Result<std::string> ReadSmallFile(const std::string& path);
Status SyncDir(const std::string& dir);
// fdatasync of a file no descriptor of ours holds open: its dirty pages, whoever wrote
// them, reach the disk (a period file closed while idle).
Status SyncFile(const std::string& path);
// mkdir unless it exists (then fsync of the parent so that the entry is durable).
Status EnsureDir(const std::string& dir);

}  // namespace rt
