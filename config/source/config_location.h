#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rt {

// Where a cluster config lives (docs/design.md §5 "Config and the safe-change rule"):
// a file path, or a key in etcd, `etcd://HOST:PORT[,HOST:PORT...]/KEY`. Several
// endpoints name the members of one etcd cluster; a client uses the next one when
// one fails. The key is everything after the first '/' following the endpoints
// (percent-decoded), so "etcd://127.0.0.1:2379/rt/config" is key "rt/config".
struct ConfigLocation {
  enum class Kind { kFile, kEtcd };

  Kind kind = Kind::kFile;
  std::string path;                    // kFile
  std::vector<std::string> endpoints;  // kEtcd: "host:port" each, in order
  std::string key;                     // kEtcd
  std::string text;                    // as given, for messages

  bool is_etcd() const { return kind == Kind::kEtcd; }
};

// A location as written on a command line. Anything not starting with "etcd://" is
// a file path (not checked here). An etcd location needs at least one HOST:PORT
// with a port, and a non-empty key; the error quotes the bad part.
[[nodiscard]] Result<ConfigLocation> ParseConfigLocation(std::string_view text);

}  // namespace rt
