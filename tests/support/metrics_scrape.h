#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace rt::testing {

// The value of one series in a Prometheus text exposition, named exactly as
// rendered, e.g. `rt_api_config_reloads_total{outcome="applied"}`; nullopt if the
// exposition has no such line.
std::optional<double> MetricValue(const std::string& exposition, const std::string& series);

// GET /metrics from 127.0.0.1:port and the series' value; nullopt if the node did
// not answer 200 or has no such series.
std::optional<double> FetchMetric(uint16_t port, const std::string& series);

}  // namespace rt::testing
