// The API node's periodic reload follows the running config's reload-interval-s: the
// safe-change horizon assumes every node reloads within that interval, so a config
// that shortens it must take effect at once, not at the next process start.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>

#include "tests/support/local_cluster.h"
#include "tests/support/metrics_scrape.h"
#include "tests/support/wait_for.h"

namespace rt {
namespace {

using namespace std::chrono_literals;
using testing::LocalCluster;

const std::string kApplied = "rt_api_config_reloads_total{outcome=\"applied\"}";
const std::string kRefused = "rt_api_config_reloads_total{outcome=\"refused\"}";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Replaces `from` by `to` in the config file, atomically (a reload never reads half).
void EditConfig(const std::string& path, const std::string& from, const std::string& to) {
  std::string text = ReadFile(path);
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  std::ofstream(path + ".tmp") << text;
  REQUIRE(std::rename((path + ".tmp").c_str(), path.c_str()) == 0);
}

double Applied(uint16_t port) { return testing::FetchMetric(port, kApplied).value_or(-1); }
double Refused(uint16_t port) { return testing::FetchMetric(port, kRefused).value_or(-1); }

// How many times `needle` occurs in `text`.
int Occurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST_CASE("a reload that shortens reload-interval-s makes the next periodic reload come sooner",
          "[integration][config]") {
  LocalCluster::Options options;
  options.extra_json = "\"reload-interval-s\": 3600,";
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const uint16_t api = cluster.api_port();
  const double before = Applied(api);
  REQUIRE(before >= 0);

  // Applied through SIGHUP: the running interval is an hour until now.
  EditConfig(cluster.config_path(), "\"reload-interval-s\": 3600", "\"reload-interval-s\": 1");
  cluster.Reload();
  REQUIRE(testing::WaitFor([&] { return Applied(api) == before + 1; }, 20s, 20ms));

  // No signal now: only the periodic reload, at the new 1 s interval, can apply this.
  // With the interval of the start config it would come an hour later.
  EditConfig(cluster.config_path(), "\"reload-interval-s\": 1", "\"reload-interval-s\": 2");
  CHECK(testing::WaitFor([&] { return Applied(api) == before + 2; }, 20s, 20ms));
}

TEST_CASE("a config refused at every periodic reload is logged once and counted each time",
          "[integration][config]") {
  LocalCluster::Options options;
  options.extra_json = "\"reload-interval-s\": 1,";
  LocalCluster cluster(options);
  REQUIRE(cluster.Start());
  const uint16_t api = cluster.api_port();
  const double before = Refused(api);
  REQUIRE(before >= 0);

  // A slice length that differs is never a safe change: refused at every reload.
  EditConfig(cluster.config_path(), "\"length-of-time-slice\": 3600",
             "\"length-of-time-slice\": 1800");
  REQUIRE(testing::WaitFor([&] { return Refused(api) >= before + 3; }, 20s, 20ms));
  CHECK(Occurrences(cluster.api().Stderr(), "config reload refused") == 1);
  CHECK(Occurrences(cluster.api().Stderr(), "length-of-time-slice changed from 3600 to 1800") == 1);
}

}  // namespace
}  // namespace rt
