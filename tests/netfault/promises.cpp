#include "tests/netfault/promises.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>

namespace rt::netfault {
namespace {

uint64_t Events(const SliceStats& s) { return s.clicks + s.impressions; }

std::string Describe(const Record& r) {
  std::ostringstream out;
  out << (r.kind == Record::Kind::kPost ? "POST"
          : r.no_cache                  ? "GET no-cache"
                                        : "GET")
      << " api " << r.api << " sent " << r.sent_us / 1000 << " ms answered " << r.done_us / 1000
      << " ms: " << r.status;
  if (r.kind == Record::Kind::kPost) out << " (set " << r.set << ")";
  if (r.status == 200 && r.kind == Record::Kind::kRead) {
    out << " users " << r.stats.unique_users << " clicks " << r.stats.clicks << " impressions "
        << r.stats.impressions;
  }
  if (!r.reason.empty()) out << " " << r.reason;
  return out.str();
}

// Counts broken promises; prints the first few of each kind.
class Breaks {
 public:
  void Add(const std::string& kind, const std::string& what) {
    if (++by_kind_[kind] <= 3) std::cout << "  BROKEN " << kind << ": " << what << "\n";
    ++total_;
  }
  int total() const { return total_; }

 private:
  std::map<std::string, int> by_kind_;
  int total_ = 0;
};

// The upper bound on a read answered at time t: the events of every POST sent
// before t that was not refused (202, or not answered yet at t).
class Truth {
 public:
  explicit Truth(const std::vector<Record>& records) {
    for (const Record& r : records) {
      if (r.kind == Record::Kind::kPost && (r.status == 202 || r.status == 0)) {
        posts_.push_back({r.sent_us, r.click});
      }
    }
    std::sort(posts_.begin(), posts_.end());
    SliceStats sum;
    for (const auto& [sent, click] : posts_) {
      (click ? sum.clicks : sum.impressions) += 1;
      prefix_.push_back(sum);
    }
  }
  // Refused POSTs sent before t are left out too: a refused event is never counted.
  SliceStats UpperBoundAt(int64_t t) const {
    const auto end = std::lower_bound(posts_.begin(), posts_.end(), std::make_pair(t, false));
    if (end == posts_.begin()) return {};
    return prefix_[static_cast<size_t>(end - posts_.begin()) - 1];
  }

