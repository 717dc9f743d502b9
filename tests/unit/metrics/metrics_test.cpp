#include "server/metrics/metrics.h"

#include <catch2/catch.hpp>

namespace rt {
namespace {

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("counters and gauges render in the Prometheus text format", "[metrics]") {
  MetricsRegistry registry;
  registry.AddCounter("rt_events_total", "Events", "action=\"click\"").Inc(3);
  registry.AddGauge("rt_depth", "Depth").Set(-2);
  registry.AddCallbackGauge("rt_size_bytes", "Size", [] { return 1.5; });
  const std::string text = registry.Render();
  CHECK(text.find("# HELP rt_events_total Events\n# TYPE rt_events_total counter\n") !=
        std::string::npos);
  CHECK(text.find("rt_events_total{action=\"click\"} 3\n") != std::string::npos);
  CHECK(text.find("# TYPE rt_depth gauge\nrt_depth -2\n") != std::string::npos);
  CHECK(text.find("rt_size_bytes 1.5\n") != std::string::npos);
}

TEST_CASE("a labeled gauge renders its current label set only", "[metrics]") {
  MetricsRegistry registry;
  LabeledGauge& generation = registry.AddLabeledGauge("rt_config_generation", "Config");
  CHECK(registry.Render().find("rt_config_generation 0\n") != std::string::npos);
  generation.Set("hash=\"aaaaaaaaaaaa\"", 1);
  generation.Set("hash=\"bbbbbbbbbbbb\"", 2);
  const std::string text = registry.Render();
  CHECK(Count(text, "# TYPE rt_config_generation gauge\n") == 1);
  CHECK(text.find("rt_config_generation{hash=\"bbbbbbbbbbbb\"} 2\n") != std::string::npos);
  CHECK(text.find("aaaaaaaaaaaa") == std::string::npos);
  CHECK(generation.Labels() == "hash=\"bbbbbbbbbbbb\"");
  CHECK(generation.Value() == 2);
}

TEST_CASE("samples of one name registered apart share one header", "[metrics]") {
  MetricsRegistry registry;
  registry.AddCounter("rt_a_total", "A", "worker=\"0\"").Inc();
  registry.AddCounter("rt_b_total", "B", "worker=\"0\"").Inc();
  registry.AddCounter("rt_a_total", "A", "worker=\"1\"").Inc(2);
  const std::string text = registry.Render();
  CHECK(Count(text, "# TYPE rt_a_total counter") == 1);
  const size_t header = text.find("# TYPE rt_a_total");
  const size_t first = text.find("rt_a_total{worker=\"0\"} 1");
  const size_t second = text.find("rt_a_total{worker=\"1\"} 2");
  const size_t other = text.find("# TYPE rt_b_total");
  REQUIRE(header != std::string::npos);
  REQUIRE(first != std::string::npos);
  REQUIRE(second != std::string::npos);
  CHECK(header < first);
  CHECK(first < second);
  CHECK(second < other);
}

TEST_CASE("a histogram renders cumulative buckets, sum and count", "[metrics]") {
  MetricsRegistry registry;
  Histogram& h = registry.AddHistogram("rt_seconds", "Latency");
  h.ObserveSeconds(0.00004);
  h.ObserveSeconds(0.003);
  h.ObserveSeconds(20);
  const std::string text = registry.Render();
  CHECK(text.find("rt_seconds_bucket{le=\"5e-05\"} 1\n") != std::string::npos);
  CHECK(text.find("rt_seconds_bucket{le=\"0.005\"} 2\n") != std::string::npos);
  CHECK(text.find("rt_seconds_bucket{le=\"10\"} 2\n") != std::string::npos);
  CHECK(text.find("rt_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("rt_seconds_count 3\n") != std::string::npos);
  CHECK(h.QuantileUpperBound(0.5) == Approx(0.005));
}

}  // namespace rt
