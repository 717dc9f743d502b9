#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rt::cli {

// The value of a serve command's --listen: "HOST:PORT" ("[::1]:PORT" for IPv6);
// port 0 lets the system pick one (the ready line then tells which).
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

[[nodiscard]] Result<ListenAddress> ParseListenAddress(std::string_view text);

}  // namespace rt::cli
