#include "config/config_validation.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "config/json_lines.h"
#include "config/node_url.h"

namespace rt {
namespace {

void Error(std::vector<ConfigProblem>& out, std::string path, std::string message) {
  out.push_back({ConfigProblem::Severity::kError, std::move(path), 0, std::move(message)});
}

void Warn(std::vector<ConfigProblem>& out, std::string path, std::string message) {
  out.push_back({ConfigProblem::Severity::kWarning, std::move(path), 0, std::move(message)});
}

// Checks one node table and records each listen address in `listeners`
// ("host:port" → path of the first node using it).
void ValidateNodes(const std::map<std::string, std::string>& nodes, const std::string& key,
                   std::string_view expected_path, std::map<std::string, std::string>& listeners,
                   std::vector<ConfigProblem>& out) {
  if (nodes.empty()) Error(out, key, "no nodes: at least one is required");
  for (const auto& [id, url] : nodes) {
    const std::string path = MemberPath(key, id);
    if (id.empty()) Error(out, path, "empty node id");
    const Result<NodeUrl> parsed = ParseNodeUrl(url);
    if (!parsed.ok()) {
      Error(out, path, "bad URL: " + parsed.status().message());
      continue;
    }
    if (parsed->path != expected_path) {
      Warn(out, path,
           "URL path " + QuoteForMessage(parsed->path) + " is not " + std::string(expected_path) +
               " (the node serves " + std::string(expected_path) + " whatever the URL says)");
    }
    if (parsed->port == 0) {
      Warn(out, path, "port 0: the node listens on an ephemeral port no other node can know");
      continue;
    }
    const std::string address = parsed->host + ":" + std::to_string(parsed->port);
    const auto [it, inserted] = listeners.emplace(address, path);
    if (!inserted) {
      Error(out, path, "listen address " + address + " is also used by " + it->second);
    }
  }
}

// The path of member k of set j: `nodes[j]` for a set of one (written "0" or ["0"],
// the same set), `nodes[j][k]` otherwise.
std::string MemberPathOf(const std::string& nodes_path, const ReplicaSet& set, size_t j, size_t k) {
  const std::string set_path = IndexPath(nodes_path, j);
  return set.size() == 1 ? set_path : IndexPath(set_path, k);
}

// Warns when every member of a multi-member set has the same URL host: one machine
// going down then takes the whole set, which is what the set was meant to survive.
void WarnSharedHost(const ClusterConfig& config, const ReplicaSet& set, const std::string& path,
                    std::vector<ConfigProblem>& out) {
  if (set.size() < 2) return;
  std::map<std::string, std::vector<std::string>> by_host;
  for (const std::string& member : set) {
    const auto url = config.worker_nodes.find(member);
    if (url == config.worker_nodes.end()) return;  // reported as unknown
    const Result<NodeUrl> parsed = ParseNodeUrl(url->second);
    if (!parsed.ok()) return;  // reported with worker-nodes
    by_host[parsed->host].push_back(member);
  }
  for (const auto& [host, members] : by_host) {
    if (members.size() < 2) continue;
    std::string ids;
    for (const std::string& member : members) ids += (ids.empty() ? "" : ", ") + member;
    Warn(out, path,
         "replica set members " + ids + " share the host " + QuoteForMessage(host) +
             ": losing that host loses all their copies");
  }
}

// The sets of one routing entry: each non-empty, members known, no worker twice in
// the entry (in one set or in two: an event would reach it twice).
void ValidateSets(const ClusterConfig& config, const std::vector<ReplicaSet>& sets,
                  const std::string& nodes_path, std::vector<ConfigProblem>& out) {
  std::map<std::string, std::pair<size_t, size_t>> first_place;  // worker → (set, member)
  for (size_t j = 0; j < sets.size(); ++j) {
    const ReplicaSet& set = sets[j];
    const std::string set_path = IndexPath(nodes_path, j);
    if (set.empty()) {
      Error(out, set_path, "empty replica set: a set needs at least one worker");
      continue;
    }
    for (size_t k = 0; k < set.size(); ++k) {
      const std::string& node = set[k];
      const std::string node_path = MemberPathOf(nodes_path, set, j, k);
      if (!config.worker_nodes.contains(node)) {
        Error(out, node_path, "unknown worker id " + QuoteForMessage(node));
      }
      const auto [it, inserted] = first_place.emplace(node, std::pair{j, k});
      if (inserted) continue;
      const auto [first_set, first_member] = it->second;
      const std::string first_path =
          MemberPathOf("nodes", sets[first_set], first_set, first_member);
      if (first_set == j) {
        Error(out, node_path,
              "worker " + QuoteForMessage(node) + " is twice in this replica set (also at " +
                  first_path + ")");
      } else if (set.size() == 1 && sets[first_set].size() == 1) {
        Error(out, node_path,
              "worker " + QuoteForMessage(node) + " is already in this list at " + first_path);
      } else {
        Error(out, node_path,
              "worker " + QuoteForMessage(node) + " is already in replica set " +
                  IndexPath("nodes", first_set) +
                  " of this entry (a worker may be in one set per routing entry)");
      }
    }
    WarnSharedHost(config, set, set_path, out);
  }
}

void ValidateRouting(const ClusterConfig& config, std::vector<ConfigProblem>& out) {
  if (config.routing.empty()) {
    Error(out, "routing", "routing is empty: no slice has workers");
    return;
  }
  if (config.routing.front().slice > 0) {
    Warn(out, "routing[0].slice",
         "routing starts at slice " + std::to_string(config.routing.front().slice) +
             ": slices before it have no workers and their events are rejected");
  }
  for (size_t i = 0; i < config.routing.size(); ++i) {
    const RoutingEntry& entry = config.routing[i];
    const std::string path = IndexPath("routing", i);
    if (entry.slice < 0) {
      Error(out, path + ".slice", "negative slice " + std::to_string(entry.slice));
    }
    if (i > 0 && entry.slice <= config.routing[i - 1].slice) {
      Error(out, path + ".slice",
            "slice " + std::to_string(entry.slice) + " is not greater than the previous entry's " +
                std::to_string(config.routing[i - 1].slice) +
                " (routing slices must be strictly increasing)");
    }
    if (entry.nodes.empty()) Error(out, path + ".nodes", "empty node list");
    ValidateSets(config, entry.nodes, path + ".nodes", out);
  }
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

std::vector<ConfigProblem> ValidateClusterConfig(const ClusterConfig& config) {
  std::vector<ConfigProblem> out;
  std::map<std::string, std::string> listeners;
  ValidateNodes(config.api_nodes, "api-nodes", "/analytics", listeners, out);
  ValidateNodes(config.worker_nodes, "worker-nodes", "/worker", listeners, out);
  if (config.slice_length_s <= 0) {
    Error(out, "length-of-time-slice",
          "must be positive, not " + std::to_string(config.slice_length_s));
  }
  if (config.first_slice_is_system && config.api_nodes.size() > 1) {
    Warn(out, "first-slice",
         "\"system\" with " + std::to_string(config.api_nodes.size()) +
             " API nodes: each node starts slice 0 at its own start time, so they disagree "
             "on slices; use a fixed UTC time");
  }
  ValidateRouting(config, out);
  if (config.cache_ttl_ms < 0) {
    Error(out, "cache-ttl-ms", "must not be negative, not " + std::to_string(config.cache_ttl_ms));
  }
  if (config.reload_interval_s <= 0) {
    Error(out, "reload-interval-s",
          "must be positive, not " + std::to_string(config.reload_interval_s));
  }
  if (config.max_future_s < 0) {
    Error(out, "max-future-s", "must not be negative, not " + std::to_string(config.max_future_s));
  }
  if (config.max_late_slices && *config.max_late_slices < 0) {
    Error(out, "max-late-slices",
          "must not be negative, not " + std::to_string(*config.max_late_slices));
  }
  return out;
}

std::string SuggestKey(std::string_view key, const std::vector<std::string_view>& known) {
  std::string best;
  size_t best_distance = 4;
  for (std::string_view candidate : known) {
    const size_t distance = EditDistance(key, candidate);
    if (distance < best_distance && distance * 2 < std::max(key.size(), candidate.size())) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace rt
