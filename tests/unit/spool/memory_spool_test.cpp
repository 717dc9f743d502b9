#include "server/api/spool/memory_spool.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/unit/spool/spool_test_util.h"

namespace rt {
namespace {

using testing::Payload;

TEST_CASE("a memory spool reads back appended records in order and in batches", "[spool][memory]") {
  MemorySpool spool(1000);
  for (uint64_t i = 1; i <= 10; ++i) {
    Result<uint64_t> seq = spool.Append(Payload(i));
    REQUIRE(seq.ok());
    CHECK(*seq == i);
  }
  CHECK(spool.next_seq() == 11);
  CHECK(spool.events() == 10);
  CHECK(spool.bytes() == 10 * Payload(1).size());
  std::string body;
  CHECK(spool.Read(1, 4, 1 << 20, body) == 4);
  CHECK(body == Payload(1) + Payload(2) + Payload(3) + Payload(4));
  body.clear();
  CHECK(spool.Read(9, 100, 1 << 20, body) == 2);  // stops after the last record
  CHECK(body == Payload(9) + Payload(10));
  body.clear();
  CHECK(spool.Read(11, 100, 1 << 20, body) == 0);  // at the end
  CHECK(body.empty());
  // max_bytes stops a batch, but at least one record is read.
  CHECK(spool.Read(1, 100, Payload(1).size() * 2, body) == 2);
  body.clear();
  CHECK(spool.Read(1, 100, 1, body) == 1);
  CHECK(!spool.GapAt(5).has_value());
}

TEST_CASE("a memory spool refuses appends beyond its bound with kUnavailable until acked",
          "[spool][memory]") {
  MemorySpool spool(3);
  for (int i = 1; i <= 3; ++i) REQUIRE(spool.Append(Payload(i)).ok());
  Result<uint64_t> refused = spool.Append(Payload(4));
  REQUIRE(!refused.ok());
  CHECK(refused.status().code() == Status::Code::kUnavailable);
  CHECK(spool.next_seq() == 4);  // nothing was appended
  spool.Acknowledge(2);
  CHECK(spool.acknowledged() == 2);
  CHECK(spool.events() == 1);
  Result<uint64_t> seq = spool.Append(Payload(4));
  REQUIRE(seq.ok());
  CHECK(*seq == 4);
  std::string body;
  CHECK(spool.Read(1, 10, 1 << 20, body) == 0);  // acknowledged records are gone
  CHECK(spool.Read(3, 10, 1 << 20, body) == 2);
  CHECK(body == Payload(3) + Payload(4));
}

TEST_CASE("a memory spool keeps its records across compactions under a steady load",
          "[spool][memory]") {
  MemorySpool spool(100);
  uint64_t next_read = 1;
  for (uint64_t i = 1; i <= 5000; ++i) {
    REQUIRE(spool.Append(Payload(i)).ok());
    if (i % 7 == 0) {  // a batch of what is there, acknowledged
      std::string body;
      const size_t n = spool.Read(next_read, 10, 1 << 20, body);
      REQUIRE(n >= 1);
      std::string expected;
      for (uint64_t k = next_read; k < next_read + n; ++k) expected += Payload(k);
      REQUIRE(body == expected);
      next_read += n;
      spool.Acknowledge(next_read - 1);
    }
  }
  CHECK(spool.events() == spool.next_seq() - next_read);
  CHECK(spool.bytes() == spool.events() * Payload(1).size());
  CHECK(spool.oldest_unacknowledged_ms() > 0);
  spool.Acknowledge(spool.next_seq() - 1);
  CHECK(spool.events() == 0);
  CHECK(spool.bytes() == 0);
  CHECK(spool.oldest_unacknowledged_ms() == 0);
}

TEST_CASE("a memory spool calls WhenDurable at once and keeps the stream it is given",
          "[spool][memory]") {
  MemorySpool spool(10);
  CHECK(spool.stream().id.empty());
  Result<uint64_t> seq = spool.Append(Payload(1));
  REQUIRE(seq.ok());
  bool called = false;
  spool.WhenDurable(*seq, [&] { called = true; });
  CHECK(called);
  REQUIRE(spool.StartNewStream({"n:1", 7}).ok());
  CHECK(spool.stream().id == "n:1");
  CHECK(spool.stream().base == 7);
}

}  // namespace
}  // namespace rt
