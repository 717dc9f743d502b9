#include "sim/traffic_model.h"

#include <catch2/catch.hpp>
#include <map>

namespace rt {
namespace {

constexpr int64_t kStartMs = 1'704'067'200'000;  // 2024-01-01T00:00:00Z
constexpr int64_t kHourMs = TrafficModel::kHourMs;

TrafficOptions SmallOptions() {
  TrafficOptions options;
  options.seed = 7;
  options.users = 5'000;
  options.events_per_hour = 20'000;
  return options;
}

TEST_CASE("the same seed gives the same traffic, another seed other traffic", "[sim][traffic]") {
  const TrafficModel a(SmallOptions(), kStartMs);
  const TrafficModel b(SmallOptions(), kStartMs);
  TrafficOptions other_options = SmallOptions();
  other_options.seed = 8;
  const TrafficModel other(other_options, kStartMs);

  // Hours are independent of the order in which they are generated.
  const auto b5 = b.GenerateHour(5);
  const auto b3 = b.GenerateHour(3);
  const auto a3 = a.GenerateHour(3);
  const auto a5 = a.GenerateHour(5);
  REQUIRE(a3.size() == b3.size());
  bool same = true;
  for (size_t i = 0; i < a3.size(); ++i) {
    same = same && a3[i].kind == b3[i].kind && a3[i].user == b3[i].user &&
           a3[i].action == b3[i].action && a3[i].timestamp_ms == b3[i].timestamp_ms &&
           a3[i].send_ms == b3[i].send_ms && a3[i].route == b3[i].route;
  }
  CHECK(same);
  CHECK(a5.size() == b5.size());

  const auto o3 = other.GenerateHour(3);
  size_t differing_users = 0;
  for (size_t i = 0; i < std::min(a3.size(), o3.size()); ++i) {
    if (a3[i].user != o3[i].user) ++differing_users;
  }
  CHECK(differing_users > a3.size() / 2);
}

TEST_CASE("an hour has the configured POSTs with about the designed shares", "[sim][traffic]") {
  const TrafficModel model(SmallOptions(), kStartMs);
  uint64_t posts = 0, gets = 0, clicks = 0, historic = 0, gets_historic = 0;
  for (int64_t hour = 30; hour < 33; ++hour) {
    for (const SimRequest& r : model.GenerateHour(hour)) {
      if (r.kind == SimRequest::Kind::kPost) {
        ++posts;
        if (r.action == Action::kClick) ++clicks;
        if (r.historic) ++historic;
      } else {
        ++gets;
        if (r.historic) ++gets_historic;
      }
    }
  }
  CHECK(posts == 3 * 20'000);
  const double post_share = static_cast<double>(historic) / static_cast<double>(posts);
  const double click_share = static_cast<double>(clicks) / static_cast<double>(posts);
  const double get_share = static_cast<double>(gets) / static_cast<double>(posts + gets);
  const double get_historic = static_cast<double>(gets_historic) / static_cast<double>(gets);
  CHECK(post_share == Approx(0.05).margin(0.005));
  CHECK(click_share == Approx(0.30).margin(0.01));
  CHECK(get_share == Approx(0.10).margin(0.01));
  CHECK(get_historic == Approx(0.05).margin(0.015));
}

TEST_CASE("timestamps fall in the current hour or the previous 24, never before the start",
          "[sim][traffic]") {
  const TrafficModel model(SmallOptions(), kStartMs);
  for (int64_t hour : {0, 1, 2, 30}) {
    const int64_t hour_start = kStartMs + hour * kHourMs;
    int64_t previous_send = hour_start;
    bool in_range = true, ordered = true, historic_in_earlier_hours = true, current_in_hour = true;
    for (const SimRequest& r : model.GenerateHour(hour)) {
      in_range = in_range && r.timestamp_ms >= std::max(kStartMs, hour_start - 24 * kHourMs) &&
                 r.timestamp_ms <= r.send_ms && r.send_ms < hour_start + kHourMs;
      ordered = ordered && r.send_ms >= previous_send;
      previous_send = r.send_ms;
      if (r.historic) {
        historic_in_earlier_hours = historic_in_earlier_hours && r.timestamp_ms < hour_start;
      } else {
        current_in_hour = current_in_hour && r.timestamp_ms >= hour_start;
      }
      if (hour == 0) CHECK_FALSE(r.historic);
    }
    CHECK(in_range);
    CHECK(ordered);
    CHECK(historic_in_earlier_hours);
    CHECK(current_in_hour);
  }
}

TEST_CASE("users follow a Zipf-like pool with heavy hitters", "[sim][traffic]") {
  const TrafficModel model(SmallOptions(), kStartMs);
  std::map<uint32_t, uint64_t> per_user;
  uint64_t posts = 0;
  for (const SimRequest& r : model.GenerateHour(4)) {
    if (r.kind != SimRequest::Kind::kPost) continue;
    ++posts;
    ++per_user[r.user];
  }
  // With s = 1 and 5000 users, user 0 has weight 1/H(5000) ~ 11% and user 9 ~1.1%.
  CHECK(static_cast<double>(per_user[0]) / static_cast<double>(posts) == Approx(0.11).margin(0.02));
  CHECK(per_user[0] > 5 * per_user[9]);
  CHECK(per_user.size() > 1'000);
  bool in_pool = true;
  for (const auto& [user, count] : per_user) in_pool = in_pool && user < 5'000;
  CHECK(in_pool);
}

TEST_CASE("the Zipf sampler covers its range and is exact at the edges", "[sim][traffic]") {
  const ZipfSampler uniform(4, 0.0);
  CHECK(uniform.Sample(0.0) == 0);
  CHECK(uniform.Sample(0.24) == 0);
  CHECK(uniform.Sample(0.26) == 1);
  CHECK(uniform.Sample(0.99) == 3);
  CHECK(uniform.Sample(0.9999999999) == 3);
  const ZipfSampler one(1, 1.0);
  CHECK(one.Sample(0.5) == 0);
}

TEST_CASE("user names are distinct and some need percent-encoding", "[sim][traffic]") {
  CHECK(TrafficModel::UserName(1) == "user-1");
  CHECK(TrafficModel::UserName(0) == "user-0");
  CHECK(TrafficModel::UserName(97) == "zo\xc3\xab 97");
  CHECK(TrafficModel::UserName(97) != TrafficModel::UserName(98));
}

}  // namespace
}  // namespace rt
