#include "sim/config_text.h"

#include <nlohmann/json.hpp>

#include "config/replica_set.h"
#include "config/utc_time.h"

namespace rt {

std::string ClusterConfigToJson(const ClusterConfig& config) {
  nlohmann::ordered_json routing = nlohmann::ordered_json::array();
  for (const RoutingEntry& entry : config.routing) {
    routing.push_back(
        {{"slice", entry.slice}, {"nodes", SetsToJson<nlohmann::ordered_json>(entry.nodes)}});
  }
  nlohmann::ordered_json json = {
      {"api-nodes", config.api_nodes},
      {"worker-nodes", config.worker_nodes},
      {"length-of-time-slice", config.slice_length_s},
      {"first-slice", FormatUtcTime(config.first_slice_s)},
      {"timestamp-unit", TimestampUnitName(config.timestamp_unit)},
      {"cache-ttl-ms", config.cache_ttl_ms},
      {"reload-interval-s", config.reload_interval_s},
      {"max-future-s", config.max_future_s},
      {"routing", routing},
  };
  json["max-late-slices"] =
      config.max_late_slices ? nlohmann::json(*config.max_late_slices) : nlohmann::json(nullptr);
  return json.dump(2) + "\n";
}

}  // namespace rt
