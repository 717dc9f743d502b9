// ApiNode's /healthz JSON (Accept: application/json), what `rtctl status` shows per
// node: health, the running config's identity, the forwarding backlog and the
// slices it routes now.
#include <nlohmann/json.hpp>

#include "config/replica_set.h"
#include "config/routing.h"
#include "config/slice_math.h"
#include "server/api/api_node.h"
#include "server/api/forwarder.h"
#include "server/api/forwarder_set.h"

namespace rt {

std::string ApiNode::HealthJson(const std::optional<std::string>& unhealthy) const {
  using nlohmann::json;
  const std::shared_ptr<const ClusterConfig> config = config_.load();
  const ConfigStatus::Snapshot source = config_status_->Get();
  json config_json = {
      {"source", source.source},
      {"location", source.location},
      {"revision", source.revision},
      {"source_up", source.source_up},
      {"source_error", source.source_up ? json(nullptr) : json(source.source_error)}};
  {
    std::lock_guard lock(identity_mutex_);
    config_json["hash"] = running_hash_;
    config_json["generation"] = generation_;
  }
  const uint64_t queued = forwarders_->SpooledEvents();
  json slices = json::object();
  if (const Result<int64_t> now = SliceOfEpochMillis(*config, clock_.NowMillis()); now.ok()) {
    const std::vector<ReplicaSet>* sets = SetsForSlice(*config, *now);
    slices = {{"now", *now},
              {"nodes", sets != nullptr ? SetsToJson<json>(*sets) : json(nullptr)},
              {"protected_through", ProtectedSliceNow()}};
  }
  return json{{"kind", "api"},
              {"node", options_.node_id},
              {"healthy", !unhealthy.has_value()},
              {"reason", unhealthy ? json(*unhealthy) : json(nullptr)},
              {"config", std::move(config_json)},
              {"queued_events", queued},
              {"slices", std::move(slices)}}
      .dump();
}

}  // namespace rt
