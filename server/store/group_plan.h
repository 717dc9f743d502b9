#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "server/model/slice_stats.h"
#include "server/store/kc_records.h"

namespace rt {

// A slice's totals after a batch, as the batch log records them (docs/design.md §7
// "Store records", --fsync and the batch log).
using SliceTotal = std::pair<int64_t, SliceStats>;

// What the batches planned so far in an fsync group will have done once applied
// (KcStore::WriteGroup): with --fsync a batch is planned, logged with the totals it
// leads to, and only then written to Kyoto, so while a group is planned its earlier
// batches are not in Kyoto yet and their effects are read from here.
//
// Writer-only; cleared at the start of every planning round.
class GroupPlan {
 public:
  using Marker = std::array<char, kc_records::kMarkerSize>;

  void Clear() {
    slices_.clear();
    marks_.clear();
    markers_.clear();
    key_id_.clear();
    totals_.clear();
  }

  // A marker planned by an earlier event of the group: true the first time (a new
  // user, if the file does not hold it either).
  bool AddMarker(const char (&marker)[kc_records::kMarkerSize]) {
    Marker m;
    std::memcpy(m.data(), marker, m.size());
    return markers_.insert(m).second;
  }

  // A slice's planned totals, or null when no planned batch touched it.
  const SliceStats* Slice(int64_t slice) const {
    const auto it = slices_.find(slice);
    return it == slices_.end() ? nullptr : &it->second;
  }
  // Records a planned batch's totals of one slice, also for the batch's log record.
  void SetSlice(int64_t slice, const SliceStats& totals) {
    slices_[slice] = totals;
    totals_.emplace_back(slice, totals);
  }
  const std::map<int64_t, SliceStats>& slices() const { return slices_; }

  // The stream's planned mark, or 0 when no planned batch of it moved it.
  uint64_t Mark(std::string_view stream) const {
    const auto it = marks_.find(std::string(stream));
    return it == marks_.end() ? 0 : it->second;
  }
  void SetMark(std::string_view stream, uint64_t mark) { marks_[std::string(stream)] = mark; }

  const std::string& key_id() const { return key_id_; }
  void set_key_id(std::string_view key_id) { key_id_ = key_id; }

  // The totals of the batch being planned, in the order its files were planned; the
  // caller empties them before each batch.
  std::vector<SliceTotal>& totals() { return totals_; }

 private:
  struct MarkerHash {
    // The user key is a keyed hash, so its first bytes are as good as any hash.
    size_t operator()(const Marker& m) const {
      uint64_t slice = 0;
      uint64_t user = 0;
      std::memcpy(&slice, m.data() + 1, sizeof slice);
      std::memcpy(&user, m.data() + 9, sizeof user);
      return static_cast<size_t>(user ^ (slice * 0x9e3779b97f4a7c15ull));
    }
  };

  std::map<int64_t, SliceStats> slices_;
  std::unordered_map<std::string, uint64_t> marks_;
  std::unordered_set<Marker, MarkerHash> markers_;
  std::string key_id_;
  std::vector<SliceTotal> totals_;
};

}  // namespace rt
