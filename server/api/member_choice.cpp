#include "server/api/member_choice.h"

namespace rt {

bool Dominates(const ReplicaMarks& a, const ReplicaMarks& b) {
  auto ia = a.streams.begin();
  for (const auto& [stream, mark] : b.streams) {
    if (mark == 0) continue;
    while (ia != a.streams.end() && ia->first < stream) ++ia;
    if (ia == a.streams.end() || ia->first != stream || ia->second < mark) return false;
  }
  return true;
}

namespace {

uint64_t Events(const SliceStats& stats) { return stats.clicks + stats.impressions; }

uint64_t MarkSum(const ReplicaMarks& marks) {
  uint64_t sum = 0;
  for (const auto& entry : marks.streams) sum += entry.second;
  return sum;
}

}  // namespace

size_t ChooseMember(std::span<const MemberAnswer> answers) {
  size_t best = answers.size();
  for (size_t i = 0; i < answers.size(); ++i) {
    if (!answers[i].marks->sealed) continue;
    if (best == answers.size() || Events(*answers[i].stats) > Events(*answers[best].stats)) {
      best = i;
    }
  }
  if (best != answers.size()) return best;

  for (size_t i = 0; i < answers.size(); ++i) {
    bool dominates = true;
    for (size_t j = 0; j < answers.size() && dominates; ++j) {
      dominates = i == j || Dominates(*answers[i].marks, *answers[j].marks);
    }
    if (dominates) return i;
  }

  best = 0;
  uint64_t best_sum = MarkSum(*answers[0].marks);
  for (size_t i = 1; i < answers.size(); ++i) {
    if (const uint64_t sum = MarkSum(*answers[i].marks); sum > best_sum) {
      best = i;
      best_sum = sum;
    }
  }
  return best;
}

}  // namespace rt
