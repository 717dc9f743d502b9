#include "server/model/event_query.h"

#include <catch2/catch.hpp>

namespace rt {
namespace {

std::string ErrorOf(std::string_view target) {
  auto parsed = ParseEventQuery(target);
  return parsed.ok() ? "ok" : parsed.status().message();
}

TEST_CASE("an event query parses from a target or a bare query string", "[model][query]") {
  auto event = ParseEventQuery("/analytics?timestamp=1700000000000&user=alice&click");
  REQUIRE(event.ok());
  CHECK(event->timestamp_text == "1700000000000");
  CHECK(event->user == "alice");
  CHECK(event->action == Action::kClick);

  auto bare = ParseEventQuery("user=bob&impression&timestamp=5");
  REQUIRE(bare.ok());
  CHECK(bare->user == "bob");
  CHECK(bare->action == Action::kImpression);
  CHECK(bare->timestamp_text == "5");
}

TEST_CASE("event query values are percent-decoded with + as space", "[model][query]") {
  auto event = ParseEventQuery("/analytics?timestamp=1&user=Ann+Lee%20%C3%A9%26x%2B&click");
  REQUIRE(event.ok());
  CHECK(event->user == "Ann Lee \xC3\xA9&x+");
  auto encoded_key = ParseEventQuery("/analytics?timestamp=1&us%65r=z&click");
  REQUIRE(encoded_key.ok());
  CHECK(encoded_key->user == "z");
}

TEST_CASE("click and impression count with no value, empty, 1 or true", "[model][query]") {
  for (const char* flag : {"click", "click=", "click=1", "click=true"}) {
    INFO(flag);
    auto event = ParseEventQuery(std::string("timestamp=1&user=u&") + flag);
    REQUIRE(event.ok());
    CHECK(event->action == Action::kClick);
  }
  auto impression = ParseEventQuery("timestamp=1&user=u&impression=");
  REQUIRE(impression.ok());
  CHECK(impression->action == Action::kImpression);
  CHECK(ErrorOf("timestamp=1&user=u&click=0") == "bad value for parameter \"click\": \"0\"");
}

TEST_CASE("event query errors name the parameter", "[model][query]") {
  CHECK(ErrorOf("/analytics?user=u&click") == "missing parameter \"timestamp\"");
  CHECK(ErrorOf("/analytics") == "missing parameter \"timestamp\"");
  CHECK(ErrorOf("/analytics?timestamp=&user=u&click") == "empty parameter \"timestamp\"");
  CHECK(ErrorOf("/analytics?timestamp=1&click") == "missing parameter \"user\"");
  CHECK(ErrorOf("/analytics?timestamp=1&user=&click") == "empty parameter \"user\"");
  CHECK(ErrorOf("/analytics?timestamp=1&user=u") == "neither \"click\" nor \"impression\" given");
  CHECK(ErrorOf("/analytics?timestamp=1&user=u&click&impression") ==
        "both \"click\" and \"impression\" given");
  CHECK(ErrorOf("/analytics?timestamp=1&user=a&user=b&click") == "repeated parameter \"user\"");
  CHECK(ErrorOf("/analytics?timestamp=1&timestamp=2&user=a&click") ==
        "repeated parameter \"timestamp\"");
  CHECK(ErrorOf("/analytics?timestamp=1&user=a&click&click") == "repeated parameter \"click\"");
  CHECK(ErrorOf("/analytics?timestamp=1&user=%zz&click") ==
        "malformed query string (bad percent-encoding)");
}

TEST_CASE("event query user length is limited after decoding", "[model][query]") {
  const std::string max_user(kMaxUserBytes, 'a');
  auto ok = ParseEventQuery("timestamp=1&click&user=" + max_user);
  REQUIRE(ok.ok());
  CHECK(ok->user.size() == kMaxUserBytes);
  CHECK(ErrorOf("timestamp=1&click&user=" + max_user + "a") ==
        "parameter \"user\" longer than 1024 bytes");
  // 1024 encoded triplets decode to 1024 bytes: allowed.
  std::string encoded;
  for (size_t i = 0; i < kMaxUserBytes; ++i) encoded += "%41";
  CHECK(ErrorOf("timestamp=1&click&user=" + encoded) == "ok");
}

TEST_CASE("event query ignores unknown and empty parameters", "[model][query]") {
  auto event = ParseEventQuery("/analytics?&&timestamp=9&cb=123&=&user=u&impression&");
  REQUIRE(event.ok());
  CHECK(event->timestamp_text == "9");
  CHECK(event->action == Action::kImpression);
}

TEST_CASE("the worker's slice parameter parses the same way", "[model][query]") {
  auto event = ParseEventQuery("/worker?slice=12&user=00ff&click", "slice");
  REQUIRE(event.ok());
  CHECK(event->timestamp_text == "12");
  CHECK(ParseEventQuery("/worker?user=00ff&click", "slice").status().message() ==
        "missing parameter \"slice\"");
}

TEST_CASE("a time-only query returns the decoded time text", "[model][query]") {
  auto time = ParseTimeQuery("/analytics?timestamp=%31%32&x=y");
  REQUIRE(time.ok());
  CHECK(*time == "12");
  CHECK(ParseTimeQuery("/analytics").status().message() == "missing parameter \"timestamp\"");
  CHECK(ParseTimeQuery("/analytics?timestamp=").status().message() ==
        "empty parameter \"timestamp\"");
  CHECK(ParseTimeQuery("/analytics?timestamp=1&timestamp=2").status().message() ==
        "repeated parameter \"timestamp\"");
}

}  // namespace
}  // namespace rt
