#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "server/store/batch_request.h"
#include "server/store/group_plan.h"

namespace rt {

// The append-only batch log that makes --fsync cheap: an fsynced append costs a
// fraction of a millisecond where a Kyoto hard-sync commit costs ~200 ms. Batches
// are planned, appended here with the totals they lead to, fsynced once per group,
// then written to Kyoto (no hard sync) and acknowledged. At open the log is
// replayed into Kyoto (docs/design.md §7 "Store records", --fsync and the batch log). Once Kyoto
// has been hard-synchronized the log is truncated.
//
// Record: "RTBL", u32 payload size, u64 FNV-1a of the payload, payload (stream,
// first seq, key id, events, then u32 count and per touched slice i64 slice and
// u64 unique users, clicks, impressions after the batch); integers little-endian.
// Records of rt before the totals were logged end after the events: they read back
// with no totals.
//
// Damage: every record before the last group was fsynced before any of it was
// acknowledged, so only the end of the file can be torn by a crash, and only records
// nobody was told about. A bad record with no good record after it is such a torn
// tail: ReadAll cuts it off and reports how many bytes it cut. A bad record with a
// good one after it is damage in the middle (a bad disk, a stray write): cutting
// there would drop acknowledged batches, so ReadAll refuses and leaves the file
// alone for an operator.
//
// Not thread-safe: owned and used by the store's single writer.
class BatchLog {
 public:
  [[nodiscard]] static Result<std::unique_ptr<BatchLog>> Open(const std::string& path);
  ~BatchLog();
  BatchLog(const BatchLog&) = delete;
  BatchLog& operator=(const BatchLog&) = delete;

  struct Contents {
    std::vector<BatchRequest> batches;  // every good record, in append order
    // Per record of `batches`: the totals after it (empty for a record without).
    std::vector<std::vector<SliceTotal>> totals;
    uint64_t torn_tail_bytes = 0;  // cut off the end (see the class comment)
  };
  // Reads the whole log and cuts a torn tail off. IoError naming the offset when a
  // record before the end is damaged (nothing is cut then).
  [[nodiscard]] Result<Contents> ReadAll();

  // Buffers a record; nothing reaches the file before Flush.
  void Append(std::string_view stream, uint64_t first_seq, std::string_view key_id,
              std::span<const BatchEvent> events, std::span<const SliceTotal> totals);
  // A record without totals (as rt before them wrote).
  void Append(const BatchRequest& batch) {
    Append(batch.stream, batch.first_seq, batch.key_id, batch.events, {});
  }
  // Writes the buffered records and fdatasyncs the file once. A failure leaves the
  // file in an unknown state (after a failed fsync the kernel may have dropped the
  // dirty pages and a second fsync "succeed"), so the caller must treat it as fatal
  // and acknowledge nothing.
  [[nodiscard]] Status Flush();
  // Empties the file (nothing to do when it is empty already). REQUIRES: everything
  // in it is durable elsewhere.
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
