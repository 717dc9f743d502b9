#include "server/model/snapshot_format.h"

#include <catch2/catch.hpp>

namespace rt {

TEST_CASE("a snapshot's files go over the wire and back", "[model][snapshot]") {
  const SnapshotFiles files = {{"p3.kch", std::string("a\0b\nfile x 1\n", 14)},
                               {"summary.kch", ""}};
  Result<SnapshotFiles> back = ParseSnapshot(FormatSnapshot(files));
  REQUIRE(back.ok());
  CHECK(*back == files);
  CHECK(ParseSnapshot(FormatSnapshot({})).value().empty());
}

TEST_CASE("a snapshot that is truncated or names a path is refused", "[model][snapshot]") {
  const std::string good = FormatSnapshot({{"p1.kch", "12345"}});
  CHECK_FALSE(ParseSnapshot(good.substr(0, good.size() - 4)).ok());  // no "end"
  CHECK_FALSE(ParseSnapshot(good.substr(0, good.size() - 6)).ok());  // bytes cut
  CHECK_FALSE(ParseSnapshot(good + "x").ok());
  CHECK_FALSE(ParseSnapshot("").ok());
  CHECK_FALSE(ParseSnapshot("rt-snapshot 2\nend\n").ok());
  for (const char* name : {"../p1.kch", "/etc/p1.kch", ".kch", "p1.txt", "a b.kch", "..kch"}) {
    INFO(name);
    CHECK_FALSE(ParseSnapshot(FormatSnapshot({{name, "x"}})).ok());
  }
  CHECK_FALSE(ParseSnapshot("rt-snapshot 1\nfile p1.kch -1\nend\n").ok());
  CHECK_FALSE(ParseSnapshot("rt-snapshot 1\nfile p1.kch 99\nend\n").ok());
}

}  // namespace rt
