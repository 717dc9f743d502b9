// examples/monitoring/rt-dashboard.json against real nodes: it parses as JSON, every
// panel has a query, and every metric its queries name is one a running API node or
// worker exports on /metrics (or is listed in metrics-of-open-work.txt, for metrics
// of work not merged yet), so that a renamed metric cannot leave a blank panel.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "tests/support/http_test_client.h"
#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/process.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  INFO(path);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The names of the samples in a Prometheus text exposition (histograms give
// NAME_bucket, NAME_sum, NAME_count, as a query names them).
std::set<std::string> ExportedNames(const std::string& exposition) {
  std::set<std::string> names;
  std::istringstream lines(exposition);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    names.insert(line.substr(0, line.find_first_of("{ ")));
  }
  return names;
}

std::string Metrics(uint16_t port) {
  const auto response = testing::HttpFetch(port, bhttp::verb::get, "/metrics");
  REQUIRE(response);
  REQUIRE(response->result_int() == 200);
  return response->body();
}

// rt's metric names in a PromQL expression: rt_* and process_* identifiers. Label
// names and functions never start so; label values are inside quotes, skipped.
std::set<std::string> MetricNamesIn(const std::string& expr) {
  static const std::regex quoted("\"[^\"]*\"");
  static const std::regex name("\\b(rt|process)_[a-zA-Z0-9_:]+");
  const std::string bare = std::regex_replace(expr, quoted, "\"\"");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(bare.begin(), bare.end(), name); it != std::sregex_iterator();
       ++it) {
    names.insert(it->str());
  }
  return names;
}

std::set<std::string> OpenWorkNames() {
  std::set<std::string> names;
  std::istringstream lines(
      ReadFile(testing::SourceDir() + "/examples/monitoring/metrics-of-open-work.txt"));
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream words(line.substr(0, line.find('#')));
    std::string word;
    if (words >> word) names.insert(word);
  }
  return names;
}

TEST_CASE("the Grafana dashboard queries only metrics that running rt nodes export",
          "[integration][monitoring]") {
  const nlohmann::json dashboard = nlohmann::json::parse(
      ReadFile(testing::SourceDir() + "/examples/monitoring/rt-dashboard.json"));
  REQUIRE(dashboard.at("panels").is_array());
  REQUIRE(dashboard.at("panels").size() >= 7);

  std::set<std::string> referenced;
  for (const nlohmann::json& panel : dashboard.at("panels")) {
    INFO(panel.value("title", "(untitled panel)"));
    REQUIRE(panel.at("targets").is_array());
    REQUIRE_FALSE(panel.at("targets").empty());
    for (const nlohmann::json& target : panel.at("targets")) {
      const std::set<std::string> names = MetricNamesIn(target.at("expr").get<std::string>());
      CHECK_FALSE(names.empty());
      referenced.insert(names.begin(), names.end());
    }
  }

  // A cluster that has forwarded a batch, so that per-worker series and the
  // histograms of both kinds of node have been written.
  testing::LocalCluster cluster({});
  REQUIRE(cluster.Start());
  const testing::RtctlRun sent =
      testing::RunRtctl({"send", "--api", cluster.api_url(), "--count", "50", "--seed", "1"});
  INFO(sent.err);
  REQUIRE(sent.code == 0);
  REQUIRE(testing::WaitFor(
      [&] {
        const auto applied =
            testing::FetchMetric(cluster.worker_port(0), "rt_worker_events_applied_total");
        return applied && *applied > 0;
      },
      30s, 20ms));

  std::set<std::string> exported = ExportedNames(Metrics(cluster.api_port()));
  const std::set<std::string> worker = ExportedNames(Metrics(cluster.worker_port(0)));
  exported.insert(worker.begin(), worker.end());
  REQUIRE(exported.count("rt_api_received_total") == 1);
  REQUIRE(exported.count("rt_worker_batch_apply_seconds_bucket") == 1);

  const std::set<std::string> open_work = OpenWorkNames();
  for (const std::string& name : referenced) {
    INFO("the dashboard queries " << name);
    if (exported.count(name) == 1) {
      if (open_work.count(name) == 1) {
        WARN(name << " is exported now: delete it from metrics-of-open-work.txt");
      }
      continue;
    }
    CHECK(open_work.count(name) == 1);
  }
}

TEST_CASE("the dashboard check finds a metric name a query misspells", "[monitoring]") {
  // The extraction the test above relies on: names outside quotes, with suffixes.
  const std::set<std::string> names = MetricNamesIn(
      "sum(rate(rt_api_recieved_total{job=\"rt_api_fake\"}[1m])) / "
      "histogram_quantile(0.9, rate(rt_worker_batch_apply_seconds_bucket[5m]))");
  CHECK(names ==
        std::set<std::string>{"rt_api_recieved_total", "rt_worker_batch_apply_seconds_bucket"});
  CHECK(ExportedNames("# TYPE rt_a counter\nrt_a{x=\"1\"} 2\nrt_b 3\n") ==
        std::set<std::string>{"rt_a", "rt_b"});
}

}  // namespace
}  // namespace rt
