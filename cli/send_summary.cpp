#include "cli/send_summary.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace rt::cli {
namespace {

std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  return buffer;
}

}  // namespace

void SendSummary::Reserve(uint64_t events) {
  // Capped so that a huge --count does not reserve memory it may never use.
  latencies_us_.reserve(static_cast<size_t>(std::min<uint64_t>(events, 1 << 20)));
}

void SendSummary::RecordAnswer(long status, std::chrono::nanoseconds latency,
                               const std::string& reason) {
  ++sent_;
  if (status >= 200 && status < 300) {
    ++accepted_;
  } else {
    ++rejected_by_status_[status];
    first_reason_.try_emplace(status, reason);
  }
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(latency).count();
  latencies_us_.push_back(
      static_cast<uint32_t>(std::clamp<int64_t>(us, 0, std::numeric_limits<uint32_t>::max())));
  sorted_ = false;
}

double SendSummary::LatencyPercentileMs(double fraction) {
  if (latencies_us_.empty()) return 0;
  if (!sorted_) {
    std::sort(latencies_us_.begin(), latencies_us_.end());
    sorted_ = true;
  }
  const double rank = std::ceil(fraction * static_cast<double>(latencies_us_.size()));
  const size_t index = static_cast<size_t>(std::max(rank, 1.0)) - 1;
  return latencies_us_[std::min(index, latencies_us_.size() - 1)] / 1000.0;
}

std::string SendSummary::Format(std::chrono::nanoseconds elapsed) {
  const double elapsed_s = std::chrono::duration<double>(elapsed).count();
  const double rate = elapsed_s > 0 ? static_cast<double>(sent_) / elapsed_s : 0;
  std::string out;
  out += "sent," + std::to_string(sent_) + "\n";
  out += "accepted," + std::to_string(accepted_) + "\n";
  out += "rejected," + std::to_string(rejected()) + "\n";
  for (const auto& [status, count] : rejected_by_status_) {
    out += "rejected_" + std::to_string(status) + "," + std::to_string(count) + "\n";
  }
  out += "failed," + std::to_string(failed_) + "\n";
  out += "elapsed_s," + Fixed(elapsed_s, 3) + "\n";
  out += "rate_per_s," + Fixed(rate, 1) + "\n";
  out += "latency_p50_ms," + Fixed(LatencyPercentileMs(0.50), 3) + "\n";
  out += "latency_p99_ms," + Fixed(LatencyPercentileMs(0.99), 3) + "\n";
  return out;
}

}  // namespace rt::cli
