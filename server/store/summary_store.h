#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "server/model/slice_stats.h"

namespace kyotocabinet {
class HashDB;
}

namespace rt {

// The small Kyoto file `summary.kch` of a data dir (docs/design.md §7 "Store records"):
// what outlives the period files. The final counters of every sealed slice, the
// stream marks carried over from sealed files, the key id, the period length the
// data dir was created with, the seal and retain horizons, and whether the legacy
// `rt.kch` is still in use.
//
// Each change is one Kyoto transaction, so a sealing is all or nothing; the period
// file it seals is deleted only after it committed (and is deleted at the next open
// if the process died in between).
//
// Not thread-safe for writing: owned by the store's single writer; the getters read
// what Open loaded or the writer set.
class SummaryStore {
 public:
  struct Header {
    int64_t period_slices = 0;  // 0: a new summary store (no header yet)
    int64_t sealed_before = 0;  // slices below were sealed: their counts are final
    int64_t retained_from = 0;  // slices below were dropped (--retain-slices)
    bool legacy = false;        // rt.kch still holds open slices
    std::string key_id;
  };
  // What a sealing writes, in one transaction.
  struct Seal {
    int64_t sealed_before = 0;
    bool legacy_left = false;                             // rt.kch is sealed with it
    std::vector<std::pair<int64_t, SliceStats>> slices;   // final counts
    std::vector<std::pair<std::string, uint64_t>> marks;  // max with the stored ones
  };

  [[nodiscard]] static Result<std::unique_ptr<SummaryStore>> Open(const std::string& path);
  ~SummaryStore();
  SummaryStore(const SummaryStore&) = delete;
  SummaryStore& operator=(const SummaryStore&) = delete;

  const Header& header() const { return header_; }
  // Writes a new header, and `marks` (migration of a legacy file), in one transaction.
  [[nodiscard]] Status Init(const Header& header,
                            const std::vector<std::pair<std::string, uint64_t>>& marks);
  [[nodiscard]] Status Apply(const Seal& seal);
  // Drops the summaries of `slices` and records retained_from.
  [[nodiscard]] Status Drop(int64_t retained_from, const std::vector<int64_t>& slices);
  [[nodiscard]] Status SetKeyId(std::string_view key_id);
  [[nodiscard]] Status SetMark(std::string_view stream, uint64_t mark);

  // The stream's mark as carried here (0 if none). Any thread (Kyoto locks).
  [[nodiscard]] Result<uint64_t> Mark(std::string_view stream) const;
  // Every stream's mark carried here (a scan: for start-up, not per request).
  [[nodiscard]] Result<std::vector<std::pair<std::string, uint64_t>>> Marks() const;
  // Adds every sealed slice with its final counts to `into`.
  [[nodiscard]] Status LoadSlices(std::map<int64_t, SliceStats>& into) const;
  [[nodiscard]] Status Sync();  // hard-synchronizes

 private:
  explicit SummaryStore(std::string path);
  Status LoadHeader();
  Status Transaction(const std::function<Status()>& body);
  Status SetU64(std::string_view key, uint64_t value);
  Status DbError(std::string_view what) const;

  const std::string path_;
  std::unique_ptr<kyotocabinet::HashDB> db_;
  Header header_;
};

}  // namespace rt
