#include "server/api/event_admission.h"

#include <catch2/catch.hpp>

#include "config/config_loader.h"
#include "config/replica_set.h"

namespace rt {
namespace {

// 2020-01-01T00:00:00Z; slices of an hour; slice 0 on worker 0, from slice 2 on both.
constexpr int64_t kFirstSliceMs = 1577836800000;
constexpr int64_t kHourMs = 3600 * 1000;

ClusterConfig TestConfig() {
  ClusterConfig config;
  config.api_nodes = {{"0", "http://127.0.0.1:8080/analytics"}};
  config.worker_nodes = {{"0", "http://127.0.0.1:9000/worker"},
                         {"1", "http://127.0.0.1:9001/worker"}};
  config.first_slice_s = kFirstSliceMs / 1000;
  config.routing = {{0, SetsOfOne({"0"})}, {2, SetsOfOne({"0", "1"})}};
  return config;
}

std::string Target(int64_t ts, const std::string& user, const std::string& action) {
  return "/analytics?timestamp=" + std::to_string(ts) + "&user=" + user + "&" + action;
}

}  // namespace

TEST_CASE("an event is keyed, sliced and routed by the slice's list", "[api][admission]") {
  const ClusterConfig config = TestConfig();
  const UserKeyer keyer("secret");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;

  const Admission first =
      AdmitEvent(config, keyer, Target(kFirstSliceMs + 5, "alice", "click"), now);
  REQUIRE(first.ok());
  CHECK(first.event.slice == 0);
  CHECK(*first.event.set == ReplicaSet{"0"});
  CHECK(first.event.action == Action::kClick);
  CHECK(first.event.key == keyer.KeyFor(0, "alice"));

  const Admission later =
      AdmitEvent(config, keyer, Target(kFirstSliceMs + 3 * kHourMs, "alice", "impression"), now);
  REQUIRE(later.ok());
  CHECK(later.event.slice == 3);
  CHECK(later.event.action == Action::kImpression);
  const std::string expected_worker = later.event.key.RoutingHash() % 2 == 0 ? "0" : "1";
  CHECK(*later.event.set == ReplicaSet{expected_worker});
}

TEST_CASE("every bad event is refused with its reason", "[api][admission]") {
  const ClusterConfig config = TestConfig();
  const UserKeyer keyer("secret");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;
  const std::string ts = std::to_string(now);

  struct Case {
    std::string target;
    RejectReason reason;
  };
  const std::vector<Case> cases = {
      {"/analytics?user=u&click", RejectReason::kBadTimestamp},
      {"/analytics?timestamp=&user=u&click", RejectReason::kBadTimestamp},
      {"/analytics?timestamp=abc&user=u&click", RejectReason::kBadTimestamp},
      {"/analytics?timestamp=99999999999999999999&user=u&click", RejectReason::kBadTimestamp},
      {"/analytics?timestamp=" + ts + "&click", RejectReason::kBadUser},
      {"/analytics?timestamp=" + ts + "&user=&click", RejectReason::kBadUser},
      {"/analytics?timestamp=" + ts + "&user=" + std::string(1025, 'x') + "&click",
       RejectReason::kBadUser},
      {"/analytics?timestamp=" + ts + "&user=u", RejectReason::kBadAction},
      {"/analytics?timestamp=" + ts + "&user=u&click&impression", RejectReason::kBadAction},
      {"/analytics?timestamp=" + std::to_string(kFirstSliceMs - 1) + "&user=u&click",
       RejectReason::kBeforeFirstSlice},
      {"/analytics?timestamp=" + std::to_string(now + 301 * 1000) + "&user=u&click",
       RejectReason::kTooFarInFuture},
  };
  for (const Case& c : cases) {
    INFO(c.target);
    const Admission admission = AdmitEvent(config, keyer, c.target, now);
    CHECK_FALSE(admission.ok());
    CHECK(admission.rejection.reason == c.reason);
    CHECK(admission.rejection.message.find('\n') == std::string::npos);
  }
}

TEST_CASE("epoch seconds on a milliseconds cluster are refused as looking like seconds",
          "[api][admission]") {
  const ClusterConfig config = TestConfig();
  const UserKeyer keyer("");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;
  const Admission seconds = AdmitEvent(config, keyer, Target(now / 1000, "u", "click"), now);
  REQUIRE_FALSE(seconds.ok());
  CHECK(seconds.rejection.reason == RejectReason::kBeforeFirstSlice);
  CHECK_THAT(seconds.rejection.message, Catch::Contains("looks like epoch seconds") &&
                                            Catch::Contains("expects epoch milliseconds"));
  CHECK(seconds.rejection.message.find('\n') == std::string::npos);

  // A millisecond time that is simply too early is not called seconds.
  const Admission early = AdmitEvent(config, keyer, Target(kFirstSliceMs - 1, "u", "click"), now);
  REQUIRE_FALSE(early.ok());
  CHECK_THAT(early.rejection.message, !Catch::Contains("seconds"));
}

TEST_CASE("epoch milliseconds on a seconds cluster are refused as looking like milliseconds",
          "[api][admission]") {
  ClusterConfig config = TestConfig();
  config.timestamp_unit = TimestampUnit::kSeconds;
  const UserKeyer keyer("");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;
  const Admission millis = AdmitEvent(config, keyer, Target(now, "u", "click"), now);
  REQUIRE_FALSE(millis.ok());
  CHECK(millis.rejection.reason == RejectReason::kTooFarInFuture);
  CHECK_THAT(millis.rejection.message, Catch::Contains("looks like epoch milliseconds") &&
                                           Catch::Contains("expects epoch seconds"));

  // Seconds an hour ahead are only too far ahead, not milliseconds.
  const Admission ahead = AdmitEvent(config, keyer, Target(now / 1000 + 3600, "u", "click"), now);
  REQUIRE_FALSE(ahead.ok());
  CHECK(ahead.rejection.reason == RejectReason::kTooFarInFuture);
  CHECK_THAT(ahead.rejection.message, !Catch::Contains("milliseconds"));
}

TEST_CASE("max-future-s allows events up to the limit", "[api][admission]") {
  const ClusterConfig config = TestConfig();
  const UserKeyer keyer("");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;
  CHECK(AdmitEvent(config, keyer, Target(now + 300 * 1000, "u", "click"), now).ok());
  CHECK_FALSE(AdmitEvent(config, keyer, Target(now + 300 * 1000 + 1, "u", "click"), now).ok());
}

TEST_CASE("max-late-slices refuses events older than that many slices", "[api][admission]") {
  ClusterConfig config = TestConfig();
  config.max_late_slices = 2;
  const UserKeyer keyer("");
  const int64_t now = kFirstSliceMs + 10 * kHourMs + 5;  // slice 10
  CHECK(AdmitEvent(config, keyer, Target(kFirstSliceMs + 8 * kHourMs, "u", "click"), now).ok());
  const Admission old =
      AdmitEvent(config, keyer, Target(kFirstSliceMs + 7 * kHourMs, "u", "click"), now);
  CHECK_FALSE(old.ok());
  CHECK(old.rejection.reason == RejectReason::kTooLate);
}

TEST_CASE("a slice before the first routing entry has no route", "[api][admission]") {
  ClusterConfig config = TestConfig();
  config.routing = {{3, SetsOfOne({"1"})}};
  const UserKeyer keyer("");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;
  const Admission early = AdmitEvent(config, keyer, Target(kFirstSliceMs, "u", "click"), now);
  CHECK_FALSE(early.ok());
  CHECK(early.rejection.reason == RejectReason::kNoRoute);
  CHECK(AdmitEvent(config, keyer, Target(kFirstSliceMs + 3 * kHourMs, "u", "click"), now).ok());
}

TEST_CASE("timestamps in seconds are sliced in seconds", "[api][admission]") {
  ClusterConfig config = TestConfig();
  config.timestamp_unit = TimestampUnit::kSeconds;
  const UserKeyer keyer("");
  const int64_t now = kFirstSliceMs + 10 * kHourMs;
  const Admission a =
      AdmitEvent(config, keyer, Target(kFirstSliceMs / 1000 + 3600, "u", "click"), now);
  REQUIRE(a.ok());
  CHECK(a.event.slice == 1);
}

}  // namespace rt
