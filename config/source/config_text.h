#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "config/config_loader.h"
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

// As CheckClusterConfigText on the config at `location_text` (a file path or an
// etcd:// location, parsed here); a location that does not parse or cannot be read
// is one error. `revision` (when given) gets the revision read (0 for a file).
ConfigReport CheckClusterConfigAt(const std::string& location_text, int64_t process_start_ms,
                                  int64_t* revision = nullptr);

}  // namespace rt
