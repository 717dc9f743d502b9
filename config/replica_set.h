#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/cluster_config.h"

namespace rt {

// Names for replica sets (docs/design.md §14 "Replica sets"). A set of one is named
// exactly like its worker, so everything keyed by a worker id today (stream ids,
// spool directories, cache entries) stays the same for it.

// The set's id: the worker id for a set of one, the members joined by '+' otherwise
// ("0+1"; member order counts). REQUIRES: !set.empty().
std::string SetKey(const ReplicaSet& set);

// The first 8 hex chars of SHA-256(SetKey(set)): a short, fixed-length name for a
// multi-member set in stream ids (`<node>:<epoch>@<tag>`), since SetKey may be long.
// REQUIRES: !set.empty().
std::string SetTag(const ReplicaSet& set);

// Each worker id as a set of one: the routing a plain list of ids means.
std::vector<ReplicaSet> SetsOfOne(const std::vector<std::string>& workers);

// Every member of `sets`, in order (a worker in two sets appears twice).
std::vector<std::string> MembersOf(const std::vector<ReplicaSet>& sets);

// True when `worker` is a member of one of `sets`.
bool HasMember(const std::vector<ReplicaSet>& sets, const std::string& worker);

// Every distinct set the routing names, in the order first named (the API node makes
// one writer per set, docs/design.md §14).
std::vector<ReplicaSet> ReplicaSetsOf(const ClusterConfig& config);

// `sets` as the config writes them: a set of one as its plain id, a larger set as a
// list of ids. `Json` is an nlohmann json type (plain or ordered); a template so that
// config/ headers need not include nlohmann.
template <class Json>
Json SetsToJson(const std::vector<ReplicaSet>& sets) {
  Json out = Json::array();
  for (const ReplicaSet& set : sets) out.push_back(set.size() == 1 ? Json(set.front()) : Json(set));
  return out;
}

}  // namespace rt
