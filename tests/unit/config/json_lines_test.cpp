#include "config/json_lines.h"

#include <catch2/catch.hpp>

namespace rt {

TEST_CASE("key paths quote keys that are not plain", "[config][lines]") {
  CHECK(MemberPath("", "routing") == "routing");
  CHECK(MemberPath("worker-nodes", "3") == "worker-nodes.3");
  CHECK(MemberPath("api-nodes", "a b") == "api-nodes[\"a b\"]");
  CHECK(IndexPath(MemberPath(IndexPath("routing", 2), "nodes"), 1) == "routing[2].nodes[1]");
}

TEST_CASE("the line index finds keys and array elements past comments", "[config][lines]") {
  const std::string text =
      "{ /* a comment\n"
      "   over two lines with \"quotes\" and { */\n"
      "  \"a\": 1, // \"b\": 2\n"
      "  \"b\": [\n"
      "    \"x\\\"y\",\n"
      "    {\"c\": true}\n"
      "  ],\n"
      "  \"we\\u0069rd\": null\n"
      "}\n";
  const JsonLineIndex index = JsonLineIndex::Build(text);
  CHECK(index.LineOf("") == 1);
  CHECK(index.LineOf("a") == 3);
  CHECK(index.LineOf("b") == 4);
  CHECK(index.LineOf("b[0]") == 5);
  CHECK(index.LineOf("b[1]") == 6);
  CHECK(index.LineOf("b[1].c") == 6);
  CHECK(index.LineOf("weird") == 8);
  CHECK(index.LineOf("missing") == 0);
  CHECK(index.duplicates().empty());
}

TEST_CASE("the line index reports repeated keys", "[config][lines]") {
  const JsonLineIndex index = JsonLineIndex::Build("{\"a\": {\"x\": 1,\n\"x\": 2}, \"b\": 3}");
  REQUIRE(index.duplicates().size() == 1);
  CHECK(index.duplicates()[0].path == "a.x");
  CHECK(index.duplicates()[0].line == 2);
}

// Found by tests/fuzz/fuzz_config: a key with invalid UTF-8 made MemberPath throw
// nlohmann's type_error 316 out of JsonLineIndex::Build, which promises any text.
TEST_CASE("a key that is not UTF-8 gets a quoted path instead of an exception", "[config][lines]") {
  CHECK(MemberPath("api-nodes", "a\xC9") == "api-nodes[\"a\xEF\xBF\xBD\"]");
  JsonLineIndex index;
  REQUIRE_NOTHROW(index = JsonLineIndex::Build("{\n  \"\xC9\": 1,\n  \"\xC9\": 2\n}"));
  CHECK(index.LineOf("[\"\xEF\xBF\xBD\"]") == 2);
  REQUIRE(index.duplicates().size() == 1);
  CHECK(index.duplicates()[0].line == 3);
}

TEST_CASE("the line of a byte offset counts newlines before it", "[config][lines]") {
  CHECK(LineOfOffset("ab\ncd\n", 0) == 1);
  CHECK(LineOfOffset("ab\ncd\n", 3) == 2);
  CHECK(LineOfOffset("ab\ncd\n", 100) == 3);
}

}  // namespace rt
