#include "sim/traffic_model.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace rt {
namespace {

// SplitMix64 finalizer: turns (seed, hour) into well-spread generator seeds.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// std::mt19937_64's output sequence is fixed by the standard; the distributions
// are not, hence these two.
double UniformUnit(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

int64_t UniformBelow(std::mt19937_64& rng, int64_t n) {
  return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
}

}  // namespace

ZipfSampler::ZipfSampler(uint64_t n, double exponent) {
  cumulative_.resize(n);
  double sum = 0;
  for (uint64_t i = 0; i < n; ++i) {
    sum += 1.0 / std::pow(static_cast<double>(i + 1), exponent);
    cumulative_[i] = sum;
  }
  for (double& c : cumulative_) c /= sum;
  cumulative_.back() = 1.0;
}

uint32_t ZipfSampler::Sample(double unit) const {
  const auto it = std::upper_bound(cumulative_.begin(), cumulative_.end(), unit);
  const auto index =
      std::min<std::ptrdiff_t>(it - cumulative_.begin(), static_cast<std::ptrdiff_t>(size()) - 1);
  return static_cast<uint32_t>(index);
}

TrafficModel::TrafficModel(TrafficOptions options, int64_t start_ms)
    : options_(options), start_ms_(start_ms), users_(options.users, options.zipf_exponent) {}

std::string TrafficModel::UserName(uint32_t user) {
  if (user % 97 == 0 && user != 0) return "zo\xc3\xab " + std::to_string(user);
  return "user-" + std::to_string(user);
}

std::vector<SimRequest> TrafficModel::GenerateHour(int64_t hour) const {
  std::mt19937_64 rng(Mix(Mix(options_.seed) ^ static_cast<uint64_t>(hour)));
  const int64_t hour_start = start_ms_ + hour * kHourMs;
  const int64_t history_hours = std::min<int64_t>(options_.history_hours, hour);
  const int64_t history_start = hour_start - history_hours * kHourMs;

  // The kinds first, so that send times can be spread over the exact count.
  std::vector<SimRequest> requests;
  requests.reserve(options_.events_per_hour + options_.events_per_hour / 8);
  uint64_t posts = 0;
  while (posts < options_.events_per_hour) {
    SimRequest request;
    if (UniformUnit(rng) < options_.get_share) {
      request.kind = SimRequest::Kind::kGet;
    } else {
      ++posts;
    }
    requests.push_back(request);
  }

  const auto count = static_cast<int64_t>(requests.size());
  for (int64_t i = 0; i < count; ++i) {
    SimRequest& request = requests[static_cast<size_t>(i)];
    request.send_ms = hour_start + i * kHourMs / count;
    request.route = static_cast<uint32_t>(rng() >> 32);
    request.historic = history_hours > 0 && UniformUnit(rng) < options_.historic_share;
    if (request.historic) {
      request.timestamp_ms = history_start + UniformBelow(rng, hour_start - history_start);
    } else {
      // Current events are stamped up to 2 s before they are sent (client-side
      // latency), but never in the previous hour.
      request.timestamp_ms = std::max(hour_start, request.send_ms - UniformBelow(rng, 2000));
    }
    if (request.kind == SimRequest::Kind::kPost) {
      request.action =
          UniformUnit(rng) < options_.click_share ? Action::kClick : Action::kImpression;
      request.user = users_.Sample(UniformUnit(rng));
    }
  }
  return requests;
}

}  // namespace rt
