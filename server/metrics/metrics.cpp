#include "server/metrics/metrics.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>

namespace rt {

void Histogram::ObserveSeconds(double seconds) {
  const auto it = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
  buckets_[static_cast<size_t>(it - kBounds.begin())].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9),
                       std::memory_order_relaxed);
}

double Histogram::QuantileUpperBound(double q) const {
  const uint64_t total = Count();
  if (total == 0) return 0;
  const auto rank = static_cast<uint64_t>(q * static_cast<double>(total));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i].load(std::memory_order_relaxed);
    if (seen > rank || seen == total) return i < kBounds.size() ? kBounds[i] : kBounds.back();
  }
  return kBounds.back();
}

void LabeledGauge::Set(std::string labels, int64_t value) {
  std::lock_guard lock(mutex_);
  labels_ = std::move(labels);
  value_ = value;
}

std::string LabeledGauge::Labels() const {
  std::lock_guard lock(mutex_);
  return labels_;
}

int64_t LabeledGauge::Value() const {
  std::lock_guard lock(mutex_);
  return value_;
}

MetricsRegistry::Entry& MetricsRegistry::AddEntry(Kind kind, const std::string& name,
                                                  const std::string& help,
                                                  const std::string& labels) {
  entries_.push_back(Entry{kind, name, help, labels, nullptr, nullptr, nullptr, nullptr, {}});
  return entries_.back();
}

Counter& MetricsRegistry::AddCounter(const std::string& name, const std::string& help,
                                     const std::string& labels) {
  std::lock_guard lock(mutex_);
  Counter& c = counters_.emplace_back();
  AddEntry(Kind::kCounter, name, help, labels).counter = &c;
  return c;
}

Gauge& MetricsRegistry::AddGauge(const std::string& name, const std::string& help,
                                 const std::string& labels) {
  std::lock_guard lock(mutex_);
  Gauge& g = gauges_.emplace_back();
  AddEntry(Kind::kGauge, name, help, labels).gauge = &g;
  return g;
}

Histogram& MetricsRegistry::AddHistogram(const std::string& name, const std::string& help,
                                         const std::string& labels) {
  std::lock_guard lock(mutex_);
  Histogram& h = histograms_.emplace_back();
  AddEntry(Kind::kHistogram, name, help, labels).histogram = &h;
  return h;
}

LabeledGauge& MetricsRegistry::AddLabeledGauge(const std::string& name, const std::string& help) {
  std::lock_guard lock(mutex_);
  LabeledGauge& g = labeled_gauges_.emplace_back();
  AddEntry(Kind::kLabeledGauge, name, help, "").labeled = &g;
  return g;
}

void MetricsRegistry::AddCallbackGauge(const std::string& name, const std::string& help,
                                       std::function<double()> read, const std::string& labels) {
  std::lock_guard lock(mutex_);
  AddEntry(Kind::kCallback, name, help, labels).read = std::move(read);
}

void MetricsRegistry::AddCallbackCounter(const std::string& name, const std::string& help,
                                         std::function<double()> read, const std::string& labels) {
  std::lock_guard lock(mutex_);
  AddEntry(Kind::kCallbackCounter, name, help, labels).read = std::move(read);
}

namespace {

std::string Braced(const std::string& labels, const std::string& extra = "") {
  std::string all = labels;
  if (!extra.empty()) all += (all.empty() ? "" : ",") + extra;
  return all.empty() ? "" : "{" + all + "}";
}

std::string FormatNumber(double v) {
  char buf[64];
  // Shortest form that reads back exactly enough for bucket bounds ("5e-05", "0.1").
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

}  // namespace

std::string MetricsRegistry::Render() const {
  std::lock_guard lock(mutex_);
  // Prometheus wants every sample of a name under one HELP/TYPE header, but metrics
  // of one name may be registered at different times (a worker added on reload):
  // render names in order of first registration, each with all its samples.
  std::vector<const Entry*> ordered;
  ordered.reserve(entries_.size());
  for (const Entry& e : entries_) ordered.push_back(&e);
  std::map<std::string_view, size_t> first_seen;
  for (const Entry* e : ordered) first_seen.emplace(e->name, first_seen.size());
  std::stable_sort(ordered.begin(), ordered.end(), [&](const Entry* a, const Entry* b) {
    return first_seen[a->name] < first_seen[b->name];
  });

  std::string out;
  std::string last_name;
  for (const Entry* entry : ordered) {
    const Entry& e = *entry;
    if (e.name != last_name) {
      static constexpr const char* kTypes[] = {"counter", "gauge",   "histogram",
                                               "gauge",   "counter", "gauge"};
      out += "# HELP " + e.name + " " + e.help + "\n";
      out += "# TYPE " + e.name + " " + kTypes[static_cast<int>(e.kind)] + "\n";
      last_name = e.name;
    }
    switch (e.kind) {
      case Kind::kCounter:
        out += e.name + Braced(e.labels) + " " + std::to_string(e.counter->Value()) + "\n";
        break;
      case Kind::kGauge:
        out += e.name + Braced(e.labels) + " " + std::to_string(e.gauge->Value()) + "\n";
        break;
      case Kind::kLabeledGauge: {
        std::lock_guard sample_lock(e.labeled->mutex_);
        out += e.name + Braced(e.labeled->labels_) + " " + std::to_string(e.labeled->value_) + "\n";
        break;
      }
      case Kind::kCallback:
      case Kind::kCallbackCounter:
        out += e.name + Braced(e.labels) + " " + FormatNumber(e.read()) + "\n";
        break;
      case Kind::kHistogram: {
        const Histogram& h = *e.histogram;
        uint64_t cumulative = 0;
        for (size_t i = 0; i < h.buckets_.size(); ++i) {
          cumulative += h.buckets_[i].load(std::memory_order_relaxed);
          const std::string le =
              i < Histogram::kBounds.size() ? FormatNumber(Histogram::kBounds[i]) : "+Inf";
          out += e.name + "_bucket" + Braced(e.labels, "le=\"" + le + "\"") + " " +
                 std::to_string(cumulative) + "\n";
        }
        out += e.name + "_sum" + Braced(e.labels) + " " +
               FormatNumber(static_cast<double>(h.sum_nanos_.load()) / 1e9) + "\n";
        out += e.name + "_count" + Braced(e.labels) + " " + std::to_string(h.Count()) + "\n";
        break;
      }
    }
  }
  return out;
}

}  // namespace rt
