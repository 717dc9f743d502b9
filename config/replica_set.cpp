#include "config/replica_set.h"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace rt {

std::string SetKey(const ReplicaSet& set) {
  std::string key;
  for (const std::string& member : set) {
    if (!key.empty()) key += '+';
    key += member;
  }
  return key;
}

std::string SetTag(const ReplicaSet& set) {
  const std::string key = SetKey(set);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(key.data(), key.size(), digest, &len, EVP_sha256(), nullptr) != 1) {
    throw std::logic_error("OpenSSL EVP_Digest(SHA256) failed");  // a bug, not input
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (unsigned int i = 0; i < 4; ++i) {
    tag += kHex[digest[i] >> 4];
    tag += kHex[digest[i] & 0xf];
  }
  return tag;
}

std::vector<ReplicaSet> SetsOfOne(const std::vector<std::string>& workers) {
  std::vector<ReplicaSet> sets;
  sets.reserve(workers.size());
  for (const std::string& worker : workers) sets.push_back({worker});
  return sets;
}

std::vector<std::string> MembersOf(const std::vector<ReplicaSet>& sets) {
  std::vector<std::string> members;
  for (const ReplicaSet& set : sets) members.insert(members.end(), set.begin(), set.end());
  return members;
}

bool HasMember(const std::vector<ReplicaSet>& sets, const std::string& worker) {
  return std::any_of(sets.begin(), sets.end(), [&worker](const ReplicaSet& set) {
    return std::find(set.begin(), set.end(), worker) != set.end();
  });
}

std::vector<ReplicaSet> ReplicaSetsOf(const ClusterConfig& config) {
  std::vector<ReplicaSet> sets;
  for (const RoutingEntry& entry : config.routing) {
    for (const ReplicaSet& set : entry.nodes) {
      if (std::find(sets.begin(), sets.end(), set) == sets.end()) sets.push_back(set);
    }
  }
  return sets;
}

}  // namespace rt
