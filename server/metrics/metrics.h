#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace rt {

// Monotonic counter. Thread-safe, lock-free; Inc is a relaxed atomic add so it can
// sit on hot paths.
class Counter {
 public:
  void Inc(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down. Thread-safe, lock-free.
class Gauge {
 public:
  void Set(int64_t v) { value_.store(v, std::memory_order_relaxed); }
  void Add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// One sample whose label set changes at runtime together with its value, for
// info-style metrics such as rt_config_generation{hash="…"}: Prometheus treats each
// label set as its own series, so the old series simply stops. Thread-safe; takes a
// mutex, so not for hot paths.
class LabeledGauge {
 public:
  // `labels` is rendered as given, without braces (e.g. `hash="3f2a…"`).
  void Set(std::string labels, int64_t value);
  std::string Labels() const;
  int64_t Value() const;

 private:
  friend class MetricsRegistry;
  mutable std::mutex mutex_;
  std::string labels_;
  int64_t value_ = 0;
};

// Latency histogram in seconds with fixed buckets from 50 µs to 10 s (Prometheus
// cumulative buckets are produced at render time). Thread-safe, lock-free.
class Histogram {
 public:
  static constexpr std::array<double, 16> kBounds = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025,   0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   10.0};

  void ObserveSeconds(double seconds);
  uint64_t Count() const { return count_.load(std::memory_order_relaxed); }
  // Returns an upper bound of the q-quantile (the bucket bound it falls in).
  double QuantileUpperBound(double q) const;

 private:
  friend class MetricsRegistry;
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // last: +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

// Owns a process's (or one node's) metrics and renders them in the Prometheus text
// exposition format. Metrics are registered once at start-up and then updated
// through the returned references, which stay valid as long as the registry.
// Registration and Render take a mutex; updates do not.
class MetricsRegistry {
 public:
  // `labels` is the rendered label set without braces, e.g. `reason="bad_timestamp"`;
  // several metrics may share a name with different labels (registered together).
  Counter& AddCounter(const std::string& name, const std::string& help,
                      const std::string& labels = "");
  Gauge& AddGauge(const std::string& name, const std::string& help, const std::string& labels = "");
  Histogram& AddHistogram(const std::string& name, const std::string& help,
                          const std::string& labels = "");
  // A gauge whose labels are replaced with its value (LabeledGauge); starts with no
  // labels and 0.
  LabeledGauge& AddLabeledGauge(const std::string& name, const std::string& help);
  // A gauge whose value is read when rendering (queue depths, store size).
  void AddCallbackGauge(const std::string& name, const std::string& help,
                        std::function<double()> read, const std::string& labels = "");

  // A counter kept elsewhere (e.g. by the stats cache), read when rendering.
  void AddCallbackCounter(const std::string& name, const std::string& help,
                          std::function<double()> read, const std::string& labels = "");

  std::string Render() const;

 private:
  enum class Kind { kCounter, kGauge, kHistogram, kCallback, kCallbackCounter, kLabeledGauge };
  struct Entry {
    Kind kind;
    std::string name;
    std::string help;
    std::string labels;
    Counter* counter = nullptr;
    Gauge* gauge = nullptr;
    Histogram* histogram = nullptr;
    LabeledGauge* labeled = nullptr;
    std::function<double()> read;
  };

  Entry& AddEntry(Kind kind, const std::string& name, const std::string& help,
                  const std::string& labels);

  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  // deques keep element addresses stable as metrics are added.
  std::deque<Counter> counters_;
  std::deque<Gauge> gauges_;
  std::deque<Histogram> histograms_;
  std::deque<LabeledGauge> labeled_gauges_;
};

}  // namespace rt
