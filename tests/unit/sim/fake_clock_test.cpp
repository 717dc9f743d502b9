#include "sim/fake_clock.h"

#include <catch2/catch.hpp>

namespace rt {
namespace {

TEST_CASE("a fake clock moves only when set or advanced", "[sim][clock]") {
  FakeClock clock(1'000);
  const Clock& as_clock = clock;
  CHECK(as_clock.NowMillis() == 1'000);
  CHECK(as_clock.NowMillis() == 1'000);
  clock.Advance(3'600'000);
  CHECK(as_clock.NowMillis() == 3'601'000);
  clock.Set(42);
  CHECK(as_clock.NowMillis() == 42);
}

}  // namespace
}  // namespace rt
