#include "sim/oracle.h"

#include <set>

namespace rt {
namespace {

void DescribeField(std::string& out, const char* name, uint64_t expected, uint64_t actual) {
  if (expected == actual) return;
  if (out.back() != ':') out += ',';
  out += ' ';
  out += name;
  out += ' ' + std::to_string(expected) + " != " + std::to_string(actual);
}

}  // namespace

std::string SliceMismatch::Describe() const {
  std::string out = "slice " + std::to_string(slice) + ":";
  if (!actual) {
    out += " missing in the cluster (oracle: unique_users " +
           std::to_string(expected.unique_users) + ", clicks " + std::to_string(expected.clicks) +
           ", impressions " + std::to_string(expected.impressions) + ")";
    return out;
  }
  DescribeField(out, "unique_users", expected.unique_users, actual->unique_users);
  DescribeField(out, "clicks", expected.clicks, actual->clicks);
  DescribeField(out, "impressions", expected.impressions, actual->impressions);
  out += " (oracle != cluster)";
  return out;
}

void Oracle::Record(int64_t slice, std::string_view user, Action action) {
  std::lock_guard lock(mutex_);
  Slice& s = slices_[slice];
  s.users.emplace(user);
  if (action == Action::kClick) {
    ++s.clicks;
  } else {
    ++s.impressions;
  }
  ++events_;
}

SliceStats Oracle::StatsOf(const Slice& slice) {
  return SliceStats{slice.users.size(), slice.clicks, slice.impressions};
}

SliceStats Oracle::StatsFor(int64_t slice) const {
  std::lock_guard lock(mutex_);
  const auto it = slices_.find(slice);
  return it == slices_.end() ? SliceStats{} : StatsOf(it->second);
}

std::map<int64_t, SliceStats> Oracle::AllSlices() const {
  std::lock_guard lock(mutex_);
  std::map<int64_t, SliceStats> all;
  for (const auto& [slice, s] : slices_) all.emplace(slice, StatsOf(s));
  return all;
}

uint64_t Oracle::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<SliceMismatch> Oracle::Compare(const std::map<int64_t, SliceStats>& cluster) const {
  const std::map<int64_t, SliceStats> expected = AllSlices();
  std::set<int64_t> slices;
  for (const auto& entry : expected) slices.insert(entry.first);
  for (const auto& entry : cluster) slices.insert(entry.first);

  std::vector<SliceMismatch> mismatches;
  for (int64_t slice : slices) {
    const auto want = expected.find(slice);
    const auto got = cluster.find(slice);
    SliceMismatch m;
    m.slice = slice;
    if (want != expected.end()) m.expected = want->second;
    if (got != cluster.end()) m.actual = got->second;
    if (!m.actual) {
      mismatches.push_back(m);  // the oracle has it (it is in the union)
    } else if (*m.actual != m.expected) {
      mismatches.push_back(m);
    }
  }
  return mismatches;
}

}  // namespace rt
