// rtctl status --config LOCATION [--json]: one row per node of the config (API nodes,
// then workers, by id): health, the config revision (etcd) or source hash (file) it
// runs, its queue depth and its slices, from each node's /healthz as JSON
// (docs/design.md §5 "Config and the safe-change rule"). A node that runs another
// revision than the newest one in the source is marked; the exit code is 1 when any
// node is unreachable, unhealthy or so marked, so that scripts can wait on it.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/clock.h"
#include "cli/commands.h"
#include "cli/http_client.h"
#include "cli/node_config.h"
#include "config/node_url.h"

namespace rt::cli {
namespace {

using nlohmann::json;

struct StatusOptions {
  std::string config;
  bool json = false;
  int timeout_ms = 2000;
};

// One node's row.
struct NodeRow {
  std::string kind;  // "api" or "worker"
  std::string id;
  std::string url;
  json health;        // its /healthz JSON; null when it did not answer with one
  std::string error;  // why not
  bool stale = false;
  std::string state;  // "ok", "UNHEALTHY", "UNREACHABLE"
};

// "http://host:port" of a node URL from the config.
std::string Origin(const std::string& url) {
  const Result<NodeUrl> parsed = ParseNodeUrl(url);
  if (!parsed.ok()) return url;
  const bool v6 = parsed->host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + parsed->host + "]" : parsed->host) + ":" +
         std::to_string(parsed->port);
}

void Ask(NodeRow& row, std::chrono::milliseconds timeout) {
  HttpClient client(Origin(row.url), HttpClientOptions{timeout, timeout});
  Result<HttpResponse> response = client.Get("/healthz", {"Accept: application/json"});
  if (!response.ok()) {
    row.state = "UNREACHABLE";
    row.error = response.status().message();
    return;
  }
  try {
    row.health = json::parse(response->body);
    row.state = row.health.value("healthy", false) ? "ok" : "UNHEALTHY";
  } catch (const json::exception&) {
    row.state = "UNHEALTHY";
    row.error = "no JSON health answer: " + DescribeHttpError(*response);
  }
}

// The config column: "rev N" for etcd, "hash H" for a file.
std::string ConfigCell(const NodeRow& row) {
  if (row.health.is_null()) return "-";
  const json& config = row.health["config"];
  if (config.value("source", "") == "etcd") {
    return "rev " + std::to_string(config.value("revision", int64_t{0}));
  }
  return "hash " + config.value("hash", std::string("?"));
}

std::string SlicesCell(const NodeRow& row) {
  if (row.health.is_null()) return "-";
  const json& slices = row.health["slices"];
  if (row.kind == "api") {
    if (!slices.contains("now")) return "-";
    return "now " + std::to_string(slices["now"].get<int64_t>()) + " on " +
           (slices["nodes"].is_array() ? slices["nodes"].dump() : "none") + ", fixed through " +
           std::to_string(slices.value("protected_through", int64_t{-1}));
  }
  const int64_t count = slices.value("count", int64_t{0});
  if (count == 0) return "none held";
  return std::to_string(count) + " held (" + std::to_string(slices["first"].get<int64_t>()) + ".." +
         std::to_string(slices["last"].get<int64_t>()) + ")";
}

int RunStatus(const StatusOptions& options) {
  const NodeConfig loaded = LoadNodeConfig(options.config, SystemClock().NowMillis(), false);
  if (!loaded.config.ok()) {
    std::cerr << "rtctl status: " << loaded.config.status().message() << "\n";
    return kExitFailure;
  }
  const ClusterConfig& config = *loaded.config;
  std::vector<NodeRow> rows;
  for (const auto& [kind, nodes] :
       {std::pair{"api", &config.api_nodes}, std::pair{"worker", &config.worker_nodes}}) {
    for (const auto& [id, url] : *nodes) {
      NodeRow row;
      row.kind = kind;
      row.id = id;
      row.url = url;
      rows.push_back(std::move(row));
    }
  }
  for (NodeRow& row : rows) {
    Ask(row, std::chrono::milliseconds(options.timeout_ms));
    if (row.health.is_null()) continue;
    const json& running = row.health["config"];
    row.stale = loaded.revision > 0 ? running.value("revision", int64_t{0}) != loaded.revision
                                    : running.value("hash", std::string()) != loaded.hash;
  }
  bool all_good = true;
  for (const NodeRow& row : rows) all_good = all_good && row.state == "ok" && !row.stale;

  if (options.json) {
    json out = {{"config", options.config},
                {"revision", loaded.revision},
                {"hash", loaded.hash},
                {"ok", all_good},
                {"nodes", json::array()}};
    for (const NodeRow& row : rows) {
      out["nodes"].push_back({{"kind", row.kind},
                              {"id", row.id},
                              {"url", row.url},
                              {"state", row.state},
                              {"stale", row.stale},
                              {"error", row.error.empty() ? json(nullptr) : json(row.error)},
                              {"health", row.health}});
    }
    std::cout << out.dump(2) << "\n";
    return all_good ? kExitOk : kExitFailure;
  }
  std::vector<std::vector<std::string>> table = {
      {"KIND", "ID", "URL", "HEALTH", "CONFIG", "QUEUED", "SLICES", ""}};
  for (const NodeRow& row : rows) {
    const std::string queued =
        row.health.is_null() ? "-" : std::to_string(row.health.value("queued_events", uint64_t{0}));
    std::string mark =
        row.stale ? "<- not the newest " + (loaded.revision > 0
                                                ? "(rev " + std::to_string(loaded.revision) + ")"
                                                : "(hash " + loaded.hash + ")")
                  : "";
    if (!row.error.empty()) mark = row.error;
    table.push_back(
        {row.kind, row.id, row.url, row.state, ConfigCell(row), queued, SlicesCell(row), mark});
  }
  std::vector<size_t> widths(table[0].size(), 0);
  for (const auto& line : table) {
    for (size_t i = 0; i < line.size(); ++i) widths[i] = std::max(widths[i], line[i].size());
  }
  for (const auto& line : table) {
    std::string text;
    for (size_t i = 0; i < line.size(); ++i) {
      text += line[i];
      if (i + 1 < line.size()) text += std::string(widths[i] - line[i].size() + 2, ' ');
    }
    text.erase(text.find_last_not_of(' ') + 1);
    std::cout << text << "\n";
  }
  return all_good ? kExitOk : kExitFailure;
}

}  // namespace

CommandRunner SetupStatus(CLI::App& app) {
  auto options = std::make_shared<StatusOptions>();
  CLI::App* sub =
      app.add_subcommand("status", "Show every node of a config: health, config, queue, slices");
  sub->add_option("--config", options->config,
                  "The cluster config: a file, or etcd://HOST:PORT[,HOST:PORT...]/KEY")
      ->required();
  sub->add_flag("--json", options->json, "Print the nodes as JSON on stdout");
  sub->add_option("--timeout-ms", options->timeout_ms, "How long to wait for each node")
      ->check(CLI::PositiveNumber);
  return [options] { return RunStatus(*options); };
}

}  // namespace rt::cli
