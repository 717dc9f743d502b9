#pragma once

#include <string_view>

namespace rt {

// What this build is, in one place for `rtctl --version` and the metric
// rt_build_info{version,revision}: CMake's project version, and the git revision
// (12 hex digits) when the build was configured, "unknown" outside a git checkout.
// Both come from server/CMakeLists.txt, set on build_info.cpp only, so that a new
// revision rebuilds one object.
std::string_view BuildVersion();
std::string_view BuildRevision();

}  // namespace rt
