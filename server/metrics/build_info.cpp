#include "server/metrics/build_info.h"

#ifndef RT_BUILD_VERSION
#define RT_BUILD_VERSION "unknown"
#endif
#ifndef RT_BUILD_REVISION
#define RT_BUILD_REVISION "unknown"
#endif

namespace rt {

std::string_view BuildVersion() { return RT_BUILD_VERSION; }
std::string_view BuildRevision() { return RT_BUILD_REVISION; }

}  // namespace rt
