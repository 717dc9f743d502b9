#include "cli/stream_events.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

namespace rt::cli {
namespace {

std::vector<StreamEvent> Take(StreamEvents events, int n) {
  std::vector<StreamEvent> out;
  for (int i = 0; i < n; ++i) out.push_back(events.Next());
  return out;
}

std::string Describe(const std::vector<StreamEvent>& events) {
  std::string text;
  for (const StreamEvent& e : events) text += e.user + (e.click ? ":c " : ":i ");
  return text;
}

}  // namespace

TEST_CASE("a stream seed gives the same events every time", "[cli][send]") {
  CHECK(Describe(Take(StreamEvents(11, 50, "", false, false), 200)) ==
        Describe(Take(StreamEvents(11, 50, "", false, false), 200)));
  CHECK(Describe(Take(StreamEvents(11, 50, "", false, false), 200)) !=
        Describe(Take(StreamEvents(12, 50, "", false, false), 200)));
}

TEST_CASE("a stream seed gives the same events with every standard library", "[cli][send]") {
  // Pinned: only mt19937_64's standard output is used, no <random> distribution.
  CHECK(Describe(Take(StreamEvents(1, 1000, "", false, false), 4)) ==
        "user528:c user930:c user384:i user628:c ");
}

TEST_CASE("stream users stay in the pool and about 30% of a mixed stream are clicks",
          "[cli][send]") {
  std::set<std::string> users;
  int clicks = 0;
  for (const StreamEvent& e : Take(StreamEvents(3, 7, "", false, false), 10000)) {
    users.insert(e.user);
    clicks += e.click ? 1 : 0;
  }
  CHECK(users ==
        std::set<std::string>{"user0", "user1", "user2", "user3", "user4", "user5", "user6"});
  CHECK(clicks > 2700);
  CHECK(clicks < 3300);
}

TEST_CASE("a stream with click, impression or one user fixes that for every event", "[cli][send]") {
  for (const StreamEvent& e : Take(StreamEvents(5, 10, "", true, false), 100)) CHECK(e.click);
  for (const StreamEvent& e : Take(StreamEvents(5, 10, "", false, true), 100)) CHECK(!e.click);
  for (const StreamEvent& e : Take(StreamEvents(5, 10, "bob", false, false), 100)) {
    CHECK(e.user == "bob");
  }
}

}  // namespace rt::cli
