// Routing by the keyed user hash spreads users evenly: the property that lets a
// slice's load be shared by adding workers.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>

#include "config/replica_set.h"
#include "config/routing.h"
#include "server/model/user_keyer.h"

namespace rt {

TEST_CASE("a million pseudonymized users spread over 4 workers within 1% of even",
          "[api][routing]") {
  const UserKeyer keyer("spread-test-secret");
  const std::vector<ReplicaSet> sets = SetsOfOne({"0", "1", "2", "3"});
  std::array<int, 4> counts{};
  constexpr int kUsers = 1'000'000;
  for (int i = 0; i < kUsers; ++i) {
    const UserKey key = keyer.KeyFor(12345, "user" + std::to_string(i));
    const std::string& worker = SetForHash(sets, key.RoutingHash()).front();
    ++counts[static_cast<size_t>(worker[0] - '0')];
  }
  for (int count : counts) {
    INFO("count " << count);
    CHECK(std::abs(count - kUsers / 4) < kUsers / 4 / 100);
  }
}

// Users must stay on the workers they went to before routing entries became lists of
// replica sets: fixed users under a fixed secret, with the workers they route to
// (user_key = HMAC-SHA256(secret, be64(slice) || user), worker = list[first 8 bytes % 3]). Fails if
// the keyed hash, the slice in the MAC or the hash → set rule moves anyone.
TEST_CASE("fixed users route to the same workers through sets of one", "[api][routing]") {
  const UserKeyer keyer("spread-test-secret");
  const std::vector<ReplicaSet> sets = SetsOfOne({"0", "1", "2"});
  std::string routed;
  for (const char* user : {"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}) {
    routed += SetForHash(sets, keyer.KeyFor(12345, user).RoutingHash()).front();
  }
  CHECK(routed == "12111220");  // also from the formula of design §2, in Python
}

}  // namespace rt
