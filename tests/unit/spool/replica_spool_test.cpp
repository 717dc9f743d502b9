#include "server/api/spool/replica_spool.h"

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "server/api/spool/memory_spool.h"
#include "tests/unit/spool/spool_test_util.h"

namespace rt {
namespace {

using testing::Payload;

void AppendRecords(EventSpool& spool, uint64_t count) {
  for (uint64_t i = 0; i < count; ++i) REQUIRE(spool.Append(Payload(i + 1)).ok());
}

TEST_CASE("a replica spool is acknowledged up to the slowest member", "[spool][replica]") {
  auto shared = std::make_shared<MemorySpool>(1000);
  auto replicas = std::make_shared<ReplicaSpool>(shared, 2);
  auto first = replicas->Member(0);
  auto second = replicas->Member(1);
  AppendRecords(*shared, 10);
  CHECK(first->events() == 10);
  CHECK(second->events() == 10);

  first->Acknowledge(8);
  CHECK(first->acknowledged() == 8);
  CHECK(first->events() == 2);
  CHECK(second->events() == 10);
  CHECK(shared->acknowledged() == 0);  // the second member still needs all of them
  CHECK(second->confirmed() == 8);     // but a member has delivered up to 8

  second->Acknowledge(5);
  CHECK(shared->acknowledged() == 5);
  // What the second member still needs is readable by it.
  std::string body;
  CHECK(second->Read(6, 100, 1 << 20, body) == 5);
  CHECK(body == Payload(6) + Payload(7) + Payload(8) + Payload(9) + Payload(10));
  first->Acknowledge(10);
  second->Acknowledge(10);
  CHECK(shared->acknowledged() == 10);
  CHECK(shared->events() == 0);
}

TEST_CASE("a full replica spool drops a lagging member once another is caught up",
          "[spool][replica]") {
  auto shared = std::make_shared<MemorySpool>(20);
  auto replicas = std::make_shared<ReplicaSpool>(shared, 2);
  auto live = replicas->Member(0);
  auto down = replicas->Member(1);
  AppendRecords(*shared, 20);
  CHECK_FALSE(shared->Append(Payload(21)).ok());
  // Nobody has delivered anything: dropping would lose records every member lacks.
  CHECK_FALSE(replicas->ReleaseLaggards());

  live->Acknowledge(18);  // the live member is caught up, the other holds 20
  CHECK_FALSE(shared->Append(Payload(21)).ok());
  CHECK(replicas->ReleaseLaggards());
  CHECK(replicas->Dropped(1));
  CHECK_FALSE(replicas->Dropped(0));
  CHECK(shared->acknowledged() == 18);
  CHECK(shared->Append(Payload(21)).ok());
  // The dropped member's records before 19 are gone for it: released() says so.
  CHECK(down->released() == 18);
  CHECK(live->released() == 18);
  std::string body;
  CHECK(down->Read(1, 10, 1 << 20, body) == 0);
  // From now on the shared spool follows the live member alone.
  live->Acknowledge(21);
  CHECK(shared->acknowledged() == 21);
  // A dropped member that catches up (here: told it has everything) holds it again.
  down->Acknowledge(21);
  CHECK_FALSE(replicas->Dropped(1));
  AppendRecords(*shared, 3);
  live->Acknowledge(24);
  CHECK(shared->acknowledged() == 21);
}

TEST_CASE("members of a replica spool meeting the same place start one new stream",
          "[spool][replica]") {
  auto shared = std::make_shared<MemorySpool>(100);
  auto replicas = std::make_shared<ReplicaSpool>(shared, 2);
  auto first = replicas->Member(0);
  auto second = replicas->Member(1);
  REQUIRE(first->StartNewStream({"n:1@abcd0123", 0}).ok());
  REQUIRE(second->StartNewStream({"n:2@abcd0123", 0}).ok());
  CHECK(shared->stream().id == "n:1@abcd0123");  // the second adopted the first's
  REQUIRE(second->StartNewStream({"n:3@abcd0123", 7}).ok());
  REQUIRE(first->StartNewStream({"n:4@abcd0123", 7}).ok());
  CHECK(first->stream().id == "n:3@abcd0123");
  CHECK(first->stream().base == 7);
}

}  // namespace
}  // namespace rt
