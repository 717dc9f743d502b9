#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace rt::cli {

// What `rtctl send --count N` reports: how many events were sent, accepted
// (2xx) and rejected by status, how many never got an answer, the achieved rate
// and the latency percentiles. Keeps every latency (4 bytes per event), since N
// is bounded by the caller and exact percentiles are cheap to sort once.
// Not thread-safe.
class SendSummary {
 public:
  void Reserve(uint64_t events);
  // One answered request; `reason` is kept for the first rejection of a status.
  void RecordAnswer(long status, std::chrono::nanoseconds latency, const std::string& reason);
  // One request that got no answer (transport error).
  void RecordFailure() {
    ++sent_;
    ++failed_;
  }

  uint64_t sent() const { return sent_; }
  uint64_t accepted() const { return accepted_; }
  uint64_t rejected() const { return sent_ - accepted_ - failed_; }
  uint64_t failed() const { return failed_; }
  const std::map<long, uint64_t>& rejected_by_status() const { return rejected_by_status_; }
  const std::map<long, std::string>& first_reason_by_status() const { return first_reason_; }

  // The latency below which `fraction` of the answered requests fall (nearest
  // rank), in milliseconds; 0 with no answers. Sorts the samples.
  double LatencyPercentileMs(double fraction);

  // `key,value` lines for stdout: sent, accepted, rejected, rejected_<status>...,
  // failed, elapsed_s, rate_per_s, latency_p50_ms, latency_p99_ms.
  std::string Format(std::chrono::nanoseconds elapsed);

 private:
  uint64_t sent_ = 0;
  uint64_t accepted_ = 0;
  uint64_t failed_ = 0;
  std::map<long, uint64_t> rejected_by_status_;
  std::map<long, std::string> first_reason_;
  std::vector<uint32_t> latencies_us_;
  bool sorted_ = true;
};

}  // namespace rt::cli
