#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"

namespace rt {

// Keeps disk blocks allocated ahead of a memory-mapped file's growth, so that a full
// disk is an error return instead of a SIGBUS.
//
// Why: Kyoto Cabinet extends its file with ftruncate (a sparse hole) and then writes
// the new records with memcpy into its memory map (kcfile.cc File::write, inside
// `tune_map`). Storing into a page of a hole makes the kernel allocate a block at
// fault time; on a full disk (or a full tmpfs) that fault is a SIGBUS and the worker
// dies. Writing through pwrite instead (a map of 0) would turn it into ENOSPC, but
// costs ~2x per event (bench/README.md: the store past its map). So before a batch
// the store asks for [0, end) to be allocated, `end` past anything the batch can
// write, with fallocate(FALLOC_FL_KEEP_SIZE): blocks are reserved without changing
// the file size Kyoto sees, the holes inside the file (its bucket array is created
// sparse) are filled too, and when the disk is full fallocate fails with ENOSPC
// before anything was written.
//
// Kyoto frees blocks past its logical size when it synchronizes, aborts a
// transaction or closes (ftruncate to the logical size), so after those the owner
// calls Forget with that size and the next Ensure allocates again.
//
// The descriptor stays open until destruction: closing any descriptor of a file drops
// every fcntl lock this process holds on it, Kyoto's lock included, so the owner must
// destroy this only after closing the database.
// Not thread-safe: owned by the store's single writer.
class FileReserve {
 public:
  // Opens `path` (which must exist) for fallocate. On a filesystem without
  // fallocate support the reserve is disabled: Ensure then always succeeds (the
  // behaviour before this class existed), `enabled()` says so.
  [[nodiscard]] static Result<std::unique_ptr<FileReserve>> Open(const std::string& path);
  ~FileReserve();
  FileReserve(const FileReserve&) = delete;
  FileReserve& operator=(const FileReserve&) = delete;

  // Makes sure [0, end) is allocated; allocates up to end + step at once so that
  // most batches cost no system call. When end + step does not fit, retries with
  // exactly `end`. ResourceExhausted (no space) or IoError; nothing is written.
  [[nodiscard]] Status Ensure(int64_t end, int64_t step);
  // Only [0, valid_to) is known to be allocated any more.
  void Forget(int64_t valid_to);
  // Free bytes for unprivileged writers on the file's filesystem; -1 if unknown.
  int64_t FreeBytes() const;

  bool enabled() const { return enabled_; }
  int64_t reserved_to() const { return reserved_to_; }

 private:
  FileReserve(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  Status Allocate(int64_t end);

  const std::string path_;
  const int fd_;
  bool enabled_ = true;
  int64_t reserved_to_ = 0;  // [0, reserved_to_) is allocated
};

}  // namespace rt
