#include "tests/support/metrics_scrape.h"

#include <cstdlib>
#include <sstream>

#include "tests/support/http_test_client.h"

namespace rt::testing {

std::optional<double> MetricValue(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      const std::string value = line.substr(series.size() + 1);
      char* end = nullptr;
      const double parsed = std::strtod(value.c_str(), &end);
      if (end == value.c_str()) return std::nullopt;
      return parsed;
    }
  }
  return std::nullopt;
}

std::optional<double> FetchMetric(uint16_t port, const std::string& series) {
  const auto response = HttpFetch(port, boost::beast::http::verb::get, "/metrics");
  if (!response || response->result_int() != 200) return std::nullopt;
  return MetricValue(response->body(), series);
}

}  // namespace rt::testing
