#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt {

// A node URL of the cluster config split into what a node needs: where to listen
// (API and worker nodes take their listen port from their own URL) and where to
// connect. Only `http://host:port/path` is accepted: no https, user info, query or
// fragment; the port is required because it is the node's listen port.
struct NodeUrl {
  std::string host;  // as written, IPv6 without brackets ("::1"), not resolved
  uint16_t port = 0;
  std::string path;  // "/worker", "/analytics"; "" when the URL has none

  bool operator==(const NodeUrl&) const = default;
};

// Parses a node URL; the error says what is wrong with it (no port, https, ...).
[[nodiscard]] Result<NodeUrl> ParseNodeUrl(std::string_view url);

}  // namespace rt
