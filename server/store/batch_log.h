#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/store/batch_request.h"

namespace rt {

// The append-only batch log that makes --fsync cheap: an fsynced append costs a
// fraction of a millisecond where a Kyoto hard-sync commit costs ~200 ms. Batches
// are applied to Kyoto (no hard sync), appended here, and acknowledged after one
// fsync of the log per group. At open the log is replayed into Kyoto; replay is
// idempotent because each record carries its stream and seqs. Once Kyoto has been
// hard-synchronized the log is truncated.
//
// Record: "RTBL", u32 payload size, u64 FNV-1a of the payload, payload (stream,
// first seq, key id, events); integers little-endian. A torn last record (a crash
// during an unacknowledged append) fails its checksum and is dropped.
//
// Not thread-safe: owned and used by the store's single writer.
class BatchLog {
 public:
  [[nodiscard]] static Result<std::unique_ptr<BatchLog>> Open(const std::string& path);
  ~BatchLog();
  BatchLog(const BatchLog&) = delete;
  BatchLog& operator=(const BatchLog&) = delete;

  // Every complete record from the start, in append order; cuts a torn tail off.
  [[nodiscard]] Result<std::vector<BatchRequest>> ReadAll();

  // Buffers a record; nothing reaches the file before Flush.
  void Append(const BatchRequest& batch);
  // Writes the buffered records and fdatasyncs the file once.
  [[nodiscard]] Status Flush();
  // Empties the file. REQUIRES: everything in it is durable elsewhere.
  [[nodiscard]] Status Truncate();

  uint64_t SizeBytes() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  BatchLog(std::string path, int fd, uint64_t size);

  const std::string path_;
  int fd_;
  uint64_t size_;  // bytes in the file
  std::string buffer_;
};

}  // namespace rt
