#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "config/source/config_location.h"

namespace rt {

// A config's text as read from its location, and the etcd revision that wrote it
// (0 for a file: files have no revisions).
struct ConfigText {
  std::string text;
  int64_t revision = 0;
};

// Reads the config at `location`: the file, or the etcd key at `revision` (0: the
// newest). A missing key is NotFound; an unreachable etcd Unavailable.
[[nodiscard]] Result<ConfigText> ReadConfigText(const ConfigLocation& location,
                                                int64_t revision = 0);

}  // namespace rt
