#include "sim/oracle.h"

#include <set>

namespace rt {
namespace {

void DescribeField(std::string& out, const char* name, uint64_t expected, uint64_t slack,
                   uint64_t actual) {
  if (actual >= expected && actual <= expected + slack) return;
  if (out.back() != ':') out += ',';
  out += ' ';
  out += name;
  out += ' ' + std::to_string(expected);
  if (slack > 0) out += "..+" + std::to_string(slack);
  out += " != " + std::to_string(actual);
}

bool Within(const SliceStats& actual, const SliceStats& expected, const SliceStats& slack) {
  auto in = [](uint64_t a, uint64_t e, uint64_t s) { return a >= e && a <= e + s; };
  return in(actual.unique_users, expected.unique_users, slack.unique_users) &&
         in(actual.clicks, expected.clicks, slack.clicks) &&
         in(actual.impressions, expected.impressions, slack.impressions);
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
  DescribeField(out, "unique_users", expected.unique_users, slack.unique_users,
                actual->unique_users);
  DescribeField(out, "clicks", expected.clicks, slack.clicks, actual->clicks);
  DescribeField(out, "impressions", expected.impressions, slack.impressions, actual->impressions);
  out += " (oracle != cluster)";
  return out;
}

void Oracle::Slice::Add(std::string_view user, Action action) {
  users.emplace(user);
  if (action == Action::kClick) {
    ++clicks;
  } else {
    ++impressions;
  }
}

void Oracle::Record(int64_t slice, std::string_view user, Action action) {
  std::lock_guard lock(mutex_);
  slices_[slice].Add(user, action);
  ++events_;
}

void Oracle::RecordUnknown(int64_t slice, std::string_view user, Action action) {
  std::lock_guard lock(mutex_);
  unknown_[slice].Add(user, action);
  ++unknown_events_;
}

SliceStats Oracle::SlackLocked(int64_t slice) const {
  const auto it = unknown_.find(slice);
  if (it == unknown_.end()) return {};
  const auto known = slices_.find(slice);
  uint64_t new_users = 0;
  for (const std::string& user : it->second.users) {
    if (known == slices_.end() || !known->second.users.contains(user)) ++new_users;
  }
  return SliceStats{new_users, it->second.clicks, it->second.impressions};
}

SliceStats Oracle::SlackFor(int64_t slice) const {
  std::lock_guard lock(mutex_);
  return SlackLocked(slice);
}

uint64_t Oracle::unknown_events() const {
  std::lock_guard lock(mutex_);
  return unknown_events_;
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
    m.slack = SlackFor(slice);
    if (!m.actual) {
      if (want != expected.end()) mismatches.push_back(m);  // else: only unknown events
    } else if (!Within(*m.actual, m.expected, m.slack)) {
      mismatches.push_back(m);
    }
  }
  return mismatches;
}

}  // namespace rt
