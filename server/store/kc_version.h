#pragma once

#include <string_view>

namespace rt {

// The version of the Kyoto Cabinet library rt runs with (kyotocabinet::VERSION, of
// the shared library actually loaded, not of the headers), e.g. "1.2.79", for
// `rtctl --version` and bug reports.
std::string_view KyotoCabinetVersion();

}  // namespace rt
