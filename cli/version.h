#pragma once

#include <string>

namespace rt::cli {

// What `rtctl --version` prints (no trailing newline): the first line is
// "rtctl VERSION (git REVISION)", the form help2man reads for the man page; then the
// versions of the libraries a bug report needs, e.g.
//   rtctl 0.1 (git 0123456789ab)
//   Kyoto Cabinet 1.2.79, Boost 1.81.0
// VERSION and REVISION are those of rt_build_info (server/metrics/build_info.h).
std::string VersionText();

}  // namespace rt::cli