 private:
  std::vector<std::pair<int64_t, bool>> posts_;
  std::vector<SliceStats> prefix_;
};

struct Distribution {
  std::vector<int64_t> values;
  void Print(const char* what) const {
    if (values.empty()) {
      std::printf("  %s: none\n", what);
      return;
    }
    std::vector<int64_t> v = values;
    std::sort(v.begin(), v.end());
    const auto at = [&](double q) { return v[static_cast<size_t>(q * (v.size() - 1))] / 1000.0; };
    std::printf("  %s: n=%zu min %.0f p50 %.0f p90 %.0f p99 %.0f max %.0f ms\n", what, v.size(),
                at(0), at(0.5), at(0.9), at(0.99), at(1));
  }
};

// Reads that answered less than a read that had already been answered before they
// were sent (real-time order), among the 200s `include` selects.
template <typename Include>
std::pair<int, int> CountBackwards(const std::vector<Record>& records, Include include) {
  std::vector<const Record*> reads;
  for (const Record& r : records) {
    if (r.kind == Record::Kind::kRead && r.status == 200 && include(r)) reads.push_back(&r);
  }
  std::vector<const Record*> by_done = reads;
  std::sort(reads.begin(), reads.end(),
            [](const Record* a, const Record* b) { return a->sent_us < b->sent_us; });
  std::sort(by_done.begin(), by_done.end(),
            [](const Record* a, const Record* b) { return a->done_us < b->done_us; });
  uint64_t seen = 0;
  size_t next = 0;
  int backwards = 0;
  for (const Record* r : reads) {
    while (next < by_done.size() && by_done[next]->done_us < r->sent_us) {
      seen = std::max(seen, Events(by_done[next]->stats));
      ++next;
    }
    if (Events(r->stats) < seen) ++backwards;
  }
  return {backwards, static_cast<int>(reads.size())};
}

void PrintBackwards(const std::vector<Record>& records, int apis) {
  const auto [fresh_behind, fresh] =
      CountBackwards(records, [](const Record& r) { return r.no_cache; });
  int node_behind = 0, node_reads = 0;
  for (int api = 0; api < apis; ++api) {
    const auto [behind, of] =
        CountBackwards(records, [api](const Record& r) { return r.api == api; });
    node_behind += behind;
    node_reads += of;
  }
  const auto [all_behind, all] = CountBackwards(records, [](const Record&) { return true; });
  std::printf(
      "  reads behind a read answered before they were sent: no-cache %d of %d; "
      "through the same API node %d of %d; any %d of %d\n",
      fresh_behind, fresh, node_behind, node_reads, all_behind, all);
}

}  // namespace

int CheckPromises(const std::vector<Record>& records, const ScenarioFacts& facts) {
  Breaks breaks;
  const Truth truth(records);
  if (std::getenv("RT_NETFAULT_DUMP") != nullptr) {
    std::printf("  fault from %lld to %lld ms\n",
                static_cast<long long>(facts.fault_start_us / 1000),
                static_cast<long long>(facts.fault_end_us / 1000));
    for (const Record& r : records) {
      if (r.kind == Record::Kind::kRead) std::printf("  %s\n", Describe(r).c_str());
    }
  }
  const auto in_fault = [&](const Record& r) {
    return r.sent_us < facts.fault_end_us && r.done_us >= facts.fault_start_us;
  };

  // POSTs: every one answered; those of unaffected sets always accepted.
  SliceStats accepted;
  int posts = 0, unanswered = 0, affected_during = 0, affected_accepted = 0;
  for (const Record& r : records) {
    if (r.kind != Record::Kind::kPost) continue;
    ++posts;
    if (r.status == 0) {
      ++unanswered;
      breaks.Add("a POST was not answered", Describe(r));
      continue;
    }
    if (r.status == 202) (r.click ? accepted.clicks : accepted.impressions) += 1;
    const bool affected = facts.affected_sets.count(r.set) > 0;
    if (affected && in_fault(r)) {
      ++affected_during;
      affected_accepted += r.status == 202;
    }
    if (!affected && r.status != 202) {
      breaks.Add("a POST for an unaffected set was refused", Describe(r));
    } else if (r.status != 202 && r.status != 503) {
      breaks.Add("a POST answered neither 202 nor 503", Describe(r));
    }
  }
  accepted.unique_users = Events(accepted);

  // Reads: never above the truth, never a partial sum, a 503 within the deadline.
  Distribution unavailable_latency, answered_latency;
  int reads = 0, ok_during = 0, unavailable_during = 0, reads_during = 0;
  for (const Record& r : records) {
    if (r.kind != Record::Kind::kRead) continue;
    ++reads;
    const int64_t took = r.done_us - r.sent_us;
    if (in_fault(r)) {
      ++reads_during;
      ok_during += r.status == 200;
      unavailable_during += r.status == 503;
    }
    if (r.status == 200) {
      answered_latency.values.push_back(took);
      if (facts.reads_must_answer_api.count(r.api) > 0 &&
          took >=
              std::chrono::duration_cast<std::chrono::microseconds>(kMemberGrace + kDeadlineMargin)
                  .count()) {
        breaks.Add("a read that a member of every set could answer waited for the unreachable one",
                   Describe(r));
      }
      const SliceStats bound = truth.UpperBoundAt(r.done_us);
      if (r.stats.clicks > bound.clicks || r.stats.impressions > bound.impressions) {
        breaks.Add("a read answered above the truth",
                   Describe(r) + " > clicks " + std::to_string(bound.clicks) + " impressions " +
                       std::to_string(bound.impressions));
      }
      if (r.stats.clicks < facts.preload.clicks ||
          r.stats.impressions < facts.preload.impressions) {
        breaks.Add("a read answered a partial sum",
                   Describe(r) + " < preload " + std::to_string(Events(facts.preload)));
      }
      if (r.stats.unique_users != Events(r.stats)) {
        breaks.Add("a read's users are not its events (one user per event)", Describe(r));
      }
    } else if (r.status == 503) {
      unavailable_latency.values.push_back(took);
      if (took >=
          std::chrono::duration_cast<std::chrono::microseconds>(kReadDeadline + kDeadlineMargin)
              .count()) {
        breaks.Add("a 503 came later than the deadline from the read's arrival", Describe(r));
      }
      if (r.reason.rfind("worker ", 0) != 0 && r.reason.rfind("replica set ", 0) != 0) {
        breaks.Add("a read's 503 does not name the worker or replica set", Describe(r));
      }
      if (facts.reads_must_answer_api.count(r.api) > 0) {
        breaks.Add("a read through an API node that reaches a member of every set failed",
                   Describe(r));
      }
    } else {
      breaks.Add("a read answered neither 200 nor 503", Describe(r));
    }
  }

  // After healing: every 202 counted exactly once, through every API node.
  for (size_t api = 0; api < facts.final_by_api.size(); ++api) {
    const SliceStats& got = facts.final_by_api[api];
    if (!(got == accepted)) {
      breaks.Add("after healing the count is not the 202s",
                 "api " + std::to_string(api) + " clicks " + std::to_string(got.clicks) + "/" +
                     std::to_string(accepted.clicks) + " impressions " +
                     std::to_string(got.impressions) + "/" + std::to_string(accepted.impressions) +
                     " users " + std::to_string(got.unique_users));
    }
  }

  std::printf(
      "%s: %d POSTs (%lld accepted, %d unanswered), affected sets' POSTs during the "
      "fault %d/%d accepted; %d reads (%d not sent: %d in flight), during the fault %d "
      "answered 200, %d 503 of %d\n",
      facts.name.c_str(), posts, static_cast<long long>(Events(accepted)), unanswered,
      affected_accepted, affected_during, reads, facts.reads_not_sent,
      ClientHistory::kMaxReadsInFlight, ok_during, unavailable_during, reads_during);
  unavailable_latency.Print("503 from the read's arrival");
  answered_latency.Print("200 from the read's arrival");
  PrintBackwards(records, static_cast<int>(facts.final_by_api.size()));
  std::printf("  %s\n", breaks.total() == 0 ? "every promise kept" : "PROMISES BROKEN");
  std::fflush(stdout);
  return breaks.total();
}

}  // namespace rt::netfault
